//! One error type for the HTTP layer, with one JSON shape:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`.
//! Extractor rejections are mapped into it too, so a malformed body or query gets the same shape.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wangge_store::StoreError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>, field: Option<&str>) -> Self {
        ApiError { status, code: code.to_string(), message: message.into(), field: field.map(str::to_string) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, field: self.field } };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string(), None),
            StoreError::Invalid { field, code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, Some(field))
            }
            StoreError::Conflict { field, code, message } => ApiError::new(StatusCode::CONFLICT, code, message, field),
            StoreError::MissingRef { field, code, message } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message, Some(field))
            }
            StoreError::Forbidden { message } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message, None),
            StoreError::Db(sqlx::Error::Database(db)) if db.is_unique_violation() => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "another request changed the same record at the same time; try again",
                None,
            ),
            StoreError::Config(_) | StoreError::Db(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
            }
        }
    }
}

/// The field a serde message names: "missing field `x`", "unknown field `x`", or a path
/// before the first colon ("x: invalid type …").
fn field_of(message: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(i) = message.find(marker) {
            let rest = &message[i + marker.len()..];
            return rest.split('`').next().map(str::to_string);
        }
    }
    let tail = message.rsplit("target type: ").next().unwrap_or(message);
    let tail = tail.rsplit("query string: ").next().unwrap_or(tail);
    let head = tail.split(": ").next()?;
    let ok =
        !head.is_empty() && head.len() < 60 && head.chars().all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c));
    (ok && tail.contains(": ")).then(|| head.to_string())
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let message = r.body_text();
        let (status, code) = match &r {
            JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_type"),
            _ => (StatusCode::BAD_REQUEST, "bad_body"),
        };
        let field = if code == "invalid_body" { field_of(&message) } else { None };
        ApiError { status, code: code.to_string(), message, field }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let message = r.body_text();
        ApiError { status: StatusCode::BAD_REQUEST, code: "bad_query".into(), field: field_of(&message), message }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_path", r.body_text(), None)
    }
}

/// `axum::Json` with our error shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// `axum::extract::Query` with our error shape.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(v) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// `axum::extract::Path` with our error shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(v) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn fields_are_found_in_serde_messages() {
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2"
            ),
            Some("name".into())
        );
        assert_eq!(
            field_of(
                "Failed to deserialize the JSON body into the target type: parent_id: invalid type: string \"x\", expected i64 at line 1 column 20"
            ),
            Some("parent_id".into())
        );
        assert_eq!(
            field_of("Failed to deserialize query string: page_size: invalid digit found in string"),
            Some("page_size".into())
        );
        assert_eq!(field_of("something else entirely"), None);
    }
}
