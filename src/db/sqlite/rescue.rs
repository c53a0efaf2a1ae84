//! Rescue on SQLite (the age rule: Lite records no producers).

use anyhow::Result;
use diesel::RunQueryDsl;

use super::{older_than, Lite, LiteSql, NOW};
use crate::db::rescue::{Orphans, Rescue, RescueRule, RescuedJob};
use crate::db::JobFilter;

const RESCUED_COLUMNS: &str = "id, queue, worker, attempt, max_attempts, \
    CASE WHEN json_valid(attempted_by) THEN json_extract(attempted_by, '$[0]') END AS node, \
    (julianday('now') - julianday(attempted_at)) * 86400.0 AS executing";

fn exhausted_sql(rule: &RescueRule) -> &'static str {
    if rule.retry_exhausted {
        "0"
    } else {
        "attempt >= max_attempts"
    }
}

/// The orphans of the age rule, values bound into `sql`.
fn orphans(sql: &mut LiteSql, rule: &RescueRule, filter: &JobFilter) -> String {
    let cutoff = sql.bind(&rule.cutoff);
    older_than(sql, "executing", "attempted_at", &cutoff, filter)
}

impl Rescue for Lite {
    fn rescue_candidates(&mut self, o: &Orphans, limit: u64) -> Result<Vec<RescuedJob>> {
        let (rule, filter) = (o.rule, o.filter);
        let mut sql = LiteSql::new();
        let orphans = orphans(&mut sql, rule, filter);
        let limit = sql.bind(limit);
        sql.push(&format!(
            "SELECT {RESCUED_COLUMNS}, CASE WHEN {} THEN 'discarded' ELSE 'available' END AS state \
             FROM oban_jobs WHERE {orphans} ORDER BY id LIMIT {limit}",
            exhausted_sql(rule),
        ));
        Ok(sql.query().load(self)?)
    }

    /// One immediate transaction, lowest ids first.
    fn rescue_batch(&mut self, o: &Orphans, n: u64) -> Result<Vec<RescuedJob>> {
        let (rule, filter) = (o.rule, o.filter);
        let exhausted = exhausted_sql(rule);
        let count =
            "CASE WHEN json_valid(meta) AND json_type(meta, '$.rescued') IN ('integer', 'real') \
                     THEN CAST(json_extract(meta, '$.rescued') AS INTEGER) ELSE 0 END";
        let mut sql = LiteSql::new();
        let orphans = orphans(&mut sql, rule, filter);
        let limit = sql.bind(n);
        sql.push(&format!(
            "UPDATE oban_jobs SET \
               state = CASE WHEN {exhausted} THEN 'discarded' ELSE 'available' END, \
               discarded_at = CASE WHEN {exhausted} THEN {NOW} ELSE discarded_at END, \
               max_attempts = CASE WHEN attempt >= max_attempts AND NOT ({exhausted}) \
                              THEN attempt + 1 ELSE max_attempts END, \
               meta = CASE WHEN {exhausted} THEN meta \
                      ELSE json_set(CASE WHEN json_valid(meta) THEN meta ELSE '{{}}' END, \
                                    '$.rescued', {count} + 1) END \
             WHERE id IN (SELECT id FROM oban_jobs WHERE {orphans} ORDER BY id LIMIT {limit}) \
             RETURNING {RESCUED_COLUMNS}, state"
        ));
        let query = sql.query();
        self.immediate_transaction(|conn| Ok(query.load(conn)?))
    }
}
