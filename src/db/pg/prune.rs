//! Prune on PostgreSQL: the oldest (or newest) eligible rows of each final state, read from
//! that state's timestamp index where there is one, merged by age, locked with SKIP LOCKED and
//! deleted by (tableoid, ctid): a ctid alone is not unique across the leaves of a partitioned
//! table. There, rows in leaves that go whole (see `commands::prune::leaves`) are left to that.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::eligible::{bind_targets, eligible_any, in_transaction, older, returning, Bound};
use super::{moved, table, Pg, PgSql};
use crate::db::prune::{
    Batch, Deleted, End, JobFilter, Mark, Plan, PrunableCount, Prune, Sink, Targets,
};
use crate::db::{CountValue, Schema};
use crate::model::FinalState;

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
