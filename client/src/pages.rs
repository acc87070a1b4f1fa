//! The pages, and the small router between them (path ↔ programme and
//! [`Page`]), kept by hand: a few routes do not need a routing library's
//! weight in the wasm.
//!
//! A programme's pages live under `/p/{programme}/` (`/p/nsft-qip/actions`);
//! `/` is the list of the person's programmes. A path with no programme
//! (an old link, `/actions`) opens in the programme last used.

use leptos::prelude::*;
use plait_shared::{ActionId, DocId, FindingId, MeetingId};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

pub mod action;
pub mod actions;
pub mod drivers;
pub mod findings;
pub mod governance;
pub mod history;
pub mod import;
pub mod improvement;
pub mod measures;
pub mod meetings;
pub mod my_work;
pub mod overview;
pub mod paper;
pub mod programmes;
pub mod report;
pub mod setup;
pub mod sign_in;

/// Every page of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The person's programmes, to pick one (and, for a server
    /// administrator, to create one).
    Programmes,
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
    /// Setting up the programme (its admin).
    Setup,
    /// The warning notice's register.
    WarningNotice,
    /// The forums' meetings.
    Meetings,
    /// Phase 2's measures, each with its SPC chart.
    Measures,
    /// Phase 2's root causes and the findings they explain.
    RootCauses,
    /// Phase 2's driver diagrams and PDSA cycles.
    Drivers,
    /// The criteria for leaving the programme.
    ExitCriteria,
    /// One meeting: its committee pack, decisions and chair's report.
    Meeting {
        /// The meeting.
        meeting: MeetingId,
    },
    /// The board paper for a meeting.
    Paper {
        /// The meeting.
        meeting: MeetingId,
    },
    /// One finding, with the actions answering it.
    Finding {
        /// Its plan document.
        plan: DocId,
        /// The finding.
        finding: FindingId,
    },
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
    /// The page at a path within a programme (`/actions`).
    pub fn from_path(path: &str) -> Page {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            [""] => Page::Overview,
            ["programmes"] => Page::Programmes,
            ["actions"] => Page::Actions,
            ["my-work"] => Page::MyWork,
            ["report"] => Page::Report,
            ["import"] => Page::Import,
            ["setup"] => Page::Setup,
            ["warning-notice"] => Page::WarningNotice,
            ["meetings"] => Page::Meetings,
            ["measures"] => Page::Measures,
            ["root-causes"] => Page::RootCauses,
            ["driver-diagrams"] => Page::Drivers,
            ["exit-criteria"] => Page::ExitCriteria,
            ["meetings", meeting] => {
                MeetingId::new(*meeting).map_or(Page::NotFound, |meeting| Page::Meeting { meeting })
            }
            ["papers", meeting] => {
                MeetingId::new(*meeting).map_or(Page::NotFound, |meeting| Page::Paper { meeting })
            }
            ["findings", plan, finding] => match (DocId::new(*plan), FindingId::new(*finding)) {
                (Ok(plan), Ok(finding)) => Page::Finding { plan, finding },
                _ => Page::NotFound,
            },
            ["actions", plan, action] => match (DocId::new(*plan), ActionId::new(*action)) {
                (Ok(plan), Ok(action)) => Page::Action { plan, action },
                _ => Page::NotFound,
            },
            _ => Page::NotFound,
        }
    }

    /// The page's path within its programme.
    pub fn path(&self) -> String {
        match self {
            Page::Programmes => "/programmes".into(),
            Page::Overview => "/".into(),
            Page::Actions => "/actions".into(),
            Page::MyWork => "/my-work".into(),
            Page::Report => "/report".into(),
            Page::Import => "/import".into(),
            Page::Setup => "/setup".into(),
            Page::WarningNotice => "/warning-notice".into(),
            Page::Meetings => "/meetings".into(),
            Page::Measures => "/measures".into(),
            Page::RootCauses => "/root-causes".into(),
            Page::Drivers => "/driver-diagrams".into(),
            Page::ExitCriteria => "/exit-criteria".into(),
            Page::Meeting { meeting } => format!("/meetings/{meeting}"),
            Page::Paper { meeting } => format!("/papers/{meeting}"),
            Page::Finding { plan, finding } => format!("/findings/{plan}/{finding}"),
            Page::Action { plan, action } => format!("/actions/{plan}/{action}"),
            Page::NotFound => "/not-found".into(),
        }
    }

    /// The page's title, for the browser tab and screen readers.
    pub fn title(&self) -> &'static str {
        match self {
            Page::Programmes => "Your programmes",
            Page::Overview => "Programme overview",
            Page::Actions => "Actions",
            Page::MyWork => "My work",
            Page::Report => "Board report",
            Page::Import => "Import an action plan",
            Page::Setup => "Set up the programme",
            Page::WarningNotice => "Warning notice",
            Page::Meetings => "Meetings",
            Page::Measures => "Measures",
            Page::RootCauses => "Root causes",
            Page::Drivers => "Driver diagrams",
            Page::ExitCriteria => "Exit criteria",
            Page::Meeting { .. } => "Committee pack",
            Page::Paper { .. } => "Board paper",
            Page::Finding { .. } => "Finding",
            Page::Action { .. } => "Action",
            Page::NotFound => "Page not found",
        }
    }
}

/// The programme and page a path names: `/p/{programme}/{page}`, or a
/// page with no programme (`/` is [`Page::Programmes`]).
pub fn locate(path: &str) -> (Option<DocId>, Page) {
    let trimmed = path.trim_start_matches('/');
    if let Some(rest) = trimmed.strip_prefix("p/") {
        let (id, page) = rest.split_once('/').unwrap_or((rest, ""));
        return match DocId::new(id) {
            Ok(id) if plait_shared::import::is_programme_id(&id) => {
                (Some(id), Page::from_path(page))
            }
            _ => (None, Page::NotFound),
        };
    }
    if trimmed.trim_end_matches('/').is_empty() {
        (None, Page::Programmes)
    } else {
        (None, Page::from_path(path))
    }
}

/// The address of `page` in `programme` (the programmes list is `/`).
pub fn address(programme: Option<&DocId>, page: &Page) -> String {
    match (programme, page) {
        (_, Page::Programmes) => "/".into(),
        (Some(programme), Page::Overview) => format!("/p/{programme}/"),
        (Some(programme), page) => format!("/p/{programme}{}", page.path()),
        (None, page) => page.path(),
    }
}

/// The current programme and page, provided by the app.
#[derive(Debug, Clone, Copy)]
pub struct Router {
    /// The page shown.
    pub page: RwSignal<Page>,
    /// The programme open (`None` on the programmes list).
    pub programme: RwSignal<Option<DocId>>,
}

impl Router {
    /// The address of `page` in the programme open.
    pub fn href(&self, page: &Page) -> String {
        self.programme
            .with_untracked(|programme| address(programme.as_ref(), page))
    }
}

/// The address of `page` in the programme open, for links in markup.
pub fn href(page: &Page) -> String {
    expect_context::<Router>().href(page)
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/".into())
}

/// Shows `page` of the programme open at its address, in place of the
/// current history entry (a path with no programme, once one is chosen).
pub fn replace_address(router: Router) {
    // The query (a list's filters) stays.
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let address = format!("{}{query}", router.href(&router.page.get_untracked()));
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
    }
}

/// Loads `address` afresh (another programme: its own workspace).
pub fn load(address: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(address);
    }
}

/// Provides the router and follows the browser's back and forward buttons.
pub fn provide_router_context() -> Router {
    let (programme, page) = locate(&current_path());
    let router = Router {
        page: RwSignal::new(page),
        programme: RwSignal::new(programme),
    };
    provide_context(router);
    if let Some(window) = web_sys::window() {
        // Also fired by links to a fragment (the skip link, the error
        // summary's): the page must not be rebuilt for those.
        let on_pop = Closure::<dyn FnMut()>::new(move || {
            let (programme, page) = locate(&current_path());
            if programme.is_some() && programme != router.programme.get_untracked() {
                // Another programme's page: its own workspace.
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
                return;
            }
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

/// Goes to `page` of the programme open, adding it to the browser's
/// history.
pub fn navigate(page: Page) {
    let router = expect_context::<Router>();
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&router.href(&page)),
        );
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
    let href = expect_context::<Router>().href(&page);
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
    let (programme, page) = locate(&href);
    let router = expect_context::<Router>();
    if page == Page::Programmes
        || programme.is_some_and(|p| Some(p) != router.programme.get_untracked())
    {
        return; // another programme, or the list: a fresh page load
    }
    ev.prevent_default();
    navigate(page);
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
            Page::Setup,
            Page::WarningNotice,
            Page::Meetings,
            Page::Measures,
            Page::RootCauses,
            Page::Drivers,
            Page::ExitCriteria,
            Page::Meeting {
                meeting: plait_shared::MeetingId::new("qsc-2027-01-20").unwrap(),
            },
            Page::Paper {
                meeting: plait_shared::MeetingId::new("board-2027-01-27").unwrap(),
            },
            action,
        ] {
            assert_eq!(Page::from_path(&page.path()), page);
        }
        assert_eq!(Page::from_path("/actions/bad id/x"), Page::NotFound);
        assert_eq!(Page::from_path("/nowhere"), Page::NotFound);
        // Within a programme, and the list of programmes.
        let qip = DocId::new("nsft-qip").unwrap();
        for page in [Page::Overview, Page::Actions, Page::Report] {
            let at = address(Some(&qip), &page);
            assert!(at.starts_with("/p/nsft-qip/"), "{at}");
            assert_eq!(locate(&at), (Some(qip.clone()), page));
        }
        assert_eq!(locate("/"), (None, Page::Programmes));
        assert_eq!(locate("/p/nsft-qip"), (Some(qip.clone()), Page::Overview));
        assert_eq!(locate("/actions"), (None, Page::Actions));
        assert_eq!(
            locate("/p/demo_plan/"),
            (None, Page::NotFound),
            "a plan is not a programme"
        );
        assert_eq!(address(Some(&qip), &Page::Programmes), "/");
    }
}
