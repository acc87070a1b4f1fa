//! The demo programme: the bundled tracker of a mental health trust's CQC
//! improvement plan (108 Must Do and 60 Should Do requirements and the 4
//! failings of a Section 29A warning notice, 338 actions, statuses as at
//! 15 August 2022), moved to the present and given the history a real
//! programme would have by its fifth month.
//!
//! Every date moves by the same whole number of months, chosen so that the
//! tracker's "as at" day falls in the last month up to today; the programme
//! launched five months before that. Each action is then taken to the
//! status the tracker gives it through the real workflow functions, by the
//! people whose roles allow each step (the executive lead agrees it, the
//! owner starts it and proposes it complete with evidence, the compliance
//! team accepts the evidence, the Quality and Safety Committee closes it,
//! re-audits embed or reopen it), dated across those months. The result is
//! checked: every action must fold to the tracker's status, or seeding
//! fails.

use std::collections::HashMap;

mod phase_two;

use plait_shared::import::{parse_csv, ImportPlan, ImportSummary, PlannedPlan};
use plait_shared::workflow::{
    attach_evidence, propose_completion, record_decision, record_reaudit, request_due_change,
    review_evidence, DecisionInput, EvidenceInput, ReauditInput, Who,
};
use plait_shared::{
    new_doc, ActionId, Assurance, CheckOutcome, Date, DecisionOutcome, DocId, EvidenceKind,
    EvidenceType, EvidenceVerdict, Governance, LogEntry, Phase, PhaseId, PlanDoc, ProgrammeDoc,
    ProgrammeInfo, ProgressUpdate, ReauditMethod, Role, Status, Transition, UnixMillis, UserId,
};
use yrs::{ReadTxn, StateVector, Transact, TransactionMut};

use crate::accounts::{AccountError, Accounts};
use crate::store::{DocStore, StoreError};

/// The demo programme's document id.
pub const PROGRAMME_ID: &str = "demo";

/// The demo accounts' shared password.
pub const PASSWORD: &str = "plait-demo";

/// The demo accounts printed at start, one per role: (user name, display
/// name, role). D. Hughes owns 18 of the bundled plan's actions.
pub const ACCOUNTS: [(&str, &str, Role); 6] = [
    ("programme.office", "Programme Office", Role::Admin),
    ("chief.nurse", "Chief Nurse", Role::Lead),
    ("d.hughes", "D. Hughes", Role::Contributor),
    ("compliance", "Compliance Team", Role::Validator),
    (
        "qsc.chair",
        "Quality and Safety Committee Chair",
        Role::Approver,
    ),
    ("board", "Board Member", Role::Viewer),
];

/// The demo's restraint rate, monthly: twelve months before the launch,
/// then the months since, falling as the restrictive practice actions land.
const DEMO_RESTRAINT: [&str; 18] = [
    "14.2", "15.1", "13.8", "14.9", "15.6", "14.0", "13.5", "15.2", "14.7", "13.9", "15.0", "14.4",
    "13.1", "12.4", "11.8", "11.0", "10.2", "9.6",
];

/// The other executive leads and action owners the tracker names, each
/// with an account (the same password) so that every action has someone
/// who can move it.
pub const PEOPLE: [(&str, &str, Role); 16] = [
    ("director.of.people", "Director of People", Role::Lead),
    (
        "director.of.finance",
        "Director of Finance and Estates",
        Role::Lead,
    ),
    (
        "director.of.governance",
        "Director of Governance",
        Role::Lead,
    ),
    (
        "chief.operating.officer",
        "Chief Operating Officer",
        Role::Lead,
    ),
    ("medical.director", "Medical Director", Role::Lead),
    ("a.patel", "A. Patel", Role::Contributor),
    ("b.okafor", "B. Okafor", Role::Contributor),
    ("c.nguyen", "C. Nguyen", Role::Contributor),
    ("e.kowalski", "E. Kowalski", Role::Contributor),
    ("f.ahmed", "F. Ahmed", Role::Contributor),
    ("g.murray", "G. Murray", Role::Contributor),
    ("h.lewis", "H. Lewis", Role::Contributor),
    ("i.doyle", "I. Doyle", Role::Contributor),
    ("j.campbell", "J. Campbell", Role::Contributor),
    ("k.osei", "K. Osei", Role::Contributor),
    ("l.brennan", "L. Brennan", Role::Contributor),
];

/// The committee that closes actions.
pub const FORUM: &str = "Quality and Safety Committee";

const FIXTURE: &[u8] = include_bytes!("../../fixtures/nsft-style-action-plan.csv");

/// The day the tracker's statuses are as at.
const AS_AT: (i32, u8, u8) = (2022, 8, 15);

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The bundled plan did not import, or its history did not lead where
    /// the tracker says (a bug in the bundle, the importer or the history).
    #[error("the bundled plan has errors: {0}")]
    Import(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An account could not be made.
    #[error(transparent)]
    Account(#[from] AccountError),
}

fn bug(e: impl std::fmt::Display) -> SeedError {
    SeedError::Import(e.to_string())
}

/// The demo's calendar: how far the tracker's dates move, its launch and
/// its "as at" day, for a demo seeded on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    /// Whole months every date moves by.
    pub months: u32,
    /// The tracker's "as at" day, moved: within the last month up to today.
    pub as_at: Date,
    /// The programme's launch, five months before `as_at`.
    pub launch: Date,
}

impl Calendar {
    /// The calendar for a demo seeded on `today` (not before 2022).
    pub fn on(today: Date) -> Calendar {
        let (year, month, day) = today.ymd();
        let (y0, m0, d0) = AS_AT;
        let mut months = (year - y0) * 12 + i32::from(month) - i32::from(m0);
        if day < d0 {
            months -= 1;
        }
        let months = u32::try_from(months.max(0)).unwrap_or(0);
        let fixture_as_at = Date::from_ymd(y0, m0, d0).unwrap_or(today);
        let as_at = fixture_as_at.add_months(months);
        let launch = Date::from_ymd(y0, m0 - 5, d0)
            .unwrap_or(today)
            .add_months(months);
        Calendar {
            months,
            as_at,
            launch,
        }
    }

    /// A tracker date, moved.
    pub fn shift(&self, date: Date) -> Date {
        date.add_months(self.months)
    }

    /// The dates written in a tracker's text ("12/08/2022", "September
    /// 2022"), moved.
    pub fn shift_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            // "30 June 2022"
            if let Some((date, len)) = long_date(rest) {
                let (y, m, d) = self.shift(date).ymd();
                out.push_str(&format!("{d} {} {y:04}", MONTHS[usize::from(m - 1)]));
                rest = &rest[len..];
                continue;
            }
            // dd/mm/yyyy
            if rest.len() >= 10 && rest.as_bytes()[2] == b'/' && rest.as_bytes()[5] == b'/' {
                if let Ok(date) = Date::parse_loose(&rest[..10]) {
                    let (y, m, d) = self.shift(date).ymd();
                    out.push_str(&format!("{d:02}/{m:02}/{y:04}"));
                    rest = &rest[10..];
                    continue;
                }
            }
            // "September 2022"
            if let Some((name, after)) = MONTHS
                .iter()
                .enumerate()
                .find_map(|(i, name)| rest.strip_prefix(name).map(|after| (i, after)))
            {
                if let Some(year) = after
                    .strip_prefix(' ')
                    .and_then(|a| a.get(..4))
                    .and_then(|y| y.parse::<i32>().ok())
                {
                    if let Ok(date) = Date::from_ymd(year, (name + 1) as u8, 1) {
                        let (y, m, _) = self.shift(date).ymd();
                        out.push_str(&format!("{} {y:04}", MONTHS[usize::from(m - 1)]));
                        rest = &after[5..];
                        continue;
                    }
                }
            }
            let next = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..next]);
            rest = &rest[next..];
        }
        out
    }
}

/// A date written "30 June 2022" at the start of `text`, and its length.
fn long_date(text: &str) -> Option<(Date, usize)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let day: u8 = text.get(..digits)?.parse().ok()?;
    let after = text.get(digits..)?.strip_prefix(' ')?;
    let (month, after) = MONTHS
        .iter()
        .enumerate()
        .find_map(|(i, name)| after.strip_prefix(name).map(|a| (i, a)))?;
    let year: i32 = after.strip_prefix(' ')?.get(..4)?.parse().ok()?;
    let date = Date::from_ymd(year, u8::try_from(month + 1).ok()?, day).ok()?;
    let len = text.len() - after.len() + 5;
    Some((date, len))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Seeds the demo accounts (those missing) and the demo programme unless it
/// is already stored, dated for today. Returns what was imported, or
/// `None` if it was there.
///
/// # Errors
/// [`SeedError`] when the import, its history or storage fails.
pub fn seed(store: &dyn DocStore, accounts: &Accounts) -> Result<Option<ImportSummary>, SeedError> {
    let now = UnixMillis(i64::try_from(crate::clock::now_millis()).unwrap_or(i64::MAX));
    seed_on(store, accounts, now.date())
}

/// [`seed`], as if today were `today`.
///
/// # Errors
/// [`SeedError`] when the import, its history or storage fails.
pub fn seed_on(
    store: &dyn DocStore,
    accounts: &Accounts,
    today: Date,
) -> Result<Option<ImportSummary>, SeedError> {
    let programme_id = DocId::new(PROGRAMME_ID).map_err(bug)?;
    let mut hashed = None;
    for (username, name, role) in ACCOUNTS.iter().chain(PEOPLE.iter()) {
        if accounts.user(username)?.is_some() {
            continue;
        }
        let hash = match &hashed {
            Some(hash) => hash,
            None => hashed.insert(accounts.hash_once(PASSWORD)?),
        };
        match accounts.add_user_hashed(username, name, hash) {
            Ok(_) => {
                accounts.grant(username, &programme_id, Some(*role))?;
            }
            Err(AccountError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if store.exists(&programme_id)? {
        store.flush()?;
        return Ok(None);
    }
    let calendar = Calendar::on(today);
    let mut parsed = parse_csv(FIXTURE);
    if let Some(first) = parsed.errors.first() {
        return Err(bug(first));
    }
    let people: HashMap<&str, UserId> = ACCOUNTS
        .iter()
        .chain(PEOPLE.iter())
        .filter_map(|(user, name, _)| Some((*name, UserId::new(*user).ok()?)))
        .collect();
    parsed.assign_owners(|name| people.get(name).cloned());
    // Each action sits in its executive lead's portfolio, by user name.
    for row in &mut parsed.rows {
        if let Some(user) = people.get(row.action.exec_lead.as_str()) {
            row.action.exec_lead = user.to_string();
        }
    }
    // The import carries only the plan; the statuses and updates come from
    // the history below.
    let mut targets = HashMap::new();
    for row in &mut parsed.rows {
        row.action.due = row.action.due.map(|due| calendar.shift(due));
        // CQC's wording dates its deadlines ("…, by 30 June 2022").
        row.finding.text = calendar.shift_text(&row.finding.text);
        row.finding.deadline = row.finding.deadline.map(|d| calendar.shift(d));
        targets.insert(
            row.action.reference.clone(),
            (
                row.status.take().unwrap_or(Status::Draft),
                calendar.shift_text(&std::mem::take(&mut row.latest_update)),
            ),
        );
    }
    let plan = ImportPlan::new(&programme_id, &parsed.rows).map_err(bug)?;
    let importer = UserId::new(ACCOUNTS[0].0).map_err(bug)?;
    let mut total = ImportSummary::default();
    // The committee's meetings that took the history's decisions.
    let mut meetings: std::collections::BTreeMap<Date, usize> = std::collections::BTreeMap::new();
    for planned in &plan.plans {
        let doc = PlanDoc::new(new_doc());
        {
            let mut txn = doc.doc().transact_mut();
            let summary =
                ImportPlan::write_plan(planned, &doc, &mut txn, &importer, at(calendar.launch, 9))
                    .map_err(bug)?;
            total.actions += summary.actions;
            total.findings += summary.findings;
            total.plans += summary.plans;
            history(
                &doc,
                &mut txn,
                planned,
                &targets,
                &people,
                &calendar,
                &mut meetings,
            )?;
        }
        check(&doc, planned, &targets)?;
        put(store, &planned.doc_id, &encode(doc.doc()))?;
        accounts.set_programme_of(&planned.doc_id, &programme_id)?;
    }
    // The programme last: its presence means the demo is complete.
    let programme = ProgrammeDoc::new(new_doc());
    {
        let mut txn = programme.doc().transact_mut();
        programme.set_info(
            &mut txn,
            &ProgrammeInfo {
                name: "Quality Improvement Programme (demo)".into(),
                trust: "A mental health NHS foundation trust".into(),
                rating: "Inadequate".into(),
                oversight_segment: "4 (Recovery Support Programme)".into(),
                // The report was published a month before the launch.
                report_date: Some(plus_days(calendar.launch, -31)),
                warning_notice: format!(
                    "Section 29A warning notice served {}: significant improvement needed in care planning, ligature risk management, staffing of the wards and governance, by {}.",
                    plus_days(calendar.launch, -45).long(),
                    calendar.launch.add_months(3).long()
                ),
            },
        );
        plan.write_programme(&programme, &mut txn);
        programme
            .set_governance(&mut txn, &DEMO_RULES)
            .map_err(bug)?;
        // (Each workstream's executive lead is their account already: the
        // rows carry user names.)
        // Its meetings: those that decided, and the next one, whose agenda
        // is what awaits the committee now.
        let next = next_meeting(plus_days(today.max(calendar.as_at), 1));
        meetings.entry(next).or_default();
        for (day, closures) in &meetings {
            // A meeting held is written up: its chair's report (so what
            // awaits the committee now is on its next meeting's agenda).
            let assure = if *day < next && *closures > 0 {
                format!(
                    "The committee approved the closure of {closures} action(s) whose evidence a validator had accepted. Each is re-audited on the programme's schedule before it counts as embedded."
                )
            } else {
                String::new()
            };
            programme.put_meeting(
                &mut txn,
                &meeting_id(*day)?,
                &plait_shared::Meeting {
                    forum_id: Some(plait_shared::ForumId::new("qsc").map_err(bug)?),
                    date: Some(*day),
                    alert: if *day < next {
                        "None.".into()
                    } else {
                        String::new()
                    },
                    assure,
                    ..plait_shared::Meeting::default()
                },
            );
        }
        // The Trust Board's next meeting, a week after the committee's,
        // with its paper drafted (the programme office issues it).
        let board_day = plus_days(next_meeting(plus_days(today.max(calendar.as_at), 1)), 7);
        let board_meeting =
            plait_shared::MeetingId::new(format!("board-{}", board_day.iso())).map_err(bug)?;
        programme.put_meeting(
            &mut txn,
            &board_meeting,
            &plait_shared::Meeting {
                forum_id: Some(plait_shared::ForumId::new("board").map_err(bug)?),
                date: Some(board_day),
                ..plait_shared::Meeting::default()
            },
        );
        programme.put_paper(
            &mut txn,
            &board_meeting,
            &plait_shared::Paper {
                agenda_item: "Item 9".into(),
                author: "Programme Office".into(),
                lead: "Chief Nurse".into(),
                purpose: "Assurance".into(),
                assurance: "Limited".into(),
                recommendation: "The Board is asked to note the progress against CQC's requirements and the warning notice, the exceptions and their recovery, and to take assurance from the closures the Quality and Safety Committee approved.".into(),
                risks: "BAF 1 (quality and safety of care); BAF 4 (regulatory compliance)".into(),
                ..plait_shared::Paper::default()
            },
        );
        for (id, name, remit) in [
            ("qsc", FORUM, plait_shared::Remit::Decides),
            ("board", "Trust Board", plait_shared::Remit::Receives),
            (
                "ipb",
                "Improvement Programme Board",
                plait_shared::Remit::Receives,
            ),
        ] {
            programme.put_forum(
                &mut txn,
                &plait_shared::ForumId::new(id).map_err(bug)?,
                &plait_shared::Forum {
                    name: name.into(),
                    remit,
                },
            );
        }
        let phases = [
            (
                "ph-phase-1",
                "Phase 1",
                calendar.launch,
                calendar.launch.add_months(12),
                "Deliver every Must Do and Should Do action and the Section 29A warning notice's improvements before CQC returns",
                "Every Must Do closed by the Quality and Safety Committee with evidence; the warning notice's failings met and re-audited",
            ),
            (
                "ph-phase-2",
                "Phase 2",
                calendar.launch.add_months(6),
                calendar.launch.add_months(30),
                "Address the root causes, embed a new governance and delivery model, and exit the Recovery Support Programme",
                "NHS England's exit criteria for the Recovery Support Programme met and agreed by the regional team",
            ),
        ];
        for (id, name, starts, ends, goal, exit) in phases {
            programme.put_phase(
                &mut txn,
                &PhaseId::new(id).map_err(bug)?,
                &Phase {
                    name: name.into(),
                    starts: Some(starts),
                    ends: Some(ends),
                    goal: goal.into(),
                    exit_criteria: exit.into(),
                },
            );
        }
        // Phase 2's outcome measure: restraint, monthly, a year before the
        // launch (the baseline that sets the limits) and every month since.
        let restraint = plait_shared::MeasureId::new("m-restraint").map_err(bug)?;
        programme.put_measure(
            &mut txn,
            &restraint,
            &plait_shared::Measure {
                name: "Restraints per 1,000 occupied bed days (adult acute wards)".into(),
                kind: Some(plait_shared::MeasureKind::Outcome),
                definition: "Every physical restraint recorded on Datix on the adult acute wards in the month, per 1,000 occupied bed days from the bed management system; counted on the 5th working day of the next month".into(),
                unit: "per 1,000 occupied bed days".into(),
                direction: Some(plait_shared::spc::Direction::Decrease),
                target: "8".into(),
                baseline: Some(12),
                rebase: Vec::new(),
                workstream_id: None,
            },
        );
        // Monthly, the last one for the month before the tracker's "as at".
        let (year, month, _) = calendar.as_at.ymd();
        let last = i32::from(month) - 2 + year * 12;
        for (n, value) in DEMO_RESTRAINT.iter().enumerate() {
            let index = last - (DEMO_RESTRAINT.len() - 1 - n) as i32;
            let period = Date::from_ymd(
                index.div_euclid(12),
                u8::try_from(index.rem_euclid(12) + 1).map_err(bug)?,
                1,
            )
            .map_err(bug)?;
            programme.put_measure_point(
                &mut txn,
                &plait_shared::MeasurePointId::new(format!("mp-restraint-{n:02}")).map_err(bug)?,
                &restraint,
                period,
                value,
            );
        }
        phase_two::seed(&programme, &mut txn, &plan, &calendar, &restraint)?;
    }
    accounts.set_programme_of(&programme_id, &programme_id)?;
    put(store, &programme_id, &encode(programme.doc()))?;
    store.flush()?;
    Ok(Some(total))
}

/// The demo programme's governance: the lead endorses completions, and
/// closures are re-audited at two and four months (so that the first
/// closures, at the launch's first meeting, have been re-audited by month
/// five).
pub const DEMO_RULES: Governance = Governance {
    reaudit_spacing_months: 2,
    ..Governance::DEFAULT
};

/// The committee's meeting on `day`, as the demo names it.
fn meeting_id(day: Date) -> Result<plait_shared::MeetingId, SeedError> {
    plait_shared::MeetingId::new(format!("qsc-{}", day.iso())).map_err(bug)
}

/// A moment on `day` at `hour` o'clock (UTC).
fn at(day: Date, hour: i64) -> UnixMillis {
    UnixMillis(day.unix_millis() + hour * 3_600_000)
}

fn plus_days(day: Date, days: i64) -> Date {
    UnixMillis(day.unix_millis() + days * 86_400_000).date()
}

/// A number from 0 to `n - 1` that a reference always gives.
fn spread(reference: &str, salt: u64, n: i64) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in reference.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    i64::try_from(h % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
}

/// The committee meets on the 20th of each month: its first meeting on or
/// after `day`.
fn next_meeting(day: Date) -> Date {
    let (y, m, d) = day.ymd();
    let this = Date::from_ymd(y, m, 20).unwrap_or(day);
    if d <= 20 {
        this
    } else {
        this.add_months(1)
    }
}

/// Takes every action of `planned` to the tracker's status through the
/// workflow, dated between the launch and the "as at" day.
fn history(
    plan: &PlanDoc,
    txn: &mut TransactionMut,
    planned: &PlannedPlan,
    targets: &HashMap<String, (Status, String)>,
    people: &HashMap<&str, UserId>,
    calendar: &Calendar,
    meetings: &mut std::collections::BTreeMap<Date, usize>,
) -> Result<(), SeedError> {
    let user = |name: &str| UserId::new(name).map_err(bug);
    let (compliance, chair) = (user("compliance")?, user("qsc.chair")?);
    let (launch, as_at) = (calendar.launch, calendar.as_at);
    let latest = |day: Date| day.min(plus_days(as_at, -1));
    for item in &planned.items {
        let action = &item.source.action;
        let reference = action.reference.as_str();
        let id: &ActionId = &item.action_id;
        let (target, update) = targets
            .get(reference)
            .cloned()
            .unwrap_or((Status::Draft, String::new()));
        if target == Status::Draft {
            continue;
        }
        let owner = action
            .owner
            .clone()
            .ok_or_else(|| bug(format!("{reference} has no owner")))?;
        let lead = UserId::new(action.exec_lead.as_str())
            .ok()
            .filter(|u| people.values().any(|p| p == u))
            .ok_or_else(|| bug(format!("no account leads {reference}")))?;
        let salt = u32::try_from(item.row).unwrap_or(0).wrapping_mul(16);
        // Actions that were closed early enough to be re-audited (embedded,
        // or reopened by a failed re-audit) run on an early timeline: done
        // in the launch's first days, closed at the first meeting, both
        // re-audits (two and four months on, the programme's schedule)
        // within the five months.
        let early = matches!(target, Status::Embedded | Status::Reopened);
        // Agreed in the launch's first weeks by the executive lead.
        let agreed = if early {
            plus_days(launch, 1)
        } else {
            plus_days(launch, 2 + spread(reference, 1, 18))
        };
        plan.append(
            txn,
            id,
            &LogEntry::Transition(Transition {
                to: Status::Agreed,
                by: lead.clone(),
                role: Role::Lead,
                at: at(agreed, 10),
                note: String::new(),
                baseline: false,
            }),
        )
        .map_err(bug)?;
        let owner_who = |day: Date| Who {
            user: &owner,
            role: Role::Contributor,
            at: at(day, 11),
        };
        let started = if early {
            plus_days(agreed, 1)
        } else {
            latest(plus_days(agreed, 5 + spread(reference, 2, 45)))
        };
        if target != Status::Agreed {
            plan.append(
                txn,
                id,
                &LogEntry::Transition(Transition {
                    to: Status::InProgress,
                    by: owner.clone(),
                    role: Role::Contributor,
                    at: at(started, 11),
                    note: String::new(),
                    baseline: false,
                }),
            )
            .map_err(bug)?;
        }
        let assured = matches!(
            target,
            Status::CompletionProposed
                | Status::EvidenceAccepted
                | Status::Closed
                | Status::Embedded
                | Status::Reopened
        );
        if assured {
            let proposed = if early {
                plus_days(started, 1)
            } else {
                let due = action.due.unwrap_or(as_at);
                latest(plus_days(due, -spread(reference, 3, 10)).max(plus_days(started, 7)))
            };
            let title = format!("Completion report for {reference}");
            let location = format!(
                "Audit and sign-off showing \"{}\" is complete",
                action.title.chars().take(120).collect::<String>()
            );
            let evidence = attach_evidence(
                plan,
                txn,
                id,
                &owner_who(proposed),
                &EvidenceInput {
                    evidence_type: Some(EvidenceType::AuditResult),
                    period: (Some(started), Some(proposed)),
                    site: &item.source.finding.location,
                    ..EvidenceInput::new(EvidenceKind::Note, &title, &location)
                },
                salt + 1,
            )
            .map_err(bug)?;
            propose_completion(plan, txn, id, &owner_who(proposed), "Evidence attached")
                .map_err(bug)?;
            // The executive lead endorses: every completion that went on,
            // and half of those still proposed.
            if target != Status::CompletionProposed || spread(reference, 10, 2) == 0 {
                let endorsed = if early {
                    proposed
                } else {
                    latest(plus_days(proposed, 1 + spread(reference, 11, 2)))
                };
                plan.append(
                    txn,
                    id,
                    &LogEntry::Transition(Transition {
                        to: Status::Endorsed,
                        by: lead.clone(),
                        role: Role::Lead,
                        at: at(endorsed, 12),
                        note: String::new(),
                        baseline: false,
                    }),
                )
                .map_err(bug)?;
            }
            if target != Status::CompletionProposed {
                let accepted = if early {
                    plus_days(proposed, 1)
                } else {
                    latest(plus_days(proposed, 3 + spread(reference, 4, 12)))
                };
                let who = Who {
                    user: &compliance,
                    role: Role::Validator,
                    at: at(accepted, 14),
                };
                review_evidence(
                    plan,
                    txn,
                    id,
                    &who,
                    &evidence,
                    EvidenceVerdict::Accepted,
                    "",
                    true,
                    Some(if spread(reference, 6, 3) == 0 {
                        Assurance::Substantial
                    } else {
                        Assurance::Reasonable
                    }),
                    &DEMO_RULES,
                    salt + 2,
                )
                .map_err(bug)?;
                if matches!(target, Status::Closed | Status::Embedded | Status::Reopened) {
                    // The next meeting, or (when that is yet to come) an
                    // extraordinary one on the day.
                    let meeting = Some(next_meeting(accepted))
                        .filter(|m| *m < as_at)
                        .unwrap_or(accepted);
                    let minute = format!(
                        "QSC/{:02}/{:03}",
                        meeting.ymd().0 % 100,
                        100 + spread(reference, 5, 200)
                    );
                    let who = Who {
                        user: &chair,
                        role: Role::Approver,
                        at: at(meeting, 16),
                    };
                    *meetings.entry(meeting).or_default() += 1;
                    let meeting_id = meeting_id(meeting)?;
                    record_decision(
                        plan,
                        txn,
                        id,
                        &who,
                        &DecisionInput {
                            forum: FORUM,
                            meeting_date: meeting,
                            outcome: DecisionOutcome::ApproveClosure,
                            minute_ref: &minute,
                            note: "",
                            reaudit_months: &DEMO_RULES.reaudit_months(),
                            meeting: Some(&meeting_id),
                        },
                        salt + 3,
                    )
                    .map_err(bug)?;
                    if early {
                        let view = plan.read_action(txn, id).ok_or_else(|| bug(reference))?;
                        // Embedded: both re-audits pass (the last embeds);
                        // reopened: the first fails.
                        let checks: Vec<_> = view
                            .sustainment_checks
                            .iter()
                            .take(if target == Status::Embedded { 2 } else { 1 })
                            .map(|c| (c.id.clone(), c.due))
                            .collect();
                        if checks.is_empty() {
                            return Err(bug(format!("{reference} has no re-audit")));
                        }
                        for (n, (check, due)) in checks.into_iter().enumerate() {
                            let who = Who {
                                user: &compliance,
                                role: Role::Validator,
                                at: at(latest(due), 12),
                            };
                            let (outcome, note) = if target == Status::Embedded {
                                (CheckOutcome::Passed, "Observed on the ward: still in place")
                            } else {
                                (
                                    CheckOutcome::Failed,
                                    "Spot check found the change not sustained on two wards",
                                )
                            };
                            record_reaudit(
                                plan,
                                txn,
                                id,
                                &who,
                                &ReauditInput {
                                    check_id: &check,
                                    outcome,
                                    method: Some(ReauditMethod::Observation),
                                    sample: "Both wards: ten patients' care and records on each",
                                    note,
                                },
                                &DEMO_RULES,
                                salt + 6 + n as u32,
                            )
                            .map_err(bug)?;
                        }
                    }
                }
            }
        }
        if !update.is_empty() {
            // "12/08/2022: ..." is the update's own date.
            let day = Date::parse_loose(update.get(..10).unwrap_or(""))
                .unwrap_or(plus_days(as_at, -3))
                .max(started)
                .min(as_at);
            plan.append(
                txn,
                id,
                &LogEntry::Progress(ProgressUpdate {
                    id: plait_shared::workflow::new_entry_id("u", &owner_who(day), salt + 8),
                    text: update.clone(),
                    by: owner.clone(),
                    at: at(day, 15),
                    confidence: None,
                }),
            )
            .map_err(bug)?;
            // "revised date of 30/09/2022 requested": the owner asked.
            if let Some(asked) = update
                .split("revised date of ")
                .nth(1)
                .and_then(|rest| Date::parse_loose(rest.get(..10)?).ok())
            {
                request_due_change(plan, txn, id, &owner_who(day), asked, &update, salt + 9)
                    .map_err(bug)?;
            }
        }
    }
    Ok(())
}

/// Every action reached the tracker's status.
fn check(
    plan: &PlanDoc,
    planned: &PlannedPlan,
    targets: &HashMap<String, (Status, String)>,
) -> Result<(), SeedError> {
    let view = plan.read(&plan.doc().transact());
    for item in &planned.items {
        let reference = &item.source.action.reference;
        let want = targets.get(reference).map_or(Status::Draft, |t| t.0);
        let got = view
            .actions
            .get(&item.action_id)
            .map_or(Status::Draft, |a| a.status());
        // A completion the lead has endorsed is still the tracker's
        // "proposed for closure".
        let same = got == want || (want == Status::CompletionProposed && got == Status::Endorsed);
        if !same {
            return Err(bug(format!(
                "{reference}: the history leads to {got}, the tracker says {want}"
            )));
        }
    }
    Ok(())
}

/// Appends a whole state as the document's next update (a plan left by an
/// interrupted seed merges with it harmlessly).
fn put(store: &dyn DocStore, id: &DocId, state: &[u8]) -> Result<(), StoreError> {
    let next = store.load(id)?.map_or(0, |stored| stored.next_seq());
    store.append(id, next, state)
}

fn encode(doc: &yrs::Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_moves_the_tracker_to_month_five() {
        let today = Date::from_ymd(2026, 11, 30).unwrap();
        let c = Calendar::on(today);
        assert_eq!(c.months, 51);
        assert_eq!(c.as_at, Date::from_ymd(2026, 11, 15).unwrap());
        assert_eq!(c.launch, Date::from_ymd(2026, 6, 15).unwrap());
        // Before the 15th, the last "as at" day is last month's.
        let c = Calendar::on(Date::from_ymd(2026, 12, 3).unwrap());
        assert_eq!(c.as_at, Date::from_ymd(2026, 11, 15).unwrap());
        assert_eq!(
            c.shift_text("12/08/2022: revised date of 30/09/2022; re-audit due September 2022; by 30 June 2022."),
            "12/11/2026: revised date of 30/12/2026; re-audit due December 2026; by 30 September 2026."
        );
    }
}
