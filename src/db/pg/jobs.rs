//! Selecting, reading and acting on jobs on PostgreSQL.

use anyhow::Result;
use diesel::{Connection, RunQueryDsl};

use super::{moved, table, Pg, PgSql, NOW};
use crate::db::find::Find;
use crate::db::jobs::{
    age_conditions, age_expr, ActedJob, Change, JobAction, JobJson, JobQuery, JobStateRow, Jobs,
};
use crate::db::Schema;
use crate::model::{SortKey, TIMESTAMPS};

/// The WHERE clause for a job query (alias `j`), its values bound into `sql`.
pub(super) fn job_where(sql: &mut PgSql, schema: &Schema, q: &JobQuery) -> String {
    let mut w = vec!["true".to_string()];
    if !q.ids.is_empty() {
        w.push(format!("j.id = ANY({}::bigint[])", sql.bind(&q.ids[..])));
    }
    if !q.states.is_empty() {
        // Only the labels the enum has: a missing one is an error in SQL, and no job is in it.
        let states = schema.existing_states(&q.states);
        if states.is_empty() {
            w.push("false".into());
        }
        // Cast to the enum so the (state, queue, …) index applies.
        w.push(format!(
            "j.state = ANY({}::text[]::{}[])",
            sql.bind(&states),
            table(&schema.prefix, "oban_job_state")
        ));
    }
    if !q.queues.is_empty() {
        w.push(format!("j.queue = ANY({}::text[])", sql.bind(&q.queues)));
    }
    if !q.workers.is_empty() {
        w.push(format!("j.worker = ANY({}::text[])", sql.bind(&q.workers)));
    }
    if !q.tags.is_empty() {
        // Tables first installed before Oban 2.18.1 keep `tags varchar(255)[]`.
        w.push(format!("j.tags::text[] && {}::text[]", sql.bind(&q.tags)));
    }
    if !q.nodes.is_empty() {
        w.push(format!(
            "j.attempted_by[1] = ANY({}::text[])",
            sql.bind(&q.nodes)
        ));
    }
    if let Some(args) = &q.args {
        w.push(format!("j.args @> {}::jsonb", sql.bind(args)));
    }
    w.extend(find_conditions(sql, &q.find));
    w.extend(age_conditions(
        sql,
        q,
        "j.",
        |column| column.to_string(),
        |p| format!("{NOW} - make_interval(secs => {p})"),
    ));
    w.join(" AND ")
}

fn sort_column(key: SortKey) -> String {
    match key {
        SortKey::State => "j.state::text".into(),
        key => format!("j.{}", key.column()),
    }
}

/// Every column as one JSON object: `to_jsonb` turns oban-py's `errors jsonb` and Elixir's
/// `jsonb[]` alike into a JSON array (and a NULL array into null); times get a `Z`.
fn job_json() -> String {
    let ts = |c: &str| format!("'{c}', to_char(j.{c}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    format!(
        "json_build_object('id', j.id, 'state', j.state::text, 'queue', j.queue, \
           'worker', j.worker, 'attempt', j.attempt, 'max_attempts', j.max_attempts, \
           'priority', j.priority, 'args', j.args, 'meta', j.meta, 'tags', to_jsonb(j.tags), \
           'errors', to_jsonb(j.errors), 'attempted_by', to_jsonb(j.attempted_by), \
           {})::text",
        TIMESTAMPS.map(ts).join(", ")
    )
}

impl Jobs for Pg {
    fn job_rows(&mut self, schema: &Schema, q: &JobQuery) -> Result<Vec<JobJson>> {
        let mut sql = PgSql::new();
        let cond = job_where(&mut sql, schema, q);
        let limit = sql.bind(q.limit);
        let dir = if q.desc { "DESC" } else { "ASC" };
        sql.push(&format!(
            "SELECT {row} AS json, extract(epoch FROM {NOW} - {ts})::float8 AS age \
             FROM {jobs} j WHERE {cond} ORDER BY {sort} {dir} NULLS LAST, j.id {dir} LIMIT {limit}",
            row = job_json(),
            ts = age_expr(q.basis, "j."),
            jobs = table(&schema.prefix, "oban_jobs"),
            sort = sort_column(q.sort),
        ));
        let query = sql.query();
        // A read-only transaction: inspect can never write.
        Ok(self
            .build_transaction()
            .read_only()
            .run(|c| query.load::<JobJson>(c))?)
    }

    fn act_batch(&mut self, schema: &Schema, change: &Change) -> Result<Vec<ActedJob>> {
        let (action, ids, eligible) = (change.action, change.ids, change.eligible);
        let jobs = table(&schema.prefix, "oban_jobs");
        let enum_type = table(&schema.prefix, "oban_job_state");
        let change = match action {
            JobAction::Retry => format!(
                "UPDATE {jobs} AS j SET state = 'available', scheduled_at = {NOW}, \
                   max_attempts = GREATEST(j.max_attempts, j.attempt + 1), \
                   completed_at = NULL, cancelled_at = NULL, discarded_at = NULL FROM batch b"
            ),
            JobAction::Cancel => format!(
                "UPDATE {jobs} AS j SET state = 'cancelled', cancelled_at = {NOW} FROM batch b"
            ),
            JobAction::Delete => format!("DELETE FROM {jobs} AS j USING batch b"),
        };
        let eligible = schema.existing_states(eligible);
        if eligible.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = PgSql::new();
        let ids = sql.bind(ids);
        let states = sql.bind(&eligible);
        // Rows are locked with SKIP LOCKED first, so a job a worker is updating right now is
        // left alone (and reported as locked by the caller) rather than waited for.
        sql.push(&format!(
            "WITH batch AS MATERIALIZED (\
               SELECT id, state FROM {jobs} WHERE id = ANY({ids}::bigint[]) \
                 AND state = ANY({states}::text[]::{enum_type}[]) FOR UPDATE SKIP LOCKED) \
             {change} WHERE j.id = b.id \
             RETURNING j.id, b.state::text AS state, j.queue, j.worker, j.attempt::bigint AS attempt, \
               j.max_attempts::bigint AS max_attempts"
        ));
        // Run again when a job moved to another partition under the statement (40001).
        moved::retry(self, |conn| {
            let query = sql.clone().query();
            conn.transaction(|conn| Ok(query.load(conn)?))
        })
    }

    fn job_states(&mut self, schema: &Schema, ids: &[i64]) -> Result<Vec<JobStateRow>> {
        let mut sql = PgSql::new();
        let ids = sql.bind(ids);
        sql.push(&format!(
            "SELECT id, state::text AS state FROM {} WHERE id = ANY({ids}::bigint[]) ORDER BY id",
            table(&schema.prefix, "oban_jobs")
        ));
        Ok(sql.query().load(self)?)
    }
}

/// The last recorded error's text: `to_jsonb` reads oban-py's `errors jsonb` and Elixir's
/// `jsonb[]` alike as one JSON array.
pub(super) const LAST_ERROR: &str = "(to_jsonb(j.errors)->-1->>'error')";

/// The conditions of the find-by filters (alias `j`), values bound into `sql`.
fn find_conditions(sql: &mut PgSql, find: &Find) -> Vec<String> {
    let mut w = vec![];
    if let Some(text) = &find.error {
        // strpos, not LIKE: the operator's text is matched literally, `%` and `_` included.
        w.push(format!(
            "strpos(lower({LAST_ERROR}), lower({})) > 0",
            sql.bind(text)
        ));
    }
    if let Some(meta) = &find.meta {
        w.push(format!("j.meta @> {}::jsonb", sql.bind(meta)));
    }
    if !find.priorities.is_empty() {
        w.push(format!(
            "j.priority = ANY({}::bigint[])",
            sql.bind(&find.priorities[..])
        ));
    }
    if let Some(min) = find.id_min {
        w.push(format!("j.id >= {}", sql.bind(min)));
    }
    if let Some(max) = find.id_max {
        w.push(format!("j.id <= {}", sql.bind(max)));
    }
    w
}
