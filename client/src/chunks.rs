//! The signed-in pages, compiled into wasm chunks that the browser fetches
//! the first time one of them is shown (issue 18).
//!
//! Every function here is a split point (`split_point!`, in
//! `crate::components::later`), as are `crate::app`'s frame (the documents,
//! their sync and storage, the header) and the action page's governance
//! section: the build (`client/build/split-wasm.mjs`, run by trunk after it
//! has built the wasm) moves the code reachable only from split points into
//! modules of their own, so the first download is the sign-in page alone.
//! Functions sharing a module name share a chunk: the ward's lists
//! (overview, My work, the action list, a finding, the warning notice), the
//! action page, the programme office's set-up, the import, the committee's
//! meetings, the board's paper, the board report, phase 2's measures, root
//! causes and exit criteria, and its driver diagrams. Code several modules
//! share is grouped by the patched splitter (`client/build/split-wasm.mjs`):
//! into the main module when nine or more of the eleven need it, into the
//! frame when the frame needs it (the frame is always loaded first), else
//! into a shared chunk fetched with each module that needs it, small ones
//! folded into larger ones.
//!
//! The sign-in page fetches the frame and the lists in the background while
//! someone types their password (`crate::app`); the service worker caches
//! every chunk on the first online visit, so every page opens offline too.
//! Calling a split function returns a future; `crate::components::later`
//! shows a loading line until the chunk is in, and a way to try again if it
//! could not be fetched (a load failure is an error, not a crash).

use leptos::prelude::*;

use crate::components::later::split_point;

use plait_shared::{ActionId, DocId, FindingId, MeetingId};

split_point! {
    /// What needs the signed-in person.
    [lists, preload(prefetch_my_work)]
    pub fn my_work() {
        Ok(view! { <crate::pages::my_work::MyWork /> }.into_any())
    }
}

split_point! {
    /// Every action, filtered and sorted.
    [lists]
    pub fn actions() {
        Ok(view! { <crate::pages::actions::Actions /> }.into_any())
    }
}

split_point! {
    /// One action: its summary, governance and history.
    [action]
    pub fn action(plan: DocId, action: ActionId) {
        Ok(view! { <crate::pages::action::ActionPage plan action /> }.into_any())
    }
}

split_point! {
    /// The programme's overview (the first page after signing in).
    [lists]
    pub fn overview() {
        Ok(view! { <crate::pages::overview::Overview /> }.into_any())
    }
}

/// Fetches the ward's lists (the overview, My work, the action list) in the
/// background; a failure is left for the page to meet. The action page is
/// not fetched ahead: on a slow link its bytes would delay the documents
/// My work is waiting for (measured: tests/browser/measure.mjs), and the
/// service worker caches it soon after.
pub async fn prefetch_ward_pages() {
    let _ = prefetch_my_work().await;
}

split_point! {
    /// The person's programmes (and a server administrator's creation form).
    [office]
    pub fn programmes() {
        Ok(view! { <crate::pages::programmes::Programmes /> }.into_any())
    }
}

split_point! {
    /// Setting up a programme.
    [office]
    pub fn setup() {
        Ok(view! { <crate::pages::setup::Setup /> }.into_any())
    }
}

split_point! {
    /// Importing a tracker (a module of its own: used about once a
    /// programme; issue 18).
    [import]
    pub fn import() {
        Ok(view! { <crate::pages::import::Import /> }.into_any())
    }
}

split_point! {
    /// The board report (the paper's appendix of figures).
    [report]
    pub fn report() {
        Ok(view! { <crate::pages::report::Report /> }.into_any())
    }
}

split_point! {
    /// The board paper for a meeting.
    [board]
    pub fn paper(meeting: MeetingId) {
        Ok(view! { <crate::pages::paper::BoardPaper meeting /> }.into_any())
    }
}

split_point! {
    /// The forums' meetings.
    [committee]
    pub fn meetings() {
        Ok(view! { <crate::pages::meetings::Meetings /> }.into_any())
    }
}

split_point! {
    /// One meeting's committee pack.
    [committee]
    pub fn meeting(meeting: MeetingId) {
        Ok(view! { <crate::pages::meetings::MeetingPack meeting /> }.into_any())
    }
}

split_point! {
    /// Phase 2's measures with their SPC charts.
    [phase2]
    pub fn measures() {
        Ok(view! { <crate::pages::measures::Measures /> }.into_any())
    }
}

split_point! {
    /// Phase 2's root causes.
    [phase2]
    pub fn root_causes() {
        Ok(view! { <crate::pages::improvement::RootCauses /> }.into_any())
    }
}

split_point! {
    /// Phase 2's driver diagrams and PDSA cycles.
    [drivers]
    pub fn drivers() {
        Ok(view! { <crate::pages::drivers::Drivers /> }.into_any())
    }
}

split_point! {
    /// The programme's exit criteria.
    [phase2]
    pub fn exit_criteria() {
        Ok(view! { <crate::pages::improvement::ExitCriteria /> }.into_any())
    }
}

split_point! {
    /// The warning notice's register.
    [lists]
    pub fn warning_notice() {
        Ok(view! { <crate::pages::findings::WarningNotice /> }.into_any())
    }
}

split_point! {
    /// One finding with its actions.
    [lists]
    pub fn finding(plan: DocId, finding: FindingId) {
        Ok(view! { <crate::pages::findings::FindingPage plan finding /> }.into_any())
    }
}
