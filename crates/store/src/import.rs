//! Import of the registry from spreadsheets. Every row is parsed and checked (codes against
//! their parents, ID numbers, dates, known areas and tags, duplicates inside the file, records
//! outside the caller's scope) before anything is written; then, unless the caller asked for a
//! dry run or errors were found, everything is written in one transaction. Rows that match a
//! stored record (areas and houses and households by code, residents by ID number) update it
//! and say what changed, so importing the same file twice changes nothing the second time.
//!
//! A file that brings a whole new county goes through the bulk loader instead
//! ([`Store::load_plan`]), which is what makes a county of a million residents load in seconds.

mod posts;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use wangge_core::area::{child_path, root_path};
use wangge_core::registry::valid_phone;
use wangge_core::{AreaKind, Caller, CodeWidths, IdNumber, Level, Permission, ResidenceStatus, Scope, Sex};

use crate::areas::{check_geometry, checked_name};
use crate::sql::Sql;
use crate::template::{SheetKind, column_of};
use crate::{RELATIONS, Store, StoreError, StoreResult, audit, now_text, stats, today_text};

/// One sheet of a file: its kind, its name (for the report), its header and its rows with
/// their spreadsheet row numbers (the header is row 1).
#[derive(Debug, Clone)]
pub struct ImportSheet {
    pub kind: SheetKind,
    pub name: String,
    pub header: Vec<String>,
    pub rows: SheetRows,
}

/// A sheet's rows, each with its spreadsheet row number.
pub type Rows = Box<dyn Iterator<Item = std::io::Result<(u32, Vec<String>)>> + Send>;

/// Rows that stay in their file, read from the start each time they are needed.
pub trait RowSource: Send + Sync {
    fn rows(&self) -> std::io::Result<Rows>;
}

/// The rows of a sheet: in memory, or read from a file (a new county's houses, households and
/// residents then never sit in memory whole: the import reads them once, a batch at a time).
#[derive(Clone)]
pub enum SheetRows {
    Memory(Vec<(u32, Vec<String>)>),
    File { source: Arc<dyn RowSource>, count: usize },
}

impl std::fmt::Debug for SheetRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SheetRows::Memory(rows) => f.debug_tuple("Memory").field(&rows.len()).finish(),
            SheetRows::File { count, .. } => f.debug_struct("File").field("count", count).finish(),
        }
    }
}

impl SheetRows {
    pub fn len(&self) -> usize {
        match self {
            SheetRows::Memory(rows) => rows.len(),
            SheetRows::File { count, .. } => *count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows, read into memory if they are in a file.
    pub fn into_memory(self) -> StoreResult<Vec<(u32, Vec<String>)>> {
        match self {
            SheetRows::Memory(rows) => Ok(rows),
            SheetRows::File { source, .. } => source.rows().and_then(|r| r.collect()).map_err(file_err),
        }
    }
}

/// The rows of a batch, each with its spreadsheet row number.
type Chunk = Vec<(u32, Vec<String>)>;

/// A sheet's rows a batch at a time. A file's next batch is read on a blocking thread while the
/// one before it is checked: reading CSV is a third of the checking's work.
enum Batched<'a> {
    Memory(std::slice::Chunks<'a, (u32, Vec<String>)>),
    File(Option<tokio::task::JoinHandle<(Rows, std::io::Result<Chunk>)>>, usize),
}

impl Batched<'_> {
    fn new(rows: &SheetRows, n: usize) -> StoreResult<Batched<'_>> {
        Ok(match rows {
            SheetRows::Memory(rows) => Batched::Memory(rows.chunks(n)),
            SheetRows::File { source, .. } => {
                let rows = source.rows().map_err(file_err)?;
                Batched::File(Some(tokio::task::spawn_blocking(move || read_chunk(rows, n))), n)
            }
        })
    }

    /// The next batch; empty at the end.
    async fn next(&mut self) -> StoreResult<Chunk> {
        match self {
            Batched::Memory(chunks) => Ok(chunks.next().map(<[_]>::to_vec).unwrap_or_default()),
            Batched::File(pending, n) => {
                let Some(reading) = pending.take() else { return Ok(Vec::new()) };
                let (rows, chunk) = reading.await.map_err(|e| StoreError::Config(format!("reading failed: {e}")))?;
                let chunk = chunk.map_err(file_err)?;
                if !chunk.is_empty() {
                    let n = *n;
                    *pending = Some(tokio::task::spawn_blocking(move || read_chunk(rows, n)));
                }
                Ok(chunk)
            }
        }
    }
}

fn read_chunk(mut rows: Rows, n: usize) -> (Rows, std::io::Result<Chunk>) {
    let chunk = rows.by_ref().take(n).collect();
    (rows, chunk)
}

fn spool_err(e: std::io::Error) -> StoreError {
    StoreError::Config(format!("the import's temporary file: {e}"))
}

fn file_err(e: std::io::Error) -> StoreError {
    StoreError::invalid("file", "unreadable_file", format!("reading the file: {e}"))
}

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Write the rows without errors even when other rows have some.
    pub good_rows_only: bool,
    /// Rows read, checked and loaded at a time from a sheet whose rows stay in their file.
    pub batch_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { dry_run: false, good_rows_only: false, batch_rows: BATCH }
    }
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    pub sheet: String,
    /// The spreadsheet's row number (the header is row 1); 1 for a problem with the header.
    pub row: u32,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// What an import did (or, in a dry run, would do) with one row that changes something.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowChange {
    pub sheet: String,
    pub row: u32,
    /// The record's key: a code, or a masked ID number.
    pub key: String,
    /// `update`
    pub action: String,
    /// `field: old → new` for each changed field; personal numbers masked.
    pub changes: Vec<String>,
}

/// Counts of one kind of record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KindCounts {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Whether anything was written.
    pub written: bool,
    /// Whether the bulk loader wrote a whole new county.
    pub bulk: bool,
    pub counts: BTreeMap<String, KindCounts>,
    pub errors: Vec<RowError>,
    /// The updates, each with what changed (at most [`MAX_LISTED_CHANGES`]).
    pub changes: Vec<RowChange>,
    pub seconds: f64,
}

/// Updates listed one by one in a report; the counts cover the rest.
pub const MAX_LISTED_CHANGES: usize = 10_000;

impl ImportReport {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

// ---------------------------------------------------------------- parsed rows

#[derive(Debug, Clone)]
struct AreaRow {
    row: u32,
    code: String,
    level: Level,
    name: String,
    kind: Option<AreaKind>,
    valid_from: Option<String>,
    boundary: Option<String>,
}

#[derive(Debug, Clone)]
struct HouseRow {
    row: u32,
    code: String,
    address: String,
}

#[derive(Debug, Clone)]
struct HouseholdRow {
    row: u32,
    code: String,
    address: Option<String>,
}

#[derive(Debug, Clone)]
struct ResidentRow {
    row: u32,
    id_number: Option<IdNumber>,
    /// The ID number was given masked (as an export without reveal writes it).
    id_masked: bool,
    name: String,
    sex: Option<Sex>,
    birth_date: Option<String>,
    /// `None`: not given (or masked), keep what is stored.
    phone: Option<String>,
    status: Option<ResidenceStatus>,
    household_code: String,
    relation: Option<&'static str>,
    since: Option<String>,
    /// `None` without a tags column; otherwise the current tags with their start dates.
    tags: Option<Vec<(String, Option<String>)>>,
}

/// Reads cells by column id.
struct Cells<'a> {
    index: &'a HashMap<&'static str, usize>,
    row: &'a [String],
}

impl Cells<'_> {
    fn get(&self, id: &str) -> Option<&str> {
        let i = *self.index.get(id)?;
        self.row.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn has(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }
}

struct Errors<'a> {
    sheet: &'a str,
    list: Vec<RowError>,
}

impl Errors<'_> {
    fn add(&mut self, row: u32, field: &str, code: &str, message: impl Into<String>) {
        self.list.push(RowError {
            sheet: self.sheet.to_string(),
            row,
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        });
    }

    fn store(&mut self, row: u32, e: StoreError) {
        match e {
            StoreError::Invalid { field, code, message } | StoreError::MissingRef { field, code, message } => {
                self.add(row, field, code, message)
            }
            e => self.add(row, "", "invalid", e.to_string()),
        }
    }
}

/// `YYYY-MM-DD`, also written `YYYY/MM/DD`, `YYYY.MM.DD` or `YYYYMMDD`.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let s = s.split(['T', ' ']).next().unwrap_or(s);
    fast_day(s).or_else(|| {
        ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"].iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok())
    })
}

/// `YYYY-MM-DD` (or `/`, `.`) and `YYYYMMDD` without chrono's format parser: a million rows
/// of several dates each add up.
fn fast_day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = match b.len() {
        10 if b[4] == b[7] && matches!(b[4], b'-' | b'/' | b'.') => (num(0..4)?, num(5..7)?, num(8..10)?),
        8 => (num(0..4)?, num(4..6)?, num(6..8)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// `YYYY-MM-DD`.
fn iso_day(d: NaiveDate) -> String {
    use chrono::Datelike;
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

fn date_cell(e: &mut Errors, row: u32, field: &str, v: Option<&str>, not_future: bool) -> Result<Option<String>, ()> {
    let Some(v) = v else { return Ok(None) };
    match parse_day(v) {
        Some(d) if not_future && d > chrono::Utc::now().date_naive() => {
            e.add(row, field, "in_future", format!("{field} {v} is in the future"));
            Err(())
        }
        Some(d) => Ok(Some(iso_day(d))),
        None => {
            e.add(row, field, "bad_date", format!("{field} {v:?} is not a date as YYYY-MM-DD"));
            Err(())
        }
    }
}

fn masked(v: &str) -> bool {
    v.contains('*')
}

fn parse_sex(v: &str) -> Option<Sex> {
    match v {
        "男" | "M" | "m" => Some(Sex::Male),
        "女" | "F" | "f" => Some(Sex::Female),
        v => Sex::parse(&v.to_ascii_lowercase()),
    }
}

fn parse_status(v: &str) -> Option<ResidenceStatus> {
    match v {
        "在住" | "常住" => Some(ResidenceStatus::Present),
        "外出" => Some(ResidenceStatus::Away),
        "返乡" => Some(ResidenceStatus::Returned),
        "迁出" => Some(ResidenceStatus::MovedOut),
        "死亡" => Some(ResidenceStatus::Deceased),
        v => ResidenceStatus::parse(&v.to_ascii_lowercase()),
    }
}

fn parse_relation(v: &str) -> Option<&'static str> {
    let v = match v {
        "户主" | "本人" => "head",
        "配偶" => "spouse",
        "子女" | "子" | "女" => "child",
        "父母" | "父亲" | "母亲" => "parent",
        "孙子女" => "grandchild",
        "祖父母" => "grandparent",
        "兄弟姐妹" => "sibling",
        "其他" => "other",
        v => v,
    };
    RELATIONS.iter().copied().find(|r| r.eq_ignore_ascii_case(v))
}

/// The header's columns, with errors for unknown and missing ones.
fn columns(sheet: &ImportSheet, e: &mut Errors) -> HashMap<&'static str, usize> {
    let cols = sheet.kind.columns();
    let mut index = HashMap::new();
    for (i, h) in sheet.header.iter().enumerate() {
        if h.trim().is_empty() {
            continue;
        }
        match column_of(cols, h) {
            Some(id) if index.contains_key(id) => {
                e.add(1, h, "duplicate_column", format!("column {h:?} appears twice"))
            }
            Some(id) => {
                index.insert(id, i);
            }
            None => e.add(
                1,
                h,
                "unknown_column",
                format!(
                    "unknown column {h:?}; the columns of {} are: {}",
                    sheet.kind.as_str(),
                    cols.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    }
    for c in cols.iter().filter(|c| c.required) {
        if !index.contains_key(c.id) {
            e.add(1, c.id, "missing_column", format!("the sheet needs a column {} ({})", c.id, c.zh));
        }
    }
    index
}

fn required<'a>(e: &mut Errors, c: &Cells<'a>, row: u32, id: &str) -> Option<&'a str> {
    let v = c.index.get(id).and_then(|i| c.row.get(*i)).map(|s| s.trim()).filter(|s| !s.is_empty());
    if v.is_none() {
        e.add(row, id, "required", format!("{id} must not be empty"));
    }
    v
}

/// Parses and checks one house's row on its own; `None` when it has errors (added to `e`).
fn parse_house(e: &mut Errors, c: &Cells, row: u32, w: &CodeWidths) -> Option<HouseRow> {
    let before = e.list.len();
    let code = required(e, c, row, "code");
    let address = required(e, c, row, "address");
    let (Some(code), Some(address)) = (code, address) else { return None };
    if let Err(x) = w.check_child(code, None, w.house_len()) {
        e.add(row, "code", "bad_code", format!("house code: {x}"));
    } else if let Some(u) = c.get("unit_code")
        && !code.starts_with(u)
    {
        e.add(row, "unit_code", "bad_parent", format!("code {code} does not start with {u}"));
    }
    if address.chars().count() > 200 {
        e.add(row, "address", "too_long", "address has at most 200 characters");
    }
    (e.list.len() == before).then(|| HouseRow { row, code: code.to_string(), address: address.to_string() })
}

/// Parses and checks one household's row on its own; `None` when it has errors (added to `e`).
fn parse_household(e: &mut Errors, c: &Cells, row: u32, w: &CodeWidths) -> Option<HouseholdRow> {
    let before = e.list.len();
    let code = required(e, c, row, "code")?;
    if let Err(x) = w.check_child(code, None, w.household_len()) {
        e.add(row, "code", "bad_code", format!("household code: {x}"));
    } else if let Some(h) = c.get("house_code")
        && !code.starts_with(h)
    {
        e.add(row, "house_code", "bad_parent", format!("code {code} does not start with {h}"));
    }
    let address = c.get("address").map(str::to_string);
    if address.as_ref().is_some_and(|a| a.chars().count() > 200) {
        e.add(row, "address", "too_long", "address has at most 200 characters");
    }
    (e.list.len() == before).then(|| HouseholdRow { row, code: code.to_string(), address })
}

/// Parses and checks one resident's row on its own; `None` when it has errors (added to `e`).
fn parse_resident(
    e: &mut Errors,
    c: &Cells,
    row: u32,
    tag_kinds: &HashMap<String, bool>,
    may_read_sensitive: bool,
) -> Option<ResidentRow> {
    let before = e.list.len();
    let name = required(e, c, row, "name");
    let household = required(e, c, row, "household_code");
    let (Some(name), Some(household)) = (name, household) else { return None };
    let name = checked_name("name", name).map_err(|x| e.store(row, x)).ok();
    let id_number = match c.get("id_number").filter(|v| !masked(v)) {
        Some(v) => match IdNumber::parse(v) {
            Ok(id) => Some(id),
            Err(x) => {
                e.add(row, "id_number", "bad_id_number", format!("ID number {v}: {x}"));
                None
            }
        },
        None => None,
    };
    let mut sex = None;
    if let Some(v) = c.get("sex") {
        sex = parse_sex(v);
        if sex.is_none() {
            e.add(row, "sex", "bad_sex", format!("sex {v:?} is not male/female (男/女)"));
        }
    }
    let mut birth_date = date_cell(e, row, "birth_date", c.get("birth_date"), true).ok().flatten();
    if let Some(id) = &id_number {
        let from_id = iso_day(id.birth_date());
        if birth_date.as_ref().is_some_and(|b| *b != from_id) {
            e.add(
                row,
                "birth_date",
                "mismatch_id_number",
                format!("birth_date does not match the ID number, which says {from_id}"),
            );
        }
        if sex.is_some_and(|s| s != id.sex()) {
            e.add(row, "sex", "mismatch_id_number", "sex does not match the ID number");
        }
        birth_date = Some(from_id);
        sex = Some(id.sex());
    }
    let phone = match c.get("phone").filter(|v| !masked(v)) {
        Some(p) if valid_phone(p) => Some(p.to_string()),
        Some(p) => {
            e.add(row, "phone", "bad_phone", format!("phone {p:?} is not a mobile or landline number"));
            None
        }
        None => None,
    };
    let mut status = None;
    if let Some(v) = c.get("status") {
        status = parse_status(v);
        if status.is_none() {
            e.add(
                row,
                "status",
                "bad_status",
                format!("status {v:?} is not one of present, away, returned, moved_out, deceased"),
            );
        }
    }
    let mut relation = None;
    if let Some(v) = c.get("relation") {
        relation = parse_relation(v);
        if relation.is_none() {
            e.add(
                row,
                "relation",
                "unknown_relation",
                format!("relation {v:?} is not one of: {}", RELATIONS.join(", ")),
            );
        }
    }
    let since = date_cell(e, row, "member_since", c.get("member_since"), true).ok().flatten();
    let tags = if c.has("tags") {
        let mut list = Vec::new();
        for item in c.get("tags").unwrap_or("").split([';', '；', ',', '，', '、']) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (code, date) = match item.split_once('@') {
                Some((t, d)) => (t.trim(), Some(d.trim())),
                None => (item, None),
            };
            let date = match date_cell(e, row, "tags", date, true) {
                Ok(d) => d,
                Err(()) => continue,
            };
            match tag_kinds.get(code) {
                None => e.add(row, "tags", "unknown_tag", format!("there is no tag {code:?}")),
                Some(true) if !may_read_sensitive => {
                    e.add(row, "tags", "sensitive_tag", format!("your post does not handle the sensitive tag {code}"))
                }
                Some(_) if list.iter().any(|(t, _)| t == code) => {}
                Some(_) => list.push((code.to_string(), date)),
            }
        }
        Some(list)
    } else {
        None
    };
    (e.list.len() == before).then(|| ResidentRow {
        row,
        id_number,
        id_masked: c.get("id_number").is_some_and(masked),
        name: name.expect("checked"),
        sex,
        birth_date,
        phone,
        status,
        household_code: household.to_string(),
        relation,
        since,
        tags,
    })
}

// ---------------------------------------------------------------- the plan

enum Action {
    Create,
    Update { id: i64, changes: Vec<String> },
    Unchanged,
}

struct StoredArea {
    id: i64,
    path: String,
    level: Level,
    name: String,
    kind: AreaKind,
    boundary: Option<String>,
}

struct StoredHouse {
    id: i64,
    unit_id: i64,
    path: String,
    address: String,
}

struct StoredHousehold {
    id: i64,
    unit_id: i64,
    path: String,
    address: String,
    head: Option<i64>,
}

struct StoredResident {
    id: i64,
    unit_id: i64,
    path: String,
    household_id: i64,
    name: String,
    sex: Option<String>,
    birth_date: Option<String>,
    phone: Option<String>,
    status: String,
    relation: Option<String>,
    tags: BTreeMap<String, String>,
}

/// Everything checked, ready to write.
struct Plan {
    areas: Vec<(AreaRow, Action)>,
    houses: Vec<(HouseRow, Action)>,
    households: Vec<(HouseholdRow, Action)>,
    residents: Vec<(ResidentRow, Action)>,
    posts: Vec<posts::PlannedPost>,
    /// Stored records by code, for references to them.
    stored_areas: HashMap<String, StoredArea>,
    stored_houses: HashMap<String, StoredHouse>,
    stored_households: HashMap<String, StoredHousehold>,
    stored_residents: HashMap<String, StoredResident>,
    /// Keys of residents without an ID number: `(household code, name)`.
    stored_unnumbered: HashMap<(String, String), StoredResident>,
}

const CHUNK: usize = 500;

/// Tags and counter names are few and long-lived: the bulk loader takes them as `&'static str`.
pub(crate) fn intern(tag: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = SET.get_or_init(Default::default).lock().expect("the tag set is never poisoned");
    if let Some(t) = set.get(tag) {
        return t;
    }
    let t: &'static str = Box::leak(tag.to_string().into_boxed_str());
    set.insert(t);
    t
}

/// Counts per kind: rows and failed rows from the sheets, actions from the plan.
fn tally(report: &mut ImportReport, plan: &Plan, sizes: &[(SheetKind, String, usize)]) {
    let failed: HashSet<(&str, u32)> =
        report.errors.iter().filter(|e| e.row > 1).map(|e| (e.sheet.as_str(), e.row)).collect();
    let mut counts = std::mem::take(&mut report.counts);
    for (kind, name, rows) in sizes {
        let c = counts.entry(kind.as_str().to_string()).or_default();
        c.rows += rows;
        c.failed += failed.iter().filter(|(s, _)| s == name).count();
    }
    let mut count = |kind: SheetKind, actions: &mut dyn Iterator<Item = &Action>| {
        let c = counts.entry(kind.as_str().to_string()).or_default();
        for a in actions {
            match a {
                Action::Create => c.created += 1,
                Action::Update { .. } => c.updated += 1,
                Action::Unchanged => c.unchanged += 1,
            }
        }
    };
    count(SheetKind::Areas, &mut plan.areas.iter().map(|x| &x.1));
    count(SheetKind::Houses, &mut plan.houses.iter().map(|x| &x.1));
    count(SheetKind::Households, &mut plan.households.iter().map(|x| &x.1));
    count(SheetKind::Residents, &mut plan.residents.iter().map(|x| &x.1));
    if sizes.iter().any(|s| s.0 == SheetKind::Posts) {
        count(SheetKind::Posts, &mut plan.posts.iter().map(|p| &p.action));
    }
    report.counts = counts;
}

/// Rows checked and handed to the bulk loader at a time when they are read from their file.
const BATCH: usize = 50_000;

/// The codes of a streamed file's houses or households, each as a number,
/// `(index of its parent << 32) | its local number`, with the row's index (the order of the
/// load): 16 bytes a row, sorted once all are read to find duplicates and look codes up.
#[derive(Default)]
struct CodeIndex {
    keys: Vec<(u64, u32)>,
}

impl CodeIndex {
    /// `None` for a local part that does not fit (more than 9 digits).
    fn key(parent: usize, local: &str) -> Option<u64> {
        let local: u32 =
            (local.len() <= 9 && local.bytes().all(|b| b.is_ascii_digit())).then(|| local.parse().ok())??;
        Some(((parent as u64) << 32) | u64::from(local))
    }

    fn push(&mut self, key: u64) {
        let i = self.keys.len() as u32;
        self.keys.push((key, i));
    }

    /// Sorts the keys; `false` when a code appears twice.
    fn sort_unique(&mut self) -> bool {
        self.keys.sort_unstable();
        !self.keys.windows(2).any(|p| p[0].0 == p[1].0)
    }

    fn get(&self, key: u64) -> Option<usize> {
        let i = self.keys.binary_search_by_key(&key, |k| k.0).ok()?;
        Some(self.keys[i].1 as usize)
    }
}

/// Looks up the units, houses and households of a streamed new county by code.
struct Codes<'a> {
    w: CodeWidths,
    /// Unit codes and their indexes among the plan's areas.
    units: HashMap<&'a str, usize>,
    houses: CodeIndex,
    households: CodeIndex,
}

impl Codes<'_> {
    /// A house's unit and key, if its unit is in the file.
    fn house_key(&self, code: &str) -> Option<(usize, u64)> {
        let unit_len = self.w.full_len(Level::Unit);
        if code.len() != self.w.house_len() {
            return None;
        }
        let unit = *self.units.get(code.get(..unit_len)?)?;
        Some((unit, CodeIndex::key(unit, code.get(unit_len..)?)?))
    }

    /// A household's house and key, if its house is in the file.
    fn household_key(&self, code: &str) -> Option<(usize, u64)> {
        let house_len = self.w.house_len();
        if code.len() != self.w.household_len() {
            return None;
        }
        let house = self.houses.get(self.house_key(code.get(..house_len)?)?.1)?;
        Some((house, CodeIndex::key(house, code.get(house_len..)?)?))
    }

    /// A household's index, if it is in the file.
    fn household(&self, code: &str) -> Option<usize> {
        self.households.get(self.household_key(code)?.1)
    }
}

/// Parses and checks rows on every core into the bulk loader's residents; `None` for a row
/// with an error or that does not fit a bulk load.
fn parse_bulk(
    rows: &[(u32, Vec<String>)],
    index: &HashMap<&'static str, usize>,
    tag_kinds: &HashMap<String, bool>,
    may_read_sensitive: bool,
    as_of: NaiveDate,
    households: &(dyn Fn(&str) -> Option<usize> + Sync),
) -> Vec<Option<wangge_demo::ResidentSeed>> {
    crate::crypto::par_map(rows, |(row, cells)| {
        let mut e = Errors { sheet: "", list: Vec::new() };
        parse_resident(&mut e, &Cells { index, row: cells }, *row, tag_kinds, may_read_sensitive)
            .and_then(|r| bulk_resident(r, as_of, households))
    })
}

/// A household of a bulk load whose head is not known yet.
const NO_HEAD: usize = usize::MAX;

/// A checked resident's row as the bulk loader takes it, if it fits a bulk load: an ID number,
/// a household of the file, and the load's date for membership and tags.
fn bulk_resident(
    r: ResidentRow,
    as_of: NaiveDate,
    households: &(dyn Fn(&str) -> Option<usize> + Sync),
) -> Option<wangge_demo::ResidentSeed> {
    let day = |d: &Option<String>| d.as_deref().and_then(fast_day);
    if day(&r.since)? != as_of {
        return None;
    }
    for (_, d) in r.tags.iter().flatten() {
        if day(d)? != as_of {
            return None;
        }
    }
    Some(wangge_demo::ResidentSeed {
        household: households(&r.household_code)?,
        birth_date: day(&r.birth_date)?,
        id_number: r.id_number?.into_string(),
        name: r.name,
        sex: r.sex?,
        phone: r.phone,
        status: r.status.unwrap_or(ResidenceStatus::Present),
        relation: r.relation.unwrap_or("other"),
        tags: r.tags.iter().flatten().map(|(t, _)| intern(t)).collect(),
    })
}

fn mask(s: &str) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(4)).collect();
    format!("{}{tail}", "*".repeat(n.saturating_sub(4)))
}

impl Store {
    /// Imports sheets: checks every row, then writes all of them in one transaction (or, with
    /// `good_rows_only`, the rows without errors); writes nothing on a dry run or on errors.
    pub async fn import(
        &self,
        caller: &Caller,
        within: Option<i64>,
        sheets: Vec<ImportSheet>,
        options: ImportOptions,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<ImportReport> {
        let started = Instant::now();
        // Every row must fall inside this area (the caller's own by default).
        let scope = match within {
            Some(id) => self
                .subtree_scope(caller.scope(), id)
                .await
                .map_err(|_| StoreError::missing_ref("area_id", "unknown_area", format!("there is no area {id}")))?,
            None => caller.scope().clone(),
        };
        let kinds: BTreeSet<SheetKind> = sheets.iter().map(|s| s.kind).collect();
        if kinds.contains(&SheetKind::Areas) {
            audit::require(caller, Permission::ManageAreas)?;
        }
        if kinds.iter().any(|k| *k != SheetKind::Areas) {
            audit::require(caller, Permission::WriteRegistry)?;
        }
        if kinds.contains(&SheetKind::Posts) {
            audit::require(caller, Permission::ManagePosts)?;
        }
        progress("checking", 0);
        let sizes: Vec<(SheetKind, String, usize)> =
            sheets.iter().map(|s| (s.kind, s.name.clone(), s.rows.len())).collect();
        if let Some(mut report) = self.import_streamed(caller, &scope, &sheets, options, &sizes, progress).await? {
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        let mut report = ImportReport { dry_run: options.dry_run, ..Default::default() };
        // The sheets' cells are freed as they are parsed: a file of a million rows never sits
        // in memory beside its checked rows.
        let mut plan = self.check(caller, &scope, sheets, &mut report).await?;
        progress("checking", sizes.iter().map(|s| s.2).sum());
        tally(&mut report, &plan, &sizes);
        let header_errors = report.errors.iter().any(|e| e.row == 1);
        let write = !options.dry_run && !header_errors && (!report.has_errors() || options.good_rows_only);
        if write {
            let county = if report.has_errors() { None } else { self.bulk_plan(&plan) };
            if let Some(county) = county {
                let code = plan.areas[0].0.code.clone();
                let posts = std::mem::take(&mut plan.posts);
                // The loader's plan holds everything now.
                drop(plan);
                self.load_plan(&county, &mut |t, n| progress(t, n)).await?;
                let residents = county.residents.len();
                drop(county);
                self.finish_bulk(caller, &code, residents, &posts, progress).await?;
                report.bulk = true;
            } else {
                self.apply(caller, &plan, progress).await?;
            }
            report.written = true;
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// A new county whose houses', households' and residents' rows stay in their files: pass 1
    /// reads and checks each row a batch at a time, keeping only compact keys in memory (codes
    /// as numbers for references and duplicates, ID numbers, households' heads) and spooling
    /// the checked rows (residents sealed) to temporary files; pass 2 hands the spools to the
    /// bulk loader a batch at a time. `None` when the file is not such a county, or has an
    /// error or a row that matches a stored record: its rows are then read into memory and
    /// checked as any file's, for the full report.
    async fn import_streamed(
        &self,
        caller: &Caller,
        scope: &Scope,
        sheets: &[ImportSheet],
        options: ImportOptions,
        sizes: &[(SheetKind, String, usize)],
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<Option<ImportReport>> {
        let only = |kind: SheetKind| -> Result<Option<&ImportSheet>, ()> {
            let mut of_kind = sheets.iter().filter(|s| s.kind == kind);
            match (of_kind.next(), of_kind.next()) {
                (sheet, None) => Ok(sheet),
                _ => Err(()),
            }
        };
        let (Ok(Some(sheet)), Ok(house_sheet), Ok(household_sheet)) =
            (only(SheetKind::Residents), only(SheetKind::Houses), only(SheetKind::Households))
        else {
            return Ok(None);
        };
        if !matches!(sheet.rows, SheetRows::File { .. }) {
            return Ok(None);
        }
        let mut e = Errors { sheet: &sheet.name, list: Vec::new() };
        let index = columns(sheet, &mut e);
        let house_index = house_sheet.map(|s| columns(s, &mut e)).unwrap_or_default();
        let household_index = household_sheet.map(|s| columns(s, &mut e)).unwrap_or_default();
        if !e.list.is_empty() {
            return Ok(None);
        }
        let batch = options.batch_rows.max(1);
        // The areas (and posts) are checked as ever: they are few beside the rest.
        let mut report = ImportReport { dry_run: options.dry_run, ..Default::default() };
        let streamed = [SheetKind::Houses, SheetKind::Households, SheetKind::Residents];
        let others: Vec<ImportSheet> = sheets.iter().filter(|s| !streamed.contains(&s.kind)).cloned().collect();
        let mut plan = self.check(caller, scope, others, &mut report).await?;
        if report.has_errors() {
            return Ok(None);
        }
        let Some(county) = self.bulk_parents(&plan) else { return Ok(None) };
        let w = self.widths;
        let mut codes = Codes {
            w,
            units: county
                .areas
                .iter()
                .enumerate()
                .filter(|(_, a)| a.level == Level::Unit)
                .map(|(i, a)| (a.code.as_str(), i))
                .collect(),
            houses: CodeIndex::default(),
            households: CodeIndex::default(),
        };
        let spool = || match options.dry_run {
            true => Ok(None),
            false => crate::bulk::SpoolWriter::new().map(Some).map_err(spool_err),
        };
        let mut checked = 0;

        // Pass 1, houses: each in a unit of the file, no code twice nor stored.
        let mut house_unit: Vec<u32> = Vec::with_capacity(house_sheet.map_or(0, |s| s.rows.len()));
        let mut house_spool = spool()?;
        let houses_stored = !self.table_empty("houses").await?;
        if let Some(s) = house_sheet {
            let mut rows = Batched::new(&s.rows, batch)?;
            loop {
                let chunk = rows.next().await?;
                if chunk.is_empty() {
                    break;
                }
                let parsed = crate::crypto::par_map(&chunk, |(row, cells)| {
                    let mut e = Errors { sheet: "", list: Vec::new() };
                    parse_house(&mut e, &Cells { index: &house_index, row: cells }, *row, &w)
                });
                drop(chunk);
                let Some(parsed) = parsed.into_iter().collect::<Option<Vec<_>>>() else { return Ok(None) };
                for h in &parsed {
                    let Some((unit, key)) = codes.house_key(&h.code) else { return Ok(None) };
                    codes.houses.push(key);
                    house_unit.push(unit as u32);
                    if let Some(spool) = &mut house_spool {
                        spool.push_pair(&h.code, &h.address).map_err(spool_err)?;
                    }
                }
                if houses_stored && self.any_stored("houses", "code", parsed.iter().map(|h| &h.code)).await? {
                    return Ok(None);
                }
                checked += parsed.len();
                progress("checking", checked);
            }
        }
        if !codes.houses.sort_unique() {
            return Ok(None);
        }

        // Households: each in a house of the file, with its address, no code twice nor stored.
        let mut household_house: Vec<u32> = Vec::with_capacity(household_sheet.map_or(0, |s| s.rows.len()));
        let mut household_spool = spool()?;
        let households_stored = !self.table_empty("households").await?;
        if let Some(s) = household_sheet {
            let mut rows = Batched::new(&s.rows, batch)?;
            loop {
                let chunk = rows.next().await?;
                if chunk.is_empty() {
                    break;
                }
                let parsed = crate::crypto::par_map(&chunk, |(row, cells)| {
                    let mut e = Errors { sheet: "", list: Vec::new() };
                    parse_household(&mut e, &Cells { index: &household_index, row: cells }, *row, &w)
                });
                drop(chunk);
                let Some(parsed) = parsed.into_iter().collect::<Option<Vec<_>>>() else { return Ok(None) };
                for h in &parsed {
                    // The default address, the house's, is not kept: such a file goes the other way.
                    let (Some((house, key)), Some(address)) = (codes.household_key(&h.code), &h.address) else {
                        return Ok(None);
                    };
                    codes.households.push(key);
                    household_house.push(house as u32);
                    if let Some(spool) = &mut household_spool {
                        spool.push_pair(&h.code, address).map_err(spool_err)?;
                    }
                }
                if households_stored && self.any_stored("households", "code", parsed.iter().map(|h| &h.code)).await? {
                    return Ok(None);
                }
                checked += parsed.len();
                progress("checking", checked);
            }
        }
        if !codes.households.sort_unique() {
            return Ok(None);
        }

        // Residents: each row checked, sealed and spooled (unless on a dry run).
        let may_read_sensitive = caller.can(Permission::ReadSensitiveTags);
        let tag_kinds: HashMap<String, bool> =
            self.tag_kinds().await?.into_iter().map(|k| (k.code, k.sensitive)).collect();
        let stored = !self.table_empty("residents").await?;
        // The first 17 digits of each ID number (the 18th follows from them), sorted at the
        // end to find duplicates: 8 bytes a resident.
        let mut ids: Vec<u64> = Vec::with_capacity(sheet.rows.len());
        // Each household's head, by the resident's index; `u32::MAX` for none yet.
        let mut heads: Vec<u32> = vec![u32::MAX; household_house.len()];
        let mut spool = spool()?;
        let mut count = 0;
        let mut rows = Batched::new(&sheet.rows, batch)?;
        let household_of = |code: &str| codes.household(code);
        loop {
            let chunk = rows.next().await?;
            if chunk.is_empty() {
                break;
            }
            let parsed = parse_bulk(&chunk, &index, &tag_kinds, may_read_sensitive, county.as_of, &household_of);
            drop(chunk);
            let Some(seeds) = parsed.into_iter().collect::<Option<Vec<_>>>() else { return Ok(None) };
            for seed in &seeds {
                let Some(Ok(key)) = seed.id_number.get(..17).map(str::parse::<u64>) else { return Ok(None) };
                ids.push(key);
                if seed.relation == "head" {
                    let head = &mut heads[seed.household];
                    if *head != u32::MAX {
                        return Ok(None);
                    }
                    *head = count as u32;
                }
                count += 1;
            }
            if stored
                && self
                    .any_stored("residents", "id_number_hash", seeds.iter().map(|s| self.keyed_hash(&s.id_number)))
                    .await?
            {
                return Ok(None);
            }
            if let Some(spool) = &mut spool {
                let personal = crate::bulk::seal_seeds(self, &seeds);
                for (s, p) in seeds.iter().zip(&personal) {
                    spool.push(s, p).map_err(spool_err)?;
                }
            }
            checked += seeds.len();
            progress("checking", checked);
        }
        ids.sort_unstable();
        if ids.windows(2).any(|p| p[0] == p[1]) || heads.contains(&u32::MAX) {
            return Ok(None);
        }
        drop(ids);
        drop(codes);
        let others: Vec<(SheetKind, String, usize)> =
            sizes.iter().filter(|s| !streamed.contains(&s.0)).cloned().collect();
        tally(&mut report, &plan, &others);
        for (kind, n) in [
            (SheetKind::Houses, house_unit.len()),
            (SheetKind::Households, household_house.len()),
            (SheetKind::Residents, count),
        ] {
            report.counts.insert(kind.as_str().to_string(), KindCounts { rows: n, created: n, ..Default::default() });
        }
        let (Some(house_spool), Some(household_spool), Some(spool)) = (house_spool, household_spool, spool) else {
            return Ok(Some(report));
        };

        // Pass 2: the spools, a batch at a time, into the bulk loader.
        let code = plan.areas[0].0.code.clone();
        let posts = std::mem::take(&mut plan.posts);
        drop(plan);
        let pairs = |spool: crate::bulk::SpoolWriter, mut left: usize| -> StoreResult<crate::bulk::NextPairs> {
            let mut spool = spool.finish().map_err(spool_err)?;
            let next: crate::bulk::NextPairs = Box::new(move || {
                if left == 0 {
                    return Ok(None);
                }
                let n = left.min(batch);
                left -= n;
                spool.read_pairs(n).map(Some).map_err(spool_err)
            });
            Ok(next)
        };
        let houses = pairs(house_spool, house_unit.len())?;
        let households = pairs(household_spool, household_house.len())?;
        let mut spool = spool.finish().map_err(spool_err)?;
        let mut left = count;
        let residents: crate::bulk::NextBatch = Box::new(move || {
            if left == 0 {
                return Ok(None);
            }
            let n = left.min(batch);
            left -= n;
            spool.read(n).map(Some).map_err(spool_err)
        });
        let layout = crate::bulk::Layout { house_unit, household_house, head: heads };
        let batches = crate::bulk::Batches { layout, houses, households, residents };
        self.load_plan_batches(&county, batches, progress).await?;
        drop(county);
        self.finish_bulk(caller, &code, count, &posts, progress).await?;
        report.written = true;
        report.bulk = true;
        Ok(Some(report))
    }

    /// After a bulk load: the file's posts, and the import's audit event.
    async fn finish_bulk(
        &self,
        caller: &Caller,
        code: &str,
        residents: usize,
        posts: &[posts::PlannedPost],
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<()> {
        let detail = format!("bulk import of a new county: {residents} residents");
        let mut tx = self.write_tx().await?;
        self.apply_posts(&mut tx, caller, posts, progress).await?;
        let path: String = sqlx::query_scalar("SELECT path FROM areas WHERE code = $1 AND valid_to IS NULL")
            .bind(code)
            .fetch_one(&mut *tx)
            .await?;
        audit::record(&mut tx, caller, "import", "registry", None, &path, None, Some(detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a row of `table` holds one of these values in `column`.
    async fn any_stored<S: ToString>(
        &self,
        table: &str,
        column: &str,
        values: impl Iterator<Item = S>,
    ) -> StoreResult<bool> {
        let values: Vec<String> = values.map(|v| v.to_string()).collect();
        for chunk in values.chunks(CHUNK) {
            let mut sql = Sql::new(&format!("SELECT count(*) FROM {table} WHERE {column} IN ("));
            push_list(&mut sql, chunk);
            let n: i64 = sql.query().fetch_one(&self.pool).await?.try_get(0)?;
            if n > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Parses and checks every sheet against the file and the store.
    async fn check(
        &self,
        caller: &Caller,
        scope: &Scope,
        sheets: Vec<ImportSheet>,
        report: &mut ImportReport,
    ) -> StoreResult<Plan> {
        let names: Vec<(SheetKind, String)> = sheets.iter().map(|s| (s.kind, s.name.clone())).collect();
        let w = self.widths;
        let may_read_sensitive = caller.can(Permission::ReadSensitiveTags);
        let tag_kinds: HashMap<String, bool> =
            self.tag_kinds().await?.into_iter().map(|k| (k.code, k.sensitive)).collect();

        // Parse every sheet.
        let mut area_rows = Vec::new();
        let mut house_rows = Vec::new();
        let mut household_rows = Vec::new();
        let mut resident_rows = Vec::new();
        let mut post_rows = Vec::new();
        for sheet in sheets {
            let mut e = Errors { sheet: &sheet.name, list: Vec::new() };
            let index = columns(&sheet, &mut e);
            if !e.list.is_empty() {
                report.errors.extend(e.list);
                continue;
            }
            let kind = sheet.kind;
            for (row, cells) in sheet.rows.into_memory()? {
                let c = Cells { index: &index, row: &cells };
                let before = e.list.len();
                match kind {
                    SheetKind::Areas => {
                        let code = required(&mut e, &c, row, "code");
                        let name = required(&mut e, &c, row, "name");
                        let (Some(code), Some(name)) = (code, name) else { continue };
                        let Some(level) = Level::ALL.into_iter().find(|l| w.full_len(*l) == code.len()) else {
                            e.add(row, "code", "bad_code", format!("area code {code} has no level's length"));
                            continue;
                        };
                        if let Err(err) = w.check_area(level, code, None) {
                            e.add(row, "code", "bad_code", err.to_string());
                        }
                        if let Some(p) = c.get("parent_code")
                            && level != Level::County
                            && p != &code[..w.full_len(level.parent().expect("not a county"))]
                        {
                            e.add(row, "parent_code", "bad_parent", format!("code {code} does not start with {p}"));
                        }
                        let kind = match c.get("kind") {
                            Some(k) => match AreaKind::parse(k) {
                                Some(k) if k.level() == level => Some(k),
                                _ => {
                                    e.add(
                                        row,
                                        "kind",
                                        "bad_kind",
                                        format!("{k:?} is not a kind of {}", level.as_str()),
                                    );
                                    None
                                }
                            },
                            None => None,
                        };
                        let name = checked_name("name", name).map_err(|x| e.store(row, x)).ok();
                        let valid_from =
                            date_cell(&mut e, row, "valid_from", c.get("valid_from"), false).ok().flatten();
                        let boundary = c.get("boundary").map(str::to_string);
                        if let Some(b) = &boundary
                            && let Err(x) = check_geometry(b)
                        {
                            e.store(row, x);
                        }
                        if e.list.len() == before {
                            area_rows.push(AreaRow {
                                row,
                                code: code.to_string(),
                                level,
                                name: name.expect("checked"),
                                kind,
                                valid_from,
                                boundary,
                            });
                        }
                    }
                    SheetKind::Houses => house_rows.extend(parse_house(&mut e, &c, row, &w)),
                    SheetKind::Households => household_rows.extend(parse_household(&mut e, &c, row, &w)),
                    SheetKind::Residents => {
                        resident_rows.extend(parse_resident(&mut e, &c, row, &tag_kinds, may_read_sensitive))
                    }
                    SheetKind::Posts => post_rows.extend(posts::parse(&mut e, &c, row, caller)),
                }
            }
            report.errors.extend(e.list);
        }

        // Duplicates inside the file: the later rows are the errors.
        let sheet_of = |kind: SheetKind| -> String {
            names.iter().find(|s| s.0 == kind).map(|s| s.1.clone()).unwrap_or_else(|| kind.as_str().into())
        };
        let dup = |kind: SheetKind, field: &str, keys: Vec<(u32, String)>, errors: &mut Vec<RowError>| {
            let mut seen: HashMap<String, u32> = HashMap::new();
            let mut bad = HashSet::new();
            for (row, key) in keys {
                if let Some(first) = seen.get(&key) {
                    errors.push(RowError {
                        sheet: sheet_of(kind),
                        row,
                        field: field.to_string(),
                        code: "duplicate_in_file".into(),
                        message: format!(
                            "{field} {} is also on row {first}",
                            if field == "id_number" { mask(&key) } else { key.clone() }
                        ),
                    });
                    bad.insert(row);
                } else {
                    seen.insert(key, row);
                }
            }
            bad
        };
        let bad = dup(
            SheetKind::Areas,
            "code",
            area_rows.iter().map(|r| (r.row, r.code.clone())).collect(),
            &mut report.errors,
        );
        area_rows.retain(|r| !bad.contains(&r.row));
        let bad = dup(
            SheetKind::Houses,
            "code",
            house_rows.iter().map(|r| (r.row, r.code.clone())).collect(),
            &mut report.errors,
        );
        house_rows.retain(|r| !bad.contains(&r.row));
        let bad = dup(
            SheetKind::Households,
            "code",
            household_rows.iter().map(|r| (r.row, r.code.clone())).collect(),
            &mut report.errors,
        );
        household_rows.retain(|r| !bad.contains(&r.row));
        let ids: Vec<(u32, String)> = resident_rows
            .iter()
            .filter_map(|r| r.id_number.as_ref().map(|i| (r.row, i.as_str().to_string())))
            .collect();
        let bad = dup(SheetKind::Residents, "id_number", ids, &mut report.errors);
        resident_rows.retain(|r| !bad.contains(&r.row));

        // The stored records the file names.
        let stored_areas = self.stored_areas(area_rows.iter().map(|a| a.code.as_str()), &house_rows).await?;
        let stored_houses = self
            .stored_houses(
                house_rows
                    .iter()
                    .map(|h| h.code.as_str())
                    .chain(household_rows.iter().map(|h| &h.code[..w.house_len()])),
            )
            .await?;
        let stored_households = self
            .stored_households(
                household_rows
                    .iter()
                    .map(|h| h.code.as_str())
                    .chain(resident_rows.iter().map(|r| r.household_code.as_str())),
            )
            .await?;
        let (stored_residents, stored_unnumbered) = self.stored_residents(&resident_rows, &stored_households).await?;

        let mut plan = Plan {
            areas: Vec::new(),
            houses: Vec::new(),
            households: Vec::new(),
            residents: Vec::new(),
            posts: Vec::new(),
            stored_areas,
            stored_houses,
            stored_households,
            stored_residents,
            stored_unnumbered,
        };

        // Areas, parents first.
        let areas_sheet = sheet_of(SheetKind::Areas);
        let mut e = Errors { sheet: &areas_sheet, list: Vec::new() };
        area_rows.sort_by_key(|a| (a.level, a.code.clone()));
        let mut file_areas: HashMap<String, Level> = HashMap::new();
        for a in area_rows {
            let outside = |path: &str| !scope.contains_path(path);
            if let Some(s) = plan.stored_areas.get(&a.code) {
                if outside(&s.path) || s.level != a.level {
                    e.add(a.row, "code", "code_taken", format!("code {} belongs to an area outside your area", a.code));
                    continue;
                }
                let mut changes = Vec::new();
                if s.name != a.name {
                    changes.push(format!("name: {} → {}", s.name, a.name));
                }
                if let Some(k) = a.kind
                    && k != s.kind
                {
                    changes.push(format!("kind: {} → {}", s.kind.as_str(), k.as_str()));
                }
                if a.boundary.is_some() && a.boundary != s.boundary {
                    changes.push("boundary: changed".to_string());
                }
                let action = if changes.is_empty() { Action::Unchanged } else { Action::Update { id: s.id, changes } };
                file_areas.insert(a.code.clone(), a.level);
                plan.areas.push((a, action));
                continue;
            }
            match a.level.parent() {
                None => {
                    if *scope != Scope::everything() {
                        e.add(a.row, "code", "parent_required", "only a deployment administrator creates a county");
                        continue;
                    }
                }
                Some(pl) => {
                    let pc = &a.code[..w.full_len(pl)];
                    let known = file_areas.contains_key(pc)
                        || plan.stored_areas.get(pc).is_some_and(|p| !outside(&p.path) && p.level == pl);
                    if !known {
                        e.add(
                            a.row,
                            "code",
                            "unknown_parent",
                            format!("there is no {} {pc} in your area", pl.as_str()),
                        );
                        continue;
                    }
                }
            }
            file_areas.insert(a.code.clone(), a.level);
            plan.areas.push((a, Action::Create));
        }
        report.errors.extend(e.list);

        // Houses in units.
        let unit_len = w.full_len(Level::Unit);
        let houses_sheet = sheet_of(SheetKind::Houses);
        let mut e = Errors { sheet: &houses_sheet, list: Vec::new() };
        let mut file_houses: HashSet<String> = HashSet::new();
        for h in house_rows {
            let unit = &h.code[..unit_len];
            let unit_known = file_areas.get(unit) == Some(&Level::Unit)
                || plan.stored_areas.get(unit).is_some_and(|u| u.level == Level::Unit && scope.contains_path(&u.path));
            if !unit_known {
                e.add(h.row, "code", "unknown_unit", format!("there is no unit {unit} in your area"));
                continue;
            }
            let action = match plan.stored_houses.get(&h.code) {
                Some(s) if !scope.contains_path(&s.path) => {
                    e.add(h.row, "code", "code_taken", format!("house code {} is in use outside your area", h.code));
                    continue;
                }
                Some(s) if s.address != h.address => {
                    Action::Update { id: s.id, changes: vec![format!("address: {} → {}", s.address, h.address)] }
                }
                Some(_) => Action::Unchanged,
                None => Action::Create,
            };
            file_houses.insert(h.code.clone());
            plan.houses.push((h, action));
        }
        report.errors.extend(e.list);

        // Households in houses.
        let house_len = w.house_len();
        let households_sheet = sheet_of(SheetKind::Households);
        let mut e = Errors { sheet: &households_sheet, list: Vec::new() };
        let mut file_households: HashSet<String> = HashSet::new();
        for h in household_rows {
            let house = &h.code[..house_len];
            let known = file_houses.contains(house)
                || plan.stored_houses.get(house).is_some_and(|s| scope.contains_path(&s.path));
            if !known {
                e.add(h.row, "code", "unknown_house", format!("there is no house {house} in your area"));
                continue;
            }
            let action = match plan.stored_households.get(&h.code) {
                Some(s) if !scope.contains_path(&s.path) => {
                    e.add(
                        h.row,
                        "code",
                        "code_taken",
                        format!("household code {} is in use outside your area", h.code),
                    );
                    continue;
                }
                Some(s) => match &h.address {
                    Some(a) if *a != s.address => {
                        Action::Update { id: s.id, changes: vec![format!("address: {} → {a}", s.address)] }
                    }
                    _ => Action::Unchanged,
                },
                None => Action::Create,
            };
            file_households.insert(h.code.clone());
            plan.households.push((h, action));
        }
        report.errors.extend(e.list);

        // Residents in households; one head per household.
        let residents_sheet = sheet_of(SheetKind::Residents);
        let mut e = Errors { sheet: &residents_sheet, list: Vec::new() };
        let mut heads: HashMap<String, u32> = HashMap::new();
        for r in resident_rows {
            let known = file_households.contains(&r.household_code)
                || plan.stored_households.get(&r.household_code).is_some_and(|s| scope.contains_path(&s.path));
            if !known {
                e.add(
                    r.row,
                    "household_code",
                    "unknown_household",
                    format!("there is no household {} in your area", r.household_code),
                );
                continue;
            }
            if r.relation == Some("head") {
                if let Some(first) = heads.get(&r.household_code) {
                    e.add(
                        r.row,
                        "relation",
                        "head_exists",
                        format!("household {} already has its head on row {first}", r.household_code),
                    );
                    continue;
                }
                heads.insert(r.household_code.clone(), r.row);
            }
            let stored = match &r.id_number {
                Some(id) => plan.stored_residents.get(id.as_str()),
                None => plan.stored_unnumbered.get(&(r.household_code.clone(), r.name.clone())),
            };
            let action = match stored {
                Some(s) if !scope.contains_path(&s.path) => {
                    e.add(
                        r.row,
                        "id_number",
                        "id_number_registered",
                        "a resident with this ID number is registered outside your area",
                    );
                    continue;
                }
                Some(s) => {
                    let changes = resident_changes(&r, s, &plan, may_read_sensitive, &tag_kinds);
                    if changes.is_empty() { Action::Unchanged } else { Action::Update { id: s.id, changes } }
                }
                None if r.id_masked => {
                    e.add(
                        r.row,
                        "id_number",
                        "masked",
                        "the ID number is masked and no member of the household has this name: give the number in full",
                    );
                    continue;
                }
                None => Action::Create,
            };
            plan.residents.push((r, action));
        }
        report.errors.extend(e.list);

        // Posts at areas of the file or of the scope.
        let posts_sheet = sheet_of(SheetKind::Posts);
        let mut e = Errors { sheet: &posts_sheet, list: Vec::new() };
        plan.posts = self.check_posts(scope, post_rows, &file_areas, &mut e).await?;
        report.errors.extend(e.list);

        for (sheet, list) in [
            (&areas_sheet, plan.areas.iter().map(|(a, x)| (a.row, a.code.clone(), x)).collect::<Vec<_>>()),
            (&houses_sheet, plan.houses.iter().map(|(a, x)| (a.row, a.code.clone(), x)).collect()),
            (&households_sheet, plan.households.iter().map(|(a, x)| (a.row, a.code.clone(), x)).collect()),
            (
                &residents_sheet,
                plan.residents
                    .iter()
                    .map(|(r, x)| (r.row, r.id_number.as_ref().map_or_else(|| r.name.clone(), |i| mask(i.as_str())), x))
                    .collect(),
            ),
            (&posts_sheet, plan.posts.iter().map(|p| (p.row.row, p.row.key(), &p.action)).collect()),
        ] {
            for (row, key, action) in list {
                if let Action::Update { changes, .. } = action
                    && report.changes.len() < MAX_LISTED_CHANGES
                {
                    report.changes.push(RowChange {
                        sheet: sheet.clone(),
                        row,
                        key,
                        action: "update".into(),
                        changes: changes.clone(),
                    });
                }
            }
        }
        report.errors.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
        Ok(plan)
    }

    async fn stored_areas<'a>(
        &self,
        codes: impl Iterator<Item = &'a str>,
        houses: &[HouseRow],
    ) -> StoreResult<HashMap<String, StoredArea>> {
        let w = self.widths;
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for c in codes {
            wanted.insert(c.to_string());
            // The parent of every area of the file.
            if let Some(l) = Level::ALL.into_iter().find(|l| w.full_len(*l) == c.len())
                && let Some(p) = l.parent()
            {
                wanted.insert(c[..w.full_len(p)].to_string());
            }
        }
        for h in houses {
            wanted.insert(h.code[..w.full_len(Level::Unit)].to_string());
        }
        let mut out = HashMap::new();
        let wanted: Vec<String> = wanted.into_iter().collect();
        for chunk in wanted.chunks(CHUNK) {
            let mut sql = Sql::new(
                "SELECT id, code, path, level, name, kind, boundary FROM areas WHERE valid_to IS NULL AND code IN (",
            );
            push_list(&mut sql, chunk);
            for r in sql.query().fetch_all(&self.pool).await? {
                let level: String = r.try_get("level")?;
                let kind: String = r.try_get("kind")?;
                out.insert(
                    r.try_get("code")?,
                    StoredArea {
                        id: r.try_get("id")?,
                        path: r.try_get("path")?,
                        level: Level::parse(&level).ok_or_else(|| crate::areas::decode_err("level", &level))?,
                        name: r.try_get("name")?,
                        kind: AreaKind::parse(&kind).ok_or_else(|| crate::areas::decode_err("kind", &kind))?,
                        boundary: r.try_get("boundary")?,
                    },
                );
            }
        }
        Ok(out)
    }

    async fn stored_houses<'a>(
        &self,
        codes: impl Iterator<Item = &'a str>,
    ) -> StoreResult<HashMap<String, StoredHouse>> {
        let mut out = HashMap::new();
        if self.table_empty("houses").await? {
            return Ok(out);
        }
        let wanted: Vec<String> = codes.map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect();
        for chunk in wanted.chunks(CHUNK) {
            let mut sql = Sql::new("SELECT id, code, unit_id, area_path, address FROM houses WHERE code IN (");
            push_list(&mut sql, chunk);
            for r in sql.query().fetch_all(&self.pool).await? {
                out.insert(
                    r.try_get("code")?,
                    StoredHouse {
                        id: r.try_get("id")?,
                        unit_id: r.try_get("unit_id")?,
                        path: r.try_get("area_path")?,
                        address: r.try_get("address")?,
                    },
                );
            }
        }
        Ok(out)
    }

    async fn stored_households<'a>(
        &self,
        codes: impl Iterator<Item = &'a str>,
    ) -> StoreResult<HashMap<String, StoredHousehold>> {
        let mut out = HashMap::new();
        if self.table_empty("households").await? {
            return Ok(out);
        }
        let wanted: Vec<String> = codes.map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect();
        for chunk in wanted.chunks(CHUNK) {
            let mut sql = Sql::new(
                "SELECT id, code, unit_id, area_path, address, head_resident_id FROM households WHERE code IN (",
            );
            push_list(&mut sql, chunk);
            for r in sql.query().fetch_all(&self.pool).await? {
                out.insert(
                    r.try_get("code")?,
                    StoredHousehold {
                        id: r.try_get("id")?,
                        unit_id: r.try_get("unit_id")?,
                        path: r.try_get("area_path")?,
                        address: r.try_get("address")?,
                        head: r.try_get("head_resident_id")?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Stored residents by ID number, and those without one by (household code, name).
    async fn stored_residents(
        &self,
        rows: &[ResidentRow],
        households: &HashMap<String, StoredHousehold>,
    ) -> StoreResult<(HashMap<String, StoredResident>, HashMap<(String, String), StoredResident>)> {
        let mut by_id = HashMap::new();
        let mut by_name = HashMap::new();
        if self.table_empty("residents").await? {
            return Ok((by_id, by_name));
        }
        let select = "SELECT r.id, r.unit_id, r.area_path, r.household_id, h.code AS household_code, r.name, r.sex, \
            r.birth_date, r.phone_sealed, r.id_number_sealed, r.status, \
            (SELECT m.relation FROM memberships m WHERE m.resident_id = r.id AND m.until IS NULL) AS relation \
            FROM residents r JOIN households h ON h.id = r.household_id WHERE ";
        let hashes: Vec<(String, String)> = rows
            .iter()
            .filter_map(|r| r.id_number.as_ref().map(|i| (self.keyed_hash(i.as_str()), i.as_str().to_string())))
            .collect();
        let mut found: Vec<(Option<String>, String, StoredResident)> = Vec::new();
        for chunk in hashes.chunks(CHUNK) {
            let mut sql = Sql::new(&format!("{select} r.id_number_hash IN ("));
            let list: Vec<String> = chunk.iter().map(|(h, _)| h.clone()).collect();
            push_list(&mut sql, &list);
            for r in sql.query().fetch_all(&self.pool).await? {
                let sealed: Option<String> = r.try_get("id_number_sealed")?;
                let id = sealed.as_deref().map(|s| self.open_sealed(s)).transpose()?;
                found.push((id, r.try_get("household_code")?, self.stored_resident(&r)?));
            }
        }
        let unnumbered: Vec<i64> = rows
            .iter()
            .filter(|r| r.id_number.is_none())
            .filter_map(|r| households.get(&r.household_code).map(|h| h.id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in unnumbered.chunks(CHUNK) {
            let mut sql = Sql::new(&format!("{select} r.household_id IN ("));
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*id);
            }
            sql.push(")");
            for r in sql.query().fetch_all(&self.pool).await? {
                // Matched by name: the ID number, if any, stays as stored.
                found.push((None, r.try_get("household_code")?, self.stored_resident(&r)?));
            }
        }
        // Their current tags.
        let ids: Vec<i64> = found.iter().map(|(_, _, s)| s.id).collect();
        let mut tags: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let mut sql =
                Sql::new("SELECT resident_id, tag, since FROM resident_tags WHERE until IS NULL AND resident_id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*id);
            }
            sql.push(")");
            for r in sql.query().fetch_all(&self.pool).await? {
                tags.entry(r.try_get("resident_id")?).or_default().insert(r.try_get("tag")?, r.try_get("since")?);
            }
        }
        for (id, household_code, mut s) in found {
            s.tags = tags.remove(&s.id).unwrap_or_default();
            match id {
                Some(id) => {
                    by_id.insert(id, s);
                }
                None => {
                    by_name.insert((household_code, s.name.clone()), s);
                }
            }
        }
        Ok((by_id, by_name))
    }

    fn stored_resident(&self, r: &sqlx::any::AnyRow) -> StoreResult<StoredResident> {
        let phone: Option<String> = r.try_get("phone_sealed")?;
        Ok(StoredResident {
            id: r.try_get("id")?,
            unit_id: r.try_get("unit_id")?,
            path: r.try_get("area_path")?,
            household_id: r.try_get("household_id")?,
            name: r.try_get("name")?,
            sex: r.try_get("sex")?,
            birth_date: r.try_get("birth_date")?,
            phone: phone.as_deref().map(|p| self.open_sealed(p)).transpose()?,
            status: r.try_get("status")?,
            relation: r.try_get("relation")?,
            tags: BTreeMap::new(),
        })
    }

    async fn table_empty(&self, table: &str) -> StoreResult<bool> {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) x")))
                .fetch_one(&self.pool)
                .await?;
        Ok(n == 0)
    }

    /// The file as a bulk load, when it is a whole new county: every row a creation, every
    /// area under an area of the file, every household with a house and a head, every
    /// resident with an ID number, and one date for validity, memberships and tags.
    fn bulk_plan(&self, plan: &Plan) -> Option<wangge_demo::Plan> {
        let mut county = self.bulk_parents(plan)?;
        let household_index: HashMap<String, usize> =
            county.households.iter().enumerate().map(|(i, h)| (h.code.clone(), i)).collect();
        let mut residents = Vec::with_capacity(plan.residents.len());
        for (i, (r, a)) in plan.residents.iter().enumerate() {
            if !matches!(a, Action::Create) {
                return None;
            }
            let seed = bulk_resident(r.clone(), county.as_of, &|c: &str| household_index.get(c).copied())?;
            if seed.relation == "head" {
                county.households[seed.household].head = i;
            }
            residents.push(seed);
        }
        if county.households.iter().any(|h| h.head == NO_HEAD) {
            return None;
        }
        county.residents = residents;
        Some(county)
    }

    /// The areas, houses and households of a bulk load (no residents, no heads yet), when
    /// they are all new under a new county of the file with one date of validity.
    fn bulk_parents(&self, plan: &Plan) -> Option<wangge_demo::Plan> {
        let w = self.widths;
        let all_new = plan.areas.iter().all(|(_, a)| matches!(a, Action::Create))
            && plan.houses.iter().all(|(_, a)| matches!(a, Action::Create))
            && plan.households.iter().all(|(_, a)| matches!(a, Action::Create));
        let first = plan.areas.first()?;
        if !all_new
            || first.0.level != Level::County
            || plan.areas.iter().filter(|(a, _)| a.level == Level::County).count() != 1
        {
            return None;
        }
        let mut dates: BTreeSet<&str> = BTreeSet::new();
        for (a, _) in &plan.areas {
            dates.insert(a.valid_from.as_deref()?);
        }
        if dates.len() != 1 {
            return None;
        }
        let as_of = NaiveDate::parse_from_str(dates.first()?, "%Y-%m-%d").ok()?;
        let area_index: HashMap<&str, usize> =
            plan.areas.iter().enumerate().map(|(i, (a, _))| (a.code.as_str(), i)).collect();
        let mut areas = Vec::with_capacity(plan.areas.len());
        for (a, _) in &plan.areas {
            let parent = match a.level.parent() {
                Some(p) => Some(*area_index.get(&a.code[..w.full_len(p)])?),
                None => None,
            };
            areas.push(wangge_demo::AreaSeed {
                parent,
                level: a.level,
                kind: a.kind.unwrap_or(a.level.kinds()[0]),
                code: a.code.clone(),
                name: a.name.clone(),
                boundary: a.boundary.clone(),
            });
        }
        let unit_len = w.full_len(Level::Unit);
        let house_index: HashMap<&str, usize> =
            plan.houses.iter().enumerate().map(|(i, (h, _))| (h.code.as_str(), i)).collect();
        let houses: Vec<wangge_demo::HouseSeed> = plan
            .houses
            .iter()
            .map(|(h, _)| {
                Some(wangge_demo::HouseSeed {
                    unit: *area_index.get(&h.code[..unit_len])?,
                    code: h.code.clone(),
                    address: h.address.clone(),
                })
            })
            .collect::<Option<_>>()?;
        let households = plan
            .households
            .iter()
            .map(|(h, _)| {
                let house = *house_index.get(&h.code[..w.house_len()])?;
                Some(wangge_demo::HouseholdSeed {
                    house,
                    code: h.code.clone(),
                    address: h.address.clone().unwrap_or_else(|| plan.houses[house].0.address.clone()),
                    head: NO_HEAD,
                })
            })
            .collect::<Option<_>>()?;
        Some(wangge_demo::Plan { as_of, areas, houses, households, residents: Vec::new() })
    }

    /// Writes a checked plan in one transaction, row by row through the same SQL as the
    /// registry's own writes, each with its audit event; counters of the touched units are
    /// recounted at the end.
    async fn apply(
        &self,
        caller: &Caller,
        plan: &Plan,
        progress: &mut (dyn FnMut(&str, usize) + Send),
    ) -> StoreResult<()> {
        let w = self.widths;
        let now = now_text();
        let today = today_text();
        let hidden: HashSet<String> = if caller.can(Permission::ReadSensitiveTags) {
            HashSet::new()
        } else {
            self.tag_kinds().await?.into_iter().filter(|k| k.sensitive).map(|k| k.code).collect()
        };
        let mut tx = self.write_tx().await?;
        let conn: &mut AnyConnection = &mut tx;
        let mut units: BTreeSet<i64> = BTreeSet::new();

        // Areas: code → (id, path, county).
        let mut areas: HashMap<String, (i64, String, i64)> = HashMap::new();
        for (a, s) in &plan.stored_areas {
            let county = wangge_core::area::path_ids(&s.path)[0];
            areas.insert(a.clone(), (s.id, s.path.clone(), county));
        }
        for (n, (a, action)) in plan.areas.iter().enumerate() {
            match action {
                Action::Create => {
                    let parent = a.level.parent().map(|p| areas[&a.code[..w.full_len(p)]].clone());
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO areas (county_id, parent_id, level, kind, code, name, path, depth, boundary, \
                         valid_from, created_at, updated_at) VALUES (0, $1, $2, $3, $4, $5, '', $6, $7, $8, $9, $9) RETURNING id",
                    )
                    .bind(parent.as_ref().map(|p| p.0))
                    .bind(a.level.as_str())
                    .bind(a.kind.unwrap_or(a.level.kinds()[0]).as_str())
                    .bind(&a.code)
                    .bind(&a.name)
                    .bind(a.level.depth() as i64)
                    .bind(a.boundary.clone())
                    .bind(a.valid_from.clone().unwrap_or_else(|| today.clone()))
                    .bind(&now)
                    .fetch_one(&mut *conn)
                    .await?;
                    let (path, county) = match &parent {
                        Some(p) => (child_path(&p.1, id), p.2),
                        None => (root_path(id), id),
                    };
                    sqlx::query("UPDATE areas SET path = $1, county_id = $2 WHERE id = $3")
                        .bind(&path)
                        .bind(county)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    audit::record(conn, caller, "create", "area", Some(id), &path, None, Some("import".into())).await?;
                    areas.insert(a.code.clone(), (id, path, county));
                }
                Action::Update { id, .. } => {
                    let mut sql = Sql::new("UPDATE areas SET updated_at = ");
                    sql.bind(now.clone()).push(", name = ").bind(a.name.clone());
                    if let Some(k) = a.kind {
                        sql.push(", kind = ").bind(k.as_str());
                    }
                    if let Some(b) = &a.boundary {
                        sql.push(", boundary = ").bind(b.clone());
                    }
                    sql.push(" WHERE id = ").bind(*id);
                    sql.query().execute(&mut *conn).await?;
                    let path = areas[&a.code].1.clone();
                    audit::record(conn, caller, "update", "area", Some(*id), &path, None, Some("import".into()))
                        .await?;
                }
                Action::Unchanged => {}
            }
            progress("areas", n + 1);
        }

        // Houses: code → (id, unit, path).
        let unit_len = w.full_len(Level::Unit);
        let mut houses: HashMap<String, (i64, i64, String)> = HashMap::new();
        for (c, s) in &plan.stored_houses {
            houses.insert(c.clone(), (s.id, s.unit_id, s.path.clone()));
        }
        for (n, (h, action)) in plan.houses.iter().enumerate() {
            match action {
                Action::Create => {
                    let (unit, path, county) = areas[&h.code[..unit_len]].clone();
                    let grid = wangge_core::area::path_ids(&path)[Level::Grid.depth()];
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO houses (county_id, grid_id, unit_id, area_path, code, address, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                    )
                    .bind(county)
                    .bind(grid)
                    .bind(unit)
                    .bind(&path)
                    .bind(&h.code)
                    .bind(&h.address)
                    .bind(&now)
                    .fetch_one(&mut *conn)
                    .await?;
                    audit::record(conn, caller, "create", "house", Some(id), &path, None, Some("import".into()))
                        .await?;
                    units.insert(unit);
                    houses.insert(h.code.clone(), (id, unit, path));
                }
                Action::Update { id, .. } => {
                    sqlx::query("UPDATE houses SET address = $1, updated_at = $2 WHERE id = $3")
                        .bind(&h.address)
                        .bind(&now)
                        .bind(*id)
                        .execute(&mut *conn)
                        .await?;
                    let path = houses[&h.code].2.clone();
                    audit::record(conn, caller, "update", "house", Some(*id), &path, None, Some("import".into()))
                        .await?;
                }
                Action::Unchanged => {}
            }
            progress("houses", n + 1);
        }

        // Households: code → (id, unit, path, county, head).
        let house_len = w.house_len();
        let mut households: HashMap<String, (i64, i64, String, Option<i64>)> = HashMap::new();
        for (c, s) in &plan.stored_households {
            households.insert(c.clone(), (s.id, s.unit_id, s.path.clone(), s.head));
        }
        let address_of: HashMap<&str, &str> =
            plan.houses.iter().map(|(h, _)| (h.code.as_str(), h.address.as_str())).collect();
        for (n, (h, action)) in plan.households.iter().enumerate() {
            match action {
                Action::Create => {
                    let house_code = &h.code[..house_len];
                    let (house, unit, path) = houses[house_code].clone();
                    let address = match (&h.address, address_of.get(house_code)) {
                        (Some(a), _) => a.clone(),
                        (None, Some(a)) => a.to_string(),
                        (None, None) => {
                            sqlx::query_scalar("SELECT address FROM houses WHERE id = $1")
                                .bind(house)
                                .fetch_one(&mut *conn)
                                .await?
                        }
                    };
                    let ids = wangge_core::area::path_ids(&path);
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO households (county_id, grid_id, unit_id, area_path, house_id, code, address, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                    )
                    .bind(ids[0])
                    .bind(ids[Level::Grid.depth()])
                    .bind(unit)
                    .bind(&path)
                    .bind(house)
                    .bind(&h.code)
                    .bind(&address)
                    .bind(&now)
                    .fetch_one(&mut *conn)
                    .await?;
                    audit::record(conn, caller, "create", "household", Some(id), &path, None, Some("import".into()))
                        .await?;
                    units.insert(unit);
                    households.insert(h.code.clone(), (id, unit, path, None));
                }
                Action::Update { id, .. } => {
                    sqlx::query("UPDATE households SET address = $1, updated_at = $2 WHERE id = $3")
                        .bind(h.address.clone())
                        .bind(&now)
                        .bind(*id)
                        .execute(&mut *conn)
                        .await?;
                    let path = households[&h.code].2.clone();
                    audit::record(conn, caller, "update", "household", Some(*id), &path, None, Some("import".into()))
                        .await?;
                }
                Action::Unchanged => {}
            }
            progress("households", n + 1);
        }

        // Residents.
        for (n, (r, action)) in plan.residents.iter().enumerate() {
            let (household, unit, path, _) = households[&r.household_code].clone();
            let since = r.since.clone().unwrap_or_else(|| today.clone());
            match action {
                Action::Create => {
                    let id_number = r.id_number.as_ref().map(|i| i.as_str());
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO residents (county_id, grid_id, unit_id, area_path, household_id, name, sex, birth_date, \
                         phone_sealed, phone_hash, phone_last4, id_number_sealed, id_number_hash, id_number_last4, status, created_at, updated_at) \
                         SELECT county_id, grid_id, unit_id, area_path, id, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11 \
                         FROM households WHERE id = $12 RETURNING id",
                    )
                    .bind(&r.name)
                    .bind(r.sex.map(Sex::as_str))
                    .bind(r.birth_date.clone())
                    .bind(r.phone.as_deref().map(|p| self.seal(p)))
                    .bind(r.phone.as_deref().map(|p| self.keyed_hash(p)))
                    .bind(r.phone.as_deref().map(last4))
                    .bind(id_number.map(|i| self.seal(i)))
                    .bind(id_number.map(|i| self.keyed_hash(i)))
                    .bind(id_number.map(last4))
                    .bind(r.status.unwrap_or(ResidenceStatus::Present).as_str())
                    .bind(&now)
                    .bind(household)
                    .fetch_one(&mut *conn)
                    .await?;
                    insert_membership(conn, id, household, r.relation.unwrap_or("other"), &since).await?;
                    for (tag, d) in r.tags.iter().flatten() {
                        insert_tag(conn, id, tag, d.as_deref().unwrap_or(&since)).await?;
                    }
                    if r.relation == Some("head") {
                        set_head(conn, household, id, &now).await?;
                    }
                    audit::record(conn, caller, "create", "resident", Some(id), &path, None, Some("import".into()))
                        .await?;
                    units.insert(unit);
                }
                Action::Update { id, .. } => {
                    let s = match &r.id_number {
                        Some(i) => &plan.stored_residents[i.as_str()],
                        None => &plan.stored_unnumbered[&(r.household_code.clone(), r.name.clone())],
                    };
                    let id = *id;
                    let mut sql = Sql::new("UPDATE residents SET updated_at = ");
                    sql.bind(now.clone()).push(", name = ").bind(r.name.clone());
                    if let Some(x) = r.sex {
                        sql.push(", sex = ").bind(x.as_str());
                    }
                    if let Some(b) = &r.birth_date {
                        sql.push(", birth_date = ").bind(b.clone());
                    }
                    if let Some(p) = &r.phone {
                        sql.push(", phone_sealed = ").bind(self.seal(p));
                        sql.push(", phone_hash = ").bind(self.keyed_hash(p));
                        sql.push(", phone_last4 = ").bind(last4(p));
                    }
                    if let Some(st) = r.status {
                        sql.push(", status = ").bind(st.as_str());
                    }
                    sql.push(" WHERE id = ").bind(id);
                    sql.query().execute(&mut *conn).await?;
                    if s.household_id != household {
                        // A move: the old membership ends, a new one starts.
                        sqlx::query("UPDATE memberships SET until = $1 WHERE resident_id = $2 AND until IS NULL")
                            .bind(&since)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("UPDATE households SET head_resident_id = NULL, updated_at = $1 WHERE id = $2 AND head_resident_id = $3")
                            .bind(&now)
                            .bind(s.household_id)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        insert_membership(conn, id, household, r.relation.unwrap_or("other"), &since).await?;
                        sqlx::query(
                            "UPDATE residents SET household_id = h.id, unit_id = h.unit_id, grid_id = h.grid_id, county_id = h.county_id, \
                             area_path = h.area_path FROM households h WHERE h.id = $1 AND residents.id = $2",
                        )
                        .bind(household)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                        units.insert(s.unit_id);
                    } else if let Some(rel) = r.relation
                        && s.relation.as_deref() != Some(rel)
                    {
                        sqlx::query("UPDATE memberships SET relation = $1 WHERE resident_id = $2 AND until IS NULL")
                            .bind(rel)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        if s.relation.as_deref() == Some("head") {
                            sqlx::query("UPDATE households SET head_resident_id = NULL, updated_at = $1 WHERE id = $2 AND head_resident_id = $3")
                                .bind(&now)
                                .bind(household)
                                .bind(id)
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    if r.relation == Some("head") {
                        set_head(conn, household, id, &now).await?;
                    }
                    if let Some(tags) = &r.tags {
                        for t in s.tags.keys() {
                            // Tags the caller may not see are left as they are.
                            if !tags.iter().any(|(x, _)| x == t) && !hidden.contains(t.as_str()) {
                                sqlx::query("UPDATE resident_tags SET until = $1 WHERE resident_id = $2 AND tag = $3 AND until IS NULL")
                                    .bind(&today)
                                    .bind(id)
                                    .bind(t)
                                    .execute(&mut *conn)
                                    .await?;
                            }
                        }
                        for (t, d) in tags {
                            if !s.tags.contains_key(t) {
                                insert_tag(conn, id, t, d.as_deref().unwrap_or(&today)).await?;
                            }
                        }
                    }
                    let path: String = sqlx::query_scalar("SELECT area_path FROM residents WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *conn)
                        .await?;
                    audit::record(conn, caller, "update", "resident", Some(id), &path, None, Some("import".into()))
                        .await?;
                    units.insert(unit);
                    units.insert(s.unit_id);
                }
                Action::Unchanged => {}
            }
            if n % 1000 == 999 || n + 1 == plan.residents.len() {
                progress("residents", n + 1);
            }
        }
        self.apply_posts(conn, caller, &plan.posts, progress).await?;
        let units: Vec<i64> = units.into_iter().collect();
        progress("area_stats", 0);
        stats::refresh_units(conn, &units).await?;
        progress("area_stats", units.len());
        tx.commit().await?;
        Ok(())
    }
}

/// What a row would change on a stored resident.
fn resident_changes(
    r: &ResidentRow,
    s: &StoredResident,
    plan: &Plan,
    may_read_sensitive: bool,
    tag_kinds: &HashMap<String, bool>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |field: &str, old: Option<&str>, new: Option<&str>, personal: bool| {
        if let Some(new) = new
            && old != Some(new)
        {
            let show = |v: &str| if personal { mask(v) } else { v.to_string() };
            out.push(format!("{field}: {} → {}", old.map(show).unwrap_or_default(), show(new)));
        }
    };
    diff("name", Some(&s.name), Some(&r.name), false);
    diff("sex", s.sex.as_deref(), r.sex.map(Sex::as_str), false);
    diff("birth_date", s.birth_date.as_deref(), r.birth_date.as_deref(), false);
    diff("phone", s.phone.as_deref(), r.phone.as_deref(), true);
    diff("status", Some(&s.status), r.status.map(ResidenceStatus::as_str), false);
    let moved = match plan.stored_households.get(&r.household_code) {
        Some(h) => h.id != s.household_id,
        None => true,
    };
    if moved {
        out.push(format!("household: → {}", r.household_code));
    } else {
        diff("relation", s.relation.as_deref(), r.relation, false);
    }
    if let Some(tags) = &r.tags {
        let visible = |t: &str| may_read_sensitive || !tag_kinds.get(t).copied().unwrap_or(false);
        let old: BTreeSet<&str> = s.tags.keys().map(String::as_str).filter(|t| visible(t)).collect();
        let new: BTreeSet<&str> = tags.iter().map(|(t, _)| t.as_str()).collect();
        if old != new {
            out.push(format!(
                "tags: {} → {}",
                old.into_iter().collect::<Vec<_>>().join(";"),
                new.into_iter().collect::<Vec<_>>().join(";")
            ));
        }
    }
    out
}

fn push_list(sql: &mut Sql, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v.clone());
    }
    sql.push(")");
}

fn last4(s: &str) -> String {
    s.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

async fn insert_membership(
    conn: &mut AnyConnection,
    resident: i64,
    household: i64,
    relation: &str,
    since: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO memberships (county_id, resident_id, household_id, relation, since) \
         SELECT county_id, $1, id, $2, $3 FROM households WHERE id = $4",
    )
    .bind(resident)
    .bind(relation)
    .bind(since)
    .bind(household)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_tag(conn: &mut AnyConnection, resident: i64, tag: &str, since: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO resident_tags (county_id, resident_id, tag, since) SELECT county_id, id, $1, $2 FROM residents WHERE id = $3",
    )
    .bind(tag)
    .bind(since)
    .bind(resident)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes `resident` the head; a previous head stays a member, as `other`.
async fn set_head(conn: &mut AnyConnection, household: i64, resident: i64, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE memberships SET relation = 'other' WHERE household_id = $1 AND until IS NULL AND relation = 'head' AND resident_id <> $2")
        .bind(household)
        .bind(resident)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE households SET head_resident_id = $1, updated_at = $2 WHERE id = $3")
        .bind(resident)
        .bind(now)
        .bind(household)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
