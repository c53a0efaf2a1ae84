//! `--limit all`: an action on every job the filters match, at incident scale. The matches are
//! counted first (for the prompt and the progress bar), then walked in id order one batch at a
//! time: each batch is selected afresh with the filters, so a job that changed meanwhile is
//! no longer picked, and a run stopped half-way (Ctrl-C, a failure) is resumed by running the
//! same command again. `--pause` sleeps between batches to spare a busy database.

use anyhow::{anyhow, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::{split_states, ActionOpts, ActionReport, ChangedJob};
use crate::db::{Db, JobQuery, Schema};
use crate::model::SortKey;
use crate::output;
use crate::watch;

/// `--limit all`, as the limit holds it.
pub const ALL: u64 = u64::MAX;

fn bar(len: u64, verb: &str) -> ProgressBar {
    if !output::Terminal::get().stderr {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{verb} {{human_pos}}/{{human_len}} jobs {{wide_bar}} ETA {{eta}} ({{elapsed}})"
    )) {
        bar.set_style(style);
    }
    bar
}

/// Acts on every match in batches of `opts.batch_size`, after `confirm` (shown the count).
pub fn walk(
    db: &mut Db,
    schema: &Schema,
    opts: &ActionOpts,
    confirm: &mut dyn FnMut(&ActionReport) -> Result<bool>,
) -> Result<ActionReport> {
    let action = opts.action;
    let (eligible, _) = split_states(action, &opts.query.states);
    let query = JobQuery {
        states: eligible,
        sort: SortKey::Id,
        desc: false,
        limit: opts.batch_size,
        ..opts.query.clone()
    };
    let matching = if query.states.is_empty() {
        0
    } else {
        db.count_jobs(schema, &query)
            .context("counting the matching jobs")?
    };
    let first = if matching == 0 {
        vec![]
    } else {
        db.find_jobs(schema, &query)?
    };
    let mut report = ActionReport {
        command: action.name(),
        dry_run: opts.dry_run,
        jobs: first
            .iter()
            .map(|j| ChangedJob::planned(j, action))
            .collect(),
        skipped: vec![],
        total: matching,
        interrupted: false,
        limited: false,
        matched: Some(matching),
    };
    if opts.dry_run || matching == 0 {
        return Ok(report);
    }
    if !opts.yes && !confirm(&report)? {
        return Err(anyhow!("{}: not confirmed; nothing changed", action.name()));
    }
    report.jobs.clear();
    let states = action.eligible();
    let progress = bar(matching, action.name());
    let floor = query.find.id_min;
    let mut after: Option<i64> = None;
    for n in 1.. {
        if watch::interrupted() {
            report.interrupted = true;
            break;
        }
        let mut q = query.clone();
        q.find.id_min = match (after, floor) {
            (Some(a), Some(f)) => Some((a + 1).max(f)),
            (Some(a), None) => Some(a + 1),
            (None, f) => f,
        };
        let batch = db.find_jobs(schema, &q).context("finding the next batch")?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.id);
        let ids: Vec<i64> = batch.iter().map(|j| j.id).collect();
        let outcome = super::act(db, schema, action, &ids, &states).with_context(|| {
            format!(
                "{} batch {n} (after {} changed; run again to continue)",
                action.name(),
                output::plural(report.jobs.len() as u64, "job", "jobs")
            )
        })?;
        super::record(db, schema, action, &mut report, &ids, outcome)?;
        progress.inc(ids.len() as u64);
        if !opts.pause.is_zero() {
            watch::sleep(opts.pause);
        }
    }
    progress.finish_and_clear();
    report.total = report.jobs.len() as u64;
    Ok(report)
}
