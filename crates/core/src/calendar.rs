//! A county's working calendar and deadline arithmetic.
//!
//! Every instant here is the county's local wall-clock time as a `NaiveDateTime`. China keeps
//! one offset (+08:00) and no daylight saving, so local arithmetic is exact; the storage layer
//! converts to and from UTC at its edge.
//!
//! Convention: adding a positive amount of working time always lands inside a working period
//! or exactly at a period's end (4 working hours from 13:30 with an afternoon ending at 17:30
//! is 17:30 that day, not 08:30 the next working day). Adding zero returns the start unchanged.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One working period of a working day, e.g. 08:30-12:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkPeriod {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("a working day needs at least one working period")]
    NoPeriods,
    #[error("working period {0} ends before it starts")]
    EmptyPeriod(usize),
    #[error("working period {0} overlaps or precedes the one before it")]
    Unordered(usize),
    #[error("every day of the week is a weekend day")]
    NoWorkingWeekday,
    #[error("{0} is both a holiday and a swapped working day")]
    HolidayAndWorkingDay(NaiveDate),
}

/// The calendar as stored and edited: plain data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarData {
    pub periods: Vec<WorkPeriod>,
    #[serde(default = "default_weekend")]
    pub weekend: Vec<Weekday>,
    /// Public holidays (法定节假日), including the weekdays taken off for them.
    #[serde(default)]
    pub holidays: BTreeSet<NaiveDate>,
    /// Swapped working days (调休): weekend days worked to make up for a holiday.
    #[serde(default)]
    pub working_days: BTreeSet<NaiveDate>,
}

fn default_weekend() -> Vec<Weekday> {
    vec![Weekday::Sat, Weekday::Sun]
}

/// A validated working calendar of a county.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarData", into = "CalendarData")]
pub struct Calendar {
    data: CalendarData,
}

impl TryFrom<CalendarData> for Calendar {
    type Error = CalendarError;

    fn try_from(data: CalendarData) -> Result<Self, Self::Error> {
        if data.periods.is_empty() {
            return Err(CalendarError::NoPeriods);
        }
        for (i, p) in data.periods.iter().enumerate() {
            if p.end <= p.start {
                return Err(CalendarError::EmptyPeriod(i));
            }
            if i > 0 && p.start < data.periods[i - 1].end {
                return Err(CalendarError::Unordered(i));
            }
        }
        // Without a working weekday, arithmetic over a long holiday-free stretch never ends.
        let weekdays =
            [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
        if weekdays.iter().all(|d| data.weekend.contains(d)) {
            return Err(CalendarError::NoWorkingWeekday);
        }
        if let Some(d) = data.holidays.intersection(&data.working_days).next() {
            return Err(CalendarError::HolidayAndWorkingDay(*d));
        }
        Ok(Calendar { data })
    }
}

impl From<Calendar> for CalendarData {
    fn from(c: Calendar) -> Self {
        c.data
    }
}

impl Default for Calendar {
    /// Chinese government office hours: 08:30-12:00 and 14:30-17:30, Monday to Friday.
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        Calendar::try_from(CalendarData {
            periods: vec![
                WorkPeriod { start: t(8, 30), end: t(12, 0) },
                WorkPeriod { start: t(14, 30), end: t(17, 30) },
            ],
            weekend: default_weekend(),
            holidays: BTreeSet::new(),
            working_days: BTreeSet::new(),
        })
        .expect("the default calendar is valid")
    }
}

impl Calendar {
    pub fn new(data: CalendarData) -> Result<Calendar, CalendarError> {
        Calendar::try_from(data)
    }

    pub fn data(&self) -> &CalendarData {
        &self.data
    }

    pub fn periods(&self) -> &[WorkPeriod] {
        &self.data.periods
    }

    /// A swapped working day always works; otherwise holidays and weekends do not.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.data.working_days.contains(&day) {
            return true;
        }
        !self.data.holidays.contains(&day) && !self.data.weekend.contains(&day.weekday())
    }

    /// Whether `t` falls inside a working period (start inclusive, end exclusive).
    pub fn is_working_time(&self, t: NaiveDateTime) -> bool {
        self.is_working_day(t.date()) && self.data.periods.iter().any(|p| p.start <= t.time() && t.time() < p.end)
    }

    /// Working time of one working day.
    pub fn day_length(&self) -> TimeDelta {
        self.data.periods.iter().map(|p| p.end - p.start).fold(TimeDelta::zero(), |a, b| a + b)
    }

    /// `start` plus `amount` of working time.
    pub fn add_working(&self, start: NaiveDateTime, amount: TimeDelta) -> NaiveDateTime {
        if amount <= TimeDelta::zero() {
            return start;
        }
        let mut left = amount;
        let mut day = start.date();
        loop {
            if self.is_working_day(day) {
                for p in &self.data.periods {
                    let from = day.and_time(p.start).max(start);
                    let to = day.and_time(p.end);
                    if from >= to {
                        continue;
                    }
                    let available = to - from;
                    if left <= available {
                        return from + left;
                    }
                    left -= available;
                }
            }
            day = day.succ_opt().expect("date within chrono's range");
        }
    }

    /// The close of business of the `n`th working day after the day of `start`. As with Chinese
    /// administrative time limits, the day the clock starts does not count (期间开始之日不计入).
    pub fn add_working_days(&self, start: NaiveDateTime, n: u32) -> NaiveDateTime {
        if n == 0 {
            return start;
        }
        let mut day = start.date();
        let mut counted = 0;
        loop {
            day = day.succ_opt().expect("date within chrono's range");
            if self.is_working_day(day) {
                counted += 1;
                if counted == n {
                    let end = self.data.periods.last().expect("validated non-empty").end;
                    return day.and_time(end);
                }
            }
        }
    }

    /// Working time between two instants; zero if `end` is not after `start`.
    pub fn working_between(&self, start: NaiveDateTime, end: NaiveDateTime) -> TimeDelta {
        let mut total = TimeDelta::zero();
        if end <= start {
            return total;
        }
        let mut day = start.date();
        while day <= end.date() {
            if self.is_working_day(day) {
                for p in &self.data.periods {
                    let from = day.and_time(p.start).max(start);
                    let to = day.and_time(p.end).min(end);
                    if to > from {
                        total += to - from;
                    }
                }
            }
            day = day.succ_opt().expect("date within chrono's range");
        }
        total
    }
}

/// How a deadline's amount is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineUnit {
    NaturalHours,
    WorkingHours,
    WorkingDays,
}

impl DeadlineUnit {
    pub const ALL: [DeadlineUnit; 3] =
        [DeadlineUnit::NaturalHours, DeadlineUnit::WorkingHours, DeadlineUnit::WorkingDays];

    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineUnit::NaturalHours => "natural_hours",
            DeadlineUnit::WorkingHours => "working_hours",
            DeadlineUnit::WorkingDays => "working_days",
        }
    }

    pub fn parse(s: &str) -> Option<DeadlineUnit> {
        DeadlineUnit::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// A time limit for one stage of a case, e.g. 4 working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlineRule {
    pub amount: u32,
    pub unit: DeadlineUnit,
}

/// When the warning is due and when the deadline falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub warn_at: NaiveDateTime,
    pub due: NaiveDateTime,
}

/// Where a case stands against its deadline at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    OnTrack,
    /// Past the warning point: the owner is told.
    Warning,
    /// Past the deadline: the case escalates.
    Overdue,
}

impl Deadline {
    /// At exactly the deadline the case is still on time; it is overdue after it.
    pub fn status(&self, now: NaiveDateTime) -> DeadlineStatus {
        if now > self.due {
            DeadlineStatus::Overdue
        } else if now >= self.warn_at {
            DeadlineStatus::Warning
        } else {
            DeadlineStatus::OnTrack
        }
    }
}

/// The spec's example warning point: 75 % of the time limit.
pub const DEFAULT_WARN_PERCENT: u32 = 75;

impl DeadlineRule {
    pub fn new(amount: u32, unit: DeadlineUnit) -> DeadlineRule {
        DeadlineRule { amount, unit }
    }

    pub fn natural_hours(amount: u32) -> DeadlineRule {
        DeadlineRule::new(amount, DeadlineUnit::NaturalHours)
    }

    pub fn working_hours(amount: u32) -> DeadlineRule {
        DeadlineRule::new(amount, DeadlineUnit::WorkingHours)
    }

    pub fn working_days(amount: u32) -> DeadlineRule {
        DeadlineRule::new(amount, DeadlineUnit::WorkingDays)
    }

    /// The deadline for a clock started at `start`.
    pub fn due(&self, calendar: &Calendar, start: NaiveDateTime) -> NaiveDateTime {
        match self.unit {
            DeadlineUnit::NaturalHours => start + TimeDelta::hours(i64::from(self.amount)),
            DeadlineUnit::WorkingHours => calendar.add_working(start, TimeDelta::hours(i64::from(self.amount))),
            DeadlineUnit::WorkingDays => calendar.add_working_days(start, self.amount),
        }
    }

    /// The deadline and its warning point, `warn_percent` of the way there (measured in the
    /// rule's own kind of time: working time for working units).
    pub fn deadline(&self, calendar: &Calendar, start: NaiveDateTime, warn_percent: u32) -> Deadline {
        let due = self.due(calendar, start);
        let pct = i32::try_from(warn_percent.min(100)).expect("at most 100");
        let warn_at = match self.unit {
            DeadlineUnit::NaturalHours => start + (due - start) * pct / 100,
            _ => calendar.add_working(start, calendar.working_between(start, due) * pct / 100),
        };
        Deadline { warn_at, due }
    }

    /// The shorter limit of a reopened case. The spec only says "shorter"; we halve it,
    /// rounding up and never below one, as 12345 rework limits are roughly half the first.
    pub fn shortened(&self) -> DeadlineRule {
        DeadlineRule { amount: self.amount.div_ceil(2).max(1), unit: self.unit }
    }

    /// Moves a deadline later by the time the clock was paused (waiting for the reporter).
    /// Pauses are `(from, to)` pairs in order; only the part before the running deadline counts,
    /// measured in the rule's kind of time.
    pub fn extend_for_pauses(
        &self,
        calendar: &Calendar,
        due: NaiveDateTime,
        pauses: &[(NaiveDateTime, NaiveDateTime)],
    ) -> NaiveDateTime {
        let mut due = due;
        for &(from, to) in pauses {
            if from >= due || to <= from {
                continue;
            }
            due = match self.unit {
                DeadlineUnit::NaturalHours => due + (to - from),
                _ => calendar.add_working(due, calendar.working_between(from, to)),
            };
        }
        due
    }
}

/// How urgent a case is; the published practice distinguishes these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Emergencies and threats to life or property.
    Emergency,
    /// Water, power, gas, heating, extreme weather.
    Urgent,
    General,
    Complex,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Emergency, Severity::Urgent, Severity::General, Severity::Complex];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Emergency => "emergency",
            Severity::Urgent => "urgent",
            Severity::General => "general",
            Severity::Complex => "complex",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The stage a deadline times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Accept,
    Dispatch,
    Sign,
    Respond,
    Resolve,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Accept, Stage::Dispatch, Stage::Sign, Stage::Respond, Stage::Resolve];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Accept => "accept",
            Stage::Dispatch => "dispatch",
            Stage::Sign => "sign",
            Stage::Respond => "respond",
            Stage::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One line of the deadline catalogue. `category` is a category code; `None` is the default
/// for every category without its own line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineEntry {
    pub category: Option<String>,
    pub severity: Severity,
    pub stage: Stage,
    pub rule: DeadlineRule,
}

/// Deadlines per (category, severity, stage), as data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeadlineCatalogue {
    pub entries: Vec<DeadlineEntry>,
}

impl DeadlineCatalogue {
    /// The category's own rule, else the default one.
    pub fn rule(&self, category: &str, severity: Severity, stage: Stage) -> Option<DeadlineRule> {
        let find = |c: Option<&str>| {
            self.entries
                .iter()
                .find(|e| e.category.as_deref() == c && e.severity == severity && e.stage == stage)
                .map(|e| e.rule)
        };
        find(Some(category)).or_else(|| find(None))
    }

    /// The spec's published practice as a starting catalogue. Where the spec gives no figure
    /// (signing, accepting an emergency) the numbers are ours and marked so.
    pub fn default_practice() -> DeadlineCatalogue {
        use Severity::*;
        use Stage::*;
        let nh = DeadlineRule::natural_hours;
        let wh = DeadlineRule::working_hours;
        let wd = DeadlineRule::working_days;
        let mut entries = Vec::new();
        let mut add = |category: Option<&str>, severity, stage, rule| {
            entries.push(DeadlineEntry { category: category.map(str::to_string), severity, stage, rule })
        };
        for s in Severity::ALL {
            // Web and text intake accepted within 2 hours.
            add(None, s, Accept, nh(2));
        }
        add(None, Emergency, Dispatch, nh(1));
        add(None, Urgent, Dispatch, nh(2));
        add(None, General, Dispatch, nh(24));
        add(None, Complex, Dispatch, nh(24));
        // Signing: ours; quick for anything urgent, half a working day otherwise.
        add(None, Emergency, Sign, nh(1));
        add(None, Urgent, Sign, nh(2));
        add(None, General, Sign, wh(4));
        add(None, Complex, Sign, wh(4));
        // Feedback to the reporter: 2 h, 24 h, 7 days, 15 days.
        add(None, Emergency, Respond, nh(2));
        add(None, Urgent, Respond, nh(24));
        add(None, General, Respond, nh(7 * 24));
        add(None, Complex, Respond, nh(15 * 24));
        // Resolution by default: as long as the feedback limit (the answer is the resolution).
        add(None, Emergency, Resolve, nh(2));
        add(None, Urgent, Resolve, nh(24));
        add(None, General, Resolve, nh(7 * 24));
        add(None, Complex, Resolve, nh(15 * 24));
        // City-management examples.
        add(Some("exposed_rubbish"), Urgent, Resolve, wh(4));
        add(Some("exposed_rubbish"), General, Resolve, wd(1));
        add(Some("dirty_road"), Urgent, Resolve, wh(2));
        add(Some("dirty_road"), General, Resolve, wh(5));
        add(Some("illegal_structure"), Emergency, Resolve, wh(4));
        add(Some("illegal_structure"), General, Resolve, wd(7));
        add(Some("illegal_structure"), Complex, Resolve, wd(20));
        DeadlineCatalogue { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// 2024 National Day: 1-7 October off, Sunday 29 September and Saturday 12 October worked.
    fn national_day_2024() -> Calendar {
        let mut data = Calendar::default().data().clone();
        data.holidays = (1..=7).map(|d| date(2024, 10, d)).collect();
        data.working_days = [date(2024, 9, 29), date(2024, 10, 12)].into_iter().collect();
        Calendar::new(data).unwrap()
    }

    #[test]
    fn working_days_follow_weekends_holidays_and_swaps() {
        let c = national_day_2024();
        assert!(c.is_working_day(date(2024, 9, 27))); // Friday
        assert!(!c.is_working_day(date(2024, 9, 28))); // Saturday
        assert!(c.is_working_day(date(2024, 9, 29))); // swapped Sunday
        assert!(!c.is_working_day(date(2024, 10, 3))); // Thursday, holiday
        assert!(c.is_working_day(date(2024, 10, 8)));
        assert!(c.is_working_day(date(2024, 10, 12))); // swapped Saturday
        assert!(!c.is_working_day(date(2024, 10, 13)));
    }

    #[test]
    fn working_hours_skip_lunch_nights_and_holidays() {
        let c = Calendar::default();
        let h = |n| TimeDelta::hours(n);
        // Monday 10:00 + 4 h: 2 h to noon, 2 h after 14:30.
        assert_eq!(c.add_working(at(2024, 9, 9, 10, 0), h(4)), at(2024, 9, 9, 16, 30));
        // Ends exactly at the close of the afternoon, not the next morning.
        assert_eq!(c.add_working(at(2024, 9, 9, 13, 0), h(3)), at(2024, 9, 9, 17, 30));
        // Friday 16:30 + 2 h rolls over the weekend.
        assert_eq!(c.add_working(at(2024, 9, 13, 16, 30), h(2)), at(2024, 9, 16, 9, 30));
        // Received at night: the clock starts next morning.
        assert_eq!(c.add_working(at(2024, 9, 9, 22, 0), h(1)), at(2024, 9, 10, 9, 30));
        let n = national_day_2024();
        // Monday 30 September 16:30 + 4 h: 1 h that day, the holiday week is skipped, then the
        // remaining 3 h on Tuesday 8 October.
        assert_eq!(n.add_working(at(2024, 9, 30, 16, 30), h(4)), at(2024, 10, 8, 11, 30));
        // Saturday 28 September + 1 h: the swapped Sunday works.
        assert_eq!(n.add_working(at(2024, 9, 28, 9, 0), h(1)), at(2024, 9, 29, 9, 30));
        assert_eq!(n.working_between(at(2024, 9, 30, 16, 30), at(2024, 10, 8, 11, 30)), h(4));
        assert_eq!(c.day_length(), TimeDelta::minutes(390));
    }

    #[test]
    fn working_days_count_from_the_next_day() {
        let c = Calendar::default();
        assert_eq!(c.add_working_days(at(2024, 9, 9, 10, 0), 1), at(2024, 9, 10, 17, 30));
        assert_eq!(c.add_working_days(at(2024, 9, 13, 10, 0), 1), at(2024, 9, 16, 17, 30));
        assert_eq!(c.add_working_days(at(2024, 9, 14, 10, 0), 1), at(2024, 9, 16, 17, 30));
        assert_eq!(c.add_working_days(at(2024, 9, 9, 10, 0), 0), at(2024, 9, 9, 10, 0));
        let n = national_day_2024();
        // Penalty notice for an illegal structure on Friday 27 September: 7 working days are
        // 29 Sep, 30 Sep, 8, 9, 10, 11 and 12 (a swapped Saturday) October.
        let due = DeadlineRule::working_days(7).due(&n, at(2024, 9, 27, 15, 0));
        assert_eq!(due, at(2024, 10, 12, 17, 30));
    }

    #[test]
    fn natural_hours_ignore_the_calendar() {
        let n = national_day_2024();
        let due = DeadlineRule::natural_hours(24).due(&n, at(2024, 10, 1, 9, 0));
        assert_eq!(due, at(2024, 10, 2, 9, 0));
    }

    #[test]
    fn warning_at_three_quarters() {
        let c = Calendar::default();
        let d = DeadlineRule::working_hours(4).deadline(&c, at(2024, 9, 9, 10, 0), DEFAULT_WARN_PERCENT);
        assert_eq!(d.due, at(2024, 9, 9, 16, 30));
        assert_eq!(d.warn_at, at(2024, 9, 9, 15, 30));
        assert_eq!(d.status(at(2024, 9, 9, 15, 0)), DeadlineStatus::OnTrack);
        assert_eq!(d.status(at(2024, 9, 9, 15, 30)), DeadlineStatus::Warning);
        assert_eq!(d.status(at(2024, 9, 9, 16, 30)), DeadlineStatus::Warning);
        assert_eq!(d.status(at(2024, 9, 9, 16, 31)), DeadlineStatus::Overdue);
        let d = DeadlineRule::natural_hours(8).deadline(&c, at(2024, 9, 9, 0, 0), 75);
        assert_eq!(d.warn_at, at(2024, 9, 9, 6, 0));
    }

    #[test]
    fn pauses_push_the_deadline() {
        let c = Calendar::default();
        let rule = DeadlineRule::working_hours(4);
        let due = rule.due(&c, at(2024, 9, 9, 10, 0)); // 16:30
        // Waiting for access from 11:00 to 15:00 is 1.5 working hours: 11-12 and 14:30-15.
        let moved = rule.extend_for_pauses(&c, due, &[(at(2024, 9, 9, 11, 0), at(2024, 9, 9, 15, 0))]);
        assert_eq!(moved, at(2024, 9, 10, 9, 0));
        // A pause after the deadline changes nothing.
        assert_eq!(rule.extend_for_pauses(&c, due, &[(at(2024, 9, 9, 17, 0), at(2024, 9, 9, 17, 10))]), due);
        let nat = DeadlineRule::natural_hours(2);
        let d = nat.due(&c, at(2024, 9, 9, 10, 0));
        assert_eq!(
            nat.extend_for_pauses(&c, d, &[(at(2024, 9, 9, 10, 30), at(2024, 9, 9, 11, 0))]),
            at(2024, 9, 9, 12, 30)
        );
    }

    #[test]
    fn reopened_cases_get_half_the_time() {
        assert_eq!(DeadlineRule::working_days(7).shortened(), DeadlineRule::working_days(4));
        assert_eq!(DeadlineRule::natural_hours(1).shortened(), DeadlineRule::natural_hours(1));
        assert_eq!(DeadlineRule::working_hours(4).shortened(), DeadlineRule::working_hours(2));
    }

    #[test]
    fn calendar_is_data_and_is_validated() {
        let json = r#"{"periods":[{"start":"08:00:00","end":"12:00:00"},{"start":"14:00:00","end":"17:00:00"}],
            "holidays":["2025-01-01"],"working_days":["2025-01-26"]}"#;
        let c: Calendar = serde_json::from_str(json).unwrap();
        let back: Calendar = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let bad_json = r#"{"periods":[]}"#;
        assert!(serde_json::from_str::<Calendar>(bad_json).is_err());
        assert!(!c.is_working_day(date(2025, 1, 1)));
        assert!(c.is_working_day(date(2025, 1, 26)));
        assert_eq!(c.data().weekend, vec![Weekday::Sat, Weekday::Sun]);
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let bad = |periods: Vec<WorkPeriod>| CalendarData {
            periods,
            weekend: vec![],
            holidays: BTreeSet::new(),
            working_days: BTreeSet::new(),
        };
        assert_eq!(Calendar::new(bad(vec![])), Err(CalendarError::NoPeriods));
        assert_eq!(Calendar::new(bad(vec![WorkPeriod { start: t(9), end: t(9) }])), Err(CalendarError::EmptyPeriod(0)));
        assert_eq!(
            Calendar::new(bad(vec![WorkPeriod { start: t(9), end: t(12) }, WorkPeriod { start: t(11), end: t(13) }])),
            Err(CalendarError::Unordered(1))
        );
        let mut all_weekend = bad(vec![WorkPeriod { start: t(9), end: t(12) }]);
        all_weekend.weekend =
            vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
        assert_eq!(Calendar::new(all_weekend), Err(CalendarError::NoWorkingWeekday));
        let mut both = bad(vec![WorkPeriod { start: t(9), end: t(12) }]);
        both.holidays.insert(date(2025, 1, 1));
        both.working_days.insert(date(2025, 1, 1));
        assert_eq!(Calendar::new(both), Err(CalendarError::HolidayAndWorkingDay(date(2025, 1, 1))));
    }

    #[test]
    fn catalogue_falls_back_to_the_default() {
        let cat = DeadlineCatalogue::default_practice();
        assert_eq!(cat.rule("dirty_road", Severity::General, Stage::Resolve), Some(DeadlineRule::working_hours(5)));
        assert_eq!(cat.rule("parking", Severity::General, Stage::Resolve), Some(DeadlineRule::natural_hours(168)));
        assert_eq!(cat.rule("parking", Severity::Emergency, Stage::Dispatch), Some(DeadlineRule::natural_hours(1)));
        assert_eq!(cat.rule("x", Severity::Urgent, Stage::Dispatch), Some(DeadlineRule::natural_hours(2)));
        for s in Severity::ALL {
            for st in Stage::ALL {
                assert!(cat.rule("anything", s, st).is_some(), "{s:?} {st:?}");
            }
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        for u in DeadlineUnit::ALL {
            assert_eq!(DeadlineUnit::parse(u.as_str()), Some(u));
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn t(m: u32) -> NaiveTime {
        NaiveTime::from_num_seconds_from_midnight_opt(m * 60, 0).unwrap()
    }

    /// Calendars with one to three periods, random weekends and holidays around 2024-2025,
    /// some of which are swapped back to working days.
    fn calendar() -> impl Strategy<Value = Calendar> {
        let periods = proptest::collection::btree_set(1u32..1439, 2..=6).prop_map(|cuts| {
            let cuts: Vec<u32> = cuts.into_iter().collect();
            cuts.chunks_exact(2).map(|c| WorkPeriod { start: t(c[0]), end: t(c[1]) }).collect::<Vec<_>>()
        });
        let weekend = proptest::collection::btree_set(0u8..7, 0..=5);
        let days = proptest::collection::btree_set(0i64..730, 0..120);
        let swaps = proptest::collection::btree_set(0i64..730, 0..40);
        (periods, weekend, days, swaps).prop_map(|(periods, weekend, days, swaps)| {
            let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
            let day = |n: i64| base + TimeDelta::days(n);
            let holidays: BTreeSet<NaiveDate> = days.iter().map(|&n| day(n)).collect();
            let working_days = swaps.iter().map(|&n| day(n)).filter(|d| !holidays.contains(d)).collect();
            let weekend = weekend.into_iter().map(|n| Weekday::try_from(n).unwrap()).collect();
            Calendar::new(CalendarData { periods, weekend, holidays, working_days }).unwrap()
        })
    }

    fn instant() -> impl Strategy<Value = NaiveDateTime> {
        (0i64..700 * 24 * 60).prop_map(|m| {
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap() + TimeDelta::minutes(m)
        })
    }

    fn inside_or_at_end(c: &Calendar, d: NaiveDateTime) -> bool {
        c.is_working_day(d.date()) && c.periods().iter().any(|p| p.start < d.time() && d.time() <= p.end)
    }

    proptest! {
        #[test]
        fn adding_then_measuring_gives_the_same_amount(c in calendar(), start in instant(), mins in 0i64..20_000) {
            let amount = TimeDelta::minutes(mins);
            let due = c.add_working(start, amount);
            prop_assert_eq!(c.working_between(start, due), amount);
        }

        #[test]
        fn deadlines_land_in_working_time_or_at_a_period_end(c in calendar(), start in instant(), mins in 1i64..20_000) {
            let due = c.add_working(start, TimeDelta::minutes(mins));
            prop_assert!(inside_or_at_end(&c, due), "{due}");
            let days = c.add_working_days(start, (mins % 30) as u32 + 1);
            prop_assert!(c.is_working_day(days.date()));
            prop_assert_eq!(days.time(), c.periods().last().unwrap().end);
        }

        #[test]
        fn more_time_never_gives_an_earlier_deadline(
            c in calendar(), start in instant(), a in 0u32..300, b in 0u32..300, unit in 0usize..3,
        ) {
            let unit = DeadlineUnit::ALL[unit];
            let (lo, hi) = (a.min(b), a.max(b));
            let d_lo = DeadlineRule::new(lo, unit).due(&c, start);
            let d_hi = DeadlineRule::new(hi, unit).due(&c, start);
            prop_assert!(d_lo <= d_hi);
            prop_assert!(start <= d_lo);
            let dl = DeadlineRule::new(hi, unit).deadline(&c, start, DEFAULT_WARN_PERCENT);
            prop_assert!(start <= dl.warn_at && dl.warn_at <= dl.due);
        }

        #[test]
        fn a_holiday_is_never_a_working_day_unless_swapped(c in calendar()) {
            for d in &c.data().holidays {
                prop_assert_eq!(c.is_working_day(*d), c.data().working_days.contains(d));
                prop_assert!(!c.is_working_day(*d));
            }
            for d in &c.data().working_days {
                prop_assert!(c.is_working_day(*d));
            }
        }

        #[test]
        fn elapsed_is_additive(c in calendar(), a in instant(), x in 0i64..100_000, y in 0i64..100_000) {
            let b = a + TimeDelta::minutes(x);
            let e = b + TimeDelta::minutes(y);
            prop_assert_eq!(c.working_between(a, e), c.working_between(a, b) + c.working_between(b, e));
            prop_assert!(c.working_between(a, b) <= b - a);
        }
    }
}
