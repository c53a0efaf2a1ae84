//! SQLite's catalog, clock, counts and test-row inserts.

use anyhow::{bail, Result};
use diesel::{sql_query, RunQueryDsl};

use super::{Lite, LiteSql};
use crate::db::catalog::{missing_columns, BoolValue, Catalog, QueueStateCount, Schema, TextValue};
use crate::model::{Flavour, JobState};

impl Catalog for Lite {
    fn detect(&mut self, _prefix: &str) -> Result<Option<Schema>> {
        let columns: Vec<TextValue> =
            sql_query("SELECT name AS value FROM pragma_table_info('oban_jobs') ORDER BY cid")
                .load(self)?;
        if columns.is_empty() {
            return Ok(None);
        }
        let columns: Vec<String> = columns.into_iter().map(|c| c.value).collect();
        let missing = missing_columns(&columns);
        if !missing.is_empty() {
            bail!(
                "oban_jobs is not an Oban jobs table: it has no column {}",
                missing.join(", ")
            );
        }
        Ok(Some(Schema {
            prefix: "main".into(),
            flavour: Flavour::Lite,
            partitions: None,
            has_producers: false,
            leader_table: None,
            estimated_rows: None,
            indexed_final_states: Vec::new(),
            columns,
            states: JobState::ALL.to_vec(),
        }))
    }

    fn missing_table(&self, _prefix: &str) -> String {
        "no oban_jobs table in this SQLite database: run `oban migrate` to create it".into()
    }

    fn cutoffs(&mut self, ages: &[f64]) -> Result<Vec<String>> {
        let mut sql = LiteSql::new();
        let shifts: Vec<String> = ages.iter().map(|a| format!("-{a:.3} seconds")).collect();
        let shifts = sql.bind(&shifts);
        // One statement, so every cutoff comes from one reading of the clock.
        sql.push(&format!(
            "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', s.value) AS value \
             FROM json_each({shifts}) s ORDER BY s.key"
        ));
        let rows: Vec<TextValue> = sql.query().load(self)?;
        Ok(rows.into_iter().map(|r| r.value).collect())
    }

    fn counts(&mut self, _schema: &Schema) -> Result<Vec<QueueStateCount>> {
        Ok(sql_query(
            "SELECT queue, state, count(*) AS count FROM oban_jobs GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .load(self)?)
    }

    fn has_jobs(&mut self, _schema: &Schema) -> Result<bool> {
        let rows: Vec<BoolValue> =
            sql_query("SELECT EXISTS (SELECT 1 FROM oban_jobs) AS value").load(self)?;
        Ok(rows.first().is_some_and(|r| r.value))
    }

    fn insert_jobs(&mut self, _schema: &Schema, jobs_json: &str) -> Result<usize> {
        let field = |f: &str| format!("json_extract(value, '$.{f}')");
        let ts = |f: &str| {
            format!(
                "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', json_extract(value, '$.{f}') || ' seconds')"
            )
        };
        let mut sql = LiteSql::new();
        let json = sql.bind(jobs_json);
        sql.push(&format!(
            "INSERT INTO oban_jobs (state, queue, worker, attempt, max_attempts, priority, args, \
                meta, tags, errors, attempted_by, inserted_at, scheduled_at, attempted_at, \
                completed_at, cancelled_at, discarded_at) \
             SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} \
             FROM json_each({json})",
            field("state"),
            field("queue"),
            field("worker"),
            field("attempt"),
            field("max_attempts"),
            field("priority"),
            field("args"),
            field("meta"),
            field("tags"),
            field("errors"),
            field("attempted_by"),
            ts("inserted"),
            ts("scheduled"),
            ts("attempted"),
            ts("completed"),
            ts("cancelled"),
            ts("discarded"),
        ));
        let query = sql.query();
        Ok(diesel::Connection::transaction(self, |conn| {
            query.execute(conn)
        })?)
    }
}

/// SQLite has no partitioned tables.
impl crate::db::Partitions for Lite {}
