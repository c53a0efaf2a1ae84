//! One module per subcommand: each resolves its options, talks to the database through `db`,
//! and returns a report that `output` renders.

pub mod actions;
pub mod counts;
pub mod demo;
pub mod doctor;
pub mod group;
pub mod inspect;
pub mod migrate;
pub mod partitions;
pub mod pause;
pub mod prune;
pub mod queues;
pub mod reindex;
pub mod rescue;
pub mod seed;
pub mod stats;
pub mod vacuum;

use crate::cli::{JobFilterArgs, QueueWorkerArgs};
use crate::config::Settings;
use crate::db::{JobFilter, JobQuery};
use crate::error::usage;
pub use crate::watch::session_limits;

/// Whether any filter flag was given (ids aside).
pub fn has_filters(f: &JobFilterArgs) -> bool {
    !f.state.is_empty()
        || !f.scope.queue.is_empty()
        || !f.scope.worker.is_empty()
        || !f.tag.is_empty()
        || f.args.is_some()
        || !f.node.is_empty()
        || f.older_than.is_some()
        || f.newer_than.is_some()
        || f.by.is_some()
        || f.stuck
        || f.error.is_some()
        || f.meta.is_some()
        || !f.priority.is_empty()
        || f.id_range.is_some()
}

/// Checks the filter flags of `inspect` and the job actions and builds the query (without
/// ids, sort or limit). Every mistake is a usage error, found before any SQL runs.
pub fn job_query(f: &JobFilterArgs, settings: &Settings) -> anyhow::Result<JobQuery> {
    require_names(&[
        ("--queue", &f.scope.queue),
        ("--worker", &f.scope.worker),
        ("--tag", &f.tag),
        ("--node", &f.node),
    ])?;
    let args = json_object("--args", "args", f.args.as_deref())?;
    if f.by.is_some() && f.older_than.is_none() && f.newer_than.is_none() {
        return Err(usage(
            "--by: only applies with --older-than or --newer-than",
        ));
    }
    let mut states: Vec<&'static str> = f.state.iter().map(|s| s.name()).collect();
    states.sort_unstable();
    states.dedup();
    Ok(JobQuery {
        states: states.into_iter().map(String::from).collect(),
        queues: f.scope.queue.clone(),
        workers: f.scope.worker.clone(),
        tags: f.tag.clone(),
        args,
        nodes: f.node.clone(),
        older_than: f.older_than.map(|d| d.as_secs_f64()),
        newer_than: f.newer_than.map(|d| d.as_secs_f64()),
        basis: f.by,
        stuck_after: f
            .stuck
            .then_some(settings.lifeline.rescue_after.as_secs_f64()),
        find: find_filters(f)?,
        ..JobQuery::default()
    })
}

/// `--error`, `--meta`, `--priority` and `--id-range`, checked.
fn find_filters(f: &JobFilterArgs) -> anyhow::Result<crate::db::find::Find> {
    if f.error.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(usage("--error: expected some text of the error"));
    }
    let mut priorities: Vec<i64> = f.priority.iter().map(|&p| i64::from(p)).collect();
    priorities.sort_unstable();
    priorities.dedup();
    Ok(crate::db::find::Find {
        error: f.error.clone(),
        meta: json_object("--meta", "meta", f.meta.as_deref())?,
        priorities,
        id_min: f.id_range.and_then(|r| r.min),
        id_max: f.id_range.and_then(|r| r.max),
    })
}

/// A JSON-object filter (`--args`, `--meta`) as canonical JSON text.
fn json_object(flag: &str, column: &str, text: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(text) = text else {
        return Ok(None);
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        // PostgreSQL's jsonb cannot hold the NUL character, so no job's value can match it.
        Ok(serde_json::Value::Object(_)) if text.contains("\\u0000") => Err(usage(format!(
            "{flag}: \\u0000 (the NUL character) cannot be stored in a job's {column}"
        ))),
        Ok(v @ serde_json::Value::Object(_)) => Ok(Some(v.to_string())),
        Ok(_) => Err(usage(format!(
            "{flag}: expected a JSON object such as '{{\"user_id\": 7}}', got {text}"
        ))),
        Err(e) => Err(usage(format!(
            "{flag}: not valid JSON ({e}); expected an object such as '{{\"user_id\": 7}}'"
        ))),
    }
}

/// Checks `--queue` and `--worker` values and builds the filter.
pub fn job_filter(scope: &QueueWorkerArgs) -> anyhow::Result<JobFilter> {
    require_names(&[("--queue", &scope.queue), ("--worker", &scope.worker)])?;
    Ok(JobFilter {
        queues: scope.queue.clone(),
        workers: scope.worker.clone(),
        ..JobFilter::default()
    })
}

/// Refuses an empty or blank name given to any of these flags (usage error).
fn require_names(flags: &[(&str, &Vec<String>)]) -> anyhow::Result<()> {
    for (flag, values) in flags {
        if values.iter().any(|v| v.trim().is_empty()) {
            return Err(usage(format!("{flag}: expected a non-empty name")));
        }
    }
    Ok(())
}
