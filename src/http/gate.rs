//! Admission and CPU isolation for GraphQL work.
//!
//! Two bounds keep one instance answering under a flood of requests, hostile or not:
//! - **admission**: at most `--max-in-flight` GraphQL HTTP requests are worked on at once;
//!   the next one is answered 503 with `Retry-After` before its body is read, so the memory
//!   held by request bodies and parsed documents has a ceiling;
//! - **CPU isolation**: scanning, parsing and measuring a document run on blocking threads, at
//!   most one per core at a time, so the async workers stay free for health checks, WebSocket
//!   traffic and queries already past that point, and the request deadline can answer while a
//!   document is still being looked at.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Gate {
    in_flight: Arc<Semaphore>,
    cpu: Arc<Semaphore>,
}

/// A GraphQL request being worked on; dropping it frees the place.
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

impl Gate {
    pub fn new(max_in_flight: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            cpu: Arc::new(Semaphore::new(cores)),
        }
    }

    /// A place for one more request, or `None` when the instance is at its limit.
    pub fn admit(&self) -> Option<Admitted> {
        self.in_flight
            .clone()
            .try_acquire_owned()
            .ok()
            .map(Admitted)
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
