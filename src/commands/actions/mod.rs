//! `oban retry`, `oban cancel` and `oban delete`: act on jobs given by id, or on every job the
//! `inspect` filters match (with `--all-matching`). The rules are oban-py's: retry makes any
//! job but an available or executing one available now; cancel moves a job that has not
//! finished and is not running to cancelled; delete removes any job that is not running.
//!
//! A run first plans (which jobs would change, which are skipped and why), asks for
//! confirmation when a person is at the terminal, then changes the planned jobs in bounded
//! transactions that skip rows another session holds locked.

pub mod kill;
mod report;
pub mod walk;

use std::io::{BufRead, Write};

use anyhow::{anyhow, Context, Result};

use crate::cli::ActionArgs;
use crate::config::Settings;
use crate::db::{ActedJob, Change, Db, Job, JobAction, JobQuery, JobRef, Schema, SessionLimits};
use crate::defaults;
use crate::dsn::Backend;
use crate::error::usage;
use crate::output;
use crate::watch;

pub use self::report::{ActionReport, ChangedJob, SkippedJob};

/// Resolved options of an action.
#[derive(Debug, Clone)]
pub struct ActionOpts {
    /// What to do.
    pub action: JobAction,
    /// The jobs named by id (empty when acting by filter).
    pub ids: Vec<i64>,
    /// The filters, when acting by filter.
    pub query: JobQuery,
    /// Acting by filter (`--all-matching`).
    pub by_filter: bool,
    /// Do not ask.
    pub yes: bool,
    /// Plan only.
    pub dry_run: bool,
    /// Most jobs changed.
    pub limit: u64,
    /// Most jobs per transaction.
    pub batch_size: u64,
    /// Sleep between batches (`--pause`).
    pub pause: std::time::Duration,
    /// Session timeouts.
    pub limits: SessionLimits,
}

impl ActionOpts {
    /// Resolves and checks the flags. `stdin_tty` says whether a person could answer a
    /// prompt: without one, acting by filter needs `--yes`. Every error is a usage error,
    /// raised before any SQL runs.
    pub fn resolve(
        action: JobAction,
        args: &ActionArgs,
        settings: &Settings,
        stdin_tty: bool,
    ) -> Result<ActionOpts> {
        let name = action.name();
        let filtered = super::has_filters(&args.filter);
        if !args.ids.is_empty() && (filtered || args.all_matching) {
            return Err(usage(format!(
                "{name}: give job ids or filters with --all-matching, not both"
            )));
        }
        if args.ids.is_empty() && !filtered {
            return Err(usage(if args.all_matching {
                format!("{name}: --all-matching needs at least one filter, e.g. `oban {name} --state discarded --all-matching`")
            } else {
                format!("{name}: no jobs given: pass job ids, or filters with --all-matching, e.g. `oban {name} --state discarded --all-matching`")
            }));
        }
        if filtered && !args.all_matching {
            return Err(usage(format!(
                "{name}: acting on every job the filters match needs --all-matching \
                 (so that a forgotten id never means every job); try --dry-run first"
            )));
        }
        if filtered && !stdin_tty && !args.yes && !args.dry_run {
            return Err(usage(format!(
                "{name}: stdin is not a terminal, so nobody can confirm: pass --yes to act on \
                 every job the filters match, or --dry-run to list them"
            )));
        }
        let mut query = super::job_query(&args.filter, settings)?;
        // `retry --state executing --all-matching` can only ever skip: say so before any SQL.
        // (A cancel signals running jobs on PostgreSQL: see `kill`.)
        let signals = action == JobAction::Cancel
            && settings
                .dsn
                .as_ref()
                .is_some_and(|d| d.backend == Backend::Postgres);
        let stays = |s: &String| action.check(s).is_err() && !(signals && s == "executing");
        if !query.states.is_empty() && query.states.iter().all(stays) {
            let why: Vec<String> = query
                .states
                .iter()
                .filter_map(|s| action.check(s).err())
                .collect();
            return Err(usage(format!(
                "{name}: no job in the states asked for can be changed ({})",
                why.join("; ")
            )));
        }
        let (limit, batch_size) = args
            .batch
            .resolve(defaults::ACTION_LIMIT, defaults::ACTION_BATCH_SIZE);
        query.limit = limit;
        let mut ids = args.ids.clone();
        ids.sort_unstable();
        ids.dedup();
        Ok(ActionOpts {
            action,
            ids,
            query,
            by_filter: filtered,
            yes: args.yes,
            dry_run: args.dry_run,
            limit,
            batch_size,
            pause: args.pause.unwrap_or_default(),
            limits: crate::commands::session_limits(&args.session),
        })
    }
}

impl ChangedJob {
    fn planned(job: &Job, action: JobAction) -> ChangedJob {
        let raise = action == JobAction::Retry && job.attempt >= job.max_attempts;
        ChangedJob {
            job: JobRef {
                id: job.id,
                queue: job.queue.clone(),
                worker: job.worker.clone(),
                attempt: job.attempt,
                max_attempts: if raise {
                    job.attempt + 1
                } else {
                    job.max_attempts
                },
            },
            state: job.state.to_string(),
            to: action.to(),
        }
    }

    fn acted(acted: ActedJob, action: JobAction) -> ChangedJob {
        ChangedJob {
            job: acted.job,
            state: acted.state.to_string(),
            to: action.to(),
        }
    }
}

/// Why a job was not changed. `signals`: a cancel reaches running jobs here (PostgreSQL), so a
/// job found executing after the plan started running during this cancel.
fn skipped(
    action: JobAction,
    id: i64,
    state: Option<&str>,
    locked_if_eligible: bool,
    signals: bool,
) -> SkippedJob {
    let reason = match state {
        None => "not found".to_string(),
        Some("executing") if signals && action == JobAction::Cancel => {
            format!("started running during this cancel: run `oban cancel {id}` to stop it")
        }
        Some(s) => match action.check(s) {
            Err(why) => why,
            Ok(()) if locked_if_eligible => "locked by another session; try again".to_string(),
            Ok(()) => "not changed".to_string(),
        },
    };
    SkippedJob {
        id,
        state: state.map(String::from),
        reason,
    }
}

/// Splits `wanted` (or every state, when empty) into the states the action may change and the
/// rest.
fn split_states(action: JobAction, wanted: &[String]) -> (Vec<String>, Vec<String>) {
    let all: Vec<String> = if wanted.is_empty() {
        crate::model::JobState::ALL
            .map(crate::model::JobState::name)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        wanted.to_vec()
    };
    all.into_iter().partition(|s| action.check(s).is_ok())
}

/// Works out what an action would do: the jobs it would change, and those it would skip.
pub fn plan(db: &mut Db, schema: &Schema, opts: &ActionOpts) -> Result<ActionReport> {
    let action = opts.action;
    let mut query = opts.query.clone();
    if !opts.ids.is_empty() {
        query = JobQuery {
            ids: opts.ids.clone(),
            limit: opts.ids.len() as u64,
            ..JobQuery::default()
        };
    }
    let (eligible, other) = split_states(action, &query.states);
    let mut select = |states: Vec<String>| -> Result<Vec<Job>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let q = JobQuery {
            states,
            ..query.clone()
        };
        db.find_jobs(schema, &q)
    };
    let changing = select(eligible).context("finding the jobs to change")?;
    let staying = select(other).context("finding the jobs to skip")?;
    let limited = opts.by_filter && changing.len() as u64 >= opts.limit;
    // Past --limit, say how many match in all (eligible or not).
    let matched = match limited {
        true => Some(
            db.count_jobs(schema, &query)
                .context("counting the matching jobs")?,
        ),
        false => None,
    };
    let mut report = ActionReport {
        command: action.name(),
        dry_run: opts.dry_run,
        limited,
        matched,
        jobs: changing
            .iter()
            .map(|j| ChangedJob::planned(j, action))
            .collect(),
        skipped: staying
            .iter()
            .map(|j| skipped(action, j.id, Some(j.state.name()), false, false))
            .collect(),
        total: 0,
        interrupted: false,
    };
    for id in &opts.ids {
        if !changing.iter().chain(&staying).any(|j| j.id == *id) {
            report
                .skipped
                .push(skipped(action, *id, None, false, false));
        }
    }
    report.skipped.sort_by_key(|s| s.id);
    report.total = report.jobs.len() as u64;
    Ok(report)
}

/// Why a job that moved under every attempt was skipped.
const MOVED: &str = "moved to another partition by a concurrent update; try again";

/// Changes one batch, returning the jobs changed and those skipped because they kept moving.
/// When a job moved to another partition under the statement (SQLSTATE 40001) even after the
/// engine ran it again, each job is tried on its own and one that still fails is skipped with
/// its reason, never failing the batch.
fn act(
    db: &mut Db,
    schema: &Schema,
    action: JobAction,
    ids: &[i64],
    eligible: &[&str],
) -> Result<(Vec<crate::db::ActedJob>, Vec<i64>)> {
    let change = |ids| Change {
        action,
        ids,
        eligible,
    };
    match db.act_batch(schema, &change(ids)) {
        Err(e) if crate::db::partitions::moved(&e) => {}
        other => return other.map(|done| (done, Vec::new())),
    }
    let (mut done, mut moved) = (Vec::new(), Vec::new());
    for id in ids {
        match db.act_batch(schema, &change(std::slice::from_ref(id))) {
            Ok(rows) => done.extend(rows),
            Err(e) if crate::db::partitions::moved(&e) => moved.push(*id),
            Err(e) => return Err(e),
        }
    }
    Ok((done, moved))
}

/// Adds one batch's outcome to the report: the jobs changed, and every other id of the batch
/// as skipped, with the reason its state now gives (or that it kept moving between partitions).
fn record(
    db: &mut Db,
    schema: &Schema,
    action: JobAction,
    report: &mut ActionReport,
    ids: &[i64],
    (changed, moved): (Vec<ActedJob>, Vec<i64>),
) -> Result<()> {
    let left: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !changed.iter().any(|c| c.id == *id))
        .collect();
    report
        .jobs
        .extend(changed.into_iter().map(|j| ChangedJob::acted(j, action)));
    if left.is_empty() {
        return Ok(());
    }
    let states = db.job_states(schema, &left).context("reading job states")?;
    let signals = db.postgres().is_some();
    for id in left {
        let state = states.iter().find(|s| s.id == id).map(|s| s.state.name());
        let mut skip = skipped(action, id, state, true, signals);
        if moved.contains(&id) {
            skip.reason = MOVED.to_string();
        }
        report.skipped.push(skip);
    }
    Ok(())
}

/// Plans, asks `confirm` (given the plan) when more than one job would change, then changes
/// the planned jobs in transactions of at most `batch_size`. A job that changed state since
/// the plan, or that another session holds locked, is skipped with the reason.
pub fn pass(
    db: &mut Db,
    schema: &Schema,
    opts: &ActionOpts,
    confirm: &mut dyn FnMut(&ActionReport) -> Result<bool>,
) -> Result<ActionReport> {
    if opts.action == JobAction::Cancel && !schema.has_state(crate::model::JobState::Cancelled) {
        // Elixir Oban's tables before migration v9: the state enum has no `cancelled`.
        return Err(usage(format!(
            "cancel: {}.oban_jobs cannot hold a cancelled job (its state enum has no \
             'cancelled': an Elixir Oban schema before migration v9); upgrade the schema, or \
             use `oban delete`",
            schema.prefix
        )));
    }
    if opts.by_filter && opts.limit == walk::ALL {
        return walk::walk(db, schema, opts, confirm);
    }
    let mut report = plan(db, schema, opts)?;
    if opts.dry_run || report.jobs.is_empty() {
        return Ok(report);
    }
    if report.jobs.len() > 1 && !opts.yes && !confirm(&report)? {
        return Err(anyhow!(
            "{}: not confirmed; nothing changed",
            opts.action.name()
        ));
    }
    let planned: Vec<i64> = report.jobs.iter().map(|j| j.id).collect();
    let eligible = opts.action.eligible();
    report.jobs.clear();
    for (n, chunk) in planned.chunks(opts.batch_size as usize).enumerate() {
        if watch::interrupted() {
            report.interrupted = true;
            break;
        }
        let outcome = act(db, schema, opts.action, chunk, &eligible).with_context(|| {
            format!(
                "{} batch {} (after {} changed)",
                opts.action.name(),
                n + 1,
                output::plural(report.jobs.len() as u64, "job", "jobs")
            )
        })?;
        record(db, schema, opts.action, &mut report, chunk, outcome)?;
    }
    report.jobs.sort_by_key(|j| j.id);
    report.skipped.sort_by_key(|s| s.id);
    report.total = report.jobs.len() as u64;
    Ok(report)
}

/// Asks on stderr and reads the answer from stdin: only "y" or "yes" go ahead.
fn ask(report: &ActionReport) -> Result<bool> {
    let mut err = std::io::stderr();
    write!(
        err,
        "{}{} {}? [y/N] ",
        report.jobs_table(),
        report.command,
        output::plural(report.total, "job", "jobs")
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// The `oban retry`, `oban cancel` and `oban delete` commands.
pub fn run(
    action: JobAction,
    settings: &Settings,
    args: &ActionArgs,
    out: &mut dyn Write,
) -> Result<i32> {
    let stdin_tty = output::Terminal::get().stdin;
    let opts = ActionOpts::resolve(action, args, settings, stdin_tty)?;
    // Without a terminal there is nobody to ask; ids name their jobs, and acting by filter
    // already required --yes.
    let mut confirm = |r: &ActionReport| if stdin_tty { ask(r) } else { Ok(true) };
    let mut interrupted = false;
    let runner = watch::Runner::once(action.name(), settings, opts.limits);
    runner.run(
        |db, schema, _first| {
            let report = pass(db, schema, &opts, &mut confirm)?;
            interrupted = report.interrupted;
            output::write_report(out, settings.style(false), &report)
        },
        |e| e,
    )?;
    Ok(if interrupted {
        crate::error::exit::INTERRUPTED
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_that_started_running_during_a_cancel_says_so_where_cancel_reaches_it() {
        let pg = skipped(JobAction::Cancel, 7, Some("executing"), true, true);
        assert_eq!(
            pg.reason,
            "started running during this cancel: run `oban cancel 7` to stop it"
        );
        // Where nothing can reach a running job (Oban Lite), the old reason stands.
        let lite = skipped(JobAction::Cancel, 7, Some("executing"), true, false);
        assert_eq!(
            lite.reason,
            "executing: cannot be cancelled from outside while it runs"
        );
        let retry = skipped(JobAction::Retry, 7, Some("executing"), true, true);
        assert!(retry.reason.starts_with("executing: cannot be retried"));
    }
}
