//! Typed configuration. Every setting is a flag and a `COSELL_*` environment variable (flags
//! win); defaults make `cosell serve` work with no configuration at all.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// A secret value that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

/// The development secret used when no key is configured. Announced loudly at start-up.
pub const DEV_JWT_SECRET: &str = "cosell-development-secret-NOT-FOR-PRODUCTION";

#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://path.db` (created if missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "COSELL_DATABASE_URL",
        default_value = "sqlite://cosell.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Largest number of pooled database connections.
    #[arg(long, env = "COSELL_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// Milliseconds a request waits for a database connection before it is answered
    /// SERVICE_UNAVAILABLE (503): well below the request timeout, so an outage fails fast.
    #[arg(
        long,
        env = "COSELL_DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value_t = 1_500
    )]
    pub database_acquire_timeout_ms: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
}

#[derive(Args, Debug, Clone)]
pub struct JwtArgs {
    /// Shared HS256 secret (at least 32 bytes). Development and simple deployments.
    #[arg(long, env = "COSELL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// PEM file with the RS256 or ES256 public key that verifies tokens.
    #[arg(long, env = "COSELL_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// JWKS document (JSON file) whose keys verify tokens, chosen by the token's `kid`.
    #[arg(long, env = "COSELL_JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<PathBuf>,
    /// An identity provider's JWKS URL (its `jwks_uri`, e.g.
    /// `https://YOUR_DOMAIN.auth0.com/.well-known/jwks.json`), read at start, every
    /// `--jwt-jwks-refresh-seconds` and when a token names an unknown key id, so that key
    /// rotation needs no restart. HTTPS (plain HTTP only to this machine).
    #[arg(long, env = "COSELL_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,
    /// Seconds between two reads of the JWKS URL.
    #[arg(long, env = "COSELL_JWT_JWKS_REFRESH_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwt_jwks_refresh_seconds: u64,
    /// The only algorithm accepted. Defaults to HS256 with a secret and RS256 with a key or JWKS.
    #[arg(long, env = "COSELL_JWT_ALGORITHM", value_enum)]
    pub jwt_algorithm: Option<JwtAlgorithm>,
    /// Required `iss` claim.
    #[arg(long, env = "COSELL_JWT_ISSUER", default_value = "cosell")]
    pub jwt_issuer: String,
    /// Required `aud` claim.
    #[arg(long, env = "COSELL_JWT_AUDIENCE", default_value = "cosell-api")]
    pub jwt_audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (0 to 60).
    #[arg(long, env = "COSELL_JWT_LEEWAY_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=60))]
    pub jwt_leeway_seconds: u64,
}

impl JwtArgs {
    /// Whether any verification key is configured.
    pub fn has_key(&self) -> bool {
        self.jwt_secret.is_some()
            || self.jwt_public_key_file.is_some()
            || self.jwt_jwks_file.is_some()
            || self.jwt_jwks_url.is_some()
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Deepest field nesting an operation may have, with fragments expanded. Introspection
    /// (`__schema`, `__type`) is measured by its own rule: at most two nested `fields`,
    /// `interfaces`, `possibleTypes` or `inputFields`.
    #[arg(long, env = "COSELL_MAX_DEPTH", default_value_t = 10)]
    pub max_depth: usize,
    /// Largest GraphQL document (the `query` text) in bytes, checked before it is parsed. Long
    /// values belong in variables, which only the body size bounds.
    #[arg(long, env = "COSELL_MAX_DOCUMENT_BYTES", default_value_t = 131_072)]
    pub max_document_bytes: usize,
    /// Most tokens (names, punctuators, values) in one document, counted before it is parsed.
    #[arg(long, env = "COSELL_MAX_TOKENS", default_value_t = 10_000)]
    pub max_tokens: usize,
    /// Deepest nesting of brackets in a document, of selections and fragment spreads once
    /// expanded, and of arrays and objects in the variables JSON.
    #[arg(long, env = "COSELL_MAX_NESTING", default_value_t = 32,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(4..=100))]
    pub max_nesting: usize,
    /// Longest name (field, alias, argument, fragment, variable) in a document.
    #[arg(long, env = "COSELL_MAX_NAME_LENGTH", default_value_t = 256)]
    pub max_name_length: usize,
    /// Most field selections in one document with every fragment spread expanded.
    #[arg(long, env = "COSELL_MAX_SELECTIONS", default_value_t = 5_000)]
    pub max_selections: usize,
    /// Most GraphQL HTTP requests this instance works on at once; more are answered 503 with
    /// `Retry-After` (load shedding) so memory and latency stay bounded under a flood.
    #[arg(long, env = "COSELL_MAX_IN_FLIGHT", default_value_t = 128,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_in_flight: usize,
    /// Highest complexity score a query may have (each field costs 1; connections multiply
    /// their children by the page size).
    #[arg(long, env = "COSELL_MAX_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,
    /// Most aliases in one document.
    #[arg(long, env = "COSELL_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most directives on one field or fragment.
    #[arg(long, env = "COSELL_MAX_DIRECTIVES", default_value_t = 10)]
    pub max_directives: usize,
    /// Most operations in one batched HTTP request.
    #[arg(long, env = "COSELL_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,
    /// Largest request body, in bytes.
    #[arg(long, env = "COSELL_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,
    /// Largest `first`/`last` page size (1 to 100).
    #[arg(long, env = "COSELL_MAX_PAGE_SIZE", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_page_size: u32,
    /// Page size when neither `first` nor `last` is given.
    #[arg(long, env = "COSELL_DEFAULT_PAGE_SIZE", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub default_page_size: u32,
    /// Longest time one GraphQL request may run, in milliseconds.
    #[arg(long, env = "COSELL_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Requests per minute one principal may make (0 turns the limit off).
    #[arg(long, env = "COSELL_RATE_LIMIT_PER_MINUTE", default_value_t = 12_000)]
    pub rate_limit_per_minute: u32,
    /// Turn schema introspection off (on by default).
    #[arg(long, env = "COSELL_DISABLE_INTROSPECTION", value_parser = clap::builder::BoolishValueParser::new())]
    pub disable_introspection: bool,
    /// Turn "did you mean" field suggestions off (on by default).
    #[arg(long, env = "COSELL_DISABLE_SUGGESTIONS", value_parser = clap::builder::BoolishValueParser::new())]
    pub disable_suggestions: bool,
}

impl LimitArgs {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_document_bytes: 131_072,
            max_tokens: 10_000,
            max_nesting: 32,
            max_name_length: 256,
            max_selections: 5_000,
            max_in_flight: 128,
            max_complexity: 5000,
            max_aliases: 30,
            max_directives: 10,
            max_batch: 10,
            max_body_bytes: 1_048_576,
            max_page_size: 100,
            default_page_size: 20,
            request_timeout_ms: 10_000,
            rate_limit_per_minute: 12_000,
            disable_introspection: false,
            disable_suggestions: false,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ProgramArgs {
    /// Hours a submitted registration may wait for a decision before it breaches the review SLA.
    #[arg(long, env = "COSELL_REVIEW_SLA_HOURS", default_value_t = 48)]
    pub review_sla_hours: u32,
    /// Seconds between sweeps that expire registrations whose protection window passed and
    /// invitations nobody answered in time (0 = off).
    #[arg(long, env = "COSELL_EXPIRY_INTERVAL_SECONDS", default_value_t = 60)]
    pub expiry_interval_seconds: u64,
    /// Days back that engagements count for a deal's threading score (1 to 730).
    #[arg(long, env = "COSELL_THREADING_WINDOW_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=730))]
    pub threading_window_days: u32,
}

impl Default for ProgramArgs {
    fn default() -> Self {
        Self {
            review_sla_hours: 48,
            expiry_interval_seconds: 60,
            threading_window_days: 90,
        }
    }
}

/// Webhooks: where deliveries may go, how long an attempt may take, and when failed ones are
/// tried again.
#[derive(Args, Debug, Clone)]
pub struct WebhookArgs {
    /// Let webhooks go to loopback, private and link-local addresses (an on-premises receiver,
    /// tests). Off: such targets are refused, also when a host name resolves to one.
    #[arg(long, env = "COSELL_WEBHOOK_ALLOW_PRIVATE_TARGETS",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_private_targets: bool,
    /// Let webhooks go to plain `http://` URLs. Off: `https://` only.
    #[arg(long, env = "COSELL_WEBHOOK_ALLOW_HTTP",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_http: bool,
    /// Milliseconds one delivery attempt may take (connecting, sending, the receiver's answer)
    /// before it counts as failed.
    #[arg(long, env = "COSELL_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub webhook_timeout_ms: u64,
    /// Waits before each retry of a failed delivery, e.g. `5s,1m,1h`; after the last one
    /// fails the endpoint is disabled and its owner hears of it. About three days by default.
    #[arg(long, env = "COSELL_WEBHOOK_RETRY_SCHEDULE",
          default_value = "5s,30s,2m,10m,30m,1h,2h,4h,8h,12h,12h,12h,12h,12h",
          value_parser = parse_schedule)]
    pub webhook_retry_schedule: Schedule,
    /// Endpoints one instance delivers to at once.
    #[arg(long, env = "COSELL_WEBHOOK_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub webhook_concurrency: u32,
    /// Endpoints of one party (the vendor, or one partner) one instance delivers to at once: a
    /// party whose receivers are slow or hang holds at most this many of the
    /// `--webhook-concurrency` slots, and the others stay free for everyone else. At most
    /// `--webhook-concurrency`.
    #[arg(long, env = "COSELL_WEBHOOK_PARTY_CONCURRENCY", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub webhook_party_concurrency: u32,
    /// Milliseconds between checks for retries that fell due and for leases a stopped instance
    /// left (new events, and an endpoint's backlog, wake deliveries at once).
    #[arg(long, env = "COSELL_WEBHOOK_POLL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub webhook_poll_ms: u64,
    /// Seconds between sweeps that check every endpoint for events no wake-up announced
    /// (after a restart, or an instance that fell behind).
    #[arg(long, env = "COSELL_WEBHOOK_SWEEP_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub webhook_sweep_seconds: u64,
    /// Most endpoints one party (the vendor, or one partner) may register.
    #[arg(long, env = "COSELL_WEBHOOK_MAX_ENDPOINTS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub webhook_max_endpoints: u32,
}

/// The waits between delivery attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

/// Parses a lifetime such as `90s`, `30m`, `12h`, `7d` or plain seconds.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a lifetime like 30m or 12h"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}` is not a lifetime like 30m or 12h")),
    };
    match n.checked_mul(mult) {
        Some(v) if v > 0 && v <= 366 * 86_400 => Ok(v),
        _ => Err("a token lifetime must be between 1 s and 366 days".into()),
    }
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let waits = s
        .split(',')
        .map(|w| parse_ttl(w).map(Duration::from_secs))
        .collect::<Result<Vec<_>, _>>()?;
    if waits.is_empty() || waits.len() > 50 {
        return Err("give between 1 and 50 waits, e.g. 5s,1m,1h".into());
    }
    Ok(Schedule(waits))
}

impl Default for WebhookArgs {
    fn default() -> Self {
        Self {
            webhook_allow_private_targets: false,
            webhook_allow_http: false,
            webhook_timeout_ms: 10_000,
            webhook_retry_schedule: parse_schedule(
                "5s,30s,2m,10m,30m,1h,2h,4h,8h,12h,12h,12h,12h,12h",
            )
            .expect("the default schedule parses"),
            webhook_concurrency: 16,
            webhook_party_concurrency: 4,
            webhook_poll_ms: 1_000,
            webhook_sweep_seconds: 60,
            webhook_max_endpoints: 20,
        }
    }
}

impl WebhookArgs {
    pub fn policy(&self) -> crate::domain::webhook::target::Policy {
        crate::domain::webhook::target::Policy {
            allow_private: self.webhook_allow_private_targets,
            allow_http: self.webhook_allow_http,
        }
    }
}

/// Subscriptions: the WebSocket endpoint's limits and the outbox fan-out.
#[derive(Args, Debug, Clone)]
pub struct RealtimeArgs {
    /// Milliseconds a WebSocket client has to send `connection_init` before it is closed (4408).
    #[arg(long, env = "COSELL_WS_INIT_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_init_timeout_ms: u64,
    /// Seconds between keep-alive pings on an idle WebSocket (0 turns them off).
    #[arg(long, env = "COSELL_WS_KEEPALIVE_SECONDS", default_value_t = 15)]
    pub ws_keepalive_seconds: u64,
    /// Most subscriptions one WebSocket connection may run at once.
    #[arg(long, env = "COSELL_WS_MAX_SUBSCRIPTIONS", default_value_t = 50)]
    pub ws_max_subscriptions: usize,
    /// Most WebSocket connections one principal may hold on one instance.
    #[arg(
        long,
        env = "COSELL_WS_MAX_CONNECTIONS_PER_PRINCIPAL",
        default_value_t = 10
    )]
    pub ws_max_connections_per_principal: usize,
    /// Messages queued for one connection before it counts as a slow consumer.
    #[arg(long, env = "COSELL_WS_SEND_BUFFER", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub ws_send_buffer: u64,
    /// Milliseconds a full send buffer may stay full before the connection is closed (1013);
    /// the client resumes with `after:` from the last event id it received.
    #[arg(long, env = "COSELL_WS_SLOW_CONSUMER_MS", default_value_t = 5_000)]
    pub ws_slow_consumer_ms: u64,
    /// Milliseconds a closing WebSocket connection may take to deliver its close frame to a
    /// client that is behind on reading.
    #[arg(long, env = "COSELL_WS_CLOSE_GRACE_MS", default_value_t = 5_000)]
    pub ws_close_grace_ms: u64,
    /// Milliseconds between outbox reads when nothing announced a new event: the safety net
    /// behind in-process wake-ups and PostgreSQL LISTEN/NOTIFY.
    #[arg(long, env = "COSELL_OUTBOX_POLL_MS", default_value_t = 2_000)]
    pub outbox_poll_ms: u64,
    /// Connections of the realtime pool (outbox tail and relay, LISTEN, subscribers'
    /// catch-up reads), apart from the request pool.
    #[arg(long, env = "COSELL_REALTIME_POOL_CONNECTIONS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(2..=200))]
    pub realtime_pool_connections: u32,
    /// Events the instance's broadcast holds for subscribers that are busy; one that falls
    /// further behind catches up from the recent events in memory, then from the outbox.
    #[arg(long, env = "COSELL_REALTIME_BROADCAST_CAPACITY", default_value_t = 1024,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub realtime_broadcast_capacity: usize,
    /// Recent events kept in memory, so a burst that leaves many subscribers behind does not
    /// send them all to the outbox at once.
    #[arg(long, env = "COSELL_REALTIME_RECENT_EVENTS", default_value_t = 16_384,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub realtime_recent_events: usize,
    /// Days events stay in the outbox (0 keeps them for ever). A resume cursor older than
    /// that answers CURSOR_EXPIRED.
    #[arg(long, env = "COSELL_OUTBOX_RETENTION_DAYS", default_value_t = 30)]
    pub outbox_retention_days: u32,
    /// Milliseconds an instance takes a partner it found active as still active without
    /// reading its status again. A suspension reaches the instance that made it at once and
    /// the others with its event; this bounds the wait when events are delayed. 0 reads the
    /// status on every request.
    #[arg(long, env = "COSELL_PARTNER_STATUS_CACHE_MS", default_value_t = 2_000)]
    pub partner_status_cache_ms: u64,
}

impl Default for RealtimeArgs {
    fn default() -> Self {
        Self {
            ws_init_timeout_ms: 10_000,
            ws_keepalive_seconds: 15,
            ws_max_subscriptions: 50,
            ws_max_connections_per_principal: 10,
            ws_send_buffer: 256,
            ws_slow_consumer_ms: 5_000,
            ws_close_grace_ms: 5_000,
            outbox_poll_ms: 2_000,
            realtime_pool_connections: 8,
            realtime_broadcast_capacity: 1024,
            realtime_recent_events: 16_384,
            outbox_retention_days: 30,
            partner_status_cache_ms: 2_000,
        }
    }
}

/// Whether clients may register documents by hash (automatic persisted queries).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PersistedQueryMode {
    /// Apollo's automatic persisted queries: an unknown hash asks the client for the document
    /// once, and every instance knows it from then on.
    Automatic,
    /// Every request sends its document in full.
    Off,
}

/// Who may call from a browser, where operators read metrics, and which documents run.
#[derive(Args, Debug, Clone)]
pub struct HttpArgs {
    /// A web origin whose pages may call the API from a browser (CORS), e.g.
    /// `https://portal.example.com`; repeat it or separate several with commas; `*` allows
    /// any origin. None by default: browsers on other origins are refused.
    #[arg(
        long = "cors-origin",
        env = "COSELL_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9090`), not on the API's
    /// listener. Unset: `/metrics` is on the API's listener.
    #[arg(long, env = "COSELL_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Automatic persisted queries (a client sends a document's SHA-256 instead of its text,
    /// and the text once when the server asks for it): `automatic` or `off`.
    #[arg(
        long,
        env = "COSELL_PERSISTED_QUERIES",
        value_enum,
        default_value = "automatic"
    )]
    pub persisted_queries: PersistedQueryMode,
    /// Most documents registered by automatic persisted queries kept for all instances; past
    /// it the oldest are forgotten (their clients send them again when asked).
    #[arg(long, env = "COSELL_PERSISTED_QUERIES_MAX", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub persisted_queries_max: u32,
    /// Run only the documents of this manifest (trusted documents): Apollo's persisted query
    /// manifest, or a `{"id": "document"}` map as Relay and GraphQL Code Generator write it.
    /// Clients name a document by its id (`documentId`, `doc_id` or
    /// `extensions.persistedQuery.sha256Hash`) or send it in full; anything else is refused,
    /// on every transport. Automatic persisted queries are off in this mode.
    #[arg(long, env = "COSELL_TRUSTED_DOCUMENTS", value_name = "FILE")]
    pub trusted_documents: Option<PathBuf>,
}

impl Default for HttpArgs {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            metrics_listen: None,
            persisted_queries: PersistedQueryMode::Automatic,
            persisted_queries_max: 10_000,
            trusted_documents: None,
        }
    }
}

/// Everything `cosell serve` needs.
#[derive(Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address (or host name) and port to listen on, e.g. `0.0.0.0:8080` or `localhost:8080`.
    #[arg(long, env = "COSELL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub jwt: JwtArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub program: ProgramArgs,
    #[command(flatten)]
    pub realtime: RealtimeArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    /// Log format: human-readable lines or one JSON object per line.
    #[arg(long, env = "COSELL_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// Export traces (requests, their inner spans and SQL statements) over OTLP/HTTP to this
    /// collector, e.g. http://otel-collector:4318 (sent to <URL>/v1/traces). A request's W3C
    /// `traceparent` is continued. Off by default.
    #[arg(long, env = "COSELL_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("90").unwrap(), 90);
        assert_eq!(parse_ttl("30m").unwrap(), 1800);
        assert_eq!(parse_ttl("12h").unwrap(), 43_200);
        assert_eq!(parse_ttl("7d").unwrap(), 604_800);
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
