//! The conditions and clauses of prune's delete that the index path (`prune.rs`) and the heap
//! walk (`walk.rs`) share: each target's cutoff, keep mark and floor bound once, the eligible
//! rows' condition, the RETURNING clause and the transaction a batch runs in.

use anyhow::Result;
use diesel::pg::Pg as Backend;
use diesel::{Connection, RunQueryDsl};

use super::{Pg, PgSql};
use crate::db::prune::{Batch, DeletedRow, JobFilter, Sink, Targets};
use crate::db::sql::Query;
use crate::model::FinalState;

/// The placeholders of one statement's cutoffs (one per target, in order), keep marks' ids,
/// floors and filters.
pub(super) struct Bound {
    cutoffs: Vec<String>,
    ties: Vec<Option<String>>,
    floors: Vec<Option<String>>,
    pub(super) filters: String,
}

pub(super) fn bind_targets(sql: &mut PgSql, batch: &Batch, alias: &str) -> Bound {
    let (targets, filter) = (batch.targets, batch.filter);
    // On a partitioned table without filters, rows below the end of the newest leaf that goes
    // whole are that leaf's business: batches take only the rest.
    let floors = targets
        .iter()
        .map(|t| match &batch.schema.partitions {
            Some(layout) if *filter == JobFilter::default() => {
                layout.floor(t.state, &t.cutoff).map(|f| sql.stamp(f))
            }
            _ => None,
        })
        .collect();
    Bound {
        cutoffs: targets.iter().map(|t| sql.stamp(&t.cutoff)).collect(),
        ties: targets
            .iter()
            .map(|t| t.below_id.map(|id| sql.bind(id)))
            .collect(),
        floors,
        filters: filter.sql(sql, alias),
    }
}

/// `(state = 'completed' AND completed_at < $1::timestamp) OR …` for every target (each
/// moment bound with [`PgSql::stamp`]). States are
/// literals so the planner can match each partial index predicate.
pub(super) fn eligible_any(targets: &Targets, bound: &Bound, alias: &str) -> String {
    let parts: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| format!("({})", older(t.state, bound, i, alias)))
        .collect();
    format!("({})", parts.join(" OR "))
}

/// `state = 'completed' AND completed_at < $n::timestamp` (over `alias`, with its dot) for
/// target `i`, and `AND completed_at >= $m::timestamp` when it has a floor. With a keep mark,
/// `completed_at <= $n AND (completed_at < $n OR id < $k)`: the bound still serves the index.
pub(super) fn older(state: FinalState, bound: &Bound, i: usize, alias: &str) -> String {
    let col = state.column();
    let floor = match &bound.floors[i] {
        Some(f) => format!(" AND {alias}{col} >= {f}"),
        None => String::new(),
    };
    let cutoff = &bound.cutoffs[i];
    let stamp = match &bound.ties[i] {
        Some(id) => {
            format!("{alias}{col} <= {cutoff} AND ({alias}{col} < {cutoff} OR {alias}id < {id})")
        }
        None => format!("{alias}{col} < {cutoff}"),
    };
    format!("{alias}state = '{}' AND {stamp}{floor}", state.name())
}

/// The RETURNING clause of a delete: each row's id, state and queue, the whole row as JSON
/// when archiving, and `at` (SQL text) as `at`.
pub(super) fn returning(archive: bool, at: &str) -> String {
    let row = if archive {
        "row_to_json(j)::text"
    } else {
        "NULL::text"
    };
    format!("RETURNING j.id, j.state::text AS state, j.queue AS queue, {row} AS row, {at} AS at")
}

/// Runs a delete in its own transaction; `sink` (the archive) sees the rows before the commit
/// and can veto it by failing.
pub(super) fn in_transaction(
    conn: &mut Pg,
    query: Query<Backend>,
    sink: &mut Sink,
) -> Result<Vec<DeletedRow>> {
    conn.transaction(|conn| {
        let rows: Vec<DeletedRow> = query.load(conn)?;
        sink(&rows)?;
        Ok(rows)
    })
}
