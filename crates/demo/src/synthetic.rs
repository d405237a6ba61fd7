//! Synthetic counties of any size, for load tests and the import benchmark.

use wangge_core::AreaKind::{self, Community, General, Subdistrict, Town, Village};

use crate::builder::{Builder, LocalNumbers, Street, Style};
use crate::names::{HAMLETS, PLACE_FIRST, PLACE_SECOND, STREETS, chinese_number};
use crate::people::Profile;
use crate::rng::split;
use crate::{Plan, SYNTHETIC_COUNTY_CODE};

/// Mean residents per household of the synthetic mix of profiles, measured over a large
/// county; it turns the requested residents into households.
const MEAN_HOUSEHOLD: f64 = 3.18;

/// An invented place name of two syllables; `i` distinct values give distinct names for
/// up to 720 values (the stride 173 is coprime with 720 and moves both syllables).
fn place_name(i: usize, salt: usize) -> String {
    let n = PLACE_FIRST.len() * PLACE_SECOND.len();
    let k = (i * 173 + salt) % n;
    let mut s = String::with_capacity(6);
    s.push_str(PLACE_FIRST[k / PLACE_SECOND.len()]);
    s.push_str(PLACE_SECOND[k % PLACE_SECOND.len()]);
    s
}

/// A county of about `residents` residents (about `residents / 3.18` households, at least
/// one): grids of ~300-500 households, units of 10-50 (smaller only when the whole county
/// is), 3-6 grids per community, 10-20 communities per town, as many towns as needed.
/// The county code is [`SYNTHETIC_COUNTY_CODE`]; there are no boundaries.
pub fn synthetic_county(residents: usize, seed: u64) -> Plan {
    let households = ((residents as f64 / MEAN_HOUSEHOLD).round() as usize).max(1);
    let mut b = Builder::new(seed, SYNTHETIC_COUNTY_CODE, "合成县", households);
    let grids = (households as f64 / 400.0).round().max(1.0) as usize;
    let grid_sizes = split(&mut b.rng, households, &vec![1; grids], 300, 500);
    let communities = (grids as f64 / 4.5).round().max(1.0) as usize;
    let grids_per_community = split(&mut b.rng, grids, &vec![1; communities], 3, 6);
    let towns = (communities as f64 / 15.0).round().max(1.0) as usize;
    let communities_per_town = split(&mut b.rng, communities, &vec![1; towns], 10, 20);

    let mut grid_sizes = grid_sizes.into_iter();
    let mut grids_per_community = grids_per_community.into_iter();
    let mut town_numbers = LocalNumbers::new(0, 99);
    for (t, community_count) in communities_per_town.into_iter().enumerate() {
        // The first town is the county seat, a subdistrict of urban communities.
        let seat = t == 0;
        let stem = place_name(t, 0);
        let (kind, suffix) = if seat { (Subdistrict, "街道") } else { (Town, "镇") };
        let town_name = format!("{stem}{suffix}");
        let town = b.area(0, kind, town_numbers.next(seat), town_name.clone(), None);
        let mut numbers = LocalNumbers::new(0, 199);
        for c in 0..community_count {
            let stem = place_name(c, t * 131 + 17);
            // The town's own seat is a community; a fifth of the rest are too.
            let urban = seat || c == 0 || b.rng.chance(0.2);
            let (kind, suffix, profile) = if urban {
                let profile = if b.rng.chance(0.2) { Profile::Aged } else { Profile::Urban };
                (Community, "社区", profile)
            } else if b.rng.chance(0.15) {
                (Village, "村", Profile::Mountain)
            } else {
                (Village, "村", Profile::Rural)
            };
            let name = format!("{stem}{suffix}");
            let community = b.area(town, kind, numbers.next(urban), name.clone(), None);
            let grid_count = grids_per_community.next().expect("one count per community");
            for g in 1..=grid_count {
                let grid = b.area(community, General, g, format!("第{}网格", chinese_number(g)), None);
                let road = if urban {
                    format!("{stem}{}", STREETS[(g - 1) % STREETS.len()])
                } else {
                    HAMLETS[(g + c) % HAMLETS.len()].to_string()
                };
                let mut street = Street::new(format!("{town_name}{name}{road}"), Style::Numbers);
                let households = grid_sizes.next().expect("one size per grid");
                let units = households.div_ceil(28).clamp(households.div_ceil(50), (households / 10).max(1));
                let unit_sizes = split(&mut b.rng, households, &vec![1; units], 10, 50);
                for (u, size) in unit_sizes.into_iter().enumerate() {
                    let unit = b.area(grid, AreaKind::Unit, u + 1, format!("{}单元", u + 1), None);
                    b.fill_unit(unit, size, &mut street, profile);
                }
            }
        }
    }
    b.finish()
}
