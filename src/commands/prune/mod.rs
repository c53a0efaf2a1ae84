//! `oban prune`: delete final-state jobs older than their cutoff, in small locked-row batches.
//! Options (`opts`), one pass (`drain`), the archive file (`archive`), the result (`report`),
//! the missing-index hint (`hint`), the progress bar (`progress`) and the throttles that spare
//! standbys (`throttle`), the heap walk's shared position (`walk`) and retention rules (`rules`)
//! each have a file.

mod archive;
mod drain;
mod hint;
mod leaves;
mod opts;
mod progress;
mod report;
mod rules;
mod throttle;
mod walk;

use std::io::Write;

use anyhow::{Context, Result};

pub use self::archive::Archive;
pub use self::drain::pass;
pub use self::hint::missing_index_hint;
pub use self::opts::PruneOpts;
pub use self::report::{Method, Outcome, PruneReport};
pub use self::rules::RuleReport;
pub use self::throttle::ThrottleReport;
use crate::cli::PruneArgs;
use crate::config::Settings;
use crate::watch;

/// The `oban prune` command: resolve, connect, run one pass or a watch loop, print.
pub fn run(settings: &Settings, args: &PruneArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = PruneOpts::resolve(args, settings)?;
    let mut archive = match (&opts.archive, opts.dry_run) {
        (Some(path), false) => Some(Archive::open(path)?),
        _ => None,
    };
    let show_progress = !settings.quiet
        && !opts.dry_run
        && opts.limit > opts.batch_size
        && crate::output::Terminal::get().stderr;
    let job = watch::Runner {
        command: "prune",
        settings,
        limits: opts.limits,
        watching: args.watch.watch,
        interval: args.watch.interval.unwrap_or(settings.pruner.interval),
        advice: "",
    };
    job.maintain(out, |db, schema, first| {
        if first && !settings.quiet {
            if let Some(hint) = missing_index_hint(schema, &opts) {
                crate::output::notice(&hint);
            }
        }
        // Every pass, even under --quiet (cron mails stderr): a missing leaf loses jobs.
        if let Some(warning) = hint::missing_leaves(db, schema, &opts)? {
            crate::output::notice(&warning);
        }
        let bar = show_progress.then(|| progress::bar(opts.limit));
        let report = pass(db, schema, &opts, archive.as_mut(), bar.as_ref());
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let mut report = report?;
        if let Some(after) = opts.vacuum_after.filter(|_| !report.dry_run) {
            report.vacuumed = Some(None);
            if report.total > after {
                // This session's delete counts first, or they land after the vacuum's.
                db.flush_stats().context("sending table statistics")?;
                report.vacuumed = Some(crate::commands::vacuum::after_prune(settings, schema)?);
            }
        }
        let tally = watch::Tally {
            changed: report.total,
            interrupted: report.outcome == Outcome::Interrupted,
            dry_run: report.dry_run,
        };
        Ok((report, tally))
    })
}
