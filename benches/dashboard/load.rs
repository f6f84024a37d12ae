//! The closed loop: `clients` connections, each sending its next request when the previous
//! one is answered, for a warm-up and then a measured window, and what the window cost.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use sea_orm::DatabaseConnection;
use tokio::time::Instant;

use super::setup::{self, Server};

/// One request as sent: a header naming the caller and a body serialised once.
#[derive(Clone)]
pub struct Request {
    pub header: HeaderName,
    pub value: HeaderValue,
    pub body: &'static [u8],
}

impl Request {
    /// A request of `document` with header `name: value`. The body is kept for the whole run
    /// (leaked), so that sending it copies nothing.
    pub fn new(name: &'static str, value: &str, document: &str) -> Self {
        let body = serde_json::to_vec(&serde_json::json!({ "query": document })).unwrap();
        Self {
            header: HeaderName::from_static(name),
            value: HeaderValue::from_str(value).unwrap(),
            body: Box::leak(body.into_boxed_slice()),
        }
    }
}

/// What one measured window gave.
#[derive(Clone, Debug)]
pub struct Figures {
    pub per_second: f64,
    pub p50: f64,
    pub p99: f64,
    /// CPU milliseconds per request of the server process (NaN for the floor).
    pub server_cpu: f64,
    /// CPU milliseconds per request of PostgreSQL's backends.
    pub postgres_cpu: f64,
    pub statements: f64,
    pub rss_mib: f64,
    pub failed: u64,
}

/// Sends `request` once and returns the parsed answer.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    request: &Request,
) -> Result<serde_json::Value, String> {
    let r = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(request.header.clone(), request.value.clone())
        .body(request.body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() || body.get("errors").is_some() || body["data"].is_null() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body)
}

/// Whether an answer is a whole one, without parsing it: `data` first and no `errors` at the
/// end (cosell writes `errors` after `data`, PostGraphile before it).
fn answered(status: reqwest::StatusCode, body: &[u8]) -> bool {
    let tail = &body[body.len().saturating_sub(512)..];
    status.is_success()
        && body.starts_with(b"{\"data\":{")
        && !tail.windows(8).any(|w| w == b"\"errors\"")
}

/// The per-client outcome of a run.
#[derive(Default)]
struct Tally {
    latencies: Vec<f64>,
    completed: u64,
    failed: u64,
    example: Option<String>,
}

/// Runs `clients` closed-loop clients against `server` for `warmup` and then `window`; each
/// client goes round `requests` starting at its own index. Figures are of the window.
pub async fn run(
    server: &Server,
    requests: &[Request],
    clients: usize,
    warmup: Duration,
    window: Duration,
    probe: &DatabaseConnection,
) -> Figures {
    drive(server, requests, clients, None, warmup, window, probe).await
}

/// Sends `rate` requests a second in all, evenly spaced, from `clients` connections, whatever
/// the answers' pace (an open loop). Latency counts from when a request was due, not from when
/// it went out, so a server that falls behind shows it (no coordinated omission).
pub async fn run_paced(
    server: &Server,
    requests: &[Request],
    clients: usize,
    rate: f64,
    warmup: Duration,
    window: Duration,
    probe: &DatabaseConnection,
) -> Figures {
    let every = Duration::from_secs_f64(clients as f64 / rate.max(1.0));
    drive(
        server,
        requests,
        clients,
        Some(every),
        warmup,
        window,
        probe,
    )
    .await
}

async fn drive(
    server: &Server,
    requests: &[Request],
    clients: usize,
    every: Option<Duration>,
    warmup: Duration,
    window: Duration,
    probe: &DatabaseConnection,
) -> Figures {
    let url: Arc<str> = server.graphql().into();
    let requests: Arc<[Request]> = requests.into();
    let begin = Instant::now();
    let (start, end) = (begin + warmup, begin + warmup + window);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (url, requests) = (url.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            // One client and so one kept-alive connection per simulated client.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut tally = Tally::default();
            let mut k = c;
            // Paced: this client's sends are `every` apart, the clients spread over it.
            let mut due = every.map(|e| begin + e.mul_f64(c as f64 / clients as f64));
            while Instant::now() < end {
                let req = &requests[k % requests.len()];
                k += 1;
                let t = match (&mut due, every) {
                    (Some(d), Some(e)) => {
                        tokio::time::sleep_until(*d).await;
                        let t = *d;
                        *d += e;
                        t
                    }
                    _ => Instant::now(),
                };
                let outcome = client
                    .post(&*url)
                    .header(CONTENT_TYPE, "application/json")
                    .header(req.header.clone(), req.value.clone())
                    .body(req.body)
                    .send()
                    .await;
                let ok = match outcome {
                    Ok(r) => {
                        let status = r.status();
                        match r.bytes().await {
                            Ok(b) if answered(status, &b) => true,
                            Ok(b) => {
                                let text = String::from_utf8_lossy(&b[..b.len().min(400)]);
                                tally
                                    .example
                                    .get_or_insert_with(|| format!("{status}: {text}"));
                                false
                            }
                            Err(e) => {
                                tally.example.get_or_insert_with(|| e.to_string());
                                false
                            }
                        }
                    }
                    Err(e) => {
                        tally.example.get_or_insert_with(|| e.to_string());
                        // A refused connection must not spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        false
                    }
                };
                let done = Instant::now();
                if done >= start && done <= end {
                    tally.completed += 1;
                    if ok {
                        tally.latencies.push((done - t).as_secs_f64() * 1e3);
                    } else {
                        tally.failed += 1;
                    }
                }
            }
            tally
        }));
    }
    let http = reqwest::Client::new();
    tokio::time::sleep_until(start).await;
    let before = sample(server, &http, probe).await;
    tokio::time::sleep_until(end).await;
    let after = sample(server, &http, probe).await;
    let rss = server.rss_mib();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.unwrap();
        all.latencies.extend(t.latencies);
        all.completed += t.completed;
        all.failed += t.failed;
        all.example = all.example.or(t.example);
    }
    if let Some(e) = &all.example {
        eprintln!(
            "{}: {} of {} requests failed, e.g. {e}",
            server.kind.label(),
            all.failed,
            all.completed
        );
    }
    let n = all.completed.max(1) as f64;
    let lat = super::common::sorted(all.latencies);
    // The two samples' own statement reads run no SQL, so the difference is the requests'.
    Figures {
        per_second: all.completed as f64 / window.as_secs_f64(),
        p50: super::common::percentile(&lat, 0.5),
        p99: super::common::percentile(&lat, 0.99),
        server_cpu: (after.server_cpu - before.server_cpu) * 1e3 / n,
        postgres_cpu: setup::backend_cpu(&before.backends, &after.backends) * 1e3 / n,
        statements: (after.statements - before.statements) / n,
        rss_mib: rss,
        failed: all.failed,
    }
}

struct Sample {
    server_cpu: f64,
    statements: f64,
    backends: std::collections::HashMap<u32, f64>,
}

async fn sample(server: &Server, http: &reqwest::Client, probe: &DatabaseConnection) -> Sample {
    Sample {
        server_cpu: super::common::cpu_seconds(server.pid()),
        statements: server.statements(http).await,
        backends: setup::backends(probe).await,
    }
}
