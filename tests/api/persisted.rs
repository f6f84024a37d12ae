//! Persisted documents: automatic persisted queries shared by every instance, and trusted
//! documents that refuse anything else on every transport.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::*;

const VIEWER: &str = "query Viewer { viewer { kind } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn a_hash_is_asked_for_once_then_runs_on_every_instance_and_over_get() {
    let app = spawn_app().await;
    let hash = sha256(VIEWER);
    // Unknown: the client is told to send the document (Apollo's wording and code).
    let r = app
        .post(Some(&app.vendor), json!({ "extensions": apq(&hash) }))
        .await;
    assert_eq!(r.code(), "PERSISTED_QUERY_NOT_FOUND", "{}", r.body);
    assert_eq!(r.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(r.body.get("data").is_none());
    // With the document: it runs and is registered.
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": VIEWER, "extensions": apq(&hash) }),
        )
        .await;
    assert_eq!(
        r.body,
        json!({ "data": { "viewer": { "kind": "VENDOR" } } })
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM persisted_queries").await,
        1
    );
    // The hash alone now runs, here without a database read for it (the fewest statements of
    // a few tries: the server's background jobs share the counter)...
    let mut by_hash = u64::MAX;
    let mut in_full = u64::MAX;
    for _ in 0..3 {
        let (n, r) = app
            .count_statements(app.post(Some(&app.vendor), json!({ "extensions": apq(&hash) })))
            .await;
        assert_eq!(
            r.body,
            json!({ "data": { "viewer": { "kind": "VENDOR" } } })
        );
        by_hash = by_hash.min(n);
        let (n, _) = app
            .count_statements(app.post(Some(&app.vendor), json!({ "query": VIEWER })))
            .await;
        in_full = in_full.min(n);
    }
    assert_eq!(
        by_hash, in_full,
        "a known hash costs no statement of its own"
    );
    // ...over GET as Apollo's useGETForHashedQueries sends it...
    let res = app
        .client
        .get(&app.url)
        .query(&[("extensions", apq(&hash).to_string())])
        .bearer_auth(&app.vendor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["kind"], "VENDOR", "{body}");
    // ...and on another instance of the deployment, which reads it from the database.
    let sibling = spawn_sibling(&app, |_| {}).await;
    let r = sibling
        .post(Some(&app.vendor), json!({ "extensions": apq(&hash) }))
        .await;
    assert_eq!(r.body["data"]["viewer"]["kind"], "VENDOR", "{}", r.body);
    // The same document registered again changes nothing.
    sibling
        .post(
            Some(&app.vendor),
            json!({ "query": VIEWER, "extensions": apq(&hash) }),
        )
        .await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM persisted_queries").await,
        1
    );
}

#[tokio::test]
async fn a_hash_runs_with_the_callers_own_visibility() {
    let app = spawn_app().await;
    let (a, b) = (app.partner("Acme").await, app.partner("Bolt").await);
    let deal = app
        .approved_deal("shared.example", &[(&a, "RESELLER")])
        .await;
    const MINE: &str = "{ registrations(first: 10) { totalCount nodes { id privateNotes } } }";
    let hash = sha256(MINE);
    let r = app
        .post(
            Some(&a.token),
            json!({ "query": MINE, "extensions": apq(&hash) }),
        )
        .await;
    assert_eq!(
        r.body["data"]["registrations"]["totalCount"], 1,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["data"]["registrations"]["nodes"][0]["id"],
        deal.claims[0]["id"]
    );
    // B runs the document A registered and sees its own (none), not A's.
    let r = app
        .post(Some(&b.token), json!({ "extensions": apq(&hash) }))
        .await;
    assert_eq!(
        r.body,
        json!({ "data": { "registrations": { "totalCount": 0, "nodes": [] } } })
    );
    // No token, no lookup: the request is refused before anything is read.
    let r = app.post(None, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn bad_hashes_are_refused_and_the_store_stays_bounded() {
    let app = spawn_app_with(|s| s.http.persisted_queries_max = 2).await;
    let wrong = sha256("{ viewer { partnerRole } }");
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": VIEWER, "extensions": apq(&wrong) }),
        )
        .await;
    assert_eq!(r.code(), "BAD_REQUEST", "{}", r.body);
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("sha256Hash"));
    for bad in [
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } }),
        json!({ "persistedQuery": { "version": 3, "sha256Hash": wrong } }),
        json!({ "persistedQuery": [] }),
    ] {
        let r = app
            .post(Some(&app.vendor), json!({ "extensions": bad }))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.code(), "BAD_REQUEST", "{}", r.body);
    }
    // A document that fails its checks is not registered.
    let broken = "{ viewer { kind }";
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": broken, "extensions": apq(&sha256(broken)) }),
        )
        .await;
    assert_eq!(r.code(), "GRAPHQL_PARSE_FAILED");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM persisted_queries").await,
        0
    );
    // Three documents into a store of two: the oldest is forgotten, and asked for again.
    let docs = [
        "{ viewer { kind } }",
        "{ viewer { kind partnerRole } }",
        "{ viewer { partnerRole } }",
    ];
    for d in docs {
        let r = app
            .post(
                Some(&app.vendor),
                json!({ "query": d, "extensions": apq(&sha256(d)) }),
            )
            .await;
        assert!(r.body.get("errors").is_none(), "{}", r.body);
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM persisted_queries").await,
        2
    );
    let fresh = spawn_sibling(&app, |_| {}).await;
    let r = fresh
        .post(
            Some(&app.vendor),
            json!({ "extensions": apq(&sha256(docs[0])) }),
        )
        .await;
    assert_eq!(r.code(), "PERSISTED_QUERY_NOT_FOUND");
    let r = fresh
        .post(
            Some(&app.vendor),
            json!({ "extensions": apq(&sha256(docs[2])) }),
        )
        .await;
    assert!(r.body.get("errors").is_none(), "{}", r.body);
}

#[tokio::test]
async fn with_automatic_persisted_queries_off_a_hash_is_refused_as_unsupported() {
    let app = spawn_app_with(|s| {
        s.http.persisted_queries = cosell::config::PersistedQueryMode::Off;
    })
    .await;
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": VIEWER, "extensions": apq(&sha256(VIEWER)) }),
        )
        .await;
    assert_eq!(r.code(), "PERSISTED_QUERY_NOT_SUPPORTED", "{}", r.body);
    let r = app
        .post(Some(&app.vendor), json!({ "query": VIEWER }))
        .await;
    assert_eq!(r.body["data"]["viewer"]["kind"], "VENDOR");
}

/// A server that runs only the documents of `manifest`.
async fn trusted(manifest: Value) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let app = spawn_app_with(|s| s.http.trusted_documents = Some(path)).await;
    (app, dir)
}

#[tokio::test]
async fn trusted_documents_run_by_id_or_in_full_and_nothing_else_does() {
    const KIND: &str = "query Kind { viewer { kind } }";
    let (app, _dir) = trusted(json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{ "id": sha256(KIND), "name": "Kind", "type": "query", "body": KIND }]
    }))
    .await;
    let data = json!({ "data": { "viewer": { "kind": "VENDOR" } } });
    // By the persisted-query hash, by documentId, and in full.
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "extensions": apq(&sha256(KIND)) }),
        )
        .await;
    assert_eq!(r.body, data);
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "documentId": format!("sha256:{}", sha256(KIND)) }),
        )
        .await;
    assert_eq!(r.body, data);
    let r = app.post(Some(&app.vendor), json!({ "query": KIND })).await;
    assert_eq!(r.body, data);
    // Anything else is refused before it is parsed, and nothing is registered.
    for other in [
        VIEWER,
        "{ viewer { kind }",
        "{ __schema { types { name } } }",
    ] {
        let r = app.post(Some(&app.vendor), json!({ "query": other })).await;
        assert_eq!(r.code(), "QUERY_NOT_IN_PERSISTED_QUERY_LIST", "{}", r.body);
        let r = app
            .post(
                Some(&app.vendor),
                json!({ "query": other, "extensions": apq(&sha256(other)) }),
            )
            .await;
        assert_eq!(r.code(), "PERSISTED_QUERY_NOT_IN_LIST", "{}", r.body);
    }
    let r = app
        .post(Some(&app.vendor), json!({ "documentId": "NoSuchDocument" }))
        .await;
    assert_eq!(r.code(), "PERSISTED_QUERY_NOT_IN_LIST");
    // A listed id with another document's text is refused.
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": VIEWER, "documentId": format!("sha256:{}", sha256(KIND)) }),
        )
        .await;
    assert_eq!(r.code(), "BAD_REQUEST", "{}", r.body);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM persisted_queries").await,
        0
    );
    // The WebSocket obeys the same list.
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("1", VIEWER, json!({})).await;
    let m = ws.recv().await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(
        m["payload"][0]["extensions"]["code"],
        "QUERY_NOT_IN_PERSISTED_QUERY_LIST"
    );
    ws.subscribe("2", KIND, json!({})).await;
    assert_eq!(ws.next_payload("2").await, data);
}

#[tokio::test]
async fn a_relay_manifest_names_documents_by_its_own_ids() {
    let (app, _dir) =
        trusted(json!({ "Viewer_kind_1": "query ViewerKind { viewer { kind } }" })).await;
    let r = app
        .post(Some(&app.vendor), json!({ "doc_id": "Viewer_kind_1" }))
        .await;
    assert_eq!(r.body["data"]["viewer"]["kind"], "VENDOR", "{}", r.body);
    let res = app
        .client
        .get(&app.url)
        .query(&[("documentId", "Viewer_kind_1")])
        .bearer_auth(&app.vendor)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["kind"], "VENDOR", "{body}");
}

#[test]
fn an_unreadable_manifest_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, "[1, 2]").unwrap();
    let http = cosell::config::HttpArgs {
        trusted_documents: Some(path.clone()),
        ..Default::default()
    };
    let e = cosell::pipeline::persisted::Documents::from_args(&http).unwrap_err();
    assert!(
        e.contains("manifest.json") && e.contains("JSON object"),
        "{e}"
    );
    let missing = cosell::config::HttpArgs {
        trusted_documents: Some(dir.path().join("absent.json")),
        ..Default::default()
    };
    assert!(cosell::pipeline::persisted::Documents::from_args(&missing).is_err());
}
