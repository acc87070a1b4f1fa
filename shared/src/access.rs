//! Who may change what in a plan: the rules the server applies to every
//! incoming update, and the client uses to show only the controls that apply.
//!
//! The lifecycle table itself is [`crate::lifecycle`]; this module adds the
//! rest, per change ([`crate::changes::Change`]):
//!
//! | change | who |
//! |---|---|
//! | plan details, findings, adding or removing actions | admin (the programme manager) |
//! | reference, findings answered, workstream, phase, owner | lead or admin |
//! | executive lead (who holds the action in their portfolio) | admin |
//! | original due date (set once; later changes are due-date requests) | lead or admin |
//! | confidence | the owner, lead or admin |
//! | assurance level | validator (not the owner), approver or admin |
//! | reported colour (a tracker's RAG, kept from an import) | lead or admin |
//! | title, description, closure criteria | the owner, lead or admin; once the action is agreed, its title and closure criteria only its executive lead (their portfolio) or admin: the owner asks for a new wording |
//! | transitions | anyone who could take that step (the lifecycle table), as themselves and in their own role |
//! | progress updates, evidence | the owner, or a lead or admin; validators and approvers may add progress notes |
//! | evidence verdicts | a validator who is not the owner |
//! | decisions | an approver; on an action imported awaiting validation, also the programme manager (the decision that closed it) |
//! | due-date and wording requests / answers | the owner (a wording once the action is agreed) / the action's executive lead (its portfolio) or an admin, not the one who asked; an approved wording is the text as approved |
//! | a lead's status changes (agreeing a draft) | only in the lead's portfolio: actions whose executive lead they are, or that have none |
//! | re-audits scheduled / results | validator, approver or admin / a validator who is not the owner, from the programme's window before it is due (14 days unless set), with its method and sample |
//! | rewriting or removing a log entry; data that does not fit the schema | nobody |
//!
//! Viewers change nothing. Every entry names its author, and it must be the
//! person sending it: nobody writes in someone else's name.

use crate::changes::{Change, Log};
use crate::entries::{DueChange, Sustainment};
use crate::ids::UserId;
use crate::keys::{ActionText, FieldKey};
use crate::lifecycle::{check_transition, ActionFacts, Governance, Move};
use crate::plan::ActionView;
use crate::vocab::{CheckOutcome, Role, Status};

/// Who is making a change: a person and their role in the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// The person (their account's user name).
    pub user: &'a UserId,
    /// Their role in the programme that holds the plan.
    pub role: Role,
    /// The programme's governance settings.
    pub rules: Governance,
}

impl Actor<'_> {
    /// Whether they own `action`.
    pub fn owns(&self, action: &ActionView) -> bool {
        action.owner.as_ref() == Some(self.user)
    }

    /// Whether their role is one of `roles`.
    pub fn is(&self, roles: &[Role]) -> bool {
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
/// changes that add or remove it, or that concern no action). Who owns the
/// action is taken from `before`: an update that also reassigns the action
/// does not gain its new owner's rights.
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
        | Change::FindingEdited(_) => allow_if(administers(actor.role), || {
            "only the programme manager (admin) can change a plan's details or findings".into()
        }),
        Change::ActionAdded(_) | Change::ActionRemoved(_) => {
            allow_if(administers(actor.role), || {
                "only the programme manager (admin) can add or remove actions".into()
            })
        }
        Change::Rewritten(_, log) => deny(format!(
            "entries of the {} log cannot be changed or removed; add a new entry instead",
            log_name(*log)
        )),
        Change::Malformed(_) | Change::Structure(..) => {
            deny("the change holds data that does not fit the plan's schema")
        }
        Change::Programme(_) => allow_if(administers(actor.role), || {
            "only the programme's admin can change the programme".into()
        }),
        Change::NoEffect(_) => Ok(()),
        // Only the server records it, when the programme's admin closes
        // or opens the programme; never a document update.
        Change::Closed(_) => deny("a programme is closed or opened by its admin, not by an edit"),
        Change::Field(_, key) => {
            let Some(action) = before.or(after) else {
                return deny("no such action");
            };
            check_field(actor, *key, action, before)
        }
        Change::Text(_, key) => {
            let Some(action) = before.or(after) else {
                return deny("no such action");
            };
            let agreed = before.is_some_and(|b| b.status() != Status::Draft);
            if agreed && matches!(key, ActionText::Title | ActionText::ClosureCriteria) {
                return allow_if(
                    administers(actor.role)
                        || (actor.role == Role::Lead && in_portfolio(actor, action)),
                    || {
                        format!(
                            "once the action is agreed, its {} changes only with its executive lead's approval: ask for the new wording",
                            key.label().to_ascii_lowercase()
                        )
                    },
                );
            }
            allow_if(
                actor.owns(action) || actor.is(&[Role::Lead, Role::Admin]),
                || {
                    format!(
                        "only the action's owner, a lead or an admin can edit its {}",
                        key.label().to_ascii_lowercase()
                    )
                },
            )
        }
        Change::Appended(_, log, indexes) => {
            let Some(action) = after else {
                return deny("no such action");
            };
            let owner = actor.owns(before.unwrap_or(action));
            let imported = before.is_some_and(|b| b.status() == Status::Imported);
            let portfolio = in_portfolio(actor, before.unwrap_or(action));
            let agreed = before.is_some_and(|b| b.status() != Status::Draft);
            let was = Was {
                owner,
                imported,
                portfolio,
                agreed,
            };
            indexes
                .iter()
                .try_for_each(|&index| check_entry(actor, *log, index, action, was))
        }
    }
}

/// What the programme's [`Governance`] asks of a new status change, beyond
/// the lifecycle the fold applies to the whole history: a completion goes
/// through the executive lead's endorsement where the programme asks for
/// it, and a closure is embedded only by a last re-audit that keeps the
/// programme's schedule (at least its number of checks, the last due no
/// sooner than its months after the closing decision's meeting).
///
/// `candidate` is the action with the change, `index` the new entry's
/// place in `log`.
///
/// # Errors
/// Why the programme's settings do not allow it.
pub fn check_governance(
    rules: &Governance,
    candidate: &ActionView,
    log: Log,
    index: usize,
) -> Result<(), Denial> {
    if log != Log::Transitions {
        return Ok(());
    }
    match candidate.fold.steps.get(index) {
        Some(crate::lifecycle::Step::Applied {
            from: crate::vocab::Status::CompletionProposed,
            to: crate::vocab::Status::EvidenceAccepted,
            ..
        }) if rules.endorsement => Err(crate::lifecycle::Refusal::NotEndorsed.to_string()),
        Some(crate::lifecycle::Step::Applied {
            to: crate::vocab::Status::Embedded,
            ..
        }) => {
            let meeting = candidate
                .decisions
                .iter()
                .rev()
                .find(|d| d.outcome == crate::vocab::DecisionOutcome::ApproveClosure)
                .map(|d| d.meeting_date);
            // The closure's checks: those scheduled together with the
            // final check that passed last.
            let passed = candidate
                .final_checks()
                .into_iter()
                .filter(|c| matches!(c.result, Some((crate::vocab::CheckOutcome::Passed, ..))))
                .max_by_key(|c| c.scheduled_at);
            let Some(last) = passed else {
                return Err(crate::lifecycle::Refusal::NoPassedCheck.to_string());
            };
            let count = candidate
                .sustainment_checks
                .iter()
                .filter(|c| c.scheduled_at == last.scheduled_at)
                .count();
            let months = rules.reaudit_count * rules.reaudit_spacing_months;
            let short = usize::try_from(rules.reaudit_count).unwrap_or(usize::MAX) > count;
            let soon = meeting.is_some_and(|m| last.due < m.add_months(months));
            if short || soon {
                Err(format!(
                    "this programme embeds a change after {} re-audit(s), the last due {months} months after the closing decision; this closure's last re-audit was due {} ({count} scheduled)",
                    rules.reaudit_count,
                    last.due.long()
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// Whether `actor` may set the field `key` on `action`.
///
/// # Errors
/// Why not.
pub fn check_field(
    actor: Actor<'_>,
    key: FieldKey,
    action: &ActionView,
    before: Option<&ActionView>,
) -> Result<(), Denial> {
    if actor.role == Role::Viewer {
        return deny("viewers cannot change a plan");
    }
    match key {
        FieldKey::ExecLead => allow_if(administers(actor.role), || {
            "only the programme manager (admin) changes an action's executive lead".into()
        }),
        FieldKey::Reference
        | FieldKey::ReportedColour
        | FieldKey::FindingIds
        | FieldKey::Workstream
        | FieldKey::Phase
        | FieldKey::Owner => allow_if(actor.is(&[Role::Lead, Role::Admin]), || {
            format!(
                "only a lead or an admin can change an action's {}",
                key.label().to_ascii_lowercase()
            )
        }),
        FieldKey::DueOriginal => {
            if before.is_some_and(|b| b.due_original.is_some()) {
                deny("the original due date is kept once set; ask for a due-date change instead")
            } else {
                allow_if(actor.is(&[Role::Lead, Role::Admin]), || {
                    "only a lead or an admin can set the due date".into()
                })
            }
        }
        FieldKey::Confidence => allow_if(
            actor.owns(action) || actor.is(&[Role::Lead, Role::Admin]),
            || "only the action's owner, a lead or an admin can set its confidence".into(),
        ),
        FieldKey::Assurance => {
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
    }
}

/// Whether someone with `role` may upload evidence files to a plan (the
/// evidence entry that cites a file is judged by [`check_change`]; this is
/// the upload itself).
///
/// # Errors
/// Why not.
pub fn may_attach_evidence(role: Role) -> Result<(), Denial> {
    allow_if(role != Role::Viewer, || {
        "viewers cannot attach evidence".into()
    })
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
            Log::Decisions => may_decide(actor, action.status() == Status::Imported),
            Log::DueChanges => owner || actor.is(&[Role::Lead, Role::Admin]),
            Log::Sustainment => actor.is(&[Role::Validator, Role::Approver, Role::Admin]),
        },
    }
}

/// An account's role in a programme, from whether it is a server
/// administrator (every programme's admin) and the role it was granted
/// there, if any.
pub fn role_in(superuser: bool, granted: Option<Role>) -> Option<Role> {
    if superuser {
        Some(Role::Admin)
    } else {
        granted
    }
}

/// Whether a member in `role` runs the programme: its set-up (facts,
/// phases, workstreams, forums, members and invitations), imports, meetings
/// and the board paper. The programme document admits changes only from
/// such a member, and the server's programme-admin routes ask the same.
pub fn administers(role: Role) -> bool {
    role == Role::Admin
}

/// Whether a member in `role` may change the programme document's `root`
/// (add, change or remove its entries): its admin everything; phase 2's
/// improvement team (the executive leads and the programme office's
/// validators) also its root causes, driver diagrams, measures, their
/// values and the links between them; whoever owns actions (contributors,
/// the ward and service teams) also the PDSA cycles that test change
/// ideas. The exit criteria stay the admin's, like the rest of the
/// programme (a committee's chair writes only its chair's reports,
/// [`may_write_chair_report`]).
///
/// # Errors
/// Why not, in words.
pub fn check_programme_change(role: Role, root: crate::keys::Root) -> Result<(), Denial> {
    use crate::keys::Root;
    let improvement = matches!(
        root,
        Root::RootCauses | Root::Drivers | Root::Measures | Root::MeasurePoints | Root::Links
    );
    let allowed = administers(role)
        || (improvement && matches!(role, Role::Lead | Role::Validator))
        || (root == Root::Cycles
            && matches!(role, Role::Lead | Role::Validator | Role::Contributor));
    allow_if(allowed, || {
        if root == Root::Cycles {
            "only the programme's members who own or lead actions can change PDSA cycles".into()
        } else if improvement {
            format!(
                "only the programme's admin, executive leads and validators can change its {}",
                root.label()
            )
        } else {
            "only the programme's admin can change the programme (a committee's chair writes its meetings' chair's reports)".into()
        }
    })
}

/// Whether a member in `role` writes a meeting's chair's report to the
/// board (its Alert, Advise and Assure): the committee's chair (an
/// approver) as well as the programme's admin. The rest of the programme
/// stays the admin's.
pub fn may_write_chair_report(role: Role) -> bool {
    role == Role::Approver || administers(role)
}

/// Whether a member in `role` is offered as an action's owner: anyone who
/// may change a plan (a viewer only reads).
pub fn may_own(role: Role) -> bool {
    role != Role::Viewer
}

/// Whether a member in `role` is offered as an executive lead (of a
/// workstream or an action): the trust's executives, not the programme
/// office. An imported lead's name or job title stays as it was written.
pub fn may_lead(role: Role) -> bool {
    role == Role::Lead
}

/// Whether `action` is in `actor`'s portfolio when they act as an
/// executive lead: they are its executive lead, or it has none (a lead's
/// agreement and answers reach only their own actions). Other roles are
/// not bounded by portfolios.
pub fn in_portfolio(actor: Actor<'_>, action: &ActionView) -> bool {
    actor.role != Role::Lead
        || action.exec_lead.trim().is_empty()
        || action.exec_lead == actor.user.as_str()
}

/// What the rules need of the action as it was before an update.
#[derive(Debug, Clone, Copy)]
struct Was {
    /// The actor owned it.
    owner: bool,
    /// It was imported, awaiting validation.
    imported: bool,
    /// It was in the actor's portfolio.
    portfolio: bool,
    /// It was agreed (past draft).
    agreed: bool,
}

/// Who records a forum's decision: an approver, or for an action imported
/// awaiting validation the programme manager too (attaching the decision,
/// taken before Plait, that closed it).
fn may_decide(actor: Actor<'_>, imported: bool) -> bool {
    actor.role == Role::Approver || (imported && administers(actor.role))
}

fn check_entry(
    actor: Actor<'_>,
    log: Log,
    index: usize,
    action: &ActionView,
    was: Was,
) -> Result<(), Denial> {
    let Was {
        owner,
        imported,
        portfolio,
        ..
    } = was;
    let outside = || {
        format!(
            "this action is not in your portfolio: its executive lead is {}",
            action.exec_lead
        )
    };
    let missing = || format!("no entry {index} in the {} log", log_name(log));
    let by_self = |by: &UserId| {
        allow_if(by == actor.user, || {
            format!(
                "an entry in the {} log must be written as yourself, not {by}",
                log_name(log)
            )
        })
    };
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
            allow_if(portfolio, outside)?;
            // The status it met, for the reason when it is refused.
            let met = action.fold.steps.get(index).map(|step| match step {
                crate::lifecycle::Step::Applied { from, .. }
                | crate::lifecycle::Step::Superseded { from, .. } => *from,
            });
            check_step(actor, t.to, &t.note, t.baseline, action, owner, met)
        }
        Log::Updates => {
            let u = action.updates.get(index).ok_or_else(missing)?;
            by_self(&u.by)?;
            allow_if(owner || actor.role != Role::Contributor, || {
                "only the action's owner can post progress on it".into()
            })?;
            // An update's confidence is the action's confidence: the same
            // people may give it as may set it.
            allow_if(
                u.confidence.is_none() || owner || actor.is(&[Role::Lead, Role::Admin]),
                || "only the action's owner, a lead or an admin can give its confidence".into(),
            )
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
            allow_if(may_decide(actor, imported), || {
                "only an approver can record a forum's decision (or the programme manager, for an imported action awaiting validation)".into()
            })
        }
        Log::DueChanges => match action.due_changes.get(index).ok_or_else(missing)? {
            DueChange::Request { by, .. } => {
                by_self(by)?;
                allow_if(owner, || {
                    "only the action's owner can ask for a due-date change".into()
                })
            }
            DueChange::Wording { by, text, .. } => {
                by_self(by)?;
                allow_if(owner, || {
                    "only the action's owner asks for a new wording".into()
                })?;
                allow_if(
                    matches!(text, ActionText::Title | ActionText::ClosureCriteria),
                    || "a new wording is asked for the title or the closure criteria".into(),
                )?;
                allow_if(was.agreed, || {
                    "before the action is agreed its owner changes the wording directly".into()
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
                allow_if(portfolio, outside)?;
                allow_if(actor.is(&[Role::Lead, Role::Admin]), || {
                    "only an executive lead or an admin can answer a due-date request".into()
                })?;
                allow_if(
                    action.due_requests.iter().any(|r| &r.id == request_id)
                        || action.wording_requests.iter().any(|r| &r.id == request_id),
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
                at,
                method,
                sample,
                ..
            } => {
                if let Some(check) = action.sustainment_checks.iter().find(|c| &c.id == check_id) {
                    let opens = actor.rules.reaudit_opens(check.due);
                    allow_if(at.date() >= opens, || {
                        format!(
                            "this re-audit opens on {} (it is due {})",
                            opens.long(),
                            check.due.long()
                        )
                    })?;
                }
                by_self(by)?;
                allow_if(actor.role == Role::Validator && !owner, || {
                    "only a validator who does not own the action can record a re-audit".into()
                })?;
                allow_if(
                    *outcome == CheckOutcome::Passed || !note.trim().is_empty(),
                    || "a failed re-audit needs a note of what was found".into(),
                )?;
                allow_if(method.is_some() && !sample.trim().is_empty(), || {
                    "a re-audit records how it was done (its method) and what it looked at (its sample)"
                        .into()
                })?;
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
    owner: bool,
    met: Option<Status>,
) -> Result<(), Denial> {
    // Ownership as the server knew it before this update.
    let recorded = action.fold_facts(None);
    let facts = ActionFacts {
        owner: owner.then_some(actor.user),
        has_evidence: recorded.has_evidence,
        accepted_evidence: recorded.accepted_evidence,
        assured: recorded.assured,
        unused_closure_decisions: recorded.closure_decisions,
        unused_passed_checks: recorded.passed_checks,
        // Whether a completion needed endorsement depends on the route it
        // took: judged where the step's effect is known.
        endorsement_required: false,
    };
    let mut first_refusal = None;
    // The status the step met first, so that its reason is the one given.
    let order = met.into_iter().chain(Status::ALL.iter().copied());
    for from in order {
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
        Log::DueChanges => "request to the executive lead",
        Log::Sustainment => "re-audit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::{Decision, DueChange, Evidence, ProgressUpdate, Transition};
    use crate::ids::{ActionId, Date, EntryId, UnixMillis};
    use crate::lifecycle::fold_status;
    use crate::vocab::{DecisionOutcome, DueChangeVerdict, EvidenceKind};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    fn action(owner: &str) -> ActionView {
        let id = ActionId::new("a-1").unwrap();
        ActionView {
            id,
            reference: "MD001".into(),
            title: String::new(),
            description: String::new(),
            closure_criteria: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: String::new(),
            owner: Some(user(owner)),
            due_original: None,
            due_current: None,
            confidence: None,
            confidence_set: None,
            assurance: None,
            reported_colour: None,
            transitions: vec![],
            fold: fold_status(&[], &crate::lifecycle::FoldFacts::bare(None)),
            updates: vec![],
            evidence: vec![],
            evidence_reviews: vec![],
            decisions: vec![],
            due_requests: vec![],
            wording_requests: vec![],
            due_changes: vec![],
            sustainment: vec![],
            sustainment_checks: vec![],
            created: None,
        }
    }

    /// An agreed action's title and closure criteria change only with its
    /// executive lead (issue 15): the owner asks for a new wording, the
    /// lead of its portfolio (or the programme manager) changes it; the
    /// description stays the owner's. Before agreement the owner edits all
    /// three.
    #[test]
    fn an_agreed_actions_wording_changes_with_its_lead() {
        let rules = Governance::DEFAULT;
        let who = |name: &'static str, role| Actor {
            user: Box::leak(Box::new(user(name))),
            role,
            rules,
        };
        let draft = action("owner");
        let mut agreed = action("owner");
        agreed.exec_lead = "chief.nurse".into();
        agreed.transitions.push(Transition {
            to: Status::Agreed,
            by: user("chief.nurse"),
            role: Role::Lead,
            at: UnixMillis(1),
            note: String::new(),
            baseline: false,
        });
        let agreed = agreed.derived();
        assert_eq!(agreed.status(), Status::Agreed);
        let text = |t| Change::Text(ActionId::new("a-1").unwrap(), t);
        let owner = who("owner", Role::Contributor);
        for t in ActionText::ALL {
            assert!(check_change(owner, &text(t), Some(&draft), Some(&draft)).is_ok());
        }
        let refused = check_change(
            owner,
            &text(ActionText::Title),
            Some(&agreed),
            Some(&agreed),
        );
        assert!(refused.unwrap_err().contains("ask for the new wording"));
        assert!(check_change(
            owner,
            &text(ActionText::ClosureCriteria),
            Some(&agreed),
            Some(&agreed)
        )
        .is_err());
        assert!(check_change(
            owner,
            &text(ActionText::Description),
            Some(&agreed),
            Some(&agreed)
        )
        .is_ok());
        let lead = who("chief.nurse", Role::Lead);
        let other = who("director.of.people", Role::Lead);
        let admin = who("pm", Role::Admin);
        assert!(check_change(lead, &text(ActionText::Title), Some(&agreed), Some(&agreed)).is_ok());
        assert!(check_change(
            admin,
            &text(ActionText::Title),
            Some(&agreed),
            Some(&agreed)
        )
        .is_ok());
        assert!(
            check_change(
                other,
                &text(ActionText::Title),
                Some(&agreed),
                Some(&agreed)
            )
            .is_err(),
            "another executive's portfolio"
        );
        // The owner asks; on a draft there is nothing to ask.
        let ask = |on: &ActionView| {
            let mut after = on.clone();
            after.due_changes.push(DueChange::Wording {
                id: EntryId::new("w-1").unwrap(),
                text: ActionText::Title,
                proposed: "Door closers on both wards".into(),
                reason: "clearer".into(),
                by: user("owner"),
                at: UnixMillis(2),
            });
            after.derived()
        };
        let asked = ask(&agreed);
        assert!(check_change(
            owner,
            &appended(Log::DueChanges, 0),
            Some(&agreed),
            Some(&asked)
        )
        .is_ok());
        assert!(check_change(
            owner,
            &appended(Log::DueChanges, 0),
            Some(&draft),
            Some(&ask(&draft))
        )
        .is_err());
        assert!(check_change(
            lead,
            &appended(Log::DueChanges, 0),
            Some(&agreed),
            Some(&asked)
        )
        .is_err());
    }

    fn appended(log: Log, index: usize) -> Change {
        Change::Appended(ActionId::new("a-1").unwrap(), log, vec![index])
    }

    fn field(key: &'static str) -> Change {
        Change::Field(
            ActionId::new("a-1").unwrap(),
            FieldKey::from_key(key).unwrap(),
        )
    }

    fn check(
        name: &str,
        role: Role,
        change: &Change,
        before: &ActionView,
        after: &ActionView,
    ) -> bool {
        let who = user(name);
        check_change(
            Actor {
                user: &who,
                role,
                rules: crate::lifecycle::Governance::DEFAULT,
            },
            change,
            Some(before),
            Some(after),
        )
        .is_ok()
    }

    #[test]
    fn viewers_change_nothing() {
        let a = action("owner");
        for change in [
            field("confidence"),
            field("owner"),
            appended(Log::Updates, 0),
        ] {
            assert!(!check("owner", Role::Viewer, &change, &a, &a));
        }
    }

    #[test]
    fn fields_follow_the_table() {
        let a = action("owner");
        assert!(check(
            "owner",
            Role::Contributor,
            &field("confidence"),
            &a,
            &a
        ));
        assert!(!check(
            "other",
            Role::Contributor,
            &field("confidence"),
            &a,
            &a
        ));
        assert!(!check("owner", Role::Contributor, &field("owner"), &a, &a));
        assert!(check("lead", Role::Lead, &field("owner"), &a, &a));
        assert!(check("pm", Role::Admin, &field("phase_id"), &a, &a));
        assert!(!check("v", Role::Validator, &field("phase_id"), &a, &a));
        assert!(check("v", Role::Validator, &field("assurance"), &a, &a));
        assert!(!check(
            "owner",
            Role::Validator,
            &field("assurance"),
            &a,
            &a
        ));
        assert!(check("lead", Role::Lead, &field("due_original"), &a, &a));
        let mut dated = a.clone();
        dated.due_original = Date::parse_loose("2026-12-01").ok();
        assert!(!check(
            "lead",
            Role::Lead,
            &field("due_original"),
            &dated,
            &dated
        ));
    }

    #[test]
    fn reassigning_in_the_same_update_gives_no_owner_rights() {
        let before = action("owner");
        let after = action("grabber");
        assert!(!check(
            "grabber",
            Role::Contributor,
            &field("confidence"),
            &before,
            &after
        ));
    }

    /// An update's confidence is the action's: its owner, a lead or an
    /// admin give it; a validator may post progress, but not a confidence.
    #[test]
    fn an_updates_confidence_is_given_by_who_may_set_the_confidence() {
        let before = action("owner");
        let with = |by: &str, confidence| {
            let mut after = before.clone();
            after.updates.push(ProgressUpdate {
                id: EntryId::new("u1").unwrap(),
                text: "note".into(),
                by: user(by),
                at: UnixMillis(1),
                confidence,
            });
            after
        };
        let off = Some(crate::vocab::Confidence::OffTrack);
        let post = |by: &str, role, confidence| {
            check(
                by,
                role,
                &appended(Log::Updates, 0),
                &before,
                &with(by, confidence),
            )
        };
        assert!(post("owner", Role::Contributor, off));
        assert!(post("lead", Role::Lead, off));
        assert!(post("checker", Role::Validator, None));
        assert!(!post("checker", Role::Validator, off));
        assert!(!post("chair", Role::Approver, off));
    }

    #[test]
    fn entries_are_written_as_oneself_in_ones_own_role() {
        let before = action("owner");
        let mut after = before.clone();
        after.updates.push(ProgressUpdate {
            id: EntryId::new("u1").unwrap(),
            text: "done".into(),
            by: user("someone-else"),
            at: UnixMillis(1),
            confidence: None,
        });
        assert!(!check(
            "owner",
            Role::Contributor,
            &appended(Log::Updates, 0),
            &before,
            &after
        ));
        after.updates[0].by = user("owner");
        assert!(check(
            "owner",
            Role::Contributor,
            &appended(Log::Updates, 0),
            &before,
            &after
        ));
        assert!(!check(
            "stranger",
            Role::Contributor,
            &appended(Log::Updates, 0),
            &before,
            &after
        ));
        after.transitions.push(Transition {
            to: Status::Agreed,
            by: user("owner"),
            role: Role::Lead,
            at: UnixMillis(1),
            note: String::new(),
            baseline: false,
        });
        assert!(
            !check(
                "owner",
                Role::Contributor,
                &appended(Log::Transitions, 0),
                &before,
                &after
            ),
            "claims a role it does not hold"
        );
    }

    #[test]
    fn transitions_follow_the_lifecycle_table() {
        let before = action("owner");
        let step = |to: Status, name: &str, role: Role, after: &mut ActionView| {
            after.transitions = vec![Transition {
                to,
                by: user(name),
                role,
                at: UnixMillis(1),
                note: "because".into(),
                baseline: false,
            }];
            check(name, role, &appended(Log::Transitions, 0), &before, after)
        };
        let mut after = before.clone();
        assert!(step(
            Status::InProgress,
            "owner",
            Role::Contributor,
            &mut after
        ));
        assert!(!step(
            Status::InProgress,
            "other",
            Role::Contributor,
            &mut after
        ));
        assert!(
            !step(
                Status::CompletionProposed,
                "owner",
                Role::Contributor,
                &mut after
            ),
            "no evidence"
        );
        after.evidence.push(Evidence {
            id: EntryId::new("e1").unwrap(),
            kind: EvidenceKind::Link,
            title: "audit".into(),
            location: "https://example.org".into(),
            evidence_type: None,
            period_from: None,
            period_to: None,
            site: String::new(),
            piece: None,
            by: user("owner"),
            at: UnixMillis(1),
        });
        assert!(step(
            Status::CompletionProposed,
            "owner",
            Role::Contributor,
            &mut after
        ));
        // Evidence is accepted only with a verdict accepting a piece of it
        // and an assurance level (issue 15).
        assert!(
            !step(Status::EvidenceAccepted, "v", Role::Validator, &mut after),
            "no accepted verdict"
        );
        let mut review = crate::entries::EvidenceReview {
            id: EntryId::new("r1").unwrap(),
            evidence_id: EntryId::new("e1").unwrap(),
            verdict: crate::vocab::EvidenceVerdict::Accepted,
            assurance: None,
            note: String::new(),
            by: user("v"),
            at: UnixMillis(2),
        };
        after.evidence_reviews.push(review.clone());
        assert!(
            !step(Status::EvidenceAccepted, "v", Role::Validator, &mut after),
            "no assurance level"
        );
        review.assurance = Some(crate::vocab::Assurance::None);
        after.evidence_reviews = vec![review.clone()];
        assert!(
            !step(Status::EvidenceAccepted, "v", Role::Validator, &mut after),
            "\"no assurance\" assures nothing"
        );
        // A level set as a field is not a verdict: it is the verdict's.
        after.assurance = Some(crate::vocab::Assurance::Reasonable);
        assert!(
            !step(Status::EvidenceAccepted, "v", Role::Validator, &mut after),
            "the field alone"
        );
        review.assurance = Some(crate::vocab::Assurance::Reasonable);
        after.evidence_reviews = vec![review];
        assert!(step(
            Status::EvidenceAccepted,
            "v",
            Role::Validator,
            &mut after
        ));
        assert!(
            !step(
                Status::EvidenceAccepted,
                "owner",
                Role::Validator,
                &mut after
            ),
            "own action"
        );
        assert!(
            !step(Status::Closed, "chair", Role::Approver, &mut after),
            "no decision"
        );
        after.decisions.push(Decision {
            id: EntryId::new("d1").unwrap(),
            forum: "QSC".into(),
            meeting_date: Date::parse_loose("2026-11-01").unwrap(),
            outcome: DecisionOutcome::ApproveClosure,
            minute_ref: "QSC/26/101".into(),
            note: String::new(),
            by: user("chair"),
            at: UnixMillis(1),
            meeting: None,
        });
        assert!(step(Status::Closed, "chair", Role::Approver, &mut after));
        assert!(!step(Status::Closed, "lead", Role::Lead, &mut after));
        assert!(
            !step(Status::Embedded, "v", Role::Validator, &mut after),
            "no passed re-audit"
        );
    }

    #[test]
    fn only_the_right_people_write_verdicts_decisions_and_date_answers() {
        let before = action("owner");
        let mut after = before.clone();
        after.decisions.push(Decision {
            id: EntryId::new("d1").unwrap(),
            forum: "QSC".into(),
            meeting_date: Date::parse_loose("2026-11-01").unwrap(),
            outcome: DecisionOutcome::ApproveClosure,
            minute_ref: String::new(),
            note: String::new(),
            by: user("v"),
            at: UnixMillis(1),
            meeting: None,
        });
        assert!(!check(
            "v",
            Role::Validator,
            &appended(Log::Decisions, 0),
            &before,
            &after
        ));
        after.decisions[0].by = user("chair");
        assert!(check(
            "chair",
            Role::Approver,
            &appended(Log::Decisions, 0),
            &before,
            &after
        ));
        after.due_changes = vec![DueChange::Request {
            id: EntryId::new("r1").unwrap(),
            new_due: Date::parse_loose("2027-01-01").unwrap(),
            reason: "estates delay".into(),
            by: user("owner"),
            at: UnixMillis(1),
        }];
        assert!(check(
            "owner",
            Role::Contributor,
            &appended(Log::DueChanges, 0),
            &before,
            &after
        ));
        assert!(!check(
            "lead",
            Role::Lead,
            &appended(Log::DueChanges, 0),
            &before,
            &after
        ));
        after.due_changes.push(DueChange::Answer {
            id: EntryId::new("r2").unwrap(),
            request_id: EntryId::new("r1").unwrap(),
            verdict: DueChangeVerdict::Approved,
            note: String::new(),
            by: user("owner"),
            role: Role::Contributor,
            at: UnixMillis(1),
        });
        after.due_requests = vec![crate::plan::DueRequestView {
            id: EntryId::new("r1").unwrap(),
            new_due: Date::parse_loose("2027-01-01").unwrap(),
            reason: "estates delay".into(),
            by: user("owner"),
            at: UnixMillis(1),
            answer: None,
        }];
        assert!(!check(
            "owner",
            Role::Contributor,
            &appended(Log::DueChanges, 1),
            &before,
            &after
        ));
    }

    #[test]
    fn rewrites_and_malformed_data_are_never_allowed() {
        let a = action("owner");
        let id = ActionId::new("a-1").unwrap();
        for role in Role::ALL {
            assert!(!check(
                "pm",
                *role,
                &Change::Rewritten(id.clone(), Log::Updates),
                &a,
                &a
            ));
            assert!(!check("pm", *role, &Change::Malformed(id.clone()), &a, &a));
        }
        assert!(check("pm", Role::Admin, &Change::PlanInfo, &a, &a));
        assert!(!check("lead", Role::Lead, &Change::PlanInfo, &a, &a));
    }
}
