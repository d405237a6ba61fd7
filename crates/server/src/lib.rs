//! The HTTP layer of Wangge. [`build`] opens the store, binds the listener and returns an
//! [`App`]; tests build one on port 0 and talk to the real server.

pub mod api;
pub mod auth;
pub mod error;
pub mod jobs;
pub mod open311;
pub mod outbox;

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use wangge_core::CodeWidths;
use wangge_store::{Store, StoreOptions};

pub use error::{ApiError, ApiResult};

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub hash_key: Vec<u8>,
    /// Key that seals ID numbers and phones at rest.
    pub data_key: [u8; 32],
    pub code_widths: CodeWidths,
    pub max_connections: u32,
    /// How long a web session lasts.
    pub session_ttl_seconds: i64,
    /// Mark the session cookie `Secure` (sent over HTTPS only; browsers exempt localhost).
    pub secure_cookies: bool,
    /// The message gateway that sends the outbox's SMS and webhooks; without one, messages
    /// are recorded and wait.
    pub gateway_url: Option<String>,
    /// The secret that signs each message to the gateway.
    pub gateway_secret: Option<String>,
    /// The address residents reach the site at, for links printed on paper (house plates);
    /// without it, the address the browser asking for the plates used.
    pub public_url: Option<String>,
}

impl Config {
    /// A configuration for the given database on a free port of the loopback interface.
    pub fn for_database(database_url: impl Into<String>) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            hash_key: StoreOptions::default().hash_key,
            data_key: StoreOptions::default().data_key,
            code_widths: CodeWidths::default(),
            max_connections: 8,
            session_ttl_seconds: 12 * 3600,
            secure_cookies: true,
            gateway_url: None,
            gateway_secret: None,
            public_url: None,
        }
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.max_connections,
            hash_key: self.hash_key.clone(),
            data_key: self.data_key,
            code_widths: self.code_widths,
        }
    }
}

/// The shared state of the handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub session_ttl_seconds: i64,
    pub secure_cookies: bool,
    pub gateway: Option<outbox::Gateway>,
    pub public_url: Option<String>,
}

/// A bound, not yet running server.
pub struct App {
    listener: TcpListener,
    router: Router,
    store: Store,
}

/// Opens the store (applying migrations) and binds the listener.
pub async fn build(config: &Config) -> Result<App, StartError> {
    if let Some(u) = config.gateway_url.as_ref().filter(|u| !u.starts_with("http://")) {
        return Err(StartError::Gateway(u.clone()));
    }
    if let Some(u) = config.public_url.as_ref().filter(|u| !u.starts_with("http://") && !u.starts_with("https://")) {
        return Err(StartError::PublicUrl(u.clone()));
    }
    let store = Store::open(&config.database_url, config.store_options()).await?;
    let state = AppState {
        store,
        session_ttl_seconds: config.session_ttl_seconds,
        secure_cookies: config.secure_cookies,
        gateway: config.gateway_url.as_ref().map(|u| outbox::Gateway::new(u, config.gateway_secret.clone())),
        public_url: config.public_url.as_ref().map(|u| u.trim_end_matches('/').to_string()),
    };
    build_with_state(state, config.bind).await
}

/// Binds a listener for an already opened store.
pub async fn build_with_state(state: AppState, bind: SocketAddr) -> Result<App, StartError> {
    let listener = TcpListener::bind(bind).await.map_err(|e| StartError::Bind(bind, e))?;
    let store = state.store.clone();
    jobs::start(store.clone(), state.gateway.clone());
    let router = router(state);
    Ok(App { listener, router, store })
}

impl App {
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let jobs = spawn_jobs(self.store.clone());
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        jobs.abort();
        served
    }

    /// Serves in the background; for tests.
    pub fn spawn(self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        spawn_jobs(self.store.clone());
        tokio::spawn(async move {
            axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>()).await
        })
    }
}

/// Background work beside the server: every hour, the submitted fields of self-registrations
/// past their county's retention period are deleted. Safe with several servers: the deletion
/// is one idempotent statement.
fn spawn_jobs(store: Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match store.purge_change_requests(chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(requests = n, "deleted the fields of self-registrations past retention"),
                Err(e) => tracing::error!(error = %e, "the retention job failed"),
            }
        }
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wangge API",
        description = "The JSON API of Wangge (网格), grid-based grassroots governance: the area tree and the registry.",
        license(name = "AGPL-3.0-or-later")
    ),
    tags(
        (name = "areas", description = "The area tree: county, town, community, grid, unit"),
        (name = "houses", description = "Houses and their house codes (门牌编码)"),
        (name = "households", description = "Households, each in exactly one unit"),
        (name = "residents", description = "Residents, their household memberships and tags"),
        (name = "tags", description = "Kinds of resident tags"),
        (name = "session", description = "Signing in and out, switching posts"),
        (name = "accounts", description = "Accounts of people in charge"),
        (name = "posts", description = "Posts (岗位): who is in charge where"),
        (name = "tokens", description = "API tokens for machines"),
        (name = "audit", description = "The audit log of writes and reveals"),
        (name = "party", description = "The party overlay: organisations, members, contact households (党员联系户), co-building units (共建单位)"),
        (name = "cases", description = "Cases (诉求): intake, moves, events, the catalogue, the inbox, rates and calendars"),
        (name = "data", description = "Data in and out: export to and import from CSV and XLSX"),
        (name = "registration", description = "House QR plates and the self-registrations they bring in, reviewed by unit chiefs"),
        (name = "services", description = "Community services: points (积分) and the points shop (积分超市), volunteers and teams, micro-wishes (微心愿)"),
        (name = "meta", description = "The API itself")
    )
)]
struct ApiDoc;

/// The routes and the OpenAPI document, built from the same list.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", api::routes()).split_for_parts()
}

/// The OpenAPI document of the JSON API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

pub fn router(state: AppState) -> Router {
    let (routes, doc) = parts();
    let doc = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    let web = wangge_web::router(wangge_web::WebState {
        store: state.store.clone(),
        session_ttl_seconds: state.session_ttl_seconds,
        secure_cookies: state.secure_cookies,
        public_url: state.public_url.clone(),
    });
    routes
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        )
        .merge(open311::routes())
        .fallback(not_found)
        .with_state(state)
        .merge(web)
}

/// Unknown paths: the API's JSON error under `/api`, the site's page elsewhere.
async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    if req.uri().path().starts_with("/api/") {
        axum::response::IntoResponse::into_response(api::not_found().await)
    } else if req.uri().path().starts_with("/open311/") {
        open311::not_found_text()
    } else {
        wangge_web::not_found(req).await
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] wangge_store::StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(
        "the gateway URL {0:?} must start with http:// (TLS is not built in: put a relay on the county's network in front of an HTTPS gateway)"
    )]
    Gateway(String),
    #[error("the public URL {0:?} must start with https:// or http://")]
    PublicUrl(String),
}
