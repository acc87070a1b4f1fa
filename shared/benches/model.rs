//! Costs of the model: applying an update to a plan, folding a long
//! transition log, reading a plan and computing a programme's metrics.
//! `cargo bench -p plait-shared` (not part of the tests).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod native {
    use std::hint::black_box;

    use criterion::{criterion_group, BatchSize, Criterion};
    use plait_shared::{
        fold_status, new_doc, ActionField, ActionId, Confidence, Date, DocId, LogEntry, NewAction,
        PlanDoc, ProgrammeMetrics, ProgrammeView, Role, Status, Transition, UnixMillis, UserId,
    };
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, StateVector, Transact, Update};

    criterion_group!(benches, apply_update, admit_update, fold, read_and_metrics);

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    /// A plan of `n` actions, each with a few transitions.
    fn plan(n: usize) -> PlanDoc {
        let plan = PlanDoc::new(new_doc());
        let mut txn = plan.doc().transact_mut();
        let steps = [
            (Status::Agreed, "lead", Role::Lead),
            (Status::InProgress, "owner", Role::Contributor),
            (Status::CompletionProposed, "owner", Role::Contributor),
        ];
        for i in 0..n {
            let id = ActionId::new(format!("a-{i}")).unwrap();
            let action = NewAction {
                reference: format!("MD{i:03}"),
                title: format!("Action {i}: complete ligature risk assessments on every ward"),
                description: "Every ward completes and reviews its assessment.".into(),
                finding_ids: vec![],
                workstream_id: None,
                phase_id: None,
                exec_lead: "Chief Nurse".into(),
                owner: Some(user("owner")),
                due: Date::from_ymd(2024, 1 + (i % 12) as u8, 1).ok(),
                confidence: Some(
                    [
                        Confidence::OnTrack,
                        Confidence::AtRisk,
                        Confidence::OffTrack,
                    ][i % 3],
                ),
                closure_criteria: "Audit shows 100% completion.".into(),
            };
            plan.add_action(&mut txn, &id, &action).unwrap();
            for (to, by, role) in steps.iter().take(i % 4) {
                let t = Transition {
                    to: *to,
                    by: user(by),
                    role: *role,
                    at: UnixMillis(1_700_000_000_000 + i as i64),
                    note: String::new(),
                    baseline: false,
                };
                plan.append(&mut txn, &id, &LogEntry::Transition(t))
                    .unwrap();
            }
        }
        drop(txn);
        plan
    }

    /// The whole state of an `n`-action plan, and a client's edit of it
    /// (one action's confidence).
    fn one_field_edit(n: usize) -> (Vec<u8>, Vec<u8>) {
        let base = plan(n);
        let state = base
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let editor = PlanDoc::new(new_doc());
        editor
            .doc()
            .transact_mut()
            .apply_update(Update::decode_v1(&state).unwrap())
            .unwrap();
        let update = {
            let mut txn = editor.doc().transact_mut();
            let id = ActionId::new("a-42").unwrap();
            editor
                .set_action_field(
                    &mut txn,
                    &id,
                    &ActionField::Confidence(Some(Confidence::AtRisk)),
                )
                .unwrap();
            txn.encode_update_v1()
        };
        (state, update)
    }

    fn apply_update(c: &mut Criterion) {
        // A client's edit (one action's confidence) applied to the server's
        // copy of a 168-action plan: the per-update cost of a merge.
        let (state, update) = one_field_edit(168);
        c.bench_function("apply_update/one_field_into_168_action_plan", |b| {
            b.iter_batched(
                || {
                    let doc = new_doc();
                    doc.transact_mut()
                        .apply_update(Update::decode_v1(&state).unwrap())
                        .unwrap();
                    doc
                },
                |doc| {
                    let mut txn = doc.transact_mut();
                    txn.apply_update(Update::decode_v1(black_box(&update)).unwrap())
                        .unwrap();
                    drop(txn);
                    doc
                },
                BatchSize::SmallInput,
            );
        });
    }

    fn admit_update(c: &mut Criterion) {
        // The same edit, decided on and integrated as the server does
        // (`plait_shared::admission`): what checking costs on top of the
        // merge. And building the index once, when a document is loaded.
        use plait_shared::admission::schema::DocShape;
        use plait_shared::admission::{decide, integrate, Author, ItemIndex, Limits, Verdict};
        let (state, update) = one_field_edit(168);
        let index = ItemIndex::from_state(DocShape::Plan, &state).unwrap();
        let owner = user("owner");
        let author = Author::Member {
            user: &owner,
            role: Role::Contributor,
            rules: plait_shared::Governance::DEFAULT,
        };
        c.bench_function("admit_update/one_field_into_168_action_plan", |b| {
            b.iter_batched(
                || {
                    let doc = new_doc();
                    doc.transact_mut()
                        .apply_update(Update::decode_v1(&state).unwrap())
                        .unwrap();
                    (doc, index.clone())
                },
                |(doc, mut index)| {
                    let Verdict::Admit(admitted) = decide(
                        &index,
                        &doc,
                        author,
                        black_box(&update),
                        0,
                        &Limits::DEFAULT,
                    )
                    .unwrap() else {
                        panic!("the owner's edit is admitted")
                    };
                    let outcome = integrate(
                        &doc,
                        &mut index,
                        admitted,
                        author,
                        UnixMillis(1_800_000_000_000),
                        &Limits::DEFAULT,
                    )
                    .unwrap();
                    assert!(outcome.refused.is_empty());
                    (doc, index)
                },
                BatchSize::SmallInput,
            );
        });
        c.bench_function("admission_index/build_168_action_plan", |b| {
            b.iter(|| ItemIndex::from_state(DocShape::Plan, black_box(&state)).unwrap());
        });
    }

    fn fold(c: &mut Criterion) {
        // 1,000 transitions: the journey to closed, reopened, and again.
        let cycle = [
            (Status::InProgress, "owner", Role::Contributor),
            (Status::CompletionProposed, "owner", Role::Contributor),
            (Status::EvidenceAccepted, "validator", Role::Validator),
            (Status::Closed, "forum", Role::Approver),
            (Status::Reopened, "validator", Role::Validator),
        ];
        let mut log = vec![Transition {
            to: Status::Agreed,
            by: user("lead"),
            role: Role::Lead,
            at: UnixMillis(0),
            note: String::new(),
            baseline: false,
        }];
        for i in 0..999 {
            let (to, by, role) = cycle[i % cycle.len()];
            log.push(Transition {
                to,
                by: user(by),
                role,
                at: UnixMillis(i as i64 + 1),
                note: "failed re-audit".into(),
                baseline: false,
            });
        }
        let owner = user("owner");
        c.bench_function("fold_status/1000_transitions", |b| {
            b.iter(|| {
                fold_status(
                    black_box(&log),
                    &plait_shared::FoldFacts::evidenced(Some(&owner), 200, 200),
                )
            });
        });
    }

    fn read_and_metrics(c: &mut Criterion) {
        let plan = plan(500);
        c.bench_function("plan_read/500_actions", |b| {
            b.iter(|| plan.read(&plan.doc().transact()));
        });
        let view = plan.read(&plan.doc().transact());
        assert_eq!(view.actions.len(), 500);
        let plans = vec![(DocId::new("plan-1").unwrap(), view)];
        let programme = ProgrammeView::default();
        let today = Date::from_ymd(2024, 6, 1).unwrap();
        c.bench_function("metrics/500_actions", |b| {
            b.iter(|| ProgrammeMetrics::compute(&programme, black_box(&plans), today));
        });
    }
}
