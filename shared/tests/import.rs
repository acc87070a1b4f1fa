//! The CSV import, on the realistic fixture (172 requirements, 338 actions)
//! and on broken rows,
//! and the programme metrics of the imported plan, checked against counts
//! taken by hand from the fixture.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use plait_shared::import::{parse_csv, parse_csv_with, reference_stem, Column, ImportPlan};
use plait_shared::metrics::{labelled, named};
use plait_shared::Group;
use plait_shared::{
    new_doc, Colour, Date, DocId, FindingKind, KeyQuestion, PlanDoc, ProgrammeDoc,
    ProgrammeMetrics, Regulation, Status, UnixMillis, UserId,
};
use yrs::Transact;

const FIXTURE: &[u8] = include_bytes!("../../fixtures/nsft-style-action-plan.csv");

struct Imported {
    programme: ProgrammeDoc,
    plans: Vec<(DocId, PlanDoc)>,
}

fn import(csv: &[u8]) -> Imported {
    let parsed = parse_csv(csv);
    assert!(parsed.is_clean(), "unexpected errors: {:#?}", parsed.errors);
    let programme_id = DocId::new("nsft").unwrap();
    let plan = ImportPlan::new(&programme_id, &parsed.rows).unwrap();
    let programme = ProgrammeDoc::new(new_doc());
    plan.write_programme(&programme, &mut programme.doc().transact_mut());
    let importer = UserId::new("programme.manager").unwrap();
    let plans = plan
        .plans
        .iter()
        .map(|planned| {
            let doc = PlanDoc::new(new_doc());
            let mut txn = doc.doc().transact_mut();
            assert!(planned.conflicts(&doc, &txn).is_empty());
            ImportPlan::write_plan(
                planned,
                &doc,
                &mut txn,
                &importer,
                UnixMillis(1_700_000_000_000),
            )
            .unwrap();
            drop(txn);
            (planned.doc_id.clone(), doc)
        })
        .collect();
    Imported { programme, plans }
}

fn metrics(imported: &Imported, today: Date) -> ProgrammeMetrics {
    let programme = imported
        .programme
        .read(&imported.programme.doc().transact());
    let views: Vec<_> = imported
        .plans
        .iter()
        .map(|(id, doc)| (id.clone(), doc.read(&doc.doc().transact())))
        .collect();
    ProgrammeMetrics::compute(&programme, &views, today)
}

#[test]
fn the_fixture_imports_every_row() {
    let parsed = parse_csv(FIXTURE);
    assert_eq!(parsed.errors, vec![]);
    assert_eq!(parsed.rows.len(), 338);
    assert_eq!(parsed.header_row, 1);
    assert!(
        parsed.ignored_columns.is_empty(),
        "{:?}",
        parsed.ignored_columns
    );
    let first = &parsed.rows[0];
    assert_eq!(first.row, 2);
    assert_eq!(first.finding.reference, "MD001.1");
    assert_eq!(first.finding.kind, FindingKind::MustDo);
    assert_eq!(
        first.finding.regulations,
        vec![Regulation::number(15).unwrap()]
    );
    assert_eq!(first.finding.key_question, Some(KeyQuestion::Safe));
    assert_eq!(first.owner_name, "B. Okafor");
    assert_eq!(first.action.owner, None, "a name is not an account");
    assert_eq!(first.action.due, Some(Date::from_ymd(2022, 6, 30).unwrap()));
    assert_eq!(first.status, Some(Status::InProgress));
    assert_eq!(first.workstream, "Environment and ligature safety");
    assert!(first.latest_update.starts_with("12/08/2022: Survey done"));
    // Twelve owners and six executive leads, by name.
    let people = parsed.people();
    assert_eq!(people.iter().filter(|p| p.1).count(), 12);
    assert_eq!(people.iter().filter(|p| p.2).count(), 6);
    // The warning notice's four failings, as "Section 29A".
    assert_eq!(
        parsed
            .rows
            .iter()
            .filter(|r| r.finding.kind == FindingKind::WarningNotice)
            .count(),
        12
    );
}

#[test]
fn the_fixture_metrics_match_counts_taken_by_hand() {
    let imported = import(FIXTURE);
    assert_eq!(imported.plans.len(), 8, "one plan per workstream");
    // Before any due date, so nothing is overdue.
    let m = metrics(&imported, Date::from_ymd(2022, 1, 1).unwrap());
    assert_eq!(m.all.total, 338);
    assert_eq!(m.by_kind[&Group::Of(FindingKind::MustDo)].total, 234);
    assert_eq!(m.by_kind[&Group::Of(FindingKind::ShouldDo)].total, 92);
    assert_eq!(m.by_kind[&Group::Of(FindingKind::WarningNotice)].total, 12);
    // The requirements themselves: none met, since nothing imported is
    // assured.
    let must = m.requirements[&Group::Of(FindingKind::MustDo)];
    assert_eq!((must.total, must.met, must.embedded), (108, 0, 0));
    assert_eq!(m.requirements[&Group::Of(FindingKind::ShouldDo)].total, 60);
    assert_eq!(
        m.requirements[&Group::Of(FindingKind::WarningNotice)].total,
        4
    );
    let status = |s: Status| m.all.by_status[&s];
    assert_eq!(status(Status::InProgress), 147);
    assert_eq!(
        status(Status::Agreed),
        51,
        "\"Not started\" is agreed, not started"
    );
    assert_eq!(status(Status::Reopened), 3);
    // Completion proposed (27), evidence accepted (25), closed (79) and
    // embedded (6) in the spreadsheet are claims nobody in Plait has
    // assured: imported, awaiting validation.
    assert_eq!(status(Status::Imported), 137);
    for assured in [
        Status::CompletionProposed,
        Status::EvidenceAccepted,
        Status::Closed,
        Status::Embedded,
        Status::Draft,
    ] {
        assert_eq!(status(assured), 0, "{assured:?}");
    }
    assert_eq!(
        m.by_workstream["Clinical records and care planning"].total,
        76
    );
    assert_eq!(m.by_workstream["Access and waiting times"].total, 32);
    assert_eq!(m.by_key_question[&Group::Of(KeyQuestion::Safe)].total, 186);
    assert_eq!(
        m.by_key_question[&Group::Of(KeyQuestion::WellLed)].total,
        39
    );
    assert_eq!(m.by_location["Walker Close"].total, 20);
    assert_eq!(
        m.by_core_service["Forensic inpatient or secure wards"].total,
        29
    );
    for group in [
        labelled(&m.by_kind),
        named(&m.by_workstream),
        labelled(&m.by_key_question),
        named(&m.by_core_service),
        named(&m.by_location),
    ] {
        assert_eq!(group.iter().map(|(_, c)| c.total).sum::<usize>(), 338);
    }
    assert_eq!(m.overdue, vec![]);
    // Nothing imported is blue or green before someone assures it.
    assert_eq!(m.all.by_colour.get(&Colour::Blue).copied().unwrap_or(0), 0);
    assert_eq!(
        m.all
            .by_colour
            .get(&Colour::BlueEmbedded)
            .copied()
            .unwrap_or(0),
        0
    );
}

/// Issue 14: a requirement split over MD001.1, MD001.2 and MD001.3 is one
/// finding with three actions, so "X of the 108 Must Dos" can be counted;
/// claimed closures get their re-audits; the latest update is kept.
#[test]
fn one_finding_per_requirement_with_its_actions() {
    let imported = import(FIXTURE);
    let views: Vec<_> = imported
        .plans
        .iter()
        .map(|(_, doc)| doc.read(&doc.doc().transact()))
        .collect();
    let findings: Vec<_> = views.iter().flat_map(|v| v.findings.values()).collect();
    assert_eq!(findings.len(), 172);
    let count = |kind| findings.iter().filter(|f| f.kind == kind).count();
    assert_eq!(count(Some(FindingKind::MustDo)), 108);
    assert_eq!(count(Some(FindingKind::ShouldDo)), 60);
    assert_eq!(count(Some(FindingKind::WarningNotice)), 4);
    let md001 = views
        .iter()
        .find_map(|v| v.findings.values().find(|f| f.reference == "MD001"))
        .expect("the requirement MD001");
    let answering: Vec<_> = views
        .iter()
        .flat_map(|v| v.actions.values())
        .filter(|a| a.finding_ids.contains(&md001.id))
        .map(|a| a.reference.as_str())
        .collect();
    assert_eq!(answering.len(), 3, "{answering:?}");
    let actions: Vec<_> = views.iter().flat_map(|v| v.actions.values()).collect();
    // Closed (79) and embedded (6) claims: two re-audits each, scheduled.
    let with_reaudits = actions
        .iter()
        .filter(|a| a.sustainment_checks.len() == 2)
        .count();
    assert_eq!(with_reaudits, 85);
    // 287 rows carry a latest update: each is the action's first note.
    assert_eq!(actions.iter().filter(|a| a.updates.len() == 1).count(), 287);
    assert_eq!(reference_stem("MD001.2"), "MD001");
    assert_eq!(reference_stem("WN01-3"), "WN01");
    assert_eq!(reference_stem("SD12"), "SD12");
    assert_eq!(reference_stem("1.1"), "1");
    assert_eq!(reference_stem(".1"), ".1");
}

#[test]
fn overdue_counts_only_open_actions_past_their_date() {
    let imported = import(FIXTURE);
    // Every fixture date is in 2022-04..2023-03; on 2024-01-01 every open
    // action (agreed, in progress, reopened) is overdue: 51 + 147 + 3.
    let m = metrics(&imported, Date::from_ymd(2024, 1, 1).unwrap());
    assert_eq!(m.all.overdue, 201);
    assert_eq!(m.overdue.len(), 201);
    assert_eq!(m.all.by_colour[&Colour::Red], 201);
    assert_eq!(
        m.all.by_colour[&Colour::Amber],
        137,
        "imported claims are amber, not green or blue"
    );
    assert!(m
        .overdue
        .windows(2)
        .all(|w| w[0].days_overdue >= w[1].days_overdue));
    // On the day after the earliest due date (2022-04-30) only those open
    // actions due that day are overdue.
    let m = metrics(&imported, Date::from_ymd(2022, 5, 1).unwrap());
    assert!(m
        .overdue
        .iter()
        .all(|o| o.due == Date::from_ymd(2022, 4, 30).unwrap()));
    assert!(m.overdue.iter().all(|o| o.days_overdue == 1));
    assert!(!m.overdue.is_empty());
}

fn errors_of(csv: &str) -> Vec<(usize, String, String)> {
    parse_csv(csv.as_bytes())
        .errors
        .into_iter()
        .map(|e| (e.row, e.column, e.reason))
        .collect()
}

const HEADER: &str = "Ref,Type,Regulation,Key question,Core service,Location,CQC requirement,Trust action,Workstream,Phase,Executive lead,Owner,Due date,Status,Confidence\n";

#[test]
fn every_bad_row_is_reported_with_row_column_and_reason() {
    let csv = format!(
        "{HEADER}\
MD001,Must Do,12,Safe,Wards,Site,Requirement,Action,WS,Phase 1,Chief Nurse,A. Owner,31/02/2023,In progress,On track\n\
MD002,Must Do,Reg 21,Safe,Wards,Site,Requirement,Action,WS,Phase 1,Chief Nurse,A. Owner,2023-01-01,,\n\
MD003,Must Do,12,Safe,Wards,Site,,Action,WS,Phase 1,Chief Nurse,A. Owner,2023-01-01,,\n\
MD001,Should Do,12,Safe,Wards,Site,Requirement,Action,WS,Phase 1,Chief Nurse,A. Owner,2023-01-01,,\n\
MD005,Could Do,12,Unsafe,Wards,Site,Requirement,,WS,Phase 1,Chief Nurse,A. Owner,tomorrow,Nearly done,Fine\n\
MD006,Should Do,,Caring,Wards,Site,Requirement,Action,WS,Phase 2,Chief Nurse,B. Owner,5 Mar 2023,Agreed,At risk\n"
    );
    let parsed = parse_csv(csv.as_bytes());
    let errors: Vec<_> = parsed
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(errors.len(), 10, "{errors:#?}");
    assert!(
        errors.contains(&(2, "Due date", "impossible date: \"31/02/2023\"")),
        "{errors:#?}"
    );
    assert!(errors
        .iter()
        .any(|e| e.0 == 3 && e.1 == "Regulation" && e.2.contains("Reg 21")));
    assert!(errors
        .iter()
        .any(|e| e.0 == 4 && e.1 == "CQC requirement" && e.2.contains("missing")));
    assert!(errors
        .iter()
        .any(|e| e.0 == 5 && e.1 == "Ref" && e.2.contains("first on row 2")));
    for column in [
        "Type",
        "Key question",
        "Trust action",
        "Due date",
        "Status",
        "Confidence",
    ] {
        assert!(
            errors.iter().any(|e| e.0 == 6 && e.1 == column),
            "row 6 {column}: {errors:#?}"
        );
    }
    // Only the good row is imported; nothing is guessed for the others.
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rows[0].finding.reference, "MD006");
    assert_eq!(
        parsed.rows[0].action.due,
        Some(Date::from_ymd(2023, 3, 5).unwrap())
    );
}

#[test]
fn header_spellings_date_formats_and_stray_whitespace_are_tolerated() {
    let csv = "\u{FEFF} reference , Finding Type ,REGULATIONS,Domain,Service,Site,Finding,Action required,Work stream,Phase,Exec lead,Action owner,Target date,Action status,Confidence,Notes\n\
  SD-1 ,  should do ,\"Reg 9, Regulation 17\", well led ,Wards, Ward A , Text ,  Do it  ,WS,P1,CN,  C. Owner ,28 April 2023,not started,on track,ignored\n\
SD-2,Warning notice,regulation 20A,responsive,Wards,Ward A,Text,Do it,WS,P1,CN,C. Owner,2023-04-28,,,\n\
SD-3,Requirement notice,12 and 13,Safe,Wards,Ward A,Text,Do it,WS,P1,CN,C. Owner,01/12/2023,Reopened,Off-track,\n";
    let parsed = parse_csv(csv.as_bytes());
    assert_eq!(parsed.errors, vec![]);
    assert_eq!(parsed.ignored_columns, vec!["Notes".to_owned()]);
    let [a, b, c] = parsed.rows.as_slice() else {
        panic!("three rows expected: {:?}", parsed.rows);
    };
    assert_eq!(a.finding.reference, "SD-1");
    assert_eq!(a.finding.kind, FindingKind::ShouldDo);
    assert_eq!(
        a.finding.regulations,
        vec![
            Regulation::number(9).unwrap(),
            Regulation::number(17).unwrap()
        ]
    );
    assert_eq!(a.finding.key_question, Some(KeyQuestion::WellLed));
    assert_eq!(a.finding.location, "Ward A");
    assert_eq!(a.action.title, "Do it");
    assert_eq!(a.action.due, Some(Date::from_ymd(2023, 4, 28).unwrap()));
    assert_eq!(a.status, Some(Status::Agreed));
    assert_eq!(b.finding.kind, FindingKind::WarningNotice);
    assert_eq!(b.finding.regulations, vec![Regulation::twenty_a()]);
    assert_eq!(b.status, None);
    assert_eq!(
        c.action.due,
        Some(Date::from_ymd(2023, 12, 1).unwrap()),
        "UK day-first"
    );
    assert_eq!(c.finding.regulations.len(), 2);
}

#[test]
fn a_file_without_required_columns_is_refused_whole() {
    let errors = errors_of("Ref,Type,Owner\nMD001,Must Do,A\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e.0 == 1));
    assert!(errors.iter().any(|e| e.1 == "CQC requirement"));
    assert!(errors.iter().any(|e| e.1 == "Trust action"));
    assert_eq!(errors_of("")[0].2, "the file is empty");
    let dup = errors_of("Ref,Reference,Type,Finding,Action\n");
    assert!(
        dup.iter().any(|e| e.0 == 1 && e.1 == "Reference"),
        "{dup:?}"
    );
}

#[test]
fn malformed_rows_and_bytes_are_reported_not_dropped() {
    let mut csv = b"Ref,Type,Finding,Action,Workstream\n".to_vec();
    csv.extend_from_slice(b"MD1,Must Do,Text,Act,WS,surplus cell\n");
    csv.extend_from_slice(b"MD2,Must Do,Caf\xe9 text,Act,WS\n");
    csv.extend_from_slice(b"MD3,Must Do,Text,Act,\n");
    csv.extend_from_slice(b"\n,,,,\n");
    csv.extend_from_slice(b"MD4,Must Do,\"quoted, with comma\nand a newline\",Act,WS\n");
    let parsed = parse_csv(&csv);
    let rows: Vec<_> = parsed
        .errors
        .iter()
        .map(|e| (e.row, e.column.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![(2, ""), (3, "Finding"), (4, "Workstream")],
        "{:#?}",
        parsed.errors
    );
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(
        parsed.rows[0].finding.text,
        "quoted, with comma\nand a newline"
    );
}

#[test]
fn importing_twice_into_the_same_plan_is_a_conflict() {
    let parsed = parse_csv(FIXTURE);
    let plan = ImportPlan::new(&DocId::new("nsft").unwrap(), &parsed.rows).unwrap();
    let planned = &plan.plans[0];
    let doc = PlanDoc::new(new_doc());
    let importer = UserId::new("pm").unwrap();
    let mut txn = doc.doc().transact_mut();
    ImportPlan::write_plan(planned, &doc, &mut txn, &importer, UnixMillis(0)).unwrap();
    let conflicts = planned.conflicts(&doc, &txn);
    assert_eq!(conflicts.len(), planned.items.len());
    assert_eq!(conflicts[0].row, planned.items[0].row);
    assert!(ImportPlan::write_plan(planned, &doc, &mut txn, &importer, UnixMillis(0)).is_err());
}

/// A tracker's RAG column holds the colour someone reported, not the
/// owner's confidence: with Red, Amber, Green and Blue in it, every row
/// used to be refused. It is kept as the reported colour (shown beside the
/// colour Plait derives), or left out by choice.
#[test]
fn a_rag_column_is_kept_as_the_reported_colour_not_confidence() {
    let csv =
        "Ref,Type,Reg,Key question,CQC requirement,Trust action,Workstream,Due date,Status,RAG\n\
MD1,Must Do,12,Safe,Keep it locked,Fit a lock,Estates,31/03/2027,In progress,Red\n\
MD2,Must Do,12,Safe,Keep it clean,Clean it,Estates,31/03/2027,Closed,Blue\n\
MD3,Should Do,17,Well-led,Audit it,Audit,Estates,31/03/2027,Not started,Amber\n";
    let parsed = parse_csv(csv.as_bytes());
    assert_eq!(parsed.errors, vec![]);
    assert_eq!(parsed.rows.len(), 3);
    assert!(parsed.ignored_columns.is_empty());
    assert!(parsed.rows.iter().all(|r| r.action.confidence.is_none()));
    let reported: Vec<_> = parsed.rows.iter().map(|r| r.reported_colour).collect();
    assert_eq!(
        reported,
        vec![Some(Colour::Red), Some(Colour::Blue), Some(Colour::Amber)]
    );
    // Written on the action; the derived colour is Plait's own.
    let plan = ImportPlan::new(&DocId::new("north").unwrap(), &parsed.rows).unwrap();
    let doc = PlanDoc::new(new_doc());
    ImportPlan::write_plan(
        &plan.plans[0],
        &doc,
        &mut doc.doc().transact_mut(),
        &UserId::new("pm").unwrap(),
        UnixMillis(1_700_000_000_000),
    )
    .unwrap();
    let view = doc.read(&doc.doc().transact());
    let md2 = view
        .actions
        .values()
        .find(|a| a.reference == "MD2")
        .unwrap();
    assert_eq!(md2.reported_colour, Some(Colour::Blue));
    assert_eq!(md2.status(), Status::Imported, "reported blue, not assured");
    // Left out by choice.
    let choices = [("RAG".to_owned(), None)].into_iter().collect();
    let parsed = parse_csv_with(csv.as_bytes(), &choices);
    assert_eq!(parsed.ignored_columns, vec!["RAG".to_owned()]);
    assert!(parsed.rows.iter().all(|r| r.reported_colour.is_none()));
    // Anything but a colour is a row error, not a guess.
    let bad =
        "Ref,Type,CQC requirement,Trust action,Workstream,RAG\nMD1,Must Do,x,y,Estates,Purple\n";
    let errors = parse_csv(bad.as_bytes()).errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column, "RAG");
}

/// Issue 14: a tracker as trusts keep it: a title block above the header, a
/// blank separator row, paragraph references, several regulations per
/// cell, s29A/s31/s64 and requirement notices, and a column chosen by hand.
#[test]
fn a_real_tracker_with_a_title_row_paragraphs_and_a_mapping() {
    let csv = "North Trust CQC improvement plan,,,,,,\n\
As at 15 August 2022,,,,,,\n\
,,,,,,\n\
No.,Category,Reg,Issue,What we will do,Lead director,Programme\n\
MD1.1,Must Do,\"Reg 12(2)(a), Regulation 17(1)\",Keep it safe,Fit locks,Chief Nurse,Estates\n\
,,,,,,\n\
MD1.2,Must Do,Reg 12(2)(b),Keep it safe,Audit locks,Chief Nurse,Estates\n\
WN1,S29A,Regulation 9A,Visiting,Open visiting,Chief Nurse,Estates\n\
C1,s31,Regulation 5,Directors,Check directors,Chief Executive,Estates\n\
I1,s64,7,Managers,Send the registered manager list,Chief Executive,Estates\n\
R1,Requirement notice,18,Staff,Recruit,Director of People,Estates\n";
    // "Programme" is not a workstream spelling: without a choice, every row
    // lacks a workstream.
    let guessed = parse_csv(csv.as_bytes());
    assert_eq!(guessed.header_row, 4, "the title block is skipped");
    assert!(
        guessed.errors.iter().all(|e| e.column == "Workstream"),
        "{:?}",
        guessed.errors
    );
    let choices = [("Programme".to_owned(), Some(Column::Workstream))]
        .into_iter()
        .collect();
    let parsed = parse_csv_with(csv.as_bytes(), &choices);
    assert_eq!(parsed.errors, vec![], "{:?}", parsed.errors);
    assert_eq!(parsed.rows.len(), 6);
    assert_eq!(parsed.rows[0].row, 5, "rows keep their spreadsheet numbers");
    assert_eq!(parsed.rows[1].row, 7);
    let keys: Vec<String> = parsed.rows[0]
        .finding
        .regulations
        .iter()
        .map(|r| r.key())
        .collect();
    assert_eq!(keys, vec!["12(2)(a)", "17(1)"]);
    let kinds: Vec<FindingKind> = parsed.rows.iter().map(|r| r.finding.kind).collect();
    assert_eq!(
        kinds,
        vec![
            FindingKind::MustDo,
            FindingKind::MustDo,
            FindingKind::WarningNotice,
            FindingKind::Section31,
            FindingKind::Section64,
            FindingKind::RequirementNotice
        ]
    );
    assert_eq!(parsed.rows[2].finding.regulations[0].key(), "9A");
    let used: Vec<_> = parsed
        .columns
        .iter()
        .map(|c| (c.header.as_str(), c.column, c.guessed))
        .collect();
    assert!(used.contains(&("Programme", Some(Column::Workstream), false)));
    assert!(used.contains(&("Issue", Some(Column::Requirement), true)));
    // The two MD1 rows are one finding citing both paragraphs of 12.
    let plan = ImportPlan::new(&DocId::new("north").unwrap(), &parsed.rows).unwrap();
    let findings = &plan.plans[0].findings;
    assert_eq!(findings.len(), 5);
    assert_eq!(findings[0].1.reference, "MD1");
    let keys: Vec<String> = findings[0].1.regulations.iter().map(|r| r.key()).collect();
    assert_eq!(keys, vec!["12(2)(a)", "17(1)", "12(2)(b)"]);
    // Leaving a column out by choice.
    let choices = [
        ("Programme".to_owned(), Some(Column::Workstream)),
        ("Lead director".to_owned(), None),
    ]
    .into_iter()
    .collect();
    let parsed = parse_csv_with(csv.as_bytes(), &choices);
    assert!(parsed.rows.iter().all(|r| r.action.exec_lead.is_empty()));
    assert_eq!(parsed.ignored_columns, vec!["Lead director".to_owned()]);
}

#[test]
fn the_tracker_day_is_its_newest_dated_update_and_never_later_than_now() {
    let parsed = parse_csv(FIXTURE);
    let day = |iso: &str| Date::parse_iso(iso).unwrap();
    assert_eq!(
        parsed.dated_as_at(day("2026-11-30")),
        Some(day("2022-08-12"))
    );
    // Updates dated after "today" do not count.
    assert_eq!(
        parsed.dated_as_at(day("2022-08-11")),
        Some(day("2022-08-11"))
    );
    assert_eq!(parsed.dated_as_at(day("2022-01-01")), None);
    // The statuses are recorded at the tracker's day's last moment, never
    // after now.
    let now = UnixMillis(day("2026-11-30").unix_millis());
    let moment = plait_shared::import::statuses_moment(Some(day("2022-08-12")), now);
    assert_eq!(moment.date(), day("2022-08-12"));
    assert_eq!(moment.0, day("2022-08-13").unix_millis() - 1);
    let today = plait_shared::import::statuses_moment(Some(day("2026-11-30")), now);
    assert_eq!(today, now);
    assert_eq!(plait_shared::import::statuses_moment(None, now), now);
}
