//! The time cases run on. The store reads it through [`Store::now`]; tests swap in a
//! [`FakeClock`] so that deadlines, warnings and escalations can be walked through without
//! waiting. Every clone of a store shares one clock.

use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use crate::Store;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
    /// Whether this is the wall clock: the server's background job runner only runs on it,
    /// so that tests drive jobs themselves.
    fn is_real(&self) -> bool {
        false
    }
}

#[derive(Debug)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn is_real(&self) -> bool {
        true
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct FakeClock(Mutex<DateTime<Utc>>);

impl FakeClock {
    pub fn at(t: DateTime<Utc>) -> Arc<FakeClock> {
        Arc::new(FakeClock(Mutex::new(t)))
    }

    /// A fake clock at a wall-clock time in China (+08:00).
    pub fn at_local(t: NaiveDateTime) -> Arc<FakeClock> {
        FakeClock::at(from_local(t))
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }

    pub fn set_local(&self, t: NaiveDateTime) {
        self.set(from_local(t));
    }

    pub fn advance(&self, d: TimeDelta) {
        let mut t = self.0.lock().expect("clock lock");
        *t += d;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// Shared by every clone of a store.
#[derive(Debug, Clone)]
pub(crate) struct ClockCell(Arc<RwLock<Arc<dyn Clock>>>);

impl Default for ClockCell {
    fn default() -> Self {
        ClockCell(Arc::new(RwLock::new(Arc::new(SystemClock))))
    }
}

/// China keeps one offset and no daylight saving: county local time is UTC+8.
const LOCAL_OFFSET_HOURS: i64 = 8;

pub fn to_local(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + TimeDelta::hours(LOCAL_OFFSET_HOURS)
}

pub fn from_local(t: NaiveDateTime) -> DateTime<Utc> {
    (t - TimeDelta::hours(LOCAL_OFFSET_HOURS)).and_utc()
}

/// The stored form of an instant.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").ok().map(|n| n.and_utc())
}

impl Store {
    /// Now, on the store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.cases.clock.0.read().expect("clock lock").now()
    }

    pub fn clock_is_real(&self) -> bool {
        self.cases.clock.0.read().expect("clock lock").is_real()
    }

    /// Replaces the clock of this store and every clone of it.
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.cases.clock.0.write().expect("clock lock") = clock;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_is_eight_hours_ahead() {
        let t = parse_ts("2024-10-08T01:30:00Z").unwrap();
        assert_eq!(to_local(t).to_string(), "2024-10-08 09:30:00");
        assert_eq!(from_local(to_local(t)), t);
        assert_eq!(ts(t), "2024-10-08T01:30:00Z");
        let c = FakeClock::at(t);
        c.advance(TimeDelta::hours(2));
        assert_eq!(ts(c.now()), "2024-10-08T03:30:00Z");
        assert!(!c.is_real());
        assert!(SystemClock.is_real());
    }
}
