//! `oban`: operate Oban job tables (oban-py, Elixir Oban, Oban Lite) from the outside.
//!
//! The binary is a thin shell around [`run`]; tests call the command modules directly too.

pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod defaults;
pub mod dsn;
pub mod duration;
pub mod error;
pub mod estimate;
pub mod model;
pub mod output;
pub mod watch;

use std::io::Write;

use anyhow::Result;
use cli::{Cli, Command};
pub use dsn::scrub;

/// Runs a parsed command line, writing results to `out`. Returns the exit code on success.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<i32> {
    if let Command::Completions(args) = &cli.command {
        // Generated into memory first: clap_complete panics on a failed write, and a closed
        // pipe (`oban completions fish | head -1`) is not a failure.
        let mut script = Vec::new();
        clap_complete::generate(args.shell, &mut cli::command(), "oban", &mut script);
        out.write_all(&script)?;
        out.flush()?;
        return Ok(0);
    }
    let settings = config::resolve(&cli.global, &|key| std::env::var(key).ok())?;
    for warning in &settings.warnings {
        eprintln!("oban: warning: {warning}");
    }
    if settings.format == cli::Format::Prometheus && !matches!(cli.command, Command::Stats(_)) {
        return Err(error::usage(
            "--format prometheus: only `oban stats` speaks Prometheus; use table, json or csv",
        ));
    }
    let writes = matches!(
        cli.command,
        Command::Prune(_)
            | Command::Rescue(_)
            | Command::Retry(_)
            | Command::Cancel(_)
            | Command::Delete(_)
            | Command::Migrate(_)
            | Command::Partitions(_)
            | Command::Seed(_)
            | Command::Reindex(_)
            | Command::Vacuum(_)
    );
    if writes {
        config::refuse_system_schema(&settings)?;
    }
    if matches!(cli.command, Command::Demo(_))
        && (cli.global.database_url.is_some() || cli.global.prefix.is_some())
    {
        return Err(error::usage(
            "demo: always runs on a fresh SQLite file of its own, so -d and --prefix do not \
             apply; --keep PATH keeps that file",
        ));
    }
    match &cli.command {
        Command::Prune(args) => commands::prune::run(&settings, args, out),
        Command::Rescue(args) => commands::rescue::run(&settings, args, out),
        Command::Stats(args) => commands::stats::run(&settings, args, out),
        Command::Inspect(args) => commands::inspect::run(&settings, args, out),
        Command::Retry(args) => commands::actions::run(db::JobAction::Retry, &settings, args, out),
        Command::Cancel(args) => commands::actions::kill::run(&settings, args, out),
        Command::Delete(args) => {
            commands::actions::run(db::JobAction::Delete, &settings, args, out)
        }
        Command::Pause(args) => commands::pause::run(true, &settings, args, out),
        Command::Resume(args) => commands::pause::run(false, &settings, args, out),
        Command::Queues(args) => commands::queues::run(&settings, args, out),
        Command::Migrate(args) => commands::migrate::run(&settings, args, out),
        Command::Partitions(args) => commands::partitions::run(&settings, args, out),
        Command::Seed(args) => commands::seed::run(&settings, args, out),
        Command::Demo(args) => commands::demo::run(&settings, args, out),
        Command::Doctor(args) => commands::doctor::run(&settings, args, out),
        Command::Reindex(args) => commands::reindex::run(&settings, args, out),
        Command::Vacuum(args) => commands::vacuum::run(&settings, args, out),
        Command::Completions(_) => Ok(0),
    }
}

/// Every password the command line, environment or config file might carry, so that error
/// messages can be scrubbed of them whatever produced the message.
pub fn secrets(cli: &Cli) -> Vec<String> {
    let mut candidates: Vec<String> = vec![];
    candidates.extend(cli.global.database_url.clone());
    candidates.extend(std::env::var("OBAN_DSN").ok());
    candidates.extend(std::env::var("DATABASE_URL").ok());
    if let Ok(settings) = config::resolve(&cli.global, &|key| std::env::var(key).ok()) {
        candidates.extend(settings.dsn.map(|d| d.target));
    }
    candidates
        .iter()
        .filter_map(|text| dsn::Dsn::parse(text).ok()?.password())
        .collect()
}
