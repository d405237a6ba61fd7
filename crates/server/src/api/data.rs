//! Data in and out: export of the registry to CSV or XLSX, import from them with a report of
//! row-level errors, and the empty templates.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use wangge_core::ResidenceStatus;
use wangge_data::{DataError, Format};
use wangge_store::{
    Caller, ChangeRequest, ChangeRequestFilter, ExportFilter, ImportJob, ImportOptions, ImportReport, KindCounts,
    Paged, Permission, Plate, RegistrationSettings, SheetKind, Store,
};

use super::Auth;
use crate::AppState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};

/// The largest file an import takes.
pub const MAX_IMPORT_BYTES: usize = 256 << 20;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_masked, export_revealed))
        .routes(routes!(list_import_jobs, import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
        .routes(routes!(template))
        .routes(routes!(get_import_job))
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Store(e) => e.into(),
            DataError::Unreadable { sheet, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable_file",
                format!("{sheet}: {message}"),
                Some("file"),
            ),
            e => {
                tracing::error!(error = %e, "a spreadsheet failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
            }
        }
    }
}

pub(crate) fn format_of(s: Option<&str>) -> ApiResult<Format> {
    match s {
        None => Ok(Format::Xlsx),
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_format", "format is csv or xlsx", Some("format"))
        }),
    }
}

fn kinds_of(kind: Option<SheetKind>, format: Format) -> ApiResult<Vec<SheetKind>> {
    match (kind, format) {
        (Some(k), _) => Ok(vec![k]),
        (None, Format::Xlsx) => Ok(SheetKind::ALL.to_vec()),
        (None, Format::Csv) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind_required",
            "a CSV file holds one kind of records: give kind",
            Some("kind"),
        )),
    }
}

/// A finished file streamed from disk in chunks, so that a large export never sits in memory;
/// the file is removed when the stream ends.
pub(crate) async fn file_response(file: tempfile::NamedTempFile, format: Format, name: &str) -> ApiResult<Response> {
    use tokio::io::AsyncReadExt;
    let path = file.into_temp_path();
    let f = tokio::fs::File::open(&path).await.map_err(|e| ApiError::from(DataError::Io(e)))?;
    let stream = futures_util::stream::unfold((f, path), |(mut f, path)| async move {
        let mut buf = vec![0u8; 64 << 10];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), (f, path)))
            }
            Err(e) => Some((Err(e), (f, path))),
        }
    });
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    Ok((
        [(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Writes an export into a temporary file and streams it back.
pub async fn export_file(
    store: &Store,
    caller: &Caller,
    kinds: &[SheetKind],
    area_id: Option<i64>,
    filter: Option<&ExportFilter>,
    purpose: Option<&str>,
    format: Format,
) -> Result<Response, ApiError> {
    let file = tempfile::NamedTempFile::new().map_err(|e| ApiError::from(DataError::Io(e)))?;
    let out = std::io::BufWriter::new(file.reopen().map_err(|e| ApiError::from(DataError::Io(e)))?);
    let spec = wangge_data::ExportSpec { kinds, within: area_id, purpose, filter, format };
    wangge_data::export(store, caller, &spec, out, &mut |_, _| {}).await?;
    let name = match kinds {
        [k] => k.as_str(),
        _ => "registry",
    };
    file_response(file, format, name).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// One kind of records; every kind (a workbook of sheets) by default. CSV needs one.
    kind: Option<SheetKind>,
    /// `xlsx` (default) or `csv` (UTF-8 with BOM).
    format: Option<String>,
    /// Only this area's subtree.
    area_id: Option<i64>,
    /// Houses and households: part of the code or address (households also a member's name);
    /// residents: part of the name. As the lists filter.
    q: Option<String>,
    /// Houses: only those without (`true`) or with (`false`) households.
    empty: Option<bool>,
    /// Households: only those without (`true`) or with (`false`) a head.
    without_head: Option<bool>,
    /// Residents: a full ID number, matched exactly.
    id_number: Option<String>,
    /// Residents: a current tag.
    tag: Option<String>,
    /// Residents: a residence status.
    status: Option<ResidenceStatus>,
}

/// Export what the caller may see, ID numbers and phones masked (the last 4 shown). The list
/// filters apply to the kinds whose lists have them, so that a list page's export holds what
/// the page lists.
#[utoipa::path(get, path = "/export", tag = "data", params(ExportQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_masked(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = format_of(q.format.as_deref())?;
    let kinds = kinds_of(q.kind, format)?;
    let filter = ExportFilter {
        q: q.q,
        empty: q.empty,
        without_head: q.without_head,
        id_number: q.id_number,
        tag: q.tag,
        status: q.status,
    };
    export_file(&s.store, &caller, &kinds, q.area_id, Some(&filter), None, format).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    kind: Option<SheetKind>,
    format: Option<String>,
    area_id: Option<i64>,
    /// Why the numbers are needed; logged in the audit log.
    purpose: String,
}

/// Export with ID numbers and phones in clear. Needs a post that may reveal them and a
/// stated purpose, which is logged.
#[utoipa::path(post, path = "/export", tag = "data", request_body = ExportBody,
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_revealed(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiJson(b): ApiJson<ExportBody>,
) -> ApiResult<Response> {
    if b.purpose.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "purpose must say why the numbers are needed",
            Some("purpose"),
        ));
    }
    let format = format_of(b.format.as_deref())?;
    let kinds = kinds_of(b.kind, format)?;
    export_file(&s.store, &caller, &kinds, b.area_id, None, Some(&b.purpose), format).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's name, whose stem may name the kind (`residents.csv`).
    name: Option<String>,
    /// The kind of a CSV file, when its name and header do not tell.
    kind: Option<SheetKind>,
    /// Every row must fall inside this area; the caller's whole scope by default.
    area_id: Option<i64>,
    /// Check and report only.
    #[serde(default)]
    dry_run: bool,
    /// Write the rows without errors even when other rows have some.
    #[serde(default)]
    good_rows_only: bool,
    /// `csv` or `xlsx`: answer with the row errors as a spreadsheet instead of JSON.
    report: Option<String>,
}

/// The answer to an import whose rows have errors and that wrote nothing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportRefused {
    pub error: crate::error::ErrorDetail,
    pub report: ImportReport,
}

/// Import a CSV (UTF-8 or GB18030) or XLSX file, sent as the request body. Every row is
/// checked first; with errors nothing is written (422, with the report) unless
/// `good_rows_only`; rows matching stored records update them.
#[utoipa::path(post, path = "/imports", tag = "data", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ImportRefused)))]
async fn import(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let report_format = q.report.as_deref().map(|f| format_of(Some(f))).transpose()?;
    // Scope first: an area outside the caller's answers 404 before the file is read.
    if let Some(a) = q.area_id {
        s.store.subtree_scope(caller.scope(), a).await?;
    }
    let name = q.name.as_deref().unwrap_or("import");
    let sheets = wangge_data::read_sheets(&body, name, q.kind)?;
    drop(body);
    let options = ImportOptions { dry_run: q.dry_run, good_rows_only: q.good_rows_only, ..Default::default() };
    let report = s.store.import(&caller, q.area_id, sheets, options, &mut |_, _| {}).await?;
    if let Some(format) = report_format {
        let file = tempfile::NamedTempFile::new().map_err(|e| ApiError::from(DataError::Io(e)))?;
        let out = std::io::BufWriter::new(file.reopen().map_err(|e| ApiError::from(DataError::Io(e)))?);
        wangge_data::report(&report, format, out)?;
        return file_response(file, format, "import-errors").await;
    }
    // Refused as the real import would be: errors without good_rows_only, or a bad header.
    let header_errors = report.errors.iter().any(|e| e.row == 1);
    if report.has_errors() && (!options.good_rows_only || header_errors) {
        let first = &report.errors[0];
        let message = format!(
            "{} row(s) have errors and nothing was written; first: {} row {} ({}): {}",
            report.errors.len(),
            first.sheet,
            first.row,
            first.field,
            first.message
        );
        let error = crate::error::ErrorDetail {
            code: "import_rows_invalid".into(),
            message,
            field: Some(format!("{}!{}:{}", first.sheet, first.row, first.field)),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::Json(ImportRefused { error, report })).into_response());
    }
    Ok(axum::Json(report).into_response())
}

/// An import from the web (`/imports` on the site) and where it stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportJobView {
    pub id: i64,
    /// `preview` (checked, waiting for confirmation), `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// The kind forced for a CSV file; a workbook's sheets name their own.
    pub kind: Option<String>,
    pub file_name: String,
    pub area_id: Option<i64>,
    pub account_id: i64,
    pub good_rows_only: bool,
    pub rows_total: i64,
    pub rows_done: i64,
    /// Done out of 100.
    pub progress: i64,
    /// Whether the import wrote; false for a preview, a job under way and a failed one.
    pub written: bool,
    /// Counts per kind: of the import once it ended, of the preview before.
    pub counts: std::collections::BTreeMap<String, KindCounts>,
    /// Row errors in the same report (the site's `/imports/{id}/errors` has them).
    pub errors: usize,
    /// Why the job failed.
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl From<ImportJob> for ImportJobView {
    fn from(j: ImportJob) -> Self {
        let progress = j.percent();
        let report = j.summary.unwrap_or(j.preview);
        ImportJobView {
            id: j.id,
            state: j.state,
            kind: j.kind,
            file_name: j.file_name,
            area_id: j.area_id,
            account_id: j.account_id,
            good_rows_only: j.good_rows_only,
            rows_total: j.rows_total,
            rows_done: j.rows_done,
            progress,
            written: report.written,
            errors: report.errors.len(),
            counts: report.counts,
            error: j.error,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportJobQuery {
    /// Only jobs of this area's subtree (the area every row had to fall in, or the uploader's).
    area_id: Option<i64>,
    /// `preview`, `queued`, `running`, `done` or `failed`.
    state: Option<String>,
}

/// The imports from the web inside the caller's scope, newest first; previews only the
/// caller's own (as the site's `/imports` page lists them).
#[utoipa::path(get, path = "/imports", tag = "data", params(ImportJobQuery, super::Paging),
    responses((status = 200, body = Paged<ImportJobView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_import_jobs(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ImportJobQuery>,
    ApiQuery(p): ApiQuery<super::Paging>,
) -> ApiResult<axum::Json<Paged<ImportJobView>>> {
    if !caller.can(Permission::WriteRegistry) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "your post does not import", None));
    }
    let state = q.state.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let list = s.store.import_jobs_in_state(&caller, q.area_id, state, p.page()?).await?;
    Ok(axum::Json(Paged {
        items: list.items.into_iter().map(ImportJobView::from).collect(),
        page: list.page,
        page_size: list.page_size,
        total: list.total,
    }))
}

/// One import from the web: its state, progress, counts and number of row errors.
#[utoipa::path(get, path = "/imports/{id}", tag = "data", params(("id" = i64, Path)),
    responses((status = 200, body = ImportJobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_import_job(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ImportJobView>> {
    let job = s.store.import_job(super::reader(&caller)?, id).await?;
    // Another's preview is theirs alone until confirmed, as in the list.
    if job.state == "preview" && caller.account_id != Some(job.account_id) {
        return Err(wangge_store::StoreError::not_found("import job", id).into());
    }
    Ok(axum::Json(job.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// One kind; every imported kind (a workbook) by default. CSV needs one.
    kind: Option<SheetKind>,
    format: Option<String>,
}

/// The empty template of a kind of records (see docs/import.md for what goes in each column).
#[utoipa::path(get, path = "/imports/template", tag = "data", params(TemplateQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 422, body = ErrorBody)))]
async fn template(Auth(_caller): Auth, ApiQuery(q): ApiQuery<TemplateQuery>) -> ApiResult<Response> {
    let format = format_of(q.format.as_deref())?;
    let mut buf = Vec::new();
    wangge_data::template(q.kind, format, &mut buf)?;
    let name = q.kind.map_or("registry", SheetKind::as_str);
    let disposition = format!("attachment; filename=\"{name}-template.{}\"", format.extension());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)], buf)
        .into_response())
}

// ---------------------------------------------------------------- plates and change requests

pub fn registration_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plates))
        .routes(routes!(list_change_requests))
        .routes(routes!(get_change_request))
        .routes(routes!(accept_change_request))
        .routes(routes!(reject_change_request))
        .routes(routes!(get_registration_settings, put_registration_settings))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlatesQuery {
    /// The area whose houses get plates.
    area_id: i64,
}

/// The QR plates of an area's houses: house code, address, unit chief, and the signed
/// registration link.
#[utoipa::path(get, path = "/plates", tag = "registration", params(PlatesQuery, super::Paging),
    responses((status = 200, body = Paged<Plate>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_plates(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<PlatesQuery>,
    ApiQuery(p): ApiQuery<super::Paging>,
) -> ApiResult<axum::Json<Paged<Plate>>> {
    Ok(axum::Json(s.store.plates(super::reader(&caller)?, q.area_id, p.page()?).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeRequestQuery {
    /// Only requests inside this area's subtree.
    area_id: Option<i64>,
    /// `pending`, `accepted` or `rejected`.
    status: Option<String>,
}

/// Self-registrations waiting for (or past) review, inside the caller's scope.
#[utoipa::path(get, path = "/change-requests", tag = "registration", params(ChangeRequestQuery, super::Paging),
    responses((status = 200, body = Paged<ChangeRequest>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_change_requests(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ChangeRequestQuery>,
    ApiQuery(p): ApiQuery<super::Paging>,
) -> ApiResult<axum::Json<Paged<ChangeRequest>>> {
    let f = ChangeRequestFilter { within: q.area_id, status: q.status };
    Ok(axum::Json(s.store.list_change_requests(reviewer(&caller)?, &f, p.page()?).await?))
}

fn reviewer(caller: &Caller) -> ApiResult<&wangge_store::Scope> {
    if caller.can(wangge_store::Permission::WriteRegistry) {
        Ok(caller.scope())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "your post does not review registrations", None))
    }
}

/// One change request.
#[utoipa::path(get, path = "/change-requests/{id}", tag = "registration", params(("id" = i64, Path)),
    responses((status = 200, body = ChangeRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_change_request(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ChangeRequest>> {
    Ok(axum::Json(s.store.change_request(reviewer(&caller)?, id).await?))
}

/// Accept a request: it is merged into the registry.
#[utoipa::path(post, path = "/change-requests/{id}/accept", tag = "registration", params(("id" = i64, Path)),
    responses((status = 200, body = ChangeRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept_change_request(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<ChangeRequest>> {
    Ok(axum::Json(s.store.accept_change_request(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    reason: String,
}

/// Reject a request with a reason.
#[utoipa::path(post, path = "/change-requests/{id}/reject", tag = "registration", params(("id" = i64, Path)),
    request_body = RejectBody,
    responses((status = 200, body = ChangeRequest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reject_change_request(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<RejectBody>,
) -> ApiResult<axum::Json<ChangeRequest>> {
    Ok(axum::Json(s.store.reject_change_request(&caller, id, &b.reason).await?))
}

/// What a county keeps of returnees' registrations, and for how long.
#[utoipa::path(get, path = "/registration-settings/{county_id}", tag = "registration", params(("county_id" = i64, Path)),
    responses((status = 200, body = RegistrationSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_registration_settings(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::Json<RegistrationSettings>> {
    // The county must be the caller's: its subtree contains the county's own path.
    let county = s.store.area(super::reader(&caller)?, id).await?;
    if county.parent_id.is_some() {
        return Err(wangge_store::StoreError::not_found("county", id).into());
    }
    Ok(axum::Json(s.store.registration_settings(id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// Fields kept of a returnee: name (always), phone, id_number, returned_from, returned_on.
    returnee_fields: Vec<String>,
    /// Days after submission when the submitted fields are deleted.
    retention_days: i64,
}

/// Set what a county keeps of returnees' registrations; the county's administrators only.
#[utoipa::path(put, path = "/registration-settings/{county_id}", tag = "registration", params(("county_id" = i64, Path)),
    request_body = SettingsBody,
    responses((status = 200, body = RegistrationSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn put_registration_settings(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<SettingsBody>,
) -> ApiResult<axum::Json<RegistrationSettings>> {
    Ok(axum::Json(s.store.set_registration_settings(&caller, id, &b.returnee_fields, b.retention_days).await?))
}

// ---------------------------------------------------------------- boundaries

pub fn boundary_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_boundaries).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoundaryQuery {
    /// Every area of the file must be inside this area; the caller's whole scope by default.
    area_id: Option<i64>,
    /// Check and report only.
    #[serde(default)]
    dry_run: bool,
}

/// What a boundary import did and found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoundaryReport {
    pub dry_run: bool,
    pub written: bool,
    /// Areas whose boundary the file sets.
    pub areas: usize,
    pub errors: Vec<wangge_store::FeatureError>,
    /// Gaps and overlaps between siblings, and children outside their parent, with the
    /// file's boundaries in place.
    pub issues: Vec<wangge_data::boundary::BoundaryIssue>,
}

/// Set areas' boundaries from a GeoJSON FeatureCollection whose features carry the area's
/// code in `properties.code`; reports gaps and overlaps between sibling areas and children
/// that stick out of their parent. With any bad feature nothing is written.
#[utoipa::path(post, path = "/boundaries", tag = "areas", params(BoundaryQuery),
    request_body(content = String, content_type = "application/geo+json"),
    responses((status = 200, body = BoundaryReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = BoundaryReport)))]
async fn import_boundaries(
    State(s): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<BoundaryQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    if let Some(a) = q.area_id {
        s.store.subtree_scope(caller.scope(), a).await?;
    }
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable_file", "the file is not UTF-8 text", Some("file"))
    })?;
    let features = wangge_data::boundary::features(text)
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable_file", m, Some("file")))?;
    let (ids, errors) = s.store.set_boundaries(&caller, q.area_id, &features, q.dry_run).await?;
    let report = boundary_report(&s.store, &caller, &features, &ids, q.dry_run, errors).await?;
    let status = if report.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, axum::Json(report)).into_response())
}

/// Checks the families (an area and its children) that the file touches, with the file's
/// boundaries in place of the stored ones.
pub async fn boundary_report(
    store: &Store,
    caller: &Caller,
    features: &[wangge_store::Feature],
    ids: &[i64],
    dry_run: bool,
    errors: Vec<wangge_store::FeatureError>,
) -> ApiResult<BoundaryReport> {
    let scope = caller.scope();
    let from_file: std::collections::HashMap<&str, &str> =
        features.iter().filter_map(|(_, c, g)| Some((c.as_deref()?, g.as_deref()?))).collect();
    let mut parents = std::collections::BTreeSet::new();
    for id in ids {
        parents.insert(*id);
        if let Some(p) = store.parent_in_scope(scope, *id).await? {
            parents.insert(p);
        }
    }
    let mut issues = Vec::new();
    for p in parents {
        let fam = store.boundary_family(scope, p).await?;
        let parent = from_file.get(fam.code.as_str()).map(|g| g.to_string()).or(fam.boundary.clone());
        let mut children: Vec<(String, String)> = fam
            .children
            .iter()
            .map(|(c, g)| (c.clone(), from_file.get(c.as_str()).map_or_else(|| g.clone(), |f| f.to_string())))
            .collect();
        for (code, g) in &from_file {
            let is_child = code.starts_with(&fam.code) && code_level(store, code) == code_level(store, &fam.code) + 1;
            if is_child && !children.iter().any(|(c, _)| c == code) {
                children.push((code.to_string(), g.to_string()));
            }
        }
        issues
            .extend(wangge_data::boundary::check_family(parent.as_deref().map(|g| (fam.code.as_str(), g)), &children));
    }
    Ok(BoundaryReport { dry_run, written: !dry_run && errors.is_empty(), areas: ids.len(), errors, issues })
}

/// The depth of the level a code's length gives; past the deepest for other lengths.
fn code_level(store: &Store, code: &str) -> usize {
    let w = store.code_widths();
    wangge_core::Level::ALL.iter().position(|l| w.full_len(*l) == code.len()).unwrap_or(usize::MAX / 2)
}
