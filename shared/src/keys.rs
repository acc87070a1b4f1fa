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
