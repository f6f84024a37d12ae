//! The error model. Domain and data-access code returns [`AppError`]; the GraphQL boundary turns
//! it into an error with a stable `extensions.code`; internal detail is logged, never sent.

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// Stable machine-readable error codes, sent as `extensions.code`.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const VERSION_MISMATCH: &str = "VERSION_MISMATCH";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL: &str = "INTERNAL";
    pub const TIMEOUT: &str = "TIMEOUT";
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const CURSOR_EXPIRED: &str = "CURSOR_EXPIRED";
}

pub type AppResult<T> = Result<T, AppError>;

/// An error of the domain or data access. It deliberately does not implement `Display`: that
/// keeps async-graphql's blanket `From<impl Display>` away, so every conversion goes through
/// [`ErrorExtensions`] and gets its `extensions.code`.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    /// The same answer for an id that does not exist and one the caller may not see.
    NotFound(&'static str),
    BadInput {
        message: String,
        field: Option<&'static str>,
    },
    Conflict(String),
    /// A resume cursor older than the outbox's retention.
    CursorExpired(String),
    VersionMismatch {
        kind: &'static str,
        expected: i32,
        current: i32,
    },
    Db(DbErr),
    Internal(String),
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

impl AppError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput {
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_field(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadInput {
            message: message.into(),
            field: Some(field),
        }
    }

    /// The message for the caller (internal errors carry their detail, which is never sent).
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::CursorExpired(m)
            | Self::Internal(m) => m.clone(),
            Self::NotFound(kind) => format!("{kind} not found"),
            Self::BadInput { message, .. } => message.clone(),
            Self::VersionMismatch {
                kind,
                expected,
                current,
            } => {
                format!("{kind} is at version {current}, not the expected {expected}: re-read it and retry")
            }
            Self::Db(e) => e.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::BadInput { .. } => code::BAD_USER_INPUT,
            Self::Conflict(_) => code::CONFLICT,
            Self::CursorExpired(_) => code::CURSOR_EXPIRED,
            Self::VersionMismatch { .. } => code::VERSION_MISMATCH,
            Self::Db(_) | Self::Internal(_) => code::INTERNAL,
        }
    }

    /// A unique-constraint violation becomes CONFLICT with `message`; anything else stays a
    /// database error.
    pub fn unique_or(err: DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(message.into()),
            _ => Self::Db(err),
        }
    }
}

/// The message sent for internal failures; the detail goes to the log with the request id.
pub const INTERNAL_MESSAGE: &str =
    "internal error: the server logged the details under this request's id (see extensions.requestId)";

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            Self::Db(e) => {
                tracing::error!(error = %e, "database error");
                INTERNAL_MESSAGE.to_string()
            }
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                INTERNAL_MESSAGE.to_string()
            }
            other => other.message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadInput { field: Some(f), .. } => ext.set("field", *f),
                Self::VersionMismatch { current, .. } => ext.set("currentVersion", *current),
                _ => {}
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        e.extend()
    }
}
