//! Ctrl-C handling and the `--watch` loop shared by maintenance commands.
//!
//! The first Ctrl-C sets a flag that passes check between batches, so the batch in flight
//! commits (or rolls back) whole and the summary is printed. A second Ctrl-C exits at once;
//! the server then rolls back whatever transaction was open.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C (and SIGTERM) handler. Safe to call more than once.
pub fn install_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(crate::error::exit::INTERRUPTED);
        }
    });
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Sleeps up to `duration`, waking early on Ctrl-C. Returns false when interrupted.
pub fn sleep(duration: Duration) -> bool {
    let end = Instant::now() + duration;
    while !interrupted() {
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
    false
}

/// Runs `tick` once, or every `interval` until Ctrl-C when `watch` is set. A failed tick in
/// watch mode is reported through `on_error` and the loop carries on (the database may be
/// restarting); without watch the error is returned. Returns the number of passes that failed.
pub fn run_loop(
    watch: bool,
    interval: Duration,
    mut tick: impl FnMut() -> anyhow::Result<()>,
    mut on_error: impl FnMut(&anyhow::Error),
) -> anyhow::Result<u64> {
    if !watch {
        tick()?;
        return Ok(0);
    }
    let mut failed = 0;
    loop {
        let started = Instant::now();
        if let Err(e) = tick() {
            failed += 1;
            on_error(&e);
        }
        if interrupted() {
            return Ok(failed);
        }
        if !sleep(interval.saturating_sub(started.elapsed())) {
            return Ok(failed);
        }
    }
}
