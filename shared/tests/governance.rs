//! A programme's governance settings, as the server applies them to each
//! member's update (issue 15): the executive lead's endorsement between a
//! proposed completion and its validation, only inside the lead's
//! portfolio; re-audits that open the programme's number of days before
//! they are due and record their method and sample; and "embedded" only
//! after the programme's schedule of re-audits. Each through the real
//! admission (`decide` then `integrate`), as a member's device sends it.

#![cfg(not(target_arch = "wasm32"))]
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plait_shared::admission::schema::DocShape;
use plait_shared::admission::{decide, integrate, Author, ItemIndex, Limits, Verdict};
use plait_shared::workflow::{self, EvidenceInput, ReauditInput, Who};
use plait_shared::{
    new_doc_with_client_id, ActionId, ActionView, Assurance, CheckOutcome, Date, Decision,
    DecisionOutcome, EntryId, EvidenceKind, EvidenceReview, EvidenceVerdict, Governance, LogEntry,
    NewAction, PlanDoc, ReauditMethod, Role, Status, Sustainment, Transition, UnixMillis, UserId,
};
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

const NOW: UnixMillis = UnixMillis(1_780_000_000_000);
const DAY: i64 = 86_400_000;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn id() -> ActionId {
    ActionId::new("md001-1").unwrap()
}

/// The server's copy of one plan, with one action owned by `ward.manager`
/// in the portfolio of `chief.nurse`, taken by trusted writes to `status`.
struct Server {
    doc: Doc,
    plan: PlanDoc,
    index: ItemIndex,
    next_client: u64,
}

fn t(to: Status, by: &str, role: Role, at: UnixMillis) -> LogEntry {
    LogEntry::Transition(Transition {
        to,
        by: user(by),
        role,
        at,
        note: "as minuted".into(),
        baseline: false,
    })
}

impl Server {
    fn new(status: Status) -> Server {
        let doc = new_doc_with_client_id(1);
        let plan = PlanDoc::new(doc.clone());
        {
            let mut txn = doc.transact_mut();
            plan.add_action(
                &mut txn,
                &id(),
                &NewAction {
                    reference: "MD001.1".into(),
                    title: "Fix the door closers".into(),
                    description: String::new(),
                    finding_ids: vec![],
                    workstream_id: None,
                    phase_id: None,
                    exec_lead: "chief.nurse".into(),
                    owner: Some(user("ward.manager")),
                    due: Some(Date::parse_iso("2026-12-31").unwrap()),
                    confidence: None,
                    closure_criteria: String::new(),
                },
            )
            .unwrap();
            let early = UnixMillis(NOW.0 - 300 * DAY);
            plan.set_created(&mut txn, &id(), early).unwrap();
            let mut entries = vec![
                t(Status::Agreed, "chief.nurse", Role::Lead, early),
                t(Status::InProgress, "ward.manager", Role::Contributor, early),
            ];
            if status != Status::InProgress {
                entries.push(LogEntry::Evidence(plait_shared::Evidence {
                    id: EntryId::new("e-1").unwrap(),
                    kind: EvidenceKind::Note,
                    title: "Audit of every door closer".into(),
                    location: String::new(),
                    evidence_type: Some(plait_shared::EvidenceType::AuditResult),
                    period_from: None,
                    period_to: None,
                    site: "Ward 3".into(),
                    piece: None,
                    by: user("ward.manager"),
                    at: early,
                }));
                entries.push(t(
                    Status::CompletionProposed,
                    "ward.manager",
                    Role::Contributor,
                    early,
                ));
            }
            if status == Status::Closed {
                entries.extend([
                    t(Status::Endorsed, "chief.nurse", Role::Lead, early),
                    LogEntry::EvidenceReview(EvidenceReview {
                        id: EntryId::new("r-1").unwrap(),
                        evidence_id: EntryId::new("e-1").unwrap(),
                        verdict: EvidenceVerdict::Accepted,
                        assurance: Some(Assurance::Reasonable),
                        note: String::new(),
                        by: user("compliance"),
                        at: early,
                    }),
                    t(
                        Status::EvidenceAccepted,
                        "compliance",
                        Role::Validator,
                        early,
                    ),
                    LogEntry::Decision(Decision {
                        id: EntryId::new("d-1").unwrap(),
                        forum: "Quality and Safety Committee".into(),
                        meeting_date: early.date(),
                        outcome: DecisionOutcome::ApproveClosure,
                        minute_ref: "QSC/26/1".into(),
                        note: String::new(),
                        by: user("qsc.chair"),
                        at: early,
                        meeting: None,
                    }),
                    t(Status::Closed, "qsc.chair", Role::Approver, early),
                ]);
            }
            for entry in &entries {
                plan.append(&mut txn, &id(), entry).unwrap();
            }
        }
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let index = ItemIndex::from_state(DocShape::Plan, &state).unwrap();
        Server {
            doc,
            plan,
            index,
            next_client: 100,
        }
    }

    fn action(&self) -> ActionView {
        self.plan.read_action(&self.doc.transact(), &id()).unwrap()
    }

    /// Schedules re-audits due on `dues` (one closure's: written together).
    fn schedule(&self, dues: &[Date]) {
        let mut txn = self.doc.transact_mut();
        for (n, due) in dues.iter().enumerate() {
            self.plan
                .append(
                    &mut txn,
                    &id(),
                    &LogEntry::Sustainment(Sustainment::Scheduled {
                        id: EntryId::new(format!("s-{n}")).unwrap(),
                        due: *due,
                        by: user("qsc.chair"),
                        at: UnixMillis(NOW.0 - 200 * DAY),
                    }),
                )
                .unwrap();
        }
    }

    /// What `write` does on `from`'s device, sent to the server under
    /// `rules`: what was refused, in words.
    fn send(
        &mut self,
        from: &str,
        role: Role,
        rules: Governance,
        write: impl FnOnce(&PlanDoc, &mut yrs::TransactionMut, &Who<'_>),
    ) -> Vec<String> {
        // The server's index follows what trusted writes added since.
        let state = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        self.index = ItemIndex::from_state(DocShape::Plan, &state).unwrap();
        self.next_client += 1;
        let device = new_doc_with_client_id(self.next_client);
        device
            .transact_mut()
            .apply_update(Update::decode_v1(&state).unwrap())
            .unwrap();
        let plan = PlanDoc::new(device.clone());
        let sv = device.transact().state_vector();
        let who_name = user(from);
        let who = Who {
            user: &who_name,
            role,
            at: NOW,
        };
        {
            let mut txn = device.transact_mut();
            write(&plan, &mut txn, &who);
        }
        let bytes = device.transact().encode_state_as_update_v1(&sv);
        let author = Author::Member {
            user: &who_name,
            role,
            rules,
        };
        match decide(&self.index, &self.doc, author, &bytes, 0, &Limits::DEFAULT).unwrap() {
            Verdict::Admit(admitted) => {
                let outcome = integrate(
                    &self.doc,
                    &mut self.index,
                    admitted,
                    author,
                    NOW,
                    &Limits::DEFAULT,
                )
                .unwrap();
                outcome.refused.iter().map(|r| r.reason.clone()).collect()
            }
            Verdict::Known => Vec::new(),
            other => panic!("not admitted: {other:?}"),
        }
    }
}

fn append(entry: LogEntry) -> impl FnOnce(&PlanDoc, &mut yrs::TransactionMut, &Who<'_>) {
    move |plan, txn, _| plan.append(txn, &id(), &entry).unwrap()
}

/// A validator's acceptance as a hostile device would write it: the
/// verdict and the status change, straight into the logs.
fn accept(plan: &PlanDoc, txn: &mut yrs::TransactionMut, who: &Who<'_>) {
    plan.append(
        txn,
        &id(),
        &LogEntry::EvidenceReview(EvidenceReview {
            id: EntryId::new("r-accept").unwrap(),
            evidence_id: EntryId::new("e-1").unwrap(),
            verdict: EvidenceVerdict::Accepted,
            assurance: Some(Assurance::Substantial),
            note: String::new(),
            by: who.user.clone(),
            at: who.at,
        }),
    )
    .unwrap();
    plan.append(
        txn,
        &id(),
        &t(
            Status::EvidenceAccepted,
            who.user.as_str(),
            who.role,
            who.at,
        ),
    )
    .unwrap();
}

const OFF: Governance = Governance {
    endorsement: false,
    ..Governance::DEFAULT
};

#[test]
fn a_completion_is_endorsed_by_its_own_executive_lead_before_validation() {
    let mut server = Server::new(Status::CompletionProposed);
    // The shared step refuses to decide before the endorsement.
    let refused = server.send(
        "compliance",
        Role::Validator,
        Governance::DEFAULT,
        |plan, txn, who| {
            let early = workflow::review_evidence(
                plan,
                txn,
                &id(),
                who,
                &EntryId::new("e-1").unwrap(),
                EvidenceVerdict::Accepted,
                "",
                true,
                Some(Assurance::Reasonable),
                &Governance::DEFAULT,
                1,
            );
            assert!(early.is_err(), "the step says the lead endorses first");
        },
    );
    assert!(refused.is_empty());
    // Written by hand, the server refuses the status change.
    let refused = server.send("compliance", Role::Validator, Governance::DEFAULT, accept);
    assert_eq!(server.action().status(), Status::CompletionProposed);
    assert!(
        refused
            .iter()
            .any(|r| r.contains("endorses the completion")),
        "{refused:?}"
    );
    // Another executive's endorsement: outside their portfolio.
    let refused = server.send(
        "director.people",
        Role::Lead,
        Governance::DEFAULT,
        append(t(Status::Endorsed, "director.people", Role::Lead, NOW)),
    );
    assert!(
        refused.iter().any(|r| r.contains("not in your portfolio")),
        "{refused:?}"
    );
    assert_eq!(server.action().status(), Status::CompletionProposed);
    // The owner cannot endorse their own completion either.
    let refused = server.send(
        "ward.manager",
        Role::Contributor,
        Governance::DEFAULT,
        append(t(Status::Endorsed, "ward.manager", Role::Contributor, NOW)),
    );
    assert!(!refused.is_empty());
    // The action's own lead endorses; then the validator decides.
    let refused = server.send(
        "chief.nurse",
        Role::Lead,
        Governance::DEFAULT,
        append(t(Status::Endorsed, "chief.nurse", Role::Lead, NOW)),
    );
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(server.action().status(), Status::Endorsed);
    let refused = server.send(
        "compliance",
        Role::Validator,
        Governance::DEFAULT,
        |plan, txn, who| {
            workflow::review_evidence(
                plan,
                txn,
                &id(),
                who,
                &EntryId::new("e-1").unwrap(),
                EvidenceVerdict::Accepted,
                "Seen on the ward",
                true,
                Some(Assurance::Reasonable),
                &Governance::DEFAULT,
                2,
            )
            .unwrap();
        },
    );
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(server.action().status(), Status::EvidenceAccepted);
}

#[test]
fn a_lead_may_send_a_completion_back_with_a_reason() {
    let mut server = Server::new(Status::CompletionProposed);
    let mut back = t(Status::InProgress, "chief.nurse", Role::Lead, NOW);
    if let LogEntry::Transition(t) = &mut back {
        t.note = "  ".into();
    }
    let refused = server.send(
        "chief.nurse",
        Role::Lead,
        Governance::DEFAULT,
        append(back.clone()),
    );
    assert!(refused.iter().any(|r| r.contains("reason")), "{refused:?}");
    if let LogEntry::Transition(t) = &mut back {
        t.note = "The audit covers one ward of three".into();
    }
    let refused = server.send("chief.nurse", Role::Lead, Governance::DEFAULT, append(back));
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(server.action().status(), Status::InProgress);
}

#[test]
fn a_programme_without_endorsement_validates_a_proposal_directly() {
    let mut server = Server::new(Status::CompletionProposed);
    let refused = server.send("compliance", Role::Validator, OFF, accept);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(server.action().status(), Status::EvidenceAccepted);
}

fn reaudit(
    check: &'static str,
    method: Option<ReauditMethod>,
    sample: &'static str,
) -> impl FnOnce(&PlanDoc, &mut yrs::TransactionMut, &Who<'_>) {
    move |plan, txn, who| {
        plan.append(
            txn,
            &id(),
            &LogEntry::Sustainment(Sustainment::Result {
                id: EntryId::new(format!("c-{check}")).unwrap(),
                check_id: EntryId::new(check).unwrap(),
                outcome: CheckOutcome::Passed,
                note: String::new(),
                method,
                sample: sample.into(),
                by: who.user.clone(),
                at: who.at,
            }),
        )
        .unwrap();
    }
}

#[test]
fn a_reaudit_opens_in_the_programmes_window_with_its_method_and_sample() {
    let mut server = Server::new(Status::Closed);
    let in_twenty_days = UnixMillis(NOW.0 + 20 * DAY).date();
    server.schedule(&[in_twenty_days]);
    // Fourteen days by default: twenty days early is too early.
    let refused = server.send(
        "compliance",
        Role::Validator,
        Governance::DEFAULT,
        reaudit("s-0", Some(ReauditMethod::RecordsAudit), "20 records"),
    );
    assert!(
        refused.iter().any(|r| r.contains("opens on")),
        "{refused:?}"
    );
    // A programme that opens re-audits thirty days before: open, but only
    // with how it was done and what it looked at.
    let wide = Governance {
        reaudit_window_days: 30,
        ..Governance::DEFAULT
    };
    let refused = server.send(
        "compliance",
        Role::Validator,
        wide,
        reaudit("s-0", None, ""),
    );
    assert!(refused.iter().any(|r| r.contains("method")), "{refused:?}");
    let refused = server.send(
        "compliance",
        Role::Validator,
        wide,
        reaudit("s-0", Some(ReauditMethod::Observation), "  "),
    );
    assert!(refused.iter().any(|r| r.contains("sample")), "{refused:?}");
    let refused = server.send(
        "compliance",
        Role::Validator,
        wide,
        reaudit("s-0", Some(ReauditMethod::Observation), "Ward 3, 12 bays"),
    );
    assert!(refused.is_empty(), "{refused:?}");
    let check = &server.action().sustainment_checks[0];
    assert!(matches!(check.result, Some((CheckOutcome::Passed, ..))));
    assert_eq!(
        wide.reaudit_opens(in_twenty_days),
        UnixMillis(NOW.0 - 10 * DAY).date()
    );
}

#[test]
fn embedded_needs_the_programmes_schedule_of_reaudits() {
    // One re-audit a month after the meeting: short of the default
    // schedule (two, the last six months on).
    let mut server = Server::new(Status::Closed);
    let meeting = UnixMillis(NOW.0 - 300 * DAY).date();
    server.schedule(&[meeting.add_months(1)]);
    // A pass and the embedding, written by hand.
    let embed = || {
        |plan: &PlanDoc, txn: &mut yrs::TransactionMut, who: &Who<'_>| {
            reaudit("s-0", Some(ReauditMethod::RecordsAudit), "20 records")(plan, txn, who);
            plan.append(
                txn,
                &id(),
                &t(Status::Embedded, who.user.as_str(), who.role, who.at),
            )
            .unwrap();
        }
    };
    let refused = server.send("compliance", Role::Validator, Governance::DEFAULT, embed());
    assert!(
        refused
            .iter()
            .any(|r| r.contains("embeds a change after 2 re-audit")),
        "{refused:?}"
    );
    assert_eq!(server.action().status(), Status::Closed);
    // The shared step records the pass and leaves the status closed.
    let mut server = Server::new(Status::Closed);
    server.schedule(&[meeting.add_months(1)]);
    let refused = server.send(
        "compliance",
        Role::Validator,
        Governance::DEFAULT,
        |plan, txn, who| {
            workflow::record_reaudit(
                plan,
                txn,
                &id(),
                who,
                &ReauditInput {
                    check_id: &EntryId::new("s-0").unwrap(),
                    outcome: CheckOutcome::Passed,
                    method: Some(ReauditMethod::RecordsAudit),
                    sample: "20 records",
                    note: "",
                },
                &Governance::DEFAULT,
                3,
            )
            .unwrap();
        },
    );
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(server.action().status(), Status::Closed);
    // A programme that re-audits once, a month on: embedded.
    let once = Governance {
        reaudit_count: 1,
        reaudit_spacing_months: 1,
        ..Governance::DEFAULT
    };
    let mut server = Server::new(Status::Closed);
    server.schedule(&[meeting.add_months(1)]);
    let refused = server.send("compliance", Role::Validator, once, embed());
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(server.action().status(), Status::Embedded);
}

#[test]
fn one_piece_of_evidence_serves_several_actions() {
    let server = Server::new(Status::InProgress);
    let other = ActionId::new("md001-2").unwrap();
    let mut txn = server.doc.transact_mut();
    server
        .plan
        .add_action(
            &mut txn,
            &other,
            &NewAction {
                reference: "MD001.2".into(),
                title: "Audit the door closers".into(),
                description: String::new(),
                finding_ids: vec![],
                workstream_id: None,
                phase_id: None,
                exec_lead: "chief.nurse".into(),
                owner: Some(user("ward.manager")),
                due: None,
                confidence: None,
                closure_criteria: String::new(),
            },
        )
        .unwrap();
    let owner = user("ward.manager");
    let who = Who {
        user: &owner,
        role: Role::Contributor,
        at: NOW,
    };
    let input = EvidenceInput {
        evidence_type: Some(plait_shared::EvidenceType::AuditResult),
        period: (
            Date::parse_iso("2026-06-01").ok(),
            Date::parse_iso("2026-06-30").ok(),
        ),
        site: "Ward 3",
        ..EvidenceInput::new(EvidenceKind::Note, "June door audit", "")
    };
    let piece = workflow::attach_to_several(
        &server.plan,
        &mut txn,
        &[id(), other.clone()],
        &who,
        &input,
        7,
    )
    .unwrap();
    let backwards = EvidenceInput {
        period: (
            Date::parse_iso("2026-06-30").ok(),
            Date::parse_iso("2026-06-01").ok(),
        ),
        ..input.clone()
    };
    assert!(workflow::attach_evidence(&server.plan, &mut txn, &id(), &who, &backwards, 8).is_err());
    assert!(workflow::attach_to_several(&server.plan, &mut txn, &[id()], &who, &input, 9).is_err());
    for action in [id(), other] {
        let view = server.plan.read_action(&txn, &action).unwrap();
        let e = view.evidence.last().unwrap();
        assert_eq!(e.piece.as_ref(), Some(&piece));
        assert_eq!(e.site, "Ward 3");
        assert_eq!(e.period_to, Date::parse_iso("2026-06-30").ok());
    }
}
