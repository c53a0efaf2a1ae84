//! The run loop every command that reads or writes jobs goes through ([`Runner`]): connect,
//! read the schema, run a pass, report a failure, repeat for `--watch`; and Ctrl-C handling.
//!
//! The first Ctrl-C sets a flag that passes check between batches, so the batch in flight
//! commits (or rolls back) whole and the summary is printed. A second Ctrl-C exits at once;
//! the server then rolls back whatever transaction was open.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::{Format, SessionArgs};
use crate::config::Settings;
use crate::db::errors::Timeout;
use crate::db::{Db, Schema, SessionLimits};
use crate::defaults;
use crate::error::exit;
use crate::output::{self, plural, Report};

/// The session limits the flags ask for, built-in defaults filling the rest.
pub fn session_limits(args: &SessionArgs) -> SessionLimits {
    SessionLimits {
        lock_timeout: args.lock_timeout.unwrap_or(defaults::LOCK_TIMEOUT),
        statement_timeout: args
            .statement_timeout
            .unwrap_or(defaults::STATEMENT_TIMEOUT),
    }
}

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
            // A usage error (say --accurate on a schema without producers) will not heal, and
            // nobody reads a closed pipe: both end the loop (the pass's batches are committed).
            if crate::error::exit_code(&e) == exit::USAGE || crate::error::is_broken_pipe(&e) {
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
    /// Nothing was changed on purpose: `changed` counts what would have been.
    pub dry_run: bool,
}

/// One command's run, the same for every command that reads or writes jobs: one pass, or a
/// pass every interval with `--watch`. Each pass connects afresh and reads the schema, so a
/// database restart costs one failed pass, not the loop; a failed pass in watch mode is
/// reported (passwords scrubbed) and the loop carries on.
pub struct Runner<'a> {
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
    /// Said after a timeout's hint (`, or drop --exact`).
    pub advice: &'static str,
}

impl<'a> Runner<'a> {
    /// A runner for a command that reads (or signals) with the default session limits and no
    /// advice after a timeout's hint.
    pub fn reader(
        command: &'static str,
        settings: &'a Settings,
        watching: bool,
        interval: Duration,
    ) -> Runner<'a> {
        Runner {
            command,
            settings,
            limits: session_limits(&Default::default()),
            watching,
            interval,
            advice: "",
        }
    }
    /// A runner for one pass of a command that takes its own session limits (no `--watch`).
    pub fn once(
        command: &'static str,
        settings: &'a Settings,
        limits: SessionLimits,
    ) -> Runner<'a> {
        Runner {
            command,
            settings,
            limits,
            watching: false,
            interval: Duration::ZERO,
            advice: "",
        }
    }

    /// Runs `tick` (given the connection, the schema, and whether it is the first pass) once
    /// or every interval. A failure caused by a session limit names the limit and its flag;
    /// `explain` may add more.
    /// Returns how many passes failed (watch mode only; otherwise the failure is returned).
    pub fn run(
        &self,
        mut tick: impl FnMut(&mut Db, &Schema, bool) -> Result<()>,
        explain: impl Fn(anyhow::Error) -> anyhow::Error,
    ) -> Result<u64> {
        let dsn = self.settings.require_dsn()?.clone();
        let secrets: Vec<String> = dsn.password().into_iter().collect();
        install_handler();
        let mut first = true;
        run_loop(
            self.watching,
            self.interval,
            || {
                let pass = Db::connect(&dsn, self.limits, false).and_then(|mut db| {
                    let schema = db.schema(&self.settings.prefix)?;
                    tick(&mut db, &schema, first)
                });
                first = false;
                pass.map_err(|e| explain(self.name_the_limit(e)))
            },
            |e| {
                let message = crate::dsn::scrub(&format!("{e:#}"), &secrets);
                eprintln!(
                    "oban: {}: pass failed, retrying in {}: {message}",
                    self.command,
                    crate::duration::human(self.interval)
                );
            },
        )
    }

    /// A failure caused by a session limit names the limit and the flag that sets it.
    fn name_the_limit(&self, e: anyhow::Error) -> anyhow::Error {
        let Some(timeout) = crate::db::errors::timeout(&e) else {
            return e;
        };
        let (setting, limit) = match timeout {
            Timeout::Lock => ("lock_timeout", self.limits.lock_timeout),
            Timeout::Statement => ("statement_timeout", self.limits.statement_timeout),
        };
        let limit = crate::duration::human(limit);
        // stats and inspect only read, and take no --lock-timeout: a lock held that long is
        // someone else's maintenance (a migration, a VACUUM FULL).
        let read_only = matches!(self.command, "stats" | "inspect" | "doctor");
        if timeout == Timeout::Lock && read_only {
            return e.context(format!(
                "{setting} ({limit}) ran out: another session holds a lock on the jobs table; \
                 try again when it is done"
            ));
        }
        e.context(format!(
            "{setting} ({limit}) ran out; raise {} to wait longer{}",
            timeout.flag(),
            self.advice
        ))
    }

    /// A maintenance command's run: runs `pass` and prints each report, then (watch mode, on
    /// a table) a summary. Returns the exit code: 130 when a single pass was interrupted.
    pub fn maintain<R: Report>(
        &self,
        out: &mut dyn Write,
        mut pass: impl FnMut(&mut Db, &Schema, bool) -> Result<(R, Tally)>,
    ) -> Result<i32> {
        let settings = self.settings;
        let style = settings.style(self.watching);
        let (mut passes, mut changed, mut interrupted, mut dry_run) = (0u64, 0u64, false, false);
        let failed = self.run(
            |db, schema, first| {
                let (report, tally) = pass(db, schema, first)?;
                passes += 1;
                changed += tally.changed;
                interrupted = tally.interrupted;
                dry_run = tally.dry_run;
                output::write_report(out, style, &report)
            },
            |e| e,
        )?;
        if self.watching && !settings.quiet && settings.format == Format::Table {
            let what = if dry_run {
                "would have changed (dry run: none did)"
            } else {
                "changed"
            };
            eprintln!(
                "{}: stopped after {} ({failed} failed), {} {what} in all",
                self.command,
                plural(passes, "pass", "passes"),
                plural(changed, "job", "jobs"),
            );
        }
        Ok(if !self.watching && interrupted {
            exit::INTERRUPTED
        } else {
            exit::OK
        })
    }
}
