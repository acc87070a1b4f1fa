//! Closing a programme, and its archive for the records manager.
//!
//! `POST /api/programmes/{id}/close` (its admin): the programme becomes an
//! archive. Everyone keeps reading it; nobody changes anything in it again
//! (every document answers as to a viewer, members, plans, imports and
//! evidence are refused); the closing is in the audit trail; members'
//! live connections close and come back read-only. A server administrator
//! can open it again (`POST /api/programmes/{id}/reopen`), also recorded.
//!
//! `GET /api/programmes/{id}/archive` (its admin, closed or not): one ZIP a
//! records manager can keep: `README.txt`, the master tracker
//! (`master-tracker.xlsx` and `.csv`), `audit-trail.csv` (every record of
//! every document of the programme, one row per change or refusal),
//! `documents/` (each document's whole state as a Yjs update, readable by
//! any Yjs tool or `plait`), `evidence/` with `evidence.csv` (every
//! evidence file its members may read, with who uploaded it and when).

use std::io::Write;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use plait_shared::access::administers;
use plait_shared::api::AuditRecord;
use plait_shared::changes::Change;
use plait_shared::{DocId, UnixMillis};

use crate::export::{to_csv, to_xlsx, Table};
use crate::extract::{AdminOf, AdminTask, ProgrammeOnly, ReadDoc, Superuser};
use crate::routes::programmes::{master_tracker, read_programme};
use crate::{AppError, AppState};

/// Closing a programme.
#[derive(Debug)]
pub(crate) struct CloseProgramme;

impl AdminTask for CloseProgramme {
    const REFUSAL: &'static str = "only the programme's admin can close it";
}

/// Opening a closed programme again.
#[derive(Debug)]
pub(crate) struct ReopenProgramme;

impl AdminTask for ReopenProgramme {
    const REFUSAL: &'static str = "only a server administrator can open a closed programme again";
}

fn record(authed: &crate::auth::Authed, programme: &DocId, change: Change) -> AuditRecord {
    AuditRecord {
        seq: 0,
        at: crate::clock::now_millis(),
        doc: programme.clone(),
        user: authed.user.username.clone(),
        session: authed.key.short(),
        device: authed.session.device.clone(),
        bytes: 0,
        changes: vec![change],
        refused: Vec::new(),
    }
}

/// `POST /api/programmes/{id}/close`.
pub(crate) async fn close(
    State(state): State<AppState>,
    admin: AdminOf<CloseProgramme>,
) -> Result<Response, AppError> {
    let accounts = state.accounts.clone();
    let audit = state.audit.clone();
    let entry = record(&admin.authed, &admin.id, Change::Closed(true));
    let (id, by) = (admin.id.clone(), admin.authed.user.username.clone());
    tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        if !accounts.close_programme(&id, &by)? {
            return Err(AppError::Conflict("the programme is closed already".into()));
        }
        audit.record(entry)?;
        Ok(())
    })
    .await??;
    state.registry.flush().await?;
    tracing::info!(programme = %admin.id, by = %admin.authed.user.username, "programme closed and archived");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/programmes/{id}/reopen`.
pub(crate) async fn reopen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    admin: Superuser<ReopenProgramme>,
) -> Result<Response, AppError> {
    let id = DocId::new(id)?;
    let accounts = state.accounts.clone();
    let audit = state.audit.clone();
    let entry = record(&admin.authed, &id, Change::Closed(false));
    let programme = id.clone();
    tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        if !accounts.reopen_programme(&programme)? {
            return Err(AppError::Conflict("the programme is not closed".into()));
        }
        audit.record(entry)?;
        Ok(())
    })
    .await??;
    state.registry.flush().await?;
    tracing::info!(programme = %id, by = %admin.authed.user.username, "programme opened again");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The audit trail as one table: a row per change and per refusal.
fn audit_table(records: &[AuditRecord]) -> Table {
    let mut rows = Vec::new();
    for r in records {
        let base = |change: &Change| {
            vec![
                r.seq.to_string(),
                crate::clock::utc_text(r.at),
                r.doc.to_string(),
                r.user.to_string(),
                r.session.clone(),
                r.device.clone(),
                change.action().map(ToString::to_string).unwrap_or_default(),
                change.to_string(),
            ]
        };
        for change in &r.changes {
            let mut row = base(change);
            row.extend([String::new(), String::new()]);
            rows.push(row);
        }
        for refused in &r.refused {
            let mut row = base(&refused.change);
            row.extend(["refused".to_owned(), refused.reason.clone()]);
            rows.push(row);
        }
    }
    Table {
        title: "Audit trail".into(),
        headers: [
            "Record", "When", "Document", "User", "Session", "Device", "Action", "Change",
            "Outcome", "Reason",
        ]
        .iter()
        .map(|h| (*h).to_owned())
        .collect(),
        rows,
    }
}

/// `GET /api/programmes/{id}/archive`.
pub(crate) async fn archive(
    State(state): State<AppState>,
    ReadDoc { id, authed, .. }: ReadDoc<ProgrammeOnly>,
) -> Result<Response, AppError> {
    if !authed.user.role_in(&id).is_some_and(administers) {
        return Err(state.denied(AppError::Forbidden(
            "only the programme's admin can take its archive".into(),
        )));
    }
    let (programme, plans) = read_programme(&state, &id).await?;
    let today = crate::clock::now_millis();
    let tracker = master_tracker(
        &programme,
        &plans,
        UnixMillis(i64::try_from(today).unwrap_or(i64::MAX)).date(),
    );
    let mut docs = vec![id.clone()];
    docs.extend(plans.iter().map(|(plan, _)| plan.clone()));
    let mut states = Vec::new();
    for doc in &docs {
        if let Some(bytes) = state.registry.existing_state(doc).await? {
            states.push((doc.clone(), bytes));
        }
    }
    let accounts = state.accounts.clone();
    let audit = state.audit.clone();
    let blobs = state.blobs.clone();
    let name = programme.info.name.clone();
    let trust = programme.info.trust.clone();
    let of = id.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, AppError> {
        let closed = accounts.closed(&of)?;
        let mut records = Vec::new();
        for doc in &docs {
            let mut found = audit.history(doc, None, usize::MAX)?;
            found.reverse();
            records.extend(found);
        }
        records.sort_by_key(|r| (r.at, r.seq));
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        let files = blobs.of_programme(&of)?;
        let readme = format!(
            "{name} ({trust}): the programme's archive, taken {taken} by Plait {version}.\n\
             {status}\n\n\
             master-tracker.xlsx, master-tracker.csv  every action of every plan, as the trust's tracker\n\
             audit-trail.csv                          every change and refusal of every document ({records} records)\n\
             documents/*.yjs                          each document's whole state (a Yjs update, v1)\n\
             evidence.csv, evidence/                  the {evidence} evidence file(s) its members may read\n\n\
             Keep it as the programme's governance record (NHS records retention: improvement and\n\
             governance records are kept for years). The Yjs documents are the record itself; the\n\
             tables are readings of it.\n",
            taken = crate::clock::utc_text(today),
            version = env!("CARGO_PKG_VERSION"),
            status = match &closed {
                Some(c) => format!("Closed and archived (read-only) {} by {}.", crate::clock::utc_text(c.at), c.by),
                None => "Open (not closed): this is a copy as it stood when taken.".to_owned(),
            },
            records = records.len(),
            evidence = files.len(),
        );
        zip.start_file("README.txt", options)?;
        zip.write_all(readme.as_bytes())?;
        zip.start_file("master-tracker.xlsx", options)?;
        zip.write_all(&to_xlsx(std::slice::from_ref(&tracker))?)?;
        zip.start_file("master-tracker.csv", options)?;
        zip.write_all(&to_csv(std::slice::from_ref(&tracker))?)?;
        zip.start_file("audit-trail.csv", options)?;
        zip.write_all(&to_csv(&[audit_table(&records)])?)?;
        for (doc, bytes) in &states {
            zip.start_file(format!("documents/{doc}.yjs"), options)?;
            zip.write_all(bytes)?;
        }
        let mut rows = Vec::new();
        for (hash, meta) in &files {
            if let Some(bytes) = blobs.get(hash)? {
                zip.start_file(format!("evidence/{hash}"), options)?;
                zip.write_all(&bytes)?;
            }
            rows.push(vec![
                hash.clone(),
                meta.content_type.clone(),
                meta.size.to_string(),
                meta.uploaded_by.to_string(),
                crate::clock::utc_text(meta.uploaded_at),
            ]);
        }
        let index = Table {
            title: "Evidence files".into(),
            headers: ["SHA-256 (file name)", "Type", "Bytes", "Uploaded by", "Uploaded"]
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            rows,
        };
        zip.start_file("evidence.csv", options)?;
        zip.write_all(&to_csv(&[index])?)?;
        Ok(zip.finish()?.into_inner())
    })
    .await??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}-archive.zip\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        built,
    )
        .into_response())
}
