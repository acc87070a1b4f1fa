//! The foundation's client: loads the demo programme from the server and
//! shows its counts, computed by the same `shared` code the server uses.
//! The offline-first client (IndexedDB, sync, pages) is the client issue.

use leptos::prelude::*;
use plait_shared::{
    new_doc, Date, DocId, PlanDoc, ProgrammeDoc, ProgrammeMetrics, Status, UnixMillis,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yrs::updates::decoder::Decode;
use yrs::{Transact, Update};

const PROGRAMME_ID: &str = "demo";

#[derive(Debug, Clone)]
struct Overview {
    name: String,
    metrics: ProgrammeMetrics,
}

async fn fetch_doc(id: &str) -> Result<yrs::Doc, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(&format!("/api/docs/{id}")))
        .await
        .map_err(|_| "the server cannot be reached".to_owned())?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "bad response")?;
    if !response.ok() {
        return Err(format!("the server answered {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|_| "no body")?)
        .await
        .map_err(|_| "the download failed")?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    let update = Update::decode_v1(&bytes).map_err(|e| format!("unreadable document: {e}"))?;
    let doc = new_doc();
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| format!("unreadable document: {e}"))?;
    Ok(doc)
}

async fn load_overview() -> Result<Overview, String> {
    let programme = ProgrammeDoc::new(fetch_doc(PROGRAMME_ID).await?);
    let view = programme.read(&programme.doc().transact());
    let mut plans = Vec::new();
    for id in view.plans.keys() {
        let plan = PlanDoc::new(fetch_doc(id.as_str()).await?);
        let plan_view = plan.read(&plan.doc().transact());
        plans.push((DocId::clone(id), plan_view));
    }
    let today: Date = UnixMillis(js_sys::Date::now() as i64).date();
    Ok(Overview {
        name: view.info.name.clone(),
        metrics: ProgrammeMetrics::compute(&view, &plans, today),
    })
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let overview = LocalResource::new(load_overview);
    view! {
        <header><h1>"Plait"</h1></header>
        <main id="main">
            <Suspense fallback=|| view! { <p class="status" role="status">"Loading the programme…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! { <OverviewTables overview /> }.into_any(),
                        Err(message) => view! {
                            <p role="alert">"The programme could not be loaded: " {message}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn OverviewTables(overview: Overview) -> impl IntoView {
    let m = overview.metrics;
    let statuses: Vec<(Status, usize)> = m.all.by_status.iter().map(|(s, n)| (*s, *n)).collect();
    let kinds: Vec<(String, usize)> = m
        .by_kind
        .iter()
        .map(|(k, c)| (k.clone(), c.total))
        .collect();
    view! {
        <h2>{overview.name}</h2>
        <p>{m.all.total} " actions, " {m.all.overdue} " overdue."</p>
        <table>
            <caption>"Actions by status"</caption>
            <thead><tr><th scope="col">"Status"</th><th scope="col">"Actions"</th></tr></thead>
            <tbody>
                {statuses.into_iter().map(|(status, n)| view! {
                    <tr><th scope="row">{status.label()}</th><td class="count">{n}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <table>
            <caption>"Must Do and Should Do"</caption>
            <thead><tr><th scope="col">"Type"</th><th scope="col">"Actions"</th></tr></thead>
            <tbody>
                {kinds.into_iter().map(|(kind, n)| view! {
                    <tr><th scope="row">{kind}</th><td class="count">{n}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
