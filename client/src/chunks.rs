//! The pages a ward rarely opens, each compiled into a wasm chunk that the
//! browser fetches the first time one of them is shown (issue 18).
//!
//! Every function here is a split point: the build
//! (`client/build/split-wasm.mjs`, run by trunk after it has built the
//! wasm) moves the code reachable only from split points into modules of
//! their own, so the first download carries the sign-in page and the ward's
//! pages (My work, the action list, the action page), not the set-up,
//! import, meeting or board pages. Functions sharing a module name share a
//! chunk. The service worker caches every chunk on the first online visit,
//! so these pages open offline too.
//!
//! Calling one returns a future; [`later`] shows a loading line until the
//! chunk is in, and a way to try again if it could not be fetched (a load
//! failure is an error, not a crash: the split points are `fallible`).

use std::future::Future;

use leptos::prelude::*;
use leptos::wasm_split::{wasm_split, SplitLoaderError};
use plait_shared::{DocId, FindingId, MeetingId};

/// A page whose code is in a chunk: "Loading" until `page` is ready, then
/// the page, or a message and a retry if the chunk could not be fetched.
pub fn later<F, Fut>(page: F) -> AnyView
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, SplitLoaderError>> + Send + 'static,
{
    let attempt = RwSignal::new(0_u32);
    view! {
        <Suspense fallback=|| view! { <p class="plait-loading" role="status">"Loading the page…"</p> }>
            {move || {
                attempt.track();
                let page = page.clone();
                Suspend::new(async move {
                    match page().await {
                        Ok(view) => view,
                        Err(_) => view! {
                            <h1>"This page could not be loaded"</h1>
                            <p>"Its part of Plait has not been downloaded to this device yet, and the \
                                network did not answer. Your work is kept on this device."</p>
                            <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                on:click=move |_| attempt.update(|n| *n += 1)>"Try again"</button>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The person's programmes (and a server administrator's creation form).
#[wasm_split(programmes, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn programmes() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::programmes::Programmes /> }.into_any())
}

/// Setting up a programme.
#[wasm_split(setup, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn setup() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::setup::Setup /> }.into_any())
}

/// Importing a tracker.
#[wasm_split(import, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn import() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::import::Import /> }.into_any())
}

/// The board report (the paper's appendix of figures).
#[wasm_split(report, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn report() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::report::Report /> }.into_any())
}

/// The board paper for a meeting.
#[wasm_split(paper, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn paper(meeting: MeetingId) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::paper::BoardPaper meeting /> }.into_any())
}

/// The forums' meetings.
#[wasm_split(meetings, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn meetings() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::meetings::Meetings /> }.into_any())
}

/// One meeting's committee pack.
#[wasm_split(meeting, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn meeting(meeting: MeetingId) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::meetings::MeetingPack meeting /> }.into_any())
}

/// The warning notice's register.
#[wasm_split(warning_notice, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn warning_notice() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::findings::WarningNotice /> }.into_any())
}

/// One finding with its actions.
#[wasm_split(finding, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn finding(plan: DocId, finding: FindingId) -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::findings::FindingPage plan finding /> }.into_any())
}

/// The programme's overview.
#[wasm_split(overview, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn overview() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <crate::pages::overview::Overview /> }.into_any())
}
