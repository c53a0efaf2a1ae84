//! Selecting, reading and acting on jobs on SQLite.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::{Lite, LiteSql, NOW};
use crate::db::find::Find;
use crate::db::jobs::{
    age_conditions, age_expr, ActedJob, Change, JobAction, JobJson, JobQuery, JobStateRow, Jobs,
};
use crate::db::Schema;
use crate::model::{SortKey, TIMESTAMPS};

/// A JSON column, or an empty value of its kind when the text is not valid JSON.
fn json_or(column: &str, empty: &str) -> String {
    format!("CASE WHEN json_valid({column}) THEN {column} ELSE '{empty}' END")
}

/// `expr IN (the values)` when there are values.
fn list(sql: &mut LiteSql, w: &mut Vec<String>, expr: &str, values: &[String]) {
    if !values.is_empty() {
        let p = sql.bind(values);
        w.push(format!("{expr} IN (SELECT value FROM json_each({p}))"));
    }
}

/// The WHERE clause for a job query, its values bound into `sql`.
pub(super) fn job_where(sql: &mut LiteSql, q: &JobQuery) -> String {
    let mut w = vec!["1".to_string()];
    if !q.ids.is_empty() {
        let p = sql.bind(&q.ids[..]);
        w.push(format!("id IN (SELECT value FROM json_each({p}))"));
    }
    list(sql, &mut w, "state", &q.states);
    list(sql, &mut w, "queue", &q.queues);
    list(sql, &mut w, "worker", &q.workers);
    let node = format!("json_extract({}, '$[0]')", json_or("attempted_by", "[]"));
    list(sql, &mut w, &node, &q.nodes);
    if !q.tags.is_empty() {
        let p = sql.bind(&q.tags);
        w.push(format!(
            "EXISTS (SELECT 1 FROM json_each({}) t WHERE t.value IN (SELECT value FROM json_each({p})))",
            json_or("tags", "[]")
        ));
    }
    if let Some(args) = &q.args {
        // Containment on top-level keys: every key of the filter object is in args with an
        // equal value. Scalars compare by value (1 and 1.0 are equal, true is not 1); nested
        // objects and arrays must match exactly, as JSON text with the same key order.
        let p = sql.bind(args);
        w.push(format!(
            "NOT EXISTS (SELECT 1 FROM json_each({p}) f WHERE NOT EXISTS (\
               SELECT 1 FROM json_each({}) a WHERE a.key = f.key AND a.value IS f.value \
                 AND (a.type = f.type OR (a.type IN ('integer', 'real') \
                                          AND f.type IN ('integer', 'real')))))",
            json_or("args", "{}")
        ));
    }
    w.extend(find_conditions(sql, &q.find));
    w.extend(age_conditions(
        sql,
        q,
        "",
        |column| format!("julianday({column})"),
        |p| format!("julianday('now') - {p} / 86400.0"),
    ));
    w.join(" AND ")
}

fn sort_column(key: SortKey) -> String {
    match key {
        SortKey::Inserted | SortKey::Scheduled | SortKey::Attempted => {
            format!("julianday({})", key.column())
        }
        key => key.column().into(),
    }
}

/// Every column as one JSON object, JSON columns embedded, times normalised to end in `Z`.
fn job_json() -> String {
    let json = |c: &str| format!("'{c}', CASE WHEN json_valid({c}) THEN json({c}) ELSE {c} END");
    let ts = |c: &str| {
        format!(
            "'{c}', CASE WHEN {c} IS NULL OR {c} LIKE '%Z' THEN {c} \
               ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {c}) END"
        )
    };
    format!(
        "json_object('id', id, 'state', state, 'queue', queue, 'worker', worker, \
           'attempt', attempt, 'max_attempts', max_attempts, 'priority', priority, \
           {}, {})",
        ["args", "meta", "tags", "errors", "attempted_by"]
            .map(json)
            .join(", "),
        TIMESTAMPS.map(ts).join(", ")
    )
}

impl Jobs for Lite {
    /// A plain read: nothing here writes.
    fn job_rows(&mut self, _schema: &Schema, q: &JobQuery) -> Result<Vec<JobJson>> {
        let mut sql = LiteSql::new();
        let cond = job_where(&mut sql, q);
        let limit = sql.bind(q.limit);
        let dir = if q.desc { "DESC" } else { "ASC" };
        sql.push(&format!(
            "SELECT {row} AS json, (julianday('now') - julianday({ts})) * 86400.0 AS age \
             FROM oban_jobs WHERE {cond} ORDER BY {sort} {dir} NULLS LAST, id {dir} LIMIT {limit}",
            row = job_json(),
            ts = age_expr(q.basis, ""),
            sort = sort_column(q.sort),
        ));
        Ok(sql.query().load(self)?)
    }

    /// One immediate transaction (SQLite's write lock: nothing else can change the rows
    /// between the read and the write).
    fn act_batch(&mut self, _schema: &Schema, change: &Change) -> Result<Vec<ActedJob>> {
        let (action, ids, eligible) = (change.action, change.ids, change.eligible);
        let change = match action {
            JobAction::Retry => format!(
                "UPDATE oban_jobs SET state = 'available', scheduled_at = {NOW}, \
                   max_attempts = max(max_attempts, attempt + 1), \
                   completed_at = NULL, cancelled_at = NULL, discarded_at = NULL"
            ),
            JobAction::Cancel => {
                format!("UPDATE oban_jobs SET state = 'cancelled', cancelled_at = {NOW}")
            }
            JobAction::Delete => "DELETE FROM oban_jobs".to_string(),
        };
        let eligible: Vec<String> = eligible.iter().map(|s| s.to_string()).collect();
        let mut pick = LiteSql::new();
        let (id_list, states) = (pick.bind(ids), pick.bind(&eligible));
        pick.push(&format!(
            "SELECT id, state, queue, worker, attempt, max_attempts FROM oban_jobs \
             WHERE id IN (SELECT value FROM json_each({id_list})) \
               AND state IN (SELECT value FROM json_each({states})) ORDER BY id"
        ));
        let pick = pick.query();
        self.immediate_transaction(|conn| {
            let mut rows: Vec<ActedJob> = pick.load(conn)?;
            let picked: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let mut apply = LiteSql::new();
            let picked = apply.bind(&picked[..]);
            apply.push(&format!(
                "{change} WHERE id IN (SELECT value FROM json_each({picked}))"
            ));
            apply.query().execute(conn)?;
            if action == JobAction::Retry {
                for r in &mut rows {
                    r.job.max_attempts = r.max_attempts.max(r.attempt + 1);
                }
            }
            Ok(rows)
        })
    }

    fn job_states(&mut self, _schema: &Schema, ids: &[i64]) -> Result<Vec<JobStateRow>> {
        let mut sql = LiteSql::new();
        let ids = sql.bind(ids);
        sql.push(&format!(
            "SELECT id, state FROM oban_jobs WHERE id IN (SELECT value FROM json_each({ids})) ORDER BY id"
        ));
        Ok(sql.query().load(self)?)
    }
}

/// The last recorded error's text (errors are JSON text; invalid JSON counts as none).
pub(super) const LAST_ERROR: &str =
    "json_extract(CASE WHEN json_valid(errors) THEN errors ELSE '[]' END, '$[#-1].error')";

/// The conditions of the find-by filters, values bound into `sql`.
fn find_conditions(sql: &mut LiteSql, find: &Find) -> Vec<String> {
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
