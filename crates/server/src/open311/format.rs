//! The wire rules shared by every Open311 method: the `.json`/`.xml` suffix, the content
//! types, the error body, datetimes (a zone is mandatory on input; whole seconds with the
//! county's offset on output), "empty means absent" parameters, and multipart bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::xml::Node;

pub const JSON_TYPE: &str = "application/json; charset=utf-8";
pub const XML_TYPE: &str = "text/xml; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    Json,
    Xml,
}

/// `requests.json` → (`requests`, JSON); `None` for a missing or unknown extension.
pub fn split(file: &str) -> Option<(&str, Fmt)> {
    let (name, ext) = file.rsplit_once('.')?;
    let fmt = match ext {
        "json" => Fmt::Json,
        "xml" => Fmt::Xml,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, fmt))
}

/// What the reference server answers for an unknown resource or format: plain text.
pub fn not_found_text() -> Response {
    let mut r = (StatusCode::NOT_FOUND, "Resource not found\n").into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A document in the asked format; `root` names the XML root (dropped in JSON).
pub fn document(fmt: Fmt, status: StatusCode, root: &str, node: &Node) -> Response {
    let (body, ty) = match fmt {
        Fmt::Json => (node.to_json().to_string(), JSON_TYPE),
        Fmt::Xml => (node.to_xml(root), XML_TYPE),
    };
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    r
}

/// One or more errors, all answered with one HTTP status.
#[derive(Debug)]
pub struct Errors {
    pub status: StatusCode,
    pub list: Vec<String>,
}

impl Errors {
    pub fn one(status: StatusCode, description: impl Into<String>) -> Errors {
        Errors { status, list: vec![description.into()] }
    }

    pub fn bad(description: impl Into<String>) -> Errors {
        Errors::one(StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(description: impl Into<String>) -> Errors {
        Errors::one(StatusCode::NOT_FOUND, description)
    }

    pub fn forbidden(description: impl Into<String>) -> Errors {
        Errors::one(StatusCode::FORBIDDEN, description)
    }

    /// 400 for everything collected, or nothing to report.
    pub fn check(list: Vec<String>) -> Result<(), Errors> {
        if list.is_empty() { Ok(()) } else { Err(Errors { status: StatusCode::BAD_REQUEST, list }) }
    }

    pub fn render(&self, fmt: Fmt) -> Response {
        let code = i64::from(self.status.as_u16());
        let items = self
            .list
            .iter()
            .map(|d| Node::obj(vec![("code", Node::Int(code)), ("description", Node::text(d.clone()))]))
            .collect();
        document(fmt, self.status, "errors", &Node::List("error", items))
    }
}

impl From<wangge_store::StoreError> for Errors {
    fn from(e: wangge_store::StoreError) -> Self {
        use wangge_store::StoreError;
        match e {
            StoreError::NotFound { .. } => Errors::not_found(e.to_string()),
            StoreError::Forbidden { message } => Errors::forbidden(message),
            StoreError::Invalid { message, .. }
            | StoreError::MissingRef { message, .. }
            | StoreError::Conflict { message, .. } => Errors::bad(message),
            StoreError::Config(_) | StoreError::Db(_) => {
                tracing::error!(error = %e, "open311: internal error");
                Errors::one(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

/// A W3C datetime with a mandatory zone (`Z` or `±hh:mm`); fractional seconds are accepted.
pub fn parse_datetime(name: &str, s: &str) -> Result<DateTime<Utc>, String> {
    let bytes = s.as_bytes();
    let shaped = bytes.len() >= 19
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':';
    let zoned = s.ends_with('Z') || {
        let tail = &bytes[bytes.len().saturating_sub(6)..];
        tail.len() == 6 && (tail[0] == b'+' || tail[0] == b'-') && tail[3] == b':'
    };
    if !shaped {
        return Err(format!("{name} must be a datetime like 2026-03-02T09:00:00+08:00, not {s:?}"));
    }
    if !zoned {
        return Err(format!("{name} must carry a time zone (Z or +08:00): {s:?} has none"));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{name} is not a valid datetime: {s:?}"))
}

/// The county's offset (China keeps +08:00 all year), as every datetime is written.
pub fn write_datetime(t: DateTime<Utc>) -> String {
    let local: NaiveDateTime = wangge_store::clock::to_local(t);
    local.format("%Y-%m-%dT%H:%M:%S+08:00").to_string()
}

/// Whole seconds for a lower bound (rounded up) and an upper bound (rounded down).
pub fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_second(t);
    if floor == t { t } else { floor + TimeDelta::seconds(1) }
}

pub fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// Query and body parameters in order; an empty value is as if absent.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse_urlencoded(bytes: &[u8]) -> Params {
        Params(form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    /// The first non-empty value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim())
    }

    /// Every non-empty value of a repeated parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim()).collect()
    }

    /// A comma-separated list, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default()
    }

    pub fn datetime(&self, name: &str, errors: &mut Vec<String>) -> Option<DateTime<Utc>> {
        let v = self.get(name)?;
        parse_datetime(name, v).map_err(|e| errors.push(e)).ok()
    }
}

pub use wangge_web::multipart::multipart;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_pick_the_format() {
        assert_eq!(split("services.json"), Some(("services", Fmt::Json)));
        assert_eq!(split("033.xml"), Some(("033", Fmt::Xml)));
        assert_eq!(split("services"), None);
        assert_eq!(split("services.html"), None);
        assert_eq!(split(".json"), None);
    }

    #[test]
    fn datetimes_need_a_zone_and_lose_their_fractions() {
        let t = parse_datetime("d", "2026-03-02T09:00:00.999999+08:00").unwrap();
        assert_eq!(write_datetime(t), "2026-03-02T09:00:00+08:00");
        assert_eq!(parse_datetime("d", "2026-03-02T01:00:00Z").unwrap(), floor_second(t));
        assert_eq!(ceil_second(t), floor_second(t) + TimeDelta::seconds(1));
        assert!(parse_datetime("d", "2026-03-02T09:00:00").unwrap_err().contains("time zone"));
        assert!(parse_datetime("d", "2026-03-02").is_err());
        assert!(parse_datetime("d", "yesterday").is_err());
        assert_eq!(
            write_datetime(parse_datetime("d", "1994-11-05T08:15:30-05:00").unwrap()),
            "1994-11-05T21:15:30+08:00"
        );
    }

    #[test]
    fn empty_parameters_are_absent() {
        let p = Params::parse_urlencoded(b"status=&status=open&media_url=a&media_url=&media_url=b&x=%E7%BD%91");
        assert_eq!(p.get("status"), Some("open"));
        assert_eq!(p.all("media_url"), vec!["a", "b"]);
        assert_eq!(p.get("x"), Some("网"));
        assert_eq!(p.get("missing"), None);
    }
}
