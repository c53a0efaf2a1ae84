//! `oban partitions`: on a partitioned table, make sure every final state partitioned by day
//! has a leaf for today and the coming days (`--premake`), as the in-app plugin does, so an
//! operator can schedule it from cron beside `oban prune`. Idempotent; `--dry-run` lists only.

use std::io::Write;

use anyhow::{anyhow, Context, Result};
use serde::Serialize;

use crate::cli::PartitionsArgs;
use crate::config::Settings;
use crate::db::{Db, Leaf, Schema};
use crate::defaults;
use crate::model::FinalState;
use crate::output::{self, Report};
use crate::watch;

/// A leaf made (or, in a dry run, that would be).
#[derive(Debug, Clone, Serialize)]
pub struct NewLeaf {
    /// Its name.
    pub name: String,
    /// The final state it holds.
    pub state: &'static str,
    /// The day it covers (UTC).
    pub day: String,
}

/// What a run made.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionsReport {
    /// Always "partitions".
    pub command: &'static str,
    /// Listed only.
    pub dry_run: bool,
    /// The schema.
    pub prefix: String,
    /// Days covered, today included.
    pub days: u64,
    /// Leaves created.
    pub created: Vec<NewLeaf>,
    /// Another run held the lock: nothing was done.
    pub locked: bool,
}

impl PartitionsReport {
    /// A report of nothing made yet.
    fn empty(schema: &Schema, days: u64, dry_run: bool) -> PartitionsReport {
        PartitionsReport {
            command: "partitions",
            dry_run,
            prefix: schema.prefix.clone(),
            days,
            created: Vec::new(),
            locked: false,
        }
    }
}

impl Report for PartitionsReport {
    fn to_table(&self) -> String {
        let verb = if self.dry_run {
            "would create"
        } else {
            "created"
        };
        if self.locked {
            return format!(
                "partitions: another run is making leaves in schema {}; nothing done\n",
                self.prefix
            );
        }
        if self.created.is_empty() {
            return format!(
                "partitions: every final state has a leaf for today and the next {} (schema {})\n",
                output::plural(self.days.saturating_sub(1), "day", "days"),
                self.prefix
            );
        }
        let mut out = format!(
            "partitions: {verb} {} in schema {}\n",
            output::plural(self.created.len() as u64, "leaf", "leaves"),
            self.prefix
        );
        for l in &self.created {
            out.push_str(&format!("  {} ({} on {})\n", l.name, l.state, l.day));
        }
        out
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("partition,state,day,dry_run", &self.created, |l| {
            let dry_run = self.dry_run.to_string();
            vec![l.name.clone(), l.state.to_string(), l.day.clone(), dry_run]
        })
    }
}

/// Creates the missing leaves for `days` days from today on the database clock.
pub fn premake(db: &mut Db, schema: &Schema, days: u64, dry_run: bool) -> Result<PartitionsReport> {
    make_days(db, schema, 0, days, dry_run)
}

/// Creates the missing leaves for the `back` days before today, today and the `days - 1` days
/// after it (`oban seed` fills the past week, whose finished jobs need leaves too).
pub fn make_days(
    db: &mut Db,
    schema: &Schema,
    back: u64,
    days: u64,
    dry_run: bool,
) -> Result<PartitionsReport> {
    let layout = schema.partitions.as_ref().ok_or_else(|| {
        anyhow!(
            "schema {}: oban_jobs is not partitioned; there are no leaves to make",
            schema.prefix
        )
    })?;
    // Day k's midnight is the date of now + k days: UTC has no daylight saving.
    let ahead: Vec<f64> = (-(back as i64)..=days as i64)
        .map(|k| -86_400.0 * k as f64)
        .collect();
    let dates: Vec<String> = db
        .cutoffs(&ahead)
        .context("reading the database clock")?
        .iter()
        .map(|t| t[..10].to_string())
        .collect();
    let mut report = PartitionsReport::empty(schema, days, dry_run);
    let mut failed = Vec::new();
    for state in FinalState::ALL {
        if !layout.by_day(state) {
            continue;
        }
        // A leaf of the state shows where new ones go (its parent, its schema) and what they
        // are like (its storage parameters): a ranged one, not the DEFAULT, when there is one.
        let of_state = || {
            layout
                .leaves
                .iter()
                .rev()
                .filter(move |l| l.final_state() == Some(state))
        };
        let Some(model) = of_state()
            .find(|l| !l.default)
            .or_else(|| of_state().next())
        else {
            continue;
        };
        for pair in dates.windows(2) {
            let (day, next) = (&pair[0], &pair[1]);
            let start = format!("{day}T00:00:00.000000");
            if layout.covers(state, &start) {
                continue;
            }
            let name = format!("{}_{}", model.parent, day.replace('-', ""));
            if !dry_run {
                // One leaf that cannot be made (a DEFAULT partition already holding its rows, a
                // lock not granted) does not stop the others.
                if let Err(e) = create(db, model, &name, day, next) {
                    failed.push(e);
                    continue;
                }
            }
            report.created.push(NewLeaf {
                name,
                state: state.name(),
                day: day.clone(),
            });
        }
    }
    let mut failed = failed.into_iter();
    if let Some(first) = failed.next() {
        // The first failure keeps its cause (a lock timeout is recognised from it); the
        // others and what was made are said beside it.
        let others: Vec<String> = failed.map(|e| format!("{e:#}")).collect();
        let made: Vec<&str> = report.created.iter().map(|l| l.name.as_str()).collect();
        let made = if made.is_empty() {
            "none".to_string()
        } else {
            made.join(", ")
        };
        let also = if others.is_empty() {
            String::new()
        } else {
            format!("; also: {}", others.join("; "))
        };
        return Err(first.context(format!("leaves made: {made}{also}")));
    }
    Ok(report)
}

fn create(db: &mut Db, model: &Leaf, name: &str, day: &str, next: &str) -> Result<()> {
    db.create_leaf(
        model,
        name,
        &format!("{day} 00:00:00"),
        &format!("{next} 00:00:00"),
    )
    .with_context(|| format!("creating partition {name}"))
}

/// The `oban partitions` command.
pub fn run(settings: &Settings, args: &PartitionsArgs, out: &mut dyn Write) -> Result<i32> {
    let days = args
        .premake
        .unwrap_or(defaults::PARTITIONS_PREMAKE)
        .as_secs()
        .div_ceil(86_400)
        .max(1);
    let runner = watch::Runner::once(
        "partitions",
        settings,
        crate::commands::session_limits(&args.session),
    );
    runner.maintain(out, |db, schema, _| {
        // Two overlapping runs would race to create the same leaf: the second one waits for
        // nothing and says so.
        let made = if args.dry_run {
            Some(premake(db, schema, days, true)?)
        } else {
            crate::db::lock::exclusive(db, "partitions", &schema.prefix, |db| {
                premake(db, schema, days, false)
            })?
        };
        let report = made.unwrap_or_else(|| PartitionsReport {
            locked: true,
            ..PartitionsReport::empty(schema, days, false)
        });
        let tally = watch::Tally {
            changed: report.created.len() as u64,
            interrupted: false,
            dry_run: args.dry_run,
        };
        Ok((report, tally))
    })
}
