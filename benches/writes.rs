//! Write throughput: 16 writers over two instances of one database.
//!
//! For each build (`BENCH_BINARIES=label=path,…`; this build's `cosell` when unset) and each of
//! `BENCH_ROUNDS` (3) rounds, builds' turns interleaved: seeds a fresh program
//! (`BENCH_REGISTRATIONS`, default 100,000 registrations, with `cosell seed`'s proportions),
//! starts two `cosell serve` processes of that build on it, each with its own connection pool,
//! and runs `BENCH_WRITES` (400) writes of each kind from `BENCH_WRITERS` (16) clients, half on
//! each instance: partners submitting proposed deals, the vendor approving submitted ones
//! (creating their opportunity), the vendor moving deals a stage on, then all three mixed. Each
//! write is on its own row, so the figures show the write path itself, not row contention.
//! Last, "move, SQL alone" replays a stage move's statements from this process with as many
//! connections and no server: the floor PostgreSQL alone sets on this machine.
//!
//! An older build is given a database of the schema it knows: it migrates the database first,
//! this build's migrations and the seed follow, and the migrations the older build does not
//! know are struck from its migration table (they add tables, a nullable column and a per-party index).
//!
//! Run with `COSELL_BENCH_DATABASE_URL=postgres://…/postgres cargo bench --bench writes`;
//! without it, on a SQLite file. It prints tables; it asserts nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use cosell::auth::PrincipalKind;
use cosell::db::{self, StatementCounter};
use cosell::ids::{encode, Kind};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

mod common;

const SECRET: &str = "bench-secret-for-the-writes-benchmark-0123";
const SUBMIT: &str = "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version status } } }";
const APPROVE: &str = "mutation($i: ApproveRegistrationInput!) { approveRegistration(input: $i) { registration { status } } }";
const MOVE: &str = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }";
const PHASES: [&str; 5] = ["submit", "approve", "move", "mix", "move, SQL alone"];

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One write: which mutation, as whom, with what input.
#[derive(Clone)]
struct Write {
    kind: &'static str,
    query: &'static str,
    token: String,
    input: Value,
}

fn submit(n: u64, tag: &str) -> Write {
    let partner = encode(Kind::Partner, (1 + n % 200) as i64);
    Write {
        kind: "submit",
        query: SUBMIT,
        token: common::token(
            SECRET,
            PrincipalKind::Partner,
            "PARTNER_ADMIN",
            Some(&partner),
        ),
        input: json!({ "draft": {
            "accountDomain": format!("{tag}-{n}.example.org"), "accountName": format!("Newco {tag} {n}"),
            "dealName": format!("Deal {tag} {n}"), "role": "REFERRAL",
            "justification": "Benchmark claim.", "amount": 100000, "currency": "USD",
        } }),
    }
}

/// One answered write.
struct Answer {
    kind: &'static str,
    ms: f64,
    body: Value,
}

/// Runs `writes` from `writers` clients, alternating between the instances. Returns the wall
/// time in seconds and the answers in the order of `writes`.
async fn run(writes: Vec<Write>, writers: usize, urls: &[String; 2]) -> (f64, Vec<Answer>) {
    let writes = Arc::new(writes);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..writers {
        let (writes, next, url) = (writes.clone(), next.clone(), urls[c % 2].clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(w) = writes.get(i) else { break };
                let t = Instant::now();
                let body = match client
                    .post(&url)
                    .bearer_auth(&w.token)
                    .json(&json!({ "query": w.query, "variables": { "i": w.input } }))
                    .send()
                    .await
                {
                    Ok(r) => r.json().await.unwrap_or(Value::Null),
                    Err(e) => json!({ "errors": [{ "message": e.to_string() }] }),
                };
                let ms = t.elapsed().as_secs_f64() * 1e3;
                out.push((
                    i,
                    Answer {
                        kind: w.kind,
                        ms,
                        body,
                    },
                ));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    (
        started.elapsed().as_secs_f64(),
        all.into_iter().map(|(_, a)| a).collect(),
    )
}

/// One phase's figures for one build in one round.
#[derive(Clone, Default)]
struct Figures {
    per_second: f64,
    p50: f64,
    p99: f64,
    statements: f64,
    /// CPU milliseconds per write of the two cosell processes, and of PostgreSQL.
    cosell_cpu: f64,
    postgres_cpu: f64,
    failed: usize,
}

/// A fresh seeded database that `binary` can serve, and the ids of deals still at the start.
async fn prepare(
    binary: &str,
    base: Option<&str>,
    dir: &std::path::Path,
    name: &str,
    registrations: u64,
    open_deals: u64,
) -> (String, Vec<i64>) {
    let url = common::fresh_database(base, name, dir).await;
    let status = std::process::Command::new(binary)
        .args(["migrate", "--database-url", &url])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the build's migrate");
    assert!(status.success(), "{binary} migrate failed");
    let conn = db::connect(&url, 4, StatementCounter::default())
        .await
        .unwrap();
    let backend = conn.get_database_backend();
    let versions = |conn: sea_orm::DatabaseConnection| async move {
        conn.query_all_raw(Statement::from_string(
            backend,
            "SELECT version FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect::<HashSet<_>>()
    };
    let known = versions(conn.clone()).await;
    db::migrate(&conn).await.unwrap();
    let opportunities = (registrations / 5).max(1);
    cosell::seed::run(
        &conn,
        cosell::seed::Size {
            partners: 200,
            accounts: (opportunities / 10).max(1),
            opportunities,
            registrations,
        },
    )
    .await
    .unwrap();
    for v in versions(conn.clone()).await.difference(&known) {
        conn.execute_raw(Statement::from_string(
            backend,
            format!("DELETE FROM seaql_migrations WHERE version = '{v}'"),
        ))
        .await
        .unwrap();
    }
    let open = conn
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT id FROM opportunities WHERE stage = 'PROSPECTING' ORDER BY id LIMIT {open_deals}"
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .collect();
    conn.close().await.ok();
    (url, open)
}

/// One round of one build: every phase on a fresh program. Returns each phase's figures and
/// the larger peak RSS of the two instances in MiB.
async fn round(
    binary: &str,
    base: Option<&str>,
    registrations: u64,
    n: u64,
    writers: usize,
) -> (Vec<Figures>, f64) {
    let dir = tempfile::tempdir().unwrap();
    let name = "cosell_bench_writes";
    let (url, open) = prepare(binary, base, dir.path(), name, registrations, 2 * n).await;
    let mut servers = Vec::new();
    for _ in 0..2 {
        servers.push(common::Process::start(binary, &url, SECRET, &[]).await);
    }
    let urls = [
        format!("{}/graphql", servers[0].base),
        format!("{}/graphql", servers[1].base),
    ];
    let vendor = common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None);
    // Submitted registrations for the approvals, made before the clock starts.
    let pending: Vec<Write> = (0..2 * n).map(|i| submit(i, "pending")).collect();
    let submitted: Vec<Value> = run(pending, writers, &urls)
        .await
        .1
        .into_iter()
        .map(|a| a.body["data"]["submitRegistration"]["registration"].clone())
        .collect();
    let approve = |r: &Value| Write {
        kind: "approve",
        query: APPROVE,
        token: vendor.clone(),
        input: json!({ "id": r["id"], "expectedVersion": r["version"], "createOpportunity": true }),
    };
    let move_on = |id: i64| Write {
        kind: "move",
        query: MOVE,
        token: vendor.clone(),
        input: json!({ "id": encode(Kind::Opportunity, id), "expectedVersion": 1, "stage": "QUALIFICATION" }),
    };
    let half = n as usize;
    let phases: Vec<Vec<Write>> = vec![
        (0..n).map(|i| submit(i, "alone")).collect(),
        submitted[..half].iter().map(approve).collect(),
        open[..half.min(open.len())]
            .iter()
            .map(|id| move_on(*id))
            .collect(),
        (0..n as usize)
            .map(|i| match i % 3 {
                0 => submit(i as u64, "mix"),
                1 => approve(&submitted[half + i / 3]),
                _ => move_on(open[(half + i / 3).min(open.len() - 1)]),
            })
            .collect(),
    ];
    let client = reqwest::Client::new();
    let mut figures = Vec::new();
    for writes in phases {
        let count = writes.len();
        let mut before = 0.0;
        for s in &servers {
            before += s.statements(&client).await;
        }
        let cpu = |servers: &[common::Process]| {
            let ours: f64 = servers.iter().map(common::Process::cpu_seconds).sum();
            (ours, common::postgres_cpu_seconds())
        };
        let cpu_before = cpu(&servers);
        let (wall, answers) = run(writes, writers, &urls).await;
        let cpu_after = cpu(&servers);
        let mut after = 0.0;
        for s in &servers {
            after += s.statements(&client).await;
        }
        let failed: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.body.get("errors").is_some() || a.body.is_null())
            .collect();
        if let Some(f) = failed.first() {
            eprintln!("{} failed {} times, e.g.: {}", f.kind, failed.len(), f.body);
        }
        let lat = common::sorted(answers.iter().map(|a| a.ms).collect());
        figures.push(Figures {
            per_second: count as f64 / wall,
            p50: common::percentile(&lat, 0.5),
            p99: common::percentile(&lat, 0.99),
            // Less the two /metrics reads, which run no SQL.
            statements: (after - before) / count as f64,
            cosell_cpu: (cpu_after.0 - cpu_before.0) * 1e3 / count as f64,
            postgres_cpu: (cpu_after.1 - cpu_before.1) * 1e3 / count as f64,
            failed: failed.len(),
        });
    }
    let peak = servers.iter().map(|s| s.rss_mib().1).fold(0.0, f64::max);
    drop(servers);
    // Their PostgreSQL sessions end too; the floor's CPU figure must not count them going.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let floor_deals = &open[(n as usize * 3 / 2).min(open.len() - 1)..];
    figures.push(sql_floor(&url, floor_deals, n as usize, writers).await);
    common::drop_database(base, name).await;
    (figures, peak)
}

/// The floor under a stage move: the statements cosell runs for one (BEGIN, read, versioned
/// update, history row, audience, event, COMMIT), sent straight from `writers` connections of
/// this process with no HTTP, GraphQL or relay. What PostgreSQL alone allows on this machine.
async fn sql_floor(url: &str, deals: &[i64], n: usize, writers: usize) -> Figures {
    use sea_orm::TransactionTrait;
    let pg = url.starts_with("postgres");
    let conn = db::connect(url, writers as u32, StatementCounter::default())
        .await
        .unwrap();
    let backend = conn.get_database_backend();
    let p = |i: usize| if pg { format!("${i}") } else { "?".to_string() };
    let sql = Arc::new([
        format!("SELECT * FROM opportunities WHERE id = {}", p(1)),
        format!("UPDATE opportunities SET stage = CASE WHEN stage = 'QUALIFICATION' THEN 'SOLUTION' ELSE 'QUALIFICATION' END, updated_at = CURRENT_TIMESTAMP, version = version + 1 WHERE id = {} RETURNING *", p(1)),
        format!("INSERT INTO opportunity_stage_changes (opportunity_id, from_stage, to_stage, changed_by, changed_at) VALUES ({}, 'PROSPECTING', 'QUALIFICATION', 'bench-vendor', CURRENT_TIMESTAMP)", p(1)),
        format!("SELECT DISTINCT partner_id FROM registrations WHERE opportunity_id = {} AND status IN ('SUBMITTED', 'UNDER_REVIEW', 'NEEDS_INFO', 'APPROVED', 'WON', 'LOST', 'EXPIRED')", p(1)),
        format!("INSERT INTO {} (topic, audience, subject_id, actor, payload, created_at) VALUES ('opportunity.stage_changed', '[\"vendor\"]', {}, 'bench-vendor', '{{\"from\": \"PROSPECTING\", \"to\": \"QUALIFICATION\"}}', CURRENT_TIMESTAMP)", if pg { "event_queue" } else { "events" }, p(1)),
    ]);
    let deals: Arc<Vec<i64>> = Arc::new((0..n).map(|i| deals[i % deals.len()]).collect());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cpu_before = common::postgres_cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (conn, sql, deals, next) = (conn.clone(), sql.clone(), deals.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&id) = deals.get(i) else { break };
                let t = Instant::now();
                let txn = conn.begin().await.unwrap();
                for (k, q) in sql.iter().enumerate() {
                    let mut values: Vec<sea_orm::Value> = vec![id.into()];
                    if k == 4 {
                        values = vec![encode(Kind::Opportunity, id).into()];
                    }
                    txn.execute_raw(Statement::from_sql_and_values(backend, q, values))
                        .await
                        .unwrap();
                }
                txn.commit().await.unwrap();
                out.push(t.elapsed().as_secs_f64() * 1e3);
            }
            out
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = common::postgres_cpu_seconds();
    conn.close().await.ok();
    let lat = common::sorted(lat);
    Figures {
        per_second: n as f64 / wall,
        p50: common::percentile(&lat, 0.5),
        p99: common::percentile(&lat, 0.99),
        statements: sql.len() as f64,
        cosell_cpu: 0.0,
        postgres_cpu: (cpu_after - cpu_before) * 1e3 / n as f64,
        failed: 0,
    }
}

#[tokio::main]
async fn main() {
    let registrations = env("BENCH_REGISTRATIONS", 100_000);
    let n = env("BENCH_WRITES", 400);
    let writers = env("BENCH_WRITERS", 16) as usize;
    let rounds = env("BENCH_ROUNDS", 3) as usize;
    let base = std::env::var("COSELL_BENCH_DATABASE_URL").ok();
    let builds = common::binaries();
    println!(
        "cosell write benchmark: {writers} writers over 2 instances, {n} writes a phase, {registrations} registrations seeded, {}, {} cores, release builds, {rounds} rounds interleaved",
        if base.is_some() { "PostgreSQL" } else { "SQLite" },
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!();
    println!("| build | round | phase | writes/s | p50 ms | p99 ms | statements per write | cosell CPU ms per write | PostgreSQL CPU ms per write | failed |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // figures[build][phase] across rounds; peaks[build] across rounds.
    let mut figures = vec![vec![Vec::<Figures>::new(); PHASES.len()]; builds.len()];
    let mut peaks = vec![Vec::new(); builds.len()];
    for r in 0..rounds {
        for k in 0..builds.len() {
            let b = (k + r) % builds.len();
            let (label, binary) = &builds[b];
            let (phases, peak) = round(binary, base.as_deref(), registrations, n, writers).await;
            for (p, f) in phases.into_iter().enumerate() {
                println!(
                    "| {label} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {} |",
                    r + 1,
                    PHASES[p],
                    f.per_second,
                    f.p50,
                    f.p99,
                    f.statements,
                    f.cosell_cpu,
                    f.postgres_cpu,
                    f.failed
                );
                figures[b][p].push(f);
            }
            peaks[b].push(peak);
        }
    }
    println!();
    println!("Medians of the rounds; the ratio is writes/s against the first build.");
    println!();
    println!("| build | phase | writes/s | ratio | p50 ms | p99 ms | statements per write | cosell CPU ms per write | PostgreSQL CPU ms per write | failed (all rounds) | peak RSS per instance MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let med = |v: &[Figures], f: fn(&Figures) -> f64| {
        common::median(&v.iter().map(f).collect::<Vec<_>>())
    };
    for (b, (label, _)) in builds.iter().enumerate() {
        for (p, phase) in PHASES.iter().enumerate() {
            let rate = med(&figures[b][p], |f| f.per_second);
            let first = med(&figures[0][p], |f| f.per_second);
            println!(
                "| {label} | {phase} | {rate:.0} | {:.2} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {} | {:.0} |",
                rate / first,
                med(&figures[b][p], |f| f.p50),
                med(&figures[b][p], |f| f.p99),
                med(&figures[b][p], |f| f.statements),
                med(&figures[b][p], |f| f.cosell_cpu),
                med(&figures[b][p], |f| f.postgres_cpu),
                figures[b][p].iter().map(|f| f.failed).sum::<usize>(),
                common::median(&peaks[b]),
            );
        }
    }
}
