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

/// Writes whose results no one reads, kept until the work that made them is done and then
/// sent together. On SQLite that is one round trip to the connection's worker thread for all
/// of them (statements joined by `;`, each placeholder renumbered across the whole text), where
/// a round trip each costs more than the statement itself; on PostgreSQL, which takes one
/// statement with parameters at a time, they go one by one.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    writes: Vec<Sql>,
}

impl Deferred {
    pub fn push(&mut self, sql: Sql) {
        self.writes.push(sql);
    }

    /// Every write kept as one multi-statement text (SQLite only: PostgreSQL takes one
    /// statement with parameters at a time); `None` when nothing was kept.
    pub fn joined(self) -> Option<Sql> {
        let mut all = Sql::default();
        for w in self.writes {
            if !all.text.is_empty() {
                all.text.push_str(";\n");
            }
            shift_placeholders(&mut all.text, &w.text, all.args.len());
            all.args.extend(w.args);
        }
        (!all.text.is_empty()).then_some(all)
    }

    /// Sends every write kept, in the order they were made.
    pub async fn flush(&mut self, conn: &mut sqlx::AnyConnection, engine: crate::Engine) -> crate::StoreResult<()> {
        let writes = std::mem::take(&mut self.writes);
        if engine == crate::Engine::Postgres || writes.len() == 1 {
            for w in writes {
                w.query().execute(&mut *conn).await?;
            }
            return Ok(());
        }
        if let Some(all) = (Deferred { writes }).joined() {
            all.query().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Appends `text` to `out` with every `$n` placeholder raised by `by`. Our statements hold no
/// `$` inside their literals, so every `$` followed by digits is a placeholder.
fn shift_placeholders(out: &mut String, text: &str, by: usize) {
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let n: usize = rest[..digits].parse().expect("digits parse");
            let _ = write!(out, "{}", n + by);
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_shift_past_the_statements_before() {
        let mut out = String::from("INSERT INTO a VALUES ($1, $2);\n");
        shift_placeholders(&mut out, "UPDATE b SET x = $2, y = $10 WHERE id = $1", 2);
        assert_eq!(out, "INSERT INTO a VALUES ($1, $2);\nUPDATE b SET x = $4, y = $12 WHERE id = $3");
        let mut out = String::new();
        shift_placeholders(&mut out, "SELECT '$' || $1", 5);
        assert_eq!(out, "SELECT '$' || $6");
    }
}
