//! Tokens from identity providers as they issue them: keys read from a JWKS URL and rotated
//! without a restart, audiences and scopes as lists, claims of their own, and errors that name
//! the claim at fault.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cosell::auth::jwt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;

const VIEWER: &str = "{ viewer { subject kind vendorRole scopes partner { name } } }";

/// A JWKS endpoint inside the test: serves whatever document it holds, counts its readers.
struct KeyServer {
    url: String,
    document: Arc<Mutex<String>>,
    reads: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(fixture_name: &str) -> Self {
        let document = Arc::new(Mutex::new(
            std::fs::read_to_string(fixture(fixture_name)).unwrap(),
        ));
        let reads = Arc::new(AtomicUsize::new(0));
        let (d, r) = (document.clone(), reads.clone());
        let router = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let (d, r) = (d.clone(), r.clone());
                async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    let body = d.lock().unwrap().clone();
                    ([("content-type", "application/json")], body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url: format!("http://{addr}/.well-known/jwks.json"),
            document,
            reads,
        }
    }

    fn publish(&self, fixture_name: &str) {
        *self.document.lock().unwrap() = std::fs::read_to_string(fixture(fixture_name)).unwrap();
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn signed(claims: &Value, kid: &str, key: &str) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, &rsa_key(key)).unwrap()
}

fn vendor_claims(iss: &str, aud: Value) -> Value {
    let now = jwt::now();
    json!({ "sub": "ada@vendor.test", "kind": "vendor", "role": "ADMIN", "iss": iss, "aud": aud,
            "exp": now + 600, "nbf": now - 5, "iat": now })
}

async fn viewer(app: &TestApp, token: &str) -> Reply {
    app.post(Some(token), json!({ "query": VIEWER })).await
}

fn message(r: &Reply) -> String {
    r.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn keys_rotate_at_the_jwks_url_without_a_restart() {
    let idp = KeyServer::start("jwks.json").await;
    let url = idp.url.clone();
    let app = spawn_app_with(|s| {
        s.jwt.jwt_secret = None;
        s.jwt.jwt_jwks_url = Some(url);
        s.jwt.jwt_jwks_refresh_seconds = 1;
    })
    .await;
    let claims = vendor_claims("cosell", json!("cosell-api"));
    let old = signed(&claims, "test-rsa-1", "rs256-private.pem");
    let new = signed(&claims, "test-rsa-2", "rs256-2-private.pem");
    // Wait for the first read (the server starts it before it accepts requests).
    let mut r = viewer(&app, &old).await;
    for _ in 0..50 {
        if r.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        r = viewer(&app, &old).await;
    }
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["viewer"]["subject"], "ada@vendor.test");

    // The provider publishes its new key and signs with it: the unknown key id makes the
    // instance read the set again at once.
    let unknown = viewer(&app, &new).await;
    assert_eq!(unknown.status, 401, "not published yet: {}", unknown.body);
    assert!(message(&unknown).contains("`kid`"), "{}", unknown.body);
    idp.publish("jwks-2.json");
    let mut r = viewer(&app, &new).await;
    for _ in 0..70 {
        // A second unknown key id within the cooldown waits for the periodic read.
        if r.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        r = viewer(&app, &new).await;
    }
    assert_eq!(r.status, 200, "the rotated key verifies: {}", r.body);
    // The retired key is gone after the next periodic read.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = viewer(&app, &old).await;
    assert_eq!(
        r.status, 401,
        "a retired key no longer verifies: {}",
        r.body
    );
    assert_eq!(r.code(), "UNAUTHENTICATED");

    // A flood of unknown key ids does not turn into a flood of reads.
    let before = idp.reads();
    for i in 0..20 {
        let t = signed(&claims, &format!("forged-{i}"), "rs256-2-private.pem");
        assert_eq!(viewer(&app, &t).await.status, 401);
    }
    let extra = idp.reads() - before;
    assert!(extra <= 3, "{extra} reads for 20 unknown key ids");
}

#[tokio::test]
async fn a_jwks_url_must_be_https_unless_it_is_this_machine() {
    use cosell::auth::jwt::jwks::check_url;
    assert!(check_url("https://tenant.auth0.com/.well-known/jwks.json").is_ok());
    assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
    assert!(check_url("http://localhost/jwks").is_ok());
    assert!(check_url("http://[::1]:9000/jwks").is_ok());
    for bad in [
        "http://idp.example.com/jwks",
        "http://127.0.0.1.evil.example/jwks",
        "ftp://idp.example.com/jwks",
        "https://",
    ] {
        assert!(check_url(bad).is_err(), "{bad}");
    }
    let mut args = jwt_args();
    args.jwt_secret = None;
    args.jwt_jwks_url = Some("http://idp.example.com/jwks".into());
    let err = cosell::auth::jwt::Verifier::from_config(&args, false)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("https://"), "{err}");
}

/// One token per identity provider, shaped as it issues them for an API: the claims cosell
/// needs added as custom claims, with the provider's own around them.
#[tokio::test]
async fn tokens_shaped_like_auth0_okta_entra_and_keycloak_are_accepted() {
    let idp = KeyServer::start("jwks.json").await;
    let now = jwt::now();
    let shapes = [
        (
            "Auth0",
            "https://tenant.eu.auth0.com/",
            "https://api.cosell.example",
            json!({ "iss": "https://tenant.eu.auth0.com/", "sub": "auth0|65f0c1", "kind": "app",
                "aud": ["https://api.cosell.example", "https://tenant.eu.auth0.com/userinfo"],
                "iat": now, "exp": now + 600, "azp": "Xb7kQ", "gty": "client-credentials",
                "scope": "openid profile opportunities:read registrations:read",
                "permissions": ["opportunities:read", "registrations:read"] }),
            json!(["opportunities:read", "registrations:read"]),
        ),
        (
            "Okta",
            "https://dev-123.okta.com/oauth2/default",
            "api://cosell",
            json!({ "ver": 1, "jti": "AT.x", "iss": "https://dev-123.okta.com/oauth2/default",
                "aud": "api://cosell", "iat": now, "exp": now + 600, "cid": "0oa1", "uid": "00u1",
                "scp": ["opportunities:read", "offline_access"], "auth_time": now - 30,
                "sub": "ada@partner.example", "kind": "app" }),
            json!(["opportunities:read"]),
        ),
        (
            "Entra ID",
            "https://login.microsoftonline.com/72f9-tenant/v2.0",
            "6e74172b-be56-4843-9ff4-e66a39bb12e3",
            json!({ "aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
                "iss": "https://login.microsoftonline.com/72f9-tenant/v2.0",
                "iat": now, "nbf": now, "exp": now + 600, "aio": "AXQA", "azp": "1950a258",
                "azpacr": "0", "name": "Ada", "oid": "690222be", "preferred_username": "ada@contoso.example",
                "rh": "I", "scp": "accounts:read opportunities:read", "sub": "MF4f", "tid": "72f9-tenant",
                "uti": "fqiB", "ver": "2.0", "kind": "app", "roles": ["Reader"] }),
            json!(["accounts:read", "opportunities:read"]),
        ),
        (
            "Keycloak",
            "https://sso.example.com/realms/partners",
            "cosell-api",
            json!({ "exp": now + 600, "iat": now, "jti": "5c1b", "iss": "https://sso.example.com/realms/partners",
                "aud": ["cosell-api", "account"], "sub": "f:1234", "typ": "Bearer", "azp": "portal",
                "session_state": "9d1e", "acr": "1", "allowed-origins": ["https://portal.example"],
                "realm_access": { "roles": ["offline_access", "uma_authorization"] },
                "resource_access": { "account": { "roles": ["manage-account"] } },
                "scope": "profile email events:read", "sid": "9d1e", "email_verified": true,
                "kind": "app" }),
            json!(["events:read"]),
        ),
    ];
    for (name, iss, aud, claims, scopes) in shapes {
        let url = idp.url.clone();
        let app = spawn_app_with(|s| {
            s.jwt.jwt_secret = None;
            s.jwt.jwt_jwks_url = Some(url);
            s.jwt.jwt_issuer = iss.into();
            s.jwt.jwt_audience = aud.into();
        })
        .await;
        let token = signed(&claims, "test-rsa-1", "rs256-private.pem");
        let mut r = viewer(&app, &token).await;
        for _ in 0..50 {
            if r.status == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            r = viewer(&app, &token).await;
        }
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.body["data"]["viewer"]["kind"], "APP", "{name}");
        assert_eq!(r.body["data"]["viewer"]["scopes"], scopes, "{name}");
        // Another audience in the list is not enough.
        let mut other = claims.clone();
        other["aud"] = json!(["https://someone-else.example"]);
        let r = viewer(&app, &signed(&other, "test-rsa-1", "rs256-private.pem")).await;
        assert_eq!(r.status, 401, "{name}");
        assert!(message(&r).contains("(aud)"), "{name}: {}", r.body);
    }
}

/// Signs `payload` as it is, byte for byte, with the suite's HS256 secret: serde cannot write
/// a JSON object with a repeated key.
fn raw_payload_token(payload: &str) -> String {
    use base64::Engine;
    let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let message = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(payload.as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{sig}")
}

#[tokio::test]
async fn a_malformed_claim_is_named_in_the_error() {
    let app = spawn_app().await;
    let now = jwt::now();
    let base = json!({ "sub": "ada@vendor.test", "kind": "vendor", "role": "ADMIN", "iss": "cosell",
        "aud": "cosell-api", "exp": now + 600 });
    let with = |k: &str, v: Value| {
        let mut c = base.clone();
        c[k] = v;
        raw_token(&c)
    };
    let without = |k: &str| {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove(k);
        raw_token(&c)
    };
    // Lists are fine where identity providers send them.
    let ok = viewer(&app, &with("aud", json!(["other", "cosell-api"]))).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let cases = [
        (without("sub"), "the token lacks the required `sub` claim"),
        (without("kind"), "the token lacks the required `kind` claim"),
        (with("kind", json!("robot")), "`kind` claim must be"),
        (
            with("sub", json!(42)),
            "the token's `sub` claim must be a string",
        ),
        (
            with("aud", json!(7)),
            "the token's `aud` claim must be a string or a list of strings",
        ),
        (
            with("exp", json!("tomorrow")),
            "the token's `exp` claim must be a number of seconds",
        ),
        (
            with("nbf", json!("now")),
            "the token's `nbf` claim must be a number of seconds",
        ),
        (
            with("role", json!(["ADMIN"])),
            "the token's `role` claim must be a string",
        ),
        (
            with("scope", json!(3)),
            "the token's `scope` claim must be a string or a list of strings",
        ),
        (
            raw_payload_token(&format!(
                r#"{{"sub":"a","kind":"vendor","role":"SALES","role":"ADMIN","iss":"cosell","aud":"cosell-api","exp":{}}}"#,
                now + 600
            )),
            "the token repeats the `role` claim",
        ),
        (
            raw_payload_token(&format!(
                r#"{{"sub":"a","kind":"vendor","role":"ADMIN","iss":"cosell","aud":"x","aud":"cosell-api","exp":{}}}"#,
                now + 600
            )),
            "the token repeats the `aud` claim",
        ),
    ];
    for (token, expected) in cases {
        let r = viewer(&app, &token).await;
        assert_eq!(r.status, 401, "{expected}: {}", r.body);
        assert_eq!(r.code(), "UNAUTHENTICATED");
        assert!(message(&r).contains(expected), "{expected}: {}", r.body);
    }
}
