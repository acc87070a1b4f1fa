//! The pieces of the NHS.UK form pattern the pages share: the error
//! summary (its links move focus to their fields), text boxes, text areas
//! and selects with their labels, hints and error messages, and the status
//! line after a save. A form's errors are `(field id, message)` pairs; a
//! field shows the first whose id starts with its own (so a date input's
//! `…-day` error marks the whole date).

use leptos::prelude::*;

/// The error summary of a form: `(field id, message)` each.
#[component]
pub fn ErrorSummary(id: &'static str, errors: RwSignal<Vec<(String, String)>>) -> impl IntoView {
    view! {
        <Show when=move || errors.with(|e| !e.is_empty())>
            <div class="nhsuk-error-summary" id=id tabindex="-1" role="alert">
                <h2 class="nhsuk-error-summary__title">"There is a problem"</h2>
                <div class="nhsuk-error-summary__body">
                    <ul class="nhsuk-list nhsuk-error-summary__list">
                        {move || errors.get().into_iter().map(|(field, message)| view! {
                            <li><a href=format!("#{field}")>{message}</a></li>
                        }).collect_view()}
                    </ul>
                </div>
            </div>
        </Show>
    }
}

/// "Saved on this device" after a save, for screen readers too.
#[component]
pub fn Saved(message: RwSignal<String>) -> impl IntoView {
    view! {
        <p class="nhsuk-body-s" role="status">{move || message.get()}</p>
    }
}

pub fn error_of(errors: RwSignal<Vec<(String, String)>>, field: &'static str) -> Option<String> {
    errors.with(|e| {
        e.iter()
            .find(|(f, _)| f.starts_with(field))
            .map(|(_, m)| m.clone())
    })
}

pub fn group_class(errors: RwSignal<Vec<(String, String)>>, field: &'static str) -> &'static str {
    if error_of(errors, field).is_some() {
        "nhsuk-form-group nhsuk-form-group--error"
    } else {
        "nhsuk-form-group"
    }
}

/// A labelled text box bound to `value` (`kind`: the input's type, text
/// unless given; `autocomplete` as the browser should fill it).
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] errors: Option<RwSignal<Vec<(String, String)>>>,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] width: &'static str,
) -> impl IntoView {
    let kind = if kind.is_empty() { "text" } else { kind };
    let class = format!("nhsuk-input {width}");
    let autocomplete = (!autocomplete.is_empty()).then_some(autocomplete);
    let described = (!hint.is_empty()).then(|| format!("{id}-hint"));
    let errors = errors.unwrap_or_else(|| RwSignal::new(Vec::new()));
    view! {
        <div class=move || group_class(errors, id)>
            <label class="nhsuk-label" for=id>{label}</label>
            {(!hint.is_empty()).then(|| view! { <div class="nhsuk-hint" id=format!("{id}-hint")>{hint}</div> })}
            {move || error_of(errors, id).map(|m| view! {
                <span class="nhsuk-error-message" id=format!("{id}-error")><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span>
            })}
            <input class=class id=id name=id type=kind autocomplete=autocomplete aria-describedby=described
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        </div>
    }
}

/// A labelled text area bound to `value`.
#[component]
pub fn TextArea(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] errors: Option<RwSignal<Vec<(String, String)>>>,
) -> impl IntoView {
    let errors = errors.unwrap_or_else(|| RwSignal::new(Vec::new()));
    view! {
        <div class=move || group_class(errors, id)>
            <label class="nhsuk-label" for=id>{label}</label>
            {move || error_of(errors, id).map(|m| view! {
                <span class="nhsuk-error-message" id=format!("{id}-error")><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span>
            })}
            <textarea class="nhsuk-textarea" id=id name=id rows="3"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))></textarea>
        </div>
    }
}

/// A labelled select of `(value, label)` options bound to `value`.
#[component]
pub fn Choice(
    id: &'static str,
    label: &'static str,
    options: Signal<Vec<(String, String)>>,
    value: RwSignal<String>,
    #[prop(optional)] errors: Option<RwSignal<Vec<(String, String)>>>,
) -> impl IntoView {
    let errors = errors.unwrap_or_else(|| RwSignal::new(Vec::new()));
    view! {
        <div class=move || group_class(errors, id)>
            <label class="nhsuk-label" for=id>{label}</label>
            {move || error_of(errors, id).map(|m| view! {
                <span class="nhsuk-error-message" id=format!("{id}-error")><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span>
            })}
            <select class="nhsuk-select" id=id name=id
                on:change=move |ev| value.set(event_target_value(&ev))>
                {move || options.get().into_iter().map(|(v, l)| {
                    let selected = value.with_untracked(|c| *c == v);
                    view! { <option value=v selected=selected>{l}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}
