//! GraphiQL, served entirely from the binary: the page, its script and the pinned production
//! builds of GraphiQL and React (`graphiql/vendor/`, see its README). Nothing is loaded from
//! another origin, so it works offline, and a strict Content-Security-Policy keeps any other
//! script off the API's origin, where people paste ADMIN tokens. The page asks for the token
//! first and loads the schema only once the API has accepted it.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Scripts and styles from this server only; requests to this server only (same-origin
/// WebSocket included); no frames, no forms posting elsewhere, no plugins. GraphiQL's editor
/// sets inline `style` attributes, hence `'unsafe-inline'` for styles alone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file served under `/graphiql/assets/`.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// SHA-256 of a third-party file as published (checked by a test); `None` for cosell's own.
    pub sha256: Option<&'static str>,
}

/// Every asset. Names carry versions, so they are cached for a year.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/vendor/react-18.3.1.production.min.js"),
        sha256: Some("d949f1c3687aedadcedac85261865f29b17cd273997e7f6b2bfc53b2f9d4c4dd"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/vendor/react-dom-18.3.1.production.min.js"),
        sha256: Some("35f4f974f4b2bcd44da73963347f8952e341f83909e4498227d4e26b98f66f0d"),
    },
    Asset {
        name: "graphiql-4.1.2.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/vendor/graphiql-4.1.2.min.js"),
        sha256: Some("867226ba8af5ce7949903fc53932f78dac9f4bfc6cc8da0fd3869b8bc6c5256b"),
    },
    Asset {
        name: "graphiql-4.1.2.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("graphiql/vendor/graphiql-4.1.2.min.css"),
        sha256: Some("30487e07635d312a63f647b140d37740a73c53332b0975bf4b1fe985ca6ec885"),
    },
    Asset {
        name: "cosell-graphiql.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/cosell-graphiql.js"),
        sha256: None,
    },
    Asset {
        name: "cosell-graphiql.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("graphiql/cosell-graphiql.css"),
        sha256: None,
    },
];

const PAGE: &str = include_str!("graphiql/index.html");

fn secure(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `GET /graphiql`: the page.
pub async fn page() -> Response {
    secure(
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            PAGE,
        )
            .into_response(),
    )
}

/// `GET /graphiql/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        return secure((StatusCode::NOT_FOUND, "no such GraphiQL asset").into_response());
    };
    // cosell's own files change with the binary; the vendored ones carry their version.
    let cache = if a.sha256.is_some() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    secure(
        (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, cache),
            ],
            a.bytes,
        )
            .into_response(),
    )
}
