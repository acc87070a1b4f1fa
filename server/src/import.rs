//! Importing a CQC action plan (CSV or XLSX) into a programme, with the same
//! checks from the web page and from `plait import`: every row error found
//! before anything is written, duplicate references within the file and
//! against the plans already there, and all-or-nothing unless the caller
//! chooses to import only the valid rows.
//!
//! Writes go through the registry like any client's update (checked as the
//! importing admin, audited, sent to everyone connected): an import while
//! the ward teams are working merges with their edits.

use std::collections::BTreeSet;
use std::io::Cursor;

use calamine::{Data, Reader};
use plait_shared::api::{CreatedAccount, ImportOptions, PersonChoice, PersonMatch};
use plait_shared::import::{
    parse_csv_with, parse_rows, slug, ColumnChoices, ImportPlan, ImportSummary, ParsedImport,
    RowError,
};
use plait_shared::{
    new_doc, DocId, PlanDoc, ProgrammeDoc, ProgrammeInfo, Role, UnixMillis, UserId,
};
use yrs::updates::decoder::Decode;
use yrs::{ReadTxn, Transact, Update};

use crate::auth::{Access, DocKind};
use crate::AppState;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values, UTF-8.
    Csv,
    /// An Excel workbook (the first sheet).
    Xlsx,
}

impl Format {
    /// The format a file name or a `format=` value names; XLSX files are
    /// also recognised by their first bytes (a ZIP archive).
    pub fn guess(name: &str, bytes: &[u8]) -> Format {
        let name = name.to_ascii_lowercase();
        if name.ends_with("xlsx") || name.ends_with("xlsm") || bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// Reads the file into rows and row errors, its columns read as `columns`
/// says (the rest guessed from their headers).
pub fn read(bytes: &[u8], format: Format, columns: &ColumnChoices) -> ParsedImport {
    match format {
        Format::Csv => parse_csv_with(bytes, columns),
        Format::Xlsx => match read_xlsx(bytes) {
            Ok(rows) => parse_rows(rows, columns),
            Err(reason) => ParsedImport {
                errors: vec![RowError {
                    row: 1,
                    column: String::new(),
                    reason,
                }],
                ..Default::default()
            },
        },
    }
}

/// The first worksheet's cells as text: dates as ISO days, whole numbers
/// without a decimal point.
fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("the workbook cannot be read: {e}"))?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheets")?;
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| format!("the sheet {sheet:?} cannot be read: {e}"))?;
    Ok(range
        .rows()
        .map(|row| row.iter().map(cell_text).collect())
        .collect())
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            let (year, month, day, ..) = d.to_ymd_hms_milli();
            format!("{year:04}-{month:02}-{day:02}")
        }
        Data::DateTime(d) => d.to_string(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

pub use plait_shared::api::{ImportPreview as Preview, PlanPreview};

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has errors and the caller wanted all or nothing.
    #[error("the file has {} problem(s); nothing was imported", .0.len())]
    Refused(Vec<RowError>),
    /// Nothing to import.
    #[error("there are no rows to import")]
    Empty,
    /// The import cannot be made as asked (a programme id that cannot be
    /// one, a document id in use outside the programme).
    #[error("{0}")]
    Invalid(String),
    /// Storage or the registry failed.
    #[error("{0}")]
    Failed(String),
}

impl From<ImportError> for crate::AppError {
    fn from(e: ImportError) -> crate::AppError {
        match e {
            ImportError::Refused(_) | ImportError::Empty | ImportError::Invalid(_) => {
                crate::AppError::BadRequest(e.to_string())
            }
            ImportError::Failed(detail) => crate::AppError::Unavailable(detail),
        }
    }
}

/// The document `id` of `programme` as stored (`None`: it does not exist
/// yet). An import reads and writes only its own programme's documents: one
/// that exists and belongs to another programme, or to none, is never read
/// or adopted (it is refused as an id in use, the same answer whichever it
/// is).
async fn own_state(
    state: &AppState,
    programme: &DocId,
    id: &DocId,
) -> Result<Option<yrs::Doc>, ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let accounts = state.accounts.clone();
    let of = id.clone();
    let owner = tokio::task::spawn_blocking(move || accounts.programme_of(&of))
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
    let in_use = || ImportError::Invalid(format!("the id {id} is in use: choose another name"));
    match owner {
        Some(owner) if &owner == programme => plan_state(state, id).await,
        Some(_) => Err(in_use()),
        None => match plan_state(state, id).await? {
            Some(_) => Err(in_use()),
            None => Ok(None),
        },
    }
}

async fn plan_state(state: &AppState, id: &DocId) -> Result<Option<yrs::Doc>, ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let Some(bytes) = state
        .registry
        .existing_state(id)
        .await
        .map_err(|e| failed(&e))?
    else {
        return Ok(None);
    };
    let doc = new_doc();
    doc.transact_mut()
        .apply_update(Update::decode_v1(&bytes).map_err(|e| failed(&e))?)
        .map_err(|e| failed(&e))?;
    Ok(Some(doc))
}

/// Folds a name for matching: "D. Hughes", "d hughes" and "D.HUGHES" agree.
fn fold_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Who each person the file names will be: the choice made in `options`,
/// else the one account whose display name or user name matches theirs
/// (among the programme's members, or every account for a server
/// administrator), else nothing.
async fn match_people(
    state: &AppState,
    programme: &DocId,
    parsed: &ParsedImport,
    options: &ImportOptions,
    actor: &crate::accounts::UserInfo,
) -> Result<Vec<PersonMatch>, ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let accounts = state.accounts.clone();
    let (of, superuser) = (programme.clone(), actor.superuser);
    // The accounts are read on a blocking thread (sled), off the runtime.
    let candidates: Vec<crate::accounts::UserInfo> =
        tokio::task::spawn_blocking(move || -> Result<_, ImportError> {
            if superuser {
                accounts.list().map_err(|e| failed(&e))
            } else {
                Ok(accounts
                    .members(&of)
                    .map_err(|e| failed(&e))?
                    .into_iter()
                    .map(|(user, _)| user)
                    .collect())
            }
        })
        .await
        .map_err(|e| failed(&e))??;
    let mut by_name: std::collections::HashMap<String, Option<UserId>> =
        std::collections::HashMap::new();
    for user in candidates.iter().filter(|u| !u.disabled) {
        let mut keys = vec![fold_name(&user.name), fold_name(user.username.as_str())];
        keys.extend(user.email.as_deref().map(fold_name));
        keys.dedup();
        for key in keys {
            by_name
                .entry(key)
                .and_modify(|found| {
                    if found.as_ref() != Some(&user.username) {
                        *found = None; // two accounts answer to it: ask
                    }
                })
                .or_insert_with(|| Some(user.username.clone()));
        }
    }
    let mut people = Vec::new();
    for (name, owner, lead) in parsed.people() {
        let chosen = options
            .people
            .iter()
            .find(|(written, _)| fold_name(written) == fold_name(&name))
            .map(|(_, choice)| choice.clone());
        if let Some(PersonChoice::Account(user)) = &chosen {
            if state
                .accounts
                .user(user.as_str())
                .map_err(|e| failed(&e))?
                .is_none()
            {
                return Err(ImportError::Invalid(format!(
                    "{name:?} is mapped to {user}, which is not an account"
                )));
            }
        }
        let matched = by_name
            .get(&fold_name(&name))
            .cloned()
            .flatten()
            .map(PersonChoice::Account);
        let fallback = options.unmatched.clone().filter(|_| owner);
        people.push(PersonMatch {
            name,
            owner,
            lead,
            matched: chosen.is_none() && matched.is_some(),
            choice: chosen.or(matched).or(fallback),
        });
    }
    Ok(people)
}

/// The rows whose owner is a name nobody has decided about.
fn unmatched_owners(parsed: &ParsedImport, people: &[PersonMatch]) -> Vec<RowError> {
    let undecided: BTreeSet<&str> = people
        .iter()
        .filter(|p| p.owner && p.choice.is_none())
        .map(|p| p.name.as_str())
        .collect();
    parsed
        .rows
        .iter()
        .filter(|row| undecided.contains(row.owner_name.as_str()))
        .map(|row| RowError {
            row: row.row,
            column: "Owner".into(),
            reason: format!(
                "{:?} matches no account: map them to an account, create one, or leave the action unassigned",
                row.owner_name
            ),
        })
        .collect()
}

/// Checks an import without writing anything.
///
/// # Errors
/// [`ImportError::Failed`] when the programme's documents cannot be read.
pub async fn preview(
    state: &AppState,
    programme: &DocId,
    parsed: &ParsedImport,
    options: &ImportOptions,
    actor: &crate::accounts::UserInfo,
) -> Result<Preview, ImportError> {
    if !plait_shared::import::is_programme_id(programme) {
        return Err(ImportError::Invalid(format!(
            "{programme} cannot name a programme: a programme's id has no '_'"
        )));
    }
    let today = crate::clock::today();
    if options.statuses_as_at.is_some_and(|day| day > today) {
        return Err(ImportError::Invalid(
            "the day the statuses were true cannot be in the future".into(),
        ));
    }
    let read_as_at = parsed.dated_as_at(today);
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let planned = ImportPlan::new(programme, &parsed.rows).map_err(|e| failed(&e))?;
    let people = match_people(state, programme, parsed, options, actor).await?;
    let mut errors = parsed.errors.clone();
    errors.extend(unmatched_owners(parsed, &people));
    // References already anywhere in the programme (a reference names one
    // action across the programme, whichever plan holds it).
    let mut known: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    if let Some(doc) = own_state(state, programme, programme).await? {
        let listed = ProgrammeDoc::new(doc.clone()).read(&doc.transact()).plans;
        for id in listed.keys() {
            // Only the programme's own plans, whatever its index lists.
            if let Ok(Some(doc)) = own_state(state, programme, id).await {
                let view = PlanDoc::new(doc.clone()).read(&doc.transact());
                for action in view.actions.values() {
                    known.insert(slug(&action.reference), view.info.title.clone());
                }
            }
        }
    }
    let mut plans = Vec::new();
    for plan in &planned.plans {
        let existing = own_state(state, programme, &plan.doc_id).await?;
        let mut found = match &existing {
            Some(doc) => plan.conflicts(&PlanDoc::new(doc.clone()), &doc.transact()),
            None => Vec::new(),
        };
        for item in &plan.items {
            let reference = &item.source.action.reference;
            if found.iter().all(|e| e.row != item.row) {
                if let Some(title) = known.get(&slug(reference)) {
                    found.push(RowError {
                        row: item.row,
                        column: "Ref".into(),
                        reason: format!("reference {reference:?} is already in the plan {title:?}"),
                    });
                }
            }
        }
        errors.extend(found);
        plans.push(PlanPreview {
            doc_id: plan.doc_id.clone(),
            title: plan.info.title.clone(),
            new: existing.is_none(),
            actions: plan.items.len(),
        });
    }
    errors.sort_by(|a, b| a.row.cmp(&b.row).then_with(|| a.column.cmp(&b.column)));
    let bad_rows: BTreeSet<usize> = errors.iter().map(|e| e.row).collect();
    let importable = parsed
        .rows
        .iter()
        .filter(|r| !bad_rows.contains(&r.row))
        .count();
    let programme_exists = state
        .accounts
        .programme_of(programme)
        .map_err(|e| failed(&e))?
        .is_some();
    let rows = parsed.rows.len()
        + parsed
            .errors
            .iter()
            .map(|e| e.row)
            .filter(|&r| r > 1)
            .collect::<BTreeSet<_>>()
            .len();
    Ok(Preview {
        programme: programme.clone(),
        programme_exists,
        rows,
        importable,
        actions: importable,
        plans,
        errors,
        ignored_columns: parsed.ignored_columns.clone(),
        header_row: parsed.header_row,
        columns: parsed.columns.clone(),
        people,
        findings: planned.plans.iter().map(|p| p.findings.len()).sum(),
        statuses_as_at: options.statuses_as_at.or(read_as_at),
        statuses_as_at_read: options.statuses_as_at.is_none() && read_as_at.is_some(),
    })
}

/// A user name for a new account from a person's name: "D. Hughes" →
/// "d.hughes" (then "d.hughes2", … if taken).
fn new_username(state: &AppState, name: &str) -> Result<UserId, ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let mut base = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.is_empty() && !base.ends_with('.') {
            base.push('.');
        }
    }
    let base = base.trim_matches('.').chars().take(48).collect::<String>();
    let base = if base.is_empty() {
        "person".to_owned()
    } else {
        base
    };
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}{n}")
        };
        if state
            .accounts
            .user(&candidate)
            .map_err(|e| failed(&e))?
            .is_none()
        {
            return UserId::new(candidate).map_err(|e| ImportError::Invalid(e.to_string()));
        }
    }
    Err(ImportError::Invalid(format!(
        "no free user name for {name:?}"
    )))
}

/// Creates the accounts chosen to be created, gives everyone the file
/// names a role in the programme if they have none (owners contribute,
/// executive leads lead), and sets each row's owner.
fn settle_people(
    state: &AppState,
    programme: &DocId,
    parsed: &mut ParsedImport,
    people: &[PersonMatch],
) -> Result<Vec<CreatedAccount>, ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let mut created = Vec::new();
    let mut accounts: std::collections::HashMap<String, UserId> = std::collections::HashMap::new();
    for person in people {
        let role = if person.owner {
            Role::Contributor
        } else {
            Role::Lead
        };
        let user = match &person.choice {
            Some(PersonChoice::Account(user)) => user.clone(),
            Some(PersonChoice::Create) => {
                // A tracker may name someone by their e-mail address: the
                // user name is its local part, and the address is kept.
                let email = person.name.contains('@').then(|| person.name.trim());
                let base = email
                    .and_then(|e| e.split('@').next())
                    .unwrap_or(&person.name);
                let username = new_username(state, base)?;
                // A one-time password: they choose their own at first sign-in.
                let (_, password) = state
                    .accounts
                    .add_invited(username.as_str(), &person.name)
                    .map_err(|e| failed(&e))?;
                if let Some(email) = email {
                    // An address already another account's stays theirs.
                    let _ = state.accounts.set_email(username.as_str(), Some(email));
                }
                created.push(CreatedAccount {
                    username: username.clone(),
                    name: person.name.clone(),
                    password,
                    role,
                });
                username
            }
            Some(PersonChoice::Unassigned) | None => continue,
        };
        let info = state
            .accounts
            .user(user.as_str())
            .map_err(|e| failed(&e))?
            .ok_or_else(|| ImportError::Invalid(format!("{user} is not an account")))?;
        if info.role_in(programme).is_none() {
            state
                .accounts
                .grant(user.as_str(), programme, Some(role))
                .map_err(|e| failed(&e))?;
        }
        accounts.insert(person.name.clone(), user);
    }
    parsed.assign_owners(|name| accounts.get(name).cloned());
    // An executive lead who is an account holds the action in their
    // portfolio by user name.
    for row in &mut parsed.rows {
        if let Some(user) = accounts.get(&row.action.exec_lead) {
            row.action.exec_lead = user.to_string();
        }
    }
    Ok(created)
}

/// Imports the rows as `actor` (an admin of the programme, or a server
/// administrator for a new programme named `name`). With `valid_only`,
/// rows with errors are skipped; without, any error refuses the import.
///
/// # Errors
/// [`ImportError`].
#[allow(clippy::too_many_arguments)]
pub async fn run(
    state: &AppState,
    programme: &DocId,
    name: Option<&str>,
    parsed: &ParsedImport,
    options: &ImportOptions,
    valid_only: bool,
    actor: &Access,
    actor_info: &crate::accounts::UserInfo,
) -> Result<(ImportSummary, Preview, Vec<CreatedAccount>), ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let preview = preview(state, programme, parsed, options, actor_info).await?;
    if !preview.errors.is_empty() && !valid_only {
        return Err(ImportError::Refused(preview.errors));
    }
    let bad_rows: BTreeSet<usize> = preview.errors.iter().map(|e| e.row).collect();
    if parsed.rows.iter().all(|r| bad_rows.contains(&r.row)) {
        return Err(ImportError::Empty);
    }
    // Password hashing is slow: off the async threads.
    let (parsed, created) = {
        let (state, programme, people) = (state.clone(), programme.clone(), preview.people.clone());
        let mut parsed = parsed.clone();
        tokio::task::spawn_blocking(move || {
            settle_people(&state, &programme, &mut parsed, &people).map(|c| (parsed, c))
        })
        .await
        .map_err(|e| failed(&e))??
    };
    let rows: Vec<_> = parsed
        .rows
        .iter()
        .filter(|r| !bad_rows.contains(&r.row))
        .cloned()
        .collect();
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    let planned = ImportPlan::new(programme, &rows).map_err(|e| failed(&e))?;
    // Every document it writes is the programme's own or new: checked for
    // all of them before anything is written.
    own_state(state, programme, programme).await?;
    for plan in &planned.plans {
        own_state(state, programme, &plan.doc_id).await?;
    }
    let now = UnixMillis(i64::try_from(crate::clock::now_millis()).unwrap_or(i64::MAX));
    // The statuses as the tracker had them on its day: the trend starts
    // there (the audit trail keeps the import's real moment).
    let statuses_at = plait_shared::import::statuses_moment(preview.statuses_as_at, now);
    state
        .accounts
        .set_programme_of(programme, programme)
        .map_err(|e| failed(&e))?;
    let mut total = ImportSummary::default();
    for plan in &planned.plans {
        state
            .accounts
            .set_programme_of(&plan.doc_id, programme)
            .map_err(|e| failed(&e))?;
        let doc = plan_state(state, &plan.doc_id)
            .await?
            .unwrap_or_else(new_doc);
        let before = doc.transact().state_vector();
        let view = PlanDoc::new(doc.clone());
        let summary = {
            let mut txn = doc.transact_mut();
            ImportPlan::write_plan(plan, &view, &mut txn, &actor.user, statuses_at)
                .map_err(|e| failed(&e))?
        };
        total.plans += summary.plans;
        total.findings += summary.findings;
        total.actions += summary.actions;
        let update = doc.transact().encode_state_as_update_v1(&before);
        apply(state, &plan.doc_id, &update, actor, DocKind::Plan).await?;
    }
    // The programme's index last: once it lists a plan, the plan is there.
    let doc = plan_state(state, programme).await?.unwrap_or_else(new_doc);
    let before = doc.transact().state_vector();
    let index = ProgrammeDoc::new(doc.clone());
    {
        let mut txn = doc.transact_mut();
        let info = index.read(&txn).info;
        if info.name.is_empty() {
            index.set_info(
                &mut txn,
                &ProgrammeInfo {
                    name: name.unwrap_or(programme.as_str()).to_owned(),
                    ..info
                },
            );
        }
        planned.write_programme(&index, &mut txn);
    }
    let update = doc.transact().encode_state_as_update_v1(&before);
    apply(state, programme, &update, actor, DocKind::Programme).await?;
    Ok((total, preview, created))
}

async fn apply(
    state: &AppState,
    id: &DocId,
    update: &[u8],
    actor: &Access,
    kind: DocKind,
) -> Result<(), ImportError> {
    let failed = |e: &dyn std::fmt::Display| ImportError::Failed(e.to_string());
    let lease = state.registry.lease(id).await.map_err(|e| failed(&e))?;
    let access = Access {
        kind,
        ..actor.clone()
    };
    let applied = state
        .registry
        .apply_update(&lease, None, update, &access.author())
        .await
        .map_err(|e| failed(&e))?;
    if let Some(refused) = applied.refused.first() {
        return Err(ImportError::Failed(format!(
            "the import was refused: {}",
            refused.reason
        )));
    }
    applied.durable().await.map_err(|e| failed(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn xlsx_reads_like_csv() {
        let rows: &[&[&str]] = &[
            &[
                "Ref",
                "Type",
                "CQC requirement",
                "Trust action",
                "Workstream",
                "Due date",
                "Status",
            ],
            &[
                "MD001",
                "Must Do",
                "Fix the doors",
                "Fit door closers",
                "Estates",
                "31/03/2026",
                "In progress",
            ],
            &[],
            &["MD002", "Banana", "x", "y", "Estates", "not a date", ""],
        ];
        let bytes = xlsx(rows);
        assert_eq!(Format::guess("plan.bin", &bytes), Format::Xlsx);
        let parsed = read(&bytes, Format::Xlsx, &ColumnChoices::new());
        assert_eq!(parsed.rows.len(), 1, "{:?}", parsed.errors);
        assert_eq!(parsed.rows[0].action.reference, "MD001");
        let rows_with_errors: BTreeSet<usize> = parsed.errors.iter().map(|e| e.row).collect();
        assert_eq!(rows_with_errors, BTreeSet::from([4]), "{:?}", parsed.errors);
        assert!(parsed.errors.iter().any(|e| e.column == "Type"));
        assert!(parsed.errors.iter().any(|e| e.column == "Due date"));
    }

    #[test]
    fn real_dates_and_numbers_in_cells() {
        assert_eq!(cell_text(&Data::Float(12.0)), "12");
        assert_eq!(cell_text(&Data::Float(1.5)), "1.5");
        assert_eq!(
            cell_text(&Data::DateTimeIso("2026-03-31T00:00:00".into())),
            "2026-03-31"
        );
    }
}
