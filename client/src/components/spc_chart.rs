//! A measure's Making Data Count SPC chart (XmR) as an SVG, with its text
//! alternative: the measures page and the board paper draw the same one.

use leptos::prelude::*;
use plait_shared::phase2::number as read_number;
use plait_shared::spc::{Chart, PointKind};
use plait_shared::Date;

/// The chart's drawing box.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 220.0;
const PAD: f64 = 28.0;

/// A point's colour: Making Data Count's grey (common cause), blue
/// (improvement), orange (concern) and purple (neither); each at least 3:1
/// against white (WCAG 1.4.11), and said in words in the values table.
pub fn colour(kind: PointKind) -> &'static str {
    match kind {
        PointKind::CommonCause => "#768692",
        PointKind::Improvement => "#005eb8",
        PointKind::Concern => "#b35900",
        PointKind::NeutralHigh | PointKind::NeutralLow => "#330072",
    }
}

/// What a point says, in words.
pub fn kind_words(kind: PointKind) -> &'static str {
    match kind {
        PointKind::CommonCause => "Common cause",
        PointKind::Improvement => "Special cause: improvement",
        PointKind::Concern => "Special cause: concern",
        PointKind::NeutralHigh => "Special cause: high",
        PointKind::NeutralLow => "Special cause: low",
    }
}

pub fn number(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

/// The chart in words, for whoever cannot see it.
pub fn described(target: &str, periods: &[Date], chart: &Chart) -> String {
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return "No values yet.".to_owned();
    };
    let mut words = format!(
        "{} values from {} to {}.",
        periods.len(),
        first.long(),
        last.long()
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
    if let (Some(a), Some(t)) = (chart.assurance, read_number(target)) {
        words.push_str(&format!(" Target {}: {}.", number(t), a.label()));
    }
    words
}

/// The XmR chart as an SVG.
pub fn svg(
    name: &str,
    target: &str,
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
    if let Some(t) = read_number(target) {
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
    let target =
        read_number(target).map(|t| line(0, values.len().saturating_sub(1), t, "#da291c", "2 3"));
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
    let name = name.to_owned();
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
