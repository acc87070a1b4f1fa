//! Phase 2's pages (issue 17), besides the measures: the root causes the
//! trust's analysis found, each with the findings it explains, and the
//! criteria for leaving the programme with how many are met. The driver
//! diagrams are [`crate::pages::drivers`]. Who may change what is asked of
//! `plait_shared::access::check_programme_change`, as the server asks it.

use leptos::prelude::*;
use plait_shared::ids::{ExitCriterionId, RootCauseId};
use plait_shared::improvement::{ExitCriterion, Link, Node, RootCause};
use plait_shared::keys::Root;
use plait_shared::phase2::readiness;
use plait_shared::vocab::{AnalysisMethod, ExitStatus};
use plait_shared::{PlanView, ProgrammeView};

use crate::browser::fresh_id;
use crate::components::form::{failed, required, Choice, ErrorSummary, Saved, TextArea, TextField};
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::pages::{Page, PageLink};

/// Whether the signed-in member may change `root` of the programme.
pub fn may(root: Root) -> Signal<bool> {
    let session = use_session();
    Signal::derive(move || {
        plait_shared::access::check_programme_change(session.actor.get().role, root).is_ok()
    })
}

/// The links between phase 2's pages.
#[component]
pub fn PhaseTwoNav(current: Page) -> impl IntoView {
    let pages = [
        (Page::Drivers, "Driver diagrams"),
        (Page::RootCauses, "Root causes"),
        (Page::Measures, "Measures"),
        (Page::ExitCriteria, "Exit criteria"),
    ];
    view! {
        <nav class="plait-subnav plait-no-print" aria-label="Phase 2">
            <ul class="nhsuk-list plait-subnav__list">
                {pages.into_iter().map(|(page, label)| {
                    let here = page == current;
                    view! {
                        <li>{if here {
                            view! { <strong aria-current="page">{label}</strong> }.into_any()
                        } else {
                            view! { <PageLink page>{label}</PageLink> }.into_any()
                        }}</li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

/// Clips `text` to about `n` characters at a word.
pub fn clip(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    let cut: String = text.chars().take(n).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// A link's end in words, and the page it opens (none for what is gone).
pub fn describe(
    programme: &ProgrammeView,
    plans: &[(plait_shared::DocId, PlanView)],
    node: &Node,
) -> Option<(String, Option<Page>)> {
    let plan = |id: &plait_shared::DocId| plans.iter().find(|(p, _)| p == id).map(|(_, v)| v);
    match node {
        Node::Finding(p, f) => {
            let finding = plan(p)?.findings.get(f)?;
            Some((
                format!("{}: {}", finding.reference, clip(&finding.text, 90)),
                Some(Page::Finding {
                    plan: p.clone(),
                    finding: f.clone(),
                }),
            ))
        }
        Node::Action(p, a) => {
            let action = plan(p)?.actions.get(a)?;
            Some((
                format!("{}: {}", action.reference, clip(&action.title, 90)),
                Some(Page::Action {
                    plan: p.clone(),
                    action: a.clone(),
                }),
            ))
        }
        Node::Measure(m) => Some((
            programme.measures.get(m)?.name.clone(),
            Some(Page::Measures),
        )),
        Node::RootCause(r) => Some((
            programme.improvement.root_causes.get(r)?.title.clone(),
            Some(Page::RootCauses),
        )),
        Node::Driver(d) => Some((
            programme.improvement.drivers.get(d)?.text.clone(),
            Some(Page::Drivers),
        )),
        Node::Cycle(c) => Some((
            programme.improvement.cycles.get(c)?.title.clone(),
            Some(Page::Drivers),
        )),
        Node::Exit(x) => Some((
            programme.improvement.exit_criteria.get(x)?.text.clone(),
            Some(Page::ExitCriteria),
        )),
    }
}

/// One link of the programme, with its far end in words and the page
/// that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    /// The link.
    pub link: Link,
    /// Its far end, in words.
    pub words: String,
    /// Where that is shown.
    pub page: Option<Page>,
}

/// Every link of the programme whose far end still exists, described: read
/// once per change for a whole page (the plans are the costly part), and
/// each list of links takes its own from these.
pub fn use_link_rows() -> Memo<Vec<LinkRow>> {
    let workspace = use_workspace();
    Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        let plans = workspace.plan_views();
        let mut rows: Vec<LinkRow> = programme
            .improvement
            .links
            .values()
            .filter_map(|link| {
                let (words, page) = describe(&programme, &plans, &link.to)?;
                Some(LinkRow {
                    link: link.clone(),
                    words,
                    page,
                })
            })
            .collect();
        rows.sort_by(|a, b| a.link.cmp(&b.link));
        rows
    })
}

/// What `from` is linked to (of the page's `links`), as a list of links,
/// each with a button to unlink it for whoever may.
#[component]
pub fn Linked(from: Node, links: Memo<Vec<LinkRow>>, #[prop(into)] empty: String) -> impl IntoView {
    let workspace = use_workspace();
    let allowed = may(Root::Links);
    let rows = Memo::new(move |_| {
        links.with(|all| {
            all.iter()
                .filter(|row| row.link.from == from)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    view! {
        <Show when=move || rows.with(|r| !r.is_empty()) fallback=move || (!empty.is_empty()).then(|| view! { <p class="nhsuk-body-s">{empty.clone()}</p> })>
            <ul class="nhsuk-list nhsuk-list--bullet" data-testid="linked">
                <For each=move || rows.get() key=|row| row.link.key() let:row>
                    {
                        let LinkRow { link, words, page } = row;
                        let label = format!("Unlink {words}");
                        view! {
                            <li>
                                {match page {
                                    Some(page) => view! { <PageLink page>{words.clone()}</PageLink> }.into_any(),
                                    None => view! { <span>{words.clone()}</span> }.into_any(),
                                }}
                                <Show when=move || allowed.get()>
                                    " "
                                    <button type="button" class="plait-link-button plait-no-print" aria-label=label.clone()
                                        on:click={
                                            let link = link.clone();
                                            move |_| {
                                                workspace.edit_programme(|p, txn| p.remove_phase_two(txn, Root::Links, &link.key()));
                                            }
                                        }>"Unlink"</button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}

/// The findings of every plan, as choices: `(node key, "MD001: …")`.
pub fn finding_options(plans: &[(plait_shared::DocId, PlanView)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plans
        .iter()
        .flat_map(|(plan, view)| {
            view.findings.values().map(move |f| {
                (
                    Node::Finding(plan.clone(), f.id.clone()).key(),
                    format!("{}: {}", f.reference, clip(&f.text, 70)),
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The actions of every plan, as choices.
pub fn action_options(plans: &[(plait_shared::DocId, PlanView)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plans
        .iter()
        .flat_map(|(plan, view)| {
            view.actions.values().map(move |a| {
                (
                    Node::Action(plan.clone(), a.id.clone()).key(),
                    format!("{}: {}", a.reference, clip(&a.title, 70)),
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The measures, as choices.
pub fn measure_options(programme: &ProgrammeView) -> Vec<(String, String)> {
    programme
        .measures
        .iter()
        .map(|(id, m)| (Node::Measure(id.clone()).key(), m.name.clone()))
        .collect()
}

/// "Choose…" then `options`.
pub fn with_prompt(prompt: &str, options: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), prompt.to_owned())];
    out.extend(options);
    out
}

/// A form linking one of `from` to one of `to`.
#[component]
pub fn LinkForm(
    from_id: &'static str,
    to_id: &'static str,
    summary: &'static str,
    heading: &'static str,
    from_label: &'static str,
    to_label: &'static str,
    from: Signal<Vec<(String, String)>>,
    to: Signal<Vec<(String, String)>>,
    button: &'static str,
) -> impl IntoView {
    let workspace = use_workspace();
    let chosen_from = RwSignal::new(String::new());
    let chosen_to = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let from_options = Signal::derive(move || with_prompt("Choose", from.get()));
    let to_options = Signal::derive(move || with_prompt("Choose", to.get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let a = Node::parse(&chosen_from.get_untracked());
        let b = Node::parse(&chosen_to.get_untracked());
        let mut found = Vec::new();
        if a.is_err() {
            found.push((
                from_id.to_owned(),
                format!("Choose the {}", from_label.to_ascii_lowercase()),
            ));
        }
        if b.is_err() {
            found.push((
                to_id.to_owned(),
                format!("Choose the {}", to_label.to_ascii_lowercase()),
            ));
        }
        if failed(errors, found, summary) {
            return;
        }
        let (Ok(a), Ok(b)) = (a, b) else {
            return;
        };
        let link = Link { from: a, to: b };
        if workspace.edit_programme(|p, txn| p.put_link(txn, &link)) {
            saved.set("Linked.".to_owned());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>{heading}</h2>
            <ErrorSummary id=summary errors />
            <Choice id=from_id label=from_label options=from_options value=chosen_from errors />
            <Choice id=to_id label=to_label options=to_options value=chosen_to errors />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">{button}</button>
            <Saved message=saved />
        </form>
    }
}

/// The root causes page.
#[component]
pub fn RootCauses() -> impl IntoView {
    let workspace = use_workspace();
    let links = use_link_rows();
    let allowed = may(Root::RootCauses);
    let causes = Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        let mut causes: Vec<(RootCauseId, RootCause)> =
            programme.improvement.root_causes.into_iter().collect();
        causes.sort_by(|a, b| {
            a.1.theme
                .cmp(&b.1.theme)
                .then_with(|| a.1.title.cmp(&b.1.title))
        });
        causes
    });
    let cause_options = Signal::derive(move || {
        causes
            .get()
            .into_iter()
            .map(|(id, c)| (Node::RootCause(id).key(), c.title))
            .collect::<Vec<_>>()
    });
    let findings = Signal::derive(move || finding_options(&workspace.plan_views()));
    view! {
        <PhaseTwoNav current=Page::RootCauses />
        <h1>"Root causes"</h1>
        <p class="nhsuk-lede-text">"Why things went wrong, as the trust's analysis found: each root cause under its theme, with how it was found and the CQC findings and incidents it explains."</p>
        <Show when=move || causes.with(|c| !c.is_empty()) fallback=|| view! { <p>"No root causes recorded yet."</p> }>
            <For each=move || causes.get() key=|(id, c)| (id.clone(), format!("{c:?}")) let:row>
                {
                    let (id, cause) = row;
                    let method = cause.method.map(|m| m.label()).unwrap_or("Not recorded");
                    let category = (!cause.category.is_empty()).then(|| format!(" · Category: {}", cause.category));
                    let heading = format!("cause-{id}");
                    let labelled = heading.clone();
                    let remove_id = id.clone();
                    view! {
                        <section class="nhsuk-card" data-testid="root-cause" aria-labelledby=labelled>
                            <div class="nhsuk-card__content">
                                <span class="nhsuk-caption-m">{cause.theme.clone()}</span>
                                <h2 class="nhsuk-card__heading" id=heading>{cause.title.clone()}</h2>
                                <p class="nhsuk-body-s">{format!("Found by: {method}")}{category}</p>
                                <p>{cause.description.clone()}</p>
                                {(!cause.incidents.is_empty()).then(|| view! { <p class="nhsuk-body-s">{format!("Incidents: {}", cause.incidents)}</p> })}
                                <h3 class="nhsuk-heading-s">"Findings it explains"</h3>
                                <Linked from=Node::RootCause(id.clone()) links empty="No findings linked yet." />
                                <Show when=move || allowed.get()>
                                    <button type="button" class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0 plait-no-print"
                                        on:click={
                                            let id = remove_id.clone();
                                            move |_| {
                                                workspace.edit_programme(|p, txn| p.remove_phase_two(txn, Root::RootCauses, id.as_str()));
                                            }
                                        }>"Remove this root cause"</button>
                                </Show>
                            </div>
                        </section>
                    }
                }
            </For>
        </Show>
        <Show when=move || allowed.get() && causes.with(|c| !c.is_empty())>
            <LinkForm from_id="cause-link-from" to_id="cause-link-to" summary="cause-link-errors" heading="Link a finding to a root cause" from_label="Root cause" to_label="Finding"
                from=cause_options to=findings button="Link the finding" />
        </Show>
        <Show when=move || allowed.get()><AddRootCause /></Show>
    }
}

/// Adds a root cause.
#[component]
fn AddRootCause() -> impl IntoView {
    let workspace = use_workspace();
    let [theme, title, description, category, incidents] =
        std::array::from_fn(|_| RwSignal::new(String::new()));
    let method = RwSignal::new(AnalysisMethod::FiveWhys.key().to_owned());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let methods = Signal::derive(|| {
        AnalysisMethod::ALL
            .iter()
            .map(|m| (m.key().to_owned(), m.label().to_owned()))
            .collect::<Vec<_>>()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let found: Vec<_> = [
            required(
                &theme.get_untracked(),
                "cause-theme",
                "Enter the theme, like Safe staffing",
            ),
            required(
                &title.get_untracked(),
                "cause-title",
                "Enter the root cause in a line",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if failed(errors, found, "cause-errors") {
            return;
        }
        let Ok(id) = RootCauseId::new(fresh_id("rc")) else {
            return;
        };
        let cause = RootCause {
            theme: theme.get_untracked().trim().to_owned(),
            title: title.get_untracked().trim().to_owned(),
            description: description.get_untracked().trim().to_owned(),
            method: method.get_untracked().parse().ok(),
            category: category.get_untracked().trim().to_owned(),
            incidents: incidents.get_untracked().trim().to_owned(),
        };
        if workspace.edit_programme(|p, txn| p.put_root_cause(txn, &id, &cause)) {
            saved.set(format!("{} added.", cause.title));
            for field in [title, description, category, incidents] {
                field.set(String::new());
            }
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add a root cause"</h2>
            <ErrorSummary id="cause-errors" errors />
            <TextField id="cause-theme" label="Theme" hint="For example, Leadership and culture" value=theme errors />
            <TextField id="cause-title" label="The root cause, in a line" value=title errors />
            <Choice id="cause-method" label="How it was found" options=methods value=method />
            <TextField id="cause-category" label="Fishbone category (optional)" hint="For example, People, Process, Environment" value=category errors width="nhsuk-input--width-20" />
            <TextArea id="cause-description" label="What the analysis found" value=description />
            <TextField id="cause-incidents" label="Incidents it explains (optional)" hint="Their references, like Datix numbers; nothing that identifies a patient" value=incidents errors />
            <button class="nhsuk-button" type="submit">"Add the root cause"</button>
            <Saved message=saved />
        </form>
    }
}

/// The exit criteria page.
#[component]
pub fn ExitCriteria() -> impl IntoView {
    let workspace = use_workspace();
    let links = use_link_rows();
    let allowed = may(Root::ExitCriteria);
    let criteria = Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        programme
            .improvement
            .exit_criteria
            .into_iter()
            .collect::<Vec<(ExitCriterionId, ExitCriterion)>>()
    });
    let ready = Memo::new(move |_| readiness(&workspace.programme_view().unwrap_or_default()));
    let options = Signal::derive(move || {
        criteria
            .get()
            .into_iter()
            .map(|(id, c)| (Node::Exit(id).key(), clip(&c.text, 80)))
            .collect::<Vec<_>>()
    });
    let targets = Signal::derive(move || {
        let programme = workspace.programme_view().unwrap_or_default();
        let mut out = measure_options(&programme);
        out.extend(action_options(&workspace.plan_views()));
        out
    });
    view! {
        <PhaseTwoNav current=Page::ExitCriteria />
        <h1>"Exit criteria"</h1>
        <p class="nhsuk-lede-text">"What must be true for the trust to leave the programme (NHS England's Recovery Support Programme), each with its evidence and the measures and actions that show it."</p>
        <p class="nhsuk-body-l" data-testid="readiness">{move || {
            let r = ready.get();
            format!("{} of {} met; {} partly met.", r.met, r.total, r.partly)
        }}</p>
        <Show when=move || criteria.with(|c| !c.is_empty()) fallback=|| view! { <p>"No exit criteria recorded yet."</p> }>
            <For each=move || criteria.get() key=|(id, c)| (id.clone(), format!("{c:?}")) let:row>
                {
                    let (id, c) = row;
                    let status = c.status.unwrap_or(ExitStatus::NotMet);
                    let tag = match status {
                        ExitStatus::Met => "nhsuk-tag nhsuk-tag--green",
                        ExitStatus::PartlyMet => "nhsuk-tag nhsuk-tag--yellow",
                        ExitStatus::NotMet => "nhsuk-tag nhsuk-tag--grey",
                    };
                    let heading = format!("exit-{id}");
                    let labelled = heading.clone();
                    view! {
                        <section class="nhsuk-card" data-testid="exit-criterion" aria-labelledby=labelled>
                            <div class="nhsuk-card__content">
                                <h2 class="nhsuk-card__heading nhsuk-heading-s" id=heading>{c.text.clone()}</h2>
                                <p><strong class=tag>{status.label()}</strong></p>
                                {(!c.source.is_empty()).then(|| view! { <p class="nhsuk-body-s">{format!("Source: {}", c.source)}</p> })}
                                <p>{if c.evidence.is_empty() { "No evidence recorded yet.".to_owned() } else { format!("Evidence: {}", c.evidence) }}</p>
                                <Linked from=Node::Exit(id.clone()) links empty="No measures or actions linked." />
                            </div>
                        </section>
                    }
                }
            </For>
        </Show>
        <Show when=move || allowed.get() && criteria.with(|c| !c.is_empty())>
            <RecordExit criteria />
            <LinkForm from_id="exit-link-from" to_id="exit-link-to" summary="exit-link-errors" heading="Link a measure or action to a criterion" from_label="Exit criterion" to_label="Measure or action"
                from=options to=targets button="Link it" />
        </Show>
        <Show when=move || allowed.get()><AddExit /></Show>
    }
}

/// Records where an exit criterion stands.
#[component]
fn RecordExit(criteria: Memo<Vec<(ExitCriterionId, ExitCriterion)>>) -> impl IntoView {
    let workspace = use_workspace();
    let chosen = RwSignal::new(String::new());
    let status = RwSignal::new(ExitStatus::NotMet.key().to_owned());
    let evidence = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let options = Signal::derive(move || {
        with_prompt(
            "Choose",
            criteria
                .get()
                .into_iter()
                .map(|(id, c)| (id.to_string(), clip(&c.text, 80)))
                .collect(),
        )
    });
    // Choosing a criterion shows where it stands.
    Effect::new(move |_| {
        let id = chosen.get();
        if let Some((_, c)) =
            criteria.with_untracked(|cs| cs.iter().find(|(i, _)| i.as_str() == id).cloned())
        {
            status.set(c.status.unwrap_or(ExitStatus::NotMet).key().to_owned());
            evidence.set(c.evidence);
        }
    });
    let statuses = Signal::derive(|| {
        ExitStatus::ALL
            .iter()
            .map(|s| (s.key().to_owned(), s.label().to_owned()))
            .collect::<Vec<_>>()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = chosen.get_untracked();
        let current =
            criteria.with_untracked(|cs| cs.iter().find(|(i, _)| i.as_str() == id).cloned());
        let found: Vec<_> = current
            .is_none()
            .then(|| {
                (
                    "exit-record-criterion".to_owned(),
                    "Choose the exit criterion".to_owned(),
                )
            })
            .into_iter()
            .collect();
        if failed(errors, found, "exit-record-errors") {
            return;
        }
        let Some((id, mut c)) = current else {
            return;
        };
        c.status = status.get_untracked().parse().ok();
        c.evidence = evidence.get_untracked().trim().to_owned();
        if workspace.edit_programme(|p, txn| p.put_exit_criterion(txn, &id, &c)) {
            saved.set(format!(
                "Recorded: {}.",
                c.status.unwrap_or(ExitStatus::NotMet).label()
            ));
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Record where a criterion stands"</h2>
            <ErrorSummary id="exit-record-errors" errors />
            <Choice id="exit-record-criterion" label="Exit criterion" options value=chosen errors />
            <Choice id="exit-record-status" label="Status" options=statuses value=status />
            <TextArea id="exit-record-evidence" label="The evidence: where it is and what it shows" value=evidence />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Record it"</button>
            <Saved message=saved />
        </form>
    }
}

/// Adds an exit criterion.
#[component]
fn AddExit() -> impl IntoView {
    let workspace = use_workspace();
    let text = RwSignal::new(String::new());
    let source = RwSignal::new("NHS England Recovery Support Programme".to_owned());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let found: Vec<_> = required(
            &text.get_untracked(),
            "exit-text",
            "Enter what must be true",
        )
        .into_iter()
        .collect();
        if failed(errors, found, "exit-errors") {
            return;
        }
        let Ok(id) = ExitCriterionId::new(fresh_id("x")) else {
            return;
        };
        let criterion = ExitCriterion {
            text: text.get_untracked().trim().to_owned(),
            source: source.get_untracked().trim().to_owned(),
            status: Some(ExitStatus::NotMet),
            evidence: String::new(),
        };
        if workspace.edit_programme(|p, txn| p.put_exit_criterion(txn, &id, &criterion)) {
            saved.set(format!("{} added.", clip(&criterion.text, 60)));
            text.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add an exit criterion"</h2>
            <ErrorSummary id="exit-errors" errors />
            <TextField id="exit-text" label="What must be true" value=text errors />
            <TextField id="exit-source" label="Whose criterion it is" value=source errors />
            <button class="nhsuk-button" type="submit">"Add the criterion"</button>
            <Saved message=saved />
        </form>
    }
}
