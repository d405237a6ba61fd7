//! The JSON API under `/api/v1`: one module per resource, each with its routes.

mod areas;
mod cases;
pub mod data;
mod exports;
mod households;
mod houses;
mod party;
mod people;
mod residents;
mod rooms;
mod services;
mod session;
mod stars;
mod tags;

use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_store::{Caller, Page, Permission, Scope};

use crate::AppState;
pub use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .nest("/areas", areas::routes())
        .nest("/houses", houses::routes())
        .nest("/households", households::routes())
        .nest("/residents", residents::routes())
        .nest("/tags", tags::routes())
        .nest("/session", session::routes())
        .nest("/accounts", people::accounts())
        .nest("/posts", people::posts())
        .nest("/tokens", people::tokens())
        .nest("/audit", people::audit())
        .nest("/party", party::routes())
        .nest("/cases", cases::routes())
        .nest("/categories", cases::category_routes())
        .nest("/inbox", cases::inbox_routes())
        .nest("/rates", cases::rate_routes())
        .nest("/calendars", cases::calendar_routes())
        .nest("/public/cases", cases::public_routes())
        .nest("/living-rooms", rooms::room_routes())
        .nest("/living-room-figures", rooms::figure_routes())
        .nest("/topics", rooms::topic_routes())
        .nest("/meetings", rooms::meeting_routes())
        .nest("/decisions", rooms::decision_routes())
        .nest("/public", rooms::public_routes())
        .nest("/mediations", rooms::mediation_routes())
        .nest("/visits", rooms::visit_routes())
        .nest("/unvisited-households", rooms::unvisited_routes())
        .nest("/notices", rooms::notice_routes())
        .nest("/evaluations", rooms::evaluation_routes())
        .nest("/points", services::points_routes())
        .nest("/shop", services::shop_routes())
        .merge(services::volunteer_routes())
        .nest("/wishes", services::wish_routes())
        .nest("/activities", services::activity_routes())
        .nest("/star-ratings", stars::star_routes())
        .nest("/rankings", stars::ranking_routes())
        .nest("/public/rankings", stars::public_ranking_routes())
        .nest("/welfare", stars::welfare_routes())
        .merge(stars::record_routes())
        .merge(data::routes())
        .merge(exports::routes())
        .merge(data::registration_routes())
        .merge(data::boundary_routes())
}

/// The scope a caller may read the registry in, or 403.
pub fn reader(caller: &Caller) -> ApiResult<&Scope> {
    if caller.can(Permission::ReadRegistry) {
        Ok(caller.scope())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "your post does not allow reading the registry", None))
    }
}

/// Paging parameters shared by every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Rows per page, 1 to 200; 50 by default.
    pub page_size: Option<u32>,
}

impl Paging {
    pub fn page(&self) -> ApiResult<Page> {
        Ok(Page::new(self.page, self.page_size)?)
    }
}

/// For PATCH bodies: an absent field is `None`, an explicit `null` is `Some(None)`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub engine: &'static str,
}

/// Whether the server and its database answer.
#[utoipa::path(get, path = "/health", tag = "meta", responses((status = 200, body = Health)))]
async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> ApiResult<axum::Json<Health>> {
    sqlx::query("SELECT 1").execute(state.store.pool()).await.map_err(wangge_store::StoreError::from)?;
    Ok(axum::Json(Health {
        status: "ok",
        engine: match state.store.engine() {
            wangge_store::Engine::Sqlite => "sqlite",
            wangge_store::Engine::Postgres => "postgres",
        },
    }))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "there is no such page or API route", None)
}
