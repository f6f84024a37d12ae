//! GraphQL over Server-Sent Events (`Accept: text/event-stream` on /graphql): the same
//! subscriptions, scoping, limits and ending rules as the WebSocket, over plain HTTP.

use std::time::Duration;

use cosell::auth::jwt;
use cosell::auth::PrincipalKind;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const EVENTS: &str =
    "subscription($after: ID) { events(after: $after) { id: cursor topic subjectId payload } }";
const STATUS: &str = "subscription($after: ID) { registrationStatusChanged(after: $after) { event { id: cursor topic } registration { id status privateNotes } } }";

/// One event of a stream.
#[derive(Debug, PartialEq)]
enum Event {
    Next(Value),
    Complete,
    /// The stream ended without `complete`.
    Cut,
}

/// An open event stream, read as a client reads it.
struct Sse {
    res: reqwest::Response,
    buffer: Vec<u8>,
}

impl TestApp {
    /// Opens a stream for one operation; the response when the server refused to open one.
    async fn sse(&self, token: Option<&str>, body: Value) -> Result<Sse, (StatusCode, Value)> {
        let mut req = self
            .client
            .post(&self.url)
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        if res.status() != StatusCode::OK {
            let status = res.status();
            return Err((status, res.json().await.expect("a JSON refusal")));
        }
        assert_eq!(
            res.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        Ok(Sse {
            res,
            buffer: Vec::new(),
        })
    }
}

impl Sse {
    /// The next event (keep-alive comments skipped), waiting at most `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Event> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("UTF-8");
                let (mut event, mut data) = (None, String::new());
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                match event.as_deref() {
                    None => continue,
                    Some("next") => {
                        return Some(Event::Next(serde_json::from_str(&data).expect("JSON")))
                    }
                    Some("complete") => return Some(Event::Complete),
                    Some(other) => panic!("unexpected event {other}"),
                }
            }
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.res.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) | Ok(Err(_)) => return Some(Event::Cut),
            }
        }
    }

    async fn next(&mut self) -> Event {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }

    /// The next `next` event's result.
    async fn result(&mut self) -> Value {
        match self.next().await {
            Event::Next(v) => v,
            other => panic!("expected a result, got {other:?}"),
        }
    }
}

fn draft(domain: &str, notes: &str) -> Value {
    json!({ "accountDomain": domain, "accountName": format!("{domain} Ltd"), "dealName": "Deal",
            "role": "RESELLER", "justification": "We know the buyer.", "privateNotes": notes })
}

async fn submit(app: &TestApp, token: &str, d: Value) -> Value {
    app.ok(
        token,
        "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id version status } } }",
        json!({ "i": { "draft": d } }),
    )
    .await["submitRegistration"]["registration"]
        .clone()
}

#[tokio::test]
async fn a_query_answers_one_result_then_completes_and_refusals_arrive_as_results() {
    let app = spawn_app().await;
    let mut s = app
        .sse(Some(&app.vendor), json!({ "query": "{ viewer { kind } }" }))
        .await
        .unwrap();
    assert_eq!(
        s.result().await,
        json!({ "data": { "viewer": { "kind": "VENDOR" } } })
    );
    assert_eq!(s.next().await, Event::Complete);
    // Refused before execution: a result with the error, then complete (the protocol's rule).
    let mut s = app
        .sse(Some(&app.vendor), json!({ "query": "{ viewer { nope } }" }))
        .await
        .unwrap();
    let r = s.result().await;
    assert_eq!(error_code(&r), "GRAPHQL_VALIDATION_FAILED", "{r}");
    assert_eq!(s.next().await, Event::Complete);
    // Persisted documents work here too.
    let doc = "{ viewer { kind } }";
    let hash = cosell::pipeline::persisted::sha256_hex(doc);
    let pq = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let mut s = app
        .sse(Some(&app.vendor), json!({ "extensions": pq }))
        .await
        .unwrap();
    assert_eq!(error_code(&s.result().await), "PERSISTED_QUERY_NOT_FOUND");
    let mut s = app
        .sse(Some(&app.vendor), json!({ "query": doc, "extensions": pq }))
        .await
        .unwrap();
    assert_eq!(s.result().await["data"]["viewer"]["kind"], "VENDOR");
    // A mutation over GET is refused as on the plain endpoint.
    let res = app
        .client
        .get(&app.url)
        .query(&[("query", "mutation { __typename }")])
        .header("accept", "text/event-stream")
        .bearer_auth(&app.vendor)
        .send()
        .await
        .unwrap();
    let mut s = Sse {
        res,
        buffer: Vec::new(),
    };
    let r = s.result().await;
    assert!(
        r["errors"][0]["message"].as_str().unwrap().contains("POST"),
        "{r}"
    );
    // The request itself refused: plain JSON with its status, no stream.
    let (status, body) = app
        .sse(None, json!({ "query": "{ viewer { kind } }" }))
        .await
        .err()
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let (status, body) = app
        .sse(
            Some(&app.vendor),
            json!([{ "query": "{ viewer { kind } }" }]),
        )
        .await
        .err()
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn subscribers_hear_only_what_is_theirs_and_resume_after_their_last_event() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("Acme").await, app.partner("Bolt").await);
    let now = app
        .scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .await
        .to_string();
    let mut vendor = app
        .sse(
            Some(&app.vendor),
            json!({ "query": STATUS, "variables": { "after": now } }),
        )
        .await
        .unwrap();
    let mut other = app
        .sse(
            Some(&b.token),
            json!({ "query": EVENTS, "variables": { "after": now } }),
        )
        .await
        .unwrap();
    let reg = submit(&app, &a.token, draft("acme-deal.example", "A's secret")).await;
    let heard = vendor.result().await;
    let first = &heard["data"]["registrationStatusChanged"];
    assert_eq!(first["event"]["topic"], "registration.submitted", "{heard}");
    assert_eq!(first["registration"]["id"], reg["id"]);
    // B's own claim comes after A's in the outbox: once B hears it, it has passed A's.
    let own = submit(&app, &b.token, draft("bolt-deal.example", "B's notes")).await;
    let mut seen = Vec::new();
    loop {
        let e = other.result().await;
        let text = e.to_string();
        assert!(
            !text.contains("acme-deal") && !text.contains(reg["id"].as_str().unwrap()),
            "B hears of A's claim: {text}"
        );
        seen.push(e["data"]["events"]["subjectId"].clone());
        if e["data"]["events"]["subjectId"] == own["id"] {
            break;
        }
    }
    // The vendor drops its stream and resumes after the first event: it gets B's claim, in
    // order, and nothing twice.
    drop(vendor);
    let after = first["event"]["id"].as_str().unwrap();
    let mut resumed = app
        .sse(
            Some(&app.vendor),
            json!({ "query": STATUS, "variables": { "after": after } }),
        )
        .await
        .unwrap();
    let next = resumed.result().await;
    let e = &next["data"]["registrationStatusChanged"];
    assert_eq!(e["registration"]["id"], own["id"], "{next}");
    assert!(e["event"]["id"].as_str().unwrap().parse::<i64>().unwrap() > after.parse().unwrap());
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires_or_its_partner_is_suspended() {
    let app = spawn_app_with(|s| {
        s.jwt.jwt_leeway_seconds = 0;
        s.realtime.ws_keepalive_seconds = 3600;
    })
    .await;
    let mut c = claims(PrincipalKind::Vendor, Some("ADMIN"), None, None);
    c.exp = jwt::now() + 2;
    let short = jwt::mint_hs256(&c, SECRET).unwrap();
    let mut s = app
        .sse(Some(&short), json!({ "query": EVENTS }))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = s.result().await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED", "{r}");
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    assert_eq!(s.next().await, Event::Complete);
    assert!(started.elapsed() < Duration::from_secs(5));

    let p = app.partner("Soon Suspended").await;
    let mut s = app
        .sse(Some(&p.token), json!({ "query": EVENTS }))
        .await
        .unwrap();
    app.ok(
        &app.vendor,
        "mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { partner { status } } }",
        json!({ "i": { "id": p.id, "expectedVersion": 1, "status": "SUSPENDED" } }),
    )
    .await;
    // The suspension's own event may come first; then the stream ends.
    let mut r = s.result().await;
    if r.get("data").is_some() {
        assert_eq!(r["data"]["events"]["topic"], "partner.updated", "{r}");
        r = s.result().await;
    }
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    assert_eq!(s.next().await, Event::Complete);
}

#[tokio::test]
async fn streams_count_against_the_connection_limit_with_websockets_and_end_at_shutdown() {
    let mut app = spawn_app_with(|s| s.realtime.ws_max_connections_per_principal = 2).await;
    let token = vendor_token("CHANNEL_MANAGER");
    let mut open = app
        .sse(Some(&token), json!({ "query": EVENTS }))
        .await
        .unwrap();
    let _ws = app.ws_as(&token).await;
    let (status, body) = app
        .sse(Some(&token), json!({ "query": EVENTS }))
        .await
        .err()
        .unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "LIMIT_EXCEEDED");
    // A server going down ends the stream without `complete`: the client reconnects.
    app.stop().await;
    assert_eq!(
        open.next_within(Duration::from_secs(10)).await,
        Some(Event::Cut)
    );
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_off() {
    let app = spawn_app_with(|s| {
        s.realtime.ws_send_buffer = 1;
        s.realtime.ws_slow_consumer_ms = 200;
        s.limits.max_aliases = 250;
    })
    .await;
    // History with large messages, replayed to a client that reads nothing: far more than the
    // socket buffers between server and client hold (about 40 MB).
    let p = app.partner("Verbose").await;
    let long = "x".repeat(3900);
    for i in 0..60 {
        let mut d = draft(&format!("d{i}.example"), &long);
        d["justification"] = json!(long);
        submit(&app, &p.token, d).await;
    }
    let fields: String = (0..100)
        .map(|i| format!("j{i}: justification n{i}: privateNotes "))
        .collect();
    let query = format!(
        "subscription {{ registrationStatusChanged(after: \"0\") {{ registration {{ {fields} }} }} }}"
    );
    let stalled = app
        .sse(Some(&app.vendor), json!({ "query": query }))
        .await
        .unwrap();
    let mut open = 1.0;
    for _ in 0..100 {
        open = app.metric("cosell_sse_streams").await.unwrap_or(-1.0);
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0.0, "the server gave up on the stream");
    drop(stalled);
}
