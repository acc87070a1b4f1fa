//! Issuing a board paper: `POST /api/programmes/{id}/papers/{meeting}/issue`
//! with the paper's words. The server computes the figures from its own
//! copies of the programme's documents, as they stand at that moment
//! (`plait_shared::paper::body_for`, the same function the page uses), and
//! freezes words and figures as the paper's next version in the programme
//! document, recorded in the trail under the issuer's name. Members cannot
//! write an issued paper by editing (the admission refuses it), so what the
//! meeting was sent is what the paper shows afterwards.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use plait_shared::admission::schema::DocShape;
use plait_shared::changes::Change;
use plait_shared::keys::Root;
use plait_shared::paper::{body_for, IssuedPaper};
use plait_shared::{MeetingId, Paper, ProgrammeDoc};
use yrs::Transact;

use crate::auth::DocKind;
use crate::extract::{AdminOf, AdminTask};
use crate::routes::programmes::{edit_stored, read_programme};
use crate::{AppError, AppState};

/// Issuing a board paper to its meeting.
#[derive(Debug)]
pub(crate) struct IssuePaper;

impl AdminTask for IssuePaper {
    const REFUSAL: &'static str = "only the programme's admin issues its board papers";
}

/// One issue at a time on this server, so two issues of a paper cannot
/// both take the same version number.
fn issuing() -> &'static tokio::sync::Mutex<()> {
    static ISSUING: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    ISSUING.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// The longest a paper's words may be, in all (its cover, summary and
/// risks to delivery): a board paper, not a book.
const MAX_WORDS_BYTES: usize = 64 * 1024;

/// `POST /api/programmes/{id}/papers/{meeting}/issue` with the paper's
/// words ([`Paper`]; its `since` and `issues` are the server's and ignored):
/// 201 with the [`IssuedPaper`] frozen as the paper's next version.
pub(crate) async fn issue(
    State(state): State<AppState>,
    admin: AdminOf<IssuePaper>,
    Path((_, meeting)): Path<(String, String)>,
    Json(words): Json<Paper>,
) -> Result<Response, AppError> {
    let meeting = MeetingId::new(meeting)?;
    let size = [
        &words.agenda_item,
        &words.author,
        &words.lead,
        &words.purpose,
        &words.assurance,
        &words.recommendation,
        &words.risks,
        &words.summary,
        &words.delivery_risks,
    ]
    .iter()
    .map(|w| w.len())
    .sum::<usize>();
    if size > MAX_WORDS_BYTES {
        return Err(AppError::BadRequest(format!(
            "a board paper's words are at most {} KB",
            MAX_WORDS_BYTES / 1024
        )));
    }
    let id = &admin.id;
    let _one_at_a_time = issuing().lock().await;
    let (programme, plans) = read_programme(&state, id).await?;
    let Some(held) = programme.meetings.get(&meeting) else {
        return Err(AppError::BadRequest(format!(
            "the programme has no meeting {meeting}"
        )));
    };
    let now = crate::clock::now();
    let stored = programme.papers.get(&meeting).cloned().unwrap_or_default();
    let issued = IssuedPaper {
        version: stored.issues.len().max(
            programme
                .issued
                .get(&meeting)
                .and_then(|v| v.keys().next_back().copied())
                .unwrap_or(0),
        ) + 1,
        issued_at: now,
        issued_by: admin.authed.user.username.clone(),
        meeting: programme.meeting_name(held),
        words: Paper {
            since: stored.since,
            issues: Vec::new(),
            ..words
        },
        body: body_for(
            &programme,
            &meeting,
            &plans,
            None,
            now,
            now.date(),
            &|json| serde_json::from_str(json).ok(),
        ),
    };
    let json = serde_json::to_string(&issued).map_err(|e| {
        AppError::Store(crate::StoreError::Corrupt(format!(
            "an issued paper that does not write: {e}"
        )))
    })?;
    // Written on the server's copy of the programme, as the server, in the
    // issuer's name.
    let update = edit_stored(&state, id, |scratch| {
        ProgrammeDoc::new(scratch.clone()).issue_paper(
            &mut scratch.transact_mut(),
            &meeting,
            issued.version,
            issued.issued_at,
            &issued.words,
            &json,
        );
    })
    .await?;
    let access = admin.access(&state, DocKind::Programme).await?;
    let lease = state.registry.lease(id).await?;
    let applied = state
        .registry
        .apply_update(
            &lease,
            None,
            &update,
            &access.on_behalf(
                DocShape::Programme,
                vec![
                    Change::Programme(Root::Papers),
                    Change::Programme(Root::IssuedPapers),
                ],
            ),
        )
        .await?;
    applied.durable().await?;
    tracing::info!(user = %access.user, programme = %id, %meeting, version = issued.version, "board paper issued");
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}
