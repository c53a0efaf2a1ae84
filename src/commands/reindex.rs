//! `oban reindex`: rebuild the jobs table's indexes online (PostgreSQL 12+), one at a time,
//! with `REINDEX INDEX CONCURRENTLY`, after dropping the invalid leftovers of failed concurrent
//! builds. Runs under an advisory lock so two runs never overlap. A rebuild that fails part-way
//! leaves at most one invalid index (`<name>_ccnew`): the error names it, and the next run drops
//! it. SQLite has no online rebuild: `oban vacuum` rewrites the file and every index in it, so
//! reindex refuses SQLite as a usage error.

use std::io::Write;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

use super::doctor::common::bloat;
use super::doctor::{bloat_limits, DoctorOpts};
use crate::cli::ReindexArgs;
use crate::config::Settings;
use crate::db::doctor::IndexFact;
use crate::db::{lock, Db, Schema};
use crate::dsn::Backend;
use crate::error::usage;
use crate::output::bytes;
use crate::output::{self, Report};
use crate::watch;

/// One index rebuilt (or to be, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct Rebuilt {
    /// Its name.
    pub name: String,
    /// Bytes before.
    pub before_bytes: i64,
    /// Bytes after (null in a dry run).
    pub after_bytes: Option<i64>,
    /// Seconds the rebuild took.
    pub seconds: f64,
}

/// An invalid index dropped (or to be).
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    /// Its name.
    pub name: String,
    /// Its definition, to create it again once the cause of its failure is fixed.
    pub definition: String,
}

/// An index left alone.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The result of `oban reindex`.
#[derive(Debug, Clone, Serialize)]
pub struct ReindexReport {
    /// Always "reindex".
    pub command: &'static str,
    /// Nothing was changed.
    pub dry_run: bool,
    /// The schema.
    pub prefix: String,
    /// Another run held the lock: nothing was done.
    pub locked: bool,
    /// Invalid indexes dropped first.
    pub dropped: Vec<Dropped>,
    /// Indexes rebuilt, in order.
    pub rebuilt: Vec<Rebuilt>,
    /// Indexes left alone, with why.
    pub skipped: Vec<Skipped>,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
    /// Seconds taken.
    pub elapsed: f64,
}

impl Report for ReindexReport {
    fn to_table(&self) -> String {
        if self.locked {
            return format!(
                "reindex: another run holds the lock on {}; nothing done\n",
                self.prefix
            );
        }
        let verb = if self.dry_run {
            "would drop"
        } else {
            "dropped"
        };
        let mut text = String::new();
        for d in &self.dropped {
            text.push_str(&format!("reindex: {verb} invalid index {}\n", d.name));
        }
        let mut t = output::table(&["index", "before", "after", "time"]);
        for r in &self.rebuilt {
            t.add_row(vec![
                r.name.clone(),
                bytes(r.before_bytes),
                r.after_bytes.map_or("-".into(), bytes),
                output::seconds(r.seconds),
            ]);
        }
        let what = if self.dry_run {
            "would rebuild (dry run: nothing changed)"
        } else {
            "rebuilt"
        };
        text.push_str(&format!(
            "reindex: {} {what} in {}\n",
            output::plural(self.rebuilt.len() as u64, "index", "indexes"),
            output::seconds(self.elapsed)
        ));
        if !self.rebuilt.is_empty() {
            text.push_str(&format!("{t}\n"));
        }
        for s in &self.skipped {
            text.push_str(&format!("skipped {}: {}\n", s.name, s.reason));
        }
        if self.interrupted {
            text.push_str("interrupted: the remaining indexes were left as they were\n");
        }
        text
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut rows: Vec<Vec<String>> = self
            .dropped
            .iter()
            .map(|d| vec!["drop".into(), d.name.clone(), String::new(), String::new()])
            .collect();
        rows.extend(self.rebuilt.iter().map(|r| {
            vec![
                "rebuild".into(),
                r.name.clone(),
                r.before_bytes.to_string(),
                r.after_bytes.map(|b| b.to_string()).unwrap_or_default(),
            ]
        }));
        (
            output::header("action,index,before_bytes,after_bytes"),
            rows,
        )
    }
}

/// Resolved options.
#[derive(Debug, Clone)]
pub struct ReindexOpts {
    /// Only these indexes (empty: every valid one).
    pub only: Vec<String>,
    /// Only the bloated ones, judged as doctor does.
    pub bloated_only: bool,
    /// Thresholds for `bloated_only`.
    pub doctor: DoctorOpts,
    /// Change nothing.
    pub dry_run: bool,
}

impl ReindexOpts {
    /// Checks the flags; SQLite is refused here, before any SQL.
    pub fn resolve(args: &ReindexArgs, settings: &Settings) -> Result<ReindexOpts> {
        if settings
            .dsn
            .as_ref()
            .is_some_and(|d| d.backend == Backend::Sqlite)
        {
            return Err(usage(
                "reindex: SQLite has no online index rebuild; `oban vacuum` rewrites the file \
                 and every index in it",
            ));
        }
        if args.index.iter().any(|n| n.trim().is_empty()) {
            return Err(usage("--index: expected a non-empty name"));
        }
        let (max_bloat, min_bloat) = bloat_limits(&args.bloat);
        let mut doctor = DoctorOpts::resolve(&Default::default(), settings);
        doctor.max_bloat = max_bloat;
        doctor.min_bloat = min_bloat;
        doctor.exact = args.bloat.exact;
        Ok(ReindexOpts {
            only: args.index.clone(),
            bloated_only: args.bloated_only,
            doctor,
            dry_run: args.dry_run,
        })
    }
}

/// The invalid indexes on the table now (not those another session is building).
fn invalid(db: &mut Db, schema: &Schema) -> Result<Vec<IndexFact>> {
    Ok(db
        .index_facts(schema, false, false)?
        .into_iter()
        .filter(|i| !i.valid && i.building_pid.is_none())
        .collect())
}

/// Whether `--index` names this index, or (partitioned table) an index on a parent it is
/// attached to.
fn named(i: &IndexFact, only: &[String]) -> bool {
    only.contains(&i.name) || i.ancestors.iter().any(|a| only.contains(a))
}

/// Drops the leftovers, then rebuilds the chosen indexes one at a time.
fn rebuild_all(
    db: &mut Db,
    schema: &Schema,
    opts: &ReindexOpts,
    settings: &Settings,
    report: &mut ReindexReport,
) -> Result<()> {
    let all = db
        .index_facts(schema, opts.bloated_only, opts.doctor.exact)
        .context("reading the indexes")?;
    for name in &opts.only {
        if !all.iter().any(|i| named(i, std::slice::from_ref(name))) {
            let mut names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
            names.extend(
                all.iter()
                    .flat_map(|i| i.ancestors.iter().map(String::as_str)),
            );
            names.sort_unstable();
            names.dedup();
            return Err(anyhow!(
                "no index {name} on {}.oban_jobs (its indexes: {})",
                schema.prefix,
                names.join(", ")
            ));
        }
    }
    for i in all.iter().filter(|i| !i.valid) {
        if let Some(pid) = i.building_pid {
            let why = format!("invalid, but being built by pid {pid} right now");
            report.skipped.push(Skipped {
                name: i.name.clone(),
                reason: why,
            });
            continue;
        }
        if !opts.dry_run {
            db.drop_index(schema, &i.name)
                .with_context(|| format!("dropping invalid index {}", i.name))?;
        }
        report.dropped.push(Dropped {
            name: i.name.clone(),
            definition: i.definition.clone(),
        });
    }
    for i in all.iter().filter(|i| i.valid) {
        if !opts.only.is_empty() && !named(i, &opts.only) {
            continue;
        }
        if opts.bloated_only {
            match bloat(i.bytes, i.expected_bytes, &opts.doctor) {
                Some((true, ..)) => {}
                Some((false, share, _)) => {
                    let why = format!("{:.0}% wasted, not bloated", share * 100.0);
                    report.skipped.push(Skipped {
                        name: i.name.clone(),
                        reason: why,
                    });
                    continue;
                }
                None => {
                    let why = "bloat not known (no statistics, or not a btree)".to_string();
                    report.skipped.push(Skipped {
                        name: i.name.clone(),
                        reason: why,
                    });
                    continue;
                }
            }
        }
        if watch::interrupted() {
            report.interrupted = true;
            break;
        }
        let started = Instant::now();
        let mut rebuilt = Rebuilt {
            name: i.name.clone(),
            before_bytes: i.bytes,
            after_bytes: None,
            seconds: 0.0,
        };
        if !opts.dry_run {
            let label = format!("rebuilding {}", i.name);
            let done = super::vacuum::with_progress(db, settings, &label, true, |db| {
                db.reindex_index(schema, &i.name)
            });
            if let Err(e) = done {
                let left: Vec<String> = invalid(db, schema)
                    .map(|v| v.into_iter().map(|i| i.name).collect())
                    .unwrap_or_default();
                let note = if left.is_empty() {
                    "no invalid index was left behind".to_string()
                } else {
                    format!(
                        "left invalid index {}, which the next `oban reindex` drops",
                        left.join(", ")
                    )
                };
                return Err(e.context(format!("rebuilding {} ({note})", i.name)));
            }
            rebuilt.after_bytes = db
                .index_facts(schema, false, false)?
                .into_iter()
                .find(|x| x.name == i.name)
                .map(|x| x.bytes);
        }
        rebuilt.seconds = started.elapsed().as_secs_f64();
        report.rebuilt.push(rebuilt);
    }
    Ok(())
}

/// One reindex run under the advisory lock.
pub fn pass(
    db: &mut Db,
    schema: &Schema,
    opts: &ReindexOpts,
    settings: &Settings,
) -> Result<ReindexReport> {
    let started = Instant::now();
    let mut report = ReindexReport {
        command: "reindex",
        dry_run: opts.dry_run,
        prefix: schema.prefix.clone(),
        locked: false,
        dropped: Vec::new(),
        rebuilt: Vec::new(),
        skipped: Vec::new(),
        interrupted: false,
        elapsed: 0.0,
    };
    let done = lock::exclusive(db, "reindex", &schema.prefix, |db| {
        rebuild_all(db, schema, opts, settings, &mut report)
    })?;
    report.locked = done.is_none();
    report.elapsed = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The `oban reindex` command.
pub fn run(settings: &Settings, args: &ReindexArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = ReindexOpts::resolve(args, settings)?;
    let runner = watch::Runner::once("reindex", settings, super::vacuum::limits(&args.session));
    runner.maintain(out, |db, schema, _| {
        let report = pass(db, schema, &opts, settings)?;
        let tally = watch::Tally {
            changed: report.rebuilt.len() as u64,
            interrupted: report.interrupted,
            dry_run: report.dry_run,
        };
        Ok((report, tally))
    })
}
