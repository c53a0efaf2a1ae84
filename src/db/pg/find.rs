//! The find-by filters, error grouping and scan check on PostgreSQL.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::{table, Pg, PgSql};
use crate::db::find::{ErrorGroup, Find};
use crate::db::{JobQuery, Schema};

/// The last recorded error's text: `to_jsonb` reads oban-py's `errors jsonb` and Elixir's
/// `jsonb[]` alike as one JSON array.
const LAST_ERROR: &str = "(to_jsonb(j.errors)->-1->>'error')";

/// The conditions of the find-by filters (alias `j`), values bound into `sql`.
pub fn conditions(sql: &mut PgSql, find: &Find) -> Vec<String> {
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

/// Distinct last-error lines with their job counts, in a read-only transaction.
pub fn error_groups(conn: &mut Pg, schema: &Schema, q: &JobQuery) -> Result<Vec<ErrorGroup>> {
    let mut sql = PgSql::new();
    let cond = super::jobs::job_where(&mut sql, schema, q);
    let limit = sql.bind(q.limit);
    // The line that names the failure: a Python traceback ends with it, an Elixir error
    // starts with it.
    sql.push(&format!(
        "SELECT error, count(*)::bigint AS jobs, count(DISTINCT worker)::bigint AS workers, \
           max(id)::bigint AS example \
         FROM (SELECT j.id, j.worker, btrim(CASE WHEN e LIKE 'Traceback%' \
                 THEN substring(rtrim(e, E'\\n\\r\\t ') FROM '[^\\n]*$') \
                 ELSE split_part(e, E'\\n', 1) END) AS error \
               FROM (SELECT j.id, j.worker, {LAST_ERROR} AS e FROM {jobs} j WHERE {cond}) j \
               WHERE e IS NOT NULL) g \
         GROUP BY error ORDER BY jobs DESC, error LIMIT {limit}",
        jobs = table(&schema.prefix, "oban_jobs"),
    ));
    let query = sql.query();
    Ok(conn
        .build_transaction()
        .read_only()
        .run(|c| query.load::<ErrorGroup>(c))?)
}

/// Whether the plan of the job list reads a whole table.
pub fn scans(conn: &mut Pg, schema: &Schema, q: &JobQuery) -> Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        plan: String,
    }
    let mut sql = PgSql::new();
    let cond = super::jobs::job_where(&mut sql, schema, q);
    let limit = sql.bind(q.limit);
    sql.push(&format!(
        "EXPLAIN (FORMAT JSON) SELECT j.id FROM {} j WHERE {cond} LIMIT {limit}",
        table(&schema.prefix, "oban_jobs")
    ));
    let plans: Vec<Plan> = sql.query().load(conn)?;
    let found = plans.iter().any(|p| {
        serde_json::from_str::<serde_json::Value>(&p.plan).is_ok_and(|v| has_seq_scan(&v))
    });
    Ok(found)
}

fn has_seq_scan(node: &serde_json::Value) -> bool {
    match node {
        serde_json::Value::Object(map) => {
            map.get("Node Type").and_then(|t| t.as_str()) == Some("Seq Scan")
                || map.values().any(has_seq_scan)
        }
        serde_json::Value::Array(items) => items.iter().any(has_seq_scan),
        _ => false,
    }
}

/// How many jobs the query matches, in a read-only transaction.
pub fn count_jobs(conn: &mut Pg, schema: &Schema, q: &JobQuery) -> Result<u64> {
    let mut sql = PgSql::new();
    let cond = super::jobs::job_where(&mut sql, schema, q);
    sql.push(&format!(
        "SELECT count(*)::bigint AS n FROM {} j WHERE {cond}",
        table(&schema.prefix, "oban_jobs")
    ));
    let query = sql.query();
    let rows: Vec<crate::db::find::Count> = conn
        .build_transaction()
        .read_only()
        .run(|c| query.load(c))?;
    Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
}
