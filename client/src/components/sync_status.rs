//! The sync status line: always visible, always true.

use leptos::prelude::*;
use plait_shared::UnixMillis;

use crate::contexts::session::{use_session, Session};
use crate::contexts::workspace::use_workspace;

/// "3 hours ago", "2 minutes ago", "just now".
pub fn ago(then: UnixMillis, now: UnixMillis) -> String {
    let seconds = (now.0 - then.0).max(0) / 1000;
    let (n, unit) = match seconds {
        0..=44 => return "just now".into(),
        45..=5399 => ((seconds + 30) / 60, "minute"),
        5400..=129_599 => ((seconds + 1800) / 3600, "hour"),
        _ => ((seconds + 43_200) / 86_400, "day"),
    };
    let n = n.max(1);
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// The status line. A live region, so screen readers hear changes. When the
/// session has ended, it says so, with a button to sign in again.
#[component]
pub fn SyncStatus() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let ended = Memo::new(move |_| session.state.get() == Session::Ended);
    let text = move || {
        let status = workspace.status();
        let now = crate::browser::now();
        let network = if ended.get() {
            "Signed out"
        } else if !status.online {
            "Offline"
        } else if status.connected {
            "Online"
        } else {
            "Connecting"
        };
        let saved = if status.waiting > 0 {
            let oldest = status.oldest.map(|t| ago(t, now)).unwrap_or_default();
            format!(
                "{} change{} waiting to sync — oldest {oldest}",
                status.waiting,
                if status.waiting == 1 { "" } else { "s" }
            )
        } else if status.all_saved() {
            "All changes saved".to_owned()
        } else {
            "Not yet synced".to_owned()
        };
        let last = status
            .last_synced
            .map(|t| format!(" · last synced {}", ago(t, now)))
            .unwrap_or_default();
        (network, saved, last, status.all_saved())
    };
    view! {
        <div class="plait-sync-status" role="status" aria-live="polite" data-testid="sync-status">
            {move || {
                let (network, saved, last, all_saved) = text();
                let shown = if ended.get() { "Signed out: sign in again to sync" } else { network };
                view! {
                    <span class="plait-sync-status__network" data-network=network>{shown}</span>
                    " · "
                    <span class="plait-sync-status__saved" data-saved=all_saved.to_string()>{saved}</span>
                    <span class="plait-sync-status__last">{last}</span>
                }
            }}
        </div>
        <button class="nhsuk-button nhsuk-button--secondary plait-sign-in-again" type="button"
            hidden=move || !ended.get() || session.signing_in.get()
            on:click=move |_| {
                session.confirming_sign_out.set(false);
                session.signing_in.set(true);
            }>
            "Sign in again"
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::ago;
    use plait_shared::UnixMillis;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn times_read_like_speech() {
        let t = |s: i64| ago(UnixMillis(0), UnixMillis(s * 1000));
        assert_eq!(t(10), "just now");
        assert_eq!(t(60), "1 minute ago");
        assert_eq!(t(2 * 3600), "2 hours ago");
        assert_eq!(t(3 * 86_400), "3 days ago");
    }
}
