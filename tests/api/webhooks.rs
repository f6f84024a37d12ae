//! Webhooks: signed deliveries to a real HTTP receiver inside the test, retries, order,
//! scoping across partners, several instances, a crash mid-delivery, and who manages what.

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

#[tokio::test]
async fn deliveries_are_signed_logged_and_a_rotated_secret_overlaps() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let rx = Receiver::start().await;
    let (ep, secret) = register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner."], "description": "CRM sync" }),
    )
    .await;
    assert_eq!(ep["status"], "ACTIVE");
    assert_eq!(ep["view"], "VENDOR");
    assert!(secret.starts_with("whsec_"));
    let partner = app.create_partner("Signed Partner").await;
    let got = rx.until(10, "partner.created", |g| !g.is_empty()).await;
    let d = &got[0];
    assert!(
        verifies(d, &secret),
        "the signature verifies with the secret"
    );
    assert_eq!(d.headers["content-type"], "application/json");
    assert_eq!(d.json["type"], "partner.created");
    assert_eq!(d.json["data"]["subjectId"], partner);
    // The id is the event's global id, the one `node(id:)` and `events` give.
    let events = app
        .ok(
            &app.vendor,
            "query($a: ID) { events(after: $a) { id cursor topic } }",
            json!({ "a": null }),
        )
        .await;
    let ev = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "partner.created")
        .unwrap()
        .clone();
    assert_eq!(d.id(), ev["id"].as_str().unwrap());
    assert_eq!(d.json["data"]["cursor"], ev["cursor"]);
    let ts: i64 = d.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    // The delivery log.
    let log = app.ok(&app.vendor, LOG, json!({ "e": ep["id"] })).await;
    let entry = &log["webhookDeliveries"][0];
    assert_eq!(entry["succeeded"], true, "{log}");
    assert_eq!(entry["responseCode"], 200);
    assert_eq!(entry["attempt"], 1);
    assert_eq!(entry["eventCursor"], ev["cursor"]);
    // Rotation: both secrets sign during the overlap.
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $i) { secret endpoint { version previousSecretExpiresAt } } }",
            json!({ "i": { "id": ep["id"], "expectedVersion": ep["version"], "overlapHours": 1 } }),
        )
        .await;
    let fresh = d["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(fresh, secret);
    assert!(!d["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"].is_null());
    app.create_partner("Second Partner").await;
    let got = rx.until(10, "a second delivery", |g| g.len() >= 2).await;
    assert!(verifies(&got[1], &fresh) && verifies(&got[1], &secret));
    // The secret is never readable afterwards, nor in any event.
    let all = app
        .ok(&app.vendor, "{ events(first: 100) { payload } }", json!({}))
        .await;
    assert!(
        !all.to_string().contains(&fresh[6..]),
        "no secret in events"
    );
}

#[tokio::test]
async fn failures_are_retried_in_order_then_the_endpoint_is_disabled_and_its_owner_told() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1, 1])).await;
    let rx = Receiver::start().await;
    let (ep, _) = register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner.created"] }),
    )
    .await;
    // 500, then a timeout (the receiver is slower than the 1 s allowed), then success.
    rx.answer(&[Answer::Status(500), Answer::Slow(2_500)]);
    let first = app.create_partner("First").await;
    let second = app.create_partner("Second").await;
    let got = rx
        .until(20, "both events after two failures", |g| {
            g.iter()
                .filter(|d| d.json["data"]["subjectId"] == second)
                .count()
                == 1
                && g.len() >= 4
        })
        .await;
    // The first event three times (the same id each time), then the second: in order.
    let subjects: Vec<Value> = got
        .iter()
        .map(|d| d.json["data"]["subjectId"].clone())
        .collect();
    assert_eq!(
        subjects,
        vec![json!(first), json!(first), json!(first), json!(second)]
    );
    assert_eq!(got[0].id(), got[2].id());
    let log = app.ok(&app.vendor, LOG, json!({ "e": ep["id"] })).await;
    let log = log["webhookDeliveries"].as_array().unwrap().clone();
    let mine: Vec<(i64, bool, Value)> = log
        .iter()
        .rev()
        .map(|e| {
            (
                e["attempt"].as_i64().unwrap(),
                e["succeeded"].as_bool().unwrap(),
                e["responseCode"].clone(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        vec![
            (1, false, json!(500)),
            (2, false, Value::Null),
            (3, true, json!(200)),
            (1, true, json!(200))
        ]
    );
    assert!(
        log[2]["error"].as_str().unwrap().contains("no answer"),
        "{:?}",
        log[2]
    );
    // Now it keeps failing: after the schedule (two waits) it is disabled and the vendor hears.
    let now = app.scalar("SELECT COALESCE(MAX(id), 0) FROM events").await;
    rx.otherwise(Some(Answer::Status(503)));
    let third = app.create_partner("Third").await;
    rx.until(20, "three failed attempts", |g| {
        g.iter()
            .filter(|d| d.json["data"]["subjectId"] == third)
            .count()
            == 3
    })
    .await;
    let mut disabled = Value::Null;
    for _ in 0..100 {
        let d = app.ok(&app.vendor, ENDPOINTS, json!({})).await;
        disabled = d["webhookEndpoints"][0].clone();
        if disabled["status"] == "DISABLED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(disabled["status"], "DISABLED", "{disabled}");
    assert!(
        disabled["disabledReason"].as_str().unwrap().contains("503"),
        "{disabled}"
    );
    let told = app
        .ok(
            &app.vendor,
            "query($a: ID) { events(after: $a) { topic subjectId } }",
            json!({ "a": now.to_string() }),
        )
        .await;
    assert!(
        told["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["topic"] == "webhook.endpoint_disabled" && e["subjectId"] == ep["id"]),
        "{told}"
    );
    // Nothing more is sent while disabled; turned on again, the pending event is delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = rx.got().len();
    assert_eq!(before, 7);
    rx.otherwise(None);
    app.ok(
        &app.vendor,
        "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { endpoint { status } } }",
        json!({ "i": { "id": ep["id"], "expectedVersion": disabled["version"], "enabled": true } }),
    )
    .await;
    let got = rx
        .until(10, "the pending event after re-enabling", |g| g.len() == 8)
        .await;
    assert_eq!(got[7].json["data"]["subjectId"], third);
}

#[tokio::test]
async fn each_partner_receives_exactly_what_its_events_query_shows() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let (a, b, c) = (
        app.partner("Acme").await,
        app.partner("Bolt").await,
        app.partner("Crux").await,
    );
    let (ra, rb, rc) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let start = app.scalar("SELECT COALESCE(MAX(id), 0) FROM events").await;
    // A and B register their own; the vendor registers one for C, in C's view.
    register(&app, &a.token, json!({ "url": ra.url })).await;
    register(&app, &b.token, json!({ "url": rb.url })).await;
    let (ep_c, _) = register(
        &app,
        &app.vendor,
        json!({ "url": rc.url, "partnerId": c.id }),
    )
    .await;
    assert_eq!(ep_c["view"], "PARTNER");
    // Claims on their own deals, and all three on one shared customer.
    for (m, d) in [
        (&a, "acme-only.example"),
        (&b, "bolt-only.example"),
        (&c, "crux-only.example"),
    ] {
        submit(&app, &m.token, d).await;
    }
    let shared = app
        .approved_deal("shared.example", &[(&a, "RESELLER"), (&b, "SERVICES")])
        .await;
    submit(&app, &c.token, "shared.example").await;
    app.ok(
        &app.vendor,
        "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { stage } } }",
        json!({ "i": { "id": shared.opportunity, "expectedVersion": shared.claims.last().unwrap()["opportunity"]["version"], "stage": "QUALIFICATION", "reason": "vendor-internal reason" } }),
    )
    .await;
    // A referral of A and B: each hears of its own invitation only, C of none.
    let d = app
        .ok(
            &app.vendor,
            "mutation($i: InvitePartnersInput!) { invitePartners(input: $i) { invitations { id partner { id } } } }",
            json!({ "i": { "lead": { "accountDomain": "referred.example", "accountName": "Referred", "dealName": "Referred deal" },
                "partnerIds": [a.id, b.id], "role": "INFLUENCER" } }),
        )
        .await;
    let invitations: Vec<(String, String)> = d["invitePartners"]["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["partner"]["id"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let last = app.scalar("SELECT COALESCE(MAX(id), 0) FROM events").await;
    for (m, rx, name) in [(&a, &ra, "A"), (&b, &rb, "B"), (&c, &rc, "C")] {
        // What this partner's own `events` query shows from the start...
        let mut want = Vec::new();
        let mut after = start.to_string();
        loop {
            let page = app
                .ok(
                    &m.token,
                    "query($a: ID) { events(after: $a, first: 100) { cursor topic } }",
                    json!({ "a": after }),
                )
                .await;
            let evs = page["events"].as_array().unwrap().clone();
            for e in &evs {
                let cur: i64 = e["cursor"].as_str().unwrap().parse().unwrap();
                if cur <= last {
                    want.push(cur);
                }
            }
            if evs.len() < 100 {
                break;
            }
            after = evs.last().unwrap()["cursor"].as_str().unwrap().to_string();
        }
        assert!(!want.is_empty());
        // ...is exactly what its endpoint received, in the same order.
        let got = rx
            .until(15, &format!("{name}'s events"), |g| {
                g.iter().filter(|d| d.cursor() <= last).count() >= want.len()
            })
            .await;
        let got: Vec<i64> = got
            .iter()
            .map(Delivery::cursor)
            .filter(|c| *c <= last)
            .collect();
        assert_eq!(got, want, "partner {name}");
        let text: String = rx
            .got()
            .iter()
            .map(|d| String::from_utf8_lossy(&d.body).to_string())
            .collect();
        for (other, domain) in [(&a, "acme-only"), (&b, "bolt-only"), (&c, "crux-only")] {
            if other.id != m.id {
                assert!(
                    !text.contains(&format!("secret of {domain}")),
                    "{name} received another partner's notes"
                );
                assert!(
                    !text.contains(domain),
                    "{name} received another partner's claim"
                );
            }
        }
        assert!(
            !text.contains("vendor-internal reason"),
            "{name} received the vendor's reason"
        );
        for (partner, invitation) in &invitations {
            assert_eq!(
                text.contains(invitation.as_str()),
                partner == &m.id,
                "{name} and the invitation of {partner}"
            );
        }
    }
}

#[tokio::test]
async fn two_instances_deliver_each_event_once() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let sibling = spawn_sibling(&app, |s| s.webhooks = settings(&[1])).await;
    let rx = Receiver::start().await;
    register(
        &app,
        &app.vendor,
        json!({ "url": rx.url, "topics": ["partner.created"] }),
    )
    .await;
    // Writes through both instances, slow answers so both dispatchers are busy at once.
    rx.otherwise(Some(Answer::Slow(20)));
    let mut made = Vec::new();
    for i in 0..15 {
        made.push(app.create_partner(&format!("Via first {i}")).await);
        made.push(sibling.create_partner(&format!("Via second {i}")).await);
    }
    rx.until(30, "30 deliveries", |g| g.len() >= 30).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = rx.got();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for d in &got {
        *seen.entry(d.id()).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "an event was delivered twice: {seen:?}"
    );
    assert_eq!(got.len(), 30);
    let cursors: Vec<i64> = got.iter().map(Delivery::cursor).collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "in outbox order: {cursors:?}"
    );
}

/// `cosell_webhook_endpoints_claimed_total` now.
async fn claimed(app: &TestApp) -> i64 {
    app.metric("cosell_webhook_endpoints_claimed_total")
        .await
        .expect("the claims metric") as i64
}

#[tokio::test]
async fn an_event_wakes_only_the_endpoints_it_is_for() {
    let app = spawn_app_with(|s| {
        s.webhooks = WebhookArgs {
            webhook_sweep_seconds: 3_600,
            ..settings(&[1])
        }
    })
    .await;
    let rx = Receiver::start().await;
    let mut members = Vec::new();
    for i in 0..25 {
        let m = app.partner(&format!("Partner {i}")).await;
        register(
            &app,
            &m.token,
            json!({ "url": rx.url, "topics": ["registration."] }),
        )
        .await;
        members.push(m);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = claimed(&app).await;
    let reg = submit(&app, &members[7].token, "one-of-many.example").await;
    rx.until(10, "partner 7's claim", |g| {
        g.iter().any(|d| d.json["data"]["subjectId"] == reg["id"])
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let woken = claimed(&app).await - before;
    assert!(
        (1..=3).contains(&woken),
        "one partner's event leased {woken} of 25 endpoints"
    );
    assert!(
        rx.got()
            .iter()
            .all(|d| d.json["data"]["subjectId"] == reg["id"]),
        "only partner 7's endpoint received anything"
    );
}

#[tokio::test]
async fn a_delivery_cut_off_by_a_crash_is_made_again_by_another_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = fresh_database(&dir).await;
    let rx = Receiver::start().await;
    // Instance one, a real process, delivers with a 2 s timeout (so a 9 s lease).
    let mut one = Server(
        cosell()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--database-url",
                &url,
            ])
            .args(["--webhook-allow-private-targets", "--webhook-allow-http"])
            .args(["--webhook-timeout-ms", "2000", "--webhook-poll-ms", "100"])
            .env("COSELL_JWT_SECRET", SECRET)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(one.0.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("a listening line").unwrap();
        if line.contains("cosell is listening") {
            let v: Value = serde_json::from_str(&line).unwrap();
            break v["addr"].as_str().unwrap().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let vendor = vendor_token("ADMIN");
    let client = reqwest::Client::new();
    let call = |q: &'static str, v: Value| {
        let (client, vendor, addr) = (client.clone(), vendor.clone(), addr.clone());
        async move {
            let body: Value = client
                .post(format!("http://{addr}/graphql"))
                .bearer_auth(vendor)
                .json(&json!({ "query": q, "variables": v }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    };
    call(
        CREATE,
        json!({ "i": { "url": rx.url, "topics": ["partner.created"] } }),
    )
    .await;
    // The receiver takes the first delivery and never answers; the instance dies meanwhile.
    rx.answer(&[Answer::Hang]);
    let hung = rx.hung.notified();
    call(
        "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id } } }",
        json!({ "i": { "name": "Mid-delivery", "tier": "GOLD" } }),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(10), hung)
        .await
        .expect("the delivery started");
    one.0.kill().unwrap();
    one.0.wait().unwrap();
    // Another instance takes the endpoint over once the dead one's lease runs out.
    let two = spawn_app_on(&url, |s| {
        s.webhooks = WebhookArgs {
            webhook_timeout_ms: 2_000,
            ..settings(&[1])
        };
    })
    .await;
    let got = rx
        .until(30, "the delivery made again", |g| g.len() >= 2)
        .await;
    assert_eq!(
        got[0].id(),
        got[1].id(),
        "the same event, by the same webhook-id"
    );
    let eps = two.ok(&two.vendor, ENDPOINTS, json!({})).await;
    let ep = eps["webhookEndpoints"][0]["id"].clone();
    let mut log = Value::Null;
    for _ in 0..50 {
        log = two.ok(&two.vendor, LOG, json!({ "e": ep })).await;
        if log["webhookDeliveries"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log["webhookDeliveries"][0]["succeeded"], true, "{log}");
}

#[tokio::test]
async fn endpoints_are_managed_only_by_their_owners_and_targets_are_checked() {
    let app = spawn_app_with(|s| s.webhooks = settings(&[1])).await;
    let (a, b) = (app.partner("Acme").await, app.partner("Bolt").await);
    // Members' tokens are their PARTNER_ADMINs'.
    let admin = |m: &Member| m.token.clone();
    let (ep, _) = register(&app, &admin(&a), json!({ "url": "http://127.0.0.1:9/a" })).await;
    assert_eq!(ep["partnerId"], a.id);
    // B sees none of A's endpoints, by any path.
    let d = app.ok(&admin(&b), ENDPOINTS, json!({})).await;
    assert_eq!(d["webhookEndpoints"], json!([]));
    let d = app
        .ok(
            &admin(&b),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": ep["id"] }),
        )
        .await;
    assert_eq!(d["node"], Value::Null);
    let r = app.gql(&admin(&b), LOG, json!({ "e": ep["id"] })).await;
    assert_eq!(error_code(&r), "NOT_FOUND", "{r}");
    for m in [
        "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { endpoint { id } } }",
        "mutation($i: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $i) { deletedId } }",
        "mutation($i: RetryWebhookEndpointInput!) { retryWebhookEndpoint(input: $i) { endpoint { id } } }",
    ] {
        let r = app.gql(&admin(&b), m, json!({ "i": { "id": ep["id"], "expectedVersion": 1 } })).await;
        assert_eq!(error_code(&r), "NOT_FOUND", "{m}: {r}");
    }
    // B cannot register for A either.
    let r = app
        .gql(
            &admin(&b),
            CREATE,
            json!({ "i": { "url": "http://127.0.0.1:9/b", "partnerId": a.id } }),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    // A partner rep and a vendor salesperson manage none; the vendor ADMIN sees A's.
    let rep = token_for(
        cosell::auth::PrincipalKind::Partner,
        Some("PARTNER_REP"),
        Some(&a.id),
        None,
    );
    let r = app.gql(&rep, ENDPOINTS, json!({})).await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    let r = app.gql(&vendor_token("SALES"), ENDPOINTS, json!({})).await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    let d = app.ok(&app.vendor, ENDPOINTS, json!({})).await;
    assert_eq!(d["webhookEndpoints"][0]["id"], ep["id"]);
    // An app needs events:read, and manages only its own.
    let app_token = app_token("registrations:read", Some(&a.id));
    let r = app
        .gql(
            &app_token,
            CREATE,
            json!({ "i": { "url": "http://127.0.0.1:9/c" } }),
        )
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    let reader = app_token_for("events:read", &a.id);
    let (mine, _) = register(&app, &reader, json!({ "url": "http://127.0.0.1:9/d" })).await;
    assert_eq!(mine["view"], "APP");
    let d = app.ok(&reader, ENDPOINTS, json!({})).await;
    assert_eq!(d["webhookEndpoints"].as_array().unwrap().len(), 1);
    // A's admin manages what A registered, not what its app did.
    let d = app.ok(&admin(&a), ENDPOINTS, json!({})).await;
    assert_eq!(d["webhookEndpoints"].as_array().unwrap().len(), 1);

    // Targets: by default only public HTTPS.
    let strict = spawn_app().await;
    for (url, why) in [
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1/x", "public"),
        ("https://169.254.169.254/latest", "public"),
        ("https://localhost/x", "public"),
        ("ftp://hooks.example.com/", "https"),
    ] {
        let r = strict
            .gql(&strict.vendor, CREATE, json!({ "i": { "url": url } }))
            .await;
        assert_eq!(error_code(&r), "BAD_USER_INPUT", "{url}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "url", "{r}");
        assert!(
            r["errors"][0]["message"].as_str().unwrap().contains(why),
            "{url}: {r}"
        );
    }
    let r = strict
        .gql(
            &strict.vendor,
            CREATE,
            json!({ "i": { "url": "https://hooks.example.com/x", "topics": ["has space"] } }),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    strict
        .ok(
            &strict.vendor,
            CREATE,
            json!({ "i": { "url": "https://hooks.example.com/x", "topics": ["registration."] } }),
        )
        .await;
}

/// An app token acting for partner `partner` with `scopes`.
fn app_token_for(scopes: &str, partner: &str) -> String {
    app_token(scopes, Some(partner))
}
