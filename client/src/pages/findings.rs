//! The finding first: CQC's requirement an action answers, as a card (its
//! wording, kind, regulations with their paragraphs, key question, core
//! service and location), a page per finding listing the actions that
//! answer it and whether it is met, and the warning notice's register.

use leptos::prelude::*;
use plait_shared::metrics::{finding_progress, FindingProgress};
use plait_shared::{DocId, FindingId, FindingKind, FindingView, PlanView};

use crate::browser::today;
use crate::components::brag::Brag;
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::markup::{link, markup, Markup};
use crate::pages::{Page, PageLink};

/// A finding's facts, as CQC wrote them.
#[component]
pub fn FindingCard(
    plan: DocId,
    finding: FindingView,
    #[prop(optional)] link: bool,
) -> impl IntoView {
    let kind = finding.kind.map_or("Finding", |k| k.label());
    let regulations: Vec<String> = finding
        .regulations
        .iter()
        .map(ToString::to_string)
        .collect();
    let facts: Vec<(&'static str, String)> = [
        ("Regulations", regulations.join("; ")),
        (
            "Key question",
            finding
                .key_question
                .map(|q| q.label().to_owned())
                .unwrap_or_default(),
        ),
        ("Core service", finding.core_service.clone()),
        ("Location", finding.location.clone()),
        (
            "CQC's compliance deadline",
            finding
                .compliance
                .deadline
                .map(|d| d.long())
                .unwrap_or_default(),
        ),
        (
            "Lifted",
            finding
                .compliance
                .lifted_on
                .map(|d| format!("{} by {}", d.long(), finding.compliance.lifted_by))
                .unwrap_or_default(),
        ),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let page = Page::Finding {
        plan,
        finding: finding.id.clone(),
    };
    view! {
        <div class="nhsuk-card plait-finding" data-testid="finding-card">
            <div class="nhsuk-card__content">
                <p class="nhsuk-card__description nhsuk-u-margin-bottom-2">
                    <strong class="nhsuk-tag nhsuk-tag--grey">{kind}</strong>" "{finding.reference.clone()}
                </p>
                <p class="nhsuk-card__heading nhsuk-heading-s">{finding.text.clone()}</p>
                <dl class="nhsuk-summary-list nhsuk-u-margin-bottom-0">
                    {crate::components::summary::summary_rows(facts)}
                </dl>
                {link.then(|| view! {
                    <p class="nhsuk-body-s nhsuk-u-margin-top-3 nhsuk-u-margin-bottom-0">
                        <PageLink page>"All the actions answering this finding"</PageLink>
                    </p>
                })}
            </div>
        </div>
    }
}

fn progress_tag(progress: FindingProgress) -> impl IntoView {
    let class = match progress {
        FindingProgress::Embedded | FindingProgress::Met => "nhsuk-tag nhsuk-tag--blue",
        FindingProgress::Open => "nhsuk-tag nhsuk-tag--yellow",
        FindingProgress::NoActions => "nhsuk-tag nhsuk-tag--grey",
    };
    view! { <strong class=class data-testid="finding-progress">{progress.label()}</strong> }
}

/// The actions of `plan` answering `finding`, as a list.
fn actions_list(plan_id: &DocId, plan: &PlanView, finding: &FindingId) -> impl IntoView {
    let workspace = use_workspace();
    let colours = workspace
        .programme_view()
        .map(|p| p.colours)
        .unwrap_or_default();
    let mut actions: Vec<_> = plan
        .actions
        .values()
        .filter(|a| a.finding_ids.contains(finding))
        .cloned()
        .collect();
    actions.sort_by(|a, b| a.reference.cmp(&b.reference));
    let plan_id = plan_id.clone();
    view! {
        <ul class="nhsuk-list nhsuk-list--border" data-testid="finding-actions">
            {actions.into_iter().map(|action| {
                let colour = colours.colour_of(&action, today());
                let owner = action
                    .owner
                    .as_ref()
                    .map(|o| workspace.name_of(o.as_str()))
                    .unwrap_or_else(|| "No owner yet".into());
                let page = Page::Action { plan: plan_id.clone(), action: action.id.clone() };
                view! {
                    <li>
                        <PageLink page>{format!("{} – {}", action.reference, action.title)}</PageLink>
                        <br/>
                        <span class="nhsuk-body-s">
                            {action.status().label()}" · "<Brag colour />" · "{owner}
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The link to a finding's evidence pack (the server builds it: it needs a
/// connection).
fn pack_link(plan: &DocId, finding: &FindingId) -> impl IntoView {
    let href = plait_shared::api::address::evidence_pack(plan, finding.as_str());
    view! {
        <p class="plait-no-print">
            <a href=href download>"Download the evidence pack"</a>
            <span class="nhsuk-body-s">" (a ZIP of every evidence file, with an index to print and a CSV of what evidences what, with the verdicts; needs a connection)"</span>
        </p>
    }
}

/// The programme manager records that CQC lifted a warning notice's
/// failing (or sets its deadline).
#[component]
fn LiftForm(plan: DocId, finding: FindingView) -> impl IntoView {
    use crate::components::date_input::{DateInput, DateParts};
    let workspace = use_workspace();
    let id = finding.id.clone();
    let deadline = RwSignal::new(DateParts::of(finding.compliance.deadline));
    let lifted = RwSignal::new(DateParts::of(finding.compliance.lifted_on));
    let letter = RwSignal::new(finding.compliance.lifted_by.clone());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let named = |part: &str| crate::browser::interned(&format!("lift-{id}-{part}"));
    let (deadline_id, lifted_id, letter_id, errors_id) = (
        named("deadline"),
        named("lifted"),
        named("letter"),
        named("errors"),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let deadline_date = deadline
            .get_untracked()
            .read("The deadline")
            .unwrap_or_else(|m| {
                found.push((format!("{deadline_id}-day"), m));
                None
            });
        let lifted_date = lifted
            .get_untracked()
            .read("The day it was lifted")
            .unwrap_or_else(|m| {
                found.push((format!("{lifted_id}-day"), m));
                None
            });
        let letter_text = letter.get_untracked();
        if lifted_date.is_some() && letter_text.trim().is_empty() {
            found.push((
                letter_id.to_owned(),
                "Enter the letter that lifted it".to_owned(),
            ));
        }
        if lifted_date.is_none() && !letter_text.trim().is_empty() {
            found.push((
                format!("{lifted_id}-day"),
                "Enter the day it was lifted".to_owned(),
            ));
        }
        if !found.is_empty() {
            errors.set(found);
            crate::browser::focus(errors_id);
            return;
        }
        errors.set(Vec::new());
        let Some(doc) = workspace.plan_doc(&plan) else {
            return;
        };
        let result = doc.set_compliance(
            &mut yrs::Transact::transact_mut(doc.doc()),
            &id,
            &plait_shared::plan::Compliance {
                deadline: deadline_date,
                lifted_on: lifted_date,
                lifted_by: letter_text,
            },
        );
        match result {
            Ok(()) => saved.set("Saved on this device.".into()),
            Err(e) => errors.set(vec![(letter_id.to_owned(), e.to_string())]),
        }
    };
    view! {
        <details class="nhsuk-details plait-no-print">
            <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">"Record CQC's deadline, or that CQC lifted it"</span></summary>
            <div class="nhsuk-details__text">
                <form on:submit=submit novalidate>
                    <crate::components::form::ErrorSummary id=errors_id errors />
                    <DateInput id=deadline_id legend="CQC's compliance deadline" value=deadline error=Signal::derive(move || crate::components::form::error_of(errors, deadline_id)) />
                    <DateInput id=lifted_id legend="The day CQC lifted it" value=lifted error=Signal::derive(move || crate::components::form::error_of(errors, lifted_id)) />
                    <crate::components::form::TextField id=letter_id label="The letter that lifted it" hint="For example, CQC letter of 3 March 2027, reference INS2-123" value=letter errors />
                    <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Save"</button>
                    <crate::components::form::Saved message=saved />
                </form>
            </div>
        </details>
    }
}

/// One finding's page: the card, whether it is met, its actions.
#[component]
pub fn FindingPage(plan: DocId, finding: FindingId) -> impl IntoView {
    let workspace = use_workspace();
    let found = move || {
        workspace
            .plan_views()
            .into_iter()
            .find(|(id, _)| *id == plan)
            .and_then(|(id, view)| {
                let f = view.findings.get(&finding)?.clone();
                Some((id, view, f))
            })
    };
    view! {
        <PageLink page=Page::Actions class="nhsuk-back-link__link">"Back to actions"</PageLink>
        {move || match found() {
            None => view! {
                <h1>"Finding"</h1>
                <p role="status">"This finding is not on this device yet. It will appear once this device syncs."</p>
            }.into_any(),
            Some((plan_id, view, f)) => {
                let progress = finding_progress(&view, &f.id);
                let id = f.id.clone();
                view! {
                    <span class="nhsuk-caption-l">{f.reference.clone()}</span>
                    <h1>{format!("{} {}", f.kind.map_or("Finding", |k| k.label()), f.reference)}</h1>
                    <p>{progress_tag(progress)}</p>
                    <FindingCard plan=plan_id.clone() finding=f />
                    <h2>"Actions answering it"</h2>
                    <p class="nhsuk-body-s">"Met when every one of them is closed; embedded when every one is embedded."</p>
                    {actions_list(&plan_id, &view, &id)}
                    {pack_link(&plan_id, &id)}
                    <FindingRootCauses plan=plan_id.clone() finding=id.clone() />
                }.into_any()
            }
        }}
    }
}

/// The warning notice's register: what it says, and each failing with its
/// actions and whether it is met.
#[component]
pub fn WarningNotice() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let notice = move || {
        workspace
            .programme_view()
            .map(|p| p.info.warning_notice)
            .unwrap_or_default()
    };
    // Each failing with where it stands; the rows are keyed so that what
    // someone types into one is not redrawn away as the plans sync.
    let failings = Memo::new(move |_| {
        let mut failings: Vec<(DocId, FindingView, FindingProgress)> = Vec::new();
        for (id, view) in workspace.plan_views() {
            for f in view.findings.values() {
                if f.kind == Some(FindingKind::WarningNotice) {
                    failings.push((id.clone(), f.clone(), finding_progress(&view, &f.id)));
                }
            }
        }
        failings.sort_by(|a, b| a.1.reference.cmp(&b.1.reference));
        failings
    });
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    view! {
        <h1>"Warning notice"</h1>
        {move || {
            let text = notice();
            (!text.is_empty()).then(|| view! { <div class="nhsuk-inset-text"><p>{text}</p></div> })
        }}
        <Show when=move || failings.with(|f| !f.is_empty())
            fallback=|| view! { <p>"No finding of this programme is a Section 29A warning notice failing."</p> }>
            <p class="nhsuk-lede-text" data-testid="warning-notice-met">{move || failings.with(|all| {
                let met = all.iter().filter(|(_, _, p)| p.is_met()).count();
                format!("{met} of {} failings met", all.len())
            })}</p>
            <For each=move || failings.get() key=|(p, f, g)| (p.clone(), f.id.clone(), f.compliance.clone(), *g) let:row>
                {
                    let (plan_id, f, progress) = row;
                    let id = f.id.clone();
                    let lifted = f.compliance.lifted_on.map(|d| format!("Lifted on {} by {}", d.long(), f.compliance.lifted_by));
                    let status = lifted.unwrap_or_else(|| match f.compliance.deadline {
                        Some(d) if d < today() => format!("Not lifted: CQC's deadline was {}", d.long()),
                        Some(d) => format!("Not lifted: CQC's deadline is {}", d.long()),
                        None => "Not lifted".to_owned(),
                    });
                    let (list_plan, list_id) = (plan_id.clone(), id.clone());
                    let (form_plan, form_finding) = (plan_id.clone(), f.clone());
                    let actions = move || {
                        workspace
                            .plan_views()
                            .into_iter()
                            .find(|(p, _)| *p == list_plan)
                            .map(|(p, view)| actions_list(&p, &view, &list_id))
                    };
                    view! {
                        <h2>{format!("{} ", f.reference)}{progress_tag(progress)}</h2>
                        <p data-testid="failing-status">{status}</p>
                        <Show when=admin>{
                            let (plan, finding) = (form_plan.clone(), form_finding.clone());
                            view! { <LiftForm plan finding /> }
                        }</Show>
                        <FindingCard plan=plan_id.clone() finding=f.clone() link=true />
                        {actions}
                        {pack_link(&plan_id, &id)}
                    }
                }
            </For>
        </Show>
    }
}

/// The requirement headlines as tiles ("9 / 108 Must Dos met"); the
/// warning notice's links to its register.
pub fn requirements_markup(m: &plait_shared::ProgrammeMetrics) -> Markup {
    let headlines = m.requirement_headlines();
    if headlines.is_empty() {
        return Markup::new();
    }
    let mut html = markup!("<ul class=\"plait-tiles\" aria-label=\"Requirements met\">");
    for (kind, counts, label) in headlines {
        let number = markup!(
            "<span class=\"plait-tile__number\" data-count=\"{}-met\">{} / {}</span> {}",
            kind.key(),
            counts.met,
            counts.total,
            label
        );
        html += if kind == plait_shared::FindingKind::WarningNotice {
            markup!(
                "<li class=\"plait-tile\">{}</li>",
                link(
                    &crate::pages::href(&crate::pages::Page::WarningNotice),
                    number
                )
            )
        } else {
            markup!("<li class=\"plait-tile\">{}</li>", number)
        };
    }
    html += markup!("</ul>");
    html
}

/// The root causes a finding's page lists.
#[component]
pub fn FindingRootCauses(
    plan: plait_shared::DocId,
    finding: plait_shared::FindingId,
) -> impl IntoView {
    let workspace = use_workspace();
    let node = plait_shared::improvement::Node::Finding(plan, finding);
    let causes = Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        plait_shared::phase2::linked_to(&programme, &node)
            .into_iter()
            .filter_map(|n| match n {
                plait_shared::improvement::Node::RootCause(id) => programme
                    .improvement
                    .root_causes
                    .get(&id)
                    .map(|c| format!("{} ({})", c.title, c.theme)),
                _ => None,
            })
            .collect::<Vec<_>>()
    });
    view! {
        <Show when=move || causes.with(|c| !c.is_empty())>
            <h2>"Root causes"</h2>
            <ul class="nhsuk-list nhsuk-list--bullet" data-testid="finding-root-causes">
                {move || causes.get().into_iter().map(|c| view! { <li><PageLink page=Page::RootCauses>{c}</PageLink></li> }).collect_view()}
            </ul>
        </Show>
    }
}
