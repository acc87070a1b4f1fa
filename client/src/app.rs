//! The application: the frame every page shares (header, sync status, the
//! acting role, navigation) and the page for the current path.

use leptos::prelude::*;

use crate::components::role_switch::RoleSwitch;
use crate::components::sync_status::SyncStatus;
use crate::contexts::workspace::provide_workspace_context;
use crate::pages::action::ActionPage;
use crate::pages::actions::Actions;
use crate::pages::overview::Overview;
use crate::pages::{provide_router_context, Page, PageLink};

/// Registers the service worker that keeps the app shell for offline use.
fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    let registration = container.register("/sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = wasm_bindgen_futures::JsFuture::from(registration).await {
            leptos::logging::warn!("offline use is unavailable: {e:?}");
        }
    });
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let router = provide_router_context();
    provide_workspace_context();
    register_service_worker();
    Effect::new(move |_| {
        let title = router.page.get().title();
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&format!("{title} – Plait"));
        }
    });
    let nav_link = move |page: Page, label: &'static str| {
        let current = page.clone();
        view! {
            <li class="nhsuk-header__navigation-item">
                <PageLink page class="nhsuk-header__navigation-link">
                    <span aria-current=move || (router.page.get() == current).then_some("page")>{label}</span>
                </PageLink>
            </li>
        }
    };
    view! {
        <a class="nhsuk-skip-link" href="#main">"Skip to main content"</a>
        <header class="nhsuk-header" role="banner">
            <div class="nhsuk-header__container nhsuk-width-container">
                <div class="nhsuk-header__service">
                    <PageLink page=Page::Overview class="nhsuk-header__service-name">"Plait"</PageLink>
                </div>
            </div>
            <nav class="nhsuk-header__navigation" aria-label="Main">
                <div class="nhsuk-width-container">
                    <ul class="nhsuk-header__navigation-list">
                        {nav_link(Page::Overview, "Overview")}
                        {nav_link(Page::Actions, "Actions")}
                    </ul>
                </div>
            </nav>
        </header>
        <div class="nhsuk-width-container plait-bar">
            <SyncStatus />
            <RoleSwitch />
        </div>
        <div class="nhsuk-width-container">
            <main class="nhsuk-main-wrapper" id="main" tabindex="-1">
                {move || match router.page.get() {
                    Page::Overview => view! { <Overview /> }.into_any(),
                    Page::Actions => view! { <Actions /> }.into_any(),
                    Page::Action { plan, action } => view! { <ActionPage plan action /> }.into_any(),
                    Page::NotFound => view! {
                        <h1>"Page not found"</h1>
                        <p><PageLink page=Page::Overview>"Go to the programme overview"</PageLink></p>
                    }.into_any(),
                }}
            </main>
        </div>
    }
}
