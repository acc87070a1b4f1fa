//! The weekly digest (issue 20): what goes into one person's e-mail about
//! one programme, and when a programme's digest is due.
//!
//! *What* is [`crate::work::work_for`] — the same lists as My work — with
//! the digest's own window for a person's own actions (due in the next
//! [`crate::work::DIGEST_DAYS`] days, or overdue), each item reduced to
//! what may leave the service by e-mail: the action's reference, its title
//! (first line, truncated), the due date, what is asked in Plait's own
//! words ([`crate::work::Task::summary`]: never a progress update, a
//! request's reason, a re-audit's findings or evidence) and the path of
//! its page in the app.
//!
//! *When* is the programme's setting (`digest_day`, `digest_time` in its
//! `programme` map: a [`Weekday`] key and `HH:MM`), in UK local time
//! (Europe/London: GMT, and BST from 01:00 UTC on the last Sunday of
//! March to 01:00 UTC on the last Sunday of October), computed here by
//! that rule.

use crate::ids::{ActionId, Date, DocId, UnixMillis};
use crate::keys::ProgrammeField;
use crate::lifecycle::Governance;
use crate::plan::PlanView;
use crate::vocab::{Role, Weekday};
use crate::work::{work_for, Horizon, WorkList};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// When a programme's weekly digest goes out: a day and a time of day,
/// UK local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The day of the week.
    pub day: Weekday,
    /// Minutes after local midnight (0 to 1439).
    pub minute: u16,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::DEFAULT
    }
}

impl Schedule {
    /// Unless a programme says otherwise: Monday, 07:00.
    pub const DEFAULT: Schedule = Schedule {
        day: Weekday::Monday,
        minute: 7 * 60,
    };

    /// A digest missed at its time (no server running then) still goes
    /// out this long after it, not later: a day.
    pub const CATCH_UP_MILLIS: i64 = DAY;

    /// The time of day as stored and shown: `07:00`.
    pub fn time_text(self) -> String {
        format!("{:02}:{:02}", self.minute / 60, self.minute % 60)
    }

    /// "Monday at 07:00 (UK time)".
    pub fn describe(self) -> String {
        format!("{} at {} (UK time)", self.day.label(), self.time_text())
    }

    /// Reads a time of day, `HH:MM` (24-hour; `7:00` too).
    ///
    /// # Errors
    /// Text that is not a time of day.
    pub fn parse_time(text: &str) -> Result<u16, String> {
        let bad = || format!("{text:?} is not a time of day (HH:MM, 24-hour)");
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        let number = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<u16>().ok())
                .flatten()
        };
        let hours = (1..=2).contains(&h.len()).then(|| number(h)).flatten();
        let minutes = (m.len() == 2).then(|| number(m)).flatten();
        match (hours, minutes) {
            (Some(h), Some(m)) if h < 24 && m < 60 => Ok(h * 60 + m),
            _ => Err(bad()),
        }
    }

    /// The moment this week's digest is due, for the week starting on the
    /// Monday `week`.
    pub fn slot(self, week: Date) -> UnixMillis {
        from_london(week.add_days(i64::from(self.day.index())), self.minute)
    }

    /// The week (its Monday) whose digest is due at `now`: its time has
    /// come and is less than [`Schedule::CATCH_UP_MILLIS`] ago.
    pub fn due_week(self, now: UnixMillis) -> Option<Date> {
        let local = london(now);
        let monday = local.date.add_days(-i64::from(local.date.weekday()));
        [monday, monday.add_days(-7)].into_iter().find(|week| {
            let slot = self.slot(*week);
            now >= slot && now.0 < slot.0 + Schedule::CATCH_UP_MILLIS
        })
    }
}

/// Whether `text` is a value the digest setting `field` can hold (any
/// other field: yes). The admission asks it of every programme edit.
///
/// # Errors
/// Why it cannot.
pub fn check_setting(field: ProgrammeField, text: &str) -> Result<(), String> {
    match field {
        ProgrammeField::DigestDay => text
            .parse::<Weekday>()
            .map(|_| ())
            .map_err(|_| format!("{}: not a day of the week", field.key())),
        ProgrammeField::DigestTime => Schedule::parse_time(text)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", field.key())),
        _ => Ok(()),
    }
}

/// A moment as UK local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The local date.
    pub date: Date,
    /// Minutes after local midnight.
    pub minute: u16,
}

/// The last Sunday of `month` (March or October: 31 days) of `year`.
fn last_sunday(year: i32, month: u8) -> Date {
    let last = Date::from_ymd(year, month, 31).unwrap_or(Date::MIN);
    last.add_days(-i64::from((last.weekday() + 1) % 7))
}

/// British Summer Time's start and end in `year` (01:00 UTC on the last
/// Sundays of March and October).
pub fn bst(year: i32) -> (UnixMillis, UnixMillis) {
    (
        UnixMillis(last_sunday(year, 3).unix_millis() + HOUR),
        UnixMillis(last_sunday(year, 10).unix_millis() + HOUR),
    )
}

/// How far UK local time is ahead of UTC at `at`, in milliseconds (an
/// hour in BST, none in GMT).
pub fn london_offset(at: UnixMillis) -> i64 {
    let (starts, ends) = bst(at.date().ymd().0);
    if at >= starts && at < ends {
        HOUR
    } else {
        0
    }
}

/// `at` as UK local time.
pub fn london(at: UnixMillis) -> LocalTime {
    let local = at.0 + london_offset(at);
    LocalTime {
        date: UnixMillis(local).date(),
        minute: (local.rem_euclid(DAY) / MINUTE) as u16,
    }
}

/// The moment UK local time reads `minute` past midnight on `date`. A
/// time read twice (01:00 to 02:00 on the last Sunday of October) is its
/// first reading; a time the clocks skip (01:00 to 02:00 on the last
/// Sunday of March) is the moment an hour on.
pub fn from_london(date: Date, minute: u16) -> UnixMillis {
    let local = date.unix_millis() + i64::from(minute) * MINUTE;
    let summer = UnixMillis(local - HOUR);
    if london_offset(summer) == HOUR {
        return summer;
    }
    UnixMillis(local)
}

/// One thing in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestItem {
    /// The action's reference ("MD001.1").
    pub reference: String,
    /// Its title's first line, at most [`TITLE_CHARS`] characters.
    pub title: String,
    /// What is asked, in Plait's own words.
    pub note: String,
    /// When it is due, if it has a date.
    pub due: Option<Date>,
    /// Its page in the app, from the site's root
    /// (`/p/{programme}/actions/{plan}/{action}`).
    pub path: String,
}

/// One list of a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSection {
    /// Which of My work's lists it is.
    pub list: WorkList,
    /// Its heading in the e-mail.
    pub heading: &'static str,
    /// The first [`MOST_PER_LIST`] items, soonest due first.
    pub items: Vec<DigestItem>,
    /// How many more the list has (read on My work).
    pub more: usize,
}

/// One person's digest of one programme: the lists that are not empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digest {
    /// The lists, in My work's order.
    pub sections: Vec<DigestSection>,
}

impl Digest {
    /// Nothing needs them: no e-mail is sent.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// How many things it lists (those left for My work included).
    pub fn count(&self) -> usize {
        self.sections.iter().map(|s| s.items.len() + s.more).sum()
    }
}

/// The longest title a digest carries, in characters.
pub const TITLE_CHARS: usize = 80;

/// The most items a digest lists under one heading (the rest are counted
/// and left to My work).
pub const MOST_PER_LIST: usize = 25;

/// The path of an action's page in the app (the client's route).
pub fn action_path(programme: &DocId, plan: &DocId, action: &ActionId) -> String {
    format!("/p/{programme}/actions/{plan}/{action}")
}

/// The path of My work in the app (the client's route).
pub fn my_work_path(programme: &DocId) -> String {
    format!("/p/{programme}/my-work")
}

/// `text`'s first line, spaces collapsed, cut to `most` characters (the
/// cut marked with "…").
pub fn truncate(text: &str, most: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let words: Vec<&str> = line.split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= most {
        return line;
    }
    let cut: String = line.chars().take(most.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The heading a list has in the digest (the own actions' window is the
/// digest's).
fn heading(list: WorkList) -> &'static str {
    match list {
        WorkList::Own => "Your actions due in the next 14 days or overdue",
        other => other.heading(),
    }
}

/// `user`'s digest of the programme `programme` (acting as `role` under
/// its `rules`) on `today`, from its `plans`.
pub fn digest_for(
    programme: &DocId,
    user: &str,
    role: Role,
    rules: Governance,
    plans: &[(DocId, PlanView)],
    today: Date,
) -> Digest {
    let sections = work_for(user, role, rules, plans, today, Horizon::digest(today))
        .into_iter()
        .filter(|(_, tasks)| !tasks.is_empty())
        .map(|(list, tasks)| {
            let more = tasks.len().saturating_sub(MOST_PER_LIST);
            let items = tasks
                .into_iter()
                .take(MOST_PER_LIST)
                .map(|t| DigestItem {
                    reference: truncate(&t.action.reference, 40),
                    title: truncate(&t.action.title, TITLE_CHARS),
                    note: t.summary,
                    due: t.due,
                    path: action_path(programme, &t.plan, &t.action.id),
                })
                .collect();
            DigestSection {
                list,
                heading: heading(list),
                items,
                more,
            }
        })
        .collect();
    Digest { sections }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn at(y: i32, mo: u8, d: u8, h: i64, mi: i64) -> UnixMillis {
        UnixMillis(Date::from_ymd(y, mo, d).unwrap().unix_millis() + h * HOUR + mi * MINUTE)
    }

    #[test]
    fn bst_runs_from_the_last_sunday_of_march_to_the_last_of_october() {
        // 2026: 29 March and 25 October; 2027: 28 March and 31 October.
        assert_eq!(bst(2026), (at(2026, 3, 29, 1, 0), at(2026, 10, 25, 1, 0)));
        assert_eq!(bst(2027), (at(2027, 3, 28, 1, 0), at(2027, 10, 31, 1, 0)));
        assert_eq!(bst(2025), (at(2025, 3, 30, 1, 0), at(2025, 10, 26, 1, 0)));
        assert_eq!(london_offset(at(2026, 3, 29, 0, 59)), 0);
        assert_eq!(london_offset(at(2026, 3, 29, 1, 0)), HOUR);
        assert_eq!(london_offset(at(2026, 10, 25, 0, 59)), HOUR);
        assert_eq!(london_offset(at(2026, 10, 25, 1, 0)), 0);
        assert_eq!(london_offset(at(2026, 1, 15, 12, 0)), 0);
        assert_eq!(london_offset(at(2026, 7, 15, 12, 0)), HOUR);
        // Local time across midnight in summer.
        let late = london(at(2026, 7, 15, 23, 30));
        assert_eq!(late.date, Date::from_ymd(2026, 7, 16).unwrap());
        assert_eq!(late.minute, 30);
    }

    #[test]
    fn local_times_convert_both_ways_in_the_change_over_weeks() {
        // Monday 07:00 the day after each change.
        assert_eq!(
            from_london(Date::from_ymd(2026, 3, 30).unwrap(), 7 * 60),
            at(2026, 3, 30, 6, 0)
        );
        assert_eq!(
            from_london(Date::from_ymd(2026, 10, 26).unwrap(), 7 * 60),
            at(2026, 10, 26, 7, 0)
        );
        // Sunday 07:00 on each change's own day: after it.
        assert_eq!(
            from_london(Date::from_ymd(2026, 3, 29).unwrap(), 7 * 60),
            at(2026, 3, 29, 6, 0)
        );
        assert_eq!(
            from_london(Date::from_ymd(2026, 10, 25).unwrap(), 7 * 60),
            at(2026, 10, 25, 7, 0)
        );
        // 01:30 on the day the clocks go back is read twice: the first.
        assert_eq!(
            from_london(Date::from_ymd(2026, 10, 25).unwrap(), 90),
            at(2026, 10, 25, 0, 30)
        );
        // 01:30 on the day they go forward never happens: an hour on.
        assert_eq!(
            from_london(Date::from_ymd(2026, 3, 29).unwrap(), 90),
            at(2026, 3, 29, 1, 30)
        );
        assert_eq!(london(at(2026, 3, 29, 1, 30)).minute, 150);
        // Every quarter hour of the two weeks reads back as itself.
        for start in [at(2026, 3, 23, 0, 0), at(2026, 10, 19, 0, 0)] {
            for q in 0..(14 * 24 * 4) {
                let moment = UnixMillis(start.0 + q * 15 * MINUTE);
                let local = london(moment);
                let back = from_london(local.date, local.minute);
                // The hour read twice reads back as its first reading.
                assert!(
                    back == moment || back.0 == moment.0 - HOUR,
                    "{moment:?} → {local:?} → {back:?}"
                );
            }
        }
    }

    #[test]
    fn a_programmes_digest_is_due_from_its_time_for_a_day() {
        let monday_seven = Schedule::DEFAULT;
        // Winter: Monday 07:00 GMT is 07:00 UTC.
        let week = Date::from_ymd(2026, 11, 23).unwrap();
        assert_eq!(monday_seven.due_week(at(2026, 11, 23, 6, 59)), None);
        assert_eq!(monday_seven.due_week(at(2026, 11, 23, 7, 0)), Some(week));
        assert_eq!(monday_seven.due_week(at(2026, 11, 24, 6, 59)), Some(week));
        assert_eq!(monday_seven.due_week(at(2026, 11, 24, 7, 0)), None);
        // Summer: Monday 07:00 BST is 06:00 UTC.
        let summer = Date::from_ymd(2026, 7, 13).unwrap();
        assert_eq!(monday_seven.due_week(at(2026, 7, 13, 5, 59)), None);
        assert_eq!(monday_seven.due_week(at(2026, 7, 13, 6, 0)), Some(summer));
        // The week the clocks go forward (Sunday 29 March 2026): Monday
        // 30th's 07:00 is BST; the week they go back, Monday 26 October's
        // is GMT.
        assert_eq!(monday_seven.due_week(at(2026, 3, 30, 5, 59)), None);
        assert_eq!(
            monday_seven.due_week(at(2026, 3, 30, 6, 0)),
            Date::from_ymd(2026, 3, 30).ok()
        );
        assert_eq!(monday_seven.due_week(at(2026, 10, 26, 6, 30)), None);
        assert_eq!(
            monday_seven.due_week(at(2026, 10, 26, 7, 0)),
            Date::from_ymd(2026, 10, 26).ok()
        );
        // Sunday 23:30: due into the next Monday, as that week's digest.
        let sunday = Schedule {
            day: Weekday::Sunday,
            minute: 23 * 60 + 30,
        };
        assert_eq!(sunday.due_week(at(2026, 11, 29, 23, 29)), None);
        assert_eq!(sunday.due_week(at(2026, 11, 29, 23, 30)), Some(week));
        assert_eq!(sunday.due_week(at(2026, 11, 30, 8, 0)), Some(week));
        // Friday 16:30 in summer, the day after.
        let friday = Schedule {
            day: Weekday::Friday,
            minute: 16 * 60 + 30,
        };
        assert_eq!(friday.due_week(at(2026, 7, 17, 15, 30)), Some(summer));
        assert_eq!(friday.due_week(at(2026, 7, 17, 15, 29)), None);
    }

    #[test]
    fn the_settings_read_only_days_and_times() {
        assert_eq!(Schedule::parse_time("07:00"), Ok(420));
        assert_eq!(Schedule::parse_time("7:05"), Ok(425));
        assert_eq!(Schedule::parse_time("23:59"), Ok(1439));
        for bad in ["24:00", "7", "07:60", "-1:00", "07:0a", "", "7:5", "007:00"] {
            assert!(Schedule::parse_time(bad).is_err(), "{bad}");
        }
        assert!(check_setting(ProgrammeField::DigestDay, "friday").is_ok());
        assert!(check_setting(ProgrammeField::DigestDay, "Friday").is_err());
        assert!(check_setting(ProgrammeField::DigestTime, "25:00").is_err());
        assert_eq!(Schedule::DEFAULT.describe(), "Monday at 07:00 (UK time)");
    }

    #[test]
    fn titles_are_cut_to_one_short_line() {
        assert_eq!(truncate("  Fit   door\nclosers", 80), "Fit door");
        let long = "a".repeat(100);
        let cut = truncate(&long, TITLE_CHARS);
        assert_eq!(cut.chars().count(), TITLE_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("é".repeat(81).as_str(), 80).chars().count(), 80);
    }
}
