//! Programme-wide endpoints: importing an action plan, exporting a plan and
//! the board report.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plait_shared::api::{ExportQuery, ImportQuery};
use plait_shared::api::{ImportOptions, ImportRefused, Imported, NewProgramme, ProgrammeSummary};
use plait_shared::report::BoardReport;
use plait_shared::{Date, DocId, PlanDoc, PlanView, ProgrammeDoc, ProgrammeView, UnixMillis};
use yrs::{ReadTxn, Transact};

use crate::auth::{Access, DocKind};
use crate::export::{plan_table, report_tables, to_csv, to_xlsx, Table};
use crate::extract::{AdminOf, AdminTask, DocRoute, ProgrammeOnly, ReadDoc, SignedIn, Superuser};
use crate::import::{self, Format, ImportError};
use crate::{AppError, AppState};

pub(crate) async fn read_view<T>(
    state: &AppState,
    id: &DocId,
    read: impl FnOnce(&yrs::Doc) -> T,
) -> Result<T, AppError> {
    let lease = state.registry.lease(id).await?;
    let doc_state = lease.state().lock().await;
    Ok(read(doc_state.awareness.doc()))
}

/// The programme and every plan it lists, read from the server's copies.
pub(crate) async fn read_programme(
    state: &AppState,
    id: &DocId,
) -> Result<(ProgrammeView, Vec<(DocId, PlanView)>), AppError> {
    let programme = read_view(state, id, |doc| {
        ProgrammeDoc::new(doc.clone()).read(&doc.transact())
    })
    .await?;
    let mut plans = Vec::new();
    for plan_id in programme.plans.keys() {
        // Only the programme's own plans, whatever its index (which its
        // admin edits) lists.
        let owner = state.programme_of(plan_id).await?;
        if owner.as_ref() != Some(id) {
            continue;
        }
        let view = read_view(state, plan_id, |doc| {
            PlanDoc::new(doc.clone()).read(&doc.transact())
        })
        .await?;
        plans.push((plan_id.clone(), view));
    }
    Ok((programme, plans))
}

/// What `edit` does to the server's copy of document `id` (made on a
/// scratch copy), as an update to apply through the registry.
///
/// # Errors
/// [`AppError::NotFound`] for a document the server does not have; an
/// unreadable stored state.
pub(crate) async fn edit_stored(
    state: &AppState,
    id: &DocId,
    edit: impl FnOnce(&yrs::Doc),
) -> Result<Vec<u8>, AppError> {
    let stored = state
        .registry
        .existing_state(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let scratch = plait_shared::new_doc();
    scratch.transact_mut().apply_update(
        <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(&stored)?,
    )?;
    let before = scratch.transact().state_vector();
    edit(&scratch);
    let update = scratch.transact().encode_state_as_update_v1(&before);
    Ok(update)
}

/// Applies `update` to document `id` as `access` through the registry (the
/// rules, the audit trail, the fan-out), and waits until it is on disk; a
/// refusal is the request's error.
async fn apply_as(
    state: &AppState,
    id: &DocId,
    update: &[u8],
    access: &Access,
) -> Result<(), AppError> {
    let lease = state.registry.lease(id).await?;
    let applied = state
        .registry
        .apply_update(&lease, None, update, &access.author())
        .await?;
    if let Some(refused) = applied.refused.first() {
        return Err(AppError::BadRequest(refused.reason.clone()));
    }
    applied.durable().await?;
    Ok(())
}

/// `GET /api/programmes`: the programmes the account may open (its
/// grants; every programme for a server administrator), with their names.
pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(authed): SignedIn,
) -> Result<Response, AppError> {
    let accounts = state.accounts.clone();
    let all = tokio::task::spawn_blocking(move || accounts.docs_with_programmes()).await??;
    // Every programme, and whatever the account is granted, in the role it
    // has there (if any: a server administrator has one in every one).
    let ids: std::collections::BTreeSet<DocId> = all
        .into_iter()
        .filter_map(|(doc, programme)| (doc == programme).then_some(doc))
        .chain(authed.user.grants.keys().cloned())
        .collect();
    let mut list = Vec::new();
    for id in ids {
        let Some(role) = authed.user.role_in(&id) else {
            continue;
        };
        let info = read_view(&state, &id, |doc| {
            ProgrammeDoc::new(doc.clone()).read(&doc.transact()).info
        })
        .await?;
        list.push(ProgrammeSummary {
            id,
            name: info.name,
            trust: info.trust,
            role,
        });
    }
    list.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(list)).into_response())
}

/// Creating a programme.
#[derive(Debug)]
pub(crate) struct CreateProgramme;

impl AdminTask for CreateProgramme {
    const REFUSAL: &'static str = "only a server administrator can create a programme";
}

/// `POST /api/programmes` with [`NewProgramme`]: a new, empty programme,
/// created by a server administrator (its admins are then granted, and its
/// plans imported or added, from the set-up and import pages).
pub(crate) async fn create(
    State(state): State<AppState>,
    superuser: Superuser<CreateProgramme>,
    Json(new): Json<NewProgramme>,
) -> Result<Response, AppError> {
    let id = DocId::new(new.id.trim())?;
    if !plait_shared::import::is_programme_id(&id) {
        return Err(AppError::BadRequest(
            "a programme's id has letters, digits and '-' only".into(),
        ));
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "a programme needs a name (up to 200 characters)".into(),
        ));
    }
    let owner = state.programme_of(&id).await?;
    if owner.is_some() || state.registry.existing_state(&id).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "the id {id} is in use: choose another"
        )));
    }
    let doc = plait_shared::new_doc();
    let programme = ProgrammeDoc::new(doc.clone());
    {
        let mut txn = doc.transact_mut();
        programme.set_info(
            &mut txn,
            &plait_shared::ProgrammeInfo {
                name: name.to_owned(),
                trust: new.trust.trim().to_owned(),
                ..Default::default()
            },
        );
    }
    let update = doc
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    let accounts = state.accounts.clone();
    let of = id.clone();
    tokio::task::spawn_blocking(move || accounts.set_programme_of(&of, &of)).await??;
    let access = superuser.access(&state, &id, DocKind::Programme).await?;
    apply_as(&state, &id, &update, &access).await?;
    Ok((
        StatusCode::CREATED,
        Json(ProgrammeSummary {
            id,
            name: name.to_owned(),
            trust: new.trust.trim().to_owned(),
            role: access.role,
        }),
    )
        .into_response())
}

fn today(query: &ExportQuery) -> Result<Date, AppError> {
    match &query.today {
        Some(text) => Ok(Date::parse_iso(text)?),
        None => {
            Ok(UnixMillis(i64::try_from(crate::clock::now_millis()).unwrap_or(i64::MAX)).date())
        }
    }
}

fn file(tables: &[Table], format: Option<&str>, name: &str) -> Result<Response, AppError> {
    let (bytes, content_type, extension) = match format.unwrap_or("csv") {
        "csv" => (to_csv(tables)?, "text/csv; charset=utf-8", "csv"),
        "xlsx" => (
            to_xlsx(tables)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown format {other:?}: use csv or xlsx"
            )))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{extension}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// Only an action plan exports as a table.
#[derive(Debug)]
pub(crate) struct ExportedPlan;

impl DocRoute for ExportedPlan {
    const KIND: Option<DocKind> = Some(DocKind::Plan);

    fn wrong_kind() -> AppError {
        AppError::BadRequest("only an action plan exports as a table".into())
    }
}

/// `GET /api/docs/{plan}/export?format=csv|xlsx`: the plan's actions as a
/// table in the import layout.
pub(crate) async fn export_plan(
    State(state): State<AppState>,
    ReadDoc { id, .. }: ReadDoc<ExportedPlan>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let programme_id = state.programme_of(&id).await?.ok_or(AppError::NotFound)?;
    let programme = read_view(&state, &programme_id, |doc| {
        ProgrammeDoc::new(doc.clone()).read(&doc.transact())
    })
    .await?;
    let plan = read_view(&state, &id, |doc| {
        PlanDoc::new(doc.clone()).read(&doc.transact())
    })
    .await?;
    let table = plan_table(&programme, &plan, today(&query)?);
    file(&[table], query.format.as_deref(), id.as_str())
}

/// Every action of every plan of the programme as one table in the import
/// layout, by reference (the export, and the archive's tracker).
pub(crate) fn master_tracker(
    programme: &ProgrammeView,
    plans: &[(DocId, PlanView)],
    today: plait_shared::Date,
) -> Table {
    let mut tracker: Option<Table> = None;
    for (_, plan) in plans {
        let table = plan_table(programme, plan, today);
        match &mut tracker {
            Some(all) => all.rows.extend(table.rows),
            None => tracker = Some(table),
        }
    }
    let mut tracker = tracker.unwrap_or_else(|| plan_table(programme, &PlanView::default(), today));
    tracker.title = "Master tracker".into();
    tracker.rows.sort_by(|a, b| a.first().cmp(&b.first()));
    tracker
}

/// `GET /api/programmes/{id}/export?format=csv|xlsx`: the master tracker,
/// every action of every plan of the programme as one table in the import
/// layout (so it imports again).
pub(crate) async fn export_programme(
    State(state): State<AppState>,
    ReadDoc { id, .. }: ReadDoc<ProgrammeOnly>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let (programme, plans) = read_programme(&state, &id).await?;
    let tracker = master_tracker(&programme, &plans, today(&query)?);
    file(
        &[tracker],
        query.format.as_deref(),
        &format!("{id}-master-tracker"),
    )
}

/// `GET /api/programmes/{id}/report?format=json|csv|xlsx[&since=MS][&today=YYYY-MM-DD][&as_at=MS]`:
/// the board report's numbers and tables; with `as_at`, as they stood at
/// that moment (`plait_shared::report::plans_as_at`).
pub(crate) async fn report(
    State(state): State<AppState>,
    ReadDoc { id, .. }: ReadDoc<ProgrammeOnly>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let (programme, plans) = read_programme(&state, &id).await?;
    let since = UnixMillis(query.since.unwrap_or(0));
    let report = match query.as_at {
        Some(at) => {
            let at = UnixMillis(at);
            let then = plait_shared::report::plans_as_at(&plans, at);
            BoardReport::compute(&programme, &then, at.date(), since, 12)
        }
        None => BoardReport::compute(&programme, &plans, today(&query)?, since, 12),
    };
    if query.format.as_deref() == Some("json") {
        return Ok(([(header::CACHE_CONTROL, "no-store")], Json(report)).into_response());
    }
    file(
        &report_tables(&report),
        query.format.as_deref(),
        &format!("{id}-board-report"),
    )
}

/// Importing action plans into a programme (a server administrator's
/// import creates the programme).
#[derive(Debug)]
pub(crate) struct ImportPlans;

impl AdminTask for ImportPlans {
    const REFUSAL: &'static str = "only the programme's admin can import into it";
    const CREATES_PROGRAMME: bool = true;
}

/// `POST /api/programmes/{id}/import?mode=preview|import[&valid_only=1]`
/// with the file as the body: a preview of what would be created and every
/// row error, or the import itself (all or nothing unless `valid_only`).
/// Programme admins import into their programme; a new programme needs a
/// server administrator.
pub(crate) async fn import_plan(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    admin: AdminOf<ImportPlans>,
    body: Bytes,
) -> Result<Response, AppError> {
    let format = match query.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "unknown format {other:?}: use csv or xlsx"
            )))
        }
        None => Format::guess("", &body),
    };
    let options: ImportOptions = match query.options.as_deref() {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| AppError::BadRequest(format!("the import options cannot be read: {e}")))?,
        None => ImportOptions::default(),
    };
    let columns = options.columns.clone();
    let parsed = tokio::task::spawn_blocking(move || import::read(&body, format, &columns)).await?;
    let id = &admin.id;
    let actor = admin.authed.user.info();
    match query.mode.as_deref().unwrap_or("preview") {
        "preview" => {
            let preview = import::preview(&state, id, &parsed, &options, &actor).await?;
            Ok(Json(preview).into_response())
        }
        "import" => {
            let access = admin.access(&state, DocKind::Plan).await?;
            let valid_only = matches!(query.valid_only.as_deref(), Some("1" | "true"));
            match import::run(
                &state,
                id,
                query.name.as_deref(),
                &parsed,
                &options,
                valid_only,
                &access,
                &actor,
            )
            .await
            {
                Ok((summary, preview, accounts)) => Ok((
                    StatusCode::CREATED,
                    Json(Imported {
                        imported: summary,
                        skipped: preview.errors,
                        accounts,
                    }),
                )
                    .into_response()),
                Err(ImportError::Refused(errors)) => Ok((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(ImportRefused {
                        error: "the file has problems; nothing was imported".into(),
                        errors,
                    }),
                )
                    .into_response()),
                Err(e) => Err(e.into()),
            }
        }
        other => Err(AppError::BadRequest(format!(
            "unknown mode {other:?}: use preview or import"
        ))),
    }
}

/// Adding an action plan to a programme.
#[derive(Debug)]
pub(crate) struct AddPlan;

impl AdminTask for AddPlan {
    const REFUSAL: &'static str = "only the programme's admin can add a plan";
}

/// `POST /api/programmes/{id}/plans` with [`NewPlan`]: the programme's
/// admin adds an empty action plan (`{programme}_{slug of its title}`),
/// listed in the programme's index; its findings and actions are added
/// like any edit.
pub(crate) async fn create_plan(
    State(state): State<AppState>,
    admin: AdminOf<AddPlan>,
    Json(new): Json<plait_shared::api::NewPlan>,
) -> Result<Response, AppError> {
    let id = &admin.id;
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "a plan needs a title (up to 200 characters)".into(),
        ));
    }
    let slug = plait_shared::import::slug(title);
    let plan_id = DocId::new(format!(
        "{id}_{}",
        slug.chars().take(100).collect::<String>()
    ))?;
    let taken = state.programme_of(&plan_id).await?;
    if taken.is_some() || state.registry.existing_state(&plan_id).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "there is a plan called {title:?} already"
        )));
    }
    let info = plait_shared::PlanInfo {
        title: title.to_owned(),
        programme_id: Some(id.clone()),
        workstream_id: new.workstream_id.clone(),
        core_service: String::new(),
        location: String::new(),
    };
    let plan = PlanDoc::new(plait_shared::new_doc());
    plan.set_info(&mut plan.doc().transact_mut(), &info);
    let update = plan
        .doc()
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    let accounts = state.accounts.clone();
    let (of, programme) = (plan_id.clone(), id.clone());
    tokio::task::spawn_blocking(move || accounts.set_programme_of(&of, &programme)).await??;
    let access = admin.access(&state, DocKind::Plan).await?;
    apply_as(&state, &plan_id, &update, &access).await?;
    // Listed in the programme's index last: once listed, it is there.
    let update = edit_stored(&state, id, |scratch| {
        ProgrammeDoc::new(scratch.clone()).put_plan(
            &mut scratch.transact_mut(),
            &plan_id,
            &plait_shared::PlanEntry {
                title: title.to_owned(),
                workstream_id: new.workstream_id.clone(),
                core_service: String::new(),
            },
        );
    })
    .await?;
    let access = admin.access(&state, DocKind::Programme).await?;
    apply_as(&state, id, &update, &access).await?;
    Ok((
        StatusCode::CREATED,
        Json(plait_shared::api::PlanCreated { id: plan_id }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use axum::extract::Query;
    use axum::http::Uri;
    use plait_shared::api::{address, ExportQuery, HistoryQuery, ImportQuery};

    fn read<T: serde::de::DeserializeOwned>(address: &str) -> T {
        let uri: Uri = address.parse().unwrap();
        Query::<T>::try_from_uri(&uri).unwrap().0
    }

    /// The addresses the clients build (shared::api::address) read back
    /// as the same queries here, whatever their values hold.
    #[test]
    fn the_clients_addresses_read_back_as_the_queries_they_were_built_from() {
        let export = ExportQuery {
            format: Some("xlsx".into()),
            since: Some(1_754_000_000_000),
            today: Some("2022-08-15".into()),
            as_at: Some(-5),
        };
        assert_eq!(
            read::<ExportQuery>(&address::report("demo", &export)),
            export
        );
        let import = ImportQuery {
            format: Some("csv".into()),
            mode: Some("import".into()),
            valid_only: Some("1".into()),
            name: Some("Norfolk & Suffolk: 100% + more?".into()),
            options: Some(r#"{"people":{"L. Brennan":"create"},"x":"a=b&c"}"#.into()),
        };
        assert_eq!(
            read::<ImportQuery>(&address::import("demo", &import)),
            import
        );
        let history = HistoryQuery {
            action: Some("a-md001".into()),
            limit: Some(50),
        };
        assert_eq!(
            read::<HistoryQuery>(&address::history("plan-1", &history)),
            history
        );
        assert_eq!(read::<ExportQuery>("/x"), ExportQuery::default());
    }

    /// Every address the clients build names a route here: asked without a
    /// session, each is refused as unauthenticated (401), where an address
    /// no route serves would be 404 — so a route renamed on one side only
    /// fails here.
    #[tokio::test]
    async fn every_address_the_clients_build_is_a_route() {
        use axum::body::Body;
        use axum::http::{Method, Request, StatusCode};
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(crate::SledStore::open(dir.path()).unwrap());
        let state =
            crate::AppState::new(store, crate::Config::new(dir.path().join("client"))).unwrap();
        let export = ExportQuery {
            format: Some("csv".into()),
            ..ExportQuery::default()
        };
        let hash = "a".repeat(64);
        let addresses = [
            (
                Method::GET,
                address::history("demo_plan", &HistoryQuery::default()),
            ),
            (Method::GET, address::programme_export("demo", &export)),
            (Method::GET, address::report("demo", &export)),
            (Method::GET, address::plan_export("demo_plan", &export)),
            (Method::GET, address::evidence_pack("demo_plan", "md001")),
            (
                Method::POST,
                address::import("demo", &ImportQuery::default()),
            ),
            (
                Method::GET,
                address::blob(&hash, "demo_plan", Some("a.pdf")),
            ),
            (Method::PUT, address::blob(&hash, "demo_plan", None)),
            (Method::POST, address::http_sync("demo_plan")),
            (Method::GET, address::my_digest()),
            (Method::PUT, address::my_digest()),
            (Method::POST, address::send_digest("demo")),
            (Method::GET, address::sync("demo_plan", true, None)),
        ];
        let status = |method: Method, path: String| {
            let app = crate::app(state.clone());
            async move {
                let request = Request::builder()
                    .method(method)
                    .uri(&path)
                    .body(Body::empty())
                    .unwrap();
                app.oneshot(request).await.unwrap().status()
            }
        };
        assert_eq!(
            status(Method::GET, "/api/no-such-route".into()).await,
            StatusCode::NOT_FOUND
        );
        for (method, path) in addresses {
            assert_eq!(
                status(method.clone(), path.clone()).await,
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
        }
    }
}
