//! Exports of the wishes and the ledger's entries: the rows of the JSON list for the same
//! filters and caller, as CSV or XLSX, streamed a batch at a time. The beneficiaries are
//! masked; a POST with a purpose reveals them to a post that may, and the reveal is logged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wangge_core::ledger::EntryKind;
use wangge_data::{DataError, Format, SheetWriter};
use wangge_store::{Caller, EntryFilter, ListKind, Store, WishFilter};

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, ErrorBody};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_wishes, export_wishes_revealed))
        .routes(routes!(export_entries, export_entries_revealed))
}

/// Writes the list into a temporary file and streams it back. The scope and the reveal are
/// checked before the file is made.
async fn list_file(
    store: &Store,
    caller: &Caller,
    kind: ListKind,
    within: Option<i64>,
    purpose: Option<&str>,
    format: Format,
) -> ApiResult<Response> {
    let mut export = store.export_list(caller, kind, within, purpose).await?;
    let file = tempfile::NamedTempFile::new().map_err(|e| ApiError::from(DataError::Io(e)))?;
    let out = std::io::BufWriter::new(file.reopen().map_err(|e| ApiError::from(DataError::Io(e)))?);
    let mut w = SheetWriter::new(format, out)?;
    w.start_sheet(export.name(), &export.header())?;
    while let Some(rows) = export.next_batch(store).await? {
        for r in &rows {
            w.row(r)?;
        }
    }
    w.finish()?;
    super::data::file_response(file, format, export.name()).await
}

fn purpose_of(p: &str) -> ApiResult<&str> {
    if p.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "purpose must say why the beneficiaries' names, phones and addresses are needed",
            Some("purpose"),
        ));
    }
    Ok(p)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WishExportQuery {
    /// Only wishes inside this area's subtree.
    area_id: Option<i64>,
    state: Option<String>,
    /// `xlsx` (default) or `csv` (UTF-8 with BOM).
    format: Option<String>,
}

/// Export the wishes list (its filters) to CSV or XLSX, newest first; the beneficiaries'
/// names, phones and addresses masked.
#[utoipa::path(get, path = "/wishes/export", tag = "services", params(WishExportQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_wishes(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<WishExportQuery>,
) -> ApiResult<Response> {
    let format = super::data::format_of(q.format.as_deref())?;
    let kind = ListKind::Wishes(WishFilter { state: q.state, within: None, q: None });
    list_file(&s.store, &caller, kind, q.area_id, None, format).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WishExportBody {
    area_id: Option<i64>,
    state: Option<String>,
    format: Option<String>,
    /// Why the beneficiaries are needed; logged in the audit log.
    purpose: String,
}

/// Export the wishes list with the beneficiaries' names, phones and addresses in clear.
/// Needs a post that may reveal them and a stated purpose, which is logged.
#[utoipa::path(post, path = "/wishes/export", tag = "services", request_body = WishExportBody,
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_wishes_revealed(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<WishExportBody>,
) -> ApiResult<Response> {
    let purpose = purpose_of(&b.purpose)?;
    let format = super::data::format_of(b.format.as_deref())?;
    let kind = ListKind::Wishes(WishFilter { state: b.state.clone(), within: None, q: None });
    list_file(&s.store, &caller, kind, b.area_id, Some(purpose), format).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntryExportQuery {
    /// Only entries inside this area's subtree.
    area_id: Option<i64>,
    account_id: Option<i64>,
    /// `posted`, `pending` or `rejected`.
    state: Option<String>,
    kind: Option<EntryKind>,
    /// `xlsx` (default) or `csv` (UTF-8 with BOM).
    format: Option<String>,
}

/// Export the ledger's journal entries (the list's filters) to CSV or XLSX, newest first,
/// with their postings; the holders' names, phones and addresses masked.
#[utoipa::path(get, path = "/points/entries/export", tag = "services", params(EntryExportQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_entries(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<EntryExportQuery>,
) -> ApiResult<Response> {
    let format = super::data::format_of(q.format.as_deref())?;
    let kind =
        ListKind::Entries(EntryFilter { account_id: q.account_id, state: q.state, kind: q.kind, ..Default::default() });
    list_file(&s.store, &caller, kind, q.area_id, None, format).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryExportBody {
    area_id: Option<i64>,
    account_id: Option<i64>,
    state: Option<String>,
    kind: Option<EntryKind>,
    format: Option<String>,
    /// Why the holders are needed; logged in the audit log.
    purpose: String,
}

/// Export the ledger's entries with the holders' names, phones and addresses in clear. Needs
/// a post that may reveal them and a stated purpose, which is logged.
#[utoipa::path(post, path = "/points/entries/export", tag = "services", request_body = EntryExportBody,
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_entries_revealed(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<EntryExportBody>,
) -> ApiResult<Response> {
    let purpose = purpose_of(&b.purpose)?;
    let format = super::data::format_of(b.format.as_deref())?;
    let kind = ListKind::Entries(EntryFilter {
        account_id: b.account_id,
        state: b.state.clone(),
        kind: b.kind,
        ..Default::default()
    });
    list_file(&s.store, &caller, kind, b.area_id, Some(purpose), format).await
}
