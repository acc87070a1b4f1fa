//! The programme document: the programme's index of phases, workstreams and
//! plans, and its settings (the colour scheme).
//!
//! Roots (all `Y.Map`): `programme` {name, trust, rating, oversight_segment,
//! report_date, warning_notice, and the governance settings endorsement,
//! reaudit_window_days, reaudit_count, reaudit_spacing_months (each a
//! string: "true", "14"), and the weekly digest's digest_day ("monday")
//! and digest_time ("07:00")}; `phases` {id → Y.Map {name, starts, ends,
//! goal, exit_criteria}}; `workstreams` {id → Y.Map {name, exec_lead}};
//! `plans` {plan doc id → Y.Map {title, workstream_id, core_service}};
//! `forums` {id → Y.Map {name}}; `meetings` {id → Y.Map {forum_id, date,
//! title, alert, advise, assure}}; `settings` {colours: Y.Map {rule →
//! colour}}.

use std::collections::BTreeMap;

use yrs::{Doc, Map, MapPrelim, MapRef, ReadTxn, TransactionMut};

use crate::colours::{ColourRule, ColourScheme};
use crate::doc::{get_parsed, get_str, map_ref, SchemaProblem, WriteError};
use crate::ids::{
    Date, DocId, ForumId, MeasureId, MeasurePointId, MeetingId, MeetingPaperId, PhaseId,
    UnixMillis, WorkstreamId,
};
use crate::keys::{
    ForumField, MeasureField, MeasurePointField, MeetingField, MeetingPaperField, PaperField,
    PhaseField, PlanEntryField, ProgrammeField, Root, WorkstreamField,
};
use crate::lifecycle::Governance;
use crate::spc::Direction;
use crate::vocab::{Colour, EvidenceKind, MeasureKind, Remit};

mod phase_two;
pub use phase_two::PhaseTwo;

const PROGRAMME: &str = Root::Programme.key();
const PHASES: &str = Root::Phases.key();
const WORKSTREAMS: &str = Root::Workstreams.key();
const PLANS: &str = Root::Plans.key();
const FORUMS: &str = Root::Forums.key();
const MEETINGS: &str = Root::Meetings.key();
const PAPERS: &str = Root::Papers.key();
const ISSUED_PAPERS: &str = Root::IssuedPapers.key();
const MEETING_PAPERS: &str = Root::MeetingPapers.key();
const MEASURES: &str = Root::Measures.key();
const MEASURE_POINTS: &str = Root::MeasurePoints.key();
const SETTINGS: &str = Root::Settings.key();
const COLOURS: &str = "colours";

/// The programme's headline facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgrammeInfo {
    /// "Quality Improvement Programme 2022–24".
    pub name: String,
    /// "Norfolk and Suffolk NHS Foundation Trust".
    pub trust: String,
    /// The CQC rating that started it ("Inadequate").
    pub rating: String,
    /// The NHS Oversight Framework segment ("4 – Recovery Support Programme").
    pub oversight_segment: String,
    /// The date of the CQC inspection report the programme answers.
    pub report_date: Option<Date>,
    /// The warning notice, if there is one, in words (what, when, by when).
    pub warning_notice: String,
}

/// A phase of the programme.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phase {
    /// "Phase 1: stabilise".
    pub name: String,
    /// First day.
    pub starts: Option<Date>,
    /// Last day.
    pub ends: Option<Date>,
    /// What it must achieve.
    pub goal: String,
    /// How the programme knows the phase is done (its exit gate).
    pub exit_criteria: String,
}

/// A forum: a committee that takes decisions on actions, or a board that
/// receives the programme's reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forum {
    /// "Quality and Safety Committee".
    pub name: String,
    /// What it does with the actions (a forum stored without one decides:
    /// every forum did before remits were recorded).
    pub remit: Remit,
}

/// A meeting of a forum, with the chair's report to the board in the
/// Alert / Advise / Assure form NHS committees use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meeting {
    /// The forum that meets.
    pub forum_id: Option<ForumId>,
    /// The day it meets.
    pub date: Option<Date>,
    /// Anything that tells it apart ("extraordinary meeting").
    pub title: String,
    /// The chair's report: what the board must know (risks, failures).
    pub alert: String,
    /// What the committee advises the board of (returns, extensions).
    pub advise: String,
    /// What it is assured of (closures approved, their assurance).
    pub assure: String,
}

/// A paper tabled at a meeting (a workstream's report, the minutes of the
/// last meeting): a file kept by the server, or a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingPaper {
    /// The meeting it is for.
    pub meeting_id: Option<MeetingId>,
    /// What it is.
    pub title: String,
    /// A file or a link.
    pub kind: EvidenceKind,
    /// A file's SHA-256, or a link's address.
    pub location: String,
    /// A file's name as uploaded.
    pub file_name: String,
    /// When it was added.
    pub added_at: Option<UnixMillis>,
}

/// A phase-2 measure: what is counted, how, which way is better, and the
/// target; its values are [`MeasurePoint`]s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Measure {
    /// What it counts.
    pub name: String,
    /// Outcome, process or balancing.
    pub kind: Option<MeasureKind>,
    /// Its operational definition.
    pub definition: String,
    /// Its unit ("per 1,000 occupied bed days").
    pub unit: String,
    /// Which way is better.
    pub direction: Option<Direction>,
    /// The target, as written (a number; empty for none): read as a number
    /// where it is charted ([`crate::phase2`]), so reading the programme
    /// parses no numbers (issue 18: the signed-in frame reads it).
    pub target: String,
    /// How many of each segment's first points set its limits (all if
    /// none).
    pub baseline: Option<usize>,
    /// The periods from which the limits are recalculated.
    pub rebase: Vec<Date>,
    /// Its workstream.
    pub workstream_id: Option<WorkstreamId>,
}

/// One value of a measure's data series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasurePoint {
    /// The measure.
    pub measure_id: Option<MeasureId>,
    /// The period's first day.
    pub period: Option<Date>,
    /// The value, as written (read as a number where it is charted).
    pub value: String,
}

/// The board paper for a meeting: its cover and the programme office's
/// words; the body is computed ([`crate::paper`]). Each issue is frozen by
/// the server, words and figures (`IssuedPaper` in `crate::paper`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Paper {
    /// "Item 9".
    pub agenda_item: String,
    /// Who wrote it.
    pub author: String,
    /// The executive who presents it.
    pub lead: String,
    /// For assurance, approval, discussion or information.
    pub purpose: String,
    /// The assurance the paper gives (substantial, reasonable, limited).
    pub assurance: String,
    /// "The Board is asked to…".
    pub recommendation: String,
    /// The board assurance framework risks it relates to.
    pub risks: String,
    /// The executive summary.
    pub summary: String,
    /// The risks to delivery.
    pub delivery_risks: String,
    /// What happened after this moment is new to this paper (the last
    /// paper's issue, by default).
    pub since: Option<crate::ids::UnixMillis>,
    /// Each time it was issued to the meeting, oldest first: version 1,
    /// 2, ... (a correction issues it again); each version shows the
    /// programme as it stood at its moment.
    pub issues: Vec<crate::ids::UnixMillis>,
}

impl Paper {
    /// When its latest version was issued, if it has been.
    pub fn issued_at(&self) -> Option<crate::ids::UnixMillis> {
        self.issues.last().copied()
    }

    /// Its latest version's number (0 before it is issued).
    pub fn version(&self) -> usize {
        self.issues.len()
    }
}

/// A workstream: a body of work with an executive lead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Workstream {
    /// "Environment and ligature safety".
    pub name: String,
    /// The accountable executive: their account's user name once set up
    /// (an import may carry a name or a job title).
    pub exec_lead: String,
}

/// An entry of the programme's plan index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    /// The plan's title.
    pub title: String,
    /// The workstream it belongs to.
    pub workstream_id: Option<WorkstreamId>,
    /// The core service it covers.
    pub core_service: String,
}

/// The whole programme document, read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgrammeView {
    /// Headline facts.
    pub info: ProgrammeInfo,
    /// Phases by id.
    pub phases: BTreeMap<PhaseId, Phase>,
    /// Workstreams by id.
    pub workstreams: BTreeMap<WorkstreamId, Workstream>,
    /// Plans by document id.
    pub plans: BTreeMap<DocId, PlanEntry>,
    /// Forums by id.
    pub forums: BTreeMap<ForumId, Forum>,
    /// Meetings by id.
    pub meetings: BTreeMap<MeetingId, Meeting>,
    /// Board papers by meeting.
    pub papers: BTreeMap<MeetingId, Paper>,
    /// Phase-2 measures, by id.
    pub measures: BTreeMap<MeasureId, Measure>,
    /// Their values, by id.
    pub measure_points: BTreeMap<MeasurePointId, MeasurePoint>,
    /// Phase 2's root causes, driver diagrams, PDSA cycles, exit criteria
    /// and their links.
    pub improvement: PhaseTwo,
    /// Papers tabled at meetings, by id.
    pub meeting_papers: BTreeMap<MeetingPaperId, MeetingPaper>,
    /// Board papers as issued, by meeting and version: each the JSON of a
    /// `IssuedPaper` (`crate::paper`), read by the caller's JSON reader (the
    /// browser's own in the client, so no JSON parser is linked into it).
    pub issued: BTreeMap<MeetingId, BTreeMap<usize, String>>,
    /// The governance settings (the defaults where none are set).
    pub governance: Governance,
    /// When its weekly digest goes out (the default where not set).
    pub digest: crate::digest::Schedule,
    /// The display colours.
    pub colours: ColourScheme,
    /// What had to be skipped while reading.
    pub problems: Vec<SchemaProblem>,
}

/// The key of version `version` of `meeting`'s issued paper in the
/// programme document's issued papers: `{meeting}.v{version}`.
pub fn issued_key(meeting: &MeetingId, version: usize) -> String {
    format!("{meeting}.v{version}")
}

impl ProgrammeView {
    /// A meeting named as people say it: "Quality and Safety Committee,
    /// 20 January 2027 (extraordinary)".
    pub fn meeting_name(&self, meeting: &Meeting) -> String {
        let forum = meeting
            .forum_id
            .as_ref()
            .and_then(|id| self.forums.get(id))
            .map(|f| f.name.clone())
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "A forum".to_owned());
        let date = meeting.date.map(|d| d.long()).unwrap_or_default();
        let title = meeting.title.trim();
        if title.is_empty() {
            format!("{forum}, {date}")
        } else {
            format!("{forum}, {date} ({title})")
        }
    }
}

/// A programme document: typed reads and writes over its yrs document.
#[derive(Debug, Clone)]
pub struct ProgrammeDoc {
    doc: Doc,
    programme: MapRef,
    phases: MapRef,
    workstreams: MapRef,
    plans: MapRef,
    forums: MapRef,
    meetings: MapRef,
    papers: MapRef,
    issued_papers: MapRef,
    meeting_papers: MapRef,
    measures: MapRef,
    measure_points: MapRef,
    root_causes: MapRef,
    drivers: MapRef,
    cycles: MapRef,
    exit_criteria: MapRef,
    links: MapRef,
    settings: MapRef,
}

impl ProgrammeDoc {
    /// Wraps a document (empty, or holding a programme).
    pub fn new(doc: Doc) -> Self {
        ProgrammeDoc {
            programme: doc.get_or_insert_map(PROGRAMME),
            phases: doc.get_or_insert_map(PHASES),
            workstreams: doc.get_or_insert_map(WORKSTREAMS),
            plans: doc.get_or_insert_map(PLANS),
            forums: doc.get_or_insert_map(FORUMS),
            meetings: doc.get_or_insert_map(MEETINGS),
            papers: doc.get_or_insert_map(PAPERS),
            issued_papers: doc.get_or_insert_map(ISSUED_PAPERS),
            meeting_papers: doc.get_or_insert_map(MEETING_PAPERS),
            measures: doc.get_or_insert_map(MEASURES),
            measure_points: doc.get_or_insert_map(MEASURE_POINTS),
            root_causes: doc.get_or_insert_map(Root::RootCauses.key()),
            drivers: doc.get_or_insert_map(Root::Drivers.key()),
            cycles: doc.get_or_insert_map(Root::Cycles.key()),
            exit_criteria: doc.get_or_insert_map(Root::ExitCriteria.key()),
            links: doc.get_or_insert_map(Root::Links.key()),
            settings: doc.get_or_insert_map(SETTINGS),
            doc,
        }
    }

    /// The underlying document.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Sets the headline facts.
    pub fn set_info(&self, txn: &mut TransactionMut, info: &ProgrammeInfo) {
        self.programme
            .insert(txn, ProgrammeField::Name.key(), info.name.as_str());
        self.programme
            .insert(txn, ProgrammeField::Trust.key(), info.trust.as_str());
        self.programme
            .insert(txn, ProgrammeField::Rating.key(), info.rating.as_str());
        self.programme.insert(
            txn,
            ProgrammeField::OversightSegment.key(),
            info.oversight_segment.as_str(),
        );
        match info.report_date {
            Some(date) => {
                self.programme
                    .insert(txn, ProgrammeField::ReportDate.key(), date.iso());
            }
            None => {
                self.programme.remove(txn, ProgrammeField::ReportDate.key());
            }
        }
        self.programme.insert(
            txn,
            ProgrammeField::WarningNotice.key(),
            info.warning_notice.as_str(),
        );
    }

    /// Sets the governance settings.
    ///
    /// # Errors
    /// A setting out of its bounds ([`Governance::check`]).
    pub fn set_governance(
        &self,
        txn: &mut TransactionMut,
        rules: &Governance,
    ) -> Result<(), String> {
        rules.check()?;
        let g = |txn: &mut TransactionMut, key: &str, value: String| {
            self.programme.insert(txn, key, value);
        };
        g(
            txn,
            ProgrammeField::Endorsement.key(),
            rules.endorsement.to_string(),
        );
        g(
            txn,
            ProgrammeField::ReauditWindowDays.key(),
            rules.reaudit_window_days.to_string(),
        );
        g(
            txn,
            ProgrammeField::ReauditCount.key(),
            rules.reaudit_count.to_string(),
        );
        g(
            txn,
            ProgrammeField::ReauditSpacingMonths.key(),
            rules.reaudit_spacing_months.to_string(),
        );
        Ok(())
    }

    /// The governance settings alone (what the server asks on every
    /// update to the programme's plans): each setting read, the default
    /// where it is missing or unreadable, and all of them the defaults if
    /// together they are out of bounds.
    pub fn governance<T: ReadTxn>(&self, txn: &T) -> Governance {
        self.read_governance(txn, &mut Vec::new())
    }

    fn read_governance<T: ReadTxn>(
        &self,
        txn: &T,
        problems: &mut Vec<SchemaProblem>,
    ) -> Governance {
        governance_in(&self.programme, txn, problems)
    }

    /// When the weekly digest goes out: each of its settings read, the
    /// default where missing or unreadable.
    pub fn digest<T: ReadTxn>(&self, txn: &T) -> crate::digest::Schedule {
        self.read_digest(txn, &mut Vec::new())
    }

    fn read_digest<T: ReadTxn>(
        &self,
        txn: &T,
        problems: &mut Vec<SchemaProblem>,
    ) -> crate::digest::Schedule {
        let mut schedule = crate::digest::Schedule::DEFAULT;
        let mut problem = |field: ProgrammeField, reason: String| {
            problems.push(SchemaProblem {
                path: format!("{PROGRAMME}/{}", field.key()),
                reason,
            });
        };
        if let Some(text) = get_str(&self.programme, txn, ProgrammeField::DigestDay.key()) {
            match text.parse() {
                Ok(day) => schedule.day = day,
                Err(e) => problem(ProgrammeField::DigestDay, format!("{e}")),
            }
        }
        if let Some(text) = get_str(&self.programme, txn, ProgrammeField::DigestTime.key()) {
            match crate::digest::Schedule::parse_time(&text) {
                Ok(minute) => schedule.minute = minute,
                Err(e) => problem(ProgrammeField::DigestTime, e),
            }
        }
        schedule
    }

    /// Sets when the weekly digest goes out.
    pub fn set_digest(&self, txn: &mut TransactionMut, schedule: crate::digest::Schedule) {
        self.programme
            .insert(txn, ProgrammeField::DigestDay.key(), schedule.day.key());
        self.programme
            .insert(txn, ProgrammeField::DigestTime.key(), schedule.time_text());
    }

    /// Adds or replaces a forum.
    pub fn put_forum(&self, txn: &mut TransactionMut, id: &ForumId, forum: &Forum) {
        let map = entry_map(&self.forums, txn, id.as_str());
        map.insert(txn, ForumField::Name.key(), forum.name.as_str());
        map.insert(txn, ForumField::Remit.key(), forum.remit.key());
    }

    /// Writes a meeting's chair's report (what its chair may change): only
    /// the parts that differ from what is stored, so nothing else of the
    /// meeting is touched.
    ///
    /// # Errors
    /// There is no such meeting.
    pub fn set_chair_report(
        &self,
        txn: &mut TransactionMut,
        id: &MeetingId,
        alert: &str,
        advise: &str,
        assure: &str,
    ) -> Result<(), WriteError> {
        let Some(map) = map_ref(&self.meetings, txn, id.as_str()) else {
            return Err(WriteError::Malformed(format!("no meeting {id}")));
        };
        for (field, value) in [
            (MeetingField::Alert, alert),
            (MeetingField::Advise, advise),
            (MeetingField::Assure, assure),
        ] {
            if get_str(&map, txn, field.key()).unwrap_or_default() != value {
                map.insert(txn, field.key(), value);
            }
        }
        Ok(())
    }

    /// Adds or replaces a meeting.
    pub fn put_meeting(&self, txn: &mut TransactionMut, id: &MeetingId, meeting: &Meeting) {
        let map = entry_map(&self.meetings, txn, id.as_str());
        match &meeting.forum_id {
            Some(forum) => {
                map.insert(txn, MeetingField::ForumId.key(), forum.as_str());
            }
            None => {
                map.remove(txn, MeetingField::ForumId.key());
            }
        }
        match meeting.date {
            Some(date) => {
                map.insert(txn, MeetingField::Date.key(), date.iso());
            }
            None => {
                map.remove(txn, MeetingField::Date.key());
            }
        }
        map.insert(txn, MeetingField::Title.key(), meeting.title.as_str());
        map.insert(txn, MeetingField::Alert.key(), meeting.alert.as_str());
        map.insert(txn, MeetingField::Advise.key(), meeting.advise.as_str());
        map.insert(txn, MeetingField::Assure.key(), meeting.assure.as_str());
    }

    /// Adds or replaces the board paper for a meeting.
    pub fn put_paper(&self, txn: &mut TransactionMut, meeting: &MeetingId, paper: &Paper) {
        let map = entry_map(&self.papers, txn, meeting.as_str());
        for (key, value) in [
            (PaperField::AgendaItem.key(), &paper.agenda_item),
            (PaperField::Author.key(), &paper.author),
            (PaperField::Lead.key(), &paper.lead),
            (PaperField::Purpose.key(), &paper.purpose),
            (PaperField::Assurance.key(), &paper.assurance),
            (PaperField::Recommendation.key(), &paper.recommendation),
            (PaperField::Risks.key(), &paper.risks),
            (PaperField::Summary.key(), &paper.summary),
            (PaperField::DeliveryRisks.key(), &paper.delivery_risks),
        ] {
            map.insert(txn, key, value.as_str());
        }
        match paper.since {
            Some(at) => {
                map.insert(txn, PaperField::Since.key(), at.0.to_string());
            }
            None => {
                map.remove(txn, PaperField::Since.key());
            }
        }
    }

    /// Records the next version of `meeting`'s paper as issued: `json` (an
    /// `IssuedPaper` of `crate::paper`, its words and figures frozen) as
    /// `version`, its `words` as the paper's, and `at` in its list of
    /// issues. The server writes this (members may not: the figures are
    /// the server's).
    pub fn issue_paper(
        &self,
        txn: &mut TransactionMut,
        meeting: &MeetingId,
        version: usize,
        at: UnixMillis,
        words: &Paper,
        json: &str,
    ) {
        let stored = self
            .read(txn)
            .papers
            .get(meeting)
            .cloned()
            .unwrap_or_default();
        let words = Paper {
            since: stored.since,
            ..words.clone()
        };
        self.put_paper(txn, meeting, &words);
        let map = entry_map(&self.papers, txn, meeting.as_str());
        let issues: Vec<String> = stored
            .issues
            .iter()
            .chain([&at])
            .map(|at| at.0.to_string())
            .collect();
        map.insert(txn, PaperField::Issues.key(), issues.join(","));
        self.issued_papers
            .insert(txn, issued_key(meeting, version), json);
    }

    /// Adds a paper tabled at a meeting.
    pub fn put_meeting_paper(
        &self,
        txn: &mut TransactionMut,
        id: &MeetingPaperId,
        paper: &MeetingPaper,
    ) {
        let map = entry_map(&self.meeting_papers, txn, id.as_str());
        if let Some(meeting) = &paper.meeting_id {
            map.insert(txn, MeetingPaperField::MeetingId.key(), meeting.as_str());
        }
        for (key, value) in [
            (MeetingPaperField::Title.key(), paper.title.as_str()),
            (MeetingPaperField::Kind.key(), paper.kind.key()),
            (MeetingPaperField::Location.key(), paper.location.as_str()),
            (MeetingPaperField::FileName.key(), paper.file_name.as_str()),
        ] {
            map.insert(txn, key, value);
        }
        if let Some(at) = paper.added_at {
            map.insert(txn, MeetingPaperField::AddedAt.key(), at.0.to_string());
        }
    }

    /// Adds or replaces a measure (its values are kept).
    pub fn put_measure(&self, txn: &mut TransactionMut, id: &MeasureId, measure: &Measure) {
        let map = entry_map(&self.measures, txn, id.as_str());
        let rebase: Vec<String> = measure.rebase.iter().map(|d| d.iso()).collect();
        let texts = [
            (MeasureField::Name, Some(measure.name.clone())),
            (MeasureField::Kind, measure.kind.map(|k| k.key().to_owned())),
            (MeasureField::Definition, Some(measure.definition.clone())),
            (MeasureField::Unit, Some(measure.unit.clone())),
            (
                MeasureField::Direction,
                measure.direction.map(|d| d.key().to_owned()),
            ),
            (
                MeasureField::Target,
                Some(measure.target.trim().to_owned()).filter(|t| !t.is_empty()),
            ),
            (
                MeasureField::Baseline,
                measure.baseline.map(|n| n.to_string()),
            ),
            (MeasureField::Rebase, Some(rebase.join(","))),
            (
                MeasureField::Workstream,
                measure.workstream_id.as_ref().map(ToString::to_string),
            ),
        ];
        for (field, value) in texts {
            match value {
                Some(value) => {
                    map.insert(txn, field.key(), value);
                }
                None => {
                    map.remove(txn, field.key());
                }
            }
        }
    }

    /// Adds a value to a measure's data series.
    pub fn put_measure_point(
        &self,
        txn: &mut TransactionMut,
        id: &MeasurePointId,
        measure: &MeasureId,
        period: Date,
        value: &str,
    ) {
        let map = entry_map(&self.measure_points, txn, id.as_str());
        map.insert(txn, MeasurePointField::MeasureId.key(), measure.as_str());
        map.insert(txn, MeasurePointField::Period.key(), period.iso());
        map.insert(txn, MeasurePointField::Value.key(), value.trim());
    }

    /// Removes a value from a measure's data series.
    pub fn remove_measure_point(&self, txn: &mut TransactionMut, id: &MeasurePointId) {
        self.measure_points.remove(txn, id.as_str());
    }

    /// Removes a paper from its meeting (the file stays on the server).
    pub fn remove_meeting_paper(&self, txn: &mut TransactionMut, id: &MeetingPaperId) {
        self.meeting_papers.remove(txn, id.as_str());
    }

    /// Removes a meeting (decisions that named it keep its forum and date).
    pub fn remove_meeting(&self, txn: &mut TransactionMut, id: &MeetingId) {
        self.meetings.remove(txn, id.as_str());
    }

    /// Removes a forum (decisions already recorded keep its name).
    pub fn remove_forum(&self, txn: &mut TransactionMut, id: &ForumId) {
        self.forums.remove(txn, id.as_str());
    }

    /// Removes a phase (actions that named it keep the id, shown as none).
    pub fn remove_phase(&self, txn: &mut TransactionMut, id: &PhaseId) {
        self.phases.remove(txn, id.as_str());
    }

    /// Adds or replaces a phase.
    pub fn put_phase(&self, txn: &mut TransactionMut, id: &PhaseId, phase: &Phase) {
        let map = entry_map(&self.phases, txn, id.as_str());
        map.insert(txn, PhaseField::Name.key(), phase.name.as_str());
        for (key, date) in [
            (PhaseField::Starts.key(), phase.starts),
            (PhaseField::Ends.key(), phase.ends),
        ] {
            match date {
                Some(date) => {
                    map.insert(txn, key, date.iso());
                }
                None => {
                    map.remove(txn, key);
                }
            }
        }
        map.insert(txn, PhaseField::Goal.key(), phase.goal.as_str());
        map.insert(
            txn,
            PhaseField::ExitCriteria.key(),
            phase.exit_criteria.as_str(),
        );
    }

    /// Adds or replaces a workstream.
    pub fn put_workstream(
        &self,
        txn: &mut TransactionMut,
        id: &WorkstreamId,
        workstream: &Workstream,
    ) {
        let map = entry_map(&self.workstreams, txn, id.as_str());
        map.insert(txn, WorkstreamField::Name.key(), workstream.name.as_str());
        map.insert(
            txn,
            WorkstreamField::ExecLead.key(),
            workstream.exec_lead.as_str(),
        );
    }

    /// Adds or replaces a plan in the index.
    pub fn put_plan(&self, txn: &mut TransactionMut, id: &DocId, plan: &PlanEntry) {
        let map = entry_map(&self.plans, txn, id.as_str());
        map.insert(txn, PlanEntryField::Title.key(), plan.title.as_str());
        match &plan.workstream_id {
            Some(ws) => {
                map.insert(txn, PlanEntryField::Workstream.key(), ws.as_str());
            }
            None => {
                map.remove(txn, PlanEntryField::Workstream.key());
            }
        }
        map.insert(
            txn,
            PlanEntryField::CoreService.key(),
            plan.core_service.as_str(),
        );
    }

    /// Sets the colour shown for one rule of the scheme.
    pub fn set_colour(&self, txn: &mut TransactionMut, rule: ColourRule, colour: Colour) {
        let colours = entry_map(&self.settings, txn, COLOURS);
        colours.insert(txn, rule.key(), colour.key());
    }

    /// Reads the whole programme.
    pub fn read<T: ReadTxn>(&self, txn: &T) -> ProgrammeView {
        let mut problems = Vec::new();
        let info = ProgrammeInfo {
            name: get_str(&self.programme, txn, ProgrammeField::Name.key()).unwrap_or_default(),
            trust: get_str(&self.programme, txn, ProgrammeField::Trust.key()).unwrap_or_default(),
            rating: get_str(&self.programme, txn, ProgrammeField::Rating.key()).unwrap_or_default(),
            oversight_segment: get_str(
                &self.programme,
                txn,
                ProgrammeField::OversightSegment.key(),
            )
            .unwrap_or_default(),
            report_date: get_parsed(
                &self.programme,
                txn,
                ProgrammeField::ReportDate.key(),
                PROGRAMME,
                &mut problems,
            ),
            warning_notice: get_str(&self.programme, txn, ProgrammeField::WarningNotice.key())
                .unwrap_or_default(),
        };
        let governance = self.read_governance(txn, &mut problems);
        let digest = self.read_digest(txn, &mut problems);
        let phases = read_entries(
            &self.phases,
            txn,
            PHASES,
            &mut problems,
            |map, path, problems| Phase {
                name: get_str(map, txn, PhaseField::Name.key()).unwrap_or_default(),
                starts: get_parsed(map, txn, PhaseField::Starts.key(), path, problems),
                ends: get_parsed(map, txn, PhaseField::Ends.key(), path, problems),
                goal: get_str(map, txn, PhaseField::Goal.key()).unwrap_or_default(),
                exit_criteria: get_str(map, txn, PhaseField::ExitCriteria.key())
                    .unwrap_or_default(),
            },
        );
        let forums = read_entries(
            &self.forums,
            txn,
            FORUMS,
            &mut problems,
            |map, path, problems| Forum {
                name: get_str(map, txn, ForumField::Name.key()).unwrap_or_default(),
                remit: get_parsed(map, txn, ForumField::Remit.key(), path, problems)
                    .unwrap_or_default(),
            },
        );
        let papers = read_entries(
            &self.papers,
            txn,
            PAPERS,
            &mut problems,
            |map, path, problems| {
                let text = |key: &str| get_str(map, txn, key).unwrap_or_default();
                let at = |key: &str, problems: &mut Vec<SchemaProblem>| {
                    get_parsed::<i64, _, _>(map, txn, key, path, problems)
                        .map(crate::ids::UnixMillis)
                };
                Paper {
                    agenda_item: text(PaperField::AgendaItem.key()),
                    author: text(PaperField::Author.key()),
                    lead: text(PaperField::Lead.key()),
                    purpose: text(PaperField::Purpose.key()),
                    assurance: text(PaperField::Assurance.key()),
                    recommendation: text(PaperField::Recommendation.key()),
                    risks: text(PaperField::Risks.key()),
                    summary: text(PaperField::Summary.key()),
                    delivery_risks: text(PaperField::DeliveryRisks.key()),
                    since: at(PaperField::Since.key(), problems),
                    issues: text(PaperField::Issues.key())
                        .split(',')
                        .filter_map(|n| n.trim().parse::<i64>().ok())
                        .map(crate::ids::UnixMillis)
                        .collect(),
                }
            },
        );
        let mut issued: BTreeMap<MeetingId, BTreeMap<usize, String>> = BTreeMap::new();
        for (key, value) in self.issued_papers.iter(txn) {
            let place = key
                .rsplit_once(".v")
                .and_then(|(m, v)| Some((MeetingId::new(m).ok()?, v.parse::<usize>().ok()?)));
            match (place, value) {
                (Some((meeting, version)), yrs::Out::Any(yrs::Any::String(json))) => {
                    issued
                        .entry(meeting)
                        .or_default()
                        .insert(version, json.to_string());
                }
                _ => problems.push(SchemaProblem {
                    path: format!("{ISSUED_PAPERS}/{key}"),
                    reason: "not an issued paper".to_owned(),
                }),
            }
        }
        let measures = read_entries(
            &self.measures,
            txn,
            MEASURES,
            &mut problems,
            |map, path, problems| Measure {
                name: get_str(map, txn, MeasureField::Name.key()).unwrap_or_default(),
                kind: get_parsed(map, txn, MeasureField::Kind.key(), path, problems),
                definition: get_str(map, txn, MeasureField::Definition.key()).unwrap_or_default(),
                unit: get_str(map, txn, MeasureField::Unit.key()).unwrap_or_default(),
                direction: get_parsed(map, txn, MeasureField::Direction.key(), path, problems),
                target: get_str(map, txn, MeasureField::Target.key()).unwrap_or_default(),
                baseline: get_parsed(map, txn, MeasureField::Baseline.key(), path, problems),
                rebase: get_str(map, txn, MeasureField::Rebase.key())
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|d| Date::parse_iso(d.trim()).ok())
                    .collect(),
                workstream_id: get_parsed(map, txn, MeasureField::Workstream.key(), path, problems),
            },
        );
        let measure_points = read_entries(
            &self.measure_points,
            txn,
            MEASURE_POINTS,
            &mut problems,
            |map, path, problems| MeasurePoint {
                measure_id: get_parsed(
                    map,
                    txn,
                    MeasurePointField::MeasureId.key(),
                    path,
                    problems,
                ),
                period: get_parsed(map, txn, MeasurePointField::Period.key(), path, problems),
                value: get_str(map, txn, MeasurePointField::Value.key()).unwrap_or_default(),
            },
        );
        let meeting_papers = read_entries(
            &self.meeting_papers,
            txn,
            MEETING_PAPERS,
            &mut problems,
            |map, path, problems| MeetingPaper {
                meeting_id: get_parsed(
                    map,
                    txn,
                    MeetingPaperField::MeetingId.key(),
                    path,
                    problems,
                ),
                title: get_str(map, txn, MeetingPaperField::Title.key()).unwrap_or_default(),
                kind: get_parsed(map, txn, MeetingPaperField::Kind.key(), path, problems)
                    .unwrap_or(EvidenceKind::Link),
                location: get_str(map, txn, MeetingPaperField::Location.key()).unwrap_or_default(),
                file_name: get_str(map, txn, MeetingPaperField::FileName.key()).unwrap_or_default(),
                added_at: get_parsed::<i64, _, _>(
                    map,
                    txn,
                    MeetingPaperField::AddedAt.key(),
                    path,
                    problems,
                )
                .map(UnixMillis),
            },
        );
        let meetings = read_entries(
            &self.meetings,
            txn,
            MEETINGS,
            &mut problems,
            |map, path, problems| Meeting {
                forum_id: get_parsed(map, txn, MeetingField::ForumId.key(), path, problems),
                date: get_parsed(map, txn, MeetingField::Date.key(), path, problems),
                title: get_str(map, txn, MeetingField::Title.key()).unwrap_or_default(),
                alert: get_str(map, txn, MeetingField::Alert.key()).unwrap_or_default(),
                advise: get_str(map, txn, MeetingField::Advise.key()).unwrap_or_default(),
                assure: get_str(map, txn, MeetingField::Assure.key()).unwrap_or_default(),
            },
        );
        let workstreams = read_entries(
            &self.workstreams,
            txn,
            WORKSTREAMS,
            &mut problems,
            |map, _, _| Workstream {
                name: get_str(map, txn, WorkstreamField::Name.key()).unwrap_or_default(),
                exec_lead: get_str(map, txn, WorkstreamField::ExecLead.key()).unwrap_or_default(),
            },
        );
        let plans = read_entries(
            &self.plans,
            txn,
            PLANS,
            &mut problems,
            |map, path, problems| PlanEntry {
                title: get_str(map, txn, PlanEntryField::Title.key()).unwrap_or_default(),
                workstream_id: get_parsed(
                    map,
                    txn,
                    PlanEntryField::Workstream.key(),
                    path,
                    problems,
                ),
                core_service: get_str(map, txn, PlanEntryField::CoreService.key())
                    .unwrap_or_default(),
            },
        );
        let improvement = self.read_phase_two(txn, &mut problems);
        let mut colours = ColourScheme::default();
        if let Some(map) = map_ref(&self.settings, txn, COLOURS) {
            for (key, _) in map.iter(txn) {
                let path = format!("{SETTINGS}/{COLOURS}");
                let rule = key.parse::<ColourRule>();
                let colour = get_parsed::<Colour, _, _>(&map, txn, key, &path, &mut problems);
                match (rule, colour) {
                    (Ok(rule), Some(colour)) => colours.set(rule, colour),
                    (Err(e), _) => problems.push(SchemaProblem {
                        path,
                        reason: e.to_string(),
                    }),
                    (Ok(_), None) => {}
                }
            }
        }
        problems.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.reason.cmp(&b.reason)));
        ProgrammeView {
            info,
            phases,
            workstreams,
            plans,
            forums,
            meetings,
            papers,
            issued,
            meeting_papers,
            measures,
            measure_points,
            improvement,
            governance,
            digest,
            colours,
            problems,
        }
    }
}

/// The nested map at `key`, created if missing (or if something else is there).
fn entry_map(parent: &MapRef, txn: &mut TransactionMut, key: &str) -> MapRef {
    match map_ref(parent, txn, key) {
        Some(map) => map,
        None => parent.insert(txn, key, MapPrelim::default()),
    }
}

fn read_entries<K, V, T, F>(
    parent: &MapRef,
    txn: &T,
    root: &str,
    problems: &mut Vec<SchemaProblem>,
    mut read: F,
) -> BTreeMap<K, V>
where
    K: std::str::FromStr + Ord,
    K::Err: std::fmt::Display,
    T: ReadTxn,
    F: FnMut(&MapRef, &str, &mut Vec<SchemaProblem>) -> V,
{
    let mut out = BTreeMap::new();
    for (key, _) in parent.iter(txn) {
        let path = format!("{root}/{key}");
        let id = match key.parse::<K>() {
            Ok(id) => id,
            Err(e) => {
                problems.push(SchemaProblem {
                    path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        match map_ref(parent, txn, key) {
            Some(map) => {
                out.insert(id, read(&map, &path, problems));
            }
            None => problems.push(SchemaProblem {
                path,
                reason: "not a map".into(),
            }),
        }
    }
    out
}
/// The governance settings stored in the programme's `programme` map: each
/// read, the default where missing or unreadable, all the defaults if
/// together out of bounds (problems said).
fn governance_in<T: ReadTxn>(
    map: &yrs::MapRef,
    txn: &T,
    problems: &mut Vec<SchemaProblem>,
) -> Governance {
    let d = Governance::DEFAULT;
    let mut rules = d;
    for field in ProgrammeField::ALL.into_iter().filter(|f| f.is_setting()) {
        let Some(text) = get_str(map, txn, field.key()) else {
            continue;
        };
        match with_setting(rules, field, &text) {
            Ok(read) => rules = read,
            Err(reason) => problems.push(SchemaProblem {
                path: format!("{PROGRAMME}/{}", field.key()),
                reason,
            }),
        }
    }
    match rules.check() {
        Ok(()) => rules,
        Err(reason) => {
            problems.push(SchemaProblem {
                path: PROGRAMME.to_owned(),
                reason,
            });
            d
        }
    }
}

/// `rules` with the governance setting `field` read from its stored
/// `text` (a field that is not a setting leaves them as they are).
///
/// # Errors
/// The text does not read as the setting.
pub(crate) fn with_setting(
    mut rules: Governance,
    field: ProgrammeField,
    text: &str,
) -> Result<Governance, String> {
    let bad = || format!("{}: not a setting Plait can read", field.key());
    let number = || text.parse::<u32>().map_err(|_| bad());
    match field {
        ProgrammeField::Endorsement => rules.endorsement = text.parse().map_err(|_| bad())?,
        ProgrammeField::ReauditWindowDays => rules.reaudit_window_days = number()?,
        ProgrammeField::ReauditCount => rules.reaudit_count = number()?,
        ProgrammeField::ReauditSpacingMonths => rules.reaudit_spacing_months = number()?,
        ProgrammeField::Name
        | ProgrammeField::DigestDay
        | ProgrammeField::DigestTime
        | ProgrammeField::Trust
        | ProgrammeField::Rating
        | ProgrammeField::OversightSegment
        | ProgrammeField::ReportDate
        | ProgrammeField::WarningNotice => {}
    }
    Ok(rules)
}

/// The governance settings of the programme document `txn` reads, without
/// opening a write transaction (the admission asks it while deciding).
pub(crate) fn governance_of<T: ReadTxn>(txn: &T) -> Governance {
    match txn.get_map(PROGRAMME) {
        Some(map) => governance_in(&map, txn, &mut Vec::new()),
        None => Governance::DEFAULT,
    }
}
