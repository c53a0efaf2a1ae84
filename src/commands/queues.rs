//! `oban queues`: one row per queue and node from `oban_producers` (oban-py): paused, limit,
//! jobs running now, last heartbeat, alive or stale; beside it the queue's job counts, taken by
//! the same pass as `oban stats` (so exact, or an estimate marked `~`). Schemas without a
//! producers table (Elixir Oban, Oban Lite) show the counts alone.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{QueuesArgs, StatsArgs};
use crate::commands::stats::{self, StatsOpts};
use crate::config::Settings;
use crate::db::pg::signal;
use crate::db::{Db, Schema};
use crate::defaults;
use crate::error::usage;
use crate::model::Flavour;
use crate::output::{self, Report};
use crate::watch;

/// One producer: a queue running on one node.
#[derive(Debug, Clone, Serialize)]
pub struct QueueNode {
    /// The queue.
    pub queue: String,
    /// The node.
    pub node: String,
    /// The Oban instance name.
    pub name: String,
    /// `meta.paused`; null when the producer records none.
    pub paused: Option<bool>,
    /// `meta.local_limit`.
    pub limit: Option<i64>,
    /// Jobs of this queue executing on this producer now.
    pub running: i64,
    /// Last heartbeat, RFC 3339 UTC.
    pub heartbeat: String,
    /// Seconds since the last heartbeat.
    pub silent_for: f64,
    /// Heard from within the producer TTL (60s).
    pub alive: bool,
}

/// What `queues` shows.
#[derive(Debug, Clone, Serialize)]
pub struct QueuesReport {
    /// Always "queues".
    pub command: &'static str,
    /// The schema flavour.
    pub flavour: Flavour,
    /// Each queue and node (oban-py); empty where no producers table exists.
    pub producers: Vec<QueueNode>,
    /// Whether the schema records producers at all.
    pub has_producers: bool,
    /// Jobs per queue and state (null: withheld, see `oban stats`).
    pub counts: BTreeMap<String, BTreeMap<String, Option<u64>>>,
    /// The `"queue/state"` cells that are estimates.
    pub estimated: Vec<String>,
}

const COUNTED: [&str; 4] = ["available", "scheduled", "retryable", "executing"];

impl QueuesReport {
    fn count(&self, queue: &str, state: &str) -> String {
        let Some(cell) = self.counts.get(queue).and_then(|c| c.get(state)) else {
            return "0".into();
        };
        let approx = self
            .estimated
            .iter()
            .any(|e| e == &format!("{queue}/{state}"));
        match (cell, approx) {
            (None, _) => "?".into(),
            (Some(n), true) => format!("~{n}"),
            (Some(n), false) => n.to_string(),
        }
    }

    /// Every queue: those with producers and those with jobs.
    fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.counts.keys().cloned().collect();
        names.extend(self.producers.iter().map(|p| p.queue.clone()));
        names.sort();
        names.dedup();
        names
    }
}

/// The columns of the table.
const COLUMNS: [&str; 10] = [
    "queue",
    "node",
    "paused",
    "limit",
    "running",
    "heartbeat",
    "avail",
    "sched",
    "retry",
    "exec",
];

impl QueuesReport {
    /// The table's rows: a queue with no producer once, else once per node.
    fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for queue in self.queue_names() {
            let counts: Vec<String> = COUNTED.iter().map(|s| self.count(&queue, s)).collect();
            let nodes: Vec<&QueueNode> =
                self.producers.iter().filter(|p| p.queue == queue).collect();
            if nodes.is_empty() {
                let none = if self.has_producers { "none" } else { "-" };
                let mut row = vec![queue.clone(), none.to_string()];
                row.extend((0..4).map(|_| "-".to_string()));
                row.extend(counts.iter().cloned());
                rows.push(row);
            }
            for p in nodes {
                let beat = format!(
                    "{} ago{}",
                    crate::output::duration_secs(p.silent_for),
                    if p.alive { "" } else { " STALE" }
                );
                let mut row = vec![
                    queue.clone(),
                    p.node.clone(),
                    match p.paused {
                        Some(true) => "PAUSED",
                        Some(false) => "no",
                        None => "?",
                    }
                    .to_string(),
                    p.limit.map_or("?".into(), |l| l.to_string()),
                    p.running.to_string(),
                    beat,
                ];
                row.extend(counts.iter().cloned());
                rows.push(row);
            }
        }
        rows
    }
}

impl Report for QueuesReport {
    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        (COLUMNS.map(String::from).to_vec(), self.rows())
    }

    fn to_table(&self) -> String {
        let mut table = output::table(&COLUMNS);
        for row in self.rows() {
            table.add_row(row);
        }
        let mut text = format!("{table}\n");
        if !self.has_producers {
            text.push_str(&format!(
                "{} records no producers: pause state, limits and heartbeats are unknown here\n",
                self.flavour.label()
            ));
        }
        text
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut rows = vec![];
        for queue in self.queue_names() {
            let counts: Vec<String> = COUNTED.iter().map(|s| self.count(&queue, s)).collect();
            let nodes: Vec<&QueueNode> =
                self.producers.iter().filter(|p| p.queue == queue).collect();
            if nodes.is_empty() {
                let mut row = vec![queue.clone(), String::new(), String::new()];
                row.extend((0..5).map(|_| String::new()));
                row.extend(counts.iter().cloned());
                rows.push(row);
            }
            for p in nodes {
                let mut row = vec![
                    queue.clone(),
                    p.node.clone(),
                    p.name.clone(),
                    p.paused.map_or(String::new(), |v| v.to_string()),
                    p.limit.map_or(String::new(), |v| v.to_string()),
                    p.running.to_string(),
                    p.heartbeat.clone(),
                    p.alive.to_string(),
                ];
                row.extend(counts.iter().cloned());
                rows.push(row);
            }
        }
        (
            output::header(
                "queue,node,name,paused,limit,running,heartbeat,alive,available,scheduled,\
                 retryable,executing",
            ),
            rows,
        )
    }
}

/// One look at the queues.
pub fn pass(
    db: &mut Db,
    schema: &Schema,
    queues: &[String],
    settings: &Settings,
) -> Result<QueuesReport> {
    let ttl = defaults::PRODUCER_TTL.as_secs_f64();
    let producers = match (schema.has_producers, db.postgres()) {
        (true, Some(conn)) => signal::producers(conn, schema, queues, None)?
            .into_iter()
            .map(|p| QueueNode {
                alive: p.silent_for <= ttl,
                queue: p.queue,
                node: p.node,
                name: p.name,
                paused: p.paused,
                limit: p.limit,
                running: p.running,
                heartbeat: p.heartbeat,
                silent_for: p.silent_for,
            })
            .collect(),
        _ => vec![],
    };
    let opts = StatsOpts::resolve(&StatsArgs::default(), settings);
    let stats = stats::pass(db, schema, &opts, None)?;
    let keep = |q: &String| queues.is_empty() || queues.contains(q);
    Ok(QueuesReport {
        command: "queues",
        flavour: schema.flavour,
        has_producers: schema.has_producers,
        producers,
        counts: stats.counts.into_iter().filter(|(q, _)| keep(q)).collect(),
        estimated: stats
            .estimated
            .into_iter()
            .filter(|e| e.split_once('/').is_some_and(|(q, _)| keep(&q.to_string())))
            .collect(),
    })
}

/// The `oban queues` command.
pub fn run(settings: &Settings, args: &QueuesArgs, out: &mut dyn Write) -> Result<i32> {
    if args.queue.iter().any(|q| q.trim().is_empty()) {
        return Err(usage("--queue: expected a non-empty name"));
    }
    let watching = args.watch.watch;
    let style = settings.style(watching);
    let interval = args.watch.interval.unwrap_or(defaults::QUEUES_INTERVAL);
    // On a terminal each pass redraws one frame in place, as stats and inspect do.
    let redraw = watching
        && !settings.quiet
        && settings.format == crate::cli::Format::Table
        && output::Terminal::get().stdout;
    let runner = watch::Runner::reader("queues", settings, watching, interval);
    runner.run(
        |db, schema, _first| {
            let report = pass(db, schema, &args.queue, settings)?;
            if redraw {
                output::write_frame(out, "queues", interval, &report)
            } else {
                output::write_report(out, style, &report)
            }
        },
        |e| e,
    )?;
    Ok(0)
}
