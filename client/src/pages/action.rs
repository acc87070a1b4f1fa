//! One action: every field (those the signed-in person may not change are
//! read-only, with why), the collaborative texts, progress updates, the
//! lifecycle buttons their role may use, the transition history and the
//! server's change history.
//!
//! Presence (issue 20): who else has the action open and what they are
//! editing, their carets and selections drawn over the collaborative texts,
//! and this person's own caret kept where it was across others' edits
//! (captured as relative positions whenever it moves, restored after every
//! remote change re-sets the text).

use leptos::prelude::*;

use crate::components::later::split_point;
use plait_shared::access::{check_change, check_field, may_append};
use plait_shared::changes::{Change, Log};
use plait_shared::keys::FieldKey;
use plait_shared::presence::{self as caret, Cursor, LocalPresence};
use plait_shared::{
    ActionField, ActionId, ActionText, ActionView, Assurance, Confidence, DocId, EntryId, LogEntry,
    PhaseId, PlanDoc, ProgressUpdate, Step, TextEdit, Transition, UserId, WorkstreamId,
};
use yrs::Transact;

use crate::api::sentence;
use crate::browser::now;
use crate::browser::today;
use crate::components::brag::Brag;
use crate::components::later::later_section;
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;
use crate::pages::findings::FindingCard;
use crate::pages::history::ChangeHistory;
use crate::pages::{Page, PageLink};

/// Why the signed-in person may not change a field (`None`: they may).
type Denied = Signal<Option<String>>;

/// The hint that says why a field is read-only, and its id for
/// `aria-describedby`.
fn why_not(id: &'static str, denied: Denied) -> (impl IntoView, impl Fn() -> Option<String>) {
    let hint = move || {
        denied
            .get()
            .map(|reason| view! { <div class="nhsuk-hint" id=format!("{id}-hint")>{reason}</div> })
    };
    (hint, move || {
        denied.with(|d| d.as_ref().map(|_| format!("{id}-hint")))
    })
}

fn new_entry_id() -> Option<EntryId> {
    let random = (js_sys::Math::random() * 1e15) as u64;
    EntryId::new(format!("e{}-{random:x}", now().0)).ok()
}

#[derive(Clone, Copy)]
struct Editing {
    plan: StoredValue<Option<PlanDoc>, LocalStorage>,
    id: StoredValue<ActionId>,
    message: RwSignal<Option<String>>,
    /// The text this person is editing and their caret in it (published
    /// as their presence).
    here: RwSignal<Option<(ActionText, Option<Cursor>)>>,
}

impl Editing {
    fn write(
        &self,
        f: impl FnOnce(&PlanDoc, &mut yrs::TransactionMut) -> Result<(), plait_shared::WriteError>,
    ) {
        self.plan.with_value(|plan| {
            let Some(plan) = plan else { return };
            let result = {
                let mut txn = plan.doc().transact_mut();
                f(plan, &mut txn)
            };
            match result {
                Ok(()) => self.message.set(None),
                Err(e) => self
                    .message
                    .set(Some(format!("That change could not be made: {e}"))),
            }
        });
    }

    fn set(&self, field: ActionField) {
        let id = self.id.get_value();
        self.write(|plan, txn| plan.set_action_field(txn, &id, &field));
    }

    /// Applies the textarea's new value as a splice of the document's text
    /// as it is now (not as last rendered: keystrokes can outrun renders).
    fn edit_text(&self, which: ActionText, new: &str) {
        let id = self.id.get_value();
        let old = self.plan.with_value(|plan| {
            let plan = plan.as_ref()?;
            let action = plan.read_action(&plan.doc().transact(), &id)?;
            Some(match which {
                ActionText::Title => action.title,
                ActionText::Description => action.description,
                ActionText::ClosureCriteria => action.closure_criteria,
            })
        });
        let Some(edit) = old.and_then(|old| TextEdit::between(&old, new)) else {
            return;
        };
        self.write(|plan, txn| plan.edit_action_text(txn, &id, which, &edit));
    }

    /// A cursor from `anchor` to `head` (UTF-16, as the textarea counts)
    /// in one of the action's texts.
    fn cursor_at(&self, which: ActionText, anchor: u32, head: u32) -> Option<Cursor> {
        let id = self.id.get_value();
        self.plan.with_value(|plan| {
            let plan = plan.as_ref()?;
            let txn = plan.doc().transact();
            let text = plan.action_text(&txn, &id, which)?;
            caret::cursor_at(&txn, &text, anchor, head)
        })
    }

    /// Where `cursor` lies in one of the action's texts now, if there.
    fn resolve(&self, which: ActionText, cursor: &Cursor) -> Option<(u32, u32)> {
        let id = self.id.get_value();
        self.plan.with_value(|plan| {
            let plan = plan.as_ref()?;
            let txn = plan.doc().transact();
            let text = plan.action_text(&txn, &id, which)?;
            caret::resolve_cursor(&txn, &text, cursor)
        })
    }

    /// Which of the action's texts `cursor` lies in, if any.
    fn text_of(&self, cursor: &Cursor) -> Option<ActionText> {
        ActionText::ALL
            .into_iter()
            .find(|&which| self.resolve(which, cursor).is_some())
    }

    fn append(&self, entry: LogEntry) {
        let id = self.id.get_value();
        self.write(|plan, txn| plan.append(txn, &id, &entry));
    }
}

/// A colleague's caret in a text: who, their colour, and where (UTF-16).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoteCaret {
    name: String,
    colour: String,
    anchor: u32,
    head: u32,
}

/// What the overlay draws, in order: text, a colleague's selection, a
/// colleague's caret.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Selected(String, String),
    Caret(String, String),
}

/// `text` cut where the carets and selections start and end (UTF-16
/// offsets, clamped to the text).
fn pieces(text: &str, carets: &[RemoteCaret]) -> Vec<Piece> {
    let len = text.encode_utf16().count() as u32;
    let mut points: Vec<u32> = carets
        .iter()
        .flat_map(|c| [c.anchor.min(len), c.head.min(len)])
        .chain([0, len])
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    for (i, &at) in points.iter().enumerate() {
        for c in carets.iter().filter(|c| c.head.min(len) == at) {
            out.push(Piece::Caret(c.name.clone(), c.colour.clone()));
        }
        let Some(&next) = points.get(i + 1) else {
            break;
        };
        let part =
            text[caret::utf16_to_byte(text, at)..caret::utf16_to_byte(text, next)].to_owned();
        let selected = carets.iter().find(|c| {
            let (from, to) = (c.anchor.min(c.head), c.anchor.max(c.head));
            from <= at && next <= to
        });
        out.push(match selected {
            Some(c) => Piece::Selected(part, c.colour.clone()),
            None => Piece::Text(part),
        });
    }
    out
}

/// Copies the textarea's box, font and scroll onto its overlay, so the
/// overlay's text lies exactly over the textarea's; a caret label that
/// would be cut off above the first line goes below it.
fn align_overlay(field: &web_sys::HtmlTextAreaElement, overlay: &web_sys::HtmlElement) {
    use wasm_bindgen::JsCast;
    let Some(computed) = web_sys::window().and_then(|w| w.get_computed_style(field).ok().flatten())
    else {
        return;
    };
    let style = overlay.style();
    for property in [
        "font",
        "letter-spacing",
        "word-spacing",
        "padding-top",
        "padding-right",
        "padding-bottom",
        "padding-left",
    ] {
        if let Ok(value) = computed.get_property_value(property) {
            let _ = style.set_property(property, &value);
        }
    }
    // The client box: inside the borders, without the scroll bar.
    for (property, px) in [
        ("top", field.client_top()),
        ("left", field.client_left()),
        ("width", field.client_width()),
        ("height", field.client_height()),
    ] {
        let _ = style.set_property(property, &format!("{px}px"));
    }
    overlay.set_scroll_top(field.scroll_top());
    if let Ok(carets) = overlay.query_selector_all(".plait-caret") {
        for i in 0..carets.length() {
            let Some(caret) = carets
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            else {
                continue;
            };
            let below = caret.offset_top() - field.scroll_top() < 16;
            let _ = caret
                .class_list()
                .toggle_with_force("plait-caret--below", below);
        }
    }
}

#[component]
fn CollaborativeText(
    label: &'static str,
    id: &'static str,
    which: ActionText,
    value: Signal<String>,
    editing: Editing,
    denied: Denied,
    /// Everyone else on the plan.
    peers: Memo<Vec<crate::contexts::workspace::Peer>>,
    #[prop(optional)] rows: Option<u32>,
) -> impl IntoView {
    let (hint, described) = why_not(id, denied);
    let field = NodeRef::<leptos::html::Textarea>::new();
    let overlay = NodeRef::<leptos::html::Div>::new();
    // This person's caret and selection, as relative positions: a remote
    // change cannot move them.
    let mine = StoredValue::new(None::<Cursor>);
    let capture = move || {
        let Some(el) = field.get_untracked() else {
            return;
        };
        let (Ok(Some(start)), Ok(Some(end))) = (el.selection_start(), el.selection_end()) else {
            return;
        };
        let backward = el.selection_direction().ok().flatten().as_deref() == Some("backward");
        let (anchor, head) = if backward { (end, start) } else { (start, end) };
        let cursor = editing.cursor_at(which, anchor, head);
        mine.set_value(cursor.clone());
        // Reading a text one may not change is not editing it.
        if denied.with_untracked(Option::is_none)
            && editing
                .here
                .with_untracked(|h| h.as_ref().map(|(w, c)| (*w, c)) != Some((which, &cursor)))
        {
            editing.here.set(Some((which, cursor)));
        }
    };
    let align = move || {
        if let (Some(field), Some(overlay)) = (field.get_untracked(), overlay.get_untracked()) {
            align_overlay(&field, &overlay);
        }
    };
    // The text from the document: set only when it differs from what is
    // shown (a remote change), then the caret is put back where it was.
    Effect::new(move |_| {
        let text = value.get();
        let Some(el) = field.get() else { return };
        if el.value() != text {
            el.set_value(&text);
            let restored = mine.with_value(|c| c.as_ref().and_then(|c| editing.resolve(which, c)));
            if let Some((anchor, head)) = restored {
                let (start, end, direction) = if anchor <= head {
                    (anchor, head, "forward")
                } else {
                    (head, anchor, "backward")
                };
                let _ = el.set_selection_range_with_direction(start, end, direction);
            }
        }
    });
    let carets = move || {
        let text = value.get();
        let carets: Vec<RemoteCaret> = peers.with(|peers| {
            peers
                .iter()
                .filter_map(|peer| {
                    let (anchor, head) = editing.resolve(which, peer.state.cursor.as_ref()?)?;
                    Some(RemoteCaret {
                        name: crate::components::presence::name_of(peer),
                        colour: crate::components::presence::colour_class(peer.client),
                        anchor,
                        head,
                    })
                })
                .collect()
        });
        if carets.is_empty() {
            return None;
        }
        // The overlay is laid out first.
        request_animation_frame(align);
        Some(pieces(&text, &carets).into_iter().map(|piece| match piece {
            Piece::Text(text) => text.into_any(),
            Piece::Selected(text, colour) => view! { <span class=format!("plait-selection {colour}")>{text}</span> }.into_any(),
            Piece::Caret(name, colour) => view! {
                <span class=format!("plait-caret {colour}")><span class="plait-caret__name">{name}</span></span>
            }.into_any(),
        }).collect_view())
    };
    let resized = window_event_listener(leptos::ev::resize, move |_| align());
    on_cleanup(move || resized.remove());
    view! {
        <div class="nhsuk-form-group">
            <label class="nhsuk-label" for=id>{label}</label>
            {hint}
            <div class="plait-collab">
                <textarea
                    class="nhsuk-textarea"
                    id=id
                    node_ref=field
                    rows=rows.unwrap_or(3)
                    readonly=move || denied.with(Option::is_some)
                    aria-describedby=described
                    on:input=move |ev| {
                        editing.edit_text(which, &event_target_value(&ev));
                        capture();
                    }
                    on:select=move |_| capture()
                    on:keyup=move |_| capture()
                    on:pointerup=move |_| { capture(); align(); }
                    on:focus=move |_| capture()
                    on:blur=move |_| editing.here.set(None)
                    on:scroll=move |_| align()
                ></textarea>
                // Colleagues' carets and selections, drawn over the text
                // (for sight only: the presence line says it in words).
                <div class="plait-collab__overlay" id=format!("{id}-presence") aria-hidden="true" node_ref=overlay>
                    {carets}
                </div>
            </div>
        </div>
    }
}

/// A select for one single-valued field: "Not set" and the given
/// `(key, label)` options, showing `current` and calling `set` on a change.
#[component]
fn FieldSelect(
    id: &'static str,
    label: &'static str,
    options: Signal<Vec<(String, String)>>,
    current: Signal<Option<String>>,
    set: Callback<String>,
    denied: Denied,
) -> impl IntoView {
    let (hint, described) = why_not(id, denied);
    view! {
        <div class="nhsuk-form-group">
            <label class="nhsuk-label" for=id>{label}</label>
            {hint}
            <select class="nhsuk-select" id=id on:change=move |ev| set.run(event_target_value(&ev))
                disabled=move || denied.with(Option::is_some) aria-describedby=described>
                <option value="" selected=move || current.with(Option::is_none)>"Not set"</option>
                {move || options.get().into_iter().map(|(key, text)| {
                    let mine = key.clone();
                    view! { <option value=key selected=move || current.with(|c| c.as_deref() == Some(mine.as_str()))>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// The `(key, label)` options of a vocabulary.
fn vocabulary<T: Copy>(
    all: &[T],
    key: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Signal<Vec<(String, String)>> {
    let options: Vec<(String, String)> = all
        .iter()
        .map(|&v| (key(v).to_owned(), label(v).to_owned()))
        .collect();
    Signal::stored(options)
}

/// The action page. Each part re-renders only when what it shows changes,
/// so typing in a field is never interrupted by a re-render of the page.
#[component]
pub fn ActionPage(plan: DocId, action: ActionId) -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let card_plan = StoredValue::new(plan.clone());
    let editing = Editing {
        plan: StoredValue::new_local(workspace.plan_doc(&plan)),
        id: StoredValue::new(action.clone()),
        message: RwSignal::new(None),
        here: RwSignal::new(None),
    };
    // Presence: this person is on the action (and in a text, with their
    // caret), and who else is.
    let presence = workspace.claim_presence();
    let presence_plan = plan.clone();
    Effect::new(move |_| {
        let (field, cursor) = editing
            .here
            .get()
            .map_or((None, None), |(f, c)| (Some(f), c));
        let here = LocalPresence {
            action: Some(editing.id.get_value().to_string()),
            field,
            cursor,
        };
        workspace.announce(
            presence,
            [(presence_plan.clone(), here)].into_iter().collect(),
        );
    });
    on_cleanup(move || workspace.leave(presence));
    let peers_plan = plan.clone();
    let peers = Memo::new(move |_| workspace.peers(&peers_plan));
    let also_here = Signal::derive(move || {
        let mine = editing.id.get_value();
        let here = peers.with(|peers| {
            peers
                .iter()
                .filter_map(|peer| {
                    let at = peer.state.cursor.as_ref().and_then(|c| editing.text_of(c));
                    let on_action = peer.state.action.as_deref() == Some(mine.as_str());
                    (on_action || at.is_some()).then(|| (peer.clone(), at.or(peer.state.field)))
                })
                .collect()
        });
        crate::components::presence::also_here(here)
    });
    let plan_id = plan.clone();
    let view_of = Memo::new(move |_| {
        workspace.revision.track();
        // The plan may arrive by sync after the page opened.
        if editing.plan.with_value(Option::is_none) {
            editing.plan.set_value(workspace.plan_doc(&plan_id));
        }
        editing.plan.with_value(|plan| {
            let plan = plan.as_ref()?;
            plan.read_action(&plan.doc().transact(), &editing.id.get_value())
        })
    });
    let exists = Memo::new(move |_| view_of.with(Option::is_some));
    // Memos, not derived signals: a field is re-set only when its own value
    // changes, never because another field did (which would overwrite what
    // someone is typing in it).
    let text = move |f: fn(&ActionView) -> String| {
        Signal::from(Memo::new(move |_| {
            view_of.with(|v| v.as_ref().map(f).unwrap_or_default())
        }))
    };
    // What the lifecycle buttons depend on, and nothing else.
    let lifecycle =
        Memo::new(move |_| view_of.with(|v| v.as_ref().map(|a| (a.status(), a.owner.clone()))));
    let updates = Memo::new(move |_| {
        view_of.with(|v| v.as_ref().map(|a| a.updates.clone()).unwrap_or_default())
    });
    let history = Memo::new(move |_| {
        view_of.with(|v| {
            v.as_ref()
                .map(|a| (a.fold.steps.clone(), a.transitions.clone()))
                .unwrap_or_default()
        })
    });
    let programme_options =
        move |pick: fn(plait_shared::ProgrammeView) -> Vec<(String, String)>| {
            Signal::from(Memo::new(move |_| {
                workspace.programme_view().map(pick).unwrap_or_default()
            }))
        };
    let workstreams = programme_options(|p| {
        p.workstreams
            .into_iter()
            .map(|(id, w)| (id.to_string(), w.name))
            .collect()
    });
    let phases = programme_options(|p| {
        p.phases
            .into_iter()
            .map(|(id, phase)| (id.to_string(), phase.name))
            .collect()
    });
    // The current key of one field, re-computed only when that field changes.
    let current = move |pick: fn(&ActionView) -> Option<String>| {
        Signal::from(Memo::new(move |_| {
            view_of.with(|v| v.as_ref().and_then(pick))
        }))
    };
    let due_original =
        Memo::new(move |_| view_of.with(|v| v.as_ref().and_then(|a| a.due_original)));
    let due_current = Memo::new(move |_| view_of.with(|v| v.as_ref().and_then(|a| a.due_current)));
    let note = RwSignal::new(String::new());
    let update_text = RwSignal::new(String::new());
    // The programme's governance settings, read once for every rule below.
    let rules = Memo::new(move |_| workspace.rules());
    // What the signed-in person may not change, and why.
    let denied = move |key: Result<FieldKey, ActionText>| -> Denied {
        Signal::from(Memo::new(move |_| {
            let actor = session.actor.get();
            view_of.with(|v| {
                let a = v.as_ref()?;
                let rules = rules.get();
                let verdict = match key {
                    Err(text) => check_change(
                        actor.access(rules),
                        &Change::Text(a.id.clone(), text),
                        Some(a),
                        Some(a),
                    ),
                    Ok(field) => check_field(actor.access(rules), field, a, Some(a)),
                };
                verdict.err().map(|reason| sentence(&reason))
            })
        }))
    };
    let update_confidence = RwSignal::new(String::new());
    let confidence_denied = denied(Ok(FieldKey::Confidence));
    // Whether the signed-in person may change anything in the details at
    // all: if not (a board member, a regulator, a colleague outside the
    // action), the details are a read-only summary, not a greyed form.
    let may_edit = Memo::new(move |_| {
        let actor = session.actor.get();
        let rules = rules.get();
        view_of.with(|v| {
            v.as_ref().is_some_and(|a| {
                ActionText::ALL.iter().any(|&text| {
                    check_change(
                        actor.access(rules),
                        &Change::Text(a.id.clone(), text),
                        Some(a),
                        Some(a),
                    )
                    .is_ok()
                }) || FieldKey::ALL
                    .iter()
                    .any(|&field| check_field(actor.access(rules), field, a, Some(a)).is_ok())
            })
        })
    });
    // Executive leads to choose from: the programme's leads, and the one
    // set even if not a member (an import's name or job title).
    let leads = Signal::from(Memo::new(move |_| {
        let mut options: Vec<(String, String)> = workspace
            .members
            .get()
            .into_iter()
            .filter(|m| plait_shared::access::may_lead(m.role))
            .map(|m| (m.username.to_string(), m.name))
            .collect();
        if let Some(lead) = view_of.with(|v| v.as_ref().map(|a| a.exec_lead.clone())) {
            if !lead.is_empty() && !options.iter().any(|(key, _)| *key == lead) {
                options.push((lead.clone(), lead));
            }
        }
        options
    }));
    let due_parts = RwSignal::new(crate::components::date_input::DateParts::default());
    let due_error = RwSignal::new(None::<String>);
    let may_post = Memo::new(move |_| {
        let actor = session.actor.get();
        view_of.with(|v| {
            v.as_ref()
                .is_some_and(|a| may_append(actor.access(rules.get()), Log::Updates, a))
        })
    });
    // Members by name, and the owner as set even if not a member.
    let owners = Signal::from(Memo::new(move |_| {
        let mut options: Vec<(String, String)> = workspace
            .members
            .get()
            .into_iter()
            .filter(|m| plait_shared::access::may_own(m.role))
            .map(|m| (m.username.to_string(), m.name))
            .collect();
        if let Some(owner) = view_of.with(|v| v.as_ref().and_then(|a| a.owner.clone())) {
            if !options.iter().any(|(key, _)| key == owner.as_str()) {
                options.push((owner.to_string(), owner.to_string()));
            }
        }
        options
    }));

    let heading = move || {
        view_of.get().map(|action| {
            let status = action.status();
            let colour = workspace
                .programme_view()
                .map(|p| p.colours.colour_of(&action, today()))
                .unwrap_or(plait_shared::Colour::Grey);
            view! {
                <span class="nhsuk-caption-l">{action.reference.clone()}</span>
                <h1 class="plait-action-title">{action.title.clone()}</h1>
                <p>
                    <strong class="nhsuk-tag" data-testid="status">{status.label()}</strong>
                    " " <Brag colour />
                    {action.reported_colour.filter(|reported| *reported != colour).map(|reported| view! {
                        <span class="nhsuk-body-s" data-testid="reported-colour">" (the tracker reported " <Brag colour=reported /> ")"</span>
                    })}
                    {action.due_current.map(|d| format!(" · due {}", d.long()))}
                    {action.is_overdue(today()).then(|| view! { " " <strong class="nhsuk-tag nhsuk-tag--red">"Overdue"</strong> })}
                </p>
                {plait_shared::lifecycle::imported_claim(&action.transitions)
                    .filter(|_| status == plait_shared::Status::Imported)
                    .map(|claim| view! {
                        <div class="nhsuk-inset-text" data-testid="imported-claim">
                            <p>{format!(
                                "The tracker this was imported from says \"{}\". Nobody has assured that in Plait yet: a validator confirms it with evidence, or the programme manager records the committee decision that closed it.",
                                claim.label()
                            )}</p>
                        </div>
                    })}
            }
        })
    };

    let buttons = move || {
        let (status, _) = lifecycle.get()?;
        let actor = session.actor.get();
        // A step is offered only when it would take effect; the others that
        // the role could take say what they still need.
        let all = view_of.with(|v| {
            v.as_ref()
                .map(|a| plait_shared::workflow::moves(actor.access(rules.get()), a))
                .unwrap_or_default()
        });
        let waiting: Vec<String> = all
            .iter()
            .filter_map(|(to, why)| {
                why.as_ref()
                    .map(|why| format!("{}: {}", to.label(), sentence(&why.to_string())))
            })
            .collect();
        let moves: Vec<plait_shared::Status> = all
            .into_iter()
            .filter(|(_, why)| why.is_none())
            .map(|(to, _)| to)
            .collect();
        let waiting = (!waiting.is_empty()).then(|| {
            view! {
                <ul class="nhsuk-list nhsuk-body-s" data-testid="steps-waiting">
                    {waiting.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                </ul>
            }
        });
        Some(if moves.is_empty() && waiting.is_some() {
            waiting.into_any()
        } else if moves.is_empty() {
            view! { <p>{format!("As {}, there is nothing you can move this action to from {}.", actor.role.label(), status.label())}</p> }.into_any()
        } else {
            view! {
                <div class="nhsuk-form-group">
                    <label class="nhsuk-label" for="transition-note">"Reason or note (needed to return or reopen)"</label>
                    <input class="nhsuk-input" id="transition-note" type="text"
                        prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev)) />
                </div>
                <div class="plait-buttons">
                    {moves.into_iter().map(|to| {
                        let actor = actor.clone();
                        view! {
                            <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                on:click=move |_| {
                                    editing.append(LogEntry::Transition(Transition {
                                        to, by: actor.user.clone(), role: actor.role, at: now(),
                                        note: note.get_untracked(), baseline: false,
                                    }));
                                    note.set(String::new());
                                    // The button is gone once the status
                                    // moves: keep the person where they were.
                                    crate::browser::focus("lifecycle");
                                }>
                                {format!("Move to {}", to.label())}
                            </button>
                        }
                    }).collect_view()}
                </div>
                {waiting}
            }.into_any()
        })
    };

    let details = move || {
        view! {
            <CollaborativeText label="Title" id="title" which=ActionText::Title value=text(|a| a.title.clone()) editing denied=denied(Err(ActionText::Title)) peers rows=2 />
            <CollaborativeText label="Description" id="description" which=ActionText::Description value=text(|a| a.description.clone()) editing denied=denied(Err(ActionText::Description)) peers rows=5 />
            <CollaborativeText label="Closure criteria" id="closure-criteria" which=ActionText::ClosureCriteria value=text(|a| a.closure_criteria.clone()) editing denied=denied(Err(ActionText::ClosureCriteria)) peers />
            <FieldSelect id="owner" label="Owner" options=owners
                current=current(|a| a.owner.as_ref().map(ToString::to_string))
                set=Callback::new(move |key: String| editing.set(ActionField::Owner(UserId::new(key).ok())))
                denied=denied(Ok(FieldKey::Owner)) />
            <FieldSelect id="exec-lead" label="Executive lead (whose portfolio it is in)" options=leads
                current=current(|a| Some(a.exec_lead.clone()).filter(|l| !l.is_empty()))
                set=Callback::new(move |key: String| editing.set(ActionField::ExecLead(key)))
                denied=denied(Ok(FieldKey::ExecLead)) />
            <FieldSelect id="workstream" label="Workstream" options=workstreams
                current=current(|a| a.workstream_id.as_ref().map(ToString::to_string))
                set=Callback::new(move |key: String| editing.set(ActionField::Workstream(WorkstreamId::new(key).ok())))
                denied=denied(Ok(FieldKey::Workstream)) />
            <FieldSelect id="phase" label="Phase" options=phases
                current=current(|a| a.phase_id.as_ref().map(ToString::to_string))
                set=Callback::new(move |key: String| editing.set(ActionField::Phase(PhaseId::new(key).ok())))
                denied=denied(Ok(FieldKey::Phase)) />
            {move || match due_original.get() {
                // The original date is kept for good; later changes go
                // through due-date requests that the executive lead decides.
                Some(original) => view! {
                    <dl class="nhsuk-summary-list">
                        <div class="nhsuk-summary-list__row">
                            <dt class="nhsuk-summary-list__key">"Original due date"</dt>
                            <dd class="nhsuk-summary-list__value">{original.long()}</dd>
                        </div>
                        <div class="nhsuk-summary-list__row">
                            <dt class="nhsuk-summary-list__key">"Current due date"</dt>
                            <dd class="nhsuk-summary-list__value">{due_current.get().map(|d| d.long()).unwrap_or_default()}</dd>
                        </div>
                    </dl>
                }.into_any(),
                None => {
                    let due_denied = denied(Ok(FieldKey::DueOriginal));
                    view! {
                        {move || due_denied.get().map(|why| view! { <p class="nhsuk-hint">{format!("Due date: not set. {why}")}</p> })}
                        <Show when=move || due_denied.with(Option::is_none)>
                            <form novalidate on:submit=move |ev| {
                                ev.prevent_default();
                                match due_parts.get_untracked().read("The due date") {
                                    Ok(Some(date)) => {
                                        due_error.set(None);
                                        editing.set(ActionField::DueOriginal(date));
                                    }
                                    Ok(None) => due_error.set(Some("Enter the due date".into())),
                                    Err(why) => due_error.set(Some(why)),
                                }
                            }>
                                <crate::components::date_input::DateInput id="due-original"
                                    legend="Due date (once agreed it is kept; later changes are requested)"
                                    value=due_parts error=due_error />
                                <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Set the due date"</button>
                            </form>
                        </Show>
                    }.into_any()
                }
            }}
            <FieldSelect id="confidence" label="Confidence"
                options=vocabulary(Confidence::ALL, Confidence::key, Confidence::label)
                current=current(|a| a.confidence.map(|c| c.key().to_owned()))
                set=Callback::new(move |key: String| {
                    // Logged as a progress update, so a report "as at" a
                    // past day has the colour of that day.
                    let (Ok(confidence), Some(id)) = (key.parse::<Confidence>(), new_entry_id()) else { return };
                    editing.append(LogEntry::Progress(ProgressUpdate {
                        id,
                        text: format!("Confidence: {}", confidence.label().to_ascii_lowercase()),
                        by: session.actor.get_untracked().user,
                        at: now(),
                        confidence: Some(confidence),
                    }));
                })
                denied=denied(Ok(FieldKey::Confidence)) />
            <FieldSelect id="assurance" label="Assurance"
                options=vocabulary(Assurance::ALL, Assurance::key, Assurance::label)
                current=current(|a| a.assurance.map(|c| c.key().to_owned()))
                set=Callback::new(move |key: String| editing.set(ActionField::Assurance(key.parse().ok())))
                denied=denied(Ok(FieldKey::Assurance)) />
        }
    };

    let update_list = move || {
        updates.get().into_iter().rev().map(|u| view! {
            <li><p>{u.text}</p><p class="nhsuk-body-s">{format!(
                "{} · {}{}",
                workspace.name_of(u.by.as_str()),
                u.at.date().long(),
                u.confidence.map(|c| format!(" · Confidence: {}", c.label().to_ascii_lowercase())).unwrap_or_default()
            )}</p></li>
        }).collect_view()
    };

    let history_rows = move || {
        let (steps, transitions) = history.get();
        steps.into_iter().filter_map(|step| {
            let (index, outcome) = match step {
                Step::Applied { index, from, to } => (index, format!("{} → {}", from.label(), to.label())),
                Step::Superseded { index, reason, .. } => (index, format!("No effect: {reason}")),
            };
            let t = transitions.get(index)?.clone();
            Some(view! {
                <tr class="nhsuk-table__row">
                    <td class="nhsuk-table__cell">{t.at.date().long()}</td>
                    <td class="nhsuk-table__cell">{format!("{} ({})", workspace.name_of(t.by.as_str()), t.role.label())}</td>
                    <td class="nhsuk-table__cell">{outcome}</td>
                    <td class="nhsuk-table__cell">{t.note}</td>
                </tr>
            })
        }).collect_view()
    };

    view! {
        <PageLink page=Page::Actions class="nhsuk-back-link__link">"Back to actions"</PageLink>
        <Show
            when=move || exists.get()
            fallback=|| view! {
                <h1>"Action"</h1>
                <p role="status">"This action is not on this device yet. It will appear once this device syncs."</p>
            }
        >
            {move || {
                // The finding first: what the action answers.
                let plan_view = workspace.plan_views().into_iter().find(|(id, _)| card_plan.with_value(|p| id == p));
                view_of.with(|a| {
                    let (Some(a), Some((plan_id, view))) = (a, plan_view) else {
                        return Vec::new();
                    };
                    a.finding_ids
                        .iter()
                        .filter_map(|f| view.findings.get(f).cloned())
                        .map(|f| view! { <FindingCard plan=plan_id.clone() finding=f link=true /> })
                        .collect::<Vec<_>>()
                })
            }}
            {heading}
            <crate::components::presence::AlsoHere line=also_here />
            {move || editing.message.get().map(|m| view! {
                <div class="nhsuk-error-summary" role="alert"><p>{m}</p></div>
            })}
            // What a ward uses most comes first (lifecycle, progress,
            // evidence), the details form after it: on a phone that form is
            // several screens long. Every section is one tap away.
            <nav class="nhsuk-contents-list" aria-label="Sections of this page">
                <ol class="nhsuk-contents-list__list">
                    <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href="#lifecycle">"Lifecycle"</a></li>
                    <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href="#progress">"Progress updates"</a></li>
                    <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href="#evidence">"Evidence"</a></li>
                    <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href="#details">"Details"</a></li>
                    <li class="nhsuk-contents-list__item"><a class="nhsuk-contents-list__link" href="#history">"History"</a></li>
                </ol>
            </nav>
            <h2 id="lifecycle" tabindex="-1">"Lifecycle"</h2>
            <p class="nhsuk-u-visually-hidden" role="status">{move || lifecycle.get().map(|(s, _)| format!("Status: {}", s.label()))}</p>
            {buttons}
            <h2 id="progress">"Progress updates"</h2>
            <ul class="plait-updates">{update_list}</ul>
            <form hidden=move || !may_post.get() on:submit=move |ev| {
                ev.prevent_default();
                let text = update_text.get_untracked();
                let Some(id) = new_entry_id() else { return };
                if text.trim().is_empty() { return; }
                editing.append(LogEntry::Progress(ProgressUpdate {
                    id, text: text.trim().to_owned(), by: session.actor.get_untracked().user, at: now(),
                    confidence: update_confidence.get_untracked().parse().ok(),
                }));
                update_text.set(String::new());
                update_confidence.set(String::new());
            }>
                <div class="nhsuk-form-group">
                    <label class="nhsuk-label" for="new-update">"Add a progress update"</label>
                    <textarea class="nhsuk-textarea" id="new-update" rows="3"
                        prop:value=move || update_text.get() on:input=move |ev| update_text.set(event_target_value(&ev))></textarea>
                </div>
                <Show when=move || confidence_denied.with(Option::is_none)>
                    <div class="nhsuk-form-group">
                        <label class="nhsuk-label" for="new-update-confidence">"Confidence with this update"</label>
                        <select class="nhsuk-select" id="new-update-confidence"
                            prop:value=move || update_confidence.get()
                            on:change=move |ev| update_confidence.set(event_target_value(&ev))>
                            <option value="">"Unchanged"</option>
                            {Confidence::ALL.iter().map(|c| view! { <option value=c.key()>{c.label()}</option> }).collect_view()}
                        </select>
                    </div>
                </Show>
                <button class="nhsuk-button" type="submit">"Add update"</button>
            </form>
            {
                let (plan, action) = (plan.clone(), action.clone());
                later_section(move || governance_section(plan.clone(), action.clone()))
            }
            <h2 id="details">"Details"</h2>
            <Show when=move || may_edit.get() fallback=move || view! { <DetailsSummary view_of /> }>
                {details}
            </Show>
            <h2 id="history">"History"</h2>
            <table class="nhsuk-table">
                <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"Status changes, oldest first"</caption>
                <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                    <th scope="col" class="nhsuk-table__header">"When"</th>
                    <th scope="col" class="nhsuk-table__header">"Who"</th>
                    <th scope="col" class="nhsuk-table__header">"Change"</th>
                    <th scope="col" class="nhsuk-table__header">"Note"</th>
                </tr></thead>
                <tbody class="nhsuk-table__body">{history_rows}</tbody>
            </table>
            <ChangeHistory plan=plan.clone() action=action.clone() />
        </Show>
    }
}

split_point! {
    /// The governance section (evidence, its review, decisions, due-date and
    /// wording requests, re-audits), a chunk of its own: the action, its
    /// lifecycle and progress show while its forms load (issue 18).
    [governance]
    fn governance_section(plan: DocId, action: ActionId) {
        Ok(view! { <crate::pages::governance::Governance plan action /> }.into_any())
    }
}

/// The details as a summary, for whoever may change none of them.
#[component]
fn DetailsSummary(view_of: Memo<Option<ActionView>>) -> impl IntoView {
    let workspace = use_workspace();
    let rows = move || {
        let Some(a) = view_of.get() else {
            return Vec::new();
        };
        let programme = workspace.programme_view();
        let or_none = |text: String| {
            if text.trim().is_empty() {
                "Not set".to_owned()
            } else {
                text
            }
        };
        let workstream = a
            .workstream_id
            .as_ref()
            .and_then(|id| {
                programme
                    .as_ref()?
                    .workstreams
                    .get(id)
                    .map(|w| w.name.clone())
            })
            .unwrap_or_default();
        let phase = a
            .phase_id
            .as_ref()
            .and_then(|id| programme.as_ref()?.phases.get(id).map(|p| p.name.clone()))
            .unwrap_or_default();
        let due = match (a.due_original, a.due_current) {
            (Some(o), Some(c)) if o != c => format!("{} (originally {})", c.long(), o.long()),
            (_, Some(c)) => c.long(),
            _ => String::new(),
        };
        vec![
            ("Description", a.description.clone()),
            ("Closure criteria", a.closure_criteria.clone()),
            (
                "Owner",
                a.owner
                    .as_ref()
                    .map(|o| workspace.name_of(o.as_str()))
                    .unwrap_or_default(),
            ),
            (
                "Executive lead",
                if a.exec_lead.is_empty() {
                    String::new()
                } else {
                    workspace.name_of(&a.exec_lead)
                },
            ),
            ("Workstream", workstream),
            ("Phase", phase),
            ("Due", due),
            (
                "Confidence",
                a.confidence
                    .map(|c| c.label().to_owned())
                    .unwrap_or_default(),
            ),
            (
                "Assurance",
                a.assurance
                    .map(|c| c.label().to_owned())
                    .unwrap_or_default(),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key, or_none(value)))
        .collect::<Vec<_>>()
    };
    view! {
        <dl class="nhsuk-summary-list" data-testid="details-summary">
            {move || crate::components::summary::summary_rows(rows())}
        </dl>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn at(name: &str, anchor: u32, head: u32) -> RemoteCaret {
        RemoteCaret {
            name: name.into(),
            colour: format!("c-{name}"),
            anchor,
            head,
        }
    }

    /// The overlay's text is cut at UTF-16 offsets (a textarea's), carets
    /// before the text they precede, selections either way round.
    #[test]
    fn the_overlay_cuts_the_text_at_carets_and_selections() {
        let text = "Ward 4 – café ✓🏥 done";
        let pieces = pieces(text, &[at("A", 9, 9), at("B", 17, 14), at("C", 99, 99)]);
        let text = |s: &str| Piece::Text(s.into());
        assert_eq!(
            pieces,
            vec![
                text("Ward 4 – "),
                Piece::Caret("A".into(), "c-A".into()),
                text("café "),
                Piece::Caret("B".into(), "c-B".into()),
                Piece::Selected("✓🏥".into(), "c-B".into()),
                text(" done"),
                Piece::Caret("C".into(), "c-C".into()),
            ]
        );
        assert_eq!(pieces_text(&pieces), "Ward 4 – café ✓🏥 done");
    }

    fn pieces_text(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Selected(t, _) => t.as_str(),
                Piece::Caret(..) => "",
            })
            .collect()
    }
}
