//! The pages, and the small router between them (path ↔ [`Page`]), kept by
//! hand: three routes do not need a routing library's weight in the wasm.

use leptos::prelude::*;
use plait_shared::{ActionId, DocId};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

pub mod action;
pub mod actions;
pub mod history;
pub mod import;
pub mod my_work;
pub mod overview;
pub mod report;
pub mod sign_in;

/// Every page of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The programme's counts.
    Overview,
    /// Every action, filtered and sorted.
    Actions,
    /// What needs the signed-in person.
    MyWork,
    /// The board report.
    Report,
    /// Importing an action plan.
    Import,
    /// One action.
    Action {
        /// Its plan document.
        plan: DocId,
        /// The action.
        action: ActionId,
    },
    /// Nothing lives at that path.
    NotFound,
}

impl Page {
    /// The page at a path.
    pub fn from_path(path: &str) -> Page {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            [""] => Page::Overview,
            ["actions"] => Page::Actions,
            ["my-work"] => Page::MyWork,
            ["report"] => Page::Report,
            ["import"] => Page::Import,
            ["actions", plan, action] => match (DocId::new(*plan), ActionId::new(*action)) {
                (Ok(plan), Ok(action)) => Page::Action { plan, action },
                _ => Page::NotFound,
            },
            _ => Page::NotFound,
        }
    }

    /// The page's path.
    pub fn path(&self) -> String {
        match self {
            Page::Overview => "/".into(),
            Page::Actions => "/actions".into(),
            Page::MyWork => "/my-work".into(),
            Page::Report => "/report".into(),
            Page::Import => "/import".into(),
            Page::Action { plan, action } => format!("/actions/{plan}/{action}"),
            Page::NotFound => "/not-found".into(),
        }
    }

    /// The page's title, for the browser tab and screen readers.
    pub fn title(&self) -> &'static str {
        match self {
            Page::Overview => "Programme overview",
            Page::Actions => "Actions",
            Page::MyWork => "My work",
            Page::Report => "Board report",
            Page::Import => "Import an action plan",
            Page::Action { .. } => "Action",
            Page::NotFound => "Page not found",
        }
    }
}

/// The current page, provided by the app.
#[derive(Debug, Clone, Copy)]
pub struct Router {
    /// The page shown.
    pub page: RwSignal<Page>,
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into())
}

/// Provides the router and follows the browser's back and forward buttons.
pub fn provide_router_context() -> Router {
    let router = Router {
        page: RwSignal::new(Page::from_path(&current_path())),
    };
    provide_context(router);
    if let Some(window) = web_sys::window() {
        // Also fired by links to a fragment (the skip link, the error
        // summary's): the page must not be rebuilt for those.
        let on_pop = Closure::<dyn FnMut()>::new(move || {
            let page = Page::from_path(&current_path());
            if router.page.get_untracked() != page {
                router.page.set(page);
            }
        });
        let _ =
            window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        on_pop.forget();
    }
    router
}

/// Goes to `page`, adding it to the browser's history.
pub fn navigate(page: Page) {
    let router = expect_context::<Router>();
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&page.path()));
    }
    if let Some(window) = web_sys::window() {
        window.scroll_to_with_x_and_y(0.0, 0.0);
    }
    router.page.set(page);
}

/// A link to a page: a real `<a href>` (it opens in a new tab, and screen
/// readers announce it as a link) that navigates without reloading.
#[component]
pub fn PageLink(
    page: Page,
    children: Children,
    #[prop(optional, into)] class: String,
) -> impl IntoView {
    let href = page.path();
    view! {
        <a
            href=href
            class=class
            on:click=move |ev: leptos::ev::MouseEvent| {
                if ev.button() == 0 && !ev.ctrl_key() && !ev.meta_key() && !ev.shift_key() {
                    ev.prevent_default();
                    navigate(page.clone());
                }
            }
        >
            {children()}
        </a>
    }
}

/// For a click inside markup: a link to a page of the app (`href` from
/// `/`, not the API, not a download) navigates in the app instead of
/// reloading. Other clicks pass.
pub fn follow_links(ev: &web_sys::MouseEvent) {
    use wasm_bindgen::JsCast;
    if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() {
        return;
    }
    let Some(link) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest("a[href^='/']:not([download])").ok().flatten())
    else {
        return;
    };
    let Some(href) = link
        .get_attribute("href")
        .filter(|h| !h.starts_with("/api/"))
    else {
        return;
    };
    ev.prevent_default();
    navigate(Page::from_path(&href));
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn paths_round_trip() {
        let action = Page::Action {
            plan: DocId::new("demo-safe-staffing").unwrap(),
            action: ActionId::new("a-md001").unwrap(),
        };
        for page in [
            Page::Overview,
            Page::Actions,
            Page::MyWork,
            Page::Report,
            Page::Import,
            action,
        ] {
            assert_eq!(Page::from_path(&page.path()), page);
        }
        assert_eq!(Page::from_path("/actions/bad id/x"), Page::NotFound);
        assert_eq!(Page::from_path("/nowhere"), Page::NotFound);
    }
}
