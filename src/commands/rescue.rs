//! `oban rescue`: move jobs orphaned in `executing` back to `available` (or to `discarded`
//! when they have no attempts left), judged by age (the lifeline rule) or by producer
//! heartbeats (`--accurate`).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{OnExhausted, RescueArgs};
use crate::config::Settings;
use crate::db::{
    lock, Db, Flavour, JobFilter, Orphans, RescueRule, RescuedJob, Schema, SessionLimits,
};
use crate::defaults;
use crate::error::usage;
use crate::model::{DbTime, JobState};
use crate::output::{self, Report};
use crate::watch;

/// Long-running jobs listed at most, in accurate mode.
const LONG_RUNNING_SHOWN: u64 = 100;
/// Resolved options of a rescue pass.
#[derive(Debug, Clone)]
pub struct RescueOpts {
    /// Age after which an executing job is an orphan (timeout rule, and the fallback for jobs
    /// without a producer in accurate mode).
    pub rescue_after: Duration,
    /// Use producer heartbeats.
    pub accurate: bool,
    /// Heartbeat age after which a producer is gone.
    pub producer_ttl: Duration,
    /// What to do with exhausted orphans.
    pub on_exhausted: OnExhausted,
    /// Queue and worker filters.
    pub filter: JobFilter,
    /// Most jobs per pass.
    pub limit: u64,
    /// Most jobs per transaction.
    pub batch_size: u64,
    /// List only.
    pub dry_run: bool,
    /// Session timeouts.
    pub limits: SessionLimits,
}

impl RescueOpts {
    /// Resolves flags over configuration; errors are usage errors.
    pub fn resolve(args: &RescueArgs, settings: &Settings) -> Result<RescueOpts> {
        let (limit, batch_size) = args
            .batch
            .resolve(defaults::RESCUE_LIMIT, defaults::RESCUE_BATCH_SIZE);
        if args.producer_ttl.is_some() && !args.accurate {
            return Err(usage("--producer-ttl only applies with --accurate"));
        }
        Ok(RescueOpts {
            rescue_after: args.rescue_after.unwrap_or(settings.lifeline.rescue_after),
            accurate: args.accurate,
            producer_ttl: args.producer_ttl.unwrap_or(defaults::PRODUCER_TTL),
            on_exhausted: args.on_exhausted.unwrap_or(defaults::ON_EXHAUSTED),
            filter: super::job_filter(&args.scope)?,
            limit,
            batch_size,
            dry_run: args.dry_run,
            limits: crate::commands::session_limits(&args.session),
        })
    }
}

/// Why a pass stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// No orphan left (apart from rows others hold locked).
    Done,
    /// `--limit` jobs moved; more may remain.
    Limit,
    /// Ctrl-C.
    Interrupted,
    /// Another rescue holds the advisory lock; nothing done.
    Locked,
}

/// The result of one rescue pass.
#[derive(Debug, Clone, Serialize)]
pub struct RescueReport {
    /// Always "rescue".
    pub command: &'static str,
    /// Listed only.
    pub dry_run: bool,
    /// The schema.
    pub prefix: String,
    /// The table shape.
    pub flavour: Flavour,
    /// "timeout" or "accurate".
    pub mode: &'static str,
    /// Jobs moved to available.
    pub rescued: u64,
    /// Jobs moved to discarded.
    pub discarded: u64,
    /// The jobs moved (or that would be), with where each went as `to`.
    pub jobs: Vec<RescuedJob>,
    /// Accurate mode: executing jobs older than `rescue_after` whose producer is alive, left
    /// alone (at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_running: Option<Vec<RescuedJob>>,
    /// Seconds of `rescue_after`.
    pub rescue_after: u64,
    /// Seconds of `producer_ttl` (accurate mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_ttl: Option<u64>,
    /// Jobs attempted before this time (RFC 3339, database clock) count as old.
    pub cutoff: DbTime,
    /// Why the pass ended.
    pub outcome: Outcome,
    /// Seconds the pass took.
    pub elapsed: f64,
}

impl RescueReport {
    fn add(&mut self, jobs: Vec<RescuedJob>) {
        for job in jobs {
            if job.state == JobState::Discarded {
                self.discarded += 1;
            } else {
                self.rescued += 1;
            }
            self.jobs.push(job);
        }
    }

    fn total(&self) -> u64 {
        self.rescued + self.discarded
    }
}

fn job_rows(jobs: &[RescuedJob], limit: usize) -> comfy_table::Table {
    let mut t = output::table(&["id", "queue", "worker", "try", "ran for", "node", "to"]);
    for job in jobs.iter().take(limit) {
        t.add_row(vec![
            output::num(job.id as u64),
            output::clip(&job.queue, 12).into(),
            output::clip_left(&job.worker, 24).into(),
            format!("{}/{}", job.attempt, job.max_attempts).into(),
            job.executing
                .map(|s| crate::duration::human(Duration::from_secs(s.max(0.0) as u64)))
                .unwrap_or_default()
                .into(),
            output::clip(job.node.as_deref().unwrap_or_default(), 12).into(),
            job.state.name().into(),
        ]);
    }
    t
}

impl Report for RescueReport {
    fn to_table(&self) -> String {
        if self.outcome == Outcome::Locked {
            return format!(
                "rescue: another rescue is running on this database (schema {}); nothing done\n",
                self.prefix
            );
        }
        let dry = if self.dry_run { " (dry run)" } else { "" };
        let verb = if self.dry_run { "would move" } else { "moved" };
        let mut out = if self.total() == 0 {
            format!(
                "rescue{dry}: no orphaned jobs ({} mode, {})\n",
                self.mode,
                output::seconds(self.elapsed)
            )
        } else {
            format!(
                "rescue{dry}: {verb} {}: {} to available, {} to discarded ({} mode, {})\n{}\n",
                output::plural(self.total(), "job", "jobs"),
                self.rescued,
                self.discarded,
                self.mode,
                output::seconds(self.elapsed),
                job_rows(&self.jobs, output::TABLE_ROWS)
            )
        };
        if self.jobs.len() > output::TABLE_ROWS {
            out.push_str(&format!(
                "… and {} more (-o json lists them all)\n",
                self.jobs.len() - output::TABLE_ROWS
            ));
        }
        if let Some(long) = self.long_running.as_ref().filter(|l| !l.is_empty()) {
            out.push_str(&format!(
                "{} long-running jobs of live producers, executing longer than {}, left alone:\n{}\n",
                long.len(),
                crate::duration::human(Duration::from_secs(self.rescue_after)),
                job_rows(long, output::TABLE_ROWS)
            ));
        }
        match self.outcome {
            Outcome::Limit => out
                .push_str("stopped at --limit: more orphans may remain; the next pass continues\n"),
            Outcome::Interrupted => {
                out.push_str("interrupted: every committed batch is listed above\n")
            }
            _ => {}
        }
        out
    }

    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let outcome = serde_json::to_value(self.outcome).unwrap_or_default();
        let row = vec![
            self.rescued.to_string(),
            self.discarded.to_string(),
            outcome.as_str().unwrap_or_default().to_string(),
            self.dry_run.to_string(),
        ];
        (
            output::header("rescued,discarded,outcome,dry_run"),
            vec![row],
        )
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let columns = "id,queue,worker,attempt,max_attempts,executing,node,to,dry_run";
        output::csv(columns, &self.jobs, |j| {
            let mut row = vec![j.id.to_string()];
            row.extend(j.cells());
            row.extend([
                j.executing.map(|s| format!("{s:.3}")).unwrap_or_default(),
                j.node.clone().unwrap_or_default(),
                j.state.to_string(),
                self.dry_run.to_string(),
            ]);
            row
        })
    }
}

/// Fails with a usage error when accurate mode cannot work on this schema.
pub fn check_mode(schema: &Schema, opts: &RescueOpts) -> Result<()> {
    if !opts.accurate || schema.has_producers {
        return Ok(());
    }
    let what = match schema.flavour {
        Flavour::Lite => "SQLite (Oban Lite) keeps no producer heartbeats".to_string(),
        Flavour::Elixir => format!(
            "schema {} has no oban_producers table (Elixir Oban without Pro keeps no heartbeats)",
            schema.prefix
        ),
        Flavour::ObanPy => format!("schema {} has no oban_producers table", schema.prefix),
    };
    Err(usage(format!(
        "--accurate: {what}; use the timeout mode instead, e.g. `oban rescue --rescue-after 5m`"
    )))
}

/// Runs one pass on an open connection.
pub fn pass(db: &mut Db, schema: &Schema, opts: &RescueOpts) -> Result<RescueReport> {
    check_mode(schema, opts)?;
    let started = Instant::now();
    let cutoff = db.cutoff(opts.rescue_after)?;
    let rule = RescueRule {
        cutoff: cutoff.clone(),
        accurate: opts.accurate,
        producer_ttl: opts.producer_ttl.as_secs_f64(),
        retry_exhausted: opts.on_exhausted == OnExhausted::Retry,
    };
    let mut report = RescueReport {
        command: "rescue",
        dry_run: opts.dry_run,
        prefix: schema.prefix.clone(),
        flavour: schema.flavour,
        mode: if opts.accurate { "accurate" } else { "timeout" },
        rescued: 0,
        discarded: 0,
        jobs: Vec::new(),
        long_running: None,
        rescue_after: opts.rescue_after.as_secs(),
        producer_ttl: opts.accurate.then_some(opts.producer_ttl.as_secs()),
        cutoff: DbTime::from_db(&cutoff),
        outcome: Outcome::Done,
        elapsed: 0.0,
    };
    let orphans = Orphans {
        schema,
        rule: &rule,
        filter: &opts.filter,
    };
    if opts.accurate {
        report.long_running = Some(
            db.long_running(&orphans, LONG_RUNNING_SHOWN)
                .context("listing long-running jobs")?,
        );
    }
    if opts.dry_run {
        report.add(
            db.rescue_candidates(&orphans, opts.limit)
                .context("listing orphaned jobs")?,
        );
        if report.total() >= opts.limit {
            report.outcome = Outcome::Limit;
        }
        report.elapsed = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    let done = lock::exclusive(db, "rescue", &schema.prefix, |db| {
        rescue_all(db, schema, opts, &rule, &mut report)
    })?;
    if done.is_none() {
        report.outcome = Outcome::Locked;
    }
    report.elapsed = started.elapsed().as_secs_f64();
    Ok(report)
}

fn rescue_all(
    db: &mut Db,
    schema: &Schema,
    opts: &RescueOpts,
    rule: &RescueRule,
    report: &mut RescueReport,
) -> Result<()> {
    loop {
        if watch::interrupted() {
            report.outcome = Outcome::Interrupted;
            return Ok(());
        }
        let remaining = opts.limit - report.total();
        if remaining == 0 {
            report.outcome = Outcome::Limit;
            return Ok(());
        }
        let n = remaining.min(opts.batch_size);
        let moved = db
            .rescue_batch(
                &Orphans {
                    schema,
                    rule,
                    filter: &opts.filter,
                },
                n,
            )
            .with_context(|| format!("rescuing jobs (after {} moved)", report.total()))?;
        let short = (moved.len() as u64) < n;
        report.add(moved);
        if short {
            return Ok(());
        }
    }
}

/// The `oban rescue` command.
pub fn run(settings: &Settings, args: &RescueArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = RescueOpts::resolve(args, settings)?;
    if opts.accurate && settings.require_dsn()?.backend == crate::dsn::Backend::Sqlite {
        return Err(usage(
            "--accurate: SQLite (Oban Lite) keeps no producer heartbeats; use the timeout mode, e.g. `oban rescue --rescue-after 5m`",
        ));
    }
    let job = watch::Runner {
        command: "rescue",
        settings,
        limits: opts.limits,
        watching: args.watch.watch,
        interval: args.watch.interval.unwrap_or(settings.lifeline.interval),
        advice: "",
    };
    job.maintain(out, |db, schema, _first| {
        let report = pass(db, schema, &opts)?;
        let tally = watch::Tally {
            changed: report.total(),
            interrupted: report.outcome == Outcome::Interrupted,
            dry_run: report.dry_run,
        };
        Ok((report, tally))
    })
}
