//! A scope of one grid sees and changes nothing of another grid. Accounts do not exist yet, so
//! this drives the store with the scope a grid chief's post will give; every store method that
//! lists or changes scoped data is called.

use wangge_core::{Caller, Level, PostKind, Scope};
use wangge_store::{
    AreaFilter, AreaPatch, CloseArea, HouseFilter, HousePatch, HouseholdFilter, HouseholdPatch, MoveResident, NewArea,
    NewHouse, NewHousehold, NewResident, Page, ResidentFilter, ResidentPatch, StoreError,
};

use crate::TestApp;

crate::on_both_engines!(grid_scope_is_isolated);

fn refused<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(
            StoreError::NotFound { .. }
            | StoreError::MissingRef { .. }
            | StoreError::Invalid { .. }
            | StoreError::Forbidden { .. },
        ) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn grid_scope_is_isolated(app: TestApp) {
    let app = app.with_demo().await;
    let store = &app.store;
    let all = Scope::everything();
    let page = Page::new(None, Some(200)).unwrap();
    let community = app.area_id("圣泉社区").await;
    let grids = store
        .list_areas(
            &all,
            &AreaFilter { parent_id: Some(community), sort: Some("code".into()), ..Default::default() },
            page,
        )
        .await
        .unwrap();
    let (mine, other) = (&grids.items[0], &grids.items[1]);
    let scope = Scope::subtree(mine.path.clone());
    let caller = Caller::for_post(0, 0, PostKind::GridChief, scope.clone());

    // The other grid's rows.
    let their_unit = store
        .list_areas(&all, &AreaFilter { within: Some(other.id), level: Some(Level::Unit), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .clone();
    let their_household = store
        .list_households(&all, &HouseholdFilter { within: Some(other.id), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .clone();
    let their_house = store
        .list_houses(&all, &HouseFilter { within: Some(other.id), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .clone();
    let their_resident = store
        .list_residents(&all, &ResidentFilter { within: Some(other.id), ..Default::default() }, page)
        .await
        .unwrap()
        .items[0]
        .clone();
    let my_household = store.list_households(&scope, &HouseholdFilter::default(), page).await.unwrap().items[0].clone();
    let my_resident = store.list_residents(&scope, &ResidentFilter::default(), page).await.unwrap().items[0].clone();
    let before = app.row_counts().await;

    // Lists hold only the grid's own rows, and filters cannot reach outside.
    let areas = store.list_areas(&scope, &AreaFilter::default(), page).await.unwrap();
    assert!(areas.total > 1 && areas.items.iter().all(|a| a.path.starts_with(&mine.path)));
    let hh = store.list_households(&scope, &HouseholdFilter::default(), page).await.unwrap();
    assert!(hh.total > 0 && hh.items.iter().all(|h| h.grid_id == mine.id));
    let houses = store.list_houses(&scope, &HouseFilter::default(), page).await.unwrap();
    assert!(houses.total > 0 && houses.items.iter().all(|h| h.grid_id == mine.id));
    let rs = store.list_residents(&scope, &ResidentFilter::default(), page).await.unwrap();
    assert!(rs.total > 0 && rs.items.iter().all(|r| r.grid_id == mine.id));
    refused(store.list_areas(&scope, &AreaFilter { within: Some(other.id), ..Default::default() }, page).await);
    refused(
        store.list_households(&scope, &HouseholdFilter { within: Some(other.id), ..Default::default() }, page).await,
    );
    refused(store.list_houses(&scope, &HouseFilter { within: Some(other.id), ..Default::default() }, page).await);
    refused(store.list_residents(&scope, &ResidentFilter { within: Some(other.id), ..Default::default() }, page).await);
    let by_household = store
        .list_residents(&scope, &ResidentFilter { household_id: Some(their_household.id), ..Default::default() }, page)
        .await
        .unwrap();
    assert_eq!(by_household.total, 0);
    let by_parent =
        store.list_areas(&scope, &AreaFilter { parent_id: Some(other.id), ..Default::default() }, page).await.unwrap();
    assert_eq!(by_parent.total, 0);

    // Reads of single rows.
    refused(store.area(&scope, other.id).await);
    refused(store.area(&scope, community).await);
    refused(store.area_summary(&scope, other.id).await);
    refused(store.area_tree(&scope, other.id, 2).await);
    refused(store.area_boundary(&scope, other.id).await);
    refused(store.house(&scope, their_house.id).await);
    refused(store.household(&scope, their_household.id).await);
    refused(store.household_members(&scope, their_household.id).await);
    refused(store.resident(&scope, their_resident.id).await);
    refused(store.resident_memberships(&scope, their_resident.id).await);
    refused(store.resident_tags(&scope, their_resident.id).await);
    assert!(store.area_summary(&scope, mine.id).await.is_ok());

    // Writes.
    refused(
        store
            .create_area(
                &caller,
                NewArea {
                    parent_id: Some(other.id),
                    code: format!("{}099", other.code),
                    name: "x".into(),
                    ..Default::default()
                },
            )
            .await,
    );
    refused(
        store
            .create_area(
                &caller,
                NewArea { parent_id: None, code: "350111".into(), name: "x".into(), ..Default::default() },
            )
            .await,
    );
    refused(store.update_area(&caller, other.id, AreaPatch { name: Some("x".into()), ..Default::default() }).await);
    refused(store.close_area(&caller, their_unit.id, CloseArea::default()).await);
    refused(
        store
            .create_house(
                &caller,
                NewHouse { unit_id: their_unit.id, code: format!("{}9999", their_unit.code), address: "x".into() },
            )
            .await,
    );
    refused(store.update_house(&caller, their_house.id, HousePatch { address: Some("x".into()) }).await);
    refused(
        store
            .create_household(
                &caller,
                NewHousehold {
                    unit_id: their_unit.id,
                    house_id: None,
                    code: format!("{}999999", their_unit.code),
                    address: Some("x".into()),
                },
            )
            .await,
    );
    refused(
        store
            .update_household(
                &caller,
                their_household.id,
                HouseholdPatch { address: Some("x".into()), ..Default::default() },
            )
            .await,
    );
    refused(
        store
            .update_household(
                &caller,
                my_household.id,
                HouseholdPatch { house_id: Some(their_house.id), ..Default::default() },
            )
            .await,
    );
    refused(
        store
            .create_resident(
                &caller,
                NewResident { household_id: their_household.id, name: "x".into(), ..Default::default() },
            )
            .await,
    );
    refused(
        store
            .update_resident(&caller, their_resident.id, ResidentPatch { name: Some("x".into()), ..Default::default() })
            .await,
    );
    refused(
        store
            .move_resident(
                &caller,
                their_resident.id,
                MoveResident { household_id: my_household.id, ..Default::default() },
            )
            .await,
    );
    refused(
        store
            .move_resident(
                &caller,
                my_resident.id,
                MoveResident { household_id: their_household.id, ..Default::default() },
            )
            .await,
    );
    refused(store.add_resident_tag(&caller, their_resident.id, "volunteer", None).await);
    refused(store.end_resident_tag(&caller, their_resident.id, "volunteer", None).await);
    refused(store.create_tag_kind(&caller, "grid_only", false).await);

    assert_eq!(app.row_counts().await, before, "a refused call wrote something");
    let still = store.household(&all, their_household.id).await.unwrap();
    assert_eq!(still.address, their_household.address);
}
