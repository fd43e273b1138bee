//! Giving freed heap back to the system. The live TUI frees as much as it
//! allocates once the model's bounds are full, yet its RSS crept up by
//! about 1% a minute in a 20-minute soak: glibc keeps freed chunks in the
//! arenas of the runtime's worker threads, and events allocated on one
//! worker and freed on another fragment them. A periodic `malloc_trim`
//! returns those pages (the model's heap itself is flat, counted exactly
//! by `tests/model_memory.rs`).

/// Returns free heap pages to the system; does nothing off glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and is thread-safe (it locks
    // each arena while trimming it); it only returns unused pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
