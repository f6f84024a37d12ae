//! How a SQLite connection waits for the write lock.
//!
//! SQLite's own busy handler (what `busy_timeout` installs) sleeps longer after each failed
//! try: 1, 2, 5, 10 ... up to 100 ms between tries. With several connections writing (the
//! request pool and the webhook dispatcher's pool), a connection that lost a few times sleeps
//! 100 ms at a time while the others take the lock again and again: measured with one steady
//! writer, webhook deliveries waited up to 650 ms (p99) for a lock that was free most of the
//! time. This handler tries again every millisecond for the same 10 s in all, so a waiting
//! writer gets the lock about as soon as it is free.

use std::os::raw::{c_int, c_void};
use std::time::Duration;

use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::Sqlite;

/// Tries before giving up with "database is locked": 1 ms apart, about 10 s.
const TRIES: c_int = 10_000;

extern "C" fn retry(_: *mut c_void, tries: c_int) -> c_int {
    if tries >= TRIES {
        return 0;
    }
    // Runs on the connection's own worker thread, never on the async runtime's.
    std::thread::sleep(Duration::from_millis(1));
    1
}

/// Installs [`retry`] on every connection the pool opens.
pub fn install(opts: PoolOptions<Sqlite>) -> PoolOptions<Sqlite> {
    opts.after_connect(|conn, _| {
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            let raw = handle.as_raw_handle();
            // SAFETY: `raw` is this connection's open handle, held locked for the call;
            // `retry` is a plain function that keeps no state, valid for the program's life.
            unsafe {
                libsqlite3_sys::sqlite3_busy_handler(
                    raw.as_ptr(),
                    Some(retry),
                    std::ptr::null_mut(),
                );
            }
            Ok(())
        })
    })
}
