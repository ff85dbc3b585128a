//! The allocator of Palisade's binaries (the `palisade` command and the benchmark, so
//! that the benchmark's figures are the command's own).
//!
//! A scan allocates and frees many small strings and vectors from several threads at
//! once: glibc's allocator spent a quarter of the time in malloc and free there, mimalloc
//! a fraction of it (README, "Benchmarks"). Two settings matter at 100k objects:
//! - no transparent huge pages (the `no_thp` feature): with them, each first touch of a
//!   2 MiB region zeroed all of it, a seventh of the scan's CPU;
//! - freed memory goes back to the system after 50 ms instead of mimalloc's 1 s: the
//!   pages that parsing, the analyses and the per-object findings free are returned
//!   before the report's findings are gathered, which takes the peak from about 405 MB
//!   to about 345 MB at no measurable cost in time.

/// Linking this crate makes mimalloc the global allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_t`, the same in
/// mimalloc 2 and 3 (the enum keeps deprecated options to hold its numbering).
const PURGE_DELAY_OPTION: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds before mimalloc returns freed memory to the system.
const PURGE_DELAY_MS: std::ffi::c_long = 50;

/// Applies Palisade's allocator settings. Call first thing in `main`, before any thread
/// starts. A `MIMALLOC_PURGE_DELAY` in the environment wins, as mimalloc documents.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    set_purge_delay(PURGE_DELAY_MS);
}

/// mimalloc's current purge delay, in milliseconds.
#[cfg(test)]
fn purge_delay() -> std::ffi::c_long {
    #[allow(unsafe_code)]
    // SAFETY: reads one option; any option index is valid for `mi_option_get`.
    unsafe {
        libmimalloc_sys::mi_option_get(PURGE_DELAY_OPTION)
    }
}

fn set_purge_delay(ms: std::ffi::c_long) {
    #[allow(unsafe_code)]
    // SAFETY: sets one integer option; called before other threads exist (mimalloc's
    // option setters are not synchronized).
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY_OPTION, ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_set_and_read_back() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the environment decides
        }
        // mimalloc's own default, before Palisade's setting.
        assert_eq!(
            purge_delay(),
            1000,
            "option 15 is no longer mimalloc's purge delay"
        );
        configure();
        assert_eq!(purge_delay(), PURGE_DELAY_MS);
    }
}
