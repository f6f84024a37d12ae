//! The ground both servers stand on: the seeded database with its row-level security, the two
//! server processes, the partners the partner workload asks as, and what the run ran on.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// How many rows of each table the benchmark wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub partners: i64,
    pub accounts: i64,
    pub opportunities: i64,
    pub registrations: i64,
}

/// The pieces of a `postgres://user[:password]@host[:port]/database` URL, for pgbench.
pub struct PgTarget {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: String,
    pub database: String,
}

pub fn parse_url(url: &str) -> PgTarget {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (auth, rest) = rest.rsplit_once('@').unwrap_or(("postgres", rest));
    let (user, password) = match auth.split_once(':') {
        Some((u, p)) => (u.to_string(), Some(p.to_string())),
        None => (auth.to_string(), None),
    };
    let (hostport, database) = rest.split_once('/').expect("a database in the URL");
    let database = database.split('?').next().unwrap_or(database).to_string();
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    PgTarget {
        user,
        password,
        host: host.to_string(),
        port: port.to_string(),
        database,
    }
}

pub async fn query_i64(conn: &DatabaseConnection, sql: &str) -> Option<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .ok()??;
    row.try_get_by_index::<i64>(0).ok()
}

async fn size_of(url: &str) -> Option<Size> {
    let conn = cosell::db::connect(url, 1, Default::default()).await.ok()?;
    let count = |t: &'static str| {
        let conn = conn.clone();
        async move { query_i64(&conn, &format!("SELECT count(*) FROM {t}")).await }
    };
    let size = Size {
        partners: count("partners").await?,
        accounts: count("accounts").await?,
        opportunities: count("opportunities").await?,
        registrations: count("registrations").await?,
    };
    conn.close().await.ok();
    Some(size)
}

/// The database at `url`, seeded at `want` by `cosell seed`: kept as it is when it already
/// holds exactly that many rows (seeding takes a while), created or recreated otherwise.
pub async fn prepare_database(binary: &str, url: &str, want: Size) {
    if size_of(url).await == Some(want) {
        println!("reusing {url}: already seeded at this size");
        return;
    }
    let (base, name) = url.rsplit_once('/').expect("a database name in the URL");
    let admin = format!("{base}/postgres");
    super::common::fresh_database(Some(&admin), name, Path::new(".")).await;
    println!("seeding {url} ({want:?}); this takes a minute or two");
    let status = Command::new(binary)
        .args(["seed", "--database-url", url])
        .args(["--partners", &want.partners.to_string()])
        .args(["--accounts", &want.accounts.to_string()])
        .args(["--opportunities", &want.opportunities.to_string()])
        .args(["--registrations", &want.registrations.to_string()])
        .status()
        .expect("run cosell seed");
    assert!(status.success(), "cosell seed failed");
    // As autovacuum leaves a database in use: statistics gathered and the visibility map set,
    // so that index-only scans read no heap (both servers read the same tables).
    let conn = cosell::db::connect(url, 1, Default::default())
        .await
        .expect("connect to vacuum");
    conn.execute_unprepared("VACUUM (ANALYZE)")
        .await
        .expect("VACUUM (ANALYZE)");
    conn.close().await.ok();
    let got = size_of(url).await;
    assert_eq!(
        got,
        Some(want),
        "the seeded database is not of the size asked"
    );
}

/// Applies `rls.sql` (idempotent), as the superuser the URL names.
pub async fn apply_rls(conn: &DatabaseConnection) {
    let sql = std::fs::read_to_string(dir().join("rls.sql")).expect("read rls.sql");
    conn.execute_unprepared(&sql).await.expect("apply rls.sql");
}

/// Installs PostGraphile's packages (`npm ci`) when they are missing; returns its directory.
pub fn install_postgraphile() -> PathBuf {
    let app = dir().join("postgraphile");
    if !app.join("node_modules/postgraphile").exists() {
        println!("installing PostGraphile (npm ci in {})", app.display());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&app)
            .status()
            .expect("run npm ci");
        assert!(status.success(), "npm ci failed in {}", app.display());
    }
    app
}

/// `benches/dashboard`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/dashboard")
}

/// `n` partners with a typical number of deals: the middle of the partners that are on any
/// deal, ordered by how many; with their deal counts.
pub async fn pick_partners(conn: &DatabaseConnection, n: usize) -> Vec<(i64, i64)> {
    let sees: Vec<String> = cosell::db::registrations::SEES_DEAL
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT partner_id, count(DISTINCT opportunity_id) AS n FROM registrations \
                 WHERE opportunity_id IS NOT NULL AND status IN ({}) \
                 GROUP BY partner_id ORDER BY n, partner_id",
                sees.join(", ")
            ),
        ))
        .await
        .unwrap();
    let all: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<i64>(0).unwrap(),
                r.try_get_by_index::<i64>(1).unwrap(),
            )
        })
        .collect();
    assert!(!all.is_empty(), "no partner is on any deal");
    let n = n.min(all.len());
    let start = (all.len() - n) / 2;
    all[start..start + n].to_vec()
}

/// Which server a process is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Cosell,
    PostGraphile,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Cosell => "cosell",
            Kind::PostGraphile => "PostGraphile",
        }
    }
}

/// A server process, killed on drop.
pub struct Server {
    pub kind: Kind,
    pub child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `cosell serve` on a free port, the rate limit off, with `extra` flags and `env`.
    pub async fn cosell(
        binary: &str,
        url: &str,
        secret: &str,
        extra: &[String],
        env: &[(&str, String)],
    ) -> Self {
        let port = free_port();
        let child = Command::new(binary)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", url])
            // The load comes from a few tokens; the rate limit would refuse most of it.
            .args(["--rate-limit-per-minute", "0", "--log-format", "json"])
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("COSELL_JWT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let server = Server {
            kind: Kind::Cosell,
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..1200 {
            let ready = client.get(format!("{}/healthz", server.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cosell serve did not answer /healthz within a minute");
    }

    /// PostGraphile (`postgraphile/server.mjs` under `node`) on a free port with a pool of
    /// `pool` connections; installs its packages first (`npm ci`) when they are missing.
    pub fn postgraphile(url: &str, pool: u32, log: &Path) -> Self {
        let app = install_postgraphile();
        let node = std::env::var("BENCH_NODE").unwrap_or_else(|_| "node".into());
        let mut child = Command::new(node)
            .arg("server.mjs")
            .current_dir(&app)
            .env("DATABASE_URL", url)
            .env("HOST", "127.0.0.1")
            .env("PORT", free_port().to_string())
            .env("POOL_MAX", pool.to_string())
            .env("NODE_ENV", "production")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("create the PostGraphile log"))
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(u) = line.strip_prefix("listening on ") {
                    let _ = tx.send(u.trim_end_matches("/graphql").to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "PostGraphile did not start; its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        Server {
            kind: Kind::PostGraphile,
            child,
            base,
        }
    }

    pub fn graphql(&self) -> String {
        format!("{}/graphql", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SQL statements the server has sent to PostgreSQL so far.
    pub async fn statements(&self, client: &reqwest::Client) -> f64 {
        let get = |path: &str| client.get(format!("{}{path}", self.base)).send();
        match self.kind {
            Kind::Cosell => get("/metrics")
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("cosell_sql_statements_total "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(f64::NAN),
            Kind::PostGraphile => get("/stats")
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["statements"]
                .as_f64()
                .unwrap_or(f64::NAN),
        }
    }

    /// Resident memory in MiB.
    pub fn rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
            / 1024.0
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// CPU seconds of the client backends of this database (all but the probe's own), by pid.
pub async fn backends(conn: &DatabaseConnection) -> HashMap<u32, f64> {
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
             AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap_or_default();
    rows.iter()
        .filter_map(|r| r.try_get_by_index::<i32>(0).ok())
        .map(|pid| (pid as u32, super::common::cpu_seconds(pid as u32)))
        .collect()
}

/// CPU seconds the backends in `end` used since `start` (new ones count from zero).
pub fn backend_cpu(start: &HashMap<u32, f64>, end: &HashMap<u32, f64>) -> f64 {
    end.iter()
        .map(|(pid, cpu)| cpu - start.get(pid).copied().unwrap_or(0.0))
        .sum()
}

/// CPU seconds of every PostgreSQL process of the server, including the backends that have
/// ended (reaped into the postmaster's children time): exact across a pgbench run whose
/// backends start and end within it.
pub fn postgres_total_cpu(postmaster: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{postmaster}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // cutime and cstime are fields 16 and 17 of stat, 14 and 15 after the name.
    let reaped = (f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0)) / 100.0;
    super::common::postgres_cpu_seconds() + reaped
}

/// The postmaster: the parent of this connection's backend (0 when PostgreSQL is elsewhere).
pub async fn postmaster(conn: &DatabaseConnection) -> u32 {
    let pid = query_i64(conn, "SELECT pg_backend_pid()::bigint")
        .await
        .unwrap_or(0);
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// One line on what the run ran on.
pub async fn machine(conn: &DatabaseConnection, size: Size, pool: u32) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    let pg = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SHOW server_version",
        ))
        .await
        .ok()
        .flatten()
        .and_then(|r| r.try_get_by_index::<String>(0).ok())
        .unwrap_or_default();
    let git = |args: &[&str]| {
        Command::new("git")
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
    let node = Command::new(std::env::var("BENCH_NODE").unwrap_or_else(|_| "node".into()))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let pgl: serde_json::Value =
        std::fs::read(install_postgraphile().join("node_modules/postgraphile/package.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores; PostgreSQL {pg}; {} partners, {} accounts, {} opportunities, {} registrations; \
         cosell {commit}{dirty} (release), PostGraphile {} on Node {node}; pools of {pool} connections each",
        size.partners,
        size.accounts,
        size.opportunities,
        size.registrations,
        pgl["version"].as_str().unwrap_or("?"),
    )
}
