//! Importing an action plan (CSV or XLSX) into the programme, for its admin,
//! in the steps a programme office needs with a real tracker: the file is
//! checked by the server first (the header found below any title rows,
//! every row error, references already in the programme, what would be
//! created); each column is shown with what it fills, and can be read as
//! another or left out; each person the file names is shown with the
//! account they match, and can be mapped by hand, given a new account, or
//! left unassigned. Nothing is written until the admin confirms, and the
//! passwords of accounts it creates are shown once.

use leptos::prelude::*;
use plait_shared::api::{
    CreatedAccount, ImportOptions, ImportPreview, ImportRefused, Imported, PersonChoice,
    PersonMatch,
};
use plait_shared::import::{Column, ColumnUse};
use plait_shared::UserId;

use crate::browser::{chosen_file, focus};
use crate::components::date_input::{DateInput, DateParts};
use crate::contexts::session::{use_session, SessionContext};
use crate::contexts::workspace::{use_workspace, Workspace};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Choosing,
    Checking,
    Checked(ImportPreview),
    Importing(ImportPreview),
    Done(Imported),
    Failed(String),
}

/// The import page.
#[component]
pub fn Import() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let stage = RwSignal::new(Stage::Choosing);
    let options = RwSignal::new(ImportOptions::default());
    let valid_only = RwSignal::new(false);
    let file_input = NodeRef::new();
    let check = move || {
        let Some(file) = chosen_file(file_input) else {
            stage.set(Stage::Failed("Choose a CSV or Excel file first.".into()));
            focus("import-outcome");
            return;
        };
        let first = !matches!(stage.get_untracked(), Stage::Checked(_));
        if first {
            stage.set(Stage::Checking);
        }
        let (programme, csrf) = context(workspace, session);
        let asked = options.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            stage.set(
                match crate::api::import(&programme, "preview", &asked, &file, &csrf).await {
                    Ok(answer) if answer.status == 200 => match answer.json::<ImportPreview>() {
                        Ok(preview) => Stage::Checked(preview),
                        Err(e) => {
                            Stage::Failed(format!("The server's answer does not read: {e:?}"))
                        }
                    },
                    Ok(answer) => Stage::Failed(format!(
                        "The server could not check the file ({}): {}",
                        answer.status, answer.text
                    )),
                    Err(e) => Stage::Failed(e),
                },
            );
            if first {
                focus("import-outcome");
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        options.set(ImportOptions::default());
        valid_only.set(false);
        check();
    };
    let import = move |_| {
        let Stage::Checked(preview) = stage.get_untracked() else {
            return;
        };
        let Some(file) = chosen_file(file_input) else {
            return;
        };
        stage.set(Stage::Importing(preview));
        let mode = if valid_only.get_untracked() {
            "import&valid_only=1"
        } else {
            "import"
        };
        let (programme, csrf) = context(workspace, session);
        let asked = options.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            stage.set(match crate::api::import(&programme, mode, &asked, &file, &csrf).await {
                Ok(answer) => match (answer.status, answer.json::<Imported>(), answer.json::<ImportRefused>()) {
                    (201, Ok(done), _) => Stage::Done(done),
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
            focus("import-outcome");
        });
    };
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    view! {
        <h1>"Import an action plan"</h1>
        <Show
            when=admin
            fallback=|| view! { <p>"Only the programme's admin (the programme manager) can import actions."</p> }
        >
            <p>"A CSV or Excel file of your tracker, one row per action, with a header row (title rows above it are skipped): the reference (MD001.1…), the type (Must Do, Should Do, Section 29A warning notice…), the regulation (Reg 12(2)(a)…), the CQC requirement, the trust's action, and any of key question, core service, location, workstream, phase, executive lead, owner, due date (dd/mm/yyyy), status, confidence and latest update. You will see how each column is read and who each person is before anything is written."</p>
            <form on:submit=submit>
                <div class="nhsuk-form-group">
                    <label class="nhsuk-label" for="import-file">"Spreadsheet (.csv or .xlsx)"</label>
                    <input class="nhsuk-file-upload" id="import-file" name="import-file" type="file" accept=".csv,.xlsx" node_ref=file_input />
                </div>
                <button class="nhsuk-button" type="submit">"Check the file"</button>
            </form>
            <div id="import-outcome" tabindex="-1">
                {move || match stage.get() {
                    Stage::Choosing => ().into_any(),
                    Stage::Checking => view! {
                        <div role="status"><label for="import-progress">"Checking the file…"</label>" "
                        <progress id="import-progress" class="plait-progress"></progress></div>
                    }.into_any(),
                    Stage::Importing(preview) => view! {
                        <div role="status"><label for="import-progress">{format!("Importing {} actions…", preview.importable)}</label>" "
                        <progress id="import-progress" class="plait-progress"></progress></div>
                    }.into_any(),
                    Stage::Failed(message) => view! {
                        <div class="nhsuk-error-summary" role="alert"><h2 class="nhsuk-error-summary__title">"Not imported"</h2>
                        <div class="nhsuk-error-summary__body"><p>{message}</p></div></div>
                    }.into_any(),
                    Stage::Done(done) => view! { <Done done /> }.into_any(),
                    Stage::Checked(preview) => view! {
                        <Checked preview options valid_only on_change=Callback::new(move |()| check()) on_import=Callback::new(import) />
                    }.into_any(),
                }}
            </div>
        </Show>
    }
}

/// The programme's id and the session's CSRF token.
fn context(workspace: Workspace, session: SessionContext) -> (String, String) {
    (
        workspace
            .programme_id()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        session.account.get_untracked().csrf.clone(),
    )
}

/// What the check found, with the column and people choices.
#[component]
fn Checked(
    preview: ImportPreview,
    options: RwSignal<ImportOptions>,
    valid_only: RwSignal<bool>,
    on_change: Callback<()>,
    on_import: Callback<()>,
) -> impl IntoView {
    let bad_rows = preview
        .errors
        .iter()
        .map(|e| e.row)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let has_errors = !preview.errors.is_empty();
    let blocked = move || preview.importable == 0 || (has_errors && !valid_only.get());
    let importable = preview.importable;
    let summary = format!(
        "{} rows (header on row {}): {} can be imported, {bad_rows} have problems. {} requirement(s) and {} action(s).",
        preview.rows, preview.header_row, preview.importable, preview.findings, preview.actions
    );
    let unmatched: Vec<String> = preview
        .people
        .iter()
        .filter(|p| p.owner && p.choice.is_none())
        .map(|p| p.name.clone())
        .collect();
    view! {
        <h2>"What the file holds"</h2>
        <p id="import-summary">{summary}</p>
        <table class="nhsuk-table">
            <caption class="nhsuk-table__caption">"Plans the actions go into"</caption>
            <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                <th scope="col" class="nhsuk-table__header">"Plan"</th>
                <th scope="col" class="nhsuk-table__header">"New?"</th>
                <th scope="col" class="nhsuk-table__header plait-num">"Rows"</th>
            </tr></thead>
            <tbody class="nhsuk-table__body">
                {preview.plans.iter().map(|plan| view! {
                    <tr class="nhsuk-table__row">
                        <td class="nhsuk-table__cell">{plan.title.clone()}</td>
                        <td class="nhsuk-table__cell">{if plan.new { "New plan" } else { "Existing plan" }}</td>
                        <td class="nhsuk-table__cell plait-num">{plan.actions}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <StatusesAsAt as_at=preview.statuses_as_at read=preview.statuses_as_at_read options on_change />
        <Columns columns=preview.columns.clone() options on_change />
        <People people=preview.people.clone() options on_change />
        {(!unmatched.is_empty()).then(|| {
            let names = unmatched.clone();
            view! {
                <button class="nhsuk-button nhsuk-button--secondary" type="button" on:click=move |_| {
                    options.update(|o| {
                        for name in &names {
                            o.people.insert(name.clone(), PersonChoice::Create);
                        }
                    });
                    on_change.run(());
                }>{format!("Create accounts for the {} owner(s) with none", unmatched.len())}</button>
            }
        })}
        {has_errors.then(|| view! {
            <table class="nhsuk-table" id="import-errors">
                <caption class="nhsuk-table__caption">{format!("Problems ({})", preview.errors.len())}</caption>
                <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                    <th scope="col" class="nhsuk-table__header plait-num">"Row"</th>
                    <th scope="col" class="nhsuk-table__header">"Column"</th>
                    <th scope="col" class="nhsuk-table__header">"Problem"</th>
                </tr></thead>
                <tbody class="nhsuk-table__body">
                    {preview.errors.iter().map(|e| view! {
                        <tr class="nhsuk-table__row">
                            <td class="nhsuk-table__cell plait-num">{e.row}</td>
                            <td class="nhsuk-table__cell">{e.column.clone()}</td>
                            <td class="nhsuk-table__cell">{e.reason.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <div class="nhsuk-checkboxes__item">
                <input class="nhsuk-checkboxes__input" id="import-valid-only" type="checkbox"
                    prop:checked=move || valid_only.get()
                    on:change=move |ev| valid_only.set(event_target_checked(&ev)) />
                <label class="nhsuk-label nhsuk-checkboxes__label" for="import-valid-only">
                    {format!("Import only the {importable} valid rows and skip the rest")}
                </label>
            </div>
        })}
        <button class="nhsuk-button" type="button" data-testid="import"
            prop:disabled=blocked
            on:click=move |_| on_import.run(())>
            {move || if blocked() && importable > 0 {
                "Fix the problems, or choose to import only the valid rows".to_owned()
            } else {
                format!("Import {importable} actions")
            }}
        </button>
    }
}

/// The day the file's statuses were true: read from its dated updates, or
/// chosen (the programme's trend starts there).
#[component]
fn StatusesAsAt(
    as_at: Option<plait_shared::Date>,
    read: bool,
    options: RwSignal<ImportOptions>,
    on_change: Callback<()>,
) -> impl IntoView {
    let day = RwSignal::new(DateParts::of(as_at));
    let error = RwSignal::new(None::<String>);
    let said = match (as_at, read) {
        (Some(d), true) => format!(
            "The statuses will be recorded as they stood on {} (the newest dated update in the file). The programme's monthly trend starts from that month.",
            d.long()
        ),
        (Some(d), false) => format!(
            "The statuses will be recorded as they stood on {}. The programme's monthly trend starts from that month.",
            d.long()
        ),
        (None, _) => "No update in the file is dated: the statuses will be recorded as they stand on the day you import. If the tracker was true on an earlier day, enter it.".to_owned(),
    };
    let apply = move |_| match day.get_untracked().read("The day the statuses were true") {
        Ok(Some(d)) if d > crate::browser::today() => {
            error.set(Some(
                "The day the statuses were true must be today or in the past".into(),
            ));
        }
        Ok(chosen) => {
            error.set(None);
            options.update(|o| o.statuses_as_at = chosen);
            on_change.run(());
        }
        Err(message) => error.set(Some(message)),
    };
    view! {
        <h2>"The tracker's date"</h2>
        <p id="import-as-at">{said}</p>
        <DateInput id="import-statuses-as-at" legend="The day the statuses were true"
            hint="The tracker's \"as at\" date. For example, 15 8 2022" value=day error=error />
        <button class="nhsuk-button nhsuk-button--secondary" type="button" on:click=apply>"Use this date"</button>
    }
}

/// The value a column's select holds: its key, or "" for not imported.
fn column_value(column: Option<Column>) -> &'static str {
    column.map_or("", Column::key)
}

/// Each column of the file and what it fills; changing one checks again.
#[component]
fn Columns(
    columns: Vec<ColumnUse>,
    options: RwSignal<ImportOptions>,
    on_change: Callback<()>,
) -> impl IntoView {
    view! {
        <h2>"Columns"</h2>
        <p>"How each column of the file is read. Change any that is wrong, or leave a column out; the file is checked again."</p>
        <dl class="nhsuk-summary-list plait-mapping">
            {columns.into_iter().enumerate().map(|(i, used)| {
                let id = format!("column-{i}");
                let header = used.header.clone();
                let chosen = column_value(used.column);
                let change = move |ev: leptos::ev::Event| {
                    let key = event_target_value(&ev);
                    let column = Column::ALL.into_iter().find(|c| c.key() == key);
                    options.update(|o| {
                        o.columns.insert(header.clone(), column);
                    });
                    on_change.run(());
                };
                view! {
                    <div class="nhsuk-summary-list__row">
                        <dt class="nhsuk-summary-list__key"><label for=id.clone()>{used.header.clone()}</label></dt>
                        <dd class="nhsuk-summary-list__value">
                            <select class="nhsuk-select" id=id on:change=change>
                                <option value="" selected=chosen.is_empty()>"Not imported"</option>
                                {Column::ALL.into_iter().map(|c| view! {
                                    <option value=c.key() selected=chosen == c.key()>{c.name()}</option>
                                }).collect_view()}
                            </select>
                        </dd>
                    </div>
                }
            }).collect_view()}
        </dl>
    }
}

/// The value a person's select holds.
fn person_value(choice: Option<&PersonChoice>) -> String {
    match choice {
        None => String::new(),
        Some(PersonChoice::Create) => "+create".into(),
        Some(PersonChoice::Unassigned) => "+unassigned".into(),
        Some(PersonChoice::Account(user)) => user.to_string(),
    }
}

/// Each person the file names and who they will be; changing one checks
/// again.
#[component]
fn People(
    people: Vec<PersonMatch>,
    options: RwSignal<ImportOptions>,
    on_change: Callback<()>,
) -> impl IntoView {
    let workspace = use_workspace();
    if people.is_empty() {
        return ().into_any();
    }
    view! {
        <h2>"People"</h2>
        <p>"Owners and executive leads as the file names them, and their accounts. An owner with no account holds the import back until you choose one, create one (its password is shown once, after the import) or leave their actions unassigned."</p>
        <dl class="nhsuk-summary-list plait-mapping">
            {people.into_iter().enumerate().map(|(i, person)| {
                let id = format!("person-{i}");
                let name = person.name.clone();
                let chosen = person_value(person.choice.as_ref());
                let roles = match (person.owner, person.lead) {
                    (true, true) => "owner and executive lead",
                    (true, false) => "owner",
                    _ => "executive lead",
                };
                let change = move |ev: leptos::ev::Event| {
                    let value = event_target_value(&ev);
                    let choice = match value.as_str() {
                        "" => None,
                        "+create" => Some(PersonChoice::Create),
                        "+unassigned" => Some(PersonChoice::Unassigned),
                        user => UserId::new(user).ok().map(PersonChoice::Account),
                    };
                    options.update(|o| match choice {
                        Some(choice) => {
                            o.people.insert(name.clone(), choice);
                        }
                        None => {
                            o.people.remove(&name);
                        }
                    });
                    on_change.run(());
                };
                let members = workspace.members.get_untracked();
                let matched = person.matched;
                let none_label = if person.owner { "Choose…" } else { "Keep the name as written" };
                view! {
                    <div class="nhsuk-summary-list__row">
                        <dt class="nhsuk-summary-list__key">
                            <label for=id.clone()>{person.name.clone()}</label>
                            <span class="nhsuk-body-s">" ("{roles}")"</span>
                        </dt>
                        <dd class="nhsuk-summary-list__value">
                            <select class="nhsuk-select" id=id on:change=change>
                                <option value="" selected=chosen.is_empty()>{none_label}</option>
                                {members.into_iter().map(|m| {
                                    let value = m.username.to_string();
                                    let selected = value == chosen;
                                    let label = format!("{} ({})", m.name, m.username);
                                    view! { <option value=value selected=selected>{label}</option> }
                                }).collect_view()}
                                {(!chosen.is_empty() && !chosen.starts_with('+')
                                    && workspace.members.with_untracked(|ms| ms.iter().all(|m| m.username.as_str() != chosen)))
                                    .then(|| view! { <option value=chosen.clone() selected=true>{chosen.clone()}</option> })}
                                <option value="+create" selected=chosen == "+create">"Create an account"</option>
                                <option value="+unassigned" selected=chosen == "+unassigned">"Leave unassigned"</option>
                            </select>
                            {matched.then(|| view! { " " <strong class="nhsuk-tag nhsuk-tag--green">"Matched by name"</strong> })}
                        </dd>
                    </div>
                }
            }).collect_view()}
        </dl>
    }
    .into_any()
}

/// What was imported, and the accounts created with their passwords.
#[component]
fn Done(done: Imported) -> impl IntoView {
    let message = format!(
        "Imported {} requirement(s) and {} action(s) into {} plan(s). They appear in the action list as they sync.",
        done.imported.findings, done.imported.actions, done.imported.plans
    );
    let skipped = done.skipped.len();
    let accounts: Vec<CreatedAccount> = done.accounts;
    view! {
        <div class="nhsuk-inset-text" role="status">
            <p>{message}</p>
            {(skipped > 0).then(|| view! { <p>{format!("{skipped} problem(s) skipped.")}</p> })}
        </div>
        {(!accounts.is_empty()).then(|| view! {
            <div class="nhsuk-warning-callout">
                <h2 class="nhsuk-warning-callout__label"><span role="text"><span class="nhsuk-u-visually-hidden">"Important: "</span>"New accounts"</span></h2>
                <p>"Give each person their user name and password now: the passwords are not shown again."</p>
            </div>
            <table class="nhsuk-table" id="created-accounts">
                <caption class="nhsuk-table__caption">"Accounts created"</caption>
                <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                    <th scope="col" class="nhsuk-table__header">"Name"</th>
                    <th scope="col" class="nhsuk-table__header">"User name"</th>
                    <th scope="col" class="nhsuk-table__header">"Role"</th>
                    <th scope="col" class="nhsuk-table__header">"Password"</th>
                </tr></thead>
                <tbody class="nhsuk-table__body">
                    {accounts.into_iter().map(|a| view! {
                        <tr class="nhsuk-table__row">
                            <td class="nhsuk-table__cell">{a.name}</td>
                            <td class="nhsuk-table__cell">{a.username.to_string()}</td>
                            <td class="nhsuk-table__cell">{a.role.label()}</td>
                            <td class="nhsuk-table__cell"><code>{a.password}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
    }
}
