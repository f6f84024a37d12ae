use base64::Engine;
use serde_json::{json, Value};

use super::*;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn base() -> Value {
    json!({ "sub": "u1", "kind": "app", "iss": "https://idp.example/", "aud": "cosell-api", "exp": 2000000000 })
}

fn with(k: &str, v: Value) -> Map<String, Value> {
    let mut b = base();
    b[k] = v;
    map(b)
}

fn without(k: &str) -> Map<String, Value> {
    let mut m = map(base());
    m.remove(k);
    m
}

#[test]
fn identity_provider_spellings_are_read() {
    let c = Claims::from_map(&with(
        "aud",
        json!(["cosell-api", "https://idp.example/userinfo"]),
    ))
    .unwrap();
    assert_eq!(
        c.aud.values(false),
        ["cosell-api", "https://idp.example/userinfo"]
    );
    let mut m = with("scp", json!(["opportunities:read", "events:read"]));
    m.insert("scope".into(), json!("openid accounts:read"));
    let c = Claims::from_map(&m).unwrap();
    assert_eq!(
        c.scopes(),
        [
            "openid",
            "accounts:read",
            "opportunities:read",
            "events:read"
        ]
    );
    let c = Claims::from_map(&with("exp", json!(2000000000.75))).unwrap();
    assert_eq!(c.exp, 2000000000);
    let c = Claims::from_map(&with("partner_id", json!(42))).unwrap();
    assert_eq!(c.partner_id.as_deref(), Some("42"));
}

#[test]
fn a_malformed_claim_is_named() {
    let cases = [
        (without("sub"), "the token lacks the required `sub` claim"),
        (without("kind"), "the token lacks the required `kind` claim"),
        (
            with("kind", json!("robot")),
            "the token's `kind` claim must be \"vendor\", \"partner\" or \"app\"",
        ),
        (
            with("sub", json!(7)),
            "the token's `sub` claim must be a string",
        ),
        (
            with("aud", json!(["a", 1])),
            "the token's `aud` claim must be a string or a list of strings",
        ),
        (
            with("scope", json!({ "read": true })),
            "the token's `scope` claim must be a string or a list of strings",
        ),
        (
            with("nbf", json!("soon")),
            "the token's `nbf` claim must be a number of seconds since 1970 (a NumericDate)",
        ),
        (
            with("exp", json!(-5)),
            "the token's `exp` claim must be a number of seconds since 1970 (a NumericDate)",
        ),
        (
            with("role", json!(["ADMIN"])),
            "the token's `role` claim must be a string",
        ),
    ];
    for (claims, message) in cases {
        assert_eq!(Claims::from_map(&claims).unwrap_err(), message);
    }
}

fn token_with_payload(payload: &str) -> String {
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", b(r#"{"alg":"HS256"}"#), b(payload))
}

#[test]
fn a_repeated_claim_is_found() {
    assert_eq!(
        repeated_claim(&token_with_payload(
            r#"{"sub":"a","role":"SALES","role":"ADMIN","kind":"vendor","kind":"app"}"#
        )),
        Some("role".into())
    );
    assert_eq!(
        repeated_claim(&token_with_payload(r#"{"sub":"a","nested":{"x":1,"x":2}}"#)),
        None,
        "only top-level claims count"
    );
    assert_eq!(repeated_claim(&token_with_payload("[1,2]")), None);
    assert_eq!(repeated_claim("not a token"), None);
}
