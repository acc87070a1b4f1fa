//! The colour a board paper shows for an action (BRAG): which condition of
//! the action decides it ([`ColourRule`]) and which colour each condition
//! shows ([`ColourScheme`], a programme's setting).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::Date;
use crate::plan::ActionView;
use crate::vocab::{Colour, Confidence, Status};

crate::vocab::vocabulary! {
    /// A condition of an action that the colour scheme gives a colour to.
    /// The first that holds decides: closed and embedded first, then overdue,
    /// then the stage of assurance, then the owner's confidence.
    ColourRule, "colour rule" {
        Embedded = "embedded", "Embedded";
        Closed = "closed", "Closed";
        Overdue = "overdue", "Overdue";
        /// Imported with a status past "in progress" that nobody has
        /// assured yet.
        Imported = "imported", "Imported, awaiting validation";
        EvidenceAccepted = "evidence_accepted", "Evidence accepted";
        CompletionProposed = "completion_proposed", "Completion proposed";
        OffTrack = "off_track", "Off track";
        AtRisk = "at_risk", "At risk";
        OnTrack = "on_track", "On track";
        NotRated = "not_rated", "Not rated";
    }
}

/// The colour each [`ColourRule`] shows. Defaults to the usual BRAG scheme:
/// red for overdue or off track, amber at risk or imported as done but not
/// yet assured, green on track or awaiting assurance, blue closed, blue with a mark embedded, grey not yet rated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColourScheme(BTreeMap<ColourRule, Colour>);

impl Default for ColourScheme {
    fn default() -> Self {
        ColourScheme(
            ColourRule::ALL
                .iter()
                .map(|&rule| (rule, ColourScheme::default_colour(rule)))
                .collect(),
        )
    }
}

impl ColourScheme {
    /// The default BRAG colour of a rule.
    pub fn default_colour(rule: ColourRule) -> Colour {
        match rule {
            ColourRule::Embedded => Colour::BlueEmbedded,
            ColourRule::Closed => Colour::Blue,
            ColourRule::Overdue | ColourRule::OffTrack => Colour::Red,
            ColourRule::AtRisk | ColourRule::Imported => Colour::Amber,
            ColourRule::EvidenceAccepted | ColourRule::CompletionProposed | ColourRule::OnTrack => {
                Colour::Green
            }
            ColourRule::NotRated => Colour::Grey,
        }
    }

    /// The colour for a rule.
    pub fn colour(&self, rule: ColourRule) -> Colour {
        self.0
            .get(&rule)
            .copied()
            .unwrap_or_else(|| ColourScheme::default_colour(rule))
    }

    /// Changes the colour for a rule.
    pub fn set(&mut self, rule: ColourRule, colour: Colour) {
        self.0.insert(rule, colour);
    }

    /// The rule that decides an action's colour on `today`.
    pub fn rule_for(action: &ActionView, today: Date) -> ColourRule {
        match action.status() {
            Status::Embedded => ColourRule::Embedded,
            Status::Closed => ColourRule::Closed,
            Status::Imported => ColourRule::Imported,
            _ if action.is_overdue(today) => ColourRule::Overdue,
            Status::EvidenceAccepted => ColourRule::EvidenceAccepted,
            Status::CompletionProposed | Status::Endorsed => ColourRule::CompletionProposed,
            _ => match action.confidence {
                Some(Confidence::OffTrack) => ColourRule::OffTrack,
                Some(Confidence::AtRisk) => ColourRule::AtRisk,
                Some(Confidence::OnTrack) => ColourRule::OnTrack,
                None => ColourRule::NotRated,
            },
        }
    }

    /// The colour of an action on `today`.
    pub fn colour_of(&self, action: &ActionView, today: Date) -> Colour {
        self.colour(ColourScheme::rule_for(action, today))
    }
}
