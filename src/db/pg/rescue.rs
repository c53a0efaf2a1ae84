//! Rescue on PostgreSQL: orphans by age, or (accurate mode) by their producer's heartbeat in
//! `oban_producers`.

use anyhow::Result;
use diesel::{Connection, RunQueryDsl};

use super::{moved, table, Pg, PgSql, NOW};
use crate::db::rescue::{Orphans, Rescue, RescueRule, RescuedJob};
use crate::db::{JobFilter, Schema};

const RESCUED_COLUMNS: &str = "j.id, j.queue, j.worker, j.attempt::bigint AS attempt, \
    j.max_attempts::bigint AS max_attempts, j.attempted_by[1] AS node, \
    extract(epoch FROM timezone('UTC', now()) - j.attempted_at)::float8 AS executing";

/// The rule's values as placeholders, and the rule's SQL pieces (alias `j`).
struct Rule {
    cutoff: String,
    ttl: String,
    filters: String,
}

fn bind_rule(sql: &mut PgSql, rule: &RescueRule, filter: &JobFilter) -> Rule {
    Rule {
        cutoff: sql.stamp(&rule.cutoff),
        ttl: sql.bind(rule.producer_ttl),
        filters: filter.sql(sql, "j."),
    }
}

/// The producer named in attempted_by[2] heartbeated within the TTL.
fn live_producer(schema: &Schema, r: &Rule) -> String {
    format!(
        "EXISTS (SELECT 1 FROM {} p WHERE p.uuid::text = j.attempted_by[2] \
           AND p.updated_at >= {NOW} - make_interval(secs => {}))",
        table(&schema.prefix, "oban_producers"),
        r.ttl
    )
}

/// The rule deciding which executing jobs are orphans.
fn orphan_sql(schema: &Schema, rule: &RescueRule, r: &Rule) -> String {
    let old = format!("j.attempted_at < {}", r.cutoff);
    if !rule.accurate {
        return format!("j.state = 'executing' AND {old}");
    }
    format!(
        "j.state = 'executing' AND CASE WHEN coalesce(cardinality(j.attempted_by), 0) >= 2 \
           THEN NOT {live} ELSE {old} END",
        live = live_producer(schema, r),
    )
}

/// Where a rescued job goes: discarded when out of attempts (unless retrying), else available.
fn exhausted_sql(rule: &RescueRule) -> &'static str {
    if rule.retry_exhausted {
        "false"
    } else {
        "j.attempt >= j.max_attempts"
    }
}

impl Rescue for Pg {
    fn rescue_candidates(&mut self, o: &Orphans, limit: u64) -> Result<Vec<RescuedJob>> {
        let (schema, rule, filter) = (o.schema, o.rule, o.filter);
        let mut sql = PgSql::new();
        let r = bind_rule(&mut sql, rule, filter);
        let limit = sql.bind(limit);
        sql.push(&format!(
            "SELECT {RESCUED_COLUMNS}, CASE WHEN {} THEN 'discarded' ELSE 'available' END AS state \
             FROM {} j WHERE {}{} ORDER BY j.id LIMIT {limit}",
            exhausted_sql(rule),
            table(&schema.prefix, "oban_jobs"),
            orphan_sql(schema, rule, &r),
            r.filters,
        ));
        Ok(sql.query().load(self)?)
    }

    fn long_running(&mut self, o: &Orphans, limit: u64) -> Result<Vec<RescuedJob>> {
        let (schema, rule, filter) = (o.schema, o.rule, o.filter);
        if !rule.accurate {
            return Ok(Vec::new());
        }
        let mut sql = PgSql::new();
        let r = bind_rule(&mut sql, rule, filter);
        let limit = sql.bind(limit);
        sql.push(&format!(
            "SELECT {RESCUED_COLUMNS}, 'executing' AS state FROM {} j \
             WHERE j.state = 'executing' AND j.attempted_at < {} \
               AND coalesce(cardinality(j.attempted_by), 0) >= 2 AND {}{} \
             ORDER BY j.attempted_at LIMIT {limit}",
            table(&schema.prefix, "oban_jobs"),
            r.cutoff,
            live_producer(schema, &r),
            r.filters,
        ));
        Ok(sql.query().load(self)?)
    }

    fn rescue_batch(&mut self, o: &Orphans, n: u64) -> Result<Vec<RescuedJob>> {
        let (schema, rule, filter) = (o.schema, o.rule, o.filter);
        let jobs = table(&schema.prefix, "oban_jobs");
        let exhausted = exhausted_sql(rule);
        let count = "CASE WHEN jsonb_typeof(j.meta->'rescued') = 'number' \
                     THEN (j.meta->>'rescued')::numeric::bigint ELSE 0 END";
        let mut sql = PgSql::new();
        let r = bind_rule(&mut sql, rule, filter);
        let limit = sql.bind(n);
        // As in prune: SKIP LOCKED means a job a worker is acking right now is left for the
        // next pass instead of being waited on, and the UPDATE rechecks the rule on the locked
        // row, addressed by (tableoid, ctid) since leaves of a partitioned table share ctids.
        sql.push(&format!(
            "WITH batch AS MATERIALIZED (\
               SELECT tableoid, ctid FROM {jobs} j WHERE {orphan}{filters} LIMIT {limit} \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE {jobs} AS j SET \
               state = (CASE WHEN {exhausted} THEN 'discarded' ELSE 'available' END)::{enum_type}, \
               discarded_at = CASE WHEN {exhausted} THEN {NOW} ELSE j.discarded_at END, \
               max_attempts = CASE WHEN j.attempt >= j.max_attempts AND NOT ({exhausted}) \
                              THEN j.attempt + 1 ELSE j.max_attempts END, \
               meta = CASE WHEN {exhausted} THEN j.meta \
                      ELSE jsonb_set(coalesce(j.meta, '{{}}'::jsonb), '{{rescued}}', to_jsonb({count} + 1)) END \
             WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM batch)) \
               {same_leaf}AND {orphan} \
             RETURNING {RESCUED_COLUMNS}, j.state::text AS state",
            orphan = orphan_sql(schema, rule, &r),
            filters = r.filters,
            same_leaf = if schema.partitions.is_some() {
                // Each leaf of a partitioned table numbers its own ctids.
                "AND (j.tableoid, j.ctid) IN (SELECT tableoid, ctid FROM batch) "
            } else {
                ""
            },
            enum_type = table(&schema.prefix, "oban_job_state"),
        ));
        // A job moved to another partition under the statement (an ack racing the rescue)
        // fails it with 40001: run it again on a new snapshot; if that keeps failing, the
        // batch moves nothing and the rest waits for the next pass.
        let run = moved::retry(self, |conn| {
            let query = sql.clone().query();
            conn.transaction(|conn| Ok(query.load(conn)?))
        });
        match run {
            Err(e) if moved::moved(&e) => Ok(Vec::new()),
            other => other,
        }
    }
}
