//! `GET /api/docs/{plan}/findings/{finding}/pack`: a finding's evidence
//! pack for CQC, as a ZIP: `index.html` (a printable page: the finding,
//! then each action with its evidence, verdicts and assurance), `index.csv`
//! (the same index as a table) and `files/` (every evidence file the
//! server holds, once each). The index is shared's
//! ([`plait_shared::pack`]).

use std::io::Write;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plait_shared::pack::{evidence_pack, EvidencePack};
use plait_shared::{FindingId, PlanDoc, UserId};
use yrs::Transact;

use crate::auth::DocKind;
use crate::export::{to_csv, Table};
use crate::extract::{DocRoute, ReadDoc};
use crate::routes::programmes::read_view;
use crate::{AppError, AppState};

/// Text safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The printable index: the finding as CQC worded it, then the table.
fn index_html(pack: &EvidencePack, rows: &[Vec<String>], trust: &str) -> String {
    let f = &pack.finding;
    let regulations: Vec<String> = f.regulations.iter().map(ToString::to_string).collect();
    let mut facts = vec![
        ("Reference", f.reference.clone()),
        (
            "Type",
            f.kind.map(|k| k.label().to_owned()).unwrap_or_default(),
        ),
        ("Regulations", regulations.join(", ")),
        (
            "Key question",
            f.key_question
                .map(|q| q.label().to_owned())
                .unwrap_or_default(),
        ),
        ("Core service", f.core_service.clone()),
        ("Location", f.location.clone()),
    ];
    if let Some(deadline) = f.compliance.deadline {
        facts.push(("CQC's compliance deadline", deadline.long()));
    }
    if let Some(lifted) = f.compliance.lifted_on {
        facts.push((
            "Lifted",
            format!("{} by {}", lifted.long(), f.compliance.lifted_by),
        ));
    }
    let facts: String = facts
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v)))
        .collect();
    let head: String = EvidencePack::HEADERS
        .iter()
        .map(|h| format!("<th scope=\"col\">{}</th>", escape(h)))
        .collect();
    let body: String = rows
        .iter()
        .map(|row| {
            let cells: String = row
                .iter()
                .map(|c| format!("<td>{}</td>", escape(c)))
                .collect();
            format!("<tr>{cells}</tr>")
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <title>Evidence pack: {reference}</title>\
         <style>body{{font-family:Arial,sans-serif;font-size:11pt;margin:1.5cm}}\
         dl{{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}}dt{{font-weight:bold}}\
         table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #999;padding:.3em;vertical-align:top;text-align:left}}\
         @page{{size:A4 landscape;margin:1cm}}</style></head><body>\
         <p>{trust}</p><h1>Evidence pack: {reference}</h1>\
         <blockquote>{text}</blockquote><dl>{facts}</dl>\
         <h2>What evidences it</h2><table><caption>Each action's evidence, with the verdicts on it</caption>\
         <thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\
         <p>Files are in the folder <code>files/</code> of this pack, named as in the column \"In the pack as\".</p>\
         </body></html>\n",
        reference = escape(&f.reference),
        trust = escape(trust),
        text = escape(&f.text),
    )
}

/// An evidence pack is of an action plan's finding.
#[derive(Debug)]
pub(crate) struct PackedPlan;

impl DocRoute for PackedPlan {
    const KIND: Option<DocKind> = Some(DocKind::Plan);

    fn wrong_kind() -> AppError {
        AppError::BadRequest("an evidence pack is of a finding of an action plan".into())
    }
}

/// `GET /api/docs/{doc}/findings/{finding}/pack`: the ZIP, for any member
/// of the plan's programme.
pub(crate) async fn evidence_pack_zip(
    State(state): State<AppState>,
    Path((_, finding)): Path<(String, String)>,
    ReadDoc { id, .. }: ReadDoc<PackedPlan>,
) -> Result<Response, AppError> {
    let finding = FindingId::new(finding)?;
    let programme = state.programme_of(&id).await?.ok_or(AppError::NotFound)?;
    let plan = read_view(&state, &id, |doc| {
        PlanDoc::new(doc.clone()).read(&doc.transact())
    })
    .await?;
    let pack = evidence_pack(&plan, &finding).ok_or(AppError::NotFound)?;
    let trust = read_view(&state, &programme, |doc| {
        plait_shared::ProgrammeDoc::new(doc.clone())
            .read(&doc.transact())
            .info
            .trust
    })
    .await?;
    let accounts = state.accounts.clone();
    let blobs = state.blobs.clone();
    let files = pack.files();
    let of = programme.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, AppError> {
        let names: std::collections::HashMap<String, String> = accounts
            .list()?
            .into_iter()
            .map(|u| (u.username.to_string(), u.name))
            .collect();
        let name = |user: &UserId| {
            names
                .get(user.as_str())
                .cloned()
                .unwrap_or_else(|| user.to_string())
        };
        let mut rows = pack.rows(&name);
        // A file the server does not hold (not uploaded yet) is said so.
        let mut held = std::collections::BTreeSet::new();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (file, sha) in &files {
            let bytes = match blobs.meta(sha)? {
                Some(meta) if meta.programmes.contains(&of) => blobs.get(sha)?,
                _ => None,
            };
            if let Some(bytes) = bytes {
                zip.start_file(format!("files/{file}"), options)?;
                zip.write_all(&bytes)?;
                held.insert(file.clone());
            }
        }
        let column = EvidencePack::HEADERS
            .iter()
            .position(|h| *h == "In the pack as")
            .unwrap_or(0);
        for (row, item) in rows.iter_mut().zip(&pack.items) {
            if let Some(file) = &item.file {
                if !held.contains(file) {
                    row[column] = "Not uploaded to the server yet".into();
                }
            }
        }
        let table = Table {
            title: format!("Evidence pack {}", pack.finding.reference),
            headers: EvidencePack::HEADERS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            rows: rows.clone(),
        };
        let csv = to_csv(&[table])?;
        zip.start_file("index.csv", options)?;
        zip.write_all(&csv)?;
        zip.start_file("index.html", options)?;
        zip.write_all(index_html(&pack, &rows, &trust).as_bytes())?;
        Ok(zip.finish()?.into_inner())
    })
    .await??;
    let name: String = format!("evidence-pack-{}", finding.as_str());
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.zip\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        built,
    )
        .into_response())
}
