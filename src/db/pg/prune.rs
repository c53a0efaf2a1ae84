//! Prune on PostgreSQL: the oldest (or newest) eligible rows of each final state, read from
//! that state's timestamp index where there is one, merged by age, locked with SKIP LOCKED and
//! deleted by (tableoid, ctid): a ctid alone is not unique across the leaves of a partitioned
//! table. There, rows in leaves that go whole (see `commands::prune::leaves`) are left to that.

use anyhow::Result;
use diesel::{Connection, RunQueryDsl};

use super::{moved, table, Pg, PgSql};
use crate::db::prune::{
    Batch, Deleted, DeletedRow, End, JobFilter, Mark, Plan, PrunableCount, Prune, Sink, Targets,
};
use crate::db::sql::Query;
use crate::db::{CountValue, Schema};
use crate::model::FinalState;
use diesel::pg::Pg as Backend;

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
fn older(state: FinalState, bound: &Bound, i: usize, alias: &str) -> String {
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

/// The first `limit` prunable rows from `end` over all targets, as `(tableoid, ctid, t, state,
/// queue)`: one branch per state, each read from that state's timestamp index when there is
/// one (a branch without an index takes any eligible rows rather than sorting the whole
/// table), merged by age. `reached` (a bound placeholder) is where the last batch's candidates
/// began: no eligible row lies beyond it that was not a candidate then, so each branch starts
/// there instead of reading again the rows that filters leave behind.
fn candidates(
    schema: &Schema,
    targets: &Targets,
    bound: &Bound,
    limit: &str,
    (end, reached): (End, Option<&str>),
) -> String {
    let dir = if end == End::Newest { " DESC" } else { "" };
    let from = |col: &str| match (reached, end) {
        (Some(at), End::Oldest) => format!(" AND {col} >= {at}"),
        (Some(at), End::Newest) => format!(" AND {col} <= {at}"),
        (None, _) => String::new(),
    };
    let jobs = table(&schema.prefix, "oban_jobs");
    let branches: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (state, col) = (&t.state, t.state.column());
            let order = if schema.indexed_final_states.contains(state) {
                format!("ORDER BY {col}{dir} ")
            } else {
                String::new()
            };
            format!(
                "(SELECT tableoid, ctid, {col} AS t, state::text AS state, queue FROM {jobs} \
                  WHERE {rows}{from}{filters} {order}LIMIT {limit})",
                rows = older(*state, bound, i, ""),
                from = from(col),
                filters = bound.filters,
            )
        })
        .collect();
    format!(
        "SELECT tableoid, ctid, t, state, queue FROM ({}) u ORDER BY t{dir} LIMIT {limit}",
        branches.join(" UNION ALL ")
    )
}

/// On a partitioned table, `AND (j.tableoid, j.ctid) IN (…)`: each leaf numbers its own
/// ctids, so a ctid alone could name rows in other leaves. An ordinary table's ctid is unique,
/// and the extra join would cost a plain Tid Scan its speed, so it is left out there.
fn same_leaf(schema: &Schema, cte: &str) -> String {
    if schema.partitions.is_some() {
        format!("AND (j.tableoid, j.ctid) IN (SELECT tableoid, ctid FROM {cte}) ")
    } else {
        String::new()
    }
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

/// Candidates read for a batch of `n`: a margin for rows other sessions hold locked.
fn candidate_count(n: u64) -> u64 {
    n + (n / 8).max(16)
}

impl Prune for Pg {
    fn count_prunable(&mut self, batch: &Batch) -> Result<Vec<PrunableCount>> {
        let mut sql = PgSql::new();
        let bound = bind_targets(&mut sql, batch, "");
        let limit = sql.bind(batch.size);
        sql.push(&format!(
            "SELECT state, queue, count(*) AS count FROM ({}) c GROUP BY 1, 2 ORDER BY 1, 2",
            candidates(
                batch.schema,
                batch.targets,
                &bound,
                &limit,
                (End::Oldest, None)
            )
        ));
        Ok(sql.query().load(self)?)
    }

    fn count_eligible(&mut self, batch: &Batch) -> Result<u64> {
        let jobs = table(&batch.schema.prefix, "oban_jobs");
        let mut sql = PgSql::new();
        let bound = bind_targets(&mut sql, batch, "");
        let parts: Vec<String> = batch
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let rows = older(t.state, &bound, i, "");
                format!(
                    "(SELECT count(*) FROM {jobs} WHERE {rows}{})",
                    bound.filters
                )
            })
            .collect();
        sql.push(&format!("SELECT ({})::bigint AS n", parts.join(" + ")));
        let rows: Vec<CountValue> = sql.query().load(self)?;
        Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
    }

    fn delete_batch(&mut self, batch: &Batch, sink: &mut Sink) -> Result<Deleted> {
        if let Some(blocks) = batch.cursor.walked() {
            return super::walk::delete_blocks(self, batch, blocks, sink);
        }
        let jobs = table(&batch.schema.prefix, "oban_jobs");
        // Oldest first across the states, so rows that sit together on disk (ids follow time)
        // go in the same batch and each page is rewritten once. A few more candidates than the
        // batch are read, so some rows held by other sessions do not stall the pass. The
        // candidates are then locked with SKIP LOCKED, re-checking that each is still prunable:
        // this never waits on a row that a running Oban (or another pruner) holds, and two
        // deleters cannot deadlock because the DELETE only touches rows this transaction has
        // locked. Locked rows cannot move, so their ctid is a stable, cheap address for the
        // delete (a Tid Scan).
        let mut sql = PgSql::new();
        let bound = bind_targets(&mut sql, batch, "");
        let limit = sql.bind(candidate_count(batch.size));
        let size = sql.bind(batch.size);
        // Resuming where the last batch's candidates began needs each branch to read its rows
        // in order; a branch without an index reads any.
        let ordered = batch
            .targets
            .iter()
            .all(|t| batch.schema.indexed_final_states.contains(&t.state));
        let reached = match batch.cursor.reached() {
            Some(at) if ordered => Some(sql.stamp(at)),
            _ => None,
        };
        let recheck = bind_targets(&mut sql, batch, "j.");
        let edge = format!(
            "(SELECT to_char({}(t), 'YYYY-MM-DD\"T\"HH24:MI:SS.US') FROM candidates)",
            if batch.cursor.end == End::Newest {
                "max"
            } else {
                "min"
            }
        );
        sql.push(&format!(
            "WITH candidates AS MATERIALIZED ({cands}), \
             locked AS MATERIALIZED ( \
               SELECT j.tableoid, j.ctid FROM {jobs} j \
                WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM candidates)) \
                  {pair_candidates}\
                  AND {eligible}{filters} LIMIT {size} FOR UPDATE OF j SKIP LOCKED) \
             DELETE FROM {jobs} AS j WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM locked)) \
               {pair_locked}\
             {returning}",
            returning = returning(batch.archive, &edge),
            cands = candidates(
                batch.schema,
                batch.targets,
                &bound,
                &limit,
                (batch.cursor.end, reached.as_deref())
            ),
            eligible = eligible_any(batch.targets, &recheck, "j."),
            pair_candidates = same_leaf(batch.schema, "candidates"),
            // The locked rows are still eligible; saying so again lets PostgreSQL prune the
            // DELETE to the leaves they can be in instead of probing every leaf's ctids.
            pair_locked = match same_leaf(batch.schema, "locked") {
                pair if pair.is_empty() => pair,
                pair => format!("{pair}AND {} ", eligible_any(batch.targets, &recheck, "j.")),
            },
            filters = recheck.filters,
        ));
        // A row moved out of its leaf under the statement (a retry racing the prune) fails it
        // with 40001: run it again on a new snapshot; if that keeps failing, the batch deletes
        // nothing and the drain ends, leaving the rest for the next pass.
        let run = moved::retry(self, |conn| in_transaction(conn, sql.clone().query(), sink));
        match run {
            Err(e) if moved::moved(&e) => Ok(Deleted::default()),
            other => other.map(Deleted::from),
        }
    }

    fn keep_mark(
        &mut self,
        schema: &Schema,
        states: &[FinalState],
        filter: &JobFilter,
        n: u64,
    ) -> Result<Option<Mark>> {
        // Each state's newest n from its timestamp index (an index walk backwards, ties by id
        // sorted within equal timestamps), merged; the n-th of the merge is the mark.
        let jobs = table(&schema.prefix, "oban_jobs");
        let mut sql = PgSql::new();
        let limit = sql.bind(n);
        let offset = sql.bind(n.saturating_sub(1));
        let branches: Vec<String> = states
            .iter()
            .map(|state| {
                let col = state.column();
                format!(
                    "(SELECT {col} AS t, id FROM {jobs} WHERE state = '{}' AND {col} IS NOT NULL{} \
                      ORDER BY {col} DESC, id DESC LIMIT {limit})",
                    state.name(),
                    filter.sql(&mut sql, "")
                )
            })
            .collect();
        sql.push(&format!(
            "SELECT to_char(t, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS at, id FROM ({}) u \
             ORDER BY t DESC, id DESC LIMIT 1 OFFSET {offset}",
            branches.join(" UNION ALL ")
        ));
        let marks: Vec<Mark> = sql.query().load(self)?;
        Ok(marks.into_iter().next())
    }

    fn plan(&mut self, whole: &Batch) -> Result<Plan> {
        super::walk::plan(self, whole)
    }
}
