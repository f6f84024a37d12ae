//! One event, every channel: a webhook delivery's body carries the event exactly as the
//! `events` query, `node(id:)` and the `events` subscription over Server-Sent Events give it
//! (the same id, cursor, topic, subject, payload and date, in the same format).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use cosell::config::WebhookArgs;
use serde_json::{json, Value};

use crate::helpers::*;

const FIELDS: &str = "id cursor topic subjectId payload createdAt";

/// The requests an HTTP receiver on loopback got: headers and JSON body.
type Got = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// Starts a receiver that answers 200 to every POST; its URL and what it got.
async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let g = g.clone();
            async move {
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                g.lock().unwrap().push((headers, json));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

/// The first `next` result of an SSE stream opened with `body`, within 10 s.
async fn first_sse_result(app: &TestApp, body: Value) -> Value {
    let mut res = app
        .client
        .post(&app.url)
        .bearer_auth(&app.vendor)
        .header("accept", "text/event-stream")
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut buffer = String::new();
    let read = async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                if block.lines().any(|l| l.trim() == "event: next") {
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(str::trim_start)
                        .collect();
                    return serde_json::from_str::<Value>(&data).unwrap();
                }
            }
            let chunk = res.chunk().await.unwrap().expect("the stream stays open");
            buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an event within 10 s")
}

#[tokio::test]
async fn a_webhook_body_is_the_event_the_query_node_and_subscriptions_give() {
    let app = spawn_app_with(|s| {
        s.webhooks = WebhookArgs {
            webhook_allow_private_targets: true,
            webhook_allow_http: true,
            webhook_poll_ms: 100,
            ..WebhookArgs::default()
        }
    })
    .await;
    let (url, got) = receiver().await;
    app.ok(
        &app.vendor,
        "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }",
        json!({ "i": { "url": url, "topics": ["partner."] } }),
    )
    .await;
    let before = app
        .ok(&app.vendor, "{ events(first: 100) { cursor } }", json!({}))
        .await["events"]
        .as_array()
        .unwrap()
        .last()
        .map(|e| e["cursor"].clone())
        .unwrap_or(Value::Null);
    let partner = app.create_partner("Envelope Partner").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (headers, body) = loop {
        if let Some(d) = got.lock().unwrap().first().cloned() {
            break d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let query = format!("query($a: ID) {{ events(after: $a) {{ {FIELDS} }} }}");
    let events = app.ok(&app.vendor, &query, json!({ "a": before })).await;
    let event = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["topic"] == "partner.created")
        .expect("the partner's event")
        .clone();
    assert_eq!(event["subjectId"], partner);
    // The body's `data` is the query's event, field for field (dates and ids included).
    assert_eq!(body["data"], event, "{body}");
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["type", "timestamp", "data"]
    );
    assert_eq!(body["type"], event["topic"]);
    assert_eq!(body["timestamp"], event["createdAt"]);
    assert_eq!(headers["webhook-id"].to_str().unwrap(), event["id"]);
    let at = event["createdAt"].as_str().unwrap();
    assert!(
        at.len() == 24 && at.ends_with('Z') && at.as_bytes()[19] == b'.',
        "RFC 3339 in UTC with milliseconds: {at}"
    );

    // `node(id:)` answers the same event.
    let node = app
        .ok(
            &app.vendor,
            &format!("query($id: ID!) {{ node(id: $id) {{ ... on Event {{ {FIELDS} }} }} }}"),
            json!({ "id": event["id"] }),
        )
        .await;
    assert_eq!(node["node"], event);

    // So does the `events` subscription over Server-Sent Events, resumed before it.
    let sub = format!(
        "subscription($a: ID) {{ events(after: $a, topics: [\"partner.\"]) {{ {FIELDS} }} }}"
    );
    let streamed =
        first_sse_result(&app, json!({ "query": sub, "variables": { "a": before } })).await;
    assert_eq!(streamed["data"]["events"], event, "{streamed}");
}
