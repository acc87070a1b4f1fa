//! The assurance of one action: evidence (files kept offline and uploaded
//! later, links, notes) and its review, the forum's decisions, due-date
//! requests and answers, and re-audits. Each step is one of
//! `plait_shared::workflow`'s writes; each form shows only for the people
//! `plait_shared::access` allows, and the server checks it again.
//!
//! Written as markup with delegated events (see [`crate::markup`]): what is
//! shown re-renders as the action changes, while the forms re-render only
//! when which forms apply changes, so nothing typed is lost to a sync.

use leptos::prelude::*;
use plait_shared::workflow::{self, offers, DecisionInput, Offers, Who, DEFAULT_REAUDIT_MONTHS};
use plait_shared::{
    ActionId, ActionView, Assurance, CheckOutcome, Date, DecisionOutcome, DocId, DueChangeVerdict,
    EntryId, EvidenceKind, EvidenceVerdict, PlanDoc, WriteError,
};
use yrs::Transact;

use crate::browser::chosen_file;
use crate::browser::now;
use crate::contexts::workspace::{use_workspace, Workspace};
use crate::markup::{acted_on, button, checked, clear, escape, input, textarea, value_of};
use crate::uploads::{read_file, Upload};

/// One governance step, written in the plan's transaction as its author.
type Step<'a> =
    dyn Fn(&PlanDoc, &mut yrs::TransactionMut, &Who<'_>, &ActionId) -> Result<(), WriteError> + 'a;

fn salt() -> u32 {
    (js_sys::Math::random() * f64::from(u32::MAX)) as u32
}

/// Which forms apply (the forms' markup depends on nothing else): asked
/// of the shared rules ([`plait_shared::workflow::offers`]).
type Forms = Offers;

fn forms_for(workspace: Workspace, action: &ActionView) -> Forms {
    let actor = workspace.session().actor.get();
    offers(actor.access(), action, crate::browser::today())
}

fn fieldset(form: &str, legend: &str, body: &str, submit: &str) -> String {
    format!(
        "<form class=\"plait-no-print\" data-form=\"{form}\"><fieldset class=\"nhsuk-fieldset\">\
         <legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--s\">{legend}</legend>{body}\
         <button class=\"nhsuk-button nhsuk-button--secondary\" type=\"submit\">{submit}</button>\
         </fieldset></form>"
    )
}

fn forms_markup(forms: &Forms) -> [String; 4] {
    let evidence = if forms.evidence {
        let kinds: String = EvidenceKind::ALL
            .iter()
            .map(|k| format!("<option value=\"{}\">{}</option>", k.key(), k.label()))
            .collect();
        fieldset(
            "evidence",
            "Attach evidence",
            &format!(
                "<div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"evidence-kind\">Kind</label>\
                 <select class=\"nhsuk-select\" id=\"evidence-kind\">{kinds}</select></div>{}\
                 <div class=\"nhsuk-form-group\" data-for-kind=\"file\"><label class=\"nhsuk-label\" for=\"evidence-file\">\
                 File (photo, PDF or office document, up to 25 MB)</label>\
                 <input class=\"nhsuk-file-upload\" id=\"evidence-file\" type=\"file\"></div>\
                 <div class=\"nhsuk-checkboxes__item\" data-for-kind=\"file\">\
                 <input class=\"nhsuk-checkboxes__input\" id=\"evidence-no-pid\" type=\"checkbox\">\
                 <label class=\"nhsuk-label nhsuk-checkboxes__label\" for=\"evidence-no-pid\">\
                 I confirm this file holds no patient-identifiable data</label></div>\
                 <div data-for-kind=\"link\" hidden>{}</div>",
                input("evidence-title", "What it shows", "text", "", ""),
                input("evidence-link", "Link (https://…)", "url", "", "")
            ),
            "Attach",
        )
    } else {
        String::new()
    };
    let review = if forms.review {
        let levels: String = [
            Assurance::Substantial,
            Assurance::Reasonable,
            Assurance::Limited,
        ]
        .iter()
        .map(|a| format!("<option value=\"{}\">{}</option>", a.key(), a.label()))
        .collect();
        format!(
            "<h2>Review the evidence</h2>{}<div class=\"nhsuk-form-group\">\
             <label class=\"nhsuk-label\" for=\"review-assurance\">How much it assures (needed to accept)</label>\
             <select class=\"nhsuk-select\" id=\"review-assurance\"><option value=\"\">Choose…</option>{levels}</select></div>\
             <p class=\"nhsuk-body-s\">Accept or return each piece below; \
             accepting accepts the proposal, returning sends it back to the owner.</p>",
            textarea("review-note", "Your note (needed when returning it)")
        )
    } else {
        String::new()
    };
    let decision = if forms.decisions.is_empty() {
        String::new()
    } else {
        let outcomes: String = forms
            .decisions
            .iter()
            .map(|o| format!("<option value=\"{}\">{}</option>", o.key(), o.label()))
            .collect();
        fieldset(
            "decision",
            "Record the forum's decision",
            &format!(
                "{}{}<div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"decision-outcome\">Outcome</label>\
                 <select class=\"nhsuk-select\" id=\"decision-outcome\">{outcomes}</select></div>{}{}\
                 <p class=\"nhsuk-body-s\">Approving closure closes the action and schedules re-audits \
                 3 and 6 months after the meeting.</p>",
                input("decision-forum", "Forum", "text", "Quality and Safety Committee", ""),
                input("decision-date", "Meeting date", "date", "", "nhsuk-input--width-10"),
                input("decision-minute", "Minute reference", "text", "", "nhsuk-input--width-20"),
                textarea("decision-note", "Note (needed for a return or reopening)")
            ),
            "Record decision",
        )
    };
    let mut dates = String::new();
    if forms.answer {
        dates += &textarea("answer-note", "Note with your answer (needed to decline)");
    }
    if forms.request {
        dates += &fieldset(
            "due-request",
            "Ask for a new due date",
            &format!(
                "{}{}",
                input("due-new", "New date", "date", "", "nhsuk-input--width-10"),
                textarea("due-reason", "Why")
            ),
            "Send to the executive lead",
        );
    }
    if forms.reaudit {
        dates += &textarea(
            "reaudit-note",
            "What the re-audit found (needed when it failed)",
        );
    }
    [evidence, review, decision, dates]
}

fn blob_href(plan: &DocId, sha: &str, name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("/api/blobs/{}?doc={plan}&amp;name={name}", escape(sha))
}

fn display_markup(
    workspace: Workspace,
    plan: &DocId,
    action: &ActionView,
    forms: &Forms,
    uploads: &std::collections::BTreeMap<String, Upload>,
) -> [String; 4] {
    let name = |user: &plait_shared::UserId| escape(&workspace.name_of(user.as_str()));
    let note = |text: &str| {
        if text.is_empty() {
            String::new()
        } else {
            format!(": {}", escape(text))
        }
    };
    let mut evidence = String::from("<h2 id=\"evidence\">Evidence</h2>");
    if action.evidence.is_empty() {
        evidence += "<p>No evidence attached yet.</p>";
    } else {
        evidence += "<ul class=\"nhsuk-list nhsuk-list--border plait-evidence\">";
        for e in &action.evidence {
            let body = match e.kind {
                EvidenceKind::File => {
                    let state = match uploads.get(&e.location) {
                        Some(Upload::Waiting) => " <span class=\"nhsuk-body-s\">Kept on this device: it uploads when you are online.</span>".to_owned(),
                        Some(Upload::Sending(sent, total)) => format!(
                            " <label class=\"nhsuk-body-s\">Uploading <progress max=\"{total}\" value=\"{sent}\">{}%</progress></label>",
                            sent * 100 / total.max(&1)
                        ),
                        Some(Upload::Done) => " <span class=\"nhsuk-body-s\">Uploaded.</span>".to_owned(),
                        Some(Upload::Refused(why)) => format!(" <span class=\"nhsuk-error-message\">Not uploaded: {}</span>", escape(why)),
                        None => String::new(),
                    };
                    format!(
                        "<a href=\"{}\" download>{}</a>{state}",
                        blob_href(plan, &e.location, &e.title),
                        escape(&e.title)
                    )
                }
                EvidenceKind::Link => format!(
                    "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{} (opens in a new tab)</a>",
                    escape(&e.location),
                    escape(&e.title)
                ),
                EvidenceKind::Note => escape(&e.title),
            };
            let verdicts: String = action
                .evidence_reviews
                .iter()
                .filter(|r| r.evidence_id == e.id)
                .map(|r| {
                    format!(
                        "<br><span class=\"nhsuk-body-s\">{} by {}{}</span>",
                        r.verdict.label(),
                        name(&r.by),
                        note(&r.note)
                    )
                })
                .collect();
            let buttons = if forms.review {
                format!(
                    "<div class=\"plait-buttons plait-no-print\">{}{}</div>",
                    button(
                        "review-accept",
                        e.id.as_str(),
                        &format!("Accept “{}”", e.title),
                        false
                    ),
                    button(
                        "review-return",
                        e.id.as_str(),
                        &format!("Return “{}” as insufficient", e.title),
                        true
                    )
                )
            } else {
                String::new()
            };
            evidence += &format!(
                "<li>{body}<br><span class=\"nhsuk-body-s\">{} · {} · {}</span>{verdicts}{buttons}</li>",
                e.kind.label(),
                name(&e.by),
                e.at.date().long()
            );
        }
        evidence += "</ul>";
    }
    let mut decisions = String::from("<h2 id=\"decisions\">Decisions</h2>");
    if action.decisions.is_empty() {
        decisions += "<p>No forum decisions yet.</p>";
    } else {
        decisions += "<ul class=\"nhsuk-list nhsuk-list--border\">";
        for d in &action.decisions {
            decisions += &format!(
                "<li>{}: {} on {}{}{}</li>",
                escape(&d.forum),
                d.outcome.label(),
                d.meeting_date.long(),
                if d.minute_ref.is_empty() {
                    String::new()
                } else {
                    format!(" (minute {})", escape(&d.minute_ref))
                },
                note(&d.note)
            );
        }
        decisions += "</ul>";
    }
    let mut dates = format!(
        "<h2 id=\"due-date\">Due date</h2><p>{}</p>",
        match (action.due_original, action.due_current) {
            (Some(o), Some(c)) if o != c => format!("Due {} (originally {}).", c.long(), o.long()),
            (_, Some(c)) => format!("Due {}.", c.long()),
            _ => "No due date set.".to_owned(),
        }
    );
    if !action.due_requests.is_empty() {
        dates += "<ul class=\"nhsuk-list nhsuk-list--border\">";
        for r in &action.due_requests {
            let answer = match &r.answer {
                Some((verdict, by, why)) => {
                    format!(" — {} by {}{}", verdict.label(), name(by), note(why))
                }
                None if forms.answer => format!(
                    "<div class=\"plait-buttons plait-no-print\">{}{}</div>",
                    button("due-approve", r.id.as_str(), "Approve", false),
                    button("due-decline", r.id.as_str(), "Decline", true)
                ),
                None => " — awaiting the executive lead".to_owned(),
            };
            dates += &format!(
                "<li>{} asked for {}: {}{answer}</li>",
                name(&r.by),
                r.new_due.long(),
                escape(&r.reason)
            );
        }
        dates += "</ul>";
    }
    let mut checks = String::from("<h2 id=\"reaudits\">Re-audits</h2>");
    if action.sustainment_checks.is_empty() {
        checks += "<p>Re-audits are scheduled when the action is closed.</p>";
    } else {
        checks += "<ul class=\"nhsuk-list nhsuk-list--border\">";
        for c in &action.sustainment_checks {
            let line = match &c.result {
                Some((outcome, by, why)) => format!(
                    "Due {}: {} ({}){}",
                    c.due.long(),
                    outcome.label(),
                    name(by),
                    note(why)
                ),
                None if forms.reaudit
                    && crate::browser::today() >= workflow::reaudit_opens(c.due) =>
                {
                    format!(
                        "Due {}: not done yet<div class=\"plait-buttons plait-no-print\">{}{}</div>",
                        c.due.long(),
                        button("reaudit-pass", c.id.as_str(), "Passed", false),
                        button("reaudit-fail", c.id.as_str(), "Failed", true)
                    )
                }
                None if crate::browser::today() < workflow::reaudit_opens(c.due) => format!(
                    "Due {}: opens {}",
                    c.due.long(),
                    workflow::reaudit_opens(c.due).long()
                ),
                None => format!("Due {}: not done yet", c.due.long()),
            };
            checks += &format!("<li>{line}</li>");
        }
        checks += "</ul>";
    }
    [evidence, decisions, dates, checks]
}

/// The assurance sections of an action page.
#[component]
pub fn Governance(plan: DocId, action: ActionId) -> impl IntoView {
    let workspace = use_workspace();
    let uploads = crate::uploads::use_uploads();
    let message: RwSignal<Option<(bool, String)>> = RwSignal::new(None);
    let ids = StoredValue::new((plan.clone(), action.clone()));
    let view_of = Memo::new(move |_| {
        workspace.revision.track();
        let (plan, action) = ids.get_value();
        let doc = workspace.plan_doc(&plan)?;
        let view = doc.read_action(&doc.doc().transact(), &action);
        view
    });
    let forms = Memo::new(move |_| {
        view_of.with(|v| {
            v.as_ref()
                .map(|a| forms_for(workspace, a))
                .unwrap_or_default()
        })
    });
    let forms_html = Memo::new(move |_| forms.with(forms_markup));
    let display = Memo::new(move |_| {
        let forms = forms.get();
        let (plan, _) = ids.get_value();
        uploads.state.with(|u| {
            view_of.with(|v| {
                v.as_ref()
                    .map(|a| display_markup(workspace, &plan, a, &forms, u))
                    .unwrap_or_default()
            })
        })
    });
    let write = move |done: &str, f: &Step<'_>| -> bool {
        let (plan, action) = ids.get_value();
        let Some(doc) = workspace.plan_doc(&plan) else {
            return false;
        };
        let actor = workspace.session().actor.get_untracked();
        let who = Who {
            user: &actor.user,
            role: actor.role,
            at: now(),
        };
        let result = {
            let mut txn = doc.doc().transact_mut();
            f(&doc, &mut txn, &who, &action)
        };
        match result {
            Ok(()) => message.set(Some((true, done.to_owned()))),
            Err(e) => message.set(Some((false, e.to_string()))),
        }
        message.with_untracked(|m| m.as_ref().is_some_and(|(ok, _)| *ok))
    };
    let attach_file = move |title: String| {
        let Some(file) = chosen_file("evidence-file") else {
            message.set(Some((false, "Choose the file to attach.".into())));
            return;
        };
        if !checked("evidence-no-pid") {
            message.set(Some((
                false,
                "Confirm that the file holds no patient-identifiable data.".into(),
            )));
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = async {
                let (bytes, sha) = read_file(&file).await?;
                let store = workspace.store().ok_or("this device's store is not open")?;
                let (plan, _) = ids.get_value();
                store
                    .queue_blob(&sha, &plan, &file.name(), &file.type_(), &bytes)
                    .await
                    .map_err(|e| format!("the file could not be kept on this device: {e}"))?;
                let name = if title.trim().is_empty() {
                    file.name()
                } else {
                    title
                };
                if write("Evidence attached.", &|plan, txn, who, action| {
                    workflow::attach_evidence(
                        plan,
                        txn,
                        action,
                        who,
                        EvidenceKind::File,
                        &name,
                        &sha,
                        salt(),
                    )
                    .map(|_| ())
                }) {
                    uploads.state.update(|s| {
                        s.insert(sha.clone(), Upload::Waiting);
                    });
                    clear(&["evidence-title", "evidence-file"]);
                    workspace.send_uploads();
                }
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = outcome {
                message.set(Some((false, e)));
            }
        });
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some((_, form)) = acted_on(&ev, "data-form") else {
            return;
        };
        ev.prevent_default();
        match form.as_str() {
            "evidence" => {
                let title = value_of("evidence-title");
                match value_of("evidence-kind").parse::<EvidenceKind>() {
                    Ok(EvidenceKind::File) | Err(_) => attach_file(title),
                    Ok(kind) => {
                        let link = value_of("evidence-link");
                        if kind == EvidenceKind::Link
                            && !(link.starts_with("https://") || link.starts_with("http://"))
                        {
                            message.set(Some((false, "A link starts with https://".into())));
                            return;
                        }
                        if write("Evidence attached.", &|plan, txn, who, action| {
                            workflow::attach_evidence(
                                plan,
                                txn,
                                action,
                                who,
                                kind,
                                &title,
                                &link,
                                salt(),
                            )
                            .map(|_| ())
                        }) {
                            clear(&["evidence-title", "evidence-link"]);
                        }
                    }
                }
            }
            "decision" => {
                let Ok(meeting_date) = Date::parse_loose(&value_of("decision-date")) else {
                    message.set(Some((false, "Enter the meeting's date.".into())));
                    return;
                };
                let Ok(outcome) = value_of("decision-outcome").parse::<DecisionOutcome>() else {
                    return;
                };
                let (forum, minute, note) = (
                    value_of("decision-forum"),
                    value_of("decision-minute"),
                    value_of("decision-note"),
                );
                if write("Decision recorded.", &|plan, txn, who, action| {
                    workflow::record_decision(
                        plan,
                        txn,
                        action,
                        who,
                        &DecisionInput {
                            forum: &forum,
                            meeting_date,
                            outcome,
                            minute_ref: &minute,
                            note: &note,
                            reaudit_months: &DEFAULT_REAUDIT_MONTHS,
                        },
                        salt(),
                    )
                }) {
                    clear(&["decision-minute", "decision-note"]);
                }
            }
            "due-request" => {
                let Ok(date) = Date::parse_loose(&value_of("due-new")) else {
                    message.set(Some((false, "Enter the new due date.".into())));
                    return;
                };
                let reason = value_of("due-reason");
                if write(
                    "Request sent to the executive lead.",
                    &|plan, txn, who, action| {
                        workflow::request_due_change(plan, txn, action, who, date, &reason, salt())
                            .map(|_| ())
                    },
                ) {
                    clear(&["due-new", "due-reason"]);
                }
            }
            _ => {}
        }
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some((element, act)) = acted_on(&ev, "data-act") else {
            return;
        };
        let Some(id) = element
            .get_attribute("data-id")
            .and_then(|i| EntryId::new(i).ok())
        else {
            return;
        };
        match act.as_str() {
            "review-accept" | "review-return" => {
                let verdict = if act == "review-accept" {
                    EvidenceVerdict::Accepted
                } else {
                    EvidenceVerdict::Insufficient
                };
                let note = value_of("review-note");
                let assurance = value_of("review-assurance").parse::<Assurance>().ok();
                write(
                    if verdict == EvidenceVerdict::Accepted {
                        "Evidence accepted."
                    } else {
                        "Returned to the owner."
                    },
                    &|plan, txn, who, action| {
                        workflow::review_evidence(
                            plan,
                            txn,
                            action,
                            who,
                            &id,
                            verdict,
                            &note,
                            true,
                            assurance,
                            salt(),
                        )
                    },
                );
            }
            "due-approve" | "due-decline" => {
                let verdict = if act == "due-approve" {
                    DueChangeVerdict::Approved
                } else {
                    DueChangeVerdict::Declined
                };
                let note = value_of("answer-note");
                write("Answer recorded.", &|plan, txn, who, action| {
                    workflow::answer_due_change(plan, txn, action, who, &id, verdict, &note, salt())
                });
            }
            "reaudit-pass" | "reaudit-fail" => {
                let outcome = if act == "reaudit-pass" {
                    CheckOutcome::Passed
                } else {
                    CheckOutcome::Failed
                };
                let note = value_of("reaudit-note");
                write(
                    if outcome == CheckOutcome::Passed {
                        "Re-audit passed."
                    } else {
                        "Re-audit failed: the action is reopened."
                    },
                    &|plan, txn, who, action| {
                        workflow::record_reaudit(
                            plan,
                            txn,
                            action,
                            who,
                            &id,
                            outcome,
                            &note,
                            salt(),
                        )
                    },
                );
            }
            _ => {}
        }
    };
    // The evidence form shows the file or the link fields for its kind.
    let on_change = move |ev: leptos::ev::Event| {
        let Some((_, _)) = acted_on(&ev, "id").filter(|(_, id)| id == "evidence-kind") else {
            return;
        };
        let kind = value_of("evidence-kind");
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            if let Ok(parts) = document.query_selector_all("[data-for-kind]") {
                for i in 0..parts.length() {
                    if let Some(part) = parts
                        .item(i)
                        .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
                    {
                        let wanted = part.get_attribute("data-for-kind").unwrap_or_default();
                        if wanted == kind {
                            let _ = part.remove_attribute("hidden");
                        } else {
                            let _ = part.set_attribute("hidden", "");
                        }
                    }
                }
            }
        }
    };
    let message_html = move || {
        message.get().map_or_else(String::new, |(ok, text)| {
            if ok {
                format!("<div class=\"nhsuk-inset-text\" role=\"status\"><p>{}</p></div>", escape(&text))
            } else {
                format!(
                    "<div class=\"nhsuk-error-summary\" role=\"alert\"><h2 class=\"nhsuk-error-summary__title\">Not recorded</h2>\
                     <div class=\"nhsuk-error-summary__body\"><p>{}</p></div></div>",
                    escape(&text)
                )
            }
        })
    };
    let part = move |i: usize| display.with(|d| d[i].clone());
    let form = move |i: usize| forms_html.with(|f| f[i].clone());
    view! {
        <div on:click=on_click on:submit=on_submit on:change=on_change>
            <div inner_html=message_html></div>
            <div inner_html=move || part(0)></div>
            <div inner_html=move || form(1)></div>
            <div inner_html=move || form(0)></div>
            <div inner_html=move || part(1)></div>
            <div inner_html=move || form(2)></div>
            <div inner_html=move || part(2)></div>
            <div inner_html=move || form(3)></div>
            <div inner_html=move || part(3)></div>
        </div>
    }
}
