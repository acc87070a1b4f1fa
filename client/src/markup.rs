//! Read-only renders written as text: the tables and lists of the overview,
//! the board report, My work and an action's change history. Set with
//! `inner_html`, they cost the wasm a few string operations where a view of
//! the same elements costs kilobytes of generated code (the client is sized
//! by the byte: ward tablets on slow networks). Forms and anything with a
//! handler are Leptos views.
//!
//! Safe by construction: a [`Markup`] is made only by the [`markup!`]
//! macro, from a template written in this source code whose arguments are
//! escaped (text) or already [`Markup`]; links only by [`link`] and
//! [`download_link`], whose address must be a path on this site. A template
//! naming `href`, `src` or `style` itself does not compile, and [`render`]
//! is the only place that sets `inner_html` (a test in `tests/e2e` holds
//! every other module to that). The page's CSP forbids inline script and
//! handlers besides.

use leptos::prelude::*;

/// Markup made from this source's templates, escaped text and checked
/// links (see the module's comment): nothing else can become markup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

/// What a template's `{}` may be: text and numbers are written escaped,
/// markup as it is.
pub trait Render {
    fn render(&self, out: &mut String);
}

impl Render for str {
    fn render(&self, out: &mut String) {
        for c in self.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
    }
}

impl Render for String {
    fn render(&self, out: &mut String) {
        self.as_str().render(out);
    }
}

impl Render for Markup {
    fn render(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

impl<T: Render + ?Sized> Render for &T {
    fn render(&self, out: &mut String) {
        (**self).render(out);
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self, out: &mut String) {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
numbers!(usize, u32, u64, i64);

impl Markup {
    /// No markup.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends `more` (markup, or text escaped).
    pub fn push(&mut self, more: impl Render) {
        more.render(&mut self.0);
    }

    /// The text, for [`render`] and tests.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For [`markup!`] only: a template's result, its arguments rendered.
    #[doc(hidden)]
    pub fn __from_template(template: &'static str, args: &[&dyn Render]) -> Self {
        let mut out = String::with_capacity(template.len() + 16 * args.len());
        let mut args = args.iter();
        let mut pieces = template.split("{}");
        if let Some(first) = pieces.next() {
            out.push_str(first);
        }
        for piece in pieces {
            if let Some(arg) = args.next() {
                arg.render(&mut out);
            }
            out.push_str(piece);
        }
        Markup(out)
    }
}

impl<T: Render> FromIterator<T> for Markup {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut all = Markup::new();
        for item in items {
            all.push(item);
        }
        all
    }
}

impl std::ops::AddAssign<Markup> for Markup {
    fn add_assign(&mut self, more: Markup) {
        self.0.push_str(&more.0);
    }
}

/// Whether `template` has `word` in it, in any case (for the templates'
/// compile-time check).
#[doc(hidden)]
pub const fn __names(template: &str, word: &str) -> bool {
    let (t, w) = (template.as_bytes(), word.as_bytes());
    let mut i = 0;
    while i + w.len() <= t.len() {
        let mut j = 0;
        while j < w.len() && t[i + j].eq_ignore_ascii_case(&w[j]) {
            j += 1;
        }
        if j == w.len() {
            return true;
        }
        i += 1;
    }
    false
}

/// The number of `{}` in `template`, or `None` if a brace is anything else
/// (`{name}`, `{:>3}`, a lone brace): templates have only `{}`.
#[doc(hidden)]
pub const fn __holes(template: &str) -> Option<usize> {
    let t = template.as_bytes();
    let (mut i, mut holes) = (0, 0);
    while i < t.len() {
        if t[i] == b'{' {
            if i + 1 < t.len() && t[i + 1] == b'}' {
                holes += 1;
                i += 2;
                continue;
            }
            return None;
        }
        if t[i] == b'}' {
            return None;
        }
        i += 1;
    }
    Some(holes)
}

/// Markup from a template literal, each `{}` an argument that is
/// [`Render`]: text is escaped, [`Markup`] kept. Checked when compiling:
/// as many arguments as `{}`, no other braces (no captured variables), and
/// no address or style written by the template itself (`href`, `src`,
/// `style`: use [`link`]).
macro_rules! markup {
    ($template:literal $(, $arg:expr)* $(,)?) => {{
        const _: () = {
            let arguments: usize = 0 $(+ { let _ = stringify!($arg); 1 })*;
            assert!(
                matches!(crate::markup::__holes($template), Some(n) if n == arguments),
                "a markup template has one {{}} per argument and no other braces"
            );
            assert!(
                !crate::markup::__names($template, "href")
                    && !crate::markup::__names($template, "src")
                    && !crate::markup::__names($template, "style"),
                "a markup template writes no address or style itself"
            );
        };
        crate::markup::Markup::__from_template($template, &[$(&$arg as &dyn crate::markup::Render),*])
    }};
}
pub(crate) use markup;

/// Whether `path` is an address on this site (`/…`, not `//host`): the
/// only addresses markup may link to.
pub fn on_this_site(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// `content` linked to `path` on this site (or, were it not one, not
/// linked).
pub fn link(path: &str, content: impl Render) -> Markup {
    linked(path, "", content)
}

/// `content` linked to a download from `path` on this site.
pub fn download_link(path: &str, content: impl Render) -> Markup {
    linked(path, " download", content)
}

fn linked(path: &str, attributes: &str, content: impl Render) -> Markup {
    let mut out = Markup::new();
    if on_this_site(path) {
        out.0.push_str("<a href=\"");
        path.render(&mut out.0);
        out.0.push('"');
        out.0.push_str(attributes);
        out.0.push('>');
        out.push(content);
        out.0.push_str("</a>");
    } else {
        out.push(content);
    }
    out
}

/// A wide table in a region of its own that scrolls sideways (named and
/// keyboard-focusable), so the page itself never does on a phone.
pub fn scroll_region(label: &str, table: Markup) -> Markup {
    markup!(
        "<div class=\"plait-scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{} (scrolls sideways)\">{}</div>",
        label,
        table
    )
}

/// Markup on the page, in a `<div>`, as `markup` says (tracked).
pub fn render(markup: impl Fn() -> Markup + Send + Sync + 'static) -> impl IntoView {
    view! { <div inner_html=move || markup().0></div> }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn text_is_escaped_and_markup_kept() {
        let name = r#"<b a="1">&'</b>"#.to_owned();
        let cell = markup!("<td>{}</td>", name);
        assert_eq!(
            cell.as_str(),
            "<td>&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;</td>"
        );
        let row = markup!("<tr>{}{}</tr>", cell, 42usize);
        assert_eq!(
            row.as_str(),
            "<tr><td>&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;</td>42</tr>"
        );
    }

    #[test]
    fn links_go_only_to_this_site() {
        assert_eq!(
            link("/p/demo/actions/x?y=1&z", "A & B").as_str(),
            "<a href=\"/p/demo/actions/x?y=1&amp;z\">A &amp; B</a>"
        );
        assert_eq!(
            download_link("/api/docs/d/export?format=csv", "CSV").as_str(),
            "<a href=\"/api/docs/d/export?format=csv\" download>CSV</a>"
        );
        for hostile in [
            "javascript:alert(1)",
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "data:text/html,x",
            "/a\nb",
            "",
        ] {
            assert_eq!(link(hostile, "text").as_str(), "text", "{hostile:?}");
        }
    }

    #[test]
    fn templates_are_checked() {
        assert!(__names("<a HREF=\"{}\">", "href"));
        assert!(__names("<img src=x>", "src"));
        assert!(!__names("<td class=\"plait-num\">{}</td>", "href"));
        assert_eq!(__holes("<td>{}</td><td>{}</td>"), Some(2));
        assert_eq!(__holes("<p>none</p>"), Some(0));
        for bad in ["{name}", "{:>3}", "a } b", "{"] {
            assert_eq!(__holes(bad), None, "{bad}");
        }
    }
}
