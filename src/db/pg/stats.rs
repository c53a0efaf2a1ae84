//! `oban stats` on PostgreSQL: the counts, then the per-queue figures, which use the counts to
//! decide how to read each queue.

use std::collections::BTreeMap;

use anyhow::Result;
use diesel::pg::PgConnection;

use super::cells::{self, CellOpts};
use super::figures::{self, FigureOpts};
use super::sample::{self, Budget};
use crate::db::stats::{Cell, QueueMetric, Sampling};
use crate::db::Schema;

/// Counts and figures of one pass.
pub fn figures(
    conn: &mut PgConnection,
    schema: &Schema,
    s: &Sampling,
) -> Result<(Vec<Cell>, Vec<QueueMetric>)> {
    if s.estimate_above.is_none() {
        let args = sample::Args {
            rescue_after: s.rescue_after,
            since: s.since.unwrap_or("-infinity").to_string(),
            seed: s.seed,
        };
        let (cells, mut metrics) = super::exact::figures(conn, schema, &args, s.since.is_some())?;
        let jobs = format!("{}.oban_jobs", crate::db::quote_ident(&schema.prefix));
        figures::latency(conn, &jobs, &mut metrics)?;
        return Ok((cells, metrics));
    }
    // The counts may use half of the budget; the per-queue figures get what is left.
    let timeout = sample::statement_timeout_ms(conn)?;
    let budget = Budget {
        limit: s.budget.map(|b| b / 2),
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
