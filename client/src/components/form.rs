//! The pieces of the NHS.UK form pattern the pages share: the error
//! summary (its links move focus to their fields), text boxes, text areas
//! and selects with their labels, hints and error messages, and the status
//! line after a save. A form's errors are `(field id, message)` pairs; a
//! field shows the first whose id starts with its own (so a date input's
//! `…-day` error marks the whole date).

use leptos::prelude::*;

/// The error summary of a form: `(field id, message)` each, and a problem
/// with no field (`problem`: no network, too many attempts). Its links move
/// focus to their fields.
#[component]
pub fn ErrorSummary(
    id: &'static str,
    errors: RwSignal<Vec<(String, String)>>,
    #[prop(optional)] problem: Option<RwSignal<Option<String>>>,
) -> impl IntoView {
    let problem = problem.unwrap_or_else(|| RwSignal::new(None));
    view! {
        <Show when=move || errors.with(|e| !e.is_empty()) || problem.with(Option::is_some)>
            <div class="nhsuk-error-summary" id=id tabindex="-1" role="alert">
                <h2 class="nhsuk-error-summary__title">"There is a problem"</h2>
                <div class="nhsuk-error-summary__body">
                    {move || problem.get().map(|text| view! { <p>{text}</p> })}
                    <ul class="nhsuk-list nhsuk-error-summary__list">
                        {move || errors.get().into_iter().map(|(field, message)| {
                            let target = crate::browser::interned(&field);
                            view! {
                                <li><a href=format!("#{field}") on:click=move |ev| {
                                    ev.prevent_default();
                                    crate::browser::focus(target);
                                }>{message}</a></li>
                            }
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

/// Shows a form's errors (`found`, none clears them); whether there were
/// any, focusing the error summary `summary` when there were.
pub fn failed(
    errors: RwSignal<Vec<(String, String)>>,
    found: Vec<(String, String)>,
    summary: &'static str,
) -> bool {
    let any = !found.is_empty();
    errors.set(found);
    if any {
        crate::browser::focus(summary);
    }
    any
}

/// A required field's error, if `value` is empty.
pub fn required(value: &str, field: &str, message: &str) -> Option<(String, String)> {
    value
        .trim()
        .is_empty()
        .then(|| (field.to_owned(), message.to_owned()))
}

pub fn error_of(errors: RwSignal<Vec<(String, String)>>, field: &'static str) -> Option<String> {
    errors.with(|e| {
        e.iter()
            .find(|(f, _)| f.starts_with(field))
            .map(|(_, m)| m.clone())
    })
}

/// The ids that describe field `id`: its hint (`hinted`) and its error.
fn described_by(
    errors: RwSignal<Vec<(String, String)>>,
    id: &'static str,
    hinted: bool,
) -> Option<String> {
    let hint = hinted.then(|| format!("{id}-hint"));
    let error = error_of(errors, id).map(|_| format!("{id}-error"));
    match (hint, error) {
        (Some(h), Some(e)) => Some(format!("{h} {e}")),
        (h, e) => h.or(e),
    }
}

pub fn group_class(errors: RwSignal<Vec<(String, String)>>, field: &'static str) -> &'static str {
    if error_of(errors, field).is_some() {
        "nhsuk-form-group nhsuk-form-group--error"
    } else {
        "nhsuk-form-group"
    }
}

/// A labelled text box bound to `value` (`kind`: the input's type, text
/// unless given; `autocomplete` as the browser should fill it; `verbatim`:
/// a user name or code, neither spell-checked nor capitalised).
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
    #[prop(optional)] verbatim: bool,
) -> impl IntoView {
    let kind = if kind.is_empty() { "text" } else { kind };
    let autocomplete = (!autocomplete.is_empty()).then_some(autocomplete);
    let errors = errors.unwrap_or_else(|| RwSignal::new(Vec::new()));
    let hinted = !hint.is_empty();
    let class = move || {
        let error = if error_of(errors, id).is_some() {
            " nhsuk-input--error"
        } else {
            ""
        };
        format!("nhsuk-input {width}{error}")
    };
    let (spellcheck, autocapitalize) = if verbatim {
        (Some("false"), Some("none"))
    } else {
        (None, None)
    };
    view! {
        <div class=move || group_class(errors, id)>
            <label class="nhsuk-label" for=id>{label}</label>
            {(!hint.is_empty()).then(|| view! { <div class="nhsuk-hint" id=format!("{id}-hint")>{hint}</div> })}
            {move || error_of(errors, id).map(|m| view! {
                <span class="nhsuk-error-message" id=format!("{id}-error")><span class="nhsuk-u-visually-hidden">"Error: "</span>{m}</span>
            })}
            <input class=class id=id name=id type=kind autocomplete=autocomplete
                spellcheck=spellcheck autocapitalize=autocapitalize
                aria-describedby=move || described_by(errors, id, hinted)
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
                aria-describedby=move || described_by(errors, id, false)
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
                aria-describedby=move || described_by(errors, id, false)
                on:change=move |ev| value.set(event_target_value(&ev))>
                {move || options.get().into_iter().map(|(v, l)| {
                    let selected = value.with_untracked(|c| *c == v);
                    view! { <option value=v selected=selected>{l}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}
