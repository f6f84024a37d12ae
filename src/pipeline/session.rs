//! Admission: who is calling, and whether they may call now. A single request is admitted
//! with its rate-limit quota taken ([`admit_request`]); a stream (a WebSocket connection, an
//! event stream) is admitted as a [`Session`] that holds a connection slot, ends when its token
//! does, and watches its partner's status ([`admit_session`]). Every refusal is a [`Denial`],
//! counted here once; each transport only frames it.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::auth::{partner_is_active, verify_token};
use super::slots::{Connections, Slot};
use crate::auth::Principal;
use crate::error::{code, AppError};
use crate::ratelimit::Quota;
use crate::AppState;

/// Why a caller is not admitted (or no longer), before any operation of theirs runs.
#[derive(Debug)]
pub enum Denial {
    /// No usable token: the reason, for the client.
    Unauthenticated(String),
    /// The database could not be reached to check the token's partner: retry shortly.
    Unavailable,
    /// The instance is still starting (its event feed is not open yet): retry shortly.
    Starting,
    /// An internal error while authenticating; the detail is in the log only.
    Internal,
    /// The caller is over its rate limit: retry after `wait`.
    RateLimited {
        wait: Duration,
        quota: Option<Quota>,
    },
    /// The caller already holds `max` open connections and event streams on this instance.
    TooManyConnections { max: usize },
    /// The principal's partner was suspended while its stream was open.
    Suspended,
}

impl Denial {
    /// The `extensions.code` of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => code::UNAUTHENTICATED,
            Self::Unavailable | Self::Starting => code::SERVICE_UNAVAILABLE,
            Self::Internal => code::INTERNAL,
            Self::RateLimited { .. } => code::RATE_LIMITED,
            Self::TooManyConnections { .. } => code::LIMIT_EXCEEDED,
            Self::Suspended => code::FORBIDDEN,
        }
    }

    /// The message for the client.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m) => m.clone(),
            Self::Unavailable => crate::error::UNAVAILABLE_MESSAGE.into(),
            Self::Starting => "the server is starting; try again".into(),
            Self::Internal => crate::error::INTERNAL_MESSAGE.into(),
            Self::RateLimited { wait, .. } => {
                format!("too many requests; retry in {} s", Self::seconds(*wait))
            }
            Self::TooManyConnections { max } => format!(
                "too many open connections for this principal (limit {max}, WebSocket and event streams together); close one first"
            ),
            Self::Suspended => "the token's partner is suspended".into(),
        }
    }

    /// Whole seconds to wait before retrying, at least one.
    pub fn seconds(wait: Duration) -> u64 {
        wait.as_secs().max(1)
    }

    /// Counts the refusal and returns it.
    fn counted(self, state: &AppState) -> Self {
        state.metrics.error(self.code());
        self
    }
}

impl From<AppError> for Denial {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated(m) => Self::Unauthenticated(m),
            AppError::Unavailable(err) => {
                tracing::warn!(error = %err, "authentication could not reach the database");
                Self::Unavailable
            }
            other => {
                tracing::error!(error = %other.message(), "authentication failed on an internal error");
                Self::Internal
            }
        }
    }
}

/// The credential a transport found: a bare JWT, or why there is none.
pub type Credential = Result<String, String>;

/// Admits one request: verifies `credential` and takes one request from the caller's rate
/// limit. Returns the principal and its standing against the limit.
pub async fn admit_request(
    state: &AppState,
    credential: Credential,
) -> Result<(Principal, Option<Quota>), Denial> {
    let token = credential.map_err(|why| Denial::Unauthenticated(why).counted(state))?;
    let (principal, _) = verify_token(state, &token)
        .await
        .map_err(|e| Denial::from(e).counted(state))?;
    match state.rate_limiter.take(&principal.limit_key()) {
        Ok(quota) => Ok((principal, quota)),
        Err((wait, quota)) => Err(Denial::RateLimited { wait, quota }.counted(state)),
    }
}

/// Whether a session's admission also checks the rate limit (an event stream is one request;
/// a WebSocket connection checks it at each operation instead).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Check,
    AtEachOperation,
}

/// An admitted stream: its principal, until its token expires, holding one of the principal's
/// connection places on this instance.
pub struct Session {
    pub principal: Principal,
    /// When the token (with the verifier's leeway) expires: the stream ends then.
    pub expires_at: Instant,
    /// For a partner's session: partners whose record changed, to end it at once when its
    /// partner is suspended.
    partner_changes: Option<broadcast::Receiver<i64>>,
    _slot: Slot,
}

/// Admits a stream: the partner watch (opened before the token's partner is checked, so that
/// a suspension committed after the check still ends the stream), the token, the rate limit
/// when `rate` says so, and a connection place.
pub async fn admit_session(
    state: &AppState,
    credential: Credential,
    rate: Rate,
) -> Result<Session, Denial> {
    let Some(watching) = state.hub.partner_changes().await else {
        return Err(Denial::Starting.counted(state));
    };
    let token = credential.map_err(|why| Denial::Unauthenticated(why).counted(state))?;
    let (principal, exp) = verify_token(state, &token)
        .await
        .map_err(|e| Denial::from(e).counted(state))?;
    if rate == Rate::Check {
        if let Err(wait) = state.rate_limiter.check(&principal.limit_key()) {
            return Err(Denial::RateLimited { wait, quota: None }.counted(state));
        }
    }
    let max = state.realtime.ws_max_connections_per_principal;
    let Some(slot) = Connections::acquire(&state.connections, principal.limit_key(), max) else {
        return Err(Denial::TooManyConnections { max }.counted(state));
    };
    let leeway = state.verifier.leeway_seconds();
    let left = (exp + leeway).saturating_sub(crate::auth::jwt::now());
    Ok(Session {
        partner_changes: principal.partner_id().map(|_| watching),
        principal,
        expires_at: Instant::now() + Duration::from_secs(left),
        _slot: slot,
    })
}

impl Session {
    /// Checks one operation of the session against the principal's rate limit.
    pub fn check_rate(&self, state: &AppState) -> Result<(), Denial> {
        state
            .rate_limiter
            .check(&self.principal.limit_key())
            .map_err(|wait| Denial::RateLimited { wait, quota: None }.counted(state))
    }

    /// Whether the principal's partner (if any) is still active. A check that fails to reach
    /// the database keeps the session: its next check decides.
    pub async fn still_allowed(&self, state: &AppState) -> Result<(), Denial> {
        let Some(id) = self.principal.partner_id() else {
            return Ok(());
        };
        match partner_is_active(state, id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Denial::Suspended.counted(state)),
            Err(e) => {
                tracing::warn!(error = %e.message(), "checking a streaming partner's status failed");
                Ok(())
            }
        }
    }

    /// Completes when the session's own partner changed (or changes may have been missed):
    /// then [`Session::still_allowed`] decides. Never completes for a vendor's session.
    pub async fn partner_changed(&mut self) {
        use broadcast::error::RecvError;
        let mine = self.principal.partner_id();
        let Some(rx) = self.partner_changes.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            match rx.recv().await {
                Ok(id) if Some(id) == mine => return,
                Ok(_) => {}
                // A lagging receiver may have missed its partner.
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => return std::future::pending().await,
            }
        }
    }
}
