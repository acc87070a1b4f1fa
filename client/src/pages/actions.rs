//! Every action of the programme: filter, search, sort, a page at a time.
//! The filters and the page live in the address (`?status=in_progress&page=2`),
//! so going back to the list from an action finds it as it was, and a
//! filtered list can be shared as a link.

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
    /// Its executive lead's name.
    pub lead: String,
    /// The reference of the finding it answers.
    pub finding: String,
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
    /// The page shown (from 1); 0 shows every action on one page.
    pub page: usize,
}

/// Actions on one page of the list.
pub const PER_PAGE: usize = 50;

impl Filter {
    /// The filter as an address's query (`?status=closed&page=2`; empty when
    /// nothing is chosen).
    pub fn to_query(&self) -> String {
        let flag = if self.overdue_only { "1" } else { "" };
        let page = match self.page {
            0 => "all".to_owned(),
            1 => String::new(),
            n => n.to_string(),
        };
        let pairs = [
            ("q", self.search.as_str()),
            ("workstream", self.workstream.as_str()),
            ("status", self.status.as_str()),
            ("colour", self.colour.as_str()),
            ("owner", self.owner.as_str()),
            ("kind", self.kind.as_str()),
            ("question", self.key_question.as_str()),
            ("overdue", flag),
            ("sort", self.sort.as_str()),
            ("page", page.as_str()),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", String::from(js_sys::encode_uri_component(v))))
            .collect();
        if query.is_empty() {
            String::new()
        } else {
            format!("?{}", query.join("&"))
        }
    }

    /// The filter an address's query names (unknown keys ignored).
    pub fn from_query(query: &str) -> Filter {
        let mut filter = Filter {
            page: 1,
            ..Filter::default()
        };
        for pair in query.trim_start_matches('?').split('&') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let value: String = js_sys::decode_uri_component(&value.replace('+', " "))
                .map(String::from)
                .unwrap_or_default();
            match key {
                "q" => filter.search = value,
                "workstream" => filter.workstream = value,
                "status" => filter.status = value,
                "colour" => filter.colour = value,
                "owner" => filter.owner = value,
                "kind" => filter.kind = value,
                "question" => filter.key_question = value,
                "overdue" => filter.overdue_only = value == "1",
                "sort" => filter.sort = value,
                "page" => {
                    filter.page = if value == "all" {
                        0
                    } else {
                        value.parse().unwrap_or(1).max(1)
                    }
                }
                _ => {}
            }
        }
        filter
    }
}

/// `text` in lower case, by the browser's Unicode rules (Rust's own tables
/// would add kilobytes to the download).
fn lower(text: &str) -> String {
    js_sys::JsString::from(text).to_lower_case().into()
}

impl Filter {
    /// Whether `row` passes (every filter but the page).
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
                    lead: if action.exec_lead.is_empty() {
                        String::new()
                    } else {
                        workspace.name_of(&action.exec_lead)
                    },
                    finding: findings
                        .first()
                        .map(|f| f.reference.clone())
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
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let filter = RwSignal::new(Filter::from_query(&query));
    // The address follows the filters (in place: Back leaves the list).
    Effect::new(move |_| {
        let query = filter.with(Filter::to_query);
        let router = expect_context::<crate::pages::Router>();
        let address = format!("{}{query}", router.href(&Page::Actions));
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ =
                history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
        }
    });
    let matching = Memo::new(move |_| filter.with(|f| f.apply(&all.get())));
    let page = move || filter.with(|f| f.page);
    let pages = move || matching.with(|m| m.len().div_ceil(PER_PAGE).max(1));
    let shown = Memo::new(move |_| {
        let rows = matching.get();
        match filter.with(|f| f.page) {
            0 => rows,
            n => {
                let n = n.min(rows.len().div_ceil(PER_PAGE).max(1));
                rows.into_iter()
                    .skip((n - 1) * PER_PAGE)
                    .take(PER_PAGE)
                    .collect()
            }
        }
    });
    // Any other change of the filters goes back to the first page.
    let set = move |change: Box<dyn FnOnce(&mut Filter)>| {
        filter.update(|f| {
            change(f);
            if f.page != 0 {
                f.page = 1;
            }
        });
    };
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
    // Who else has the programme's plans open, and this person there too.
    let workspace = use_workspace();
    let presence = workspace.claim_presence();
    Effect::new(move |_| {
        let plans = workspace
            .programme_view()
            .map(|p| p.plans)
            .unwrap_or_default();
        let here = plans
            .into_keys()
            .map(|id| (id, Default::default()))
            .collect();
        workspace.announce(presence, here);
    });
    on_cleanup(move || workspace.leave(presence));
    let line = Signal::derive(move || {
        let plans = workspace
            .programme_view()
            .map(|p| p.plans)
            .unwrap_or_default();
        let here = plans
            .keys()
            .flat_map(|id| workspace.peers(id))
            .map(|peer| (peer, None))
            .collect();
        crate::components::presence::also_here(here)
    });
    view! {
        <h1>"Actions"</h1>
        <crate::components::presence::AlsoHere line />
        <form class="plait-filters" role="search" aria-label="Filter actions" on:submit=|ev| ev.prevent_default()>
            <div class="nhsuk-form-group plait-filter plait-filter--search">
                <label class="nhsuk-label" for="search">"Search reference, title or owner"</label>
                <input class="nhsuk-input" id="search" type="search"
                    prop:value=move || filter.with(|f| f.search.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); set(Box::new(move |f| f.search = v)) } />
            </div>
            {move || view! {
                <Choice id="f-workstream" label="Workstream" options=workstreams() value=field(|f| f.workstream.clone())
                    set=Callback::new(move |v| set(Box::new(move |f| f.workstream = v))) />
                <Choice id="f-owner" label="Owner" options=owners() value=field(|f| f.owner.clone())
                    set=Callback::new(move |v| set(Box::new(move |f| f.owner = v))) />
            }}
            <Choice id="f-status" label="Status" options=statuses value=field(|f| f.status.clone())
                set=Callback::new(move |v| set(Box::new(move |f| f.status = v))) />
            <Choice id="f-colour" label="Colour" options=colours value=field(|f| f.colour.clone())
                set=Callback::new(move |v| set(Box::new(move |f| f.colour = v))) />
            <Choice id="f-kind" label="Must or Should" options=kinds value=field(|f| f.kind.clone())
                set=Callback::new(move |v| set(Box::new(move |f| f.kind = v))) />
            <Choice id="f-question" label="Key question" options=questions value=field(|f| f.key_question.clone())
                set=Callback::new(move |v| set(Box::new(move |f| f.key_question = v))) />
            <div class="nhsuk-form-group plait-filter">
                <label class="nhsuk-label" for="f-sort">"Sort by"</label>
                <select class="nhsuk-select" id="f-sort" on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |f| f.sort = v)) }>
                    <option value="ref">"Reference"</option>
                    <option value="due">"Due date"</option>
                    <option value="status">"Status"</option>
                    <option value="colour">"Colour"</option>
                </select>
            </div>
            <div class="nhsuk-checkboxes__item plait-filter">
                <input class="nhsuk-checkboxes__input" id="f-overdue" type="checkbox"
                    prop:checked=move || filter.with(|f| f.overdue_only)
                    on:change=move |ev| { let v = event_target_checked(&ev); set(Box::new(move |f| f.overdue_only = v)) } />
                <label class="nhsuk-label nhsuk-checkboxes__label" for="f-overdue">"Overdue only"</label>
            </div>
        </form>
        <p role="status" aria-live="polite" data-testid="action-count">
            {move || format!("{} of {} actions", matching.with(Vec::len), all.with(Vec::len))}
        </p>
        {move || (page() != 0 && pages() > 1).then(|| {
            let first = (page().min(pages()) - 1) * PER_PAGE + 1;
            let last = (first + PER_PAGE - 1).min(matching.with(Vec::len));
            view! { <p class="nhsuk-body-s">{format!("Showing {first} to {last}")}</p> }
        })}
        <div class="plait-scroll" tabindex="0" role="region" aria-label="Actions (scrolls sideways)">
        <table class="nhsuk-table plait-actions">
            <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"Actions matching the filters"</caption>
            <thead class="nhsuk-table__head">
                <tr class="nhsuk-table__row">
                    <th scope="col" class="nhsuk-table__header">"Ref"</th>
                    <th scope="col" class="nhsuk-table__header">"Action"</th>
                    <th scope="col" class="nhsuk-table__header">"Owner"</th>
                    <th scope="col" class="nhsuk-table__header">"Executive lead"</th>
                    <th scope="col" class="nhsuk-table__header">"Status"</th>
                    <th scope="col" class="nhsuk-table__header">"Colour"</th>
                    <th scope="col" class="nhsuk-table__header">"Due"</th>
                </tr>
            </thead>
            <tbody class="nhsuk-table__body">
                <For each=move || shown.get() key=|row| (row.plan.clone(), row.id.clone()) let:row>
                    <tr class="nhsuk-table__row">
                        <td class="nhsuk-table__cell">{row.reference.clone()}
                            {(!row.finding.is_empty()).then(|| view! {
                                <br/><span class="nhsuk-body-s">{format!("{} {}", row.kind.map_or("", |k| k.label()), row.finding)}</span>
                            })}
                        </td>
                        <td class="nhsuk-table__cell">
                            <PageLink page=Page::Action { plan: row.plan.clone(), action: row.id.clone() }>
                                {row.title.clone()}
                            </PageLink>
                        </td>
                        <td class="nhsuk-table__cell">{row.owner.clone()}</td>
                        <td class="nhsuk-table__cell">{row.lead.clone()}</td>
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
        </div>
        {move || (page() != 0 && pages() > 1).then(|| {
            let current = page().min(pages());
            let go = move |to: usize| move |ev: leptos::ev::MouseEvent| {
                ev.prevent_default();
                filter.update(|f| f.page = to);
                crate::browser::focus("main");
            };
            view! {
                <nav class="nhsuk-pagination" role="navigation" aria-label="Pages of actions">
                    <ul class="nhsuk-list nhsuk-pagination__list">
                        {(current > 1).then(|| view! {
                            <li class="nhsuk-pagination-item--previous">
                                <a class="nhsuk-pagination__link nhsuk-pagination__link--prev" href="#" on:click=go(current - 1)>
                                    <span class="nhsuk-pagination__title">"Previous"</span>
                                    <span class="nhsuk-u-visually-hidden">":"</span>
                                    <span class="nhsuk-pagination__page">{format!("Page {} of {}", current - 1, pages())}</span>
                                </a>
                            </li>
                        })}
                        {(current < pages()).then(|| view! {
                            <li class="nhsuk-pagination-item--next">
                                <a class="nhsuk-pagination__link nhsuk-pagination__link--next" href="#" on:click=go(current + 1)>
                                    <span class="nhsuk-pagination__title">"Next"</span>
                                    <span class="nhsuk-u-visually-hidden">":"</span>
                                    <span class="nhsuk-pagination__page">{format!("Page {} of {}", current + 1, pages())}</span>
                                </a>
                            </li>
                        })}
                    </ul>
                </nav>
                <p class="nhsuk-body-s"><a href="#" on:click=go(0)>"Show every action on one page"</a></p>
            }
        })}
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
            lead: "Chief Nurse".into(),
            finding: "MD001".into(),
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
