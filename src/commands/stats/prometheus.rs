//! The Prometheus text exposition of a stats report. Every queue gets every series, so a
//! series never vanishes when its figure is 0: a cell with no job reads 0, a figure that is not
//! known reads NaN (with `oban_figure_unknown` at 1), an estimate carries its 95% range in the
//! `_low` and `_high` families and `oban_jobs_estimated` / `oban_figure_estimated` at 1.

use std::fmt::Write as _;

use super::StatsReport;
use crate::model::JobState;

/// State names in the order of a job's life.
const STATES: [&str; 8] = JobState::NAMES;
use crate::estimate::Figure;

pub use crate::output::prometheus_label as label;

/// The per-queue figures and their families.
const FIGURES: [(&str, &str, &str); 8] = [
    (
        "latency",
        "oban_queue_latency_seconds",
        "Age of the oldest available job (0 when none waits).",
    ),
    ("executing", "oban_jobs_executing", "Jobs executing now."),
    (
        "longest_running",
        "oban_longest_running_seconds",
        "Run time of the longest-running executing job (0 when none runs).",
    ),
    (
        "stuck",
        "oban_jobs_stuck",
        "Jobs executing longer than rescue_after.",
    ),
    (
        "completed_last_minute",
        "oban_jobs_completed_last_minute",
        "Jobs completed in the last minute.",
    ),
    (
        "completed_last_hour",
        "oban_jobs_completed_last_hour",
        "Jobs completed in the last hour.",
    ),
    (
        "discarded_last_hour",
        "oban_jobs_discarded_last_hour",
        "Jobs discarded in the last hour.",
    ),
    (
        "retryable_last_hour",
        "oban_jobs_retryable_last_hour",
        "Jobs that failed an attempt in the last hour.",
    ),
];

fn value(f: &Figure) -> f64 {
    f.value().unwrap_or(f64::NAN)
}

/// The whole exposition.
pub fn render(r: &StatsReport) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let (mut jobs, mut estimated, mut low, mut high) = (vec![], vec![], vec![], vec![]);
    for queue in r.queues.keys() {
        for state in STATES {
            let labels = format!("{{queue=\"{}\",state=\"{}\"}}", label(queue), label(state));
            let f = r
                .found
                .cells
                .get(&(queue.clone(), state.to_string()))
                .cloned()
                .unwrap_or(Figure::Exact(0.0));
            estimated.push((labels.clone(), f64::from(u8::from(f.is_estimate()))));
            if let (Figure::Estimate(iv), true) = (&f, f.is_estimate()) {
                low.push((labels.clone(), iv.low.floor()));
                high.push((labels.clone(), iv.high.ceil()));
            }
            jobs.push((labels, value(&f).round()));
        }
    }
    family(
        "oban_jobs",
        "Jobs by queue and state (NaN: not known).",
        jobs,
    );
    family(
        "oban_jobs_estimated",
        "1 when the oban_jobs sample is an estimate (within 25% at 95% confidence).",
        estimated,
    );
    family(
        "oban_jobs_low",
        "Lower limit of the 95% range of an estimated oban_jobs sample.",
        low,
    );
    family(
        "oban_jobs_high",
        "Upper limit of the 95% range of an estimated oban_jobs sample.",
        high,
    );
    let figure = |queue: &str, metric: &str| {
        r.found
            .figures
            .get(&(queue.to_string(), metric.to_string()))
            .cloned()
            .unwrap_or(Figure::Exact(0.0))
    };
    let (mut est, mut unknown, mut low, mut high) = (vec![], vec![], vec![], vec![]);
    for queue in r.queues.keys() {
        for (metric, _, _) in FIGURES {
            let f = figure(queue, metric);
            let labels = format!("{{queue=\"{}\",figure=\"{}\"}}", label(queue), metric);
            est.push((labels.clone(), f64::from(u8::from(f.is_estimate()))));
            unknown.push((
                labels.clone(),
                f64::from(u8::from(matches!(f, Figure::Unknown { .. }))),
            ));
            if let Figure::Estimate(iv) = f {
                low.push((labels.clone(), iv.low.floor()));
                high.push((labels, iv.high.ceil()));
            }
        }
    }
    family(
        "oban_figure_estimated",
        "1 for each per-queue figure that is an estimate (within 25% at 95% confidence).",
        est,
    );
    family(
        "oban_figure_unknown",
        "1 for each per-queue figure that is not known (its series reads NaN).",
        unknown,
    );
    family(
        "oban_figure_low",
        "Lower limit of the 95% range of an estimated per-queue figure.",
        low,
    );
    family(
        "oban_figure_high",
        "Upper limit of the 95% range of an estimated per-queue figure.",
        high,
    );
    for (metric, name, help) in FIGURES {
        let samples = r
            .queues
            .keys()
            .map(|q| {
                let f = figure(q, metric);
                let v = if matches!(f, Figure::Unknown { .. }) {
                    f64::NAN
                } else {
                    value(&f).max(0.0)
                };
                (format!("{{queue=\"{}\"}}", label(q)), v)
            })
            .collect();
        family(name, help, samples);
    }
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
                    f64::from(u8::from(p.alive)),
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
        vec![(String::new(), f64::from(u8::from(!r.breaches.is_empty())))],
    );
    out
}
