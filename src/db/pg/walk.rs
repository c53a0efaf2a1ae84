//! Prune by walking the heap: a batch takes the eligible rows of a range of heap blocks in
//! physical order (a TID range scan, PostgreSQL 14+) and deletes them by ctid, in one
//! statement, falling back to locking them with SKIP LOCKED first when a row is held. Each page is read once and nothing is sorted, which is what a backlog needs
//! (most of the heap eligible) and what a state without a timestamp index needs (Elixir's
//! `completed_at`). [`plan`] chooses between this and the index walk once per pass.

use anyhow::{Context, Result};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{Double, Text};
use diesel::Connection;
use diesel::{QueryableByName, RunQueryDsl};

use super::eligible::{bind_targets, eligible_any, in_transaction, returning, Bound};
use super::{table, Pg, PgSql};
use crate::db::prune::{Batch, Deleted, DeletedRow, JobFilter, Plan, PrunableCount, Prune, Sink};

/// A pass walks the heap when at least this share of the table is eligible (the planner's
/// estimate), or when a pruned state has no timestamp index.
pub const WALK_SHARE: f64 = 0.3;

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = Double)]
    blocks: f64,
    #[diesel(sql_type = Double)]
    tuples: f64,
}

#[derive(QueryableByName)]
struct Explained {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// How this pass should find its rows (`whole.size` is one batch). The planner's estimate of the eligible rows decides
/// whether a walk could pay; a walk is then only chosen when a batch's worth is really there,
/// so that a pass right after a drain (before ANALYZE catches up) stays an index probe.
pub fn plan(conn: &mut Pg, whole: &Batch) -> Result<Plan> {
    let unindexed = whole
        .targets
        .iter()
        .any(|t| !whole.schema.indexed_final_states.contains(&t.state));
    if !unindexed {
        // Is a batch's worth (`whole.size`) there at all? The index walk's own candidates
        // answer that in a few milliseconds, so an idle pass costs what it always did; less
        // than a batch is one index batch away.
        let probe = Batch {
            size: whole.size.max(1),
            ..whole.clone()
        };
        let found: i64 = conn
            .count_prunable(&probe)
            .context("looking for eligible rows")?
            .iter()
            .map(|c| c.count)
            .sum();
        match found {
            0 => return Ok(Plan::Nothing),
            n if (n as u64) < probe.size => return Ok(Plan::Index),
            _ => {}
        }
    }
    let Some(size) = table_size(conn, whole)? else {
        return Ok(Plan::Index);
    };
    // The index walk reads, in age order, the eligible rows of every queue and worker and
    // drops those a filter leaves (a heap fetch each), so its cost follows the eligible rows
    // before filters; the walk's ranges are sized from those after them.
    let eligible = estimate(conn, whole, true)?;
    let unfiltered = if *whole.filter == JobFilter::default() {
        eligible
    } else {
        estimate(conn, whole, false)?
    };
    let backlog = size.tuples > 0.0 && unfiltered >= WALK_SHARE * size.tuples;
    // Without an index the index walk reads the table for its rows anyway: walking it once is
    // no dearer.
    Ok(if size.blocks >= 1.0 && (backlog || unindexed) {
        Plan::Walk {
            blocks: size.blocks as u64,
            density: (eligible / size.blocks).max(0.0),
        }
    } else {
        Plan::Index
    })
}

/// The heap's blocks and the planner's row count; None for a table that is not an ordinary one
/// (a partitioned table is never walked: its leaves go whole or in index batches).
fn table_size(conn: &mut Pg, whole: &Batch) -> Result<Option<Size>> {
    let mut sql = PgSql::new();
    let prefix = sql.bind(&whole.schema.prefix);
    sql.push(&format!(
        "SELECT (pg_relation_size(c.oid) / current_setting('block_size')::float8) AS blocks, \
                greatest(c.reltuples, 0)::float8 AS tuples \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {prefix} AND c.relname = 'oban_jobs' AND c.relkind = 'r'"
    ));
    let sizes: Vec<Size> = sql.query().load(conn).context("reading the table's size")?;
    Ok(sizes.into_iter().next())
}

/// The planner's estimate of the eligible rows, with the pass's filters or without them. Each
/// state's timestamp alone: the planner would multiply the state's share into
/// `state = 'completed' AND completed_at < …` as if the two were independent, when a timestamp
/// is only set on jobs in its state (or that were).
fn estimate(conn: &mut Pg, whole: &Batch, filtered: bool) -> Result<f64> {
    let jobs = table(&whole.schema.prefix, "oban_jobs");
    let mut sql = PgSql::new();
    let stamps: Vec<String> = whole
        .targets
        .iter()
        .map(|t| format!("{} < {}", t.state.column(), sql.stamp(&t.cutoff)))
        .collect();
    let filters = if filtered {
        whole.filter.sql(&mut sql, "")
    } else {
        String::new()
    };
    sql.push(&format!(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM {jobs} WHERE ({}){filters}",
        stamps.join(" OR ")
    ));
    let explained: Vec<Explained> = sql
        .query()
        .load(conn)
        .context("estimating the eligible rows")?;
    Ok(explained
        .first()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.plan).ok())
        .and_then(|v| v[0]["Plan"]["Plan Rows"].as_f64())
        .unwrap_or(0.0))
}

/// How long the first attempt at a batch waits for a row another transaction holds before it
/// gives way to the SKIP LOCKED form.
const FAST_WAIT: &str = "10ms";

/// The first attempt at a batch gave way: a row was held or changed by another transaction
/// (or the statement failed otherwise); the batch is taken again with SKIP LOCKED.
#[derive(Debug)]
struct GaveWay;

impl std::fmt::Display for GaveWay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a row of the batch is held or changed by another transaction")
    }
}

impl std::error::Error for GaveWay {}

/// Deletes the eligible rows of heap blocks `[from, to)`, at most `batch.size` of them, in one
/// transaction. First without row locks taken ahead: final-state rows are almost never held
/// by anyone, so a `DELETE` reads each page once and writes each row once. A row another
/// transaction holds makes it wait at most [`FAST_WAIT`] (a row changed since the batch's
/// snapshot fails it at once), then the batch is rolled back and taken again with SKIP LOCKED,
/// as a held row is skipped, never waited for.
pub fn delete_blocks(
    conn: &mut Pg,
    batch: &Batch,
    range: (u64, u64),
    sink: &mut Sink,
) -> Result<Deleted> {
    let first = if batch.archive {
        delete_returning(conn, batch, range, sink)
    } else {
        delete_counted(conn, batch, range)
    };
    match first {
        Err(e) if e.is::<GaveWay>() => delete_skipping(conn, batch, range, sink).map(Deleted::from),
        other => other,
    }
}

/// The placeholders of a block range's batch: its first and end TIDs and its size.
struct Range {
    lo: String,
    hi: String,
    size: String,
}

/// A walk batch's statement begun: the table, its targets bound over alias `j`, the range.
fn start(batch: &Batch, (from, to): (u64, u64)) -> (PgSql, String, Bound, Range) {
    let jobs = table(&batch.schema.prefix, "oban_jobs");
    let mut sql = PgSql::new();
    let bound = bind_targets(&mut sql, batch, "j.");
    let range = Range {
        lo: sql.bind(format!("({from},0)")),
        hi: sql.bind(format!("({to},0)")),
        size: sql.bind(batch.size),
    };
    (sql, jobs, bound, range)
}

/// One `DELETE` of the range's first `batch.size` eligible rows, each returned for the
/// archive, waiting at most [`FAST_WAIT`] for a row. Where the batch ends is read first (a
/// scalar subquery): the ctid of the range's `batch.size`-th eligible row, or its last. The
/// `DELETE` then takes the eligible rows up to it with a TID range scan of its own; both read
/// the statement's one snapshot, so the delete finds the rows the bound counted and no more,
/// and each row is visited as part of its page, never looked up alone by ctid. The
/// eligibility is the `DELETE`'s own filter, which PostgreSQL re-evaluates on a row's newest
/// version after waiting for its updater (a TID range is not re-checked there), so a job
/// retried under the statement is left alone. Keep it on the `DELETE`.
fn delete_returning(
    conn: &mut Pg,
    batch: &Batch,
    blocks: (u64, u64),
    sink: &mut Sink,
) -> Result<Deleted> {
    let (mut sql, jobs, bound, Range { lo, hi, size }) = start(batch, blocks);
    let inner_filters = batch.filter.sql(&mut sql, "k.");
    sql.push(&format!(
        "DELETE FROM {jobs} AS j \
         WHERE j.ctid >= {lo}::tid AND j.ctid <= (SELECT max(b.ctid) FROM ( \
             SELECT k.ctid FROM {jobs} k \
             WHERE k.ctid >= {lo}::tid AND k.ctid < {hi}::tid AND {inner}{inner_filters} \
             LIMIT {size}) b) \
         AND {outer}{filters} {returning}",
        inner = eligible_any(batch.targets, &bound, "k."),
        outer = eligible_any(batch.targets, &bound, "j."),
        filters = bound.filters,
        returning = returning(batch.archive, "NULL::text"),
    ));
    let query = sql.query();
    conn.transaction(|conn| {
        conn.batch_execute(&format!("SET LOCAL lock_timeout = '{FAST_WAIT}'"))?;
        // Any failure of the statement itself rolls back and lets the SKIP LOCKED form try
        // (a real fault fails there too, and is reported); the archive's failure is its own.
        let rows: Vec<DeletedRow> = match query.load(conn) {
            Ok(rows) if rows.len() as u64 <= batch.size => rows,
            // More rows than the bound counted cannot be (one snapshot, rows in physical
            // order); were it so, the batch would not be committed.
            _ => return Err(anyhow::Error::new(GaveWay)),
        };
        sink(&rows)?;
        Ok(Deleted::from(rows))
    })
}

/// Rows of one state and queue in a walk batch, and the ctid of the batch's last row.
#[derive(QueryableByName)]
struct Counted {
    #[diesel(embed)]
    cell: PrunableCount,
    #[diesel(sql_type = Text)]
    last: String,
}

/// A batch that is not archived, counted instead of returned: returning each deleted row
/// costs PostgreSQL a second fetch of it, and the client a row to read, which took a third of
/// a drain's time. In one REPEATABLE READ transaction, a `SELECT` counts the range's first
/// `batch.size` eligible rows by state and queue and finds the last one's ctid; the `DELETE`
/// then takes the eligible rows up to that ctid. Both see the transaction's one snapshot, so
/// they see the same rows, and a row changed by anyone since (a job retried, a row deleted
/// by another pruner) fails the `DELETE` instead of being re-read: the batch then gives way to
/// the SKIP LOCKED form. A `DELETE` that took another number of rows than counted gives way
/// too, so the counts reported are the rows deleted.
fn delete_counted(conn: &mut Pg, batch: &Batch, blocks: (u64, u64)) -> Result<Deleted> {
    let (mut sql, jobs, bound, Range { lo, hi, size }) = start(batch, blocks);
    sql.push(&format!(
        "SELECT c.state::text AS state, c.queue, count(*) AS count, \
                (max(max(c.ctid)) OVER ())::text AS last \
         FROM (SELECT j.ctid, j.state, j.queue FROM {jobs} j \
               WHERE j.ctid >= {lo}::tid AND j.ctid < {hi}::tid AND {eligible}{filters} \
               LIMIT {size}) c \
         GROUP BY c.state, c.queue",
        eligible = eligible_any(batch.targets, &bound, "j."),
        filters = bound.filters,
    ));
    let count = sql.query();
    let outcome = conn.build_transaction().repeatable_read().run(|conn| {
        conn.batch_execute(&format!("SET LOCAL lock_timeout = '{FAST_WAIT}'"))?;
        let cells: Vec<Counted> = count.load(conn)?;
        let Some(last) = cells.first().map(|c| c.last.clone()) else {
            return Ok(Deleted::default());
        };
        let (mut sql, jobs, bound, Range { lo, .. }) = start(batch, blocks);
        let last_block = block_of(&last);
        let last = sql.bind(last);
        sql.push(&format!(
            "DELETE FROM {jobs} AS j \
             WHERE j.ctid >= {lo}::tid AND j.ctid <= {last}::tid AND {eligible}{filters}",
            eligible = eligible_any(batch.targets, &bound, "j."),
            filters = bound.filters,
        ));
        let deleted = sql.query().execute(conn)? as i64;
        let counted: i64 = cells.iter().map(|c| c.cell.count).sum();
        if deleted != counted {
            return Err(anyhow::Error::new(GaveWay));
        }
        Ok(Deleted {
            rows: Vec::new(),
            last_block,
            counted: cells.into_iter().map(|c| c.cell).collect(),
        })
    });
    // A lock not granted in time, a row changed since the snapshot, a count that differs:
    // the SKIP LOCKED form takes the batch (and reports a real fault itself).
    outcome.map_err(|_: anyhow::Error| anyhow::Error::new(GaveWay))
}

/// The block of a ctid's text form, `(block,offset)`.
fn block_of(ctid: &str) -> Option<u64> {
    ctid.trim_start_matches('(').split(',').next()?.parse().ok()
}

/// The same batch with its rows locked first with SKIP LOCKED (never waiting on a worker or
/// another pruner, and no deadlock: the DELETE touches only rows this transaction locked) and
/// deleted by ctid, which a locked row cannot change.
fn delete_skipping(
    conn: &mut Pg,
    batch: &Batch,
    blocks: (u64, u64),
    sink: &mut Sink,
) -> Result<Vec<DeletedRow>> {
    let (mut sql, jobs, bound, Range { lo, hi, size }) = start(batch, blocks);
    sql.push(&format!(
        "WITH locked AS MATERIALIZED ( \
           SELECT j.ctid FROM {jobs} j \
           WHERE j.ctid >= {lo}::tid AND j.ctid < {hi}::tid AND {eligible}{filters} \
           LIMIT {size} FOR UPDATE OF j SKIP LOCKED) \
         DELETE FROM {jobs} AS j WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM locked)) \
         {returning}",
        eligible = eligible_any(batch.targets, &bound, "j."),
        filters = bound.filters,
        returning = returning(batch.archive, "NULL::text"),
    ));
    in_transaction(conn, sql.query(), sink)
}
