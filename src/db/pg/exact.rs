//! `oban stats --exact` on PostgreSQL: every count and per-queue figure from one pass over
//! the table (a `GROUP BY queue, state` whose aggregates also count each state's windowed
//! figures), so that exact figures cost about what counting the jobs alone costs, rather than
//! one more read of the heap per figure. Latency is a skip scan, as always.

use anyhow::{Context, Result};
use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};

use super::sample::Args;
use crate::db::stats::{Cell, QueueMetric};
use crate::db::{quote_ident, Schema};
use crate::estimate::Figure;

const NOW: &str = "timezone('UTC', now())";

#[derive(QueryableByName)]
struct Group {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    completed_last_minute: i64,
    #[diesel(sql_type = BigInt)]
    completed_last_hour: i64,
    #[diesel(sql_type = BigInt)]
    completed_since: i64,
    #[diesel(sql_type = BigInt)]
    discarded_last_hour: i64,
    #[diesel(sql_type = BigInt)]
    attempted_last_hour: i64,
    #[diesel(sql_type = BigInt)]
    stuck: i64,
    #[diesel(sql_type = Nullable<Double>)]
    longest: Option<f64>,
}

/// Counts and figures (but latency) in one pass.
pub fn figures(
    conn: &mut PgConnection,
    schema: &Schema,
    args: &Args,
    with_since: bool,
) -> Result<(Vec<Cell>, Vec<QueueMetric>)> {
    let jobs = format!("{}.oban_jobs", quote_ident(&schema.prefix));
    // Each cutoff is a scalar subquery, computed once (an InitPlan): written inline, the
    // `now()` arithmetic would be evaluated for every row.
    let at = |expr: &str| format!("(SELECT {expr})");
    let hour = at(&format!("{NOW} - interval '3600 seconds'"));
    let rows: Vec<Group> = args
        .query(
            &format!(
                "SELECT queue, state::text AS state, count(*) AS n, \
                   count(*) FILTER (WHERE completed_at > {minute}) AS completed_last_minute, \
                   count(*) FILTER (WHERE completed_at > {hour}) AS completed_last_hour, \
                   {since} AS completed_since, \
                   count(*) FILTER (WHERE discarded_at > {hour}) AS discarded_last_hour, \
                   count(*) FILTER (WHERE attempted_at > {hour}) AS attempted_last_hour, \
                   count(*) FILTER (WHERE attempted_at < {stuck}) AS stuck, \
                   extract(epoch FROM {NOW} - min(attempted_at))::float8 AS longest \
                 FROM {jobs} GROUP BY queue, {jobs}.state",
                minute = at(&format!("{NOW} - interval '60 seconds'")),
                since = if with_since {
                    format!(
                        "count(*) FILTER (WHERE completed_at > {})",
                        at("$2::timestamp")
                    )
                } else {
                    "0::int8".to_string()
                },
                stuck = at(&format!("{NOW} - make_interval(secs => $1)")),
            ),
            &[],
            &[],
        )
        .load(conn)
        .context("counting jobs and figures")?;
    let (mut cells, mut metrics) = (Vec::new(), Vec::new());
    let mut figure = |queue: &str, metric: &str, v: f64| {
        metrics.push(QueueMetric {
            queue: queue.to_string(),
            metric: metric.to_string(),
            figure: Figure::Exact(v),
        })
    };
    for g in rows {
        let q = g.queue.as_str();
        match g.state.as_str() {
            "completed" => {
                figure(q, "completed_last_minute", g.completed_last_minute as f64);
                figure(q, "completed_last_hour", g.completed_last_hour as f64);
                if with_since {
                    figure(q, "completed_since", g.completed_since as f64);
                }
            }
            "discarded" => figure(q, "discarded_last_hour", g.discarded_last_hour as f64),
            "retryable" => figure(q, "retryable_last_hour", g.attempted_last_hour as f64),
            "executing" => {
                figure(q, "executing", g.n as f64);
                figure(q, "stuck", g.stuck as f64);
                if let Some(l) = g.longest {
                    figure(q, "longest_running", l);
                }
            }
            _ => {}
        }
        cells.push(Cell {
            queue: g.queue,
            state: g.state,
            figure: Figure::Exact(g.n as f64),
        });
    }
    Ok((cells, metrics))
}
