//! Read-only health queries for `oban stats`, for both engines. Counts are exact where the table
//! is small and planner estimates for large cells on PostgreSQL, so the query never loads the
//! database it measures.

use anyhow::{Context, Result};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde::Serialize;

use super::{quote_ident, Db, QueueStateCount, Schema};

/// One queue × state count.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Queue.
    pub queue: String,
    /// State.
    pub state: String,
    /// Jobs (exact, or the planner's estimate).
    pub count: u64,
    /// Whether `count` is an estimate.
    pub estimated: bool,
}

/// One per-queue figure: `metric` names it (latency, executing, …).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMetric {
    /// Queue.
    pub queue: String,
    /// Which figure.
    pub metric: String,
    /// Its value (seconds or a count).
    pub value: Option<f64>,
    /// Whether `value` is an estimate (sampled, or the planner's).
    pub estimated: bool,
}

#[derive(QueryableByName)]
struct MetricRow {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Text)]
    metric: String,
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
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

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    queue: String,
}

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// RFC 3339 UTC text of a `timestamp` (UTC, no zone) expression.
fn pg_time(expr: &str) -> String {
    format!("to_char({expr}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

impl Db {
    /// Runs `work` in a read-only transaction (PostgreSQL) or with `query_only` (SQLite).
    pub fn read_only<T>(&mut self, work: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let (begin, end) = match self {
            // JIT compiles for longer than these queries run.
            Db::Pg(_) => (
                "BEGIN TRANSACTION READ ONLY; SET LOCAL jit = off",
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

    /// Counts by queue and state. On PostgreSQL, when the planner thinks the table holds more
    /// than `estimate_above` rows, each cell the planner puts above that is an estimate; the
    /// rest are counted exactly through the `(state, queue, …)` index.
    pub fn cells(&mut self, schema: &Schema, estimate_above: Option<u64>) -> Result<Vec<Cell>> {
        let exact = |rows: Vec<QueueStateCount>| {
            rows.into_iter()
                .map(|r| Cell {
                    queue: r.queue,
                    state: r.state.to_string(),
                    count: r.count as u64,
                    estimated: false,
                })
                .collect()
        };
        let big = |t: u64| schema.estimated_rows.is_some_and(|rows| rows > t as f64);
        match (self, estimate_above) {
            (Db::Pg(c), Some(t)) if big(t) => estimated_cells(c, schema, t),
            (db, _) => Ok(exact(db.counts(schema).context("counting jobs")?)),
        }
    }

    /// Per-queue latency, executing, stuck, throughput and failure figures. `opts.since`
    /// (database clock text) adds `completed_since`, for rates between watch ticks. On
    /// PostgreSQL, figures that would read many rows are estimated (see [`super::figures`]).
    pub fn queue_metrics(
        &mut self,
        schema: &Schema,
        opts: &super::figures::FigureOpts,
    ) -> Result<Vec<QueueMetric>> {
        let (rescue_after, since) = (opts.rescue_after, opts.since);
        match self {
            Db::Pg(c) => super::figures::queue_metrics(c, schema, opts),
            Db::Sqlite(c) => {
                let sql = sqlite_metrics_sql(since.is_some());
                let mut q = sql_query(sql)
                    .into_boxed::<diesel::sqlite::Sqlite>()
                    .bind::<Double, _>(rescue_after);
                if let Some(since) = since {
                    q = q.bind::<Text, _>(since.to_string());
                }
                let rows: Vec<MetricRow> = q.load(c)?;
                Ok(rows
                    .into_iter()
                    .map(|r| QueueMetric {
                        queue: r.queue,
                        metric: r.metric,
                        value: r.value,
                        estimated: false,
                    })
                    .collect())
            }
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

/// One query for every per-queue figure on SQLite, as (queue, metric, value) rows.
fn sqlite_metrics_sql(with_since: bool) -> String {
    let jobs = "oban_jobs";
    let age = |col: &str| format!("(julianday('now') - julianday(min({col}))) * 86400.0");
    let recent =
        |col: &str, secs: u32| format!("julianday({col}) > julianday('now', '-{secs} seconds')");
    let stuck = "julianday(attempted_at) < julianday('now', '-' || ?1 || ' seconds')";
    let mut parts = vec![
        format!("SELECT queue, 'latency' AS metric, {} AS value FROM {jobs} WHERE state = 'available' GROUP BY queue", age("scheduled_at")),
        format!("SELECT queue, 'executing', count(*) * 1.0 FROM {jobs} WHERE state = 'executing' GROUP BY queue"),
        format!("SELECT queue, 'longest_running', {} FROM {jobs} WHERE state = 'executing' GROUP BY queue", age("attempted_at")),
        format!("SELECT queue, 'stuck', count(*) * 1.0 FROM {jobs} WHERE state = 'executing' AND {stuck} GROUP BY queue"),
        format!("SELECT queue, 'completed_last_minute', count(*) * 1.0 FROM {jobs} WHERE state = 'completed' AND {} GROUP BY queue", recent("completed_at", 60)),
        format!("SELECT queue, 'completed_last_hour', count(*) * 1.0 FROM {jobs} WHERE state = 'completed' AND {} GROUP BY queue", recent("completed_at", 3600)),
        format!("SELECT queue, 'discarded_last_hour', count(*) * 1.0 FROM {jobs} WHERE state = 'discarded' AND {} GROUP BY queue", recent("discarded_at", 3600)),
        format!("SELECT queue, 'retryable_last_hour', count(*) * 1.0 FROM {jobs} WHERE state = 'retryable' AND {} GROUP BY queue", recent("attempted_at", 3600)),
    ];
    if with_since {
        parts.push(format!(
            "SELECT queue, 'completed_since', count(*) * 1.0 FROM {jobs} WHERE state = 'completed' AND julianday(completed_at) > julianday(?2) GROUP BY queue"
        ));
    }
    parts.join(" UNION ALL ")
}

fn estimated_cells(conn: &mut PgConnection, schema: &Schema, threshold: u64) -> Result<Vec<Cell>> {
    let jobs = format!("{}.oban_jobs", quote_ident(&schema.prefix));
    let state_type = format!("{}.oban_job_state", quote_ident(&schema.prefix));
    // Distinct (state, queue) pairs by skipping through the (state, queue, …) index: one probe
    // per pair, however many rows each holds.
    let pairs: Vec<Pair> = sql_query(format!(
        "WITH RECURSIVE pairs AS ( \
           (SELECT state, queue FROM {jobs} ORDER BY state, queue LIMIT 1) \
           UNION ALL \
           SELECT n.state, n.queue FROM pairs p, LATERAL ( \
             SELECT state, queue FROM {jobs} WHERE (state, queue) > (p.state, p.queue) \
             ORDER BY state, queue LIMIT 1) n) \
         SELECT state::text AS state, queue FROM pairs"
    ))
    .load(conn)
    .context("listing queues and states")?;
    let mut cells = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let plan: Vec<Plan> = sql_query(format!(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM {jobs} WHERE state = $1::text::{state_type} AND queue = $2"
        ))
        .bind::<Text, _>(&pair.state)
        .bind::<Text, _>(&pair.queue)
        .load(conn)?;
        let estimate = plan
            .first()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.plan).ok())
            .and_then(|v| v[0]["Plan"]["Plan Rows"].as_f64())
            .unwrap_or(0.0);
        let (count, estimated) = if estimate > threshold as f64 {
            (estimate.round() as u64, true)
        } else {
            let exact: Vec<Count> = sql_query(format!(
                "SELECT count(*) AS n FROM {jobs} WHERE state = $1::text::{state_type} AND queue = $2"
            ))
            .bind::<Text, _>(&pair.state)
            .bind::<Text, _>(&pair.queue)
            .load(conn)?;
            (exact.first().map_or(0, |c| c.n as u64), false)
        };
        cells.push(Cell {
            queue: pair.queue,
            state: pair.state,
            count,
            estimated,
        });
    }
    Ok(cells)
}
