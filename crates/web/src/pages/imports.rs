//! Import from the web: staff upload a spreadsheet, see what it would do (the dry run's report,
//! with the row errors downloadable), confirm, and follow the background job to its end.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use wangge_core::{Permission, Scope};
use wangge_data::{DataError, Format};
use wangge_store::{ImportJob, ImportOptions, NewImportJob, Page, Paged, SheetKind, StoreError};

use super::{Pager, empty_as_none};
use crate::WebState;
use crate::ctx::{Chrome, FieldErrors, Viewer, WebError, render, respond};

/// The largest file the web takes; bigger files go through `wangge import` on the server.
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;
/// Row errors listed on the page; the downloadable report has them all.
const LISTED_ERRORS: usize = 100;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/imports", get(imports).post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + (64 << 10))))
        .route("/imports/{id}", get(job))
        .route("/imports/{id}/confirm", post(confirm))
        .route("/imports/{id}/errors", get(errors))
}

/// The kinds a page offers to import.
fn importable() -> Vec<&'static str> {
    SheetKind::IMPORTED.iter().map(|k| k.as_str()).collect()
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    c: Chrome,
    kinds: Vec<&'static str>,
    kind: String,
    errors: FieldErrors,
    list: Paged<ImportJob>,
    pager: Pager,
}

impl ImportsPage {
    fn state_label(&self, state: &str) -> String {
        self.c.t(&format!("import-state-{state}"))
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<u32>,
}

fn writer(v: &Viewer) -> Result<&Scope, WebError> {
    if v.can(Permission::WriteRegistry) { Ok(v.caller.scope()) } else { Err(WebError::Forbidden) }
}

async fn imports_page(
    s: &WebState,
    v: &Viewer,
    page: u32,
    kind: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    writer(v)?;
    let list = s.store.import_jobs(&v.caller, Page::new(Some(page.max(1)), Some(super::PAGE_SIZE))?).await?;
    let pager = Pager::new("/imports", &[], list.page, list.page_size, list.total);
    let c = v.chrome(v.t("imports-title"), "imports");
    Ok(render(status, ImportsPage { c, kinds: importable(), kind, errors, list, pager }, v.lang))
}

async fn imports(State(s): State<WebState>, v: Viewer, Query(q): Query<ListQuery>) -> Response {
    let r = imports_page(&s, &v, q.page.unwrap_or(1), String::new(), FieldErrors::default(), StatusCode::OK).await;
    respond(&v, r)
}

/// The upload: read, checked by a dry run, and kept as a job waiting for confirmation.
async fn upload(State(s): State<WebState>, v: Viewer, headers: HeaderMap, body: Bytes) -> Response {
    let r = async {
        writer(&v)?;
        let ty = headers.get(header::CONTENT_TYPE).and_then(|t| t.to_str().ok()).unwrap_or("");
        let refuse = |kind: String, message: String| {
            let mut e = FieldErrors::default();
            e.add("file", message);
            (kind, e)
        };
        let parts = match crate::multipart::multipart(ty, &body) {
            Ok(p) => p,
            Err(_) => {
                let (kind, e) = refuse(String::new(), v.t("import-no-file"));
                return imports_page(&s, &v, 1, kind, e, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        };
        drop(body);
        let field = |name: &str| {
            parts.iter().find(|p| p.name == name).map(|p| String::from_utf8_lossy(&p.data).trim().to_string())
        };
        v.check_csrf(&field("csrf").unwrap_or_default())?;
        let kind_text = field("kind").unwrap_or_default();
        let kind = if kind_text.is_empty() { None } else { SheetKind::parse(&kind_text) };
        if !kind_text.is_empty() && kind.is_none() {
            let mut e = FieldErrors::default();
            e.add("kind", v.t("import-bad-kind"));
            return imports_page(&s, &v, 1, kind_text, e, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let Some(file) = parts.iter().find(|p| p.name == "file" && !p.data.is_empty()) else {
            let (kind, e) = refuse(kind_text, v.t("import-no-file"));
            return imports_page(&s, &v, 1, kind, e, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let name = file.filename.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "import".into());
        let sheets = match wangge_data::read_sheets(&file.data, &name, kind) {
            Ok(sh) => sh,
            Err(DataError::Unreadable { sheet, message }) => {
                let (kind, e) = refuse(kind_text, format!("{}: {sheet}: {message}", v.t("import-unreadable")));
                return imports_page(&s, &v, 1, kind, e, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            Err(DataError::Store(e)) => return Err(e.into()),
            Err(e) => {
                tracing::error!(error = %e, "reading an upload failed");
                return Err(WebError::Internal);
            }
        };
        let rows_total = sheets.iter().map(|sh| sh.rows.len()).sum();
        let options = ImportOptions { dry_run: true, ..Default::default() };
        let preview = match s.store.import(&v.caller, None, sheets, options, &mut |_, _| {}).await {
            Ok(p) => p,
            Err(e @ (StoreError::Invalid { .. } | StoreError::MissingRef { .. })) => {
                let (kind, errs) = refuse(kind_text, e.to_string());
                return imports_page(&s, &v, 1, kind, errs, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            Err(e) => return Err(e.into()),
        };
        let new =
            NewImportJob { within: None, kind, file_name: &name, file: &file.data, rows_total, preview: &preview };
        let job = s.store.create_import_job(&v.caller, new).await?;
        Ok(Redirect::to(&format!("/imports/{}", job.id)).into_response())
    }
    .await;
    respond(&v, r)
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    c: Chrome,
    j: ImportJob,
    /// The counts of the report shown: the summary once there is one, else the preview.
    counts: Vec<(String, wangge_store::KindCounts)>,
    errors: Vec<wangge_store::RowError>,
    error_total: i64,
    form_errors: FieldErrors,
    mine: bool,
}

impl JobPage {
    fn state_label(&self) -> String {
        self.c.t(&format!("import-state-{}", self.j.state))
    }

    fn row_label(&self, row: &u32) -> String {
        self.c.n("import-row", i64::from(*row))
    }

    fn kind_label(&self, kind: &str) -> String {
        self.c.t(&format!("import-kind-{kind}"))
    }
}

/// A job inside the viewer's scope: 403 for another area's, 404 for none.
async fn scoped_job(s: &WebState, v: &Viewer, id: i64) -> Result<ImportJob, WebError> {
    let scope = v.reader()?;
    match s.store.import_job(scope, id).await {
        Err(StoreError::NotFound { .. }) => {
            let exists = s.store.import_job(&Scope::everything(), id).await.is_ok();
            Err(if exists { WebError::Forbidden } else { WebError::NotFound })
        }
        r => r.map_err(WebError::from),
    }
}

fn job_page(v: &Viewer, j: ImportJob, form_errors: FieldErrors) -> JobPage {
    let report = j.summary.as_ref().unwrap_or(&j.preview);
    let counts = report.counts.iter().map(|(k, c)| (k.clone(), c.clone())).collect();
    let errors = report.errors.iter().take(LISTED_ERRORS).cloned().collect();
    let error_total = report.errors.len() as i64;
    let c = v.chrome(format!("{} #{}", v.t("import-job-title"), j.id), "imports");
    let mine = v.caller.account_id == Some(j.account_id);
    JobPage { c, j, counts, errors, error_total, form_errors, mine }
}

async fn job(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let r = async {
        let j = scoped_job(&s, &v, id).await?;
        let ended = j.ended();
        let mut resp = v.page(job_page(&v, j, FieldErrors::default()));
        if !ended {
            // The page refreshes itself while the job runs: no script needed.
            resp.headers_mut().insert(header::REFRESH, header::HeaderValue::from_static("2"));
        }
        Ok(resp)
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    good_rows_only: Option<String>,
}

async fn confirm(
    State(s): State<WebState>,
    v: Viewer,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ConfirmForm>,
) -> Response {
    let r = async {
        v.check_csrf(&f.csrf)?;
        writer(&v)?;
        let j = scoped_job(&s, &v, id).await?;
        let good_rows_only = f.good_rows_only.as_deref().is_some_and(|g| !g.is_empty() && g != "0" && g != "false");
        match s.store.confirm_import_job(&v.caller, id, good_rows_only).await {
            Ok(_) => Ok(Redirect::to(&format!("/imports/{id}")).into_response()),
            Err(e) => {
                let errors = match FieldErrors::from_store(v.lang, &e) {
                    Some(e) => e,
                    None => return Err(WebError::from(e)),
                };
                Ok(render(StatusCode::UNPROCESSABLE_ENTITY, job_page(&v, j, errors), v.lang))
            }
        }
    }
    .await;
    respond(&v, r)
}

#[derive(Deserialize)]
pub struct ErrorsQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    format: Option<String>,
}

/// The row errors of the job's report as a spreadsheet, to fix the file by.
async fn errors(State(s): State<WebState>, v: Viewer, Path(id): Path<i64>, Query(q): Query<ErrorsQuery>) -> Response {
    let r = async {
        let j = scoped_job(&s, &v, id).await?;
        let format = match q.format.as_deref() {
            None => Format::Xlsx,
            Some(f) => Format::parse(f)
                .ok_or_else(|| WebError::Store(StoreError::invalid("format", "bad_format", "format is csv or xlsx")))?,
        };
        let report = j.summary.as_ref().unwrap_or(&j.preview);
        let mut buf = Vec::new();
        wangge_data::report(report, format, &mut buf).map_err(|e| {
            tracing::error!(error = %e, "writing an error report failed");
            WebError::Internal
        })?;
        let disposition = format!("attachment; filename=\"import-{id}-errors.{}\"", format.extension());
        Ok((
            [(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)],
            buf,
        )
            .into_response())
    }
    .await;
    respond(&v, r)
}
