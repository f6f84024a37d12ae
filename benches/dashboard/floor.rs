//! The floor: cosell's own statements for a dashboard, captured from its statement log and
//! replayed by pgbench at the same concurrency, with no HTTP, GraphQL or server in between.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use super::load::{self, Figures, Request};
use super::setup::{self, PgTarget, Server};

/// The statements of one request per entry of `requests`, from a cosell started with
/// `COSELL_STATEMENT_LOG` (the statement log slows every statement, so this instance serves
/// nothing else). Each request is sent once before, so that the captured one is warm.
pub async fn capture(
    binary: &str,
    url: &str,
    secret: &str,
    extra: &[String],
    dir: &Path,
    requests: &[Vec<Request>],
) -> Vec<Vec<Vec<String>>> {
    let log = dir.join("statements.log");
    let _ = std::fs::remove_file(&log);
    let env = [("COSELL_STATEMENT_LOG", log.display().to_string())];
    let server = Server::cosell(binary, url, secret, extra, &env).await;
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for group in requests {
        let mut scripts = Vec::new();
        for r in group {
            load::send(&client, &server.graphql(), r)
                .await
                .expect("warm-up request for the capture");
            let from = std::fs::metadata(&log).map_or(0, |m| m.len()) as usize;
            load::send(&client, &server.graphql(), r)
                .await
                .expect("captured request");
            let text = std::fs::read(&log).unwrap_or_default();
            let lines: Vec<String> = String::from_utf8_lossy(&text[from.min(text.len())..])
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            assert!(
                !lines.is_empty(),
                "the statement log stayed empty: is COSELL_STATEMENT_LOG supported by this build?"
            );
            scripts.push(lines);
        }
        out.push(scripts);
    }
    out
}

/// Writes one pgbench script per captured request into `dir`, named `<tag>-<n>.sql`.
pub fn write_scripts(dir: &Path, tag: &str, scripts: &[Vec<String>]) -> Vec<PathBuf> {
    scripts
        .iter()
        .enumerate()
        .map(|(i, lines)| {
            let path = dir.join(format!("{tag}-{i}.sql"));
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            path
        })
        .collect()
}

fn pgbench(pg: &PgTarget, scripts: &[PathBuf], clients: usize, seconds: u64) -> Command {
    let mut c = Command::new(std::env::var("BENCH_PGBENCH").unwrap_or_else(|_| "pgbench".into()));
    // -M simple: the values are inlined in the statements. Each script is one dashboard; with
    // several (one per partner) pgbench picks one at random for each transaction.
    c.args(["-n", "-M", "simple"])
        .args(["-c", &clients.to_string()])
        .args(["-j", &clients.min(2).to_string()])
        .args(["-T", &seconds.to_string()])
        .args(["-h", &pg.host, "-p", &pg.port, "-U", &pg.user]);
    for s in scripts {
        c.arg("-f").arg(s);
    }
    c.arg(&pg.database);
    if let Some(p) = &pg.password {
        c.env("PGPASSWORD", p);
    }
    c
}

/// Replays `scripts` with pgbench from `clients` connections: a warm-up run, then a measured
/// one with per-transaction logs for the latencies.
pub fn run(
    pg: &PgTarget,
    scripts: &[PathBuf],
    clients: usize,
    warmup: Duration,
    window: Duration,
    postmaster: u32,
    dir: &Path,
) -> Figures {
    if !warmup.is_zero() {
        let out = pgbench(pg, scripts, clients, warmup.as_secs().max(1))
            .output()
            .expect("run pgbench");
        assert!(
            out.status.success(),
            "pgbench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let logs = dir.join(format!("pgbench-{clients}"));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let before = setup::postgres_total_cpu(postmaster);
    let out = pgbench(pg, scripts, clients, window.as_secs().max(1))
        .arg("-l")
        .arg(format!("--log-prefix={}", logs.join("tx").display()))
        .output()
        .expect("run pgbench");
    let after = setup::postgres_total_cpu(postmaster);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let failed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    // Log lines: client, transaction, latency in µs, script, epoch s, µs.
    let mut lat = Vec::new();
    for entry in std::fs::read_dir(&logs).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        lat.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
                .map(|us| us / 1e3),
        );
    }
    let n = lat.len().max(1) as f64;
    let lat = super::common::sorted(lat);
    let statements = scripts
        .iter()
        .map(|s| {
            std::fs::read_to_string(s)
                .unwrap_or_default()
                .lines()
                .count() as f64
        })
        .sum::<f64>()
        / scripts.len().max(1) as f64;
    Figures {
        per_second: tps,
        p50: super::common::percentile(&lat, 0.5),
        p99: super::common::percentile(&lat, 0.99),
        server_cpu: f64::NAN,
        postgres_cpu: if postmaster == 0 {
            f64::NAN
        } else {
            (after - before) * 1e3 / n
        },
        statements,
        rss_mib: f64::NAN,
        failed,
    }
}

/// Prints `EXPLAIN (ANALYZE, BUFFERS)` of each statement, as Markdown.
pub async fn explain(conn: &DatabaseConnection, title: &str, statements: &[String]) {
    println!("\n#### {title}\n");
    for (i, s) in statements.iter().enumerate() {
        let sql = s.trim().trim_end_matches(';');
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
            ))
            .await;
        println!("{}. `{sql}`\n\n```", i + 1);
        match rows {
            Ok(rows) => {
                for r in rows {
                    println!("{}", r.try_get_by_index::<String>(0).unwrap_or_default());
                }
            }
            Err(e) => println!("EXPLAIN failed: {e}"),
        }
        println!("```\n");
    }
}
