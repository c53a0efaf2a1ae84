//! `oban doctor`: read-only health checks of the jobs table. Each check says ok, warn or fail,
//! the figure behind it and the statement or command that fixes it; the exit code is 3 when any
//! check warns or fails, so CI and monitoring can run it. The facts come from the engine
//! (`db::doctor`), the judgments from `checks`.

pub mod checks;
pub mod common;
mod jobs;
mod parts;
mod upkeep;

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::cli::{BloatArgs, DoctorArgs};
use crate::config::Settings;
use crate::db::doctor::Probe;
use crate::db::{Db, Flavour, Schema};
use crate::defaults;
use crate::error::exit;
use crate::output::{self, Report};
use crate::watch;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Worth fixing.
    Warn,
    /// Broken: fix it now.
    Fail,
}

impl Status {
    /// Warn when `cond` holds, else ok.
    pub fn warn_if(cond: bool) -> Status {
        if cond {
            Status::Warn
        } else {
            Status::Ok
        }
    }

    /// The word shown.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable name (`fetch_index`, `index_bloat:<index>`, …).
    pub name: String,
    /// ok, warn or fail.
    pub status: Status,
    /// The figure behind it, as JSON.
    pub value: serde_json::Value,
    /// What was found, in words.
    pub detail: String,
    /// The statement or command that fixes it; null when ok.
    pub fix: Option<String>,
}

impl Check {
    /// A check result.
    pub fn new(
        name: &str,
        status: Status,
        value: serde_json::Value,
        detail: String,
        fix: Option<String>,
    ) -> Check {
        Check {
            name: name.to_string(),
            status,
            value,
            detail,
            fix,
        }
    }
}

/// Resolved options.
#[derive(Debug, Clone)]
pub struct DoctorOpts {
    /// Bloat share (percent) that is reported.
    pub max_bloat: u8,
    /// Less waste than this is never reported.
    pub min_bloat: u64,
    /// Measure instead of estimating.
    pub exact: bool,
    /// Orphans: executing longer than this.
    pub rescue_after: Duration,
    /// `--rescue-after` was given (fixes repeat it).
    pub rescue_after_given: bool,
    /// Final jobs older than this should be gone.
    pub max_age: Duration,
    /// `--max-age` was given (fixes repeat it).
    pub max_age_given: bool,
    /// Transactions open longer than this are reported.
    pub max_transaction_age: Duration,
    /// Sessions idle in a transaction longer than this are reported.
    pub max_idle: Duration,
    /// The oldest available job may wait this long.
    pub max_latency: Duration,
}

impl DoctorOpts {
    /// Flags over configuration over defaults.
    pub fn resolve(args: &DoctorArgs, settings: &Settings) -> DoctorOpts {
        let (max_bloat, min_bloat) = bloat_limits(&args.bloat);
        DoctorOpts {
            max_bloat,
            min_bloat,
            exact: args.bloat.exact,
            rescue_after: args.rescue_after.unwrap_or(settings.lifeline.rescue_after),
            rescue_after_given: args.rescue_after.is_some(),
            max_age: args.max_age.unwrap_or(settings.pruner.max_age),
            max_age_given: args.max_age.is_some(),
            max_transaction_age: args
                .max_transaction_age
                .unwrap_or(defaults::DOCTOR_MAX_TRANSACTION_AGE),
            max_idle: args.max_idle.unwrap_or(defaults::DOCTOR_MAX_IDLE),
            max_latency: args.max_latency.unwrap_or(defaults::DOCTOR_MAX_LATENCY),
        }
    }
}

/// `--max-bloat` and `--min-bloat` over their defaults.
pub fn bloat_limits(args: &BloatArgs) -> (u8, u64) {
    (
        args.max_bloat.unwrap_or(defaults::DOCTOR_MAX_BLOAT),
        args.min_bloat.unwrap_or(defaults::DOCTOR_MIN_BLOAT),
    )
}

/// The result of `oban doctor`.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// Always "doctor".
    pub command: &'static str,
    /// The schema.
    pub prefix: String,
    /// The table shape.
    pub flavour: Flavour,
    /// The worst status of any check.
    pub status: Status,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Seconds the pass took.
    pub elapsed: f64,
}

impl Report for DoctorReport {
    fn to_table(&self) -> String {
        let mut t = output::table(&["check", "status", "finding"]);
        for c in &self.checks {
            // A check of one object (`index_bloat:<index>`) names the object in its finding,
            // so that the check column stays narrow and a long name is not cut mid-word.
            let (check, finding) = match c.name.split_once(':') {
                Some((family, object)) => (family.to_string(), format!("{object}: {}", c.detail)),
                None => (c.name.clone(), c.detail.clone()),
            };
            t.add_row(vec![check, c.status.name().into(), finding]);
        }
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count() as u64;
        let mut text = format!(
            "doctor: {} on {}.oban_jobs ({}): {} ok, {} warn, {} fail\n{t}\n",
            output::plural(self.checks.len() as u64, "check", "checks"),
            self.prefix,
            self.flavour.label(),
            count(Status::Ok),
            count(Status::Warn),
            count(Status::Fail),
        );
        let fixes: Vec<&Check> = self.checks.iter().filter(|c| c.fix.is_some()).collect();
        if !fixes.is_empty() {
            text.push_str("\nfixes:\n");
            for c in fixes {
                let fix = c.fix.as_deref().unwrap_or_default().replace('\n', "\n    ");
                text.push_str(&format!("  {} ({}):\n    {fix}\n", c.name, c.status.name()));
            }
        }
        text
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("name,status,value,fix,detail", &self.checks, |c| {
            let fix = c.fix.clone().unwrap_or_default();
            let (status, value) = (c.status.name().into(), c.value.to_string());
            vec![c.name.clone(), status, value, fix, c.detail.clone()]
        })
    }

    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let rows = self
            .checks
            .iter()
            .map(|c| vec![c.name.clone(), c.status.name().into(), c.detail.clone()])
            .collect();
        (output::header("check,status,detail"), rows)
    }
}

/// Runs every check once, read-only.
pub fn pass(db: &mut Db, schema: &Schema, opts: &DoctorOpts) -> Result<DoctorReport> {
    let started = Instant::now();
    let probe = Probe {
        rescue_after: opts.rescue_after.as_secs_f64(),
        max_age: opts.max_age.as_secs_f64(),
        producer_ttl: defaults::PRODUCER_TTL.as_secs_f64(),
        exact: opts.exact,
        days_ahead: defaults::PARTITION_DAYS_AHEAD,
    };
    let facts = db.read_only(|db| db.doctor_facts(schema, &probe))?;
    if facts.exact_unavailable {
        crate::output::notice(
            "oban: doctor: --exact: pgstattuple is not installed in this database \
             (CREATE EXTENSION pgstattuple), so bloat is estimated",
        );
    }
    let checks = checks::judge(schema, &facts, opts);
    Ok(DoctorReport {
        command: "doctor",
        prefix: schema.prefix.clone(),
        flavour: schema.flavour,
        status: checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok),
        checks,
        elapsed: started.elapsed().as_secs_f64(),
    })
}

/// The `oban doctor` command: exit 0 when every check is ok, 3 when any warns or fails.
pub fn run(settings: &Settings, args: &DoctorArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = DoctorOpts::resolve(args, settings);
    let limits = super::session_limits(&crate::cli::SessionArgs {
        lock_timeout: None,
        statement_timeout: args.statement_timeout,
    });
    let mut worst = Status::Ok;
    let runner = watch::Runner::once("doctor", settings, limits);
    runner.run(
        |db, schema, _| {
            let report = pass(db, schema, &opts)?;
            worst = report.status;
            output::write_report(out, settings.style(false), &report)
        },
        |e| e,
    )?;
    Ok(if worst == Status::Ok {
        exit::OK
    } else {
        exit::BREACH
    })
}
