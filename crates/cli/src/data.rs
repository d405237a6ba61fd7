//! `wangge import` and `wangge export`: spreadsheets in and out on the command line, acting as
//! the deployment itself, with a progress bar on stderr and a summary on stdout.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use wangge_core::{Caller, Scope};
use wangge_data::Format;
use wangge_store::{AreaFilter, ImportOptions, ImportReport, ImportSheet, Page, SheetKind, Store};

use crate::config::Settings;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// CSV (UTF-8 or GB18030) or XLSX files; imported together, as one batch.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The kind of records of a CSV file whose name and header do not tell.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<SheetKind>,
    /// Check and report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the rows without errors even when other rows have some.
    #[arg(long)]
    good_rows_only: bool,
    /// Write the row errors to this CSV or XLSX file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Kinds of records (areas, houses, households, residents, posts); all of them by default.
    #[arg(long, value_parser = parse_kind)]
    kind: Vec<SheetKind>,
    /// Only the subtree of the area with this code.
    #[arg(long)]
    area: Option<String>,
    /// Write ID numbers and phones in clear, for this purpose (logged in the audit log).
    #[arg(long)]
    reveal: Option<String>,
    /// The file to write: `.xlsx` (a sheet per kind) or `.csv` (one kind).
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(clap::Args)]
pub struct BoundaryArgs {
    /// A GeoJSON FeatureCollection whose features carry the area's code in `properties.code`.
    file: PathBuf,
    /// Every area of the file must be inside the area with this code.
    #[arg(long)]
    area: Option<String>,
    /// Check and report, write nothing.
    #[arg(long)]
    dry_run: bool,
}

fn parse_kind(s: &str) -> Result<SheetKind, String> {
    SheetKind::parse(s).ok_or_else(|| format!("unknown kind {s:?}: areas, houses, households, residents or posts"))
}

/// A progress bar on stderr: `table [#####     ] rows`, redrawn in place.
pub fn progress_bar(total: usize) -> impl FnMut(&str, usize) + Send {
    let mut last = Instant::now();
    move |what: &str, n: usize| {
        if last.elapsed().as_millis() < 100 && n != total {
            return;
        }
        last = Instant::now();
        let width = 30;
        match (n.min(total) * width).checked_div(total) {
            Some(filled) => {
                eprint!("\r  {what:<14} [{}{}] {n:>9}", "#".repeat(filled), " ".repeat(width - filled))
            }
            // Of unknown length: a count only.
            None => eprint!("\r  {what:<14} {n:>9} rows"),
        }
        let _ = std::io::stderr().flush();
    }
}

pub async fn import(args: ImportArgs, settings: &Settings) -> anyhow::Result<bool> {
    let config = settings.server_config(None)?;
    let store = Store::open(&config.database_url, config.store_options()).await?;
    let started = Instant::now();
    let mut sheets: Vec<ImportSheet> = Vec::new();
    for f in &args.files {
        // CSV rows stay in their file until the import reads them.
        let read = wangge_data::read_file(f, args.kind);
        if let Err(wangge_data::DataError::Io(e)) = &read {
            anyhow::bail!("reading {}: {e}", f.display());
        }
        sheets.extend(read?);
    }
    let rows: usize = sheets.iter().map(|s| s.rows.len()).sum();
    eprintln!("read {rows} rows from {} sheet(s) in {:.2} s", sheets.len(), started.elapsed().as_secs_f64());
    let options = ImportOptions { dry_run: args.dry_run, good_rows_only: args.good_rows_only, ..Default::default() };
    let mut bar = progress_bar(rows);
    let report = store.import(&Caller::system(), None, sheets, options, &mut bar).await?;
    eprintln!();
    if let Some(path) = &args.report {
        let format = format_of(path)?;
        let out = std::io::BufWriter::new(std::fs::File::create(path)?);
        wangge_data::report(&report, format, out)?;
    }
    summary(&report, started.elapsed().as_secs_f64());
    store.close().await;
    Ok(!report.has_errors() || report.written)
}

fn summary(report: &ImportReport, seconds: f64) {
    for (kind, c) in &report.counts {
        println!(
            "{kind:<11} {:>9} rows: {} created, {} updated, {} unchanged, {} with errors",
            c.rows, c.created, c.updated, c.unchanged, c.failed
        );
    }
    for ch in report.changes.iter().take(20) {
        println!("  {} row {} ({}): {}", ch.sheet, ch.row, ch.key, ch.changes.join("; "));
    }
    if report.changes.len() > 20 {
        println!("  … and {} more updates", report.changes.len() - 20);
    }
    for e in report.errors.iter().take(50) {
        println!("  error: {} row {} {}: {}", e.sheet, e.row, e.field, e.message);
    }
    if report.errors.len() > 50 {
        println!("  … and {} more errors (--report FILE writes them all)", report.errors.len() - 50);
    }
    let what = match (report.dry_run, report.written) {
        (true, _) => "dry run: nothing written",
        (false, true) if report.bulk => "written (bulk load of a new county)",
        (false, true) => "written",
        (false, false) => "nothing written: fix the errors, or pass --good-rows-only",
    };
    println!("{what}; {:.2} s", seconds);
}

fn format_of(path: &std::path::Path) -> anyhow::Result<Format> {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(Format::parse)
        .with_context(|| format!("{}: name the file .csv or .xlsx", path.display()))
}

pub async fn export(args: ExportArgs, settings: &Settings) -> anyhow::Result<()> {
    let config = settings.server_config(None)?;
    let store = Store::open(&config.database_url, config.store_options()).await?;
    let started = Instant::now();
    let format = format_of(&args.output)?;
    let kinds = if args.kind.is_empty() { SheetKind::ALL.to_vec() } else { args.kind.clone() };
    let within = match &args.area {
        Some(code) => Some(area_by_code(&store, code).await?),
        None => None,
    };
    let out = std::io::BufWriter::new(std::fs::File::create(&args.output)?);
    let mut bar = progress_bar(0);
    let spec = wangge_data::ExportSpec { kinds: &kinds, within, purpose: args.reveal.as_deref(), filter: None, format };
    let rows = wangge_data::export(&store, &Caller::system(), &spec, out, &mut bar).await?;
    eprintln!();
    println!(
        "exported {rows} rows ({}) to {} in {:.2} s{}",
        kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
        args.output.display(),
        started.elapsed().as_secs_f64(),
        if args.reveal.is_some() { "; ID numbers and phones in clear, the reveal logged" } else { "" }
    );
    store.close().await;
    Ok(())
}

/// `wangge boundaries FILE`: sets areas' boundaries and reports bad features, gaps, overlaps
/// and children outside their parent. Returns whether the file had no bad feature.
pub async fn boundaries(args: BoundaryArgs, settings: &Settings) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {} (a UTF-8 GeoJSON file)", args.file.display()))?;
    let features =
        wangge_data::boundary::features(&text).map_err(|m| anyhow::anyhow!("{}: {m}", args.file.display()))?;
    let config = settings.server_config(None)?;
    let store = Store::open(&config.database_url, config.store_options()).await?;
    let within = match &args.area {
        Some(code) => Some(area_by_code(&store, code).await?),
        None => None,
    };
    let caller = Caller::system();
    let (ids, errors) = store.set_boundaries(&caller, within, &features, args.dry_run).await?;
    let report = wangge_server::api::data::boundary_report(&store, &caller, &features, &ids, args.dry_run, errors)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    store.close().await;
    for e in &report.errors {
        println!("feature {} ({}): {}", e.feature + 1, e.code.as_deref().unwrap_or("no code"), e.message);
    }
    for i in &report.issues {
        let other = i.other.as_deref().map(|o| format!(" and {o}")).unwrap_or_default();
        println!("{} {}{other}: {:.0} m², {:.2}%", i.kind, i.code, i.square_metres, i.share * 100.0);
    }
    let done = if report.written { "set" } else { "checked, nothing written" };
    println!(
        "{} boundaries {done}; {} bad features, {} gaps, overlaps or children outside their parent",
        report.areas,
        report.errors.len(),
        report.issues.len()
    );
    Ok(report.errors.is_empty())
}

async fn area_by_code(store: &Store, code: &str) -> anyhow::Result<i64> {
    let filter = AreaFilter { code: Some(code.to_string()), ..Default::default() };
    let found = store.list_areas(&Scope::everything(), &filter, Page::new(None, Some(1))?).await?;
    Ok(found.items.first().with_context(|| format!("no open area has the code {code}"))?.id)
}
