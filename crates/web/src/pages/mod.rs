//! The pages, one module per part of the site.

pub mod areas;
pub mod cases;
pub mod dashboard;
pub mod data;
pub mod evaluations;
pub mod home;
pub mod imports;
pub mod ledger;
pub mod livingrooms;
pub mod mediations;
pub mod meetings;
pub mod notices;
pub mod rankings;
pub mod registry;
pub mod rooms;
pub mod services;
pub mod session;
pub mod stars;
pub mod topics;
pub mod volunteers;
pub mod wishes;

use serde::{Deserialize, Deserializer};

/// An empty form or query field means "not given".
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Paging links of a list: the page shown, the number of pages, and the query without `page`.
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: i64,
    /// The list's path and its query without the page, ending in `&` or `?`.
    pub base: String,
}

impl Pager {
    pub fn new(path: &str, query: &[(&str, String)], page: u32, page_size: u32, total: i64) -> Pager {
        let pages = ((total.max(0) as u64).div_ceil(u64::from(page_size.max(1)))).max(1) as u32;
        let mut base = format!("{path}?");
        for (k, v) in query {
            if !v.is_empty() {
                base.push_str(&format!("{k}={}&", crate::ctx::urlencode(v)));
            }
        }
        Pager { page, pages, total, base }
    }

    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| format!("{}page={}", self.base, self.page - 1))
    }

    /// "Page 2 of 5 · 93 in all".
    pub fn label(&self, lang: impl std::borrow::Borrow<crate::Lang>) -> String {
        let lang = *lang.borrow();
        let page = lang.t_args("page-of", &[("page", self.page.into()), ("pages", self.pages.into())]);
        let total = lang.t_args("total-rows", &[("total", self.total.into())]);
        format!("{page} · {total}")
    }

    pub fn next(&self) -> Option<String> {
        (self.page < self.pages).then(|| format!("{}page={}", self.base, self.page + 1))
    }
}

/// Whether two strings are equal, whatever references the templates hold.
pub fn same(a: impl AsRef<str>, b: impl AsRef<str>) -> bool {
    a.as_ref() == b.as_ref()
}

/// Rows per page of the lists.
pub const PAGE_SIZE: u32 = 20;
