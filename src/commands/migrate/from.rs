//! `oban migrate --partitioned --from SCHEMA`: moves an ordinary oban-py `oban_jobs` into the
//! partitioned layout while its workers run — the new table and its leaves, the trigger that
//! records changes, the final-state rows in id-ordered batches, the recorded changes again,
//! then the short switch (`db/pg/move_jobs.rs`, `db/pg/move_switch.rs`). Holding the advisory
//! lock of `migrate-from` on the source schema; a second run reports it and exits 0.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::cli::MigrateArgs;
use crate::config::{validate_prefix, Settings};
use crate::db::pg::move_jobs::{self as mv, Move, UNPARTITIONED};
use crate::db::pg::move_switch::switch;
use crate::db::pg::Pg;
use crate::db::{lock, Db};
use crate::defaults;
use crate::model::Flavour;
use crate::output::{self, Report};

/// What a run found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MoveReport {
    /// Always "migrate".
    pub command: &'static str,
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// The schema the partitioned `oban_jobs` is (or goes) in.
    pub prefix: String,
    /// The schema of the ordinary table.
    pub from: String,
    /// Always true.
    pub partitioned: bool,
    /// The old table's name after the switch.
    pub renamed_to: String,
    /// Another run holds the lock: nothing done.
    pub busy: bool,
    /// The move had already finished: nothing done.
    pub already_done: bool,
    /// An earlier run's progress was found and taken up.
    pub resumed: bool,
    /// Rows of the old table by state (dry run only: a full count).
    pub rows: BTreeMap<String, i64>,
    /// Leaves created (or, in a dry run, that would be).
    pub leaves: Vec<String>,
    /// Copy batches run, final-state rows copied by them.
    pub batches: u64,
    /// Rows the batches copied.
    pub copied: u64,
    /// Ids recorded by the trigger and copied again before the switch.
    pub recopied: u64,
    /// Final-state rows are copied up to this id.
    pub copied_to: i64,
    /// Open jobs (copied after every final-state row) are copied up to this id.
    pub open_to: i64,
    /// The old table's largest id when the trigger went in.
    pub high: i64,
    /// Whether the switch ran: `oban_jobs` is now the partitioned table.
    pub switched: bool,
    /// Rows the switch inserted (the current version of each id the log still named).
    pub switch_rows: u64,
    /// Milliseconds the switch held the old table's lock.
    pub switch_lock_ms: Option<f64>,
    /// Why the run stopped before the switch, when it did.
    pub stopped: Option<String>,
    /// Ctrl-C stopped the run between two steps.
    pub interrupted: bool,
}

impl Report for MoveReport {
    fn to_table(&self) -> String {
        let (from, to) = (&self.from, &self.prefix);
        if self.busy {
            return format!("migrate: another `migrate --from {from}` is running; nothing done\n");
        }
        if self.already_done {
            return format!(
                "migrate: {to}.oban_jobs is already partitioned and the old table is \
                 {from}.{UNPARTITIONED}; nothing to do\n"
            );
        }
        let verb = if self.dry_run { "would move" } else { "moving" };
        let mut out = format!(
            "migrate: {verb} {from}.oban_jobs into a partitioned {to}.oban_jobs, keeping the \
             old table as {from}.{UNPARTITIONED}\n"
        );
        if self.dry_run {
            for (state, n) in &self.rows {
                out.push_str(&format!("  {state}: {}\n", *n as u64));
            }
        }
        let verb = if self.dry_run {
            "would create"
        } else {
            "created"
        };
        if !self.leaves.is_empty() {
            let (first, last) = (&self.leaves[0], &self.leaves[self.leaves.len() - 1]);
            let span = if first == last {
                first.clone()
            } else {
                format!("{first} … {last}")
            };
            out.push_str(&format!(
                "  {verb} {} ({span})\n",
                output::plural(self.leaves.len() as u64, "leaf", "leaves"),
            ));
        }
        if self.resumed && self.dry_run {
            out.push_str(&format!(
                "  an earlier run stopped with final-state rows copied up to id {}, open jobs \
                 up to id {}, of {}; a run resumes there\n",
                self.copied_to, self.open_to, self.high
            ));
        } else if self.resumed {
            out.push_str("  resumed an earlier run's progress\n");
        }
        if !self.dry_run {
            out.push_str(&format!(
                "  copied {} rows in {}; {} changed rows copied again\n",
                self.copied,
                output::plural(self.batches, "batch", "batches"),
                self.recopied
            ));
        }
        if self.switched {
            out.push_str(&format!(
                "migrate: {to}.oban_jobs is partitioned; {} recorded changes copied under a \
                 {:.0} ms lock; the old table is {from}.{UNPARTITIONED} (drop it when \
                 satisfied)\n",
                self.switch_rows,
                self.switch_lock_ms.unwrap_or(0.0)
            ));
        } else if let Some(why) = &self.stopped {
            out.push_str(&format!(
                "migrate: stopped before the switch ({why}); final-state rows copied up to id \
                 {}, open jobs up to id {}, of {}; run the same command again to resume\n",
                self.copied_to, self.open_to, self.high
            ));
        }
        out
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("state,rows,dry_run", &self.rows, |(s, n)| {
            vec![s.clone(), n.to_string(), self.dry_run.to_string()]
        })
    }
}

/// Full catch-up rounds before the switch is tried anyway.
const CATCH_UP_ROUNDS: u32 = 100;

/// The options of one run.
struct Opts {
    mv: Move,
    dry_run: bool,
    batch_size: u64,
    max_batches: Option<u64>,
    max_switch_rows: u64,
}

/// The `oban migrate --partitioned --from` command.
pub fn run(settings: &Settings, args: &MigrateArgs, out: &mut dyn Write) -> Result<i32> {
    let from = validate_prefix(args.from.as_deref().unwrap_or_default(), "--from")?;
    if from.to_ascii_lowercase().starts_with("pg_") || from == "information_schema" {
        return Err(crate::error::usage(format!(
            "--from {from}: a PostgreSQL system schema holds no Oban tables"
        )));
    }
    if settings.require_dsn()?.backend == crate::dsn::Backend::Sqlite {
        return Err(crate::error::usage(
            "--from: partitioned tables are PostgreSQL's; SQLite has none",
        ));
    }
    let opts = Opts {
        mv: Move {
            from,
            to: settings.prefix.clone(),
        },
        dry_run: args.dry_run,
        batch_size: args.batch_size.unwrap_or(defaults::MOVE_BATCH_SIZE),
        max_batches: args.max_batches,
        max_switch_rows: args
            .max_switch_rows
            .unwrap_or(defaults::MOVE_MAX_SWITCH_ROWS),
    };
    crate::watch::install_handler();
    let mut db = super::connect(settings, true, &args.session)?;
    let mut report = MoveReport {
        command: "migrate",
        dry_run: opts.dry_run,
        prefix: opts.mv.to.clone(),
        from: opts.mv.from.clone(),
        partitioned: true,
        renamed_to: UNPARTITIONED.to_string(),
        ..MoveReport::default()
    };
    let done = lock::exclusive(&mut db, "migrate-from", &opts.mv.from, |db| {
        pass(db, &opts, &mut report)
    })?;
    report.busy = done.is_none();
    output::write_report(out, settings.style(false), &report)?;
    Ok(if report.interrupted {
        crate::error::exit::INTERRUPTED
    } else {
        0
    })
}

/// Checks the source and the target, then runs every step that is still to do.
fn pass(db: &mut Db, opts: &Opts, report: &mut MoveReport) -> Result<()> {
    let m = &opts.mv;
    let source = db.postgres().map(|c| mv::relkind(c, &m.from, "oban_jobs"));
    let source = source.ok_or_else(|| anyhow!("--from needs PostgreSQL"))??;
    let pg = db
        .postgres()
        .ok_or_else(|| anyhow!("--from needs PostgreSQL"))?;
    let kept = mv::relkind(pg, &m.from, UNPARTITIONED)?;
    let target = mv::relkind(pg, &m.to, "oban_jobs")?;
    if kept.is_some() && target.as_deref() == Some("p") && (source.is_none() || m.from == m.to) {
        report.already_done = true;
        return Ok(());
    }
    match source.as_deref() {
        None => bail!("--from {}: no oban_jobs table in schema {}", m.from, m.from),
        Some("p") => bail!(
            "--from {}: {}.oban_jobs is already partitioned; there is nothing to move",
            m.from,
            m.from
        ),
        _ => {}
    }
    check_shape(db, &m.from)?;
    let pg = db
        .postgres()
        .ok_or_else(|| anyhow!("--from needs PostgreSQL"))?;
    if let (n @ 1.., Some(id)) = mv::untimed(pg, m)? {
        bail!(
            "--from {}: {n} finished jobs have no timestamp for their state (the first: id \
             {id}), so no day's leaf can hold them; set it (e.g. completed_at = \
             coalesce(attempted_at, scheduled_at)) or delete them, then run again; nothing \
             more was done",
            m.from
        );
    }
    if kept.is_some() {
        bail!(
            "--from {}: {}.{UNPARTITIONED} exists (an earlier move's old table?); drop or \
             rename it first",
            m.from,
            m.from
        );
    }
    if m.from != m.to && target.is_some() {
        bail!(
            "--prefix {}: schema {} already has an oban_jobs; the partitioned table goes into \
             a schema without one",
            m.to,
            m.to
        );
    }
    let days = mv::days(
        pg,
        m,
        defaults::PARTITIONS_PREMAKE.as_secs().div_ceil(86_400),
    )?;
    let at = mv::progress(pg, m)?;
    report.resumed = at.is_some();
    if let Some(at) = at {
        (report.copied_to, report.open_to, report.high) = (at.copied_to, at.open_to, at.high);
    }
    if opts.dry_run {
        report.rows = mv::rows_by_state(pg, m)?
            .into_iter()
            .map(|r| (r.state, r.n))
            .collect();
        report.leaves = mv::missing_leaves(pg, m, &days)?
            .iter()
            .map(mv::Day::leaf)
            .collect();
        return Ok(());
    }
    copy(pg, opts, &days, report)
}

/// Refuses anything but oban-py's columns: an Elixir table's `errors jsonb[]` and nullable
/// columns do not fit the new table, and a column it lacks would be lost.
fn check_shape(db: &mut Db, from: &str) -> Result<()> {
    let schema = db.schema(from)?;
    if schema.flavour != Flavour::ObanPy {
        bail!(
            "--from {from}: {from}.oban_jobs is {}'s shape; only an oban-py table (errors jsonb, \
             smallint counters) can be moved into the partitioned layout",
            schema.flavour.label()
        );
    }
    let columns = mv::columns();
    let extra: Vec<&String> = schema
        .columns
        .iter()
        .filter(|c| !columns.contains(&c.as_str()))
        .collect();
    let missing: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| !schema.columns.iter().any(|have| have == c))
        .collect();
    if !extra.is_empty() || !missing.is_empty() {
        bail!(
            "--from {from}: {from}.oban_jobs does not have oban-py's columns (extra: {extra:?}, \
             missing: {missing:?}); nothing was moved"
        );
    }
    Ok(())
}

/// The writing steps, each skipped when an earlier run did it.
fn copy(pg: &mut Pg, opts: &Opts, days: &[mv::Day], report: &mut MoveReport) -> Result<()> {
    let m = &opts.mv;
    // The leaves reported are those this run adds, today's made with the table included.
    let planned = mv::missing_leaves(pg, m, days)?;
    mv::create_table(pg, m)?;
    mv::make_leaves(pg, m, days)?;
    report.leaves = planned.iter().map(mv::Day::leaf).collect();
    let mut at = match mv::progress(pg, m)? {
        Some(at) => at,
        None => mv::install_trigger(pg, m)?,
    };
    let mut spent = 0;
    let stop = |spent: u64, report: &mut MoveReport| {
        if crate::watch::interrupted() {
            report.interrupted = true;
            report.stopped = Some("interrupted".into());
            return true;
        }
        if opts.max_batches.is_some_and(|max| spent >= max) {
            report.stopped = Some(format!("--max-batches {spent}"));
            return true;
        }
        false
    };
    while !at.done() {
        if stop(spent, report) {
            (report.copied_to, report.open_to, report.high) = (at.copied_to, at.open_to, at.high);
            return Ok(());
        }
        let Some((rows, next)) = mv::copy_batch(pg, m, opts.batch_size)? else {
            break;
        };
        (spent, at) = (spent + 1, next);
        report.batches += 1;
        report.copied += rows;
    }
    (report.copied_to, report.open_to, report.high) = (at.copied_to, at.open_to, at.high);
    mv::analyze(pg, m)?;
    // Copy the recorded changes again until a round finds fewer than a batch: what is left
    // for the switch is what arrived during the last round. Workers that change rows faster
    // than the rounds copy them would keep this going: after CATCH_UP_ROUNDS full rounds the
    // switch is tried anyway, and refuses when the log holds more than --max-switch-rows.
    for _ in 0..CATCH_UP_ROUNDS {
        if stop(spent, report) {
            return Ok(());
        }
        let taken = mv::catch_up(pg, m, opts.batch_size)?;
        spent += 1;
        report.recopied += taken;
        if taken < opts.batch_size {
            break;
        }
    }
    crate::db::pg::move_switch::verify(pg, m)?;
    switch_with_retries(pg, opts, report)
}

/// The switch, tried again twice when its lock was not granted within `lock_timeout`.
fn switch_with_retries(pg: &mut Pg, opts: &Opts, report: &mut MoveReport) -> Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match switch(pg, &opts.mv, opts.max_switch_rows) {
            Ok(done) => {
                report.switched = true;
                report.recopied += done.logged;
                report.switch_rows = done.copied;
                report.switch_lock_ms = Some(done.lock_ms);
                return Ok(());
            }
            Err(e)
                if attempt < 3
                    && crate::db::errors::timeout(&e) == Some(crate::db::errors::Timeout::Lock) =>
            {
                if !crate::watch::sleep(std::time::Duration::from_millis(500 * attempt)) {
                    report.interrupted = true;
                    report.stopped = Some("interrupted".into());
                    return Ok(());
                }
                // Changes recorded while it waited are copied before the next try.
                report.recopied += mv::catch_up(&mut *pg, &opts.mv, opts.batch_size)?;
            }
            Err(e) => {
                return Err(e.context(
                    "the switch failed and was rolled back: the old table is untouched and \
                     the same command resumes",
                ))
            }
        }
    }
}
