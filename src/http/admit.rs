//! Admission over HTTP: the credential a request carries, and a denial as its response
//! (status, `WWW-Authenticate`, `Retry-After`, the rate limit's headers).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::response::{errors_only, MediaType};
use crate::pipeline::answer::error;
use crate::pipeline::auth::bearer;
use crate::pipeline::session::{Credential, Denial};
use crate::ratelimit::Quota;

/// The JWT of the request's `Authorization: Bearer <JWT>` header, or why there is none.
pub fn credential(headers: &HeaderMap) -> Credential {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("send a token: `Authorization: Bearer <JWT>`")?;
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not readable text")?;
    bearer(value).map(str::to_string).map_err(|e| e.message())
}

/// The token of the upgrade request's `Authorization` header, when it holds a usable one.
pub fn header_token(headers: &HeaderMap) -> Option<String> {
    credential(headers).ok()
}

/// The response to a denied request.
pub fn denied(denial: Denial, media: MediaType) -> Response {
    let status = match &denial {
        Denial::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Denial::Unavailable | Denial::Starting => StatusCode::SERVICE_UNAVAILABLE,
        Denial::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Denial::RateLimited { .. } | Denial::TooManyConnections { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        Denial::Suspended => StatusCode::FORBIDDEN,
    };
    let mut res = errors_only(status, media, vec![error(denial.code(), denial.message())]);
    let headers = res.headers_mut();
    match denial {
        Denial::Unauthenticated(_) => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Denial::Unavailable | Denial::Starting => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        Denial::RateLimited { wait, quota } => {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(Denial::seconds(wait)),
            );
            return with_quota(res, quota);
        }
        _ => {}
    }
    res
}

/// Adds the caller's standing against its rate limit to a response.
pub fn with_quota(mut res: Response, quota: Option<Quota>) -> Response {
    for (name, value) in quota.iter().flat_map(|q| q.headers()) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(name, v);
        }
    }
    res
}
