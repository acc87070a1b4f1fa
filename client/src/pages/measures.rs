//! Phase 2's measures (issue 17): each with its operational definition,
//! target and data series, drawn as a Making Data Count SPC chart (XmR:
//! mean, process limits, special cause coloured, the variation and
//! assurance icons in words) computed by `plait_shared::spc`. The chart is
//! an SVG with a text alternative and its values as a table. The programme
//! office adds measures and their values (the programme document is
//! theirs), offline like every edit.

use leptos::prelude::*;
use plait_shared::phase2::{chart, number as read_number, series, Value};
use plait_shared::spc::{Chart, Direction, PointKind};
use plait_shared::{Measure, MeasureId, MeasureKind, MeasurePointId};

use crate::browser::{focus, now};
use crate::components::date_input::{DateInput, DateParts};
use crate::components::form::{error_of, Choice, ErrorSummary, Saved, TextArea, TextField};
use crate::contexts::session::use_session;
use crate::contexts::workspace::use_workspace;

/// The chart's drawing box.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 220.0;
const PAD: f64 = 28.0;

/// A point's colour: Making Data Count's grey (common cause), blue
/// (improvement), orange (concern) and purple (neither); each at least 3:1
/// against white (WCAG 1.4.11), and said in words in the values table.
fn colour(kind: PointKind) -> &'static str {
    match kind {
        PointKind::CommonCause => "#768692",
        PointKind::Improvement => "#005eb8",
        PointKind::Concern => "#b35900",
        PointKind::NeutralHigh | PointKind::NeutralLow => "#330072",
    }
}

/// What a point says, in words.
fn kind_words(kind: PointKind) -> &'static str {
    match kind {
        PointKind::CommonCause => "Common cause",
        PointKind::Improvement => "Special cause: improvement",
        PointKind::Concern => "Special cause: concern",
        PointKind::NeutralHigh => "Special cause: high",
        PointKind::NeutralLow => "Special cause: low",
    }
}

fn number(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

/// The chart in words, for whoever cannot see it.
fn described(measure: &Measure, values: &[Value], chart: &Chart) -> String {
    let (Some(first), Some(last)) = (values.first(), values.last()) else {
        return "No values yet.".to_owned();
    };
    let mut words = format!(
        "{} values from {} to {}.",
        values.len(),
        first.period.long(),
        last.period.long()
    );
    if let Some(s) = chart.segments.last() {
        words.push_str(&format!(
            " Mean {}; process limits {} to {}.",
            number(s.mean),
            number(s.lower),
            number(s.upper)
        ));
    }
    let special = chart.points.iter().filter(|p| p.special()).count();
    words.push_str(&format!(
        " {special} value(s) show special cause variation."
    ));
    if let Some(v) = chart.variation {
        words.push_str(&format!(" Latest: {}.", v.label()));
    }
    if let (Some(a), Some(t)) = (chart.assurance, read_number(&measure.target)) {
        words.push_str(&format!(" Target {}: {}.", number(t), a.label()));
    }
    words
}

/// The XmR chart as an SVG.
fn svg(
    measure: &Measure,
    chart: &Chart,
    title_id: String,
    desc_id: String,
    words: String,
) -> impl IntoView {
    let values: Vec<f64> = chart.points.iter().map(|p| p.value).collect();
    let mut low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for s in &chart.segments {
        low = low.min(s.lower);
        high = high.max(s.upper);
    }
    if let Some(t) = read_number(&measure.target) {
        low = low.min(t);
        high = high.max(t);
    }
    if !low.is_finite() || !high.is_finite() {
        low = 0.0;
        high = 1.0;
    }
    if (high - low).abs() < f64::EPSILON {
        high = low + 1.0;
    }
    let n = values.len().max(2) as f64;
    let x = move |i: usize| PAD + (WIDTH - 2.0 * PAD) * i as f64 / (n - 1.0);
    let y = move |v: f64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v - low) / (high - low);
    let line = |from: usize, to: usize, at: f64, stroke: &'static str, dash: &'static str| {
        view! {
            <line x1=format!("{:.1}", x(from)) x2=format!("{:.1}", x(to.max(from)))
                y1=format!("{:.1}", y(at)) y2=format!("{:.1}", y(at))
                stroke=stroke stroke-width="1.5" stroke-dasharray=dash />
        }
    };
    let segments = chart
        .segments
        .iter()
        .map(|s| {
            let last = s.end.saturating_sub(1);
            view! {
                {line(s.start, last, s.mean, "#212b32", "")}
                {line(s.start, last, s.upper, "#768692", "6 4")}
                {line(s.start, last, s.lower, "#768692", "6 4")}
            }
        })
        .collect_view();
    let target = read_number(&measure.target)
        .map(|t| line(0, values.len().saturating_sub(1), t, "#da291c", "2 3"));
    let path = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                x(i),
                y(*v)
            )
        })
        .collect::<String>();
    let dots = chart
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            view! { <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(p.value)) r="4" fill=colour(p.kind) /> }
        })
        .collect_view();
    let name = measure.name.clone();
    let (labelled_by, described_by) = (title_id.clone(), desc_id.clone());
    view! {
        <svg class="plait-spc" viewBox=format!("0 0 {WIDTH} {HEIGHT}") width="100%" role="img"
            aria-labelledby=labelled_by aria-describedby=described_by>
            <title id=title_id>{format!("SPC chart: {name}")}</title>
            <desc id=desc_id>{words}</desc>
            {segments}
            {target}
            <path d=path fill="none" stroke="#425563" stroke-width="1.5" />
            {dots}
            <text x="4" y="14" font-size="11" fill="#4c6272">{number(high)}</text>
            <text x="4" y=format!("{:.0}", HEIGHT - 4.0) font-size="11" fill="#4c6272">{number(low)}</text>
        </svg>
    }
}

/// The measures page.
#[component]
pub fn Measures() -> impl IntoView {
    let workspace = use_workspace();
    let session = use_session();
    let admin = move || plait_shared::access::administers(session.actor.get().role);
    let measures = Memo::new(move |_| {
        let programme = workspace.programme_view().unwrap_or_default();
        programme
            .measures
            .iter()
            .map(|(id, m)| {
                let values = series(&programme, id);
                let chart = chart(m, &values);
                (id.clone(), m.clone(), values, chart)
            })
            .collect::<Vec<_>>()
    });
    let names = Memo::new(move |_| {
        measures.with(|m| {
            m.iter()
                .map(|(id, measure, _, _)| (id.clone(), measure.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    view! {
        <h1>"Measures"</h1>
        <p class="nhsuk-lede-text">"Phase 2's outcome, process and balancing measures, each drawn as a statistical process control chart (NHS England's Making Data Count), with its values and what each says in a table."</p>
        <Show when=move || measures.with(|m| !m.is_empty()) fallback=|| view! { <p>"No measures yet."</p> }>
            <For each=move || measures.get() key=|(id, m, values, _)| (id.clone(), format!("{m:?}{values:?}")) let:row>
                {
                    let (id, measure, values, chart) = row;
                    let words = described(&measure, &values, &chart);
                    let heading = measure.name.clone();
                    let facts = format!(
                        "{}{}{}",
                        measure.kind.map(|k| format!("{} measure. ", k.label())).unwrap_or_default(),
                        measure.direction.map(|d| format!("{}. ", d.label())).unwrap_or_default(),
                        read_number(&measure.target).map(|t| format!("Target: {} {}.", number(t), measure.unit)).unwrap_or_default(),
                    );
                    let icons = format!(
                        "{}{}",
                        chart.variation.map(|v| v.label().to_owned()).unwrap_or_default(),
                        chart.assurance.map(|a| format!(". {}", a.label())).unwrap_or_default(),
                    );
                    let few = chart.segments.last().is_some_and(|s| s.few_points());
                    let rows = values.iter().zip(&chart.points).map(|(v, p)| view! {
                        <tr class="nhsuk-table__row">
                            <td class="nhsuk-table__cell">{v.period.long()}</td>
                            <td class="nhsuk-table__cell plait-num">{number(v.value)}</td>
                            <td class="nhsuk-table__cell">{kind_words(p.kind)}</td>
                        </tr>
                    }).collect_view();
                    let chart_view = svg(&measure, &chart, format!("spc-title-{id}"), format!("spc-desc-{id}"), words);
                    view! {
                        <section class="nhsuk-card" data-testid="measure" aria-labelledby=format!("measure-{id}")>
                            <div class="nhsuk-card__content">
                                <h2 class="nhsuk-card__heading" id=format!("measure-{id}")>{heading}</h2>
                                <p>{facts}</p>
                                <p class="nhsuk-body-s">{measure.definition.clone()}</p>
                                {chart_view}
                                <p class="nhsuk-body-s">"Dots: blue improvement, orange concern, purple special cause where neither way is better, grey common cause. Solid line: the mean; dashed lines: the process limits; dotted red line: the target."</p>
                                <p data-testid="measure-icons"><strong>{icons}</strong></p>
                                {few.then(|| view! { <p class="nhsuk-body-s">"Fewer than 15 values set these limits: read them with care."</p> })}
                                <details class="nhsuk-details">
                                    <summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">"The values"</span></summary>
                                    <div class="nhsuk-details__text">
                                        <table class="nhsuk-table">
                                            <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">"Values by period"</caption>
                                            <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
                                                <th scope="col" class="nhsuk-table__header">"Period"</th>
                                                <th scope="col" class="nhsuk-table__header plait-num">"Value"</th>
                                                <th scope="col" class="nhsuk-table__header">"Variation"</th>
                                            </tr></thead>
                                            <tbody class="nhsuk-table__body">{rows}</tbody>
                                        </table>
                                    </div>
                                </details>
                            </div>
                        </section>
                    }
                }
            </For>
        </Show>
        <Show when=move || admin() && measures.with(|m| !m.is_empty())><AddValue measures=names /></Show>
        <Show when=admin><AddMeasure /></Show>
    }
}

/// The programme office adds a value to a measure's series.
#[component]
fn AddValue(measures: Memo<Vec<(MeasureId, String)>>) -> impl IntoView {
    let workspace = use_workspace();
    let measure = RwSignal::new(
        measures.with_untracked(|m| m.first().map(|(id, _)| id.to_string()).unwrap_or_default()),
    );
    let day = RwSignal::new(DateParts::default());
    let value = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let options = Signal::derive(move || {
        measures
            .get()
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect::<Vec<_>>()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let chosen = MeasureId::new(measure.get_untracked())
            .ok()
            .filter(|id| measures.with_untracked(|m| m.iter().any(|(m, _)| m == id)));
        if chosen.is_none() {
            found.push(("value-measure".to_owned(), "Choose the measure".to_owned()));
        }
        let period = match day.get_untracked().read("The period") {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                found.push((
                    "value-period-day".to_owned(),
                    "Enter the period the value is for".to_owned(),
                ));
                None
            }
            Err(m) => {
                found.push(("value-period-day".to_owned(), m));
                None
            }
        };
        let written = value.get_untracked().trim().to_owned();
        let number = read_number(&written);
        if number.is_none() {
            found.push((
                "value-value".to_owned(),
                "Enter the value as a number, like 12.5".to_owned(),
            ));
        }
        let failed = !found.is_empty();
        errors.set(found);
        if failed {
            focus("value-errors");
            return;
        }
        let (Some(chosen), Some(period), Some(number)) = (chosen, period, number) else {
            return;
        };
        let salt = (js_sys::Math::random() * 1e9) as u64;
        let Ok(point) = MeasurePointId::new(format!("mp-{}-{salt}", now().0)) else {
            return;
        };
        if workspace
            .edit_programme(|p, txn| p.put_measure_point(txn, &point, &chosen, period, &written))
        {
            saved.set(format!(
                "{} for {} added.",
                self::number(number),
                period.long()
            ));
            value.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add a value"</h2>
            <ErrorSummary id="value-errors" errors />
            <Choice id="value-measure" label="Measure" options value=measure errors />
            <DateInput id="value-period" legend="The period it is for (its first day)" hint="For example, 1 3 2027" value=day
                error=Signal::derive(move || error_of(errors, "value-period-day")) />
            <TextField id="value-value" label="Value" value=value errors width="nhsuk-input--width-10" />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Add the value"</button>
            <Saved message=saved />
        </form>
    }
}

/// The programme office adds a measure.
#[component]
fn AddMeasure() -> impl IntoView {
    let workspace = use_workspace();
    let (name, definition, unit, target, baseline) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let kind = RwSignal::new(MeasureKind::Outcome.key().to_owned());
    let direction = RwSignal::new(Direction::Decrease.key().to_owned());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let kinds = Signal::derive(|| {
        MeasureKind::ALL
            .iter()
            .map(|k| (k.key().to_owned(), k.label().to_owned()))
            .collect::<Vec<_>>()
    });
    let directions = Signal::derive(|| {
        Direction::ALL
            .iter()
            .map(|d| (d.key().to_owned(), d.label().to_owned()))
            .collect::<Vec<_>>()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let title = name.get_untracked().trim().to_owned();
        if title.is_empty() {
            found.push((
                "measure-name".to_owned(),
                "Enter what the measure counts".to_owned(),
            ));
        }
        let target_now = target.get_untracked().trim().to_owned();
        if !target_now.is_empty() && read_number(&target_now).is_none() {
            found.push((
                "measure-target".to_owned(),
                "Enter the target as a number, or leave it empty".to_owned(),
            ));
        }
        let baseline_now = match baseline.get_untracked().trim() {
            "" => None,
            text => match text.parse::<usize>() {
                Ok(n) if n >= 2 => Some(n),
                _ => {
                    found.push(("measure-baseline".to_owned(), "Enter how many values set the limits (2 or more), or leave it empty for all".to_owned()));
                    None
                }
            },
        };
        let failed = !found.is_empty();
        errors.set(found);
        if failed {
            focus("measure-errors");
            return;
        }
        let salt = (js_sys::Math::random() * 1e9) as u64;
        let Ok(id) = MeasureId::new(format!("m-{}-{salt}", now().0)) else {
            return;
        };
        let measure = Measure {
            name: title.clone(),
            kind: kind.get_untracked().parse().ok(),
            definition: definition.get_untracked().trim().to_owned(),
            unit: unit.get_untracked().trim().to_owned(),
            direction: direction.get_untracked().parse().ok(),
            target: target_now,
            baseline: baseline_now,
            rebase: Vec::new(),
            workstream_id: None,
        };
        if workspace.edit_programme(|p, txn| p.put_measure(txn, &id, &measure)) {
            saved.set(format!("{title} added."));
            name.set(String::new());
            definition.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add a measure"</h2>
            <ErrorSummary id="measure-errors" errors />
            <TextField id="measure-name" label="What it counts" hint="For example, Restraints per 1,000 occupied bed days" value=name errors />
            <Choice id="measure-kind" label="Kind" options=kinds value=kind />
            <TextArea id="measure-definition" label="Operational definition: exactly what is counted, from which source, how often" value=definition />
            <TextField id="measure-unit" label="Unit" value=unit errors width="nhsuk-input--width-20" />
            <Choice id="measure-direction" label="Better when" options=directions value=direction />
            <TextField id="measure-target" label="Target (optional)" value=target errors width="nhsuk-input--width-10" />
            <TextField id="measure-baseline" label="Values that set the limits (optional)" hint="The first values of the series; all of them if empty" value=baseline errors width="nhsuk-input--width-5" />
            <button class="nhsuk-button" type="submit">"Add the measure"</button>
            <Saved message=saved />
        </form>
    }
}
