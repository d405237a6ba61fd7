//! Deterministic demo and synthetic counties for Wangge.
//!
//! Pure data: nothing here does I/O. The same seed always gives the same [`Plan`], on every
//! platform, so tests, screenshots and benchmarks can rely on it.
//!
//! - [`demo_county`] is Xianyou County (仙游县) of the source article: its towns, villages and
//!   communities by name, Shengquan Community with exactly 512 households in 6 grids and
//!   25 units; 60 grids, about 300 units, 7,442 households and some 23,000 residents in all,
//!   with rectangular GeoJSON boundaries.
//! - [`synthetic_county`] is an invented county of about `n` residents for load tests.
//!
//! Codes follow `wangge_core::CodeWidths::default()`. Local numbers follow the convention of
//! statistical division codes (subdistricts 0xx and towns 1xx under the county; communities
//! 0xx and villages 2xx under a town), but below the county they are not the real codes.

mod builder;
mod demo;
mod geo;
mod names;
mod people;
mod rng;
mod synthetic;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use wangge_core::{AreaKind, Level, ResidenceStatus, Sex};

pub use demo::demo_county;
pub use synthetic::synthetic_county;

/// The date every generated plan is "as of": areas are valid from it, memberships and tags
/// start on it, and ages are counted to it.
pub const AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The GB/T 2260 code of Xianyou County, the region of every demo ID number.
pub const DEMO_COUNTY_CODE: &str = "350322";

/// The code of the synthetic county (not a real county), so that a synthetic county and the
/// demo county can live in one database without colliding codes or ID numbers.
pub const SYNTHETIC_COUNTY_CODE: &str = "350399";

/// Every value of [`ResidentSeed::relation`].
pub const RELATIONS: [&str; 7] = ["head", "spouse", "child", "parent", "grandchild", "sibling", "other"];

/// A whole county, ready to import in order: areas, houses, households, residents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Always [`AS_OF`]: valid_from of areas, since-date of memberships and tags.
    pub as_of: NaiveDate,
    /// Parents always before children; `areas[0]` is the county.
    pub areas: Vec<AreaSeed>,
    pub houses: Vec<HouseSeed>,
    pub households: Vec<HouseholdSeed>,
    pub residents: Vec<ResidentSeed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaSeed {
    /// Index into [`Plan::areas`]; `None` only for the county.
    pub parent: Option<usize>,
    pub level: Level,
    pub kind: AreaKind,
    /// The full code: the parent's code plus the local part.
    pub code: String,
    pub name: String,
    /// A GeoJSON Polygon geometry, for towns, communities and grids of the demo county.
    pub boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseSeed {
    /// Index into [`Plan::areas`] of a [`Level::Unit`] area.
    pub unit: usize,
    /// The unit's code plus 4 digits.
    pub code: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdSeed {
    /// Index into [`Plan::houses`].
    pub house: usize,
    /// The house's code plus 2 digits.
    pub code: String,
    /// The house's address (households sharing a house share it).
    pub address: String,
    /// Index into [`Plan::residents`] of a member of this household.
    pub head: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentSeed {
    /// Index into [`Plan::households`].
    pub household: usize,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// An 11-digit mobile number; `None` for young children, the dead and some elderly.
    pub phone: Option<String>,
    /// A valid 18-character number, unique in the plan, agreeing with `birth_date` and `sex`.
    pub id_number: String,
    pub status: ResidenceStatus,
    /// Relation to the household head, one of [`RELATIONS`].
    pub relation: &'static str,
    /// Tag codes from [`wangge_core::registry::DEFAULT_TAGS`].
    pub tags: Vec<&'static str>,
}

impl Plan {
    /// How many areas there are at a level.
    pub fn count(&self, level: Level) -> usize {
        self.areas.iter().filter(|a| a.level == level).count()
    }

    /// The index of the first area with this name.
    pub fn find_area(&self, name: &str) -> Option<usize> {
        self.areas.iter().position(|a| a.name == name)
    }

    /// Whether area `index` is `ancestor` or lies under it.
    pub fn is_within(&self, index: usize, ancestor: usize) -> bool {
        let mut at = Some(index);
        while let Some(i) = at {
            if i == ancestor {
                return true;
            }
            at = self.areas[i].parent;
        }
        false
    }
}
