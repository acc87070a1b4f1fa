//! Where things may live in Plait's documents: every shared type the schema
//! names (a [`Place`]), and what each key of each place may hold.
//!
//! Plan document roots: `plan` {title, programme_id, workstream_id,
//! core_service, location}; `findings` {id → finding}; `actions` {id →
//! action}. A finding: scalar fields and the text `text`. An action: scalar
//! fields, the texts `title`, `description`, `closure_criteria`, and the
//! logs (arrays of entries) named by [`Log`].
//!
//! Programme document roots: `programme` {name, trust, rating,
//! oversight_segment, report_date, warning_notice, and the governance
//! settings}; `phases`,
//! `workstreams`, `plans`, `forums` {id → map of scalars}; `settings`
//! {colours → map of scalars}.

use std::sync::Arc;

use crate::changes::Log;

/// Which kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocShape {
    /// An action plan.
    Plan,
    /// A programme's index.
    Programme,
}

use crate::keys::ActionText;
pub use crate::keys::Root;

impl Root {
    /// The roots of a document of this shape.
    pub fn of(shape: DocShape) -> &'static [Root] {
        match shape {
            DocShape::Plan => &[Root::Plan, Root::Findings, Root::Actions],
            DocShape::Programme => &[
                Root::Programme,
                Root::Phases,
                Root::Workstreams,
                Root::Plans,
                Root::Forums,
                Root::Settings,
                Root::Meetings,
                Root::Papers,
                Root::IssuedPapers,
                Root::MeetingPapers,
                Root::Measures,
                Root::MeasurePoints,
                Root::RootCauses,
                Root::Drivers,
                Root::Cycles,
                Root::ExitCriteria,
                Root::Links,
            ],
        }
    }

    /// The root named `name` in a document of `shape`.
    pub fn named(shape: DocShape, name: &str) -> Option<Root> {
        Root::of(shape).iter().copied().find(|r| r.key() == name)
    }

    /// Whether its keys are ids of entities (maps), not fields.
    fn holds_entities(self) -> bool {
        matches!(
            self,
            Root::Findings
                | Root::Actions
                | Root::Phases
                | Root::Workstreams
                | Root::Plans
                | Root::Forums
                | Root::Settings
                | Root::Meetings
                | Root::Papers
                | Root::MeetingPapers
                | Root::Measures
                | Root::MeasurePoints
                | Root::RootCauses
                | Root::Drivers
                | Root::Cycles
                | Root::ExitCriteria
                | Root::Links
        )
    }
}

/// One of the collaborative texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextSlot {
    /// One of an action's texts.
    Action(ActionText),
    /// A finding's text.
    Finding,
}

impl TextSlot {
    /// Its stored key.
    pub fn key(self) -> &'static str {
        match self {
            TextSlot::Action(text) => text.key(),
            TextSlot::Finding => crate::keys::FINDING_TEXT,
        }
    }
}

/// A shared type the schema names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// A root.
    Root(Root),
    /// An entity (a map) under a root: an action, a finding, a phase...
    Entity(Root, Arc<str>),
    /// A collaborative text of an action or finding (root, entity key).
    Text(Root, Arc<str>, TextSlot),
    /// A log of an action (action key).
    Log(Arc<str>, Log),
}

/// What a new item at a place and key is, by the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A single value under a field key (last writer wins).
    Field(Place, Arc<str>),
    /// A new entity (a map) under an entity root.
    Entity(Root, Arc<str>),
    /// A new text inside a new entity.
    Text(Root, Arc<str>, TextSlot),
    /// A new log inside a new action.
    Log(Arc<str>, Log),
    /// Characters of a text.
    Chars(Root, Arc<str>, TextSlot),
    /// An entry of a log.
    Entry(Arc<str>, Log),
}

/// Whether `key` is a scalar field of an entity of `root`: one of the
/// root's field keys (`crate::keys`), so a field the model writes and the
/// admission allows are one list.
pub fn is_field(root: Root, key: &str) -> bool {
    use crate::keys::{
        FieldKey, FindingField, ForumField, MeetingField, PaperField, PhaseField, PlanEntryField,
        PlanField, ProgrammeField, WorkstreamField,
    };
    match root {
        Root::Plan => PlanField::from_key(key).is_some(),
        Root::Findings => FindingField::from_key(key).is_some(),
        Root::Actions => FieldKey::from_key(key).is_some() || key == crate::plan::CREATED,
        Root::Programme => ProgrammeField::from_key(key).is_some(),
        Root::Phases => PhaseField::from_key(key).is_some(),
        Root::Workstreams => WorkstreamField::from_key(key).is_some(),
        Root::Plans => PlanEntryField::from_key(key).is_some(),
        Root::Forums => ForumField::from_key(key).is_some(),
        Root::Meetings => MeetingField::from_key(key).is_some(),
        Root::Papers => PaperField::from_key(key).is_some(),
        Root::MeetingPapers => crate::keys::MeetingPaperField::from_key(key).is_some(),
        Root::Measures => crate::keys::MeasureField::from_key(key).is_some(),
        Root::MeasurePoints => crate::keys::MeasurePointField::from_key(key).is_some(),
        Root::RootCauses => crate::keys::RootCauseField::from_key(key).is_some(),
        Root::Drivers => crate::keys::DriverField::from_key(key).is_some(),
        Root::Cycles => crate::keys::CycleField::from_key(key).is_some(),
        Root::ExitCriteria => crate::keys::ExitField::from_key(key).is_some(),
        Root::Links => crate::keys::LinkField::from_key(key).is_some(),
        // `{meeting}.v{version}`.
        Root::IssuedPapers => key.rsplit_once(".v").is_some_and(|(meeting, version)| {
            crate::ids::MeetingId::new(meeting).is_ok() && version.parse::<usize>().is_ok()
        }),
        // Its one group, `colours`, is keyed by colour rule.
        Root::Settings => crate::metrics::ColourRule::ALL
            .iter()
            .any(|rule| rule.key() == key),
    }
}

fn text_slot(root: Root, key: &str) -> Option<TextSlot> {
    match root {
        Root::Actions => ActionText::from_key(key).map(TextSlot::Action),
        Root::Findings => (key == crate::keys::FINDING_TEXT).then_some(TextSlot::Finding),
        _ => None,
    }
}

fn log_slot(key: &str) -> Option<Log> {
    Log::ALL.into_iter().find(|l| l.key() == key)
}

/// Whether `key` can name an entity: the id forms of [`crate::ids`]
/// (letters, digits, `.`, `_`, `-`; at most 128).
pub fn is_entity_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What content a new item carries, as far as the schema cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// Plain values (`Y.Map` values, log entries).
    Any,
    /// Characters.
    String,
    /// A map.
    Map,
    /// An array.
    Array,
    /// A text.
    Text,
    /// Content already deleted (the sender collected it).
    Deleted,
    /// Anything else: embeds, formatting, binaries, JSON, XML, sub-documents.
    Other(&'static str),
}

/// Where a new item with key `sub` under `place` goes, and whether its
/// content fits there.
///
/// # Errors
/// Why it does not fit the schema.
pub fn slot(place: &Place, sub: Option<&str>, content: ContentKind) -> Result<Slot, String> {
    let kind_ok = |want: ContentKind| content == want || content == ContentKind::Deleted;
    match (place, sub) {
        (Place::Root(root), Some(key)) if root.holds_entities() => {
            if !is_entity_key(key) {
                return Err(format!("{key:?} is not an id under {}", root.key()));
            }
            if *root == Root::Settings && key != "colours" {
                return Err(format!("settings has no group {key:?}"));
            }
            if kind_ok(ContentKind::Map) {
                Ok(Slot::Entity(*root, key.into()))
            } else {
                Err(format!("{}/{key} must be a map", root.key()))
            }
        }
        (Place::Root(root), Some(key)) | (Place::Entity(root, _), Some(key))
            if is_field(*root, key) =>
        {
            // A single value; `Root::Plan`/`Root::Programme` hold fields
            // directly, the others in their entities.
            if matches!(place, Place::Root(r) if r.holds_entities()) {
                return Err(format!("{key:?} is not an id"));
            }
            if kind_ok(ContentKind::Any) {
                Ok(Slot::Field(place.clone(), key.into()))
            } else {
                Err(format!("{key} must be a plain value"))
            }
        }
        (Place::Entity(root, entity), Some(key)) => {
            if let Some(text) = text_slot(*root, key) {
                return if kind_ok(ContentKind::Text) {
                    Ok(Slot::Text(*root, entity.clone(), text))
                } else {
                    Err(format!("{key} must be a text"))
                };
            }
            if *root == Root::Actions {
                if let Some(log) = log_slot(key) {
                    return if kind_ok(ContentKind::Array) {
                        Ok(Slot::Log(entity.clone(), log))
                    } else {
                        Err(format!("{key} must be a log"))
                    };
                }
            }
            Err(format!("{key:?} is not a field of {}", root.key()))
        }
        (Place::Text(root, entity, text), None) => {
            if kind_ok(ContentKind::String) {
                Ok(Slot::Chars(*root, entity.clone(), *text))
            } else {
                Err("a text holds plain characters only (no embeds or formatting)".into())
            }
        }
        (Place::Log(action, log), None) => {
            if kind_ok(ContentKind::Any) {
                Ok(Slot::Entry(action.clone(), *log))
            } else {
                Err(format!("{} entries must be plain values", log.key()))
            }
        }
        (Place::Root(root), None) | (Place::Entity(root, _), None) => {
            Err(format!("{} is a map: every value needs a key", root.key()))
        }
        (Place::Text(..) | Place::Log(..), Some(key)) => {
            Err(format!("a text or log has no keys ({key:?})"))
        }
        (Place::Root(root), Some(key)) => Err(format!("{key:?} is not a field of {}", root.key())),
    }
}

/// The place a new type at `slot` becomes.
pub fn place_of(slot: &Slot) -> Option<Place> {
    match slot {
        Slot::Entity(root, key) => Some(Place::Entity(*root, key.clone())),
        Slot::Text(root, key, text) => Some(Place::Text(*root, key.clone(), *text)),
        Slot::Log(action, log) => Some(Place::Log(action.clone(), *log)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn action(key: &str) -> Place {
        Place::Entity(Root::Actions, key.into())
    }

    #[test]
    fn an_action_holds_its_fields_texts_and_logs_and_nothing_else() {
        let a = action("a-1");
        assert!(matches!(
            slot(&a, Some("owner"), ContentKind::Any),
            Ok(Slot::Field(..))
        ));
        assert!(matches!(
            slot(&a, Some("title"), ContentKind::Text),
            Ok(Slot::Text(..))
        ));
        assert!(matches!(
            slot(&a, Some("transitions"), ContentKind::Array),
            Ok(Slot::Log(..))
        ));
        assert!(slot(&a, Some("title"), ContentKind::Map).is_err());
        assert!(slot(&a, Some("evidence"), ContentKind::Text).is_err());
        assert!(slot(&a, Some("owner"), ContentKind::Map).is_err());
        assert!(slot(&a, Some("colour"), ContentKind::Any).is_err());
        assert!(slot(&a, None, ContentKind::Any).is_err());
    }

    #[test]
    fn roots_hold_ids_of_maps_and_texts_hold_characters_only() {
        let actions = Place::Root(Root::Actions);
        assert!(slot(&actions, Some("a-1"), ContentKind::Map).is_ok());
        assert!(slot(&actions, Some("a 1"), ContentKind::Map).is_err());
        assert!(slot(&actions, Some("a-1"), ContentKind::Any).is_err());
        let text = Place::Text(
            Root::Actions,
            "a-1".into(),
            TextSlot::Action(ActionText::Title),
        );
        assert!(slot(&text, None, ContentKind::String).is_ok());
        assert!(slot(&text, None, ContentKind::Other("embed")).is_err());
        assert!(slot(&text, None, ContentKind::Other("format")).is_err());
        let log = Place::Log("a-1".into(), Log::Transitions);
        assert!(slot(&log, None, ContentKind::Any).is_ok());
        assert!(slot(&log, None, ContentKind::Map).is_err());
        let plan = Place::Root(Root::Plan);
        assert!(slot(&plan, Some("title"), ContentKind::Any).is_ok());
        assert!(slot(&plan, Some("junk"), ContentKind::Any).is_err());
        assert_eq!(Root::named(DocShape::Plan, "junk"), None);
        assert_eq!(Root::named(DocShape::Plan, "phases"), None);
        assert_eq!(
            Root::named(DocShape::Programme, "phases"),
            Some(Root::Phases)
        );
    }
}
