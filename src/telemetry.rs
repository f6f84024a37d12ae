//! Structured logs: human-readable by default, one JSON object per line when asked.
//! `RUST_LOG` filters as usual (default `info`).
//!
//! Traces: with `--otlp-endpoint`, each request's span, the spans inside it and one span per
//! SQL statement (with its parameterised text, never its values) are exported over OTLP/HTTP
//! (protobuf) to `<endpoint>/v1/traces`. A request carrying a W3C `traceparent` continues that
//! trace. `OTEL_EXPORTER_OTLP_HEADERS` adds headers (a collector's API key, say) and
//! `OTEL_SERVICE_NAME` renames the service (default `cosell`).

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Whether spans are being exported (a `traceparent` is only read then).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Keeps the trace exporter for the life of the server; [`Telemetry::shutdown`] sends what is
/// still buffered.
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered (waits at most a few seconds for the collector).
    pub fn shutdown(self) {
        if let Some(p) = self.provider {
            let _ = p.shutdown_with_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Sets up logging, and trace export when `otlp_endpoint` is given (the collector's base URL,
/// e.g. `http://otel-collector:4318`).
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A closed log pipe must not take the server down: tracing-subscriber would otherwise
    // report the failed write with eprintln!, which panics when stderr itself is gone.
    // Colours only for a person at a terminal: log files and journald get plain text, and
    // NO_COLOR (https://no-color.org) turns them off anywhere.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .log_internal_errors(false);
    let logs = match format {
        LogFormat::Human => fmt.with_filter(filter).boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_filter(filter)
            .boxed(),
    };
    let (traces, provider) = match otlp_endpoint {
        Some(endpoint) => {
            let provider = provider(endpoint)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("cosell"))
                .with_filter(trace_filter());
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            EXPORTING.store(true, Ordering::Relaxed);
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    Ok(Telemetry { provider })
}

/// The spans worth exporting whatever `RUST_LOG` says: cosell's own at INFO (requests, writes,
/// background jobs), and the SQL driver's per-statement spans (TRACE in sea-orm).
fn trace_filter() -> Targets {
    Targets::new()
        .with_target("cosell", LevelFilter::INFO)
        .with_target(SQL_TARGET, LevelFilter::TRACE)
        .with_target("sea_orm::driver", LevelFilter::TRACE)
}

/// The target of the event that names each SQL statement inside its driver span.
pub const SQL_TARGET: &str = "cosell::sql";

fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let base = endpoint.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(format!(
            "--otlp-endpoint must be an http:// or https:// URL, such as http://otel-collector:4318 (got `{endpoint}`)"
        ));
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{base}/v1/traces"))
        .with_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot set up the OTLP exporter: {e}"))?;
    let service =
        std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| env!("CARGO_PKG_NAME").to_string());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service)
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build())
}

/// Continues the caller's trace (W3C `traceparent`/`tracestate`) in `span`, when exporting.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
