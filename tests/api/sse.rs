//! GraphQL over Server-Sent Events (`Accept: text/event-stream` on /graphql): what is the
//! event stream's own (one result then `complete` for a query, persisted documents, GET, the
//! request's refusals as plain JSON). What it shares with the WebSocket (scoping, resuming,
//! limits, slow consumers, ending) runs over both transports in `realtime`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::transport::*;

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
