//! `oban prune`: delete final-state jobs older than their cutoff, in small locked-row batches.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::PruneArgs;
use crate::config::{defaults, Settings};
use crate::db::{Db, DeletedRow, Flavour, JobFilter, Schema, SessionLimits};
use crate::dsn::Dsn;
use crate::error::usage;
use crate::model::{DbTime, FinalState};
use crate::output::{self, Report};
use crate::watch;

/// Everything a prune pass needs, resolved from flags, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct PruneOpts {
    /// The states to prune and the age after which each goes, in visiting order.
    pub ages: Vec<(FinalState, Duration)>,
    /// Queue and worker filters.
    pub filter: JobFilter,
    /// Most rows per pass.
    pub limit: u64,
    /// Most rows per transaction.
    pub batch_size: u64,
    /// Sleep between batches.
    pub pause: Duration,
    /// Stop starting new batches after this long.
    pub max_runtime: Option<Duration>,
    /// Count only.
    pub dry_run: bool,
    /// Archive file for deleted rows.
    pub archive: Option<PathBuf>,
    /// Session timeouts.
    pub limits: SessionLimits,
    /// With `--connections 2` on PostgreSQL: the database for the second connection, which
    /// drains newest-eligible-first while the first drains oldest-first.
    pub second_connection: Option<Dsn>,
}

impl PruneOpts {
    /// Resolves and checks the flags; every error here is a usage error (exit 2).
    pub fn resolve(args: &PruneArgs, settings: &Settings) -> Result<PruneOpts> {
        let base = args.max_age.unwrap_or(settings.pruner.max_age);
        let states = if args.state.is_empty() {
            defaults::PRUNE_STATES.to_vec()
        } else {
            FinalState::ALL
                .into_iter()
                .filter(|s| args.state.contains(s))
                .collect()
        };
        let ages = states
            .into_iter()
            .map(|s| {
                let own = match s {
                    FinalState::Completed => args.completed_max_age,
                    FinalState::Cancelled => args.cancelled_max_age,
                    FinalState::Discarded => args.discarded_max_age,
                };
                (s, own.unwrap_or(base))
            })
            .collect();
        let limit = args.limit.unwrap_or(settings.pruner.limit);
        let defaults = SessionLimits::default();
        Ok(PruneOpts {
            ages,
            filter: super::job_filter(&args.scope)?,
            limit,
            batch_size: args
                .batch_size
                .unwrap_or(defaults::PRUNE_BATCH_SIZE)
                .min(limit),
            pause: args.pause.unwrap_or(defaults::PRUNE_PAUSE),
            max_runtime: args.max_runtime,
            dry_run: args.dry_run,
            archive: args.archive.clone(),
            limits: SessionLimits {
                lock_timeout: args.session.lock_timeout.unwrap_or(defaults.lock_timeout),
                statement_timeout: args
                    .session
                    .statement_timeout
                    .unwrap_or(defaults.statement_timeout),
            },
            second_connection: match args.connections.unwrap_or(defaults::PRUNE_CONNECTIONS) {
                2 => settings
                    .dsn
                    .clone()
                    .filter(|dsn| dsn.backend == crate::dsn::Backend::Postgres),
                _ => None,
            },
        })
    }
}

/// Why a pass stopped; when two drains stop differently, the later variant wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing eligible is left (apart from rows other sessions hold locked).
    #[default]
    Done,
    /// `--limit` rows were deleted; more may remain for the next pass.
    Limit,
    /// `--max-runtime` ran out.
    MaxRuntime,
    /// Ctrl-C.
    Interrupted,
    /// Another prune holds the advisory lock for this database and prefix; nothing was done.
    Locked,
}

/// The result of one pass.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// Always "prune".
    pub command: &'static str,
    /// Counted only.
    pub dry_run: bool,
    /// The schema pruned.
    pub prefix: String,
    /// The table shape found.
    pub flavour: Flavour,
    /// Rows deleted (or, in a dry run, that would be) per final state.
    pub deleted: BTreeMap<&'static str, u64>,
    /// The same, per queue.
    pub by_queue: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Sum of `deleted`.
    pub total: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Why the pass ended.
    pub outcome: Outcome,
    /// The cutoff per pruned state (RFC 3339, database clock): older jobs go.
    pub cutoffs: BTreeMap<&'static str, DbTime>,
    /// Rows per pass.
    pub limit: u64,
    /// Rows per transaction.
    pub batch_size: u64,
    /// Seconds the pass took.
    pub elapsed: f64,
    /// The archive file, when archiving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

impl PruneReport {
    fn new(opts: &PruneOpts, schema: &Schema) -> PruneReport {
        PruneReport {
            command: "prune",
            dry_run: opts.dry_run,
            prefix: schema.prefix.clone(),
            flavour: schema.flavour,
            deleted: FinalState::ALL.iter().map(|s| (s.name(), 0)).collect(),
            by_queue: BTreeMap::new(),
            total: 0,
            batches: 0,
            outcome: Outcome::Done,
            cutoffs: BTreeMap::new(),
            limit: opts.limit,
            batch_size: opts.batch_size,
            elapsed: 0.0,
            archive: opts.archive.as_ref().map(|p| p.display().to_string()),
        }
    }

    fn add(&mut self, state: &str, queue: &str, n: u64) {
        // States come back from the database; only final ones can be deleted.
        let Some(state) = FinalState::ALL.into_iter().find(|s| s.name() == state) else {
            return;
        };
        *self.deleted.entry(state.name()).or_default() += n;
        *self
            .by_queue
            .entry(queue.to_string())
            .or_default()
            .entry(state.name())
            .or_default() += n;
        self.total += n;
    }
}

impl Report for PruneReport {
    fn to_table(&self) -> String {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let mut out = match self.outcome {
            Outcome::Locked => {
                return format!(
                    "prune: another prune is running on this database (schema {}); nothing done\n",
                    self.prefix
                )
            }
            _ if self.total == 0 => format!(
                "prune{}: nothing to delete ({})\n",
                if self.dry_run { " (dry run)" } else { "" },
                output::seconds(self.elapsed)
            ),
            _ if self.dry_run => format!(
                "prune (dry run): {verb} {} jobs ({})\n",
                self.total,
                output::seconds(self.elapsed),
            ),
            _ => format!(
                "prune: {verb} {} jobs in {} ({} batches)\n",
                self.total,
                output::seconds(self.elapsed),
                self.batches
            ),
        };
        if self.total > 0 {
            let mut t = output::table(&["queue", "completed", "cancelled", "discarded", "total"]);
            let cells = |states: &BTreeMap<&'static str, u64>| {
                let mut row = vec![];
                for state in FinalState::ALL {
                    row.push(output::num(states.get(state.name()).copied().unwrap_or(0)));
                }
                row.push(output::num(states.values().sum()));
                row
            };
            for (queue, states) in &self.by_queue {
                let mut row = vec![comfy_table::Cell::new(queue)];
                row.extend(cells(states));
                t.add_row(row);
            }
            let mut row = vec![comfy_table::Cell::new("total")];
            row.extend(cells(&self.deleted));
            t.add_row(row);
            out.push_str(&format!("{t}\n"));
        }
        for (state, cutoff) in &self.cutoffs {
            out.push_str(&format!("  {state} before {cutoff}\n"));
        }
        match self.outcome {
            Outcome::Limit => out.push_str(&format!(
                "stopped at --limit {}: more jobs may be eligible; the next pass continues\n",
                self.limit
            )),
            Outcome::MaxRuntime => {
                out.push_str("stopped at --max-runtime; the next pass continues\n")
            }
            Outcome::Interrupted => {
                out.push_str("interrupted: every committed batch is listed above\n")
            }
            _ => {}
        }
        if let Some(path) = &self.archive {
            if !self.dry_run && self.total > 0 {
                out.push_str(&format!("archived to {path}\n"));
            }
        }
        out
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let header = ["state", "queue", "jobs", "dry_run"]
            .map(String::from)
            .to_vec();
        let rows = self
            .by_queue
            .iter()
            .flat_map(|(queue, states)| {
                states.iter().map(move |(state, n)| {
                    vec![
                        state.to_string(),
                        queue.clone(),
                        n.to_string(),
                        self.dry_run.to_string(),
                    ]
                })
            })
            .collect();
        (header, rows)
    }
}

/// The archive: JSON lines appended and synced to disk before each batch commits.
pub struct Archive {
    file: File,
    path: PathBuf,
}

impl Archive {
    /// Opens (creating if needed) for appending.
    pub fn open(path: &Path) -> Result<Archive> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                usage(format!(
                    "--archive {}: cannot open for appending: {e}",
                    path.display()
                ))
            })?;
        Ok(Archive {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends the rows and syncs. On failure the file is cut back to where it was, so a batch
    /// that rolls back leaves no trace in the archive.
    pub fn append(&mut self, rows: &[DeletedRow]) -> Result<()> {
        let before = self.file.metadata()?.len();
        let mut buf = Vec::with_capacity(rows.len() * 512);
        for row in rows {
            if let Some(json) = &row.row {
                buf.extend_from_slice(json.as_bytes());
                buf.push(b'\n');
            }
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(before);
            return Err(e).with_context(|| format!("writing archive {}", self.path.display()));
        }
        Ok(())
    }
}

/// The advisory lock key for a command on a prefix: FNV-1a of "oban:<command>:<prefix>".
pub fn lock_key(command: &str, prefix: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("oban:{command}:{prefix}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// A hint naming the index that would serve a state whose timestamp no index covers.
pub fn missing_index_hint(schema: &Schema, opts: &PruneOpts) -> Option<String> {
    if schema.flavour == Flavour::Lite {
        return None;
    }
    let missing: Vec<FinalState> = opts
        .ages
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| !schema.indexed_final_states.contains(s))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let statements: Vec<String> = missing
        .iter()
        .map(|s| {
            format!(
                "  CREATE INDEX CONCURRENTLY oban_jobs_{col}_index ON {}.oban_jobs ({col}) WHERE state = '{}';",
                crate::db::quote_ident(&schema.prefix),
                s.name(),
                col = s.column(),
            )
        })
        .collect();
    Some(format!(
        "hint: no index serves {}, so prune scans the table for them (correct, but slow on large tables). This index would make it fast:\n{}",
        missing.iter().map(|s| s.column()).collect::<Vec<_>>().join(", "),
        statements.join("\n")
    ))
}

/// Runs one pass on an open connection. `progress` is advanced by the rows of each batch.
pub fn pass(
    db: &mut Db,
    schema: &Schema,
    opts: &PruneOpts,
    archive: Option<&mut Archive>,
    progress: Option<&ProgressBar>,
) -> Result<PruneReport> {
    let started = Instant::now();
    let mut report = PruneReport::new(opts, schema);
    let ages: Vec<Duration> = opts.ages.iter().map(|(_, age)| *age).collect();
    let targets: Vec<(FinalState, String)> = opts
        .ages
        .iter()
        .map(|(state, _)| *state)
        .zip(db.cutoffs(&ages)?)
        .collect();
    for (state, cutoff) in &targets {
        report.cutoffs.insert(state.name(), DbTime::from_db(cutoff));
    }
    if opts.dry_run {
        let counts = db
            .count_prunable(schema, &targets, &opts.filter, opts.limit)
            .context("counting prunable jobs")?;
        for (state, queue, n) in counts {
            report.add(&state, &queue, n);
        }
        if report.total >= opts.limit {
            report.outcome = Outcome::Limit;
        }
        report.elapsed = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    let key = lock_key("prune", &schema.prefix);
    if !db.try_lock(key)? {
        report.outcome = Outcome::Locked;
        report.elapsed = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    let result = delete_all(db, schema, opts, &targets, archive, progress, started);
    let unlocked = db.unlock(key);
    let drained = result?;
    unlocked?;
    for ((state, queue), n) in &drained.cells {
        report.add(state, queue, *n);
    }
    report.batches = drained.batches;
    report.outcome = drained.outcome;
    if report.outcome == Outcome::Done && report.total >= opts.limit {
        report.outcome = Outcome::Limit;
    }
    report.elapsed = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What one or two drains did.
#[derive(Debug, Default)]
struct Drained {
    cells: BTreeMap<(String, String), u64>,
    batches: u64,
    outcome: Outcome,
}

/// Shared by the drains of one pass.
struct Drain<'a> {
    schema: &'a Schema,
    opts: &'a PruneOpts,
    targets: &'a [(FinalState, String)],
    /// Rows the pass may still delete; each batch claims its size up front.
    budget: AtomicU64,
    archive: Option<Mutex<&'a mut Archive>>,
    progress: Option<&'a ProgressBar>,
    started: Instant,
    /// Set when a drain fails, so the other stops after its batch in flight.
    failed: AtomicBool,
}

/// Deletes in batches until nothing is eligible, the limit, the runtime or Ctrl-C. With a
/// second connection, two drains work at once from both ends of the eligible range (oldest
/// first, newest first), so they never compete for the same rows until they meet.
fn delete_all(
    db: &mut Db,
    schema: &Schema,
    opts: &PruneOpts,
    targets: &[(FinalState, String)],
    archive: Option<&mut Archive>,
    progress: Option<&ProgressBar>,
    started: Instant,
) -> Result<Drained> {
    let drain = Drain {
        schema,
        opts,
        targets,
        budget: AtomicU64::new(opts.limit),
        archive: archive.map(Mutex::new),
        progress,
        started,
        failed: AtomicBool::new(false),
    };
    let Some(dsn) = &opts.second_connection else {
        return drain.run(db, false);
    };
    std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            let result = Db::connect(dsn, opts.limits, false)
                .context("opening the second connection")
                .and_then(|mut second| drain.run(&mut second, true));
            if result.is_err() {
                drain.failed.store(true, Ordering::SeqCst);
            }
            result
        });
        let mine = drain.run(db, false);
        if mine.is_err() {
            drain.failed.store(true, Ordering::SeqCst);
        }
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the second connection's drain panicked")));
        let (mut a, b) = (mine?, theirs?);
        for (cell, n) in b.cells {
            *a.cells.entry(cell).or_default() += n;
        }
        a.batches += b.batches;
        a.outcome = a.outcome.max(b.outcome);
        Ok(a)
    })
}

impl Drain<'_> {
    fn run(&self, db: &mut Db, newest_first: bool) -> Result<Drained> {
        let opts = self.opts;
        let mut done = Drained::default();
        let mut after_id = 0;
        loop {
            if watch::interrupted() {
                done.outcome = Outcome::Interrupted;
                return Ok(done);
            }
            if self.failed.load(Ordering::SeqCst) {
                return Ok(done);
            }
            if opts
                .max_runtime
                .is_some_and(|max| self.started.elapsed() >= max)
            {
                done.outcome = Outcome::MaxRuntime;
                return Ok(done);
            }
            let claim = self
                .budget
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    (left > 0).then(|| left - left.min(opts.batch_size))
                });
            let Ok(left) = claim else {
                done.outcome = Outcome::Limit;
                return Ok(done);
            };
            let n = left.min(opts.batch_size);
            let mut sink = |rows: &[DeletedRow]| match &self.archive {
                Some(archive) => archive
                    .lock()
                    .map_err(|_| anyhow::anyhow!("archive lock poisoned"))?
                    .append(rows),
                None => Ok(()),
            };
            let rows = db
                .delete_batch(
                    self.schema,
                    self.targets,
                    &opts.filter,
                    n,
                    newest_first,
                    after_id,
                    self.archive.is_some(),
                    &mut sink,
                )
                .with_context(|| {
                    let deleted: u64 = done.cells.values().sum();
                    format!(
                        "deleting batch {} (after {deleted} jobs deleted and committed in this pass)",
                        done.batches + 1
                    )
                })?;
            let got = rows.len() as u64;
            self.budget.fetch_add(n - got.min(n), Ordering::SeqCst);
            if got > 0 {
                done.batches += 1;
            }
            for row in rows {
                after_id = after_id.max(row.id);
                *done
                    .cells
                    .entry((row.state.to_string(), row.queue))
                    .or_default() += 1;
            }
            if let Some(bar) = self.progress {
                bar.inc(got);
            }
            // A short batch means nothing more is eligible from this end, apart from rows
            // that other sessions hold locked; those wait for the next pass.
            if got < n {
                return Ok(done);
            }
            if !opts.pause.is_zero() && !watch::sleep(opts.pause) {
                done.outcome = Outcome::Interrupted;
                return Ok(done);
            }
        }
    }
}

/// The `oban prune` command: resolve, connect, run one pass or a watch loop, print.
pub fn run(settings: &Settings, args: &PruneArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = PruneOpts::resolve(args, settings)?;
    let mut archive = match (&opts.archive, opts.dry_run) {
        (Some(path), false) => Some(Archive::open(path)?),
        _ => None,
    };
    let show_progress = !settings.quiet
        && !opts.dry_run
        && opts.limit > opts.batch_size
        && std::io::stderr().is_terminal();
    let job = watch::Maintenance {
        command: "prune",
        settings,
        limits: opts.limits,
        watching: args.watch.watch,
        interval: args.watch.interval.unwrap_or(settings.pruner.interval),
    };
    job.run(out, |db, schema, first| {
        if first && !settings.quiet {
            if let Some(hint) = missing_index_hint(schema, &opts) {
                eprintln!("{hint}");
            }
        }
        let bar = show_progress.then(|| progress_bar(opts.limit));
        let report = pass(db, schema, &opts, archive.as_mut(), bar.as_ref());
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let report = report?;
        let tally = watch::Tally {
            changed: report.total,
            interrupted: report.outcome == Outcome::Interrupted,
        };
        Ok((report, tally))
    })
}

fn progress_bar(limit: u64) -> ProgressBar {
    let bar = ProgressBar::new(limit);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} pruning {pos}/{len} jobs [{elapsed}] {per_sec}")
    {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ_by_command_and_prefix() {
        assert_ne!(lock_key("prune", "public"), lock_key("prune", "other"));
        assert_ne!(lock_key("prune", "public"), lock_key("rescue", "public"));
        assert_eq!(lock_key("prune", "public"), lock_key("prune", "public"));
    }
}
