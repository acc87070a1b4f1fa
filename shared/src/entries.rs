//! The append-only logs of an action. Each entry is written once, as an
//! immutable value in a `Y.Array`, and never edited: corrections are new
//! entries. That keeps concurrent offline work conflict-free and makes every
//! log an audit trail.

use serde::{Deserialize, Serialize};

use crate::ids::{Date, EntryId, UnixMillis, UserId};
use crate::vocab::{
    CheckOutcome, DecisionOutcome, DueChangeVerdict, EvidenceKind, EvidenceVerdict, Role, Status,
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
    /// Who recorded it.
    pub by: UserId,
    /// When it was recorded.
    pub at: UnixMillis,
}

/// One entry of a due-date change: a request or a lead's answer to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The executive lead approves or declines a request.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        /// Who did the re-audit.
        by: UserId,
        /// When.
        at: UnixMillis,
    },
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
