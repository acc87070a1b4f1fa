//! The assurance of one action: evidence (files kept offline and uploaded
//! later, links, notes; its type, the period and place it covers, the other
//! actions it serves) and the validator's review of it, the forum's
//! decisions, due-date requests and answers, and re-audits (method, sample,
//! result). Each step is one of `plait_shared::workflow`'s writes; each form
//! shows only when `plait_shared::workflow::offers` says the person may
//! take it under the programme's governance settings, and the server checks
//! it again.
//!
//! Components throughout: lists are keyed, so what is on the page stays put
//! as the action changes, and after each step keyboard focus moves to the
//! line that says what happened (or what went wrong).

use leptos::prelude::*;
use plait_shared::access::may_append;
use plait_shared::changes::Log;
use plait_shared::workflow::{
    self, offers, DecisionInput, EvidenceInput, Offers, ReauditInput, Who,
};
use plait_shared::{
    ActionId, ActionView, Assurance, CheckOutcome, DecisionOutcome, DocId, DueChangeVerdict,
    EntryId, Evidence, EvidenceKind, EvidenceType, EvidenceVerdict, Governance as Rules, PlanDoc,
    ReauditMethod, WriteError,
};
use yrs::Transact;

use crate::browser::{chosen_file, clear_file, now, today};
use crate::components::date_input::{DateInput, DateParts};
use crate::components::form::{Choice, TextArea, TextField};
use crate::contexts::session::{use_session, SessionContext};
use crate::contexts::workspace::{use_workspace, Workspace};
use crate::pages::{Page, PageLink};
use crate::uploads::{read_file, use_uploads, Upload, Uploads};

/// Where the line saying what a step did is, to move focus to.
const MESSAGE: &str = "governance-message";

fn salt() -> u32 {
    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
}

/// What every part of the section shares.
#[derive(Clone, Copy)]
struct Ctx {
    workspace: Workspace,
    session: SessionContext,
    uploads: Uploads,
    plan: StoredValue<DocId>,
    action: StoredValue<ActionId>,
    view: Memo<Option<ActionView>>,
    rules: Memo<Rules>,
    offered: Memo<Offers>,
    message: RwSignal<Option<(bool, String)>>,
    /// The review form's note and assurance level, read by the verdict
    /// buttons on each piece of evidence.
    review_note: RwSignal<String>,
    review_level: RwSignal<String>,
    /// The note with an executive lead's answer to a request.
    answer_note: RwSignal<String>,
}

impl Ctx {
    /// Writes one step in the plan's transaction as the signed-in person,
    /// says what happened and moves focus there. Whether it was written.
    fn write(
        self,
        done: &str,
        step: impl FnOnce(
            &PlanDoc,
            &mut yrs::TransactionMut,
            &Who<'_>,
            &ActionId,
        ) -> Result<(), WriteError>,
    ) -> bool {
        let plan = self.plan.get_value();
        let Some(doc) = self.workspace.plan_doc(&plan) else {
            self.say(false, "This plan is not on this device yet.".into());
            return false;
        };
        let actor = self.session.actor.get_untracked();
        let who = Who {
            user: &actor.user,
            role: actor.role,
            at: now(),
        };
        let result = {
            let mut txn = doc.doc().transact_mut();
            step(&doc, &mut txn, &who, &self.action.get_value())
        };
        let ok = result.is_ok();
        self.say(
            ok,
            result.map_or_else(|e| e.to_string(), |()| done.to_owned()),
        );
        ok
    }

    fn say(self, ok: bool, text: String) {
        self.message.set(Some((ok, text)));
        crate::browser::focus(MESSAGE);
    }

    fn name(self, user: &plait_shared::UserId) -> String {
        self.workspace.name_of(user.as_str())
    }
}

/// The assurance sections of an action page.
#[component]
pub fn Governance(plan: DocId, action: ActionId) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let plan = StoredValue::new(plan);
    let action = StoredValue::new(action);
    let view = Memo::new(move |_| {
        workspace.revision.track();
        let doc = workspace.plan_doc(&plan.get_value())?;
        let view = doc.read_action(&doc.doc().transact(), &action.get_value());
        view
    });
    let rules = Memo::new(move |_| workspace.rules());
    let offered = Memo::new(move |_| {
        let actor = session.actor.get();
        let rules = rules.get();
        view.with(|v| {
            v.as_ref()
                .map(|a| offers(actor.access(rules), a, today()))
                .unwrap_or_default()
        })
    });
    let ctx = Ctx {
        workspace,
        session: use_session(),
        uploads: use_uploads(),
        plan,
        action,
        view,
        rules,
        offered,
        message: RwSignal::new(None),
        review_note: RwSignal::new(String::new()),
        review_level: RwSignal::new(String::new()),
        answer_note: RwSignal::new(String::new()),
    };
    view! {
        <div id=MESSAGE tabindex="-1">
            {move || ctx.message.get().map(|(ok, text)| if ok {
                view! { <div class="nhsuk-inset-text" role="status"><p>{text}</p></div> }.into_any()
            } else {
                view! {
                    <div class="nhsuk-error-summary" role="alert">
                        <h2 class="nhsuk-error-summary__title">"Not recorded"</h2>
                        <div class="nhsuk-error-summary__body"><p>{text}</p></div>
                    </div>
                }.into_any()
            })}
        </div>
        <EvidenceList ctx />
        <Show when=move || ctx.offered.with(|o| o.review)><ReviewForm ctx /></Show>
        <Show when=move || ctx.offered.with(|o| o.evidence)><AttachForm ctx /></Show>
        <Decisions ctx />
        <Show when=move || ctx.offered.with(|o| !o.decisions.is_empty())><DecisionForm ctx /></Show>
        <DueDate ctx />
        <Show when=move || ctx.offered.with(|o| o.request)><DueRequestForm ctx /></Show>
        <Wording ctx />
        <Reaudits ctx />
    }
}

/// The period a piece of evidence covers, in words.
fn period(e: &Evidence) -> Option<String> {
    match (e.period_from, e.period_to) {
        (Some(from), Some(to)) if from == to => Some(from.long()),
        (Some(from), Some(to)) => Some(format!("{} to {}", from.long(), to.long())),
        (Some(from), None) => Some(format!("from {}", from.long())),
        (None, Some(to)) => Some(format!("to {}", to.long())),
        (None, None) => None,
    }
}

fn blob_href(plan: &DocId, sha: &str, name: &str) -> String {
    let name = plait_shared::pack::safe_file_name(name);
    plait_shared::api::address::blob(sha, plan, Some(&name))
}

/// The date a form asks for (`what` it is, and the words when it is
/// missing): the date, or the error on its day box (`id`-day) with focus
/// moved to the form's error `summary`.
fn needed_date(
    parts: &DateParts,
    (what, missing): (&str, &str),
    id: &str,
    summary: &'static str,
    errors: RwSignal<Vec<(String, String)>>,
) -> Option<plait_shared::Date> {
    let problem = match parts.read(what) {
        Ok(Some(date)) => {
            errors.set(Vec::new());
            return Some(date);
        }
        Ok(None) => missing.to_owned(),
        Err(why) => why,
    };
    errors.set(vec![(format!("{id}-day"), problem)]);
    crate::browser::focus(summary);
    None
}

#[component]
fn EvidenceList(ctx: Ctx) -> impl IntoView {
    let pieces = Memo::new(move |_| {
        ctx.view
            .with(|v| v.as_ref().map(|a| a.evidence.clone()).unwrap_or_default())
    });
    // The other actions of the plan that share a piece of evidence.
    let also = Memo::new(move |_| {
        let shared: Vec<EntryId> =
            pieces.with(|p| p.iter().filter_map(|e| e.piece.clone()).collect());
        if shared.is_empty() {
            return Vec::new();
        }
        let Some(doc) = ctx.workspace.plan_doc(&ctx.plan.get_value()) else {
            return Vec::new();
        };
        let this = ctx.action.get_value();
        let plan = doc.read(&doc.doc().transact());
        plan.actions
            .values()
            .filter(|a| a.id != this)
            .flat_map(|a| {
                a.evidence
                    .iter()
                    .filter_map(|e| e.piece.clone())
                    .filter(|p| shared.contains(p))
                    .map(|p| (p, a.id.clone(), a.reference.clone()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<(EntryId, ActionId, String)>>()
    });
    view! {
        <h2 id="evidence">"Evidence"</h2>
        <Show when=move || pieces.with(|p| !p.is_empty())
            fallback=|| view! { <p>"No evidence attached yet."</p> }>
            <ul class="nhsuk-list nhsuk-list--border plait-evidence">
                <For each=move || pieces.get() key=|e| e.id.clone() let:e>
                    <EvidenceItem ctx evidence=e also />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn EvidenceItem(
    ctx: Ctx,
    evidence: Evidence,
    also: Memo<Vec<(EntryId, ActionId, String)>>,
) -> impl IntoView {
    let e = StoredValue::new(evidence);
    let id = e.with_value(|e| e.id.clone());
    let plan = ctx.plan.get_value();
    let body = e.with_value(|e| match e.kind {
        EvidenceKind::File => {
            let sha = e.location.clone();
            let upload = move || match ctx.uploads.state.with(|u| u.get(&sha).cloned()) {
                Some(Upload::Waiting) => Some(view! { <span class="nhsuk-body-s">" Kept on this device: it uploads when you are online."</span> }.into_any()),
                Some(Upload::Sending(sent, total)) => Some(view! {
                    <label class="nhsuk-body-s">" Uploading "
                        <progress max=total.to_string() value=sent.to_string()>{format!("{}%", sent * 100 / total.max(1))}</progress>
                    </label>
                }.into_any()),
                Some(Upload::Done) => Some(view! { <span class="nhsuk-body-s">" Uploaded."</span> }.into_any()),
                Some(Upload::Refused(why)) => Some(view! { <span class="nhsuk-error-message">{format!(" Not uploaded: {why}")}</span> }.into_any()),
                None => None,
            };
            view! {
                <a href=blob_href(&plan, &e.location, &e.title) download>{e.title.clone()}</a>
                {upload}
            }
            .into_any()
        }
        EvidenceKind::Link => view! {
            <a href=e.location.clone() rel="noopener noreferrer" target="_blank">{format!("{} (opens in a new tab)", e.title)}</a>
        }
        .into_any(),
        EvidenceKind::Note => view! { <span>{e.title.clone()}</span> }.into_any(),
    });
    let facts = e.with_value(|e| {
        let mut parts = vec![e
            .evidence_type
            .map_or_else(|| e.kind.label().to_owned(), |t| t.label().to_owned())];
        if !e.site.is_empty() {
            parts.push(e.site.clone());
        }
        if let Some(p) = period(e) {
            parts.push(p);
        }
        parts.push(ctx.name(&e.by));
        parts.push(e.at.date().long());
        parts.join(" · ")
    });
    let piece = e.with_value(|e| e.piece.clone());
    let others = move || {
        let piece = piece.clone()?;
        let refs: Vec<(ActionId, String)> = also.with(|a| {
            a.iter()
                .filter(|(p, ..)| *p == piece)
                .map(|(_, id, r)| (id.clone(), r.clone()))
                .collect()
        });
        (!refs.is_empty()).then(|| {
            view! {
                <br /><span class="nhsuk-body-s">"Also evidences "
                    {refs.into_iter().map(|(action, reference)| view! {
                        <PageLink page=Page::Action { plan: ctx.plan.get_value(), action }>{reference}</PageLink>" "
                    }).collect_view()}
                </span>
            }
        })
    };
    let verdict_id = id.clone();
    let verdicts = move || {
        ctx.view.with(|v| {
            v.as_ref()
                .map(|a| {
                    a.evidence_reviews
                        .iter()
                        .filter(|r| r.evidence_id == verdict_id)
                        .map(|r| {
                            let level = r
                                .assurance
                                .map(|l| format!(", {} assurance", l.label().to_ascii_lowercase()))
                                .unwrap_or_default();
                            let note = if r.note.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", r.note)
                            };
                            format!("{} by {}{level}{note}", r.verdict.label(), ctx.name(&r.by))
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
                .into_iter()
                .map(|line| view! { <br /><span class="nhsuk-body-s">{line}</span> })
                .collect_view()
        })
    };
    let title = e.with_value(|e| e.title.clone());
    let review = move |verdict: EvidenceVerdict| {
        let id = e.with_value(|e| e.id.clone());
        let note = ctx.review_note.get_untracked();
        let level = ctx.review_level.get_untracked().parse::<Assurance>().ok();
        let rules = ctx.rules.get_untracked();
        let done = if verdict == EvidenceVerdict::Accepted {
            "Evidence accepted."
        } else {
            "Returned to the owner."
        };
        if ctx.write(done, |plan, txn, who, action| {
            workflow::review_evidence(
                plan,
                txn,
                action,
                who,
                &id,
                verdict,
                &note,
                true,
                level,
                &rules,
                salt(),
            )
        }) {
            ctx.review_note.set(String::new());
        }
    };
    let accept_label = format!("Accept “{title}”");
    let return_label = format!("Return “{title}” as insufficient");
    view! {
        <li>
            {body}
            <br /><span class="nhsuk-body-s">{facts}</span>
            {others}
            {verdicts}
            <Show when=move || ctx.offered.with(|o| o.review)>
                <div class="plait-buttons plait-no-print">
                    <button class="nhsuk-button nhsuk-button--secondary" type="button"
                        on:click=move |_| review(EvidenceVerdict::Accepted)>{accept_label.clone()}</button>
                    <button class="nhsuk-button nhsuk-button--secondary" type="button"
                        on:click=move |_| review(EvidenceVerdict::Insufficient)>{return_label.clone()}</button>
                </div>
            </Show>
        </li>
    }
}

#[component]
fn ReviewForm(ctx: Ctx) -> impl IntoView {
    let levels = Signal::stored(
        std::iter::once((String::new(), "Choose…".to_owned()))
            .chain(
                [
                    Assurance::Substantial,
                    Assurance::Reasonable,
                    Assurance::Limited,
                ]
                .iter()
                .map(|a| (a.key().to_owned(), a.label().to_owned())),
            )
            .collect::<Vec<_>>(),
    );
    view! {
        <h2>"Review the evidence"</h2>
        <TextArea id="review-note" label="Your note (needed when returning it)" value=ctx.review_note />
        <Choice id="review-assurance" label="How much it assures (needed to accept)" options=levels value=ctx.review_level />
        <p class="nhsuk-body-s">"Accept or return each piece above; accepting accepts the proposal, returning sends it back to the owner."</p>
    }
}

/// The vocabulary's `(key, label)` options, with a first "not said" one.
fn options<T: Copy>(
    all: &[T],
    key: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    none: &str,
) -> Signal<Vec<(String, String)>> {
    Signal::stored(
        std::iter::once((String::new(), none.to_owned()))
            .chain(
                all.iter()
                    .map(|&v| (key(v).to_owned(), label(v).to_owned())),
            )
            .collect::<Vec<_>>(),
    )
}

#[component]
fn AttachForm(ctx: Ctx) -> impl IntoView {
    let kind = RwSignal::new(EvidenceKind::File.key().to_owned());
    let title = RwSignal::new(String::new());
    let link = RwSignal::new(String::new());
    let evidence_type = RwSignal::new(String::new());
    let site = RwSignal::new(String::new());
    let from = RwSignal::new(DateParts::default());
    let to = RwSignal::new(DateParts::default());
    let no_pid = RwSignal::new(false);
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let chosen = RwSignal::new(Vec::<ActionId>::new());
    // Other actions answering the same findings that this person may also
    // attach evidence to: one piece of evidence can serve them all.
    let siblings = Memo::new(move |_| {
        let actor = ctx.session.actor.get();
        let rules = ctx.rules.get();
        let Some(this) = ctx.view.get() else {
            return Vec::new();
        };
        let Some(doc) = ctx.workspace.plan_doc(&ctx.plan.get_value()) else {
            return Vec::new();
        };
        let plan = doc.read(&doc.doc().transact());
        let mut found: Vec<(ActionId, String)> = plan
            .actions
            .values()
            .filter(|a| {
                a.id != this.id && a.finding_ids.iter().any(|f| this.finding_ids.contains(f))
            })
            .filter(|a| may_append(actor.access(rules), Log::Evidence, a))
            .map(|a| (a.id.clone(), format!("{} – {}", a.reference, a.title)))
            .collect();
        found.sort_by(|a, b| a.1.cmp(&b.1));
        found
    });
    let kinds = options(
        EvidenceKind::ALL,
        EvidenceKind::key,
        EvidenceKind::label,
        "Choose…",
    );
    let types = options(
        EvidenceType::ALL,
        EvidenceType::key,
        EvidenceType::label,
        "Not said",
    );
    let file_input = NodeRef::new();
    let clear = move || {
        title.set(String::new());
        link.set(String::new());
        site.set(String::new());
        from.set(DateParts::default());
        to.set(DateParts::default());
        chosen.set(Vec::new());
        no_pid.set(false);
    };
    // Writes the entries, on this action and the others chosen.
    let attach = move |kind: EvidenceKind, title: String, location: String, period| {
        let evidence_type = evidence_type.get_untracked().parse::<EvidenceType>().ok();
        let site = site.get_untracked();
        let others = chosen.get_untracked();
        ctx.write("Evidence attached.", |plan, txn, who, action| {
            let input = EvidenceInput {
                evidence_type,
                period,
                site: &site,
                ..EvidenceInput::new(kind, &title, &location)
            };
            if others.is_empty() {
                workflow::attach_evidence(plan, txn, action, who, &input, salt()).map(|_| ())
            } else {
                let all: Vec<ActionId> = std::iter::once(action.clone()).chain(others).collect();
                workflow::attach_to_several(plan, txn, &all, who, &input, salt()).map(|_| ())
            }
        })
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut problems = Vec::new();
        let period = (
            from.get_untracked().read("The period's first day"),
            to.get_untracked().read("The period's last day"),
        );
        let period = match period {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                if let Err(m) = a {
                    problems.push(("evidence-from-day".to_owned(), m));
                }
                if let Err(m) = b {
                    problems.push(("evidence-to-day".to_owned(), m));
                }
                (None, None)
            }
        };
        let kind_now = kind
            .get_untracked()
            .parse::<EvidenceKind>()
            .unwrap_or(EvidenceKind::File);
        let title_now = title.get_untracked();
        match kind_now {
            EvidenceKind::Link => {
                let l = link.get_untracked();
                if !(l.starts_with("https://") || l.starts_with("http://")) {
                    problems.push(("evidence-link".into(), "A link starts with https://".into()));
                }
            }
            EvidenceKind::File => {
                if chosen_file(file_input).is_none() {
                    problems.push(("evidence-file".into(), "Choose the file to attach".into()));
                } else if !no_pid.get_untracked() {
                    problems.push((
                        "evidence-no-pid".into(),
                        "Confirm that the file holds no patient-identifiable data".into(),
                    ));
                }
            }
            EvidenceKind::Note => {}
        }
        if kind_now != EvidenceKind::File && title_now.trim().is_empty() {
            problems.push((
                "evidence-title".into(),
                "Say what the evidence shows".into(),
            ));
        }
        let failed = !problems.is_empty();
        errors.set(problems);
        if failed {
            crate::browser::focus("evidence-errors");
            return;
        }
        if kind_now != EvidenceKind::File {
            if attach(kind_now, title_now, link.get_untracked(), period) {
                clear();
            }
            return;
        }
        let Some(file) = chosen_file(file_input) else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = async {
                let (bytes, sha) = read_file(&file).await?;
                let store = ctx
                    .workspace
                    .store()
                    .ok_or("this device's store is not open")?;
                store
                    .queue_blob(
                        &sha,
                        &ctx.plan.get_value(),
                        &file.name(),
                        &file.type_(),
                        &bytes,
                    )
                    .await
                    .map_err(|e| format!("the file could not be kept on this device: {e}"))?;
                let name = if title_now.trim().is_empty() {
                    file.name()
                } else {
                    title_now
                };
                if attach(EvidenceKind::File, name, sha.clone(), period) {
                    ctx.uploads.state.update(|s| {
                        s.insert(sha, Upload::Waiting);
                    });
                    clear();
                    clear_file(file_input);
                    ctx.workspace.send_uploads();
                }
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = outcome {
                ctx.say(false, e);
            }
        });
    };
    let is = move |k: EvidenceKind| kind.with(|v| v == k.key());
    view! {
        <form class="plait-no-print" on:submit=on_submit novalidate>
            <fieldset class="nhsuk-fieldset">
                <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">"Attach evidence"</legend>
                <crate::components::form::ErrorSummary id="evidence-errors" errors />
                <Choice id="evidence-kind" label="Kind" options=kinds value=kind errors />
                <TextField id="evidence-title" label="What it shows" value=title errors />
                <Choice id="evidence-type" label="Type of evidence" options=types value=evidence_type errors />
                <TextField id="evidence-site" label="Where it comes from (ward, team or site)" value=site errors width="nhsuk-input--width-20" />
                <DateInput id="evidence-from" legend="The period it covers: first day" hint="If it covers a period. For example, 1 6 2027" value=from error=Signal::derive(move || crate::components::form::error_of(errors, "evidence-from")) />
                <DateInput id="evidence-to" legend="The period it covers: last day" hint="For example, 30 6 2027" value=to error=Signal::derive(move || crate::components::form::error_of(errors, "evidence-to")) />
                <div hidden=move || !is(EvidenceKind::File)>
                    <div class="nhsuk-form-group">
                        <label class="nhsuk-label" for="evidence-file">{format!("File (photo, PDF or office document, up to {} MB)", crate::uploads::MAX_BYTES / 1_048_576)}</label>
                        <input class="nhsuk-file-upload" id="evidence-file" type="file" node_ref=file_input />
                    </div>
                    <div class="nhsuk-checkboxes__item">
                        <input class="nhsuk-checkboxes__input" id="evidence-no-pid" type="checkbox"
                            prop:checked=move || no_pid.get() on:change=move |ev| no_pid.set(event_target_checked(&ev)) />
                        <label class="nhsuk-label nhsuk-checkboxes__label" for="evidence-no-pid">"I confirm this file holds no patient-identifiable data"</label>
                    </div>
                </div>
                <div hidden=move || !is(EvidenceKind::Link)>
                    <TextField id="evidence-link" label="Link (https://…)" kind="url" value=link errors />
                </div>
                <Show when=move || siblings.with(|s| !s.is_empty())>
                    <fieldset class="nhsuk-fieldset">
                        <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">"It also evidences (the same finding's other actions)"</legend>
                        <div class="nhsuk-checkboxes nhsuk-checkboxes--small">
                            <For each=move || siblings.get() key=|(id, _)| id.clone() let:sibling>
                                {
                                    let (id, label) = sibling;
                                    let input_id = format!("evidence-also-{id}");
                                    let mine = id.clone();
                                    view! {
                                        <div class="nhsuk-checkboxes__item">
                                            <input class="nhsuk-checkboxes__input" id=input_id.clone() type="checkbox"
                                                prop:checked=move || chosen.with(|c| c.contains(&mine))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    chosen.update(|c| {
                                                        c.retain(|x| *x != id);
                                                        if on { c.push(id.clone()); }
                                                    });
                                                } />
                                            <label class="nhsuk-label nhsuk-checkboxes__label" for=input_id>{label}</label>
                                        </div>
                                    }
                                }
                            </For>
                        </div>
                    </fieldset>
                </Show>
                <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Attach"</button>
            </fieldset>
        </form>
    }
}

#[component]
fn Decisions(ctx: Ctx) -> impl IntoView {
    let decisions = Memo::new(move |_| {
        ctx.view
            .with(|v| v.as_ref().map(|a| a.decisions.clone()).unwrap_or_default())
    });
    view! {
        <h2 id="decisions">"Decisions"</h2>
        <Show when=move || decisions.with(|d| !d.is_empty()) fallback=|| view! { <p>"No forum decisions yet."</p> }>
            <ul class="nhsuk-list nhsuk-list--border">
                <For each=move || decisions.get() key=|d| d.id.clone() let:d>
                    <li>{format!(
                        "{}: {} on {}{}{}",
                        d.forum,
                        d.outcome.label(),
                        d.meeting_date.long(),
                        if d.minute_ref.is_empty() { String::new() } else { format!(" (minute {})", d.minute_ref) },
                        if d.note.is_empty() { String::new() } else { format!(": {}", d.note) },
                    )}</li>
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn DecisionForm(ctx: Ctx) -> impl IntoView {
    let forums = Signal::derive(move || {
        let mut names: Vec<String> = ctx
            .workspace
            .programme_view()
            .map(|p| p.forums.into_values().map(|f| f.name).collect())
            .unwrap_or_default();
        if names.is_empty() {
            names.push("Quality and Safety Committee".into());
        }
        names
            .into_iter()
            .map(|n| (n.clone(), n))
            .collect::<Vec<_>>()
    });
    let forum = RwSignal::new(
        forums.with_untracked(|f| f.first().map(|(v, _)| v.clone()).unwrap_or_default()),
    );
    let outcomes = Signal::derive(move || {
        ctx.offered.with(|o| {
            o.decisions
                .iter()
                .map(|d| (d.key().to_owned(), d.label().to_owned()))
                .collect::<Vec<_>>()
        })
    });
    let outcome = RwSignal::new(
        outcomes.with_untracked(|o| o.first().map(|(v, _)| v.clone()).unwrap_or_default()),
    );
    let meeting = RwSignal::new(DateParts::default());
    let minute = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let schedule = move || {
        let months: Vec<String> = ctx
            .rules
            .get()
            .reaudit_months()
            .iter()
            .map(u32::to_string)
            .collect();
        format!(
            "Approving closure closes the action and schedules re-audits {} months after the meeting.",
            months.join(" and ")
        )
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(date) = needed_date(
            &meeting.get_untracked(),
            ("The meeting's date", "Enter the meeting's date"),
            "decision-date",
            "decision-errors",
            errors,
        ) else {
            return;
        };
        let Ok(outcome) = outcome.get_untracked().parse::<DecisionOutcome>() else {
            return;
        };
        let (forum, minute_ref, note_text) = (
            forum.get_untracked(),
            minute.get_untracked(),
            note.get_untracked(),
        );
        let months = ctx.rules.get_untracked().reaudit_months();
        if ctx.write("Decision recorded.", |plan, txn, who, action| {
            workflow::record_decision(
                plan,
                txn,
                action,
                who,
                &DecisionInput {
                    forum: &forum,
                    meeting_date: date,
                    outcome,
                    minute_ref: &minute_ref,
                    note: &note_text,
                    reaudit_months: &months,
                    meeting: None,
                },
                salt(),
            )
        }) {
            minute.set(String::new());
            note.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=on_submit novalidate>
            <fieldset class="nhsuk-fieldset">
                <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">"Record the forum's decision"</legend>
                <crate::components::form::ErrorSummary id="decision-errors" errors />
                <Choice id="decision-forum" label="Forum" options=forums value=forum />
                <DateInput id="decision-date" legend="Meeting date" value=meeting error=Signal::derive(move || crate::components::form::error_of(errors, "decision-date")) />
                <TextField id="decision-minute" label="Minute reference" value=minute width="nhsuk-input--width-20" />
                <Choice id="decision-outcome" label="Outcome" options=outcomes value=outcome />
                <TextArea id="decision-note" label="Note (needed for a return or reopening)" value=note />
                <p class="nhsuk-body-s">{schedule}</p>
                <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Record decision"</button>
            </fieldset>
        </form>
    }
}

#[component]
fn DueDate(ctx: Ctx) -> impl IntoView {
    let dates = Memo::new(move |_| {
        ctx.view
            .with(|v| v.as_ref().map(|a| (a.due_original, a.due_current)))
    });
    let requests = Memo::new(move |_| {
        ctx.view.with(|v| {
            v.as_ref()
                .map(|a| a.due_requests.clone())
                .unwrap_or_default()
        })
    });
    let answer_note = ctx.answer_note;
    let answer = move |request: EntryId, verdict: DueChangeVerdict| answer(ctx, request, verdict);
    view! {
        <h2 id="due-date">"Due date"</h2>
        <p>{move || match dates.get() {
            Some((Some(o), Some(c))) if o != c => format!("Due {} (originally {}).", c.long(), o.long()),
            Some((_, Some(c))) => format!("Due {}.", c.long()),
            _ => "No due date set.".to_owned(),
        }}</p>
        <Show when=move || ctx.offered.with(|o| o.answer) && requests.with(|r| r.iter().any(|q| q.answer.is_none()))>
            <TextArea id="answer-note" label="Note with your answer (needed to decline)" value=answer_note />
        </Show>
        <Show when=move || requests.with(|r| !r.is_empty())>
            <ul class="nhsuk-list nhsuk-list--border">
                <For each=move || requests.get() key=|r| (r.id.clone(), r.answer.is_some()) let:r>
                    {
                        let (id_a, id_d) = (r.id.clone(), r.id.clone());
                        let asked = format!("{} asked for {}: {}", ctx.name(&r.by), r.new_due.long(), r.reason);
                        let state = match &r.answer {
                            Some((verdict, by, why)) => view! {
                                <span>{format!(" — {} by {}{}", verdict.label(), ctx.name(by), if why.is_empty() { String::new() } else { format!(": {why}") })}</span>
                            }.into_any(),
                            None => view! {
                                <Show when=move || ctx.offered.with(|o| o.answer)
                                    fallback=|| view! { <span>" — awaiting the executive lead"</span> }>
                                    <div class="plait-buttons plait-no-print">
                                        <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                            on:click={let id = id_a.clone(); move |_| answer(id.clone(), DueChangeVerdict::Approved)}>"Approve"</button>
                                        <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                            on:click={let id = id_d.clone(); move |_| answer(id.clone(), DueChangeVerdict::Declined)}>"Decline"</button>
                                    </div>
                                </Show>
                            }.into_any(),
                        };
                        view! { <li>{asked}{state}</li> }
                    }
                </For>
            </ul>
        </Show>
    }
}

/// The executive lead answers a request (a due date or a wording).
fn answer(ctx: Ctx, request: EntryId, verdict: DueChangeVerdict) {
    let note = ctx.answer_note.get_untracked();
    if ctx.write("Answer recorded.", |plan, txn, who, action| {
        workflow::answer_due_change(plan, txn, action, who, &request, verdict, &note, salt())
    }) {
        ctx.answer_note.set(String::new());
    }
}

/// An agreed action's title and closure criteria: the owner asks the
/// executive lead for a new wording; the lead approves (the wording is
/// applied) or declines.
#[component]
fn Wording(ctx: Ctx) -> impl IntoView {
    let requests = Memo::new(move |_| {
        ctx.view.with(|v| {
            v.as_ref()
                .map(|a| a.wording_requests.clone())
                .unwrap_or_default()
        })
    });
    let which = RwSignal::new(plait_shared::ActionText::Title.key().to_owned());
    let proposed = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let texts = Signal::stored(
        [
            plait_shared::ActionText::Title,
            plait_shared::ActionText::ClosureCriteria,
        ]
        .iter()
        .map(|t| (t.key().to_owned(), t.label().to_owned()))
        .collect::<Vec<_>>(),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(text) = plait_shared::ActionText::from_key(&which.get_untracked()) else {
            return;
        };
        let (wording, why) = (proposed.get_untracked(), reason.get_untracked());
        if ctx.write(
            "Request sent to the executive lead.",
            |plan, txn, who, action| {
                workflow::request_wording_change(
                    plan,
                    txn,
                    action,
                    who,
                    text,
                    &wording,
                    &why,
                    salt(),
                )
                .map(|_| ())
            },
        ) {
            proposed.set(String::new());
            reason.set(String::new());
        }
    };
    view! {
        <Show when=move || requests.with(|r| !r.is_empty()) || ctx.offered.with(|o| o.wording)>
            <h2 id="wording">"Title and closure criteria"</h2>
            <p class="nhsuk-body-s">"Once an action is agreed, its title and closure criteria change only with its executive lead's approval."</p>
            <Show when=move || ctx.offered.with(|o| o.answer) && requests.with(|r| r.iter().any(|q| q.answer.is_none()))>
                <TextArea id="wording-answer-note" label="Note with your answer (needed to decline)" value=ctx.answer_note />
            </Show>
            <ul class="nhsuk-list nhsuk-list--border">
                <For each=move || requests.get() key=|r| (r.id.clone(), r.answer.is_some()) let:r>
                    {
                        let id = r.id.clone();
                        let asked = format!(
                            "{} asked for the {} to read: “{}” ({})",
                            ctx.name(&r.by),
                            r.text.label().to_ascii_lowercase(),
                            r.proposed,
                            r.reason
                        );
                        let state = match &r.answer {
                            Some((verdict, by, why)) => view! {
                                <span>{format!(" — {} by {}{}", verdict.label(), ctx.name(by), if why.is_empty() { String::new() } else { format!(": {why}") })}</span>
                            }.into_any(),
                            None => view! {
                                <Show when=move || ctx.offered.with(|o| o.answer)
                                    fallback=|| view! { <span>" — awaiting the executive lead"</span> }>
                                    <div class="plait-buttons plait-no-print">
                                        <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                            on:click={let id = id.clone(); move |_| answer(ctx, id.clone(), DueChangeVerdict::Approved)}>"Approve the wording"</button>
                                        <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                            on:click={let id = id.clone(); move |_| answer(ctx, id.clone(), DueChangeVerdict::Declined)}>"Decline the wording"</button>
                                    </div>
                                </Show>
                            }.into_any(),
                        };
                        view! { <li class="plait-prewrap">{asked}{state}</li> }
                    }
                </For>
            </ul>
            <Show when=move || ctx.offered.with(|o| o.wording)>
                <form class="plait-no-print" on:submit=on_submit novalidate>
                    <fieldset class="nhsuk-fieldset">
                        <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">"Ask for a new wording"</legend>
                        <Choice id="wording-text" label="Which" options=texts value=which />
                        <TextArea id="wording-proposed" label="The new wording, in full" value=proposed />
                        <TextArea id="wording-reason" label="Why" value=reason />
                        <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Send to the executive lead"</button>
                    </fieldset>
                </form>
            </Show>
        </Show>
    }
}

#[component]
fn DueRequestForm(ctx: Ctx) -> impl IntoView {
    let date = RwSignal::new(DateParts::default());
    let reason = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(new_due) = needed_date(
            &date.get_untracked(),
            ("The new date", "Enter the new due date"),
            "due-new",
            "due-errors",
            errors,
        ) else {
            return;
        };
        let why = reason.get_untracked();
        if ctx.write(
            "Request sent to the executive lead.",
            |plan, txn, who, action| {
                workflow::request_due_change(plan, txn, action, who, new_due, &why, salt())
                    .map(|_| ())
            },
        ) {
            date.set(DateParts::default());
            reason.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=on_submit novalidate>
            <fieldset class="nhsuk-fieldset">
                <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">"Ask for a new due date"</legend>
                <crate::components::form::ErrorSummary id="due-errors" errors />
                <DateInput id="due-new" legend="New date" value=date error=Signal::derive(move || crate::components::form::error_of(errors, "due-new")) />
                <TextArea id="due-reason" label="Why" value=reason />
                <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Send to the executive lead"</button>
            </fieldset>
        </form>
    }
}

#[component]
fn Reaudits(ctx: Ctx) -> impl IntoView {
    let checks = Memo::new(move |_| {
        ctx.view.with(|v| {
            v.as_ref()
                .map(|a| {
                    a.sustainment_checks
                        .iter()
                        .map(|c| {
                            let result = a.sustainment.iter().find_map(|s| match s {
                                plait_shared::Sustainment::Result {
                                    check_id,
                                    method,
                                    sample,
                                    ..
                                } if *check_id == c.id => Some((*method, sample.clone())),
                                _ => None,
                            });
                            (c.clone(), result)
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let method = RwSignal::new(String::new());
    let sample = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let methods = options(
        ReauditMethod::ALL,
        ReauditMethod::key,
        ReauditMethod::label,
        "Choose…",
    );
    let open_now =
        move |opens: plait_shared::Date| ctx.offered.with(|o| o.reaudit) && today() >= opens;
    let record = move |check: EntryId, outcome: CheckOutcome| {
        let (method_now, sample_now, note_now) = (
            method.get_untracked().parse::<ReauditMethod>().ok(),
            sample.get_untracked(),
            note.get_untracked(),
        );
        let rules = ctx.rules.get_untracked();
        let done = if outcome == CheckOutcome::Passed {
            "Re-audit passed."
        } else {
            "Re-audit failed: the action is reopened."
        };
        if ctx.write(done, |plan, txn, who, action| {
            workflow::record_reaudit(
                plan,
                txn,
                action,
                who,
                &ReauditInput {
                    check_id: &check,
                    outcome,
                    method: method_now,
                    sample: &sample_now,
                    note: &note_now,
                },
                &rules,
                salt(),
            )
        }) {
            sample.set(String::new());
            note.set(String::new());
        }
    };
    view! {
        <h2 id="reaudits">"Re-audits"</h2>
        <Show when=move || checks.with(|c| !c.is_empty())
            fallback=move || view! { <p>{move || {
                let rules = ctx.rules.get();
                let months: Vec<String> = rules.reaudit_months().iter().map(u32::to_string).collect();
                format!(
                    "Re-audits are scheduled when the action is closed: {} months after the closing decision, each open {} days before it is due. The last one decides whether the change is embedded.",
                    months.join(" and "),
                    rules.reaudit_window_days
                )
            }}</p> }>
            <Show when=move || ctx.offered.with(|o| o.reaudit)>
                <div class="plait-no-print">
                    <Choice id="reaudit-method" label="How it was done" options=methods value=method />
                    <TextField id="reaudit-sample" label="What it looked at (how many, where, when)" value=sample />
                    <TextArea id="reaudit-note" label="What the re-audit found (needed when it failed)" value=note />
                </div>
            </Show>
            <ul class="nhsuk-list nhsuk-list--border">
                <For each=move || checks.get() key=|(c, _)| (c.id.clone(), c.result.is_some()) let:item>
                    {
                        let (c, how) = item;
                        let id = c.id.clone();
                        let opens = ctx.rules.get_untracked().reaudit_opens(c.due);
                        match c.result.clone() {
                            Some((outcome, by, why)) => {
                                let how = how
                                    .map(|(m, s)| {
                                        let m = m.map_or("Method not recorded", ReauditMethod::label);
                                        if s.is_empty() { format!(" · {m}") } else { format!(" · {m}: {s}") }
                                    })
                                    .unwrap_or_default();
                                let why = if why.is_empty() { String::new() } else { format!(": {why}") };
                                view! { <li>{format!("Due {}: {} ({}){how}{why}", c.due.long(), outcome.label(), ctx.name(&by))}</li> }.into_any()
                            }
                            None => view! {
                                <li>
                                    {format!("Due {}: ", c.due.long())}
                                    {move || if today() < opens {
                                        format!("opens {}", opens.long())
                                    } else {
                                        "not done yet".to_owned()
                                    }}
                                    <Show when=move || open_now(opens)>
                                        <div class="plait-buttons plait-no-print">
                                            <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                                on:click={let id = id.clone(); move |_| record(id.clone(), CheckOutcome::Passed)}>"Passed"</button>
                                            <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                                on:click={let id = id.clone(); move |_| record(id.clone(), CheckOutcome::Failed)}>"Failed"</button>
                                        </div>
                                    </Show>
                                </li>
                            }.into_any(),
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}
