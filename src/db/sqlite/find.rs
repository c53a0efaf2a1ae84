//! The find-by filters, error grouping and scan check on SQLite (Oban Lite).

use anyhow::Result;
use diesel::RunQueryDsl;

use super::{Lite, LiteSql};
use crate::db::find::{ErrorGroup, Find};
use crate::db::JobQuery;

/// The last recorded error's text (errors are JSON text; invalid JSON counts as none).
const LAST_ERROR: &str =
    "json_extract(CASE WHEN json_valid(errors) THEN errors ELSE '[]' END, '$[#-1].error')";

/// The conditions of the find-by filters, values bound into `sql`.
pub fn conditions(sql: &mut LiteSql, find: &Find) -> Vec<String> {
    let mut w = vec![];
    if let Some(text) = &find.error {
        // instr, not LIKE: the text is matched literally. SQLite's lower() folds ASCII only.
        w.push(format!(
            "instr(lower({LAST_ERROR}), lower({})) > 0",
            sql.bind(text)
        ));
    }
    if let Some(meta) = &find.meta {
        // Containment on top-level keys, as `--args` has it on SQLite.
        let p = sql.bind(meta);
        w.push(format!(
            "NOT EXISTS (SELECT 1 FROM json_each({p}) f WHERE NOT EXISTS (\
               SELECT 1 FROM json_each(CASE WHEN json_valid(meta) THEN meta ELSE '{{}}' END) a \
                 WHERE a.key = f.key AND a.value IS f.value \
                 AND (a.type = f.type OR (a.type IN ('integer', 'real') \
                                          AND f.type IN ('integer', 'real')))))"
        ));
    }
    if !find.priorities.is_empty() {
        let p = sql.bind(&find.priorities[..]);
        w.push(format!("priority IN (SELECT value FROM json_each({p}))"));
    }
    if let Some(min) = find.id_min {
        w.push(format!("id >= {}", sql.bind(min)));
    }
    if let Some(max) = find.id_max {
        w.push(format!("id <= {}", sql.bind(max)));
    }
    w
}

/// Distinct last-error lines (the first line of each: Lite's errors are Elixir's) with counts.
pub fn error_groups(conn: &mut Lite, q: &JobQuery) -> Result<Vec<ErrorGroup>> {
    let mut sql = LiteSql::new();
    let cond = super::jobs::job_where(&mut sql, q);
    let limit = sql.bind(q.limit);
    sql.push(&format!(
        "SELECT error, count(*) AS jobs, count(DISTINCT worker) AS workers, max(id) AS example \
         FROM (SELECT id, worker, trim(CASE WHEN instr(e, char(10)) > 0 \
                 THEN substr(e, 1, instr(e, char(10)) - 1) ELSE e END) AS error \
               FROM (SELECT id, worker, {LAST_ERROR} AS e FROM oban_jobs WHERE {cond}) \
               WHERE e IS NOT NULL) \
         GROUP BY error ORDER BY jobs DESC, error LIMIT {limit}"
    ));
    Ok(sql.query().load(conn)?)
}

/// Whether SQLite's plan for the job list scans the table rather than searching an index.
pub fn scans(conn: &mut Lite, q: &JobQuery) -> Result<bool> {
    #[derive(diesel::QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let mut sql = LiteSql::new();
    let cond = super::jobs::job_where(&mut sql, q);
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
pub fn count_jobs(conn: &mut Lite, q: &JobQuery) -> Result<u64> {
    let mut sql = LiteSql::new();
    let cond = super::jobs::job_where(&mut sql, q);
    sql.push(&format!("SELECT count(*) AS n FROM oban_jobs WHERE {cond}"));
    let rows: Vec<crate::db::find::Count> = sql.query().load(conn)?;
    Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
}
