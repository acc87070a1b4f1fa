//! The frame every signed-in page shares: the header with the account and
//! the navigation, the sync status, the notices, and the page for the
//! current path. It is a chunk of its own (`crate::app`'s split point), with
//! the documents, their sync and storage: the sign-in page does not wait for
//! it, and fetches it while someone types their password.

use leptos::prelude::*;

use crate::api::{self, Account};
use crate::browser::focus;
use crate::chunks;
use crate::components::account::{AccountNav, ConfirmSignOut};
use crate::components::form::{ErrorSummary, TextField};
use crate::components::later::later;
use crate::components::notices::Notices;
use crate::components::sync_status::SyncStatus;
use crate::contexts::workspace::provide_workspace_context;
use crate::pages::sign_in::SignIn;
use crate::pages::{replace_address, Page, PageLink, Router};

#[component]
pub fn Header(signed_in: bool, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let router = expect_context::<Router>();
    // The programme's pages are offered inside a programme only.
    let signed_in = signed_in && router.programme.with_untracked(Option::is_some);
    let admin = signed_in
        && use_context::<crate::contexts::session::SessionContext>()
            .is_some_and(|s| plait_shared::access::administers(s.actor.get_untracked().role));
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
        <header class="nhsuk-header" role="banner">
            <div class="nhsuk-header__container nhsuk-width-container">
                <div class="nhsuk-header__service">
                    <PageLink page=Page::Overview class="nhsuk-header__service-name">"Plait"</PageLink>
                </div>
                {children.map(|c| c())}
            </div>
            {signed_in.then(|| view! {
                <nav class="nhsuk-header__navigation" aria-label="Main">
                    <div class="nhsuk-width-container">
                        <ul class="nhsuk-header__navigation-list">
                            {nav_link(Page::Overview, "Overview")}
                            {nav_link(Page::MyWork, "My work")}
                            {nav_link(Page::Actions, "Actions")}
                            {nav_link(Page::Meetings, "Meetings")}
                            {nav_link(Page::Drivers, "Phase 2")}
                            {nav_link(Page::Report, "Board report")}
                            {admin.then(|| nav_link(Page::Setup, "Set up"))}
                            <li class="nhsuk-header__navigation-item">
                                // A plain link: the list opens in a fresh page.
                                <a class="nhsuk-header__navigation-link" href="/">"Your programmes"</a>
                            </li>
                        </ul>
                    </div>
                </nav>
            })}
        </header>
    }
}

/// The app for a signed-in person (`live` when they have just signed in;
/// otherwise it opens from the remembered account and checks the session).
#[component]
pub fn SignedIn(account: Account, live: bool) -> impl IntoView {
    let router = expect_context::<Router>();
    // A path naming no programme opens the one last used here (or the
    // person's only one); "/" lists them unless there is only one.
    if router.programme.with_untracked(Option::is_none) {
        let page = router.page.get_untracked();
        let mine = |id: &plait_shared::DocId| account.role_in(id.as_str()).is_some();
        let only = (account.programmes.len() == 1 && !account.superuser)
            .then(|| account.programmes[0].id.clone());
        let chosen = match page {
            Page::Programmes => only,
            _ => api::last_programme(&account.username)
                .filter(|id| mine(id))
                .or(only),
        };
        match chosen {
            Some(programme) => {
                router.programme.set(Some(programme));
                if page == Page::Programmes {
                    router.page.set(Page::Overview);
                }
            }
            None => router.page.set(Page::Programmes),
        }
        replace_address(router);
    }
    // A programme the person does not belong to answers as no page.
    let programme = router
        .programme
        .get_untracked()
        .filter(|id| account.role_in(id.as_str()).is_some());
    let unknown = programme.is_none() && router.programme.with_untracked(Option::is_some);
    let workspace = provide_workspace_context(account, programme, live);
    let session = crate::contexts::session::use_session();
    let again = move |fresh: Account| {
        if fresh.username == session.account.get_untracked().username {
            workspace.signed_in(fresh);
            focus("main");
        } else {
            // Someone else: their own workspace, in a fresh page.
            fresh.remember();
            if let Some(window) = web_sys::window() {
                let _ = window.location().replace("/");
            }
        }
    };
    view! {
        <Header signed_in=true><AccountNav /></Header>
        <div class="nhsuk-width-container plait-bar">
            <SyncStatus />
        </div>
        <div class="nhsuk-width-container">
            <Notices />
            <main class="nhsuk-main-wrapper" id="main" tabindex="-1">
                {move || if session.signing_in.get() {
                    let username = session.account.get_untracked().username.to_string();
                    view! {
                        <SignIn again=username on_done=Callback::new(again)
                            on_cancel=Callback::new(move |()| session.signing_in.set(false)) />
                    }.into_any()
                } else if session.confirming_sign_out.get() {
                    view! { <ConfirmSignOut /> }.into_any()
                } else if session.account.with(|a| a.must_change_password) {
                    view! { <ChoosePassword /> }.into_any()
                } else if unknown {
                    view! {
                        <h1>"Programme not found"</h1>
                        <p>"There is no programme at this address that you are a member of."</p>
                        <p><a href="/">"See your programmes"</a></p>
                    }.into_any()
                } else {
                    match router.page.get() {
                        Page::Programmes => later(chunks::programmes),
                        Page::Overview => later(chunks::overview),
                        Page::Actions => later(chunks::actions),
                        Page::MyWork => later(chunks::my_work),
                        Page::Report => later(chunks::report),
                        Page::Import => later(chunks::import),
                        Page::Setup => later(chunks::setup),
                        Page::WarningNotice => later(chunks::warning_notice),
                        Page::Meetings => later(chunks::meetings),
                        Page::Measures => later(chunks::measures),
                        Page::RootCauses => later(chunks::root_causes),
                        Page::Drivers => later(chunks::drivers),
                        Page::ExitCriteria => later(chunks::exit_criteria),
                        Page::Meeting { meeting } => later(move || chunks::meeting(meeting.clone())),
                        Page::Paper { meeting } => later(move || chunks::paper(meeting.clone())),
                        Page::Finding { plan, finding } => later(move || chunks::finding(plan.clone(), finding.clone())),
                        Page::Action { plan, action } => later(move || chunks::action(plan.clone(), action.clone())),
                        Page::NotFound => view! {
                            <h1>"Page not found"</h1>
                            <p><PageLink page=Page::Overview>"Go to the programme overview"</PageLink></p>
                        }.into_any(),
                    }
                }}
            </main>
        </div>
    }
}

/// The first page for an account with a one-time password: choosing their
/// own (nothing else works until they have).
#[component]
fn ChoosePassword() -> impl IntoView {
    let workspace = crate::contexts::workspace::use_workspace();
    let session = crate::contexts::session::use_session();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let mut found = Vec::new();
        if current.get_untracked().is_empty() {
            found.push((
                "current-password".to_owned(),
                "Enter the password you were given".to_owned(),
            ));
        }
        if new.get_untracked().chars().count() < 10 {
            found.push((
                "new-password".to_owned(),
                "Your new password must be at least 10 characters".to_owned(),
            ));
        } else if new.get_untracked() != again.get_untracked() {
            found.push((
                "new-password-again".to_owned(),
                "The two new passwords are not the same".to_owned(),
            ));
        }
        if !found.is_empty() {
            errors.set(found);
            focus("password-errors");
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        let csrf = session.account.get_untracked().csrf.clone();
        let (old, chosen) = (current.get_untracked(), new.get_untracked());
        wasm_bindgen_futures::spawn_local(async move {
            match api::change_password(&old, &chosen, &csrf).await {
                Ok(account) => {
                    workspace.signed_in(account);
                    focus("main");
                }
                Err(e) => {
                    errors.set(vec![("current-password".to_owned(), api::reason(&e))]);
                    busy.set(false);
                    focus("password-errors");
                }
            }
        });
    };
    view! {
        <h1>"Choose your password"</h1>
        <p>"You signed in with a one-time password. Choose your own to carry on: at least 10 characters."</p>
        <ErrorSummary id="password-errors" errors />
        <form on:submit=submit novalidate>
            <TextField id="current-password" label="The password you were given" value=current errors
                kind="password" autocomplete="current-password" width="nhsuk-input--width-20" />
            <TextField id="new-password" label="Your new password" value=new errors
                kind="password" autocomplete="new-password" width="nhsuk-input--width-20" />
            <TextField id="new-password-again" label="Your new password again" value=again errors
                kind="password" autocomplete="new-password" width="nhsuk-input--width-20" />
            <button class="nhsuk-button" type="submit" prop:disabled=move || busy.get()>"Save my password"</button>
        </form>
    }
}
