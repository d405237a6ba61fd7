use std::collections::HashSet;

use chrono::Datelike;
use wangge_core::registry::{DEFAULT_TAGS, valid_phone};
use wangge_core::{AreaKind, CodeWidths, IdNumber, Level, ResidenceStatus, Sex};

use crate::names::child_code;
use crate::people::compose_for_test;
use crate::*;

fn demo() -> Plan {
    demo_county(7)
}

/// The areas directly under `parent`.
fn children(plan: &Plan, parent: usize) -> Vec<usize> {
    (0..plan.areas.len()).filter(|i| plan.areas[*i].parent == Some(parent)).collect()
}

/// Households per unit, by area index.
fn households_per_unit(plan: &Plan) -> Vec<usize> {
    let mut n = vec![0; plan.areas.len()];
    for h in &plan.households {
        n[plan.houses[h.house].unit] += 1;
    }
    n
}

/// Every structural rule a plan must keep, whatever its size.
fn check_structure(plan: &Plan) {
    let w = CodeWidths::default();
    assert_eq!(plan.as_of, AS_OF);
    assert_eq!(plan.areas[0].level, Level::County);
    assert_eq!(plan.areas[0].parent, None);
    let mut codes = HashSet::new();
    for (i, a) in plan.areas.iter().enumerate() {
        assert!(codes.insert(a.code.as_str()), "duplicate area code {}", a.code);
        assert!(a.level.kinds().contains(&a.kind), "{}: kind {:?} at {:?}", a.name, a.kind, a.level);
        assert!(!a.name.is_empty());
        match a.parent {
            None => {
                assert_eq!(i, 0, "only the county is a root");
                w.check_area(Level::County, &a.code, None).unwrap();
            }
            Some(p) => {
                assert!(p < i, "parents come first");
                let parent = &plan.areas[p];
                assert_eq!(parent.level.child(), Some(a.level));
                w.check_area(a.level, &a.code, Some(&parent.code)).unwrap();
            }
        }
    }
    let mut houses_per_unit = vec![0; plan.areas.len()];
    let mut house_codes = HashSet::new();
    for h in &plan.houses {
        let unit = &plan.areas[h.unit];
        assert_eq!(unit.level, Level::Unit);
        w.check_child(&h.code, Some(&unit.code), w.house_len()).unwrap();
        assert!(house_codes.insert(h.code.as_str()), "duplicate house code {}", h.code);
        assert!(!h.address.is_empty());
        houses_per_unit[h.unit] += 1;
    }
    let households_per_unit = households_per_unit(plan);
    for (i, a) in plan.areas.iter().enumerate() {
        if a.level == Level::Unit {
            assert!(houses_per_unit[i] >= 1, "{} has no house", a.code);
            assert!(households_per_unit[i] >= 1, "{} has no household", a.code);
        } else {
            assert!(!children(plan, i).is_empty() || a.level == Level::Unit, "{} is empty", a.name);
        }
    }
    let mut household_codes = HashSet::new();
    let mut members = vec![0; plan.households.len()];
    for r in &plan.residents {
        members[r.household] += 1;
    }
    for (i, h) in plan.households.iter().enumerate() {
        let house = &plan.houses[h.house];
        w.check_child(&h.code, Some(&house.code), w.household_len()).unwrap();
        assert!(household_codes.insert(h.code.as_str()), "duplicate household code {}", h.code);
        assert_eq!(h.address, house.address);
        assert!((1..=6).contains(&members[i]), "household {} has {} members", h.code, members[i]);
        let head = &plan.residents[h.head];
        assert_eq!(head.household, i, "the head of {} lives elsewhere", h.code);
        assert_eq!(head.relation, "head");
        assert!(!matches!(head.status, ResidenceStatus::Deceased | ResidenceStatus::MovedOut));
    }
    let heads = plan.residents.iter().filter(|r| r.relation == "head").count();
    assert_eq!(heads, plan.households.len(), "exactly one head per household");

    let tags: HashSet<&str> = DEFAULT_TAGS.iter().map(|(code, _)| *code).collect();
    let mut ids = HashSet::new();
    for r in &plan.residents {
        let id = IdNumber::parse(&r.id_number).unwrap_or_else(|e| panic!("{}: {e}", r.id_number));
        assert_eq!(id.as_str(), r.id_number, "stored in canonical form");
        assert_eq!(id.birth_date(), r.birth_date);
        assert_eq!(id.sex(), r.sex);
        assert_eq!(&r.id_number[..6], plan.areas[0].code, "region is the county");
        assert!(ids.insert(r.id_number.as_str()), "duplicate ID number {}", r.id_number);
        assert!(r.birth_date <= AS_OF);
        let age = AS_OF.years_since(r.birth_date).unwrap();
        assert!(age <= 100, "{} is {age}", r.name);
        if r.relation == "head" {
            assert!((25..=85).contains(&age), "a head aged {age}");
        }
        let chars = r.name.chars().count();
        assert!((2..=4).contains(&chars), "name {}", r.name);
        assert!(r.name.chars().all(|c| !c.is_ascii()), "name {}", r.name);
        assert!(RELATIONS.contains(&r.relation));
        for t in &r.tags {
            assert!(tags.contains(t), "unknown tag {t}");
        }
        let distinct: HashSet<_> = r.tags.iter().collect();
        assert_eq!(distinct.len(), r.tags.len(), "repeated tag");
        if let Some(p) = &r.phone {
            assert!(valid_phone(p));
            assert_eq!(p.len(), 11);
            assert!(["13", "15", "18", "19"].contains(&&p[..2]), "phone {p}");
        }
        if age < 12 {
            assert_eq!(r.phone, None, "a child of {age} with a phone");
        }
    }
}

#[test]
fn demo_county_is_well_formed() {
    check_structure(&demo());
}

#[test]
fn synthetic_county_is_well_formed() {
    check_structure(&synthetic_county(30_000, 3));
}

#[test]
fn same_seed_same_county_other_seed_other_county() {
    assert!(demo_county(1) == demo_county(1));
    let (a, b) = (demo_county(1), demo_county(2));
    assert!(a != b);
    // The tree is fixed by the spec, only the people change.
    assert_eq!(a.areas.len(), b.areas.len());
    assert!(a.residents.iter().zip(&b.residents).any(|(x, y)| x.name != y.name));

    assert!(synthetic_county(5_000, 9) == synthetic_county(5_000, 9));
    assert!(synthetic_county(5_000, 9) != synthetic_county(5_000, 10));
}

#[test]
fn shengquan_has_the_articles_numbers() {
    let plan = demo();
    let shengquan = plan.find_area("圣泉社区").expect("Shengquan exists");
    assert_eq!(plan.areas[shengquan].kind, AreaKind::Community);
    let town = plan.areas[shengquan].parent.unwrap();
    assert_eq!(plan.areas[town].name, "鲤南镇");
    assert_eq!(plan.areas[town].kind, AreaKind::Town);

    let grids = children(&plan, shengquan);
    assert_eq!(grids.len(), 6);
    let units: Vec<usize> = grids.iter().flat_map(|g| children(&plan, *g)).collect();
    assert_eq!(units.len(), 25);
    let per_unit = households_per_unit(&plan);
    let households: usize = units.iter().map(|u| per_unit[*u]).sum();
    assert_eq!(households, 512);
    for u in &units {
        assert!((10..=50).contains(&per_unit[*u]), "a unit of {}", per_unit[*u]);
    }
    // Uneven: not every grid has the same number of households.
    let per_grid: HashSet<usize> =
        grids.iter().map(|g| children(&plan, *g).iter().map(|u| per_unit[*u]).sum()).collect();
    assert!(per_grid.len() > 1);
}

#[test]
fn demo_county_has_the_articles_places() {
    let plan = demo();
    assert_eq!(plan.areas[0].name, "仙游县");
    assert_eq!(plan.areas[0].code, "350322");
    let expect = |name: &str, kind: AreaKind, parent: &str| {
        let i = plan.find_area(name).unwrap_or_else(|| panic!("{name} is missing"));
        assert_eq!(plan.areas[i].kind, kind, "{name}");
        let p = plan.areas[i].parent.unwrap();
        assert_eq!(plan.areas[p].name, parent, "{name}");
    };
    expect("大济镇", AreaKind::Town, "仙游县");
    expect("乌石村", AreaKind::Village, "大济镇");
    expect("蒲山村", AreaKind::Village, "大济镇");
    expect("枫亭镇", AreaKind::Town, "仙游县");
    expect("鲤城街道", AreaKind::Subdistrict, "仙游县");
    expect("虹桥社区", AreaKind::Community, "鲤城街道");
    expect("兰馨园网格", AreaKind::General, "南桥社区");
    expect("南桥社区", AreaKind::Community, "鲤城街道");
    expect("鲤南镇", AreaKind::Town, "仙游县");
    expect("榜头镇", AreaKind::Town, "仙游县");
    expect("度尾镇", AreaKind::Town, "仙游县");
    expect("度峰社区", AreaKind::Community, "度尾镇");
    let pushan = plan.find_area("蒲山村").unwrap();
    assert_eq!(children(&plan, pushan).len(), 3, "three natural villages");
    assert!(plan.areas.iter().any(|a| a.kind == AreaKind::Dedicated));

    let communities = plan.count(Level::Community);
    assert!((10..=20).contains(&communities));
    for c in (0..plan.areas.len()).filter(|i| plan.areas[*i].level == Level::Community) {
        assert!((2..=6).contains(&children(&plan, c).len()));
    }
    for (i, n) in households_per_unit(&plan).into_iter().enumerate() {
        if plan.areas[i].level == Level::Unit {
            assert!((10..=50).contains(&n), "a unit of {n}");
        }
    }
    assert!((5_000..=10_000).contains(&plan.households.len()));
    let addr = &plan.households[0].address;
    assert!(addr.starts_with("鲤城街道虹桥社区虹桥路") && addr.ends_with('号'), "{addr}");
}

/// Parses the rectangle out of a boundary written by `geo`.
fn rect(boundary: &str) -> (f64, f64, f64, f64) {
    let numbers: Vec<f64> = boundary
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 10, "a closed ring of five points");
    assert_eq!(numbers[..2], numbers[8..], "the ring is closed");
    let lng = numbers.iter().step_by(2);
    let lat = numbers.iter().skip(1).step_by(2);
    let (w, e) = lng.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    let (s, n) = lat.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    (w, s, e, n)
}

#[test]
fn boundaries_tile_their_parents() {
    let plan = demo();
    assert!(plan.areas[0].boundary.is_none());
    for (i, a) in plan.areas.iter().enumerate() {
        match a.level {
            Level::County => {}
            Level::Unit => assert!(a.boundary.is_none()),
            _ => {
                let b = a.boundary.as_deref().expect("towns, communities and grids have one");
                assert!(b.starts_with(r#"{"type":"Polygon","coordinates":[[["#));
                let (w, s, e, n) = rect(b);
                assert!((118.5..=118.9).contains(&w) && (118.5..=118.9).contains(&e) && w < e);
                assert!((25.2..=25.5).contains(&s) && (25.2..=25.5).contains(&n) && s < n);
                // Children inside, not overlapping, covering the parent's area.
                let kids: Vec<_> = children(&plan, i)
                    .into_iter()
                    .filter_map(|c| plan.areas[c].boundary.as_deref().map(rect))
                    .collect();
                if kids.is_empty() {
                    continue;
                }
                let eps = 1e-9;
                let mut covered = 0.0;
                for (j, k) in kids.iter().enumerate() {
                    assert!(k.0 >= w - eps && k.1 >= s - eps && k.2 <= e + eps && k.3 <= n + eps);
                    covered += (k.2 - k.0) * (k.3 - k.1);
                    for o in &kids[j + 1..] {
                        let overlap_w = k.2.min(o.2) - k.0.max(o.0);
                        let overlap_h = k.3.min(o.3) - k.1.max(o.1);
                        assert!(overlap_w <= eps || overlap_h <= eps, "{} has overlapping children", a.name);
                    }
                }
                let area = (e - w) * (n - s);
                assert!((covered - area).abs() < area * 1e-4, "{} is not covered", a.name);
            }
        }
    }
}

#[test]
fn synthetic_county_has_the_requested_size_and_shape() {
    let plan = synthetic_county(30_000, 1);
    let n = plan.residents.len();
    assert!((27_000..=33_000).contains(&n), "{n} residents");
    assert!(plan.areas.iter().all(|a| a.boundary.is_none()));
    assert_eq!(plan.areas[0].code, SYNTHETIC_COUNTY_CODE);
    let per_unit = households_per_unit(&plan);
    let mut per_grid = vec![0; plan.areas.len()];
    for (i, a) in plan.areas.iter().enumerate() {
        if a.level == Level::Unit {
            assert!((10..=50).contains(&per_unit[i]), "a unit of {}", per_unit[i]);
            per_grid[a.parent.unwrap()] += per_unit[i];
        }
    }
    for (i, a) in plan.areas.iter().enumerate() {
        match a.level {
            Level::Grid => assert!((300..=500).contains(&per_grid[i]), "a grid of {}", per_grid[i]),
            Level::Community => assert!((3..=6).contains(&children(&plan, i).len())),
            _ => {}
        }
    }
    // Tiny and empty requests still give a well-formed county.
    for n in [0, 1, 10, 200] {
        let plan = synthetic_county(n, 1);
        check_structure(&plan);
        assert!(!plan.households.is_empty());
    }
}

#[test]
fn people_look_like_a_real_county() {
    let plan = synthetic_county(60_000, 5);
    let residents = plan.residents.len() as f64;
    let share = |f: &dyn Fn(&ResidentSeed) -> bool| plan.residents.iter().filter(|r| f(r)).count() as f64;
    let status = |s: ResidenceStatus| share(&|r| r.status == s) / residents;
    let age = |r: &ResidentSeed| AS_OF.years_since(r.birth_date).unwrap();
    let tagged = |t: &'static str| move |r: &ResidentSeed| r.tags.contains(&t);

    let mean = residents / plan.households.len() as f64;
    assert!((2.8..=3.4).contains(&mean), "mean household {mean}");
    let men = share(&|r| r.sex == Sex::Male) / residents;
    assert!((0.46..=0.54).contains(&men), "men {men}");
    assert!((0.55..=0.85).contains(&status(ResidenceStatus::Present)));
    assert!((0.11..=0.19).contains(&status(ResidenceStatus::Away)), "away {}", status(ResidenceStatus::Away));
    assert!((0.005..=0.05).contains(&status(ResidenceStatus::Returned)));
    assert!((0.005..=0.05).contains(&status(ResidenceStatus::MovedOut)));
    assert!((0.003..=0.02).contains(&status(ResidenceStatus::Deceased)));

    let adults = share(&|r| age(r) >= 18);
    let party = share(&|r| age(r) >= 18 && r.tags.contains(&"party_member")) / adults;
    assert!((0.05..=0.09).contains(&party), "party members {party}");
    assert!(share(&tagged("left_behind_child")) > 0.0);
    assert!(share(&tagged("lonely_elderly")) > 0.0);
    assert!(share(&tagged("empty_nest_elderly")) > 0.0);
    assert!(share(&tagged("village_sage")) > 0.0);
    assert!(share(&tagged("returnee")) > 0.0);
    for r in &plan.residents {
        let a = age(r);
        if r.tags.contains(&"left_behind_child") {
            assert!(a < 16 && r.status == ResidenceStatus::Present);
        }
        if r.tags.contains(&"lonely_elderly") || r.tags.contains(&"empty_nest_elderly") {
            assert!(a >= 60);
        }
        if r.tags.contains(&"veteran") || r.tags.contains(&"village_sage") {
            assert_eq!(r.sex, Sex::Male);
        }
        if r.tags.contains(&"returnee") {
            assert_eq!(r.status, ResidenceStatus::Returned);
        }
    }
    // Low income is a household matter: its members are tagged together.
    let low: HashSet<usize> =
        plan.residents.iter().filter(|r| r.tags.contains(&"low_income")).map(|r| r.household).collect();
    let low_share = low.len() as f64 / plan.households.len() as f64;
    assert!((0.015..=0.05).contains(&low_share), "low income {low_share}");

    let phones = share(&|r| age(r) >= 18 && r.phone.is_some()) / adults;
    assert!(phones > 0.8, "adults with phones {phones}");

    // Houses: mostly one household, a few two, about 2% empty.
    let mut per_house = vec![0; plan.houses.len()];
    for h in &plan.households {
        per_house[h.house] += 1;
    }
    let houses = plan.houses.len() as f64;
    let empty = per_house.iter().filter(|n| **n == 0).count() as f64 / houses;
    let shared = per_house.iter().filter(|n| **n == 2).count() as f64 / houses;
    assert!((0.01..=0.03).contains(&empty), "empty houses {empty}");
    assert!((0.02..=0.08).contains(&shared), "shared houses {shared}");
    assert!(per_house.iter().all(|n| *n <= 2));

    // Elders come before the young in birth years: a parent of the head is older than the head.
    for h in &plan.households {
        let head = &plan.residents[h.head];
        for r in plan.residents.iter().skip(h.head).take_while(|r| r.household == head.household) {
            if r.relation == "parent" {
                assert!(r.birth_date < head.birth_date);
            }
            if r.relation == "child" || r.relation == "grandchild" {
                assert!(r.birth_date > head.birth_date);
            }
            // Children, brothers and sisters, and fathers share a man's surname.
            let surname: String = head.name.chars().take(if head.name.starts_with("欧阳") { 2 } else { 1 }).collect();
            let shares = matches!(r.relation, "child" | "sibling") || (r.relation == "parent" && r.sex == Sex::Male);
            if head.sex == Sex::Male && shares {
                assert!(r.name.starts_with(&surname), "{} in the family of {}", r.name, head.name);
            }
        }
    }
}

#[test]
fn fast_helpers_agree_with_core() {
    assert_eq!(child_code("350322", 3, 7), CodeWidths::child_code("350322", 3, 7));
    assert_eq!(child_code("350322101", 4, 1234), CodeWidths::child_code("350322101", 4, 1234));
    for (y, m, d) in [(1930, 1, 1), (1988, 2, 29), (2025, 12, 31)] {
        let birth = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for s in [1, 250, 499] {
            assert_eq!(
                compose_for_test("350322", birth, s * 2 + 1),
                IdNumber::compose("350322", birth, s, Sex::Male).as_str()
            );
            assert_eq!(
                compose_for_test("350322", birth, s * 2),
                IdNumber::compose("350322", birth, s, Sex::Female).as_str()
            );
        }
        assert_eq!(birth.year(), y);
    }
}

#[test]
fn crowded_birth_dates_still_get_unique_numbers() {
    let mut ids = crate::people::IdAllocator::new("350322");
    let day = chrono::NaiveDate::from_ymd_opt(1990, 6, 1).unwrap().num_days_from_ce();
    let mut seen = HashSet::new();
    for _ in 0..1200 {
        let (birth, id) = ids.allocate(day, Sex::Female);
        let parsed = IdNumber::parse(&id).unwrap();
        assert_eq!(parsed.birth_date(), birth);
        assert_eq!(parsed.sex(), Sex::Female);
        assert!(birth.num_days_from_ce() <= day && birth.num_days_from_ce() >= day - 2);
        assert!(seen.insert(id));
    }
}

/// `cargo test --release -p wangge-demo -- --ignored --nocapture` times a million residents.
#[test]
#[ignore = "a timing, run in release"]
fn million_residents_timing() {
    let start = std::time::Instant::now();
    let plan = synthetic_county(1_000_000, 1);
    let elapsed = start.elapsed();
    println!(
        "synthetic_county(1_000_000): {elapsed:?}: {} residents, {} households, {} houses, {} areas ({} towns, {} communities, {} grids, {} units)",
        plan.residents.len(),
        plan.households.len(),
        plan.houses.len(),
        plan.areas.len(),
        plan.count(Level::Town),
        plan.count(Level::Community),
        plan.count(Level::Grid),
        plan.count(Level::Unit),
    );
    assert!((900_000..=1_100_000).contains(&plan.residents.len()));
}
