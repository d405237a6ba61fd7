//! A small builder for SQL with `$n` placeholders, which both engines accept.

use std::fmt::Write;

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Any, AssertSqlSafe, FromRow};

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Text(Option<String>),
}

impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::F64(v)
    }
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
                Arg::F64(v) => q.bind(*v),
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
                Arg::F64(v) => q.bind(*v),
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
/// statement with parameters at a time, they go one by one. Either way they are first made
/// fewer: a case's row written again replaces the write before it, the deadline jobs of a case
/// made in this work are dropped rather than cancelled, and rows for the same table and columns
/// go as one `INSERT` (kept writes add rows that refer to rows written before, never to each
/// other, so a row may move up past writes to other tables).
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    writes: Vec<(Kept, Sql)>,
    /// A case made in this work: it has no deadline jobs but those kept here.
    fresh: Option<i64>,
}

/// What a kept write is, where that lets it be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    Other,
    /// The whole row of a case.
    Row(i64),
    /// A deadline job of a case.
    Job(i64),
}

impl Deferred {
    /// Writes kept for the work that makes the case `id`.
    pub fn for_new_case(id: i64) -> Deferred {
        Deferred { writes: Vec::new(), fresh: Some(id) }
    }

    pub fn push(&mut self, sql: Sql) {
        self.writes.push((Kept::Other, sql));
    }

    /// The whole row of case `id`; the row kept before it is read by none of the writes.
    pub fn push_row(&mut self, id: i64, sql: Sql) {
        self.writes.retain(|(k, _)| *k != Kept::Row(id));
        self.writes.push((Kept::Row(id), sql));
    }

    /// Puts the insert of case `id`'s whole row first, in place of every write of its row kept
    /// so far: a case made in this work is then written once.
    pub fn lead_with_row(&mut self, id: i64, insert: Sql) {
        self.writes.retain(|(k, _)| *k != Kept::Row(id));
        self.writes.insert(0, (Kept::Other, insert));
    }

    pub fn push_job(&mut self, id: i64, sql: Sql) {
        self.writes.push((Kept::Job(id), sql));
    }

    /// Drops the deadline jobs kept for case `id`, when it is the case made in this work and
    /// so has no others: what cancelling its open jobs would do. False when it is not.
    pub fn drop_jobs(&mut self, id: i64) -> bool {
        if self.fresh != Some(id) {
            return false;
        }
        self.writes.retain(|(k, _)| *k != Kept::Job(id));
        true
    }

    /// The writes kept, as few statements as they can be.
    fn statements(self) -> Vec<Sql> {
        let mut out: Vec<Sql> = Vec::new();
        for (_, w) in self.writes {
            if let Some(head) = insert_head(&w.text) {
                let table = &head["INSERT INTO ".len()..head.find(" (").unwrap_or(head.len())];
                // The last statement that touches the table, if it inserts the same columns.
                if let Some(last) = out.iter_mut().rev().find(|o| o.text.contains(table))
                    && insert_head(&last.text) == Some(head)
                {
                    last.text.push_str(", ");
                    shift_placeholders(&mut last.text, &w.text[head.len()..], last.args.len());
                    last.args.extend(w.args);
                    continue;
                }
            }
            out.push(w);
        }
        out
    }

    /// Every write kept as one multi-statement text (SQLite only: PostgreSQL takes one
    /// statement with parameters at a time); `None` when nothing was kept.
    pub fn joined(self) -> Option<Sql> {
        let mut all = Sql::default();
        for w in self.statements() {
            if !all.text.is_empty() {
                all.text.push_str(";\n");
            }
            shift_placeholders(&mut all.text, &w.text, all.args.len());
            all.args.extend(w.args);
        }
        (!all.text.is_empty()).then_some(all)
    }

    /// Every write kept as PostgreSQL statements, as few as they can be.
    pub fn postgres_statements(self) -> Vec<Sql> {
        as_one_statement(self.statements())
    }

    /// Sends every write kept, in the order they were made.
    pub async fn flush(&mut self, conn: &mut sqlx::AnyConnection, engine: crate::Engine) -> crate::StoreResult<()> {
        let kept = std::mem::take(self);
        if engine == crate::Engine::Postgres {
            for w in as_one_statement(kept.statements()) {
                w.query().execute(&mut *conn).await?;
            }
            return Ok(());
        }
        if let Some(all) = kept.joined() {
            all.query().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// PostgreSQL takes one statement with parameters a round trip: here consecutive writes go as
/// one data-modifying `WITH` where that does what sending them in order would. The parts of
/// such a statement run in no set order and each sees the rows as they were before it, so a
/// part joins only when no part of its statement writes the same table (rows of one table keep
/// their order) and it reads no other table: a plain `INSERT … VALUES`, or an `UPDATE` or
/// `DELETE` without a sub-select. Any other write goes alone.
fn as_one_statement(writes: Vec<Sql>) -> Vec<Sql> {
    let target = |text: &str| -> Option<String> {
        if text.contains("RETURNING") || text.contains("SELECT") {
            return None;
        }
        let rest = ["INSERT INTO ", "UPDATE ", "DELETE FROM "].iter().find_map(|k| text.strip_prefix(k))?;
        if text.starts_with("INSERT") && insert_head(text).is_none() {
            return None;
        }
        Some(rest.split([' ', '(']).next()?.to_string())
    };
    let mut groups: Vec<(Vec<String>, Vec<Sql>)> = Vec::new();
    for w in writes {
        match target(&w.text) {
            Some(t) if groups.last().is_some_and(|(ts, _)| !ts.is_empty() && !ts.contains(&t)) => {
                let (ts, ws) = groups.last_mut().expect("just checked");
                ts.push(t);
                ws.push(w);
            }
            Some(t) => groups.push((vec![t], vec![w])),
            None => groups.push((Vec::new(), vec![w])),
        }
    }
    groups.into_iter().map(|(_, ws)| with_parts(ws)).collect()
}

/// `WITH w0 AS (first), … last`; the one write itself when alone.
fn with_parts(mut writes: Vec<Sql>) -> Sql {
    if writes.len() == 1 {
        return writes.pop().expect("one write");
    }
    let mut all = Sql::new("WITH ");
    let last = writes.len() - 1;
    for (i, w) in writes.into_iter().enumerate() {
        if i == last {
            all.text.push(' ');
        } else {
            let _ = write!(all.text, "{}w{i} AS (", if i == 0 { "" } else { ", " });
        }
        shift_placeholders(&mut all.text, &w.text, all.args.len());
        all.args.extend(w.args);
        if i != last {
            all.text.push(')');
        }
    }
    all
}

/// `INSERT INTO t (columns) VALUES ` of an insert of one row with nothing after the row;
/// `None` for any other statement.
fn insert_head(text: &str) -> Option<&str> {
    if !text.starts_with("INSERT INTO ") || !text.ends_with(')') {
        return None;
    }
    let end = text.find(") VALUES (")? + ") VALUES ".len();
    let row = &text[end..];
    let plain = !row.contains("RETURNING") && !row.contains("SELECT") && !row.contains("ON CONFLICT");
    plain.then_some(&text[..end])
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

    fn insert(table: &str, a: i64, b: &str) -> Sql {
        let mut sql = Sql::new(&format!("INSERT INTO {table} (a, b) VALUES ("));
        sql.bind(a).push(", ").bind(b).push(")");
        sql
    }

    fn texts(d: Deferred) -> Vec<(String, usize)> {
        d.statements().into_iter().map(|s| (s.text, s.args.len())).collect()
    }

    #[test]
    fn rows_for_one_table_go_as_one_insert_unless_a_write_between_touches_it() {
        let mut d = Deferred::default();
        d.push(insert("case_events", 1, "x"));
        d.push(insert("audit_log", 2, "y"));
        d.push(insert("case_events", 3, "z"));
        d.push(Sql::new("UPDATE audit_log SET a = 0"));
        d.push(insert("audit_log", 4, "w"));
        let mut returning = insert("case_events", 5, "v");
        returning.push(" RETURNING id");
        d.push(returning);
        assert_eq!(
            texts(d),
            vec![
                ("INSERT INTO case_events (a, b) VALUES ($1, $2), ($3, $4)".to_string(), 4),
                ("INSERT INTO audit_log (a, b) VALUES ($1, $2)".to_string(), 2),
                ("UPDATE audit_log SET a = 0".to_string(), 0),
                ("INSERT INTO audit_log (a, b) VALUES ($1, $2)".to_string(), 2),
                ("INSERT INTO case_events (a, b) VALUES ($1, $2) RETURNING id".to_string(), 2),
            ]
        );
    }

    #[test]
    fn writes_go_as_one_statement_on_postgres_only_where_no_part_reads_or_repeats_what_another_writes() {
        let update = |table: &str| {
            let mut sql = Sql::new(&format!("UPDATE {table} SET a = "));
            sql.bind(1).push(" WHERE id = ").bind(2);
            sql
        };
        let texts = |w: Vec<Sql>| as_one_statement(w).into_iter().map(|s| s.text).collect::<Vec<_>>();
        let one = as_one_statement(vec![insert("case_events", 1, "x"), update("cases"), insert("inbox_items", 3, "y")]);
        assert_eq!(one.len(), 1);
        assert_eq!(
            one[0].text,
            "WITH w0 AS (INSERT INTO case_events (a, b) VALUES ($1, $2)), w1 AS (UPDATE cases SET a = $3 WHERE id = $4) \
             INSERT INTO inbox_items (a, b) VALUES ($5, $6)"
        );
        assert_eq!(one[0].args.len(), 6);
        // A table written again starts the next statement, so that its rows keep their order
        // and an update sees the rows inserted before it.
        assert_eq!(
            texts(vec![insert("case_events", 1, "x"), insert("audit_events", 2, "y"), insert("case_events", 3, "z")]),
            [
                "WITH w0 AS (INSERT INTO case_events (a, b) VALUES ($1, $2)) INSERT INTO audit_events (a, b) VALUES ($3, $4)",
                "INSERT INTO case_events (a, b) VALUES ($1, $2)",
            ]
        );
        assert_eq!(texts(vec![insert("cases", 1, "x"), update("cases")]).len(), 2);
        // A sub-select or a RETURNING goes alone, and splits the writes around it.
        for alone in [
            Sql::new("UPDATE cases SET a = (SELECT max(a) FROM case_events)"),
            Sql::new("INSERT INTO cases (a) SELECT a FROM case_events"),
            Sql::new("INSERT INTO jobs (a) VALUES (1) RETURNING id"),
            Sql::new("INSERT INTO jobs (a) VALUES (1) ON CONFLICT DO NOTHING"),
        ] {
            let text = alone.text.clone();
            let out = texts(vec![insert("case_events", 1, "x"), alone, update("inbox_items")]);
            assert_eq!(out.len(), 3, "{out:?}");
            assert_eq!(out[1], text);
        }
        assert_eq!(texts(vec![update("cases")]), ["UPDATE cases SET a = $1 WHERE id = $2"]);
    }

    #[test]
    fn a_row_written_again_and_a_new_cases_jobs_are_dropped() {
        let row = |state: &str| {
            let mut sql = Sql::new("UPDATE cases SET state = ");
            sql.bind(state).push(" WHERE id = ").bind(7);
            sql
        };
        let mut d = Deferred::for_new_case(7);
        d.push_row(7, row("accepted"));
        d.push_job(7, insert("case_jobs", 7, "remind"));
        d.push_row(8, row("other"));
        assert!(d.drop_jobs(7), "the case made here has no other jobs");
        assert!(!d.drop_jobs(8), "another case's jobs are cancelled, not dropped");
        d.push_job(7, insert("case_jobs", 7, "escalate"));
        d.push_row(7, row("dispatched"));
        let out = d.statements();
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(
            out[0].text.starts_with("UPDATE cases") && matches!(&out[0].args[0], Arg::Text(Some(s)) if s == "other")
        );
        assert!(matches!(&out[1].args[1], Arg::Text(Some(s)) if s == "escalate"), "{out:?}");
        assert!(matches!(&out[2].args[0], Arg::Text(Some(s)) if s == "dispatched"), "{out:?}");
    }
}
