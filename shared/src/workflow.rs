//! The governance steps people take, each as the entries it appends in one
//! transaction: attaching evidence and proposing completion, reviewing
//! evidence, a forum's decision (closing schedules the re-audits), due-date
//! requests and answers, and re-audits (a pass embeds, a failure reopens).
//!
//! The client calls these; the server checks what they wrote against
//! [`crate::access`] like any other change. They check the obvious
//! preconditions first so a person gets a clear message instead of an entry
//! the server would undo.

use yrs::TransactionMut;

use crate::access::{may_append, Actor};
use crate::doc::WriteError;
use crate::entries::{
    Decision, DueChange, Evidence, EvidenceReview, LogEntry, Sustainment, Transition,
};
use crate::ids::{ActionId, Date, EntryId, UnixMillis, UserId};
use crate::keys::Log;
use crate::lifecycle::Governance;
use crate::lifecycle::{next_statuses, Refusal};
use crate::plan::{ActionField, ActionView, PlanDoc};
use crate::vocab::{
    Assurance, CheckOutcome, DecisionOutcome, DueChangeVerdict, EvidenceKind, EvidenceType,
    EvidenceVerdict, ReauditMethod, Role, Status,
};

/// Who acts, and when.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// The person.
    pub user: &'a UserId,
    /// Their role in the programme.
    pub role: Role,
    /// Now.
    pub at: UnixMillis,
}

/// The months after a closing decision's meeting at which re-audits fall
/// due, unless the forum chooses otherwise. The last of them decides
/// whether the change is embedded.
pub const DEFAULT_REAUDIT_MONTHS: [u32; 2] = [3, 6];

pub use crate::lifecycle::{reaudit_opens, REAUDIT_OPENS_DAYS_BEFORE};

/// A fresh entry id: the kind, the moment, the person, and `salt` (a random
/// number from the caller) so two entries made at once never collide.
pub fn new_entry_id(kind: &str, who: &Who<'_>, salt: u32) -> EntryId {
    let person: String = who
        .user
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    EntryId::new(format!("{kind}-{}-{person}-{salt:08x}", who.at.0))
        .unwrap_or_else(|_| unreachable!("built from id-safe characters"))
}

fn invalid(message: impl Into<String>) -> WriteError {
    WriteError::Malformed(message.into())
}

fn action(plan: &PlanDoc, txn: &TransactionMut, id: &ActionId) -> Result<ActionView, WriteError> {
    plan.read_action(txn, id)
        .ok_or_else(|| WriteError::UnknownAction(id.to_string()))
}

fn transition(who: &Who<'_>, to: Status, note: &str) -> LogEntry {
    LogEntry::Transition(Transition {
        to,
        by: who.user.clone(),
        role: who.role,
        at: who.at,
        note: note.trim().to_owned(),
        baseline: false,
    })
}

/// A piece of evidence, as its owner describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceInput<'a> {
    /// A file, a link or a note.
    pub kind: EvidenceKind,
    /// What it shows.
    pub title: &'a str,
    /// A file's SHA-256, or a link's address.
    pub location: &'a str,
    /// What sort of evidence it is.
    pub evidence_type: Option<EvidenceType>,
    /// The period it covers, first and last day.
    pub period: (Option<Date>, Option<Date>),
    /// The ward, team or site it comes from.
    pub site: &'a str,
}

impl<'a> EvidenceInput<'a> {
    /// A piece of evidence with only its kind, title and location.
    pub fn new(kind: EvidenceKind, title: &'a str, location: &'a str) -> EvidenceInput<'a> {
        EvidenceInput {
            kind,
            title,
            location,
            evidence_type: None,
            period: (None, None),
            site: "",
        }
    }

    fn entry(&self, id: EntryId, piece: Option<EntryId>, who: &Who<'_>) -> Evidence {
        Evidence {
            id,
            kind: self.kind,
            title: self.title.trim().to_owned(),
            location: self.location.trim().to_owned(),
            evidence_type: self.evidence_type,
            period_from: self.period.0,
            period_to: self.period.1,
            site: self.site.trim().to_owned(),
            piece,
            by: who.user.clone(),
            at: who.at,
        }
    }

    fn check(&self) -> Result<(), WriteError> {
        if self.title.trim().is_empty() {
            return Err(invalid("evidence needs a title saying what it shows"));
        }
        if let (Some(from), Some(to)) = self.period {
            if to < from {
                return Err(invalid(
                    "the period the evidence covers must end on or after the day it starts",
                ));
            }
        }
        Ok(())
    }
}

/// Attaches a file (its blob's SHA-256), a link or a note as evidence.
///
/// # Errors
/// An unknown action, a title missing, or a period that ends before it
/// starts.
pub fn attach_evidence(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    input: &EvidenceInput<'_>,
    salt: u32,
) -> Result<EntryId, WriteError> {
    action(plan, txn, id)?;
    input.check()?;
    let entry = new_entry_id("e", who, salt);
    plan.append(
        txn,
        id,
        &LogEntry::Evidence(input.entry(entry.clone(), None, who)),
    )?;
    Ok(entry)
}

/// Attaches one piece of evidence to several actions of a plan: an entry
/// on each, sharing one `piece` id, so each action's page lists the others
/// it serves and each action's validator judges it for that action.
///
/// # Errors
/// An unknown action, fewer than two actions, or what
/// [`attach_evidence`] refuses.
pub fn attach_to_several(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    ids: &[ActionId],
    who: &Who<'_>,
    input: &EvidenceInput<'_>,
    salt: u32,
) -> Result<EntryId, WriteError> {
    input.check()?;
    if ids.len() < 2 {
        return Err(invalid("choose the other actions this evidence serves"));
    }
    for id in ids {
        action(plan, txn, id)?;
    }
    let piece = new_entry_id("p", who, salt);
    for (n, id) in ids.iter().enumerate() {
        let entry = new_entry_id("e", who, salt.wrapping_add(n as u32 + 1));
        plan.append(
            txn,
            id,
            &LogEntry::Evidence(input.entry(entry, Some(piece.clone()), who)),
        )?;
    }
    Ok(piece)
}

/// The owner proposes the action complete (evidence must be attached).
///
/// # Errors
/// An unknown action, no evidence, or not in progress.
pub fn propose_completion(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    note: &str,
) -> Result<(), WriteError> {
    let current = action(plan, txn, id)?;
    if current.evidence.is_empty() {
        return Err(invalid("attach evidence before proposing completion"));
    }
    if current.status() != Status::InProgress {
        return Err(invalid(format!(
            "only an action in progress can be proposed complete (this one is {})",
            current.status()
        )));
    }
    plan.append(txn, id, &transition(who, Status::CompletionProposed, note))
}

/// Whether evidence on an action in `status` awaits a validator's
/// verdict under `rules`: proposed complete (endorsed first where the
/// programme asks for it), or imported awaiting validation.
pub fn awaits_validation(status: Status, rules: &Governance) -> bool {
    match status {
        Status::Endorsed | Status::Imported => true,
        Status::CompletionProposed => !rules.endorsement,
        _ => false,
    }
}

/// A validator's verdict on one piece of evidence. When `decide` is set, the
/// verdict also moves the action: accepted evidence accepts the proposal
/// (with `assurance`, the level it gives, unless one is set already),
/// insufficient evidence returns it to the owner (the note says why).
///
/// # Errors
/// An unknown action or evidence, an insufficient verdict with no note,
/// accepting with no assurance level, or deciding on a completion the
/// executive lead has still to endorse.
#[allow(clippy::too_many_arguments)]
pub fn review_evidence(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    evidence_id: &EntryId,
    verdict: EvidenceVerdict,
    note: &str,
    decide: bool,
    assurance: Option<Assurance>,
    rules: &Governance,
    salt: u32,
) -> Result<(), WriteError> {
    let current = action(plan, txn, id)?;
    if current.evidence.iter().all(|e| &e.id != evidence_id) {
        return Err(invalid("no such evidence on this action"));
    }
    if verdict == EvidenceVerdict::Insufficient && note.trim().is_empty() {
        return Err(invalid("say why the evidence is insufficient"));
    }
    let status = current.status();
    if decide && status == Status::CompletionProposed && rules.endorsement {
        return Err(invalid(Refusal::NotEndorsed.to_string()));
    }
    let decides = decide && awaits_validation(status, rules);
    let accepting = decides && verdict == EvidenceVerdict::Accepted;
    let level = assurance.or(current.assurance).filter(|level| {
        matches!(
            level,
            Assurance::Substantial | Assurance::Reasonable | Assurance::Limited
        )
    });
    if accepting && level.is_none() {
        return Err(invalid(
            "say how much the evidence assures: substantial, reasonable or limited",
        ));
    }
    if accepting && assurance.is_some() && assurance != current.assurance {
        plan.set_action_field(txn, id, &ActionField::Assurance(assurance))?;
    }
    plan.append(
        txn,
        id,
        &LogEntry::EvidenceReview(EvidenceReview {
            id: new_entry_id("r", who, salt),
            evidence_id: evidence_id.clone(),
            verdict,
            assurance: level.filter(|_| verdict == EvidenceVerdict::Accepted),
            note: note.trim().to_owned(),
            by: who.user.clone(),
            at: who.at,
        }),
    )?;
    if decides {
        let to = match verdict {
            EvidenceVerdict::Accepted => Status::EvidenceAccepted,
            EvidenceVerdict::Insufficient => Status::InProgress,
        };
        plan.append(txn, id, &transition(who, to, note))?;
    }
    Ok(())
}

/// What a forum decided, as recorded.
#[derive(Debug, Clone)]
pub struct DecisionInput<'a> {
    /// The committee or board.
    pub forum: &'a str,
    /// The day it met.
    pub meeting_date: Date,
    /// What it decided.
    pub outcome: DecisionOutcome,
    /// Where the minutes record it.
    pub minute_ref: &'a str,
    /// Anything else (the reason for a return or reopening).
    pub note: &'a str,
    /// Months after the meeting when re-audits fall due (closures only).
    pub reaudit_months: &'a [u32],
    /// The meeting of the programme's record that took it, if any.
    pub meeting: Option<&'a crate::ids::MeetingId>,
}

/// Records a forum's decision and its effect: approving closure closes the
/// action and schedules its re-audits; a return sends it back to the owner;
/// a reopening reopens it; an extension is recorded (the new date itself
/// goes through a due-date request).
///
/// # Errors
/// An unknown action, a missing forum, or an outcome that does not fit the
/// action's status.
pub fn record_decision(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    input: &DecisionInput<'_>,
    salt: u32,
) -> Result<(), WriteError> {
    let current = action(plan, txn, id)?;
    if input.forum.trim().is_empty() {
        return Err(invalid("name the forum that decided"));
    }
    let effect = decision_effect(input.outcome, current.status()).map_err(invalid)?;
    if matches!(effect, Some(Status::InProgress | Status::Reopened)) && input.note.trim().is_empty()
    {
        return Err(invalid("say why, for the owner and the minutes"));
    }
    plan.append(
        txn,
        id,
        &LogEntry::Decision(Decision {
            id: new_entry_id("d", who, salt),
            forum: input.forum.trim().to_owned(),
            meeting_date: input.meeting_date,
            outcome: input.outcome,
            minute_ref: input.minute_ref.trim().to_owned(),
            note: input.note.trim().to_owned(),
            meeting: input.meeting.cloned(),
            by: who.user.clone(),
            at: who.at,
        }),
    )?;
    if let Some(to) = effect {
        let note = if input.minute_ref.trim().is_empty() {
            input.note.to_owned()
        } else {
            format!("{} ({})", input.note.trim(), input.minute_ref.trim())
                .trim()
                .to_owned()
        };
        plan.append(txn, id, &transition(who, to, &note))?;
    }
    // An imported closure keeps the re-audits its import scheduled.
    let scheduled = current
        .sustainment_checks
        .iter()
        .any(|c| c.result.is_none());
    if effect == Some(Status::Closed) && !(current.status() == Status::Imported && scheduled) {
        for (n, months) in input.reaudit_months.iter().enumerate() {
            plan.append(
                txn,
                id,
                &LogEntry::Sustainment(Sustainment::Scheduled {
                    id: new_entry_id("s", who, salt.wrapping_add(n as u32 + 1)),
                    due: input.meeting_date.add_months(*months),
                    by: who.user.clone(),
                    at: who.at,
                }),
            )?;
        }
    }
    Ok(())
}

/// The owner asks for a new due date.
///
/// # Errors
/// An unknown action, or no reason.
pub fn request_due_change(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    new_due: Date,
    reason: &str,
    salt: u32,
) -> Result<EntryId, WriteError> {
    action(plan, txn, id)?;
    if reason.trim().is_empty() {
        return Err(invalid("give a reason for the new date"));
    }
    let entry = new_entry_id("q", who, salt);
    plan.append(
        txn,
        id,
        &LogEntry::DueChange(DueChange::Request {
            id: entry.clone(),
            new_due,
            reason: reason.trim().to_owned(),
            by: who.user.clone(),
            at: who.at,
        }),
    )?;
    Ok(entry)
}

/// The owner asks the executive lead for a new wording of an agreed
/// action's title or closure criteria.
///
/// # Errors
/// An unknown action, one still a draft (its owner edits it directly), a
/// text other than those two, a wording that is empty or the same, or no
/// reason.
#[allow(clippy::too_many_arguments)]
pub fn request_wording_change(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    text: crate::keys::ActionText,
    proposed: &str,
    reason: &str,
    salt: u32,
) -> Result<EntryId, WriteError> {
    let current = action(plan, txn, id)?;
    if current.status() == Status::Draft {
        return Err(invalid(
            "the action is still a draft: change its wording directly",
        ));
    }
    if !matches!(
        text,
        crate::keys::ActionText::Title | crate::keys::ActionText::ClosureCriteria
    ) {
        return Err(invalid(
            "a new wording is asked for the title or the closure criteria",
        ));
    }
    let proposed = proposed.trim();
    if proposed.is_empty() || proposed == current.text(text).trim() {
        return Err(invalid(format!(
            "write the new {} you are asking for",
            text.label().to_ascii_lowercase()
        )));
    }
    if reason.trim().is_empty() {
        return Err(invalid("give a reason for the new wording"));
    }
    let entry = new_entry_id("w", who, salt);
    plan.append(
        txn,
        id,
        &LogEntry::DueChange(DueChange::Wording {
            id: entry.clone(),
            text,
            proposed: proposed.to_owned(),
            reason: reason.trim().to_owned(),
            by: who.user.clone(),
            at: who.at,
        }),
    )?;
    Ok(entry)
}

/// The executive lead approves or declines a request.
///
/// # Errors
/// An unknown action or request, one already answered, or a declined
/// request with no note.
#[allow(clippy::too_many_arguments)]
pub fn answer_due_change(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    request_id: &EntryId,
    verdict: DueChangeVerdict,
    note: &str,
    salt: u32,
) -> Result<(), WriteError> {
    let current = action(plan, txn, id)?;
    let due = current.due_requests.iter().find(|r| &r.id == request_id);
    let wording = current
        .wording_requests
        .iter()
        .find(|r| &r.id == request_id);
    let answered = match (due, wording) {
        (Some(r), _) => r.answer.is_some(),
        (None, Some(r)) => r.answer.is_some(),
        (None, None) => return Err(invalid("no such request on this action")),
    };
    if answered {
        return Err(invalid("this request has been answered"));
    }
    if verdict == DueChangeVerdict::Declined && note.trim().is_empty() {
        return Err(invalid("say why the request is declined"));
    }
    // An approved wording is applied with its approval.
    if let (Some(request), DueChangeVerdict::Approved) = (wording, verdict) {
        if let Some(edit) =
            crate::plan::TextEdit::between(current.text(request.text), &request.proposed)
        {
            plan.edit_action_text(txn, id, request.text, &edit)?;
        }
    }
    plan.append(
        txn,
        id,
        &LogEntry::DueChange(DueChange::Answer {
            id: new_entry_id("a", who, salt),
            request_id: request_id.clone(),
            verdict,
            note: note.trim().to_owned(),
            by: who.user.clone(),
            role: who.role,
            at: who.at,
        }),
    )
}

/// A re-audit as carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReauditInput<'a> {
    /// The scheduled check it answers.
    pub check_id: &'a EntryId,
    /// Passed or failed.
    pub outcome: CheckOutcome,
    /// How it was done.
    pub method: Option<ReauditMethod>,
    /// What it looked at ("20 records on Ward 3, July").
    pub sample: &'a str,
    /// What it found (needed when it failed).
    pub note: &'a str,
}

/// A re-audit's result: a pass of a closure's last re-audit embeds it, a
/// failure reopens it (the note says what was found). It opens the
/// programme's window of days before it is due.
///
/// # Errors
/// An unknown action or check, one already done or not open yet, no method
/// or sample, or a failure with no note.
pub fn record_reaudit(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    id: &ActionId,
    who: &Who<'_>,
    input: &ReauditInput<'_>,
    rules: &Governance,
    salt: u32,
) -> Result<(), WriteError> {
    let ReauditInput {
        check_id,
        outcome,
        method,
        sample,
        note,
    } = *input;
    let current = action(plan, txn, id)?;
    let Some(check) = current
        .sustainment_checks
        .iter()
        .find(|c| &c.id == check_id)
    else {
        return Err(invalid("no such re-audit on this action"));
    };
    if check.result.is_some() {
        return Err(invalid("this re-audit has a result already"));
    }
    let opens = rules.reaudit_opens(check.due);
    if who.at.date() < opens {
        return Err(invalid(format!(
            "this re-audit opens on {} (it is due {})",
            opens.long(),
            check.due.long()
        )));
    }
    let last = current.is_final_check(check_id);
    if outcome == CheckOutcome::Failed && note.trim().is_empty() {
        return Err(invalid("say what the re-audit found"));
    }
    if method.is_none() {
        return Err(invalid("say how the re-audit was done"));
    }
    if sample.trim().is_empty() {
        return Err(invalid(
            "say what the re-audit looked at (its sample: how many, where, when)",
        ));
    }
    plan.append(
        txn,
        id,
        &LogEntry::Sustainment(Sustainment::Result {
            id: new_entry_id("c", who, salt),
            check_id: check_id.clone(),
            outcome,
            note: note.trim().to_owned(),
            method,
            sample: sample.trim().to_owned(),
            by: who.user.clone(),
            at: who.at,
        }),
    )?;
    let status = current.status();
    match outcome {
        // Only the last re-audit of a closure embeds it, where the
        // closure kept the programme's schedule of re-audits.
        CheckOutcome::Passed if status == Status::Closed && last => {
            let embed = transition(who, Status::Embedded, note);
            let kept = plan.read_action(txn, id).is_some_and(|mut candidate| {
                if let LogEntry::Transition(t) = &embed {
                    candidate.transitions.push(t.clone());
                }
                let candidate = candidate.derived();
                let index = candidate.transitions.len() - 1;
                crate::access::check_governance(rules, &candidate, Log::Transitions, index).is_ok()
            });
            if kept {
                plan.append(txn, id, &embed)
            } else {
                Ok(())
            }
        }
        CheckOutcome::Failed if matches!(status, Status::Closed | Status::Embedded) => plan.append(
            txn,
            id,
            &transition(
                who,
                Status::Reopened,
                &format!("Re-audit failed: {}", note.trim()),
            ),
        ),
        _ => Ok(()),
    }
}

/// The governance steps someone may take on an action now: the forms its
/// page offers. Asked of the rules the server applies ([`crate::access`]
/// and [`crate::lifecycle`]), not written again; a test below takes every
/// step as every role on actions in every status and checks that what is
/// offered is exactly what the server would keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offers {
    /// Attach evidence.
    pub evidence: bool,
    /// Accept or return evidence proposed for closure.
    pub review: bool,
    /// Record a forum's decision, with these outcomes.
    pub decisions: Vec<DecisionOutcome>,
    /// Ask for a new due date.
    pub request: bool,
    /// Answer a due-date or wording request.
    pub answer: bool,
    /// Ask for a new wording of the title or closure criteria.
    pub wording: bool,
    /// Record a re-audit's result.
    pub reaudit: bool,
}

/// The status changes `actor` could ask for on `action` now by their role,
/// each with why it would not take effect yet (`None`: it would): the
/// evidence, verdict, assurance, decision or re-audit it still needs. For
/// showing a button only when its step can be taken, and the reason when
/// not.
pub fn moves(actor: Actor<'_>, action: &ActionView) -> Vec<(Status, Option<Refusal>)> {
    let recorded = action.fold_facts(None);
    let used = |to: Status| {
        action
            .fold
            .steps
            .iter()
            .zip(&action.transitions)
            .filter(|(step, t)| {
                !t.baseline
                    && matches!(step, crate::lifecycle::Step::Applied { to: s, .. } if *s == to)
            })
            .count()
    };
    let facts = crate::lifecycle::ActionFacts {
        owner: action.owner.as_ref(),
        has_evidence: recorded.has_evidence,
        accepted_evidence: recorded.accepted_evidence,
        assured: recorded.assured,
        unused_closure_decisions: recorded
            .closure_decisions
            .saturating_sub(used(Status::Closed)),
        unused_passed_checks: recorded
            .passed_checks
            .saturating_sub(used(Status::Embedded)),
        endorsement_required: actor.rules.endorsement,
    };
    if !crate::access::in_portfolio(actor, action) {
        return Vec::new();
    }
    let from = action.status();
    next_statuses(actor.role, actor.user, from, action.owner.as_ref())
        .into_iter()
        .map(|to| {
            let step = crate::lifecycle::Move {
                role: actor.role,
                actor: actor.user,
                from,
                to,
                note: "reason",
                baseline: false,
            };
            (to, crate::lifecycle::check_transition(&step, &facts).err())
        })
        .collect()
}

/// The status a forum's decision moves an action in `status` to
/// (`Ok(None)`: none, an extension), or why it does not fit.
///
/// # Errors
/// The decision does not fit the action's status.
pub fn decision_effect(outcome: DecisionOutcome, status: Status) -> Result<Option<Status>, String> {
    match outcome {
        DecisionOutcome::ApproveClosure
            if matches!(status, Status::EvidenceAccepted | Status::Imported) =>
        {
            Ok(Some(Status::Closed))
        }
        DecisionOutcome::ApproveClosure => {
            Err("a closure is approved once the evidence is accepted".into())
        }
        DecisionOutcome::Return if status == Status::EvidenceAccepted => {
            Ok(Some(Status::InProgress))
        }
        DecisionOutcome::Reopen if matches!(status, Status::Closed | Status::Embedded) => {
            Ok(Some(Status::Reopened))
        }
        DecisionOutcome::Return | DecisionOutcome::Reopen => Err(format!(
            "a {} does not fit an action that is {status}",
            outcome.label().to_ascii_lowercase()
        )),
        DecisionOutcome::Extend => Ok(None),
    }
}

/// What `actor` may do on `action` now, on `today`.
pub fn offers(actor: Actor<'_>, action: &ActionView, today: Date) -> Offers {
    let status = action.status();
    let owner = actor.owns(action);
    let may = |log| may_append(actor, log, action);
    // Whether the lifecycle lets `actor` move the action to `to` (the
    // evidence, decision and re-audit conditions are the step's own).
    let moves_to = |to: Status| {
        next_statuses(actor.role, actor.user, status, action.owner.as_ref()).contains(&to)
    };
    let mut decisions: Vec<DecisionOutcome> = if may(Log::Decisions) {
        DecisionOutcome::ALL
            .iter()
            .copied()
            .filter(|&o| matches!(decision_effect(o, status), Ok(Some(to)) if moves_to(to)))
            .collect()
    } else {
        Vec::new()
    };
    // An extension is recorded where the forum takes a decision at all.
    if !decisions.is_empty() {
        decisions.push(DecisionOutcome::Extend);
    }
    let reaudit_to = |passed: bool| match (passed, status) {
        (true, Status::Closed) => moves_to(Status::Embedded),
        (false, Status::Closed | Status::Embedded) => moves_to(Status::Reopened),
        _ => false,
    };
    Offers {
        evidence: may(Log::Evidence),
        review: awaits_validation(status, &actor.rules) && may(Log::EvidenceReviews),
        decisions,
        request: owner && status.is_open_for_delivery() && may(Log::DueChanges),
        answer: actor.is(&[Role::Lead, Role::Admin])
            && crate::access::in_portfolio(actor, action)
            && may(Log::DueChanges)
            && (action.due_requests.iter().any(|r| r.answer.is_none())
                || action.wording_requests.iter().any(|r| r.answer.is_none())),
        wording: owner && status != Status::Draft && may(Log::DueChanges),
        reaudit: may(Log::Sustainment)
            && actor.role == Role::Validator
            && !owner
            && (reaudit_to(true) || reaudit_to(false))
            && action
                .sustainment_checks
                .iter()
                .any(|c| c.result.is_none() && today >= actor.rules.reaudit_opens(c.due)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::check_change;
    use crate::changes::diff_action_views;
    use crate::plan::{ActionField, NewAction};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::Transact;

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    /// Runs `step` as `who` and checks every change it made against the
    /// access rules, as the server does.
    fn step(
        plan: &PlanDoc,
        id: &ActionId,
        who: Who<'_>,
        step: impl FnOnce(&mut TransactionMut) -> Result<(), WriteError>,
    ) {
        let before = plan.read_action(&plan.doc().transact(), id);
        {
            let mut txn = plan.doc().transact_mut();
            step(&mut txn).unwrap();
        }
        let after = plan.read_action(&plan.doc().transact(), id);
        for change in diff_action_views(id, before.as_ref(), after.as_ref()) {
            let actor = Actor {
                user: who.user,
                role: who.role,
                rules: crate::lifecycle::Governance::DEFAULT,
            };
            if let crate::changes::Change::Appended(a, log, indexes) = &change {
                for index in indexes {
                    let single = crate::changes::Change::Appended(a.clone(), *log, vec![*index]);
                    check_change(actor, &single, before.as_ref(), after.as_ref())
                        .unwrap_or_else(|e| panic!("{single:?} as {}: {e}", who.user));
                }
            } else {
                check_change(actor, &change, before.as_ref(), after.as_ref())
                    .unwrap_or_else(|e| panic!("{change:?} as {}: {e}", who.user));
            }
        }
    }

    /// The action both tests start from, owned by `owner`.
    fn door_closers(owner: &UserId) -> NewAction {
        NewAction {
            reference: "MD001".into(),
            title: "Door closers".into(),
            description: String::new(),
            finding_ids: vec![],
            workstream_id: None,
            phase_id: None,
            exec_lead: "chief.nurse".into(),
            owner: Some(owner.clone()),
            due: Date::parse_iso("2026-12-31").ok(),
            confidence: None,
            closure_criteria: String::new(),
        }
    }

    /// Whether the server would keep what `f` writes as `who`: the step
    /// succeeds, every change passes the rules, and every new status
    /// change takes effect in the fold.
    fn kept(
        state: &[u8],
        id: &ActionId,
        who: Who<'_>,
        f: impl FnOnce(&PlanDoc, &mut TransactionMut) -> Result<(), WriteError>,
    ) -> bool {
        use yrs::updates::decoder::Decode;
        let plan = PlanDoc::new(crate::doc::new_doc());
        plan.doc()
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(state).unwrap())
            .unwrap();
        let before = plan.read_action(&plan.doc().transact(), id);
        let written = {
            let mut txn = plan.doc().transact_mut();
            f(&plan, &mut txn)
        };
        if written.is_err() {
            return false;
        }
        let after = plan.read_action(&plan.doc().transact(), id);
        let actor = Actor {
            user: who.user,
            role: who.role,
            rules: crate::lifecycle::Governance::DEFAULT,
        };
        let rules = diff_action_views(id, before.as_ref(), after.as_ref())
            .into_iter()
            .all(|change| match &change {
                crate::changes::Change::Appended(a, log, indexes) => indexes.iter().all(|i| {
                    let one = crate::changes::Change::Appended(a.clone(), *log, vec![*i]);
                    check_change(actor, &one, before.as_ref(), after.as_ref()).is_ok()
                }),
                _ => check_change(actor, &change, before.as_ref(), after.as_ref()).is_ok(),
            });
        let (Some(before), Some(after)) = (before, after) else {
            return false;
        };
        let applied = |v: &ActionView| {
            v.fold
                .steps
                .iter()
                .filter(|s| matches!(s, crate::lifecycle::Step::Applied { .. }))
                .count()
        };
        let new_transitions = after.transitions.len() - before.transitions.len();
        // And what the programme's settings ask of a new status change.
        let governed = (before.transitions.len()..after.transitions.len()).all(|index| {
            crate::access::check_governance(&actor.rules, &after, Log::Transitions, index).is_ok()
        });
        rules && governed && applied(&after) == applied(&before) + new_transitions
    }

    /// A note of evidence, "Audit", by `owner`.
    fn audit_note(id: &str, owner: &UserId) -> LogEntry {
        LogEntry::Evidence(Evidence {
            id: EntryId::new(id).unwrap(),
            kind: EvidenceKind::Note,
            title: "Audit".into(),
            location: String::new(),
            evidence_type: None,
            period_from: None,
            period_to: None,
            site: String::new(),
            piece: None,
            by: owner.clone(),
            at: UnixMillis(1),
        })
    }

    /// Takes a new action to `status` the way it happens: an import's
    /// baseline where one leads there, then the steps of the lifecycle
    /// (by people other than the test's actors) with the decisions and
    /// re-audits they use up.
    fn reach(
        plan: &PlanDoc,
        txn: &mut TransactionMut,
        id: &ActionId,
        status: Status,
        owner: &UserId,
        import: &UserId,
    ) {
        let (validator, forum) = (user("val"), user("forum"));
        let entry = |to: Status, by: &UserId, role: Role, baseline: bool| {
            LogEntry::Transition(Transition {
                to,
                by: by.clone(),
                role,
                at: UnixMillis(1),
                note: "why".into(),
                baseline,
            })
        };
        let path: &[Status] = match status {
            Status::Draft => &[],
            Status::CompletionProposed => &[Status::InProgress, Status::CompletionProposed],
            Status::Endorsed => &[
                Status::InProgress,
                Status::CompletionProposed,
                Status::Endorsed,
            ],
            Status::EvidenceAccepted => &[
                Status::InProgress,
                Status::CompletionProposed,
                Status::EvidenceAccepted,
            ],
            Status::Closed => &[
                Status::InProgress,
                Status::CompletionProposed,
                Status::EvidenceAccepted,
                Status::Closed,
            ],
            Status::Embedded => &[
                Status::InProgress,
                Status::CompletionProposed,
                Status::EvidenceAccepted,
                Status::Closed,
                Status::Embedded,
            ],
            Status::Agreed => &[Status::Agreed],
            Status::InProgress => &[Status::InProgress],
            Status::Reopened => &[Status::Reopened],
            // An imported "Closed" is a claim: it lands on imported.
            Status::Imported => &[Status::Closed],
        };
        for (n, &to) in path.iter().enumerate() {
            let step = if n == 0 {
                entry(to, import, Role::Admin, true)
            } else {
                match to {
                    Status::CompletionProposed => entry(to, owner, Role::Contributor, false),
                    Status::Endorsed => entry(to, &user("lead"), Role::Lead, false),
                    Status::EvidenceAccepted | Status::Embedded => {
                        entry(to, &validator, Role::Validator, false)
                    }
                    _ => entry(to, &forum, Role::Approver, false),
                }
            };
            if to == Status::Endorsed {
                plan.append(txn, id, &audit_note("e-endorsed", owner))
                    .unwrap();
            }
            if to == Status::EvidenceAccepted {
                // What acceptance needs: a piece of evidence accepted, and
                // an assurance level.
                let evidence = EntryId::new("e-used").unwrap();
                plan.append(txn, id, &audit_note("e-used", owner)).unwrap();
                plan.append(
                    txn,
                    id,
                    &LogEntry::EvidenceReview(EvidenceReview {
                        id: EntryId::new("r-used").unwrap(),
                        evidence_id: evidence,
                        verdict: EvidenceVerdict::Accepted,
                        assurance: Some(Assurance::Reasonable),
                        note: String::new(),
                        by: validator.clone(),
                        at: UnixMillis(1),
                    }),
                )
                .unwrap();
                plan.set_action_field(
                    txn,
                    id,
                    &ActionField::Assurance(Some(Assurance::Reasonable)),
                )
                .unwrap();
            }
            if to == Status::Closed && n > 0 {
                plan.append(
                    txn,
                    id,
                    &LogEntry::Decision(Decision {
                        id: EntryId::new("d-used").unwrap(),
                        forum: "QSC".into(),
                        meeting_date: Date::parse_iso("2026-01-01").unwrap(),
                        outcome: DecisionOutcome::ApproveClosure,
                        minute_ref: String::new(),
                        note: String::new(),
                        by: forum.clone(),
                        at: UnixMillis(1),
                        meeting: None,
                    }),
                )
                .unwrap();
            }
            if to == Status::Embedded {
                let check = EntryId::new("s-used").unwrap();
                for entry in [
                    Sustainment::Scheduled {
                        id: check.clone(),
                        due: Date::parse_iso("2026-04-01").unwrap(),
                        by: forum.clone(),
                        at: UnixMillis(1),
                    },
                    Sustainment::Result {
                        id: EntryId::new("c-used").unwrap(),
                        check_id: check,
                        outcome: CheckOutcome::Passed,
                        note: String::new(),
                        method: Some(crate::vocab::ReauditMethod::RecordsAudit),
                        sample: "10 records".into(),
                        by: validator.clone(),
                        at: UnixMillis(1),
                    },
                ] {
                    plan.append(txn, id, &LogEntry::Sustainment(entry)).unwrap();
                }
            }
            plan.append(txn, id, &step).unwrap();
        }
    }

    /// For every role, owning the action or not, and every status an
    /// action can be in (with evidence attached, a due-date request waiting
    /// and a re-audit scheduled), each governance step is offered exactly
    /// when the server would keep it.
    #[test]
    fn what_is_offered_is_exactly_what_the_rules_keep() {
        use yrs::ReadTxn;
        let id = ActionId::new("a-1").unwrap();
        let (me, other, import) = (user("me"), user("other"), user("import"));
        let at = UnixMillis(1_790_000_000_000);
        let mut checked = 0;
        for status in Status::ALL.iter().copied() {
            for i_own_it in [true, false] {
                let owner = if i_own_it { &me } else { &other };
                let plan = PlanDoc::new(crate::doc::new_doc());
                let (evidence_id, request_id, check_id) = {
                    let mut txn = plan.doc().transact_mut();
                    plan.add_action(&mut txn, &id, &door_closers(owner))
                        .unwrap();
                    reach(&plan, &mut txn, &id, status, owner, &import);
                    let as_owner = Who {
                        user: owner,
                        role: Role::Contributor,
                        at: UnixMillis(2),
                    };
                    let evidence = attach_evidence(
                        &plan,
                        &mut txn,
                        &id,
                        &as_owner,
                        &EvidenceInput::new(
                            EvidenceKind::Link,
                            "Audit",
                            "https://example.nhs.uk/audit",
                        ),
                        1,
                    )
                    .unwrap();
                    let request = request_due_change(
                        &plan,
                        &mut txn,
                        &id,
                        &as_owner,
                        Date::parse_iso("2027-03-31").unwrap(),
                        "estates",
                        2,
                    )
                    .unwrap();
                    let check = new_entry_id("s", &as_owner, 3);
                    plan.append(
                        &mut txn,
                        &id,
                        &LogEntry::Sustainment(Sustainment::Scheduled {
                            id: check.clone(),
                            // Open now: due within the re-audit window.
                            due: UnixMillis(at.0 + 7 * 86_400_000).date(),
                            by: import.clone(),
                            at: UnixMillis(3),
                        }),
                    )
                    .unwrap();
                    (evidence, request, check)
                };
                let state = plan
                    .doc()
                    .transact()
                    .encode_state_as_update_v1(&yrs::StateVector::default());
                let view = plan.read_action(&plan.doc().transact(), &id).unwrap();
                assert_eq!(view.status(), status);
                for role in Role::ALL.iter().copied() {
                    let who = Who {
                        user: &me,
                        role,
                        at,
                    };
                    let offered = offers(
                        Actor {
                            user: &me,
                            role,
                            rules: crate::lifecycle::Governance::DEFAULT,
                        },
                        &view,
                        at.date(),
                    );
                    let case = format!("{role:?} on a {status:?} action, owner: {i_own_it}");
                    let evidence = kept(&state, &id, who, |plan, txn| {
                        attach_evidence(
                            plan,
                            txn,
                            &id,
                            &who,
                            &EvidenceInput::new(
                                EvidenceKind::Link,
                                "More",
                                "https://example.nhs.uk/more",
                            ),
                            9,
                        )
                        .map(|_| ())
                    });
                    assert_eq!(offered.evidence, evidence, "evidence: {case}");
                    let review = kept(&state, &id, who, |plan, txn| {
                        review_evidence(
                            plan,
                            txn,
                            &id,
                            &who,
                            &evidence_id,
                            EvidenceVerdict::Accepted,
                            "fine",
                            true,
                            Some(Assurance::Reasonable),
                            &Governance::DEFAULT,
                            9,
                        )
                    });
                    // Reviewing is offered while the evidence awaits a
                    // validator (proposed and, with the programme's default
                    // settings, endorsed; or imported): the verdict then
                    // moves the status. The rules take a verdict at any time.
                    assert_eq!(
                        offered.review,
                        review && matches!(status, Status::Endorsed | Status::Imported),
                        "review: {case}"
                    );
                    for outcome in DecisionOutcome::ALL.iter().copied() {
                        let decided = kept(&state, &id, who, |plan, txn| {
                            record_decision(
                                plan,
                                txn,
                                &id,
                                &who,
                                &DecisionInput {
                                    forum: "Quality and Safety Committee",
                                    meeting_date: Date::parse_iso("2026-11-30").unwrap(),
                                    outcome,
                                    minute_ref: "QSC/26/11",
                                    note: "as minuted",
                                    reaudit_months: &DEFAULT_REAUDIT_MONTHS,
                                    meeting: None,
                                },
                                9,
                            )
                        });
                        let offered_here = offered.decisions.contains(&outcome);
                        if outcome == DecisionOutcome::Extend {
                            // An extension changes no status: offered with
                            // the forum's other decisions, and kept then.
                            assert!(!offered_here || decided, "extend: {case}");
                        } else {
                            assert_eq!(offered_here, decided, "{outcome:?}: {case}");
                        }
                    }
                    let request = kept(&state, &id, who, |plan, txn| {
                        request_due_change(
                            plan,
                            txn,
                            &id,
                            &who,
                            Date::parse_iso("2027-04-30").unwrap(),
                            "again",
                            9,
                        )
                        .map(|_| ())
                    });
                    // Asking is offered while the action is being delivered;
                    // the rules let an owner ask at any time.
                    assert!(!offered.request || request, "request: {case}");
                    assert_eq!(
                        offered.request,
                        request && status.is_open_for_delivery(),
                        "request: {case}"
                    );
                    let answer = kept(&state, &id, who, |plan, txn| {
                        answer_due_change(
                            plan,
                            txn,
                            &id,
                            &who,
                            &request_id,
                            DueChangeVerdict::Approved,
                            "agreed",
                            9,
                        )
                    });
                    assert_eq!(offered.answer, answer, "answer: {case}");
                    let wording = kept(&state, &id, who, |plan, txn| {
                        request_wording_change(
                            plan,
                            txn,
                            &id,
                            &who,
                            crate::keys::ActionText::Title,
                            "Door closers fitted on both wards",
                            "clearer for the committee",
                            9,
                        )
                        .map(|_| ())
                    });
                    assert_eq!(offered.wording, wording, "wording: {case}");
                    let reaudit = [CheckOutcome::Passed, CheckOutcome::Failed]
                        .into_iter()
                        .any(|outcome| {
                            kept(&state, &id, who, |plan, txn| {
                                record_reaudit(
                                    plan,
                                    txn,
                                    &id,
                                    &who,
                                    &ReauditInput {
                                        check_id: &check_id,
                                        outcome,
                                        method: Some(ReauditMethod::RecordsAudit),
                                        sample: "10 records",
                                        note: "found",
                                    },
                                    &Governance::DEFAULT,
                                    9,
                                )
                            })
                        });
                    // A result is offered on a closed or embedded action,
                    // where it moves the status.
                    assert_eq!(
                        offered.reaudit,
                        reaudit && matches!(status, Status::Closed | Status::Embedded),
                        "re-audit: {case}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, Status::ALL.len() * 2 * Role::ALL.len());
    }

    #[test]
    fn an_action_goes_from_in_progress_to_embedded_within_the_rules() {
        let plan = PlanDoc::new(crate::doc::new_doc());
        let id = ActionId::new("a-md001").unwrap();
        let (owner, validator, chair, lead) = (
            user("d.hughes"),
            user("compliance"),
            user("qsc.chair"),
            user("chief.nurse"),
        );
        {
            let mut txn = plan.doc().transact_mut();
            plan.add_action(&mut txn, &id, &door_closers(&owner))
                .unwrap();
            plan.set_action_field(&mut txn, &id, &ActionField::Owner(Some(owner.clone())))
                .unwrap();
            for (to, role, by) in [
                (Status::Agreed, Role::Lead, &lead),
                (Status::InProgress, Role::Contributor, &owner),
            ] {
                plan.append(
                    &mut txn,
                    &id,
                    &LogEntry::Transition(Transition {
                        to,
                        by: by.clone(),
                        role,
                        at: UnixMillis(1),
                        note: String::new(),
                        baseline: false,
                    }),
                )
                .unwrap();
            }
        }
        let at = UnixMillis(1_790_000_000_000);
        let as_owner = Who {
            user: &owner,
            role: Role::Contributor,
            at,
        };
        let as_validator = Who {
            user: &validator,
            role: Role::Validator,
            at,
        };
        let as_chair = Who {
            user: &chair,
            role: Role::Approver,
            at,
        };
        let as_lead = Who {
            user: &lead,
            role: Role::Lead,
            at,
        };

        let mut evidence = None;
        step(&plan, &id, as_owner, |txn| {
            assert!(
                propose_completion(&plan, txn, &id, &as_owner, "").is_err(),
                "no evidence yet"
            );
            evidence = Some(attach_evidence(
                &plan,
                txn,
                &id,
                &as_owner,
                &EvidenceInput::new(
                    EvidenceKind::File,
                    "Photo of the fitted closer",
                    &"a".repeat(64),
                ),
                1,
            )?);
            propose_completion(&plan, txn, &id, &as_owner, "Fitted on both wards")
        });
        let request = plan.read_action(&plan.doc().transact(), &id).unwrap();
        assert_eq!(request.status(), Status::CompletionProposed);

        step(&plan, &id, as_owner, |txn| {
            request_due_change(
                &plan,
                txn,
                &id,
                &as_owner,
                Date::parse_iso("2027-02-28").unwrap(),
                "Estates delay",
                2,
            )
            .map(|_| ())
        });
        let request_id = plan
            .read_action(&plan.doc().transact(), &id)
            .unwrap()
            .due_requests[0]
            .id
            .clone();
        step(&plan, &id, as_lead, |txn| {
            answer_due_change(
                &plan,
                txn,
                &id,
                &as_lead,
                &request_id,
                DueChangeVerdict::Approved,
                "",
                3,
            )
        });
        let view = plan.read_action(&plan.doc().transact(), &id).unwrap();
        assert_eq!(view.due_current, Date::parse_iso("2027-02-28").ok());
        assert_eq!(
            view.due_original,
            Date::parse_iso("2026-12-31").ok(),
            "the original is kept"
        );

        // The programme asks the executive lead to endorse the completion
        // before a validator decides on it.
        {
            let mut txn = plan.doc().transact_mut();
            let early = review_evidence(
                &plan,
                &mut txn,
                &id,
                &as_validator,
                evidence.as_ref().unwrap(),
                EvidenceVerdict::Accepted,
                "Seen on site",
                true,
                Some(Assurance::Substantial),
                &Governance::DEFAULT,
                4,
            );
            assert_eq!(
                early,
                Err(invalid(Refusal::NotEndorsed.to_string())),
                "not before the lead's endorsement"
            );
        }
        step(&plan, &id, as_lead, |txn| {
            plan.append(txn, &id, &transition(&as_lead, Status::Endorsed, ""))
        });
        step(&plan, &id, as_validator, |txn| {
            review_evidence(
                &plan,
                txn,
                &id,
                &as_validator,
                evidence.as_ref().unwrap(),
                EvidenceVerdict::Accepted,
                "Seen on site",
                true,
                Some(Assurance::Substantial),
                &Governance::DEFAULT,
                4,
            )
        });
        assert_eq!(
            plan.read_action(&plan.doc().transact(), &id)
                .unwrap()
                .status(),
            Status::EvidenceAccepted
        );

        let meeting = Date::parse_iso("2026-11-12").unwrap();
        step(&plan, &id, as_chair, |txn| {
            record_decision(
                &plan,
                txn,
                &id,
                &as_chair,
                &DecisionInput {
                    forum: "Quality and Safety Committee",
                    meeting_date: meeting,
                    outcome: DecisionOutcome::ApproveClosure,
                    minute_ref: "QSC/26/114",
                    note: "",
                    reaudit_months: &DEFAULT_REAUDIT_MONTHS,
                    meeting: None,
                },
                5,
            )
        });
        let view = plan.read_action(&plan.doc().transact(), &id).unwrap();
        assert_eq!(view.status(), Status::Closed);
        let dues: Vec<Date> = view.sustainment_checks.iter().map(|c| c.due).collect();
        assert_eq!(dues, [meeting.add_months(3), meeting.add_months(6)]);

        // A re-audit cannot be done on the day of closure: it opens
        // shortly before it is due (issue 15).
        let first = view.sustainment_checks[0].id.clone();
        {
            let mut txn = plan.doc().transact_mut();
            let too_early = record_reaudit(
                &plan,
                &mut txn,
                &id,
                &as_validator,
                &ReauditInput {
                    check_id: &first,
                    outcome: CheckOutcome::Passed,
                    method: Some(ReauditMethod::RecordsAudit),
                    sample: "10 records",
                    note: "",
                },
                &Governance::DEFAULT,
                6,
            );
            assert!(
                matches!(&too_early, Err(WriteError::Malformed(m)) if m.contains("opens on")),
                "{too_early:?}"
            );
        }
        let on = |due: Date| Who {
            user: &validator,
            role: Role::Validator,
            at: UnixMillis(due.unix_millis() + 10 * 3_600_000),
        };
        step(&plan, &id, on(dues[0]), |txn| {
            record_reaudit(
                &plan,
                txn,
                &id,
                &on(dues[0]),
                &ReauditInput {
                    check_id: &first,
                    outcome: CheckOutcome::Passed,
                    method: Some(ReauditMethod::RecordsAudit),
                    sample: "10 records",
                    note: "10 of 10 doors closing",
                },
                &Governance::DEFAULT,
                6,
            )
        });
        // The first of two passing embeds nothing: the last one decides.
        assert_eq!(
            plan.read_action(&plan.doc().transact(), &id)
                .unwrap()
                .status(),
            Status::Closed
        );

        let second = view.sustainment_checks[1].id.clone();
        {
            let mut txn = plan.doc().transact_mut();
            assert!(record_reaudit(
                &plan,
                &mut txn,
                &id,
                &on(dues[1]),
                &ReauditInput {
                    check_id: &second,
                    outcome: CheckOutcome::Failed,
                    method: Some(ReauditMethod::RecordsAudit),
                    sample: "10 records",
                    note: ""
                },
                &Governance::DEFAULT,
                7
            )
            .is_err());
        }
        step(&plan, &id, on(dues[1]), |txn| {
            record_reaudit(
                &plan,
                txn,
                &id,
                &on(dues[1]),
                &ReauditInput {
                    check_id: &second,
                    outcome: CheckOutcome::Passed,
                    method: Some(ReauditMethod::RecordsAudit),
                    sample: "10 records",
                    note: "Still 10 of 10 six months on",
                },
                &Governance::DEFAULT,
                8,
            )
        });
        let view = plan.read_action(&plan.doc().transact(), &id).unwrap();
        assert_eq!(view.status(), Status::Embedded);
    }

    #[test]
    fn decisions_must_fit_the_status() {
        let plan = PlanDoc::new(crate::doc::new_doc());
        let id = ActionId::new("a-1").unwrap();
        let chair = user("chair");
        let who = Who {
            user: &chair,
            role: Role::Approver,
            at: UnixMillis(5),
        };
        let mut txn = plan.doc().transact_mut();
        plan.add_action(
            &mut txn,
            &id,
            &NewAction {
                reference: "A1".into(),
                title: String::new(),
                description: String::new(),
                finding_ids: vec![],
                workstream_id: None,
                phase_id: None,
                exec_lead: String::new(),
                owner: None,
                due: None,
                confidence: None,
                closure_criteria: String::new(),
            },
        )
        .unwrap();
        let input = DecisionInput {
            forum: "Board",
            meeting_date: Date::parse_iso("2026-11-01").unwrap(),
            outcome: DecisionOutcome::ApproveClosure,
            minute_ref: "",
            note: "",
            reaudit_months: &[],
            meeting: None,
        };
        assert!(record_decision(&plan, &mut txn, &id, &who, &input, 1).is_err());
        let extend = DecisionInput {
            outcome: DecisionOutcome::Extend,
            ..input
        };
        assert!(record_decision(&plan, &mut txn, &id, &who, &extend, 2).is_ok());
    }
}
