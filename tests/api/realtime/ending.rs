//! How the server ends a stream, over either transport: when its token expires, when its
//! partner is suspended, and when the server stops (without `complete`, so that clients resume
//! with `after`).

use cosell::auth::jwt;
use cosell::auth::PrincipalKind;

use super::*;
use crate::transport::*;

#[tokio::test]
async fn a_stream_ends_when_its_token_expires() {
    let app = spawn_app_with(|s| {
        s.jwt.jwt_leeway_seconds = 0;
        s.realtime.ws_keepalive_seconds = 3600;
    })
    .await;
    for t in BOTH {
        let mut c = claims(PrincipalKind::Vendor, Some("ADMIN"), None, None);
        c.exp = jwt::now() + 2;
        let token = jwt::mint_hs256(&c, SECRET).unwrap();
        let mut sub = app.open(t, &token, EVENTS, json!({})).await;
        let started = std::time::Instant::now();
        // An event stream: UNAUTHENTICATED, then complete; a WebSocket: closed with 4401.
        sub.ends_refused("UNAUTHENTICATED", 4401, "expired").await;
        assert!(started.elapsed() < Duration::from_secs(5), "{t:?}");
    }
}

#[tokio::test]
async fn a_partner_suspended_while_connected_loses_its_streams() {
    // No keep-alive falls within the test: the suspension itself ends the streams.
    let app = spawn_app_with(|s| s.realtime.ws_keepalive_seconds = 3600).await;
    for t in BOTH {
        let p = app.partner(&format!("Soon Suspended over {t:?}")).await;
        let mut idle = app.open(t, &p.token, EVENTS, json!({})).await;
        // A WebSocket can carry the partner's next operation on a connection already open.
        let mut busy = match t {
            Transport::Ws => Some(app.ws_as(&p.token).await),
            Transport::Sse => None,
        };
        app.ok(
            &app.vendor,
            "mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { partner { status } } }",
            json!({ "i": { "id": p.id, "expectedVersion": 1, "status": "SUSPENDED" } }),
        )
        .await;
        // That next operation is refused by closing, as the next HTTP request would be refused...
        if let Some(busy) = &mut busy {
            busy.subscribe("q", "{ viewer { kind } }", json!({})).await;
            let (code, reason) = busy.closed().await;
            assert_eq!(code, 4403, "{reason}");
        }
        // ...and an idle stream ends as soon as the suspension is out, without waiting for a
        // keep-alive (the suspension's own event may come first): an event stream with
        // FORBIDDEN, then complete; a WebSocket closed with 4403.
        let started = std::time::Instant::now();
        idle.ends_refused("FORBIDDEN", 4403, "suspended").await;
        assert!(started.elapsed() < Duration::from_secs(5), "{t:?}");
    }
}

#[tokio::test]
async fn a_stopping_server_ends_streams_for_clients_to_resume() {
    for t in BOTH {
        let mut app = spawn_app().await;
        let mut sub = app.open(t, &app.vendor, EVENTS, json!({})).await;
        let ((), (code, reason)) = tokio::join!(app.stop(), sub.closed());
        match t {
            // Cut without `complete`: the client reconnects.
            Transport::Sse => assert_eq!((code, reason.as_str()), (None, "")),
            // Going away, with a reason that says to resume with `after`.
            Transport::Ws => {
                assert_eq!(code, Some(1001), "{reason}");
                assert!(reason.contains("after"), "{reason}");
            }
        }
    }
}
