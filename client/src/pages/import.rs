//! Importing an action plan (CSV or XLSX) into the programme, for its admin:
//! the file is checked by the server first (every row error, references
//! already in the programme, what would be created), and nothing is written
//! until the admin confirms — all rows, or only the valid ones.

use leptos::prelude::*;
use plait_shared::api::{ImportPreview, ImportRefused, Imported};

use crate::api::{send, Answer};
use crate::browser::chosen_file;
use crate::contexts::workspace::{use_workspace, PROGRAMME_ID};
use crate::markup::{acted_on, checked, escape};

/// Posts `file` to the import endpoint: the server's answer.
async fn post_file(mode: &str, file: &web_sys::File, csrf: &str) -> Result<Answer, String> {
    let name = file.name().to_ascii_lowercase();
    let format = if name.ends_with(".xlsx") || name.ends_with(".xlsm") {
        "xlsx"
    } else {
        "csv"
    };
    let path = format!("/api/programmes/{PROGRAMME_ID}/import?format={format}&mode={mode}");
    send(
        "POST",
        &path,
        Some((file.as_ref(), "application/octet-stream")),
        Some(csrf),
    )
    .await
    .map_err(|_| "the server cannot be reached: importing needs a connection".to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Choosing,
    Checking,
    Checked(ImportPreview),
    Importing(ImportPreview),
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
            for plan in &preview.plans {
                html += &format!(
                    "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{}</td><td class=\"nhsuk-table__cell\">{}</td>\
                     <td class=\"nhsuk-table__cell plait-num\">{}</td></tr>",
                    escape(&plan.title),
                    if plan.new { "New plan" } else { "Existing plan" },
                    plan.actions
                );
            }
            html += "</tbody></table>";
            if !preview.ignored_columns.is_empty() {
                html += &format!(
                    "<p>Columns not imported: {}.</p>",
                    escape(&preview.ignored_columns.join(", "))
                );
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
    let csrf = move || workspace.session().account.get_untracked().csrf.clone();
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = chosen_file("import-file") else {
            stage.set(Stage::Failed("Choose a CSV or Excel file first.".into()));
            return;
        };
        stage.set(Stage::Checking);
        valid_only.set(false);
        let csrf = csrf();
        wasm_bindgen_futures::spawn_local(async move {
            stage.set(match post_file("preview", &file, &csrf).await {
                Ok(answer) if answer.status == 200 => match answer.json::<ImportPreview>() {
                    Ok(preview) => Stage::Checked(preview),
                    Err(e) => Stage::Failed(format!("The server's answer does not read: {e:?}")),
                },
                Ok(answer) => Stage::Failed(format!(
                    "The server could not check the file ({}): {}",
                    answer.status, answer.text
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
        let Some(file) = chosen_file("import-file") else {
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
                Ok(answer) => match (answer.status, answer.json::<Imported>(), answer.json::<ImportRefused>()) {
                    (201, Ok(done), _) => Stage::Done(format!(
                        "Imported {} actions into {} plan(s). They appear in the action list as they sync.",
                        done.imported.actions, done.imported.plans
                    )),
                    (422, _, Ok(refused)) => Stage::Failed(format!(
                        "Nothing was imported: the file has {} problem(s). Fix them, or choose to import only the valid rows.",
                        refused.errors.len()
                    )),
                    (status, ..) => Stage::Failed(format!(
                        "Nothing was imported ({status}): {}",
                        answer.text
                    )),
                },
                Err(e) => Stage::Failed(e),
            });
        });
    };
    let on_change = move |ev: leptos::ev::Event| {
        if acted_on(&ev, "id").is_some_and(|(_, id)| id == "import-valid-only") {
            valid_only.set(checked("import-valid-only"));
        }
    };
    let admin = move || workspace.session().actor.get().role == plait_shared::Role::Admin;
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
