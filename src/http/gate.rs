//! Admission and CPU isolation for GraphQL work.
//!
//! Two bounds keep one instance answering under a flood of requests, hostile or not:
//! - **admission**: at most `--max-in-flight` GraphQL HTTP requests are worked on at once;
//!   the next one is answered 503 with `Retry-After` before its body is read, so the memory
//!   held by request bodies and parsed documents has a ceiling;
//! - **CPU isolation**: scanning, parsing and measuring a document run on blocking threads, at
//!   most one per core at a time, so the async workers stay free for health checks, WebSocket
//!   traffic and queries already past that point, and the request deadline can answer while a
//!   document is still being looked at. Documents of up to [`INLINE_BYTES`] with plain scalar
//!   variables are checked where they arrive: microseconds of work, less than the hand-off.
//!
//! After a burst, freed memory goes back to the system. glibc's allocator keeps freed pages of
//! its per-thread arenas, so a flood of large refused documents left RSS at 2.4x its idle level
//! (benches/flood.rs). Two measures bring it back near its idle level: allocations of 64 KiB and
//! more (request bodies, documents) are mapped on their own and unmapped when freed, and
//! [`Gate::spawn_trimmer`] returns the arenas' free pages when requests quieten down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Gate {
    in_flight: Arc<Semaphore>,
    cpu: Arc<Semaphore>,
    /// Whether a request was admitted since memory was last trimmed.
    busy: AtomicBool,
}

/// Documents (with their variables) up to this size are checked on the request's own thread:
/// the scan and parse take microseconds, under the limits' bounds that is at most about a
/// hundred microseconds, less than handing the work to a blocking thread and back.
const INLINE_BYTES: usize = 2048;

/// How often the trimmer looks at whether requests came.
const TRIM_TICK: Duration = Duration::from_millis(500);
/// Ticks of uninterrupted load after which memory is trimmed anyway (ten seconds).
const TRIM_UNDER_LOAD: u32 = 20;

/// A GraphQL request being worked on; dropping it frees the place.
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

impl Gate {
    pub fn new(max_in_flight: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        static TUNE: std::sync::Once = std::sync::Once::new();
        TUNE.call_once(tune_allocator);
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            cpu: Arc::new(Semaphore::new(cores)),
            busy: AtomicBool::new(false),
        }
    }

    /// Hands freed heap memory back to the system once requests quieten down (half a second
    /// without one), or every ten seconds under sustained load, until the server stops.
    pub fn spawn_trimmer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let gate = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TRIM_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Ticks since the first request that memory was not yet trimmed after.
            let mut pending: Option<u32> = None;
            loop {
                tick.tick().await;
                let busy = gate.busy.swap(false, Ordering::Relaxed);
                pending = match (pending, busy) {
                    (None, false) => None,
                    (None, true) => Some(0),
                    (Some(n), true) if n < TRIM_UNDER_LOAD => Some(n + 1),
                    (Some(_), _) => {
                        let _ = tokio::task::spawn_blocking(trim).await;
                        None
                    }
                };
            }
        })
    }

    /// Notes activity that frees memory (a WebSocket connection or event stream ended), so that
    /// the trimmer hands it back once things quieten down.
    pub fn touch(&self) {
        self.busy.store(true, Ordering::Relaxed);
    }

    /// A place for one more request, or `None` when the instance is at its limit.
    pub fn admit(&self) -> Option<Admitted> {
        self.busy.store(true, Ordering::Relaxed);
        self.in_flight
            .clone()
            .try_acquire_owned()
            .ok()
            .map(Admitted)
    }

    /// Runs the check of a document of `len` bytes: on this thread when it is small enough to
    /// take microseconds (a dashboard's query; the hand-off to a blocking thread would cost
    /// more than the work), else as [`Gate::compute`]. `None` if the work panicked (a bug;
    /// logged).
    pub async fn compute_sized<T, F>(&self, len: usize, work: F) -> Option<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if len > INLINE_BYTES {
            return self.compute(work).await;
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::error!("document check failed");
                None
            }
        }
    }

    /// Runs CPU-bound `work` on a blocking thread, one per core at a time. `None` if the work
    /// panicked (a bug; logged).
    pub async fn compute<T, F>(&self, work: F) -> Option<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.cpu.clone().acquire_owned().await.ok()?;
        let span = tracing::Span::current();
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(work)
        });
        match job.await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!(error = %e, "document check failed");
                None
            }
        }
    }
}

/// Hands glibc's free pages back. The `cosell` binary allocates with jemalloc, which returns
/// its own on a timer (src/main.rs); this serves programs that embed the library on glibc's
/// malloc, and what C libraries allocate there.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    let started = std::time::Instant::now();
    // SAFETY: malloc_trim only releases free pages of the allocator's own arenas; it is safe
    // to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    tracing::debug!(
        elapsed_us = started.elapsed().as_micros() as u64,
        in_use_bytes = info.uordblks as u64,
        free_bytes = info.fordblks as u64,
        mapped_bytes = info.hblkhd as u64,
        "heap trimmed"
    );
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// Large allocations get their own mapping, given back on free: a fixed threshold also stops
/// glibc from raising it after the first large free, which sends later bodies into the arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only changes allocator parameters; it takes the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
