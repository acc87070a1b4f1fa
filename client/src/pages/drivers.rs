//! Phase 2's driver diagrams (issue 17): each aim (what, by how much, by
//! when) with its primary and secondary drivers and change ideas, drawn as
//! an SVG (scrolling inside its own region on a phone, printable) and given
//! again as a nested list, its text alternative. Under it, each change
//! idea's actions, measures and PDSA cycles. The improvement team edits the
//! diagram and the ward teams record their PDSA cycles, offline like every
//! edit; two devices' edits merge, each node and link an entity of its own.

use leptos::prelude::*;
use plait_shared::ids::{CycleId, DriverId};
use plait_shared::improvement::{Cycle, Driver, Node};
use plait_shared::keys::Root;
use plait_shared::phase2::{decision_of, diagrams, unplaced, Branch};
use plait_shared::vocab::{DriverKind, PdsaDecision};

use crate::browser::fresh_id;
use crate::components::date_input::{DateInput, DateParts};
use crate::components::form::{
    error_of, failed, required, Choice, ErrorSummary, Saved, TextArea, TextField,
};
use crate::contexts::workspace::use_workspace;
use crate::pages::improvement::{
    action_options, clip, may, measure_options, use_link_rows, with_prompt, LinkForm, LinkRow,
    Linked, PhaseTwoNav,
};
use crate::pages::Page;

/// The diagram's columns, left to right.
const COLUMNS: [DriverKind; 4] = [
    DriverKind::Aim,
    DriverKind::Primary,
    DriverKind::Secondary,
    DriverKind::ChangeIdea,
];
const COLUMN: f64 = 240.0;
const BOX: f64 = 216.0;
const ROW: f64 = 84.0;
const LINE: f64 = 15.0;
/// Room for the column headings above the first row.
const TOP: f64 = 30.0;
/// Characters on a line of a box, and lines in it.
const WRAP: usize = 30;
const LINES: usize = 4;

/// `text` in lines of at most [`WRAP`] characters, at most [`LINES`].
fn wrap(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= WRAP => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    if lines.len() > LINES {
        lines.truncate(LINES);
        if let Some(last) = lines.last_mut() {
            last.push('…');
        }
    }
    lines
}

/// The fill of a node's box: the aim dark, change ideas by their decision.
fn fill(kind: Option<DriverKind>, decision: Option<PdsaDecision>) -> (&'static str, &'static str) {
    match (kind, decision) {
        (Some(DriverKind::Aim), _) => ("#005eb8", "#ffffff"),
        (Some(DriverKind::ChangeIdea), Some(PdsaDecision::Adopt)) => ("#e6f4ea", "#212b32"),
        (Some(DriverKind::ChangeIdea), Some(PdsaDecision::Abandon)) => ("#f0f4f5", "#4c6272"),
        _ => ("#ffffff", "#212b32"),
    }
}

struct Placed {
    x: f64,
    y: f64,
    lines: Vec<String>,
    fill: (&'static str, &'static str),
    parent: Option<(f64, f64)>,
}

/// Places every node of `aim`'s tree: its column by its kind, its middle
/// row the middle of the rows its leaves take.
fn place(
    branch: &Branch,
    top: usize,
    parent: Option<(f64, f64)>,
    decision: &dyn Fn(&DriverId) -> Option<PdsaDecision>,
    out: &mut Vec<Placed>,
) {
    let column = COLUMNS
        .iter()
        .position(|k| Some(*k) == branch.driver.kind)
        .unwrap_or(0);
    let x = 8.0 + COLUMN * column as f64;
    let y = TOP + ROW * (top as f64 + branch.leaves() as f64 / 2.0);
    out.push(Placed {
        x,
        y,
        lines: wrap(&branch.driver.text),
        fill: fill(branch.driver.kind, decision(&branch.id)),
        parent,
    });
    let mut row = top;
    for child in &branch.children {
        place(child, row, Some((x + BOX, y)), decision, out);
        row += child.leaves();
    }
}

/// A driver diagram as an SVG.
fn diagram_svg(
    aim: &Branch,
    decision: &dyn Fn(&DriverId) -> Option<PdsaDecision>,
) -> impl IntoView {
    let mut placed = Vec::new();
    place(aim, 0, None, decision, &mut placed);
    let height = TOP + ROW * aim.leaves() as f64 + 8.0;
    let width = COLUMN * 4.0;
    let counts = |kind| {
        aim.walk()
            .iter()
            .filter(|n| n.driver.kind == Some(kind))
            .count()
    };
    let words = format!(
        "Driver diagram for the aim {}: {} primary drivers, {} secondary drivers and {} change ideas. The same diagram follows as a list.",
        aim.driver.text,
        counts(DriverKind::Primary),
        counts(DriverKind::Secondary),
        counts(DriverKind::ChangeIdea)
    );
    let (title_id, desc_id) = (
        format!("dd-title-{}", aim.id),
        format!("dd-desc-{}", aim.id),
    );
    let (labelled, described) = (title_id.clone(), desc_id.clone());
    let headings = COLUMNS
        .iter()
        .enumerate()
        .map(|(n, k)| {
            view! { <text x=format!("{:.0}", 8.0 + COLUMN * n as f64) y="20" font-size="13" font-weight="bold" fill="#212b32">{k.label()}</text> }
        })
        .collect_view();
    let connectors = placed
        .iter()
        .filter_map(|p| {
            let (px, py) = p.parent?;
            let mid = (px + p.x) / 2.0;
            Some(view! {
                <path d=format!("M{px:.1},{py:.1} C{mid:.1},{py:.1} {mid:.1},{:.1} {:.1},{:.1}", p.y, p.x, p.y)
                    fill="none" stroke="#768692" stroke-width="1.5" />
            })
        })
        .collect_view();
    let boxes = placed
        .iter()
        .map(|p| {
            let box_height = LINE * p.lines.len().max(1) as f64 + 14.0;
            let top = p.y - box_height / 2.0;
            let (background, ink) = p.fill;
            let lines = p
                .lines
                .iter()
                .enumerate()
                .map(|(n, line)| {
                    view! { <text x=format!("{:.1}", p.x + 8.0) y=format!("{:.1}", top + 18.0 + LINE * n as f64) font-size="12.5" fill=ink>{line.clone()}</text> }
                })
                .collect_view();
            view! {
                <rect x=format!("{:.1}", p.x) y=format!("{top:.1}") width=format!("{BOX}") height=format!("{box_height:.1}")
                    rx="4" fill=background stroke="#425563" stroke-width="1" />
                {lines}
            }
        })
        .collect_view();
    view! {
        <div class="plait-scroll plait-diagram" role="region" aria-label=format!("Driver diagram: {}", aim.driver.text) tabindex="0">
            <svg class="plait-driver-diagram" viewBox=format!("0 0 {width} {height:.0}") width=format!("{width}") role="img"
                aria-labelledby=labelled aria-describedby=described data-testid="driver-diagram">
                <title id=title_id>{format!("Driver diagram: {}", aim.driver.text)}</title>
                <desc id=desc_id>{words}</desc>
                {headings}
                {connectors}
                {boxes}
            </svg>
        </div>
    }
}

/// The diagram as a nested list: its text alternative.
fn tree_list(branch: &Branch, decision: &dyn Fn(&DriverId) -> Option<PdsaDecision>) -> AnyView {
    let kind = branch.driver.kind.map_or("Node", |k| k.label());
    let decided = decision(&branch.id)
        .filter(|_| branch.driver.kind == Some(DriverKind::ChangeIdea))
        .map(|d| format!(" ({})", d.label().to_ascii_lowercase()));
    let children = (!branch.children.is_empty()).then(|| {
        let items = branch
            .children
            .iter()
            .map(|c| tree_list(c, decision))
            .collect_view();
        view! { <ul class="plait-tree">{items}</ul> }
    });
    view! {
        <li data-testid="driver-node"><span class="nhsuk-u-visually-hidden">{format!("{kind}: ")}</span>
            <span class="plait-tree__kind" aria-hidden="true">{kind}</span>" "{branch.driver.text.clone()}{decided}{children}</li>
    }
    .into_any()
}

/// The driver diagrams page.
#[component]
pub fn Drivers() -> impl IntoView {
    let workspace = use_workspace();
    let edit = may(Root::Drivers);
    let cycles_allowed = may(Root::Cycles);
    let programme = Memo::new(move |_| workspace.programme_view().unwrap_or_default());
    let links = use_link_rows();
    let trees = Memo::new(move |_| programme.with(diagrams));
    let loose = Memo::new(move |_| programme.with(unplaced));
    // Every node, as choices: "Primary driver: Safe staffing".
    let nodes = Signal::derive(move || {
        trees.with(|trees| {
            trees
                .iter()
                .flat_map(|t| {
                    t.walk()
                        .into_iter()
                        .map(|n| (n.id.clone(), n.driver.clone()))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<(DriverId, Driver)>>()
        })
    });
    let node_options = move |filter: fn(Option<DriverKind>) -> bool| {
        Signal::derive(move || {
            let chosen: Vec<(DriverId, Driver)> = nodes
                .get()
                .into_iter()
                .filter(|(_, d)| filter(d.kind))
                .collect();
            named_nodes(&chosen)
        })
    };
    let parents = node_options(|k| k.and_then(DriverKind::child).is_some());
    let ideas = node_options(|k| k == Some(DriverKind::ChangeIdea));
    let link_from = Signal::derive(move || {
        let mut out: Vec<(String, String)> = nodes
            .get()
            .into_iter()
            .map(|(id, d)| {
                (
                    Node::Driver(id).key(),
                    format!(
                        "{}: {}",
                        d.kind.map_or("Node", |k| k.label()),
                        clip(&d.text, 60)
                    ),
                )
            })
            .collect();
        out.extend(programme.with(|p| {
            p.improvement
                .cycles
                .iter()
                .map(|(id, c)| {
                    (
                        Node::Cycle(id.clone()).key(),
                        format!("PDSA cycle: {}", clip(&c.title, 60)),
                    )
                })
                .collect::<Vec<_>>()
        }));
        out
    });
    let link_to = Signal::derive(move || {
        let mut out = programme.with(measure_options);
        out.extend(action_options(&workspace.plan_views()));
        out
    });
    view! {
        <PhaseTwoNav current=Page::Drivers />
        <h1>"Driver diagrams"</h1>
        <p class="nhsuk-lede-text">"Each aim with the primary and secondary drivers that move it and the change ideas to test, each idea carried out by actions and tested in PDSA cycles (plan, do, study, act)."</p>
        <Show when=move || trees.with(|t| !t.is_empty()) fallback=|| view! { <p>"No driver diagrams yet."</p> }>
            <For each=move || trees.get() key=|t| format!("{t:?}") let:aim>
                {
                    let programme_now = programme.get_untracked();
                    let owner = aim
                        .driver
                        .workstream_id
                        .as_ref()
                        .and_then(|w| programme_now.workstreams.get(w))
                        .map_or_else(|| "The whole programme".to_owned(), |w| format!("Workstream: {}", w.name));
                    let decision = move |id: &DriverId| decision_of(&programme_now, id);
                    let facts = format!(
                        "{owner}. By how much: {}. By when: {}.",
                        if aim.driver.amount.is_empty() { "not said" } else { aim.driver.amount.as_str() },
                        aim.driver.by.map_or_else(|| "not said".to_owned(), |d| d.long())
                    );
                    let ideas: Vec<(DriverId, Driver)> = aim
                        .walk()
                        .into_iter()
                        .filter(|n| n.driver.kind == Some(DriverKind::ChangeIdea))
                        .map(|n| (n.id.clone(), n.driver.clone()))
                        .collect();
                    let heading = format!("aim-{}", aim.id);
                    let labelled = heading.clone();
                    view! {
                        <section aria-labelledby=labelled data-testid="aim">
                            <h2 id=heading>{aim.driver.text.clone()}</h2>
                            <p>{facts}</p>
                            {diagram_svg(&aim, &decision)}
                            <p class="nhsuk-body-s">"A change idea shaded green was adopted after its PDSA cycles; grey, abandoned."</p>
                            <h3>"The diagram as a list"</h3>
                            <ul class="plait-tree">{tree_list(&aim, &decision)}</ul>
                            <h3>"Measures of the aim"</h3>
                            <Linked from=Node::Driver(aim.id.clone()) links empty="No measures linked to the aim yet." />
                            <h3>"Change ideas and their tests"</h3>
                            {ideas.into_iter().map(|(id, idea)| view! { <ChangeIdea id idea programme links /> }).collect_view()}
                        </section>
                    }
                }
            </For>
        </Show>
        <Show when=move || loose.with(|l| !l.is_empty())>
            <h2>"Not in a diagram"</h2>
            <p>"Their aim or driver was removed, or they sit left of what they drive."</p>
            <ul class="nhsuk-list nhsuk-list--bullet">
                {move || loose.get().into_iter().map(|(id, d)| view! { <li>{format!("{}: {}", d.kind.map_or("Node", |k| k.label()), d.text)}{move || edit.get().then(|| view! { " " <RemoveNode id=id.clone() /> })}</li> }).collect_view()}
            </ul>
        </Show>
        <Show when=move || edit.get() && !nodes.with(Vec::is_empty)>
            <AddNode parents nodes />
            <LinkForm from_id="driver-link-from" to_id="driver-link-to" summary="driver-link-errors"
                heading="Link a measure or action" from_label="Aim, driver, change idea or PDSA cycle" to_label="Measure or action"
                from=link_from to=link_to button="Link it" />
            <RewordForm nodes />
            <RemoveForm nodes />
        </Show>
        <Show when=move || cycles_allowed.get() && !ideas.with(Vec::is_empty)>
            <AddCycle ideas />
            <StudyCycle />
        </Show>
        <Show when=move || edit.get()><AddAim /></Show>
    }
}

/// A change idea: whether it was adopted, what carries it out, its cycles.
#[component]
fn ChangeIdea(
    id: DriverId,
    idea: Driver,
    programme: Memo<plait_shared::ProgrammeView>,
    links: Memo<Vec<LinkRow>>,
) -> impl IntoView {
    let key = id.clone();
    let cycles = Memo::new(move |_| {
        let mut cycles: Vec<(CycleId, Cycle)> = programme.with(|p| {
            p.improvement
                .cycles
                .iter()
                .filter(|(_, c)| c.change_idea.as_ref() == Some(&key))
                .map(|(id, c)| (id.clone(), c.clone()))
                .collect()
        });
        cycles.sort_by(|a, b| a.1.started.cmp(&b.1.started).then_with(|| a.0.cmp(&b.0)));
        cycles
    });
    view! {
        <div class="nhsuk-card" data-testid="change-idea">
            <div class="nhsuk-card__content">
                <h4 class="nhsuk-card__heading nhsuk-heading-s">{idea.text.clone()}</h4>
                <Linked from=Node::Driver(id.clone()) links empty="No actions or measures linked yet." />
                <Show when=move || cycles.with(|c| !c.is_empty()) fallback=|| view! { <p class="nhsuk-body-s">"Not tested yet."</p> }>
                    <ol class="nhsuk-list plait-cycles">
                        {move || cycles.get().into_iter().enumerate().map(|(n, (cycle_id, c))| {
                            let decision = c.decision.map_or("Running: not decided yet", |d| d.label());
                            view! {
                                <li data-testid="pdsa-cycle">
                                    <p><strong>{format!("Cycle {}: {}", n + 1, c.title)}</strong>
                                        {c.started.map(|d| format!(" (started {})", d.long()))}</p>
                                    <Linked from=Node::Cycle(cycle_id) links empty="" />
                                    <dl class="nhsuk-summary-list">
                                        {[("Plan", c.plan.clone()), ("Prediction", c.prediction.clone()), ("Do", c.done.clone()), ("Study", c.learnt.clone()), ("Act", decision.to_owned())]
                                            .into_iter()
                                            .filter(|(_, v)| !v.is_empty())
                                            .map(|(k, v)| view! {
                                                <div class="nhsuk-summary-list__row">
                                                    <dt class="nhsuk-summary-list__key">{k}</dt>
                                                    <dd class="nhsuk-summary-list__value">{v}</dd>
                                                </div>
                                            }).collect_view()}
                                    </dl>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </Show>
            </div>
        </div>
    }
}

/// A button removing a node.
#[component]
fn RemoveNode(id: DriverId) -> impl IntoView {
    let workspace = use_workspace();
    view! {
        <button type="button" class="plait-link-button" on:click=move |_| {
            workspace.edit_programme(|p, txn| p.remove_phase_two(txn, Root::Drivers, id.as_str()));
        }>"Remove"</button>
    }
}

/// Adds an aim: a new driver diagram.
#[component]
fn AddAim() -> impl IntoView {
    let workspace = use_workspace();
    let text = RwSignal::new(String::new());
    let amount = RwSignal::new(String::new());
    let by = RwSignal::new(DateParts::default());
    let workstream = RwSignal::new(String::new());
    let workstreams = Signal::derive(move || {
        let mut out = vec![(String::new(), "The whole programme".to_owned())];
        out.extend(
            workspace
                .programme_view()
                .unwrap_or_default()
                .workstreams
                .into_iter()
                .map(|(id, w)| (id.to_string(), w.name)),
        );
        out
    });
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found: Vec<_> = [
            required(&text.get_untracked(), "aim-text", "Enter what the aim is"),
            required(
                &amount.get_untracked(),
                "aim-amount",
                "Enter by how much, like by 30%",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let day = by
            .get_untracked()
            .required("aim-by", "The date", "Enter by when", &mut found);
        if failed(errors, found, "aim-errors") {
            return;
        }
        let Ok(id) = DriverId::new(fresh_id("d")) else {
            return;
        };
        let aim = Driver {
            kind: Some(DriverKind::Aim),
            text: text.get_untracked().trim().to_owned(),
            amount: amount.get_untracked().trim().to_owned(),
            by: day,
            workstream_id: plait_shared::WorkstreamId::new(workstream.get_untracked()).ok(),
            ..Driver::default()
        };
        if workspace.edit_programme(|p, txn| p.put_driver(txn, &id, &aim)) {
            saved.set(format!("{} added.", aim.text));
            text.set(String::new());
            amount.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add an aim"</h2>
            <ErrorSummary id="aim-errors" errors />
            <TextField id="aim-text" label="What" hint="For example, Reduce physical restraint on the adult acute wards" value=text errors />
            <TextField id="aim-amount" label="By how much" hint="For example, By 30%, from 11.5 to 8 per 1,000 occupied bed days" value=amount errors />
            <DateInput id="aim-by" legend="By when" value=by error=Signal::derive(move || error_of(errors, "aim-by-day")) />
            <Choice id="aim-workstream" label="Whose aim" options=workstreams value=workstream />
            <button class="nhsuk-button" type="submit">"Add the aim"</button>
            <Saved message=saved />
        </form>
    }
}

/// Adds a driver or change idea under a node.
#[component]
fn AddNode(
    parents: Signal<Vec<(String, String)>>,
    nodes: Signal<Vec<(DriverId, Driver)>>,
) -> impl IntoView {
    let workspace = use_workspace();
    let parent = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let options = Signal::derive(move || with_prompt("Choose", parents.get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let under = parent.get_untracked();
        let kind = nodes.with_untracked(|n| {
            n.iter()
                .find(|(id, _)| id.as_str() == under)
                .and_then(|(_, d)| d.kind.and_then(DriverKind::child))
        });
        let found: Vec<_> = [
            kind.is_none()
                .then(|| ("node-parent".to_owned(), "Choose what it drives".to_owned())),
            required(
                &text.get_untracked(),
                "node-text",
                "Enter the driver or change idea",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if failed(errors, found, "node-errors") {
            return;
        }
        let (Ok(id), Ok(parent_id), Some(kind)) =
            (DriverId::new(fresh_id("d")), DriverId::new(under), kind)
        else {
            return;
        };
        let node = Driver {
            kind: Some(kind),
            parent: Some(parent_id),
            text: text.get_untracked().trim().to_owned(),
            ..Driver::default()
        };
        if workspace.edit_programme(|p, txn| p.put_driver(txn, &id, &node)) {
            saved.set(format!("{} added: {}.", kind.label(), node.text));
            text.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add a driver or change idea"</h2>
            <p class="nhsuk-body-s">"Under an aim it is a primary driver; under a primary driver, a secondary driver; under a secondary driver, a change idea."</p>
            <ErrorSummary id="node-errors" errors />
            <Choice id="node-parent" label="What it drives" options value=parent errors />
            <TextField id="node-text" label="The driver or change idea" value=text errors />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Add it"</button>
            <Saved message=saved />
        </form>
    }
}

/// Removes a node (what it drove is then listed apart until moved or
/// removed).
#[component]
fn RemoveForm(nodes: Signal<Vec<(DriverId, Driver)>>) -> impl IntoView {
    let workspace = use_workspace();
    let chosen = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let options = Signal::derive(move || with_prompt("Choose", named_nodes(&nodes.get())));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = chosen.get_untracked();
        let found: Vec<_> = required(&id, "node-remove", "Choose what to remove")
            .into_iter()
            .collect();
        if failed(errors, found, "remove-errors") {
            return;
        }
        if workspace.edit_programme(|p, txn| p.remove_phase_two(txn, Root::Drivers, &id)) {
            saved.set("Removed.".to_owned());
            chosen.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Remove from a diagram"</h2>
            <ErrorSummary id="remove-errors" errors />
            <Choice id="node-remove" label="The aim, driver or change idea" options value=chosen errors />
            <button class="nhsuk-button nhsuk-button--warning" type="submit">"Remove it"</button>
            <Saved message=saved />
        </form>
    }
}

/// Plans a PDSA cycle for a change idea.
#[component]
fn AddCycle(ideas: Signal<Vec<(String, String)>>) -> impl IntoView {
    let workspace = use_workspace();
    let idea = RwSignal::new(String::new());
    let [title, plan, prediction] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let started = RwSignal::new(DateParts::default());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let options = Signal::derive(move || with_prompt("Choose", ideas.get()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found: Vec<_> = [
            required(
                &idea.get_untracked(),
                "cycle-idea",
                "Choose the change idea it tests",
            ),
            required(
                &title.get_untracked(),
                "cycle-title",
                "Enter the test, in a line",
            ),
            required(
                &prediction.get_untracked(),
                "cycle-prediction",
                "Enter what you predict will happen",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        let day = match started.get_untracked().read("The start date") {
            Ok(day) => day,
            Err(m) => {
                found.push(("cycle-started-day".to_owned(), m));
                None
            }
        };
        if failed(errors, found, "cycle-errors") {
            return;
        }
        let (Ok(id), Ok(change_idea)) = (
            CycleId::new(fresh_id("k")),
            DriverId::new(idea.get_untracked()),
        ) else {
            return;
        };
        let cycle = Cycle {
            change_idea: Some(change_idea),
            title: title.get_untracked().trim().to_owned(),
            plan: plan.get_untracked().trim().to_owned(),
            prediction: prediction.get_untracked().trim().to_owned(),
            started: day.or_else(|| Some(crate::browser::today())),
            ..Cycle::default()
        };
        if workspace.edit_programme(|p, txn| p.put_cycle(txn, &id, &cycle)) {
            saved.set(format!("{} planned.", cycle.title));
            for field in [title, plan, prediction] {
                field.set(String::new());
            }
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Plan a PDSA cycle"</h2>
            <ErrorSummary id="cycle-errors" errors />
            <Choice id="cycle-idea" label="The change idea it tests" options value=idea errors />
            <TextField id="cycle-title" label="The test, in a line" hint="For example, Safety huddle on Cedar ward, day shifts, two weeks" value=title errors />
            <TextArea id="cycle-plan" label="Plan: who does what, where and when" value=plan />
            <TextArea id="cycle-prediction" label="Prediction: what you expect to happen" value=prediction errors />
            <DateInput id="cycle-started" legend="When it starts (optional; today if empty)" value=started error=Signal::derive(move || error_of(errors, "cycle-started-day")) />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Plan the cycle"</button>
            <Saved message=saved />
        </form>
    }
}

/// Records a cycle's do, study and act.
#[component]
fn StudyCycle() -> impl IntoView {
    let workspace = use_workspace();
    let chosen = RwSignal::new(String::new());
    let done = RwSignal::new(String::new());
    let learnt = RwSignal::new(String::new());
    let decision = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let cycles = Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        programme
            .improvement
            .cycles
            .into_iter()
            .collect::<Vec<(CycleId, Cycle)>>()
    });
    let options = Signal::derive(move || {
        with_prompt(
            "Choose",
            cycles
                .get()
                .into_iter()
                .map(|(id, c)| (id.to_string(), clip(&c.title, 70)))
                .collect(),
        )
    });
    let decisions = Signal::derive(|| {
        let mut out = vec![(String::new(), "Not decided yet".to_owned())];
        out.extend(
            PdsaDecision::ALL
                .iter()
                .map(|d| (d.key().to_owned(), d.label().to_owned())),
        );
        out
    });
    // Choosing a cycle shows what it has.
    Effect::new(move |_| {
        let id = chosen.get();
        if let Some((_, c)) =
            cycles.with_untracked(|cs| cs.iter().find(|(i, _)| i.as_str() == id).cloned())
        {
            done.set(c.done);
            learnt.set(c.learnt);
            decision.set(c.decision.map(|d| d.key().to_owned()).unwrap_or_default());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = chosen.get_untracked();
        let current =
            cycles.with_untracked(|cs| cs.iter().find(|(i, _)| i.as_str() == id).cloned());
        let decided: Option<PdsaDecision> = decision.get_untracked().parse().ok();
        let mut found = Vec::new();
        if current.is_none() {
            found.push(("study-cycle".to_owned(), "Choose the cycle".to_owned()));
        }
        if decided.is_some() && learnt.get_untracked().trim().is_empty() {
            found.push((
                "study-learnt".to_owned(),
                "Enter what was learnt before deciding".to_owned(),
            ));
        }
        if failed(errors, found, "study-errors") {
            return;
        }
        let Some((id, mut cycle)) = current else {
            return;
        };
        cycle.done = done.get_untracked().trim().to_owned();
        cycle.learnt = learnt.get_untracked().trim().to_owned();
        cycle.decision = decided;
        if workspace.edit_programme(|p, txn| p.put_cycle(txn, &id, &cycle)) {
            saved.set(match decided {
                Some(d) => format!("Recorded: {}.", d.label()),
                None => "Recorded.".to_owned(),
            });
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Record what a cycle found"</h2>
            <ErrorSummary id="study-errors" errors />
            <Choice id="study-cycle" label="The cycle" options value=chosen errors />
            <TextArea id="study-done" label="Do: what was done" value=done />
            <TextArea id="study-learnt" label="Study: what was learnt, against the prediction" value=learnt errors />
            <Choice id="study-decision" label="Act: the decision" options=decisions value=decision />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Record it"</button>
            <Saved message=saved />
        </form>
    }
}

/// Changes what an aim, driver or change idea says.
#[component]
fn RewordForm(nodes: Signal<Vec<(DriverId, Driver)>>) -> impl IntoView {
    let workspace = use_workspace();
    let chosen = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let options = Signal::derive(move || with_prompt("Choose", named_nodes(&nodes.get())));
    // Choosing one shows its words to change.
    Effect::new(move |_| {
        let id = chosen.get();
        if let Some((_, d)) =
            nodes.with_untracked(|n| n.iter().find(|(i, _)| i.as_str() == id).cloned())
        {
            text.set(d.text);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = chosen.get_untracked();
        let current = nodes.with_untracked(|n| n.iter().find(|(i, _)| i.as_str() == id).cloned());
        let mut found: Vec<_> = required(
            &text.get_untracked(),
            "reword-text",
            "Enter the new wording",
        )
        .into_iter()
        .collect();
        if current.is_none() {
            found.insert(
                0,
                ("reword-node".to_owned(), "Choose what to reword".to_owned()),
            );
        }
        if failed(errors, found, "reword-errors") {
            return;
        }
        let Some((id, mut driver)) = current else {
            return;
        };
        driver.text = text.get_untracked().trim().to_owned();
        if workspace.edit_programme(|p, txn| p.put_driver(txn, &id, &driver)) {
            saved.set("Reworded.".to_owned());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Reword an aim, driver or change idea"</h2>
            <ErrorSummary id="reword-errors" errors />
            <Choice id="reword-node" label="Which" options value=chosen errors />
            <TextField id="reword-text" label="What it says" value=text errors />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Reword it"</button>
            <Saved message=saved />
        </form>
    }
}

/// Nodes as choices: `(id, "Primary driver: Safe staffing")`.
fn named_nodes(nodes: &[(DriverId, Driver)]) -> Vec<(String, String)> {
    nodes
        .iter()
        .map(|(id, d)| {
            (
                id.to_string(),
                format!(
                    "{}: {}",
                    d.kind.map_or("Node", |k| k.label()),
                    clip(&d.text, 60)
                ),
            )
        })
        .collect()
}
