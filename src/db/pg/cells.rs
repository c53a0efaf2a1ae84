//! Queue × state counts of `oban stats` on PostgreSQL.
//!
//! Exact (one `GROUP BY`) when the table is small or `--exact` is given. On a large table the
//! (state, queue) pairs are listed exactly by skipping through the `(state, queue, …)` index,
//! and the counts come from a sample of the table's pages (`TABLESAMPLE SYSTEM`: each page is
//! read with probability `pi`, a seeded hash of its number). A cell's estimate is the sum of
//! its rows over the sampled pages divided by `pi`, with the interval of
//! [`crate::estimate::horvitz_thompson`] (pages are the units, so rows that cluster on pages
//! widen it as they should). A cell is shown as an estimate only when it passes the ±25% rule
//! and its lower limit is above a tenth of `--estimate-above`; every other cell is counted
//! exactly from the index, smallest first: the small ones always, the others while the time
//! budget lasts (a cell still uncounted then is unknown, with its range). When cells fail
//! that up to four times the pages would place, one larger sample comes first.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{Array, BigInt, Double, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::sample::Budget;
use super::PgSql;
use crate::db::sql::Query;
use crate::db::stats::Cell;
use crate::db::{quote_ident, Schema};
use crate::estimate::{self, horvitz_thompson, Figure, Interval, Tally};

/// Rows the page sample aims to read.
pub const SAMPLE_ROWS: f64 = 10_000.0;

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    queue: String,
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One cell's sampled rows: the page of each.
#[derive(QueryableByName)]
struct CellPages {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Array<BigInt>)]
    pages: Vec<i64>,
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = Double)]
    pages: f64,
    #[diesel(sql_type = Double)]
    rows_per_page: f64,
}

/// A second page sample may take up to this many times the pages of the first.
const GROWTH: f64 = 4.0;

/// The largest power of two (1, 1/2, 1/4, …) at or below `rate`.
fn power_of_two(rate: f64) -> f64 {
    if rate >= 1.0 || rate <= 0.0 {
        return rate.clamp(0.0, 1.0);
    }
    2f64.powi(rate.log2().floor() as i32)
}

/// Each pair's interval from a page sample taken at `percent`, and the probability it kept
/// each page with (SYSTEM keeps a page when a hash of it falls under rint(2^32 · percent / 100)).
fn judge(rows: Vec<CellPages>, percent: f32, pairs: &[Pair]) -> (f64, Vec<Interval>) {
    let pi = (4_294_967_296.0 * f64::from(percent) / 100.0).round() / 4_294_967_296.0;
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut per_page: BTreeMap<i64, f64> = BTreeMap::new();
    for r in rows {
        let mut rows_on: BTreeMap<i64, f64> = BTreeMap::new();
        for page in r.pages {
            *rows_on.entry(page).or_default() += 1.0;
        }
        let tally = tallies.entry((r.state, r.queue)).or_default();
        for (page, y) in rows_on {
            *per_page.entry(page).or_default() += y;
            tally.add(y);
        }
    }
    let fullest = per_page.values().copied().fold(1.0, f64::max);
    let ivs = pairs
        .iter()
        .map(|p| {
            let t = tallies
                .get(&(p.state.clone(), p.queue.clone()))
                .copied()
                .unwrap_or_default();
            horvitz_thompson(&t, pi, fullest)
        })
        .collect();
    (pi, ivs)
}

/// Cells counted by one statement once the budget applies.
const CELLS_PER_COUNT: usize = 4;

/// One statement counting the cells `out[at]` exactly, each from the `(state, queue, …)` index.
fn count_cells(jobs: &str, state_type: &str, out: &[Cell], at: &[usize]) -> Query<Pg> {
    let states: Vec<String> = at.iter().map(|i| out[*i].state.clone()).collect();
    let queues: Vec<String> = at.iter().map(|i| out[*i].queue.clone()).collect();
    let mut q = PgSql::new();
    let (states, queues) = (q.bind(&states), q.bind(&queues));
    q.push(&format!(
        "SELECT t.state, t.queue, (SELECT count(*) FROM {jobs} j \
            WHERE j.state = t.state::{state_type} AND j.queue = t.queue) AS n \
         FROM unnest({states}::text[], {queues}::text[]) AS t(state, queue)"
    ));
    q.query()
}

/// What the counts are taken with.
pub struct CellOpts<'a> {
    /// `--estimate-above`; None: exact.
    pub estimate_above: Option<u64>,
    /// Seeds the page sample.
    pub seed: i64,
    /// Time left for optional work.
    pub budget: &'a Budget,
}

fn exact_all(conn: &mut PgConnection, schema: &Schema) -> Result<Vec<Cell>> {
    let rows = crate::db::Catalog::counts(conn, schema).context("counting jobs")?;
    Ok(rows
        .into_iter()
        .map(|r| Cell {
            queue: r.queue,
            state: r.state.to_string(),
            figure: Figure::Exact(r.count as f64),
        })
        .collect())
}

/// Counts by queue and state.
pub fn cells(conn: &mut PgConnection, schema: &Schema, opts: &CellOpts) -> Result<Vec<Cell>> {
    let Some(threshold) = opts.estimate_above else {
        return exact_all(conn, schema);
    };
    if schema.estimated_rows.is_some_and(|r| r <= threshold as f64) {
        return exact_all(conn, schema);
    }
    let jobs = format!("{}.oban_jobs", quote_ident(&schema.prefix));
    let state_type = format!("{}.oban_job_state", quote_ident(&schema.prefix));
    let mut q = PgSql::new();
    let prefix = q.bind(&schema.prefix);
    q.push(&format!(
        "SELECT (pg_relation_size(c.oid) / current_setting('block_size')::float8) AS pages, \
                CASE WHEN c.relpages > 0 AND c.reltuples > 0 \
                     THEN c.reltuples / c.relpages ELSE 50 END::float8 AS rows_per_page \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {prefix} AND c.relname = 'oban_jobs'"
    ));
    let size: Vec<Size> = q.query().load(conn)?;
    let Some(size) = size.first() else {
        return exact_all(conn, schema);
    };
    // A power of two, so that the sampling rate does not move with the planner's row count
    // from one ANALYZE to the next (and the same seed gives the same pages).
    let percent = (power_of_two(estimate::rate_for(
        SAMPLE_ROWS / size.rows_per_page,
        size.pages,
    )) * 100.0) as f32;
    if percent >= 100.0 {
        return exact_all(conn, schema);
    }

    let pairs: Vec<Pair> = sql_query(format!(
        "WITH RECURSIVE pairs AS ( \
           (SELECT state, queue FROM {jobs} ORDER BY state, queue LIMIT 1) \
           UNION ALL \
           SELECT n.state, n.queue FROM pairs p, LATERAL ( \
             SELECT state, queue FROM {jobs} WHERE (state, queue) > (p.state, p.queue) \
             ORDER BY state, queue LIMIT 1) n) \
         SELECT state::text AS state, queue FROM pairs"
    ))
    .load(conn)
    .context("listing queues and states")?;

    let small = (threshold / 10).max(1) as f64;
    // Grouped by cell only, each with its rows' pages, which the client counts: a hash
    // aggregate keyed by page too cost about twice the sample's reading.
    let sample = |conn: &mut PgConnection, percent: f32| -> diesel::QueryResult<Vec<CellPages>> {
        let mut q = PgSql::new();
        let (percent, seed) = (q.bind(f64::from(percent)), q.bind(opts.seed as f64));
        q.push(&format!(
            "SELECT state::text AS state, queue, \
                    array_agg(((ctid::text::point)[0])::int8) AS pages \
             FROM {jobs} TABLESAMPLE SYSTEM ({percent}::float4) REPEATABLE ({seed}) \
             GROUP BY oban_jobs.state, queue"
        ));
        q.query().load(conn)
    };
    let started = std::time::Instant::now();
    let rows = sample(conn, percent).context("sampling the table's pages")?;
    let took = started.elapsed();
    let (mut pi, mut ivs) = judge(rows, percent, &pairs);
    // Cells the sample could not place but a few times more pages would: one larger sample
    // (the same seed keeps a superset of the pages) places them all at once, for less than
    // counting each, while the budget lasts.
    let wanted = pairs
        .iter()
        .zip(&ivs)
        .filter(|(_, iv)| !(iv.within_tolerance() && iv.low > small) && iv.high > small)
        .filter_map(|(_, iv)| estimate::rate_needed(iv, pi))
        .filter(|r| *r <= pi * GROWTH)
        .fold(pi, f64::max);
    if wanted > pi && opts.budget.fits(took.mul_f64(wanted / pi)) {
        let more = (power_of_two(wanted * 2.0).min(1.0) * 100.0) as f32;
        if let Some(rows) = opts.budget.attempt(conn, |c| sample(c, more))? {
            (pi, ivs) = judge(rows, more, &pairs);
        }
    }
    let mut out = Vec::with_capacity(pairs.len());
    let mut to_count: Vec<(Interval, usize)> = Vec::new();
    for (pair, iv) in pairs.into_iter().zip(ivs) {
        if !(iv.within_tolerance() && iv.low > small) {
            to_count.push((iv, out.len()));
        }
        out.push(Cell {
            queue: pair.queue,
            state: pair.state,
            figure: Figure::Estimate(iv),
        });
    }
    // Count the rest exactly, smallest first: those that must be small in one statement,
    // then one at a time while the budget lasts.
    to_count.sort_by(|a, b| a.0.high.total_cmp(&b.0.high));
    let (sure, maybe): (Vec<_>, Vec<_>) =
        to_count.into_iter().partition(|(iv, _)| iv.high <= small);
    let counted = |out: &mut [Cell], rows: Vec<Counted>| {
        for c in rows {
            if let Some(cell) = out
                .iter_mut()
                .find(|x| x.state == c.state && x.queue == c.queue)
            {
                cell.figure = Figure::Exact(c.n as f64);
            }
        }
    };
    if !sure.is_empty() {
        let at: Vec<usize> = sure.iter().map(|(_, i)| *i).collect();
        let query = count_cells(&jobs, &state_type, &out, &at);
        let rows = query.load(conn).context("counting small cells")?;
        counted(&mut out, rows);
    }
    // A few cells a statement: fewer round trips than one each, and a statement that runs
    // out of budget loses only its own.
    for chunk in maybe.chunks(CELLS_PER_COUNT) {
        let at: Vec<usize> = chunk.iter().map(|(_, i)| *i).collect();
        let query = count_cells(&jobs, &state_type, &out, &at);
        if let Some(rows) = opts.budget.attempt(conn, |c| query.load::<Counted>(c))? {
            counted(&mut out, rows);
            continue;
        }
        for (iv, i) in chunk {
            out[*i].figure = Figure::judge(*iv, || {
                format!(
                    "sampled {:.1}% of the table's pages: the 95% range {:.0}–{:.0} is wider \
                     than ±{:.0}%, and counting exactly did not fit the time budget (raise \
                     --budget, or use --exact)",
                    pi * 100.0,
                    iv.low,
                    iv.high,
                    estimate::TOLERANCE * 100.0
                )
            });
        }
    }
    Ok(out)
}
