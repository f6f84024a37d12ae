//! What the benchmarks share: tokens signed with a benchmark secret, and the JWT settings that
//! verify them.

use cosell::auth::jwt::{self, Claims};
use cosell::auth::PrincipalKind;
use cosell::config::{JwtArgs, Secret};

/// A token of `kind` with `role`, for `partner` (a global partner ID) if given.
#[allow(dead_code)]
pub fn token(secret: &str, kind: PrincipalKind, role: &str, partner: Option<&str>) -> String {
    let now = jwt::now();
    let c = Claims {
        sub: format!("bench-{role}-{}", partner.unwrap_or("vendor")),
        kind,
        role: Some(role.into()),
        partner_id: partner.map(str::to_string),
        scope: None,
        scp: None,
        exp: now + 3600,
        nbf: Some(now),
        iat: Some(now),
        iss: "cosell".into(),
        aud: "cosell-api".into(),
    };
    jwt::mint_hs256(&c, secret).unwrap()
}

/// HS256 verification with `secret`.
#[allow(dead_code)]
pub fn jwt_args(secret: &str) -> JwtArgs {
    JwtArgs {
        jwt_secret: Some(Secret::new(secret)),
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

/// A running server for a benchmark; dropping `stop` (or sending on it) ends it.
#[allow(dead_code)]
pub struct Server {
    pub url: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a server on `conn` with the rate limit off, verifying tokens signed with `secret`.
#[allow(dead_code)]
pub async fn serve(
    conn: sea_orm::DatabaseConnection,
    counter: cosell::db::StatementCounter,
    secret: &str,
) -> Server {
    let limits = cosell::config::LimitArgs {
        rate_limit_per_minute: 0,
        ..Default::default()
    };
    let state = cosell::AppState::new(
        conn,
        cosell::auth::jwt::Verifier::from_config(&jwt_args(secret), false).unwrap(),
        limits,
        Default::default(),
        Default::default(),
        counter,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cosell::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Server {
        url: format!("http://{addr}/graphql"),
        stop,
        task,
    }
}

/// A new, empty database named `name` next to `base` (PostgreSQL; dropped first if it exists),
/// or a SQLite file in `dir` without `base`.
#[allow(dead_code)]
pub async fn fresh_database(base: Option<&str>, name: &str, dir: &std::path::Path) -> String {
    use sea_orm::ConnectionTrait;
    match base {
        Some(b) => {
            let admin = sea_orm::Database::connect(b).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let (prefix, _) = b.rsplit_once('/').unwrap();
            format!("{prefix}/{name}")
        }
        None => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
    }
}

/// Drops database `name` next to `base` (PostgreSQL only).
#[allow(dead_code)]
pub async fn drop_database(base: Option<&str>, name: &str) {
    use sea_orm::ConnectionTrait;
    if let Some(b) = base {
        let admin = sea_orm::Database::connect(b).await.unwrap();
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// The `p`-th quantile of sorted `v`.
#[allow(dead_code)]
pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Sorted copy of `v`.
#[allow(dead_code)]
pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// The median of `v`.
#[allow(dead_code)]
pub fn median(v: &[f64]) -> f64 {
    percentile(&sorted(v.to_vec()), 0.5)
}

/// The builds to run, from `BENCH_BINARIES=label=path,label=path` (a path alone is its own
/// label); this build's `cosell` binary when unset.
#[allow(dead_code)]
pub fn binaries() -> Vec<(String, String)> {
    match std::env::var("BENCH_BINARIES") {
        Ok(list) if !list.is_empty() => list
            .split(',')
            .map(|b| match b.split_once('=') {
                Some((label, path)) => (label.to_string(), path.to_string()),
                None => (b.to_string(), b.to_string()),
            })
            .collect(),
        _ => vec![("cosell".into(), env!("CARGO_BIN_EXE_cosell").into())],
    }
}

/// A `cosell serve` process, killed on drop.
#[allow(dead_code)]
pub struct Process {
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(dead_code)]
impl Process {
    /// Starts `binary serve` on a free port and `database_url`, verifying tokens signed with
    /// `secret`, the rate limit off, logging only warnings; waits until `/healthz` answers.
    /// `extra` are further `serve` flags.
    pub async fn start(binary: &str, database_url: &str, secret: &str, extra: &[&str]) -> Self {
        use std::process::{Command, Stdio};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            // Benchmarks send from a few tokens; the rate limit would refuse most of it.
            .args(["--rate-limit-per-minute", "0", "--log-format", "json"])
            .args(extra)
            .env("COSELL_JWT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..400 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Process { child, base }
    }

    /// (VmRSS, VmHWM) in MiB.
    pub fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU seconds (user and system) the process has used.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id())
    }

    /// SQL statements the process has run through its request pool (`/metrics`).
    pub async fn statements(&self, client: &reqwest::Client) -> f64 {
        metric(client, &self.base, "cosell_sql_statements_total").await
    }
}

/// CPU seconds (user and system) process `pid` has used, from `/proc/<pid>/stat`.
#[allow(dead_code)]
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name, in ticks of
    // 1/100 s.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// CPU seconds used by every PostgreSQL process on this machine.
#[allow(dead_code)]
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return f64::NAN;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// Runs a GraphQL operation that must succeed and returns its `data`.
#[allow(dead_code)]
pub async fn gql(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    q: &str,
    v: serde_json::Value,
) -> serde_json::Value {
    let body: serde_json::Value = client
        .post(url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "query": q, "variables": v }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// The value of the `/metrics` line `name` (with its labels, e.g. `x{a="b"}`) of the server at
/// `base`; 0 when it is absent.
#[allow(dead_code)]
pub async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The CPU, its cores and the commit built, for a benchmark's "ran on" line.
#[allow(dead_code)]
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    let dirty = if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        " with uncommitted changes"
    };
    format!("{cpu}, {cores} cores; cosell {commit}{dirty}")
}
