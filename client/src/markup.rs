//! Markup written as text, for the parts of pages that are mostly static:
//! set with `inner_html`, they cost the wasm a few string operations where a
//! view of the same elements costs kilobytes of generated code (the client
//! is sized by the byte: ward tablets on slow networks).
//!
//! Everything that did not come from this source code goes through
//! [`escape`].

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
