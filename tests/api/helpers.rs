//! Starts the real server on an ephemeral port with a fresh database per test, and speaks to it
//! over HTTP. Set `COSELL_TEST_DATABASE_URL=postgres://…` to run on PostgreSQL: each test then
//! gets its own database, dropped when the test ends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use cosell::auth::jwt::{self, Claims, Verifier};
use cosell::auth::PrincipalKind;
use cosell::config::{
    HttpArgs, JwtArgs, LimitArgs, ProgramArgs, RealtimeArgs, Secret, WebhookArgs,
};
use cosell::db::{self, StatementCounter};
use cosell::AppState;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const SECRET: &str = "test-secret-for-the-cosell-suite-0123456789";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn jwt_args() -> JwtArgs {
    JwtArgs {
        jwt_secret: Some(Secret::new(SECRET)),
        jwt_public_key_file: None,
        jwt_jwks_file: None,
        jwt_jwks_url: None,
        jwt_jwks_refresh_seconds: 300,
        jwt_algorithm: None,
        jwt_issuer: "cosell".into(),
        jwt_audience: "cosell-api".into(),
        jwt_leeway_seconds: 30,
    }
}

/// Settings a test may change before the server starts.
pub struct Setup {
    pub limits: LimitArgs,
    pub jwt: JwtArgs,
    pub program: ProgramArgs,
    pub realtime: RealtimeArgs,
    /// How long a request waits for a pooled connection (generous: the suite runs many
    /// servers at once on a small machine).
    pub acquire_timeout: std::time::Duration,
    /// Browser origins (CORS).
    pub http: HttpArgs,
    /// Webhook targets and retries.
    pub webhooks: WebhookArgs,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub statements: StatementCounter,
    pub vendor: String,
    /// The database this server uses; a second instance can share it.
    pub database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh database URL: a temporary SQLite file, or a new PostgreSQL database.
pub async fn fresh_database(dir: &tempfile::TempDir) -> (String, Option<(String, String)>) {
    match std::env::var("COSELL_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!(
                "cosell_test_{}_{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            );
            let admin = sea_orm::Database::connect(&base)
                .await
                .expect("connect to COSELL_TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (prefix, _) = base
                .rsplit_once('/')
                .expect("database URL with a database name");
            (format!("{prefix}/{name}"), Some((base, name)))
        }
        _ => (
            format!("sqlite://{}", dir.path().join("cosell.db").display()),
            None,
        ),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Setup)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg) = fresh_database(&dir).await;
    start(url, pg, dir, configure).await
}

/// A server on the database at `url` (which the caller created and will drop).
pub async fn spawn_app_on(url: &str, configure: impl FnOnce(&mut Setup)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    start(url.to_string(), None, dir, configure).await
}

/// A second server instance on `first`'s database, as several instances of one deployment.
pub async fn spawn_sibling(first: &TestApp, configure: impl FnOnce(&mut Setup)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    start(first.database_url.clone(), None, dir, configure).await
}

async fn start(
    url: String,
    pg: Option<(String, String)>,
    dir: tempfile::TempDir,
    configure: impl FnOnce(&mut Setup),
) -> TestApp {
    let mut setup = Setup {
        limits: LimitArgs::default(),
        jwt: jwt_args(),
        program: ProgramArgs::default(),
        realtime: RealtimeArgs {
            // Tests do not wait on the safety-net poll: wake-ups must do the work.
            outbox_poll_ms: 60_000,
            ..RealtimeArgs::default()
        },
        acquire_timeout: std::time::Duration::from_secs(10),
        http: HttpArgs::default(),
        webhooks: WebhookArgs::default(),
    };
    configure(&mut setup);
    let statements = StatementCounter::default();
    let conn = db::connect_with(&url, 5, setup.acquire_timeout, statements.clone())
        .await
        .expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let verifier = Verifier::from_config(&setup.jwt, false).expect("verifier");
    let state = AppState::new(
        conn.clone(),
        verifier,
        setup.limits,
        setup.program,
        setup.realtime,
        statements.clone(),
    )
    .with_http(setup.http)
    .expect("http settings")
    .with_webhooks(setup.webhooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(cosell::serve(listener, state, async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        url: format!("http://{addr}/graphql"),
        client: reqwest::Client::new(),
        db: conn,
        statements,
        vendor: token_for(PrincipalKind::Vendor, Some("ADMIN"), None, None),
        database_url: url,
        shutdown: Some(tx),
        server: Some(server),
        pg,
        _dir: dir,
    }
}

impl TestApp {
    /// Asks the server to stop as SIGTERM would, and waits (at most 15 s) until it has.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let stopped = tokio::time::timeout(std::time::Duration::from_secs(15), server).await;
            assert!(stopped.is_ok(), "the server stops within 15 s");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
        if let Some((base, name)) = self.pg.take() {
            // A separate runtime on its own thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(admin) = sea_orm::Database::connect(&base).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Default claims for a principal, valid for an hour.
pub fn claims(
    kind: PrincipalKind,
    role: Option<&str>,
    partner: Option<&str>,
    scope: Option<&str>,
) -> Claims {
    let now = jwt::now();
    Claims {
        sub: match kind {
            PrincipalKind::Vendor => format!("{}@vendor.test", role.unwrap_or("x").to_lowercase()),
            PrincipalKind::Partner => format!("user@{}", partner.unwrap_or("p")),
            PrincipalKind::App => "app:marketplace".into(),
        },
        kind,
        role: role.map(str::to_string),
        partner_id: partner.map(str::to_string),
        scope: scope.map(Into::into),
        scp: None,
        exp: now + 3600,
        nbf: Some(now),
        iat: Some(now),
        iss: "cosell".into(),
        aud: "cosell-api".into(),
    }
}

pub fn token_for(
    kind: PrincipalKind,
    role: Option<&str>,
    partner: Option<&str>,
    scope: Option<&str>,
) -> String {
    jwt::mint_hs256(&claims(kind, role, partner, scope), SECRET).unwrap()
}

pub fn vendor_token(role: &str) -> String {
    token_for(PrincipalKind::Vendor, Some(role), None, None)
}

pub fn partner_token(partner_id: &str) -> String {
    token_for(
        PrincipalKind::Partner,
        Some("PARTNER_ADMIN"),
        Some(partner_id),
        None,
    )
}

pub fn app_token(scopes: &str, partner: Option<&str>) -> String {
    token_for(PrincipalKind::App, None, partner, Some(scopes))
}

/// Signs arbitrary JSON claims with the suite's HS256 secret.
pub fn raw_token(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The first error's `extensions.code`.
    pub fn code(&self) -> &str {
        error_code(&self.body)
    }
}

pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

impl TestApp {
    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The value of the `/metrics` line `name` (labels included, e.g. `x{a="b"}`), if present.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        self.metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
    }

    /// POSTs a JSON body to /graphql.
    pub async fn post(&self, token: Option<&str>, body: Value) -> Reply {
        let mut req = self.client.post(&self.url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Runs a GraphQL operation and returns the body (any status).
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post(
            Some(token),
            json!({ "query": query, "variables": variables }),
        )
        .await
        .body
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// SQL statements the server executed while `f` ran.
    pub async fn count_statements<F: std::future::Future<Output = T>, T>(&self, f: F) -> (u64, T) {
        let before = self.statements.get();
        let out = f.await;
        (self.statements.get() - before, out)
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    pub async fn create_partner(&self, name: &str) -> String {
        let d = self
            .ok(
                &self.vendor,
                "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
                json!({ "i": { "name": name, "tier": "GOLD" } }),
            )
            .await;
        d["createPartner"]["partner"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn create_account(&self, name: &str, domain: &str) -> String {
        let d = self
            .ok(
                &self.vendor,
                "mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } } }",
                json!({ "i": { "name": name, "domain": domain, "region": "EMEA", "industry": "Manufacturing" } }),
            )
            .await;
        d["createAccount"]["account"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates an opportunity with the given fields merged over sensible defaults.
    pub async fn create_opportunity(&self, account: &str, fields: Value) -> Value {
        let mut input = json!({
            "accountId": account, "name": "Deal", "amount": 100000, "currency": "USD",
            "expectedCloseDate": "2027-03-31", "owner": "owner@vendor.test", "products": ["CRM"],
            "forecastNotes": "internal only", "probability": 40,
        });
        for (k, v) in fields.as_object().unwrap() {
            input[k] = v.clone();
        }
        let d = self
            .ok(
                &self.vendor,
                "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id version name stage } } }",
                json!({ "i": input }),
            )
            .await;
        d["createOpportunity"]["opportunity"].clone()
    }

    /// Creates a GOLD partner named `name`, with a token that acts for it.
    pub async fn partner(&self, name: &str) -> Member {
        let id = self.create_partner(name).await;
        let token = partner_token(&id);
        Member { id, token }
    }

    /// A deal at `domain` with an approved claim for each `(partner, role)`, in order: the first
    /// partner proposes the deal and the vendor creates the opportunity from its claim; the
    /// others claim the same customer and the vendor approves them onto that opportunity. Each
    /// claim is worth 100,000.00 USD and carries the private notes "Notes of {partner id}". The
    /// roles must not conflict with one another.
    pub async fn approved_deal(&self, domain: &str, claims: &[(&Member, &str)]) -> Deal {
        const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version status } } }";
        const APPROVE: &str = "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { id version status opportunity { id version account { id } } } } }";
        let mut deal = Deal {
            opportunity: String::new(),
            account: String::new(),
            claims: Vec::new(),
        };
        for (partner, role) in claims {
            let draft = json!({ "accountDomain": domain, "accountName": format!("{domain} Ltd"), "dealName": format!("Deal at {domain}"),
                "role": role, "justification": "We know the buyer.", "amount": 10_000_000, "currency": "USD",
                "privateNotes": format!("Notes of {}", partner.id) });
            let d = self
                .ok(&partner.token, SUBMIT, json!({ "i": { "draft": draft } }))
                .await;
            let r = &d["submitRegistration"]["registration"];
            assert_eq!(
                r["status"], "SUBMITTED",
                "{role} conflicts with an earlier claim"
            );
            let mut input = json!({ "id": r["id"], "expectedVersion": r["version"] });
            if deal.claims.is_empty() {
                input["createOpportunity"] = json!(true);
            } else {
                input["opportunityId"] = json!(deal.opportunity);
            }
            let d = self.ok(&self.vendor, APPROVE, json!({ "i": input })).await;
            let approved = d["approveRegistration"]["registration"].clone();
            deal.opportunity = approved["opportunity"]["id"].as_str().unwrap().to_string();
            deal.account = approved["opportunity"]["account"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            deal.claims.push(approved);
        }
        deal
    }
}

/// A partner in the program and a token that acts for it.
pub struct Member {
    pub id: String,
    pub token: String,
}

/// A deal with approved claims: its opportunity's and account's ids and each claim as approved
/// (id, version, status, opportunity).
pub struct Deal {
    pub opportunity: String,
    pub account: String,
    pub claims: Vec<Value>,
}
