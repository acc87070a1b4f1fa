//! The names the documents store things under, as enums: an action's
//! fields, texts and logs, and the documents' roots. Each has its stored
//! `key()`, the `label()` people read, and `ALL`; code matches on them, so a
//! new field is a compile error wherever it must be handled, and a renamed
//! key changes in one place.
//!
//! They serialise as their keys (`"due_original"`), so audit records and
//! refusals read the same in JSON as in the documents.
//!
//! ```
//! use plait_shared::keys::{FieldKey, Log};
//!
//! assert_eq!(FieldKey::DueOriginal.key(), "due_original");
//! assert_eq!(FieldKey::from_key("owner"), Some(FieldKey::Owner));
//! assert_eq!(Log::Sustainment.label(), "Re-audit");
//! assert_eq!(serde_json::to_string(&FieldKey::Phase).unwrap(), "\"phase_id\"");
//! ```

macro_rules! keys {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $key:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every one, in the order people see them.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The key it is stored under.
            pub const fn key(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            /// The words people see.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The one stored under `key` (exactly).
            pub fn from_key(key: &str) -> Option<$name> {
                match key { $($key => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            /// Reads the exact key, as stored in documents.
            fn from_str(key: &str) -> Result<Self, String> {
                $name::from_key(key)
                    .ok_or_else(|| format!(concat!("not a ", stringify!($name), ": {}"), key))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.key())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let key = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_key(&key).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        concat!("not a ", stringify!($name), ": {}"),
                        key
                    ))
                })
            }
        }
    };
}

keys! {
    /// A single-valued field of an action.
    FieldKey {
        /// The plan's reference ("MD001.1").
        Reference = "ref", "Reference";
        /// The findings it answers.
        FindingIds = "finding_ids", "Findings answered";
        /// The workstream delivering it.
        Workstream = "workstream_id", "Workstream";
        /// The programme phase.
        Phase = "phase_id", "Phase";
        /// The accountable executive.
        ExecLead = "exec_lead", "Executive lead";
        /// Who delivers it.
        Owner = "owner", "Owner";
        /// The due date first agreed (kept once set).
        DueOriginal = "due_original", "Due date";
        /// The owner's confidence.
        Confidence = "confidence", "Confidence";
        /// The assurance level.
        Assurance = "assurance", "Assurance level";
        /// The colour a tracker reported (its RAG/BRAG column), kept beside
        /// the colour Plait derives.
        ReportedColour = "reported_colour", "Reported colour";
    }
}

keys! {
    /// The collaborative texts of an action.
    ActionText {
        /// The one-line title.
        Title = "title", "Title";
        /// The description.
        Description = "description", "Description";
        /// What "done" means.
        ClosureCriteria = "closure_criteria", "Closure criteria";
    }
}

keys! {
    /// One of an action's append-only logs.
    Log {
        /// Status transitions.
        Transitions = "transitions", "Status change";
        /// Progress updates.
        Updates = "updates", "Progress update";
        /// Evidence items.
        Evidence = "evidence", "Evidence";
        /// Verdicts on evidence.
        EvidenceReviews = "evidence_reviews", "Evidence verdict";
        /// Forum decisions.
        Decisions = "decisions", "Decision";
        /// Requests to the executive lead (a new due date, a new wording
        /// of an agreed title or closure criteria) and the lead's answers.
        DueChanges = "due_changes", "Request to the executive lead";
        /// Re-audits and their results.
        Sustainment = "sustainment", "Re-audit";
    }
}

keys! {
    /// A root of a document (a plan's or the programme's).
    Root {
        /// `plan`: what the plan is about.
        Plan = "plan", "plan details";
        /// `findings`: id → finding.
        Findings = "findings", "findings";
        /// `actions`: id → action.
        Actions = "actions", "actions";
        /// `programme`: the programme's headline facts.
        Programme = "programme", "programme details";
        /// `phases`: id → phase.
        Phases = "phases", "phases";
        /// `workstreams`: id → workstream.
        Workstreams = "workstreams", "workstreams";
        /// `plans`: plan document id → index entry.
        Plans = "plans", "plans";
        /// `forums`: id → forum (a committee that takes decisions).
        Forums = "forums", "forums";
        /// `settings`: named groups of settings.
        Settings = "settings", "settings";
        /// `meetings`: id → a forum's meeting (its date, the chair's report).
        Meetings = "meetings", "meetings";
        /// `papers`: meeting id → the board paper for that meeting.
        Papers = "papers", "board papers";
        /// `meeting_papers`: id → a paper tabled at a meeting (a file or a
        /// link, with its title).
        MeetingPapers = "meeting_papers", "meetings' papers";
        /// `measures`: id → a phase-2 measure (outcome, process or
        /// balancing), with its definition, direction and target.
        Measures = "measures", "measures";
        /// `measure_points`: id → one value of a measure's data series.
        MeasurePoints = "measure_points", "measures' data";
        /// `root_causes`: id → a phase-2 root cause (its theme, the method
        /// that found it); linked to the findings it explains.
        RootCauses = "root_causes", "root causes";
        /// `drivers`: id → an aim, a primary or secondary driver or a change
        /// idea of a driver diagram (each names its parent).
        Drivers = "drivers", "driver diagrams";
        /// `pdsa_cycles`: id → a plan-do-study-act cycle testing a change
        /// idea.
        Cycles = "pdsa_cycles", "PDSA cycles";
        /// `exit_criteria`: id → a criterion for leaving the programme (the
        /// Recovery Support Programme's), with whether it is met.
        ExitCriteria = "exit_criteria", "exit criteria";
        /// `links`: id → one link between two things of phase 2 (a root
        /// cause and a finding, a change idea and an action, ...), one
        /// entity each so links made on two devices merge.
        Links = "links", "phase 2 links";
        /// `issued_papers`: `{meeting}.v{version}` → a board paper as issued
        /// (its words and figures, frozen; written by the server only).
        IssuedPapers = "issued_papers", "issued board papers";
    }
}

impl Root {
    /// Whether it is one of the programme's phase-2 roots: root causes,
    /// driver diagrams, PDSA cycles, exit criteria, the links between them,
    /// measures and their values (their values are checked by
    /// `crate::improvement::check_field`).
    pub fn is_phase_two(self) -> bool {
        matches!(
            self,
            Root::RootCauses
                | Root::Drivers
                | Root::Cycles
                | Root::ExitCriteria
                | Root::Links
                | Root::Measures
                | Root::MeasurePoints
        )
    }
}

keys! {
    /// A field of a plan's `plan` map (what the plan is about).
    PlanField {
        /// Its title.
        Title = "title", "Title";
        /// The programme it belongs to.
        ProgrammeId = "programme_id", "Programme";
        /// The workstream delivering it.
        Workstream = "workstream_id", "Workstream";
        /// The core service it covers.
        CoreService = "core_service", "Core service";
        /// Where.
        Location = "location", "Location";
    }
}

keys! {
    /// A single-valued field of a finding (CQC's requirement).
    FindingField {
        /// The report's reference ("MD001").
        Reference = "ref", "Reference";
        /// Must Do, Should Do or a warning-notice failing.
        Kind = "kind", "Type";
        /// The regulations breached, with paragraph.
        Regulations = "regulations", "Regulations";
        /// The key question.
        KeyQuestion = "key_question", "Key question";
        /// The core service.
        CoreService = "core_service", "Core service";
        /// Where.
        Location = "location", "Location";
        /// Where the finding comes from (the inspection report).
        Source = "source", "Source";
        /// A warning notice's deadline.
        Deadline = "deadline", "CQC's deadline";
        /// The day CQC lifted a failing.
        LiftedOn = "lifted_on", "Lifted on";
        /// Who recorded the lifting.
        LiftedBy = "lifted_by", "Lifted by";
    }
}

/// The key of a finding's collaborative text (what CQC said).
pub const FINDING_TEXT: &str = "text";

keys! {
    /// A field of the programme's headline facts and governance settings.
    ProgrammeField {
        /// The programme's name.
        Name = "name", "Name";
        /// The trust.
        Trust = "trust", "Trust";
        /// The CQC rating.
        Rating = "rating", "CQC rating";
        /// NHS England's oversight segment.
        OversightSegment = "oversight_segment", "Oversight segment";
        /// The day the report was published.
        ReportDate = "report_date", "Report date";
        /// The warning notice.
        WarningNotice = "warning_notice", "Warning notice";
        /// Whether completions need the executive lead's endorsement.
        Endorsement = "endorsement", "Endorsement";
        /// Days a re-audit may be recorded before its date.
        ReauditWindowDays = "reaudit_window_days", "Re-audit window";
        /// Re-audits scheduled at closure.
        ReauditCount = "reaudit_count", "Re-audits";
        /// Months between re-audits.
        ReauditSpacingMonths = "reaudit_spacing_months", "Months between re-audits";
        /// The day of the week the weekly digest goes out
        /// ([`crate::vocab::Weekday`]'s key).
        DigestDay = "digest_day", "Digest day";
        /// The time of day (UK) it goes out, `HH:MM`.
        DigestTime = "digest_time", "Digest time";
    }
}

keys! {
    /// A field of a programme phase.
    PhaseField {
        /// Its name.
        Name = "name", "Name";
        /// Its first day.
        Starts = "starts", "Starts";
        /// Its last day.
        Ends = "ends", "Ends";
        /// What it is for.
        Goal = "goal", "Goal";
        /// What ends it.
        ExitCriteria = "exit_criteria", "Exit criteria";
    }
}

keys! {
    /// A field of a workstream.
    WorkstreamField {
        /// Its name.
        Name = "name", "Name";
        /// Its executive lead.
        ExecLead = "exec_lead", "Executive lead";
    }
}

keys! {
    /// A field of a forum (a committee that takes decisions).
    ForumField {
        /// Its name.
        Name = "name", "Name";
        /// Whether it decides on actions or receives reports
        /// ([`crate::vocab::Remit`]).
        Remit = "remit", "Remit";
    }
}

keys! {
    /// A field of a forum's meeting.
    MeetingField {
        /// The forum that met.
        ForumId = "forum_id", "Forum";
        /// The day.
        Date = "date", "Date";
        /// Its title.
        Title = "title", "Title";
        /// The chair's report: what to alert the board to.
        Alert = "alert", "Alert";
        /// What to advise it of.
        Advise = "advise", "Advise";
        /// What it can be assured of.
        Assure = "assure", "Assure";
    }
}

impl ProgrammeField {
    /// Whether it is one of the governance settings (the server reads every
    /// plan's updates by them).
    pub fn is_setting(self) -> bool {
        matches!(
            self,
            ProgrammeField::Endorsement
                | ProgrammeField::ReauditWindowDays
                | ProgrammeField::ReauditCount
                | ProgrammeField::ReauditSpacingMonths
        )
    }
}

impl ProgrammeField {
    /// Whether it is one of the weekly digest's settings (its day and
    /// time: `crate::digest`).
    pub fn is_digest_setting(self) -> bool {
        matches!(self, ProgrammeField::DigestDay | ProgrammeField::DigestTime)
    }
}

impl MeetingField {
    /// Whether it is part of the chair's report to the board (Alert,
    /// Advise, Assure).
    pub fn in_chair_report(self) -> bool {
        matches!(
            self,
            MeetingField::Alert | MeetingField::Advise | MeetingField::Assure
        )
    }
}

keys! {
    /// A field of a paper tabled at a meeting.
    MeetingPaperField {
        /// The meeting.
        MeetingId = "meeting_id", "Meeting";
        /// What it is ("Ligature audit report, Q2").
        Title = "title", "Title";
        /// A file or a link ([`crate::vocab::EvidenceKind`]).
        Kind = "kind", "Kind";
        /// For a file, its SHA-256; for a link, its address.
        Location = "location", "Location";
        /// A file's name as uploaded.
        FileName = "file_name", "File name";
        /// When it was added.
        AddedAt = "added_at", "Added";
    }
}

keys! {
    /// A field of a phase-2 measure.
    MeasureField {
        /// What it counts ("Restraints per 1,000 occupied bed days").
        Name = "name", "Name";
        /// Outcome, process or balancing.
        Kind = "kind", "Kind";
        /// Its operational definition: exactly what is counted, and how.
        Definition = "definition", "Operational definition";
        /// Its unit.
        Unit = "unit", "Unit";
        /// Which way is better ([`crate::spc::Direction`]).
        Direction = "direction", "Better when";
        /// Its target, if it has one.
        Target = "target", "Target";
        /// How many of the first points set the limits.
        Baseline = "baseline", "Baseline points";
        /// The periods from which the limits are recalculated.
        Rebase = "rebase", "Limits recalculated from";
        /// The workstream it belongs to.
        Workstream = "workstream_id", "Workstream";
    }
}

keys! {
    /// A field of one value of a measure's data series.
    MeasurePointField {
        /// The measure.
        MeasureId = "measure_id", "Measure";
        /// The period it is for (its first day).
        Period = "period", "Period";
        /// The value.
        Value = "value", "Value";
    }
}

keys! {
    /// A field of a phase-2 root cause.
    RootCauseField {
        /// The theme it belongs to ("Leadership and culture").
        Theme = "theme", "Theme";
        /// The cause, in a line.
        Title = "title", "Root cause";
        /// What the analysis found.
        Description = "description", "Description";
        /// How it was found ([`crate::vocab::AnalysisMethod`]).
        Method = "method", "Analysis method";
        /// Its fishbone category ("People", "Environment"), if any.
        Category = "category", "Category";
        /// The incidents it explains (their references).
        Incidents = "incidents", "Incidents";
    }
}

keys! {
    /// A field of a driver diagram's node: an aim, a driver or a change idea.
    DriverField {
        /// Which ([`crate::vocab::DriverKind`]).
        Kind = "kind", "Kind";
        /// The node it drives (none for an aim).
        Parent = "parent", "Drives";
        /// What it says.
        Text = "text", "Text";
        /// An aim's "by how much".
        Amount = "amount", "By how much";
        /// An aim's "by when".
        By = "by", "By when";
        /// An aim's workstream (none: the programme's).
        Workstream = "workstream_id", "Workstream";
    }
}

keys! {
    /// A field of a PDSA cycle.
    CycleField {
        /// The change idea it tests.
        ChangeIdea = "change_idea", "Change idea";
        /// The test, in a line.
        Title = "title", "Test";
        /// Plan: what will be done, by whom, when.
        Plan = "plan", "Plan";
        /// Plan: what is expected to happen.
        Prediction = "prediction", "Prediction";
        /// Do: what was done.
        Done = "done", "What was done";
        /// Study: what was learnt against the prediction.
        Learnt = "learnt", "What was learnt";
        /// Act: adopt, adapt or abandon ([`crate::vocab::PdsaDecision`]).
        Decision = "decision", "Decision";
        /// When it started.
        Started = "started", "Started";
    }
}

keys! {
    /// A field of an exit criterion.
    ExitField {
        /// What must be true.
        Text = "text", "Criterion";
        /// Whose criterion ("NHS England Recovery Support Programme").
        Source = "source", "Source";
        /// Met, partly met or not met ([`crate::vocab::ExitStatus`]).
        Status = "status", "Status";
        /// The evidence it is met (where it is, what it shows).
        Evidence = "evidence", "Evidence";
    }
}

keys! {
    /// A field of a phase-2 link.
    LinkField {
        /// One end ([`crate::improvement::Node`]).
        From = "from", "From";
        /// The other end.
        To = "to", "To";
    }
}

keys! {
    /// A field of a board paper.
    PaperField {
        /// Its agenda item.
        AgendaItem = "agenda_item", "Agenda item";
        /// Who wrote it.
        Author = "author", "Author";
        /// The executive who presents it.
        Lead = "lead", "Executive lead";
        /// For decision, assurance or information.
        Purpose = "purpose", "Purpose";
        /// The assurance it gives.
        Assurance = "assurance", "Assurance";
        /// What the board is asked to do.
        Recommendation = "recommendation", "Recommendation";
        /// The risks.
        Risks = "risks", "Risks";
        /// The executive summary.
        Summary = "summary", "Summary";
        /// Risks to delivery.
        DeliveryRisks = "delivery_risks", "Delivery risks";
        /// The moment since which things count as new.
        Since = "since", "Since";
        /// When it was issued.
        Issues = "issues", "Issued";
    }
}

keys! {
    /// A field of a plan's entry in the programme's index of plans.
    PlanEntryField {
        /// The plan's title.
        Title = "title", "Title";
        /// Its workstream.
        Workstream = "workstream_id", "Workstream";
        /// Its core service.
        CoreService = "core_service", "Core service";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_key_reads_back_and_is_unique() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            key: fn(T) -> &'static str,
            from: fn(&str) -> Option<T>,
        ) {
            let mut seen = std::collections::BTreeSet::new();
            for &k in all {
                assert!(seen.insert(key(k)), "{} twice", key(k));
                assert_eq!(from(key(k)), Some(k));
            }
            assert_eq!(from("nonsense"), None);
        }
        check(&FieldKey::ALL, FieldKey::key, FieldKey::from_key);
        check(&ActionText::ALL, ActionText::key, ActionText::from_key);
        check(&Log::ALL, Log::key, Log::from_key);
        check(&Root::ALL, Root::key, Root::from_key);
        assert_eq!(
            serde_json::from_str::<Log>("\"due_changes\"").unwrap(),
            Log::DueChanges
        );
        assert!(serde_json::from_str::<Log>("\"DueChanges\"").is_err());
    }
}
