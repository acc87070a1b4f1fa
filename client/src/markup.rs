//! Markup written as text, for the parts of pages that are mostly static:
//! set with `inner_html`, they cost the wasm a few string operations where a
//! view of the same elements costs kilobytes of generated code (the client
//! is sized by the byte: ward tablets on slow networks).
//!
//! Everything that did not come from this source code goes through
//! [`escape`].

/// A wide table in a region of its own that scrolls sideways (named and
/// keyboard-focusable), so the page itself never does on a phone.
pub fn scroll_region(label: &str, table: &str) -> String {
    format!(
        "<div class=\"plait-scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{} (scrolls sideways)\">{table}</div>",
        escape(label)
    )
}

/// Text made safe to put in markup, in an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The element `id`, if it is on the page.
pub fn element(id: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}

/// The element (of a delegated event) that carries `attribute`, and its
/// value: the button or form the person used.
pub fn acted_on(ev: &web_sys::Event, attribute: &str) -> Option<(web_sys::Element, String)> {
    use wasm_bindgen::JsCast;
    let element = ev
        .target()?
        .dyn_into::<web_sys::Element>()
        .ok()?
        .closest(&format!("[{attribute}]"))
        .ok()??;
    let value = element.get_attribute(attribute)?;
    Some((element, value))
}

/// The value of the form control `id` (input, select or textarea).
pub fn value_of(id: &str) -> String {
    element(id)
        .and_then(|e| js_sys::Reflect::get(&e, &wasm_bindgen::JsValue::from_str("value")).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Whether the checkbox `id` is ticked.
pub fn checked(id: &str) -> bool {
    element(id)
        .and_then(|e| js_sys::Reflect::get(&e, &wasm_bindgen::JsValue::from_str("checked")).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Empties the form controls `ids`.
pub fn clear(ids: &[&str]) {
    for id in ids {
        if let Some(e) = element(id) {
            let _ = js_sys::Reflect::set(
                &e,
                &wasm_bindgen::JsValue::from_str("value"),
                &wasm_bindgen::JsValue::from_str(""),
            );
        }
    }
}

/// A text input (or `kind`: date, url…) with its label, as markup.
pub fn input(id: &str, label: &str, kind: &str, value: &str, class: &str) -> String {
    format!(
        "<div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"{id}\">{}</label>\
         <input class=\"nhsuk-input {class}\" id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{}\"></div>",
        escape(label),
        escape(value)
    )
}

/// A textarea with its label, as markup.
pub fn textarea(id: &str, label: &str) -> String {
    format!(
        "<div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"{id}\">{}</label>\
         <textarea class=\"nhsuk-textarea\" id=\"{id}\" name=\"{id}\" rows=\"2\"></textarea></div>",
        escape(label)
    )
}

/// A button that acts through a delegated handler (`data-act`, `data-id`).
pub fn button(act: &str, id: &str, label: &str, secondary: bool) -> String {
    format!(
        "<button type=\"button\" class=\"nhsuk-button{}\" data-act=\"{act}\" data-id=\"{}\">{}</button>",
        if secondary { " nhsuk-button--secondary" } else { "" },
        escape(id),
        escape(label)
    )
}

#[cfg(test)]
mod tests {
    use super::escape;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<b a="1">&</b>"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&lt;/b&gt;"
        );
    }
}
