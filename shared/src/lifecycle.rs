//! Who may move an action from one status to another, and the fold that turns
//! an action's transition log into its status.
//!
//! | from → to | who |
//! |---|---|
//! | draft → agreed | executive lead or programme manager |
//! | agreed or reopened → in_progress | the owner |
//! | in_progress → completion_proposed (evidence attached) | the owner |
//! | completion_proposed → endorsed (evidence attached) | the executive lead (their portfolio) or the programme manager |
//! | completion_proposed → in_progress (not endorsed, with a note) | the executive lead (their portfolio) |
//! | completion_proposed (where the programme does not ask for endorsement) or endorsed → evidence_accepted (a piece of evidence accepted, an assurance level set), or back to in_progress (with a note) | a validator who is not the owner |
//! | evidence_accepted → closed (with an unused "approve closure" decision) | an approver |
//! | evidence_accepted → in_progress (returned by the forum, with a note) | an approver |
//! | closed → embedded (the last re-audit of a closure passed, unused) | a validator who is not the owner |
//! | closed or embedded → reopened (with a note) | a validator or an approver |
//! | draft → agreed, in progress or reopened (a baseline carried in by an import) | the programme manager |
//! | draft → imported (a baseline past "in progress": a claim, not assurance) | the programme manager |
//! | imported → evidence accepted (as from completion proposed) | a validator who is not the owner |
//! | imported → in progress (the claim not borne out, with a note) | a validator who is not the owner, or the programme manager |
//! | imported → closed (with an unused "approve closure" decision) | the programme manager or an approver |
//!
//! "Unused" means one more than the closures (or embeddings) already in the
//! log, so closing again after a reopening needs a new decision.
//!
//! The fold accepts both routes to "evidence accepted" (with and without
//! the lead's endorsement), so that a programme changing its
//! [`Governance`] never rewrites the history: the setting decides which
//! route a *new* status change may take, where the server admits it and
//! where the client offers it.

use std::fmt;

use crate::entries::Transition;
use crate::ids::UserId;
use crate::vocab::{Role, Status};

/// How many days before it is due a re-audit opens, unless the programme
/// says otherwise: its result cannot be recorded earlier (a check on the
/// day of closure proves nothing).
pub const REAUDIT_OPENS_DAYS_BEFORE: i64 = 14;

/// The first day a re-audit due on `due` can be carried out, when re-audits
/// open `days_before` days before they are due.
pub fn reaudit_opens(due: crate::ids::Date, days_before: u32) -> crate::ids::Date {
    crate::ids::UnixMillis(due.unix_millis() - i64::from(days_before) * 86_400_000).date()
}

/// A programme's governance settings: what its rules ask beyond the
/// lifecycle table. Set by the programme manager on the programme's
/// set-up page, held in the programme document, applied by the server to
/// every new change and by the client to what it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Governance {
    /// Whether a proposed completion needs the executive lead's
    /// endorsement before a validator may accept its evidence.
    pub endorsement: bool,
    /// How many days before it is due a re-audit opens.
    pub reaudit_window_days: u32,
    /// How many re-audits a closure schedules (the last decides whether
    /// the change is embedded).
    pub reaudit_count: u32,
    /// Months between the closing decision and the first re-audit, and
    /// between one re-audit and the next.
    pub reaudit_spacing_months: u32,
}

impl Governance {
    /// The defaults: endorsement on; re-audits at 3 and 6 months, each
    /// open 14 days before it is due.
    pub const DEFAULT: Governance = Governance {
        endorsement: true,
        reaudit_window_days: REAUDIT_OPENS_DAYS_BEFORE as u32,
        reaudit_count: 2,
        reaudit_spacing_months: 3,
    };

    /// The largest values the settings take (a window of a quarter, a
    /// check a year for five years).
    pub const MAX_WINDOW_DAYS: u32 = 90;
    /// At most this many re-audits a closure.
    pub const MAX_COUNT: u32 = 6;
    /// At most this many months between re-audits.
    pub const MAX_SPACING_MONTHS: u32 = 12;

    /// The months after a closing decision at which its re-audits fall due.
    pub fn reaudit_months(&self) -> Vec<u32> {
        (1..=self.reaudit_count)
            .map(|n| n * self.reaudit_spacing_months)
            .collect()
    }

    /// The first day a re-audit due on `due` can be carried out.
    pub fn reaudit_opens(&self, due: crate::ids::Date) -> crate::ids::Date {
        reaudit_opens(due, self.reaudit_window_days)
    }

    /// Whether the settings are within their bounds.
    ///
    /// # Errors
    /// What is out of bounds, in words.
    pub fn check(&self) -> Result<(), String> {
        if self.reaudit_window_days > Self::MAX_WINDOW_DAYS {
            return Err(format!(
                "a re-audit can open at most {} days before it is due",
                Self::MAX_WINDOW_DAYS
            ));
        }
        if !(1..=Self::MAX_COUNT).contains(&self.reaudit_count) {
            return Err(format!(
                "a closure schedules between 1 and {} re-audits",
                Self::MAX_COUNT
            ));
        }
        if !(1..=Self::MAX_SPACING_MONTHS).contains(&self.reaudit_spacing_months) {
            return Err(format!(
                "re-audits are between 1 and {} months apart",
                Self::MAX_SPACING_MONTHS
            ));
        }
        Ok(())
    }
}

impl Default for Governance {
    fn default() -> Self {
        Governance::DEFAULT
    }
}

/// What the rules need to know about an action besides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActionFacts<'a> {
    /// Its owner, if one is named.
    pub owner: Option<&'a UserId>,
    /// Whether any evidence is attached.
    pub has_evidence: bool,
    /// Whether a piece of evidence stands accepted (its last verdict).
    pub accepted_evidence: bool,
    /// Whether an assurance level that assures anything is set
    /// (substantial, reasonable or limited).
    pub assured: bool,
    /// "Approve closure" decisions not yet used by a closure.
    pub unused_closure_decisions: usize,
    /// Passes of a closure's last re-audit not yet used to mark it
    /// embedded (an earlier check of the same closure passing embeds
    /// nothing).
    pub unused_passed_checks: usize,
    /// Whether the programme asks for the executive lead's endorsement
    /// before evidence is accepted (never for the fold: see the module).
    pub endorsement_required: bool,
}

/// What the fold needs to know about an action besides its log: the same
/// facts as [`ActionFacts`], as totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FoldFacts<'a> {
    /// Its owner, if one is named.
    pub owner: Option<&'a UserId>,
    /// Whether any evidence is attached.
    pub has_evidence: bool,
    /// Whether a piece of evidence stands accepted.
    pub accepted_evidence: bool,
    /// Whether an assuring assurance level is set.
    pub assured: bool,
    /// "Approve closure" decisions recorded.
    pub closure_decisions: usize,
    /// Closures' last re-audits passed.
    pub passed_checks: usize,
}

impl<'a> FoldFacts<'a> {
    /// An action owned by `owner` whose evidence is attached, accepted and
    /// assured, with these decisions and final re-audit passes.
    pub fn evidenced(
        owner: Option<&'a UserId>,
        closure_decisions: usize,
        passed_checks: usize,
    ) -> FoldFacts<'a> {
        FoldFacts {
            owner,
            has_evidence: true,
            accepted_evidence: true,
            assured: true,
            closure_decisions,
            passed_checks,
        }
    }

    /// An action with nothing behind it but its owner.
    pub fn bare(owner: Option<&'a UserId>) -> FoldFacts<'a> {
        FoldFacts {
            owner,
            ..FoldFacts::default()
        }
    }
}

/// One requested move of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move<'a> {
    /// The role the actor acts in.
    pub role: Role,
    /// Who asks.
    pub actor: &'a UserId,
    /// The status reached so far.
    pub from: Status,
    /// The status asked for.
    pub to: Status,
    /// The actor's note.
    pub note: &'a str,
    /// Whether this is an import's baseline.
    pub baseline: bool,
}

/// Why a move is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The lifecycle has no such step.
    #[error("an action cannot go from {from} to {to}")]
    NoSuchStep {
        /// Where it is.
        from: Status,
        /// Where it was asked to go.
        to: Status,
    },
    /// The step exists, but not for this role.
    #[error("the {role} role cannot move an action from {from} to {to}")]
    WrongRole {
        /// The actor's role.
        role: Role,
        /// Where it is.
        from: Status,
        /// Where it was asked to go.
        to: Status,
    },
    /// The programme asks the executive lead to endorse a completion
    /// before its evidence is validated.
    #[error("the executive lead endorses the completion before its evidence is validated")]
    NotEndorsed,
    /// Only the action's owner takes this step.
    #[error("only the action's owner can move it from {from} to {to}")]
    NotOwner {
        /// Where it is.
        from: Status,
        /// Where it was asked to go.
        to: Status,
    },
    /// Assurance must come from someone other than the owner.
    #[error("a validator cannot assure an action they own")]
    OwnAction,
    /// Completion must be proposed, and an imported status confirmed, with
    /// evidence.
    #[error("this step needs evidence attached to the action")]
    NoEvidence,
    /// Evidence is accepted only when a piece of it has been.
    #[error("evidence is accepted only once a piece of it has an accepted verdict")]
    NoAcceptedEvidence,
    /// Accepting evidence says how much it assures.
    #[error("accepting evidence needs an assurance level (substantial, reasonable or limited)")]
    NoAssurance,
    /// Closing needs a forum's decision.
    #[error("closing needs a recorded decision to approve closure")]
    NoClosureDecision,
    /// Embedded needs the last re-audit of its closure passed.
    #[error("an action is embedded only once the last re-audit of its closure has passed")]
    NoPassedCheck,
    /// Returning or reopening needs a reason.
    #[error("a reason is needed to move an action from {from} to {to}")]
    NoteRequired {
        /// Where it is.
        from: Status,
        /// Where it was asked to go.
        to: Status,
    },
    /// A baseline is only for an action nothing has happened to yet.
    #[error("an imported status can only be the first step of an action")]
    LateBaseline,
}

/// Whether `step` is allowed on an action with these facts.
///
/// # Errors
/// The [`Refusal`] that says why not.
pub fn check_transition(step: &Move<'_>, action: &ActionFacts<'_>) -> Result<(), Refusal> {
    use Status::*;
    let Move {
        role,
        actor,
        from,
        to,
        note,
        baseline,
    } = *step;
    let wrong_role = Refusal::WrongRole { role, from, to };
    let is_owner = action.owner == Some(actor);
    let need_note = || {
        if note.trim().is_empty() {
            Err(Refusal::NoteRequired { from, to })
        } else {
            Ok(())
        }
    };
    if baseline {
        return match (role, from) {
            (Role::Admin, Draft) if to != Draft => Ok(()),
            (Role::Admin, Draft) => Err(Refusal::NoSuchStep { from, to }),
            (Role::Admin, _) => Err(Refusal::LateBaseline),
            _ => Err(wrong_role),
        };
    }
    match (from, to) {
        (Draft, Agreed) => match role {
            Role::Lead | Role::Admin => Ok(()),
            _ => Err(wrong_role),
        },
        (Agreed | Reopened, InProgress) | (InProgress, CompletionProposed) => {
            if role == Role::Viewer {
                Err(wrong_role)
            } else if !is_owner {
                Err(Refusal::NotOwner { from, to })
            } else if to == CompletionProposed && !action.has_evidence {
                Err(Refusal::NoEvidence)
            } else {
                Ok(())
            }
        }
        (CompletionProposed, Endorsed) => match role {
            Role::Lead | Role::Admin if !action.has_evidence => Err(Refusal::NoEvidence),
            Role::Lead | Role::Admin => Ok(()),
            _ => Err(wrong_role),
        },
        (CompletionProposed, InProgress) if role == Role::Lead => need_note(),
        (CompletionProposed, EvidenceAccepted)
            if role == Role::Validator && !is_owner && action.endorsement_required =>
        {
            Err(Refusal::NotEndorsed)
        }
        (CompletionProposed | Endorsed, EvidenceAccepted | InProgress)
        | (Imported, EvidenceAccepted)
        | (Closed, Embedded) => {
            if role != Role::Validator {
                Err(wrong_role)
            } else if is_owner {
                Err(Refusal::OwnAction)
            } else if to == InProgress {
                need_note()
            } else if to == Embedded && action.unused_passed_checks == 0 {
                Err(Refusal::NoPassedCheck)
            } else if to == EvidenceAccepted && !action.has_evidence {
                Err(Refusal::NoEvidence)
            } else if to == EvidenceAccepted && !action.accepted_evidence {
                Err(Refusal::NoAcceptedEvidence)
            } else if to == EvidenceAccepted && !action.assured {
                Err(Refusal::NoAssurance)
            } else {
                Ok(())
            }
        }
        (Imported, InProgress) => match role {
            Role::Validator if is_owner => Err(Refusal::OwnAction),
            Role::Validator | Role::Admin => need_note(),
            _ => Err(wrong_role),
        },
        (Imported, Closed) => match role {
            Role::Admin | Role::Approver if action.unused_closure_decisions == 0 => {
                Err(Refusal::NoClosureDecision)
            }
            Role::Admin | Role::Approver => Ok(()),
            _ => Err(wrong_role),
        },
        (EvidenceAccepted, Closed) => match role {
            Role::Approver if action.unused_closure_decisions == 0 => {
                Err(Refusal::NoClosureDecision)
            }
            Role::Approver => Ok(()),
            _ => Err(wrong_role),
        },
        (EvidenceAccepted, InProgress) => match role {
            Role::Approver => need_note(),
            _ => Err(wrong_role),
        },
        (Closed | Embedded, Reopened) => match role {
            Role::Validator | Role::Approver => need_note(),
            _ => Err(wrong_role),
        },
        _ => Err(Refusal::NoSuchStep { from, to }),
    }
}

/// The statuses a role could move an action to next (ignoring the evidence,
/// decision and note conditions), for showing only the buttons that apply.
pub fn next_statuses(
    role: Role,
    actor: &UserId,
    from: Status,
    owner: Option<&UserId>,
) -> Vec<Status> {
    let facts = ActionFacts {
        owner,
        has_evidence: true,
        accepted_evidence: true,
        assured: true,
        unused_closure_decisions: 1,
        unused_passed_checks: 1,
        endorsement_required: false,
    };
    Status::ALL
        .iter()
        .copied()
        .filter(|&to| {
            let step = Move {
                role,
                actor,
                from,
                to,
                note: "reason",
                baseline: false,
            };
            check_transition(&step, &facts).is_ok()
        })
        .collect()
}

/// What the fold did with one transition of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// It took effect.
    Applied {
        /// Its position in the log.
        index: usize,
        /// The status before.
        from: Status,
        /// The status after.
        to: Status,
    },
    /// It was not allowed from the status reached by then, so it has no effect.
    Superseded {
        /// Its position in the log.
        index: usize,
        /// The status it met.
        from: Status,
        /// Why it was skipped.
        reason: Refusal,
    },
}

/// The result of folding a transition log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// The status reached.
    pub status: Status,
    /// What happened to each transition, in log order.
    pub steps: Vec<Step>,
}

impl Fold {
    /// The transitions that had no effect, with why.
    pub fn superseded(&self) -> impl Iterator<Item = (usize, &Refusal)> {
        self.steps.iter().filter_map(|step| match step {
            Step::Superseded { index, reason, .. } => Some((*index, reason)),
            Step::Applied { .. } => None,
        })
    }
}

impl fmt::Display for Fold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)
    }
}

/// The status a transition that takes effect leads to: its own, except an
/// import's baseline past "in progress", which is a claim nobody in Plait
/// has assured and lands on [`Status::Imported`].
pub fn landing(transition: &Transition) -> Status {
    if transition.baseline && transition.to.needs_assurance_when_imported() {
        Status::Imported
    } else {
        transition.to
    }
}

/// The status an import claimed for an action that arrived
/// [`Status::Imported`] (its first transition, a baseline).
pub fn imported_claim(log: &[Transition]) -> Option<Status> {
    log.first()
        .filter(|t| t.baseline && t.to.needs_assurance_when_imported())
        .map(|t| t.to)
}

/// Folds a transition log, in log order, from draft: each transition allowed
/// from the status reached so far takes effect; the others are superseded.
///
/// The log's order is the same on every peer once they have the same updates
/// (yrs orders concurrent appends deterministically), so every peer reaches
/// the same status.
///
/// `facts` are the action's evidence, decisions and re-audits as recorded.
pub fn fold_status(log: &[Transition], facts: &FoldFacts<'_>) -> Fold {
    let FoldFacts {
        owner,
        has_evidence,
        accepted_evidence,
        assured,
        closure_decisions,
        passed_checks,
    } = *facts;
    let mut status = Status::Draft;
    let mut closures = 0;
    let mut embeddings = 0;
    let mut steps = Vec::with_capacity(log.len());
    for (index, transition) in log.iter().enumerate() {
        let facts = ActionFacts {
            owner,
            has_evidence,
            accepted_evidence,
            assured,
            unused_closure_decisions: closure_decisions.saturating_sub(closures),
            unused_passed_checks: passed_checks.saturating_sub(embeddings),
            endorsement_required: false,
        };
        let step = Move {
            role: transition.role,
            actor: &transition.by,
            from: status,
            to: transition.to,
            note: &transition.note,
            baseline: transition.baseline,
        };
        match check_transition(&step, &facts) {
            Ok(()) => {
                if !transition.baseline {
                    closures += usize::from(transition.to == Status::Closed);
                    embeddings += usize::from(transition.to == Status::Embedded);
                }
                let to = landing(transition);
                steps.push(Step::Applied {
                    index,
                    from: status,
                    to,
                });
                status = to;
            }
            Err(reason) => steps.push(Step::Superseded {
                index,
                from: status,
                reason,
            }),
        }
    }
    Fold { status, steps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UnixMillis;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    fn t(to: Status, by: &str, role: Role, note: &str) -> Transition {
        Transition {
            to,
            by: user(by),
            role,
            at: UnixMillis(0),
            note: note.to_owned(),
            baseline: false,
        }
    }

    fn step<'a>(role: Role, actor: &'a UserId, from: Status, to: Status) -> Move<'a> {
        Move {
            role,
            actor,
            from,
            to,
            note: "",
            baseline: false,
        }
    }

    #[test]
    fn a_validator_may_not_accept_evidence_on_their_own_action() {
        let owner = user("owner");
        let facts = ActionFacts {
            owner: Some(&owner),
            has_evidence: true,
            accepted_evidence: true,
            assured: true,
            ..Default::default()
        };
        let own = step(
            Role::Validator,
            &owner,
            Status::CompletionProposed,
            Status::EvidenceAccepted,
        );
        assert_eq!(check_transition(&own, &facts), Err(Refusal::OwnAction));
        let other = user("validator");
        let theirs = step(
            Role::Validator,
            &other,
            Status::CompletionProposed,
            Status::EvidenceAccepted,
        );
        assert_eq!(check_transition(&theirs, &facts), Ok(()));
        // Nothing behind it: no accepted verdict, or no assurance level.
        let unaccepted = ActionFacts {
            accepted_evidence: false,
            ..facts
        };
        assert_eq!(
            check_transition(&theirs, &unaccepted),
            Err(Refusal::NoAcceptedEvidence)
        );
        let unassured = ActionFacts {
            assured: false,
            ..facts
        };
        assert_eq!(
            check_transition(&theirs, &unassured),
            Err(Refusal::NoAssurance)
        );
    }

    #[test]
    fn closing_needs_a_decision() {
        let approver = user("forum");
        let close = step(
            Role::Approver,
            &approver,
            Status::EvidenceAccepted,
            Status::Closed,
        );
        assert_eq!(
            check_transition(&close, &ActionFacts::default()),
            Err(Refusal::NoClosureDecision)
        );
        let facts = ActionFacts {
            unused_closure_decisions: 1,
            ..Default::default()
        };
        assert_eq!(check_transition(&close, &facts), Ok(()));
    }

    #[test]
    fn only_the_owner_starts_and_proposes_and_only_with_evidence() {
        let owner = user("owner");
        let other = user("someone");
        let mut facts = ActionFacts {
            owner: Some(&owner),
            ..Default::default()
        };
        let start = step(
            Role::Contributor,
            &other,
            Status::Agreed,
            Status::InProgress,
        );
        assert!(matches!(
            check_transition(&start, &facts),
            Err(Refusal::NotOwner { .. })
        ));
        let propose = step(
            Role::Contributor,
            &owner,
            Status::InProgress,
            Status::CompletionProposed,
        );
        assert_eq!(check_transition(&propose, &facts), Err(Refusal::NoEvidence));
        facts.has_evidence = true;
        assert_eq!(check_transition(&propose, &facts), Ok(()));
        let viewer = step(Role::Viewer, &owner, Status::Agreed, Status::InProgress);
        assert!(matches!(
            check_transition(&viewer, &facts),
            Err(Refusal::WrongRole { .. })
        ));
    }

    #[test]
    fn returning_and_reopening_need_a_reason() {
        let validator = user("validator");
        let mut back = step(
            Role::Validator,
            &validator,
            Status::CompletionProposed,
            Status::InProgress,
        );
        assert!(matches!(
            check_transition(&back, &ActionFacts::default()),
            Err(Refusal::NoteRequired { .. })
        ));
        back.note = "photo does not show the ward";
        assert_eq!(check_transition(&back, &ActionFacts::default()), Ok(()));
        let mut reopen = step(
            Role::Approver,
            &validator,
            Status::Embedded,
            Status::Reopened,
        );
        assert!(check_transition(&reopen, &ActionFacts::default()).is_err());
        reopen.note = "failed re-audit";
        assert_eq!(check_transition(&reopen, &ActionFacts::default()), Ok(()));
    }

    #[test]
    fn the_whole_journey_folds_to_embedded() {
        let log = vec![
            t(Status::Agreed, "lead", Role::Lead, ""),
            t(Status::InProgress, "owner", Role::Contributor, ""),
            t(Status::CompletionProposed, "owner", Role::Contributor, ""),
            t(Status::EvidenceAccepted, "validator", Role::Validator, ""),
            t(Status::Closed, "forum", Role::Approver, ""),
            t(Status::Embedded, "validator", Role::Validator, ""),
        ];
        let owner = user("owner");
        let fold = fold_status(&log, &FoldFacts::evidenced(Some(&owner), 1, 1));
        assert_eq!(fold.status, Status::Embedded);
        assert_eq!(fold.superseded().count(), 0);
        // Without the re-audit the last step is superseded, and says why.
        let fold = fold_status(&log, &FoldFacts::evidenced(Some(&owner), 1, 0));
        assert_eq!(fold.status, Status::Closed);
        assert_eq!(
            fold.superseded().collect::<Vec<_>>(),
            vec![(5, &Refusal::NoPassedCheck)]
        );
    }

    #[test]
    fn closing_again_after_reopening_needs_a_new_decision() {
        let log = vec![
            t(Status::Agreed, "lead", Role::Lead, ""),
            t(Status::InProgress, "owner", Role::Contributor, ""),
            t(Status::CompletionProposed, "owner", Role::Contributor, ""),
            t(Status::EvidenceAccepted, "validator", Role::Validator, ""),
            t(Status::Closed, "forum", Role::Approver, ""),
            t(
                Status::Reopened,
                "forum",
                Role::Approver,
                "incident on ward 3",
            ),
            t(Status::InProgress, "owner", Role::Contributor, ""),
            t(Status::CompletionProposed, "owner", Role::Contributor, ""),
            t(Status::EvidenceAccepted, "validator", Role::Validator, ""),
            t(Status::Closed, "forum", Role::Approver, ""),
        ];
        let owner = user("owner");
        assert_eq!(
            fold_status(&log, &FoldFacts::evidenced(Some(&owner), 1, 0)).status,
            Status::EvidenceAccepted
        );
        assert_eq!(
            fold_status(&log, &FoldFacts::evidenced(Some(&owner), 2, 0)).status,
            Status::Closed
        );
    }

    #[test]
    fn a_baseline_only_starts_a_log() {
        let mut imported = t(Status::InProgress, "pm", Role::Admin, "imported");
        imported.baseline = true;
        let log = vec![imported.clone(), imported.clone()];
        let fold = fold_status(&log, &FoldFacts::bare(None));
        assert_eq!(fold.status, Status::InProgress);
        assert_eq!(
            fold.superseded().collect::<Vec<_>>(),
            vec![(1, &Refusal::LateBaseline)]
        );
        let mut forged = imported;
        forged.role = Role::Contributor;
        assert_eq!(
            fold_status(&[forged], &FoldFacts::bare(None)).status,
            Status::Draft
        );
    }

    /// Issue 14: "Complete" in a spreadsheet is a claim. It arrives as
    /// imported, awaiting validation, never closed; a validator confirms it
    /// with evidence, or the programme manager records the decision that
    /// closed it; a forged baseline from a client gains nothing either.
    #[test]
    fn an_imported_status_past_in_progress_is_a_claim_until_assured() {
        for claimed in [
            Status::CompletionProposed,
            Status::EvidenceAccepted,
            Status::Closed,
            Status::Embedded,
        ] {
            let mut baseline = t(claimed, "pm", Role::Admin, "Imported");
            baseline.baseline = true;
            let log = vec![baseline.clone()];
            assert_eq!(
                fold_status(&log, &FoldFacts::evidenced(None, 5, 5)).status,
                Status::Imported
            );
            assert_eq!(imported_claim(&log), Some(claimed));
        }
        let mut baseline = t(Status::Closed, "pm", Role::Admin, "Imported");
        baseline.baseline = true;
        let owner = user("owner");
        // A validator confirms with evidence; without, the step is refused.
        let confirm = vec![
            baseline.clone(),
            t(Status::EvidenceAccepted, "val", Role::Validator, ""),
        ];
        assert_eq!(
            fold_status(&confirm, &FoldFacts::bare(Some(&owner))).status,
            Status::Imported
        );
        assert_eq!(
            fold_status(&confirm, &FoldFacts::evidenced(Some(&owner), 0, 0)).status,
            Status::EvidenceAccepted
        );
        // The owner cannot confirm their own claim.
        let own = vec![
            baseline.clone(),
            t(Status::EvidenceAccepted, "owner", Role::Validator, ""),
        ];
        assert_eq!(
            fold_status(&own, &FoldFacts::evidenced(Some(&owner), 0, 0)).status,
            Status::Imported
        );
        // The programme manager closes it only with the recorded decision.
        let close = vec![baseline.clone(), t(Status::Closed, "pm", Role::Admin, "")];
        assert_eq!(
            fold_status(&close, &FoldFacts::bare(Some(&owner))).status,
            Status::Imported
        );
        assert_eq!(
            fold_status(
                &close,
                &FoldFacts {
                    closure_decisions: 1,
                    passed_checks: 0,
                    ..FoldFacts::bare(Some(&owner))
                }
            )
            .status,
            Status::Closed
        );
        // A contributor can do neither; a claim not borne out goes back to
        // in progress with a reason.
        let by_owner = vec![
            baseline.clone(),
            t(Status::Closed, "owner", Role::Contributor, ""),
        ];
        assert_eq!(
            fold_status(&by_owner, &FoldFacts::evidenced(Some(&owner), 1, 0)).status,
            Status::Imported
        );
        let back = vec![
            baseline,
            t(Status::InProgress, "val", Role::Validator, "no audit found"),
        ];
        assert_eq!(
            fold_status(&back, &FoldFacts::bare(Some(&owner))).status,
            Status::InProgress
        );
    }

    #[test]
    fn buttons_follow_the_role() {
        let owner = user("owner");
        let lead = user("lead");
        assert_eq!(
            next_statuses(Role::Lead, &lead, Status::Draft, Some(&owner)),
            vec![Status::Agreed]
        );
        assert_eq!(
            next_statuses(Role::Contributor, &owner, Status::InProgress, Some(&owner)),
            vec![Status::CompletionProposed]
        );
        assert!(
            next_statuses(Role::Contributor, &lead, Status::InProgress, Some(&owner)).is_empty()
        );
        assert_eq!(
            next_statuses(
                Role::Validator,
                &lead,
                Status::CompletionProposed,
                Some(&owner)
            ),
            vec![Status::InProgress, Status::EvidenceAccepted]
        );
        assert!(next_statuses(Role::Viewer, &owner, Status::Agreed, Some(&owner)).is_empty());
    }
}
