//! What is admitted to a stream, over either transport: operations refused before they run
//! answer with a code, and the connection limit per principal counts event streams and
//! WebSockets together.

use reqwest::StatusCode;

use super::*;
use crate::transport::*;

#[tokio::test]
async fn operations_refused_before_they_run_answer_with_a_code() {
    let app = spawn_app().await;
    for t in BOTH {
        for (document, code) in [
            ("subscription { nope }", "GRAPHQL_VALIDATION_FAILED"),
            ("{ viewer { nope } }", "GRAPHQL_VALIDATION_FAILED"),
            // One root field per subscription, as the specification says.
            (
                "subscription { events { id } conflictChanged { event { id } } }",
                "GRAPHQL_VALIDATION_FAILED",
            ),
            ("subscription {", "GRAPHQL_PARSE_FAILED"),
        ] {
            // An event stream: a result with the error, then complete; a WebSocket: `error`.
            let mut sub = app.open(t, &app.vendor, document, json!({})).await;
            let e = sub.refused().await;
            assert_eq!(e["extensions"]["code"], code, "{t:?} {document}: {e}");
        }

        // A bad cursor is the resolver's error: a result with errors, then complete.
        let mut sub = app
            .open(t, &app.vendor, EVENTS, json!({ "after": "abc" }))
            .await;
        let p = sub.result().await;
        assert_eq!(error_code(&p), "BAD_USER_INPUT", "{t:?}: {p}");
        sub.completes().await;

        // Apps need events:read for the events stream.
        let token = app_token("opportunities:read", None);
        let mut sub = app.open(t, &token, EVENTS, json!({})).await;
        assert_eq!(error_code(&sub.result().await), "FORBIDDEN", "{t:?}");
    }

    // Subscriptions are served as streams only, not as plain HTTP requests.
    let r = app
        .post(
            Some(&app.vendor),
            json!({ "query": "subscription { events { id: cursor } }" }),
        )
        .await;
    assert_eq!(r.code(), "BAD_REQUEST", "{}", r.body);
}

#[tokio::test]
async fn the_connection_limit_per_principal_counts_event_streams_and_websockets_together() {
    let app = spawn_app_with(|s| s.realtime.ws_max_connections_per_principal = 2).await;
    for (t, role) in [
        (Transport::Sse, "CHANNEL_MANAGER"),
        (Transport::Ws, "SALES"),
    ] {
        let token = vendor_token(role);
        // One stream of each kind fills the two places.
        let mut open = vec![
            app.open(Transport::Sse, &token, EVENTS, json!({})).await,
            app.open(Transport::Ws, &token, EVENTS, json!({})).await,
        ];
        match app.try_open(t, &token, EVENTS, json!({})).await {
            Err(Refused::Http(status, body)) if t == Transport::Sse => {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(error_code(&body), "LIMIT_EXCEEDED");
                assert!(
                    body.to_string().contains("too many open connections"),
                    "{body}"
                );
            }
            Err(Refused::Closed(code, reason)) if t == Transport::Ws => {
                assert_eq!(code, 1008, "{reason}");
                assert!(reason.contains("too many open connections"), "{reason}");
            }
            Err(other) => panic!("{t:?}: refused as {other:?}"),
            Ok(_) => panic!("{t:?}: a third connection was admitted"),
        }
        // Another principal is not affected, and a closed connection frees its place.
        let _other = app.open(t, &app.vendor, EVENTS, json!({})).await;
        open.remove(if t == Transport::Sse { 0 } else { 1 });
        let mut retry = None;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Ok(sub) = app.try_open(t, &token, EVENTS, json!({})).await {
                retry = Some(sub);
                break;
            }
        }
        assert!(
            retry.is_some(),
            "{t:?}: a place freed by a closed connection is usable"
        );
    }
}
