//! GraphQL over Server-Sent Events (`Accept: text/event-stream` on /graphql): what is the
//! event stream's own (one result then `complete` for a query, persisted documents, GET, the
//! request's refusals as plain JSON, a client that does not read). What it shares with the
//! WebSocket (scoping, resuming, limits, ending) runs over both transports in `realtime`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::transport::*;

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
    // (Refusals before execution, over both transports: `realtime::admission`.)
    // Persisted documents work here too.
    let doc = "{ viewer { kind } }";
    let hash = cosell::http::persisted::sha256_hex(doc);
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
    let mut s = Sse::of(res);
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
