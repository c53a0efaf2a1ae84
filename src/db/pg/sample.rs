//! The statements behind sampled per-queue figures on PostgreSQL, and the time budget that
//! bounds how far `stats` refines them.
//!
//! Two ways to sample, by what an index can list:
//!
//! - [`window_sample`]: the jobs of a timestamp window that a partial (or `(state, column)`)
//!   index lists. The unit is one timestamp value: a walk of the index keeps each distinct value
//!   with probability `pi` (a seeded hash of the value, so jobs finished in one statement, which
//!   share a timestamp, are kept or left together), and one probe per kept value reads the queue
//!   of every job that has it.
//! - [`candidate_sample`]: the jobs of one state and queue, listed by the `(state, queue, …)`
//!   index with their ids; each id is kept with its queue's probability (a seeded hash of the
//!   id) and probed for the figure's condition.
//!
//! Inclusion is a hash compared with a threshold out of 2^31, so the probability is exact and
//! a larger threshold with the same seed keeps a superset of the same units.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use diesel::connection::SimpleConnection;
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{Double, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::PgSql;
use crate::db::errors::Timeout;
use crate::db::sql::Query;
use crate::estimate::{Figure, Tally};

/// Index entries a first sample may walk outside the budget: about 15 ms with cached pages.
pub const FREE_WALK: f64 = 100_000.0;

/// Hash values run over [0, 2^31).
pub const HASH_RANGE: f64 = 2_147_483_648.0;

/// The threshold that keeps a unit with probability `pi`, and the probability it really gives.
pub fn threshold(pi: f64) -> (i64, f64) {
    let t = (pi.clamp(0.0, 1.0) * HASH_RANGE).ceil() as i64;
    let t = t.clamp(1, HASH_RANGE as i64);
    (t, t as f64 / HASH_RANGE)
}

/// How long optional work (more samples, exact reads) may take in this pass, and how much of
/// it is spent.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Time for optional work; None: no limit.
    pub limit: Option<Duration>,
    /// Spent so far.
    pub spent: Cell<Duration>,
    /// The session's statement timeout in milliseconds, restored after each attempt.
    pub statement_timeout_ms: u64,
}

impl Budget {
    /// Whether there is time left for optional work.
    pub fn left(&self) -> bool {
        self.limit.is_none_or(|l| self.spent.get() < l)
    }

    /// Whether work expected to take `d` fits in what is left.
    pub fn fits(&self, d: Duration) -> bool {
        self.limit.is_none_or(|l| self.spent.get() + d <= l)
    }

    /// Runs `work` (one statement) within what is left of the budget: under a statement
    /// timeout, in a savepoint so that running out of time leaves the transaction usable.
    /// Ok(None) when the budget was spent before or during the statement.
    pub fn attempt<T>(
        &self,
        conn: &mut PgConnection,
        work: impl FnOnce(&mut PgConnection) -> diesel::QueryResult<T>,
    ) -> Result<Option<T>> {
        self.attempt_share(conn, 1.0, work)
    }

    /// [`Budget::attempt`] with at most `share` (0–1] of what is left, so that a statement that
    /// may not fit leaves time for the work after it.
    pub fn attempt_share<T>(
        &self,
        conn: &mut PgConnection,
        share: f64,
        work: impl FnOnce(&mut PgConnection) -> diesel::QueryResult<T>,
    ) -> Result<Option<T>> {
        let Some(limit) = self.limit else {
            return Ok(Some(work(conn)?));
        };
        let left = limit
            .saturating_sub(self.spent.get())
            .mul_f64(share.clamp(0.0, 1.0));
        let left = left.as_millis() as u64;
        if left == 0 {
            return Ok(None);
        }
        let ms = left.min(self.statement_timeout_ms.max(1));
        let started = Instant::now();
        conn.batch_execute(&format!(
            "SAVEPOINT oban_stats_budget; SET LOCAL statement_timeout = {ms}"
        ))?;
        let result = work(conn);
        self.spent.set(self.spent.get() + started.elapsed());
        match result {
            Ok(value) => {
                conn.batch_execute(&format!(
                    "RELEASE SAVEPOINT oban_stats_budget; SET LOCAL statement_timeout = {}",
                    self.statement_timeout_ms
                ))?;
                Ok(Some(value))
            }
            Err(e) if crate::db::errors::timeout_of(&e) == Some(Timeout::Statement) => {
                conn.batch_execute(
                    "ROLLBACK TO SAVEPOINT oban_stats_budget; RELEASE SAVEPOINT oban_stats_budget",
                )?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The session's statement timeout, in milliseconds.
pub fn statement_timeout_ms(conn: &mut PgConnection) -> Result<u64> {
    let rows: Vec<Num> =
        sql_query("SELECT setting::float8 AS n FROM pg_settings WHERE name = 'statement_timeout'")
            .load(conn)?;
    Ok(rows.first().map_or(0.0, |r| r.n) as u64)
}

/// The values every figure statement may use: `$1` rescue_after in seconds, `$2` the previous
/// watch tick (a timestamp, or `-infinity` as text), `$3` the sampling seed, `$4` queues, `$5` per-queue
/// hash thresholds.
#[derive(Debug, Clone)]
pub struct Args {
    /// Seconds after which an executing job is stuck.
    pub rescue_after: f64,
    /// The previous watch tick, or `-infinity`.
    pub since: String,
    /// Seeds every hash.
    pub seed: i64,
}

impl Args {
    /// `sql` with every value bound; `queues` and `thresholds` as `$4` and `$5`.
    pub fn query(&self, sql: &str, queues: &[String], thresholds: &[i64]) -> Query<Pg> {
        let mut q = PgSql::new();
        // Bound in this order, the values are `$1` to `$5` whatever the text says.
        q.bind(self.rescue_after);
        q.stamp(&self.since);
        q.bind(self.seed);
        q.bind(queues);
        q.bind(thresholds);
        q.push(sql);
        q.query()
    }
}

#[derive(QueryableByName)]
struct Num {
    #[diesel(sql_type = Double)]
    n: f64,
}

#[derive(QueryableByName)]
struct QueueValue {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Double)]
    value: f64,
}

#[derive(QueryableByName)]
struct UnitRow {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Nullable<Text>)]
    unit: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    y: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    n: Option<f64>,
}

/// One figure's source: jobs in `state` (a fixed name) matching `cond` (SQL over the job's
/// columns, fixed text with `$n` binds from [`Args`]).
#[derive(Debug, Clone)]
pub struct Source {
    /// The state the jobs are in.
    pub state: &'static str,
    /// The figure's condition on a job of that state.
    pub cond: String,
    /// The timestamp column an index lists the window by, and the window's lower bound:
    /// for [`window_sample`].
    pub window: Option<(&'static str, String)>,
}

/// A single number from `sql`.
pub fn number(conn: &mut PgConnection, args: &Args, sql: &str) -> Result<f64> {
    let rows: Vec<Num> = args.query(sql, &[], &[]).load(conn)?;
    Ok(rows.first().map_or(0.0, |r| r.n))
}

/// Jobs in the window, counted from the index alone: up to [`FREE_WALK`] outside the budget,
/// a larger window within `budget` (None when that did not fit).
pub fn window_size(
    conn: &mut PgConnection,
    jobs: &str,
    s: &Source,
    args: &Args,
    budget: &Budget,
) -> Result<Option<f64>> {
    let (column, after) = s.window.as_ref().expect("a window source");
    let rows = format!(
        "SELECT 1 FROM {jobs} WHERE state = '{}' AND {column} > {after}",
        s.state
    );
    let capped = format!(
        "SELECT count(*)::float8 AS n FROM ({rows} LIMIT {}) w",
        FREE_WALK as u64 + 1
    );
    let first = number(conn, args, &capped)?;
    if first <= FREE_WALK {
        return Ok(Some(first));
    }
    // Over the cap: walked again in full, within the budget (the capped part twice at most).
    let all = format!("SELECT count(*)::float8 AS n FROM ({rows}) w");
    let run = |conn: &mut PgConnection| args.query(&all, &[], &[]).load::<Num>(conn);
    Ok(budget
        .attempt(conn, run)?
        .map(|rows| rows.first().map_or(0.0, |r| r.n)))
}

/// The exact figure per queue, for `queues` (every queue when empty). Runs within `budget`
/// when one is given.
pub fn exact(
    conn: &mut PgConnection,
    jobs: &str,
    s: &Source,
    args: &Args,
    queues: &[String],
    budget: Option<&Budget>,
) -> Result<Option<BTreeMap<String, f64>>> {
    let scope = if queues.is_empty() {
        match &s.window {
            Some((column, after)) => format!("{column} > {after}"),
            None => "true".into(),
        }
    } else {
        "queue = ANY($4)".into()
    };
    let sql = format!(
        "SELECT queue, (count(*) FILTER (WHERE {cond}))::float8 AS value FROM {jobs} \
         WHERE state = '{state}' AND {scope} GROUP BY queue",
        cond = s.cond,
        state = s.state
    );
    let run = |conn: &mut PgConnection| args.query(&sql, queues, &[]).load::<QueueValue>(conn);
    let rows = match budget {
        Some(b) => b.attempt(conn, run)?,
        None => Some(run(conn)?),
    };
    Ok(rows.map(|rows| rows.into_iter().map(|r| (r.queue, r.value)).collect()))
}

/// What one sample saw: a tally per queue, the largest unit seen (any queue), and, for a
/// sample by queue, how many jobs each queue has in the source state (counted by the walk).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Per queue.
    pub tallies: BTreeMap<String, Tally>,
    /// The largest number of jobs in one unit.
    pub largest_unit: f64,
    /// Jobs per queue in the source state, exactly.
    pub counts: BTreeMap<String, f64>,
}

impl Seen {
    /// Jobs the sample read.
    pub fn jobs(&self) -> f64 {
        self.tallies.values().map(|t| t.sum.max(t.units)).sum()
    }
}

fn tally(rows: Vec<UnitRow>) -> Seen {
    let mut units: BTreeMap<String, f64> = BTreeMap::new();
    let mut seen = Seen::default();
    for r in rows {
        if let Some(n) = r.n {
            seen.counts.insert(r.queue.clone(), n);
        }
        let (Some(unit), Some(y)) = (r.unit, r.y) else {
            continue;
        };
        *units.entry(unit).or_default() += y;
        seen.tallies.entry(r.queue).or_default().add(y);
    }
    seen.largest_unit = units.values().copied().fold(1.0, f64::max);
    seen
}

/// Samples the window's timestamp values with hash threshold `t` (see the module comment).
/// Each queue's tally is over units (values) and counts the queue's jobs in each.
pub fn window_sample(
    conn: &mut PgConnection,
    jobs: &str,
    s: &Source,
    args: &Args,
    t: i64,
    budget: Option<&Budget>,
) -> Result<Option<Seen>> {
    let (column, after) = s.window.as_ref().expect("a window source");
    let state = s.state;
    let sql = format!(
        "SELECT p.queue, s.v::text AS unit, count(*)::float8 AS y, NULL::float8 AS n \
         FROM (SELECT DISTINCT {column} AS v FROM {jobs} \
               WHERE state = '{state}' AND {column} > {after} \
                 AND (timestamp_hash_extended({column}, $3) & 2147483647) < {t}) s \
         CROSS JOIN LATERAL (SELECT queue FROM {jobs} \
                             WHERE state = '{state}' AND {column} = s.v) p \
         GROUP BY 1, 2"
    );
    let run = |conn: &mut PgConnection| args.query(&sql, &[], &[]).load::<UnitRow>(conn);
    let rows = match budget {
        Some(b) => b.attempt(conn, run)?,
        None => Some(run(conn)?),
    };
    Ok(rows.map(tally))
}

/// Samples each queue's jobs in the source state by id, with that queue's hash threshold, and
/// probes each kept job for the condition. Units are jobs: y is 1 when the condition holds.
/// The same walk of the index counts each queue's jobs in that state.
pub fn candidate_sample(
    conn: &mut PgConnection,
    jobs: &str,
    s: &Source,
    args: &Args,
    queues: &[String],
    thresholds: &[i64],
    budget: Option<&Budget>,
) -> Result<Option<Seen>> {
    let state = s.state;
    // The walk reads only the (state, queue, …, id) index, once per queue: it counts the
    // queue's jobs and keeps the sampled ids, which are then probed one by one.
    let sql = format!(
        "SELECT t.queue, s.id::text AS unit, \
                (CASE WHEN p.ok THEN 1 ELSE 0 END)::float8 AS y, w.n::float8 AS n \
         FROM unnest($4::text[], $5::int8[]) AS t(queue, thr) \
         CROSS JOIN LATERAL (SELECT count(*) AS n, array_agg(id) FILTER \
                               (WHERE (hashint8extended(id, $3) & 2147483647) < t.thr) AS ids \
                             FROM {jobs} WHERE state = '{state}' AND queue = t.queue) w \
         LEFT JOIN LATERAL unnest(w.ids) AS s(id) ON true \
         LEFT JOIN LATERAL (SELECT coalesce(bool_or({cond}), false) AS ok FROM {jobs} \
                            WHERE id = s.id AND state = '{state}') p ON true",
        cond = s.cond
    );
    let run = |conn: &mut PgConnection| args.query(&sql, queues, thresholds).load::<UnitRow>(conn);
    let rows = match budget {
        Some(b) => b.attempt(conn, run)?,
        None => Some(run(conn)?),
    };
    Ok(rows.map(tally))
}

/// What the figures are computed from.
pub struct FigureOpts<'a> {
    /// Executing longer than this many seconds is stuck.
    pub rescue_after: f64,
    /// The previous watch tick (database clock text), for `completed_since`.
    pub since: Option<&'a str>,
    /// The queues found, in order.
    pub queues: &'a [String],
    /// The cells already known, by (queue, state).
    pub cells: &'a BTreeMap<(String, String), Figure>,
    /// `--estimate-above`; None makes every figure exact.
    pub estimate_above: Option<u64>,
    /// Figures a threshold is set on: always exact.
    pub exact: &'a [&'a str],
    /// Seeds every sample.
    pub seed: i64,
    /// Time left for optional work.
    pub budget: &'a Budget,
    /// Jobs per (queue, state) that a walk of the index counted exactly along the way.
    pub counted: &'a std::cell::RefCell<BTreeMap<(String, String), f64>>,
}

impl FigureOpts<'_> {
    /// Whether `metric` must be exact.
    pub fn exact(&self, metric: &str) -> bool {
        self.estimate_above.is_none() || self.exact.contains(&metric)
    }

    /// Jobs below which a set is read exactly: a tenth of `--estimate-above`.
    pub fn small(&self) -> f64 {
        self.estimate_above
            .map_or(f64::INFINITY, |t| (t / 10).max(1) as f64)
    }

    /// The budget a first walk of an index over `n` entries runs within: none up to
    /// [`FREE_WALK`] entries, the pass's above that, so that what a pass reads outside the
    /// budget does not grow with the table (an incident's million retryable jobs, say).
    pub fn walk_budget(&self, n: f64) -> Option<&Budget> {
        (n > FREE_WALK).then_some(self.budget)
    }
}
