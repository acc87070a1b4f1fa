//! The weekly digest's contents (issue 20) on the realistic fixture: each
//! person's digest is My work's lists with the digest's window for their
//! own actions (the next 14 days, or overdue), each item carrying only
//! the reference, a short title, the due date, Plait's own words and a
//! link; nobody's free text.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use plait_shared::digest::{digest_for, Digest, MOST_PER_LIST, TITLE_CHARS};
use plait_shared::import::{parse_csv, ImportPlan};
use plait_shared::work::{work_for, Horizon, WorkList};
use plait_shared::{
    new_doc, Date, DocId, Governance, LogEntry, PlanDoc, PlanView, ProgressUpdate, Role, Status,
    UnixMillis, UserId,
};
use yrs::Transact;

const FIXTURE: &[u8] = include_bytes!("../../fixtures/nsft-style-action-plan.csv");

/// An account name for a tracker's name: "B. Okafor" → "b.okafor".
fn account(name: &str) -> String {
    name.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The fixture imported into programme `nsft`, owners and leads as
/// accounts, plus a date request and a progress update whose words must
/// never reach an e-mail.
fn fixture(today: Date) -> (DocId, Vec<(DocId, PlanView)>) {
    let mut parsed = parse_csv(FIXTURE);
    assert!(parsed.is_clean());
    parsed.assign_owners(|name| UserId::new(account(name)).ok());
    for row in &mut parsed.rows {
        row.action.exec_lead = account(&row.action.exec_lead);
    }
    let programme = DocId::new("nsft").unwrap();
    let plan = ImportPlan::new(&programme, &parsed.rows).unwrap();
    let importer = UserId::new("programme.office").unwrap();
    let mut plans = Vec::new();
    let mut asked = false;
    for planned in &plan.plans {
        let doc = PlanDoc::new(new_doc());
        let mut txn = doc.doc().transact_mut();
        ImportPlan::write_plan(
            planned,
            &doc,
            &mut txn,
            &importer,
            UnixMillis(1_650_000_000_000),
        )
        .unwrap();
        let view = doc.read(&txn);
        // The first action in progress: its owner asks for a new date,
        // and writes an update, both naming a patient.
        if !asked {
            if let Some(action) = view.actions.values().find(|a| {
                a.status() == Status::InProgress && a.owner.is_some() && !a.exec_lead.is_empty()
            }) {
                asked = true;
                let owner = action.owner.clone().unwrap();
                let who = plait_shared::workflow::Who {
                    user: &owner,
                    role: Role::Contributor,
                    at: UnixMillis(today.unix_millis()),
                };
                plait_shared::workflow::request_due_change(
                    &doc,
                    &mut txn,
                    &action.id,
                    &who,
                    today.add_months(2),
                    "Patient Jane Doe, NHS number 943 476 5919, was moved",
                    7,
                )
                .unwrap();
                doc.append(
                    &mut txn,
                    &action.id,
                    &LogEntry::Progress(ProgressUpdate {
                        id: plait_shared::EntryId::new("u-secret").unwrap(),
                        text: "Jane Doe's care plan is done".into(),
                        by: owner.clone(),
                        at: UnixMillis(today.unix_millis()),
                        confidence: None,
                    }),
                )
                .unwrap();
            }
        }
        drop(txn);
        plans.push((planned.doc_id.clone(), doc.read(&doc.doc().transact())));
    }
    assert!(asked, "the fixture has an action in progress");
    (programme, plans)
}

/// Every person the fixture names, with the role the demo gives them.
fn people(plans: &[(DocId, PlanView)]) -> Vec<(String, Role)> {
    let mut out = std::collections::BTreeMap::new();
    for (_, view) in plans {
        for action in view.actions.values() {
            if let Some(owner) = &action.owner {
                out.insert(owner.as_str().to_owned(), Role::Contributor);
            }
            out.insert(action.exec_lead.clone(), Role::Lead);
        }
    }
    out.insert("programme.office".into(), Role::Admin);
    out.insert("compliance".into(), Role::Validator);
    out.insert("qsc.chair".into(), Role::Approver);
    out.insert("board".into(), Role::Viewer);
    out.into_iter().collect()
}

fn all_text(digest: &Digest) -> String {
    format!("{digest:?}")
}

#[test]
fn each_persons_own_actions_are_those_due_in_the_next_14_days_or_overdue() {
    let today = Date::from_ymd(2022, 6, 20).unwrap();
    let (programme, plans) = fixture(today);
    let mut owners_with_items = 0;
    for (user, role) in people(&plans) {
        let digest = digest_for(&programme, &user, role, Governance::DEFAULT, &plans, today);
        let own: Vec<&str> = digest
            .sections
            .iter()
            .filter(|s| s.list == WorkList::Own)
            .flat_map(|s| s.items.iter().map(|i| i.reference.as_str()))
            .collect();
        // Counted straight from the plans: their open actions due by 4 July.
        let mut expected: Vec<(Date, String)> = plans
            .iter()
            .flat_map(|(_, v)| v.actions.values())
            .filter(|a| a.owner.as_ref().is_some_and(|o| o.as_str() == user))
            .filter(|a| a.status().is_open_for_delivery())
            .filter_map(|a| {
                a.due_current
                    .filter(|d| *d <= Date::from_ymd(2022, 7, 4).unwrap())
                    .map(|d| (d, a.reference.clone()))
            })
            .collect();
        expected.sort();
        let expected: Vec<&str> = expected
            .iter()
            .take(MOST_PER_LIST)
            .map(|(_, r)| r.as_str())
            .collect();
        assert_eq!(own, expected, "{user}");
        if !own.is_empty() {
            owners_with_items += 1;
        }
    }
    assert!(owners_with_items >= 5, "{owners_with_items}");
}

#[test]
fn the_digest_says_what_my_work_says() {
    let today = Date::from_ymd(2022, 6, 20).unwrap();
    let (programme, plans) = fixture(today);
    for (user, role) in people(&plans) {
        let digest = digest_for(&programme, &user, role, Governance::DEFAULT, &plans, today);
        let page = work_for(
            &user,
            role,
            Governance::DEFAULT,
            &plans,
            today,
            Horizon::my_work(today),
        );
        for (list, tasks) in page {
            // Only the window of their own actions and re-audits differs.
            if matches!(list, WorkList::Own | WorkList::Reaudits) {
                continue;
            }
            let section = digest.sections.iter().find(|s| s.list == list);
            let listed: Vec<(String, String)> = section
                .map(|s| {
                    s.items
                        .iter()
                        .map(|i| (i.reference.clone(), i.path.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let expected: Vec<(String, String)> = tasks
                .iter()
                .take(MOST_PER_LIST)
                .map(|t| {
                    (
                        t.action.reference.clone(),
                        format!("/p/nsft/actions/{}/{}", t.plan, t.action.id),
                    )
                })
                .collect();
            assert_eq!(listed, expected, "{user}: {}", list.heading());
            assert_eq!(
                section.map_or(0, |s| s.more),
                tasks.len().saturating_sub(MOST_PER_LIST)
            );
        }
    }
    // A lead hears of the date asked, in Plait's words.
    let leads: Vec<Digest> = people(&plans)
        .into_iter()
        .filter(|(_, r)| *r == Role::Lead)
        .map(|(u, r)| digest_for(&programme, &u, r, Governance::DEFAULT, &plans, today))
        .collect();
    let asked: Vec<_> = leads
        .iter()
        .flat_map(|d| d.sections.iter())
        .filter(|s| s.list == WorkList::Answers)
        .flat_map(|s| s.items.iter())
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].note, "New date 20 Aug 2022 asked");
    assert_eq!(asked[0].due, Date::from_ymd(2022, 8, 20).ok());
}

#[test]
fn nothing_anyone_wrote_reaches_a_digest_and_titles_are_short() {
    let today = Date::from_ymd(2022, 6, 20).unwrap();
    let (programme, plans) = fixture(today);
    let mut items = 0;
    for (user, role) in people(&plans) {
        let digest = digest_for(&programme, &user, role, Governance::DEFAULT, &plans, today);
        let text = all_text(&digest);
        assert!(!text.contains("Jane Doe"), "{user}: {text}");
        assert!(!text.contains("943 476"), "{user}");
        for item in digest.sections.iter().flat_map(|s| &s.items) {
            items += 1;
            assert!(item.title.chars().count() <= TITLE_CHARS, "{item:?}");
            assert!(!item.title.contains('\n'));
            assert!(item.path.starts_with("/p/nsft/actions/nsft_"), "{item:?}");
        }
    }
    assert!(items > 50, "{items}");
    // Long titles are cut, and say so.
    let long = plans
        .iter()
        .flat_map(|(_, v)| v.actions.values())
        .any(|a| a.title.chars().count() > TITLE_CHARS);
    assert!(long, "the fixture has long titles");
}

#[test]
fn a_digest_with_nothing_in_it_is_empty() {
    let today = Date::from_ymd(2022, 6, 20).unwrap();
    let (programme, plans) = fixture(today);
    let board = digest_for(
        &programme,
        "board",
        Role::Viewer,
        Governance::DEFAULT,
        &plans,
        today,
    );
    assert!(board.is_empty());
    assert_eq!(board.count(), 0);
    let nobody = digest_for(
        &programme,
        "b.okafor",
        Role::Contributor,
        Governance::DEFAULT,
        &[],
        today,
    );
    assert!(nobody.is_empty());
}

#[test]
fn own_progress_updates_are_due_each_month() {
    let today = Date::from_ymd(2022, 6, 20).unwrap();
    let (programme, plans) = fixture(today);
    // The owner who wrote an update this month has none due for that action.
    let updated: Vec<_> = plans
        .iter()
        .flat_map(|(_, v)| v.actions.values())
        .filter(|a| a.updates.iter().any(|u| u.text.contains("Jane Doe")))
        .collect();
    assert_eq!(updated.len(), 1);
    let owner = updated[0].owner.clone().unwrap();
    let digest = digest_for(
        &programme,
        owner.as_str(),
        Role::Contributor,
        Governance::DEFAULT,
        &plans,
        today,
    );
    let updates = digest
        .sections
        .iter()
        .find(|s| s.list == WorkList::Updates)
        .expect("their other actions in progress need an update");
    assert!(updates
        .items
        .iter()
        .all(|i| i.reference != updated[0].reference));
    assert!(updates
        .items
        .iter()
        .all(|i| i.due == Date::from_ymd(2022, 6, 30).ok()));
}
