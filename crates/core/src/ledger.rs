//! The points ledger (积分) as pure rules: kinds of accounts and their floors, how an entry's
//! postings are made, and the checks every entry passes before it is written.
//!
//! Points move between accounts; every entry's postings sum to zero. A community's issuance
//! pool is where awarded points come from, so it alone runs negative; its balance is minus
//! the points that community has put into circulation.

use serde::{Deserialize, Serialize};

/// A kind of points account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Resident,
    Household,
    Volunteer,
    Team,
    /// A community's issuance pool: awards are drawn from it, deductions return to the sink.
    Pool,
    /// The points shop of a community: holds points of redemptions not yet picked up.
    Shop,
    /// Where spent and deducted points end.
    Sink,
}

impl AccountKind {
    pub const ALL: [AccountKind; 7] = [
        AccountKind::Resident,
        AccountKind::Household,
        AccountKind::Volunteer,
        AccountKind::Team,
        AccountKind::Pool,
        AccountKind::Shop,
        AccountKind::Sink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Resident => "resident",
            AccountKind::Household => "household",
            AccountKind::Volunteer => "volunteer",
            AccountKind::Team => "team",
            AccountKind::Pool => "pool",
            AccountKind::Shop => "shop",
            AccountKind::Sink => "sink",
        }
    }

    pub fn parse(s: &str) -> Option<AccountKind> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The lowest balance an account of this kind may hold; `None` for no floor.
    pub fn floor(self) -> Option<i64> {
        match self {
            AccountKind::Pool => None,
            _ => Some(0),
        }
    }

    /// Whether the kind belongs to a person or group (earns and spends), not to a community.
    pub fn is_holder(self) -> bool {
        matches!(self, AccountKind::Resident | AccountKind::Household | AccountKind::Volunteer | AccountKind::Team)
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Award,
    Deduction,
    Redemption,
    /// A redemption cancelled before pickup: the points go back.
    Cancellation,
    /// A redemption picked up: the points leave the shop for the sink.
    Pickup,
    Reversal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 6] = [
        EntryKind::Award,
        EntryKind::Deduction,
        EntryKind::Redemption,
        EntryKind::Cancellation,
        EntryKind::Pickup,
        EntryKind::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Award => "award",
            EntryKind::Deduction => "deduction",
            EntryKind::Redemption => "redemption",
            EntryKind::Cancellation => "cancellation",
            EntryKind::Pickup => "pickup",
            EntryKind::Reversal => "reversal",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Only awards and deductions are undone by a reversal; a redemption is cancelled instead.
    pub fn reversible(self) -> bool {
        matches!(self, EntryKind::Award | EntryKind::Deduction)
    }
}

/// What earned or cost the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Activity,
    Wish,
    Case,
    Meeting,
    Manual,
    Redemption,
}

impl SourceKind {
    pub const ALL: [SourceKind; 6] = [
        SourceKind::Activity,
        SourceKind::Wish,
        SourceKind::Case,
        SourceKind::Meeting,
        SourceKind::Manual,
        SourceKind::Redemption,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Activity => "activity",
            SourceKind::Wish => "wish",
            SourceKind::Case => "case",
            SourceKind::Meeting => "meeting",
            SourceKind::Manual => "manual",
            SourceKind::Redemption => "redemption",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One line of an entry: `amount` added to the account (negative takes away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting<A> {
    pub account: A,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("points must be a whole number above zero")]
    NotPositive,
    #[error("the amount is too large")]
    TooLarge,
    #[error("an entry's postings must sum to zero")]
    Unbalanced,
}

/// The largest number of points one entry moves: far above any real award, far below overflow.
pub const MAX_POINTS: i64 = 1_000_000_000;

/// The two postings that move `points` from `from` to `to`.
pub fn transfer<A: Copy>(from: A, to: A, points: i64) -> Result<[Posting<A>; 2], LedgerError> {
    if points <= 0 {
        return Err(LedgerError::NotPositive);
    }
    if points > MAX_POINTS {
        return Err(LedgerError::TooLarge);
    }
    Ok([Posting { account: from, amount: -points }, Posting { account: to, amount: points }])
}

/// The postings that undo `postings`.
pub fn reverse<A: Copy>(postings: &[Posting<A>]) -> Vec<Posting<A>> {
    postings.iter().map(|p| Posting { account: p.account, amount: -p.amount }).collect()
}

pub fn balanced<A>(postings: &[Posting<A>]) -> bool {
    postings.iter().try_fold(0i64, |s, p| s.checked_add(p.amount)) == Some(0) && !postings.is_empty()
}

/// Whether an award of `points` under a rule whose automatic limit is `threshold` waits for
/// approval.
pub fn needs_approval(points: i64, threshold: i64) -> bool {
    points.abs() > threshold
}

/// Whether a balance may take `amount` without falling below the kind's floor.
pub fn can_take(kind: AccountKind, balance: i64, amount: i64) -> bool {
    match (kind.floor(), balance.checked_add(amount)) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(floor), Some(after)) => after >= floor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_round_trip() {
        for k in AccountKind::ALL {
            assert_eq!(AccountKind::parse(k.as_str()), Some(k));
        }
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AccountKind::Pool.floor(), None);
        assert_eq!(AccountKind::Resident.floor(), Some(0));
        assert!(!EntryKind::Redemption.reversible());
    }

    #[test]
    fn transfers_check_their_amount() {
        assert_eq!(transfer(1, 2, 0), Err(LedgerError::NotPositive));
        assert_eq!(transfer(1, 2, -3), Err(LedgerError::NotPositive));
        assert_eq!(transfer(1, 2, MAX_POINTS + 1), Err(LedgerError::TooLarge));
        assert!(balanced(&transfer(1, 2, 5).unwrap()));
        assert!(!balanced::<i32>(&[]));
        assert!(!balanced(&[Posting { account: 1, amount: 2 }]));
        assert!(needs_approval(51, 50));
        assert!(!needs_approval(50, 50));
        assert!(can_take(AccountKind::Pool, 0, -10));
        assert!(!can_take(AccountKind::Resident, 5, -6));
        assert!(can_take(AccountKind::Resident, 5, -5));
    }

    proptest! {
        #[test]
        fn a_transfer_and_its_reversal_balance(from in 0u8..5, to in 0u8..5, points in 1i64..MAX_POINTS) {
            let t = transfer(from, to, points).unwrap();
            prop_assert!(balanced(&t));
            let r = reverse(&t);
            prop_assert!(balanced(&r));
            let all: Vec<_> = t.iter().chain(r.iter()).copied().collect();
            prop_assert!(balanced(&all));
        }
    }
}
