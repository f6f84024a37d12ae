//! The hostile-document corpus (tests/api/corpus.rs) sent over POST, GET, both WebSocket
//! subprotocols and in a batch. Each document is refused with its code before any work, and
//! the server keeps answering.

use serde_json::{json, Value};

use crate::corpus::{corpus, nest, Case};
use crate::helpers::*;
use crate::ws::{LEGACY, TRANSPORT};

/// The errors of a refusal, checked against the case.
fn assert_refused(case: &Case, how: &str, errors: &Value) {
    let e = &errors[0];
    assert_eq!(
        e["extensions"]["code"], case.code,
        "{} over {how}: {}",
        case.name, e
    );
    if let Some(limit) = case.limit {
        assert_eq!(
            e["extensions"]["limit"], limit,
            "{} over {how}: {e}",
            case.name
        );
    }
    let message = e["message"].as_str().unwrap_or_default();
    assert!(
        message.len() < 400,
        "{} over {how}: long message",
        case.name
    );
}

async fn still_up(app: &TestApp, after: &str) {
    let health = app
        .client
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the server is down after {after}: {e}"));
    assert_eq!(health.status(), 200, "after {after}");
    let d = app.ok(&app.vendor, "{ viewer { kind } }", json!({})).await;
    assert_eq!(d["viewer"]["kind"], "VENDOR", "after {after}");
}

#[tokio::test]
async fn every_hostile_document_is_refused_over_post_and_in_batches() {
    let app = spawn_app().await;
    for c in corpus() {
        let r = app
            .post(
                Some(&app.vendor),
                json!({ "query": c.query, "variables": c.variables }),
            )
            .await;
        assert!(r.body.get("data").is_none(), "{}: {}", c.name, r.body);
        assert_refused(&c, "POST", &r.body["errors"]);
        still_up(&app, c.name).await;
    }
    // With the GraphQL response media type, a refusal before execution is HTTP 400.
    for c in corpus().into_iter().take(3) {
        let r = app
            .client
            .post(&app.url)
            .bearer_auth(&app.vendor)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": c.query }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{}", c.name);
    }
    // In a batch, each operation gets its own answer; the hostile one does not stop the others.
    for c in corpus().into_iter().filter(|c| c.query.len() < 200_000) {
        let r = app
            .post(
                Some(&app.vendor),
                json!([
                    { "query": c.query, "variables": c.variables },
                    { "query": "{ viewer { kind } }" }
                ]),
            )
            .await;
        let (hostile, fine) = (&r.body[0], &r.body[1]);
        assert_refused(&c, "a batch", &hostile["errors"]);
        assert_eq!(fine["data"]["viewer"]["kind"], "VENDOR", "{}", c.name);
    }
    // A body nested deeper than can be read is refused whole, batch or not.
    let deep = format!(
        "[{{\"query\": \"{{ viewer {{ kind }} }}\", \"variables\": {{\"v\": {}}}}}]",
        nest("[", "1", "]", 2_000)
    );
    let r = app
        .client
        .post(&app.url)
        .bearer_auth(&app.vendor)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "json-depth",
        "{body}"
    );
    still_up(&app, "the batches").await;
}

#[tokio::test]
async fn every_hostile_document_is_refused_over_get() {
    let app = spawn_app().await;
    for c in corpus().into_iter().filter(|c| c.query.len() < 64_000) {
        let res = app
            .client
            .get(&app.url)
            .bearer_auth(&app.vendor)
            .query(&[
                ("query", c.query.as_str()),
                ("variables", &c.variables.to_string()),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_refused(&c, "GET", &body["errors"]);
        still_up(&app, c.name).await;
    }
    // Tokens past the limit in a query string, one byte each (the HTTP layer answers 414 to a
    // URI past 64 KiB).
    let res = app
        .client
        .get(format!("{}?query=%7Ba{}%7D", app.url, "!".repeat(60_000)))
        .bearer_auth(&app.vendor)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["limit"], "max-tokens",
        "{body}"
    );
    still_up(&app, "60,000 tokens over GET").await;
}

#[tokio::test]
async fn every_hostile_document_is_refused_over_both_websocket_protocols() {
    let app = spawn_app().await;
    for proto in [TRANSPORT, LEGACY] {
        let mut ws = app.ws(proto).await;
        ws.init(&app.vendor).await;
        for (i, c) in corpus().into_iter().enumerate() {
            let id = format!("h{i}");
            ws.subscribe(&id, &c.query, c.variables.clone()).await;
            let m = ws.recv().await;
            assert_eq!(
                (m["type"].as_str(), m["id"].as_str()),
                (Some("error"), Some(id.as_str())),
                "{}: {m}",
                c.name
            );
            assert_refused(&c, proto, &m["payload"]);
        }
        // The connection is still usable.
        ws.subscribe("fine", "{ viewer { kind } }", json!({})).await;
        assert_eq!(
            ws.next_payload("fine").await["data"]["viewer"]["kind"],
            "VENDOR"
        );
    }
    // A message nested past what can be read at all closes the socket as unreadable (4400).
    let mut ws = app.ws(TRANSPORT).await;
    ws.init(&app.vendor).await;
    let deep = format!(
        "{{\"type\":\"subscribe\",\"id\":\"d\",\"payload\":{{\"query\":\"{{ viewer {{ kind }} }}\",\"variables\":{{\"v\":{}}}}}}}",
        nest("[", "1", "]", 2_000)
    );
    ws.send_text(&deep).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4400, "{reason}");
    assert!(reason.contains("nest"), "{reason}");
    still_up(&app, "the WebSocket corpus").await;
}

#[tokio::test]
async fn standard_introspection_queries_pass_with_the_default_limits() {
    let app = spawn_app().await;
    let p = app.create_partner("Introspector").await;
    let partner = partner_token(&p);
    for file in [
        "graphql-js-default.graphql",
        "graphql-js-no-descriptions.graphql",
        "graphql-js-all-options.graphql",
        "graphiql.graphql",
    ] {
        let query = std::fs::read_to_string(fixture(&format!("introspection/{file}"))).unwrap();
        for token in [&app.vendor, &partner] {
            let body = app
                .post(
                    Some(token),
                    json!({ "query": query, "operationName": "IntrospectionQuery" }),
                )
                .await
                .body;
            assert!(body.get("errors").is_none(), "{file}: {body}");
            let types = body["data"]["__schema"]["types"].as_array().unwrap();
            assert!(types.iter().any(|t| t["name"] == "Opportunity"), "{file}");
        }
        // The same over GET, as GraphiQL and codegen tools may send it.
        let res = app
            .client
            .get(&app.url)
            .bearer_auth(&app.vendor)
            .query(&[("query", query.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert!(body.get("errors").is_none(), "{file} over GET: {body}");
    }
}
