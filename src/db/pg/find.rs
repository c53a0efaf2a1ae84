//! Error grouping, the scan check and the count of matching jobs on PostgreSQL; the find-by
//! filters become conditions in `jobs::job_where`, beside the other job filters.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::jobs::{job_where, LAST_ERROR};
use super::{table, Pg, PgSql};
use crate::db::find::{Count, ErrorGroup, Search};
use crate::db::{JobQuery, Schema};

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

impl Search for Pg {
    /// Distinct last-error lines with their job counts, in a read-only transaction.
    fn error_groups(&mut self, schema: &Schema, q: &JobQuery) -> Result<Vec<ErrorGroup>> {
        let conn = self;
        let mut sql = PgSql::new();
        let cond = job_where(&mut sql, schema, q);
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
    fn scans(&mut self, schema: &Schema, q: &JobQuery) -> Result<bool> {
        let conn = self;
        #[derive(diesel::QueryableByName)]
        struct Plan {
            #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
            plan: String,
        }
        let mut sql = PgSql::new();
        let cond = job_where(&mut sql, schema, q);
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

    /// How many jobs the query matches, in a read-only transaction.
    fn count_jobs(&mut self, schema: &Schema, q: &JobQuery) -> Result<u64> {
        let conn = self;
        let mut sql = PgSql::new();
        let cond = job_where(&mut sql, schema, q);
        sql.push(&format!(
            "SELECT count(*)::bigint AS n FROM {} j WHERE {cond}",
            table(&schema.prefix, "oban_jobs")
        ));
        let query = sql.query();
        let rows: Vec<Count> = conn
            .build_transaction()
            .read_only()
            .run(|c| query.load(c))?;
        Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
    }
}
