//! `oban inspect --group-by error`: "what is failing" in one command. The jobs the filters
//! match (without `--state`: retryable and discarded ones) counted by the line of their last
//! recorded error that names the failure, most jobs first, at most `--limit` lines. Read-only
//! and bounded by the statement timeout; it says when no index could narrow the read.

use std::io::Write;

use anyhow::{Context, Result};
use comfy_table::Cell;
use serde::Serialize;

use crate::cli::InspectArgs;
use crate::config::Settings;
use crate::db::find::ErrorGroup;
use crate::db::{Db, JobQuery, Schema};
use crate::defaults;
use crate::error::usage;
use crate::output::{self, Report};
use crate::watch;

/// The error lines found.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    /// Always "inspect".
    pub command: &'static str,
    /// Always "error".
    pub group_by: &'static str,
    /// The states looked at.
    pub states: Vec<String>,
    /// Each distinct line, most jobs first.
    pub groups: Vec<ErrorGroup>,
    /// Whether there may be more lines than `--limit` showed.
    pub truncated: bool,
    /// Whether the read had to scan the whole table (no index serves the filters).
    pub scanned: bool,
}

impl Report for GroupReport {
    fn to_table(&self) -> String {
        if self.groups.is_empty() {
            return format!("no {} job has a recorded error\n", self.states.join(" or "));
        }
        let width = usize::from(output::width()).saturating_sub(30).max(30);
        let mut table = output::table(&["jobs", "workers", "example", "last error"]);
        for g in &self.groups {
            table.add_row(vec![
                output::num(g.jobs as u64),
                output::num(g.workers as u64),
                Cell::new(g.example),
                Cell::new(output::clip(&g.error, width)),
            ]);
        }
        let mut text = format!("{} jobs by last error:\n{table}\n", self.states.join(", "));
        if self.truncated {
            text.push_str("more error lines than --limit: raise it to see them all\n");
        }
        if self.scanned {
            text.push_str(
                "no index serves these filters: the table was scanned (bounded by the statement \
                 timeout); --queue or --newer-than narrow it\n",
            );
        }
        text
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("jobs,workers,example,error", &self.groups, |g| {
            let (jobs, workers) = (g.jobs.to_string(), g.workers.to_string());
            vec![jobs, workers, g.example.to_string(), g.error.clone()]
        })
    }
}

/// Checks the flags and builds the query: the job filters, default states, `--limit` lines.
pub fn resolve(args: &InspectArgs, settings: &Settings) -> Result<JobQuery> {
    if !args.ids.is_empty() {
        return Err(usage(
            "--group-by: counts the jobs the filters match; give filters, not job ids",
        ));
    }
    if args.sort.is_some() || args.desc || args.wide {
        return Err(usage(
            "--group-by: lists error lines, most jobs first; --sort, --desc and --wide do not apply",
        ));
    }
    let mut query = super::job_query(&args.filter, settings)?;
    if query.states.is_empty() {
        query.states = vec!["discarded".into(), "retryable".into()];
    }
    query.limit = args.limit.unwrap_or(defaults::INSPECT_LIMIT);
    Ok(query)
}

/// One grouping pass.
pub fn pass(db: &mut Db, schema: &Schema, query: &JobQuery) -> Result<GroupReport> {
    let groups = db
        .error_groups(schema, query)
        .context("grouping jobs by error")?;
    // Every matching row is read to be grouped: the plan that matters has no LIMIT.
    let every = JobQuery {
        limit: u64::MAX,
        ..query.clone()
    };
    let scanned = db.scans(schema, &every).context("reading the query plan")?;
    Ok(GroupReport {
        command: "inspect",
        group_by: "error",
        states: query.states.clone(),
        truncated: groups.len() as u64 >= query.limit,
        groups,
        scanned,
    })
}

/// `oban inspect --group-by error`.
pub fn run(settings: &Settings, args: &InspectArgs, out: &mut dyn Write) -> Result<i32> {
    let query = resolve(args, settings)?;
    let watching = args.watch.watch;
    let runner = watch::Runner {
        command: "inspect",
        settings,
        limits: crate::commands::session_limits(&Default::default()),
        watching,
        interval: args.watch.interval.unwrap_or(defaults::INSPECT_INTERVAL),
        advice: ", or narrow the filters (--queue, --newer-than)",
    };
    let style = settings.style(watching);
    runner.run(
        |db, schema, _first| {
            let report = pass(db, schema, &query)?;
            output::write_report(out, style, &report)
        },
        |e| e,
    )?;
    Ok(0)
}
