//! Every answer to a rate-limited caller tells it where it stands (`RateLimit-Policy`,
//! `RateLimit`), so a client paces itself before it is refused.

use serde_json::json;

use crate::helpers::*;

fn header(r: &Reply, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn answers_carry_the_caller_s_standing_and_a_refusal_says_when_to_come_back() {
    let app = spawn_app_with(|s| s.limits.rate_limit_per_minute = 3).await;
    let q = json!({ "query": "{ viewer { kind } }" });
    let first = app.post(Some(&app.vendor), q.clone()).await;
    assert_eq!(first.status, 200);
    assert_eq!(header(&first, "ratelimit-policy"), "3;w=60");
    assert_eq!(
        header(&first, "ratelimit"),
        "limit=3, remaining=2, reset=20"
    );
    app.post(Some(&app.vendor), q.clone()).await;
    let last = app.post(Some(&app.vendor), q.clone()).await;
    assert_eq!(last.status, 200);
    assert!(header(&last, "ratelimit").starts_with("limit=3, remaining=0, reset="));
    let refused = app.post(Some(&app.vendor), q.clone()).await;
    assert_eq!(refused.status, 429);
    assert!(header(&refused, "ratelimit").starts_with("limit=3, remaining=0,"));
    assert!(!header(&refused, "retry-after").is_empty());
    // Unauthenticated requests spend nobody's budget and say nothing of one.
    let anonymous = app.post(None, q.clone()).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.headers.get("ratelimit").is_none());
}

#[tokio::test]
async fn without_a_limit_no_standing_is_sent() {
    let app = spawn_app_with(|s| s.limits.rate_limit_per_minute = 0).await;
    let r = app
        .post(Some(&app.vendor), json!({ "query": "{ viewer { kind } }" }))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get("ratelimit").is_none());
}
