//! The site's own assets, embedded in the binary and served under a name that carries their
//! hash, so that browsers may cache them for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../static/app.css");
const ICON: &str = include_str!("../static/icon.svg");

struct Asset {
    path: String,
    body: &'static str,
    content_type: &'static str,
}

fn hashed(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    Asset { path: format!("/static/{stem}.{hex}.{ext}"), body, content_type }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [hashed("app", "css", CSS, "text/css; charset=utf-8"), hashed("icon", "svg", ICON, "image/svg+xml")]
});

pub fn css_path() -> &'static str {
    &ASSETS[0].path
}

pub fn icon_path() -> &'static str {
    &ASSETS[1].path
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let wanted = format!("/static/{name}");
    match ASSETS.iter().find(|a| a.path == wanted) {
        Some(a) => (
            [(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
