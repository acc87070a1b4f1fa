//! Phase 2 of the programme: its measures, each with its data series drawn
//! as a Making Data Count SPC chart ([`crate::spc`]).

use crate::ids::{Date, MeasureId, MeasurePointId};
use crate::programme::{Measure, ProgrammeView};
use crate::spc::{xmr, Chart, ChartOptions};

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
}
