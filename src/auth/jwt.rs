//! Token verification and development minting.
//!
//! Exactly one algorithm is accepted, the one configured: HS256 with a shared secret, or RS256
//! / ES256 with a PEM public key, a JWKS document or an identity provider's JWKS URL. `exp` is
//! required; `nbf`, `iss` and `aud` are checked with a leeway of at most 60 s. Each claim is
//! read on its own, so a malformed one is named in the error (see `jwt/claims.rs`).

mod claims;
pub mod jwks;

use std::collections::BTreeSet;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

pub use self::claims::{Claims, OneOrMany};
use self::jwks::RemoteKeys;
use super::principal::{PartnerRole, Principal, PrincipalKind, VendorRole, KNOWN_SCOPES};
use super::Party;
use crate::config::{JwtAlgorithm, JwtArgs, DEV_JWT_SECRET};
use crate::ids;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configure only one of COSELL_JWT_SECRET, COSELL_JWT_PUBLIC_KEY_FILE, COSELL_JWT_JWKS_FILE and COSELL_JWT_JWKS_URL")]
    SeveralKeys,
    #[error("COSELL_JWT_SECRET must be at least 32 bytes long")]
    ShortSecret,
    #[error("COSELL_JWT_ALGORITHM {0:?} does not fit the configured key: {1}")]
    AlgorithmMismatch(JwtAlgorithm, &'static str),
    #[error("cannot read {path}: {err}")]
    Read { path: String, err: std::io::Error },
    #[error("COSELL_JWT_JWKS_URL: {0}")]
    JwksUrl(String),
    #[error("{path} is not a valid {what}: {err}")]
    Parse {
        path: String,
        what: &'static str,
        err: String,
    },
}

enum Keys {
    Single(Box<DecodingKey>),
    Jwks(Arc<Vec<(Option<String>, DecodingKey)>>),
    Remote(Arc<RemoteKeys>),
}

/// Verifies bearer tokens against the configured key.
pub struct Verifier {
    keys: Keys,
    validation: Validation,
    /// True when running on the built-in development secret.
    pub is_dev_secret: bool,
    /// How often keys from a JWKS URL are read again.
    refresh_every: std::time::Duration,
}

fn alg_of(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Es256 => Algorithm::ES256,
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|err| ConfigError::Read {
        path: path.display().to_string(),
        err,
    })
}

/// The configured algorithm for an RS256 or ES256 key (RS256 unless set); `why` says what the
/// key needs when HS256 is configured.
fn asymmetric(cfg: &JwtArgs, why: &'static str) -> Result<JwtAlgorithm, ConfigError> {
    let alg = cfg.jwt_algorithm.unwrap_or(JwtAlgorithm::Rs256);
    if alg == JwtAlgorithm::Hs256 {
        return Err(ConfigError::AlgorithmMismatch(alg, why));
    }
    Ok(alg)
}

/// The PEM public key at `path`, RSA or EC by the configured algorithm.
fn public_key(cfg: &JwtArgs, path: &std::path::Path) -> Result<(JwtAlgorithm, Keys), ConfigError> {
    let alg = cfg.jwt_algorithm.unwrap_or(JwtAlgorithm::Rs256);
    let pem = read(path)?;
    let key = match alg {
        JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(&pem),
        JwtAlgorithm::Es256 => DecodingKey::from_ec_pem(&pem),
        JwtAlgorithm::Hs256 => {
            return Err(ConfigError::AlgorithmMismatch(
                alg,
                "a public key needs RS256 or ES256",
            ))
        }
    }
    .map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        what: "PEM public key",
        err: e.to_string(),
    })?;
    Ok((alg, Keys::Single(Box::new(key))))
}

/// A shared secret of at least 32 bytes, for HS256 only.
fn shared_secret(cfg: &JwtArgs, secret: &str) -> Result<(JwtAlgorithm, Keys), ConfigError> {
    if secret.len() < 32 {
        return Err(ConfigError::ShortSecret);
    }
    let alg = cfg.jwt_algorithm.unwrap_or(JwtAlgorithm::Hs256);
    if alg != JwtAlgorithm::Hs256 {
        return Err(ConfigError::AlgorithmMismatch(
            alg,
            "a shared secret needs HS256",
        ));
    }
    let key = DecodingKey::from_secret(secret.as_bytes());
    Ok((alg, Keys::Single(Box::new(key))))
}

/// Accepts `alg` only; requires `exp`, `sub`, `iss` and `aud`, checks the configured issuer and
/// audience, and tolerates at most 60 s of clock skew.
fn validation(cfg: &JwtArgs, alg: JwtAlgorithm) -> Validation {
    let mut validation = Validation::new(alg_of(alg));
    validation.algorithms = vec![alg_of(alg)];
    validation.leeway = cfg.jwt_leeway_seconds.min(60);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    validation.set_issuer(&[&cfg.jwt_issuer]);
    validation.set_audience(&[&cfg.jwt_audience]);
    validation
}

impl Verifier {
    /// Builds the verifier; with no key configured and `allow_dev` set, uses the development
    /// secret.
    pub fn from_config(cfg: &JwtArgs, allow_dev: bool) -> Result<Self, ConfigError> {
        let configured = [
            cfg.jwt_secret.is_some(),
            cfg.jwt_public_key_file.is_some(),
            cfg.jwt_jwks_file.is_some(),
            cfg.jwt_jwks_url.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if configured > 1 {
            return Err(ConfigError::SeveralKeys);
        }
        let mut is_dev_secret = false;
        let (alg, keys) = if let Some(path) = &cfg.jwt_public_key_file {
            public_key(cfg, path)?
        } else if let Some(path) = &cfg.jwt_jwks_file {
            let alg = asymmetric(cfg, "a JWKS needs RS256 or ES256")?;
            let keys = jwks::parse(&read(path)?).map_err(|err| ConfigError::Parse {
                path: path.display().to_string(),
                what: "JWKS document",
                err,
            })?;
            (alg, Keys::Jwks(Arc::new(keys)))
        } else if let Some(url) = &cfg.jwt_jwks_url {
            let alg = asymmetric(cfg, "a JWKS needs RS256 or ES256")?;
            let remote = RemoteKeys::new(url.clone()).map_err(ConfigError::JwksUrl)?;
            (alg, Keys::Remote(Arc::new(remote)))
        } else {
            let secret = match &cfg.jwt_secret {
                Some(s) => s.expose().to_string(),
                None if allow_dev => {
                    is_dev_secret = true;
                    DEV_JWT_SECRET.to_string()
                }
                None => return Err(ConfigError::ShortSecret),
            };
            shared_secret(cfg, &secret)?
        };
        Ok(Self {
            keys,
            validation: validation(cfg, alg),
            is_dev_secret,
            refresh_every: std::time::Duration::from_secs(cfg.jwt_jwks_refresh_seconds.max(1)),
        })
    }

    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub fn leeway_seconds(&self) -> u64 {
        self.validation.leeway
    }

    /// With keys from a JWKS URL: reads them now (so that a misconfigured URL shows at start)
    /// and keeps them fresh in the background. Without, nothing to do.
    pub async fn start_key_refresh(&self) -> Result<(), String> {
        let Keys::Remote(remote) = &self.keys else {
            return Ok(());
        };
        let every = self.refresh_every;
        match remote.refresh().await {
            Ok(n) => {
                remote.spawn_refresh(every, every);
                tracing::info!(url = %remote.url(), keys = n, "verification keys read from the JWKS URL");
                Ok(())
            }
            Err(e) => {
                remote.spawn_refresh(jwks::retry_after(every), every);
                Err(e)
            }
        }
    }

    /// Verifies the signature and the time, issuer and audience claims. The error text is safe
    /// to show the caller.
    pub async fn verify(&self, token: &str) -> Result<Claims, String> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| "the bearer token is not a well-formed JWT".to_string())?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(format!(
                "tokens signed with {:?} are not accepted here",
                header.alg
            ));
        }
        let kid = header.kid.as_deref();
        let map = match &self.keys {
            Keys::Single(k) => self.decode(token, k)?,
            Keys::Jwks(keys) => self.decode(token, choose(keys, kid)?)?,
            Keys::Remote(remote) => {
                let held = remote.current();
                match choose(&held, kid) {
                    Ok(key) => self.decode(token, key)?,
                    Err(e) if kid.is_none() && !held.is_empty() => return Err(e),
                    Err(_) => {
                        remote.refresh_for_unknown_kid(&held).await;
                        let held = remote.current();
                        if held.is_empty() {
                            return Err("the identity provider's keys could not be read yet; try again shortly".into());
                        }
                        self.decode(token, choose(&held, kid)?)?
                    }
                }
            }
        };
        if let Some(name) = claims::repeated_claim(token) {
            return Err(format!("the token repeats the `{name}` claim"));
        }
        Claims::from_map(&map)
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> Result<Map<String, Value>, String> {
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::ExpiredSignature => "the token has expired".into(),
                    K::ImmatureSignature => "the token is not valid yet (nbf)".into(),
                    K::InvalidIssuer => "the token's issuer (iss) is not accepted".into(),
                    K::InvalidAudience => "the token's audience (aud) is not accepted".into(),
                    K::InvalidSignature => "the token's signature does not verify".into(),
                    K::MissingRequiredClaim(c) => claims::unreadable(token, c),
                    K::InvalidClaimFormat(c) => claims::seconds_error(c),
                    K::InvalidAlgorithm => "the token's algorithm is not accepted".into(),
                    K::Json(_) => match claims::repeated_claim(token) {
                        Some(name) => format!("the token repeats the `{name}` claim"),
                        None => "the token's payload is not a JSON object of claims".into(),
                    },
                    _ => "the bearer token is invalid".into(),
                }
            })
    }
}

/// The key a token's `kid` names; without a `kid`, the only key there is.
fn choose<'k>(
    keys: &'k [(Option<String>, DecodingKey)],
    kid: Option<&str>,
) -> Result<&'k DecodingKey, String> {
    match (kid, keys.len()) {
        (Some(kid), _) => keys
            .iter()
            .find(|(k, _)| k.as_deref() == Some(kid))
            .map(|(_, key)| key)
            .ok_or_else(|| "the token's `kid` names no known key".to_string()),
        (None, 1) => Ok(&keys[0].1),
        (None, _) => Err("the token has no `kid` to choose a verification key".into()),
    }
}

/// Turns verified claims into a principal. The partner's existence and status are checked by
/// the caller against the database.
pub fn principal_from_claims(c: Claims) -> Result<Principal, String> {
    let partner_id = match &c.partner_id {
        None => None,
        Some(p) => Some(
            parse_partner_ref(p)
                .ok_or_else(|| "the token's partner_id is not a partner ID".to_string())?,
        ),
    };
    let (party, vendor_role, partner_role, scopes) = match c.kind {
        PrincipalKind::Vendor => {
            let role = match c.role.as_deref() {
                Some("ADMIN") => VendorRole::Admin,
                Some("CHANNEL_MANAGER") => VendorRole::ChannelManager,
                Some("SALES") => VendorRole::Sales,
                _ => return Err("a vendor token needs role ADMIN, CHANNEL_MANAGER or SALES".into()),
            };
            (Party::Vendor, Some(role), None, None)
        }
        PrincipalKind::Partner => {
            let id = partner_id.ok_or_else(|| "a partner token needs a partner_id".to_string())?;
            let role = match c.role.as_deref() {
                Some("PARTNER_ADMIN") => PartnerRole::PartnerAdmin,
                Some("PARTNER_REP") | None => PartnerRole::PartnerRep,
                _ => {
                    return Err(
                        "a partner token's role must be PARTNER_ADMIN or PARTNER_REP".into(),
                    )
                }
            };
            (Party::Partner(id), None, Some(role), None)
        }
        PrincipalKind::App => {
            // Identity providers add scopes of their own (openid, profile, offline_access,
            // ...): a scope of the form `resource:action` must be one of cosell's, others are
            // not cosell's business and are left out.
            let mut scopes = BTreeSet::new();
            for s in c.scopes() {
                if KNOWN_SCOPES.contains(&s) {
                    scopes.insert(s.to_string());
                } else if s.contains(':') {
                    return Err(format!("unknown scope `{s}`"));
                }
            }
            let party = partner_id.map(Party::Partner).unwrap_or(Party::Vendor);
            (party, None, None, Some(scopes))
        }
    };
    Ok(Principal {
        subject: c.sub,
        kind: c.kind,
        party,
        vendor_role,
        partner_role,
        scopes,
    })
}

/// A partner reference: its global ID, or its numeric row id.
pub fn parse_partner_ref(s: &str) -> Option<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .or_else(|| ids::decode_as(s, ids::Kind::Partner).ok())
}

/// Signs `claims` with an HS256 secret (development tokens and tests).
pub fn mint_hs256(claims: &Claims, secret: &str) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}
