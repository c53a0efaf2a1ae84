//! What `inspect` and the job actions ask of an engine: select jobs by filters, read them
//! whole, and retry, cancel or delete them in bounded batches.

use anyhow::Result;
use diesel::QueryableByName;

use super::sql::{Dialect, Sql};
use super::Schema;
use crate::model::{JobState, SortKey, TimeBasis};

/// What `inspect` and the job actions select: every filter is optional and they combine with
/// AND; values within one filter combine with OR.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobQuery {
    /// Only these ids.
    pub ids: Vec<i64>,
    /// Only these states (names).
    pub states: Vec<String>,
    /// Only these queues.
    pub queues: Vec<String>,
    /// Only these workers.
    pub workers: Vec<String>,
    /// Only jobs with any of these tags.
    pub tags: Vec<String>,
    /// Only jobs whose args contain this JSON object (canonical JSON text).
    pub args: Option<String>,
    /// Only jobs whose `attempted_by[1]` is one of these.
    pub nodes: Vec<String>,
    /// Only jobs whose timestamp is older than this many seconds (database clock).
    pub older_than: Option<f64>,
    /// Only jobs whose timestamp is at most this many seconds old.
    pub newer_than: Option<f64>,
    /// The timestamp ages are measured on; `None` for the one that fits each state.
    pub basis: Option<TimeBasis>,
    /// Only executing jobs attempted longer ago than this many seconds.
    pub stuck_after: Option<f64>,
    /// The find-by filters of an incident (`--error`, `--meta`, `--priority`, `--id-range`).
    pub find: super::find::Find,
    /// Sort order.
    pub sort: SortKey,
    /// Descending.
    pub desc: bool,
    /// Most rows returned.
    pub limit: u64,
}

/// One job, every column, as `inspect` and the JSON output show it. JSON columns stay JSON;
/// times are RFC 3339 UTC with a `Z`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Job {
    /// Job id.
    pub id: i64,
    /// State.
    pub state: JobState,
    /// Queue.
    pub queue: String,
    /// Worker.
    pub worker: String,
    /// Attempts used.
    pub attempt: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Priority (0 is highest).
    pub priority: i64,
    /// Arguments.
    pub args: serde_json::Value,
    /// Metadata (null on Elixir rows without it).
    pub meta: serde_json::Value,
    /// Tags.
    pub tags: serde_json::Value,
    /// Recorded errors, `[{attempt, at, error}]`, whichever way the table stores them.
    pub errors: serde_json::Value,
    /// `[node, producer]` of the last attempt.
    pub attempted_by: serde_json::Value,
    /// When inserted.
    pub inserted_at: Option<String>,
    /// When due.
    pub scheduled_at: Option<String>,
    /// When last attempted.
    pub attempted_at: Option<String>,
    /// When cancelled.
    pub cancelled_at: Option<String>,
    /// When completed.
    pub completed_at: Option<String>,
    /// When discarded.
    pub discarded_at: Option<String>,
    /// Seconds since the timestamp ages are measured on (negative: in the future).
    #[serde(skip)]
    pub age: Option<f64>,
}

/// A job row as JSON text plus its age, as the backends return it.
#[derive(Debug, diesel::QueryableByName)]
pub struct JobJson {
    /// The row as a JSON object.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub json: String,
    /// Seconds since the measured timestamp.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub age: Option<f64>,
}

/// What `retry`, `cancel` and `delete` do to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    /// Make it available now (oban-py's `retry_job`).
    Retry,
    /// Move it to cancelled.
    Cancel,
    /// Remove the row.
    Delete,
}

impl JobAction {
    /// The subcommand name.
    pub fn name(self) -> &'static str {
        match self {
            JobAction::Retry => "retry",
            JobAction::Cancel => "cancel",
            JobAction::Delete => "delete",
        }
    }

    /// Where a changed job ends up ("deleted" for delete).
    pub fn to(self) -> &'static str {
        match self {
            JobAction::Retry => "available",
            JobAction::Cancel => "cancelled",
            JobAction::Delete => "deleted",
        }
    }

    /// Whether a job in `state` can be acted on, or why not.
    pub fn check(self, state: &str) -> Result<(), String> {
        match (self, state) {
            (_, "executing") => Err(format!(
                "executing: cannot be {} from outside while it runs",
                match self {
                    JobAction::Retry => "retried",
                    JobAction::Cancel => "cancelled",
                    JobAction::Delete => "deleted",
                }
            )),
            (JobAction::Retry, "available") => Err("already available".into()),
            (JobAction::Cancel, "completed" | "cancelled" | "discarded") => {
                Err(format!("already {state}: final"))
            }
            _ => Ok(()),
        }
    }

    /// The states a job may be in to be acted on.
    pub fn eligible(self) -> Vec<&'static str> {
        JobState::ALL
            .into_iter()
            .map(JobState::name)
            .filter(|s| self.check(s).is_ok())
            .collect()
    }
}

/// One batch of an action: `action` on those of `ids` whose state is in `eligible`.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// What to do.
    pub action: JobAction,
    /// The jobs.
    pub ids: &'a [i64],
    /// The states a job may be in to be changed.
    pub eligible: &'a [&'a str],
}

/// A job as the lists of changed jobs show it: which one, where, and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, diesel::QueryableByName)]
pub struct JobRef {
    /// Job id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// Queue.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// Worker.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub worker: String,
    /// Attempts used.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub attempt: i64,
    /// Attempts allowed (after a change that may raise it).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub max_attempts: i64,
}

impl JobRef {
    /// Queue, worker, attempt and attempts allowed, as CSV cells.
    pub fn cells(&self) -> [String; 4] {
        [
            self.queue.clone(),
            self.worker.clone(),
            self.attempt.to_string(),
            self.max_attempts.to_string(),
        ]
    }
}

/// A job a batch changed, with its state before the change.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct ActedJob {
    /// The job.
    #[diesel(embed)]
    pub job: JobRef,
    /// State before.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: JobState,
}

impl std::ops::Deref for ActedJob {
    type Target = JobRef;

    fn deref(&self) -> &JobRef {
        &self.job
    }
}

/// A job id and its state.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct JobStateRow {
    /// Job id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// State.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: JobState,
}

/// The timestamp a job's age is measured on, as SQL over `alias` (with its dot): the one
/// given, or the one that fits each job's state.
pub fn age_expr(basis: Option<TimeBasis>, alias: &str) -> String {
    if let Some(basis) = basis {
        return format!("{alias}{}", basis.column());
    }
    let arms: String = JobState::ALL
        .into_iter()
        .filter(|s| s.age_column() != "scheduled_at")
        .map(|s| format!(" WHEN '{}' THEN {alias}{}", s.name(), s.age_column()))
        .collect();
    // Compared as text: a label missing from an older enum is then no error.
    format!("(CASE CAST({alias}state AS text){arms} ELSE {alias}scheduled_at END)")
}

/// The age conditions of a query (`--older-than`, `--newer-than`, `--stuck`), their values
/// bound into `sql`. Each engine says how it compares a timestamp column (`time`) and how it
/// writes "so many seconds ago" from a bound parameter (`ago`).
pub fn age_conditions<DB: Dialect>(
    sql: &mut Sql<DB>,
    q: &JobQuery,
    alias: &str,
    time: impl Fn(&str) -> String,
    ago: impl Fn(String) -> String,
) -> Vec<String> {
    let ts = time(&age_expr(q.basis, alias));
    let mut w = Vec::new();
    for (secs, test) in [(q.older_than, "<"), (q.newer_than, ">=")] {
        if let Some(secs) = secs {
            w.push(format!("{ts} {test} {}", ago(sql.bind(secs))));
        }
    }
    if let Some(secs) = q.stuck_after {
        let attempted = time(&format!("{alias}attempted_at"));
        w.push(format!(
            "{alias}state = 'executing' AND {attempted} < {}",
            ago(sql.bind(secs))
        ));
    }
    w
}

/// The job statements, for one engine.
pub trait Jobs {
    /// Jobs matching a query as JSON rows with their age; never writes (PostgreSQL reads in a
    /// read-only transaction).
    fn job_rows(&mut self, schema: &Schema, query: &JobQuery) -> Result<Vec<JobJson>>;

    /// Applies the change in one transaction, skipping rows another session holds locked.
    /// Returns the jobs changed, with their state before the change.
    fn act_batch(&mut self, schema: &Schema, change: &Change) -> Result<Vec<ActedJob>>;

    /// The current state of each of `ids` that exists.
    fn job_states(&mut self, schema: &Schema, ids: &[i64]) -> Result<Vec<JobStateRow>>;
}
