//! `oban inspect`: list jobs by filters, or show jobs by id in full. Read-only: on PostgreSQL
//! every query runs in a read-only transaction, and every list is bounded by `--limit`.

use std::io::Write;

use anyhow::{anyhow, Context, Result};
use comfy_table::{Cell, ContentArrangement};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{Format, InspectArgs};
use crate::config::Settings;
use crate::db::{Db, Job, JobQuery, Schema};
use crate::defaults;
use crate::error::usage;
use crate::model::SortKey;
use crate::output::{self, Report};
use crate::watch;

/// Resolved options of `oban inspect`.
#[derive(Debug, Clone)]
pub struct InspectOpts {
    /// What to select (ids, filters, sort, limit).
    pub query: JobQuery,
    /// Show the jobs in full (ids were given).
    pub detail: bool,
    /// More columns in the list.
    pub wide: bool,
}

impl InspectOpts {
    /// Resolves flags; every error is a usage error (exit 2).
    pub fn resolve(args: &InspectArgs, settings: &Settings) -> Result<InspectOpts> {
        let filtered = super::has_filters(&args.filter);
        if !args.ids.is_empty() && filtered {
            return Err(usage(
                "give job ids or filters, not both: ids show those jobs in full",
            ));
        }
        let mut query = super::job_query(&args.filter, settings)?;
        let mut ids = args.ids.clone();
        ids.sort_unstable();
        ids.dedup();
        query.limit = if ids.is_empty() {
            args.limit.unwrap_or(defaults::INSPECT_LIMIT)
        } else {
            ids.len() as u64
        };
        query.ids = ids;
        query.sort = args.sort.unwrap_or(defaults::INSPECT_SORT);
        query.desc = args.desc;
        Ok(InspectOpts {
            detail: !query.ids.is_empty(),
            query,
            wide: args.wide,
        })
    }
}

/// The jobs found.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// Always "inspect".
    pub command: &'static str,
    /// The jobs, every column.
    pub jobs: Vec<Job>,
    /// Ids asked for that do not exist (detail mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<i64>,
    /// Whether the list may have been cut by `--limit`.
    pub truncated: bool,
    /// With a find-by filter (`--error`, `--meta`, …): whether no index could narrow the read,
    /// so the table was scanned (bounded by `--limit` and the statement timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanned: Option<bool>,
    #[serde(skip)]
    detail: bool,
    #[serde(skip)]
    wide: bool,
    #[serde(skip)]
    limit: u64,
    #[serde(skip)]
    sort: SortKey,
}

/// Runs one query on an open connection.
pub fn pass(db: &mut Db, schema: &Schema, opts: &InspectOpts) -> Result<InspectReport> {
    let jobs = db.find_jobs(schema, &opts.query)?;
    let scanned = if opts.query.find.any() {
        Some(
            db.scans(schema, &opts.query)
                .context("reading the query plan")?,
        )
    } else {
        None
    };
    let missing = opts
        .query
        .ids
        .iter()
        .copied()
        .filter(|id| !jobs.iter().any(|j| j.id == *id))
        .collect();
    Ok(InspectReport {
        command: "inspect",
        truncated: !opts.detail && jobs.len() as u64 >= opts.query.limit,
        scanned,
        jobs,
        missing,
        detail: opts.detail,
        wide: opts.wide,
        limit: opts.query.limit,
        sort: opts.query.sort,
    })
}

/// An age in seconds, to its two largest units (`42s`, `36m`, `5h12m`, `3d4h`), with `in `
/// for a time in the future.
pub fn age_text(age: Option<f64>) -> String {
    let Some(secs) = age else {
        return "-".into();
    };
    let n = secs.abs().round() as u64;
    let text = match n {
        0..=59 => format!("{n}s"),
        60..=3_599 => format!("{}m", n / 60),
        3_600..=86_399 => format!("{}h{}m", n / 3_600, n % 3_600 / 60),
        _ => format!("{}d{}h", n / 86_400, n % 86_400 / 3_600),
    };
    if secs < 0.0 {
        format!("in {text}")
    } else {
        text
    }
}

/// The node, the first element of `attempted_by`.
pub fn node(job: &Job) -> String {
    job.attempted_by
        .get(0)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The recorded errors as a list (both encodings arrive as one JSON array).
fn errors(job: &Job) -> &[Value] {
    job.errors.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// An error entry's message: the `error` field of `{attempt, at, error}`, else the JSON.
fn error_text(entry: &Value) -> String {
    match entry.get("error") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => entry.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn detail(job: &Job) -> String {
    let mut out = format!(
        "job {}  {}  queue {}  worker {}\n",
        job.id, job.state, job.queue, job.worker
    );
    let field = |out: &mut String, name: &str, value: String| {
        out.push_str(&format!("  {name:<13} {value}\n"));
    };
    field(
        &mut out,
        "attempt",
        format!("{} of {}", job.attempt, job.max_attempts),
    );
    field(&mut out, "priority", job.priority.to_string());
    field(&mut out, "tags", compact(&job.tags));
    field(&mut out, "attempted_by", compact(&job.attempted_by));
    for (name, value) in [
        ("inserted_at", &job.inserted_at),
        ("scheduled_at", &job.scheduled_at),
        ("attempted_at", &job.attempted_at),
        ("completed_at", &job.completed_at),
        ("cancelled_at", &job.cancelled_at),
        ("discarded_at", &job.discarded_at),
    ] {
        field(&mut out, name, value.clone().unwrap_or_else(|| "-".into()));
    }
    out.push_str(&format!(
        "  args:\n{}\n",
        indent(&pretty(&job.args), "    ")
    ));
    out.push_str(&format!(
        "  meta:\n{}\n",
        indent(&pretty(&job.meta), "    ")
    ));
    let errs = errors(job);
    if errs.is_empty() {
        out.push_str("  errors: none\n");
    } else {
        out.push_str(&format!("  errors ({}):\n", errs.len()));
        for entry in errs {
            let attempt = entry
                .get("attempt")
                .map(|a| a.to_string())
                .unwrap_or_else(|| "?".into());
            let at = entry.get("at").and_then(Value::as_str).unwrap_or("?");
            out.push_str(&format!("    attempt {attempt} at {at}:\n"));
            out.push_str(&indent(&error_text(entry), "      "));
            out.push('\n');
        }
    }
    out
}

fn compact(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

impl InspectReport {
    fn list(&self) -> String {
        if self.jobs.is_empty() {
            return "no jobs match\n".into();
        }
        let mut t = if self.wide {
            let mut t = output::table(&[
                "id",
                "state",
                "queue",
                "worker",
                "try",
                "pri",
                "tags",
                "inserted_at",
                "scheduled_at",
                "attempted_at",
                "age",
                "node",
                "args",
                "last error",
            ]);
            t.set_content_arrangement(ContentArrangement::Disabled);
            t
        } else {
            output::table(&[
                "id", "state", "queue", "worker", "try", "age", "node", "args",
            ])
        };
        // Columns beyond 80 go to the worker and the args, the two that get clipped.
        let spare = usize::from(output::width() - 80) / 2;
        for job in &self.jobs {
            let tries = format!("{}/{}", job.attempt, job.max_attempts);
            let args = job.args.to_string();
            if self.wide {
                let last = errors(job)
                    .last()
                    .map(|e| output::clip(error_text(e).lines().last().unwrap_or(""), 60))
                    .unwrap_or_default();
                t.add_row(vec![
                    output::num(job.id as u64),
                    Cell::new(job.state),
                    Cell::new(&job.queue),
                    Cell::new(&job.worker),
                    Cell::new(tries),
                    output::num(job.priority.max(0) as u64),
                    Cell::new(compact(&job.tags)),
                    Cell::new(job.inserted_at.as_deref().unwrap_or("-")),
                    Cell::new(job.scheduled_at.as_deref().unwrap_or("-")),
                    Cell::new(job.attempted_at.as_deref().unwrap_or("-")),
                    Cell::new(age_text(job.age)),
                    Cell::new(node(job)),
                    Cell::new(args),
                    Cell::new(last),
                ]);
            } else {
                t.add_row(vec![
                    output::num(job.id as u64),
                    Cell::new(job.state),
                    Cell::new(output::clip(&job.queue, 8)),
                    Cell::new(output::clip_left(&job.worker, 16 + spare)),
                    Cell::new(tries),
                    Cell::new(age_text(job.age)),
                    Cell::new(output::clip(&node(job), 8)),
                    Cell::new(output::clip(&args, 11 + spare)),
                ]);
            }
        }
        let mut out = format!("{t}\n");
        if self.truncated {
            out.push_str(&format!(
                "first {} jobs by {}; --limit for more, an id for the full job\n",
                self.limit,
                self.sort.label()
            ));
        } else {
            out.push_str(&format!(
                "{}\n",
                output::plural(self.jobs.len() as u64, "job", "jobs")
            ));
        }
        if self.scanned == Some(true) {
            out.push_str(
                "no index serves these filters: the read scans the table until --limit jobs are \
                 found (bounded by the statement timeout)\n",
            );
        }
        out
    }
}

impl Report for InspectReport {
    fn to_table(&self) -> String {
        if !self.detail {
            return self.list();
        }
        let mut out = self.jobs.iter().map(detail).collect::<Vec<_>>().join("\n");
        for id in &self.missing {
            out.push_str(&format!("job {id}: not found\n"));
        }
        out
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        const COLUMNS: &str = "id,state,queue,worker,attempt,max_attempts,priority,args,meta,\
            tags,errors,attempted_by,inserted_at,scheduled_at,attempted_at,cancelled_at,\
            completed_at,discarded_at";
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        output::csv(COLUMNS, &self.jobs, |j| {
            vec![
                j.id.to_string(),
                j.state.to_string(),
                j.queue.clone(),
                j.worker.clone(),
                j.attempt.to_string(),
                j.max_attempts.to_string(),
                j.priority.to_string(),
                j.args.to_string(),
                j.meta.to_string(),
                j.tags.to_string(),
                j.errors.to_string(),
                j.attempted_by.to_string(),
                opt(&j.inserted_at),
                opt(&j.scheduled_at),
                opt(&j.attempted_at),
                opt(&j.cancelled_at),
                opt(&j.completed_at),
                opt(&j.discarded_at),
            ]
        })
    }

    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let short = |j: &crate::db::Job| {
            let attempts = format!("{}/{}", j.attempt, j.max_attempts);
            let worker = output::clip_left(&j.worker, 30);
            vec![
                j.id.to_string(),
                j.state.to_string(),
                j.queue.clone(),
                worker,
                attempts,
            ]
        };
        let header = output::header("id,state,queue,worker,attempt");
        (header, self.jobs.iter().map(short).collect())
    }
}

/// The `oban inspect` command: one query, or a refreshed list with `--watch`. Ids that do not
/// exist are an error (exit 1) after the jobs that do exist are shown.
pub fn run(settings: &Settings, args: &InspectArgs, out: &mut dyn Write) -> Result<i32> {
    if args.group_by.is_some() {
        return super::group::run(settings, args, out);
    }
    let opts = InspectOpts::resolve(args, settings)?;
    let watching = args.watch.watch;
    let interval = args.watch.interval.unwrap_or(defaults::INSPECT_INTERVAL);
    let redraw = watching
        && !settings.quiet
        && settings.format == Format::Table
        && output::Terminal::get().stdout;
    let style = settings.style(watching);
    let mut missing = Vec::new();
    let runner = watch::Runner::reader("inspect", settings, watching, interval);
    runner.run(
        |db, schema, _first| {
            let report = pass(db, schema, &opts)?;
            if redraw {
                output::write_frame(out, "inspect", interval, &report)?;
            } else {
                output::write_report(out, style, &report)?;
            }
            missing = report.missing;
            Ok(())
        },
        |e| e,
    )?;
    if !missing.is_empty() {
        let ids: Vec<String> = missing.iter().map(i64::to_string).collect();
        return Err(anyhow!("no job with id {}", ids.join(", ")));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        assert_eq!(age_text(None), "-");
        assert_eq!(age_text(Some(42.4)), "42s");
        assert_eq!(age_text(Some(36.0 * 60.0 + 32.0)), "36m");
        assert_eq!(age_text(Some(-(5.0 * 3600.0 + 12.0 * 60.0))), "in 5h12m");
        assert_eq!(age_text(Some(3.0 * 86_400.0 + 4.0 * 3600.0)), "3d4h");
    }

    #[test]
    fn clipping_keeps_the_informative_end() {
        assert_eq!(output::clip("abcdef", 4), "abc…");
        assert_eq!(output::clip("abc", 4), "abc");
        assert_eq!(output::clip_left("app.workers.Sync", 8), "…rs.Sync");
    }
}
