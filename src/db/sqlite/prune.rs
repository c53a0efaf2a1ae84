//! Prune on SQLite: batches walk the table by id, resuming where the last one stopped.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::{Lite, LiteSql};
use crate::db::prune::{Batch, DeletedRow, JobFilter, PrunableCount, Prune, Sink, Targets};
use crate::db::{quote_ident, CountValue};

/// Columns Lite stores as JSON text.
const JSON_COLUMNS: [&str; 5] = ["args", "meta", "tags", "errors", "attempted_by"];

/// Prunable rows over all targets, values bound into `sql`. `+state` keeps SQLite from
/// answering the OR through the state index and sorting every eligible row by id for each
/// batch: batches walk the table by id instead.
fn eligible_any(sql: &mut LiteSql, targets: &Targets, filter: &JobFilter) -> String {
    let parts: Vec<String> = targets
        .iter()
        .map(|(state, cutoff)| {
            format!(
                "(+state = '{}' AND julianday({}) < julianday({}))",
                state.name(),
                state.column(),
                sql.bind(cutoff)
            )
        })
        .collect();
    format!("({}){}", parts.join(" OR "), filter.sql(sql, ""))
}

/// `json_object(...)` over every column, JSON columns embedded as JSON when they parse.
fn row_json(columns: &[String]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = quote_ident(c);
            let key = c.replace('\'', "''");
            if JSON_COLUMNS.contains(&c.as_str()) {
                format!("'{key}', CASE WHEN json_valid({q}) THEN json({q}) ELSE {q} END")
            } else {
                format!("'{key}', {q}")
            }
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

impl Prune for Lite {
    fn count_prunable(&mut self, batch: &Batch) -> Result<Vec<PrunableCount>> {
        let mut sql = LiteSql::new();
        let eligible = eligible_any(&mut sql, batch.targets, batch.filter);
        let limit = sql.bind(batch.size);
        // Lowest ids first, as the delete takes them.
        sql.push(&format!(
            "SELECT state, queue, count(*) AS count FROM \
               (SELECT state, queue FROM oban_jobs WHERE {eligible} ORDER BY id LIMIT {limit}) \
             GROUP BY 1, 2 ORDER BY 1, 2"
        ));
        Ok(sql.query().load(self)?)
    }

    fn count_eligible(&mut self, batch: &Batch) -> Result<u64> {
        let mut sql = LiteSql::new();
        let eligible = eligible_any(&mut sql, batch.targets, batch.filter);
        sql.push(&format!(
            "SELECT count(*) AS n FROM oban_jobs WHERE {eligible}"
        ));
        let rows: Vec<CountValue> = sql.query().load(self)?;
        Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
    }

    /// One immediate transaction, lowest ids (oldest) above the cursor first. SQLite has one
    /// writer at a time, so there is no second end to drain from.
    fn delete_batch(&mut self, batch: &Batch, sink: &mut Sink) -> Result<Vec<DeletedRow>> {
        let returning = if batch.archive {
            row_json(&batch.schema.columns)
        } else {
            "NULL".into()
        };
        let mut sql = LiteSql::new();
        let after = sql.bind(batch.cursor.after_id());
        let eligible = eligible_any(&mut sql, batch.targets, batch.filter);
        let size = sql.bind(batch.size);
        sql.push(&format!(
            "DELETE FROM oban_jobs WHERE id IN \
               (SELECT id FROM oban_jobs WHERE id > {after} AND {eligible} ORDER BY id LIMIT {size}) \
             RETURNING id, state, queue, {returning} AS row"
        ));
        let query = sql.query();
        self.immediate_transaction(|conn| {
            let rows: Vec<DeletedRow> = query.load(conn)?;
            sink(&rows)?;
            Ok(rows)
        })
    }
}
