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
    /// The instance is at its limit of requests in progress; retry after `Retry-After`.
    pub const OVERLOADED: &str = "OVERLOADED";
    /// An idempotency key sent again with a different request.
    pub const IDEMPOTENCY_KEY_REUSED: &str = "IDEMPOTENCY_KEY_REUSED";
    /// The database cannot be reached right now; retry after `Retry-After`.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    /// A change collided with another one made at the same moment (a deadlock or a
    /// serialisation failure the server's own retries did not get past); nothing was written.
    pub const WRITE_CONFLICT: &str = "WRITE_CONFLICT";
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
    /// An idempotency key already used for a different request.
    IdempotencyKeyReused(String),
    /// A resume cursor older than the outbox's retention.
    CursorExpired(String),
    VersionMismatch {
        kind: &'static str,
        expected: i32,
        current: i32,
    },
    /// The database cannot be reached now (no connection within the acquire timeout, refused
    /// or dropped): retryable, unlike [`AppError::Db`].
    Unavailable(DbErr),
    /// The transaction was chosen to give way to a concurrent one (deadlock, serialisation
    /// failure, a write lock not had in time) and rolled back: running it again may succeed.
    Contention(DbErr),
    Db(DbErr),
    Internal(String),
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if is_unavailable(&e) {
            Self::Unavailable(e)
        } else if is_contention(&e) {
            Self::Contention(e)
        } else {
            Self::Db(e)
        }
    }
}

/// Whether `e` is a transaction that lost to a concurrent one: PostgreSQL's deadlock_detected
/// (40P01) or serialization_failure (40001), SQLite's busy or locked after its timeout.
pub fn is_contention(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::RuntimeErr;
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            match s.as_ref() {
                Sqlx::Database(d) => d
                    .code()
                    .is_some_and(|c| matches!(c.as_ref(), "40P01" | "40001" | "5" | "6")),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The message for a change that collided with another and was rolled back.
pub const CONTENTION_MESSAGE: &str =
    "this change collided with another made at the same moment and was rolled back; retry it";

/// The message for requests that fail because the database cannot be reached.
pub const UNAVAILABLE_MESSAGE: &str =
    "the database is unavailable right now; retry in a few seconds";

/// Whether `e` says the database cannot be reached now (the pool gave no connection in time,
/// the connection was refused, dropped or is shutting down) rather than that a statement failed.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::RuntimeErr;
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => {
            match s.as_ref() {
                Sqlx::Io(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::WorkerCrashed
                | Sqlx::Tls(_)
                | Sqlx::Protocol(_) => true,
                // Connection exceptions (08…) and operator intervention (57P…: shutdown,
                // cannot connect now).
                Sqlx::Database(d) => d
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
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

    /// Names the argument or input field a BAD_USER_INPUT is about (`extensions.field`), when
    /// it names none yet; other errors pass unchanged.
    pub fn at(self, field: &'static str) -> Self {
        match self {
            Self::BadInput {
                message,
                field: None,
            } => Self::BadInput {
                message,
                field: Some(field),
            },
            other => other,
        }
    }

    /// The message for the caller (internal errors carry their detail, which is never sent).
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::IdempotencyKeyReused(m)
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
            Self::Unavailable(_) => UNAVAILABLE_MESSAGE.to_string(),
            Self::Contention(_) => CONTENTION_MESSAGE.to_string(),
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
            Self::IdempotencyKeyReused(_) => code::IDEMPOTENCY_KEY_REUSED,
            Self::CursorExpired(_) => code::CURSOR_EXPIRED,
            Self::VersionMismatch { .. } => code::VERSION_MISMATCH,
            Self::Unavailable(_) => code::SERVICE_UNAVAILABLE,
            Self::Contention(_) => code::WRITE_CONFLICT,
            Self::Db(_) | Self::Internal(_) => code::INTERNAL,
        }
    }

    /// A unique-constraint violation becomes CONFLICT with `message`; anything else stays a
    /// database error.
    pub fn unique_or(err: DbErr, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(message.into()),
            _ => err.into(),
        }
    }
}

/// The message sent for internal failures; the detail goes to the log with the request id.
pub const INTERNAL_MESSAGE: &str =
    "internal error: the server logged the details under this request's id (see extensions.requestId)";

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            Self::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                UNAVAILABLE_MESSAGE.to_string()
            }
            Self::Contention(e) => {
                tracing::warn!(error = %e, "a write collided with another");
                CONTENTION_MESSAGE.to_string()
            }
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

/// How much of any caller-supplied text an error message quotes.
const QUOTE_CHARS: usize = 100;
/// The longest error message sent.
const MESSAGE_CHARS: usize = 1_000;

/// `text` cut to at most 100 characters, for quoting caller input in a message.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]).into(),
        None => text.into(),
    }
}

/// An error message made safe to send: every quoted ("…" or `…`) or unbroken run of more than
/// 100 characters is cut short, and the whole to at most 1,000 characters. Runs in linear time,
/// whatever the message holds.
pub fn clip_message(message: &str) -> String {
    if message.len() <= QUOTE_CHARS {
        return message.to_string();
    }
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::new();
    let (mut i, mut run, mut sent) = (0usize, 0usize, 0usize);
    // Quote characters known not to appear again, so each closing quote is searched once.
    let (mut no_more_double, mut no_more_back) = (false, false);
    while i < chars.len() {
        if sent >= MESSAGE_CHARS {
            out.push('…');
            break;
        }
        let c = chars[i];
        let gone = match c {
            '"' => Some(&mut no_more_double),
            '`' => Some(&mut no_more_back),
            _ => None,
        };
        if let Some(gone) = gone.filter(|g| !**g) {
            match chars[i + 1..].iter().position(|&d| d == c) {
                Some(len) => {
                    let quoted = &chars[i + 1..i + 1 + len];
                    out.push(c);
                    out.extend(quoted.iter().take(QUOTE_CHARS));
                    if quoted.len() > QUOTE_CHARS {
                        out.push('…');
                    }
                    out.push(c);
                    sent += quoted.len().min(QUOTE_CHARS) + 2;
                    i += len + 2;
                    run = 0;
                    continue;
                }
                None => *gone = true,
            }
        }
        run = if c.is_whitespace() { 0 } else { run + 1 };
        if run <= QUOTE_CHARS {
            out.push(c);
            sent += 1;
        } else if run == QUOTE_CHARS + 1 {
            out.push('…');
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_at_most_a_hundred_characters_of_input() {
        let long = "x".repeat(5_000);
        let m = clip_message(&format!("`{long}` is not a web domain: it is too long"));
        assert_eq!(
            m,
            format!("`{}…` is not a web domain: it is too long", "x".repeat(100))
        );
        let m = clip_message(&format!("Unknown field \"{long}\" on type \"Query\"."));
        assert!(m.ends_with("…\" on type \"Query\"."), "{m}");
        let m = clip_message(&format!("bare {long} run"));
        assert_eq!(m.chars().count(), 5 + 100 + 1 + 4);
        let spaced = "ab ".repeat(10_000);
        assert!(clip_message(&format!("said \"{spaced}\"")).chars().count() < 120);
        assert!(clip_message(&spaced).chars().count() <= 1_001);
        let quotes = format!("\"{}", "a\"".repeat(20_000));
        assert!(clip_message(&quotes).chars().count() <= 1_001);
        assert_eq!(clip_message("short \"and\" sweet"), "short \"and\" sweet");
        assert_eq!(clip(&"é".repeat(150)), format!("{}…", "é".repeat(100)));
    }
}
