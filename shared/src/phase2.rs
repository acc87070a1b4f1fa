//! Phase 2 of the programme: its measures, each with its data series drawn
//! as a Making Data Count SPC chart ([`crate::spc`]); its driver diagrams
//! as trees; what links to what ([`crate::improvement`]); which change
//! ideas were adopted; how many exit criteria are met.

use crate::ids::{Date, DriverId, MeasureId, MeasurePointId};
use crate::improvement::{Driver, Node};
use crate::programme::{Measure, ProgrammeView};
use crate::spc::{xmr, Chart, ChartOptions};
use crate::vocab::{DriverKind, ExitStatus, PdsaDecision};

/// What `from` is linked to, in key order (links to what no longer
/// exists are the caller's to leave out).
pub fn linked_from(programme: &ProgrammeView, from: &Node) -> Vec<Node> {
    let mut out: Vec<Node> = programme
        .improvement
        .links
        .values()
        .filter(|l| &l.from == from)
        .map(|l| l.to.clone())
        .collect();
    out.sort();
    out
}

/// What links to `to`, in key order.
pub fn linked_to(programme: &ProgrammeView, to: &Node) -> Vec<Node> {
    let mut out: Vec<Node> = programme
        .improvement
        .links
        .values()
        .filter(|l| &l.to == to)
        .map(|l| l.from.clone())
        .collect();
    out.sort();
    out
}

/// A node of a driver diagram with the nodes it drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Its id.
    pub id: DriverId,
    /// It.
    pub driver: Driver,
    /// What drives it (a primary driver's secondary drivers, ...), by id.
    pub children: Vec<Branch>,
}

impl Branch {
    /// It and every node under it, depth first.
    pub fn walk(&self) -> Vec<&Branch> {
        let mut out = vec![self];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    /// How many leaves (nodes with nothing under them) it spans: the rows
    /// it takes when drawn.
    pub fn leaves(&self) -> usize {
        if self.children.is_empty() {
            1
        } else {
            self.children.iter().map(Branch::leaves).sum()
        }
    }
}

/// The programme's driver diagrams: each aim with its drivers and change
/// ideas, by id. A node under a parent that is gone, or of a kind that
/// does not belong there (a change idea straight under an aim is allowed:
/// diagrams skip columns), is in [`unplaced`] instead.
pub fn diagrams(programme: &ProgrammeView) -> Vec<Branch> {
    let drivers = &programme.improvement.drivers;
    fn grow(
        id: &DriverId,
        driver: &Driver,
        all: &std::collections::BTreeMap<DriverId, Driver>,
        depth: usize,
    ) -> Branch {
        let children = if depth > 4 {
            Vec::new()
        } else {
            all.iter()
                .filter(|(_, d)| d.parent.as_ref() == Some(id) && fits(driver.kind, d.kind))
                .map(|(cid, d)| grow(cid, d, all, depth + 1))
                .collect()
        };
        Branch {
            id: id.clone(),
            driver: driver.clone(),
            children,
        }
    }
    drivers
        .iter()
        .filter(|(_, d)| d.kind == Some(DriverKind::Aim))
        .map(|(id, d)| grow(id, d, drivers, 0))
        .collect()
}

/// Whether a node of kind `child` may sit under one of kind `parent`:
/// further right in the diagram.
fn fits(parent: Option<DriverKind>, child: Option<DriverKind>) -> bool {
    match (parent, child) {
        (Some(p), Some(c)) => c > p,
        _ => false,
    }
}

/// The nodes no diagram shows: not an aim and not under one.
pub fn unplaced(programme: &ProgrammeView) -> Vec<(DriverId, Driver)> {
    let placed: std::collections::BTreeSet<DriverId> = diagrams(programme)
        .iter()
        .flat_map(|b| b.walk().into_iter().map(|n| n.id.clone()))
        .collect();
    programme
        .improvement
        .drivers
        .iter()
        .filter(|(id, _)| !placed.contains(*id))
        .map(|(id, d)| (id.clone(), d.clone()))
        .collect()
}

/// A change idea's latest decision: that of its PDSA cycle started last
/// (of two started the same day, the greater id) that has one.
pub fn decision_of(programme: &ProgrammeView, idea: &DriverId) -> Option<PdsaDecision> {
    programme
        .improvement
        .cycles
        .iter()
        .filter(|(_, c)| c.change_idea.as_ref() == Some(idea) && c.decision.is_some())
        .max_by(|(a_id, a), (b_id, b)| a.started.cmp(&b.started).then_with(|| a_id.cmp(b_id)))
        .and_then(|(_, c)| c.decision)
}

/// The change ideas adopted (their latest PDSA cycle decided to adopt),
/// each with its aim's text, in diagram order.
pub fn adopted(programme: &ProgrammeView) -> Vec<(String, String)> {
    diagrams(programme)
        .iter()
        .flat_map(|aim| {
            aim.walk()
                .into_iter()
                .filter(|n| n.driver.kind == Some(DriverKind::ChangeIdea))
                .filter(|n| decision_of(programme, &n.id) == Some(PdsaDecision::Adopt))
                .map(|n| (n.driver.text.clone(), aim.driver.text.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// How far the programme is towards its exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Readiness {
    /// Criteria met.
    pub met: usize,
    /// Criteria partly met.
    pub partly: usize,
    /// Every criterion.
    pub total: usize,
}

/// How many of the programme's exit criteria are met.
pub fn readiness(programme: &ProgrammeView) -> Readiness {
    let criteria = &programme.improvement.exit_criteria;
    Readiness {
        met: criteria
            .values()
            .filter(|c| c.status == Some(ExitStatus::Met))
            .count(),
        partly: criteria
            .values()
            .filter(|c| c.status == Some(ExitStatus::PartlyMet))
            .count(),
        total: criteria.len(),
    }
}

/// One line of a measure's values that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// Its number, from 1.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// A measure's values from CSV text: one `period,value` per line (a
/// header line is skipped; fields may be quoted, so "1,250" is one
/// value). A period is a date as trusts type it (`01/04/2023`,
/// `2023-04-01`), a month (`Apr 2023`, `April 2023`, `2023-04`), read as
/// the first day of that month when only a month is given. Every bad line
/// is said, and then nothing is read.
///
/// # Errors
/// The lines that could not be read.
pub fn read_values_csv(text: &str) -> Result<Vec<(Date, String)>, Vec<BadLine>> {
    let mut values = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let fields = split_csv(line);
        let (period, value) = match fields.as_slice() {
            [period, value, ..] => (period.trim(), value.trim()),
            _ => {
                bad.push(BadLine {
                    line: n + 1,
                    reason: "expected a period and a value, separated by a comma".into(),
                });
                continue;
            }
        };
        let day = read_period(period);
        let number = number(value);
        if values.is_empty() && bad.is_empty() && day.is_none() && number.is_none() {
            continue; // The header.
        }
        match (day, number) {
            (Some(day), Some(_)) => values.push((day, value.replace(',', ""))),
            (None, _) => bad.push(BadLine {
                line: n + 1,
                reason: format!("{period:?} is not a date or a month (use 01/04/2023 or Apr 2023)"),
            }),
            (_, None) => bad.push(BadLine {
                line: n + 1,
                reason: format!("{value:?} is not a number"),
            }),
        }
    }
    if bad.is_empty() {
        Ok(values)
    } else {
        Err(bad)
    }
}

/// A period as people write it: a date, or a month (its first day).
fn read_period(text: &str) -> Option<Date> {
    if let Ok(day) = Date::parse_loose(text) {
        return Some(day);
    }
    // "2023-04".
    if let Some((year, month)) = text.split_once('-') {
        if year.len() == 4 {
            if let (Ok(year), Ok(month)) = (year.parse::<i32>(), month.parse::<u8>()) {
                return Date::from_ymd(year, month, 1).ok();
            }
        }
    }
    // "Apr 2023", "April 2023".
    Date::parse_loose(&format!("1 {text}")).ok()
}

/// One CSV line's fields (double quotes group, `""` is a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = fields.last_mut() {
                    f.push('"');
                }
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// One value of a series, with where it is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Its entry.
    pub id: MeasurePointId,
    /// Its period.
    pub period: Date,
    /// The value.
    pub value: f64,
}

/// A measure's series in period order: one value per period (of two
/// entered for the same period, the one with the greater id, so every copy
/// shows the same).
pub fn series(programme: &ProgrammeView, measure: &MeasureId) -> Vec<Value> {
    let mut by_period: std::collections::BTreeMap<Date, Value> = std::collections::BTreeMap::new();
    for (id, point) in &programme.measure_points {
        let (Some(period), Some(value)) = (point.period, number(&point.value)) else {
            continue;
        };
        if point.measure_id.as_ref() != Some(measure) {
            continue;
        }
        let keep = by_period.get(&period).is_none_or(|held| held.id < *id);
        if keep {
            by_period.insert(
                period,
                Value {
                    id: id.clone(),
                    period,
                    value,
                },
            );
        }
    }
    by_period.into_values().collect()
}

/// A number as written ("12.5", "1,250"): finite, or none.
pub fn number(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// A measure's chart from its series: limits recalculated from each of its
/// rebase periods, from its baseline points.
pub fn chart(measure: &Measure, series: &[Value]) -> Chart {
    let values: Vec<f64> = series.iter().map(|v| v.value).collect();
    let rebase = measure
        .rebase
        .iter()
        .filter_map(|day| series.iter().position(|v| v.period >= *day))
        .collect();
    xmr(
        &values,
        &ChartOptions {
            rebase,
            baseline: measure.baseline,
            direction: measure.direction,
            target: number(&measure.target),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::new_doc;
    use crate::programme::ProgrammeDoc;
    use crate::spc::{Direction, Variation};
    use crate::vocab::{DriverKind, ExitStatus, PdsaDecision};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use yrs::Transact;

    /// A measure stored and read back; its series by period (a value
    /// entered twice for a month keeps one); its chart as spc computes it.
    #[test]
    fn a_measure_and_its_series_make_its_chart() {
        let doc = ProgrammeDoc::new(new_doc());
        let id = MeasureId::new("m-restraint").unwrap();
        let measure = Measure {
            name: "Restraints per 1,000 occupied bed days".into(),
            kind: Some(crate::vocab::MeasureKind::Outcome),
            direction: Some(Direction::Decrease),
            target: "5".into(),
            baseline: Some(10),
            rebase: vec![],
            ..Measure::default()
        };
        let values = [
            10.0, 12.0, 11.0, 13.0, 12.0, 11.0, 10.0, 12.0, 11.0, 13.0, 20.0,
        ];
        {
            let mut txn = doc.doc().transact_mut();
            doc.put_measure(&mut txn, &id, &measure);
            for (n, v) in values.iter().enumerate() {
                let month = Date::from_ymd(2026, 1, 1).unwrap().add_months(n as u32);
                // Entered out of order.
                let point = MeasurePointId::new(format!("p-{}", 100 - n)).unwrap();
                doc.put_measure_point(&mut txn, &point, &id, month, &v.to_string());
            }
            // January again, later: one January remains.
            doc.put_measure_point(
                &mut txn,
                &MeasurePointId::new("p-999").unwrap(),
                &id,
                Date::from_ymd(2026, 1, 1).unwrap(),
                "10",
            );
        }
        let view = doc.read(&doc.doc().transact());
        assert_eq!(view.measures[&id], measure);
        let series = series(&view, &id);
        assert_eq!(series.len(), 11);
        assert_eq!(series[0].id.as_str(), "p-999");
        let chart = chart(&view.measures[&id], &series);
        assert_eq!(chart.segments[0].baseline, 10);
        // 20 is above the limits; lower is better: a concern.
        assert_eq!(chart.variation, Some(Variation::ConcernHigh));
        // A target of 5 is below the lower limit (7.66): lower is better,
        // and the process never gets that low: it consistently fails it.
        assert_eq!(
            chart.assurance,
            Some(crate::spc::AssuranceIcon::ConsistentFail)
        );
    }

    /// A driver diagram read back as a tree: an aim, its primary and
    /// secondary drivers and change ideas; a node whose parent was removed
    /// and one placed left of its parent are unplaced; the change idea
    /// whose latest cycle adopted it is adopted; exit readiness counts.
    #[test]
    fn a_driver_diagram_is_a_tree_and_its_adopted_ideas_are_known() {
        use crate::ids::{CycleId, ExitCriterionId};
        use crate::improvement::{Cycle, ExitCriterion};
        let doc = ProgrammeDoc::new(new_doc());
        let id = |s: &str| DriverId::new(s).unwrap();
        let node = |kind, parent: Option<&str>, text: &str| Driver {
            kind: Some(kind),
            parent: parent.map(id),
            text: text.into(),
            ..Driver::default()
        };
        {
            let mut txn = doc.doc().transact_mut();
            for (key, driver) in [
                (
                    "a",
                    node(
                        DriverKind::Aim,
                        None,
                        "Reduce restraint by 30% by March 2027",
                    ),
                ),
                ("p1", node(DriverKind::Primary, Some("a"), "Skilled staff")),
                (
                    "p2",
                    node(DriverKind::Primary, Some("a"), "Therapeutic wards"),
                ),
                (
                    "s1",
                    node(DriverKind::Secondary, Some("p1"), "De-escalation training"),
                ),
                (
                    "c1",
                    node(DriverKind::ChangeIdea, Some("s1"), "Safewards on Cedar"),
                ),
                (
                    "c2",
                    node(
                        DriverKind::ChangeIdea,
                        Some("s1"),
                        "Debrief after restraint",
                    ),
                ),
                (
                    "c3",
                    node(DriverKind::ChangeIdea, Some("p2"), "Activity coordinators"),
                ),
                (
                    "gone",
                    node(DriverKind::Secondary, Some("removed"), "Orphan"),
                ),
                (
                    "back",
                    node(DriverKind::Primary, Some("c1"), "Wrong way round"),
                ),
            ] {
                doc.put_driver(&mut txn, &id(key), &driver);
            }
            let cycle = |idea: &str, day: &str, decision| Cycle {
                change_idea: Some(id(idea)),
                title: "test".into(),
                decision,
                started: Some(Date::parse_iso(day).unwrap()),
                ..Cycle::default()
            };
            // c1 adapted, then adopted; c2 adopted, then abandoned.
            for (key, c) in [
                ("k1", cycle("c1", "2026-01-05", Some(PdsaDecision::Adapt))),
                ("k2", cycle("c1", "2026-02-05", Some(PdsaDecision::Adopt))),
                ("k3", cycle("c2", "2026-01-05", Some(PdsaDecision::Adopt))),
                ("k4", cycle("c2", "2026-03-05", Some(PdsaDecision::Abandon))),
                ("k5", cycle("c3", "2026-04-05", None)),
            ] {
                doc.put_cycle(&mut txn, &CycleId::new(key).unwrap(), &c);
            }
            for (key, status) in [
                ("x1", Some(ExitStatus::Met)),
                ("x2", Some(ExitStatus::PartlyMet)),
                ("x3", None),
            ] {
                doc.put_exit_criterion(
                    &mut txn,
                    &ExitCriterionId::new(key).unwrap(),
                    &ExitCriterion {
                        text: key.into(),
                        status,
                        ..ExitCriterion::default()
                    },
                );
            }
        }
        let view = doc.read(&doc.doc().transact());
        assert!(view.problems.is_empty(), "{:?}", view.problems);
        let trees = diagrams(&view);
        assert_eq!(trees.len(), 1);
        let aim = &trees[0];
        let ids: Vec<&str> = aim.walk().iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["a", "p1", "s1", "c1", "c2", "p2", "c3"]);
        assert_eq!(aim.leaves(), 3);
        let unplaced: Vec<String> = unplaced(&view)
            .into_iter()
            .map(|(id, _)| id.to_string())
            .collect();
        assert_eq!(unplaced, ["back", "gone"]);
        assert_eq!(decision_of(&view, &id("c3")), None);
        assert_eq!(
            adopted(&view),
            vec![(
                "Safewards on Cedar".to_owned(),
                "Reduce restraint by 30% by March 2027".to_owned()
            )]
        );
        assert_eq!(
            readiness(&view),
            Readiness {
                met: 1,
                partly: 1,
                total: 3
            }
        );
    }

    /// Values from CSV: a header skipped, dates and months read, quoted
    /// thousands kept whole; a bad line named, and then nothing read.
    #[test]
    fn measure_values_read_from_csv() {
        let read = read_values_csv(
            "Month,Restraints\n01/04/2023,12.5\nMay 2023,\"1,250\"\n2023-06,9\n\nJuly 2023, 8 \n",
        )
        .unwrap();
        let days: Vec<String> = read
            .iter()
            .map(|(d, v)| format!("{} {v}", d.iso()))
            .collect();
        assert_eq!(
            days,
            [
                "2023-04-01 12.5",
                "2023-05-01 1250",
                "2023-06-01 9",
                "2023-07-01 8"
            ]
        );
        let bad =
            read_values_csv("period,value\n01/04/2023,twelve\nSmarch 2023,4\n5\n").unwrap_err();
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(bad[0].reason.contains("not a number"), "{bad:?}");
        assert!(read_values_csv("").unwrap().is_empty());
    }
}
