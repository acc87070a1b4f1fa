//! Who may change what in a plan: the rules the server applies to every
//! incoming update, and the client uses to show only the controls that apply.
//!
//! The lifecycle table itself is [`crate::lifecycle`]; this module adds the
//! rest, per change ([`crate::changes::Change`]):
//!
//! | change | who |
//! |---|---|
//! | plan details, findings, adding or removing actions | admin (the programme manager) |
//! | reference, findings answered, workstream, phase, executive lead, owner | lead or admin |
//! | original due date (set once; later changes are due-date requests) | lead or admin |
//! | confidence | the owner, lead or admin |
//! | assurance level | validator (not the owner), approver or admin |
//! | title, description, closure criteria | the owner, lead or admin |
//! | transitions | anyone who could take that step (the lifecycle table), as themselves and in their own role |
//! | progress updates, evidence | the owner, or a lead or admin; validators and approvers may add progress notes |
//! | evidence verdicts | a validator who is not the owner |
//! | decisions | an approver |
//! | due-date requests / answers | the owner / a lead or admin |
//! | re-audits scheduled / results | validator, approver or admin / a validator who is not the owner |
//! | rewriting or removing a log entry; data that does not fit the schema | nobody |
//!
//! Viewers change nothing. Every entry names its author, and it must be the
//! person sending it: nobody writes in someone else's name.

use crate::changes::{Change, Log};
use crate::entries::{DueChange, Sustainment};
use crate::ids::UserId;
use crate::lifecycle::{check_transition, ActionFacts, Move};
use crate::plan::ActionView;
use crate::vocab::{CheckOutcome, DecisionOutcome, Role, Status};

/// Who is making a change: a person and their role in the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// The person (their account's user name).
    pub user: &'a UserId,
    /// Their role in the programme that holds the plan.
    pub role: Role,
}

impl Actor<'_> {
    fn owns(&self, action: &ActionView) -> bool {
        action.owner.as_ref() == Some(self.user)
    }

    fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

/// Why a change is not allowed, in words for the person who made it.
pub type Denial = String;

fn deny(reason: impl Into<String>) -> Result<(), Denial> {
    Err(reason.into())
}

fn allow_if(condition: bool, reason: impl FnOnce() -> String) -> Result<(), Denial> {
    if condition {
        Ok(())
    } else {
        Err(reason())
    }
}

/// Whether `actor` may make `change`. `before` and `after` are the action it
/// concerns as it was and as it is with the change (either may be missing for
/// changes that add or remove it, or that concern no action).
///
/// # Errors
/// Why not.
pub fn check_change(
    actor: Actor<'_>,
    change: &Change,
    before: Option<&ActionView>,
    after: Option<&ActionView>,
) -> Result<(), Denial> {
    if actor.role == Role::Viewer {
        return deny("viewers cannot change a plan");
    }
    match change {
        Change::PlanInfo
        | Change::FindingAdded(_)
        | Change::FindingRemoved(_)
        | Change::FindingEdited(_) => allow_if(actor.role == Role::Admin, || {
            "only the programme manager (admin) can change a plan's details or findings".into()
        }),
        Change::ActionAdded(_) | Change::ActionRemoved(_) => {
            allow_if(actor.role == Role::Admin, || {
                "only the programme manager (admin) can add or remove actions".into()
            })
        }
        Change::Rewritten(_, log) => deny(format!(
            "entries of the {} log cannot be changed or removed; add a new entry instead",
            log_name(*log)
        )),
        Change::Malformed(_) => deny("the change holds data that does not fit the plan's schema"),
        Change::Field(_, key) => {
            let Some(action) = after.or(before) else {
                return deny("no such action");
            };
            check_field(actor, key, action, before)
        }
        Change::Text(_, key) => {
            let Some(action) = before.or(after) else {
                return deny("no such action");
            };
            allow_if(
                actor.owns(action) || actor.is(&[Role::Lead, Role::Admin]),
                || format!("only the action's owner, a lead or an admin can edit its {key}"),
            )
        }
        Change::Appended(_, log, indexes) => {
            let Some(action) = after else {
                return deny("no such action");
            };
            indexes
                .iter()
                .try_for_each(|&index| check_entry(actor, *log, index, action))
        }
    }
}

/// Whether `actor` may set the field stored under `key` (see
/// [`crate::plan::ActionField::key`]) on `action`.
///
/// # Errors
/// Why not.
pub fn check_field(
    actor: Actor<'_>,
    key: &str,
    action: &ActionView,
    before: Option<&ActionView>,
) -> Result<(), Denial> {
    if actor.role == Role::Viewer {
        return deny("viewers cannot change a plan");
    }
    match key {
        "ref" | "finding_ids" | "workstream_id" | "phase_id" | "exec_lead" | "owner" => {
            allow_if(actor.is(&[Role::Lead, Role::Admin]), || {
                format!(
                    "only a lead or an admin can change an action's {}",
                    field_name(key)
                )
            })
        }
        "due_original" => {
            if before.is_some_and(|b| b.due_original.is_some()) {
                deny("the original due date is kept once set; ask for a due-date change instead")
            } else {
                allow_if(actor.is(&[Role::Lead, Role::Admin]), || {
                    "only a lead or an admin can set the due date".into()
                })
            }
        }
        "confidence" => allow_if(
            actor.owns(action) || actor.is(&[Role::Lead, Role::Admin]),
            || "only the action's owner, a lead or an admin can set its confidence".into(),
        ),
        "assurance" => {
            if actor.role == Role::Validator && actor.owns(action) {
                deny("a validator cannot assure an action they own")
            } else {
                allow_if(
                    actor.is(&[Role::Validator, Role::Approver, Role::Admin]),
                    || {
                        "only a validator, an approver or an admin can set the assurance level"
                            .into()
                    },
                )
            }
        }
        other => deny(format!("{other} is not a field of an action")),
    }
}

/// Whether `actor` may append entries to `log` of `action` at all (for
/// showing the form), before knowing what the entry says.
pub fn may_append(actor: Actor<'_>, log: Log, action: &ActionView) -> bool {
    let owner = actor.owns(action);
    match actor.role {
        Role::Viewer => false,
        _ => match log {
            Log::Transitions => true,
            Log::Updates => owner || actor.role != Role::Contributor,
            Log::Evidence => owner || actor.is(&[Role::Lead, Role::Admin]),
            Log::EvidenceReviews => actor.role == Role::Validator && !owner,
            Log::Decisions => actor.role == Role::Approver,
            Log::DueChanges => owner || actor.is(&[Role::Lead, Role::Admin]),
            Log::Sustainment => actor.is(&[Role::Validator, Role::Approver, Role::Admin]),
        },
    }
}

fn check_entry(
    actor: Actor<'_>,
    log: Log,
    index: usize,
    action: &ActionView,
) -> Result<(), Denial> {
    let missing = || format!("no entry {index} in the {} log", log_name(log));
    let by_self = |by: &UserId| {
        allow_if(by == actor.user, || {
            format!(
                "an entry in the {} log must be written as yourself, not {by}",
                log_name(log)
            )
        })
    };
    let owner = actor.owns(action);
    match log {
        Log::Transitions => {
            let t = action.transitions.get(index).ok_or_else(missing)?;
            by_self(&t.by)?;
            allow_if(t.role == actor.role, || {
                format!(
                    "a status change must be made in your own role ({}), not as {}",
                    actor.role.label(),
                    t.role.label()
                )
            })?;
            check_step(actor, t.to, &t.note, t.baseline, action)
        }
        Log::Updates => {
            let u = action.updates.get(index).ok_or_else(missing)?;
            by_self(&u.by)?;
            allow_if(owner || actor.role != Role::Contributor, || {
                "only the action's owner can post progress on it".into()
            })
        }
        Log::Evidence => {
            let e = action.evidence.get(index).ok_or_else(missing)?;
            by_self(&e.by)?;
            allow_if(owner || actor.is(&[Role::Lead, Role::Admin]), || {
                "only the action's owner, a lead or an admin can attach evidence".into()
            })
        }
        Log::EvidenceReviews => {
            let r = action.evidence_reviews.get(index).ok_or_else(missing)?;
            by_self(&r.by)?;
            allow_if(actor.role == Role::Validator, || {
                "only a validator can record a verdict on evidence".into()
            })?;
            allow_if(!owner, || {
                "a validator cannot review evidence on an action they own".into()
            })?;
            allow_if(
                action.evidence.iter().any(|e| e.id == r.evidence_id),
                || "the verdict is on evidence this action does not have".into(),
            )
        }
        Log::Decisions => {
            let d = action.decisions.get(index).ok_or_else(missing)?;
            by_self(&d.by)?;
            allow_if(actor.role == Role::Approver, || {
                "only an approver can record a forum's decision".into()
            })
        }
        Log::DueChanges => match action.due_changes.get(index).ok_or_else(missing)? {
            DueChange::Request { by, .. } => {
                by_self(by)?;
                allow_if(owner, || {
                    "only the action's owner can ask for a due-date change".into()
                })
            }
            DueChange::Answer {
                by,
                role,
                request_id,
                ..
            } => {
                by_self(by)?;
                allow_if(*role == actor.role, || {
                    "an answer must be given in your own role".into()
                })?;
                allow_if(actor.is(&[Role::Lead, Role::Admin]), || {
                    "only an executive lead or an admin can answer a due-date request".into()
                })?;
                allow_if(
                    action.due_requests.iter().any(|r| &r.id == request_id),
                    || "the answer is to a request this action does not have".into(),
                )
            }
        },
        Log::Sustainment => match action.sustainment.get(index).ok_or_else(missing)? {
            Sustainment::Scheduled { by, .. } => {
                by_self(by)?;
                allow_if(
                    actor.is(&[Role::Validator, Role::Approver, Role::Admin]),
                    || "only a validator, an approver or an admin can schedule a re-audit".into(),
                )
            }
            Sustainment::Result {
                by,
                check_id,
                outcome,
                note,
                ..
            } => {
                by_self(by)?;
                allow_if(actor.role == Role::Validator && !owner, || {
                    "only a validator who does not own the action can record a re-audit".into()
                })?;
                allow_if(
                    *outcome == CheckOutcome::Passed || !note.trim().is_empty(),
                    || "a failed re-audit needs a note of what was found".into(),
                )?;
                allow_if(
                    action.sustainment_checks.iter().any(|c| &c.id == check_id),
                    || "the result is for a re-audit this action does not have".into(),
                )
            }
        },
    }
}

/// A transition is accepted when its author, in their role, could take that
/// step from some status of the lifecycle, given what the action holds. It
/// may still have no effect: the fold skips a step that another person's
/// concurrent step has overtaken, and the history shows it as superseded.
fn check_step(
    actor: Actor<'_>,
    to: Status,
    note: &str,
    baseline: bool,
    action: &ActionView,
) -> Result<(), Denial> {
    let facts = ActionFacts {
        owner: action.owner.as_ref(),
        has_evidence: !action.evidence.is_empty(),
        unused_closure_decisions: action
            .decisions
            .iter()
            .filter(|d| d.outcome == DecisionOutcome::ApproveClosure)
            .count(),
        unused_passed_checks: action
            .sustainment_checks
            .iter()
            .filter(|c| matches!(c.result, Some((CheckOutcome::Passed, ..))))
            .count(),
    };
    let mut first_refusal = None;
    for &from in Status::ALL {
        let step = Move {
            role: actor.role,
            actor: actor.user,
            from,
            to,
            note,
            baseline,
        };
        match check_transition(&step, &facts) {
            Ok(()) => return Ok(()),
            Err(crate::lifecycle::Refusal::NoSuchStep { .. }) => {}
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    Err(match first_refusal {
        Some(refusal) => refusal.to_string(),
        None => format!("no step of the lifecycle leads to {to}"),
    })
}

fn log_name(log: Log) -> &'static str {
    match log {
        Log::Transitions => "status",
        Log::Updates => "progress",
        Log::Evidence => "evidence",
        Log::EvidenceReviews => "evidence verdict",
        Log::Decisions => "decision",
        Log::DueChanges => "due-date change",
        Log::Sustainment => "re-audit",
    }
}

fn field_name(key: &str) -> &str {
    match key {
        "ref" => "reference",
        "finding_ids" => "findings",
        "workstream_id" => "workstream",
        "phase_id" => "phase",
        "exec_lead" => "executive lead",
        other => other,
    }
}
