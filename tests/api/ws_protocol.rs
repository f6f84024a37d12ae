//! `/graphql/ws` as a protocol: the handshake, authentication, the close codes of the
//! graphql-transport-ws specification, keep-alives, the subscription limit per connection and
//! the legacy `graphql-ws` subprotocol, all over a real WebSocket. What it shares with event
//! streams (refusals, the connection limit, how streams end) runs over both in `realtime`.

use std::time::Duration;

use cosell::auth::jwt;
use serde_json::json;

use crate::helpers::*;
use crate::ws::*;

const VIEWER: &str = "{ viewer { kind } }";
const EVENTS: &str = "subscription($after: ID) { events(after: $after) { id: cursor topic } }";

#[tokio::test]
async fn close_codes_follow_the_graphql_transport_ws_spec() {
    let app = spawn_app_with(|s| s.realtime.ws_init_timeout_ms = 300).await;

    // 4401: subscribe before the connection is acknowledged.
    let mut ws = app.ws(TRANSPORT).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(ws.closed().await.0, 4401);

    // 4429: a second connection_init.
    let mut ws = app.ws_as(&app.vendor).await;
    ws.send(json!({ "type": "connection_init" })).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(
        (code, reason.as_str()),
        (4429, "Too many initialisation requests")
    );

    // 4400: not JSON, no type, an unknown type, a server-only type, a binary frame.
    for bad in [
        "not json",
        r#"{"id":"1"}"#,
        r#"{"type":"shout"}"#,
        r#"{"type":"next","id":"1","payload":{}}"#,
        r#"{"type":"subscribe","id":"1","payload":{"query":7}}"#,
    ] {
        let mut ws = app.ws_as(&app.vendor).await;
        ws.send_text(bad).await;
        assert_eq!(ws.closed().await.0, 4400, "{bad}");
    }

    // 4409: a subscription id already in use.
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("same", EVENTS, json!({})).await;
    ws.subscribe("same", EVENTS, json!({})).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4409);
    assert_eq!(reason, "Subscriber for same already exists");

    // 4408: no connection_init in time.
    let mut ws = app.ws(TRANSPORT).await;
    let (code, reason) = ws.closed().await;
    assert_eq!(
        (code, reason.as_str()),
        (4408, "Connection initialisation timeout")
    );

    // 4406: no subprotocol the server speaks.
    let mut ws = app.ws("").await;
    assert_eq!(ws.closed().await.0, 4406);
}

#[tokio::test]
async fn tokens_come_from_connection_init_or_the_header_and_bad_ones_close_with_4401() {
    let app = spawn_app().await;
    for payload in [
        json!(null),
        json!({}),
        json!({ "Authorization": "Bearer not-a-jwt" }),
        json!({ "Authorization": format!("Bearer {}", raw_token(&json!({ "sub": "x", "kind": "vendor", "role": "ADMIN", "exp": jwt::now() - 3600, "iss": "cosell", "aud": "cosell-api" }))) }),
        json!({ "token": partner_token("999") }),
        // Authorization in the forms POST refuses: a valid token without `Bearer `, or in
        // another scheme.
        json!({ "Authorization": app.vendor.clone() }),
        json!({ "authorization": format!("Basic {}", app.vendor) }),
    ] {
        let mut ws = app.ws(TRANSPORT).await;
        ws.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 4401, "{payload}: {reason}");
        assert!(reason.starts_with("Unauthorized"), "{reason}");
    }

    // The token in the upgrade request's Authorization header serves when the payload has none.
    let mut ws = app.ws_with(TRANSPORT, Some(&app.vendor)).await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.subscribe("q", VIEWER, json!({})).await;
    assert_eq!(
        ws.next_payload("q").await["data"]["viewer"]["kind"],
        "VENDOR"
    );
    assert_eq!(ws.recv().await, json!({ "type": "complete", "id": "q" }));

    // The bare token in `token` works too; ping answers pong.
    let mut ws = app.ws(TRANSPORT).await;
    ws.send(json!({ "type": "connection_init", "payload": { "token": app.vendor } }))
        .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.recv().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn limits_on_subscriptions_per_connection_and_keepalive_pings() {
    let app = spawn_app_with(|s| {
        s.realtime.ws_max_subscriptions = 2;
        s.realtime.ws_keepalive_seconds = 1;
    })
    .await;
    let mut ws = app.ws_as(&app.vendor).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    ws.subscribe("2", EVENTS, json!({})).await;
    ws.subscribe("3", EVENTS, json!({})).await;
    let m = ws.recv().await;
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("error"), Some("3")),
        "{m}"
    );
    assert_eq!(m["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    // Completing one frees its place.
    ws.send(json!({ "type": "complete", "id": "1" })).await;
    ws.subscribe("3", EVENTS, json!({})).await;
    assert!(ws.silent_for(Duration::from_millis(300)).await.is_ok());

    // The server pings an idle connection.
    let mut saw_ping = false;
    for _ in 0..3 {
        if let Some(Frame::Json(m)) = ws.recv_within(Duration::from_secs(2)).await {
            if m["type"] == "ping" {
                saw_ping = true;
                break;
            }
        }
    }
    assert!(saw_ping, "keep-alive ping");
}

#[tokio::test]
async fn the_legacy_graphql_ws_subprotocol_serves_the_same_operations() {
    let app = spawn_app().await;
    let mut ws = app.ws(LEGACY).await;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", app.vendor) } }))
        .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.subscribe("q", VIEWER, json!({})).await;
    assert_eq!(
        ws.next_payload("q").await["data"]["viewer"]["kind"],
        "VENDOR"
    );
    assert_eq!(ws.recv().await, json!({ "type": "complete", "id": "q" }));

    ws.subscribe(
        "s",
        "subscription($after: ID) { registrationStatusChanged(after: $after) { event { topic } registration { status } } }",
        json!({ "after": app.now().await }),
    )
    .await;
    let p = app.create_partner("Legacy Partner").await;
    let d = app
        .ok(&partner_token(&p), "mutation($i: SubmitRegistrationInput!) { submitRegistration(input: $i) { registration { id status } } }",
            json!({ "i": { "draft": { "accountDomain": "legacy.example", "accountName": "Legacy", "dealName": "D", "role": "SERVICES", "justification": "x" } } }))
        .await;
    let status = d["submitRegistration"]["registration"]["status"].clone();
    let got = ws.next_payload("s").await;
    assert_eq!(
        got["data"]["registrationStatusChanged"]["event"]["topic"],
        "registration.submitted"
    );
    // The object is as it is now, which may already be past SUBMITTED.
    assert_eq!(
        got["data"]["registrationStatusChanged"]["registration"]["status"],
        status
    );
    ws.send(json!({ "type": "stop", "id": "s" })).await;
    // A document that does not validate is refused with `error`.
    ws.subscribe("bad", "subscription { nope }", json!({}))
        .await;
    let m = ws.recv().await;
    assert_eq!(
        (m["type"].as_str(), m["id"].as_str()),
        (Some("error"), Some("bad")),
        "{m}"
    );
    assert_eq!(
        m["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    // Legacy refusals: connection_error, then the close.
    let mut bad = app.ws(LEGACY).await;
    bad.send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(bad.recv().await["type"], "connection_error");
    assert_eq!(bad.closed().await.0, 4401);
    let mut ws = app.ws(LEGACY).await;
    ws.send(json!({ "type": "connection_init", "payload": { "token": app.vendor } }))
        .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.send(json!({ "type": "connection_terminate" })).await;
    assert_eq!(ws.closed().await.0, 1000);
}

#[tokio::test]
async fn a_suspension_on_one_instance_closes_the_partners_connections_on_another() {
    let first = spawn_app_with(|s| s.realtime.ws_keepalive_seconds = 3600).await;
    // On SQLite another process hears of the outbox within one poll; on PostgreSQL at once.
    let second = spawn_sibling(&first, |s| {
        s.realtime.ws_keepalive_seconds = 3600;
        s.realtime.outbox_poll_ms = 200;
    })
    .await;
    let p = first.create_partner("Elsewhere").await;
    let other = first.create_partner("Unaffected").await;
    let mut there = second.ws_as(&partner_token(&p)).await;
    there.subscribe("e", EVENTS, json!({})).await;
    let mut bystander = second.ws_as(&partner_token(&other)).await;
    bystander.subscribe("e", EVENTS, json!({})).await;
    first
        .ok(
            &first.vendor,
            "mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { partner { status } } }",
            json!({ "i": { "id": p, "expectedVersion": 1, "status": "SUSPENDED" } }),
        )
        .await;
    let (code, reason) = there.closed().await;
    assert_eq!(code, 4403, "{reason}");
    // Another partner's connection stays open and answers.
    bystander.subscribe("q", VIEWER, json!({})).await;
    let next = bystander.recv().await;
    assert_eq!(next["type"], "next", "{next}");
}
