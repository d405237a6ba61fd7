//! The demo county: Xianyou County (仙游县) and the places named in the source article.
//! Place names are real where the article names them; the other villages, the roads and the
//! natural villages are plausible inventions.

use wangge_core::AreaKind::{self, Community, Dedicated, General, Subdistrict, Town, Village};

use crate::builder::{Builder, LocalNumbers, Street, Style};
use crate::geo;
use crate::names::chinese_number;
use crate::people::Profile;
use crate::rng::split;
use crate::{DEMO_COUNTY_CODE, Plan};

struct TownSpec {
    name: &'static str,
    kind: AreaKind,
    communities: &'static [CommunitySpec],
}

struct CommunitySpec {
    name: &'static str,
    kind: AreaKind,
    households: usize,
    /// A fixed number of units; otherwise about 25-30 households per unit.
    units: Option<usize>,
    profile: Profile,
    grids: &'static [GridSpec],
}

struct GridSpec {
    /// `None`: numbered by position, 第一网格, 第二网格...
    name: Option<&'static str>,
    kind: AreaKind,
    /// The road, estate or natural village its houses are on.
    road: &'static str,
    style: Style,
    /// Relative share of the community's units.
    weight: u32,
}

/// A general grid along a road (or a natural village), numbered by position.
const fn road(road: &'static str) -> GridSpec {
    GridSpec { name: None, kind: General, road, style: Style::Numbers, weight: 3 }
}

/// A dedicated grid (专属网格) over a compound whose staff live in flats.
const fn compound(name: &'static str, road: &'static str) -> GridSpec {
    GridSpec { name: Some(name), kind: Dedicated, road, style: Style::Flats, weight: 1 }
}

const TOWNS: &[TownSpec] = &[
    TownSpec {
        name: "鲤城街道",
        kind: Subdistrict,
        communities: &[
            // An aged community: the good-neighbour hotline 8251825 and living rooms.
            CommunitySpec {
                name: "虹桥社区",
                kind: Community,
                households: 700,
                units: None,
                profile: Profile::Aged,
                grids: &[
                    road("虹桥路"),
                    road("八二五大街"),
                    road("胜利街"),
                    road("学府路"),
                    compound("县医院专属网格", "县医院家属区"),
                ],
            },
            // Lanxin Garden (兰馨园) is a grid of Nanqiao Community: the article has the
            // "Nanqiao community organisation" take the lead there. An open estate of flats.
            CommunitySpec {
                name: "南桥社区",
                kind: Community,
                households: 600,
                units: None,
                profile: Profile::Urban,
                grids: &[
                    GridSpec {
                        name: Some("兰馨园网格"),
                        kind: General,
                        road: "兰馨园",
                        style: Style::Flats,
                        weight: 3,
                    },
                    road("南桥路"),
                    road("南门街"),
                    road("新园路"),
                ],
            },
            CommunitySpec {
                name: "东门社区",
                kind: Community,
                households: 500,
                units: None,
                profile: Profile::Urban,
                grids: &[
                    road("东门街"),
                    road("城东路"),
                    road("木兰大道"),
                    compound("仙游一中专属网格", "仙游一中教工宿舍"),
                ],
            },
        ],
    },
    TownSpec {
        name: "鲤南镇",
        kind: Town,
        communities: &[
            // The article's numbers: 512 households, 6 grids, 25 units.
            CommunitySpec {
                name: "圣泉社区",
                kind: Community,
                households: 512,
                units: Some(25),
                profile: Profile::Urban,
                grids: &[
                    road("圣泉路"),
                    road("圣泉北路"),
                    road("泉山街"),
                    road("鲤南大道"),
                    road("文贤路"),
                    road("新桥巷"),
                ],
            },
            CommunitySpec {
                name: "后庄村",
                kind: Village,
                households: 350,
                units: None,
                profile: Profile::Rural,
                grids: &[road("后庄"), road("前坂"), road("溪头")],
            },
        ],
    },
    TownSpec {
        name: "大济镇",
        kind: Town,
        communities: &[
            CommunitySpec {
                name: "乌石村",
                kind: Village,
                households: 480,
                units: None,
                profile: Profile::Rural,
                grids: &[road("乌石"), road("后厝"), road("溪尾"), road("顶厝")],
            },
            // Three natural villages merged into one: one grid each (the "345" mechanism).
            CommunitySpec {
                name: "蒲山村",
                kind: Village,
                households: 420,
                units: None,
                profile: Profile::Mountain,
                grids: &[road("蒲山"), road("上坑"), road("岭头")],
            },
            CommunitySpec {
                name: "尾坂村",
                kind: Village,
                households: 400,
                units: None,
                profile: Profile::Rural,
                grids: &[road("尾坂"), road("下林"), road("洋边")],
            },
            CommunitySpec {
                name: "双福村",
                kind: Village,
                households: 260,
                units: None,
                profile: Profile::Mountain,
                grids: &[road("双福"), road("坑头")],
            },
        ],
    },
    TownSpec {
        name: "枫亭镇",
        kind: Town,
        communities: &[
            CommunitySpec {
                name: "枫亭社区",
                kind: Community,
                households: 650,
                units: None,
                profile: Profile::Urban,
                grids: &[
                    road("枫亭街"),
                    road("霞街"),
                    road("塔斗路"),
                    road("学士路"),
                    compound("枫亭工业园专属网格", "工业园员工宿舍"),
                ],
            },
            CommunitySpec {
                name: "海安村",
                kind: Village,
                households: 520,
                units: None,
                profile: Profile::Rural,
                grids: &[road("海安"), road("埭头"), road("下宅"), road("沙堤")],
            },
            CommunitySpec {
                name: "东宅村",
                kind: Village,
                households: 380,
                units: None,
                profile: Profile::Rural,
                grids: &[road("东宅"), road("后坑"), road("田中")],
            },
        ],
    },
    TownSpec {
        name: "榜头镇",
        kind: Town,
        communities: &[
            CommunitySpec {
                name: "坝下村",
                kind: Village,
                households: 450,
                units: None,
                profile: Profile::Rural,
                grids: &[road("坝下"), road("溪口"), road("洋中"), road("宫前")],
            },
            CommunitySpec {
                name: "紫泽村",
                kind: Village,
                households: 380,
                units: None,
                profile: Profile::Rural,
                grids: &[road("紫泽"), road("林头"), road("岭下")],
            },
        ],
    },
    TownSpec {
        name: "度尾镇",
        kind: Town,
        communities: &[
            // Home of the "Sunset Red" rule-of-law propaganda team.
            CommunitySpec {
                name: "度峰社区",
                kind: Community,
                households: 480,
                units: None,
                profile: Profile::Aged,
                grids: &[road("度峰路"), road("度尾街"), road("文峰路"), road("新街")],
            },
            CommunitySpec {
                name: "潭边村",
                kind: Village,
                households: 360,
                units: None,
                profile: Profile::Mountain,
                grids: &[road("潭边"), road("上厝"), road("坑口")],
            },
        ],
    },
];

/// Xianyou County (code 350322): six towns and subdistricts, 16 villages and communities,
/// about 7,400 households. See the crate documentation.
pub fn demo_county(seed: u64) -> Plan {
    let total = TOWNS.iter().flat_map(|t| t.communities).map(|c| c.households).sum();
    let mut b = Builder::new(seed, DEMO_COUNTY_CODE, "仙游县", total);
    let mut numbers = LocalNumbers::new(0, 99);
    for (t, rect) in TOWNS.iter().zip(geo::COUNTY.tile(TOWNS.len())) {
        let town = b.area(0, t.kind, numbers.next(t.kind == Subdistrict), t.name.to_string(), Some(rect));
        let mut numbers = LocalNumbers::new(0, 199);
        for (c, rect) in t.communities.iter().zip(rect.tile(t.communities.len())) {
            let local = numbers.next(c.kind == Community);
            let community = b.area(town, c.kind, local, c.name.to_string(), Some(rect));
            let per_unit = if c.kind == Village { 24 } else { 28 };
            let units = c
                .units
                .unwrap_or((c.households + per_unit / 2) / per_unit)
                .clamp(c.households.div_ceil(50), c.households / 10);
            let unit_sizes = split(&mut b.rng, c.households, &vec![1; units], 10, 50);
            let weights: Vec<u32> = c.grids.iter().map(|g| g.weight).collect();
            let least = if units >= 2 * c.grids.len() { 2 } else { 1 };
            let units_per_grid = split(&mut b.rng, units, &weights, least, units);
            let mut sizes = unit_sizes.into_iter();
            let grid_rects = rect.tile(c.grids.len());
            for (i, (g, rect)) in c.grids.iter().zip(grid_rects).enumerate() {
                let name = g.name.map(str::to_string).unwrap_or_else(|| format!("第{}网格", chinese_number(i + 1)));
                let grid = b.area(community, g.kind, i + 1, name, Some(rect));
                let mut street = Street::new(format!("{}{}{}", t.name, c.name, g.road), g.style);
                for u in 1..=units_per_grid[i] {
                    let unit = b.area(grid, AreaKind::Unit, u, format!("{u}单元"), None);
                    let households = sizes.next().expect("one size per unit");
                    b.fill_unit(unit, households, &mut street, c.profile);
                }
            }
        }
    }
    b.finish()
}
