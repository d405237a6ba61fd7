//! The `wangge` command. Thin: it reads the configuration and calls the libraries.

mod bench;
mod config;

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wangge_core::Scope;
use wangge_store::Store;

use crate::config::Settings;

#[derive(Parser)]
#[command(name = "wangge", version, about = "Wangge (网格): grid-based grassroots governance")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform.
    Serve,
    /// Build the demo county (once) in its own database and serve it.
    Demo {
        /// Seed of the generated households and residents.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Build a synthetic county of about this many residents instead of Xianyou County.
        #[arg(long)]
        residents: Option<usize>,
        /// Build the county and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Measure the speed of the storage engines.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt().with_max_level(cli.settings.log_level()).with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command {
        Command::Serve => serve(settings.server_config(None)?).await,
        Command::Migrate => {
            let config = settings.server_config(None)?;
            let store = Store::open(&config.database_url, config.store_options()).await?;
            println!("migrations applied ({:?})", store.engine());
            Ok(())
        }
        Command::Demo { seed, residents, no_serve } => {
            let name = match residents {
                Some(n) => format!("synthetic-{n}-{seed}.db"),
                None => format!("demo-{seed}.db"),
            };
            let config = settings.server_config(Some(&name))?;
            let store = Store::open(&config.database_url, config.store_options()).await?;
            let existing = store
                .list_areas(&Scope::everything(), &Default::default(), wangge_store::Page::new(None, Some(1))?)
                .await?;
            if existing.total > 0 {
                eprintln!("the demo county is already in {}; serving it", config.database_url);
            } else {
                let plan = match residents {
                    Some(n) => wangge_demo::synthetic_county(n, seed),
                    None => wangge_demo::demo_county(seed),
                };
                let report = store.load_plan(&plan, &mut progress_line()).await?;
                eprintln!(
                    "\nbuilt the county: {} areas, {} houses, {} households, {} residents in {:.2} s",
                    report.areas, report.houses, report.households, report.residents, report.seconds
                );
            }
            store.close().await;
            if no_serve {
                return Ok(());
            }
            serve(config).await
        }
        Command::Bench { what } => bench::run(what, &settings).await,
    }
}

async fn serve(config: wangge_server::Config) -> anyhow::Result<()> {
    let app = wangge_server::build(&config).await.context("starting the server")?;
    let addr = app.local_addr();
    eprintln!("Wangge is serving http://{addr}/ (API at http://{addr}/api/v1/openapi.json); Ctrl-C stops it");
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// A progress line on stderr for long loads: `table rows`, rewritten in place.
pub(crate) fn progress_line() -> impl FnMut(&str, usize) {
    let mut last = String::new();
    move |table: &str, rows: usize| {
        if table != last {
            if !last.is_empty() {
                eprintln!();
            }
            last = table.to_string();
        }
        eprint!("\r  {table:<14} {rows:>10} rows");
        let _ = std::io::stderr().flush();
    }
}
