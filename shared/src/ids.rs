//! Identifiers and times. Each is a newtype so that an action id can never be
//! passed where a finding id is meant, and a date never where a timestamp is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An identifier that is not of the allowed form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {rule}")]
pub struct InvalidId {
    /// Which kind of identifier.
    pub what: &'static str,
    /// The rejected text (shortened if long).
    pub value: String,
    /// The rule it broke.
    pub rule: &'static str,
}

fn check_key(what: &'static str, value: &str) -> Result<(), InvalidId> {
    let fail = |rule| InvalidId {
        what,
        value: value.chars().take(40).collect(),
        rule,
    };
    if value.is_empty() || value.len() > 128 {
        return Err(fail("must be 1 to 128 characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(fail("only letters, digits, '_' and '-' are allowed"));
    }
    Ok(())
}

macro_rules! key_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        ///
        /// Of the form `[A-Za-z0-9_-]{1,128}`, so it is safe as a map key, a
        /// URL segment and a storage key.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks the form.
            ///
            /// # Errors
            /// [`InvalidId`] when `value` is empty, too long, or has other characters.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                check_key($what, &value)?;
                Ok($name(value))
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, InvalidId> {
                $name::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

key_id!(
    /// Names one yrs document (a programme or an action plan) on the server,
    /// in sync URLs and in the browser's store.
    DocId,
    "document id"
);
key_id!(
    /// Names a finding within its plan document.
    FindingId,
    "finding id"
);
key_id!(
    /// Names an action within its plan document.
    ActionId,
    "action id"
);
key_id!(
    /// Names a workstream within its programme.
    WorkstreamId,
    "workstream id"
);
key_id!(
    /// Names a phase of the programme.
    PhaseId,
    "phase id"
);
key_id!(
    /// Names a forum of the programme (a committee that takes decisions).
    ForumId,
    "forum id"
);
key_id!(
    /// Names a meeting of one of the programme's forums.
    MeetingId,
    "meeting id"
);
key_id!(
    /// Names a phase-2 root cause.
    RootCauseId,
    "root cause id"
);
key_id!(
    /// Names a node of a driver diagram (an aim, a driver, a change idea).
    DriverId,
    "driver id"
);
key_id!(
    /// Names a PDSA cycle.
    CycleId,
    "PDSA cycle id"
);
key_id!(
    /// Names an exit criterion.
    ExitCriterionId,
    "exit criterion id"
);
key_id!(
    /// Names a phase-2 link (derived from its two ends).
    LinkId,
    "link id"
);
key_id!(
    /// Names one of the papers tabled at a meeting (a report, the minutes
    /// of the last meeting) kept with the meeting.
    MeetingPaperId,
    "meeting paper id"
);
key_id!(
    /// Names a phase-2 measure of the programme.
    MeasureId,
    "measure id"
);
key_id!(
    /// Names one value of a measure's data series.
    MeasurePointId,
    "measure point id"
);
key_id!(
    /// Names one entry of an append-only log (an evidence item, a due-date
    /// request, a re-audit) so later entries can refer to it.
    EntryId,
    "entry id"
);

/// Who did something: the person's account id, also used as an action's owner.
///
/// Free text (trusts name owners as "L. Brennan"), trimmed, 1 to 128
/// characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Trims and checks the text.
    ///
    /// # Errors
    /// [`InvalidId`] when it is empty, too long or holds control characters.
    pub fn new(value: impl AsRef<str>) -> Result<Self, InvalidId> {
        let value = value.as_ref().trim();
        let fail = |rule| InvalidId {
            what: "user id",
            value: value.chars().take(40).collect(),
            rule,
        };
        if value.is_empty() || value.chars().count() > 128 {
            return Err(fail("must be 1 to 128 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(fail("control characters are not allowed"));
        }
        Ok(UserId(value.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, InvalidId> {
        UserId::new(value)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A moment, as milliseconds since the Unix epoch (what `Date.now()` gives in
/// the browser), so both sides agree without time-zone arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

/// Reads a whole number of milliseconds, also when it arrives as a float:
/// yrs, like Yjs's lib0, encodes integers beyond ±2^31 as floats, so a time
/// written on one peer is a float on every other, and serde's buffering of
/// internally tagged enums (`DueChange`, `Sustainment`) refuses a float for
/// an `i64`.
impl<'de> Deserialize<'de> for UnixMillis {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Millis;
        impl serde::de::Visitor<'_> for Millis {
            type Value = UnixMillis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of milliseconds")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<UnixMillis, E> {
                Ok(UnixMillis(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<UnixMillis, E> {
                i64::try_from(v)
                    .map(UnixMillis)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<UnixMillis, E> {
                // Only whole numbers a float holds exactly (within ±2^53).
                if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 {
                    Ok(UnixMillis(v as i64))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                }
            }
        }
        deserializer.deserialize_any(Millis)
    }
}

impl UnixMillis {
    /// The calendar day (UTC) this moment falls on.
    pub fn date(self) -> Date {
        let days = self.0.div_euclid(86_400_000);
        // The clamp keeps absurd input within the years a date may have.
        Date(days.clamp(i64::from(Date::MIN.0), i64::from(Date::MAX.0)) as i32)
    }
}

/// A calendar day (a due date, a meeting date), stored as ISO `YYYY-MM-DD`;
/// held as the count of days since 1970-01-01 (proleptic Gregorian, years
/// 1 to 9999), so dates order and subtract as numbers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(i32);

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({})", self.iso())
    }
}

/// Days from 1970-01-01 to `year-month-day` (Howard Hinnant's
/// `days_from_civil`; `month` 1–12, the day already checked).
fn days_from_civil(year: i32, month: u8, day: u8) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i32::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i32::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year, month and day `days` after 1970-01-01 (`civil_from_days`).
fn civil_from_days(days: i32) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

const MONTHS_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date that cannot be read, or that does not exist (31/02/2023).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {value:?}")]
pub struct InvalidDate {
    /// The rejected text.
    pub value: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

impl Date {
    /// The first day a date may be: 0001-01-01.
    pub const MIN: Date = Date(-719_162);
    /// The last: 9999-12-31.
    pub const MAX: Date = Date(2_932_896);

    /// The day with this year, month (1–12) and day of month.
    ///
    /// # Errors
    /// [`InvalidDate`] when the day does not exist.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Date, InvalidDate> {
        let impossible = || InvalidDate {
            value: format!("{year:04}-{month:02}-{day:02}"),
            reason: "impossible date",
        };
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(impossible());
        }
        Ok(Date(days_from_civil(year, month, day)))
    }

    /// Reads the stored form, `YYYY-MM-DD`.
    ///
    /// # Errors
    /// [`InvalidDate`] for anything else.
    pub fn parse_iso(text: &str) -> Result<Date, InvalidDate> {
        let unreadable = || InvalidDate {
            value: text.to_owned(),
            reason: "not a YYYY-MM-DD date",
        };
        let [year, month, day] = three_numbers(text, '-').ok_or_else(unreadable)?;
        if year.len() != 4 || month.len() > 2 || day.len() > 2 {
            return Err(unreadable());
        }
        let number = |s: &str| s.parse::<u8>().map_err(|_| unreadable());
        let year = year.parse::<i32>().map_err(|_| unreadable())?;
        Date::from_ymd(year, number(month)?, number(day)?).map_err(|e| InvalidDate {
            value: text.to_owned(),
            ..e
        })
    }

    /// Reads the date formats UK trusts type: ISO `2023-04-28`, `28/04/2023`,
    /// `28-04-2023`, `28.04.2023`, `28 Apr 2023`, `28 April 2023`. Two-digit
    /// years and US month-first order are refused rather than guessed.
    ///
    /// # Errors
    /// [`InvalidDate`] saying whether the text was unreadable or impossible.
    pub fn parse_loose(text: &str) -> Result<Date, InvalidDate> {
        let text = text.trim();
        let unreadable = || InvalidDate {
            value: text.to_owned(),
            reason: "unrecognised date (use YYYY-MM-DD, DD/MM/YYYY or D Mon YYYY)",
        };
        let with_value = |e: InvalidDate| InvalidDate {
            value: text.to_owned(),
            ..e
        };
        if text.len() >= 8 && text.as_bytes().get(4) == Some(&b'-') {
            return Date::parse_iso(text).map_err(with_value);
        }
        for separator in ['/', '-', '.'] {
            if let Some(parts) = three_numbers(text, separator) {
                let [day, month, year] = if parts[0].len() == 4 {
                    [parts[2], parts[1], parts[0]]
                } else {
                    parts
                };
                if year.len() != 4 {
                    return Err(InvalidDate {
                        value: text.to_owned(),
                        reason: "the year must have four digits",
                    });
                }
                if day.len() > 2 || month.len() > 2 {
                    return Err(unreadable());
                }
                let number = |s: &str| s.parse::<u8>().map_err(|_| unreadable());
                let year = year.parse::<i32>().map_err(|_| unreadable())?;
                return Date::from_ymd(year, number(month)?, number(day)?).map_err(with_value);
            }
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        if let [day, month, year] = parts.as_slice() {
            let day: u8 = day
                .trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse()
                .map_err(|_| unreadable())?;
            let month =
                month_from_name(month.trim_end_matches(['.', ','])).ok_or_else(unreadable)?;
            let year: i32 = year.parse().map_err(|_| unreadable())?;
            if !(1000..=9999).contains(&year) {
                return Err(unreadable());
            }
            return Date::from_ymd(year, month, day).map_err(with_value);
        }
        Err(unreadable())
    }

    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        let (year, month, day) = self.ymd();
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// `28 Apr 2023`, as board papers print dates.
    pub fn long(self) -> String {
        let (year, month, day) = self.ymd();
        format!("{day} {} {year:04}", MONTHS_SHORT[usize::from(month - 1)])
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        i64::from(later.0) - i64::from(self.0)
    }

    /// The same day `months` calendar months later, clamped to the month's end
    /// (31 Aug + 6 months is 28 or 29 Feb).
    pub fn add_months(self, months: u32) -> Date {
        let (year, month, day) = self.ymd();
        let total = year * 12 + i32::from(month) - 1 + months as i32;
        let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
        if year > 9999 {
            return Date::MAX;
        }
        Date(days_from_civil(
            year,
            month,
            day.min(days_in_month(year, month)),
        ))
    }

    /// The day `days` days later (earlier if negative), within
    /// [`Date::MIN`] and [`Date::MAX`].
    pub fn add_days(self, days: i64) -> Date {
        let day = (i64::from(self.0) + days).clamp(i64::from(Date::MIN.0), i64::from(Date::MAX.0));
        Date(day as i32)
    }

    /// The day of the week: 0 for Monday to 6 for Sunday (1970-01-01 was
    /// a Thursday).
    pub fn weekday(self) -> u8 {
        (i64::from(self.0) + 3).rem_euclid(7) as u8
    }

    /// Midnight (UTC) at the start of this day, in Unix milliseconds.
    pub fn unix_millis(self) -> i64 {
        i64::from(self.0) * 86_400_000
    }

    /// The year, month (1–12) and day.
    pub fn ymd(self) -> (i32, u8, u8) {
        civil_from_days(self.0)
    }
}

/// Splits `a?b?c` into three runs of at most four digits.
fn three_numbers(text: &str, separator: char) -> Option<[&str; 3]> {
    let mut parts = text.split(separator);
    let found = [parts.next()?, parts.next()?, parts.next()?];
    let numeric = |s: &&str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    (parts.next().is_none() && found.iter().all(numeric)).then_some(found)
}

fn month_from_name(name: &str) -> Option<u8> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let lower = name.to_ascii_lowercase();
    if lower.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&lower) || (lower == "sept" && *m == "september"))
        .map(|i| i as u8 + 1)
}

impl TryFrom<String> for Date {
    type Error = InvalidDate;
    fn try_from(value: String) -> Result<Self, InvalidDate> {
        Date::parse_iso(&value)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.iso()
    }
}

impl FromStr for Date {
    type Err = InvalidDate;
    fn from_str(text: &str) -> Result<Self, InvalidDate> {
        Date::parse_iso(text)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ymd(y: i32, m: u8, d: u8) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn the_calendar_agrees_with_itself_for_every_day_of_ten_thousand_years() {
        assert_eq!(Date::MIN.ymd(), (1, 1, 1));
        assert_eq!(Date::MAX.ymd(), (9999, 12, 31));
        assert_eq!(ymd(1970, 1, 1).unix_millis(), 0);
        assert_eq!(ymd(2000, 3, 1).days_until(ymd(2000, 2, 28)), -2);
        let mut day = Date::MIN;
        let mut expected = (1, 1, 1);
        while day < Date::MAX {
            assert_eq!(day.ymd(), expected);
            assert_eq!(Date::from_ymd(expected.0, expected.1, expected.2), Ok(day));
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            day = Date(day.0 + 1);
        }
        assert!(Date::from_ymd(1900, 2, 29).is_err());
        assert!(Date::from_ymd(2000, 2, 29).is_ok());
        assert!(Date::from_ymd(2023, 4, 31).is_err());
        assert!(Date::from_ymd(0, 1, 1).is_err());
        assert_eq!(ymd(2023, 4, 28).long(), "28 Apr 2023");
        assert_eq!(ymd(2023, 4, 8).iso(), "2023-04-08");
        assert_eq!(UnixMillis(i64::MIN).date(), Date::MIN);
        assert_eq!(UnixMillis(i64::MAX).date(), Date::MAX);
        assert_eq!(ymd(9999, 10, 31).add_months(6), Date::MAX);
    }

    #[test]
    fn doc_ids_follow_the_sync_url_rule() {
        assert!(DocId::new("nsft-2022_plan").is_ok());
        assert!(DocId::new("a".repeat(128)).is_ok());
        for bad in ["", "a b", "../etc", "é", "a/b", &"a".repeat(129)] {
            assert!(DocId::new(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json_like_roundtrip());
    }

    fn serde_json_like_roundtrip() -> bool {
        let any = yrs::encoding::serde::to_any(&DocId::new("x").unwrap()).unwrap();
        yrs::encoding::serde::from_any::<DocId>(&any).is_ok()
            && yrs::encoding::serde::from_any::<DocId>(&yrs::Any::from("a b")).is_err()
    }

    #[test]
    fn uk_date_formats_are_read_and_impossible_dates_refused() {
        let day = ymd(2023, 4, 28);
        for text in [
            "2023-04-28",
            "28/04/2023",
            "28/4/2023",
            "28-04-2023",
            "28.04.2023",
            "28 Apr 2023",
            "28 April 2023",
            " 28th April 2023 ",
            "2023/04/28",
        ] {
            assert_eq!(Date::parse_loose(text), Ok(day), "{text}");
        }
        assert_eq!(Date::parse_loose("29/02/2024"), Ok(ymd(2024, 2, 29)));
        for (text, reason) in [
            ("31/02/2023", "impossible date"),
            ("29/02/2023", "impossible date"),
            ("2023-13-01", "impossible date"),
            ("28/04/23", "the year must have four digits"),
        ] {
            assert_eq!(
                Date::parse_loose(text).map_err(|e| e.reason),
                Err(reason),
                "{text}"
            );
        }
        for bad in ["", "tomorrow", "28 Foo 2023", "28/04", "2023-4", "1/2/3/4"] {
            assert!(Date::parse_loose(bad).is_err(), "{bad:?}");
        }
        assert!(
            Date::parse_iso("28/04/2023").is_err(),
            "documents hold ISO only"
        );
    }

    #[test]
    fn date_arithmetic() {
        assert_eq!(ymd(2023, 8, 31).add_months(6), ymd(2024, 2, 29));
        assert_eq!(ymd(2023, 11, 15).add_months(3), ymd(2024, 2, 15));
        assert_eq!(ymd(2023, 1, 1).days_until(ymd(2023, 3, 1)), 59);
        assert_eq!(ymd(2023, 4, 28).long(), "28 Apr 2023");
        assert_eq!(UnixMillis(1_682_640_000_000).date(), ymd(2023, 4, 28));
        assert_eq!(UnixMillis(-1).date(), ymd(1969, 12, 31));
    }

    #[test]
    fn user_ids_are_trimmed_names() {
        assert_eq!(UserId::new("  L. Brennan ").unwrap().as_str(), "L. Brennan");
        assert!(UserId::new("   ").is_err());
        assert!(UserId::new("a\u{0}b").is_err());
    }
}
