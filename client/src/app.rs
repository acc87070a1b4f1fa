//! The application: the sign-in page until someone signs in; then the
//! frame every page shares (`crate::frame`), loaded as a chunk of its own.

use leptos::prelude::*;

use crate::components::later::split_point;

use crate::api::{self, Account};
use crate::browser::focus;
use crate::components::later::later_framed;
use crate::frame::Header;
use crate::pages::provide_router_context;
use crate::pages::sign_in::SignIn;

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

split_point! {
    /// The signed-in app, a chunk of its own: the documents (yrs), their sync
    /// and storage, and the frame of every page (`crate::frame`).
    [signed_in, preload(prefetch_signed_in)]
    fn signed_in_chunk(account: Account, live: bool) {
        Ok(view! { <crate::frame::SignedIn account live /> }.into_any())
    }
}

/// Fetches the signed-in app's chunks (the frame, and the lists: the
/// overview, My work, the action list) in the background while the sign-in page waits for
/// a password, so signing in does not wait for them on a slow link.
fn prefetch_ward_path() {
    // The frame and the lists side by side (My work needs both); a failure
    // is not an error here: the page asks again when it is shown.
    wasm_bindgen_futures::spawn_local(async {
        let _ = prefetch_signed_in().await;
    });
    wasm_bindgen_futures::spawn_local(crate::chunks::prefetch_ward_pages());
}

/// The header and `main` around the signed-in frame's loading line (or its
/// failure), until the frame's chunk is in.
fn frame(view: AnyView) -> AnyView {
    view! {
        <Header signed_in=false />
        <div class="nhsuk-width-container">
            <main class="nhsuk-main-wrapper" id="main" tabindex="-1">{view}</main>
        </div>
    }
    .into_any()
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let router = provide_router_context();
    register_service_worker();
    wasm_bindgen_futures::spawn_local(api::end_pending_logout());
    // (account, just signed in)
    let signed_in = RwSignal::new(Account::remembered().map(|a| (a, false)));
    let user = Memo::new(move |_| signed_in.with(|s| s.as_ref().map(|(a, _)| a.username.clone())));
    Effect::new(move |_| {
        let title = if user.with(Option::is_none) {
            "Sign in"
        } else {
            router.page.get().title()
        };
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&format!("{title} – Plait"));
        }
    });
    let first = move |account: Account| {
        account.remember();
        signed_in.set(Some((account, true)));
        focus("main");
    };
    view! {
        <a class="nhsuk-skip-link" href="#main">"Skip to main content"</a>
        {move || match user.get() {
            None => {
                prefetch_ward_path();
                view! {
                <Header signed_in=false />
                <div class="nhsuk-width-container">
                    <main class="nhsuk-main-wrapper" id="main" tabindex="-1">
                        <SignIn on_done=Callback::new(first) />
                    </main>
                </div>
            }.into_any()
            }
            Some(_) => signed_in
                .get_untracked()
                .map(|(account, live)| later_framed(move || signed_in_chunk(account.clone(), live), frame))
                .into_any(),
        }}
    }
}
