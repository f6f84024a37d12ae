//! What the benchmarks share: tokens signed with a benchmark secret, and the JWT settings that
//! verify them.

use cosell::auth::jwt::{self, Claims};
use cosell::auth::PrincipalKind;
use cosell::config::{JwtArgs, Secret};

/// A token of `kind` with `role`, for `partner` (a global partner ID) if given.
pub fn token(secret: &str, kind: PrincipalKind, role: &str, partner: Option<&str>) -> String {
    let now = jwt::now();
    let c = Claims {
        sub: format!("bench-{role}-{}", partner.unwrap_or("vendor")),
        kind,
        role: Some(role.into()),
        partner_id: partner.map(str::to_string),
        scope: None,
        exp: now + 3600,
        nbf: Some(now),
        iat: Some(now),
        iss: "cosell".into(),
        aud: "cosell-api".into(),
    };
    jwt::mint_hs256(&c, secret).unwrap()
}

/// HS256 verification with `secret`.
#[allow(dead_code)]
pub fn jwt_args(secret: &str) -> JwtArgs {
    JwtArgs {
        jwt_secret: Some(Secret::new(secret)),
        jwt_public_key_file: None,
        jwt_jwks_file: None,
        jwt_algorithm: None,
        jwt_issuer: "cosell".into(),
        jwt_audience: "cosell-api".into(),
        jwt_leeway_seconds: 30,
    }
}
