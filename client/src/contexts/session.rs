//! Who is signed in on this page, whether the server has confirmed their
//! session, and the sign-in and sign-out prompts: one of the workspace's
//! parts (`Workspace::session`).

use leptos::prelude::*;
use plait_shared::{DocId, Role, UserId};

use crate::api::Account;

/// Who is acting, and in which role: the signed-in account and its role in
/// the programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person.
    pub user: UserId,
    /// Their role in this programme.
    pub role: Role,
}

impl Actor {
    /// As `plait_shared::access` takes it, under the programme's `rules`.
    pub fn access(&self, rules: plait_shared::Governance) -> plait_shared::access::Actor<'_> {
        plait_shared::access::Actor {
            user: &self.user,
            role: self.role,
            rules,
        }
    }
}

/// What the browser knows of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Not checked yet (opened offline from the remembered account).
    Unknown,
    /// The server has said it is live.
    Live,
    /// The server has said it has ended: sign in again to sync.
    Ended,
}

/// The signed-in person, as every page reads them.
#[derive(Clone, Copy)]
pub struct SessionContext {
    /// The signed-in account.
    pub account: RwSignal<Account>,
    /// Whether its session is live.
    pub state: RwSignal<Session>,
    /// Who is acting: the account, in its role in the programme.
    pub actor: Memo<Actor>,
    /// The sign-in form is shown again (the session ended).
    pub signing_in: RwSignal<bool>,
    /// Sign-out is waiting for confirmation.
    pub confirming_sign_out: RwSignal<bool>,
}

impl std::fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionContext").finish_non_exhaustive()
    }
}

impl SessionContext {
    /// The session of `account` in `programme` (`live`: just signed in).
    pub fn new(account: Account, programme: Option<DocId>, live: bool) -> SessionContext {
        let account = RwSignal::new(account);
        SessionContext {
            account,
            state: RwSignal::new(if live {
                Session::Live
            } else {
                Session::Unknown
            }),
            actor: Memo::new(move |_| {
                account.with(|a| Actor {
                    user: a.username.clone(),
                    role: programme
                        .as_ref()
                        .and_then(|p| a.role_in(p.as_str()))
                        .unwrap_or(Role::Viewer),
                })
            }),
            signing_in: RwSignal::new(false),
            confirming_sign_out: RwSignal::new(false),
        }
    }
}

/// The signed-in person, provided beside the documents.
pub fn use_session() -> SessionContext {
    expect_context::<SessionContext>()
}
