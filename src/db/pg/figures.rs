//! Per-queue figures of `oban stats` on PostgreSQL, at a cost that does not grow with the
//! table. A figure reads table rows, not just index entries, so it is computed exactly only
//! when the rows it must read are few: by the planner's estimate, at most a tenth of
//! `--estimate-above` ([`FIGURE_SHARE`]). Above that it is estimated:
//!
//! - from a pseudo-random sample of about [`SAMPLE`] rows when an index lists the rows to read
//!   (an index-only walk keeps each entry with probability 1/k, then one probe per kept entry
//!   reads its row);
//! - from the planner's statistics otherwise (Elixir's tables, with no index on `completed_at`).
//!
//! Queue latency (a skip scan over the available jobs' `(queue, priority)` pairs) and the
//! executing count are always exact, and so is every figure a threshold is set on.

use anyhow::{Context, Result};
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{Double, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::stats::QueueMetric;
use super::{quote_ident, Schema};
use crate::cli::FinalState;

/// Rows a sampled figure probes, about.
pub const SAMPLE: u64 = 1_000;

const NOW: &str = "timezone('UTC', now())";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
}

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

/// The values every figure's SQL may use: `$1` rescue_after in seconds, `$2` the previous
/// watch tick (database clock text), `$3` a queue.
struct Binds<'a> {
    rescue_after: f64,
    since: Option<&'a str>,
}

impl Binds<'_> {
    fn query(
        &self,
        sql: String,
        queue: &str,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        sql_query(sql)
            .into_boxed::<Pg>()
            .bind::<Double, _>(self.rescue_after)
            .bind::<Text, _>(self.since.unwrap_or("-infinity").to_string())
            .bind::<Text, _>(queue.to_string())
    }

    fn load(&self, conn: &mut PgConnection, sql: String) -> Result<Vec<Row>> {
        Ok(self.query(sql, "").load(conn)?)
    }

    /// The planner's row estimate for `sql`, with `queue` as `$3`.
    fn estimate(&self, conn: &mut PgConnection, sql: &str, queue: &str) -> Result<f64> {
        let plan: Vec<Plan> = self
            .query(format!("EXPLAIN (FORMAT JSON) {sql}"), queue)
            .load(conn)?;
        Ok(plan
            .first()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.plan).ok())
            .and_then(|v| v[0]["Plan"]["Plan Rows"].as_f64())
            .unwrap_or(0.0))
    }
}

fn metric(metric: &str, rows: Vec<Row>, estimated: bool) -> impl Iterator<Item = QueueMetric> + '_ {
    rows.into_iter().map(move |r| QueueMetric {
        queue: r.queue,
        metric: metric.to_string(),
        value: r.value,
        estimated,
    })
}

/// A count per queue of the rows matching `filter`.
struct Figure {
    metric: &'static str,
    /// Whole WHERE clause of the exact count.
    filter: String,
    /// The rows an exact count has to read (what the decision is made on).
    reads: String,
    /// How to sample it: an index-only key of the rows `reads` lists, and the probe that finds
    /// a sampled row by that key (`s.v`) and checks the rest of `filter`.
    sample: Option<(&'static str, String)>,
    /// The condition the planner estimates per queue when there is no way to sample.
    estimate: String,
}

/// What the figures are computed from.
pub struct FigureOpts<'a> {
    /// Executing longer than this many seconds is stuck.
    pub rescue_after: f64,
    /// The previous watch tick (database clock text), for `completed_since`.
    pub since: Option<&'a str>,
    /// The queues the counts found, for planner estimates.
    pub queues: &'a [String],
    /// `--estimate-above`; None makes every figure exact.
    pub estimate_above: Option<u64>,
    /// Figures a threshold is set on: always exact.
    pub exact: &'a [&'a str],
}

/// A figure reads table rows, each about ten times the cost of an index entry a count reads:
/// figures are estimated above this share of `--estimate-above`.
pub const FIGURE_SHARE: u64 = 10;

/// Every per-queue figure, as (queue, metric, value) rows.
pub fn queue_metrics(
    conn: &mut PgConnection,
    schema: &Schema,
    opts: &FigureOpts,
) -> Result<Vec<QueueMetric>> {
    let jobs = format!("{}.oban_jobs", quote_ident(&schema.prefix));
    let binds = Binds {
        rescue_after: opts.rescue_after,
        since: opts.since,
    };
    // None: exact; Some(k): sample one row in k of the `reads` rows.
    let sampling = |conn: &mut PgConnection, names: &[&str], reads: &str| -> Result<Option<f64>> {
        let Some(t) = opts.estimate_above else {
            return Ok(None);
        };
        if names.iter().any(|n| opts.exact.contains(n)) {
            return Ok(None);
        }
        let sql = format!("SELECT 1 FROM {jobs} WHERE {reads}");
        let rows = binds.estimate(conn, &sql, "")?;
        let budget = (t / FIGURE_SHARE).max(1) as f64;
        if rows <= budget {
            return Ok(None);
        }
        // Same sample for the same table: estimates do not jitter between passes.
        sql_query("SELECT setseed(0.5)").execute(conn)?;
        Ok(Some((rows / SAMPLE as f64).max(1.0)))
    };
    let mut out = Vec::new();

    // Oldest available job per queue: the first entry of each (queue, priority) run of the
    // (state, queue, priority, scheduled_at, id) index, found by skipping through it. The row
    // comparison alone positions each probe; adding `state = 'available'` inside it would make
    // that equality the start key and every probe walk the available jobs from the first.
    let latency = sql_query(format!(
        "WITH RECURSIVE qp AS ( \
           (SELECT queue, priority FROM {jobs} WHERE state = 'available' \
            ORDER BY state, queue, priority LIMIT 1) \
           UNION ALL \
           SELECT n.queue, n.priority FROM qp, LATERAL ( \
             SELECT state, queue, priority FROM {jobs} \
             WHERE (state, queue, priority) > ('available', qp.queue, qp.priority) \
             ORDER BY state, queue, priority LIMIT 1) n \
           WHERE n.state = 'available') \
         SELECT qp.queue, extract(epoch FROM {NOW} - min(f.scheduled_at))::float8 AS value \
         FROM qp, LATERAL ( \
           SELECT scheduled_at FROM {jobs} \
           WHERE state = 'available' AND queue = qp.queue AND priority = qp.priority \
           ORDER BY state, queue, priority, scheduled_at LIMIT 1) f \
         GROUP BY qp.queue"
    ))
    .load::<Row>(conn)
    .context("reading queue latency")?;
    out.extend(metric("latency", latency, false));

    // Executing jobs: one read gives the count, the longest run and the stuck ones. When there
    // are too many to read, the count still is exact (index entries), and the longest run and
    // stuck jobs come from a sample (the longest run in the sample, a lower bound).
    let k = sampling(conn, &["stuck", "longest_running"], "state = 'executing'")?;
    let stuck = format!("attempted_at < {NOW} - make_interval(secs => $1)");
    let sql = match k {
        None => format!(
            "SELECT queue, count(*)::float8 AS executing, \
                    extract(epoch FROM {NOW} - min(attempted_at))::float8 AS longest, \
                    (count(*) FILTER (WHERE {stuck}))::float8 AS stuck \
             FROM {jobs} WHERE state = 'executing' GROUP BY queue"
        ),
        Some(k) => format!(
            "SELECT w.queue, count(*)::float8 AS executing, \
                    extract(epoch FROM {NOW} - min(j.attempted_at))::float8 AS longest, \
                    (count(*) FILTER (WHERE j.{stuck}))::float8 * count(*) \
                      / greatest(count(j.attempted_at), 1) AS stuck \
             FROM (SELECT queue, id, random() * {k} < 1.0 AS picked \
                   FROM {jobs} WHERE state = 'executing') w \
             CROSS JOIN LATERAL (SELECT CASE WHEN w.picked THEN \
                                   (SELECT attempted_at FROM {jobs} \
                                    WHERE id = w.id AND state = 'executing') END AS attempted_at) j \
             GROUP BY w.queue"
        ),
    };
    let executing: Vec<Executing> = sql_query(sql)
        .bind::<Double, _>(opts.rescue_after)
        .load(conn)
        .context("reading executing jobs")?;
    for e in executing {
        for (name, value, estimated) in [
            ("executing", Some(e.executing), false),
            ("longest_running", e.longest, k.is_some()),
            ("stuck", Some(e.stuck.round()), k.is_some()),
        ] {
            out.push(QueueMetric {
                queue: e.queue.clone(),
                metric: name.to_string(),
                value,
                estimated,
            });
        }
    }

    for figure in figures(schema, opts.since.is_some()) {
        let k = sampling(conn, &[figure.metric], &figure.reads)?;
        let (rows, estimated) = match (k, &figure.sample) {
            (None, _) => (binds.load(conn, exact_sql(&jobs, &figure))?, false),
            (Some(k), Some((key, probe))) => (
                binds.load(conn, sampled_sql(&jobs, &figure, key, probe, k))?,
                true,
            ),
            (Some(_), None) => (planner(conn, &jobs, &figure, opts.queues, &binds)?, true),
        };
        out.extend(metric(figure.metric, rows, estimated));
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Executing {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Double)]
    executing: f64,
    #[diesel(sql_type = Nullable<Double>)]
    longest: Option<f64>,
    #[diesel(sql_type = Double)]
    stuck: f64,
}

/// The windowed figures: completions, discards and failed attempts, and the completions since
/// the previous watch tick.
fn figures(schema: &Schema, with_since: bool) -> Vec<Figure> {
    let indexed = |s: FinalState| schema.indexed_final_states.contains(&s);
    let recent = |secs: u32| format!("{NOW} - interval '{secs} seconds'");
    let window = |metric, state: FinalState, after: String| {
        let (name, column) = (state.name(), state.column());
        let filter = format!("state = '{name}' AND {column} > {after}");
        // Only jobs in this state carry its timestamp: the state condition would count twice.
        let estimate = format!("{column} > {after}");
        let (reads, sample) = if indexed(state) {
            let probe = format!("state = '{name}' AND {column} = s.v");
            (filter.clone(), Some((column, probe)))
        } else {
            (format!("state = '{name}'"), None)
        };
        Figure {
            metric,
            filter,
            reads,
            sample,
            estimate,
        }
    };
    // No index holds attempted_at: the retryable jobs are read, or sampled by id.
    let failed = format!("state = 'retryable' AND attempted_at > {}", recent(3600));
    let mut out = vec![
        window("completed_last_minute", FinalState::Completed, recent(60)),
        window("completed_last_hour", FinalState::Completed, recent(3600)),
        window("discarded_last_hour", FinalState::Discarded, recent(3600)),
        Figure {
            metric: "retryable_last_hour",
            reads: "state = 'retryable'".into(),
            sample: Some(("id", format!("id = s.v AND {failed}"))),
            estimate: failed.clone(),
            filter: failed,
        },
    ];
    if with_since {
        out.push(window(
            "completed_since",
            FinalState::Completed,
            "$2::timestamp".into(),
        ));
    }
    out
}

fn exact_sql(jobs: &str, f: &Figure) -> String {
    format!(
        "SELECT queue, count(*)::float8 AS value FROM {jobs} WHERE {} GROUP BY queue",
        f.filter
    )
}

/// Walks the index-only `key` of the rows to read and keeps each entry with probability 1/k
/// (pseudo-random, seeded per pass by the caller, so periodic data cannot alias the sample).
/// Each kept key is probed once for the rows it names (up to 64, enough to weigh ties such as
/// jobs acked in one statement): a key kept `hits` times among `m` matching rows gives each of
/// them `hits / m`. The per-queue sums times k estimate the figure without bias.
fn sampled_sql(jobs: &str, f: &Figure, key: &str, probe: &str, k: f64) -> String {
    format!(
        "SELECT p.queue, (sum(s.hits::float8 / p.m) * {k})::float8 AS value \
         FROM (SELECT w.v, count(*) AS hits \
               FROM (SELECT {key} AS v FROM {jobs} WHERE {reads}) w \
               WHERE random() * {k} < 1.0 GROUP BY w.v) s \
         CROSS JOIN LATERAL (SELECT g.queue, count(*) OVER () AS m \
                             FROM (SELECT queue FROM {jobs} WHERE {probe} LIMIT 64) g) p \
         GROUP BY p.queue",
        reads = f.reads
    )
}

/// The planner's estimate of the figure for each queue.
fn planner(
    conn: &mut PgConnection,
    jobs: &str,
    f: &Figure,
    queues: &[String],
    binds: &Binds,
) -> Result<Vec<Row>> {
    let mut rows = Vec::with_capacity(queues.len());
    for queue in queues {
        let sql = format!("SELECT 1 FROM {jobs} WHERE {} AND queue = $3", f.estimate);
        rows.push(Row {
            queue: queue.clone(),
            value: Some(binds.estimate(conn, &sql, queue)?.round()),
        });
    }
    Ok(rows)
}
