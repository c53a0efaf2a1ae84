//! Error grouping, the scan check and the count of matching jobs on SQLite (Oban Lite); the
//! find-by filters become conditions in `jobs::job_where`, beside the other job filters.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::jobs::{job_where, LAST_ERROR};
use super::{Lite, LiteSql};
use crate::db::find::{Count, ErrorGroup, Search};
use crate::db::{JobQuery, Schema};

impl Search for Lite {
    /// Distinct last-error lines with counts: the line that names the failure, the last of a
    /// Python traceback (what `oban seed` writes), else the first (an Elixir error).
    fn error_groups(&mut self, _schema: &Schema, q: &JobQuery) -> Result<Vec<ErrorGroup>> {
        let conn = self;
        let mut sql = LiteSql::new();
        let cond = job_where(&mut sql, q);
        let limit = sql.bind(q.limit);
        // SQLite has no search from the end: rtrim by every character of `t` but the newline
        // leaves `t` up to its last newline, and what follows is the last line.
        sql.push(&format!(
            "SELECT error, count(*) AS jobs, count(DISTINCT worker) AS workers, max(id) AS example \
             FROM (SELECT id, worker, trim(CASE \
                     WHEN e LIKE 'Traceback%' \
                       THEN substr(t, length(rtrim(t, replace(t, char(10), ''))) + 1) \
                     WHEN instr(e, char(10)) > 0 THEN substr(e, 1, instr(e, char(10)) - 1) \
                     ELSE e END) AS error \
                   FROM (SELECT id, worker, e, rtrim(e, ' ' || char(9) || char(10) || char(13)) AS t \
                         FROM (SELECT id, worker, {LAST_ERROR} AS e FROM oban_jobs WHERE {cond})) \
                   WHERE e IS NOT NULL) \
             GROUP BY error ORDER BY jobs DESC, error LIMIT {limit}"
        ));
        Ok(sql.query().load(conn)?)
    }

    /// Whether SQLite's plan for the job list scans the table rather than searching an index.
    fn scans(&mut self, _schema: &Schema, q: &JobQuery) -> Result<bool> {
        let conn = self;
        #[derive(diesel::QueryableByName)]
        struct Step {
            #[diesel(sql_type = diesel::sql_types::Text)]
            detail: String,
        }
        let mut sql = LiteSql::new();
        let cond = job_where(&mut sql, q);
        let limit = sql.bind(q.limit);
        sql.push(&format!(
            "EXPLAIN QUERY PLAN SELECT id FROM oban_jobs WHERE {cond} LIMIT {limit}"
        ));
        let steps: Vec<Step> = sql.query().load(conn)?;
        Ok(steps
            .iter()
            .any(|s| s.detail.starts_with("SCAN") && s.detail.contains("oban_jobs")))
    }

    /// How many jobs the query matches.
    fn count_jobs(&mut self, _schema: &Schema, q: &JobQuery) -> Result<u64> {
        let conn = self;
        let mut sql = LiteSql::new();
        let cond = job_where(&mut sql, q);
        sql.push(&format!("SELECT count(*) AS n FROM oban_jobs WHERE {cond}"));
        let rows: Vec<Count> = sql.query().load(conn)?;
        Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
    }
}
