//! What an action did: the jobs changed and skipped, as a table, JSON or CSV.

use comfy_table::Cell;
use serde::Serialize;

use crate::db::{JobAction, JobRef};
use crate::output::{self, Report};

/// A job that changed (or would change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedJob {
    /// The job (attempts allowed after the change: retry raises it for exhausted jobs).
    #[serde(flatten)]
    pub job: JobRef,
    /// Its state before.
    pub state: String,
    /// Where it went: available, cancelled or deleted.
    pub to: &'static str,
}

impl ChangedJob {
    /// Its row of the job table: id, state, queue, worker, try, to (long names clipped).
    fn table_cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.state.clone(),
            output::clip(&self.queue, 12),
            output::clip_left(&self.worker, 24),
            format!("{}/{}", self.attempt, self.max_attempts),
            self.to.to_string(),
        ]
    }
}

impl std::ops::Deref for ChangedJob {
    type Target = JobRef;

    fn deref(&self) -> &JobRef {
        &self.job
    }
}

/// A job left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedJob {
    /// Job id.
    pub id: i64,
    /// Its state, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Why it was not changed.
    pub reason: String,
}

/// The result of an action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    /// "retry", "cancel" or "delete".
    pub command: &'static str,
    /// Planned only.
    pub dry_run: bool,
    /// The jobs changed (or, in a dry run, that would be).
    pub jobs: Vec<ChangedJob>,
    /// The jobs left alone, with the reason.
    pub skipped: Vec<SkippedJob>,
    /// Number of jobs changed.
    pub total: u64,
    /// Stopped by Ctrl-C between batches.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// More jobs may match than `--limit` allowed (acting by filter).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub limited: bool,
    /// How many jobs the filters match in all, when more than `--limit` did or with
    /// `--limit all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
}

fn verb(action: JobAction, dry_run: bool) -> &'static str {
    match (action, dry_run) {
        (JobAction::Retry, false) => "made available",
        (JobAction::Retry, true) => "would make available",
        (JobAction::Cancel, false) => "cancelled",
        (JobAction::Cancel, true) => "would cancel",
        (JobAction::Delete, false) => "deleted",
        (JobAction::Delete, true) => "would delete",
    }
}

impl ActionReport {
    fn action(&self) -> JobAction {
        match self.command {
            "retry" => JobAction::Retry,
            "cancel" => JobAction::Cancel,
            _ => JobAction::Delete,
        }
    }

    /// The changed jobs as a table (also the confirmation prompt's preview).
    pub fn jobs_table(&self) -> String {
        let mut t = output::table(&["id", "state", "queue", "worker", "try", "to"]);
        for j in self.jobs.iter().take(output::TABLE_ROWS) {
            let mut row: Vec<Cell> = j.table_cells().into_iter().map(Cell::new).collect();
            row[0] = output::num(j.id as u64);
            t.add_row(row);
        }
        let mut out = format!("{t}\n");
        if self.jobs.len() > output::TABLE_ROWS {
            out.push_str(&format!(
                "… and {} more (-o json lists them all)\n",
                self.jobs.len() - output::TABLE_ROWS
            ));
        }
        out
    }
}

impl Report for ActionReport {
    fn to_table(&self) -> String {
        let dry = if self.dry_run { " (dry run)" } else { "" };
        let verb = verb(self.action(), self.dry_run);
        let mut out = if self.jobs.is_empty() {
            format!("{}{dry}: no job {verb}\n", self.command)
        } else {
            format!(
                "{}{dry}: {verb}: {}\n{}",
                self.command,
                output::plural(self.total, "job", "jobs"),
                self.jobs_table()
            )
        };
        if !self.skipped.is_empty() {
            let mut t = output::table(&["id", "state", "skipped because"]);
            for s in self.skipped.iter().take(output::TABLE_ROWS) {
                t.add_row(vec![
                    output::num(s.id as u64),
                    Cell::new(s.state.as_deref().unwrap_or("-")),
                    Cell::new(&s.reason),
                ]);
            }
            out.push_str(&format!(
                "skipped {}:\n{t}\n",
                output::plural(self.skipped.len() as u64, "job", "jobs")
            ));
            if self.skipped.len() > output::TABLE_ROWS {
                out.push_str(&format!(
                    "… and {} more (-o json lists them all)\n",
                    self.skipped.len() - output::TABLE_ROWS
                ));
            }
        }
        if self.limited {
            let matched = self.matched.map_or("more jobs may match".into(), |n| {
                format!("{} match in all", output::plural(n, "job", "jobs"))
            });
            out.push_str(&format!(
                "stopped at --limit: {matched}; run again to continue, or --limit all\n"
            ));
        }
        if self.interrupted {
            out.push_str("interrupted: the jobs listed were changed, the rest were not\n");
        }
        out
    }

    /// The job table's columns, a skipped job's reason in the last one; the last column's
    /// name says whether the run was a dry run.
    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let to = if self.dry_run { "would go to" } else { "to" };
        let header = output::header(&format!("id,state,queue,worker,try,{to}"));
        let mut rows: Vec<Vec<String>> = self.jobs.iter().map(ChangedJob::table_cells).collect();
        rows.extend(self.skipped.iter().map(|s| {
            let state = s.state.clone().unwrap_or_else(|| "-".into());
            let mut row = vec![s.id.to_string(), state];
            row.extend(std::iter::repeat_n(String::new(), 3));
            row.push(format!("skipped: {}", s.reason));
            row
        }));
        (header, rows)
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let header =
            output::header("id,state,queue,worker,attempt,max_attempts,result,reason,dry_run");
        let mut rows: Vec<Vec<String>> = self
            .jobs
            .iter()
            .map(|j| {
                let mut row = vec![j.id.to_string(), j.state.clone()];
                row.extend(j.cells());
                row.extend([j.to.to_string(), String::new(), self.dry_run.to_string()]);
                row
            })
            .collect();
        rows.extend(self.skipped.iter().map(|s| {
            let mut row = vec![s.id.to_string(), s.state.clone().unwrap_or_default()];
            row.extend(std::iter::repeat_n(String::new(), 4));
            row.extend(["skipped".into(), s.reason.clone(), self.dry_run.to_string()]);
            row
        }));
        (header, rows)
    }
}
