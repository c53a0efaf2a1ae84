//! Job counts by state and queue, as the demo shows them before and after a prune.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::db::{Db, Schema};
use crate::model::JobState;
use crate::output::{self, Report};

/// Exact counts, `{queue: {state: n}}`.
#[derive(Debug, Clone, Serialize)]
pub struct CountsReport {
    /// Always "counts".
    pub command: &'static str,
    /// A label for the moment the counts were taken ("before", "after").
    pub label: String,
    /// Jobs per queue and state.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Jobs per state, over all queues.
    pub states: BTreeMap<String, u64>,
    /// All jobs.
    pub total: u64,
}

/// Counts every job by queue and state.
pub fn counts(db: &mut Db, schema: &Schema, label: &str) -> Result<CountsReport> {
    let mut report = CountsReport {
        command: "counts",
        label: label.to_string(),
        counts: BTreeMap::new(),
        states: BTreeMap::new(),
        total: 0,
    };
    for cell in db.counts(schema).context("counting jobs")? {
        let n = cell.count as u64;
        report
            .counts
            .entry(cell.queue)
            .or_default()
            .insert(cell.state.to_string(), n);
        *report.states.entry(cell.state.to_string()).or_default() += n;
        report.total += n;
    }
    Ok(report)
}

impl Report for CountsReport {
    fn to_table(&self) -> String {
        let mut t = output::table(&["state", "jobs"]);
        for state in JobState::ALL.map(JobState::name) {
            if let Some(n) = self.states.get(state) {
                t.add_row(vec![state.into(), output::num(*n)]);
            }
        }
        t.add_row(vec!["total".into(), output::num(self.total)]);
        format!("jobs by state ({}):\n{t}\n", self.label)
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let cells = self
            .counts
            .iter()
            .flat_map(|(queue, states)| states.iter().map(move |s| (queue, s)));
        output::csv("queue,state,jobs", cells, |(queue, (state, n))| {
            vec![queue.clone(), state.clone(), n.to_string()]
        })
    }
}
