//! Statistical process control for a measure of the improvement programme:
//! the XmR (individuals) chart of NHS England's "Making Data Count", as its
//! "plot the dots" method computes it (the NHS-R community's
//! `NHSRplotthedots` is the reference implementation this follows).
//!
//! - The **mean** of a segment's baseline points; the **moving ranges**
//!   between consecutive baseline points and their mean (MR̄), after
//!   screening out moving ranges above 3.267 × MR̄ (and taking the mean of
//!   the rest); the **process limits** at mean ± 2.66 × MR̄ and the **near
//!   limits** at two thirds of that distance (about two sigma).
//! - A chart is split into **segments** where its limits were recalculated
//!   (a change in the process, from a chosen period on); each segment's
//!   limits come from its first `baseline` points (all of them if none is
//!   chosen), and its points are judged against them.
//! - **Special cause** (each point, within its segment): outside the process
//!   limits; part of a run of seven or more on one side of the mean (a point
//!   on the mean breaks it); part of a run of seven or more each higher, or
//!   each lower, than the one before; or two of three consecutive points on
//!   one side of the mean beyond the near limit (the points near the limit
//!   are flagged).
//! - A special-cause point is **improvement** or **concern** by the way it
//!   signals and which way is better: a trend's point by the way the trend
//!   runs, any other by its side of the mean (the reference's order: outside
//!   the limits, trend, two of three, run); for a measure with no better
//!   direction it is high or low.
//! - The **variation icon** is the last point's; the **assurance icon**
//!   compares the target with the last segment's limits: a target the
//!   process cannot reach (beyond a limit on the wrong side) fails
//!   consistently, one it always passes passes consistently, one within the
//!   limits is hit and miss.
//!
//! Worked examples are in `docs/spc.md` and in the tests below.

use serde::{Deserialize, Serialize};

/// The process limits' distance from the mean, in mean moving ranges
/// (3 / d2, d2 = 1.128 for moving ranges of two).
pub const LIMIT: f64 = 2.66;

/// Moving ranges above this many times their mean are left out of it
/// (screened: one big jump would widen the limits for every point).
pub const SCREEN: f64 = 3.267;

/// How many points a run on one side of the mean, or a run up or down,
/// needs to be special cause.
pub const RUN: usize = 7;

/// Fewer baseline points than this give limits to read with care (Making
/// Data Count asks for 15 to 20).
pub const FEW_POINTS: usize = 15;

crate::vocab::vocabulary! {
    /// Which way a measure improves.
    Direction, "improvement direction" {
        Increase = "increase", "Higher is better" | "up" | "higher";
        Decrease = "decrease", "Lower is better" | "down" | "lower";
        Neutral = "neutral", "Neither" | "none";
    }
}

/// A segment of the chart with its own limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Its first point.
    pub start: usize,
    /// One past its last point.
    pub end: usize,
    /// How many of its first points the limits come from.
    pub baseline: usize,
    /// The baseline's mean.
    pub mean: f64,
    /// The mean moving range (screened).
    pub mr_bar: f64,
    /// The lower process limit.
    pub lower: f64,
    /// The upper process limit.
    pub upper: f64,
    /// The lower near limit (about two sigma).
    pub near_lower: f64,
    /// The upper near limit.
    pub near_upper: f64,
}

impl Segment {
    /// Whether its limits rest on fewer than [`FEW_POINTS`] points.
    pub fn few_points(&self) -> bool {
        self.baseline < FEW_POINTS
    }
}

/// What a point says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// Common cause variation.
    CommonCause,
    /// Special cause, the better way.
    Improvement,
    /// Special cause, the worse way.
    Concern,
    /// Special cause above the mean, for a measure with no better way.
    NeutralHigh,
    /// Special cause below the mean, for a measure with no better way.
    NeutralLow,
}

/// One point, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// Its value.
    pub value: f64,
    /// Its segment.
    pub segment: usize,
    /// Outside the process limits.
    pub outside: bool,
    /// Part of a run of [`RUN`] on one side of the mean.
    pub shift: bool,
    /// Part of a run of [`RUN`] each higher (or each lower) than the last.
    pub trend: bool,
    /// Near a limit, with another of three on the same side.
    pub two_of_three: bool,
    /// What it says.
    pub kind: PointKind,
}

impl Judged {
    /// Whether any rule flags it.
    pub fn special(&self) -> bool {
        self.outside || self.shift || self.trend || self.two_of_three
    }
}

/// The variation icon: what the latest point says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variation {
    /// Common cause: no significant change.
    CommonCause,
    /// Special cause of improving nature, high.
    ImprovementHigh,
    /// Special cause of improving nature, low.
    ImprovementLow,
    /// Special cause of concerning nature, high.
    ConcernHigh,
    /// Special cause of concerning nature, low.
    ConcernLow,
    /// Special cause, high, neither better nor worse.
    NeutralHigh,
    /// Special cause, low, neither better nor worse.
    NeutralLow,
}

impl Variation {
    /// The words on the icon's text alternative.
    pub fn label(self) -> &'static str {
        match self {
            Variation::CommonCause => "Common cause variation: no significant change",
            Variation::ImprovementHigh => {
                "Special cause variation of an improving nature: higher values"
            }
            Variation::ImprovementLow => {
                "Special cause variation of an improving nature: lower values"
            }
            Variation::ConcernHigh => {
                "Special cause variation of a concerning nature: higher values"
            }
            Variation::ConcernLow => "Special cause variation of a concerning nature: lower values",
            Variation::NeutralHigh => "Special cause variation: higher values",
            Variation::NeutralLow => "Special cause variation: lower values",
        }
    }
}

/// The assurance icon: whether the process meets its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssuranceIcon {
    /// The target is beyond the limits on the good side: always met.
    ConsistentPass,
    /// The target is beyond the limits on the bad side: never met unless
    /// the process changes.
    ConsistentFail,
    /// The target is within the limits: hit and miss.
    Inconsistent,
}

impl AssuranceIcon {
    /// The words on the icon's text alternative.
    pub fn label(self) -> &'static str {
        match self {
            AssuranceIcon::ConsistentPass => "The process will consistently meet the target",
            AssuranceIcon::ConsistentFail => {
                "The process will consistently fail the target unless it changes"
            }
            AssuranceIcon::Inconsistent => {
                "The process will hit and miss the target: it is within the process limits"
            }
        }
    }
}

/// How a chart is computed: where its limits are recalculated, from how
/// many points, and which way is better.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChartOptions {
    /// The points at which the limits are recalculated (each starts a
    /// segment; 0 always does).
    #[serde(default)]
    pub rebase: Vec<usize>,
    /// Limits from each segment's first this many points (all of them if
    /// none).
    #[serde(default)]
    pub baseline: Option<usize>,
    /// Which way is better.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// The target, if the measure has one.
    #[serde(default)]
    pub target: Option<f64>,
}

/// A measure's XmR chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// The segments, in order.
    pub segments: Vec<Segment>,
    /// Every point, judged.
    pub points: Vec<Judged>,
    /// The latest point's variation icon (none without points).
    pub variation: Option<Variation>,
    /// The assurance icon (with a target and a better direction).
    pub assurance: Option<AssuranceIcon>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The limits of the points `values[start..end]`, from the first
/// `baseline` of them.
fn segment(values: &[f64], start: usize, end: usize, baseline: Option<usize>) -> Segment {
    let fixed = baseline.map_or(end - start, |n| n.clamp(1, end - start));
    let base = &values[start..start + fixed];
    let centre = mean(base.iter().copied()).unwrap_or(0.0);
    let ranges: Vec<f64> = base.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let raw = mean(ranges.iter().copied()).unwrap_or(0.0);
    let mr_bar = mean(ranges.iter().copied().filter(|r| *r < SCREEN * raw)).unwrap_or(raw);
    let spread = LIMIT * mr_bar;
    Segment {
        start,
        end,
        baseline: fixed,
        mean: centre,
        mr_bar,
        lower: centre - spread,
        upper: centre + spread,
        near_lower: centre - spread * 2.0 / 3.0,
        near_upper: centre + spread * 2.0 / 3.0,
    }
}

/// The side of the mean: 1 above, -1 below, 0 on it.
fn side(value: f64, mean: f64) -> i8 {
    if value > mean {
        1
    } else if value < mean {
        -1
    } else {
        0
    }
}

/// Computes the chart of `values` (in time order).
pub fn xmr(values: &[f64], options: &ChartOptions) -> Chart {
    let mut starts: Vec<usize> = options
        .rebase
        .iter()
        .copied()
        .filter(|i| *i > 0 && *i < values.len())
        .collect();
    starts.push(0);
    starts.sort_unstable();
    starts.dedup();
    let segments: Vec<Segment> = starts
        .iter()
        .enumerate()
        .filter(|_| !values.is_empty())
        .map(|(n, &start)| {
            let end = starts.get(n + 1).copied().unwrap_or(values.len());
            segment(values, start, end, options.baseline)
        })
        .collect();
    let mut points: Vec<Judged> = Vec::with_capacity(values.len());
    for (n, seg) in segments.iter().enumerate() {
        let ys = &values[seg.start..seg.end];
        let sides: Vec<i8> = ys.iter().map(|y| side(*y, seg.mean)).collect();
        let outside: Vec<bool> = ys
            .iter()
            .map(|y| *y > seg.upper || *y < seg.lower)
            .collect();
        let close: Vec<bool> = ys
            .iter()
            .zip(&outside)
            .map(|(y, out)| !out && (*y > seg.near_upper || *y < seg.near_lower))
            .collect();
        let mut shift = vec![false; ys.len()];
        let mut trend = vec![false; ys.len()];
        // The way a trend point's run goes: 1 rising, -1 falling.
        let mut trend_way = vec![0i8; ys.len()];
        let mut two = vec![false; ys.len()];
        for end in RUN - 1..ys.len() {
            let run = end + 1 - RUN..=end;
            let first = sides[end];
            if first != 0 && sides[run.clone()].iter().all(|s| *s == first) {
                shift[run.clone()].iter_mut().for_each(|f| *f = true);
            }
            let steps: Vec<i8> = ys[run.clone()]
                .windows(2)
                .map(|w| side(w[1], w[0]))
                .collect();
            if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
                for i in run {
                    trend[i] = true;
                    trend_way[i] = steps[0];
                }
            }
        }
        for start in 0..ys.len().saturating_sub(2) {
            let window = start..start + 3;
            let same_side = sides[window.clone()]
                .iter()
                .map(|s| i32::from(*s))
                .sum::<i32>()
                .abs()
                == 3;
            let near = close[window.clone()].iter().filter(|c| **c).count();
            if same_side && near >= 2 {
                for i in window {
                    two[i] |= close[i];
                }
            }
        }
        for (i, y) in ys.iter().enumerate() {
            let special = outside[i] || shift[i] || trend[i] || two[i];
            // Which way it signals, by the first rule that flags it in the
            // reference's order: outside the limits (its side), a trend
            // (the way it runs), two of three or a run (its side).
            let way = if !outside[i] && trend[i] {
                trend_way[i]
            } else {
                sides[i]
            };
            let kind = if !special {
                PointKind::CommonCause
            } else {
                match options.direction.unwrap_or(Direction::Neutral) {
                    Direction::Neutral if way > 0 => PointKind::NeutralHigh,
                    Direction::Neutral => PointKind::NeutralLow,
                    Direction::Increase if way > 0 => PointKind::Improvement,
                    Direction::Decrease if way < 0 => PointKind::Improvement,
                    _ => PointKind::Concern,
                }
            };
            points.push(Judged {
                value: *y,
                segment: n,
                outside: outside[i],
                shift: shift[i],
                trend: trend[i],
                two_of_three: two[i],
                kind,
            });
        }
    }
    // The icon follows the better direction: improvement is high when
    // higher is better, concern then low; the other way round when lower is.
    let increasing = options.direction != Some(Direction::Decrease);
    let variation = points.last().map(|p| match p.kind {
        PointKind::CommonCause => Variation::CommonCause,
        PointKind::Improvement if increasing => Variation::ImprovementHigh,
        PointKind::Improvement => Variation::ImprovementLow,
        PointKind::Concern if increasing => Variation::ConcernLow,
        PointKind::Concern => Variation::ConcernHigh,
        PointKind::NeutralHigh => Variation::NeutralHigh,
        PointKind::NeutralLow => Variation::NeutralLow,
    });
    let assurance = match (options.target, options.direction, segments.last()) {
        (Some(target), Some(direction), Some(last)) if direction != Direction::Neutral => {
            let increasing = direction == Direction::Increase;
            Some(if target > last.upper {
                if increasing {
                    AssuranceIcon::ConsistentFail
                } else {
                    AssuranceIcon::ConsistentPass
                }
            } else if target < last.lower {
                if increasing {
                    AssuranceIcon::ConsistentPass
                } else {
                    AssuranceIcon::ConsistentFail
                }
            } else {
                AssuranceIcon::Inconsistent
            })
        }
        _ => None,
    };
    Chart {
        segments,
        points,
        variation,
        assurance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// docs/spc.md, example 1: ten stable points.
    const STABLE: [f64; 10] = [10.0, 12.0, 11.0, 13.0, 12.0, 11.0, 10.0, 12.0, 11.0, 13.0];

    fn with(tail: &[f64]) -> Vec<f64> {
        STABLE.iter().chain(tail).copied().collect()
    }

    fn fixed(direction: Direction) -> ChartOptions {
        ChartOptions {
            baseline: Some(10),
            direction: Some(direction),
            ..ChartOptions::default()
        }
    }

    #[test]
    fn example_1_the_limits_of_a_stable_process_and_no_signal() {
        let chart = xmr(&STABLE, &ChartOptions::default());
        let s = &chart.segments[0];
        // Mean 115 / 10; moving ranges 2,1,2,1,1,1,2,1,2: 13 / 9.
        assert!(close(s.mean, 11.5));
        assert!(close(s.mr_bar, 13.0 / 9.0));
        assert!(close(s.upper, 11.5 + 2.66 * 13.0 / 9.0), "{}", s.upper);
        assert!(close(s.lower, 11.5 - 2.66 * 13.0 / 9.0));
        assert!(close(s.near_upper, 11.5 + 2.66 * 13.0 / 9.0 * 2.0 / 3.0));
        assert!(chart.points.iter().all(|p| !p.special()));
        assert_eq!(chart.variation, Some(Variation::CommonCause));
        assert!(s.few_points());
    }

    #[test]
    fn example_2_a_point_outside_the_limits() {
        // Upper limit 15.342...: 20 is outside.
        let chart = xmr(&with(&[20.0]), &fixed(Direction::Increase));
        let last = chart.points.last().unwrap();
        assert!(last.outside && last.special());
        assert_eq!(last.kind, PointKind::Improvement);
        assert_eq!(chart.variation, Some(Variation::ImprovementHigh));
        // Lower is better: the same point is a concern.
        let chart = xmr(&with(&[20.0]), &fixed(Direction::Decrease));
        assert_eq!(chart.variation, Some(Variation::ConcernHigh));
        // No better way: high.
        let chart = xmr(&with(&[20.0]), &fixed(Direction::Neutral));
        assert_eq!(chart.variation, Some(Variation::NeutralHigh));
    }

    #[test]
    fn example_3_seven_points_on_one_side_of_the_mean() {
        // Six below the mean of 11.5 are not a run; the seventh makes one,
        // and all seven are flagged.
        let six = xmr(&with(&[11.0; 6]), &fixed(Direction::Increase));
        assert!(six.points.iter().all(|p| !p.shift));
        let seven = xmr(&with(&[11.0; 7]), &fixed(Direction::Increase));
        let flagged: Vec<bool> = seven.points.iter().map(|p| p.shift).collect();
        assert_eq!(flagged.iter().filter(|f| **f).count(), 7);
        assert!(flagged[10..].iter().all(|f| *f));
        assert_eq!(seven.variation, Some(Variation::ConcernLow));
        // A point on the mean breaks the run.
        let broken = xmr(
            &with(&[11.0, 11.0, 11.0, 11.5, 11.0, 11.0, 11.0]),
            &fixed(Direction::Increase),
        );
        assert!(broken.points.iter().all(|p| !p.shift));
    }

    #[test]
    fn example_4_seven_points_each_higher_than_the_last() {
        let rising = [9.0, 9.5, 10.0, 10.5, 11.0, 11.5, 12.0];
        let chart = xmr(&with(&rising), &fixed(Direction::Increase));
        assert!(chart.points[10..].iter().all(|p| p.trend));
        assert!(chart.points[..10].iter().all(|p| !p.trend));
        // Rising, higher is better: every point of it is improvement, those
        // below the mean too.
        assert!(chart.points[10..]
            .iter()
            .all(|p| p.kind == PointKind::Improvement));
        assert_eq!(chart.variation, Some(Variation::ImprovementHigh));
        // Falling from above the mean, higher is better: concern, whatever
        // side of the mean the points are on.
        let falling = xmr(
            &with(&[15.0, 14.5, 14.0, 13.5, 13.0, 12.5, 12.0]),
            &fixed(Direction::Increase),
        );
        assert!(falling.points[10..]
            .iter()
            .all(|p| p.trend && p.kind == PointKind::Concern));
        assert_eq!(falling.variation, Some(Variation::ConcernLow));
        // Six rises make seven points; five do not.
        let short = xmr(&with(&rising[1..]), &fixed(Direction::Increase));
        assert!(short.points.iter().all(|p| !p.trend));
        // A repeat breaks it.
        let flat = xmr(
            &with(&[9.0, 9.5, 10.0, 10.0, 11.0, 11.5, 12.0]),
            &fixed(Direction::Increase),
        );
        assert!(flat.points.iter().all(|p| !p.trend));
    }

    #[test]
    fn example_5_two_of_three_beyond_the_near_limit() {
        // Near upper limit 14.061...: 14.5 and 14.8 are beyond it, 12.0 is
        // not; all three are above the mean.
        let chart = xmr(&with(&[14.5, 12.0, 14.8]), &fixed(Direction::Decrease));
        let flags: Vec<bool> = chart.points[10..].iter().map(|p| p.two_of_three).collect();
        assert_eq!(flags, vec![true, false, true]);
        assert_eq!(chart.variation, Some(Variation::ConcernHigh));
        // One of three is not enough.
        let one = xmr(&with(&[14.5, 12.0, 12.0]), &fixed(Direction::Decrease));
        assert!(one.points.iter().all(|p| !p.two_of_three));
        // Two near limits on opposite sides are not.
        let apart = xmr(&with(&[14.5, 8.5, 12.0]), &fixed(Direction::Decrease));
        assert!(apart.points.iter().all(|p| !p.two_of_three));
    }

    #[test]
    fn example_6_a_jump_is_screened_from_the_mean_moving_range() {
        // Moving ranges 1,1,1,1,1,1,1,1,20,1: raw mean 29 / 10 = 2.9; 20 >
        // 3.267 × 2.9 is left out, so MR̄ is 1.
        let values = [
            10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 11.0, 10.0, 30.0, 31.0,
        ];
        let chart = xmr(&values, &ChartOptions::default());
        assert!(
            close(chart.segments[0].mr_bar, 1.0),
            "{}",
            chart.segments[0].mr_bar
        );
    }

    #[test]
    fn example_7_limits_recalculated_after_a_change() {
        // Ten points at about 11.5, then ten at about 21.5: one chart is a
        // shift; recalculated from point 10, the second segment is stable
        // around its own mean.
        let after: Vec<f64> = STABLE.iter().map(|v| v + 10.0).collect();
        let values = with(&after);
        let one = xmr(&values, &fixed(Direction::Increase));
        assert!(one.points[10..].iter().all(|p| p.special()));
        let two = xmr(
            &values,
            &ChartOptions {
                rebase: vec![10],
                direction: Some(Direction::Increase),
                ..ChartOptions::default()
            },
        );
        assert_eq!(two.segments.len(), 2);
        assert!(close(two.segments[1].mean, 21.5));
        assert!(two.points.iter().all(|p| !p.special()));
        assert_eq!(two.points[10].segment, 1);
    }

    #[test]
    fn example_8_assurance_against_a_target() {
        // Limits 7.657... to 15.342...
        let icon = |target: f64, direction| {
            xmr(
                &STABLE,
                &ChartOptions {
                    target: Some(target),
                    direction: Some(direction),
                    ..ChartOptions::default()
                },
            )
            .assurance
        };
        assert_eq!(
            icon(5.0, Direction::Increase),
            Some(AssuranceIcon::ConsistentPass)
        );
        assert_eq!(
            icon(20.0, Direction::Increase),
            Some(AssuranceIcon::ConsistentFail)
        );
        assert_eq!(
            icon(12.0, Direction::Increase),
            Some(AssuranceIcon::Inconsistent)
        );
        assert_eq!(
            icon(5.0, Direction::Decrease),
            Some(AssuranceIcon::ConsistentFail)
        );
        assert_eq!(
            icon(20.0, Direction::Decrease),
            Some(AssuranceIcon::ConsistentPass)
        );
        assert_eq!(icon(20.0, Direction::Neutral), None);
    }

    #[test]
    fn no_points_no_chart() {
        let chart = xmr(&[], &ChartOptions::default());
        assert!(chart.segments.is_empty() && chart.points.is_empty());
        assert_eq!(chart.variation, None);
        let one = xmr(&[4.0], &ChartOptions::default());
        assert!(close(one.segments[0].mean, 4.0));
        assert!(close(one.segments[0].upper, 4.0));
        assert_eq!(one.variation, Some(Variation::CommonCause));
    }
}
