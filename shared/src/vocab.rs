//! The closed vocabularies of an improvement programme: kinds of finding,
//! regulations, key questions, statuses, ratings and roles.
//!
//! Every enumeration is stored in the documents by its snake_case `key()` and
//! shown to people by its `label()`. Unknown keys are rejected, never guessed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that is not one of an enumeration's keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    /// The enumeration, in words ("finding kind").
    pub what: &'static str,
    /// The text that matched none of its values.
    pub value: String,
}

/// Lower-cases and drops everything but letters and digits, so that
/// "Well-led", "well_led" and " WELL LED " compare equal.
pub(crate) fn fold_label(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $key:literal, $label:literal $(| $alias:literal)* ; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable key stored in documents.
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            /// The words people see.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Reads a key, a label or a known alias, ignoring case, spaces
            /// and punctuation (for spreadsheets typed by people).
            ///
            /// # Errors
            /// [`$crate::vocab::UnknownValue`] when the text names none of the values.
            pub fn parse_loose(text: &str) -> Result<Self, $crate::vocab::UnknownValue> {
                let folded = $crate::vocab::fold_label(text);
                $(
                    if folded == $crate::vocab::fold_label($key)
                        || folded == $crate::vocab::fold_label($label)
                        $(|| folded == $crate::vocab::fold_label($alias))*
                    {
                        return Ok($name::$variant);
                    }
                )+
                Err($crate::vocab::UnknownValue { what: $what, value: text.trim().to_owned() })
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownValue;
            /// Reads the exact key, as stored in documents.
            fn from_str(key: &str) -> Result<Self, $crate::vocab::UnknownValue> {
                match key {
                    $($key => Ok($name::$variant),)+
                    _ => Err($crate::vocab::UnknownValue { what: $what, value: key.to_owned() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.label())
            }
        }

        impl $crate::vocab::Vocabulary for $name {
            fn key(self) -> &'static str {
                $name::key(self)
            }
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }
    };
}

/// What every vocabulary has: a stored key and the words people see.
pub trait Vocabulary: Copy {
    /// The stable key stored in documents.
    fn key(self) -> &'static str;
    /// The words people see.
    fn label(self) -> &'static str;
}
pub(crate) use vocabulary;

vocabulary! {
    /// What kind of requirement a finding is: CQC's "Must Do" and "Should Do"
    /// actions, enforcement notices, exit criteria or the trust's own findings.
    FindingKind, "finding kind" {
        MustDo = "must_do", "Must Do" | "must" | "md";
        ShouldDo = "should_do", "Should Do" | "should" | "sd";
        /// A Section 29A warning notice.
        WarningNotice = "warning_notice", "Warning notice (s29A)" | "warning notice" | "s29a" | "section 29a"
            | "section 29a warning notice" | "s29a warning notice" | "warning notice section 29a";
        RequirementNotice = "requirement_notice", "Requirement notice" | "rn";
        /// Conditions imposed on registration under section 31 (urgent).
        Section31 = "section_31", "Conditions (s31)" | "s31" | "section 31" | "section 31 notice"
            | "section 31 conditions" | "urgent conditions" | "s31 urgent notice of decision";
        /// A requirement to provide information under section 64.
        Section64 = "section_64", "Information request (s64)" | "s64" | "section 64"
            | "section 64 request" | "section 64 letter";
        /// An exit criterion of the Recovery Support Programme.
        ExitCriterion = "exit_criterion", "Exit criterion" | "rsp exit criterion";
        Internal = "internal", "Internal" | "trust identified" | "self identified";
    }
}

vocabulary! {
    /// The five questions CQC asks of every service.
    KeyQuestion, "key question" {
        Safe = "safe", "Safe";
        Effective = "effective", "Effective";
        Caring = "caring", "Caring";
        Responsive = "responsive", "Responsive";
        WellLed = "well_led", "Well-led";
    }
}

vocabulary! {
    /// Where an action is in its lifecycle. Never stored: it is the fold of the
    /// action's transition log (see [`crate::lifecycle`]).
    Status, "status" {
        Draft = "draft", "Draft";
        Agreed = "agreed", "Agreed" | "not started";
        InProgress = "in_progress", "In progress" | "ongoing" | "started";
        CompletionProposed = "completion_proposed", "Completion proposed" | "proposed for closure" | "complete awaiting validation";
        /// The executive lead has endorsed the proposed completion; the
        /// evidence awaits a validator.
        Endorsed = "endorsed", "Endorsed by executive lead" | "endorsed" | "endorsed by lead";
        EvidenceAccepted = "evidence_accepted", "Evidence accepted" | "validated";
        Closed = "closed", "Closed" | "complete" | "completed";
        Embedded = "embedded", "Embedded" | "sustained";
        Reopened = "reopened", "Reopened" | "re-opened";
        /// Carried in by an import with a status past "in progress" that
        /// nobody in Plait has assured yet: a validator confirms it with
        /// evidence, or the programme manager records the decision that
        /// closed it. Never counted as green or blue until then.
        Imported = "imported", "Imported, awaiting validation";
    }
}

impl Status {
    /// Whether an import's baseline to this status is only a claim until
    /// someone assures it (everything past "in progress"): such a baseline
    /// lands on [`Status::Imported`].
    pub fn needs_assurance_when_imported(self) -> bool {
        matches!(
            self,
            Status::CompletionProposed
                | Status::Endorsed
                | Status::EvidenceAccepted
                | Status::Closed
                | Status::Embedded
                | Status::Imported
        )
    }

    /// Still to be delivered, so its due date matters.
    pub fn is_open_for_delivery(self) -> bool {
        matches!(
            self,
            Status::Draft | Status::Agreed | Status::InProgress | Status::Reopened
        )
    }
}

vocabulary! {
    /// A day of the week (the day a programme's weekly digest goes out),
    /// Monday first as in the UK.
    Weekday, "day of the week" {
        Monday = "monday", "Monday" | "mon";
        Tuesday = "tuesday", "Tuesday" | "tue";
        Wednesday = "wednesday", "Wednesday" | "wed";
        Thursday = "thursday", "Thursday" | "thu";
        Friday = "friday", "Friday" | "fri";
        Saturday = "saturday", "Saturday" | "sat";
        Sunday = "sunday", "Sunday" | "sun";
    }
}

impl Weekday {
    /// Days after Monday (Monday 0, Sunday 6), as [`crate::Date::weekday`].
    pub fn index(self) -> u8 {
        Weekday::ALL.iter().position(|d| *d == self).unwrap_or(0) as u8
    }
}

vocabulary! {
    /// The owner's confidence that the action will be delivered on time.
    Confidence, "confidence" {
        OnTrack = "on_track", "On track";
        AtRisk = "at_risk", "At risk";
        OffTrack = "off_track", "Off track";
    }
}

vocabulary! {
    /// How much assurance the evidence gives that the risk is controlled.
    Assurance, "assurance level" {
        Substantial = "substantial", "Substantial";
        Reasonable = "reasonable", "Reasonable";
        Limited = "limited", "Limited";
        None = "none", "None" | "no assurance";
    }
}

vocabulary! {
    /// What a piece of evidence is.
    EvidenceKind, "evidence kind" {
        File = "file", "File";
        Link = "link", "Link";
        Note = "note", "Note";
    }
}

vocabulary! {
    /// What sort of thing a piece of evidence is: what a validator and CQC
    /// ask of it differs (a policy shows intent, an audit result shows
    /// practice).
    EvidenceType, "evidence type" {
        Policy = "policy", "Policy or procedure" | "policy" | "procedure" | "sop";
        AuditResult = "audit_result", "Audit result" | "audit";
        TrainingData = "training_data", "Training data" | "training" | "training compliance";
        Minutes = "minutes", "Minutes" | "meeting minutes";
        Photo = "photo", "Photograph" | "photo" | "picture";
        Observation = "observation", "Observation" | "observed practice";
        Other = "other", "Other";
    }
}

vocabulary! {
    /// How a re-audit was carried out.
    ReauditMethod, "re-audit method" {
        RecordsAudit = "records_audit", "Audit of records" | "records" | "record audit";
        Observation = "observation", "Observation of practice" | "observation";
        Interviews = "interviews", "Staff interviews" | "interviews";
        PatientFeedback = "patient_feedback", "Patient feedback" | "feedback";
        DataReview = "data_review", "Review of data" | "data";
        Inspection = "inspection", "Environment inspection" | "walkround" | "inspection";
    }
}

vocabulary! {
    /// A validator's verdict on a piece of evidence.
    EvidenceVerdict, "evidence verdict" {
        Accepted = "accepted", "Accepted";
        Insufficient = "insufficient", "Insufficient";
    }
}

vocabulary! {
    /// What a forum decided about an action.
    DecisionOutcome, "decision outcome" {
        ApproveClosure = "approve_closure", "Approve closure" | "approved" | "close";
        Return = "return", "Return" | "returned";
        Extend = "extend", "Extend" | "extension";
        Reopen = "reopen", "Reopen";
    }
}

vocabulary! {
    /// What a person may do in one programme. Granted per programme.
    Role, "role" {
        /// Reads the programme and the board report.
        Viewer = "viewer", "Viewer" | "board member" | "regulator";
        /// Owns actions: updates progress, attaches evidence, proposes completion.
        Contributor = "contributor", "Contributor" | "owner" | "action owner";
        /// The executive lead: agrees actions and decides due-date changes.
        Lead = "lead", "Executive lead" | "exec lead";
        /// The programme office: reviews evidence, confirms re-audits.
        Validator = "validator", "Validator";
        /// The forum that closes actions and records decisions.
        Approver = "approver", "Approver" | "forum";
        /// The programme manager: builds the programme and imports plans.
        Admin = "admin", "Programme manager" | "administrator";
    }
}

vocabulary! {
    /// The colour a board paper shows for an action (BRAG), derived, never stored.
    Colour, "colour" {
        Red = "red", "Red" | "r";
        Amber = "amber", "Amber" | "a";
        Green = "green", "Green" | "g";
        Blue = "blue", "Blue" | "b";
        /// Blue with a mark: closed and proven embedded by a re-audit.
        BlueEmbedded = "blue_embedded", "Blue (embedded)";
        /// Open, not overdue, and nobody has rated its confidence yet.
        Grey = "grey", "Not rated";
    }
}

vocabulary! {
    /// The outcome of a sustainment re-audit.
    CheckOutcome, "re-audit outcome" {
        Passed = "passed", "Passed" | "pass";
        Failed = "failed", "Failed" | "fail";
    }
}

vocabulary! {
    /// What a forum does with the programme's actions: decides on them (a
    /// committee's pack of proposed closures, extensions and failed
    /// re-audits), or receives reports (the board's paper).
    Remit, "forum remit" {
        Decides = "decides", "Takes decisions on actions";
        Receives = "receives", "Receives reports";
    }
}

vocabulary! {
    /// What a phase-2 measure tells: the aim's result, a process that
    /// drives it, or a check that nothing else got worse.
    MeasureKind, "measure kind" {
        Outcome = "outcome", "Outcome";
        Process = "process", "Process";
        Balancing = "balancing", "Balancing";
    }
}

vocabulary! {
    /// How a root cause was found.
    AnalysisMethod, "analysis method" {
        FiveWhys = "five_whys", "Five whys" | "5 whys";
        Fishbone = "fishbone", "Fishbone (cause and effect)" | "ishikawa" | "cause and effect";
        ThematicReview = "thematic_review", "Thematic review" | "thematic analysis";
    }
}

vocabulary! {
    /// A node of a driver diagram, left to right.
    DriverKind, "driver diagram node" {
        /// What, by how much, by when.
        Aim = "aim", "Aim";
        /// What most directly moves the aim.
        Primary = "primary", "Primary driver";
        /// What moves a primary driver.
        Secondary = "secondary", "Secondary driver";
        /// A change to test, carried out by actions and PDSA cycles.
        ChangeIdea = "change_idea", "Change idea";
    }
}

impl DriverKind {
    /// The kind a node under one of this kind is (none under a change idea).
    pub fn child(self) -> Option<DriverKind> {
        match self {
            DriverKind::Aim => Some(DriverKind::Primary),
            DriverKind::Primary => Some(DriverKind::Secondary),
            DriverKind::Secondary => Some(DriverKind::ChangeIdea),
            DriverKind::ChangeIdea => None,
        }
    }
}

vocabulary! {
    /// What a PDSA cycle's study decided.
    PdsaDecision, "PDSA decision" {
        Adopt = "adopt", "Adopt";
        Adapt = "adapt", "Adapt";
        Abandon = "abandon", "Abandon";
    }
}

vocabulary! {
    /// Whether an exit criterion is met.
    ExitStatus, "exit criterion status" {
        NotMet = "not_met", "Not met";
        PartlyMet = "partly_met", "Partly met";
        Met = "met", "Met";
    }
}

impl Default for Remit {
    /// A forum recorded without a remit decides.
    fn default() -> Self {
        Remit::Decides
    }
}

vocabulary! {
    /// A lead's answer to a due-date change request.
    DueChangeVerdict, "due-date decision" {
        Approved = "approved", "Approved";
        Declined = "declined", "Declined";
    }
}

/// A regulation of the Health and Social Care Act 2008 (Regulated
/// Activities) Regulations 2014 that CQC cites: the fundamental standards,
/// regulations 9 to 20A (with 9A, visiting), and regulations 4 to 7 on who
/// runs a service. It may name a paragraph: "Reg 12(2)(a)" is regulation 12,
/// paragraph "(2)(a)". Anything else is rejected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Regulation {
    number: RegulationNumber,
    /// "(2)(a)", or empty for the whole regulation.
    paragraph: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum RegulationNumber {
    Plain(u8),
    /// 9A and 20A.
    WithA(u8),
}

impl RegulationNumber {
    fn exists(self) -> bool {
        match self {
            RegulationNumber::Plain(n) => (4..=7).contains(&n) || (9..=20).contains(&n),
            RegulationNumber::WithA(n) => n == 9 || n == 20,
        }
    }
}

/// The longest paragraph reference kept ("(2)(a)(ii)" and the like).
const MAX_PARAGRAPH: usize = 24;

impl Regulation {
    /// Every regulation, whole: 4 to 7 and 9 to 20A.
    pub fn all() -> impl Iterator<Item = Regulation> {
        (4..=20u8)
            .flat_map(|n| {
                let plain = RegulationNumber::Plain(n);
                let with_a = RegulationNumber::WithA(n);
                [plain, with_a]
            })
            .filter(|number| number.exists())
            .map(|number| Regulation {
                number,
                paragraph: String::new(),
            })
    }

    /// The whole regulation with this number (4 to 7, 9 to 20), if it exists.
    pub fn number(n: u8) -> Option<Regulation> {
        let number = RegulationNumber::Plain(n);
        number.exists().then(|| Regulation {
            number,
            paragraph: String::new(),
        })
    }

    /// Regulation 20A, requirement as to display of performance assessments.
    pub fn twenty_a() -> Regulation {
        Regulation {
            number: RegulationNumber::WithA(20),
            paragraph: String::new(),
        }
    }

    /// The stored key: "12", "20A", "12(2)(a)".
    pub fn key(&self) -> String {
        format!("{}{}", self.number_key(), self.paragraph)
    }

    /// The regulation's number: "12", "9A".
    pub fn number_key(&self) -> String {
        match self.number {
            RegulationNumber::Plain(n) => n.to_string(),
            RegulationNumber::WithA(n) => format!("{n}A"),
        }
    }

    /// The paragraph cited ("(2)(a)"; empty for the whole regulation).
    pub fn paragraph(&self) -> &str {
        &self.paragraph
    }

    /// The same regulation, whole (for counting breaches by regulation).
    pub fn whole(&self) -> Regulation {
        Regulation {
            number: self.number,
            paragraph: String::new(),
        }
    }

    /// The regulation's title.
    pub fn name(&self) -> &'static str {
        match self.number {
            RegulationNumber::WithA(9) => "Visiting and accompanying",
            RegulationNumber::WithA(_) => "Requirement as to display of performance assessments",
            RegulationNumber::Plain(n) => match n {
                4 => "Requirements where the service provider is an individual or partnership",
                5 => "Fit and proper persons: directors",
                6 => "Requirement where the service provider is a body other than a partnership",
                7 => "Requirements relating to registered managers",
                9 => "Person-centred care",
                10 => "Dignity and respect",
                11 => "Need for consent",
                12 => "Safe care and treatment",
                13 => "Safeguarding service users from abuse and improper treatment",
                14 => "Meeting nutritional and hydration needs",
                15 => "Premises and equipment",
                16 => "Receiving and acting on complaints",
                17 => "Good governance",
                18 => "Staffing",
                19 => "Fit and proper persons employed",
                _ => "Duty of candour",
            },
        }
    }

    /// Reads "12", "Reg 12", "Regulation 12(2)(a)", "reg. 20A", "Reg 9A",
    /// "Regulation 12 (1) (2)(b)", ignoring case.
    ///
    /// # Errors
    /// [`UnknownValue`] for anything that is not one of the regulations, or
    /// a paragraph that is not a run of "(…)" references.
    pub fn parse_loose(text: &str) -> Result<Regulation, UnknownValue> {
        let unknown = || UnknownValue {
            what: "regulation",
            value: text.trim().to_owned(),
        };
        let lower = text.trim().to_ascii_lowercase();
        let rest = ["regulation", "reg.", "reg"]
            .iter()
            .find_map(|prefix| lower.strip_prefix(prefix))
            .unwrap_or(&lower)
            .trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 2 {
            return Err(unknown());
        }
        let n: u8 = rest[..digits].parse().map_err(|_| unknown())?;
        let mut rest = &rest[digits..];
        let number = if let Some(after) = rest.strip_prefix('a') {
            rest = after;
            RegulationNumber::WithA(n)
        } else {
            RegulationNumber::Plain(n)
        };
        if !number.exists() {
            return Err(unknown());
        }
        // The paragraph: "(2)(a)", spaces between parts allowed.
        let mut paragraph = String::new();
        let mut rest = rest.trim();
        while !rest.is_empty() {
            let inner = rest.strip_prefix('(').ok_or_else(unknown)?;
            let close = inner.find(')').ok_or_else(unknown)?;
            let part = inner[..close].trim();
            if part.is_empty() || part.len() > 4 || !part.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(unknown());
            }
            paragraph.push('(');
            paragraph.push_str(part);
            paragraph.push(')');
            rest = inner[close + 1..].trim_start();
        }
        if paragraph.len() > MAX_PARAGRAPH {
            return Err(unknown());
        }
        Ok(Regulation { number, paragraph })
    }
}

impl FromStr for Regulation {
    type Err = UnknownValue;
    fn from_str(key: &str) -> Result<Self, UnknownValue> {
        Regulation::parse_loose(key)
    }
}

impl TryFrom<String> for Regulation {
    type Error = UnknownValue;
    fn try_from(key: String) -> Result<Self, UnknownValue> {
        Regulation::parse_loose(&key)
    }
}

impl From<Regulation> for String {
    fn from(regulation: Regulation) -> String {
        regulation.key()
    }
}

impl fmt::Display for Regulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regulation {}: {}", self.key(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn keys_round_trip_for_every_vocabulary() {
        for kind in FindingKind::ALL {
            assert_eq!(kind.key().parse::<FindingKind>(), Ok(*kind));
            assert_eq!(FindingKind::parse_loose(kind.label()), Ok(*kind));
        }
        for status in Status::ALL {
            assert_eq!(status.key().parse::<Status>(), Ok(*status));
        }
        for role in Role::ALL {
            assert_eq!(Role::parse_loose(role.label()), Ok(*role));
        }
    }

    #[test]
    fn spreadsheet_spellings_are_understood() {
        assert_eq!(
            FindingKind::parse_loose(" must do "),
            Ok(FindingKind::MustDo)
        );
        assert_eq!(
            KeyQuestion::parse_loose("Well led"),
            Ok(KeyQuestion::WellLed)
        );
        assert_eq!(Status::parse_loose("Not started"), Ok(Status::Agreed));
        assert_eq!(
            Confidence::parse_loose("OFF-TRACK"),
            Ok(Confidence::OffTrack)
        );
        // How trackers name a Section 29A warning notice (issue 14).
        for text in [
            "Section 29A warning notice",
            "S29A warning notice",
            "Warning notice (s29A)",
            "warning notice - section 29A",
        ] {
            assert_eq!(
                FindingKind::parse_loose(text),
                Ok(FindingKind::WarningNotice),
                "{text}"
            );
        }
    }

    #[test]
    fn unknown_values_are_rejected_not_guessed() {
        let err = FindingKind::parse_loose("Could Do").unwrap_err();
        assert_eq!(err.what, "finding kind");
        assert_eq!(err.value, "Could Do");
        assert!(
            "Safe".parse::<KeyQuestion>().is_err(),
            "labels are not keys"
        );
    }

    #[test]
    fn regulations_with_paragraphs_and_nothing_else() {
        // 4 to 7, 9 to 20, 9A and 20A.
        assert_eq!(Regulation::all().count(), 18);
        for (text, key, paragraph) in [
            ("Reg 12(2)(a)", "12(2)(a)", "(2)(a)"),
            ("Regulation 12 (2) (a)", "12(2)(a)", "(2)(a)"),
            ("Regulation 9A", "9A", ""),
            ("reg 9a(1)", "9A(1)", "(1)"),
            ("Regulation 5", "5", ""),
            ("17(2)(b)(ii)", "17(2)(b)(ii)", "(2)(b)(ii)"),
        ] {
            let regulation = Regulation::parse_loose(text).unwrap();
            assert_eq!(regulation.key(), key, "{text}");
            assert_eq!(regulation.paragraph(), paragraph, "{text}");
            // The key reads back as itself.
            assert_eq!(Regulation::parse_loose(&regulation.key()), Ok(regulation));
        }
        assert_eq!(
            Regulation::parse_loose("Reg 12(2)(a)").unwrap().whole(),
            Regulation::number(12).unwrap()
        );
        for bad in [
            "Reg 8", "3", "9B", "12(", "12(2", "12 (a b)", "12 foo", "12()",
        ] {
            assert!(
                Regulation::parse_loose(bad).is_err(),
                "{bad:?} must be rejected"
            );
        }
        for text in ["12", "Reg 12", "Regulation 12", "reg. 12", " REG12 "] {
            assert_eq!(
                Regulation::parse_loose(text),
                Ok(Regulation::number(12).unwrap()),
                "{text}"
            );
        }
        assert_eq!(
            Regulation::parse_loose("Regulation 20A"),
            Ok(Regulation::twenty_a())
        );
        assert_eq!(Regulation::twenty_a().key(), "20A");
        assert_eq!(
            Regulation::number(15).unwrap().name(),
            "Premises and equipment"
        );
        for bad in [
            "8", "21", "20B", "", "Reg", "twelve", "1 2", "-12", "255", "999999", "3",
        ] {
            assert!(
                Regulation::parse_loose(bad).is_err(),
                "{bad:?} must be rejected"
            );
        }
    }
}
