//! Assembles a [`Plan`]: areas with their codes, and units filled with houses and households.

use wangge_core::{AreaKind, CodeWidths, Level};

use crate::geo::Rect;
use crate::names::{SurnameTable, child_code, push_number};
use crate::people::{IdAllocator, Member, Profile};
use crate::rng::Rng;
use crate::{AS_OF, AreaSeed, HouseSeed, HouseholdSeed, Plan};

/// Out of 1000 houses: how many stand empty, and how many hold two households.
const EMPTY_PER_MILLE: u64 = 20;
const SHARED_PER_MILLE: u64 = 45;

pub(crate) struct Builder {
    pub(crate) plan: Plan,
    pub(crate) rng: Rng,
    pub(crate) surnames: SurnameTable,
    pub(crate) ids: IdAllocator,
    /// Scratch space for the household being generated, reused to avoid allocation.
    pub(crate) members: Vec<Member>,
    widths: CodeWidths,
}

/// Where the next house of a grid goes: a road with house numbers, or an estate of flats.
pub(crate) struct Street {
    /// Town, community and road, e.g. 鲤南镇圣泉社区圣泉路.
    prefix: String,
    style: Style,
    next: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// 圣泉路23号
    Numbers,
    /// 兰馨园3栋502室: six floors of three flats per building.
    Flats,
}

impl Street {
    pub(crate) fn new(prefix: String, style: Style) -> Street {
        Street { prefix, style, next: 1 }
    }

    fn next_address(&mut self) -> String {
        let n = self.next;
        self.next += 1;
        let mut s = String::with_capacity(self.prefix.len() + 16);
        s.push_str(&self.prefix);
        match self.style {
            Style::Numbers => {
                push_number(&mut s, n);
                s.push('号');
            }
            Style::Flats => {
                let k = n - 1;
                push_number(&mut s, k / 18 + 1);
                s.push('栋');
                push_number(&mut s, (k % 18) / 3 + 1);
                s.push('0');
                push_number(&mut s, k % 3 + 1);
                s.push('室');
            }
        }
        s
    }
}

impl Builder {
    /// A builder whose plan starts with the county. `households` sizes the vectors up front.
    pub(crate) fn new(seed: u64, county_code: &'static str, county_name: &str, households: usize) -> Builder {
        let residents = households * 13 / 4;
        let mut b = Builder {
            plan: Plan {
                as_of: AS_OF,
                areas: Vec::new(),
                houses: Vec::with_capacity(households + households / 40),
                households: Vec::with_capacity(households + 16),
                residents: Vec::with_capacity(residents + residents / 16),
            },
            rng: Rng::new(seed),
            surnames: SurnameTable::new(),
            ids: IdAllocator::new(county_code),
            members: Vec::with_capacity(8),
            widths: CodeWidths::default(),
        };
        assert_eq!(county_code.len(), b.widths.county, "a county code has 6 digits");
        b.plan.areas.push(AreaSeed {
            parent: None,
            level: Level::County,
            kind: AreaKind::County,
            code: county_code.to_string(),
            name: county_name.to_string(),
            boundary: None,
        });
        b
    }

    /// Adds an area with local number `local` under `parent` and returns its index.
    pub(crate) fn area(
        &mut self,
        parent: usize,
        kind: AreaKind,
        local: usize,
        name: String,
        boundary: Option<Rect>,
    ) -> usize {
        let level = kind.level();
        let parent_area = &self.plan.areas[parent];
        assert_eq!(parent_area.level.child(), Some(level), "{name} is not a child of {}", parent_area.name);
        let width = self.widths.width(level);
        assert!(local >= 1 && local < 10usize.pow(width as u32), "{name}: local number {local} does not fit");
        let code = child_code(&parent_area.code, width, local);
        self.plan.areas.push(AreaSeed {
            parent: Some(parent),
            level,
            kind,
            code,
            name,
            boundary: boundary.map(|r| r.geojson()),
        });
        self.plan.areas.len() - 1
    }

    /// Fills a unit with exactly `households` households in houses along `street`: usually
    /// one household per house, sometimes two, and a few houses standing empty.
    pub(crate) fn fill_unit(&mut self, unit: usize, households: usize, street: &mut Street, profile: Profile) {
        debug_assert_eq!(self.plan.areas[unit].level, Level::Unit);
        let mut left = households;
        let mut number = 0;
        while left > 0 {
            number += 1;
            assert!(number < 10usize.pow(self.widths.house as u32), "too many houses in a unit");
            let r = self.rng.below(1000);
            let here = if r < EMPTY_PER_MILLE {
                0
            } else if r < EMPTY_PER_MILLE + SHARED_PER_MILLE && left >= 2 {
                2
            } else {
                1
            };
            let house = self.plan.houses.len();
            self.plan.houses.push(HouseSeed {
                unit,
                code: child_code(&self.plan.areas[unit].code, self.widths.house, number),
                address: street.next_address(),
            });
            for k in 1..=here {
                let house_seed = &self.plan.houses[house];
                let code = child_code(&house_seed.code, self.widths.household, k);
                let address = house_seed.address.clone();
                let index = self.plan.households.len();
                self.plan.households.push(HouseholdSeed { house, code, address, head: self.plan.residents.len() });
                self.add_residents(index, profile);
            }
            left -= here;
        }
    }

    pub(crate) fn finish(self) -> Plan {
        self.plan
    }
}

/// Local numbers in the statistical style: one series for the urban kind (subdistricts,
/// communities) and one, starting higher, for the rural kind (towns, villages).
pub(crate) struct LocalNumbers {
    urban: usize,
    rural: usize,
}

impl LocalNumbers {
    pub(crate) fn new(urban_before: usize, rural_before: usize) -> LocalNumbers {
        LocalNumbers { urban: urban_before, rural: rural_before }
    }

    pub(crate) fn next(&mut self, urban: bool) -> usize {
        let n = if urban { &mut self.urban } else { &mut self.rural };
        *n += 1;
        *n
    }
}
