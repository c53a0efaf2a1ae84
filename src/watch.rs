//! Ctrl-C handling and the `--watch` loop shared by maintenance commands.
//!
//! The first Ctrl-C sets a flag that passes check between batches, so the batch in flight
//! commits (or rolls back) whole and the summary is printed. A second Ctrl-C exits at once;
//! the server then rolls back whatever transaction was open.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::Format;
use crate::config::Settings;
use crate::db::{Db, Schema, SessionLimits};
use crate::error::exit;
use crate::output::{self, Report, Style};

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
            // A usage error (say --accurate on a schema without producers) will not heal.
            if crate::error::exit_code(&e) == exit::USAGE {
                return Err(e);
            }
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

/// What one maintenance pass did, for the loop's summary and the exit code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Rows changed (deleted, rescued).
    pub changed: u64,
    /// The pass stopped early on Ctrl-C.
    pub interrupted: bool,
}

/// A maintenance command's run: one pass, or a pass every interval with `--watch`. Each pass
/// connects afresh, so a database restart costs one failed pass, not the loop.
pub struct Maintenance<'a> {
    /// The subcommand, for messages.
    pub command: &'static str,
    /// Resolved settings.
    pub settings: &'a Settings,
    /// Session timeouts.
    pub limits: SessionLimits,
    /// `--watch`.
    pub watching: bool,
    /// `--interval`.
    pub interval: Duration,
}

impl Maintenance<'_> {
    /// Runs `pass` (given the connection, the schema, and whether it is the first pass) and
    /// prints each report. Returns the exit code: 130 when a single pass was interrupted.
    pub fn run<R: Report>(
        &self,
        out: &mut dyn Write,
        mut pass: impl FnMut(&mut Db, &Schema, bool) -> Result<(R, Tally)>,
    ) -> Result<i32> {
        let settings = self.settings;
        let dsn = settings.require_dsn()?.clone();
        let secrets: Vec<String> = dsn.password().into_iter().collect();
        let style = Style::of(settings, self.watching);
        install_handler();
        let (mut passes, mut changed, mut first) = (0u64, 0u64, true);
        let mut interrupted = false;
        let failed = run_loop(
            self.watching,
            self.interval,
            || {
                let mut db = Db::connect(&dsn, self.limits, false)?;
                let schema = db.schema(&settings.prefix)?;
                let (report, tally) = pass(&mut db, &schema, first)?;
                first = false;
                passes += 1;
                changed += tally.changed;
                interrupted = tally.interrupted;
                output::write_report(out, style, &report)
            },
            |e| {
                let message = crate::scrub(&format!("{e:#}"), &secrets);
                eprintln!(
                    "oban: {}: pass failed, retrying in {}: {message}",
                    self.command,
                    crate::duration::human(self.interval)
                );
            },
        )?;
        if self.watching && !settings.quiet && settings.format == Format::Table {
            eprintln!(
                "{}: stopped after {passes} passes ({failed} failed), {changed} jobs changed in all",
                self.command
            );
        }
        Ok(if !self.watching && interrupted {
            exit::INTERRUPTED
        } else {
            exit::OK
        })
    }
}
