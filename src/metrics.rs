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
    sse_open: u64,
    sse_total: u64,
    webhook_claimed: u64,
    webhook_attempts: BTreeMap<&'static str, u64>,
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

    /// Records a GraphQL event stream (Server-Sent Events) opening.
    pub fn sse_opened(&self) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.sse_open += 1;
        m.sse_total += 1;
    }

    /// Records a GraphQL event stream ending.
    pub fn sse_closed(&self) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.sse_open = m.sse_open.saturating_sub(1);
    }

    /// Records webhook endpoints leased for a delivery round.
    pub fn webhook_claimed(&self, n: u64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.webhook_claimed += n;
    }

    /// Records one webhook delivery attempt.
    pub fn webhook_attempt(&self, delivered: bool) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let outcome = if delivered { "delivered" } else { "failed" };
        *m.webhook_attempts.entry(outcome).or_default() += 1;
    }

    /// Every metric in the text exposition format, the process's own last.
    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        m.render_http(&mut out);
        m.render_streams(&mut out);
        m.render_webhooks(&mut out);
        header(
            &mut out,
            "cosell_sql_statements_total",
            "counter",
            "SQL statements executed.",
        );
        let _ = writeln!(out, "cosell_sql_statements_total {}", self.statements.get());
        header(
            &mut out,
            "cosell_build_info",
            "gauge",
            "The running build: 1, labelled with its version.",
        );
        let _ = writeln!(
            out,
            "cosell_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        process(&mut out);
        out
    }
}

/// Writes a metric's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl Inner {
    /// HTTP requests by route and status, GraphQL errors by code, and the latency histogram.
    fn render_http(&self, out: &mut String) {
        let name = "cosell_http_requests_total";
        header(out, name, "counter", "HTTP requests by route and status.");
        for ((route, status), n) in &self.requests {
            let _ = writeln!(out, "{name}{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        let name = "cosell_graphql_errors_total";
        header(out, name, "counter", "GraphQL errors by extensions.code.");
        for (code, n) in &self.errors {
            let _ = writeln!(out, "{name}{{code=\"{code}\"}} {n}");
        }
        let name = "cosell_http_request_duration_seconds";
        header(out, name, "histogram", "HTTP request latency by route.");
        for (route, h) in &self.latency {
            for (i, b) in BUCKETS.iter().enumerate() {
                let n = h.counts[i];
                let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{b}\"}} {n}");
            }
            let n = h.count;
            let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {n}");
            let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {n}");
        }
    }

    /// Open and ended WebSocket connections and GraphQL event streams.
    fn render_streams(&self, out: &mut String) {
        let name = "cosell_ws_connections";
        header(out, name, "gauge", "Open WebSocket connections.");
        let _ = writeln!(out, "{name} {}", self.ws_open);
        let name = "cosell_ws_closed_total";
        let help = "WebSocket connections ended, by close code (1013: slow consumer).";
        header(out, name, "counter", help);
        for (code, n) in &self.ws_closes {
            let _ = writeln!(out, "{name}{{code=\"{code}\"}} {n}");
        }
        let name = "cosell_sse_streams";
        let help = "Open GraphQL event streams (Server-Sent Events).";
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {}", self.sse_open);
        let name = "cosell_sse_streams_total";
        header(out, name, "counter", "GraphQL event streams opened.");
        let _ = writeln!(out, "{name} {}", self.sse_total);
    }

    /// Webhook delivery attempts by outcome and endpoints leased.
    fn render_webhooks(&self, out: &mut String) {
        let name = "cosell_webhook_attempts_total";
        header(
            out,
            name,
            "counter",
            "Webhook delivery attempts by outcome.",
        );
        for (outcome, n) in &self.webhook_attempts {
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {n}");
        }
        let name = "cosell_webhook_endpoints_claimed_total";
        let help = "Webhook endpoints leased for delivery (an endpoint is leased only when an event is for it, a retry is due, or at a sweep).";
        header(out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", self.webhook_claimed);
    }
}

/// The standard `process_*` metrics (Prometheus client conventions), read from /proc on Linux.
fn process(out: &mut String) {
    let Some(p) = ProcessFigures::read() else {
        return;
    };
    let mut gauge = |name: &str, help: &str, kind: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    gauge(
        "process_cpu_seconds_total",
        "User and system CPU time spent, in seconds.",
        "counter",
        p.cpu_seconds,
    );
    gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        p.resident_bytes,
    );
    gauge(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        "gauge",
        p.virtual_bytes,
    );
    gauge(
        "process_open_fds",
        "Open file descriptors.",
        "gauge",
        p.open_fds,
    );
    gauge(
        "process_max_fds",
        "The limit of open file descriptors.",
        "gauge",
        p.max_fds,
    );
    gauge(
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.",
        "gauge",
        p.start_time_seconds,
    );
    gauge("process_threads", "OS threads.", "gauge", p.threads);
}

struct ProcessFigures {
    cpu_seconds: f64,
    resident_bytes: f64,
    virtual_bytes: f64,
    open_fds: f64,
    max_fds: f64,
    start_time_seconds: f64,
    threads: f64,
}

impl ProcessFigures {
    #[cfg(target_os = "linux")]
    fn read() -> Option<Self> {
        // Linux reports times in clock ticks and memory in pages; both are 100 and 4096 on
        // every platform Linux runs cosell on, which /proc's own tools assume too.
        const TICKS: f64 = 100.0;
        const PAGE: f64 = 4096.0;
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let num = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        let (utime, stime, threads, start, vsize, rss) =
            (num(11)?, num(12)?, num(17)?, num(19)?, num(20)?, num(21)?);
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok())?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()?
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3)?.parse::<f64>().ok())
            .unwrap_or(0.0);
        Some(Self {
            cpu_seconds: (utime + stime) / TICKS,
            resident_bytes: rss * PAGE,
            virtual_bytes: vsize,
            open_fds,
            max_fds,
            start_time_seconds: boot + start / TICKS,
            threads,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn read() -> Option<Self> {
        None
    }
}
