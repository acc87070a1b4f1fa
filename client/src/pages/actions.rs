//! Every action of the programme: filter, search, sort.

use leptos::prelude::*;
use plait_shared::{ActionId, Colour, Date, DocId, FindingKind, KeyQuestion, Status};

use crate::browser::today;
use crate::components::brag::Brag;
use crate::contexts::workspace::use_workspace;
use crate::pages::{Page, PageLink};

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    /// Its plan.
    pub plan: DocId,
    /// Its id.
    pub id: ActionId,
    /// Its reference ("MD001").
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its owner's name.
    pub owner: String,
    /// Its workstream's name.
    pub workstream: String,
    /// Its status.
    pub status: Status,
    /// Its colour today.
    pub colour: Colour,
    /// Its current due date.
    pub due: Option<Date>,
    /// Whether it is overdue today.
    pub overdue: bool,
    /// The most serious kind of finding it answers.
    pub kind: Option<FindingKind>,
    /// Its key question.
    pub key_question: Option<KeyQuestion>,
}

/// What the list is narrowed to. Empty strings mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Words to find in the reference, title or owner.
    pub search: String,
    /// A workstream name.
    pub workstream: String,
    /// A status key.
    pub status: String,
    /// A colour key.
    pub colour: String,
    /// An owner.
    pub owner: String,
    /// A finding kind key.
    pub kind: String,
    /// A key question key.
    pub key_question: String,
    /// Only overdue actions.
    pub overdue_only: bool,
    /// The sort: "ref", "due", "status" or "colour".
    pub sort: String,
}

/// `text` in lower case, by the browser's Unicode rules (Rust's own tables
/// would add kilobytes to the download).
fn lower(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

impl Filter {
    /// Whether `row` passes.
    pub fn keeps(&self, row: &ActionRow) -> bool {
        let search = lower(self.search.trim());
        let matches_search = search.is_empty()
            || search.split_whitespace().all(|word| {
                lower(&row.reference).contains(word)
                    || lower(&row.title).contains(word)
                    || lower(&row.owner).contains(word)
            });
        matches_search
            && (self.workstream.is_empty() || row.workstream == self.workstream)
            && (self.status.is_empty() || row.status.key() == self.status)
            && (self.colour.is_empty() || row.colour.key() == self.colour)
            && (self.owner.is_empty() || row.owner == self.owner)
            && (self.kind.is_empty() || row.kind.map(FindingKind::key) == Some(self.kind.as_str()))
            && (self.key_question.is_empty()
                || row.key_question.map(KeyQuestion::key) == Some(self.key_question.as_str()))
            && (!self.overdue_only || row.overdue)
    }

    /// Filters and sorts.
    pub fn apply(&self, rows: &[ActionRow]) -> Vec<ActionRow> {
        let mut kept: Vec<ActionRow> = rows.iter().filter(|r| self.keeps(r)).cloned().collect();
        // One comparison for every order: each `sort_by` closure would be a
        // copy of the sort in the wasm.
        let sort = self.sort.as_str();
        kept.sort_by(|a, b| {
            let first = match sort {
                "due" => a.due.cmp(&b.due),
                "status" => a.status.cmp(&b.status),
                "colour" => a.colour.cmp(&b.colour),
                _ => std::cmp::Ordering::Equal,
            };
            first.then_with(|| a.reference.cmp(&b.reference))
        });
        kept
    }
}

fn rows() -> Memo<Vec<ActionRow>> {
    let workspace = use_workspace();
    Memo::new(move |_| {
        let Some(programme) = workspace.programme_view() else {
            return Vec::new();
        };
        let today = today();
        let mut rows = Vec::new();
        for (plan_id, plan) in workspace.plan_views() {
            for action in plan.actions.values() {
                let findings: Vec<_> = action
                    .finding_ids
                    .iter()
                    .filter_map(|f| plan.findings.get(f))
                    .collect();
                rows.push(ActionRow {
                    plan: plan_id.clone(),
                    id: action.id.clone(),
                    reference: action.reference.clone(),
                    title: action.title.clone(),
                    // A member's display name; an owner's text as it is.
                    owner: action
                        .owner
                        .as_ref()
                        .map(|o| workspace.name_of(o.as_str()))
                        .unwrap_or_default(),
                    workstream: action
                        .workstream_id
                        .as_ref()
                        .and_then(|w| programme.workstreams.get(w))
                        .map(|w| w.name.clone())
                        .unwrap_or_default(),
                    status: action.status(),
                    colour: programme.colours.colour_of(action, today),
                    due: action.due_current,
                    overdue: action.is_overdue(today),
                    kind: findings.iter().find_map(|f| f.kind),
                    key_question: findings.iter().find_map(|f| f.key_question),
                });
            }
        }
        rows
    })
}

/// The distinct non-empty values of one column, sorted, as select options.
fn distinct(rows: &[ActionRow], column: fn(&ActionRow) -> &String) -> Vec<(String, String)> {
    let mut values: Vec<&String> = rows.iter().map(column).filter(|v| !v.is_empty()).collect();
    values.sort();
    values.dedup();
    values.into_iter().map(|v| (v.clone(), v.clone())).collect()
}

#[component]
fn Choice(
    id: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    value: Signal<String>,
    set: Callback<String>,
) -> impl IntoView {
    view! {
        <div class="nhsuk-form-group plait-filter">
            <label class="nhsuk-label" for=id>{label}</label>
            <select class="nhsuk-select" id=id on:change=move |ev| set.run(event_target_value(&ev))>
                <option value="" selected=move || value.get().is_empty()>"Any"</option>
                {options
                    .into_iter()
                    .map(|(key, text)| {
                        let selected_key = key.clone();
                        view! { <option value=key selected=move || value.get() == selected_key>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

/// The action list page.
#[component]
pub fn Actions() -> impl IntoView {
    let all = rows();
    let filter = RwSignal::new(Filter::default());
    let shown = Memo::new(move |_| filter.with(|f| f.apply(&all.get())));
    let field = move |get: fn(&Filter) -> String| Signal::derive(move || filter.with(get));
    let workstreams = move || distinct(&all.get(), |r| &r.workstream);
    let owners = move || distinct(&all.get(), |r| &r.owner);
    let keyed = |pairs: Vec<(&'static str, &'static str)>| -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(k, l)| (k.to_owned(), l.to_owned()))
            .collect()
    };
    let statuses = keyed(Status::ALL.iter().map(|s| (s.key(), s.label())).collect());
    let colours = keyed(Colour::ALL.iter().map(|c| (c.key(), c.label())).collect());
    let kinds = keyed(
        FindingKind::ALL
            .iter()
            .map(|k| (k.key(), k.label()))
            .collect(),
    );
    let questions = keyed(
        KeyQuestion::ALL
            .iter()
            .map(|q| (q.key(), q.label()))
            .collect(),
    );
    view! {
        <h1>"Actions"</h1>
        <form class="plait-filters" role="search" aria-label="Filter actions" on:submit=|ev| ev.prevent_default()>
            <div class="nhsuk-form-group plait-filter plait-filter--search">
                <label class="nhsuk-label" for="search">"Search reference, title or owner"</label>
                <input class="nhsuk-input" id="search" type="search"
                    prop:value=move || filter.with(|f| f.search.clone())
                    on:input=move |ev| filter.update(|f| f.search = event_target_value(&ev)) />
            </div>
            {move || view! {
                <Choice id="f-workstream" label="Workstream" options=workstreams() value=field(|f| f.workstream.clone())
                    set=Callback::new(move |v| filter.update(|f| f.workstream = v)) />
                <Choice id="f-owner" label="Owner" options=owners() value=field(|f| f.owner.clone())
                    set=Callback::new(move |v| filter.update(|f| f.owner = v)) />
            }}
            <Choice id="f-status" label="Status" options=statuses value=field(|f| f.status.clone())
                set=Callback::new(move |v| filter.update(|f| f.status = v)) />
            <Choice id="f-colour" label="Colour" options=colours value=field(|f| f.colour.clone())
                set=Callback::new(move |v| filter.update(|f| f.colour = v)) />
            <Choice id="f-kind" label="Must or Should" options=kinds value=field(|f| f.kind.clone())
                set=Callback::new(move |v| filter.update(|f| f.kind = v)) />
            <Choice id="f-question" label="Key question" options=questions value=field(|f| f.key_question.clone())
                set=Callback::new(move |v| filter.update(|f| f.key_question = v)) />
            <div class="nhsuk-form-group plait-filter">
                <label class="nhsuk-label" for="f-sort">"Sort by"</label>
                <select class="nhsuk-select" id="f-sort" on:change=move |ev| filter.update(|f| f.sort = event_target_value(&ev))>
                    <option value="ref">"Reference"</option>
                    <option value="due">"Due date"</option>
                    <option value="status">"Status"</option>
                    <option value="colour">"Colour"</option>
                </select>
            </div>
            <div class="nhsuk-checkboxes__item plait-filter">
                <input class="nhsuk-checkboxes__input" id="f-overdue" type="checkbox"
                    prop:checked=move || filter.with(|f| f.overdue_only)
                    on:change=move |ev| filter.update(|f| f.overdue_only = event_target_checked(&ev)) />
                <label class="nhsuk-label nhsuk-checkboxes__label" for="f-overdue">"Overdue only"</label>
            </div>
        </form>
        <p role="status" aria-live="polite" data-testid="action-count">
            {move || format!("{} of {} actions", shown.get().len(), all.get().len())}
        </p>
        <table class="nhsuk-table plait-actions">
            <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"Actions matching the filters"</caption>
            <thead class="nhsuk-table__head">
                <tr class="nhsuk-table__row">
                    <th scope="col" class="nhsuk-table__header">"Ref"</th>
                    <th scope="col" class="nhsuk-table__header">"Action"</th>
                    <th scope="col" class="nhsuk-table__header">"Owner"</th>
                    <th scope="col" class="nhsuk-table__header">"Status"</th>
                    <th scope="col" class="nhsuk-table__header">"Colour"</th>
                    <th scope="col" class="nhsuk-table__header">"Due"</th>
                </tr>
            </thead>
            <tbody class="nhsuk-table__body">
                <For each=move || shown.get() key=|row| (row.plan.clone(), row.id.clone()) let:row>
                    <tr class="nhsuk-table__row">
                        <td class="nhsuk-table__cell">{row.reference.clone()}</td>
                        <td class="nhsuk-table__cell">
                            <PageLink page=Page::Action { plan: row.plan.clone(), action: row.id.clone() }>
                                {row.title.clone()}
                            </PageLink>
                        </td>
                        <td class="nhsuk-table__cell">{row.owner.clone()}</td>
                        <td class="nhsuk-table__cell">{row.status.label()}</td>
                        <td class="nhsuk-table__cell"><Brag colour=row.colour /></td>
                        <td class="nhsuk-table__cell">
                            {row.due.map(|d| d.long()).unwrap_or_default()}
                            {row.overdue.then(|| view! { <strong class="nhsuk-tag nhsuk-tag--red plait-overdue">"Overdue"</strong> })}
                        </td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn row(reference: &str, status: Status, overdue: bool) -> ActionRow {
        ActionRow {
            plan: DocId::new("p").unwrap(),
            id: ActionId::new(format!("a-{reference}")).unwrap(),
            reference: reference.into(),
            title: format!("Action {reference}"),
            owner: "L. Brennan".into(),
            workstream: "Safe staffing".into(),
            status,
            colour: Colour::Green,
            due: None,
            overdue,
            kind: Some(FindingKind::MustDo),
            key_question: Some(KeyQuestion::Safe),
        }
    }

    #[test]
    fn filters_combine_and_sort() {
        let rows = vec![
            row("MD002", Status::InProgress, true),
            row("MD001", Status::Closed, false),
            row("SD001", Status::InProgress, false),
        ];
        let mut filter = Filter::default();
        assert_eq!(filter.apply(&rows)[0].reference, "MD001");
        filter.status = "in_progress".into();
        assert_eq!(filter.apply(&rows).len(), 2);
        filter.overdue_only = true;
        assert_eq!(filter.apply(&rows).len(), 1);
        filter = Filter {
            search: "sd00".into(),
            ..Filter::default()
        };
        assert_eq!(filter.apply(&rows).len(), 1);
        filter = Filter {
            kind: "should_do".into(),
            ..Filter::default()
        };
        assert!(filter.apply(&rows).is_empty());
    }
}
