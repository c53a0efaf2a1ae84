//! `oban`: operate Oban job tables (oban-py, Elixir Oban, Oban Lite) from the outside.
//!
//! The binary is a thin shell around [`run`]; tests call the command modules directly too.

pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod dsn;
pub mod duration;
pub mod error;
pub mod estimate;
pub mod output;
pub mod watch;

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use cli::{Cli, Command};

/// Runs a parsed command line, writing results to `out`. Returns the exit code on success.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<i32> {
    if let Command::Completions(args) = &cli.command {
        clap_complete::generate(args.shell, &mut Cli::command(), "oban", out);
        return Ok(0);
    }
    let settings = config::resolve(&cli.global, &|key| std::env::var(key).ok())?;
    if settings.format == cli::Format::Prometheus && !matches!(cli.command, Command::Stats(_)) {
        return Err(error::usage(
            "--format prometheus: only `oban stats` speaks Prometheus; use table, json or csv",
        ));
    }
    match &cli.command {
        Command::Prune(args) => commands::prune::run(&settings, args, out),
        Command::Rescue(args) => commands::rescue::run(&settings, args, out),
        Command::Stats(args) => commands::stats::run(&settings, args, out),
        Command::Inspect(args) => commands::inspect::run(&settings, args, out),
        Command::Retry(args) => commands::actions::run(db::JobAction::Retry, &settings, args, out),
        Command::Cancel(args) => {
            commands::actions::run(db::JobAction::Cancel, &settings, args, out)
        }
        Command::Delete(args) => {
            commands::actions::run(db::JobAction::Delete, &settings, args, out)
        }
        Command::Migrate(args) => commands::migrate::run(&settings, args, out),
        Command::Seed(args) => commands::seed::run(&settings, args, out),
        Command::Demo(args) => commands::demo::run(&settings, args, out),
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

/// Replaces every secret in `text` with `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |acc, s| acc.replace(s.as_str(), "***"))
}
