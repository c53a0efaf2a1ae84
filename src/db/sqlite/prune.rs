//! Prune on SQLite: batches walk the table by id, resuming where the last one stopped.

use anyhow::Result;
use diesel::RunQueryDsl;

use super::{Lite, LiteSql};
use crate::db::prune::{
    Batch, Deleted, DeletedRow, JobFilter, Mark, PrunableCount, Prune, Sink, Targets,
};
use crate::db::{quote_ident, CountValue, Schema};
use crate::model::FinalState;

/// Columns Lite stores as JSON text.
const JSON_COLUMNS: [&str; 5] = ["args", "meta", "tags", "errors", "attempted_by"];

/// Prunable rows over all targets, values bound into `sql`. `+state` keeps SQLite from
/// answering the OR through the state index and sorting every eligible row by id for each
/// batch: batches walk the table by id instead.
/// A keep mark compares `julianday(column)` as its order does, ties by id.
fn eligible_any(sql: &mut LiteSql, targets: &Targets, filter: &JobFilter) -> String {
    let parts: Vec<String> = targets
        .iter()
        .map(|t| {
            let (col, cutoff) = (t.state.column(), sql.bind(&t.cutoff));
            let stamp = match t.below_id {
                Some(id) => format!(
                    "(julianday({col}) < julianday({cutoff}) \
                      OR (julianday({col}) = julianday({cutoff}) AND id < {}))",
                    sql.bind(id)
                ),
                None => format!("julianday({col}) < julianday({cutoff})"),
            };
            format!("(+state = '{}' AND {stamp})", t.state.name())
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

    fn keep_mark(
        &mut self,
        _schema: &Schema,
        states: &[FinalState],
        filter: &JobFilter,
        n: u64,
    ) -> Result<Option<Mark>> {
        // Lite has no index on the timestamps: the group is read and its newest n kept in order.
        let mut sql = LiteSql::new();
        let branches: Vec<String> = states
            .iter()
            .map(|state| {
                let col = state.column();
                format!(
                    "SELECT {col} AS at, julianday({col}) AS t, id FROM oban_jobs \
                     WHERE state = '{}' AND julianday({col}) IS NOT NULL{}",
                    state.name(),
                    filter.sql(&mut sql, "")
                )
            })
            .collect();
        let offset = sql.bind(n.saturating_sub(1));
        sql.push(&format!(
            "SELECT at, id FROM ({}) ORDER BY t DESC, id DESC LIMIT 1 OFFSET {offset}",
            branches.join(" UNION ALL ")
        ));
        let marks: Vec<Mark> = sql.query().load(self)?;
        Ok(marks.into_iter().next())
    }

    /// One immediate transaction, lowest ids (oldest) above the cursor first. SQLite has one
    /// writer at a time, so there is no second end to drain from.
    fn delete_batch(&mut self, batch: &Batch, sink: &mut Sink) -> Result<Deleted> {
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
             RETURNING id, state, queue, {returning} AS row, NULL AS at"
        ));
        let query = sql.query();
        self.immediate_transaction(|conn| {
            let rows: Vec<DeletedRow> = query.load(conn)?;
            sink(&rows)?;
            Ok(Deleted::from(rows))
        })
    }
}
