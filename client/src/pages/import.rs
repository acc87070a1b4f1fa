//! Importing an action plan (CSV or XLSX) into the programme, for its admin:
//! the file is checked by the server first (every row error, references
//! already in the programme, what would be created), and nothing is written
//! until the admin confirms — all rows, or only the valid ones.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::api::{field, items, parse, send, text};
use crate::contexts::workspace::{use_workspace, PROGRAMME_ID};
use crate::markup::{acted_on, checked, escape};

/// A row problem, as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    row: u32,
    column: String,
    reason: String,
}

/// What the server said about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Preview {
    rows: u32,
    importable: u32,
    plans: Vec<(String, bool, u32)>,
    errors: Vec<Problem>,
    ignored: Vec<String>,
}

fn number(value: &JsValue, key: &str) -> u32 {
    field(value, key).as_f64().unwrap_or(0.0) as u32
}

fn problems(value: &JsValue) -> Vec<Problem> {
    items(value)
        .iter()
        .map(|e| Problem {
            row: number(e, "row"),
            column: text(e, "column"),
            reason: text(e, "reason"),
        })
        .collect()
}

impl Preview {
    fn from_json(value: &JsValue) -> Preview {
        Preview {
            rows: number(value, "rows"),
            importable: number(value, "importable"),
            plans: items(&field(value, "plans"))
                .iter()
                .map(|p| {
                    (
                        text(p, "title"),
                        field(p, "new").as_bool().unwrap_or(false),
                        number(p, "actions"),
                    )
                })
                .collect(),
            errors: problems(&field(value, "errors")),
            ignored: items(&field(value, "ignored_columns"))
                .iter()
                .filter_map(JsValue::as_string)
                .collect(),
        }
    }
}

/// Posts `file` to the import endpoint; the status and the JSON answer.
async fn post_file(mode: &str, file: &web_sys::File, csrf: &str) -> Result<(u16, JsValue), String> {
    let name = file.name().to_ascii_lowercase();
    let format = if name.ends_with(".xlsx") || name.ends_with(".xlsm") {
        "xlsx"
    } else {
        "csv"
    };
    let path = format!("/api/programmes/{PROGRAMME_ID}/import?format={format}&mode={mode}");
    let answer = send(
        "POST",
        &path,
        Some((file.as_ref(), "application/octet-stream")),
        Some(csrf),
    )
    .await
    .map_err(|_| "the server cannot be reached: importing needs a connection".to_owned())?;
    let json = parse(&answer.text).unwrap_or_else(|| JsValue::from_str(&answer.text));
    Ok((answer.status, json))
}

fn chosen_file() -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = web_sys::window()?
        .document()?
        .get_element_by_id("import-file")?
        .dyn_into()
        .ok()?;
    input.files()?.get(0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Choosing,
    Checking,
    Checked(Preview),
    Importing(Preview),
    Done(String),
    Failed(String),
}

fn stage_markup(stage: &Stage, valid_only: bool) -> String {
    match stage {
        Stage::Choosing => String::new(),
        Stage::Checking => "<div role=\"status\"><label for=\"import-progress\">Checking the file…</label> \
             <progress id=\"import-progress\" class=\"plait-progress\"></progress></div>"
            .to_owned(),
        Stage::Failed(message) => format!(
            "<div class=\"nhsuk-error-summary\" role=\"alert\"><h2 class=\"nhsuk-error-summary__title\">Not imported</h2>\
             <div class=\"nhsuk-error-summary__body\"><p>{}</p></div></div>",
            escape(message)
        ),
        Stage::Done(message) => format!(
            "<div class=\"nhsuk-inset-text\" role=\"status\"><p>{}</p></div>",
            escape(message)
        ),
        Stage::Importing(preview) => format!(
            "<div role=\"status\"><label for=\"import-progress\">Importing {} actions…</label> \
             <progress id=\"import-progress\" class=\"plait-progress\"></progress></div>",
            preview.importable
        ),
        Stage::Checked(preview) => {
            let bad_rows = preview
                .errors
                .iter()
                .map(|e| e.row)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let mut html = format!(
                "<h2>What the file holds</h2><p id=\"import-summary\">{} rows: {} can be imported, {bad_rows} have problems.</p>\
                 <table class=\"nhsuk-table\"><caption class=\"nhsuk-table__caption\">Plans the actions go into</caption>\
                 <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
                 <th scope=\"col\" class=\"nhsuk-table__header\">Plan</th><th scope=\"col\" class=\"nhsuk-table__header\">New?</th>\
                 <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Rows</th></tr></thead><tbody class=\"nhsuk-table__body\">",
                preview.rows, preview.importable
            );
            for (title, new, n) in &preview.plans {
                html += &format!(
                    "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td>\
                     <td class=\"nhsuk-table__cell plait-num\">{n}</td></tr>",
                    escape(title),
                    if *new { "New plan" } else { "Existing plan" }
                );
            }
            html += "</tbody></table>";
            if !preview.ignored.is_empty() {
                html += &format!("<p>Columns not imported: {}.</p>", escape(&preview.ignored.join(", ")));
            }
            let has_errors = !preview.errors.is_empty();
            if has_errors {
                html += &format!(
                    "<table class=\"nhsuk-table\" id=\"import-errors\"><caption class=\"nhsuk-table__caption\">Problems ({})</caption>\
                     <thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">\
                     <th scope=\"col\" class=\"nhsuk-table__header plait-num\">Row</th><th scope=\"col\" class=\"nhsuk-table__header\">Column</th>\
                     <th scope=\"col\" class=\"nhsuk-table__header\">Problem</th></tr></thead><tbody class=\"nhsuk-table__body\">",
                    preview.errors.len()
                );
                for e in &preview.errors {
                    html += &format!(
                        "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell plait-num\">{}</td>\
                         <td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td></tr>",
                        e.row,
                        escape(&e.column),
                        escape(&e.reason)
                    );
                }
                html += &format!(
                    "</tbody></table><div class=\"nhsuk-checkboxes__item\">\
                     <input class=\"nhsuk-checkboxes__input\" id=\"import-valid-only\" type=\"checkbox\"{}>\
                     <label class=\"nhsuk-label nhsuk-checkboxes__label\" for=\"import-valid-only\">\
                     Import only the {} valid rows and skip the rest</label></div>",
                    if valid_only { " checked" } else { "" },
                    preview.importable
                );
            }
            let blocked = preview.importable == 0 || (has_errors && !valid_only);
            html + &format!(
                "<button class=\"nhsuk-button\" type=\"button\" data-act=\"import\"{}>{}</button>",
                if blocked { " disabled" } else { "" },
                if has_errors && !valid_only {
                    "Fix the problems, or choose to import only the valid rows".to_owned()
                } else {
                    format!("Import {} actions", preview.importable)
                }
            )
        }
    }
}

/// The import page.
#[component]
pub fn Import() -> impl IntoView {
    let workspace = use_workspace();
    let stage = RwSignal::new(Stage::Choosing);
    let valid_only = RwSignal::new(false);
    let csrf = move || workspace.account.get_untracked().csrf;
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = chosen_file() else {
            stage.set(Stage::Failed("Choose a CSV or Excel file first.".into()));
            return;
        };
        stage.set(Stage::Checking);
        valid_only.set(false);
        let csrf = csrf();
        wasm_bindgen_futures::spawn_local(async move {
            stage.set(match post_file("preview", &file, &csrf).await {
                Ok((200, json)) => Stage::Checked(Preview::from_json(&json)),
                Ok((status, json)) => Stage::Failed(format!(
                    "The server could not check the file ({status}): {}",
                    json.as_string().unwrap_or_default()
                )),
                Err(e) => Stage::Failed(e),
            });
        });
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if acted_on(&ev, "data-act").is_none_or(|(_, act)| act != "import") {
            return;
        }
        let Stage::Checked(preview) = stage.get_untracked() else {
            return;
        };
        let Some(file) = chosen_file() else {
            return;
        };
        stage.set(Stage::Importing(preview));
        let mode = if valid_only.get_untracked() {
            "import&valid_only=1"
        } else {
            "import"
        };
        let csrf = csrf();
        wasm_bindgen_futures::spawn_local(async move {
            stage.set(match post_file(mode, &file, &csrf).await {
                Ok((201, json)) => {
                    let imported = field(&json, "imported");
                    Stage::Done(format!(
                        "Imported {} actions into {} plan(s). They appear in the action list as they sync.",
                        number(&imported, "actions"),
                        number(&imported, "plans")
                    ))
                }
                Ok((422, json)) => Stage::Failed(format!(
                    "Nothing was imported: the file has {} problem(s). Fix them, or choose to import only the valid rows.",
                    items(&field(&json, "errors")).len()
                )),
                Ok((status, json)) => Stage::Failed(format!(
                    "Nothing was imported ({status}): {}",
                    json.as_string().unwrap_or_default()
                )),
                Err(e) => Stage::Failed(e),
            });
        });
    };
    let on_change = move |ev: leptos::ev::Event| {
        if acted_on(&ev, "id").is_some_and(|(_, id)| id == "import-valid-only") {
            valid_only.set(checked("import-valid-only"));
        }
    };
    let admin = move || workspace.actor.get().role == plait_shared::Role::Admin;
    view! {
        <h1>"Import an action plan"</h1>
        <Show
            when=admin
            fallback=|| view! { <p>"Only the programme's admin (the programme manager) can import actions."</p> }
        >
            <p>"A CSV or Excel file with a header row: reference, type (Must Do, Should Do…), regulation, key question, core service, location, the CQC requirement, the trust's action, workstream, phase, executive lead, owner, due date (dd/mm/yyyy or yyyy-mm-dd) and status. The file is checked first; nothing is written until you confirm."</p>
            <form on:submit=check>
                <div class="nhsuk-form-group">
                    <label class="nhsuk-label" for="import-file">"Spreadsheet (.csv or .xlsx)"</label>
                    <input class="nhsuk-file-upload" id="import-file" name="import-file" type="file" accept=".csv,.xlsx" />
                </div>
                <button class="nhsuk-button" type="submit">"Check the file"</button>
            </form>
            <div
                inner_html=move || stage.with(|s| stage_markup(s, valid_only.get()))
                on:click=on_click
                on:change=on_change
            ></div>
        </Show>
    }
}
