//! Per-queue figures of `oban stats` on PostgreSQL. Each is exact, or an estimate within ±25%
//! at 95% (see [`crate::estimate`]), or unknown; never a number that cannot be stood behind.
//!
//! - latency: a skip scan over the available jobs' `(queue, priority)` runs of the
//!   `(state, queue, priority, scheduled_at, id)` index; always exact.
//! - executing: counted from that index; always exact. Stuck jobs and the longest run read
//!   every executing job when that fits in half of what is left of the time budget; else
//!   stuck jobs are sampled and the longest run is read at the end if time is left, or
//!   unknown.
//! - windowed counts (completed in the last minute and hour, discarded in the last hour,
//!   completions since the last watch tick): when an index lists the window, the window is
//!   counted from it and read exactly when small, else its timestamps are sampled; without
//!   such an index (Elixir's `completed_at`), each queue's jobs in that state are sampled.
//! - failed attempts in the last hour (retryable, by `attempted_at`, which no index holds):
//!   each queue's retryable jobs are sampled by id.
//!
//! A queue with no job in the figure's state has the figure 0, exactly; a queue whose jobs in
//! that state were counted and are few is read exactly when that fits the time budget (else
//! sampled). Only the listing, the first samples and exact reads no larger than those are read
//! outside the budget: reading a few thousand jobs takes a hundred times longer on a cold heap
//! than on a cached one. A sampled figure outside ±25% is sampled again at the rate it needs,
//! or read exactly when that costs less, while the time budget lasts; what is still outside is
//! reported unknown.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use diesel::pg::PgConnection;
use diesel::sql_types::{Double, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::refine;
use super::sample::{self, Args, FigureOpts, Source};
use crate::db::stats::QueueMetric;
use crate::db::{quote_ident, Schema};
use crate::estimate::Figure;

const NOW: &str = "timezone('UTC', now())";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
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

fn push(out: &mut Vec<QueueMetric>, queue: &str, metric: &str, figure: Figure) {
    out.push(QueueMetric {
        queue: queue.to_string(),
        metric: metric.to_string(),
        figure,
    });
}

/// Every per-queue figure.
pub fn queue_metrics(
    conn: &mut PgConnection,
    schema: &Schema,
    opts: &FigureOpts,
) -> Result<Vec<QueueMetric>> {
    let jobs = format!("{}.oban_jobs", quote_ident(&schema.prefix));
    let args = Args {
        rescue_after: opts.rescue_after,
        since: opts.since.unwrap_or("-infinity").to_string(),
        seed: opts.seed,
    };
    let mut out = Vec::new();
    latency(conn, &jobs, &mut out)?;
    executing(conn, &jobs, opts, &args, &mut out)?;
    for (metric, source) in sources(schema, opts.since.is_some()) {
        let figures = figure(conn, &jobs, &source, metric, opts, &args)
            .with_context(|| format!("reading {metric}"))?;
        for (queue, f) in figures {
            push(&mut out, &queue, metric, f);
        }
    }
    // With many executing jobs, the longest run is read last, if the budget still allows.
    if out
        .iter()
        .any(|m| m.metric == "longest_running" && !m.figure.is_exact())
    {
        let sql = read_executing(&jobs);
        let read = opts
            .budget
            .attempt(conn, |c| args.query(&sql, &[], &[]).load::<Executing>(c))?;
        if let Some(rows) = read {
            out.retain(|m| !matches!(m.metric.as_str(), "longest_running" | "stuck"));
            for e in rows {
                if let Some(l) = e.longest {
                    push(&mut out, &e.queue, "longest_running", Figure::Exact(l));
                }
                push(&mut out, &e.queue, "stuck", Figure::Exact(e.stuck));
            }
        }
    }
    Ok(out)
}

/// Every executing job read: count, longest run and stuck jobs per queue.
fn read_executing(jobs: &str) -> String {
    format!(
        "SELECT queue, count(*)::float8 AS executing, \
                extract(epoch FROM {NOW} - min(attempted_at))::float8 AS longest, \
                (count(*) FILTER (WHERE attempted_at < {NOW} - make_interval(secs => $1)))::float8 \
                  AS stuck \
         FROM {jobs} WHERE state = 'executing' GROUP BY queue"
    )
}

/// Oldest available job per queue: the first entry of each (queue, priority) run of the
/// (state, queue, priority, scheduled_at, id) index, found by skipping through it. The row
/// comparison alone positions each probe; adding `state = 'available'` inside it would make
/// that equality the start key and every probe walk the available jobs from the first.
pub fn latency(conn: &mut PgConnection, jobs: &str, out: &mut Vec<QueueMetric>) -> Result<()> {
    let rows: Vec<Row> = sql_query(format!(
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
    .load(conn)
    .context("reading queue latency")?;
    for r in rows {
        if let Some(v) = r.value {
            push(out, &r.queue, "latency", Figure::Exact(v));
        }
    }
    Ok(())
}

/// Executing jobs: the count per queue from the index; stuck jobs and the longest run by
/// reading them, or sampled when there are very many.
fn executing(
    conn: &mut PgConnection,
    jobs: &str,
    opts: &FigureOpts,
    args: &Args,
    out: &mut Vec<QueueMetric>,
) -> Result<()> {
    let stuck = format!("attempted_at < {NOW} - make_interval(secs => $1)");
    let read_all = read_executing(jobs);
    let load = |conn: &mut PgConnection| args.query(&read_all, &[], &[]).load::<Executing>(conn);
    let counts: Vec<Row> = args
        .query(
            &format!(
                "SELECT queue, count(*)::float8 AS value FROM {jobs} \
                 WHERE state = 'executing' GROUP BY queue"
            ),
            &[],
            &[],
        )
        .load(conn)
        .context("counting executing jobs")?;
    let total: f64 = counts.iter().filter_map(|r| r.value).sum();
    // No more than the first sample of stuck jobs would read: read them all, like a sample.
    let cheap = refine::like_a_sample(total, counts.len());
    let rows = if opts.exact("stuck") || opts.exact("longest_running") || cheap {
        Some(load(conn).context("reading executing jobs")?)
    } else {
        // Reading them all gives both figures exactly, when it fits in half of what is left of
        // the budget (the other figures need the rest: milliseconds when the pages are cached,
        // a hundred times longer from a cold heap); else stuck jobs are sampled.
        opts.budget
            .attempt_share(conn, 0.5, load)
            .context("reading executing jobs")?
    };
    if let Some(rows) = rows {
        for e in rows {
            push(out, &e.queue, "executing", Figure::Exact(e.executing));
            if let Some(l) = e.longest {
                push(out, &e.queue, "longest_running", Figure::Exact(l));
            }
            push(out, &e.queue, "stuck", Figure::Exact(e.stuck));
        }
        return Ok(());
    }
    // Too many to read now: stuck jobs are sampled; the longest run is tried again at the end
    // with whatever the budget has left.
    for r in &counts {
        push(
            out,
            &r.queue,
            "executing",
            Figure::Exact(r.value.unwrap_or(0.0)),
        );
        push(
            out,
            &r.queue,
            "longest_running",
            Figure::Unknown {
                interval: None,
                reason: format!("reading all {total} executing jobs did not fit the time budget"),
            },
        );
    }
    let source = Source {
        state: "executing",
        cond: stuck,
        window: None,
    };
    let figures = figure(conn, jobs, &source, "stuck", opts, args)?;
    for (queue, f) in figures {
        push(out, &queue, "stuck", f);
    }
    Ok(())
}

/// The windowed figures and failed attempts, each with its source.
fn sources(schema: &Schema, with_since: bool) -> Vec<(&'static str, Source)> {
    use crate::model::FinalState;
    let recent = |secs: u32| format!("{NOW} - interval '{secs} seconds'");
    let window = |state: FinalState, after: String| {
        let (name, column) = (state.name(), state.column());
        Source {
            state: name,
            cond: format!("{column} > {after}"),
            window: schema
                .indexed_final_states
                .contains(&state)
                .then(|| (column, after.clone())),
        }
    };
    let mut out = vec![
        (
            "completed_last_minute",
            window(FinalState::Completed, recent(60)),
        ),
        (
            "completed_last_hour",
            window(FinalState::Completed, recent(3600)),
        ),
        (
            "discarded_last_hour",
            window(FinalState::Discarded, recent(3600)),
        ),
        (
            "retryable_last_hour",
            Source {
                state: "retryable",
                cond: format!("attempted_at > {}", recent(3600)),
                window: None,
            },
        ),
    ];
    if with_since {
        out.push((
            "completed_since",
            window(FinalState::Completed, "$2::timestamp".into()),
        ));
    }
    out
}

/// One figure for every queue.
fn figure(
    conn: &mut PgConnection,
    jobs: &str,
    src: &Source,
    metric: &str,
    opts: &FigureOpts,
    args: &Args,
) -> Result<BTreeMap<String, Figure>> {
    let mut out = BTreeMap::new();
    if opts.exact(metric) {
        let m = sample::exact(conn, jobs, src, args, &[], None)?.unwrap_or_default();
        for q in opts.queues {
            out.insert(q.clone(), Figure::Exact(m.get(q).copied().unwrap_or(0.0)));
        }
        return Ok(out);
    }
    // How many jobs each queue has in the source state, by the cells. Without a window index,
    // queues whose jobs in that state were counted and are few, together, are read exactly
    // when that fits the budget (else they are sampled like the rest).
    let (mut few, mut rest, mut reading) = (Vec::new(), Vec::new(), 0.0);
    for q in opts.queues {
        match opts.cells.get(&(q.clone(), src.state.to_string())) {
            None => {
                out.insert(q.clone(), Figure::Exact(0.0));
            }
            Some(Figure::Exact(n)) if src.window.is_none() && reading + n <= opts.small() => {
                reading += n;
                few.push((q.clone(), *n));
            }
            Some(f) => {
                let n = f
                    .value()
                    .or(f.interval().map(|iv| iv.high))
                    .unwrap_or(f64::INFINITY);
                rest.push((q.clone(), n.max(1.0), f.is_exact()));
            }
        }
    }
    if !few.is_empty() {
        let names: Vec<String> = few.iter().map(|(q, _)| q.clone()).collect();
        // Within the budget, unless it reads no more than their first sample would.
        let budget = (!refine::like_a_sample(reading, few.len())).then_some(opts.budget);
        match sample::exact(conn, jobs, src, args, &names, budget)? {
            Some(m) => {
                for q in names {
                    let v = m.get(&q).copied().unwrap_or(0.0);
                    out.insert(q, Figure::Exact(v));
                }
            }
            None => rest.extend(few.into_iter().map(|(q, n)| (q, n.max(1.0), true))),
        }
    }
    if rest.is_empty() {
        return Ok(out);
    }
    let refine = refine::Refine {
        jobs,
        src,
        opts,
        args,
    };
    if src.window.is_some() {
        refine.windowed(conn, &rest, &mut out)?;
    } else {
        refine.by_queue(conn, &rest, &mut out)?;
    }
    Ok(out)
}
