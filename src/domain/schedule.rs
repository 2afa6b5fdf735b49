//! When KCK's consultants are at their desks: staffed hours per weekday in
//! Kraków time, Polish statutory holidays (computed for any year, never
//! listed by date), extra closure and staffed days, and an administrator's
//! override with an expiry. Pure: the instant comes from the caller's clock.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::{Date, Time};
use serde::Deserialize;

use super::{local_iso, warsaw, Language, Millis};

/// Why a schedule file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule: {0}")]
pub struct ScheduleError(pub String);

/// Staffed from `open` to `close` (local time, `open` < `close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub open: Time,
    pub close: Time,
}

impl Hours {
    /// `07:40-15:30`.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let bad = || ScheduleError(format!("{s:?} is not hours like \"07:40-15:30\""));
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| t.trim().parse::<Time>().map_err(|_| bad());
        let (open, close) = (time(a)?, time(b)?);
        if open >= close {
            return Err(bad());
        }
        Ok(Self { open, close })
    }

    fn contains(self, t: Time) -> bool {
        self.open <= t && t < self.close
    }
}

/// `prompts/schedule.toml` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    /// Weekday (`monday` … `sunday`) → `"07:40-15:30"`; a day left out is closed.
    hours: BTreeMap<String, String>,
    /// Dates (`2026-11-10`) closed besides the statutory holidays.
    #[serde(default)]
    closed: Vec<String>,
    /// Dates staffed although they would not be, with their hours.
    #[serde(default)]
    staffed: Vec<StaffedDay>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffedDay {
    date: String,
    hours: String,
}

/// The staffed hours of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub weekly: BTreeMap<u8, Hours>,
    pub closed: BTreeSet<Date>,
    pub staffed: BTreeMap<Date, Hours>,
}

impl Default for Schedule {
    /// KCK's: Monday to Friday, 7:40–15:30.
    fn default() -> Self {
        let kck = Hours {
            open: Time::constant(7, 40, 0, 0),
            close: Time::constant(15, 30, 0, 0),
        };
        Self {
            weekly: (1..=5).map(|d| (d, kck)).collect(),
            closed: BTreeSet::new(),
            staffed: BTreeMap::new(),
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn date(s: &str) -> Result<Date, ScheduleError> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| ScheduleError(format!("{s:?} is not a date like \"2026-11-10\"")))
}

impl Schedule {
    /// Reads `schedule.toml` text.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let f: ScheduleFile = toml::from_str(text).map_err(|e| ScheduleError(e.to_string()))?;
        let mut weekly = BTreeMap::new();
        for (day, hours) in &f.hours {
            let n = WEEKDAYS.iter().position(|w| w == day).ok_or_else(|| {
                ScheduleError(format!("{day:?} is not a weekday (monday … sunday)"))
            })?;
            weekly.insert(n as u8 + 1, Hours::parse(hours)?);
        }
        let closed = f.closed.iter().map(|d| date(d)).collect::<Result<_, _>>()?;
        let staffed = f
            .staffed
            .iter()
            .map(|s| Ok((date(&s.date)?, Hours::parse(&s.hours)?)))
            .collect::<Result<_, ScheduleError>>()?;
        Ok(Self {
            weekly,
            closed,
            staffed,
        })
    }

    /// What the line does at `at`, given the administrator's override, and
    /// until when.
    pub fn state(&self, at: Millis, over: Option<&Override>) -> LineState {
        let (staffed, reason) = self.at(at, over);
        LineState {
            staffed,
            reason,
            next_change: self.next_change(at, staffed, over),
        }
    }

    /// Whether the line is staffed at `at` and why (without looking ahead:
    /// what a call needs).
    pub fn at(&self, at: Millis, over: Option<&Override>) -> (bool, Reason) {
        if let Some(o) = over.filter(|o| o.until > at) {
            return (o.staffed, Reason::Override(*o));
        }
        let local = zoned(at);
        let (day, time) = (local.date(), local.time());
        if self.closed.contains(&day) {
            return (false, Reason::ClosureDay);
        }
        if let Some(h) = self.staffed.get(&day) {
            return match h.contains(time) {
                true => (true, Reason::ExtraStaffedDay),
                false => (false, Reason::OutsideHours),
            };
        }
        if let Some(h) = holiday(day) {
            return (false, Reason::Holiday(h));
        }
        match self.weekly.get(&weekday(day)) {
            Some(h) if h.contains(time) => (true, Reason::StaffedHours),
            _ => (false, Reason::OutsideHours),
        }
    }

    /// The hours of `day`, whatever their reason (none on closed days).
    fn hours_on(&self, day: Date) -> Option<Hours> {
        if self.closed.contains(&day) {
            return None;
        }
        if let Some(h) = self.staffed.get(&day) {
            return Some(*h);
        }
        if holiday(day).is_some() {
            return None;
        }
        self.weekly.get(&weekday(day)).copied()
    }

    /// The first instant after `at` at which staffed-or-not changes (within
    /// a year and a half), so a caller's "until" is true.
    fn next_change(&self, at: Millis, now: bool, over: Option<&Override>) -> Option<Millis> {
        let mut candidates: Vec<Millis> = Vec::new();
        if let Some(o) = over.filter(|o| o.until > at) {
            candidates.push(o.until);
        }
        let mut day = zoned(at).date();
        for _ in 0..550 {
            if let Some(h) = self.hours_on(day) {
                candidates.extend(
                    [instant(day, h.open), instant(day, h.close)]
                        .into_iter()
                        .flatten(),
                );
            }
            day = day.tomorrow().ok()?;
        }
        candidates.retain(|c| *c > at);
        candidates.sort_unstable();
        candidates.into_iter().find(|c| self.at(*c, over).0 != now)
    }
}

/// An administrator's "staffed until …" or "closed until …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Override {
    pub staffed: bool,
    pub until: Millis,
}

/// Why the line is (not) staffed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    StaffedHours,
    ExtraStaffedDay,
    OutsideHours,
    Holiday(Holiday),
    ClosureDay,
    Override(Override),
}

impl fmt::Display for Reason {
    /// For machines and logs: `holiday: Poniedziałek Wielkanocny`,
    /// `override until 2027-03-29T12:00:00+02:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StaffedHours => f.write_str("staffed hours"),
            Self::ExtraStaffedDay => f.write_str("extra staffed day"),
            Self::OutsideHours => f.write_str("outside hours"),
            Self::Holiday(h) => write!(f, "holiday: {}", h.name(Language::Pl)),
            Self::ClosureDay => f.write_str("closure day"),
            Self::Override(o) => write!(f, "override until {}", local_iso(o.until)),
        }
    }
}

/// What the line does at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineState {
    pub staffed: bool,
    pub reason: Reason,
    /// When `staffed` next flips (none within a year and a half: never).
    pub next_change: Option<Millis>,
}

/// A Polish statutory day off work (ustawa o dniach wolnych od pracy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub date: Date,
    names: [&'static str; 3],
}

impl Holiday {
    pub fn name(&self, lang: Language) -> &'static str {
        match lang {
            Language::Pl => self.names[0],
            Language::Uk => self.names[1],
            Language::En => self.names[2],
        }
    }
}

/// Easter Sunday of `year` (Gregorian; the anonymous algorithm of Meeus,
/// Jones and Butcher).
pub fn easter(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let (a, b, c) = (y % 19, y / 100, y % 100);
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, month as i8, day as i8).ok()
}

/// The statutory holidays of `year`, in date order.
pub fn holidays(year: i16) -> Vec<Holiday> {
    let fixed = |m: i8, d: i8| Date::new(year, m, d).ok();
    let easter = easter(year);
    let after = |days: i64| easter.and_then(|e| e.checked_add(jiff::Span::new().days(days)).ok());
    let mut all: Vec<(Option<Date>, [&'static str; 3])> = vec![
        (fixed(1, 1), ["Nowy Rok", "Новий рік", "New Year's Day"]),
        (fixed(1, 6), ["Trzech Króli", "Богоявлення", "Epiphany"]),
        (easter, ["Wielkanoc", "Великдень", "Easter Sunday"]),
        (
            after(1),
            [
                "Poniedziałek Wielkanocny",
                "Великодній понеділок",
                "Easter Monday",
            ],
        ),
        (fixed(5, 1), ["Święto Pracy", "День праці", "Labour Day"]),
        (
            fixed(5, 3),
            [
                "Święto Konstytucji 3 Maja",
                "День Конституції 3 травня",
                "Constitution Day",
            ],
        ),
        (after(49), ["Zielone Świątki", "Трійця", "Pentecost Sunday"]),
        (
            after(60),
            [
                "Boże Ciało",
                "Свято Тіла і Крові Христових",
                "Corpus Christi",
            ],
        ),
        (
            fixed(8, 15),
            [
                "Wniebowzięcie Najświętszej Maryi Panny",
                "Успіння Пресвятої Богородиці",
                "Assumption Day",
            ],
        ),
        (
            fixed(11, 1),
            ["Wszystkich Świętych", "День усіх святих", "All Saints' Day"],
        ),
        (
            fixed(11, 11),
            [
                "Narodowe Święto Niepodległości",
                "День незалежності",
                "Independence Day",
            ],
        ),
        (
            fixed(12, 25),
            ["Boże Narodzenie", "Різдво", "Christmas Day"],
        ),
        (
            fixed(12, 26),
            [
                "Drugi dzień Bożego Narodzenia",
                "Другий день Різдва",
                "Boxing Day",
            ],
        ),
    ];
    if year >= 2025 {
        all.push((
            fixed(12, 24),
            ["Wigilia Bożego Narodzenia", "Святвечір", "Christmas Eve"],
        ));
    }
    let mut out: Vec<Holiday> = all
        .into_iter()
        .filter_map(|(d, names)| d.map(|date| Holiday { date, names }))
        .collect();
    out.sort_by_key(|h| h.date);
    out
}

/// The statutory holiday on `day`, if it is one.
pub fn holiday(day: Date) -> Option<Holiday> {
    holidays(day.year()).into_iter().find(|h| h.date == day)
}

fn zoned(at: Millis) -> jiff::Zoned {
    jiff::Timestamp::from_millisecond(at)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(warsaw())
}

fn weekday(day: Date) -> u8 {
    day.weekday().to_monday_one_offset() as u8
}

/// `day` at `t` in Kraków, as an instant.
fn instant(day: Date, t: Time) -> Option<Millis> {
    day.to_datetime(t)
        .to_zoned(warsaw())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Millis {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn easter_sundays() {
        for (y, d) in [
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2028, "2028-04-16"),
            (2029, "2029-04-01"),
            (2030, "2030-04-21"),
        ] {
            assert_eq!(easter(y).unwrap().to_string(), d);
        }
    }

    #[test]
    fn hours_are_checked() {
        assert!(Hours::parse("07:40-15:30").is_ok());
        assert!(Hours::parse("15:30-07:40").is_err());
        assert!(Hours::parse("7:40").is_err());
        assert!(Schedule::parse("[hours]\nfunday = \"07:40-15:30\"").is_err());
    }

    #[test]
    fn a_weekday_morning_is_staffed_until_half_past_three() {
        let s = Schedule::default();
        let st = s.state(at("2026-12-03T09:00:00+01:00"), None);
        assert!(st.staffed);
        assert_eq!(st.reason, Reason::StaffedHours);
        assert_eq!(st.next_change, Some(at("2026-12-03T15:30:00+01:00")));
        let st = s.state(at("2026-12-04T15:30:00+01:00"), None);
        assert!(!st.staffed, "15:30 is closed");
        assert_eq!(
            st.next_change,
            Some(at("2026-12-07T07:40:00+01:00")),
            "Monday"
        );
    }

    #[test]
    fn statutory_holidays_2025_to_2030() {
        for year in 2025..=2030 {
            let e = easter(year).unwrap();
            let plus = |d: i64| e.checked_add(jiff::Span::new().days(d)).unwrap();
            let mut want: Vec<Date> = [
                (1, 1),
                (1, 6),
                (5, 1),
                (5, 3),
                (8, 15),
                (11, 1),
                (11, 11),
                (12, 24),
                (12, 25),
                (12, 26),
            ]
            .iter()
            .map(|&(m, d)| Date::new(year, m, d).unwrap())
            .chain([e, plus(1), plus(49), plus(60)])
            .collect();
            want.sort();
            let got: Vec<Date> = holidays(year).iter().map(|h| h.date).collect();
            assert_eq!(got, want, "{year}");
        }
        assert!(
            holidays(2024)
                .iter()
                .all(|h| h.date != Date::constant(2024, 12, 24)),
            "24 Dec only from 2025"
        );
        assert_eq!(
            holiday(Date::constant(2027, 3, 29))
                .unwrap()
                .name(Language::Pl),
            "Poniedziałek Wielkanocny"
        );
        assert_eq!(
            holiday(Date::constant(2026, 6, 4))
                .unwrap()
                .name(Language::En),
            "Corpus Christi"
        );
    }

    #[test]
    fn holidays_and_the_spring_clock_change() {
        let s = Schedule::default();
        // Easter Monday 2027, the day after the clocks go forward.
        let st = s.state(at("2027-03-29T10:00:00+02:00"), None);
        assert!(!st.staffed);
        assert_eq!(st.reason.to_string(), "holiday: Poniedziałek Wielkanocny");
        assert_eq!(st.next_change, Some(at("2027-03-30T07:40:00+02:00")));
        // Friday before, winter time: closes at 15:30 CET, opens Tuesday in summer time.
        let st = s.state(at("2027-03-26T15:29:59+01:00"), None);
        assert!(st.staffed);
        assert_eq!(st.next_change, Some(at("2027-03-26T15:30:00+01:00")));
        assert_eq!(
            s.state(at("2027-03-26T15:30:00+01:00"), None).next_change,
            Some(at("2027-03-30T07:40:00+02:00"))
        );
    }

    #[test]
    fn the_autumn_clock_change() {
        let s = Schedule::default();
        // Clocks go back on Sunday 25 October 2026.
        let st = s.state(at("2026-10-23T16:00:00+02:00"), None);
        assert_eq!(st.next_change, Some(at("2026-10-26T07:40:00+01:00")));
        assert!(!s.state(at("2026-10-26T07:39:59+01:00"), None).staffed);
        assert!(s.state(at("2026-10-26T07:40:00+01:00"), None).staffed);
        assert!(s.state(at("2026-10-26T15:29:00+01:00"), None).staffed);
        assert!(!s.state(at("2026-10-26T15:30:00+01:00"), None).staffed);
    }

    #[test]
    fn closure_and_staffed_days_come_from_the_file() {
        let s = Schedule::parse(
            r#"
            closed = ["2026-11-10"]
            [hours]
            monday = "07:40-15:30"
            tuesday = "07:40-15:30"
            [[staffed]]
            date = "2026-11-11"
            hours = "09:00-12:00"
            "#,
        )
        .unwrap();
        let st = s.state(at("2026-11-10T10:00:00+01:00"), None);
        assert_eq!((st.staffed, st.reason), (false, Reason::ClosureDay));
        assert_eq!(
            st.next_change,
            Some(at("2026-11-11T09:00:00+01:00")),
            "Independence Day, staffed by exception"
        );
        let st = s.state(at("2026-11-11T11:00:00+01:00"), None);
        assert_eq!((st.staffed, st.reason), (true, Reason::ExtraStaffedDay));
        assert_eq!(st.next_change, Some(at("2026-11-11T12:00:00+01:00")));
        assert_eq!(
            s.state(at("2026-11-11T12:00:00+01:00"), None).next_change,
            Some(at("2026-11-16T07:40:00+01:00")),
            "Wednesday to Sunday are not in the file"
        );
    }

    #[test]
    fn overrides_win_until_they_expire() {
        let s = Schedule::default();
        let closed = Override {
            staffed: false,
            until: at("2026-12-03T12:00:00+01:00"),
        };
        let st = s.state(at("2026-12-03T09:00:00+01:00"), Some(&closed));
        assert!(!st.staffed);
        assert_eq!(
            st.reason.to_string(),
            "override until 2026-12-03T12:00:00+01:00"
        );
        assert_eq!(st.next_change, Some(closed.until));
        let st = s.state(closed.until, Some(&closed));
        assert_eq!(
            (st.staffed, st.reason),
            (true, Reason::StaffedHours),
            "expired"
        );
        let staffed = Override {
            staffed: true,
            until: at("2026-12-05T20:00:00+01:00"),
        };
        let st = s.state(at("2026-12-05T10:00:00+01:00"), Some(&staffed));
        assert!(st.staffed, "a Saturday staffed by override");
        assert_eq!(st.next_change, Some(staffed.until));
        assert_eq!(
            s.state(at("2026-12-05T10:00:00+01:00"), None).reason,
            Reason::OutsideHours
        );
    }

    #[test]
    fn a_schedule_without_hours_never_changes() {
        let s = Schedule::parse("[hours]").unwrap();
        let st = s.state(at("2026-12-03T09:00:00+01:00"), None);
        assert_eq!((st.staffed, st.next_change), (false, None));
    }
}
