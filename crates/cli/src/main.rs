//! The `wangge` command. Thin: it reads the configuration and calls the libraries.

mod bench;
mod config;
mod data;

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wangge_core::{Caller, PostKind, Scope};
use wangge_store::{NewAccount, NewPost, Store};

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
    /// Manage accounts of people in charge.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Import areas, houses, households and residents from CSV or XLSX files.
    Import(data::ImportArgs),
    /// Export the registry (and posts) to an XLSX or CSV file.
    Export(data::ExportArgs),
    /// Set areas' boundaries from a GeoJSON file, with a report of gaps and overlaps.
    Boundaries(data::BoundaryArgs),
    /// Measure the speed of the storage engines.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account, optionally appointed to a post; prints its one-time password.
    Add {
        #[arg(long)]
        login: String,
        /// The person's name as shown to others.
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        /// A post kind: admin, station_chief, grid_chief, grid_member, unit_chief, hotline_agent, …
        #[arg(long, requires = "area")]
        post: Option<String>,
        /// The standard code of the area of the post.
        #[arg(long, requires = "post")]
        area: Option<String>,
    },
    /// Disable an account; its sessions end at once.
    Disable { login: String },
    /// Give an account a new one-time password; its sessions end.
    ResetPassword { login: String },
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
        Command::Serve => {
            let config = settings.server_config(None)?;
            first_admin(&config).await?;
            serve(config).await
        }
        Command::User { action } => user(action, &settings).await,
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
                let county = store
                    .list_areas(&Scope::everything(), &Default::default(), wangge_store::Page::new(None, Some(1))?)
                    .await?;
                let password = settings.demo_password(&name)?;
                let people = store.seed_demo_people(county.items[0].id, &password).await?;
                eprintln!(
                    "appointed {} people in charge ({} posts left vacant on purpose); party overlay: {} organisations, \
                     {} members, {} contact households, {} co-building units",
                    people.accounts,
                    people.gaps,
                    people.party.organisations,
                    people.party.members,
                    people.party.contacts,
                    people.party.co_building_units
                );
                let cases = store.seed_demo_cases(county.items[0].id).await?;
                eprintln!(
                    "cases: {} ({} closed, {} open, {} escalations), {} events",
                    cases.cases, cases.closed, cases.open, cases.escalations, cases.events
                );
                let rooms = store.seed_demo_rooms().await?;
                eprintln!(
                    "living rooms: {} rooms, {} meetings, {} decisions ({} followed up by cases), {} mediations, \
                     {} visits, {} notices",
                    rooms.rooms,
                    rooms.meetings,
                    rooms.decisions,
                    rooms.follow_ups,
                    rooms.mediations,
                    rooms.visits,
                    rooms.notices
                );
                let services = store.seed_demo_services(county.items[0].id, &password).await?;
                eprintln!(
                    "services: {} volunteers in {} team(s), {} points rules, {} wishes ({} fulfilled), {} points issued, \
                     {} redemption(s); volunteer sign-in: {}",
                    services.volunteers,
                    services.teams,
                    services.rules,
                    services.wishes,
                    services.wishes_fulfilled,
                    services.points_issued,
                    services.redemptions,
                    services.volunteer_login
                );
                let stars = store.seed_demo_stars(county.items[0].id).await?;
                eprintln!(
                    "star households: {} assessed, {} published, {} revoked; {} households in the published ranking",
                    stars.ratings, stars.published, stars.revoked, stars.ranked
                );
                let pending = store.seed_demo_registrations("圣泉社区").await?;
                eprintln!("{pending} self-registrations from house QR plates wait for review in 圣泉社区");
                let sent = store.seed_demo_open311(county.items[0].id, &password).await?;
                eprintln!("the 12345 platform's Open311 integration sent {sent} reports");
            }
            let password = settings.demo_password(&name)?;
            eprintln!(
                "sign in as county-350322 (county), town-350322100 (鲤南镇), station-350322100001 (圣泉社区), \
                 grid-350322100001001 or unit-350322100001001001, with the password {password}"
            );
            eprintln!(
                "Open311 GeoReport v2 is at /open311/v2 (discovery.json); the 12345 platform's api_key is {}",
                wangge_store::demo_open311_key(&password)
            );
            store.close().await;
            if no_serve {
                return Ok(());
            }
            serve(config).await
        }
        Command::Bench { what } => bench::run(what, &settings).await,
        Command::Import(args) => {
            if data::import(args, &settings).await? {
                Ok(())
            } else {
                std::process::exit(2)
            }
        }
        Command::Export(args) => data::export(args, &settings).await,
        Command::Boundaries(args) => {
            if data::boundaries(args, &settings).await? {
                Ok(())
            } else {
                std::process::exit(2)
            }
        }
    }
}

/// On a deployment without accounts, creates the first administrator (of the whole
/// deployment) with a password from WANGGE_ADMIN_PASSWORD or a one-time one, printed once.
async fn first_admin(config: &wangge_server::Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url, config.store_options()).await?;
    if store.count_accounts().await? == 0 {
        let given = std::env::var("WANGGE_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
        let new = NewAccount {
            login: "admin".into(),
            display_name: "管理员 Administrator".into(),
            password: given.clone(),
            ..NewAccount::default()
        };
        let (account, one_time) = store.create_account(&Caller::system(), new).await?;
        let post = NewPost {
            account_id: account.id,
            area_id: None,
            kind: PostKind::Admin,
            is_primary: true,
            title: None,
            started_on: None,
        };
        store.appoint(&Caller::system(), post).await?;
        match one_time {
            Some(p) => eprintln!(
                "created the first administrator: login admin, one-time password {p} (change it at first sign-in)"
            ),
            None => eprintln!("created the first administrator: login admin, password from WANGGE_ADMIN_PASSWORD"),
        }
    }
    store.close().await;
    Ok(())
}

async fn user(action: UserAction, settings: &Settings) -> anyhow::Result<()> {
    let config = settings.server_config(None)?;
    let store = Store::open(&config.database_url, config.store_options()).await?;
    let system = Caller::system();
    match action {
        UserAction::Add { login, name, phone, post, area } => {
            let post = match (post, area) {
                (Some(kind), Some(code)) => {
                    let kind = PostKind::parse(&kind).with_context(|| format!("unknown post kind {kind}"))?;
                    let filter = wangge_store::AreaFilter { code: Some(code.clone()), ..Default::default() };
                    let found = store
                        .list_areas(&Scope::everything(), &filter, wangge_store::Page::new(None, Some(1))?)
                        .await?;
                    let area = found.items.first().with_context(|| format!("no open area has the code {code}"))?;
                    Some((kind, area.id))
                }
                _ => None,
            };
            let new = NewAccount { login, display_name: name, phone, ..NewAccount::default() };
            let (account, one_time) = store.create_account(&system, new).await?;
            if let Some((kind, area_id)) = post {
                let p = NewPost {
                    account_id: account.id,
                    area_id: Some(area_id),
                    kind,
                    is_primary: true,
                    title: None,
                    started_on: None,
                };
                store.appoint(&system, p).await?;
            }
            println!(
                "created {} (account {}); one-time password: {}",
                account.login,
                account.id,
                one_time.unwrap_or_default()
            );
        }
        UserAction::Disable { login } => {
            let account = store.account_by_login(&login).await?;
            store.disable_account(&system, account.id).await?;
            println!("disabled {login}; its sessions have ended");
        }
        UserAction::ResetPassword { login } => {
            let account = store.account_by_login(&login).await?;
            let p = store.reset_password(&system, account.id).await?;
            println!("new one-time password for {login}: {p}");
        }
    }
    store.close().await;
    Ok(())
}

async fn serve(config: wangge_server::Config) -> anyhow::Result<()> {
    let app = wangge_server::build(&config).await.context("starting the server")?;
    let addr = app.local_addr();
    eprintln!(
        "Wangge is serving http://{addr}/ : open it in a browser to sign in (API at http://{addr}/api/v1/openapi.json); \
         Ctrl-C stops it"
    );
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
