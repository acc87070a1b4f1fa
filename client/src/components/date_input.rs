//! The NHS.UK date input: day, month and year in three boxes, in a fieldset
//! with a legend and a hint, and its error message.

use leptos::prelude::*;
use plait_shared::Date;

/// What is typed into the three boxes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateParts {
    /// Day.
    pub day: String,
    /// Month.
    pub month: String,
    /// Year.
    pub year: String,
}

impl DateParts {
    /// The boxes filled from `date`.
    pub fn of(date: Option<Date>) -> DateParts {
        date.map_or_else(DateParts::default, |d| {
            let (y, m, d) = d.ymd();
            DateParts {
                day: d.to_string(),
                month: m.to_string(),
                year: y.to_string(),
            }
        })
    }

    /// The date typed, which must be there: none, with its error for the
    /// field `{id}-day` added to `found` (`missing` when nothing was typed),
    /// when it is not.
    pub fn required(
        &self,
        id: &str,
        what: &str,
        missing: &str,
        found: &mut Vec<(String, String)>,
    ) -> Option<Date> {
        let why = match self.read(what) {
            Ok(Some(day)) => return Some(day),
            Ok(None) => missing.to_owned(),
            Err(why) => why,
        };
        found.push((format!("{id}-day"), why));
        None
    }

    /// The date typed: `Ok(None)` when all three are empty.
    ///
    /// # Errors
    /// What is wrong, in the words the NHS.UK pattern uses.
    pub fn read(&self, what: &str) -> Result<Option<Date>, String> {
        let (d, m, y) = (self.day.trim(), self.month.trim(), self.year.trim());
        if d.is_empty() && m.is_empty() && y.is_empty() {
            return Ok(None);
        }
        let missing: Vec<&str> = [("a day", d), ("a month", m), ("a year", y)]
            .into_iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(name, _)| name)
            .collect();
        if !missing.is_empty() {
            return Err(format!("{what} must include {}", missing.join(" and ")));
        }
        let number = |v: &str| v.parse::<i64>().ok();
        match (number(d), number(m), number(y)) {
            (Some(d), Some(m), Some(y)) if (1000..=9999).contains(&y) => {
                Date::from_ymd(y as i32, m.clamp(0, 255) as u8, d.clamp(0, 255) as u8)
                    .map(Some)
                    .map_err(|_| format!("{what} must be a real date"))
            }
            (_, _, Some(_)) | (_, _, None) => {
                Err(format!("{what} must be a real date, like 27 3 2027"))
            }
        }
    }
}

/// A date as three boxes (`id`-day, `id`-month, `id`-year).
#[component]
pub fn DateInput(
    id: &'static str,
    legend: &'static str,
    #[prop(optional)] hint: &'static str,
    value: RwSignal<DateParts>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = move || {
        let mut ids = vec![hint_id.clone()];
        if error.get().is_some() {
            ids.push(error_id.clone());
        }
        ids.join(" ")
    };
    let group = move || {
        if error.get().is_some() {
            "nhsuk-form-group nhsuk-form-group--error"
        } else {
            "nhsuk-form-group"
        }
    };
    let hint_text = if hint.is_empty() {
        "For example, 27 3 2027"
    } else {
        hint
    };
    let part = move |name: &'static str, label: &'static str, width: &'static str| {
        let input_id = format!("{id}-{name}");
        let class = move || {
            if error.get().is_some() {
                format!("nhsuk-input nhsuk-date-input__input {width} nhsuk-input--error")
            } else {
                format!("nhsuk-input nhsuk-date-input__input {width}")
            }
        };
        let get = move || {
            value.with(|v| match name {
                "day" => v.day.clone(),
                "month" => v.month.clone(),
                _ => v.year.clone(),
            })
        };
        view! {
            <div class="nhsuk-date-input__item">
                <div class="nhsuk-form-group">
                    <label class="nhsuk-label nhsuk-date-input__label" for=input_id.clone()>{label}</label>
                    <input class=class id=input_id name=format!("{id}-{name}") type="text" inputmode="numeric"
                        prop:value=get
                        on:input=move |ev| {
                            let typed = event_target_value(&ev);
                            value.update(|v| match name {
                                "day" => v.day = typed,
                                "month" => v.month = typed,
                                _ => v.year = typed,
                            });
                        } />
                </div>
            </div>
        }
    };
    view! {
        <div class=group>
            <fieldset class="nhsuk-fieldset" role="group" aria-describedby=described>
                <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">{legend}</legend>
                <div class="nhsuk-hint" id=format!("{id}-hint")>{hint_text}</div>
                {move || error.get().map(|message| view! {
                    <span class="nhsuk-error-message" id=format!("{id}-error")>
                        <span class="nhsuk-u-visually-hidden">"Error: "</span>{message}
                    </span>
                })}
                <div class="nhsuk-date-input" id=id>
                    {part("day", "Day", "nhsuk-input--width-2")}
                    {part("month", "Month", "nhsuk-input--width-2")}
                    {part("year", "Year", "nhsuk-input--width-4")}
                </div>
            </fieldset>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn parts(d: &str, m: &str, y: &str) -> DateParts {
        DateParts {
            day: d.into(),
            month: m.into(),
            year: y.into(),
        }
    }

    #[test]
    fn three_boxes_read_as_a_date_or_say_what_is_wrong() {
        assert_eq!(parts("", "", "").read("The date"), Ok(None));
        assert_eq!(
            parts("27", "3", "2027").read("The date"),
            Ok(Some(Date::from_ymd(2027, 3, 27).unwrap()))
        );
        assert_eq!(
            parts("27", "", "").read("The start date"),
            Err("The start date must include a month and a year".into())
        );
        assert_eq!(
            parts("31", "2", "2027").read("The date"),
            Err("The date must be a real date".into())
        );
        assert!(parts("x", "3", "2027").read("The date").is_err());
        assert_eq!(
            DateParts::of(Date::from_ymd(2027, 3, 7).ok()),
            parts("7", "3", "2027")
        );
    }
}
