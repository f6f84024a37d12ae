//! Prometheus metrics in text exposition format, kept by hand: a few counters and one latency
//! histogram do not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::StatementCounter;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    errors: BTreeMap<String, u64>,
    latency: BTreeMap<String, Histogram>,
    ws_open: u64,
    ws_closes: BTreeMap<u16, u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    statements: StatementCounter,
}

impl Metrics {
    pub fn new(statements: StatementCounter) -> Self {
        Self {
            inner: Mutex::default(),
            statements,
        }
    }

    /// Records one finished HTTP request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests.entry((route.to_string(), status)).or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Records one GraphQL error by its code.
    pub fn error(&self, code: &str) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.errors.entry(code.to_string()).or_default() += 1;
    }

    /// Records a WebSocket connection opening.
    pub fn ws_opened(&self) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.ws_open += 1;
    }

    /// Records a WebSocket connection ending with `code` (1005 when the client left first).
    pub fn ws_closed(&self, code: u16) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.ws_open = m.ws_open.saturating_sub(1);
        *m.ws_closes.entry(code).or_default() += 1;
    }

    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP cosell_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE cosell_http_requests_total counter\n");
        for ((route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "cosell_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP cosell_graphql_errors_total GraphQL errors by extensions.code.\n");
        out.push_str("# TYPE cosell_graphql_errors_total counter\n");
        for (code, n) in &m.errors {
            let _ = writeln!(out, "cosell_graphql_errors_total{{code=\"{code}\"}} {n}");
        }
        out.push_str(
            "# HELP cosell_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE cosell_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "cosell_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "cosell_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "cosell_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "cosell_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP cosell_ws_connections Open WebSocket connections.\n");
        out.push_str("# TYPE cosell_ws_connections gauge\n");
        let _ = writeln!(out, "cosell_ws_connections {}", m.ws_open);
        out.push_str(
            "# HELP cosell_ws_closed_total WebSocket connections ended, by close code (1013: slow consumer).\n",
        );
        out.push_str("# TYPE cosell_ws_closed_total counter\n");
        for (code, n) in &m.ws_closes {
            let _ = writeln!(out, "cosell_ws_closed_total{{code=\"{code}\"}} {n}");
        }
        out.push_str("# HELP cosell_sql_statements_total SQL statements executed.\n");
        out.push_str("# TYPE cosell_sql_statements_total counter\n");
        let _ = writeln!(out, "cosell_sql_statements_total {}", self.statements.get());
        out
    }
}
