//! A small builder for SQL with `$n` placeholders, which both engines accept.

use std::fmt::Write;

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Any, AssertSqlSafe, FromRow};

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::I64(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Sql {
        self.args.push(arg.into());
        let _ = write!(self.text, "${}", self.args.len());
        self
    }

    /// Appends ` AND column >= $a AND column < $b`: the index-friendly subtree range.
    pub fn in_range(&mut self, column: &str, range: &(String, String)) -> &mut Sql {
        self.push(" AND ").push(column).push(" >= ");
        self.bind(range.0.clone());
        self.push(" AND ").push(column).push(" < ");
        self.bind(range.1.clone())
    }

    pub fn query(&self) -> Query<'static, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }

    pub fn scalar<T>(&self) -> QueryScalar<'static, Any, T, AnyArguments>
    where
        (T,): for<'r> FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_scalar(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub(crate) fn like_contains(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
