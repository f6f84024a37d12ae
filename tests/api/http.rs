//! GraphQL over HTTP: media types, status codes, GET, batching, request ids, health, metrics.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::helpers::*;

fn content_type(h: &reqwest::header::HeaderMap) -> String {
    h.get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn send(app: &TestApp, accept: Option<&str>, body: &str) -> (u16, String, Value) {
    let mut req = app
        .client
        .post(&app.url)
        .bearer_auth(&app.vendor)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(a) = accept {
        req = req.header(ACCEPT, a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = content_type(res.headers());
    let text = res.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn media_types_and_status_codes_follow_the_spec() {
    let app = spawn_app().await;
    let ok = r#"{"query":"{ viewer { kind } }"}"#;
    let invalid = r#"{"query":"{ viewer { nope } }"}"#;
    let unparsable = r#"{"query":"{ viewer { "}"#;
    for accept in [None, Some("*/*"), Some("application/json")] {
        let (s, ct, b) = send(&app, accept, ok).await;
        assert_eq!(
            (s, ct.as_str()),
            (200, "application/json; charset=utf-8"),
            "{accept:?}"
        );
        assert_eq!(b["data"]["viewer"]["kind"], "VENDOR");
        // application/json: a well-formed request answers 200 even when validation fails.
        let (s, _, b) = send(&app, accept, invalid).await;
        assert_eq!(s, 200);
        assert_eq!(error_code(&b), "GRAPHQL_VALIDATION_FAILED");
    }
    let gql = Some("application/graphql-response+json");
    let (s, ct, _) = send(&app, gql, ok).await;
    assert_eq!(
        (s, ct.as_str()),
        (200, "application/graphql-response+json; charset=utf-8")
    );
    let (s, _, b) = send(&app, gql, invalid).await;
    assert_eq!(s, 400);
    assert!(
        b.get("data").is_none(),
        "request errors carry no data key: {b}"
    );
    let (s, _, b) = send(&app, gql, unparsable).await;
    assert_eq!(s, 400);
    assert_eq!(error_code(&b), "GRAPHQL_PARSE_FAILED");
    let msg = b["errors"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("syntax error at line 1"), "{msg}");
    assert!(
        !msg.contains('\n') && !msg.contains("-->"),
        "no parser art: {msg}"
    );
    let (s, _, _) = send(&app, Some("text/html"), ok).await;
    assert_eq!(s, 406);
}

#[tokio::test]
async fn malformed_http_requests_get_400_415_or_413() {
    let app = spawn_app_with(|s| s.limits.max_body_bytes = 2048).await;
    let (s, _, b) = send(&app, None, "{not json").await;
    assert_eq!((s, error_code(&b)), (400, "BAD_REQUEST"));
    let (s, _, b) = send(&app, None, r#"{"variables":{}}"#).await;
    assert_eq!((s, error_code(&b)), (400, "BAD_REQUEST"));
    let (s, _, _) = send(&app, None, r#"{"query":{"not":"a string"}}"#).await;
    assert_eq!(s, 400);
    let (s, _, _) = send(
        &app,
        None,
        r#"{"query":"{ viewer { kind } }","variables":"nope"}"#,
    )
    .await;
    assert_eq!(s, 400);
    let res = app
        .client
        .post(&app.url)
        .bearer_auth(&app.vendor)
        .header(CONTENT_TYPE, "text/plain")
        .body("{ viewer { kind } }")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let big =
        json!({ "query": format!("{{ viewer {{ kind }} }} #{}", "x".repeat(4096)) }).to_string();
    let (s, _, b) = send(&app, None, &big).await;
    assert_eq!((s, error_code(&b)), (413, "LIMIT_EXCEEDED"));
}

#[tokio::test]
async fn get_runs_queries_but_refuses_mutations() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(&app.url)
        .bearer_auth(&app.vendor)
        .query(&[
            ("query", "query Who { viewer { kind } }"),
            ("operationName", "Who"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["data"]["viewer"]["kind"], "VENDOR");
    let res = app
        .client
        .get(&app.url)
        .bearer_auth(&app.vendor)
        .query(&[(
            "query",
            "mutation { createPartner(input: { name: \"ViaGet\" }) { partner { id } } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM partners").await, 0);
    let res = app
        .client
        .get(&app.url)
        .bearer_auth(&app.vendor)
        .query(&[("query", "{ viewer { kind } }"), ("variables", "[1]")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn batches_run_each_operation_and_are_capped() {
    let app = spawn_app_with(|s| s.limits.max_batch = 3).await;
    let one = json!({ "query": "{ viewer { kind } }" });
    let r = app
        .post(
            Some(&app.vendor),
            json!([one, { "query": "{ viewer { nope } }" }]),
        )
        .await;
    assert_eq!(r.status, 200);
    let arr = r.body.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["data"]["viewer"]["kind"], "VENDOR");
    assert_eq!(error_code(&arr[1]), "GRAPHQL_VALIDATION_FAILED");
    let r = app
        .post(Some(&app.vendor), json!([one, one, one, one]))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "LIMIT_EXCEEDED"));
    let r = app.post(Some(&app.vendor), json!([])).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn request_ids_health_readiness_metrics_and_graphiql() {
    let app = spawn_app().await;
    let base = format!("http://{}", app.addr);
    for path in ["/healthz", "/readyz"] {
        let res = app
            .client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} needs no token");
        assert!(res.headers().contains_key("x-request-id"));
        let b: Value = res.json().await.unwrap();
        assert_eq!(b["status"], "ok");
    }
    let res = app
        .client
        .post(&app.url)
        .bearer_auth(&app.vendor)
        .header("x-request-id", "trace-abc-123")
        .json(&json!({"query":"{ viewer { kind } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    app.post(
        Some(&app.vendor),
        json!({ "query": "{ partner(id: \"UGFydG5lcjo5OTk\") { id } }" }),
    )
    .await;
    app.post(None, json!({ "query": "{ viewer { kind } }" }))
        .await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("cosell_http_requests_total{route=\"/graphql\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("cosell_http_requests_total{route=\"/graphql\",status=\"401\"} 1"));
    assert!(metrics.contains("cosell_graphql_errors_total{code=\"NOT_FOUND\"} 1"));
    assert!(metrics.contains("cosell_graphql_errors_total{code=\"UNAUTHENTICATED\"} 1"));
    assert!(metrics
        .contains("cosell_http_request_duration_seconds_bucket{route=\"/graphql\",le=\"+Inf\"}"));
    assert!(metrics.contains("cosell_sql_statements_total"));
    let page = app
        .client
        .get(format!("{base}/graphiql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql") || page.contains("GraphiQL"));
    let script = app
        .client
        .get(format!("{base}/graphiql/assets/cosell-graphiql.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        script.contains("/graphql/ws"),
        "GraphiQL runs subscriptions too"
    );
    let res = app.client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let res = app
        .client
        .get(format!("http://{}/readyz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    // A request that needs the database answers a retryable 503, with no driver text.
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": "{ opportunities { totalCount } }" }),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (503, "SERVICE_UNAVAILABLE"));
    assert!(r.headers.contains_key("retry-after"));
    let text = r.body.to_string();
    for leak in ["DbErr", "sqlx", "pool", "Conn", "panicked", ".rs:"] {
        assert!(
            !text.contains(leak),
            "internal detail `{leak}` leaked: {text}"
        );
    }
}
