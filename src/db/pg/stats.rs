//! `oban stats` on PostgreSQL: the counts, then the per-queue figures, which use the counts to
//! decide how to read each queue.

use std::collections::BTreeMap;

use anyhow::Result;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{sql_query, RunQueryDsl};

use super::cells::{self, CellOpts};
use super::figures;
use super::sample::{self, Budget, FigureOpts};
use super::PgSql;
use crate::db::stats::{Cell, Leader, Producer, Sampling, Stats, StatsFigures, TableHealth};
use crate::db::{quote_ident, Schema};

/// RFC 3339 UTC text of a `timestamp` (UTC, no zone) expression.
fn pg_time(expr: &str) -> String {
    format!("to_char({expr}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

/// The share of `--budget` the counts may use. They need more than the per-queue figures: on
/// the seeded 5M table the cells a page sample cannot place take 100–150 ms to count, the
/// figures' optional reads 60–110 ms.
const CELLS_SHARE: f64 = 0.6;

impl Stats for PgConnection {
    /// Counts and figures of one pass.
    fn stats_figures(&mut self, schema: &Schema, s: &Sampling) -> Result<StatsFigures> {
        let conn = self;
        if s.estimate_above.is_none() {
            let args = sample::Args {
                rescue_after: s.rescue_after,
                since: s.since.unwrap_or("-infinity").to_string(),
                seed: s.seed,
            };
            let (cells, mut metrics) =
                super::exact::figures(conn, schema, &args, s.since.is_some())?;
            let jobs = format!("{}.oban_jobs", crate::db::quote_ident(&schema.prefix));
            figures::latency(conn, &jobs, &mut metrics)?;
            return Ok((cells, metrics));
        }
        // The counts may use 60% of the budget; the per-queue figures get what is left.
        let timeout = sample::statement_timeout_ms(conn)?;
        let budget = Budget {
            limit: s.budget.map(|b| b.mul_f64(CELLS_SHARE)),
            spent: Default::default(),
            statement_timeout_ms: timeout,
        };
        let cells: Vec<Cell> = cells::cells(
            conn,
            schema,
            &CellOpts {
                estimate_above: s.estimate_above,
                seed: s.seed,
                budget: &budget,
            },
        )?;
        let mut queues: Vec<String> = cells.iter().map(|c| c.queue.clone()).collect();
        queues.sort();
        queues.dedup();
        let budget = Budget {
            limit: s.budget.map(|b| b.saturating_sub(budget.spent.get())),
            spent: Default::default(),
            statement_timeout_ms: timeout,
        };
        let known: BTreeMap<(String, String), _> = cells
            .iter()
            .map(|c| ((c.queue.clone(), c.state.clone()), c.figure.clone()))
            .collect();
        let counted = Default::default();
        let metrics = figures::queue_metrics(
            conn,
            schema,
            &FigureOpts {
                rescue_after: s.rescue_after,
                since: s.since,
                queues: &queues,
                cells: &known,
                estimate_above: s.estimate_above,
                exact: s.exact,
                seed: s.seed,
                budget: &budget,
                counted: &counted,
            },
        )?;
        // Cells that a walk for a figure counted exactly are exact now.
        let counted = counted.into_inner();
        let cells = cells
            .into_iter()
            .map(|mut c| {
                if let Some(n) = counted.get(&(c.queue.clone(), c.state.clone())) {
                    c.figure = crate::estimate::Figure::Exact(*n);
                }
                c
            })
            .collect();
        Ok((cells, metrics))
    }

    fn read_only_sql(&self) -> (&'static str, &'static str) {
        // One snapshot for every figure of the pass; JIT compiles for longer than these
        // queries run.
        (
            "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL jit = off",
            "ROLLBACK",
        )
    }

    fn run_batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.batch_execute(sql)?)
    }

    /// Table size and vacuum state (PostgreSQL only).
    fn table_health(&mut self, schema: &Schema) -> Result<Option<TableHealth>> {
        let mut q = PgSql::new();
        let prefix = q.bind(&schema.prefix);
        // Summed over the leaves, so a partitioned table (whose parent holds nothing) reads
        // like an ordinary one; an ordinary table is its own only leaf.
        q.push(&format!(
            "SELECT sum(pg_total_relation_size(t.relid))::int8 AS total_bytes, \
                    sum(pg_relation_size(t.relid))::int8 AS table_bytes, \
                    sum(pg_indexes_size(t.relid))::int8 AS index_bytes, \
                    coalesce(sum(s.n_live_tup), 0)::int8 AS live_tuples, \
                    coalesce(sum(s.n_dead_tup), 0)::int8 AS dead_tuples, \
                    {} AS last_vacuum, {} AS last_autovacuum, {} AS last_analyze, {} AS last_autoanalyze \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL (SELECT p.relid FROM pg_partition_tree(c.oid) p WHERE p.isleaf \
                                 UNION ALL SELECT c.oid WHERE c.relkind = 'r') t \
             LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid \
             WHERE n.nspname = {prefix} AND c.relname = 'oban_jobs' \
             GROUP BY c.oid",
            pg_time("max(s.last_vacuum) AT TIME ZONE 'UTC'"),
            pg_time("max(s.last_autovacuum) AT TIME ZONE 'UTC'"),
            pg_time("max(s.last_analyze) AT TIME ZONE 'UTC'"),
            pg_time("max(s.last_autoanalyze) AT TIME ZONE 'UTC'"),
        ));
        let rows: Vec<TableHealth> = q.query().load(self)?;
        Ok(rows.into_iter().next())
    }

    /// Producers (oban-py), alive when their heartbeat is under 60 s old.
    fn producers(&mut self, schema: &Schema) -> Result<Option<Vec<Producer>>> {
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
        .load(self)?;
        Ok(Some(rows))
    }

    /// The node holding leadership now, if the schema tracks it.
    fn leader(&mut self, schema: &Schema) -> Result<Option<Leader>> {
        let Some(table) = &schema.leader_table else {
            return Ok(None);
        };
        let rows: Vec<Leader> = sql_query(format!(
            "SELECT node, {} AS expires_at FROM {}.{} \
             WHERE expires_at > timezone('UTC', now()) ORDER BY expires_at DESC LIMIT 1",
            pg_time("expires_at"),
            quote_ident(&schema.prefix),
            quote_ident(table)
        ))
        .load(self)?;
        Ok(rows.into_iter().next())
    }
}
