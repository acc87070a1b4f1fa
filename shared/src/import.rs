//! Importing a CQC action plan from the CSV layouts trusts keep.
//!
//! [`parse_csv`] reads and checks every row, reporting each bad cell with its
//! row number (the header is row 1, as in a spreadsheet), column and reason;
//! a row with any error is not imported, and nothing is guessed. [`ImportPlan`]
//! then groups the good rows into one plan per workstream (or per core service
//! when there is no workstream) and writes them into the documents.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use yrs::TransactionMut;

use crate::doc::WriteError;
use crate::entries::{LogEntry, ProgressUpdate, Sustainment, Transition};
use crate::ids::{ActionId, Date, DocId, FindingId, PhaseId, UnixMillis, UserId, WorkstreamId};
use crate::plan::{NewAction, NewFinding, PlanDoc, PlanInfo};
use crate::programme::{Phase, PlanEntry, ProgrammeDoc, Workstream};
use crate::vocab::{
    fold_label, Colour, Confidence, FindingKind, KeyQuestion, Regulation, Role, Status,
};
use crate::workflow::{new_entry_id, DEFAULT_REAUDIT_MONTHS};

/// A column Plait understands, with the header spellings trusts use for it.
/// Serialised as its [`Column::key`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    /// The finding's and action's reference.
    Ref,
    /// Must Do, Should Do, ...
    Kind,
    /// Regulations breached.
    Regulation,
    /// Safe, effective, ...
    KeyQuestion,
    /// The core service.
    CoreService,
    /// The site.
    Location,
    /// What the regulator required.
    Requirement,
    /// What the trust will do.
    Action,
    /// More detail on the action.
    Description,
    /// What "done" means.
    ClosureCriteria,
    /// The workstream delivering it.
    Workstream,
    /// The programme phase.
    Phase,
    /// The accountable executive.
    ExecLead,
    /// Who delivers it.
    Owner,
    /// When it is due.
    DueDate,
    /// Where it has got to.
    Status,
    /// The owner's confidence.
    Confidence,
    /// The latest progress note, kept as the action's first progress update.
    LatestUpdate,
    /// The colour the tracker reported (RAG/BRAG), kept beside the derived
    /// one; never read as confidence or status.
    ReportedColour,
}

impl Column {
    /// Every column, in the order Plait writes them.
    pub const ALL: [Column; 19] = [
        Column::Ref,
        Column::Kind,
        Column::Regulation,
        Column::KeyQuestion,
        Column::CoreService,
        Column::Location,
        Column::Requirement,
        Column::Action,
        Column::Description,
        Column::ClosureCriteria,
        Column::Workstream,
        Column::Phase,
        Column::ExecLead,
        Column::Owner,
        Column::DueDate,
        Column::Status,
        Column::Confidence,
        Column::LatestUpdate,
        Column::ReportedColour,
    ];

    /// The header Plait writes, and names in error messages.
    pub fn name(self) -> &'static str {
        self.spellings()[0]
    }

    /// The stable key a mapping names it by ("exec_lead").
    pub fn key(self) -> &'static str {
        match self {
            Column::Ref => "ref",
            Column::Kind => "kind",
            Column::Regulation => "regulation",
            Column::KeyQuestion => "key_question",
            Column::CoreService => "core_service",
            Column::Location => "location",
            Column::Requirement => "requirement",
            Column::Action => "action",
            Column::Description => "description",
            Column::ClosureCriteria => "closure_criteria",
            Column::Workstream => "workstream",
            Column::Phase => "phase",
            Column::ExecLead => "exec_lead",
            Column::Owner => "owner",
            Column::DueDate => "due_date",
            Column::Status => "status",
            Column::Confidence => "confidence",
            Column::LatestUpdate => "latest_update",
            Column::ReportedColour => "reported_colour",
        }
    }

    /// Whether an import needs this column.
    pub fn is_required(self) -> bool {
        Column::REQUIRED.contains(&self)
    }

    fn spellings(self) -> &'static [&'static str] {
        match self {
            Column::Ref => &[
                "Ref",
                "Reference",
                "Ref no",
                "Action ref",
                "Action no",
                "Action number",
                "No",
                "ID",
            ],
            Column::Kind => &[
                "Type",
                "Finding type",
                "Kind",
                "Must/Should",
                "Must do/Should do",
                "Category",
            ],
            Column::Regulation => &[
                "Regulation",
                "Regulations",
                "Reg",
                "Regulation breached",
                "HSCA regulation",
            ],
            Column::KeyQuestion => &["Key question", "Domain", "CQC domain", "KLOE"],
            Column::CoreService => &["Core service", "Service"],
            Column::Location => &["Location", "Site", "Ward", "Location/site"],
            Column::Requirement => &[
                "CQC requirement",
                "Requirement",
                "Finding",
                "CQC finding",
                "Issue",
                "What CQC said",
            ],
            Column::Action => &[
                "Trust action",
                "Action",
                "Actions",
                "Action required",
                "Improvement action",
                "What we will do",
            ],
            Column::Description => &["Description", "Detail", "Action detail"],
            Column::ClosureCriteria => &[
                "Closure criteria",
                "Measure of success",
                "Success measure",
                "Evidence of completion",
            ],
            Column::Workstream => &["Workstream", "Work stream", "Theme"],
            Column::Phase => &["Phase"],
            Column::ExecLead => &[
                "Executive lead",
                "Exec lead",
                "Executive director",
                "Lead director",
                "Director lead",
            ],
            Column::Owner => &["Owner", "Action owner", "Responsible", "Operational lead"],
            Column::DueDate => &[
                "Due date",
                "Due",
                "Deadline",
                "Target date",
                "Completion date",
                "Date due",
            ],
            Column::Status => &["Status", "Action status", "Progress status"],
            // A tracker's "RAG" (or "BRAG") column is the colour someone
            // reported (Red, Amber, Green, Blue), not the owner's
            // confidence: it is kept as the reported colour.
            Column::Confidence => &["Confidence", "Delivery confidence"],
            Column::ReportedColour => &[
                "Reported colour",
                "RAG",
                "BRAG",
                "RAG status",
                "BRAG status",
                "RAG rating",
                "RAG colour",
            ],
            Column::LatestUpdate => &[
                "Latest update",
                "Update",
                "Progress update",
                "Latest position",
                "Progress",
                "Comments",
                "Narrative",
            ],
        }
    }

    fn from_header(header: &str) -> Option<Column> {
        let folded = fold_label(header);
        Column::ALL
            .into_iter()
            .find(|column| column.spellings().iter().any(|s| fold_label(s) == folded))
    }

    /// Columns an import cannot do without.
    const REQUIRED: [Column; 4] = [
        Column::Ref,
        Column::Kind,
        Column::Requirement,
        Column::Action,
    ];
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem with one cell (or row, or the header).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    /// The spreadsheet row: 1 is the header, 2 the first data row.
    pub row: usize,
    /// The column's header as written in the file ("" for the whole row).
    pub column: String,
    /// What is wrong, in words a programme manager can act on.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "row {}: {}", self.row, self.reason)
        } else {
            write!(f, "row {}, {}: {}", self.row, self.column, self.reason)
        }
    }
}

/// One good row: a finding and the action answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The spreadsheet row it came from.
    pub row: usize,
    /// The finding.
    pub finding: NewFinding,
    /// The action (its workstream and phase ids are set when planned).
    pub action: NewAction,
    /// The workstream's name ("" if none).
    pub workstream: String,
    /// The phase's name ("" if none).
    pub phase: String,
    /// The status the spreadsheet gives (`None`: a new, draft action).
    pub status: Option<Status>,
    /// The owner as the spreadsheet names them ("D. Hughes"); the action's
    /// owner is set once the name is matched to an account
    /// ([`ParsedImport::assign_owners`]).
    pub owner_name: String,
    /// The latest progress note ("" if none).
    pub latest_update: String,
    /// The colour the tracker reported, if it has the column.
    pub reported_colour: Option<Colour>,
}

/// How each column of a file is read: the header as written (trimmed) and
/// the Plait column it fills, or `None` to leave it out. Headers not named
/// here are guessed from the spellings trusts use.
pub type ColumnChoices = BTreeMap<String, Option<Column>>;

/// One column of the file and how it is read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ColumnUse {
    /// The header as written.
    pub header: String,
    /// The Plait column it fills (`None`: not imported).
    pub column: Option<Column>,
    /// Whether that was guessed from the header (not chosen).
    pub guessed: bool,
}

/// What [`parse_csv`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedImport {
    /// The rows with no errors.
    pub rows: Vec<ImportRow>,
    /// Every problem found; a row with any is not in `rows`.
    pub errors: Vec<RowError>,
    /// Columns in the file that Plait does not import.
    pub ignored_columns: Vec<String>,
    /// The spreadsheet row of the header (rows above it, a title, are
    /// skipped).
    pub header_row: usize,
    /// Every column of the header, in file order, with what it fills.
    pub columns: Vec<ColumnUse>,
}

/// The moment an import records the file's statuses at: the last moment of
/// `as_at` (the tracker's day), or `now` if that is sooner or there is no
/// such day. The import itself is audited at its real moment.
pub fn statuses_moment(as_at: Option<Date>, now: UnixMillis) -> UnixMillis {
    const DAY_MS: i64 = 86_400_000;
    as_at.map_or(now, |day| {
        UnixMillis((day.unix_millis() + DAY_MS - 1).min(now.0))
    })
}

impl ParsedImport {
    /// Whether every row can be imported.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// The day the file's statuses were true, as its rows tell: the newest
    /// date that opens a row's latest update ("12/08/2022: Survey done"),
    /// not after `today`. None when no update is dated.
    pub fn dated_as_at(&self, today: Date) -> Option<Date> {
        self.rows
            .iter()
            .filter_map(|row| {
                let (head, _) = row.latest_update.split_once(':')?;
                (head.len() <= 20)
                    .then(|| Date::parse_loose(head).ok())
                    .flatten()
            })
            .filter(|day| *day <= today)
            .max()
    }

    /// The people the rows name, each with whether they are named as an
    /// owner and as an executive lead, in name order.
    pub fn people(&self) -> Vec<(String, bool, bool)> {
        let mut people: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        for row in &self.rows {
            if !row.owner_name.is_empty() {
                people.entry(row.owner_name.clone()).or_default().0 = true;
            }
            if !row.action.exec_lead.is_empty() {
                people.entry(row.action.exec_lead.clone()).or_default().1 = true;
            }
        }
        people
            .into_iter()
            .map(|(name, (owner, lead))| (name, owner, lead))
            .collect()
    }

    /// Sets each row's owner to the account its owner's name maps to
    /// (`account_of` gives `None` for a name left unassigned).
    pub fn assign_owners(&mut self, account_of: impl Fn(&str) -> Option<UserId>) {
        for row in &mut self.rows {
            row.action.owner = if row.owner_name.is_empty() {
                None
            } else {
                account_of(&row.owner_name)
            };
        }
    }
}

/// Reads a CSV action plan (UTF-8, with or without a byte-order mark).
pub fn parse_csv(input: &[u8]) -> ParsedImport {
    parse_csv_with(input, &ColumnChoices::new())
}

/// Reads a CSV action plan with the columns read as `choices` says.
pub fn parse_csv_with(input: &[u8], choices: &ColumnChoices) -> ParsedImport {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    parse_records(
        reader
            .byte_records()
            .map(|record| record.map_err(|e| e.to_string())),
        choices,
    )
}

/// Reads an action plan given as rows of cells, the first row the header:
/// what a spreadsheet reader (XLSX) hands over. Dates may be ISO
/// (`2026-03-31`) or any UK form [`crate::Date::parse_loose`] accepts.
pub fn parse_rows<R, C>(rows: impl IntoIterator<Item = R>, choices: &ColumnChoices) -> ParsedImport
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    parse_records(
        rows.into_iter().map(|row| {
            Ok(csv::ByteRecord::from(
                row.into_iter()
                    .map(|cell| cell.as_ref().as_bytes().to_vec())
                    .collect::<Vec<_>>(),
            ))
        }),
        choices,
    )
}

/// How far down a title block may push the header.
const HEADER_SEARCH_ROWS: usize = 12;

fn is_blank(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

fn parse_records(
    records: impl Iterator<Item = Result<csv::ByteRecord, String>>,
    choices: &ColumnChoices,
) -> ParsedImport {
    let mut out = ParsedImport::default();
    let mut records = records
        .enumerate()
        .map(|(index, record)| (index + 1, record));
    // The header is the first row that names every required column; a
    // title, a date line or blank rows above it are skipped. When no row
    // does, the first non-blank row is reported as the header.
    let mut first: Option<(usize, csv::ByteRecord)> = None;
    let mut found = None;
    for (row, record) in records.by_ref() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                out.errors.push(RowError {
                    row,
                    column: String::new(),
                    reason: format!("the header cannot be read: {e}"),
                });
                return out;
            }
        };
        if is_blank(&record) {
            if row >= HEADER_SEARCH_ROWS {
                break;
            }
            continue;
        }
        let mut trial = ParsedImport::default();
        if let Some(layout) = read_header(row, &record, choices, &mut trial) {
            out.columns = trial.columns;
            out.ignored_columns = trial.ignored_columns;
            out.header_row = row;
            found = Some(layout);
            break;
        }
        first.get_or_insert((row, record));
        if row >= HEADER_SEARCH_ROWS {
            break;
        }
    }
    let Some(layout) = found else {
        match first {
            Some((row, record)) => {
                read_header(row, &record, choices, &mut out);
                out.header_row = row;
            }
            None => out.errors.push(RowError {
                row: 1,
                column: String::new(),
                reason: "the file is empty".into(),
            }),
        }
        return out;
    };

    let mut seen_refs: HashMap<String, usize> = HashMap::new();
    for (row, record) in records {
        match record {
            Ok(record) => {
                if record
                    .iter()
                    .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
                {
                    // Spreadsheets end with blank rows; they are not errors.
                    continue;
                }
                if let Some(parsed) =
                    read_row(row, &record, &layout, &mut seen_refs, &mut out.errors)
                {
                    out.rows.push(parsed);
                }
            }
            Err(e) => out.errors.push(RowError {
                row,
                column: String::new(),
                reason: format!("the row cannot be read: {e}"),
            }),
        }
    }
    out
}

struct Layout {
    columns: BTreeMap<Column, (usize, String)>,
    width: usize,
}

impl Layout {
    fn header(&self, column: Column) -> String {
        self.columns
            .get(&column)
            .map_or_else(|| column.name().to_owned(), |(_, header)| header.clone())
    }
}

fn read_header(
    row: usize,
    header: &csv::ByteRecord,
    choices: &ColumnChoices,
    out: &mut ParsedImport,
) -> Option<Layout> {
    let mut columns: BTreeMap<Column, (usize, String)> = BTreeMap::new();
    let mut ok = true;
    for (i, raw) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(raw) else {
            out.errors.push(RowError {
                row,
                column: format!("column {}", i + 1),
                reason: "the header is not UTF-8 text (save the sheet as \"CSV UTF-8\")".into(),
            });
            ok = false;
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let chosen = choices
            .iter()
            .find(|(header, _)| fold_label(header) == fold_label(name))
            .map(|(_, column)| *column);
        let column = chosen.unwrap_or_else(|| Column::from_header(name));
        out.columns.push(ColumnUse {
            header: name.to_owned(),
            column,
            guessed: chosen.is_none(),
        });
        match column {
            Some(column) => {
                if let Some((_, first)) = columns.get(&column) {
                    out.errors.push(RowError {
                        row,
                        column: name.to_owned(),
                        reason: format!("means the same as the column {first:?}; keep only one"),
                    });
                    ok = false;
                } else {
                    columns.insert(column, (i, name.to_owned()));
                }
            }
            None => out.ignored_columns.push(name.to_owned()),
        }
    }
    for column in Column::REQUIRED {
        if !columns.contains_key(&column) {
            out.errors.push(RowError {
                row,
                column: column.name().to_owned(),
                reason: format!(
                    "missing column (accepted headers: {})",
                    column.spellings().join(", ")
                ),
            });
            ok = false;
        }
    }
    ok.then_some(Layout {
        columns,
        width: header.len(),
    })
}

fn read_row(
    row: usize,
    record: &csv::ByteRecord,
    layout: &Layout,
    seen_refs: &mut HashMap<String, usize>,
    errors: &mut Vec<RowError>,
) -> Option<ImportRow> {
    if record
        .iter()
        .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
    {
        return None; // a blank line holds nothing to import
    }
    let before = errors.len();
    if record.len() > layout.width
        && record
            .iter()
            .skip(layout.width)
            .any(|c| !c.trim_ascii().is_empty())
    {
        errors.push(RowError {
            row,
            column: String::new(),
            reason: format!(
                "the row has {} cells but the header names {} columns",
                record.len(),
                layout.width
            ),
        });
    }
    let mut cell = |column: Column| -> String {
        let Some((index, _)) = layout.columns.get(&column) else {
            return String::new();
        };
        let raw = record.get(*index).unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(text) => text.trim().to_owned(),
            Err(_) => {
                errors.push(RowError {
                    row,
                    column: layout.header(column),
                    reason: "not UTF-8 text (save the sheet as \"CSV UTF-8\")".into(),
                });
                String::new()
            }
        }
    };
    let reference = cell(Column::Ref);
    let kind_text = cell(Column::Kind);
    let regulations_text = cell(Column::Regulation);
    let key_question_text = cell(Column::KeyQuestion);
    let core_service = cell(Column::CoreService);
    let location = cell(Column::Location);
    let requirement = cell(Column::Requirement);
    let action_text = cell(Column::Action);
    let description = cell(Column::Description);
    let closure_criteria = cell(Column::ClosureCriteria);
    let workstream = cell(Column::Workstream);
    let phase = cell(Column::Phase);
    let exec_lead = cell(Column::ExecLead);
    let owner_text = cell(Column::Owner);
    let due_text = cell(Column::DueDate);
    let status_text = cell(Column::Status);
    let confidence_text = cell(Column::Confidence);
    let latest_update = cell(Column::LatestUpdate);
    let reported_text = cell(Column::ReportedColour);

    let mut fail = |column: Column, reason: String| {
        errors.push(RowError {
            row,
            column: layout.header(column),
            reason,
        });
    };
    if reference.is_empty() {
        fail(Column::Ref, "missing reference".into());
    } else if slug(&reference).is_empty() {
        fail(
            Column::Ref,
            "a reference needs at least one letter or digit".into(),
        );
    } else if reference.chars().count() > 64 {
        fail(
            Column::Ref,
            "a reference can be at most 64 characters".into(),
        );
    } else if let Some(first) = seen_refs.get(&slug(&reference)) {
        fail(
            Column::Ref,
            format!("duplicate reference {reference:?} (first on row {first})"),
        );
    } else {
        seen_refs.insert(slug(&reference), row);
    }
    let kind = if kind_text.is_empty() {
        fail(
            Column::Kind,
            "missing type (Must Do, Should Do, ...)".into(),
        );
        None
    } else {
        FindingKind::parse_loose(&kind_text)
            .map_err(|e| fail(Column::Kind, e.to_string()))
            .ok()
    };
    let mut regulations = Vec::new();
    for part in split_list(&regulations_text) {
        match Regulation::parse_loose(part) {
            Ok(regulation) if !regulations.contains(&regulation) => regulations.push(regulation),
            Ok(_) => {}
            Err(_) => fail(
                Column::Regulation,
                format!(
                    "unknown regulation {part:?} (expected 4 to 7 or 9 to 20A, as \"12\", \"Reg 12\" or \"Reg 12(2)(a)\")"
                ),
            ),
        }
    }
    let key_question = optional(&key_question_text, KeyQuestion::parse_loose)
        .map_err(|e| fail(Column::KeyQuestion, e.to_string()))
        .ok()
        .flatten();
    if requirement.is_empty() {
        fail(
            Column::Requirement,
            "missing text of the requirement".into(),
        );
    }
    if action_text.is_empty() {
        fail(Column::Action, "missing text of the action".into());
    }
    if workstream.is_empty() && core_service.is_empty() {
        fail(
            Column::Workstream,
            "missing workstream (or core service): every action belongs to a plan".into(),
        );
    }
    if owner_text.chars().count() > 128 {
        fail(Column::Owner, "a name can be at most 128 characters".into());
    }
    let due = optional(&due_text, Date::parse_loose)
        .map_err(|e| fail(Column::DueDate, e.to_string()))
        .ok()
        .flatten();
    let status = optional(&status_text, Status::parse_loose)
        .map_err(|e| fail(Column::Status, e.to_string()))
        .ok()
        .flatten();
    let confidence = optional(&confidence_text, Confidence::parse_loose)
        .map_err(|e| fail(Column::Confidence, e.to_string()))
        .ok()
        .flatten();
    let reported_colour = optional(&reported_text, Colour::parse_loose)
        .map_err(|e| {
            fail(
                Column::ReportedColour,
                format!("{e} (Red, Amber, Green or Blue)"),
            )
        })
        .ok()
        .flatten();

    if errors.len() > before {
        // One reason per cell: an unreadable cell is not also "missing".
        let mut seen = std::collections::HashSet::new();
        let mut index = before;
        while index < errors.len() {
            if seen.insert(errors[index].column.clone()) {
                index += 1;
            } else {
                errors.remove(index);
            }
        }
        return None;
    }
    let kind = kind?;
    Some(ImportRow {
        row,
        finding: NewFinding {
            reference: reference.clone(),
            kind,
            // Enforcement sets a date ("…, by 30 June 2022"); a Must Do
            // that happens to say "by" is the trust's date, not CQC's.
            deadline: matches!(
                kind,
                FindingKind::WarningNotice
                    | FindingKind::Section31
                    | FindingKind::RequirementNotice
            )
            .then(|| crate::plan::deadline_in(&requirement))
            .flatten(),
            text: requirement,
            regulations,
            key_question,
            core_service,
            location,
            source: String::new(),
        },
        action: NewAction {
            reference,
            title: action_text,
            description,
            finding_ids: Vec::new(),
            workstream_id: None,
            phase_id: None,
            exec_lead,
            owner: None,
            due,
            confidence,
            closure_criteria,
        },
        workstream,
        phase,
        status: status.filter(|s| *s != Status::Draft),
        owner_name: owner_text,
        latest_update,
        reported_colour,
    })
}

fn optional<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<Option<T>, E> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

/// Splits "12, 17", "Reg 12; Reg 17", "12/17" and "12 and 17".
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ';', '/', '&', '\n'])
        .flat_map(|part| part.split(" and "))
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

/// Lower-case letters and digits joined by single dashes: "Phase 1" → "phase-1".
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Whether `id` can name a programme: a document id with no `_` (plan ids
/// are `{programme}_{plan}`).
pub fn is_programme_id(id: &DocId) -> bool {
    !id.as_str().contains('_')
}

/// The programme a plan id names (`demo_clinical-records` → `demo`), if it
/// is a plan id.
pub fn programme_of_plan(id: &DocId) -> Option<&str> {
    id.as_str().split_once('_').map(|(programme, _)| programme)
}

fn id_from<T>(
    prefix: &str,
    text: &str,
    make: impl Fn(String) -> Result<T, crate::ids::InvalidId>,
) -> Result<T, WriteError> {
    let mut id = format!("{prefix}{}", slug(text));
    id.truncate(128);
    make(id.trim_end_matches('-').to_owned()).map_err(|e| WriteError::Unstorable(e.to_string()))
}

/// The requirement a reference belongs to: "MD001.2" and "MD001-2" are
/// actions of the requirement "MD001" (a separator, then one to three
/// digits or one letter); a reference with no such ending is its own.
pub fn reference_stem(reference: &str) -> &str {
    let reference = reference.trim();
    if let Some(at) = reference.rfind(['.', '-', '/']) {
        let (stem, tail) = (&reference[..at], &reference[at + 1..]);
        let digits =
            !tail.is_empty() && tail.len() <= 3 && tail.bytes().all(|b| b.is_ascii_digit());
        let letter = tail.len() == 1 && tail.bytes().all(|b| b.is_ascii_alphabetic());
        if (digits || letter) && stem.chars().any(|c| c.is_ascii_alphanumeric()) {
            return stem.trim();
        }
    }
    reference
}

/// One plan document an import creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPlan {
    /// Its document id.
    pub doc_id: DocId,
    /// Its header.
    pub info: PlanInfo,
    /// Its findings (one per requirement), in order of first appearance.
    pub findings: Vec<(FindingId, NewFinding)>,
    /// Its rows, with ids.
    pub items: Vec<PlannedItem>,
}

/// One row, placed: the ids its finding and action get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedItem {
    /// The spreadsheet row.
    pub row: usize,
    /// The finding's id.
    pub finding_id: FindingId,
    /// The action's id.
    pub action_id: ActionId,
    /// The row.
    pub source: ImportRow,
}

/// Where an import's rows go: the programme's new workstreams and phases, and
/// one plan per workstream (or core service). Ids are derived from names and
/// references, so the same file always gives the same ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportPlan {
    /// Workstreams named by the rows.
    pub workstreams: BTreeMap<WorkstreamId, Workstream>,
    /// Phases named by the rows.
    pub phases: BTreeMap<PhaseId, Phase>,
    /// The plans, in order of first appearance.
    pub plans: Vec<PlannedPlan>,
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ImportSummary {
    /// Findings created.
    pub findings: usize,
    /// Actions created.
    pub actions: usize,
    /// Plans written to.
    pub plans: usize,
}

impl ImportPlan {
    /// Places `rows` into plans of the programme `programme_id`.
    ///
    /// A plan's id is the programme's, a `_`, and the plan's name made an
    /// id (`demo_clinical-records`; [`slug`] makes no `_`); programme ids
    /// have no `_` ([`is_programme_id`]), so a plan id names its programme
    /// and can be neither another programme's plan nor another programme.
    ///
    /// # Errors
    /// [`WriteError::Unstorable`] if an id cannot be formed (a programme id
    /// with a `_`, or too long to prefix plan ids with).
    pub fn new(programme_id: &DocId, rows: &[ImportRow]) -> Result<ImportPlan, WriteError> {
        if !is_programme_id(programme_id) {
            return Err(WriteError::Unstorable(format!(
                "{programme_id} cannot name a programme: a programme's id has no '_'"
            )));
        }
        let mut plan = ImportPlan::default();
        let mut exec_leads: BTreeMap<WorkstreamId, Vec<&str>> = BTreeMap::new();
        // One finding per requirement: rows of a plan that share a
        // reference stem, or the requirement's text, answer one finding.
        let mut by_text: HashMap<(DocId, FindingKind, String), FindingId> = HashMap::new();
        for row in rows {
            let workstream_id = if row.workstream.is_empty() {
                None
            } else {
                let id = id_from("ws-", &row.workstream, WorkstreamId::new)?;
                plan.workstreams
                    .entry(id.clone())
                    .or_insert_with(|| Workstream {
                        name: row.workstream.clone(),
                        exec_lead: String::new(),
                    });
                exec_leads
                    .entry(id.clone())
                    .or_default()
                    .push(&row.action.exec_lead);
                Some(id)
            };
            let phase_id = if row.phase.is_empty() {
                None
            } else {
                let id = id_from("ph-", &row.phase, PhaseId::new)?;
                plan.phases.entry(id.clone()).or_insert_with(|| Phase {
                    name: row.phase.clone(),
                    starts: None,
                    ends: None,
                    goal: String::new(),
                    exit_criteria: String::new(),
                });
                Some(id)
            };
            let plan_name = if row.workstream.is_empty() {
                &row.finding.core_service
            } else {
                &row.workstream
            };
            let doc_id = id_from(&format!("{programme_id}_"), plan_name, DocId::new)?;
            let index = match plan.plans.iter().position(|p| p.doc_id == doc_id) {
                Some(index) => index,
                None => {
                    plan.plans.push(PlannedPlan {
                        doc_id,
                        info: PlanInfo {
                            title: plan_name.clone(),
                            programme_id: Some(programme_id.clone()),
                            workstream_id: workstream_id.clone(),
                            core_service: if row.workstream.is_empty() {
                                row.finding.core_service.clone()
                            } else {
                                String::new()
                            },
                            location: String::new(),
                        },
                        findings: Vec::new(),
                        items: Vec::new(),
                    });
                    plan.plans.len() - 1
                }
            };
            let planned = &mut plan.plans[index];
            let stem = reference_stem(&row.finding.reference);
            let text_key = (
                planned.doc_id.clone(),
                row.finding.kind,
                fold_label(&row.finding.text),
            );
            let stem_id = id_from("f-", stem, FindingId::new)?;
            let finding_id = if planned.findings.iter().any(|(id, _)| id == &stem_id) {
                stem_id
            } else {
                by_text.get(&text_key).cloned().unwrap_or(stem_id)
            };
            match planned
                .findings
                .iter_mut()
                .find(|(id, _)| id == &finding_id)
            {
                Some((_, finding)) => {
                    for regulation in &row.finding.regulations {
                        if !finding.regulations.contains(regulation) {
                            finding.regulations.push(regulation.clone());
                        }
                    }
                }
                None => {
                    let mut finding = row.finding.clone();
                    finding.reference = stem.to_owned();
                    planned.findings.push((finding_id.clone(), finding));
                    by_text
                        .entry(text_key)
                        .or_insert_with(|| finding_id.clone());
                }
            }
            let action_id = id_from("a-", &row.action.reference, ActionId::new)?;
            let mut source = row.clone();
            source.action.finding_ids = vec![finding_id.clone()];
            source.action.workstream_id = workstream_id;
            source.action.phase_id = phase_id;
            plan.plans[index].items.push(PlannedItem {
                row: row.row,
                finding_id,
                action_id,
                source,
            });
        }
        // A workstream's executive lead is named only when its rows agree.
        for (id, leads) in exec_leads {
            if let (Some(first), Some(ws)) = (leads.first(), plan.workstreams.get_mut(&id)) {
                if leads.iter().all(|lead| lead == first) {
                    ws.exec_lead = (*first).to_owned();
                }
            }
        }
        Ok(plan)
    }

    /// Writes the workstreams, phases and plan index into the programme.
    /// Existing entries with the same ids keep their details.
    pub fn write_programme(&self, programme: &ProgrammeDoc, txn: &mut TransactionMut) {
        let existing = programme.read(txn);
        for (id, workstream) in &self.workstreams {
            if !existing.workstreams.contains_key(id) {
                programme.put_workstream(txn, id, workstream);
            }
        }
        for (id, phase) in &self.phases {
            if !existing.phases.contains_key(id) {
                programme.put_phase(txn, id, phase);
            }
        }
        for plan in &self.plans {
            if !existing.plans.contains_key(&plan.doc_id) {
                programme.put_plan(
                    txn,
                    &plan.doc_id,
                    &PlanEntry {
                        title: plan.info.title.clone(),
                        workstream_id: plan.info.workstream_id.clone(),
                        core_service: plan.info.core_service.clone(),
                    },
                );
            }
        }
    }

    /// Writes one planned plan into its document: the header if the plan is
    /// new, every finding not there yet and every action, and for each row
    /// with a status a baseline transition recorded as `importer` (a
    /// programme manager). A status past "in progress" is a claim: the
    /// action arrives imported, awaiting validation
    /// ([`crate::lifecycle::landing`]); one claimed closed or embedded also
    /// gets its re-audits scheduled ([`DEFAULT_REAUDIT_MONTHS`] after the
    /// day it was due, or the import's day if that is earlier). A row's
    /// latest update becomes the action's first progress note.
    ///
    /// # Errors
    /// [`WriteError::AlreadyExists`] when an action id is already in the
    /// document. Check with [`PlannedPlan::conflicts`] first: a failed write
    /// leaves part of the rows in the transaction.
    pub fn write_plan(
        planned: &PlannedPlan,
        plan: &PlanDoc,
        txn: &mut TransactionMut,
        importer: &UserId,
        at: UnixMillis,
    ) -> Result<ImportSummary, WriteError> {
        let existing = plan.read(txn);
        if existing.info.title.is_empty() {
            plan.set_info(txn, &planned.info);
        }
        let mut summary = ImportSummary {
            plans: 1,
            ..Default::default()
        };
        for (id, finding) in &planned.findings {
            if !existing.findings.contains_key(id) {
                plan.add_finding(txn, id, finding)?;
                summary.findings += 1;
            }
        }
        let who = crate::workflow::Who {
            user: importer,
            role: Role::Admin,
            at,
        };
        for item in &planned.items {
            plan.add_action(txn, &item.action_id, &item.source.action)?;
            plan.set_created(txn, &item.action_id, at)?;
            if let Some(colour) = item.source.reported_colour {
                plan.set_action_field(
                    txn,
                    &item.action_id,
                    &crate::plan::ActionField::ReportedColour(Some(colour)),
                )?;
            }
            summary.actions += 1;
            // Entry ids: unique per row within the import's moment.
            let salt = u32::try_from(item.row).unwrap_or(u32::MAX).wrapping_mul(8);
            if let Some(status) = item.source.status {
                let baseline = Transition {
                    to: status,
                    by: importer.clone(),
                    role: Role::Admin,
                    at,
                    note: format!("Imported with status {status} (row {})", item.row),
                    baseline: true,
                };
                plan.append(txn, &item.action_id, &LogEntry::Transition(baseline))?;
                if matches!(status, Status::Closed | Status::Embedded) {
                    let today = at.date();
                    let closed = item
                        .source
                        .action
                        .due
                        .filter(|due| *due <= today)
                        .unwrap_or(today);
                    for (n, months) in DEFAULT_REAUDIT_MONTHS.iter().enumerate() {
                        plan.append(
                            txn,
                            &item.action_id,
                            &LogEntry::Sustainment(Sustainment::Scheduled {
                                id: new_entry_id("s", &who, salt + 1 + n as u32),
                                due: closed.add_months(*months),
                                by: importer.clone(),
                                at,
                            }),
                        )?;
                    }
                }
            }
            if !item.source.latest_update.is_empty() {
                plan.append(
                    txn,
                    &item.action_id,
                    &LogEntry::Progress(ProgressUpdate {
                        id: new_entry_id("u", &who, salt + 4),
                        text: item.source.latest_update.clone(),
                        by: importer.clone(),
                        at,
                        confidence: None,
                    }),
                )?;
            }
        }
        Ok(summary)
    }
}

impl PlannedPlan {
    /// The rows whose ids or references are already in the plan, as errors.
    pub fn conflicts<T: yrs::ReadTxn>(&self, plan: &PlanDoc, txn: &T) -> Vec<RowError> {
        let view = plan.read(txn);
        let refs: HashMap<String, &ActionId> = view
            .actions
            .values()
            .map(|a| (slug(&a.reference), &a.id))
            .collect();
        // A finding already in the plan is answered by the new actions too.
        self.items
            .iter()
            .filter(|item| {
                view.actions.contains_key(&item.action_id)
                    || refs.contains_key(&slug(&item.source.action.reference))
            })
            .map(|item| RowError {
                row: item.row,
                column: Column::Ref.name().to_owned(),
                reason: format!(
                    "reference {:?} is already in the plan {:?}",
                    item.source.action.reference, view.info.title
                ),
            })
            .collect()
    }
}
