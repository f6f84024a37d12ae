//! Authentication: a `Bearer <JWT>` credential to a [`Principal`], whichever transport
//! carried it.

use crate::auth::jwt::principal_from_claims;
use crate::auth::Principal;
use crate::db::partners;
use crate::error::AppError;
use crate::AppState;

/// The JWT of an `Authorization` value, which must be `Bearer <JWT>` (the scheme in any case),
/// whichever transport carries it: the HTTP header, or `connection_init`'s payload.
pub fn bearer(value: &str) -> Result<&str, AppError> {
    match value.trim().split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            Ok(t.trim())
        }
        _ => Err(AppError::Unauthenticated(
            "the Authorization value must be `Bearer <JWT>`".into(),
        )),
    }
}

/// Verifies a bare JWT and returns its principal with the token's expiry (seconds since the
/// Unix epoch). A partner token whose partner is unknown or suspended is refused.
pub async fn verify_token(state: &AppState, token: &str) -> Result<(Principal, u64), AppError> {
    let claims = state
        .verifier
        .verify(token)
        .await
        .map_err(AppError::Unauthenticated)?;
    let exp = claims.exp;
    let principal = principal_from_claims(claims).map_err(AppError::Unauthenticated)?;
    if let Some(id) = principal.partner_id() {
        if !partner_is_active(state, id).await? {
            return Err(AppError::Unauthenticated(
                "the token's partner is unknown or suspended".into(),
            ));
        }
    }
    Ok((principal, exp))
}

/// Whether partner `id` is active: from the instance's memory of partners found active a
/// moment ago (forgotten on every change to the partner), else read and remembered. Requests,
/// and open WebSocket connections and event streams at each keep-alive, ask this.
pub async fn partner_is_active(state: &AppState, id: i64) -> Result<bool, AppError> {
    let active = state.hub.active_partners();
    if active.is_known_active(id) {
        return Ok(true);
    }
    let epoch = active.epoch();
    let is = partners::is_active(&state.db, id).await?;
    if is {
        active.remember(id, epoch);
    }
    Ok(is)
}
