/// The server's allocator. glibc's malloc spent about a fifth of a dashboard request's CPU in
/// allocation and consolidation; jemalloc's per-thread caches and size classes do the same work
/// in a fraction of it (README, "Reading at scale: the dashboard").
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a background thread hands freed pages back to the
/// system about a second after they fall idle (closed connections, a finished burst), instead
/// of on a later allocation or never.
#[cfg(all(unix, not(target_env = "musl")))]
#[used]
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: Option<&'static std::ffi::c_char> = Some(unsafe {
    // SAFETY: a pointer to the first byte of a static NUL-terminated string.
    &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr()
});

fn main() -> std::process::ExitCode {
    cosell::cli::main()
}
