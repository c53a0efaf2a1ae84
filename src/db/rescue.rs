//! What rescue asks of an engine: find executing jobs whose run was orphaned and move them.

use anyhow::Result;
use diesel::QueryableByName;

use super::{JobFilter, JobRef, Schema};
use crate::model::JobState;

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
    /// The job (attempts allowed after the move: raised by `--on-exhausted retry`).
    #[diesel(embed)]
    #[serde(flatten)]
    pub job: JobRef,
    /// Seconds since `attempted_at`.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub executing: Option<f64>,
    /// The node from `attempted_by`.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub node: Option<String>,
    /// The state it went to (or would go to).
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[serde(rename = "to")]
    pub state: JobState,
}

impl std::ops::Deref for RescuedJob {
    type Target = JobRef;

    fn deref(&self) -> &JobRef {
        &self.job
    }
}

/// The orphans a rescue looks for: in which table, by which rule, among which jobs.
#[derive(Debug, Clone, Copy)]
pub struct Orphans<'a> {
    /// The table.
    pub schema: &'a Schema,
    /// The rule.
    pub rule: &'a RescueRule,
    /// Queue and worker filters.
    pub filter: &'a JobFilter,
}

/// Rescue's statements, for one engine.
pub trait Rescue {
    /// The jobs a rescue would move, with where each would go, lowest id first.
    fn rescue_candidates(&mut self, orphans: &Orphans, limit: u64) -> Result<Vec<RescuedJob>>;

    /// Executing jobs past the cutoff whose producer still heartbeats (accurate mode, where
    /// producers are recorded): left alone, and shown.
    fn long_running(&mut self, _orphans: &Orphans, _limit: u64) -> Result<Vec<RescuedJob>> {
        Ok(Vec::new())
    }

    /// Moves up to `n` orphaned jobs in one transaction, skipping rows others hold locked.
    fn rescue_batch(&mut self, orphans: &Orphans, n: u64) -> Result<Vec<RescuedJob>>;
}
