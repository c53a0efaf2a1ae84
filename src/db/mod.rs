//! Connections: the backend chosen from the DSN, session safety settings, and what the schema
//! looks like (flavour, optional tables, indexes). Every SQL statement lives under `db/`.

pub mod migrations;
pub mod pg;
pub mod sqlite;
pub mod stats;

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use crate::cli::{FinalState, SortKey, TimeBasis};
use crate::dsn::{Backend, Dsn};

impl FinalState {
    /// The three final states, in the order prune visits them.
    pub const ALL: [FinalState; 3] = [
        FinalState::Completed,
        FinalState::Cancelled,
        FinalState::Discarded,
    ];

    /// The state's name in the database.
    pub fn name(self) -> &'static str {
        match self {
            FinalState::Completed => "completed",
            FinalState::Cancelled => "cancelled",
            FinalState::Discarded => "discarded",
        }
    }

    /// The timestamp that says when the job reached this state.
    pub fn column(self) -> &'static str {
        match self {
            FinalState::Completed => "completed_at",
            FinalState::Cancelled => "cancelled_at",
            FinalState::Discarded => "discarded_at",
        }
    }
}

/// A live connection to one of the supported engines.
pub enum Db {
    /// PostgreSQL.
    Pg(PgConnection),
    /// SQLite (Oban Lite).
    Sqlite(SqliteConnection),
}

/// Which of the known table shapes a database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavour {
    /// oban-py: `errors jsonb`, smallint counters, producers table.
    ObanPy,
    /// Elixir Oban: `errors jsonb[]`, integer counters, `oban_peers`.
    Elixir,
    /// Oban Lite on SQLite.
    Lite,
}

impl Flavour {
    /// A short name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Flavour::ObanPy => "oban-py",
            Flavour::Elixir => "Elixir Oban",
            Flavour::Lite => "Oban Lite",
        }
    }
}

/// What was found in the database for the configured prefix.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The schema name (always `main` on SQLite, where prefixes do not exist).
    pub prefix: String,
    /// The table shape.
    pub flavour: Flavour,
    /// Whether `oban_producers` exists (oban-py).
    pub has_producers: bool,
    /// `oban_leaders` (oban-py) or `oban_peers` (Elixir), when present.
    pub leader_table: Option<String>,
    /// The planner's row count for `oban_jobs` (PostgreSQL, once analyzed).
    pub estimated_rows: Option<f64>,
    /// Final states whose timestamp an index serves (the partial indexes of oban-py, or
    /// Elixir's `(state, cancelled_at)` and `(state, discarded_at)`). Always empty on SQLite.
    pub indexed_final_states: Vec<FinalState>,
    /// Column names of `oban_jobs`, in table order.
    pub columns: Vec<String>,
}

/// Session limits applied to every maintenance connection.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// PostgreSQL `lock_timeout`; SQLite busy timeout.
    pub lock_timeout: Duration,
    /// PostgreSQL `statement_timeout` and `idle_in_transaction_session_timeout`.
    pub statement_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            lock_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(60),
        }
    }
}

/// Quotes an identifier for PostgreSQL. Prefixes are validated before they get here; quoting
/// anyway means a validation slip can never become SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Db {
    /// Connects and applies the session limits. For SQLite, `create` allows a missing file to be
    /// created (migrate, demo); otherwise a missing file is an error rather than a new empty
    /// database.
    pub fn connect(dsn: &Dsn, limits: SessionLimits, create: bool) -> Result<Db> {
        match dsn.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&dsn.target)
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| format!("connecting to {dsn}"))?;
                pg::setup_session(&mut conn, limits)
                    .with_context(|| format!("setting up the session on {dsn}"))?;
                Ok(Db::Pg(conn))
            }
            Backend::Sqlite => {
                let path = std::path::Path::new(&dsn.target);
                if !create && !path.exists() {
                    return Err(anyhow!(
                        "SQLite database {} does not exist (run `oban migrate` to create it)",
                        path.display()
                    ));
                }
                let mut conn = SqliteConnection::establish(&dsn.target)
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| format!("opening {dsn}"))?;
                sqlite::setup_session(&mut conn, limits)
                    .with_context(|| format!("opening {dsn}"))?;
                Ok(Db::Sqlite(conn))
            }
        }
    }

    /// Finds `oban_jobs` under the prefix and classifies it, or explains what is missing.
    pub fn schema(&mut self, prefix: &str) -> Result<Schema> {
        let found = match self {
            Db::Pg(c) => pg::detect(c, prefix),
            Db::Sqlite(c) => sqlite::detect(c),
        }
        .context("reading the catalog")?;
        found.ok_or_else(|| match self {
            Db::Pg(_) => anyhow!(
                "no oban_jobs table in schema \"{prefix}\" (searched {prefix}.oban_jobs): \
                 check --prefix / OBAN_PREFIX, or run `oban migrate` to create it"
            ),
            Db::Sqlite(_) => {
                anyhow!(
                    "no oban_jobs table in this SQLite database: run `oban migrate` to create it"
                )
            }
        })
    }

    /// The database clock minus `age`, as ISO-8601 UTC text (no zone on PostgreSQL, `Z` on SQLite).
    pub fn cutoff(&mut self, age: Duration) -> Result<String> {
        let secs = age.as_secs_f64();
        match self {
            Db::Pg(c) => pg::cutoff(c, secs),
            Db::Sqlite(c) => sqlite::cutoff(c, secs),
        }
        .context("reading the database clock")
    }

    /// `cutoff` for several ages at once, from one reading of the clock.
    pub fn cutoffs(&mut self, ages: &[Duration]) -> Result<Vec<String>> {
        let secs: Vec<f64> = ages.iter().map(Duration::as_secs_f64).collect();
        match self {
            Db::Pg(c) => pg::cutoffs(c, &secs).context("reading the database clock"),
            Db::Sqlite(_) => ages.iter().map(|age| self.cutoff(*age)).collect(),
        }
    }

    /// Tries the advisory lock that keeps overlapping runs of one command apart. SQLite has no
    /// such lock and needs none: its writers are serialised by the database file lock.
    pub fn try_lock(&mut self, key: i64) -> Result<bool> {
        match self {
            Db::Pg(c) => pg::try_lock(c, key).context("taking the advisory lock"),
            Db::Sqlite(_) => Ok(true),
        }
    }

    /// Releases the lock taken by `try_lock`.
    pub fn unlock(&mut self, key: i64) -> Result<()> {
        match self {
            Db::Pg(c) => pg::unlock(c, key).context("releasing the advisory lock"),
            Db::Sqlite(_) => Ok(()),
        }
    }

    /// What a prune pass of `limit` rows would take, as (state, queue, count).
    pub fn count_prunable(
        &mut self,
        schema: &Schema,
        targets: &Targets,
        filter: &JobFilter,
        limit: u64,
    ) -> Result<Vec<(String, String, u64)>> {
        match self {
            Db::Pg(c) => pg::count_eligible(c, schema, targets, filter, limit),
            Db::Sqlite(c) => sqlite::count_eligible(c, targets, filter, limit),
        }
    }

    /// Deletes one batch of prunable rows, oldest first over every target state (or newest
    /// eligible first, for a second connection on PostgreSQL), in its own transaction; `sink`
    /// (the archive) sees the rows before commit and can veto it by failing. On SQLite, where
    /// batches go by id, `after_id` is the highest id an earlier batch of the pass deleted: a
    /// row below it was not eligible then and cannot have become so (the cutoff is fixed for the
    /// pass), so the scan resumes there instead of walking the table from the start each time.
    #[allow(clippy::too_many_arguments)]
    pub fn delete_batch(
        &mut self,
        schema: &Schema,
        targets: &Targets,
        filter: &JobFilter,
        n: u64,
        newest_first: bool,
        after_id: i64,
        archive: bool,
        sink: &mut dyn FnMut(&[DeletedRow]) -> Result<()>,
    ) -> Result<Vec<DeletedRow>> {
        match self {
            Db::Pg(c) => {
                pg::delete_batch(c, schema, targets, filter, n, newest_first, archive, sink)
            }
            Db::Sqlite(c) => {
                sqlite::delete_batch(c, schema, targets, filter, n, after_id, archive, sink)
            }
        }
    }

    /// Whether the jobs table holds any row.
    pub fn has_jobs(&mut self, schema: &Schema) -> Result<bool> {
        match self {
            Db::Pg(c) => pg::has_jobs(c, schema),
            Db::Sqlite(c) => sqlite::has_jobs(c),
        }
        .context("checking whether the jobs table is empty")
    }

    /// Inserts jobs given as a JSON array (see `commands::seed`).
    pub fn insert_jobs(&mut self, schema: &Schema, jobs_json: &str) -> Result<usize> {
        match self {
            Db::Pg(c) => pg::insert_jobs(c, schema, jobs_json),
            Db::Sqlite(c) => sqlite::insert_jobs(c, jobs_json),
        }
        .context("inserting jobs")
    }

    /// The jobs a rescue would move, with where each would go.
    pub fn rescue_candidates(
        &mut self,
        schema: &Schema,
        rule: &RescueRule,
        filter: &JobFilter,
        limit: u64,
    ) -> Result<Vec<RescuedJob>> {
        match self {
            Db::Pg(c) => pg::rescue_candidates(c, schema, rule, filter, limit),
            Db::Sqlite(c) => sqlite::rescue_candidates(c, rule, filter, limit),
        }
        .context("listing orphaned jobs")
    }

    /// Executing jobs past the cutoff whose producer still heartbeats (accurate mode only).
    pub fn long_running(
        &mut self,
        schema: &Schema,
        rule: &RescueRule,
        filter: &JobFilter,
        limit: u64,
    ) -> Result<Vec<RescuedJob>> {
        match self {
            Db::Pg(c) if rule.accurate => pg::long_running(c, schema, rule, filter, limit),
            _ => Ok(Vec::new()),
        }
        .context("listing long-running jobs")
    }

    /// Moves one batch of orphaned jobs in its own transaction.
    pub fn rescue_batch(
        &mut self,
        schema: &Schema,
        rule: &RescueRule,
        filter: &JobFilter,
        n: u64,
    ) -> Result<Vec<RescuedJob>> {
        match self {
            Db::Pg(c) => pg::rescue_batch(c, schema, rule, filter, n),
            Db::Sqlite(c) => sqlite::rescue_batch(c, rule, filter, n),
        }
    }

    /// Records live producers (heartbeat now) from a JSON array of `{uuid, node, queue}`.
    pub fn insert_producers(&mut self, schema: &Schema, json: &str) -> Result<()> {
        match self {
            Db::Pg(c) => pg::insert_producers(c, schema, json),
            Db::Sqlite(_) => Ok(()),
        }
        .context("recording producers")
    }

    /// Jobs matching a query, full rows, in a read-only transaction on PostgreSQL.
    pub fn find_jobs(&mut self, schema: &Schema, query: &JobQuery) -> Result<Vec<Job>> {
        let rows = match self {
            Db::Pg(c) => pg::find_jobs(c, schema, query),
            Db::Sqlite(c) => sqlite::find_jobs(c, query),
        }
        .context("listing jobs")?;
        rows.into_iter()
            .map(|r| {
                let mut job: Job = serde_json::from_str(&r.json)
                    .with_context(|| format!("reading a job row: {}", r.json))?;
                job.age = r.age;
                Ok(job)
            })
            .collect()
    }

    /// Applies `action` to those of `ids` whose state is in `eligible`, in one transaction,
    /// skipping rows another session holds locked. Returns the jobs changed, with their state
    /// before the change.
    pub fn act_batch(
        &mut self,
        schema: &Schema,
        action: JobAction,
        ids: &[i64],
        eligible: &[&str],
    ) -> Result<Vec<ActedJob>> {
        match self {
            Db::Pg(c) => pg::act_batch(c, schema, action, ids, eligible),
            Db::Sqlite(c) => sqlite::act_batch(c, action, ids, eligible),
        }
    }

    /// The current state of each of `ids` that exists.
    pub fn job_states(&mut self, schema: &Schema, ids: &[i64]) -> Result<Vec<JobStateRow>> {
        match self {
            Db::Pg(c) => pg::job_states(c, schema, ids),
            Db::Sqlite(c) => sqlite::job_states(c, ids),
        }
        .context("reading job states")
    }

    /// Counts jobs by queue and state (exact).
    pub fn counts(&mut self, schema: &Schema) -> Result<Vec<QueueStateCount>> {
        match self {
            Db::Pg(c) => pg::counts(c, schema),
            Db::Sqlite(c) => sqlite::counts(c),
        }
        .context("counting jobs")
    }
}

/// One cell of a queue × state count.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct QueueStateCount {
    /// Queue name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// State name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: String,
    /// Jobs in that cell.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
}

/// What a prune pass takes: each final state with its cutoff (database clock text).
pub type Targets = [(FinalState, String)];

/// Filters shared by maintenance commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only these queues (empty: all).
    pub queues: Vec<String>,
    /// Only these workers (empty: all).
    pub workers: Vec<String>,
}

/// A row taken out by a prune batch.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct DeletedRow {
    /// The job's id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The job's state, for per-state totals.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: String,
    /// The job's queue, for per-queue totals.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// The whole row as a JSON object, when archiving.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub row: Option<String>,
}

/// How rescue decides which executing jobs are orphans and where they go.
#[derive(Debug, Clone)]
pub struct RescueRule {
    /// Jobs attempted before this database-clock time are old (text as `cutoff` returns it).
    pub cutoff: String,
    /// Use producer heartbeats (PostgreSQL with `oban_producers` only).
    pub accurate: bool,
    /// Seconds after its last heartbeat that a producer counts as gone.
    pub producer_ttl: f64,
    /// Give exhausted jobs one more attempt instead of discarding them.
    pub retry_exhausted: bool,
}

/// A job rescue moved (or would move, or, for long-running jobs, left alone).
#[derive(Debug, Clone, serde::Serialize, diesel::QueryableByName)]
pub struct RescuedJob {
    /// Job id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// Queue.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// Worker.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub worker: String,
    /// Attempt number of the orphaned run.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub attempt: i64,
    /// Attempt limit (after the move: raised by `--on-exhausted retry`).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub max_attempts: i64,
    /// Seconds since `attempted_at`.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub executing: Option<f64>,
    /// The node from `attempted_by`.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub node: Option<String>,
    /// The state it went to (or would go to).
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[serde(rename = "to")]
    pub state: String,
}

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
    pub state: String,
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
        crate::commands::counts::STATES
            .into_iter()
            .filter(|s| self.check(s).is_ok())
            .collect()
    }
}

/// A job a batch changed, with its state before the change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, diesel::QueryableByName)]
pub struct ActedJob {
    /// Job id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// State before.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: String,
    /// Queue.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// Worker.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub worker: String,
    /// Attempts used.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub attempt: i64,
    /// Attempts allowed (after the change: retry may raise it).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub max_attempts: i64,
}

/// A job id and its state.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct JobStateRow {
    /// Job id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// State name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: String,
}

/// A single text value, for small queries.
#[derive(Debug, diesel::QueryableByName)]
pub struct TextValue {
    /// The value.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub value: String,
}

/// A single boolean, for small queries.
#[derive(Debug, diesel::QueryableByName)]
pub struct BoolValue {
    /// The value.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub value: bool,
}
