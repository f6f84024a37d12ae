//! Admission and CPU isolation for GraphQL work.
//!
//! Two bounds keep one instance answering under a flood of requests, hostile or not:
//! - **admission**: at most `--max-in-flight` GraphQL HTTP requests are worked on at once;
//!   the next one is answered 503 with `Retry-After` before its body is read, so the memory
//!   held by request bodies and parsed documents has a ceiling;
//! - **CPU isolation**: scanning, parsing and measuring a document run on the gate's own
//!   checker threads, one per core, at a lower scheduling priority than the async workers
//!   (nice 10 on Linux). A flood of large or hostile documents then takes the CPU only that
//!   the async workers leave: health checks, WebSocket traffic and queries already past that
//!   point are served first, and the request deadline can answer while a document is still
//!   being looked at. Documents of up to [`INLINE_BYTES`] with plain scalar variables are
//!   checked where they arrive: microseconds of work, less than the hand-off.
//!
//! After a burst, freed memory goes back to the system. glibc's allocator keeps freed pages of
//! its per-thread arenas, so a flood of large refused documents left RSS at 2.4x its idle level
//! (benches/flood.rs). Two measures bring it back near its idle level: allocations of 64 KiB and
//! more (request bodies, documents) are mapped on their own and unmapped when freed, and
//! [`Gate::spawn_trimmer`] returns the arenas' free pages when requests quieten down. With
//! jemalloc (the `cosell` binary), each async worker also empties its thread cache the next
//! time it falls idle after such a trim ([`on_worker_park`]): an idle thread's cache is never
//! collected otherwise, and after 10,000 WebSocket connections closed it held about a quarter
//! of the heap (benches/fanout.rs).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Gate {
    in_flight: Arc<Semaphore>,
    /// Work for the checker threads; they end when the gate is dropped.
    checks: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
    /// Whether a request was admitted since memory was last trimmed.
    busy: AtomicBool,
}

/// One document check for a checker thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The niceness of the checker threads: they yield the CPU to the async workers.
const CHECKER_NICE: i32 = 10;

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
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..cores {
            let rx = rx.clone();
            let started = std::thread::Builder::new()
                .name(format!("cosell-check-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only to take the next job, never while running it.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "a document checker thread could not start");
            }
        }
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            checks: std::sync::Mutex::new(tx),
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
                        TRIMS.fetch_add(1, Ordering::Relaxed);
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

    /// Runs CPU-bound `work` on a checker thread (one per core, at a lower priority), in the
    /// order the work came. `None` if the work panicked (a bug; logged) or the checkers are
    /// gone (the server is stopping).
    pub async fn compute<T, F>(&self, work: F) -> Option<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            let out =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| span.in_scope(work)));
            if out.is_err() {
                tracing::error!("document check failed");
            }
            // The request may have given up (its deadline): nobody waits for the answer then.
            let _ = tx.send(out.ok());
        });
        self.checks.lock().ok()?.send(job).ok()?;
        rx.await.ok().flatten()
    }
}

/// Trims so far: an async worker that has not flushed its thread cache since the last one does
/// so when it next falls idle.
static TRIMS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The trim this thread last flushed its cache after.
    static FLUSHED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The async runtime's park hook (`cli` sets it): after a trim, the worker's first idle moment
/// empties its allocator thread cache into the shared arenas, whose free pages the allocator's
/// background thread then hands back. One atomic load per park otherwise.
pub fn on_worker_park() {
    let trims = TRIMS.load(Ordering::Relaxed);
    FLUSHED.with(|f| {
        if f.get() != trims {
            f.set(trims);
            flush_thread_cache();
        }
    });
}

/// Empties this thread's jemalloc cache (a no-op for threads that never allocated with it).
#[cfg(all(unix, not(target_env = "musl")))]
fn flush_thread_cache() {
    // SAFETY: `thread.tcache.flush` takes no input and returns nothing; the name is a
    // NUL-terminated static string.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.tcache.flush".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

#[cfg(not(all(unix, not(target_env = "musl"))))]
fn flush_thread_cache() {}

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

/// Lowers the calling thread's scheduling priority to [`CHECKER_NICE`] (Linux sets niceness
/// per thread).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority changes only this thread's niceness.
    let failed = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, CHECKER_NICE)
    };
    if failed != 0 {
        tracing::debug!("document checkers run at the normal priority");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn lower_priority() {}

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
