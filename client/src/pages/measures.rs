//! Phase 2's measures (issue 17): each with its operational definition,
//! target and data series, drawn as a Making Data Count SPC chart (XmR:
//! mean, process limits, special cause coloured, the variation and
//! assurance icons in words) computed by `plait_shared::spc`. The chart is
//! an SVG with a text alternative and its values as a table. The programme
//! office adds measures and their values (the programme document is
//! theirs), offline like every edit.

use leptos::prelude::*;
use plait_shared::phase2::{chart, number as read_number, series};
use plait_shared::spc::Direction;
use plait_shared::{Measure, MeasureId, MeasureKind, MeasurePointId};

use crate::browser::fresh_id;
use crate::components::date_input::{DateInput, DateParts};
use crate::components::form::{error_of, failed, Choice, ErrorSummary, Saved, TextArea, TextField};
use crate::components::spc_chart::{described, kind_words, number, svg};
use crate::contexts::workspace::use_workspace;

/// The measures page.
#[component]
pub fn Measures() -> impl IntoView {
    let workspace = use_workspace();
    let values_allowed = crate::pages::improvement::may(plait_shared::keys::Root::MeasurePoints);
    let measures_allowed = crate::pages::improvement::may(plait_shared::keys::Root::Measures);
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
        <crate::pages::improvement::PhaseTwoNav current=crate::pages::Page::Measures />
        <h1>"Measures"</h1>
        <p class="nhsuk-lede-text">"Phase 2's outcome, process and balancing measures, each drawn as a statistical process control chart (NHS England's Making Data Count), with its values and what each says in a table."</p>
        <Show when=move || measures.with(|m| !m.is_empty()) fallback=|| view! { <p>"No measures yet."</p> }>
            <For each=move || measures.get() key=|(id, m, values, _)| (id.clone(), format!("{m:?}{values:?}")) let:row>
                {
                    let (id, measure, values, chart) = row;
                    let periods: Vec<_> = values.iter().map(|v| v.period).collect();
                    let words = described(&measure.target, &periods, &chart);
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
                    let rebased = (!measure.rebase.is_empty()).then(|| {
                        let days: Vec<String> = measure.rebase.iter().map(|d| d.long()).collect();
                        view! { <p class="nhsuk-body-s">{format!("Limits recalculated from {}.", days.join(", "))}</p> }
                    });
                    let rows = values.iter().zip(&chart.points).map(|(v, p)| {
                        let point = v.id.clone();
                        let label = format!("Remove the value for {}", v.period.long());
                        view! {
                        <tr class="nhsuk-table__row">
                            <td class="nhsuk-table__cell">{v.period.long()}</td>
                            <td class="nhsuk-table__cell plait-num">{number(v.value)}</td>
                            <td class="nhsuk-table__cell">{kind_words(p.kind)}</td>
                            <Show when=move || values_allowed.get()>
                                <td class="nhsuk-table__cell plait-no-print">
                                    <button type="button" class="plait-link-button" aria-label=label.clone() on:click={
                                        let point = point.clone();
                                        move |_| {
                                            workspace.edit_programme(|p, txn| p.remove_measure_point(txn, &point));
                                        }
                                    }>"Remove"</button>
                                </td>
                            </Show>
                        </tr>
                    }
                    }).collect_view();
                    let chart_view = svg(&measure.name, &measure.target, &chart, format!("spc-title-{id}"), format!("spc-desc-{id}"), words);
                    view! {
                        <section class="nhsuk-card" data-testid="measure" aria-labelledby=format!("measure-{id}")>
                            <div class="nhsuk-card__content">
                                <h2 class="nhsuk-card__heading" id=format!("measure-{id}")>{heading}</h2>
                                <p>{facts}</p>
                                <p class="nhsuk-body-s">{measure.definition.clone()}</p>
                                {chart_view}
                                <p class="nhsuk-body-s">"Dots: blue improvement, orange concern, purple special cause where neither way is better, grey common cause. Solid line: the mean; dashed lines: the process limits; dotted red line: the target."</p>
                                <p data-testid="measure-icons"><strong>{icons}</strong></p>
                                {rebased}
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
                                                <Show when=move || values_allowed.get()><th scope="col" class="nhsuk-table__header plait-no-print"><span class="nhsuk-u-visually-hidden">"Remove"</span></th></Show>
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
        <Show when=move || values_allowed.get() && measures.with(|m| !m.is_empty())>
            <AddValue measures=names />
            <ImportValues measures=names />
        </Show>
        <Show when=move || measures_allowed.get() && measures.with(|m| !m.is_empty())>
            <Rebase measures=names />
        </Show>
        <Show when=move || measures_allowed.get()><AddMeasure /></Show>
    }
}

/// The programme office adds a value to a measure's series.
#[component]
fn AddValue(measures: Memo<Vec<(MeasureId, String)>>) -> impl IntoView {
    let workspace = use_workspace();
    let (measure, options) = measure_choice(measures);
    let day = RwSignal::new(DateParts::default());
    let value = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let chosen = MeasureId::new(measure.get_untracked())
            .ok()
            .filter(|id| measures.with_untracked(|m| m.iter().any(|(m, _)| m == id)));
        if chosen.is_none() {
            found.push(("value-measure".to_owned(), "Choose the measure".to_owned()));
        }
        let period = day.get_untracked().required(
            "value-period",
            "The period",
            "Enter the period the value is for",
            &mut found,
        );
        let written = value.get_untracked().trim().to_owned();
        let number = read_number(&written);
        if number.is_none() {
            found.push((
                "value-value".to_owned(),
                "Enter the value as a number, like 12.5".to_owned(),
            ));
        }
        if failed(errors, found, "value-errors") {
            return;
        }
        let (Some(chosen), Some(period), Some(number)) = (chosen, period, number) else {
            return;
        };
        let Ok(point) = MeasurePointId::new(fresh_id("mp")) else {
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
        if failed(errors, found, "measure-errors") {
            return;
        }
        let Ok(id) = MeasureId::new(fresh_id("m")) else {
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

/// Values for a measure from CSV (`period,value` a line), pasted or from
/// a file: every line read before anything is kept, every bad line said.
#[component]
fn ImportValues(measures: Memo<Vec<(MeasureId, String)>>) -> impl IntoView {
    let workspace = use_workspace();
    let (measure, options) = measure_choice(measures);
    let text = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let read_file = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        leptos::task::spawn_local(async move {
            if let Ok(read) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                text.set(read.as_string().unwrap_or_default());
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let chosen = MeasureId::new(measure.get_untracked())
            .ok()
            .filter(|id| measures.with_untracked(|m| m.iter().any(|(m, _)| m == id)));
        if chosen.is_none() {
            found.push(("csv-measure".to_owned(), "Choose the measure".to_owned()));
        }
        let read = plait_shared::phase2::read_values_csv(&text.get_untracked());
        match &read {
            Ok(values) if values.is_empty() => found.push((
                "csv-text".to_owned(),
                "Paste the values, or choose a CSV file".to_owned(),
            )),
            Ok(_) => {}
            Err(bad) => found.extend(bad.iter().take(10).map(|b| {
                (
                    "csv-text".to_owned(),
                    format!("Line {}: {}", b.line, b.reason),
                )
            })),
        }
        if failed(errors, found, "csv-errors") {
            return;
        }
        let (Some(chosen), Ok(values)) = (chosen, read) else {
            return;
        };
        let batch = fresh_id("mp");
        let count = values.len();
        if workspace.edit_programme(|p, txn| {
            for (n, (period, value)) in values.iter().enumerate() {
                if let Ok(point) = MeasurePointId::new(format!("{batch}-{n}")) {
                    p.put_measure_point(txn, &point, &chosen, *period, value);
                }
            }
        }) {
            saved.set(format!("{count} values added."));
            text.set(String::new());
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Add values from a spreadsheet"</h2>
            <ErrorSummary id="csv-errors" errors />
            <Choice id="csv-measure" label="Measure" options value=measure errors />
            <div class="nhsuk-form-group">
                <label class="nhsuk-label" for="csv-file">"A CSV file (optional)"</label>
                <input class="nhsuk-file-upload" id="csv-file" type="file" accept=".csv,text/csv" on:change=read_file />
            </div>
            <TextArea id="csv-text" label="Or paste the values: a period and a value on each line, like Apr 2023,12.5 (a value for a month already there replaces it on the chart)" value=text errors />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Add the values"</button>
            <Saved message=saved />
        </form>
    }
}

/// Recalculates a measure's limits from a period on (after a change to the
/// process, as Making Data Count advises), or stops doing so.
#[component]
fn Rebase(measures: Memo<Vec<(MeasureId, String)>>) -> impl IntoView {
    let workspace = use_workspace();
    let (measure, options) = measure_choice(measures);
    let day = RwSignal::new(DateParts::default());
    let errors = RwSignal::new(Vec::<(String, String)>::new());
    let saved = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut found = Vec::new();
        let chosen = MeasureId::new(measure.get_untracked()).ok();
        let current = chosen.as_ref().and_then(|id| {
            workspace
                .programme_view()
                .and_then(|p| p.measures.get(id).cloned())
        });
        if current.is_none() {
            found.push(("rebase-measure".to_owned(), "Choose the measure".to_owned()));
        }
        let period = day.get_untracked().required(
            "rebase-period",
            "The period",
            "Enter the first period of the new limits",
            &mut found,
        );
        if failed(errors, found, "rebase-errors") {
            return;
        }
        let (Some(id), Some(mut m), Some(period)) = (chosen, current, period) else {
            return;
        };
        // The same period again undoes it.
        let undo = m.rebase.contains(&period);
        if undo {
            m.rebase.retain(|d| *d != period);
        } else {
            m.rebase.push(period);
            m.rebase.sort();
        }
        if workspace.edit_programme(|p, txn| p.put_measure(txn, &id, &m)) {
            saved.set(if undo {
                format!(
                    "The limits are no longer recalculated from {}.",
                    period.long()
                )
            } else {
                format!("The limits are recalculated from {}.", period.long())
            });
        }
    };
    view! {
        <form class="plait-no-print" on:submit=submit novalidate>
            <h2>"Recalculate the limits"</h2>
            <p class="nhsuk-body-s">"After a deliberate change to the process, new limits from the period it took effect. Enter a period already chosen to undo it."</p>
            <ErrorSummary id="rebase-errors" errors />
            <Choice id="rebase-measure" label="Measure" options value=measure errors />
            <DateInput id="rebase-period" legend="From the period (its first day)" hint="For example, 1 3 2027" value=day
                error=Signal::derive(move || error_of(errors, "rebase-period-day")) />
            <button class="nhsuk-button nhsuk-button--secondary" type="submit">"Recalculate from this period"</button>
            <Saved message=saved />
        </form>
    }
}

/// A form's choice of measure: the value (the first measure to start
/// with) and the options.
fn measure_choice(
    measures: Memo<Vec<(MeasureId, String)>>,
) -> (RwSignal<String>, Signal<Vec<(String, String)>>) {
    let measure = RwSignal::new(
        measures.with_untracked(|m| m.first().map(|(id, _)| id.to_string()).unwrap_or_default()),
    );
    let options = Signal::derive(move || {
        measures
            .get()
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect::<Vec<_>>()
    });
    (measure, options)
}
