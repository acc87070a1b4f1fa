//! Changes the server refused, told to the person who made them. The
//! region is always on the page (an assertive live region), so a notice
//! added to it is announced.

use leptos::prelude::*;

use crate::contexts::workspace::use_workspace;
use crate::markup::escape;

/// The notices' markup (none: nothing).
pub fn notices_markup(notices: &[(u64, String)]) -> String {
    if notices.is_empty() {
        return String::new();
    }
    let items: String = notices
        .iter()
        .map(|(_, text)| format!("<li>{}</li>", escape(text)))
        .collect();
    format!(
        "<div class=\"nhsuk-warning-callout plait-notices\"><h2 class=\"nhsuk-warning-callout__label\">\
         <span role=\"text\"><span class=\"nhsuk-u-visually-hidden\">Important: </span>Changes not saved</span></h2>\
         <ul>{items}</ul><p>The server undid these changes. Everything else you changed is kept.</p>\
         <button class=\"nhsuk-button nhsuk-button--secondary\" type=\"button\">Dismiss</button></div>"
    )
}

/// The notices, with a button to dismiss them.
#[component]
pub fn Notices() -> impl IntoView {
    let notices = use_workspace().notices();
    view! {
        <div role="alert" data-testid="notices"
            inner_html=move || notices.with(notices_markup)
            on:click=move |ev: leptos::ev::MouseEvent| {
                let button = ev.target().and_then(|t| {
                    wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()
                });
                if button.is_some_and(|b| b.get_attribute("type").is_some()) {
                    notices.dismiss();
                }
            }
        ></div>
    }
}
