//! `oban stats` on SQLite (Oban Lite): every figure exact, in two statements.

use anyhow::{Context, Result};
use diesel::sql_types::{Double, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{QueryableByName, RunQueryDsl};

use super::LiteSql;
use crate::db::stats::{Cell, QueueMetric, Sampling, Stats, StatsFigures};
use crate::db::Schema;
use crate::estimate::Figure;

#[derive(QueryableByName)]
struct MetricRow {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Text)]
    metric: String,
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
}

/// One query for every per-queue figure, as (queue, metric, value) rows.
fn metrics_sql(with_since: bool) -> String {
    let jobs = "oban_jobs";
    let age = |col: &str| format!("(julianday('now') - julianday(min({col}))) * 86400.0");
    let recent =
        |col: &str, secs: u32| format!("julianday({col}) > julianday('now', '-{secs} seconds')");
    let stuck = "julianday(attempted_at) < julianday('now', '-' || ?1 || ' seconds')";
    let mut parts = vec![
        format!("SELECT queue, 'latency' AS metric, {} AS value FROM {jobs} WHERE state = 'available' GROUP BY queue", age("scheduled_at")),
        format!("SELECT queue, 'executing', count(*) * 1.0 FROM {jobs} WHERE state = 'executing' GROUP BY queue"),
        format!("SELECT queue, 'longest_running', {} FROM {jobs} WHERE state = 'executing' GROUP BY queue", age("attempted_at")),
        format!("SELECT queue, 'stuck', count(*) * 1.0 FROM {jobs} WHERE state = 'executing' AND {stuck} GROUP BY queue"),
        format!("SELECT queue, 'completed_last_minute', count(*) * 1.0 FROM {jobs} WHERE state = 'completed' AND {} GROUP BY queue", recent("completed_at", 60)),
        format!("SELECT queue, 'completed_last_hour', count(*) * 1.0 FROM {jobs} WHERE state = 'completed' AND {} GROUP BY queue", recent("completed_at", 3600)),
        format!("SELECT queue, 'discarded_last_hour', count(*) * 1.0 FROM {jobs} WHERE state = 'discarded' AND {} GROUP BY queue", recent("discarded_at", 3600)),
        format!("SELECT queue, 'retryable_last_hour', count(*) * 1.0 FROM {jobs} WHERE state = 'retryable' AND {} GROUP BY queue", recent("attempted_at", 3600)),
    ];
    if with_since {
        parts.push(format!(
            "SELECT queue, 'completed_since', count(*) * 1.0 FROM {jobs} WHERE state = 'completed' AND julianday(completed_at) > julianday(?2) GROUP BY queue"
        ));
    }
    parts.join(" UNION ALL ")
}

impl Stats for SqliteConnection {
    /// Counts and figures of one pass, all exact.
    fn stats_figures(&mut self, schema: &Schema, s: &Sampling) -> Result<StatsFigures> {
        let conn = self;
        let cells = crate::db::Catalog::counts(conn, schema)
            .context("counting jobs")?
            .into_iter()
            .map(|r| Cell {
                queue: r.queue,
                state: r.state.to_string(),
                figure: Figure::Exact(r.count as f64),
            })
            .collect();
        // `?1` is rescue_after, `?2` the previous tick: bound in that order.
        let mut q = LiteSql::new();
        q.bind(s.rescue_after);
        if let Some(since) = s.since {
            q.bind(since);
        }
        q.push(&metrics_sql(s.since.is_some()));
        let rows: Vec<MetricRow> = q.query().load(conn).context("reading queue figures")?;
        let metrics = rows
            .into_iter()
            .filter_map(|r| {
                Some(QueueMetric {
                    queue: r.queue,
                    metric: r.metric,
                    figure: Figure::Exact(r.value?),
                })
            })
            .collect();
        Ok((cells, metrics))
    }

    fn read_only_sql(&self) -> (&'static str, &'static str) {
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF")
    }

    fn run_batch(&mut self, sql: &str) -> Result<()> {
        Ok(diesel::connection::SimpleConnection::batch_execute(
            self, sql,
        )?)
    }
}
