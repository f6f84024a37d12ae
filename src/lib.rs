//! cosell: a GraphQL co-selling API for vendor partner ecosystems.
//!
//! The library exposes [`app`] (the router) and [`serve`] (run it until shutdown) so tests
//! start the real server on an ephemeral port; `main.rs` only parses the command line.
//!
//! # Layers
//!
//! A module imports only from its own layer or a lower one, lowest first:
//!
//! 0. [`ids`], [`error`]: leaves every other module may use;
//! 1. [`domain`] (the partner program's rules, free of storage and transport), [`scalars`];
//! 2. [`config`] (typed settings), [`telemetry`];
//! 3. [`auth`]: who is calling; `auth::scope`, the one place read rules, write grants and
//!    event audiences live;
//! 4. [`db`] (data access, every read already scoped by `auth::scope`), [`ratelimit`],
//!    [`metrics`];
//! 5. [`realtime`]: the outbox tail that feeds subscriptions;
//! 6. [`graphql`]: the schema, thin resolvers over data access;
//! 7. [`pipeline`]: the one way in for every transport: admission, documents, execution,
//!    streams;
//! 8. [`webhooks`], [`jobs`]: background work;
//! 9. [`http`]: the transports (GraphQL over HTTP, Server-Sent Events, WebSocket), framing only;
//! 10. [`seed`], [`demo`], [`cli`]: the commands that drive all of the above.
//!
//! This crate root composes them ([`AppState`]). No modules import each other round a circle
//! (a folder's `mod.rs` is the façade of its children), except the GraphQL object types, which
//! mirror the schema's graph. `tests/layering.rs` checks all of this on the source.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod pipeline;
pub mod ratelimit;
pub mod realtime;
pub mod scalars;
pub mod seed;
pub mod telemetry;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::jwt::Verifier;
use crate::config::{HttpArgs, LimitArgs, ProgramArgs, RealtimeArgs, WebhookArgs};
use crate::db::StatementCounter;
use crate::graphql::CosellSchema;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: CosellSchema,
    pub verifier: Arc<Verifier>,
    pub limits: Arc<LimitArgs>,
    pub metrics: Arc<Metrics>,
    pub rate_limiter: Arc<RateLimiter>,
    pub program: Arc<ProgramArgs>,
    pub realtime: Arc<RealtimeArgs>,
    /// This instance's outbox tail, feeding its subscriptions.
    pub hub: Arc<realtime::Hub>,
    /// Open WebSocket connections per principal on this instance.
    pub connections: Arc<pipeline::slots::Connections>,
    /// Subscriptions of this instance that share their answers to each event.
    pub live: Arc<pipeline::live::Groups>,
    /// Admission of GraphQL requests and the CPU threads that check documents.
    pub gate: Arc<pipeline::gate::Gate>,
    /// Browser origins and the metrics listener (defaults: none, and `/metrics` here).
    pub http: Arc<HttpArgs>,
    /// Persisted documents: registered by hash, or the trusted ones only.
    pub documents: Arc<pipeline::persisted::Documents>,
    /// Where webhooks may go and how deliveries are retried.
    pub webhooks: Arc<WebhookArgs>,
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        verifier: Verifier,
        limits: LimitArgs,
        program: ProgramArgs,
        realtime: RealtimeArgs,
        statements: StatementCounter,
    ) -> Self {
        let hub = realtime::Hub::new(
            db::sibling_pool(&db, realtime.realtime_pool_connections),
            std::time::Duration::from_millis(realtime.outbox_poll_ms),
            realtime.realtime_broadcast_capacity,
            realtime.realtime_recent_events,
            std::time::Duration::from_millis(realtime.partner_status_cache_ms),
        );
        Self {
            schema: graphql::build_schema(db.clone(), hub.clone(), &limits, &program),
            program: Arc::new(program),
            realtime: Arc::new(realtime),
            hub,
            connections: Default::default(),
            live: Default::default(),
            gate: Arc::new(pipeline::gate::Gate::new(limits.max_in_flight)),
            db,
            verifier: Arc::new(verifier),
            rate_limiter: Arc::new(RateLimiter::new(limits.rate_limit_per_minute)),
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::new(statements)),
            http: Default::default(),
            documents: Default::default(),
            webhooks: Default::default(),
        }
    }

    /// The same state with these webhook settings.
    pub fn with_webhooks(mut self, webhooks: WebhookArgs) -> Self {
        self.webhooks = Arc::new(webhooks);
        self
    }

    /// The same state with `http`'s browser origins, metrics listener and persisted
    /// documents; refused when the trusted-documents manifest cannot be read.
    pub fn with_http(mut self, http: HttpArgs) -> Result<Self, String> {
        self.documents = Arc::new(pipeline::persisted::Documents::from_args(&http)?);
        self.http = Arc::new(http);
        Ok(self)
    }
}

/// The HTTP application.
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_metrics(listener, None, state, shutdown).await
}

/// [`serve`], with `/metrics` on `metrics` when given (it is then not on `listener`).
pub async fn serve_with_metrics(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = state.verifier.start_key_refresh().await {
        tracing::error!(error = %e, "the JWKS URL cannot be read: every token is refused until it can; trying again shortly");
    }
    let metrics_task = metrics.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "metrics are served here only");
        }
        let router = http::metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        })
    });
    // Background jobs (the protection-expiry sweep, outbox retention) and the outbox tail run
    // alongside and stop with the server.
    let jobs = jobs::spawn(&state);
    let deliveries = webhooks::spawn(&state);
    let tail = state.hub.spawn();
    let trimmer = state.gate.spawn_trimmer();
    let closing = state.hub.clone();
    let result = axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Open WebSocket connections end with 1001 (going away) so the server can drain.
            closing.shut_down();
        })
        .await;
    jobs.abort();
    deliveries.abort();
    tail.abort();
    trimmer.abort();
    if let Some(t) = metrics_task {
        t.abort();
    }
    result
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
