//! The table and CSV forms of a stats report. Exact figures print as numbers, estimates as
//! `~N` (per-queue figures as `~N±H`, H half the 95% range), unknown figures as `?`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::StatsReport;
use crate::model::JobState;

/// State names in the order of a job's life.
const STATES: [&str; 8] = JobState::NAMES;
use crate::estimate::{self, Figure};
use crate::output::{self, Report};

pub use crate::output::{bytes, duration_secs as human};

const SHORT: [&str; 8] = [
    "avail", "susp", "sched", "exec", "retry", "done", "cancel", "disc",
];

/// A count: `123`, `~123`, or `?`.
fn count(f: Option<&Figure>) -> String {
    match f {
        None => "0".into(),
        Some(Figure::Exact(v)) => format!("{}", v.round()),
        Some(Figure::Estimate(iv)) => format!("~{}", iv.value.round()),
        Some(Figure::Unknown { .. }) => "?".into(),
    }
}

/// A per-queue count with its uncertainty: `123`, `~120±40`, or `?`.
fn plus_minus(f: &Figure) -> String {
    match f {
        Figure::Estimate(iv) => format!("~{}±{}", iv.value.round(), iv.plus_minus().ceil()),
        other => count(Some(other)),
    }
}

fn right(text: String) -> comfy_table::Cell {
    comfy_table::Cell::new(text).set_alignment(comfy_table::CellAlignment::Right)
}

impl StatsReport {
    fn figure(&self, queue: &str, metric: &str) -> Figure {
        self.found
            .figures
            .get(&(queue.to_string(), metric.to_string()))
            .cloned()
            .unwrap_or(Figure::Exact(0.0))
    }

    fn any_estimate(&self) -> bool {
        self.found.cells.values().any(Figure::is_estimate)
            || self.found.figures.values().any(Figure::is_estimate)
    }

    /// The queue × state counts as text, a row per queue then `total`: queue, each state in
    /// life order, the queue's total.
    fn matrix(&self) -> Vec<Vec<String>> {
        let mut rows: Vec<(String, BTreeMap<&str, Figure>)> = self
            .counts
            .keys()
            .map(|queue| {
                let cells = STATES
                    .iter()
                    .filter_map(|s| {
                        let f = self.found.cells.get(&(queue.clone(), s.to_string()))?;
                        Some((*s, f.clone()))
                    })
                    .collect();
                (queue.clone(), cells)
            })
            .collect();
        rows.push((
            "total".into(),
            STATES
                .iter()
                .filter_map(|s| Some((*s, self.found.states.get(*s)?.clone())))
                .collect(),
        ));
        rows.into_iter()
            .map(|(queue, cells)| {
                let mut row = vec![queue];
                row.extend(STATES.iter().map(|state| count(cells.get(state))));
                let parts: Vec<Figure> = cells.values().cloned().collect();
                row.push(count(Some(&estimate::sum(&parts))));
                row
            })
            .collect()
    }

    fn any_unknown(&self) -> bool {
        !self.unknown.is_empty() || !self.unknown_figures.is_empty()
    }
}

impl Report for StatsReport {
    fn to_table(&self) -> String {
        let total = self.found.total.clone().unwrap_or(Figure::Exact(0.0));
        let mut out = format!(
            "stats: {} jobs in schema {} ({}) at {}\n",
            count(Some(&total)),
            self.prefix,
            self.flavour.label(),
            self.taken_at,
        );
        let mut header = vec!["queue"];
        header.extend(SHORT);
        header.push("total");
        let mut t = output::table(&header);
        for row in self.matrix() {
            let mut cells = row.into_iter();
            let mut r = vec![comfy_table::Cell::new(cells.next().unwrap_or_default())];
            r.extend(cells.map(right));
            t.add_row(r);
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
            let longest = match self.figure(queue, "longest_running") {
                Figure::Exact(l) => human(l),
                Figure::Estimate(iv) => format!("~{}", human(iv.value)),
                Figure::Unknown { .. } => "?".into(),
            };
            let failed = estimate::sum(&[
                self.figure(queue, "discarded_last_hour"),
                self.figure(queue, "retryable_last_hour"),
            ]);
            let mut row = vec![
                comfy_table::Cell::new(queue),
                q.latency.map(human).unwrap_or_else(|| "-".into()).into(),
                right(plus_minus(&self.figure(queue, "executing"))),
                if q.longest_running.is_none() && longest == "0s" {
                    "-".into()
                } else {
                    longest.into()
                },
                right(plus_minus(&self.figure(queue, "stuck"))),
                right(plus_minus(&self.figure(queue, "completed_last_minute"))),
                right(plus_minus(&self.figure(queue, "completed_last_hour"))),
                right(plus_minus(&failed)),
            ];
            if rates {
                let mark = if self.figure(queue, "completed_since").is_estimate() {
                    "~"
                } else {
                    ""
                };
                row.push(match q.completed_per_second {
                    Some(r) => format!("{mark}{r:.1}").into(),
                    None => "?".into(),
                });
            }
            t.add_row(row);
        }
        let _ = writeln!(out, "{t}");
        if self.any_estimate() {
            let _ = writeln!(
                out,
                "~ estimate, within ±{:.0}% at {:.0}% confidence (±: half its range; ranges in -o json)",
                estimate::TOLERANCE * 100.0,
                estimate::CONFIDENCE * 100.0
            );
        }
        if self.any_unknown() {
            let _ = writeln!(
                out,
                "? not known within the time budget: no estimate within ±{:.0}% (reasons in -o json; \
                 raise --budget or use --exact)",
                estimate::TOLERANCE * 100.0
            );
        }
        if let Some(h) = &self.table {
            let _ = writeln!(
                out,
                "table: {} ({} heap, {} indexes), ~{} live / ~{} dead tuples",
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
        if let Some(leaves) = &self.partitions {
            let mut t = output::table(&["partition", "rows", "size"]);
            for l in leaves {
                t.add_row(vec![
                    comfy_table::Cell::new(&l.name),
                    output::num(l.rows.max(0) as u64),
                    comfy_table::Cell::new(bytes(l.bytes)),
                ]);
            }
            let _ = writeln!(out, "{t}");
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
        output::csv(
            "queue,state,count,estimated,low,high",
            &self.found.cells,
            |((queue, state), f)| {
                let (low, high) = f
                    .interval()
                    .filter(|_| f.is_estimate())
                    .map_or((String::new(), String::new()), |iv| {
                        (iv.low.floor().to_string(), iv.high.ceil().to_string())
                    });
                vec![
                    queue.clone(),
                    state.clone(),
                    f.value()
                        .map_or(String::new(), |v| (v.round() as u64).to_string()),
                    f.is_estimate().to_string(),
                    low,
                    high,
                ]
            },
        )
    }

    fn to_prometheus(&self) -> Option<String> {
        Some(super::prometheus::render(self))
    }

    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec!["queue".to_string()];
        header.extend(SHORT.map(String::from));
        header.push("total".into());
        (header, self.matrix())
    }
}
