//! `wangge bench`: the speed of bulk import and of the area summary, on either engine.
//! Each run builds its county in a fresh database and drops it afterwards.

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
        Bench::ImportCsv { residents, engine, common } => {
            for e in engine.list() {
                import_csv(e, residents, settings, &common).await?;
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
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak resident set, so that the next phase's peak is its own (Linux 4.0+).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn import_csv(engine: &str, residents: usize, settings: &Settings, common: &Common) -> anyhow::Result<()> {
    use wangge_core::Caller;
    use wangge_store::SheetKind;
    // The foundation's bulk import of the county, the yardstick.
    let (scratch, store, bulk_seconds) = build(engine, residents, settings, common).await?;
    store.close().await;
    // Its registry as CSV files, ID numbers and phones in clear.
    let dir = tempfile::tempdir()?;
    let store = Store::open(&scratch.url, settings.server_config(None)?.store_options()).await?;
    let t = Instant::now();
    let mut files = Vec::new();
    for kind in [SheetKind::Areas, SheetKind::Houses, SheetKind::Households, SheetKind::Residents] {
        let path = dir.path().join(format!("{}.csv", kind.as_str()));
        let out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let purpose = Some("benchmark");
        let spec = wangge_data::ExportSpec { kinds: &[kind], within: None, purpose, format: wangge_data::Format::Csv };
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
    let started = Instant::now();
    let mut sheets = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)?;
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        sheets.extend(wangge_data::read_sheets(&bytes, &name, None)?);
    }
    let read = started.elapsed().as_secs_f64();
    let report = store
        .import(&Caller::system(), None, &sheets, wangge_store::ImportOptions::default(), &mut crate::progress_line())
        .await?;
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
    store.close().await;
    scratch.finish().await?;
    Ok(())
}
