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
) -> anyhow::Result<(Scratch, Store)> {
    let started = Instant::now();
    let plan = wangge_demo::synthetic_county(residents, common.seed);
    let generated = started.elapsed().as_secs_f64();
    let scratch = Scratch::new(engine, settings, common).await?;
    let config = settings.server_config(None)?;
    let store = Store::open(&scratch.url, config.store_options()).await?;
    let report = store.load_plan(&plan, &mut crate::progress_line()).await?;
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
    Ok((scratch, store))
}

pub async fn run(bench: Bench, settings: &Settings) -> anyhow::Result<()> {
    match bench {
        Bench::Import { residents, engine, common } => {
            for e in engine.list() {
                let (scratch, store) = build(e, residents, settings, &common).await?;
                store.close().await;
                scratch.finish().await?;
            }
        }
        Bench::Summary { residents, engine, iterations, common } => {
            for e in engine.list() {
                let (scratch, store) = build(e, residents, settings, &common).await?;
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
