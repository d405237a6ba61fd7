//! The points ledger against a model, on both engines: for any sequence of awards,
//! deductions, approvals, reversals, redemptions, cancellations and pickups, every journal
//! balances, every balance is the sum of its postings and the model's, no balance is below its
//! floor, a refused step writes nothing and a replayed client key changes nothing. Then
//! concurrent redemptions of the last item in stock: exactly one wins.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wangge_core::ledger::SourceKind;
use wangge_core::{Caller, PostKind, Scope};
use wangge_store::{
    Holder, NewArea, NewAward, NewPointsRule, NewRedemption, NewShopItem, NewVolunteer, Store, StoreError,
};

use crate::TestApp;

crate::on_both_engines!(ledger_holds_under_any_sequence, last_item_goes_to_exactly_one, replayed_award_keys_race);

#[derive(Debug, Clone)]
enum Op {
    /// Under rule `rule` (0: 25 points, 1: 40 points above a threshold of 100, 2: -15 points).
    Award {
        rule: usize,
        key: u8,
        qty: i64,
    },
    Approve {
        entry: usize,
        yes: bool,
    },
    Reverse {
        entry: usize,
        key: u8,
    },
    Redeem {
        key: u8,
        qty: i64,
    },
    Cancel {
        redemption: usize,
    },
    Pickup {
        redemption: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..10u8, 1..5i64).prop_map(|(rule, key, qty)| Op::Award { rule, key, qty }),
        1 => (0..8usize, any::<bool>()).prop_map(|(entry, yes)| Op::Approve { entry, yes }),
        2 => (0..8usize, 0..6u8).prop_map(|(entry, key)| Op::Reverse { entry, key }),
        4 => (0..8u8, 1..3i64).prop_map(|(key, qty)| Op::Redeem { key, qty }),
        3 => (0..6usize).prop_map(|redemption| Op::Cancel { redemption }),
        2 => (0..6usize).prop_map(|redemption| Op::Pickup { redemption }),
    ]
}

/// A county down to one community, its rules approved, two shop items.
struct Fixture {
    community_path: String,
    rules: [i64; 3],
    items: [(i64, i64); 2],
}

const RULES: [(i64, i64); 3] = [(25, 1000), (40, 100), (-15, 1000)];
const ITEMS: [(i64, i64); 2] = [(30, 3), (50, 2)];

async fn fixture(store: &Store) -> Fixture {
    let sys = Caller::system();
    let mut parent = None;
    let mut code = String::from("350322");
    let mut area = None;
    for (i, name) in ["仙游县", "鲤城街道", "圣泉社区"].into_iter().enumerate() {
        if i > 0 {
            code.push_str("001");
        }
        let a = store
            .create_area(
                &sys,
                NewArea { parent_id: parent, code: code.clone(), name: name.into(), ..Default::default() },
            )
            .await
            .unwrap();
        parent = Some(a.id);
        area = Some(a);
    }
    let community = area.unwrap();
    let mut rules = [0; 3];
    for (i, (points, threshold)) in RULES.into_iter().enumerate() {
        let r = store
            .propose_points_rule(
                &sys,
                NewPointsRule {
                    area_id: community.id,
                    code: format!("rule_{i}"),
                    name: format!("rule {i}"),
                    source_kind: SourceKind::Manual,
                    points,
                    threshold,
                    approver_kind: PostKind::StationChief,
                },
            )
            .await
            .unwrap();
        rules[i] = store.approve_points_rule(&sys, r.id).await.unwrap().id;
    }
    let mut items = [(0, 0); 2];
    for (i, (points, stock)) in ITEMS.into_iter().enumerate() {
        let it = store
            .create_shop_item(
                &sys,
                NewShopItem {
                    area_id: community.id,
                    name: format!("item {i}"),
                    description: String::new(),
                    points,
                    stock,
                },
            )
            .await
            .unwrap();
        items[i] = (it.id, points);
    }
    Fixture { community_path: community.path, rules, items }
}

async fn new_volunteer(store: &Store, f: &Fixture, name: &str) -> i64 {
    let area_id = f.community_path.trim_matches('/').rsplit('/').next().unwrap().parse().unwrap();
    store
        .create_volunteer(
            &Caller::system(),
            NewVolunteer {
                area_id,
                name: name.into(),
                skills: "x".into(),
                availability: "x".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn counts(store: &Store) -> [i64; 4] {
    let mut out = [0; 4];
    for (i, t) in ["ledger_entries", "ledger_postings", "redemptions", "points_accounts"].into_iter().enumerate() {
        out[i] = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
            .fetch_one(store.pool())
            .await
            .unwrap();
    }
    out
}

async fn stock(store: &Store, item: i64) -> i64 {
    store.shop_item(&Scope::everything(), item).await.unwrap().stock
}

/// A refusal the caller can act on (4xx), never a database error.
fn refused<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    match r {
        Ok(_) => false,
        Err(StoreError::Conflict { .. } | StoreError::Invalid { .. }) => true,
        Err(e) => panic!("expected a clear refusal, got {e:?}"),
    }
}

#[derive(Debug, Clone)]
struct ModelEntry {
    id: i64,
    holder: usize,
    /// Signed change to the holder when posted.
    amount: i64,
    state: &'static str,
    reversed: bool,
}

#[derive(Debug, Clone)]
struct ModelRedemption {
    id: i64,
    holder: usize,
    item: usize,
    qty: i64,
    points: i64,
    state: &'static str,
}

static CASE: AtomicUsize = AtomicUsize::new(0);

/// Steps that changed the ledger, by kind: award, approve, reverse, redeem, cancel, pickup.
#[derive(Debug, Default)]
struct Seen([usize; 6]);

async fn run_case(store: &Store, f: &Fixture, ops: Vec<Op>, seen: &std::sync::Mutex<Seen>) {
    let case = CASE.fetch_add(1, Ordering::SeqCst);
    let sys = Caller::system();
    let mut holders = Vec::new();
    for i in 0..3 {
        holders.push(new_volunteer(store, f, &format!("志愿者{case}-{i}")).await);
    }
    let mut balance = [0i64; 3];
    let mut stocks = [stock(store, f.items[0].0).await, stock(store, f.items[1].0).await];
    let mut entries: Vec<ModelEntry> = Vec::new();
    let mut award_keys: HashMap<u8, i64> = HashMap::new();
    let mut reverse_keys: HashMap<u8, (i64, usize)> = HashMap::new();
    let mut redemptions: Vec<ModelRedemption> = Vec::new();
    let mut redeem_keys: HashMap<u8, i64> = HashMap::new();

    for op in ops {
        let before = counts(store).await;
        let mut wrote = true;
        match op {
            Op::Award { rule, key, qty } => {
                // A key always names the same holder and rule, so a replay is the same request.
                let h = usize::from(key) % 3;
                let r = store
                    .award_points(
                        &sys,
                        NewAward {
                            rule_id: f.rules[rule],
                            holder: Holder::Volunteer(holders[h]),
                            quantity: qty,
                            source_kind: None,
                            source_id: None,
                            client_key: format!("c{case}-a{key}"),
                            note: None,
                        },
                    )
                    .await;
                if let Some(first) = award_keys.get(&key) {
                    let e = r.expect("a replayed key answers with its first entry");
                    assert_eq!(e.id, *first);
                    wrote = false;
                } else {
                    let (points, threshold) = RULES[rule];
                    let amount = points * qty;
                    let pending = amount.abs() > threshold;
                    if !pending && balance[h] + amount < 0 {
                        assert!(refused(&r), "a deduction below zero is refused: {r:?}");
                        wrote = false;
                    } else {
                        let e = r.unwrap();
                        assert_eq!(e.state, if pending { "pending" } else { "posted" });
                        if !pending {
                            balance[h] += amount;
                        }
                        award_keys.insert(key, e.id);
                        entries.push(ModelEntry {
                            id: e.id,
                            holder: h,
                            amount,
                            state: if pending { "pending" } else { "posted" },
                            reversed: false,
                        });
                    }
                }
            }
            Op::Approve { entry, yes } => {
                if entries.is_empty() {
                    continue;
                }
                let i = entry % entries.len();
                let m = entries[i].clone();
                let r = store.decide_entry(&sys, m.id, yes).await;
                if m.state != "pending" || (yes && balance[m.holder] + m.amount < 0) {
                    assert!(refused(&r), "{r:?}");
                    wrote = false;
                } else {
                    r.unwrap();
                    if yes {
                        balance[m.holder] += m.amount;
                        entries[i].state = "posted";
                    } else {
                        entries[i].state = "rejected";
                    }
                }
            }
            Op::Reverse { entry, key } => {
                if entries.is_empty() {
                    continue;
                }
                let i = entry % entries.len();
                let m = entries[i].clone();
                let r = store.reverse_entry(&sys, m.id, &format!("c{case}-v{key}"), None).await;
                if let Some((first, reversed)) = reverse_keys.get(&key) {
                    if *reversed == i {
                        assert_eq!(r.unwrap().id, *first, "a replayed reversal answers with the first");
                    } else {
                        assert!(refused(&r), "a key used for another entry is refused: {r:?}");
                    }
                    wrote = false;
                } else if m.state != "posted" || m.reversed || balance[m.holder] - m.amount < 0 {
                    assert!(refused(&r), "{m:?} {r:?}");
                    wrote = false;
                } else {
                    let e = r.unwrap();
                    assert_eq!(e.reverses_id, Some(m.id));
                    balance[m.holder] -= m.amount;
                    entries[i].reversed = true;
                    reverse_keys.insert(key, (e.id, i));
                }
            }
            Op::Redeem { key, qty } => {
                let h = usize::from(key) % 3;
                let item = usize::from(key) % 2;
                let r = store
                    .redeem(
                        &sys,
                        NewRedemption {
                            item_id: f.items[item].0,
                            holder: Some(Holder::Volunteer(holders[h])),
                            quantity: qty,
                            client_key: format!("c{case}-r{key}"),
                        },
                    )
                    .await;
                if let Some(first) = redeem_keys.get(&key) {
                    assert_eq!(r.unwrap().id, *first, "a replayed redemption answers with the first");
                    wrote = false;
                } else {
                    let cost = f.items[item].1 * qty;
                    if stocks[item] < qty || balance[h] < cost {
                        assert!(refused(&r), "{r:?}");
                        wrote = false;
                    } else {
                        let red = r.unwrap();
                        assert_eq!(red.points, cost);
                        assert_eq!(red.pickup_code.len(), 6);
                        balance[h] -= cost;
                        stocks[item] -= qty;
                        redeem_keys.insert(key, red.id);
                        redemptions.push(ModelRedemption {
                            id: red.id,
                            holder: h,
                            item,
                            qty,
                            points: cost,
                            state: "reserved",
                        });
                    }
                }
            }
            Op::Cancel { redemption } | Op::Pickup { redemption } => {
                if redemptions.is_empty() {
                    continue;
                }
                let i = redemption % redemptions.len();
                let m = redemptions[i].clone();
                let pickup = matches!(op, Op::Pickup { .. });
                let r = if pickup {
                    let code = store.redemption(&sys, m.id).await.unwrap().pickup_code;
                    store.pick_up_redemption(&sys, m.id, &code).await
                } else {
                    store.cancel_redemption(&sys, m.id).await
                };
                let wanted = if pickup { "picked_up" } else { "cancelled" };
                if m.state == wanted {
                    assert_eq!(r.unwrap().state, wanted, "closing again changes nothing");
                    wrote = false;
                } else if m.state != "reserved" {
                    assert!(refused(&r), "{r:?}");
                    wrote = false;
                } else {
                    assert_eq!(r.unwrap().state, wanted);
                    redemptions[i].state = wanted;
                    if !pickup {
                        balance[m.holder] += m.points;
                        stocks[m.item] += m.qty;
                    }
                }
            }
        }
        let after = counts(store).await;
        if wrote {
            let i = match op {
                Op::Award { .. } => 0,
                Op::Approve { .. } => 1,
                Op::Reverse { .. } => 2,
                Op::Redeem { .. } => 3,
                Op::Cancel { .. } => 4,
                Op::Pickup { .. } => 5,
            };
            seen.lock().unwrap().0[i] += 1;
        }
        if !wrote {
            assert_eq!(before, after, "a refused or replayed step wrote nothing ({op:?})");
        }
        for (i, h) in holders.iter().enumerate() {
            let acct = store.holder_points(&Scope::everything(), Holder::Volunteer(*h)).await.unwrap();
            assert_eq!(acct.balance, balance[i], "holder {i} after {op:?}");
        }
        assert_eq!(stock(store, f.items[0].0).await, stocks[0]);
        assert_eq!(stock(store, f.items[1].0).await, stocks[1]);
        let problems = store.verify_ledger().await.unwrap();
        assert!(problems.is_empty(), "after {op:?}: {problems:#?}");
    }
    // Put the stock back for the next case, so that each starts from the same shop.
    for (i, (id, _)) in f.items.iter().enumerate() {
        let delta = ITEMS[i].1 - stocks[i];
        if delta != 0 {
            store.restock_shop_item(&sys, *id, delta).await.unwrap();
        }
    }
}

async fn ledger_holds_under_any_sequence(app: TestApp) {
    let f = fixture(&app.store).await;
    let cases = std::env::var("WANGGE_LEDGER_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    // A fixed seed: the same sequences on every run and engine, so that a failure reproduces.
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let handle = tokio::runtime::Handle::current();
    let seen = std::sync::Mutex::new(Seen::default());
    let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
        tokio::task::block_in_place(|| handle.block_on(run_case(&app.store, &f, ops, &seen)));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The sequences reached every kind of step, not only refusals.
    let seen = seen.into_inner().unwrap();
    assert!(seen.0.iter().all(|n| *n > 0), "every kind of step succeeded at least once: {seen:?}");
}

async fn last_item_goes_to_exactly_one(app: TestApp) {
    let store = &app.store;
    let f = fixture(store).await;
    let sys = Caller::system();
    let item = store
        .create_shop_item(
            &sys,
            NewShopItem {
                area_id: f.community_path.trim_matches('/').rsplit('/').next().unwrap().parse().unwrap(),
                name: "最后一桶油".into(),
                description: String::new(),
                points: 20,
                stock: 1,
            },
        )
        .await
        .unwrap();
    let mut holders = Vec::new();
    for i in 0..8 {
        let v = new_volunteer(store, &f, &format!("抢购{i}")).await;
        store
            .award_points(
                &sys,
                NewAward {
                    rule_id: f.rules[0],
                    holder: Holder::Volunteer(v),
                    quantity: 3,
                    source_kind: None,
                    source_id: None,
                    client_key: format!("seed-{i}"),
                    note: None,
                },
            )
            .await
            .unwrap();
        holders.push(v);
    }
    let mut tasks = Vec::new();
    for (i, v) in holders.iter().enumerate() {
        let (store, v, item) = (store.clone(), *v, item.id);
        tasks.push(tokio::spawn(async move {
            store
                .redeem(
                    &Caller::system(),
                    NewRedemption {
                        item_id: item,
                        holder: Some(Holder::Volunteer(v)),
                        quantity: 1,
                        client_key: format!("last-{i}"),
                    },
                )
                .await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.state, "reserved");
                won += 1;
            }
            Err(StoreError::Conflict { code: "out_of_stock", .. }) => {}
            Err(e) => panic!("a losing redemption is refused as out of stock, not {e:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one redemption of the last item wins");
    assert_eq!(stock(store, item.id).await, 0);
    let mut spent = 0;
    for v in holders {
        let a = store.holder_points(&Scope::everything(), Holder::Volunteer(v)).await.unwrap();
        spent += 75 - a.balance;
    }
    assert_eq!(spent, 20, "only the winner paid");
    let problems = store.verify_ledger().await.unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

async fn replayed_award_keys_race(app: TestApp) {
    let store = &app.store;
    let f = fixture(store).await;
    let v = new_volunteer(store, &f, "重放").await;
    let before = counts(store).await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (store, rule) = (store.clone(), f.rules[0]);
        tasks.push(tokio::spawn(async move {
            store
                .award_points(
                    &Caller::system(),
                    NewAward {
                        rule_id: rule,
                        holder: Holder::Volunteer(v),
                        quantity: 2,
                        source_kind: None,
                        source_id: None,
                        client_key: "same-key".into(),
                        note: None,
                    },
                )
                .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().expect("every replay answers").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one entry for one key: {ids:?}");
    let after = counts(store).await;
    // One entry, two postings, and the account made on the first award.
    assert_eq!(after[0] - before[0], 1);
    assert_eq!(after[1] - before[1], 2);
    assert_eq!(store.holder_points(&Scope::everything(), Holder::Volunteer(v)).await.unwrap().balance, 50);
}
