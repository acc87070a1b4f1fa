//! The append-only logs of an action. Each entry is written once, as an
//! immutable value in a `Y.Array`, and never edited: corrections are new
//! entries. That keeps concurrent offline work conflict-free and makes every
//! log an audit trail.

use serde::{Deserialize, Serialize};

use crate::ids::{Date, EntryId, UnixMillis, UserId};
use crate::keys::ActionText;
use crate::vocab::{
    CheckOutcome, DecisionOutcome, DueChangeVerdict, EvidenceKind, EvidenceType, EvidenceVerdict,
    ReauditMethod, Role, Status,
};

/// A request to move an action to another status. The action's status is the
/// fold of these (see [`crate::lifecycle::fold_status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The status asked for.
    pub to: Status,
    /// Who asked.
    pub by: UserId,
    /// The role they acted in.
    pub role: Role,
    /// When.
    pub at: UnixMillis,
    /// Why (required when returning or reopening).
    #[serde(default)]
    pub note: String,
    /// Set only by an import, to carry a spreadsheet's status into Plait as
    /// the action's starting point.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

/// A note of progress from the owner or the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressUpdate {
    /// This entry.
    pub id: EntryId,
    /// What happened.
    pub text: String,
    /// Who wrote it.
    pub by: UserId,
    /// When.
    pub at: UnixMillis,
    /// The owner's confidence given with it (on track, at risk, off
    /// track), which the action then has: its confidence is logged, so a
    /// report "as at" a past day has the colours of that day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<crate::vocab::Confidence>,
}

/// Something that proves the action is delivered: a file, a link or a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// This entry.
    pub id: EntryId,
    /// File, link or note.
    pub kind: EvidenceKind,
    /// What it is ("Door closer repair photo").
    pub title: String,
    /// For a link, its URL; for a file, the content hash of its blob.
    #[serde(default)]
    pub location: String,
    /// What sort of evidence it is (a policy, an audit result, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_type: Option<EvidenceType>,
    /// The first day of the period it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_from: Option<Date>,
    /// The last day of the period it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_to: Option<Date>,
    /// Where it comes from: the ward, team or site.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub site: String,
    /// One piece of evidence serving several actions is attached to each
    /// of them with the same `piece` (each action's validator judges it
    /// for that action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piece: Option<EntryId>,
    /// Who attached it.
    pub by: UserId,
    /// When.
    pub at: UnixMillis,
}

/// A validator's verdict on one piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceReview {
    /// This entry.
    pub id: EntryId,
    /// The evidence reviewed.
    pub evidence_id: EntryId,
    /// Accepted or insufficient.
    pub verdict: EvidenceVerdict,
    /// With an accepting verdict, how much the evidence assures: recorded
    /// in the (append-only) verdict so that what made an action's evidence
    /// accepted can never be taken back by editing a field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance: Option<crate::vocab::Assurance>,
    /// Why.
    #[serde(default)]
    pub note: String,
    /// The validator.
    pub by: UserId,
    /// When.
    pub at: UnixMillis,
}

/// A forum's decision about the action, with its minute reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// This entry.
    pub id: EntryId,
    /// The committee or board ("Quality and Safety Committee").
    pub forum: String,
    /// The day it met.
    pub meeting_date: Date,
    /// What it decided.
    pub outcome: DecisionOutcome,
    /// Where the minutes record it.
    #[serde(default)]
    pub minute_ref: String,
    /// Anything else the forum said.
    #[serde(default)]
    pub note: String,
    /// The meeting of the programme's record that took it, if recorded
    /// from its committee pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting: Option<crate::ids::MeetingId>,
    /// Who recorded it.
    pub by: UserId,
    /// When it was recorded.
    pub at: UnixMillis,
}

/// One entry of the log of requests to the executive lead: a new due date
/// asked for, a new wording of an agreed action's title or closure
/// criteria asked for, or the lead's answer to either. Stored as one map
/// with a `type` key (`request`, `wording` or `answer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DueChange {
    /// The owner asks for a new date.
    Request {
        /// This entry.
        id: EntryId,
        /// The date asked for.
        new_due: Date,
        /// Why.
        reason: String,
        /// Who asked.
        by: UserId,
        /// When.
        at: UnixMillis,
    },
    /// The owner asks to change the wording of an agreed action's title or
    /// closure criteria (which, once agreed, only the lead changes).
    Wording {
        /// This entry.
        id: EntryId,
        /// Which text.
        text: ActionText,
        /// The wording asked for, whole.
        proposed: String,
        /// Why.
        reason: String,
        /// Who asked.
        by: UserId,
        /// When.
        at: UnixMillis,
    },
    /// The executive lead approves or declines a request (either kind: an
    /// approved wording is applied in the same change).
    Answer {
        /// This entry.
        id: EntryId,
        /// The request answered.
        request_id: EntryId,
        /// Approved or declined.
        verdict: DueChangeVerdict,
        /// Why.
        #[serde(default)]
        note: String,
        /// Who answered.
        by: UserId,
        /// The role they answered in.
        role: Role,
        /// When.
        at: UnixMillis,
    },
}

/// One entry of the sustainment log: a re-audit scheduled, or its result.
/// Stored as one map with a `type` key (`scheduled` or `result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Sustainment {
    /// A re-audit to be done by a date (set at closure, usually 3 and 6 months).
    Scheduled {
        /// This entry.
        id: EntryId,
        /// When the re-audit is due.
        due: Date,
        /// Who scheduled it.
        by: UserId,
        /// When.
        at: UnixMillis,
    },
    /// What a re-audit found.
    Result {
        /// This entry.
        id: EntryId,
        /// The scheduled check this answers.
        check_id: EntryId,
        /// Passed or failed.
        outcome: CheckOutcome,
        /// What was found (required when it failed).
        #[serde(default)]
        note: String,
        /// How it was done.
        #[serde(skip_serializing_if = "Option::is_none")]
        method: Option<ReauditMethod>,
        /// What it looked at ("20 records on Ward 3, July").
        #[serde(skip_serializing_if = "String::is_empty")]
        sample: String,
        /// Who did the re-audit.
        by: UserId,
        /// When.
        at: UnixMillis,
    },
}

// The two tagged entries are read through one flat map of every field
// (then checked for the fields their type needs): serde's derive for an
// internally tagged enum buffers the whole entry first, and in the web
// client that costs twenty kilobytes of code for two types. Read the same
// maps, with the same errors for a missing field; unknown keys are ignored
// as before.

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DueChangeType {
    Request,
    Wording,
    Answer,
}

#[derive(Deserialize)]
struct DueChangeMap {
    #[serde(rename = "type")]
    kind: DueChangeType,
    id: EntryId,
    new_due: Option<Date>,
    reason: Option<String>,
    text: Option<ActionText>,
    proposed: Option<String>,
    request_id: Option<EntryId>,
    verdict: Option<DueChangeVerdict>,
    #[serde(default)]
    note: String,
    by: UserId,
    role: Option<Role>,
    at: UnixMillis,
}

fn needed<T, E: serde::de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

impl<'de> Deserialize<'de> for DueChange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = DueChangeMap::deserialize(d)?;
        Ok(match m.kind {
            DueChangeType::Request => DueChange::Request {
                id: m.id,
                new_due: needed(m.new_due, "new_due")?,
                reason: needed(m.reason, "reason")?,
                by: m.by,
                at: m.at,
            },
            DueChangeType::Wording => DueChange::Wording {
                id: m.id,
                text: needed(m.text, "text")?,
                proposed: needed(m.proposed, "proposed")?,
                reason: needed(m.reason, "reason")?,
                by: m.by,
                at: m.at,
            },
            DueChangeType::Answer => DueChange::Answer {
                id: m.id,
                request_id: needed(m.request_id, "request_id")?,
                verdict: needed(m.verdict, "verdict")?,
                note: m.note,
                by: m.by,
                role: needed(m.role, "role")?,
                at: m.at,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SustainmentType {
    Scheduled,
    Result,
}

#[derive(Deserialize)]
struct SustainmentMap {
    #[serde(rename = "type")]
    kind: SustainmentType,
    id: EntryId,
    due: Option<Date>,
    check_id: Option<EntryId>,
    outcome: Option<CheckOutcome>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    method: Option<ReauditMethod>,
    #[serde(default)]
    sample: String,
    by: UserId,
    at: UnixMillis,
}

impl<'de> Deserialize<'de> for Sustainment {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = SustainmentMap::deserialize(d)?;
        Ok(match m.kind {
            SustainmentType::Scheduled => Sustainment::Scheduled {
                id: m.id,
                due: needed(m.due, "due")?,
                by: m.by,
                at: m.at,
            },
            SustainmentType::Result => Sustainment::Result {
                id: m.id,
                check_id: needed(m.check_id, "check_id")?,
                outcome: needed(m.outcome, "outcome")?,
                note: m.note,
                method: m.method,
                sample: m.sample,
                by: m.by,
                at: m.at,
            },
        })
    }
}

// Reading the entries back from the maps yrs stores them as, by hand:
// serde's derive through yrs's `Any` deserializer cost the web client's
// signed-in frame about 45 KB of code (a deserializer per entry type and
// field type); this reader, one small function per field type, does the
// same job. The serde derives stay for JSON (the API, tests). Missing
// required fields, values of the wrong type and unknown keys of the value
// types are errors, as they were; unknown fields are ignored, as they were.

/// A stored entry's fields: the map yrs keeps it as.
pub(crate) struct Fields<'a>(&'a std::collections::HashMap<String, yrs::Any>);

/// A reading, or what is wrong with the entry.
pub(crate) type Reading<T> = Result<T, String>;

fn kind_of(any: &yrs::Any) -> &'static str {
    use yrs::Any;
    match any {
        Any::Null => "null",
        Any::Undefined => "undefined",
        Any::Bool(_) => "a boolean",
        Any::Number(_) => "a number",
        Any::String(_) => "a string",
        Any::Buffer(_) => "bytes",
        Any::Array(_) => "a list",
        Any::Map(_) => "a map",
    }
}

impl<'a> Fields<'a> {
    /// The fields of `any`, which must be a map.
    pub(crate) fn of(any: &'a yrs::Any) -> Reading<Self> {
        match any {
            yrs::Any::Map(map) => Ok(Fields(map)),
            other => Err(format!("{}, not a map", kind_of(other))),
        }
    }

    /// The field `key`, if it has a value (null and undefined have none).
    fn value(&self, key: &str) -> Option<&'a yrs::Any> {
        self.0
            .get(key)
            .filter(|v| !matches!(v, yrs::Any::Null | yrs::Any::Undefined))
    }

    fn wrong(key: &str, found: &yrs::Any, wanted: &str) -> String {
        format!("{key}: {}, not {wanted}", kind_of(found))
    }

    fn missing(key: &str) -> String {
        format!("missing field `{key}`")
    }

    fn text_or_none(&self, key: &str) -> Reading<Option<&'a str>> {
        match self.value(key) {
            None => Ok(None),
            Some(yrs::Any::String(text)) => Ok(Some(text)),
            Some(other) => Err(Self::wrong(key, other, "a string")),
        }
    }

    /// A required text.
    pub(crate) fn text(&self, key: &str) -> Reading<String> {
        self.text_or_none(key)?
            .map(str::to_owned)
            .ok_or_else(|| Self::missing(key))
    }

    /// A text that is empty when absent.
    pub(crate) fn text_or_empty(&self, key: &str) -> Reading<String> {
        Ok(self.text_or_none(key)?.unwrap_or_default().to_owned())
    }

    /// A required value stored as its text (an id, a date, a key).
    pub(crate) fn parsed<T>(&self, key: &str) -> Reading<T>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        self.parsed_or_none(key)?.ok_or_else(|| Self::missing(key))
    }

    /// A value stored as its text, if there is one.
    pub(crate) fn parsed_or_none<T>(&self, key: &str) -> Reading<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.text_or_none(key)? {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|e| format!("{key}: {e}")),
        }
    }

    /// A required user id.
    pub(crate) fn user(&self, key: &str) -> Reading<UserId> {
        UserId::new(self.text(key)?).map_err(|e| format!("{key}: {e}"))
    }

    /// A required moment (a whole number of milliseconds, also when yrs
    /// stored it as a float).
    pub(crate) fn millis(&self, key: &str) -> Reading<UnixMillis> {
        match self.value(key) {
            None => Err(Self::missing(key)),
            Some(any) => millis_of(any).ok_or_else(|| Self::wrong(key, any, "a whole number")),
        }
    }

    /// A flag that is false when absent.
    pub(crate) fn flag(&self, key: &str) -> Reading<bool> {
        match self.value(key) {
            None => Ok(false),
            Some(yrs::Any::Bool(flag)) => Ok(*flag),
            Some(other) => Err(Self::wrong(key, other, "true or false")),
        }
    }
}

/// A moment stored as a number: whole, and within what a float holds
/// exactly (yrs, like Yjs, writes integers beyond ±2^31 as floats).
pub(crate) fn millis_of(any: &yrs::Any) -> Option<UnixMillis> {
    match any {
        yrs::Any::Number(yrs::any::Number::Int(n)) => Some(UnixMillis(*n)),
        yrs::Any::Number(yrs::any::Number::Float(f))
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 =>
        {
            Some(UnixMillis(*f as i64))
        }
        _ => None,
    }
}

/// An entry read back from its stored map.
pub(crate) trait Stored: Sized {
    fn read(fields: &Fields<'_>) -> Reading<Self>;
}

impl Stored for Transition {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        Ok(Transition {
            to: f.parsed("to")?,
            by: f.user("by")?,
            role: f.parsed("role")?,
            at: f.millis("at")?,
            note: f.text_or_empty("note")?,
            baseline: f.flag("baseline")?,
        })
    }
}

impl Stored for ProgressUpdate {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        Ok(ProgressUpdate {
            id: f.parsed("id")?,
            text: f.text("text")?,
            by: f.user("by")?,
            at: f.millis("at")?,
            confidence: f.parsed_or_none("confidence")?,
        })
    }
}

impl Stored for Evidence {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        Ok(Evidence {
            id: f.parsed("id")?,
            kind: f.parsed("kind")?,
            title: f.text("title")?,
            location: f.text_or_empty("location")?,
            evidence_type: f.parsed_or_none("evidence_type")?,
            period_from: f.parsed_or_none("period_from")?,
            period_to: f.parsed_or_none("period_to")?,
            site: f.text_or_empty("site")?,
            piece: f.parsed_or_none("piece")?,
            by: f.user("by")?,
            at: f.millis("at")?,
        })
    }
}

impl Stored for EvidenceReview {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        Ok(EvidenceReview {
            id: f.parsed("id")?,
            evidence_id: f.parsed("evidence_id")?,
            verdict: f.parsed("verdict")?,
            assurance: f.parsed_or_none("assurance")?,
            note: f.text_or_empty("note")?,
            by: f.user("by")?,
            at: f.millis("at")?,
        })
    }
}

impl Stored for Decision {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        Ok(Decision {
            id: f.parsed("id")?,
            forum: f.text("forum")?,
            meeting_date: f.parsed("meeting_date")?,
            outcome: f.parsed("outcome")?,
            minute_ref: f.text_or_empty("minute_ref")?,
            note: f.text_or_empty("note")?,
            meeting: f.parsed_or_none("meeting")?,
            by: f.user("by")?,
            at: f.millis("at")?,
        })
    }
}

impl Stored for DueChange {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        let (id, by, at) = (f.parsed("id")?, f.user("by")?, f.millis("at")?);
        Ok(match f.text("type")?.as_str() {
            "request" => DueChange::Request {
                id,
                new_due: f.parsed("new_due")?,
                reason: f.text("reason")?,
                by,
                at,
            },
            "wording" => DueChange::Wording {
                id,
                text: f.parsed("text")?,
                proposed: f.text("proposed")?,
                reason: f.text("reason")?,
                by,
                at,
            },
            "answer" => DueChange::Answer {
                id,
                request_id: f.parsed("request_id")?,
                verdict: f.parsed("verdict")?,
                note: f.text_or_empty("note")?,
                by,
                role: f.parsed("role")?,
                at,
            },
            other => return Err(format!("type: not a kind of request: {other}")),
        })
    }
}

impl Stored for Sustainment {
    fn read(f: &Fields<'_>) -> Reading<Self> {
        let (id, by, at) = (f.parsed("id")?, f.user("by")?, f.millis("at")?);
        Ok(match f.text("type")?.as_str() {
            "scheduled" => Sustainment::Scheduled {
                id,
                due: f.parsed("due")?,
                by,
                at,
            },
            "result" => Sustainment::Result {
                id,
                check_id: f.parsed("check_id")?,
                outcome: f.parsed("outcome")?,
                note: f.text_or_empty("note")?,
                method: f.parsed_or_none("method")?,
                sample: f.text_or_empty("sample")?,
                by,
                at,
            },
            other => return Err(format!("type: not a kind of re-audit entry: {other}")),
        })
    }
}

/// Any entry that can be appended to an action, for one write path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEntry {
    /// To `transitions`.
    Transition(Transition),
    /// To `updates`.
    Progress(ProgressUpdate),
    /// To `evidence`.
    Evidence(Evidence),
    /// To `evidence_reviews`.
    EvidenceReview(EvidenceReview),
    /// To `decisions`.
    Decision(Decision),
    /// To `due_changes`.
    DueChange(DueChange),
    /// To `sustainment`.
    Sustainment(Sustainment),
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn back<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
        let json = serde_json::to_string(value).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    #[test]
    fn tagged_entries_read_back_and_need_their_fields() {
        let id = |s: &str| EntryId::new(s).unwrap();
        let user = UserId::new("lead").unwrap();
        back(&DueChange::Request {
            id: id("r1"),
            new_due: Date::parse_iso("2027-03-31").unwrap(),
            reason: "estates delay".into(),
            by: user.clone(),
            at: UnixMillis(5),
        });
        back(&DueChange::Answer {
            id: id("a1"),
            request_id: id("r1"),
            verdict: DueChangeVerdict::Approved,
            note: String::new(),
            by: user.clone(),
            role: Role::Lead,
            at: UnixMillis(6),
        });
        back(&DueChange::Wording {
            id: id("w1"),
            text: ActionText::ClosureCriteria,
            proposed: "Audit shows 95% for three months".into(),
            reason: "The audit tool changed".into(),
            by: user.clone(),
            at: UnixMillis(5),
        });
        back(&Sustainment::Scheduled {
            id: id("s1"),
            due: Date::parse_iso("2027-06-30").unwrap(),
            by: user.clone(),
            at: UnixMillis(7),
        });
        back(&Sustainment::Result {
            id: id("s2"),
            check_id: id("s1"),
            outcome: CheckOutcome::Passed,
            note: "95% compliant".into(),
            method: Some(ReauditMethod::RecordsAudit),
            sample: "20 records".into(),
            by: user,
            at: UnixMillis(8),
        });
        // An answer without its verdict, a request without its date, an
        // unknown type: refused, as the derived reader refused them.
        let missing =
            r#"{"type":"answer","id":"a1","request_id":"r1","by":"lead","role":"lead","at":1}"#;
        let error = serde_json::from_str::<DueChange>(missing).unwrap_err();
        assert!(error.to_string().contains("verdict"), "{error}");
        let missing = r#"{"type":"request","id":"r1","reason":"x","by":"lead","at":1}"#;
        assert!(serde_json::from_str::<DueChange>(missing).is_err());
        let unknown = r#"{"type":"skipped","id":"s1","by":"lead","at":1}"#;
        assert!(serde_json::from_str::<Sustainment>(unknown).is_err());
        // A note left out reads as empty.
        let plain =
            r#"{"type":"result","id":"s2","check_id":"s1","outcome":"passed","by":"lead","at":1}"#;
        assert!(matches!(
            serde_json::from_str::<Sustainment>(plain).unwrap(),
            Sustainment::Result { note, .. } if note.is_empty()
        ));
    }

    /// Both readers' verdict on `any`: the same entry, or both refuse it.
    fn agree<T: Stored + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        any: &yrs::Any,
    ) -> Option<T> {
        let by_serde = yrs::encoding::serde::from_any::<T>(any).ok();
        let by_hand = Fields::of(any).and_then(|f| T::read(&f));
        assert_eq!(
            by_hand.as_ref().ok(),
            by_serde.as_ref(),
            "{any:?}: {:?}",
            by_hand.as_ref().err()
        );
        by_hand.ok()
    }

    fn stored<T: Serialize>(value: &T) -> yrs::Any {
        yrs::encoding::serde::to_any(value).unwrap()
    }

    #[test]
    fn stored_entries_read_by_hand_as_serde_read_them() {
        let id = |s: &str| EntryId::new(s).unwrap();
        let user = UserId::new("L. Brennan").unwrap();
        let day = Date::parse_iso("2027-03-31").unwrap();
        let transition = Transition {
            to: Status::CompletionProposed,
            by: user.clone(),
            role: Role::Contributor,
            at: UnixMillis(1_754_000_000_000),
            note: "done".into(),
            baseline: true,
        };
        assert_eq!(agree::<Transition>(&stored(&transition)), Some(transition));
        let update = ProgressUpdate {
            id: id("u1"),
            text: "Closers fitted".into(),
            by: user.clone(),
            at: UnixMillis(3),
            confidence: None,
        };
        assert_eq!(agree::<ProgressUpdate>(&stored(&update)), Some(update));
        for evidence in [
            Evidence {
                id: id("e1"),
                kind: EvidenceKind::File,
                title: "Photo".into(),
                location: "ab12".into(),
                evidence_type: Some(EvidenceType::ALL[0]),
                period_from: Some(day),
                period_to: Some(day),
                site: "Ward 3".into(),
                piece: Some(id("p1")),
                by: user.clone(),
                at: UnixMillis(4),
            },
            Evidence {
                id: id("e2"),
                kind: EvidenceKind::Note,
                title: "Seen on the walk-round".into(),
                location: String::new(),
                evidence_type: None,
                period_from: None,
                period_to: None,
                site: String::new(),
                piece: None,
                by: user.clone(),
                at: UnixMillis(4),
            },
        ] {
            assert_eq!(agree::<Evidence>(&stored(&evidence)), Some(evidence));
        }
        let review = EvidenceReview {
            id: id("v1"),
            evidence_id: id("e1"),
            verdict: EvidenceVerdict::ALL[0],
            assurance: Some(crate::vocab::Assurance::ALL[0]),
            note: String::new(),
            by: user.clone(),
            at: UnixMillis(5),
        };
        assert_eq!(agree::<EvidenceReview>(&stored(&review)), Some(review));
        let decision = Decision {
            id: id("d1"),
            forum: "Quality and Safety Committee".into(),
            meeting_date: day,
            outcome: DecisionOutcome::ALL[0],
            minute_ref: "QSC/27/041".into(),
            note: String::new(),
            meeting: Some(crate::ids::MeetingId::new("m1").unwrap()),
            by: user.clone(),
            at: UnixMillis(6),
        };
        assert_eq!(agree::<Decision>(&stored(&decision)), Some(decision));
        for change in [
            DueChange::Request {
                id: id("r1"),
                new_due: day,
                reason: "estates delay".into(),
                by: user.clone(),
                at: UnixMillis(5),
            },
            DueChange::Wording {
                id: id("w1"),
                text: ActionText::ClosureCriteria,
                proposed: "Audit shows 95%".into(),
                reason: "The audit tool changed".into(),
                by: user.clone(),
                at: UnixMillis(5),
            },
            DueChange::Answer {
                id: id("a1"),
                request_id: id("r1"),
                verdict: DueChangeVerdict::Approved,
                note: "agreed".into(),
                by: user.clone(),
                role: Role::Lead,
                at: UnixMillis(6),
            },
        ] {
            assert_eq!(agree::<DueChange>(&stored(&change)), Some(change));
        }
        for entry in [
            Sustainment::Scheduled {
                id: id("s1"),
                due: day,
                by: user.clone(),
                at: UnixMillis(7),
            },
            Sustainment::Result {
                id: id("s2"),
                check_id: id("s1"),
                outcome: CheckOutcome::Failed,
                note: "2 of 20 records".into(),
                method: Some(ReauditMethod::RecordsAudit),
                sample: "20 records".into(),
                by: user,
                at: UnixMillis(8),
            },
        ] {
            assert_eq!(agree::<Sustainment>(&stored(&entry)), Some(entry));
        }
    }

    #[test]
    fn entries_serde_refused_are_refused_by_hand_and_the_rest_read_alike() {
        let json = |text: &str| yrs::Any::from_json(text).unwrap();
        // Missing, wrong-typed and unknown values; a time written as a
        // float by another peer; extra fields.
        for text in [
            r#"{"to":"completion_proposed","by":"lead","role":"contributor","at":1}"#,
            r#"{"to":"completion_proposed","by":"lead","role":"contributor","at":1754000000000.0,"extra":1}"#,
            r#"{"to":"completion_proposed","by":"lead","role":"contributor","at":1.5}"#,
            r#"{"to":"finished","by":"lead","role":"contributor","at":1}"#,
            r#"{"to":"completion_proposed","role":"contributor","at":1}"#,
            r#"{"to":"completion_proposed","by":"","role":"contributor","at":1}"#,
            r#"{"to":"completion_proposed","by":"lead","role":"contributor","at":"1"}"#,
            r#"{"to":"completion_proposed","by":"lead","role":"contributor","at":1,"baseline":"yes"}"#,
            r#"{"to":"completion_proposed","by":"lead","role":"contributor","at":1,"note":7}"#,
            r#"["completed"]"#,
        ] {
            agree::<Transition>(&json(text));
        }
        for text in [
            r#"{"id":"e1","kind":"link","title":"Audit","location":"https://x","by":"lead","at":1}"#,
            r#"{"id":"e1","kind":"link","title":"Audit","by":"lead","at":1,"period_from":"2027-02-30"}"#,
            r#"{"id":"e1","kind":"link","title":"Audit","by":"lead","at":1,"evidence_type":"nonsense"}"#,
            r#"{"id":"e 1","kind":"link","title":"Audit","by":"lead","at":1}"#,
            r#"{"id":"e1","kind":"link","by":"lead","at":1}"#,
        ] {
            agree::<Evidence>(&json(text));
        }
        for text in [
            r#"{"type":"answer","id":"a1","request_id":"r1","by":"lead","role":"lead","at":1}"#,
            r#"{"type":"request","id":"r1","reason":"x","by":"lead","at":1}"#,
            r#"{"type":"request","id":"r1","new_due":"2027-01-31","reason":"x","by":"lead","at":1}"#,
            r#"{"type":"wording","id":"w1","text":"title","proposed":"x","reason":"y","by":"lead","at":1}"#,
            r#"{"type":"wording","id":"w1","text":"colour","proposed":"x","reason":"y","by":"lead","at":1}"#,
            r#"{"type":"other","id":"w1","by":"lead","at":1}"#,
            r#"{"id":"w1","by":"lead","at":1}"#,
        ] {
            agree::<DueChange>(&json(text));
        }
        for text in [
            r#"{"type":"skipped","id":"s1","by":"lead","at":1}"#,
            r#"{"type":"result","id":"s2","check_id":"s1","outcome":"passed","by":"lead","at":1}"#,
            r#"{"type":"result","id":"s2","check_id":"s1","outcome":"passed","method":"guess","by":"lead","at":1}"#,
            r#"{"type":"scheduled","id":"s1","due":"2027-06-30","by":"lead","at":1}"#,
        ] {
            agree::<Sustainment>(&json(text));
        }
        for text in [
            r#"{"id":"d1","forum":"QSC","meeting_date":"2027-01-05","outcome":"approve_closure","by":"lead","at":1}"#,
            r#"{"id":"d1","forum":"QSC","meeting_date":"2027-01-05","outcome":"approve_closure","meeting":"m 1","by":"lead","at":1}"#,
        ] {
            agree::<Decision>(&json(text));
        }
    }
}
