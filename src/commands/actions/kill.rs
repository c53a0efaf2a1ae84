//! `oban cancel` of running jobs. A job in `executing` is marked as the flavour's own cancel
//! marks it, and the node running it is told to stop it with the notifier's `pkill` signal:
//! - oban-py leaves the row alone (its worker records the cancel when the job returns, and
//!   would find nothing to update had the row been changed under it);
//! - Elixir Oban marks the row `cancelled` first, then kills the job's process.
//!
//! oban-py's cancellation is cooperative: a job stops when it checks `job.cancelled()`. With
//! `--wait` the command watches the rows until each job has left `executing`. Oban Lite has no
//! notifier, so there the refusal stands.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{ActionOpts, ActionReport, ChangedJob};
use crate::cli::CancelArgs;
use crate::config::Settings;
use crate::db::pg::signal;
use crate::db::{Db, JobAction, JobQuery, Schema};
use crate::error::exit;
use crate::model::{Flavour, JobState};
use crate::output;
use crate::watch;

/// What became of the running jobs a cancel signalled.
#[derive(Debug, Default)]
pub struct Stopped {
    /// Jobs signalled.
    pub signalled: usize,
    /// Of those, still executing when the wait ended (or, without a wait, not yet known).
    pub running: usize,
}

/// Signals `targets` (the running jobs the command named, found before the action ran) to stop,
/// marking them first on Elixir; moves them from `report.skipped` to `report.jobs`, and with
/// `wait` watches them leave `executing`. A job that only started running while the action ran
/// is not among the targets: it was not asked for, and is left alone.
pub fn stop_running(
    db: &mut Db,
    schema: &Schema,
    report: &mut ActionReport,
    targets: &[i64],
    wait: Option<Duration>,
) -> Result<Stopped> {
    if schema.flavour == Flavour::Lite || targets.is_empty() {
        return Ok(Stopped::default());
    }
    report
        .skipped
        .retain(|s| !(targets.contains(&s.id) && s.state.as_deref() == Some("executing")));
    let ids = targets.to_vec();
    let jobs = db.find_jobs(
        schema,
        &JobQuery {
            ids: ids.clone(),
            limit: ids.len() as u64,
            ..JobQuery::default()
        },
    )?;
    let planned = |to: &'static str| -> Vec<ChangedJob> {
        jobs.iter()
            .filter(|j| j.state == JobState::Executing)
            .map(|j| ChangedJob {
                job: crate::db::JobRef {
                    id: j.id,
                    queue: j.queue.clone(),
                    worker: j.worker.clone(),
                    attempt: j.attempt,
                    max_attempts: j.max_attempts,
                },
                state: "executing".into(),
                to,
            })
            .collect()
    };
    if report.dry_run {
        report.jobs.extend(planned("cancelled"));
        report.total = report.jobs.len() as u64;
        return Ok(Stopped::default());
    }
    let mut changed = planned("stop requested");
    let ids: Vec<i64> = changed.iter().map(|c| c.id).collect();
    let conn = db.postgres().context("signalling needs PostgreSQL")?;
    if schema.flavour == Flavour::Elixir {
        signal::mark_cancelled(conn, schema, &ids)?;
    }
    let payloads: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"action": "pkill", "job_id": id}))
        .collect();
    signal::notify(conn, &schema.prefix, &payloads)?;
    let mut stopped = Stopped {
        signalled: ids.len(),
        running: ids.len(),
    };
    if let Some(wait) = wait {
        let start = Instant::now();
        loop {
            let states = db.job_states(schema, &ids).context("reading job states")?;
            for c in &mut changed {
                c.to = match states.iter().find(|s| s.id == c.id) {
                    Some(s) if s.state == JobState::Executing => "still executing",
                    Some(s) => s.state.name(),
                    None => "deleted",
                };
            }
            stopped.running = changed.iter().filter(|c| c.to == "still executing").count();
            if stopped.running == 0 || start.elapsed() >= wait || watch::interrupted() {
                break;
            }
            watch::sleep(Duration::from_millis(100));
        }
    }
    report.jobs.extend(changed);
    report.jobs.sort_by_key(|j| j.id);
    report.total = report.jobs.len() as u64;
    Ok(stopped)
}

/// The running jobs a cancel is asked for: those among the ids given, or those the filters
/// match (when they allow `executing`), read before anything changes. A node runs at most its
/// queues' limits at once, so there are few.
fn running_targets(db: &mut Db, schema: &Schema, opts: &ActionOpts) -> Result<Vec<i64>> {
    let wanted = &opts.query.states;
    let query = if !opts.ids.is_empty() {
        JobQuery {
            ids: opts.ids.clone(),
            limit: opts.ids.len() as u64,
            ..JobQuery::default()
        }
    } else if wanted.is_empty() || wanted.iter().any(|s| s == "executing") {
        JobQuery {
            limit: opts.limit.min(RUNNING_MAX),
            ..opts.query.clone()
        }
    } else {
        return Ok(vec![]);
    };
    if schema.flavour == Flavour::Lite {
        return Ok(vec![]);
    }
    let query = JobQuery {
        states: vec!["executing".into()],
        ..query
    };
    Ok(db.find_jobs(schema, &query)?.iter().map(|j| j.id).collect())
}

/// The most running jobs one `cancel --limit all` signals.
const RUNNING_MAX: u64 = 10_000;

/// The `oban cancel` command: the actions' cancel, then running jobs signalled to stop. Exits
/// 1 when `--wait` ran out with a job still executing.
pub fn run(settings: &Settings, args: &CancelArgs, out: &mut dyn Write) -> Result<i32> {
    let stdin_tty = output::Terminal::get().stdin;
    let opts = ActionOpts::resolve(JobAction::Cancel, &args.action, settings, stdin_tty)?;
    let mut confirm = |r: &ActionReport| if stdin_tty { super::ask(r) } else { Ok(true) };
    let (mut interrupted, mut stopped) = (false, Stopped::default());
    let runner = watch::Runner::once("cancel", settings, opts.limits);
    runner.run(
        |db, schema, _first| {
            let targets = running_targets(db, schema, &opts)?;
            let mut report = super::pass(db, schema, &opts, &mut confirm)?;
            interrupted = report.interrupted;
            if !interrupted {
                stopped = stop_running(db, schema, &mut report, &targets, args.wait)?;
            }
            output::write_report(out, settings.style(false), &report)
        },
        |e| e,
    )?;
    if stopped.signalled > 0 && !settings.quiet {
        match args.wait {
            None => eprintln!(
                "oban: cancel: {} asked to stop; oban-py stops a job when it next checks \
                 job.cancelled(); --wait 30s confirms it left executing",
                output::plural(stopped.signalled as u64, "running job", "running jobs")
            ),
            Some(wait) if stopped.running > 0 => eprintln!(
                "oban: cancel: {} still executing after {}: oban-py's cancellation is \
                 cooperative, and a job that never checks job.cancelled() runs on",
                output::plural(stopped.running as u64, "job", "jobs"),
                crate::duration::human(wait)
            ),
            Some(_) => {}
        }
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if args.wait.is_some() && stopped.running > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}
