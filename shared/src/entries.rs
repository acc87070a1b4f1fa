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
}
