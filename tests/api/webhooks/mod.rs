//! Webhooks: signed deliveries to a real HTTP receiver inside the test, retries, order,
//! scoping across partners, several instances, crashes, backlogs, fair shares, and who
//! manages what.

mod backlog;
mod delivery;
mod fairness;
mod instances;
mod management;
mod scoping;

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cosell::config::{Schedule, WebhookArgs};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::cli::{cosell, Server};
use crate::helpers::*;

/// What the receiver does with the next request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// Answers 200 after this many milliseconds.
    Slow(u64),
    /// Never answers (and tells the test it got the request).
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Delivery {
    headers: HeaderMap,
    body: Vec<u8>,
    json: Value,
    /// When it arrived.
    at: std::time::Instant,
}

impl Delivery {
    fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_string()
    }
    fn cursor(&self) -> i64 {
        self.json["data"]["cursor"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    /// When `answers` is empty.
    otherwise: Option<Answer>,
    got: Vec<Delivery>,
}

/// An HTTP receiver on an ephemeral port of this machine.
#[derive(Clone)]
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
    hung: Arc<tokio::sync::Notify>,
}

impl Receiver {
    async fn start() -> Self {
        let script: Arc<Mutex<Script>> = Arc::default();
        let hung = Arc::new(tokio::sync::Notify::new());
        let (s, h) = (script.clone(), hung.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (script, hung) = (s.clone(), h.clone());
                async move {
                    let answer = {
                        let mut sc = script.lock().unwrap();
                        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        sc.got.push(Delivery {
                            headers,
                            body: body.to_vec(),
                            json,
                            at: std::time::Instant::now(),
                        });
                        sc.answers
                            .pop_front()
                            .or(sc.otherwise)
                            .unwrap_or(Answer::Status(200))
                    };
                    match answer {
                        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
                        Answer::Slow(ms) => {
                            tokio::time::sleep(Duration::from_millis(ms)).await;
                            StatusCode::OK
                        }
                        Answer::Hang => {
                            hung.notify_one();
                            std::future::pending::<()>().await;
                            StatusCode::OK
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/hook"),
            script,
            hung,
        }
    }

    fn answer(&self, answers: &[Answer]) {
        self.script.lock().unwrap().answers.extend(answers);
    }

    fn otherwise(&self, a: Option<Answer>) {
        self.script.lock().unwrap().otherwise = a;
    }

    fn got(&self) -> Vec<Delivery> {
        self.script.lock().unwrap().got.clone()
    }

    /// Waits (at most `secs`) until `done` holds for what arrived.
    async fn until(
        &self,
        secs: u64,
        what: &str,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {secs} s; got {:?}",
                got.iter()
                    .map(|d| d.json["type"].clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A real `cosell serve` process on `url`, delivering to loopback over plain HTTP, polling
/// every 100 ms; `kill` ends it as kill -9 would.
struct Process {
    server: Server,
    addr: String,
    client: reqwest::Client,
}

impl Process {
    fn start(url: &str, args: &[&str]) -> Self {
        let mut child = cosell()
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database-url", url])
            .args(["--webhook-allow-private-targets", "--webhook-allow-http"])
            .args(["--webhook-poll-ms", "100"])
            .args(args)
            .env("COSELL_JWT_SECRET", SECRET)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("a listening line").unwrap();
            if line.contains("cosell is listening") {
                let v: Value = serde_json::from_str(&line).unwrap();
                break v["addr"].as_str().unwrap().to_string();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            server: Server(child),
            addr,
            client: reqwest::Client::new(),
        }
    }

    /// A GraphQL call as the vendor ADMIN that must succeed; its `data`.
    fn call(&self, query: &str, variables: Value) -> impl std::future::Future<Output = Value> {
        let request = self
            .client
            .post(format!("http://{}/graphql", self.addr))
            .bearer_auth(vendor_token("ADMIN"))
            .json(&json!({ "query": query, "variables": variables }));
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    }

    /// Ends the process as kill -9 would.
    fn kill(mut self) {
        self.server.0.kill().unwrap();
        self.server.0.wait().unwrap();
    }
}

/// Webhook settings for tests: the receiver is on loopback over plain HTTP, and retries come
/// after seconds, not hours.
fn settings(schedule: &[u64]) -> WebhookArgs {
    WebhookArgs {
        webhook_allow_private_targets: true,
        webhook_allow_http: true,
        webhook_timeout_ms: 1_000,
        webhook_retry_schedule: Schedule(
            schedule.iter().map(|s| Duration::from_secs(*s)).collect(),
        ),
        webhook_poll_ms: 100,
        ..WebhookArgs::default()
    }
}

const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id version status cursor view partnerId topics } } }";
const ENDPOINTS: &str =
    "{ webhookEndpoints { id url status disabledReason failedAttempts version } }";
const LOG: &str = "query($e: ID!) { webhookDeliveries(endpointId: $e, first: 100) { id eventCursor topic attempt succeeded responseCode latencyMs error } }";

/// Registers an endpoint as `token`; returns (endpoint, secret).
async fn register(app: &TestApp, token: &str, input: Value) -> (Value, String) {
    let d = app.ok(token, CREATE, json!({ "i": input })).await;
    let c = &d["createWebhookEndpoint"];
    (
        c["endpoint"].clone(),
        c["secret"].as_str().unwrap().to_string(),
    )
}

/// Verifies a delivery's Standard Webhooks signature with `secret`, as a receiver would.
fn verifies(d: &Delivery, secret: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = d.headers["webhook-id"].to_str().unwrap();
    let ts = d.headers["webhook-timestamp"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&d.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    d.headers["webhook-signature"]
        .to_str()
        .unwrap()
        .split(' ')
        .any(|s| s == expected)
}

fn draft(domain: &str) -> Value {
    json!({ "accountDomain": domain, "accountName": format!("{domain} Ltd"), "dealName": "Deal",
            "role": "RESELLER", "justification": "We know the buyer.", "privateNotes": format!("secret of {domain}") })
}

async fn submit(app: &TestApp, token: &str, domain: &str) -> Value {
    app.ok(
        token,
        "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version } } }",
        json!({ "i": { "draft": draft(domain) } }),
    )
    .await["submitRegistration"]["registration"]
        .clone()
}
