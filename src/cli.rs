//! The `cosell` command line: serve, migrate, token, schema.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::auth::jwt::{self, Claims, Verifier};
use crate::auth::principal::KNOWN_SCOPES;
use crate::auth::PrincipalKind;
use crate::config::{DatabaseArgs, JwtArgs, ServeConfig, DEV_JWT_SECRET};
use crate::db::{self, StatementCounter};
use crate::ids::{self, Kind};
use crate::{demo, telemetry, AppState};

/// cosell: the GraphQL co-selling API for vendor partner ecosystems.
#[derive(Parser, Debug)]
#[command(name = "cosell", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
// Parsed once at start: the serve variant's size does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Run the API server (creates and migrates the database first).
    Serve {
        /// Also load the demo data set and print ready-to-use tokens.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        config: ServeConfig,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Mint a development HS256 token; prints the token alone on the last line.
    Token(TokenArgs),
    /// Write a large, consistent partner program into an empty database, for measuring at
    /// realistic size: with stage history and each account's contact network (about 15
    /// contacts, 7 links and 5 engagements an account), but no events.
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Partners (at least 8).
        #[arg(long, default_value_t = 200)]
        partners: u64,
        /// Customer accounts.
        #[arg(long, default_value_t = 20_000)]
        accounts: u64,
        /// Opportunities, spread over the accounts and every stage.
        #[arg(long, default_value_t = 200_000)]
        opportunities: u64,
        /// Registrations, up to eight per opportunity, every status.
        #[arg(long, default_value_t = 1_000_000)]
        registrations: u64,
    },
    /// Print the GraphQL schema (SDL).
    Schema {
        /// Compare with this file instead of printing; fails when they differ.
        #[arg(long)]
        check: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct TokenArgs {
    /// A vendor staff token (with --role ADMIN, CHANNEL_MANAGER or SALES).
    #[arg(long, conflicts_with_all = ["partner", "app"])]
    vendor: bool,
    /// A partner token for this partner ID (with --role PARTNER_ADMIN or PARTNER_REP); with
    /// --app, the partner the app acts for.
    #[arg(long)]
    partner: Option<String>,
    /// An app token with this app id (with --scope; acts for the vendor unless --partner).
    #[arg(long)]
    app: Option<String>,
    /// The role: ADMIN, CHANNEL_MANAGER, SALES (vendor) or PARTNER_ADMIN, PARTNER_REP (partner).
    #[arg(long)]
    role: Option<String>,
    /// An app scope, e.g. opportunities:read (repeatable).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Lifetime, e.g. 90s, 30m, 12h, 7d.
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// The token's subject; defaults to a name derived from the principal.
    #[arg(long)]
    subject: Option<String>,
    /// Sign with the built-in development secret that `cosell serve` uses when unconfigured.
    #[arg(long)]
    insecure_dev_secret: bool,
    #[command(flatten)]
    jwt: JwtArgs,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(crate::pipeline::gate::on_worker_park)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Listens on `at`: an address (`0.0.0.0:8080`, `[::1]:8080`) or a host name and port
/// (`localhost:8080`), on the first address the name resolves to that accepts.
async fn bind(at: &str) -> Result<tokio::net::TcpListener, String> {
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(at)
        .await
        .map_err(|e| format!("cannot listen on {at}: {e} (give host:port, e.g. 127.0.0.1:8080)"))?
        .collect();
    let mut last = format!("cannot listen on {at}: the name resolves to no address");
    for addr in addrs {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last = format!("cannot listen on {at} ({addr}): {e}"),
        }
    }
    Err(last)
}

/// Runs one command.
async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { demo, config } => serve(config, demo).await,
        Command::Migrate { database } => migrate(&database).await,
        Command::Seed {
            database,
            partners,
            accounts,
            opportunities,
            registrations,
        } => {
            let size = crate::seed::Size {
                partners,
                accounts,
                opportunities,
                registrations,
            };
            seed(&database, size).await
        }
        Command::Token(args) => {
            let token = mint(&args)?;
            println!("{token}");
            Ok(())
        }
        Command::Schema { check } => schema(check),
    }
}

/// Connects to the database and migrates it; `cannot_open` words a failed connection.
async fn open_migrated(
    database: &DatabaseArgs,
    cannot_open: impl FnOnce(&dyn std::fmt::Display) -> String,
) -> Result<sea_orm::DatabaseConnection, String> {
    let url = &database.database_url;
    let conn = db::connect(
        url,
        database.database_max_connections,
        StatementCounter::default(),
    )
    .await
    .map_err(|e| db::scrubbed(&cannot_open(&e), url))?;
    db::migrate(&conn)
        .await
        .map_err(|e| db::scrubbed(&format!("migration failed: {e}"), url))?;
    Ok(conn)
}

/// `cosell migrate`.
async fn migrate(database: &DatabaseArgs) -> Result<(), String> {
    let url = &database.database_url;
    open_migrated(database, |e| {
        format!("cannot open {}: {e}", db::redacted(url))
    })
    .await?;
    println!("migrated {}", db::redacted(url));
    Ok(())
}

/// `cosell seed`.
async fn seed(database: &DatabaseArgs, size: crate::seed::Size) -> Result<(), String> {
    let conn = open_migrated(database, |e| format!("cannot open the database: {e}")).await?;
    let started = std::time::Instant::now();
    let done = crate::seed::run(&conn, size)
        .await
        .map_err(|e| e.message())?;
    println!(
        "seeded {} partners, {} accounts, {} opportunities ({} stage changes), {} registrations, \
         {} contacts, {} contact links, {} engagements in {:.1} s",
        done.size.partners,
        done.size.accounts,
        done.size.opportunities,
        done.stage_changes,
        done.size.registrations,
        done.network.contacts,
        done.network.contact_links,
        done.network.engagements,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cosell schema`: prints the SDL, or checks the file `check` against it.
fn schema(check: Option<PathBuf>) -> Result<(), String> {
    let sdl = crate::graphql::sdl();
    let Some(path) = check else {
        print!("{sdl}");
        return Ok(());
    };
    let on_disk = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if on_disk == sdl {
        Ok(())
    } else {
        Err(format!(
            "{} is stale: run `cosell schema > {}`",
            path.display(),
            path.display()
        ))
    }
}

async fn serve(config: ServeConfig, load_demo: bool) -> Result<(), String> {
    let telemetry = telemetry::init(config.log_format, config.otlp_endpoint.as_deref())?;
    let verifier = Verifier::from_config(&config.jwt, true).map_err(|e| e.to_string())?;
    if verifier.is_dev_secret {
        tracing::warn!(
            "NO JWT KEY CONFIGURED: using the built-in development secret. Anyone can mint tokens for this server. \
             NOT FIT FOR PRODUCTION: set COSELL_JWT_SECRET, COSELL_JWT_PUBLIC_KEY_FILE, COSELL_JWT_JWKS_FILE or COSELL_JWT_JWKS_URL."
        );
    }
    let counter = StatementCounter::default();
    let url = &config.database.database_url;
    let conn = db::connect_with(
        url,
        config.database.database_max_connections,
        std::time::Duration::from_millis(config.database.database_acquire_timeout_ms),
        counter.clone(),
    )
    .await
    .map_err(|e| {
        db::scrubbed(
            &format!("cannot open database {}: {e}", db::redacted(url)),
            url,
        )
    })?;
    db::migrate(&conn)
        .await
        .map_err(|e| db::scrubbed(&format!("migration failed: {e}"), url))?;
    let listener = bind(&config.listen).await?;
    let metrics_listener = match &config.http.metrics_listen {
        Some(at) => Some(bind(at).await?),
        None => None,
    };
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if load_demo {
        let loaded = demo::load(&conn)
            .await
            .map_err(|e| format!("loading the demo data failed: {}", e.message()))?;
        let secret = match &config.jwt.jwt_secret {
            Some(s) => Some(s.expose().to_string()),
            None if verifier.is_dev_secret => Some(DEV_JWT_SECRET.to_string()),
            None => None,
        };
        demo::print_welcome(&loaded, secret.as_deref(), &config.jwt, addr);
    }
    tracing::info!(%addr, graphiql = %format!("http://{addr}/graphiql"), "cosell is listening");
    let state = AppState::new(
        conn,
        verifier,
        config.limits,
        config.program,
        config.realtime,
        counter,
    )
    .with_http(config.http)?
    .with_webhooks(config.webhooks);
    crate::serve_with_metrics(listener, metrics_listener, state, crate::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    Ok(())
}

fn mint(a: &TokenArgs) -> Result<String, String> {
    let secret =
        match (&a.jwt.jwt_secret, a.insecure_dev_secret) {
            (Some(s), _) => s.expose().to_string(),
            (None, true) => DEV_JWT_SECRET.to_string(),
            (None, false) => return Err(
                "no signing secret configured: set COSELL_JWT_SECRET (or --jwt-secret), or pass \
                 --insecure-dev-secret to sign for a server running on the development secret"
                    .into(),
            ),
        };
    if secret.len() < 32 {
        return Err("COSELL_JWT_SECRET must be at least 32 bytes long".into());
    }
    let partner = match &a.partner {
        Some(p) => {
            Some(jwt::parse_partner_ref(p).ok_or_else(|| format!("`{p}` is not a partner ID"))?)
        }
        None => None,
    };
    let (kind, role, scope, default_subject) = if let Some(app) = &a.app {
        if let Some(bad) = a
            .scopes
            .iter()
            .find(|s| !KNOWN_SCOPES.contains(&s.as_str()))
        {
            return Err(format!(
                "unknown scope `{bad}`; known scopes: {}",
                KNOWN_SCOPES.join(", ")
            ));
        }
        (
            PrincipalKind::App,
            None,
            Some(a.scopes.join(" ")),
            format!("app:{app}"),
        )
    } else if let Some(id) = partner {
        let role = a.role.clone().unwrap_or_else(|| "PARTNER_REP".into());
        if !["PARTNER_ADMIN", "PARTNER_REP"].contains(&role.as_str()) {
            return Err("a partner token's --role is PARTNER_ADMIN or PARTNER_REP".into());
        }
        (
            PrincipalKind::Partner,
            Some(role),
            None,
            format!("partner-{id}-user"),
        )
    } else if a.vendor {
        let role = a.role.clone().unwrap_or_else(|| "ADMIN".into());
        if !["ADMIN", "CHANNEL_MANAGER", "SALES"].contains(&role.as_str()) {
            return Err("a vendor token's --role is ADMIN, CHANNEL_MANAGER or SALES".into());
        }
        let subject = format!("vendor-{}", role.to_lowercase());
        (PrincipalKind::Vendor, Some(role), None, subject)
    } else {
        return Err("say who the token is for: --vendor, --partner ID or --app ID".into());
    };
    let now = jwt::now();
    let claims = Claims {
        sub: a.subject.clone().unwrap_or(default_subject),
        kind,
        role,
        partner_id: partner.map(|id| ids::encode(Kind::Partner, id)),
        scope: scope.map(Into::into),
        scp: None,
        exp: now + crate::config::parse_ttl(&a.ttl)?,
        nbf: Some(now),
        iat: Some(now),
        iss: a.jwt.jwt_issuer.clone(),
        aud: a.jwt.jwt_audience.clone().into(),
    };
    jwt::mint_hs256(&claims, &secret).map_err(|e| format!("cannot sign the token: {e}"))
}
