//! Bulk load of a whole registry batch (a demo or synthetic county): ids and paths are worked
//! out in memory, and the rows go in on a native connection of the engine, in one transaction:
//! large multi-row inserts on SQLite, `COPY` on PostgreSQL. The counters are computed from the
//! batch itself, which is always a whole new county.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, NaiveDate};

use serde::Serialize;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteConnection};
use sqlx::{Arguments, AssertSqlSafe, ConnectOptions, Connection, Row};
use wangge_core::area::{child_path, root_path};
use wangge_core::{Level, ResidenceStatus};
use wangge_demo::{Plan, ResidentSeed};

use crate::{Engine, Store, StoreError, StoreResult, now_text, stats};

/// What a bulk load wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub areas: usize,
    pub houses: usize,
    pub households: usize,
    pub residents: usize,
    pub memberships: usize,
    pub tags: usize,
    pub seconds: f64,
    /// Seconds spent on each table, and on the indexes and counters at the end.
    pub phases: Vec<(String, f64)>,
}

impl LoadReport {
    pub fn rows(&self) -> usize {
        self.areas + self.houses + self.households + self.residents + self.memberships + self.tags
    }
}

/// Bind parameters per SQLite statement, under its limit of 32,766.
const MAX_PARAMS: usize = 30_000;
/// SQLite's page cache for a load whose residents come in batches.
const BATCHES_CACHE_MIB: u32 = 256;
/// Bytes of `COPY` data sent to PostgreSQL at a time.
const COPY_CHUNK: usize = 1 << 20;

/// A connection of the engine's own driver: the bulk path skips the `Any` layer's conversions.
enum Native {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Native {
    /// `cache_mib`: SQLite's page cache; past it, the transaction's pages spill to the WAL.
    async fn open(url: &str, engine: Engine, cache_mib: u32) -> StoreResult<Native> {
        Ok(match engine {
            Engine::Sqlite => {
                // The batch's ids are consistent by construction: checking each reference row
                // by row would cost more than the insert.
                let opts = SqliteConnectOptions::from_str(url)?
                    .foreign_keys(false)
                    .pragma("cache_size", format!("-{}", cache_mib * 1024))
                    .pragma("threads", "2");
                Native::Sqlite(opts.connect().await?)
            }
            Engine::Postgres => {
                let mut conn = PgConnection::connect(url).await?;
                // Index builds sort in memory rather than in temporary files.
                sqlx::raw_sql("SET maintenance_work_mem = '1GB'").execute(&mut conn).await?;
                // Adding a foreign key back checks it with one join, whose hash table should
                // fit in memory.
                sqlx::raw_sql("SET work_mem = '256MB'").execute(&mut conn).await?;
                Native::Postgres(conn)
            }
        })
    }

    async fn exec(&mut self, sql: &str) -> StoreResult<()> {
        match self {
            Native::Sqlite(c) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(c).await?;
            }
            Native::Postgres(c) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(c).await?;
            }
        }
        Ok(())
    }

    async fn scalar(&mut self, sql: &str) -> StoreResult<i64> {
        Ok(match self {
            Native::Sqlite(c) => sqlx::query_scalar(AssertSqlSafe(sql.to_string())).fetch_one(c).await?,
            Native::Postgres(c) => sqlx::query_scalar(AssertSqlSafe(sql.to_string())).fetch_one(c).await?,
        })
    }

    async fn pairs(&mut self, sql: &str) -> StoreResult<Vec<(String, String)>> {
        Ok(match self {
            Native::Sqlite(c) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?,
            Native::Postgres(c) => sqlx::query(AssertSqlSafe(sql.to_string()))
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?,
        })
    }

    async fn next_id(&mut self, table: &str) -> StoreResult<i64> {
        Ok(self.scalar(&format!("SELECT COALESCE(max(id), 0) FROM {table}")).await? + 1)
    }

    /// Writes `count` rows of `columns` values each, plus `fixed` values shared by every row.
    async fn write_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        fixed: &[(&str, &str)],
        count: usize,
        row: impl Fn(usize, &mut RowOut<'_>),
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<()> {
        let names: Vec<&str> = columns.iter().copied().chain(fixed.iter().map(|(c, _)| *c)).collect();
        match self {
            Native::Sqlite(conn) => {
                let per = MAX_PARAMS / columns.len();
                // Shared values go in as literals, not as millions of parameters; plain `?`
                // are positional, where thousands of named `$n` would cost quadratic time.
                let literals: String = fixed.iter().map(|(_, v)| format!(", '{}'", v.replace('\'', "''"))).collect();
                let tuple = format!("({}{literals})", vec!["?"; columns.len()].join(", "));
                let head = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
                let build = |start: usize| {
                    let mut args = SqliteArguments::default();
                    args.reserve(per * columns.len(), 0);
                    let mut out = RowOut::Sqlite(&mut args);
                    for i in start..count.min(start + per) {
                        row(i, &mut out);
                    }
                    args
                };
                let full = format!("{head}{}", vec![tuple.as_str(); per].join(", "));
                let mut start = 0;
                let mut args = build(0);
                while start < count {
                    let n = per.min(count - start);
                    let text =
                        if n == per { full.clone() } else { format!("{head}{}", vec![tuple.as_str(); n].join(", ")) };
                    let q = sqlx::query_with(AssertSqlSafe(text), std::mem::take(&mut args));
                    // SQLite runs on its own worker thread: the next chunk's values are built
                    // here meanwhile (the yield lets the statement reach the worker first).
                    let next = async {
                        tokio::task::yield_now().await;
                        if start + n < count { build(start + n) } else { SqliteArguments::default() }
                    };
                    let (done, built) = tokio::join!(q.execute(&mut *conn), next);
                    done?;
                    args = built;
                    start += n;
                    progress(table, start);
                }
            }
            Native::Postgres(conn) => {
                let mut copy = conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", names.join(", "))).await?;
                let literals: String = fixed.iter().map(|(_, v)| format!("\t{}", copy_escape(v))).collect();
                let mut buf = String::with_capacity(COPY_CHUNK + 4096);
                for i in 0..count {
                    let mut out = RowOut::Copy { buf: &mut buf, first: true };
                    row(i, &mut out);
                    buf.push_str(&literals);
                    buf.push('\n');
                    if buf.len() >= COPY_CHUNK {
                        copy.send(buf.as_bytes()).await?;
                        buf.clear();
                        progress(table, i + 1);
                    }
                }
                if !buf.is_empty() {
                    copy.send(buf.as_bytes()).await?;
                }
                copy.finish().await?;
                progress(table, count);
            }
        }
        Ok(())
    }
}

/// Writes a house's or household's row: its index, code and address.
type RowFn<'a> = dyn Fn(usize, &str, &str, &mut RowOut<'_>) + Sync + 'a;

/// Where a row's values go: straight into the engine's own form, without a value enum between.
enum RowOut<'a> {
    Sqlite(&'a mut SqliteArguments),
    Copy { buf: &'a mut String, first: bool },
}

impl RowOut<'_> {
    fn sep(&mut self) {
        if let RowOut::Copy { buf, first } = self {
            if !*first {
                buf.push('\t');
            }
            *first = false;
        }
    }

    fn int(&mut self, v: i64) {
        self.sep();
        match self {
            RowOut::Sqlite(a) => add(a, v),
            RowOut::Copy { buf, .. } => {
                let _ = write!(buf, "{v}");
            }
        }
    }

    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn text(&mut self, v: &str) {
        self.sep();
        match self {
            RowOut::Sqlite(a) => add(a, v),
            RowOut::Copy { buf, .. } => buf.push_str(&copy_escape(v)),
        }
    }

    /// A value shared by many rows: SQLite takes a reference to it instead of a copy.
    fn shared(&mut self, v: &Arc<str>) {
        self.sep();
        match self {
            RowOut::Sqlite(a) => add(a, v.clone()),
            RowOut::Copy { buf, .. } => buf.push_str(&copy_escape(v)),
        }
    }

    fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    fn null(&mut self) {
        self.sep();
        match self {
            RowOut::Sqlite(a) => add(a, None::<i64>),
            RowOut::Copy { buf, .. } => buf.push_str("\\N"),
        }
    }
}

fn add<'q, T: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(args: &mut SqliteArguments, v: T) {
    // Encoding integers and text into SQLite's arguments cannot fail.
    args.add(v).expect("a plain value encodes");
}

/// What a resident's row stores of its phone and ID number besides the last 4 digits.
pub(crate) struct Personal {
    phone_sealed: Option<String>,
    phone_hash: Option<String>,
    id_sealed: String,
    id_hash: String,
}

fn last4(s: &str) -> &str {
    &s[s.len() - 4..]
}

/// `YYYY-MM-DD` without going through a formatter: a million birth dates add up.
fn iso_date(d: NaiveDate, buf: &mut [u8; 10]) -> &str {
    let (y, m, day) = (d.year().clamp(0, 9999) as u32, d.month(), d.day());
    for (k, v) in [
        (0, y / 1000),
        (1, y / 100 % 10),
        (2, y / 10 % 10),
        (3, y % 10),
        (5, m / 10),
        (6, m % 10),
        (8, day / 10),
        (9, day % 10),
    ] {
        buf[k] = b'0' + v as u8;
    }
    buf[4] = b'-';
    buf[7] = b'-';
    std::str::from_utf8(buf).expect("ASCII digits")
}

/// A value in PostgreSQL's `COPY` text format.
fn copy_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return s.into();
    }
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r").into()
}

const BULK_TABLES: [&str; 5] = ["houses", "households", "residents", "memberships", "resident_tags"];

/// Rows read while loading, a batch at a time; `None` at the end.
pub(crate) type Next<T> = Box<dyn FnMut() -> StoreResult<Option<T>> + Send>;

/// Residents with their sealed values.
pub(crate) type NextBatch = Next<(Vec<ResidentSeed>, Vec<Personal>)>;

/// Houses' or households' codes and addresses, in the order of the load's [`Layout`].
pub(crate) type NextPairs = Next<Vec<(String, String)>>;

/// Where each house and household of a load sits, by index: all that their rows' ids, the
/// residents' rows and the counters need of them, so that their own rows can come in batches.
pub(crate) struct Layout {
    /// Each house's unit (an index into the plan's areas).
    pub(crate) house_unit: Vec<u32>,
    /// Each household's house.
    pub(crate) household_house: Vec<u32>,
    /// Each household's head (an index into the residents).
    pub(crate) head: Vec<u32>,
}

impl Layout {
    fn of(plan: &Plan) -> Layout {
        Layout {
            house_unit: plan.houses.iter().map(|h| h.unit as u32).collect(),
            household_house: plan.households.iter().map(|h| h.house as u32).collect(),
            head: plan.households.iter().map(|h| h.head as u32).collect(),
        }
    }

    fn unit_of_house(&self, house: usize) -> usize {
        self.house_unit[house] as usize
    }

    fn unit_of_household(&self, household: usize) -> usize {
        self.unit_of_house(self.household_house[household] as usize)
    }
}

/// A load whose houses, households and residents come in batches (the plan holds only the
/// areas), so that they never all sit in memory.
pub(crate) struct Batches {
    pub(crate) layout: Layout,
    pub(crate) houses: NextPairs,
    pub(crate) households: NextPairs,
    pub(crate) residents: NextBatch,
}

/// Where a load's rows below the areas come from.
enum Source {
    /// The plan's own.
    Plan,
    Batches(Batches),
}

/// The next batch, read on a blocking thread while the one before it is written.
struct Reading<T>(Option<tokio::task::JoinHandle<ReadOut<T>>>);

/// A batch read, and where the next one comes from.
type ReadOut<T> = (Next<T>, StoreResult<Option<T>>);

impl<T: Send + 'static> Reading<T> {
    fn start(next: Next<T>) -> Reading<T> {
        Reading(Some(tokio::task::spawn_blocking(move || read_batch(next))))
    }

    /// The batch read so far; the one after it starts reading.
    async fn next(&mut self) -> StoreResult<Option<T>> {
        let Some(pending) = self.0.take() else { return Ok(None) };
        let (source, batch) = pending.await.map_err(|e| StoreError::Config(format!("reading failed: {e}")))?;
        let batch = batch?;
        if batch.is_some() {
            self.0 = Some(tokio::task::spawn_blocking(move || read_batch(source)));
        }
        Ok(batch)
    }
}

fn seal_all(store: &Store, residents: &[(Option<String>, String)]) -> Vec<Personal> {
    crate::crypto::par_map(residents, |(phone, id)| seal_one(store, phone.as_deref(), id))
}

fn seal_one(store: &Store, phone: Option<&str>, id: &str) -> Personal {
    Personal {
        phone_sealed: phone.map(|p| store.seal(p)),
        phone_hash: phone.map(|p| store.keyed_hash(p)),
        id_sealed: store.seal(id),
        id_hash: store.keyed_hash(id),
    }
}

/// Seals residents' phones and ID numbers on every core.
pub(crate) fn seal_seeds(store: &Store, residents: &[ResidentSeed]) -> Vec<Personal> {
    crate::crypto::par_map(residents, |r| seal_one(store, r.phone.as_deref(), &r.id_number))
}

fn read_batch<T>(mut next: Next<T>) -> ReadOut<T> {
    let out = next();
    (next, out)
}

/// Checked residents with their sealed values, spooled to a temporary file (deleted when
/// closed) between the pass that checks an import and the load, so that they never all sit in
/// memory and the load does not parse or seal them again.
pub(crate) struct SpoolWriter {
    out: std::io::BufWriter<std::fs::File>,
    buf: Vec<u8>,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn put_opt(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            buf.push(1);
            put_str(buf, s);
        }
        None => buf.push(0),
    }
}

impl SpoolWriter {
    pub(crate) fn new() -> std::io::Result<SpoolWriter> {
        Ok(SpoolWriter { out: std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?), buf: Vec::new() })
    }

    pub(crate) fn push(&mut self, r: &ResidentSeed, p: &Personal) -> std::io::Result<()> {
        use std::io::Write;
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(&(r.household as u64).to_le_bytes());
        b.extend_from_slice(&r.birth_date.num_days_from_ce().to_le_bytes());
        put_str(b, r.sex.as_str());
        put_str(b, r.status.as_str());
        put_str(b, r.relation);
        put_str(b, &r.name);
        put_opt(b, r.phone.as_deref());
        put_str(b, &r.id_number);
        b.extend_from_slice(&(r.tags.len() as u32).to_le_bytes());
        for t in &r.tags {
            put_str(b, t);
        }
        put_opt(b, p.phone_sealed.as_deref());
        put_opt(b, p.phone_hash.as_deref());
        put_str(b, &p.id_sealed);
        put_str(b, &p.id_hash);
        self.out.write_all(b)
    }

    /// A house's or household's code and address.
    pub(crate) fn push_pair(&mut self, code: &str, address: &str) -> std::io::Result<()> {
        use std::io::Write;
        let b = &mut self.buf;
        b.clear();
        put_str(b, code);
        put_str(b, address);
        self.out.write_all(b)
    }

    pub(crate) fn finish(self) -> std::io::Result<SpoolReader> {
        use std::io::Seek;
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(std::io::SeekFrom::Start(0))?;
        Ok(SpoolReader { input: std::io::BufReader::with_capacity(1 << 20, file) })
    }
}

pub(crate) struct SpoolReader {
    input: std::io::BufReader<std::fs::File>,
}

fn bad_spool(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("the import's spool holds a bad {what}"))
}

impl SpoolReader {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        std::io::Read::read_exact(&mut self.input, &mut b)?;
        Ok(b)
    }

    fn string(&mut self) -> std::io::Result<String> {
        let n = u32::from_le_bytes(self.bytes()?) as usize;
        let mut v = vec![0u8; n];
        std::io::Read::read_exact(&mut self.input, &mut v)?;
        String::from_utf8(v).map_err(|_| bad_spool("text"))
    }

    fn opt(&mut self) -> std::io::Result<Option<String>> {
        Ok(match self.bytes::<1>()?[0] {
            0 => None,
            _ => Some(self.string()?),
        })
    }

    /// The next `n` codes and addresses.
    pub(crate) fn read_pairs(&mut self, n: usize) -> std::io::Result<Vec<(String, String)>> {
        (0..n).map(|_| Ok((self.string()?, self.string()?))).collect()
    }

    /// The next `n` residents.
    pub(crate) fn read(&mut self, n: usize) -> std::io::Result<(Vec<ResidentSeed>, Vec<Personal>)> {
        let (mut seeds, mut personal) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let household = u64::from_le_bytes(self.bytes()?) as usize;
            let birth_date = NaiveDate::from_num_days_from_ce_opt(i32::from_le_bytes(self.bytes()?))
                .ok_or_else(|| bad_spool("date"))?;
            let sex = wangge_core::Sex::parse(&self.string()?).ok_or_else(|| bad_spool("sex"))?;
            let status = ResidenceStatus::parse(&self.string()?).ok_or_else(|| bad_spool("status"))?;
            let relation = self.string()?;
            let relation =
                crate::RELATIONS.iter().copied().find(|r| *r == relation).ok_or_else(|| bad_spool("relation"))?;
            let name = self.string()?;
            let phone = self.opt()?;
            let id_number = self.string()?;
            let tags = (0..u32::from_le_bytes(self.bytes()?))
                .map(|_| self.string().map(|t| crate::import::intern(&t)))
                .collect::<std::io::Result<_>>()?;
            seeds.push(ResidentSeed { household, name, sex, birth_date, phone, id_number, status, relation, tags });
            personal.push(Personal {
                phone_sealed: self.opt()?,
                phone_hash: self.opt()?,
                id_sealed: self.string()?,
                id_hash: self.string()?,
            });
        }
        Ok((seeds, personal))
    }
}

/// Seconds per phase; phases met again (one per batch) add up.
struct Phases {
    list: Vec<(String, f64)>,
    mark: Instant,
}

impl Phases {
    fn end(&mut self, name: &str) {
        let s = self.mark.elapsed().as_secs_f64();
        match self.list.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 += s,
            None => self.list.push((name.to_string(), s)),
        }
        self.mark = Instant::now();
    }
}

/// What every row of a load shares: first ids, and the areas' counties, grids and paths.
struct Ctx<'a> {
    layout: &'a Layout,
    area0: i64,
    household0: i64,
    resident0: i64,
    membership0: i64,
    tag0: i64,
    counties: Vec<i64>,
    grids: Vec<i64>,
    shared_paths: Vec<Arc<str>>,
    now: String,
    as_of: String,
}

impl Ctx<'_> {
    fn unit_of(&self, r: &ResidentSeed) -> usize {
        self.layout.unit_of_household(r.household)
    }
}

impl Native {
    /// Writes residents `first..` with their memberships and tags; returns the number of tags.
    #[allow(clippy::too_many_arguments)]
    async fn write_residents(
        &mut self,
        ctx: &Ctx<'_>,
        seeds: &[ResidentSeed],
        first: usize,
        tag_first: usize,
        sealing: impl std::future::Future<Output = StoreResult<Vec<Personal>>>,
        residents_last: bool,
        phases: &mut Phases,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<usize> {
        let progress = &mut |t: &str, n: usize| progress(t, n + if t == "resident_tags" { tag_first } else { first });
        let tags: Vec<(usize, &str)> =
            seeds.iter().enumerate().flat_map(|(i, r)| r.tags.iter().map(move |t| (i, *t))).collect();
        let mut sealing = Some(sealing);
        // The rows that do not wait for the sealing go first, while it finishes, where no
        // foreign key is checked during the load (SQLite's are off, PostgreSQL's dropped).
        for residents_now in if residents_last { [false, true] } else { [true, false] } {
            if residents_now {
                let personal = sealing.take().expect("sealed once").await?;
                phases.end("sealing (waited for)");
                self.write_rows(
                    "residents",
                    &[
                        "id",
                        "county_id",
                        "grid_id",
                        "unit_id",
                        "area_path",
                        "household_id",
                        "name",
                        "sex",
                        "birth_date",
                        "phone_sealed",
                        "phone_hash",
                        "phone_last4",
                        "id_number_sealed",
                        "id_number_hash",
                        "id_number_last4",
                        "status",
                    ],
                    &[("created_at", ctx.now.as_str()), ("updated_at", ctx.now.as_str())],
                    seeds.len(),
                    |i, out| {
                        let r = &seeds[i];
                        let p = &personal[i];
                        let unit = ctx.unit_of(r);
                        let mut date = [0u8; 10];
                        out.int(ctx.resident0 + (first + i) as i64);
                        out.int(ctx.counties[unit]);
                        out.int(ctx.grids[unit]);
                        out.int(ctx.area0 + unit as i64);
                        out.shared(&ctx.shared_paths[unit]);
                        out.int(ctx.household0 + r.household as i64);
                        out.text(&r.name);
                        out.text(r.sex.as_str());
                        out.text(iso_date(r.birth_date, &mut date));
                        out.opt_text(p.phone_sealed.as_deref());
                        out.opt_text(p.phone_hash.as_deref());
                        out.opt_text(r.phone.as_deref().map(last4));
                        out.text(&p.id_sealed);
                        out.text(&p.id_hash);
                        out.text(last4(&r.id_number));
                        out.text(r.status.as_str());
                    },
                    progress,
                )
                .await?;
                drop(personal);
                phases.end("residents");
            } else {
                self.write_rows(
                    "memberships",
                    &["id", "county_id", "resident_id", "household_id", "relation"],
                    &[("since", ctx.as_of.as_str())],
                    seeds.len(),
                    |i, out| {
                        let r = &seeds[i];
                        out.int(ctx.membership0 + (first + i) as i64);
                        out.int(ctx.counties[ctx.unit_of(r)]);
                        out.int(ctx.resident0 + (first + i) as i64);
                        out.int(ctx.household0 + r.household as i64);
                        out.text(r.relation);
                    },
                    progress,
                )
                .await?;
                phases.end("memberships");

                self.write_rows(
                    "resident_tags",
                    &["id", "county_id", "resident_id", "tag"],
                    &[("since", ctx.as_of.as_str())],
                    tags.len(),
                    |i, out| {
                        let (r, tag) = tags[i];
                        out.int(ctx.tag0 + (tag_first + i) as i64);
                        out.int(ctx.counties[0]);
                        out.int(ctx.resident0 + (first + r) as i64);
                        out.text(tag);
                    },
                    progress,
                )
                .await?;
                phases.end("resident_tags");
            }
        }
        Ok(tags.len())
    }
}

impl Store {
    /// Loads a plan (a whole new county) into the store in one transaction.
    /// `progress` hears `(table, rows so far)`.
    pub async fn load_plan(
        &self,
        plan: &Plan,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<LoadReport> {
        self.load(plan, Source::Plan, progress).await
    }

    /// Loads a plan's areas, and houses, households and residents that come a batch at a time
    /// (each read on a blocking thread while the batch before it is written); the plan's own
    /// are ignored.
    pub(crate) async fn load_plan_batches(
        &self,
        plan: &Plan,
        batches: Batches,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<LoadReport> {
        self.load(plan, Source::Batches(batches), progress).await
    }

    async fn load(
        &self,
        plan: &Plan,
        source: Source,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<LoadReport> {
        if plan.areas.first().is_none_or(|a| a.parent.is_some()) {
            return Err(StoreError::invalid("plan", "not_a_county", "a bulk load starts with a new county"));
        }
        // Residents read in batches promise bounded memory: a smaller cache than a plan's,
        // which is in memory anyway.
        let cache_mib = match source {
            Source::Plan => 1024,
            Source::Batches(_) => BATCHES_CACHE_MIB,
        };
        let mut conn = Native::open(&self.url, self.engine, cache_mib).await?;
        conn.exec(match self.engine {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        })
        .await?;
        match self.load_plan_in(&mut conn, plan, source, progress).await {
            Ok(mut report) => {
                // The commit writes and syncs the whole batch: part of the load's time.
                let t = Instant::now();
                conn.exec("COMMIT").await?;
                let commit = t.elapsed().as_secs_f64();
                report.phases.push(("commit".into(), commit));
                report.seconds += commit;
                Ok(report)
            }
            Err(e) => {
                let _ = conn.exec("ROLLBACK").await;
                Err(e)
            }
        }
    }

    async fn load_plan_in(
        &self,
        conn: &mut Native,
        plan: &Plan,
        source: Source,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<LoadReport> {
        let started = Instant::now();
        // The residents' sealed values and keyed hashes, the costliest part of their rows, are
        // worked out on every core while the tables before them load.
        let store = self.clone();
        let (layout, mut sealing, mut batches) = match source {
            Source::Plan => {
                let inputs: Vec<(Option<String>, String)> =
                    plan.residents.iter().map(|r| (r.phone.clone(), r.id_number.clone())).collect();
                (Layout::of(plan), Some(tokio::task::spawn_blocking(move || seal_all(&store, &inputs))), None)
            }
            Source::Batches(b) => (
                b.layout,
                None,
                Some((Reading::start(b.houses), Reading::start(b.households), Reading::start(b.residents))),
            ),
        };
        let mut phases = Phases { list: Vec::new(), mark: Instant::now() };
        let now = now_text();
        let as_of = plan.as_of.format("%Y-%m-%d").to_string();
        // Into empty tables, building each index once at the end beats updating it row by row.
        let mut empty = true;
        for t in BULK_TABLES {
            empty &= conn.scalar(&format!("SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT 1) x")).await? == 0;
        }
        let list = BULK_TABLES.map(|t| format!("'{t}'")).join(", ");
        let dropped = if empty {
            let indexes = conn
                .pairs(&match self.engine {
                    Engine::Sqlite => format!(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({list})"
                    ),
                    Engine::Postgres => format!(
                        "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' \
                         AND tablename IN ({list}) AND indexname NOT LIKE '%_pkey'"
                    ),
                })
                .await?;
            for (name, _) in &indexes {
                conn.exec(&format!("DROP INDEX {name}")).await?;
            }
            let mut rebuild = indexes;
            if self.engine == Engine::Postgres {
                // PostgreSQL checks foreign keys row by row with triggers; adding them back
                // afterwards validates each in one pass.
                let fks = conn
                    .pairs(&format!(
                        "SELECT conrelid::regclass::text, 'ALTER TABLE ' || conrelid::regclass::text || \
                         ' ADD CONSTRAINT ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
                         WHERE contype = 'f' AND conrelid::regclass::text IN ({list}, 'area_stats')"
                    ))
                    .await?;
                for (table, add) in fks {
                    let name =
                        add.split(" ADD CONSTRAINT ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or_default();
                    conn.exec(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}")).await?;
                    rebuild.push((name.to_string(), add));
                }
            }
            rebuild
        } else {
            Vec::new()
        };

        let area0 = conn.next_id("areas").await?;
        let house0 = conn.next_id("houses").await?;
        let household0 = conn.next_id("households").await?;
        let resident0 = conn.next_id("residents").await?;
        let membership0 = conn.next_id("memberships").await?;
        let tag0 = conn.next_id("resident_tags").await?;

        // Paths, counties and grids of the areas, parents first.
        let mut paths: Vec<String> = Vec::with_capacity(plan.areas.len());
        let mut counties: Vec<i64> = Vec::with_capacity(plan.areas.len());
        let mut grids: Vec<i64> = Vec::with_capacity(plan.areas.len());
        for (i, a) in plan.areas.iter().enumerate() {
            let id = area0 + i as i64;
            let (path, county) = match a.parent {
                Some(p) => (child_path(&paths[p], id), counties[p]),
                None => (root_path(id), id),
            };
            paths.push(path);
            counties.push(county);
            grids.push(match (a.level, a.parent) {
                (Level::Grid, _) => id,
                (_, Some(p)) => grids[p],
                _ => 0,
            });
        }
        // Each unit's path, shared by all the rows below it rather than copied into each.
        let shared_paths: Vec<Arc<str>> = paths.iter().map(|p| Arc::from(p.as_str())).collect();
        conn.write_rows(
            "areas",
            &["id", "county_id", "parent_id", "level", "kind", "code", "name", "path", "depth", "boundary"],
            &[("valid_from", as_of.as_str()), ("created_at", now.as_str()), ("updated_at", now.as_str())],
            plan.areas.len(),
            |i, out| {
                let a = &plan.areas[i];
                out.int(area0 + i as i64);
                out.int(counties[i]);
                out.opt_int(a.parent.map(|p| area0 + p as i64));
                out.text(a.level.as_str());
                out.text(a.kind.as_str());
                out.text(&a.code);
                out.text(&a.name);
                out.shared(&shared_paths[i]);
                out.int(a.level.depth() as i64);
                out.opt_text(a.boundary.as_deref());
            },
            progress,
        )
        .await?;
        phases.end("areas");

        let house_columns = ["id", "county_id", "grid_id", "unit_id", "area_path", "code", "address"];
        let stamps = [("created_at", now.as_str()), ("updated_at", now.as_str())];
        let house_row = |i: usize, code: &str, address: &str, out: &mut RowOut<'_>| {
            let unit = layout.unit_of_house(i);
            out.int(house0 + i as i64);
            out.int(counties[unit]);
            out.int(grids[unit]);
            out.int(area0 + unit as i64);
            out.shared(&shared_paths[unit]);
            out.text(code);
            out.text(address);
        };
        let household_columns =
            ["id", "county_id", "grid_id", "unit_id", "area_path", "house_id", "code", "address", "head_resident_id"];
        let household_row = |i: usize, code: &str, address: &str, out: &mut RowOut<'_>| {
            let unit = layout.unit_of_household(i);
            out.int(household0 + i as i64);
            out.int(counties[unit]);
            out.int(grids[unit]);
            out.int(area0 + unit as i64);
            out.shared(&shared_paths[unit]);
            out.int(house0 + i64::from(layout.household_house[i]));
            out.text(code);
            out.text(address);
            out.int(resident0 + i64::from(layout.head[i]));
        };
        match &mut batches {
            None => {
                conn.write_rows(
                    "houses",
                    &house_columns,
                    &stamps,
                    plan.houses.len(),
                    |i, out| house_row(i, &plan.houses[i].code, &plan.houses[i].address, out),
                    progress,
                )
                .await?;
                phases.end("houses");
                conn.write_rows(
                    "households",
                    &household_columns,
                    &stamps,
                    plan.households.len(),
                    |i, out| household_row(i, &plan.households[i].code, &plan.households[i].address, out),
                    progress,
                )
                .await?;
                phases.end("households");
            }
            Some((houses, households, _)) => {
                for (table, columns, reading, expected, row) in [
                    ("houses", &house_columns[..], houses, layout.house_unit.len(), &house_row as &RowFn),
                    ("households", &household_columns[..], households, layout.household_house.len(), &household_row),
                ] {
                    let mut first = 0;
                    while let Some(rows) = reading.next().await? {
                        let progress = &mut |t: &str, n: usize| progress(t, first + n);
                        let write = |i: usize, out: &mut RowOut<'_>| row(first + i, &rows[i].0, &rows[i].1, out);
                        conn.write_rows(table, columns, &stamps, rows.len(), write, progress).await?;
                        first += rows.len();
                    }
                    if first != expected {
                        return Err(StoreError::Config(format!("the load read {first} {table}, not {expected}")));
                    }
                    phases.end(table);
                }
            }
        }

        let ctx = Ctx {
            layout: &layout,
            area0,
            household0,
            resident0,
            membership0,
            tag0,
            counties,
            grids,
            shared_paths,
            now: now.clone(),
            as_of: as_of.clone(),
        };
        let residents_last = empty || self.engine == Engine::Sqlite;
        let mut per_unit = Counters::default();
        let (mut loaded, mut tag_count) = (0, 0);
        if let Some(sealing) = sealing.take() {
            let sealed = async { sealing.await.map_err(|e| StoreError::Config(format!("sealing failed: {e}"))) };
            tag_count = conn
                .write_residents(&ctx, &plan.residents, 0, 0, sealed, residents_last, &mut phases, progress)
                .await?;
            count_residents(&layout, &plan.residents, &mut per_unit);
            loaded = plan.residents.len();
        }
        if let Some((_, _, residents)) = &mut batches {
            loop {
                let batch = residents.next().await?;
                phases.end("reading (waited for)");
                let Some((seeds, personal)) = batch else { break };
                tag_count += conn
                    .write_residents(
                        &ctx,
                        &seeds,
                        loaded,
                        tag_count,
                        async { Ok(personal) },
                        residents_last,
                        &mut phases,
                        progress,
                    )
                    .await?;
                count_residents(&layout, &seeds, &mut per_unit);
                loaded += seeds.len();
            }
        }

        progress("area_stats", 0);
        let (names, rows) = plan_stats(plan, &layout, per_unit).into_rows();
        conn.write_rows(
            "area_stats",
            &["area_id", "metric", "value"],
            &[],
            rows.len(),
            |i, out| {
                let (a, m, v) = rows[i];
                out.int(area0 + i64::from(a));
                out.text(names[m as usize]);
                out.int(v);
            },
            progress,
        )
        .await?;
        // Not held through the index builds, where the load's memory peaks.
        drop(rows);
        phases.end("area_stats");
        if batches.is_some() && self.engine == Engine::Sqlite {
            // Each of SQLite's sorting threads holds a buffer of up to the cache's size; with
            // two, an index of millions of keys held three at once (768 MiB at 8M residents).
            // One sorter on this thread keeps a batched load's memory bounded.
            conn.exec("PRAGMA threads = 0").await?;
        }
        for (_, sql) in &dropped {
            conn.exec(sql).await?;
        }
        phases.end("indexes and keys");
        if self.engine == Engine::Sqlite {
            // The planner's statistics, sampled: taken on the empty tables, they would still
            // describe them as empty.
            conn.exec(&format!("PRAGMA analysis_limit = 400; ANALYZE; {}", crate::RELOAD_STATISTICS)).await?;
            phases.end("statistics");
        }
        if self.engine == Engine::Postgres {
            // Explicit ids leave the identity sequences behind; move them past the new rows.
            for table in ["areas", "houses", "households", "residents", "memberships", "resident_tags"] {
                conn.exec(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 1) FROM {table}))"
                ))
                .await?;
            }
            // Without statistics the planner takes the new millions of rows for a few pages
            // and reads whole tables for a page of a list; autovacuum would come only later.
            conn.exec(&format!("ANALYZE areas, area_stats, {}", BULK_TABLES.join(", "))).await?;
            phases.end("statistics");
        }
        Ok(LoadReport {
            areas: plan.areas.len(),
            houses: layout.house_unit.len(),
            households: layout.household_house.len(),
            residents: loaded,
            memberships: loaded,
            tags: tag_count,
            seconds: started.elapsed().as_secs_f64(),
            phases: phases.list,
        })
    }
}

/// Counters by area index and metric. A county of millions has a million counters or more, so
/// each is 16 bytes in one table, its metric a number standing for a name made once
/// (`status:…`, `tag:…`).
#[derive(Default)]
struct Counters {
    names: Vec<&'static str>,
    ids: HashMap<&'static str, u32>,
    values: HashMap<(u32, u32), i64>,
}

impl Counters {
    fn id(&mut self, metric: &'static str) -> u32 {
        let names = &mut self.names;
        *self.ids.entry(metric).or_insert_with(|| {
            names.push(metric);
            u32::try_from(names.len() - 1).expect("fewer metrics than u32::MAX")
        })
    }

    fn add_id(&mut self, area: usize, metric: u32, by: i64) {
        let area = u32::try_from(area).expect("fewer areas than u32::MAX");
        *self.values.entry((area, metric)).or_insert(0) += by;
    }

    /// `(area, metric, value)` in the order of area and metric, the table given up.
    fn into_rows(self) -> (Vec<&'static str>, Vec<(u32, u32, i64)>) {
        let mut rows: Vec<(u32, u32, i64)> = self.values.into_iter().map(|((a, m), v)| (a, m, v)).collect();
        rows.sort_unstable();
        (self.names, rows)
    }
}

fn metric(prefix: &str, name: &str) -> &'static str {
    crate::import::intern(&format!("{prefix}{name}"))
}

/// Adds residents' counters to their units'.
fn count_residents(layout: &Layout, residents: &[ResidentSeed], per_unit: &mut Counters) {
    let residents_id = per_unit.id(stats::RESIDENTS);
    let statuses = ResidenceStatus::ALL.map(|s| (s, per_unit.id(metric("status:", s.as_str()))));
    let mut tags: HashMap<&'static str, u32> = HashMap::new();
    for r in residents {
        let unit = layout.unit_of_household(r.household);
        per_unit.add_id(unit, residents_id, 1);
        if let Some((_, status)) = statuses.iter().find(|(s, _)| *s == r.status) {
            per_unit.add_id(unit, *status, 1);
        }
        for t in &r.tags {
            let id = match tags.get(t) {
                Some(id) => *id,
                None => {
                    let id = per_unit.id(metric("tag:", t));
                    tags.insert(t, id);
                    id
                }
            };
            per_unit.add_id(unit, id, 1);
        }
    }
}

/// The counters of every area of a plan, by the same rules as [`stats`] counts stored rows;
/// the residents' come counted by unit.
fn plan_stats(plan: &Plan, layout: &Layout, mut per_unit: Counters) -> Counters {
    let (households, houses, empty) =
        (per_unit.id(stats::HOUSEHOLDS), per_unit.id(stats::HOUSES), per_unit.id(stats::HOUSES_EMPTY));
    let mut occupied = vec![false; layout.house_unit.len()];
    for &house in &layout.household_house {
        occupied[house as usize] = true;
        per_unit.add_id(layout.unit_of_house(house as usize), households, 1);
    }
    for (i, unit) in layout.house_unit.iter().enumerate() {
        per_unit.add_id(*unit as usize, houses, 1);
        if !occupied[i] {
            per_unit.add_id(*unit as usize, empty, 1);
        }
    }
    let Counters { names, ids, values } = per_unit;
    let mut out = Counters { names, ids, values: HashMap::with_capacity(values.len()) };
    for ((unit, m), v) in values {
        let mut area = Some(unit as usize);
        while let Some(a) = area {
            out.add_id(a, m, v);
            area = plan.areas[a].parent;
        }
    }
    out
}
