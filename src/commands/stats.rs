//! `oban stats`: counts by queue and state, queue latency, throughput, failures and database
//! health, once or live, for people (table), scripts (JSON, CSV) and monitoring (Prometheus),
//! with thresholds that make the exit code 3 when breached.

mod exporter;
mod prometheus;
mod render;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{Format, StatsArgs};
use crate::config::Settings;
use crate::db::partitions::LeafSize;
use crate::db::stats::{Leader, Producer, Sampling, TableHealth};
use crate::db::{Db, Flavour, Schema};
use crate::defaults;
use crate::estimate::{self, Figure, Interval};
use crate::model::DbTime;
use crate::output;
use crate::watch;

/// Resolved options.
#[derive(Debug, Clone)]
pub struct StatsOpts {
    /// Estimate cells above this many rows; None for exact counts.
    pub estimate_above: Option<u64>,
    /// Time for refining estimates (more samples, exact counts) in a pass; None: no limit.
    pub budget: Option<Duration>,
    /// Seeds the samples; None: a new seed each pass.
    pub seed: Option<i64>,
    /// Executing longer than this is stuck.
    pub rescue_after: Duration,
    /// Threshold on queue latency.
    pub max_latency: Option<Duration>,
    /// Threshold on stuck jobs.
    pub max_stuck: Option<u64>,
    /// Threshold on jobs discarded in the last hour.
    pub max_discarded_rate: Option<u64>,
}

impl StatsOpts {
    /// Resolves flags over configuration.
    pub fn resolve(args: &StatsArgs, settings: &Settings) -> StatsOpts {
        StatsOpts {
            estimate_above: (!args.exact).then_some(
                args.estimate_above
                    .unwrap_or(defaults::STATS_ESTIMATE_ABOVE),
            ),
            budget: Some(args.budget.unwrap_or(defaults::STATS_BUDGET)),
            seed: args.seed,
            rescue_after: args.rescue_after.unwrap_or(settings.lifeline.rescue_after),
            max_latency: args.max_latency,
            max_stuck: args.max_stuck,
            max_discarded_rate: args.max_discarded_rate,
        }
    }
}

/// Health of one queue. A figure is null when it is not known (see `unknown_figures`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueHealth {
    /// Seconds the oldest available job has waited (queue latency).
    pub latency: Option<f64>,
    /// Jobs executing now.
    pub executing: Option<u64>,
    /// Seconds the longest-running executing job has run.
    pub longest_running: Option<f64>,
    /// Executing longer than `rescue_after`.
    pub stuck: Option<u64>,
    /// Completed in the last minute.
    pub completed_last_minute: Option<u64>,
    /// Completed in the last hour.
    pub completed_last_hour: Option<u64>,
    /// Discarded in the last hour.
    pub discarded_last_hour: Option<u64>,
    /// Failed an attempt (now retryable) in the last hour.
    pub retryable_last_hour: Option<u64>,
    /// Completed per second since the previous `--watch` tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_per_second: Option<f64>,
}

impl QueueHealth {
    /// The per-queue figures that are counts of jobs.
    const COUNTS: [&'static str; 6] = [
        "executing",
        "stuck",
        "completed_last_minute",
        "completed_last_hour",
        "discarded_last_hour",
        "retryable_last_hour",
    ];

    /// The count figure named `metric`, if it is one.
    fn count_mut(&mut self, metric: &str) -> Option<&mut Option<u64>> {
        Some(match metric {
            "executing" => &mut self.executing,
            "stuck" => &mut self.stuck,
            "completed_last_minute" => &mut self.completed_last_minute,
            "completed_last_hour" => &mut self.completed_last_hour,
            "discarded_last_hour" => &mut self.discarded_last_hour,
            "retryable_last_hour" => &mut self.retryable_last_hour,
            _ => return None,
        })
    }
}

/// A 95% range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    /// Lower limit.
    pub low: f64,
    /// Upper limit.
    pub high: f64,
}

impl From<Interval> for Range {
    fn from(iv: Interval) -> Range {
        Range {
            low: iv.low.floor(),
            high: iv.high.ceil(),
        }
    }
}

/// Everything one stats pass found.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// Always "stats".
    pub command: &'static str,
    /// The schema.
    pub prefix: String,
    /// The table shape.
    pub flavour: Flavour,
    /// When the figures were taken (database clock, RFC 3339).
    pub taken_at: DbTime,
    /// Jobs per queue and state (null: not known, see `unknown`).
    pub counts: BTreeMap<String, BTreeMap<String, Option<u64>>>,
    /// The `queue/state` cells that are estimates (sampled; ranges in `cell_ranges`).
    pub estimated: Vec<String>,
    /// The `queue/figure` per-queue figures that are estimates (ranges in `figure_ranges`).
    pub estimated_figures: Vec<String>,
    /// Confidence of every range.
    pub confidence: f64,
    /// 95% range of each estimated cell, by `queue/state`.
    pub cell_ranges: BTreeMap<String, Range>,
    /// 95% range of each estimated per-queue figure, by `queue/figure`.
    pub figure_ranges: BTreeMap<String, Range>,
    /// Cells not known, by `queue/state`, with the reason.
    pub unknown: BTreeMap<String, String>,
    /// Per-queue figures not known, by `queue/figure`, with the reason.
    pub unknown_figures: BTreeMap<String, String>,
    /// Jobs per state over all queues (null when a part is not known).
    pub states: BTreeMap<String, Option<u64>>,
    /// The states whose total includes estimates.
    pub estimated_states: Vec<String>,
    /// 95% range of each estimated state total.
    pub state_ranges: BTreeMap<String, Range>,
    /// All jobs (null when a part is not known).
    pub total: Option<u64>,
    /// Whether `total` includes estimates.
    pub total_estimated: bool,
    /// 95% range of `total` when it is an estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_range: Option<Range>,
    /// Per-queue health.
    pub queues: BTreeMap<String, QueueHealth>,
    /// Seconds of `rescue_after` used for `stuck`.
    pub rescue_after: u64,
    /// Table size and vacuum state (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<TableHealth>,
    /// Each leaf of a partitioned table: rows (counted) and size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<LeafSize>>,
    /// Producers (oban-py).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producers: Option<Vec<Producer>>,
    /// The current leader, when the schema tracks leadership.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<Leader>,
    /// Thresholds breached, in words.
    pub breaches: Vec<String>,
    /// Seconds the pass took.
    pub elapsed: f64,
    /// Every cell and figure as found, for the renderers.
    #[serde(skip)]
    pub found: Found,
}

/// Cells, state totals and figures as [`Figure`]s.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// By (queue, state).
    pub cells: BTreeMap<(String, String), Figure>,
    /// By state.
    pub states: BTreeMap<String, Figure>,
    /// Over everything.
    pub total: Option<Figure>,
    /// By (queue, figure).
    pub figures: BTreeMap<(String, String), Figure>,
}

fn count(f: &Figure) -> Option<u64> {
    f.value().map(|v| v.max(0.0).round() as u64)
}

/// Runs one read-only pass. `previous` is the last tick's `taken_at`, for rates.
pub fn pass(
    db: &mut Db,
    schema: &Schema,
    opts: &StatsOpts,
    previous: Option<(&str, Instant)>,
) -> Result<StatsReport> {
    let started = Instant::now();
    db.read_only(|db| {
        let taken = db.cutoff(Duration::ZERO)?;
        let since = previous.map(|(at, _)| at.trim_end_matches('Z').to_string());
        let since_text = match (&since, schema.flavour) {
            (Some(s), Flavour::Lite) => Some(format!("{s}Z")),
            (s, _) => s.clone(),
        };
        let mut exact = Vec::new();
        if opts.max_stuck.is_some() {
            exact.push("stuck");
        }
        if opts.max_discarded_rate.is_some() {
            exact.push("discarded_last_hour");
        }
        let (cells, metrics) = db.stats_figures(
            schema,
            &Sampling {
                estimate_above: opts.estimate_above,
                seed: opts.seed.unwrap_or_else(|| fastrand::i64(..)),
                budget: opts.budget,
                rescue_after: opts.rescue_after.as_secs_f64(),
                since: since_text.as_deref(),
                exact: &exact,
            },
        )?;
        let mut found = Found::default();
        for c in cells {
            found.cells.insert((c.queue, c.state), c.figure);
        }
        for m in metrics {
            found.figures.insert((m.queue, m.metric), m.figure);
        }
        let mut report = build(schema, opts, &taken, found, previous);
        report.table = db.table_health(schema)?;
        if schema.partitions.is_some() {
            report.partitions = Some(anyhow::Context::context(
                db.leaf_sizes(schema),
                "reading the partitions",
            )?);
        }
        report.producers = db.producers(schema)?;
        report.leader = db.leader(schema)?;
        report.breaches = breaches(&report, opts);
        report.elapsed = started.elapsed().as_secs_f64();
        Ok(report)
    })
}

/// The report's maps and lists from what was found.
fn build(
    schema: &Schema,
    opts: &StatsOpts,
    taken: &str,
    mut found: Found,
    previous: Option<(&str, Instant)>,
) -> StatsReport {
    let key = |a: &str, b: &str| format!("{a}/{b}");
    let mut r = StatsReport {
        command: "stats",
        prefix: schema.prefix.clone(),
        flavour: schema.flavour,
        taken_at: DbTime::from_db(taken),
        counts: BTreeMap::new(),
        estimated: Vec::new(),
        estimated_figures: Vec::new(),
        confidence: estimate::CONFIDENCE,
        cell_ranges: BTreeMap::new(),
        figure_ranges: BTreeMap::new(),
        unknown: BTreeMap::new(),
        unknown_figures: BTreeMap::new(),
        states: BTreeMap::new(),
        estimated_states: Vec::new(),
        state_ranges: BTreeMap::new(),
        total: None,
        total_estimated: false,
        total_range: None,
        queues: BTreeMap::new(),
        rescue_after: opts.rescue_after.as_secs(),
        table: None,
        partitions: None,
        producers: None,
        leader: None,
        breaches: Vec::new(),
        elapsed: 0.0,
        found: Found::default(),
    };
    let mut by_state: BTreeMap<String, Vec<Figure>> = BTreeMap::new();
    for ((queue, state), f) in &found.cells {
        let marks = (&mut r.estimated, &mut r.cell_ranges, &mut r.unknown);
        mark(key(queue, state), f, marks);
        by_state.entry(state.clone()).or_default().push(f.clone());
        r.queues.entry(queue.clone()).or_default();
        r.counts
            .entry(queue.clone())
            .or_default()
            .insert(state.clone(), count(f));
    }
    let mut all = Vec::new();
    for (state, parts) in by_state {
        let f = estimate::sum(&parts);
        if let Figure::Estimate(iv) = &f {
            r.estimated_states.push(state.clone());
            r.state_ranges.insert(state.clone(), (*iv).into());
        }
        r.states.insert(state.clone(), count(&f));
        all.push(f.clone());
        found.states.insert(state, f);
    }
    let total = estimate::sum(&all);
    r.total = count(&total);
    if let Figure::Estimate(iv) = &total {
        r.total_estimated = true;
        r.total_range = Some((*iv).into());
    }
    found.total = Some(total);
    for ((queue, metric), f) in &found.figures {
        let marks = (
            &mut r.estimated_figures,
            &mut r.figure_ranges,
            &mut r.unknown_figures,
        );
        mark(key(queue, metric), f, marks);
        let q = r.queues.entry(queue.clone()).or_default();
        let v = f.value().map(|v| v.max(0.0));
        let n = count(f);
        if let Some(slot) = q.count_mut(metric) {
            *slot = n;
        }
        match metric.as_str() {
            "latency" => q.latency = v,
            "longest_running" => q.longest_running = v,
            "completed_since" => {
                let secs = previous.map_or(1.0, |(_, at)| at.elapsed().as_secs_f64().max(0.001));
                q.completed_per_second = v.map(|v| v / secs);
            }
            _ => {}
        }
    }
    // A queue with no job in a state has that figure at 0, exactly.
    for q in r.queues.values_mut() {
        for metric in QueueHealth::COUNTS {
            if let Some(n) = q.count_mut(metric) {
                n.get_or_insert(0);
            }
        }
        if previous.is_some() {
            q.completed_per_second.get_or_insert(0.0);
        }
    }
    for (queue, metric) in r.unknown_figures.keys().filter_map(|k| k.rsplit_once('/')) {
        if let Some(slot) = r.queues.get_mut(queue).and_then(|q| q.count_mut(metric)) {
            *slot = None;
        }
    }
    r.found = found;
    r
}

/// Records how a figure stands: an estimate (listed, with its range) or unknown (with why).
fn mark(
    key: String,
    f: &Figure,
    (estimated, ranges, unknown): (
        &mut Vec<String>,
        &mut BTreeMap<String, Range>,
        &mut BTreeMap<String, String>,
    ),
) {
    match f {
        Figure::Estimate(iv) => {
            estimated.push(key.clone());
            ranges.insert(key, (*iv).into());
        }
        Figure::Unknown { reason, .. } => {
            unknown.insert(key, reason.clone());
        }
        Figure::Exact(_) => {}
    }
}

fn breaches(report: &StatsReport, opts: &StatsOpts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(max) = opts.max_latency {
        for (queue, q) in &report.queues {
            if let Some(latency) = q.latency.filter(|l| *l > max.as_secs_f64()) {
                out.push(format!(
                    "queue {queue}: latency {} is over --max-latency {}",
                    render::human(latency),
                    crate::duration::human(max)
                ));
            }
        }
    }
    let stuck: u64 = report.queues.values().filter_map(|q| q.stuck).sum();
    if let Some(max) = opts.max_stuck.filter(|m| stuck > *m) {
        out.push(format!(
            "{stuck} jobs stuck in executing (longer than {}) is over --max-stuck {max}",
            crate::duration::human(opts.rescue_after)
        ));
    }
    let discarded: u64 = report
        .queues
        .values()
        .filter_map(|q| q.discarded_last_hour)
        .sum();
    if let Some(max) = opts.max_discarded_rate.filter(|m| discarded > *m) {
        out.push(format!(
            "{discarded} jobs discarded in the last hour is over --max-discarded-rate {max}"
        ));
    }
    out
}

/// The `oban stats` command.
pub fn run(settings: &Settings, args: &StatsArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = StatsOpts::resolve(args, settings);
    if let Some(addr) = args.listen {
        let limits = super::session_limits(&crate::cli::SessionArgs {
            lock_timeout: None,
            statement_timeout: args.statement_timeout,
        });
        let min_interval = args.min_interval.unwrap_or(defaults::STATS_MIN_INTERVAL);
        return exporter::serve(settings, &opts, limits, addr, min_interval);
    }
    let watching = args.watch.watch;
    let interval = args.watch.interval.unwrap_or(defaults::STATS_INTERVAL);
    let terminal = output::Terminal::get().stdout;
    let live_view = watching && settings.format == Format::Table && terminal;
    let mut style = settings.style(watching);
    if watching && settings.format == Format::Table && !terminal && !settings.format_given {
        // A watch piped somewhere is read by a program: one JSON document per tick, unless
        // tables were asked for by name.
        style.format = Format::Json;
        if !settings.quiet {
            eprintln!(
                "oban: stats --watch: stdout is not a terminal, so one JSON document per tick \
                 (-o table for tables)"
            );
        }
    }
    let limits = super::session_limits(&crate::cli::SessionArgs {
        lock_timeout: None,
        statement_timeout: args.statement_timeout,
    });
    let mut previous: Option<(String, Instant)> = None;
    let mut breached = false;
    let runner = watch::Runner {
        command: "stats",
        settings,
        limits,
        watching,
        interval,
        advice: if args.exact { ", or drop --exact" } else { "" },
    };
    runner.run(
        |db, schema, _first| {
            let prev = previous.as_ref().map(|(t, at)| (t.as_str(), *at));
            let report = pass(db, schema, &opts, prev)?;
            previous = Some((report.taken_at.to_string(), Instant::now()));
            breached = !report.breaches.is_empty();
            if live_view {
                return output::write_frame(out, "stats", interval, &report);
            }
            for b in &report.breaches {
                output::notice(&format!("oban: stats: threshold breached: {b}"));
            }
            output::write_report(out, style, &report)
        },
        |e| e,
    )?;
    Ok(if breached && !watching {
        crate::error::exit::BREACH
    } else {
        crate::error::exit::OK
    })
}
