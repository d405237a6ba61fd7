//! `wangge bench`: the speed of bulk import (from a plan and from CSV), of the area summary and
//! of case intake over HTTP, on either engine. Each run builds its county in a fresh database
//! and drops it afterwards.

use std::time::Instant;

use clap::{Subcommand, ValueEnum};
use wangge_core::{Level, Scope};
use wangge_store::{AreaFilter, Page, Store, admin};

use crate::config::Settings;

#[derive(Subcommand)]
pub enum Bench {
    /// Build a synthetic county and report rows per second.
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        #[arg(long, value_enum, default_value_t = Engines::Both)]
        engine: Engines,
        #[command(flatten)]
        common: Common,
    },
    /// Import a synthetic county from CSV files (areas, houses, households, residents), timed
    /// against the bulk import of the same county in the same run; reports the peak RSS of the
    /// CSV import.
    ImportCsv {
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        #[arg(long, value_enum, default_value_t = Engines::Both)]
        engine: Engines,
        /// Write the CSV files into this folder and keep them (to import them again with
        /// `wangge import`, in a process of its own).
        #[arg(long)]
        keep_csv: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Build a synthetic county, then time the area summary at county, town and grid level.
    Summary {
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        #[arg(long, value_enum, default_value_t = Engines::Both)]
        engine: Engines,
        /// Summaries per level.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Build a synthetic county, serve it on loopback, and take cases from concurrent HTTP
    /// clients: durable cases per second and latency; then time the queue and open-case lists.
    Intake {
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        #[arg(long, value_enum, default_value_t = Engines::Both)]
        engine: Engines,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Before timing the lists, copy the taken cases until the database holds this many
        /// (one in twenty of the copies open, the rest closed).
        #[arg(long, default_value_t = 1_000_000)]
        cases: i64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// A PostgreSQL URL on whose server a scratch database is made and dropped.
    #[arg(long, env = "WANGGE_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres_url: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Engines {
    Sqlite,
    Postgres,
    Both,
}

impl Engines {
    fn list(self) -> Vec<&'static str> {
        match self {
            Engines::Sqlite => vec!["sqlite"],
            Engines::Postgres => vec!["postgres"],
            Engines::Both => vec!["sqlite", "postgres"],
        }
    }
}

/// A scratch database of one engine, removed on `finish`.
struct Scratch {
    url: String,
    file: Option<std::path::PathBuf>,
    pg: Option<(String, String)>,
}

impl Scratch {
    async fn new(engine: &str, settings: &Settings, common: &Common) -> anyhow::Result<Scratch> {
        let name = format!("wangge_bench_{}", std::process::id());
        if engine == "sqlite" {
            let url = settings.sqlite_url(&format!("{name}.db"))?;
            let file = settings.data_dir.join(format!("{name}.db"));
            remove_sqlite(&file);
            Ok(Scratch { url, file: Some(file), pg: None })
        } else {
            let url = admin::create_postgres_database(&common.postgres_url, &name).await?;
            Ok(Scratch { url, file: None, pg: Some((common.postgres_url.clone(), name)) })
        }
    }

    async fn finish(self) -> anyhow::Result<()> {
        if let Some(f) = &self.file {
            remove_sqlite(f);
        }
        if let Some((admin_url, name)) = &self.pg {
            admin::drop_postgres_database(admin_url, name).await?;
        }
        Ok(())
    }
}

fn remove_sqlite(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = file.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

async fn build(
    engine: &str,
    residents: usize,
    settings: &Settings,
    common: &Common,
) -> anyhow::Result<(Scratch, Store, f64)> {
    let started = Instant::now();
    let plan = wangge_demo::synthetic_county(residents, common.seed);
    let generated = started.elapsed().as_secs_f64();
    let scratch = Scratch::new(engine, settings, common).await?;
    let config = settings.server_config(None)?;
    let store = Store::open(&scratch.url, config.store_options()).await?;
    let report = store.load_plan(&plan, &mut crate::progress_line()).await?;
    drop(plan);
    eprintln!();
    println!(
        "{engine:<8} import: {} residents, {} households, {} houses, {} areas; {} rows in {:.2} s = {:.0} rows/s \
         (residents {:.0}/s); generating the county took {:.2} s",
        report.residents,
        report.households,
        report.houses,
        report.areas,
        report.rows(),
        report.seconds,
        report.rows() as f64 / report.seconds,
        report.residents as f64 / report.seconds,
        generated
    );
    let phases: Vec<String> = report.phases.iter().map(|(p, t)| format!("{p} {t:.2}")).collect();
    println!("{engine:<8} phases (s): {}", phases.join(", "));
    Ok((scratch, store, report.seconds))
}

pub async fn run(bench: Bench, settings: &Settings) -> anyhow::Result<()> {
    match bench {
        Bench::Import { residents, engine, common } => {
            for e in engine.list() {
                let (scratch, store, _) = build(e, residents, settings, &common).await?;
                store.close().await;
                scratch.finish().await?;
            }
        }
        Bench::Intake { residents, engine, clients, seconds, cases, common } => {
            for e in engine.list() {
                let (scratch, store, _) = build(e, residents, settings, &common).await?;
                intake::run(e, &store, clients, seconds, cases).await?;
                store.close().await;
                scratch.finish().await?;
            }
        }
        Bench::ImportCsv { residents, engine, keep_csv, common } => {
            for e in engine.list() {
                import_csv(e, residents, keep_csv.as_deref(), settings, &common).await?;
            }
        }
        Bench::Summary { residents, engine, iterations, common } => {
            for e in engine.list() {
                let (scratch, store, _) = build(e, residents, settings, &common).await?;
                let scope = Scope::everything();
                for level in [Level::County, Level::Town, Level::Community, Level::Grid] {
                    let filter = AreaFilter { level: Some(level), ..AreaFilter::default() };
                    let areas = store.list_areas(&scope, &filter, Page::new(None, Some(50))?).await?;
                    anyhow::ensure!(!areas.items.is_empty(), "no {} in the county", level.as_str());
                    let mut times = Vec::with_capacity(iterations);
                    for i in 0..iterations {
                        let area = &areas.items[i % areas.items.len()];
                        let t = Instant::now();
                        let s = store.area_summary(&scope, area.id).await?;
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                        std::hint::black_box(s);
                    }
                    times.sort_by(f64::total_cmp);
                    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
                    println!(
                        "{e:<8} summary {:<9}: p50 {:.3} ms, p99 {:.3} ms over {iterations} runs",
                        level.as_str(),
                        pct(0.5),
                        pct(0.99)
                    );
                }
                store.close().await;
                scratch.finish().await?;
            }
        }
    }
    Ok(())
}

/// The process's peak resident set (VmHWM) in MiB, from /proc.
fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

/// A size from /proc/self/status in MiB.
fn status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak resident set, so that the next phase's peak is its own (Linux 4.0+).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn import_csv(
    engine: &str,
    residents: usize,
    keep: Option<&std::path::Path>,
    settings: &Settings,
    common: &Common,
) -> anyhow::Result<()> {
    use wangge_core::Caller;
    use wangge_store::SheetKind;
    // The foundation's bulk import of the county, the yardstick.
    let (scratch, store, bulk_seconds) = build(engine, residents, settings, common).await?;
    store.close().await;
    // Its registry as CSV files, ID numbers and phones in clear.
    let temp = tempfile::tempdir()?;
    let dir = match keep {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d
        }
        None => temp.path(),
    };
    let store = Store::open(&scratch.url, settings.server_config(None)?.store_options()).await?;
    let t = Instant::now();
    let mut files = Vec::new();
    for kind in [SheetKind::Areas, SheetKind::Houses, SheetKind::Households, SheetKind::Residents] {
        let path = dir.join(format!("{}.csv", kind.as_str()));
        let out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let purpose = Some("benchmark");
        let spec = wangge_data::ExportSpec {
            kinds: &[kind],
            within: None,
            purpose,
            filter: None,
            format: wangge_data::Format::Csv,
        };
        wangge_data::export(&store, &Caller::system(), &spec, out, &mut |_, _| {}).await?;
        files.push(path);
    }
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    println!("{engine:<8} export to CSV: {:.2} s, {:.0} MiB", t.elapsed().as_secs_f64(), bytes as f64 / 1048576.0);
    store.close().await;
    scratch.finish().await?;

    // The same county imported from the files into an empty database.
    let scratch = Scratch::new(engine, settings, common).await?;
    let store = Store::open(&scratch.url, settings.server_config(None)?.store_options()).await?;
    let reset = reset_peak_rss();
    // What the process holds before the import (freed memory the allocator keeps included).
    let before = status_mib("VmRSS:");
    let started = Instant::now();
    let mut sheets = Vec::new();
    for f in &files {
        sheets.extend(wangge_data::read_file(f, None)?);
    }
    let read = started.elapsed().as_secs_f64();
    // Seconds per stage of the progress (tables loaded in batches add up).
    let mut stages: Vec<(String, f64)> = Vec::new();
    let mut mark = (String::new(), Instant::now());
    let mut line = crate::progress_line();
    let end_stage =
        |stages: &mut Vec<(String, f64)>, mark: &(String, Instant)| match stages.iter_mut().find(|(n, _)| *n == mark.0)
        {
            Some(s) => s.1 += mark.1.elapsed().as_secs_f64(),
            None => stages.push((mark.0.clone(), mark.1.elapsed().as_secs_f64())),
        };
    let mut progress = |t: &str, n: usize| {
        if t != mark.0 {
            end_stage(&mut stages, &mark);
            mark = (t.to_string(), Instant::now());
        }
        line(t, n);
    };
    let report =
        store.import(&Caller::system(), None, sheets, wangge_store::ImportOptions::default(), &mut progress).await?;
    end_stage(&mut stages, &mark);
    eprintln!();
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.written && report.bulk && !report.has_errors(),
        "the CSV import did not go through the bulk loader"
    );
    let created = report.counts.get("residents").map_or(0, |c| c.created);
    println!(
        "{engine:<8} import-csv: {created} residents from {:.0} MiB of CSV in {seconds:.2} s (reading {read:.2} s, checking and \
         loading {:.2} s) = {:.2}x the bulk import's {bulk_seconds:.2} s; peak RSS {}",
        bytes as f64 / 1048576.0,
        seconds - read,
        seconds / bulk_seconds,
        match (reset, peak_rss_mib()) {
            (true, Some(m)) => format!("{m:.0} MiB"),
            (false, Some(m)) => format!("{m:.0} MiB (the whole run's: the peak could not be reset)"),
            _ => "unknown".into(),
        }
    );
    let stages: Vec<String> = stages.iter().skip(1).map(|(p, t)| format!("{p} {t:.2}")).collect();
    println!(
        "{engine:<8} import stages (s): reading {read:.2}, {}; resident set before the import {}",
        stages.join(", "),
        before.map_or_else(|| "unknown".into(), |m| format!("{m:.0} MiB"))
    );
    store.close().await;
    scratch.finish().await?;
    Ok(())
}

mod intake {
    //! Concurrent intake through the real HTTP server, with a small keep-alive HTTP/1.1
    //! client so that the benchmark measures the server rather than a client library.

    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;
    use wangge_core::{Caller, Level, PostKind, Scope};
    use wangge_store::{AreaFilter, CaseFilter, NewAccount, NewPost, Page, Store};

    struct Conn {
        reader: BufReader<TcpStream>,
    }

    impl Conn {
        async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Conn> {
            let s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            Ok(Conn { reader: BufReader::new(s) })
        }

        /// One POST; the status once the whole answer has arrived.
        async fn post(&mut self, path: &str, token: &str, body: &str) -> anyhow::Result<u16> {
            let req = format!(
                "POST {path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {token}\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            self.reader.get_mut().write_all(req.as_bytes()).await?;
            let mut line = String::new();
            self.reader.read_line(&mut line).await?;
            let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut len = 0usize;
            loop {
                line.clear();
                self.reader.read_line(&mut line).await?;
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse()?;
                }
            }
            let mut body = vec![0u8; len];
            self.reader.read_exact(&mut body).await?;
            Ok(status)
        }
    }

    pub async fn run(engine: &str, store: &Store, clients: usize, seconds: u64, cases: i64) -> anyhow::Result<()> {
        // A hotline agent over the whole county, with an API token.
        let system = Caller::system();
        let all = Scope::everything();
        let f = AreaFilter { level: Some(Level::County), ..AreaFilter::default() };
        let county = store.list_areas(&all, &f, Page::new(None, Some(1))?).await?.items[0].id;
        let login = NewAccount { login: "bench.agent".into(), display_name: "bench".into(), ..NewAccount::default() };
        let (acct, _) = store.create_account(&system, login).await?;
        let post = NewPost {
            account_id: acct.id,
            area_id: Some(county),
            kind: PostKind::HotlineAgent,
            is_primary: true,
            title: None,
            started_on: None,
        };
        let post = store.appoint(&system, post).await?;
        let (_, token) = store.create_api_token(&system, post.id, "bench").await?;
        // Households spread over the county, each unit with its chief, so that every case
        // has an owner and the owner's queue is a real one.
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM households").fetch_one(store.pool()).await?;
        let sample: Vec<(String, i64)> =
            sqlx::query_as("SELECT code, unit_id FROM households WHERE id % $1 = 0 ORDER BY id LIMIT 200")
                .bind((n / 200).max(1))
                .fetch_all(store.pool())
                .await?;
        let chief = NewAccount { login: "bench.chief".into(), display_name: "bench".into(), ..NewAccount::default() };
        let (chief, _) = store.create_account(&system, chief).await?;
        let mut units: Vec<i64> = sample.iter().map(|(_, u)| *u).collect();
        units.sort_unstable();
        units.dedup();
        for unit in &units {
            let post = NewPost {
                account_id: chief.id,
                area_id: Some(*unit),
                kind: PostKind::UnitChief,
                is_primary: true,
                title: None,
                started_on: None,
            };
            store.appoint(&system, post).await?;
        }
        let codes: Vec<String> = sample.into_iter().map(|(c, _)| c).collect();
        let state = wangge_server::AppState {
            store: store.clone(),
            session_ttl_seconds: 3600,
            secure_cookies: false,
            gateway: None,
            public_url: None,
        };
        let app = wangge_server::build_with_state(state, std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = app.local_addr();
        let server = app.spawn();

        if engine == "sqlite" {
            println!("{engine:<8} the log before the intake: {:.1} MiB", log_mib(store).await?);
        }
        let token = Arc::new(token);
        let codes = Arc::new(codes);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (token, codes) = (token.clone(), codes.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = Conn::open(addr).await?;
                let mut times = Vec::new();
                let mut failed = 0u64;
                let mut n = 0usize;
                while Instant::now() < deadline {
                    n += 1;
                    let body = format!(
                        r#"{{"category":"parking","channel":"hotline","description":"bench {c}-{n}","reporter":{{"kind":"anonymous"}},"household_code":"{}"}}"#,
                        codes[(c * 7919 + n) % codes.len()]
                    );
                    let t = Instant::now();
                    let status = conn.post("/api/v1/cases", &token, &body).await?;
                    if (200..300).contains(&status) {
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failed += 1;
                    }
                }
                anyhow::Ok((times, failed))
            }));
        }
        let started = Instant::now();
        let mut times = Vec::new();
        let mut failed = 0;
        for t in tasks {
            let (t, f) = t.await??;
            times.extend(t);
            failed += f;
        }
        let elapsed = started.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
        println!(
            "{engine:<8} intake: {} durable cases in {elapsed:.1} s = {:.0} cases/s with {clients} clients; \
             latency p50 {:.1} ms, p99 {:.1} ms; {failed} refused",
            times.len(),
            times.len() as f64 / elapsed,
            pct(0.5),
            pct(0.99)
        );
        let w = store.group_commits();
        if w.commits > 0 {
            let per = |ms: f64| ms / w.bodies as f64;
            println!(
                "{engine:<8} group commit: {} intakes in {} commits, {:.1} a commit, {} syncs of the log; the \
                 writer's time an intake: begin {:.3} ms, body {:.3} ms, kept writes {:.3} ms, commit {:.3} ms; \
                 syncing beside it {:.3} ms; {} checkpoints beside it, {} by the writer",
                w.bodies,
                w.commits,
                w.bodies as f64 / w.commits as f64,
                w.syncs,
                per(w.begin_ms),
                per(w.body_ms),
                per(w.end_ms),
                per(w.commit_ms),
                per(w.sync_ms),
                w.checkpoints,
                w.own_checkpoints
            );
            // Checkpoints must keep copying the log back and starting it again under load.
            println!("{engine:<8} the log after the intake: {:.1} MiB", log_mib(store).await?);
        }

        server.abort();
        let t = Instant::now();
        let total = fill(store, cases).await?;
        println!("{engine:<8} copied the cases up to {total} in {:.1} s", t.elapsed().as_secs_f64());

        // The lists, now that the cases are in.
        let agent = store.caller_for_api_token(&token).await?.expect("the agent's token");
        // The town with the most open cases.
        let towns = store
            .list_areas(
                &all,
                &AreaFilter { level: Some(Level::Town), ..AreaFilter::default() },
                Page::new(None, Some(100))?,
            )
            .await?
            .items;
        let mut town = (0, towns[0].id);
        for t in &towns {
            let open = CaseFilter { within: Some(t.id), open: true, ..Default::default() };
            let n = store.list_cases(&agent, &open, Page::new(None, Some(1))?).await?.total;
            town = town.max((n, t.id));
        }
        let town = town.1;
        // The town's own hotline desk, whose scope is the town: its list is the OR of the
        // cases the town owns and those in its area.
        let desk = NewPost {
            account_id: acct.id,
            area_id: Some(town),
            kind: PostKind::HotlineAgent,
            is_primary: false,
            title: None,
            started_on: None,
        };
        let desk = store.appoint(&system, desk).await?;
        let desk = store.caller_for_post(acct.id, desk.id).await?.expect("the town desk's post");
        // The queue of the owner with the most open cases.
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT owner_post_id FROM cases WHERE owner_post_id IS NOT NULL AND state NOT IN ('void', 'closed') \
             GROUP BY owner_post_id ORDER BY count(*) DESC, owner_post_id LIMIT 1",
        )
        .fetch_optional(store.pool())
        .await?;
        let owner = owner.ok_or_else(|| anyhow::anyhow!("no open case has an owner: the queue cannot be timed"))?;
        // The owner reads their own queue, as a unit chief does on the phone.
        let holder: i64 = sqlx::query_scalar("SELECT account_id FROM posts WHERE id = $1")
            .bind(owner)
            .fetch_one(store.pool())
            .await?;
        let chief = store.caller_for_post(holder, owner).await?.expect("the owner's post");
        for (name, who, filter) in [
            (
                "owner queue",
                &chief,
                CaseFilter { mine: true, open: true, sort: Some("c.due_at".into()), ..Default::default() },
            ),
            ("town open cases", &agent, CaseFilter { within: Some(town), open: true, ..Default::default() }),
            ("town desk's open cases", &desk, CaseFilter { open: true, ..Default::default() }),
        ] {
            let mut t = Vec::new();
            for _ in 0..200 {
                let s = Instant::now();
                std::hint::black_box(store.list_cases(who, &filter, Page::new(None, Some(20))?).await?);
                t.push(s.elapsed().as_secs_f64() * 1000.0);
            }
            t.sort_by(f64::total_cmp);
            let total = store.list_cases(who, &filter, Page::new(None, Some(1))?).await?.total;
            println!(
                "{engine:<8} {name} ({total} open cases): p50 {:.2} ms, p99 {:.2} ms (first page of 20 with the count)",
                t[100], t[197]
            );
        }
        Ok(())
    }

    /// The size of SQLite's log (the `-wal` file).
    async fn log_mib(store: &Store) -> anyhow::Result<f64> {
        Ok(store.log_size().await?.unwrap_or(0) as f64 / 1048576.0)
    }

    /// Doubles the cases table by copying until it holds `target` rows: the copies keep
    /// their owner, area and category, and all but one in twenty are closed, as in a county
    /// that has worked for years. Lists read no events, so none are copied.
    async fn fill(store: &Store, target: i64) -> anyhow::Result<i64> {
        let pool = store.pool();
        let mut round = 0;
        loop {
            let (n, max): (i64, i64) =
                sqlx::query_as("SELECT count(*), COALESCE(max(id), 0) FROM cases").fetch_one(pool).await?;
            if n >= target || n == 0 {
                if store.engine() == wangge_store::Engine::Postgres {
                    // What autovacuum would do soon after such a load.
                    sqlx::query("ANALYZE cases").execute(pool).await?;
                } else {
                    // The copies leave hundreds of megabytes of log that every read would search;
                    // a county's own commits are small and checkpointed as they go.
                    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
                    // What the server's hourly refresh would do after such growth.
                    store.refresh_statistics().await?;
                }
                return Ok(n);
            }
            round += 1;
            let limit = target - n;
            let sql = format!(
                "INSERT INTO cases (county_id, grid_id, number, state, category_code, is_private, severity, channel, \
                 description, answers, area_id, area_path, house_id, household_id, lat, lng, routing_note, owner_post_id, \
                 owner_area_id, owner_path, owner_level, due_at, warn_at, respond_due, close_due, escalation_level, \
                 paused_at, parent_id, reporters, priority, machine, follow_token_hash, created_at, updated_at, closed_at) \
                 SELECT county_id, grid_id, number || '-{round}-' || id, \
                 CASE WHEN id % 20 = 0 THEN state ELSE 'closed' END, category_code, is_private, severity, channel, \
                 description, answers, area_id, area_path, house_id, household_id, lat, lng, routing_note, owner_post_id, \
                 owner_area_id, owner_path, owner_level, CASE WHEN id % 20 = 0 THEN due_at END, \
                 CASE WHEN id % 20 = 0 THEN warn_at END, respond_due, close_due, escalation_level, paused_at, NULL, \
                 reporters, priority, machine, NULL, created_at, updated_at, \
                 CASE WHEN id % 20 = 0 THEN NULL ELSE created_at END \
                 FROM cases WHERE id <= {max} ORDER BY id LIMIT {limit}"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
        }
    }
}
