//! `oban vacuum`: `VACUUM (ANALYZE)` on the jobs table (SQLite: `VACUUM` of the file), under
//! the advisory lock so that two runs never overlap, with progress from
//! `pg_stat_progress_vacuum` on a terminal. Also what `prune --vacuum` runs after a large pass,
//! and the progress line `reindex` shares.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::VacuumArgs;
use crate::config::Settings;
use crate::db::{lock, Db, Schema, SessionLimits};
use crate::defaults;
use crate::output::bytes;
use crate::output::{self, Report};
use crate::watch;

/// The result of `oban vacuum`.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumReport {
    /// Always "vacuum".
    pub command: &'static str,
    /// Always false: vacuum has no dry run.
    pub dry_run: bool,
    /// The schema.
    pub prefix: String,
    /// Another run held the lock: nothing was done.
    pub locked: bool,
    /// Bytes of the table and its indexes before (SQLite: the file).
    pub before_bytes: i64,
    /// And after.
    pub after_bytes: i64,
    /// Seconds taken.
    pub elapsed: f64,
}

impl Report for VacuumReport {
    fn to_table(&self) -> String {
        if self.locked {
            return format!(
                "vacuum: another run holds the lock on {}; nothing done\n",
                self.prefix
            );
        }
        format!(
            "vacuum: {}.oban_jobs vacuumed and analyzed in {}: {} before, {} after\n",
            self.prefix,
            output::seconds(self.elapsed),
            bytes(self.before_bytes),
            bytes(self.after_bytes)
        )
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        (
            output::header("prefix,locked,before_bytes,after_bytes,elapsed"),
            vec![vec![
                self.prefix.clone(),
                self.locked.to_string(),
                self.before_bytes.to_string(),
                self.after_bytes.to_string(),
                format!("{:.3}", self.elapsed),
            ]],
        )
    }
}

/// The session limits of `vacuum` and `reindex`: a long statement is expected.
pub fn limits(args: &crate::cli::SessionArgs) -> SessionLimits {
    SessionLimits {
        lock_timeout: args.lock_timeout.unwrap_or(defaults::LOCK_TIMEOUT),
        statement_timeout: args
            .statement_timeout
            .unwrap_or(defaults::REBUILD_STATEMENT_TIMEOUT),
    }
}

/// Runs `work` on `db` while, on a terminal, a second connection reads the server's progress
/// view for `db`'s backend (`index`: create-index, else vacuum) into a line on stderr.
pub fn with_progress<T>(
    db: &mut Db,
    settings: &Settings,
    label: &str,
    index: bool,
    work: impl FnOnce(&mut Db) -> Result<T>,
) -> Result<T> {
    let show = !settings.quiet && output::Terminal::get().stderr;
    let pid = if show {
        db.backend_pid().ok().flatten()
    } else {
        None
    };
    let (Some(pid), Some(dsn)) = (pid, settings.dsn.clone()) else {
        return work(db);
    };
    let done = AtomicBool::new(false);
    // Length 1 until the server says: a bar of length 0 would read as done.
    let bar = ProgressBar::new(1);
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {percent}% ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let limits = SessionLimits {
                lock_timeout: Duration::from_secs(1),
                statement_timeout: Duration::from_secs(5),
            };
            let Ok(mut watcher) = Db::connect(&dsn, limits, false) else {
                return;
            };
            while !done.load(Ordering::SeqCst) {
                if let Ok(Some(p)) = watcher.progress_of(pid, index) {
                    if p.total > 0 {
                        bar.set_length(p.total as u64);
                        bar.set_position(p.done.clamp(0, p.total) as u64);
                    }
                    bar.set_message(format!("{label}: {}", p.phase));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let result = work(db);
        done.store(true, Ordering::SeqCst);
        bar.finish_and_clear();
        result
    })
}

/// Vacuums the jobs table under the lock; `None` when another run holds it.
pub fn vacuum(db: &mut Db, schema: &Schema, settings: &Settings) -> Result<Option<(i64, i64)>> {
    lock::exclusive(db, "vacuum", &schema.prefix, |db| {
        let before = db.jobs_bytes(schema).context("measuring the table")?;
        let label = format!("vacuuming {}.oban_jobs", schema.prefix);
        with_progress(db, settings, &label, false, |db| db.vacuum_jobs(schema))
            .context("vacuuming the jobs table")?;
        let after = db.jobs_bytes(schema).context("measuring the table")?;
        Ok((before, after))
    })
}

/// `prune --vacuum`: vacuums on a connection of its own (a vacuum may take longer than
/// prune's statement timeout). Seconds taken, or `None` when another run held the lock.
pub fn after_prune(settings: &Settings, schema: &Schema) -> Result<Option<f64>> {
    let started = Instant::now();
    let dsn = settings.require_dsn()?;
    let mut db = Db::connect(dsn, limits(&Default::default()), false)?;
    let done = vacuum(&mut db, schema, settings)?;
    Ok(done.map(|_| started.elapsed().as_secs_f64()))
}

/// One vacuum pass.
pub fn pass(db: &mut Db, schema: &Schema, settings: &Settings) -> Result<VacuumReport> {
    let started = Instant::now();
    let done = vacuum(db, schema, settings)?;
    let (before, after) = done.unwrap_or_default();
    Ok(VacuumReport {
        command: "vacuum",
        dry_run: false,
        prefix: schema.prefix.clone(),
        locked: done.is_none(),
        before_bytes: before,
        after_bytes: after,
        elapsed: started.elapsed().as_secs_f64(),
    })
}

/// The `oban vacuum` command.
pub fn run(settings: &Settings, args: &VacuumArgs, out: &mut dyn Write) -> Result<i32> {
    let runner = watch::Runner::once("vacuum", settings, limits(&args.session));
    runner.maintain(out, |db, schema, _| {
        let report = pass(db, schema, settings)?;
        Ok((report, watch::Tally::default()))
    })
}
