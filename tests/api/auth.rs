//! Every way a token is refused, and the principals it yields when it is accepted.

use cosell::auth::jwt;
use cosell::auth::PrincipalKind;
use cosell::config::JwtAlgorithm;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::*;

const VIEWER: &str = "{ viewer { subject kind vendorRole partnerRole scopes partner { name } } }";

async fn refused(app: &TestApp, token: &str, why: &str) {
    let r = app.post(Some(token), json!({ "query": VIEWER })).await;
    assert_eq!(r.status, 401, "{why}: {}", r.body);
    assert_eq!(r.code(), "UNAUTHENTICATED", "{why}");
    assert!(r.body.get("data").is_none(), "{why}: nothing may execute");
}

fn base_claims() -> serde_json::Value {
    let now = jwt::now();
    json!({ "sub": "ada@vendor.test", "kind": "vendor", "role": "ADMIN", "iss": "cosell", "aud": "cosell-api",
            "exp": now + 600, "nbf": now - 5, "iat": now })
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_refused_and_nothing_executes() {
    let app = spawn_app().await;
    let create = json!({ "query": "mutation { createPartner(input: { name: \"Sneaky\" }) { partner { id } } }" });
    let r = app.post(None, create.clone()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "UNAUTHENTICATED");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let res = app
        .client
        .post(&app.url)
        .header("authorization", "Basic YTpi")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .post(&app.url)
        .header("authorization", "Bearer")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    refused(&app, "not.a.jwt", "garbage token").await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM partners").await,
        0,
        "the mutation must not have run"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM events").await, 0);
}

#[tokio::test]
async fn signature_time_issuer_and_audience_are_checked() {
    let app = spawn_app().await;
    let now = jwt::now();
    let mut c = base_claims();
    assert_eq!(
        app.post(Some(&raw_token(&c)), json!({ "query": VIEWER }))
            .await
            .status,
        200
    );

    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(b"another-secret-of-sufficient-length!!"),
    )
    .unwrap();
    refused(&app, &forged, "wrong signature").await;

    c["exp"] = json!(now - 120);
    refused(&app, &raw_token(&c), "expired beyond the leeway").await;
    c["exp"] = json!(now - 10);
    let within = app
        .post(Some(&raw_token(&c)), json!({ "query": VIEWER }))
        .await;
    assert_eq!(
        within.status, 200,
        "expired 10 s ago is inside the 30 s leeway"
    );

    let mut c = base_claims();
    c["nbf"] = json!(now + 300);
    refused(&app, &raw_token(&c), "not valid yet").await;

    let mut c = base_claims();
    c["iss"] = json!("someone-else");
    refused(&app, &raw_token(&c), "wrong issuer").await;
    let mut c = base_claims();
    c["aud"] = json!("another-api");
    refused(&app, &raw_token(&c), "wrong audience").await;

    let mut c = base_claims();
    c.as_object_mut().unwrap().remove("exp");
    refused(&app, &raw_token(&c), "no exp").await;
}

/// CVE-2026-25537: `exp`/`nbf` sent as strings were skipped by jsonwebtoken before 10.3.
#[tokio::test]
async fn exp_and_nbf_sent_as_strings_are_refused() {
    let app = spawn_app().await;
    let now = jwt::now();
    let mut c = base_claims();
    c["exp"] = json!((now - 3600).to_string());
    refused(&app, &raw_token(&c), "exp as a string (and long past)").await;
    let mut c = base_claims();
    c["exp"] = json!((now + 3600).to_string());
    refused(&app, &raw_token(&c), "exp as a string").await;
    let mut c = base_claims();
    c["nbf"] = json!((now + 3600).to_string());
    refused(&app, &raw_token(&c), "nbf as a string").await;
}

#[tokio::test]
async fn alg_none_and_algorithm_confusion_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let app = spawn_app_with(|s| {
        s.jwt.jwt_secret = None;
        s.jwt.jwt_public_key_file = Some(fixture("rs256-public.pem"));
    })
    .await;
    let c = base_claims();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    refused(&app, &none, "alg none").await;
    // HS256 signed with the RSA public key as the shared secret: the classic confusion attack.
    let public_pem = std::fs::read(fixture("rs256-public.pem")).unwrap();
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    refused(&app, &confused, "HS256 against an RS256 key").await;
    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &c,
        &EncodingKey::from_rsa_pem(&std::fs::read(fixture("rs256-private.pem")).unwrap()).unwrap(),
    )
    .unwrap();
    let r = app.post(Some(&good), json!({ "query": VIEWER })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["viewer"]["vendorRole"], "ADMIN");
}

#[tokio::test]
async fn es256_public_key_verifies() {
    let app = spawn_app_with(|s| {
        s.jwt.jwt_secret = None;
        s.jwt.jwt_public_key_file = Some(fixture("es256-public.pem"));
        s.jwt.jwt_algorithm = Some(JwtAlgorithm::Es256);
    })
    .await;
    let key =
        EncodingKey::from_ec_pem(&std::fs::read(fixture("es256-private.pem")).unwrap()).unwrap();
    let good = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &base_claims(), &key).unwrap();
    assert_eq!(
        app.post(Some(&good), json!({ "query": VIEWER }))
            .await
            .status,
        200
    );
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &base_claims(),
        &EncodingKey::from_rsa_pem(&std::fs::read(fixture("rs256-private.pem")).unwrap()).unwrap(),
    )
    .unwrap();
    refused(&app, &rs, "RS256 token on an ES256 server").await;
}

#[tokio::test]
async fn jwks_keys_are_chosen_by_kid() {
    let app = spawn_app_with(|s| {
        s.jwt.jwt_secret = None;
        s.jwt.jwt_jwks_file = Some(fixture("jwks.json"));
    })
    .await;
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(fixture("rs256-private.pem")).unwrap()).unwrap();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("test-rsa-1".into());
    let good = jsonwebtoken::encode(&h, &base_claims(), &key).unwrap();
    assert_eq!(
        app.post(Some(&good), json!({ "query": VIEWER }))
            .await
            .status,
        200
    );
    h.kid = Some("unknown-kid".into());
    refused(
        &app,
        &jsonwebtoken::encode(&h, &base_claims(), &key).unwrap(),
        "unknown kid",
    )
    .await;
}

#[tokio::test]
async fn partner_tokens_need_an_existing_active_partner() {
    let app = spawn_app().await;
    let p = app.create_partner("Northwind").await;
    let token = partner_token(&p);
    let r = app.post(Some(&token), json!({ "query": VIEWER })).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["viewer"]["partner"]["name"], "Northwind");
    assert_eq!(r.body["data"]["viewer"]["kind"], "PARTNER");

    refused(
        &app,
        &partner_token(&cosell::ids::encode(cosell::ids::Kind::Partner, 999)),
        "unknown partner",
    )
    .await;
    refused(
        &app,
        &token_for(PrincipalKind::Partner, Some("PARTNER_REP"), None, None),
        "partner token without partner_id",
    )
    .await;
    refused(
        &app,
        &token_for(PrincipalKind::Vendor, Some("OWNER"), None, None),
        "unknown vendor role",
    )
    .await;

    app.ok(
        &app.vendor,
        "mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) { partner { status } } }",
        json!({ "i": { "id": p, "expectedVersion": 1, "status": "SUSPENDED" } }),
    )
    .await;
    refused(&app, &token, "suspended partner").await;
}

#[tokio::test]
async fn app_tokens_are_limited_by_scopes() {
    let app = spawn_app().await;
    let acct = app.create_account("Acme", "acme.com").await;
    app.create_opportunity(&acct, json!({ "name": "Roll-out" }))
        .await;
    let reader = app_token("opportunities:read", None);
    let d = app
        .ok(
            &reader,
            "{ viewer { kind scopes } opportunities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(d["viewer"]["kind"], "APP");
    assert_eq!(d["viewer"]["scopes"], json!(["opportunities:read"]));
    assert_eq!(d["opportunities"]["totalCount"], 1);
    let body = app
        .gql(&reader, "{ partners { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app
        .gql(&reader, "mutation { createAccount(input: { name: \"X\", domain: \"x.com\" }) { account { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let writer = app_token("accounts:write", None);
    let d = app
        .ok(&writer, "mutation { createAccount(input: { name: \"X\", domain: \"x.com\" }) { account { domain } } }", json!({}))
        .await;
    assert_eq!(d["createAccount"]["account"]["domain"], "x.com");
    refused(&app, &app_token("everything:please", None), "unknown scope").await;
}

#[tokio::test]
async fn vendor_roles_decide_who_may_change_what() {
    let app = spawn_app().await;
    let sales = vendor_token("SALES");
    let cm = vendor_token("CHANNEL_MANAGER");
    let create = "mutation { createPartner(input: { name: \"Contoso\" }) { partner { id } } }";
    let body = app.gql(&sales, create, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("ADMIN, CHANNEL_MANAGER"));
    app.ok(&cm, create, json!({})).await;
    let acct = app
        .ok(&sales, "mutation { createAccount(input: { name: \"A\", domain: \"a.com\" }) { account { id } } }", json!({}))
        .await;
    assert!(acct["createAccount"]["account"]["id"].is_string());
    let p = app.create_partner("Fabrikam").await;
    let body = app.gql(&partner_token(&p), create, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}
