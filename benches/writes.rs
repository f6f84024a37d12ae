//! Write throughput: 16 writers over two instances of one database.
//!
//! Seeds a program (`BENCH_REGISTRATIONS`, default 100,000 registrations, with `cosell seed`'s
//! proportions), starts two servers on it, each with its own connection pool, and runs
//! `BENCH_WRITES` (400) writes of each kind from `BENCH_WRITERS` (16) clients, half on each
//! instance: partners submitting proposed deals, the vendor approving submitted ones (creating
//! their opportunity), the vendor moving deals a stage on, then all three mixed. Each write is
//! on its own row, so the figures show the write path itself, not row contention. Run with
//! `COSELL_BENCH_DATABASE_URL=postgres://…/postgres cargo bench --bench writes`; without it, on a
//! SQLite file. It prints a table; it asserts nothing.

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

async fn post(client: &reqwest::Client, url: &str, w: &Write) -> Value {
    client
        .post(url)
        .bearer_auth(&w.token)
        .json(&json!({ "query": w.query, "variables": { "i": w.input } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Runs `writes` from `writers` clients, alternating between the instances. Returns the wall
/// time and each kind's latencies and failures.
async fn run(
    writes: Vec<Write>,
    writers: usize,
    urls: &[String; 2],
) -> (f64, Vec<(&'static str, f64, bool)>) {
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
                let body = post(&client, &url, w).await;
                out.push((
                    w.kind,
                    t.elapsed().as_secs_f64() * 1e3,
                    body.get("errors").is_some(),
                ));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (started.elapsed().as_secs_f64(), all)
}

#[tokio::main]
async fn main() {
    let registrations = env("BENCH_REGISTRATIONS", 100_000);
    let n = env("BENCH_WRITES", 400);
    let writers = env("BENCH_WRITERS", 16) as usize;
    let base = std::env::var("COSELL_BENCH_DATABASE_URL").ok();
    let dir = tempfile::tempdir().unwrap();
    let name = "cosell_bench_writes";
    let url = common::fresh_database(base.as_deref(), name, dir.path()).await;
    let seed_conn = db::connect(&url, 4, StatementCounter::default())
        .await
        .unwrap();
    db::migrate(&seed_conn).await.unwrap();
    let opportunities = (registrations / 5).max(1);
    cosell::seed::run(
        &seed_conn,
        cosell::seed::Size {
            partners: 200,
            accounts: (opportunities / 10).max(1),
            opportunities,
            registrations,
        },
    )
    .await
    .unwrap();
    // Deals still at the start, to move on one stage each.
    let open: Vec<i64> = seed_conn
        .query_all_raw(Statement::from_string(
            seed_conn.get_database_backend(),
            format!(
                "SELECT id FROM opportunities WHERE stage = 'PROSPECTING' ORDER BY id LIMIT {}",
                2 * n
            ),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .collect();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let conn = db::connect(&url, 10, StatementCounter::default())
            .await
            .unwrap();
        servers.push(common::serve(conn, StatementCounter::default(), SECRET).await);
    }
    let urls = [servers[0].url.clone(), servers[1].url.clone()];
    let vendor = common::token(SECRET, PrincipalKind::Vendor, "ADMIN", None);
    // Submitted registrations for the approvals, made before the clock starts.
    let client = reqwest::Client::new();
    let mut submitted = Vec::new();
    for i in 0..2 * n {
        let body = post(&client, &urls[0], &submit(i, "pending")).await;
        submitted.push(body["data"]["submitRegistration"]["registration"].clone());
    }
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
    let phases: Vec<(&str, Vec<Write>)> = vec![
        ("submit", (0..n).map(|i| submit(i, "alone")).collect()),
        ("approve", submitted[..half].iter().map(approve).collect()),
        (
            "move",
            open[..half.min(open.len())]
                .iter()
                .map(|id| move_on(*id))
                .collect(),
        ),
        (
            "mix",
            (0..n as usize)
                .map(|i| match i % 3 {
                    0 => submit(i as u64, "mix"),
                    1 => approve(&submitted[half + i / 3]),
                    _ => move_on(open[(half + i / 3).min(open.len() - 1)]),
                })
                .collect(),
        ),
    ];
    println!(
        "cosell write benchmark: {writers} writers over 2 instances, {n} writes a phase, {registrations} registrations seeded, {}, {} cores, release build",
        if base.is_some() { "PostgreSQL" } else { "SQLite" },
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!();
    println!("| phase | writes/s | p50 ms | p99 ms | failed |");
    println!("|---|---|---|---|---|");
    for (phase, writes) in phases {
        let count = writes.len();
        let (wall, results) = run(writes, writers, &urls).await;
        let mut lat: Vec<f64> = results.iter().map(|r| r.1).collect();
        lat.sort_by(|a, b| a.total_cmp(b));
        let failed = results.iter().filter(|r| r.2).count();
        println!(
            "| {phase} | {:.0} | {:.1} | {:.1} | {failed} |",
            count as f64 / wall,
            common::percentile(&lat, 0.5),
            common::percentile(&lat, 0.99)
        );
    }
    for s in servers {
        let _ = s.stop.send(());
        let _ = s.task.await;
    }
    seed_conn.close().await.ok();
    common::drop_database(base.as_deref(), name).await;
}
