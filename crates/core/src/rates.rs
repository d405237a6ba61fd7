//! The rates of the spec, computed from the event log. The caller chooses the events (an area
//! subtree, an owner post, a category); a period is `[from, to)` in county local time.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::case::{MoveKind, Rating, Satisfaction};

/// What the rates need of one event. The deadlines are those the event set, if any: a dispatch
/// sets both, an approved extension or a reopen moves the close deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateEvent {
    pub case_id: i64,
    pub kind: MoveKind,
    pub at: NaiveDateTime,
    pub rating: Option<Rating>,
    pub respond_due: Option<NaiveDateTime>,
    pub close_due: Option<NaiveDateTime>,
}

impl RateEvent {
    pub fn new(case_id: i64, kind: MoveKind, at: NaiveDateTime) -> RateEvent {
        RateEvent { case_id, kind, at, rating: None, respond_due: None, close_due: None }
    }
}

/// A ratio; `None` when nothing was due.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rate {
    pub numerator: f64,
    pub denominator: u32,
}

impl Rate {
    pub fn value(&self) -> Option<f64> {
        (self.denominator > 0).then(|| self.numerator / f64::from(self.denominator))
    }

    fn count(&mut self, hit: bool) {
        self.denominator += 1;
        if hit {
            self.numerator += 1.0;
        }
    }
}

/// Weights of the satisfaction rate (configuration; the spec's example is 1, ½, 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionWeights {
    pub satisfied: f64,
    pub basically_satisfied: f64,
    pub dissatisfied: f64,
}

impl Default for SatisfactionWeights {
    fn default() -> Self {
        SatisfactionWeights { satisfied: 1.0, basically_satisfied: 0.5, dissatisfied: 0.0 }
    }
}

impl SatisfactionWeights {
    pub fn weight(&self, s: Satisfaction) -> f64 {
        match s {
            Satisfaction::Satisfied => self.satisfied,
            Satisfaction::BasicallySatisfied => self.basically_satisfied,
            Satisfaction::Dissatisfied => self.dissatisfied,
        }
    }
}

/// Weights of the composite score (configuration; published practice 10/45/45).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompositeWeights {
    pub response: f64,
    pub resolution: f64,
    pub satisfaction: f64,
}

impl Default for CompositeWeights {
    fn default() -> Self {
        CompositeWeights { response: 10.0, resolution: 45.0, satisfaction: 45.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rates {
    /// Contacted by the response deadline ÷ cases whose response deadline falls in the period.
    pub response: Rate,
    /// Rated "solved" ÷ rated cases (rated in the period, latest rating counts).
    pub resolution: Rate,
    /// (satisfied + ½ basically satisfied) ÷ rated cases.
    pub satisfaction: Rate,
    /// Closed by the close deadline ÷ cases whose close deadline falls in the period.
    pub on_time_close: Rate,
    /// Closed ÷ cases whose close deadline falls in the period.
    pub close: Rate,
    /// (reopens + failed verifications) ÷ resolutions, all in the period.
    pub rework: Rate,
    /// Cases with an approved extension ÷ cases first dispatched in the period.
    pub extension: Rate,
    /// Cases returned at least once ÷ cases first dispatched in the period.
    pub return_: Rate,
}

impl Rates {
    /// Weighted mean of the response, resolution and satisfaction rates, between 0 and 1.
    /// Rates with nothing due are left out and the remaining weights rescaled.
    pub fn composite(&self, w: &CompositeWeights) -> Option<f64> {
        let parts = [(self.response, w.response), (self.resolution, w.resolution), (self.satisfaction, w.satisfaction)];
        let (sum, weight) = parts
            .iter()
            .filter_map(|(r, w)| r.value().map(|v| (v * w, *w)))
            .fold((0.0, 0.0), |(s, t), (v, w)| (s + v, t + w));
        (weight > 0.0).then(|| sum / weight)
    }
}

/// Computes every rate for events in `[from, to)`. Events may come in any order; ties keep
/// their order. Cases excluded from appraisal (an `exclude` event) count nowhere.
///
/// Where the spec is silent:
/// - a deadline met exactly at its instant is met ("before" includes the instant);
/// - the latest deadline a case was given counts (extensions and reopens move it);
/// - a case counts as closed if its last close is not followed by a reopen;
/// - rework counts events, so a case reopened twice counts twice against two resolutions;
/// - the extension and return rates count cases first dispatched in the period.
pub fn compute(events: &[RateEvent], from: NaiveDateTime, to: NaiveDateTime, weights: &SatisfactionWeights) -> Rates {
    let in_period = |t: NaiveDateTime| from <= t && t < to;
    let mut by_case: BTreeMap<i64, Vec<&RateEvent>> = BTreeMap::new();
    for e in events {
        by_case.entry(e.case_id).or_default().push(e);
    }
    let mut r = Rates::default();
    for evs in by_case.values_mut() {
        evs.sort_by_key(|e| e.at);
        if evs.iter().any(|e| e.kind == MoveKind::Exclude) {
            continue;
        }
        let respond_due = evs.iter().rev().find_map(|e| e.respond_due);
        let close_due = evs.iter().rev().find_map(|e| e.close_due);
        let first = |k: MoveKind| evs.iter().find(|e| e.kind == k).map(|e| e.at);
        let has = |k: MoveKind| evs.iter().any(|e| e.kind == k);

        if let Some(due) = respond_due.filter(|d| in_period(*d)) {
            r.response.count(first(MoveKind::Respond).is_some_and(|t| t <= due));
        }

        if let Some(rating) = evs
            .iter()
            .rev()
            .find(|e| e.kind == MoveKind::Callback)
            .and_then(|e| if in_period(e.at) { e.rating } else { None })
        {
            r.resolution.count(rating.solved);
            r.satisfaction.denominator += 1;
            r.satisfaction.numerator += weights.weight(rating.satisfaction);
        }

        if let Some(due) = close_due.filter(|d| in_period(*d)) {
            let last_close = evs.iter().rposition(|e| e.kind == MoveKind::Close);
            let closed_at =
                last_close.filter(|&i| !evs[i + 1..].iter().any(|e| e.kind == MoveKind::Reopen)).map(|i| evs[i].at);
            r.close.count(closed_at.is_some());
            r.on_time_close.count(closed_at.is_some_and(|t| t <= due));
        }

        for e in evs.iter().filter(|e| in_period(e.at)) {
            match e.kind {
                MoveKind::Resolve => r.rework.denominator += 1,
                MoveKind::Reopen | MoveKind::Reject => r.rework.numerator += 1.0,
                _ => {}
            }
        }

        if first(MoveKind::Dispatch).is_some_and(in_period) {
            r.extension.count(has(MoveKind::ApproveExtension));
            r.return_.count(has(MoveKind::Return));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 10, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    fn ev(case_id: i64, kind: MoveKind, t: NaiveDateTime) -> RateEvent {
        RateEvent::new(case_id, kind, t)
    }

    fn dispatch(case_id: i64, t: NaiveDateTime, respond: NaiveDateTime, close: NaiveDateTime) -> RateEvent {
        RateEvent { respond_due: Some(respond), close_due: Some(close), ..ev(case_id, MoveKind::Dispatch, t) }
    }

    fn rated(case_id: i64, t: NaiveDateTime, solved: bool, s: Satisfaction) -> RateEvent {
        RateEvent { rating: Some(Rating { solved, satisfaction: s }), ..ev(case_id, MoveKind::Callback, t) }
    }

    /// Four cases in October, by hand:
    /// 1: responded on time, closed on time, satisfied and solved.
    /// 2: responded late, extended, closed after its original deadline but before the extended
    ///    one, basically satisfied.
    /// 3: returned once, responded on time, resolved, reopened after a "not solved" rating, still
    ///    open at its deadline.
    /// 4: excluded from appraisal (unlawful request): counts nowhere.
    fn log() -> Vec<RateEvent> {
        use MoveKind::*;
        vec![
            dispatch(1, at(8, 9), at(8, 12), at(9, 17)),
            ev(1, Respond, at(8, 10)),
            ev(1, Resolve, at(9, 10)),
            rated(1, at(9, 11), true, Satisfaction::Satisfied),
            ev(1, Close, at(9, 12)),
            dispatch(2, at(8, 9), at(8, 12), at(9, 17)),
            ev(2, Respond, at(8, 14)),
            RateEvent { close_due: Some(at(11, 17)), ..ev(2, ApproveExtension, at(9, 9)) },
            ev(2, Resolve, at(10, 10)),
            rated(2, at(10, 11), true, Satisfaction::BasicallySatisfied),
            ev(2, Close, at(10, 12)),
            dispatch(3, at(8, 9), at(8, 12), at(10, 17)),
            ev(3, Return, at(8, 10)),
            dispatch(3, at(8, 11), at(8, 15), at(10, 17)),
            ev(3, Respond, at(8, 14)),
            ev(3, Resolve, at(9, 16)),
            rated(3, at(10, 9), false, Satisfaction::Dissatisfied),
            ev(3, Reopen, at(10, 9)),
            dispatch(4, at(8, 9), at(8, 12), at(9, 17)),
            ev(4, Exclude, at(8, 10)),
        ]
    }

    #[test]
    fn hand_computed_rates() {
        let r = compute(&log(), at(1, 0), at(31, 0), &SatisfactionWeights::default());
        assert_eq!((r.response.numerator, r.response.denominator), (2.0, 3));
        assert_eq!((r.resolution.numerator, r.resolution.denominator), (2.0, 3));
        assert_eq!((r.satisfaction.numerator, r.satisfaction.denominator), (1.5, 3));
        assert_eq!((r.on_time_close.numerator, r.on_time_close.denominator), (2.0, 3));
        assert_eq!((r.close.numerator, r.close.denominator), (2.0, 3));
        assert_eq!((r.rework.numerator, r.rework.denominator), (1.0, 3));
        assert_eq!((r.extension.numerator, r.extension.denominator), (1.0, 3));
        assert_eq!((r.return_.numerator, r.return_.denominator), (1.0, 3));
        // 10 × 2/3 + 45 × 2/3 + 45 × 1/2, over 100.
        let c = r.composite(&CompositeWeights::default()).unwrap();
        assert!((c - (10.0 * 2.0 / 3.0 + 45.0 * 2.0 / 3.0 + 45.0 * 0.5) / 100.0).abs() < 1e-12);
    }

    #[test]
    fn the_period_selects_what_was_due() {
        // Only 8 October: the three response deadlines, no close deadline.
        let r = compute(&log(), at(8, 0), at(9, 0), &SatisfactionWeights::default());
        assert_eq!(r.response.denominator, 3);
        assert_eq!(r.close.value(), None);
        assert_eq!(r.resolution.value(), None);
        assert_eq!(r.rework.value(), None);
        assert_eq!(r.composite(&CompositeWeights::default()), r.response.value());
        // Event order in the input does not matter.
        let mut rev = log();
        rev.reverse();
        assert_eq!(
            compute(&rev, at(1, 0), at(31, 0), &SatisfactionWeights::default()),
            compute(&log(), at(1, 0), at(31, 0), &SatisfactionWeights::default())
        );
    }

    #[test]
    fn satisfaction_weights_are_configuration() {
        let w = SatisfactionWeights { satisfied: 1.0, basically_satisfied: 0.8, dissatisfied: 0.0 };
        let r = compute(&log(), at(1, 0), at(31, 0), &w);
        assert!((r.satisfaction.value().unwrap() - 1.8 / 3.0).abs() < 1e-12);
        assert_eq!(Rates::default().composite(&CompositeWeights::default()), None);
    }
}
