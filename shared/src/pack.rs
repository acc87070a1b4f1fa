//! An evidence pack for CQC: for one finding (a Must Do, one of a warning
//! notice's failings), every piece of evidence of every action that answers
//! it, with what it evidences, the verdicts on it and the assurance they
//! gave, and the actions that have none yet. The server zips it with the
//! files (`GET /api/docs/{plan}/findings/{finding}/pack`); the index is
//! here, so that what a pack says is the shared model's.

use std::collections::BTreeMap;

use crate::entries::{Evidence, EvidenceReview};
use crate::ids::{ActionId, FindingId, UserId};
use crate::plan::{ActionView, FindingView, PlanView};
use crate::vocab::{EvidenceKind, Status};

/// One piece of evidence of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackItem {
    /// The action it evidences.
    pub action: ActionId,
    /// The action's reference ("MD001.1").
    pub reference: String,
    /// The action's title.
    pub action_title: String,
    /// The action's status.
    pub status: Status,
    /// The evidence.
    pub evidence: Evidence,
    /// The verdicts on it, oldest first.
    pub verdicts: Vec<EvidenceReview>,
    /// For a file, its name in the pack's `files/` folder (one file serving
    /// several actions is there once).
    pub file: Option<String>,
}

/// A finding's evidence pack, ready to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePack {
    /// The finding.
    pub finding: FindingView,
    /// Every piece of evidence of its actions, by action reference.
    pub items: Vec<PackItem>,
    /// Its actions with no evidence yet: reference, title, status.
    pub without_evidence: Vec<(String, String, Status)>,
}

/// A file name safe in a ZIP, a URL and every file system: letters,
/// digits, '.', and '-' for the rest; at most 60 characters.
pub fn safe_file_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    trimmed.chars().take(60).collect()
}

/// The pack of `finding` in `plan`, or `None` if the plan has no such
/// finding.
pub fn evidence_pack(plan: &PlanView, finding: &FindingId) -> Option<EvidencePack> {
    let found = plan.findings.get(finding)?.clone();
    let mut actions: Vec<&ActionView> = plan
        .actions
        .values()
        .filter(|a| a.finding_ids.contains(finding))
        .collect();
    actions.sort_by(|a, b| a.reference.cmp(&b.reference));
    let mut items = Vec::new();
    let mut without = Vec::new();
    // One name per file (by its SHA-256).
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for action in actions {
        if action.evidence.is_empty() {
            without.push((
                action.reference.clone(),
                action.title.clone(),
                action.status(),
            ));
            continue;
        }
        for (n, evidence) in action.evidence.iter().enumerate() {
            let file = (evidence.kind == EvidenceKind::File).then(|| {
                let count = names.len();
                names
                    .entry(evidence.location.clone())
                    .or_insert_with(|| {
                        format!(
                            "{:03}-{}-{}-{}",
                            count + 1,
                            safe_file_name(&action.reference),
                            n + 1,
                            safe_file_name(&evidence.title)
                        )
                    })
                    .clone()
            });
            items.push(PackItem {
                action: action.id.clone(),
                reference: action.reference.clone(),
                action_title: action.title.clone(),
                status: action.status(),
                evidence: evidence.clone(),
                verdicts: action
                    .evidence_reviews
                    .iter()
                    .filter(|r| r.evidence_id == evidence.id)
                    .cloned()
                    .collect(),
                file,
            });
        }
    }
    Some(EvidencePack {
        finding: found,
        items,
        without_evidence: without,
    })
}

impl EvidencePack {
    /// The files to put in the pack: (name in `files/`, SHA-256), once each.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        self.items
            .iter()
            .filter_map(|i| Some((i.file.clone()?, i.evidence.location.clone())))
            .filter(|(_, sha)| seen.insert(sha.clone()))
            .collect()
    }

    /// The index's columns.
    pub const HEADERS: [&'static str; 12] = [
        "Action",
        "Action title",
        "Action status",
        "Evidence",
        "Type",
        "Kind",
        "Period",
        "Where from",
        "Attached by",
        "Attached on",
        "In the pack as",
        "Verdicts",
    ];

    /// The index, one row per piece of evidence of each action (then one
    /// per action with none), people named by `name`.
    pub fn rows(&self, name: &dyn Fn(&UserId) -> String) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = self
            .items
            .iter()
            .map(|i| {
                let e = &i.evidence;
                let period = match (e.period_from, e.period_to) {
                    (Some(a), Some(b)) if a == b => a.iso(),
                    (Some(a), Some(b)) => format!("{} to {}", a.iso(), b.iso()),
                    (Some(a), None) => format!("from {}", a.iso()),
                    (None, Some(b)) => format!("to {}", b.iso()),
                    (None, None) => String::new(),
                };
                let place = match e.kind {
                    EvidenceKind::File => i
                        .file
                        .as_ref()
                        .map(|f| format!("files/{f}"))
                        .unwrap_or_default(),
                    EvidenceKind::Link => e.location.clone(),
                    EvidenceKind::Note => String::new(),
                };
                let verdicts = if i.verdicts.is_empty() {
                    "Not reviewed yet".to_owned()
                } else {
                    i.verdicts
                        .iter()
                        .map(|r| {
                            let level = r
                                .assurance
                                .map(|a| format!(", {} assurance", a.label().to_ascii_lowercase()))
                                .unwrap_or_default();
                            let note = if r.note.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", r.note)
                            };
                            format!(
                                "{} by {} on {}{level}{note}",
                                r.verdict.label(),
                                name(&r.by),
                                r.at.date().iso()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                vec![
                    i.reference.clone(),
                    i.action_title.clone(),
                    i.status.label().to_owned(),
                    e.title.clone(),
                    e.evidence_type
                        .map(|t| t.label().to_owned())
                        .unwrap_or_default(),
                    e.kind.label().to_owned(),
                    period,
                    e.site.clone(),
                    name(&e.by),
                    e.at.date().iso(),
                    place,
                    verdicts,
                ]
            })
            .collect();
        for (reference, title, status) in &self.without_evidence {
            let mut row = vec![String::new(); Self::HEADERS.len()];
            row[0] = reference.clone();
            row[1] = title.clone();
            row[2] = status.label().to_owned();
            row[3] = "No evidence attached yet".to_owned();
            rows.push(row);
        }
        rows
    }
}
