//! `oban demo`: a fresh SQLite database, migrate, seed, then prune, rescue, an inspect of the
//! failing jobs and stats with their output, so a new user sees what the tool does in a few
//! seconds without a server.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{DemoArgs, Format, InspectArgs, JobFilterArgs, PruneArgs, RescueArgs, StatsArgs};
use crate::commands::counts::counts;
use crate::commands::inspect::{self, InspectOpts};
use crate::commands::prune::{pass, PruneOpts};
use crate::commands::rescue::{self, RescueOpts};
use crate::commands::seed::seed;
use crate::commands::stats::{self, StatsOpts};
use crate::config::Settings;
use crate::db::migrations::migrate;
use crate::db::Db;
use crate::dsn::{Backend, Dsn};
use crate::error::usage;
use crate::model::JobState;
use crate::output::write_report;

/// The fixed seed, so every demo shows the same population.
const DEMO_SEED: u64 = 42;

/// The `oban demo` command.
pub fn run(settings: &Settings, args: &DemoArgs, out: &mut dyn Write) -> Result<i32> {
    let dir = tempfile::tempdir()?;
    let path: PathBuf = match &args.keep {
        Some(p) if p.exists() => {
            return Err(usage(format!(
                "--keep {}: the file exists; the demo needs a fresh database",
                p.display()
            )))
        }
        Some(p) => p.clone(),
        None => dir.path().join("oban-demo.db"),
    };
    let dsn = Dsn {
        backend: Backend::Sqlite,
        target: path.display().to_string(),
    };
    let table = settings.format == Format::Table;
    let style = settings.style(true);
    let step = |out: &mut dyn Write, text: &str| -> Result<()> {
        if table && !settings.quiet {
            writeln!(out, "\n== {text}")?;
        }
        Ok(())
    };

    step(out, &format!("oban migrate -d sqlite://{}", dsn.target))?;
    let mut db = Db::connect(
        &dsn,
        crate::commands::session_limits(&Default::default()),
        true,
    )?;
    write_report(out, style, &migrate(&mut db, "public", false)?)?;
    let schema = db.schema("public")?;

    step(
        out,
        &format!("oban seed --jobs {} --seed {DEMO_SEED}", args.jobs),
    )?;
    // The seed report shows the jobs by state: the "before" of the prune below.
    write_report(out, style, &seed(&mut db, &schema, args.jobs, DEMO_SEED)?)?;

    let mut opts = PruneOpts::resolve(&PruneArgs::default(), settings)?;
    opts.dry_run = true;
    step(out, "oban prune --dry-run   (default max age: 1 day)")?;
    write_report(out, style, &pass(&mut db, &schema, &opts, None, None)?)?;

    opts.dry_run = false;
    step(out, "oban prune")?;
    write_report(out, style, &pass(&mut db, &schema, &opts, None, None)?)?;
    write_report(out, style, &counts(&mut db, &schema, "after prune")?)?;

    step(
        out,
        "oban rescue   (executing longer than 5m: the orphans of a node that died)",
    )?;
    let rescue = RescueOpts::resolve(&RescueArgs::default(), settings)?;
    write_report(out, style, &rescue::pass(&mut db, &schema, &rescue)?)?;

    step(
        out,
        "oban inspect --state discarded,retryable --limit 5   (the failing jobs; `oban inspect ID` shows one in full)",
    )?;
    let failing = InspectArgs {
        filter: JobFilterArgs {
            state: vec![JobState::Discarded, JobState::Retryable],
            ..JobFilterArgs::default()
        },
        limit: Some(5),
        ..InspectArgs::default()
    };
    let failing = InspectOpts::resolve(&failing, settings)?;
    write_report(out, style, &inspect::pass(&mut db, &schema, &failing)?)?;

    step(out, "oban stats")?;
    let stats = StatsOpts::resolve(&StatsArgs::default(), settings);
    write_report(out, style, &stats::pass(&mut db, &schema, &stats, None)?)?;

    if table && !settings.quiet {
        writeln!(
            out,
            "\nNext: point OBAN_DSN at your database and try `oban prune --dry-run` or `oban inspect --stuck`."
        )?;
        if args.keep.is_some() {
            writeln!(out, "The demo database is kept at {}.", dsn.target)?;
        }
    }
    Ok(0)
}
