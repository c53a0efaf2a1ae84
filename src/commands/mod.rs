//! One module per subcommand: each resolves its options, talks to the database through `db`,
//! and returns a report that `output` renders.

pub mod counts;
pub mod demo;
pub mod migrate;
pub mod prune;
pub mod rescue;
pub mod seed;
pub mod stats;

use crate::db::JobFilter;
use crate::error::usage;

/// Checks `--queue` and `--worker` values and builds the filter.
pub fn job_filter(queues: &[String], workers: &[String]) -> anyhow::Result<JobFilter> {
    for (flag, values) in [("--queue", queues), ("--worker", workers)] {
        if values.iter().any(|v| v.trim().is_empty()) {
            return Err(usage(format!("{flag}: expected a non-empty name")));
        }
    }
    Ok(JobFilter {
        queues: queues.to_vec(),
        workers: workers.to_vec(),
    })
}
