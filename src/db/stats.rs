//! Read-only health queries for `oban stats`, for both engines: the figures (engine by engine
//! under `pg/` and `sqlite/`), table size and vacuum state, producers and leader. Every figure is
//! exact, or an estimate with its 95% range that passed the ±25% rule, or unknown.

use anyhow::{Context, Result};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::QueryableByName;
use serde::Serialize;

use super::{Db, Schema};
use crate::estimate::Figure;

/// One queue × state count.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Queue.
    pub queue: String,
    /// State.
    pub state: String,
    /// Jobs: exact, an estimate with its range, or unknown.
    pub figure: Figure,
}

/// One per-queue figure: `metric` names it (latency, executing, …).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMetric {
    /// Queue.
    pub queue: String,
    /// Which figure.
    pub metric: String,
    /// Its value (seconds or a count): exact, an estimate with its range, or unknown.
    pub figure: Figure,
}

/// How `stats` may estimate.
#[derive(Debug, Clone)]
pub struct Sampling<'a> {
    /// `--estimate-above`; None makes every figure exact.
    pub estimate_above: Option<u64>,
    /// Seeds every sample of the pass.
    pub seed: i64,
    /// Time for optional work (more samples, exact counts of what a first sample could not
    /// place within ±25%); None: no limit.
    pub budget: Option<std::time::Duration>,
    /// Executing longer than this many seconds is stuck.
    pub rescue_after: f64,
    /// The previous watch tick (database clock text), for `completed_since`.
    pub since: Option<&'a str>,
    /// Figures a threshold is set on: always exact.
    pub exact: &'a [&'a str],
}

/// Size and maintenance state of the jobs table (PostgreSQL).
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct TableHealth {
    /// Table, indexes and TOAST, in bytes.
    #[diesel(sql_type = BigInt)]
    pub total_bytes: i64,
    /// The table's heap, in bytes.
    #[diesel(sql_type = BigInt)]
    pub table_bytes: i64,
    /// All its indexes, in bytes.
    #[diesel(sql_type = BigInt)]
    pub index_bytes: i64,
    /// Live tuples, per the statistics collector.
    #[diesel(sql_type = BigInt)]
    pub live_tuples: i64,
    /// Dead tuples waiting for vacuum.
    #[diesel(sql_type = BigInt)]
    pub dead_tuples: i64,
    /// Last manual VACUUM.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_vacuum: Option<String>,
    /// Last autovacuum.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_autovacuum: Option<String>,
    /// Last manual ANALYZE.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_analyze: Option<String>,
    /// Last autoanalyze.
    #[diesel(sql_type = Nullable<Text>)]
    pub last_autoanalyze: Option<String>,
}

/// A producer row (oban-py): one running queue on one node.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct Producer {
    /// Node name.
    #[diesel(sql_type = Text)]
    pub node: String,
    /// Queue.
    #[diesel(sql_type = Text)]
    pub queue: String,
    /// When it started.
    #[diesel(sql_type = Text)]
    pub started_at: String,
    /// Its last heartbeat.
    #[diesel(sql_type = Text)]
    pub updated_at: String,
    /// Heartbeat within the last 60 s.
    #[diesel(sql_type = Bool)]
    pub alive: bool,
}

/// The current leader, from `oban_leaders` or `oban_peers`.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct Leader {
    /// Node name.
    #[diesel(sql_type = Text)]
    pub node: String,
    /// When its lease runs out.
    #[diesel(sql_type = Text)]
    pub expires_at: String,
}

/// The counts and the per-queue figures of one pass.
pub type StatsFigures = (Vec<Cell>, Vec<QueueMetric>);

/// What `stats` asks of an engine. Health, producers and the leader are PostgreSQL's only;
/// the defaults say "not here".
pub trait Stats {
    /// The statements that start and end a read-only pass (one snapshot on PostgreSQL).
    fn read_only_sql(&self) -> (&'static str, &'static str);
    /// Runs statements with no result.
    fn run_batch(&mut self, sql: &str) -> Result<()>;
    /// Counts by queue and state and every per-queue figure, each exact, an estimate within
    /// ±25% at 95% with its range, or unknown (see [`crate::estimate`]).
    fn stats_figures(&mut self, schema: &Schema, s: &Sampling) -> Result<StatsFigures>;
    /// Table size and vacuum state.
    fn table_health(&mut self, _schema: &Schema) -> Result<Option<TableHealth>> {
        Ok(None)
    }
    /// Producers (oban-py), alive when their heartbeat is under 60 s old.
    fn producers(&mut self, _schema: &Schema) -> Result<Option<Vec<Producer>>> {
        Ok(None)
    }
    /// The node holding leadership now, if the schema tracks it.
    fn leader(&mut self, _schema: &Schema) -> Result<Option<Leader>> {
        Ok(None)
    }
}

impl Db {
    /// Runs `work` in a read-only transaction (PostgreSQL) or with `query_only` (SQLite).
    pub fn read_only<T>(&mut self, work: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let (begin, end) = self.read_only_sql();
        self.run_batch(begin)
            .context("starting a read-only transaction")?;
        let result = work(self);
        let ended = self.run_batch(end);
        let value = result?;
        ended?;
        Ok(value)
    }
}
