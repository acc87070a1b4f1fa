//! Changes the server refused, told to the person who made them. The
//! region is always on the page (an assertive live region), so a notice
//! added to it is announced.

use leptos::prelude::*;

use crate::contexts::notices::use_notices;

/// The notices, with a button to dismiss them.
#[component]
pub fn Notices() -> impl IntoView {
    let notices = use_notices();
    let shown = move || {
        let items = notices.with(|list| {
            list.iter()
                .map(|(_, text)| text.clone())
                .collect::<Vec<_>>()
        });
        (!items.is_empty()).then(|| {
            view! {
                <div class="nhsuk-warning-callout plait-notices">
                    <h2 class="nhsuk-warning-callout__label">
                        <span role="text"><span class="nhsuk-u-visually-hidden">"Important: "</span>"Changes not saved"</span>
                    </h2>
                    <ul>{items.into_iter().map(|text| view! { <li>{text}</li> }).collect_view()}</ul>
                    <p>"The server undid these changes. Everything else you changed is kept."</p>
                    <button class="nhsuk-button nhsuk-button--secondary" type="button"
                        on:click=move |_| notices.dismiss()>"Dismiss"</button>
                </div>
            }
        })
    };
    view! { <div role="alert" data-testid="notices">{shown}</div> }
}
