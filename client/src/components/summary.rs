//! The rows of an NHS.UK summary list, read-only: a key and its value, the
//! value keeping its line breaks. The page gives the `<dl>` (its classes
//! and test id).

use leptos::prelude::*;

/// `(key, value)` rows for a `<dl class="nhsuk-summary-list">`.
pub fn summary_rows(rows: Vec<(&'static str, String)>) -> impl IntoView {
    rows.into_iter()
        .map(|(key, value)| {
            view! {
                <div class="nhsuk-summary-list__row">
                    <dt class="nhsuk-summary-list__key">{key}</dt>
                    <dd class="nhsuk-summary-list__value plait-prewrap">{value}</dd>
                </div>
            }
        })
        .collect_view()
}
