//! `oban stats`: counts by queue and state, queue latency, throughput, failures and database
//! health, once or live, for people (table), scripts (JSON, CSV) and monitoring (Prometheus),
//! with thresholds that make the exit code 3 when breached.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{Format, StatsArgs};
use crate::config::Settings;
use crate::db::figures::FigureOpts;
use crate::db::stats::{Leader, Producer, TableHealth};
use crate::db::{Db, Flavour, Schema};
use crate::defaults;
use crate::model::JobState;
use crate::output::{self, Report};
use crate::watch;

/// Resolved options.
#[derive(Debug, Clone)]
pub struct StatsOpts {
    /// Estimate cells above this many rows; None for exact counts.
    pub estimate_above: Option<u64>,
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
            rescue_after: args.rescue_after.unwrap_or(settings.lifeline.rescue_after),
            max_latency: args.max_latency,
            max_stuck: args.max_stuck,
            max_discarded_rate: args.max_discarded_rate,
        }
    }
}

/// Health of one queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueHealth {
    /// Seconds the oldest available job has waited (queue latency).
    pub latency: Option<f64>,
    /// Jobs executing now.
    pub executing: u64,
    /// Seconds the longest-running executing job has run.
    pub longest_running: Option<f64>,
    /// Executing longer than `rescue_after`.
    pub stuck: u64,
    /// Completed in the last minute.
    pub completed_last_minute: u64,
    /// Completed in the last hour.
    pub completed_last_hour: u64,
    /// Discarded in the last hour.
    pub discarded_last_hour: u64,
    /// Failed an attempt (now retryable) in the last hour.
    pub retryable_last_hour: u64,
    /// Completed per second since the previous `--watch` tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_per_second: Option<f64>,
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
    pub taken_at: String,
    /// Jobs per queue and state.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// The `queue/state` cells that are planner estimates.
    pub estimated: Vec<String>,
    /// The `queue/figure` per-queue figures (`completed_last_hour`, …) that are estimates:
    /// sampled, or the planner's.
    pub estimated_figures: Vec<String>,
    /// Jobs per state over all queues.
    pub states: BTreeMap<String, u64>,
    /// All jobs.
    pub total: u64,
    /// Per-queue health.
    pub queues: BTreeMap<String, QueueHealth>,
    /// Seconds of `rescue_after` used for `stuck`.
    pub rescue_after: u64,
    /// Table size and vacuum state (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<TableHealth>,
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
}

impl StatsReport {
    fn is_estimated(&self, queue: &str, state: &str) -> bool {
        self.estimated
            .iter()
            .any(|c| c == &format!("{queue}/{state}"))
    }

    /// `~` when any of these figures of the queue is an estimate.
    fn mark(&self, queue: &str, figures: &[&str]) -> &'static str {
        let estimated = figures.iter().any(|f| {
            self.estimated_figures
                .iter()
                .any(|e| e == &format!("{queue}/{f}"))
        });
        if estimated {
            "~"
        } else {
            ""
        }
    }

    /// A per-queue count as the table shows it, marked when an estimate.
    fn figure(&self, queue: &str, figures: &[&str], n: u64) -> comfy_table::Cell {
        comfy_table::Cell::new(format!("{}{n}", self.mark(queue, figures)))
            .set_alignment(comfy_table::CellAlignment::Right)
    }
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
        let mut report = StatsReport {
            command: "stats",
            prefix: schema.prefix.clone(),
            flavour: schema.flavour,
            taken_at: if taken.ends_with('Z') {
                taken.clone()
            } else {
                format!("{taken}Z")
            },
            counts: BTreeMap::new(),
            estimated: Vec::new(),
            estimated_figures: Vec::new(),
            states: BTreeMap::new(),
            total: 0,
            queues: BTreeMap::new(),
            rescue_after: opts.rescue_after.as_secs(),
            table: None,
            producers: None,
            leader: None,
            breaches: Vec::new(),
            elapsed: 0.0,
        };
        for cell in db.cells(schema, opts.estimate_above)? {
            if cell.estimated {
                report
                    .estimated
                    .push(format!("{}/{}", cell.queue, cell.state));
            }
            *report.states.entry(cell.state.clone()).or_default() += cell.count;
            report.total += cell.count;
            report.queues.entry(cell.queue.clone()).or_default();
            report
                .counts
                .entry(cell.queue)
                .or_default()
                .insert(cell.state, cell.count);
        }
        let since = previous.map(|(at, _)| at.trim_end_matches('Z').to_string());
        let since_text = match (&since, schema.flavour) {
            (Some(s), Flavour::Lite) => Some(format!("{s}Z")),
            (s, _) => s.clone(),
        };
        let queues: Vec<String> = report.queues.keys().cloned().collect();
        let mut exact = Vec::new();
        if opts.max_stuck.is_some() {
            exact.push("stuck");
        }
        if opts.max_discarded_rate.is_some() {
            exact.push("discarded_last_hour");
        }
        let metrics = db.queue_metrics(
            schema,
            &FigureOpts {
                rescue_after: opts.rescue_after.as_secs_f64(),
                since: since_text.as_deref(),
                queues: &queues,
                estimate_above: opts.estimate_above,
                exact: &exact,
            },
        )?;
        for m in metrics {
            if m.estimated {
                report
                    .estimated_figures
                    .push(format!("{}/{}", m.queue, m.metric));
            }
            let q = report.queues.entry(m.queue).or_default();
            let v = m.value.unwrap_or(0.0);
            let n = v.max(0.0).round() as u64;
            match m.metric.as_str() {
                "latency" => q.latency = Some(v.max(0.0)),
                "executing" => q.executing = n,
                "longest_running" => q.longest_running = Some(v.max(0.0)),
                "stuck" => q.stuck = n,
                "completed_last_minute" => q.completed_last_minute = n,
                "completed_last_hour" => q.completed_last_hour = n,
                "discarded_last_hour" => q.discarded_last_hour = n,
                "retryable_last_hour" => q.retryable_last_hour = n,
                "completed_since" => {
                    let secs =
                        previous.map_or(1.0, |(_, at)| at.elapsed().as_secs_f64().max(0.001));
                    q.completed_per_second = Some(v / secs);
                }
                _ => {}
            }
        }
        if previous.is_some() {
            for q in report.queues.values_mut() {
                q.completed_per_second.get_or_insert(0.0);
            }
        }
        report.table = db.table_health(schema)?;
        report.producers = db.producers(schema)?;
        report.leader = db.leader(schema)?;
        report.breaches = breaches(&report, opts);
        report.elapsed = started.elapsed().as_secs_f64();
        Ok(report)
    })
}

fn breaches(report: &StatsReport, opts: &StatsOpts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(max) = opts.max_latency {
        for (queue, q) in &report.queues {
            if let Some(latency) = q.latency.filter(|l| *l > max.as_secs_f64()) {
                out.push(format!(
                    "queue {queue}: latency {} is over --max-latency {}",
                    human(latency),
                    crate::duration::human(max)
                ));
            }
        }
    }
    let stuck: u64 = report.queues.values().map(|q| q.stuck).sum();
    if let Some(max) = opts.max_stuck.filter(|m| stuck > *m) {
        out.push(format!(
            "{stuck} jobs stuck in executing (longer than {}) is over --max-stuck {max}",
            crate::duration::human(opts.rescue_after)
        ));
    }
    let discarded: u64 = report.queues.values().map(|q| q.discarded_last_hour).sum();
    if let Some(max) = opts.max_discarded_rate.filter(|m| discarded > *m) {
        out.push(format!(
            "{discarded} jobs discarded in the last hour is over --max-discarded-rate {max}"
        ));
    }
    out
}

fn human(secs: f64) -> String {
    crate::duration::human(Duration::from_secs(secs.max(0.0).round() as u64))
}

fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.0} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

const SHORT: [&str; 8] = [
    "avail", "susp", "sched", "exec", "retry", "done", "cancel", "disc",
];

impl Report for StatsReport {
    fn to_table(&self) -> String {
        let mut out = format!(
            "stats: {} jobs in schema {} ({}) at {}{}\n",
            self.total,
            self.prefix,
            self.flavour.label(),
            self.taken_at,
            if self.estimated.is_empty() && self.estimated_figures.is_empty() {
                ""
            } else {
                "  (~ estimate)"
            }
        );
        let mut header = vec!["queue"];
        header.extend(SHORT);
        header.push("total");
        let mut t = output::table(&header);
        let mut rows: Vec<(String, BTreeMap<String, u64>)> =
            self.counts.clone().into_iter().collect();
        rows.push(("total".into(), self.states.clone()));
        for (queue, states) in &rows {
            let mut row = vec![comfy_table::Cell::new(queue)];
            for state in JobState::ALL.map(JobState::name) {
                let n = states.get(state).copied().unwrap_or(0);
                let mark = if queue != "total" && self.is_estimated(queue, state) {
                    "~"
                } else {
                    ""
                };
                row.push(
                    comfy_table::Cell::new(format!("{mark}{n}"))
                        .set_alignment(comfy_table::CellAlignment::Right),
                );
            }
            row.push(output::num(states.values().sum()));
            t.add_row(row);
        }
        let _ = writeln!(out, "{t}");
        let rates = self
            .queues
            .values()
            .any(|q| q.completed_per_second.is_some());
        let mut header = vec![
            "queue",
            "latency",
            "exec",
            "longest",
            "stuck",
            "done/1m",
            "done/1h",
            "failed/1h",
        ];
        if rates {
            header.push("done/s");
        }
        let mut t = output::table(&header);
        for (queue, q) in &self.queues {
            let mut row = vec![
                comfy_table::Cell::new(queue),
                q.latency.map(human).unwrap_or_else(|| "-".into()).into(),
                output::num(q.executing),
                q.longest_running
                    .map(|l| format!("{}{}", self.mark(queue, &["longest_running"]), human(l)))
                    .unwrap_or_else(|| "-".into())
                    .into(),
                self.figure(queue, &["stuck"], q.stuck),
                self.figure(queue, &["completed_last_minute"], q.completed_last_minute),
                self.figure(queue, &["completed_last_hour"], q.completed_last_hour),
                self.figure(
                    queue,
                    &["discarded_last_hour", "retryable_last_hour"],
                    q.discarded_last_hour + q.retryable_last_hour,
                ),
            ];
            if rates {
                row.push(format!("{:.1}", q.completed_per_second.unwrap_or(0.0)).into());
            }
            t.add_row(row);
        }
        let _ = writeln!(out, "{t}");
        if let Some(h) = &self.table {
            let _ = writeln!(
                out,
                "table: {} ({} heap, {} indexes), {} live / {} dead tuples",
                bytes(h.total_bytes),
                bytes(h.table_bytes),
                bytes(h.index_bytes),
                h.live_tuples,
                h.dead_tuples
            );
            let last = |a: &Option<String>, b: &Option<String>| {
                a.clone().max(b.clone()).unwrap_or_else(|| "never".into())
            };
            let _ = writeln!(
                out,
                "       last vacuum {}, last analyze {}",
                last(&h.last_vacuum, &h.last_autovacuum),
                last(&h.last_analyze, &h.last_autoanalyze)
            );
        }
        if let Some(producers) = &self.producers {
            let mut t = output::table(&["node", "queue", "started", "heartbeat", "alive"]);
            for p in producers {
                t.add_row(vec![
                    p.node.clone(),
                    p.queue.clone(),
                    p.started_at.clone(),
                    p.updated_at.clone(),
                    if p.alive {
                        "yes".into()
                    } else {
                        "STALE".into()
                    },
                ]);
            }
            if producers.is_empty() {
                let _ = writeln!(out, "producers: none running");
            } else {
                let _ = writeln!(out, "producers:\n{t}");
            }
        }
        if let Some(l) = &self.leader {
            let _ = writeln!(out, "leader: {} (lease until {})", l.node, l.expires_at);
        }
        for b in &self.breaches {
            let _ = writeln!(out, "BREACH: {b}");
        }
        out
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let rows = self
            .counts
            .iter()
            .flat_map(|(queue, states)| {
                states.iter().map(move |(state, n)| {
                    vec![
                        queue.clone(),
                        state.clone(),
                        n.to_string(),
                        self.is_estimated(queue, state).to_string(),
                    ]
                })
            })
            .collect();
        (
            ["queue", "state", "count", "estimated"]
                .map(String::from)
                .to_vec(),
            rows,
        )
    }

    fn to_prometheus(&self) -> Option<String> {
        Some(prometheus(self))
    }
}

/// Escapes a label value for the text exposition format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn prometheus(r: &StatsReport) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let per_queue = |f: &dyn Fn(&QueueHealth) -> Option<f64>| -> Vec<(String, f64)> {
        r.queues
            .iter()
            .filter_map(|(q, h)| f(h).map(|v| (format!("{{queue=\"{}\"}}", label(q)), v)))
            .collect()
    };
    let mut jobs = Vec::new();
    let mut estimated = Vec::new();
    for (queue, states) in &r.counts {
        for (state, n) in states {
            let labels = format!("{{queue=\"{}\",state=\"{}\"}}", label(queue), label(state));
            estimated.push((
                labels.clone(),
                if r.is_estimated(queue, state) {
                    1.0
                } else {
                    0.0
                },
            ));
            jobs.push((labels, *n as f64));
        }
    }
    family("oban_jobs", "Jobs by queue and state.", jobs);
    family(
        "oban_jobs_estimated",
        "1 when the oban_jobs sample is a planner estimate.",
        estimated,
    );
    if !r.estimated_figures.is_empty() {
        let samples = r
            .estimated_figures
            .iter()
            .filter_map(|e| e.rsplit_once('/'))
            .map(|(q, f)| {
                let labels = format!("{{queue=\"{}\",figure=\"{}\"}}", label(q), label(f));
                (labels, 1.0)
            })
            .collect();
        family(
            "oban_figure_estimated",
            "1 for each per-queue figure that is an estimate (sampled or the planner's).",
            samples,
        );
    }
    family(
        "oban_queue_latency_seconds",
        "Age of the oldest available job.",
        per_queue(&|h| h.latency),
    );
    family(
        "oban_jobs_executing",
        "Jobs executing now.",
        per_queue(&|h| Some(h.executing as f64)),
    );
    family(
        "oban_longest_running_seconds",
        "Run time of the longest-running executing job.",
        per_queue(&|h| h.longest_running),
    );
    family(
        "oban_jobs_stuck",
        "Jobs executing longer than rescue_after.",
        per_queue(&|h| Some(h.stuck as f64)),
    );
    family(
        "oban_jobs_completed_last_minute",
        "Jobs completed in the last minute.",
        per_queue(&|h| Some(h.completed_last_minute as f64)),
    );
    family(
        "oban_jobs_completed_last_hour",
        "Jobs completed in the last hour.",
        per_queue(&|h| Some(h.completed_last_hour as f64)),
    );
    family(
        "oban_jobs_discarded_last_hour",
        "Jobs discarded in the last hour.",
        per_queue(&|h| Some(h.discarded_last_hour as f64)),
    );
    family(
        "oban_jobs_retryable_last_hour",
        "Jobs that failed an attempt in the last hour.",
        per_queue(&|h| Some(h.retryable_last_hour as f64)),
    );
    if let Some(t) = &r.table {
        family(
            "oban_table_bytes",
            "Size of oban_jobs with indexes and TOAST.",
            vec![(String::new(), t.total_bytes as f64)],
        );
        family(
            "oban_table_index_bytes",
            "Size of the indexes of oban_jobs.",
            vec![(String::new(), t.index_bytes as f64)],
        );
        family(
            "oban_table_dead_tuples",
            "Dead tuples in oban_jobs awaiting vacuum.",
            vec![(String::new(), t.dead_tuples as f64)],
        );
    }
    if let Some(producers) = &r.producers {
        let samples = producers
            .iter()
            .map(|p| {
                (
                    format!(
                        "{{node=\"{}\",queue=\"{}\"}}",
                        label(&p.node),
                        label(&p.queue)
                    ),
                    if p.alive { 1.0 } else { 0.0 },
                )
            })
            .collect();
        family(
            "oban_producer_alive",
            "1 when the producer heartbeated within 60 s.",
            samples,
        );
    }
    family(
        "oban_threshold_breached",
        "1 when a threshold given to oban stats was breached.",
        vec![(String::new(), if r.breaches.is_empty() { 0.0 } else { 1.0 })],
    );
    out
}

/// Says which flag to raise when a statement ran out of time.
fn timeout_hint(e: anyhow::Error, timeout: Duration, exact: bool) -> anyhow::Error {
    let text = format!("{e:#}");
    if !text.contains("statement timeout") {
        return e;
    }
    let drop_exact = if exact { ", or drop --exact" } else { "" };
    anyhow::anyhow!(
        "{text} (after {}; raise --statement-timeout{drop_exact})",
        crate::duration::human(timeout)
    )
}

/// The `oban stats` command.
pub fn run(settings: &Settings, args: &StatsArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = StatsOpts::resolve(args, settings);
    let watching = args.watch.watch;
    let interval = args.watch.interval.unwrap_or(defaults::STATS_INTERVAL);
    let terminal = output::Terminal::get().stdout;
    let live_view = watching && settings.format == Format::Table && terminal;
    let mut style = settings.style(watching);
    if watching && settings.format == Format::Table && !terminal {
        // A watch piped somewhere is read by a program: one JSON document per tick.
        style.format = Format::Json;
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
    };
    runner.run(
        |db, schema, _first| {
            let prev = previous.as_ref().map(|(t, at)| (t.as_str(), *at));
            let report = pass(db, schema, &opts, prev)?;
            previous = Some((report.taken_at.clone(), Instant::now()));
            breached = !report.breaches.is_empty();
            if live_view {
                out.write_all(b"\x1b[2J\x1b[H")?;
            }
            if !report.breaches.is_empty() && !live_view {
                for b in &report.breaches {
                    eprintln!("oban: stats: threshold breached: {b}");
                }
            }
            output::write_report(out, style, &report)
        },
        |e| timeout_hint(e, limits.statement_timeout, args.exact),
    )?;
    Ok(if breached && !watching {
        crate::error::exit::BREACH
    } else {
        crate::error::exit::OK
    })
}
