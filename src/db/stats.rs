//! Read-only health queries for `oban stats`, for both engines: the figures (engine by engine
//! under `pg/` and `sqlite/`), table size and vacuum state, producers and leader. Every figure is
//! exact, or an estimate with its 95% range that passed the ±25% rule, or unknown.

use anyhow::{Context, Result};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde::Serialize;

use super::{quote_ident, Db, Schema};
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

/// RFC 3339 UTC text of a `timestamp` (UTC, no zone) expression.
fn pg_time(expr: &str) -> String {
    format!("to_char({expr}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

impl Db {
    /// Runs `work` in a read-only transaction (PostgreSQL) or with `query_only` (SQLite).
    pub fn read_only<T>(&mut self, work: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let (begin, end) = match self {
            // One snapshot for every figure of the pass; JIT compiles for longer than these
            // queries run.
            Db::Pg(_) => (
                "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL jit = off",
                "ROLLBACK",
            ),
            Db::Sqlite(_) => ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
        };
        self.batch(begin)
            .context("starting a read-only transaction")?;
        let result = work(self);
        let ended = self.batch(end);
        let value = result?;
        ended?;
        Ok(value)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        match self {
            Db::Pg(c) => c.batch_execute(sql)?,
            Db::Sqlite(c) => c.batch_execute(sql)?,
        }
        Ok(())
    }

    /// Counts by queue and state and every per-queue figure, each exact, an estimate within
    /// ±25% at 95% with its range, or unknown (see [`crate::estimate`]).
    pub fn stats_figures(
        &mut self,
        schema: &Schema,
        s: &Sampling,
    ) -> Result<(Vec<Cell>, Vec<QueueMetric>)> {
        match self {
            Db::Pg(c) => super::pg::stats::figures(c, schema, s),
            Db::Sqlite(c) => super::sqlite::stats::figures(c, schema, s),
        }
    }

    /// Table size and vacuum state (PostgreSQL only).
    pub fn table_health(&mut self, schema: &Schema) -> Result<Option<TableHealth>> {
        let Db::Pg(c) = self else { return Ok(None) };
        let rows: Vec<TableHealth> = sql_query(format!(
            "SELECT pg_total_relation_size(c.oid) AS total_bytes, \
                    pg_relation_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes, \
                    coalesce(s.n_live_tup, 0) AS live_tuples, coalesce(s.n_dead_tup, 0) AS dead_tuples, \
                    {} AS last_vacuum, {} AS last_autovacuum, {} AS last_analyze, {} AS last_autoanalyze \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
             WHERE n.nspname = $1 AND c.relname = 'oban_jobs'",
            pg_time("s.last_vacuum AT TIME ZONE 'UTC'"),
            pg_time("s.last_autovacuum AT TIME ZONE 'UTC'"),
            pg_time("s.last_analyze AT TIME ZONE 'UTC'"),
            pg_time("s.last_autoanalyze AT TIME ZONE 'UTC'"),
        ))
        .bind::<Text, _>(&schema.prefix)
        .load(c)?;
        Ok(rows.into_iter().next())
    }

    /// Producers (oban-py), alive when their heartbeat is under 60 s old.
    pub fn producers(&mut self, schema: &Schema) -> Result<Option<Vec<Producer>>> {
        let Db::Pg(c) = self else { return Ok(None) };
        if !schema.has_producers {
            return Ok(None);
        }
        let rows = sql_query(format!(
            "SELECT node, queue, {} AS started_at, {} AS updated_at, \
                    updated_at >= timezone('UTC', now()) - interval '60 seconds' AS alive \
             FROM {}.oban_producers ORDER BY node, queue",
            pg_time("started_at"),
            pg_time("updated_at"),
            quote_ident(&schema.prefix)
        ))
        .load(c)?;
        Ok(Some(rows))
    }

    /// The node holding leadership now, if the schema tracks it.
    pub fn leader(&mut self, schema: &Schema) -> Result<Option<Leader>> {
        let (Db::Pg(c), Some(table)) = (self, &schema.leader_table) else {
            return Ok(None);
        };
        let rows: Vec<Leader> = sql_query(format!(
            "SELECT node, {} AS expires_at FROM {}.{} \
             WHERE expires_at > timezone('UTC', now()) ORDER BY expires_at DESC LIMIT 1",
            pg_time("expires_at"),
            quote_ident(&schema.prefix),
            quote_ident(table)
        ))
        .load(c)?;
        Ok(rows.into_iter().next())
    }
}
