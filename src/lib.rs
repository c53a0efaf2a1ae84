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
pub mod fleet;
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
        for target in &settings.targets {
            config::refuse_system_schema(&settings.for_target(target))?;
        }
    }
    if matches!(cli.command, Command::Demo(_))
        && (!cli.global.database_url.is_empty() || cli.global.prefix.is_some())
    {
        return Err(error::usage(
            "demo: always runs on a fresh SQLite file of its own, so -d and --prefix do not \
             apply; --keep PATH keeps that file",
        ));
    }
    if settings.fleet() && !matches!(cli.command, Command::Demo(_)) {
        return on_targets(&cli.command, &settings, out);
    }
    dispatch(&cli.command, &settings, out)
}

/// The command's name, for messages.
fn name(command: &Command) -> &'static str {
    match command {
        Command::Prune(_) => "prune",
        Command::Rescue(_) => "rescue",
        Command::Stats(_) => "stats",
        Command::Inspect(_) => "inspect",
        Command::Retry(_) => "retry",
        Command::Cancel(_) => "cancel",
        Command::Delete(_) => "delete",
        Command::Pause(_) => "pause",
        Command::Resume(_) => "resume",
        Command::Queues(_) => "queues",
        Command::Migrate(_) => "migrate",
        Command::Partitions(_) => "partitions",
        Command::Seed(_) => "seed",
        Command::Demo(_) => "demo",
        Command::Doctor(_) => "doctor",
        Command::Reindex(_) => "reindex",
        Command::Vacuum(_) => "vacuum",
        Command::Completions(_) => "completions",
    }
}

/// Whether `--watch` was given.
fn watching(command: &Command) -> bool {
    match command {
        Command::Prune(a) => a.watch.watch,
        Command::Rescue(a) => a.watch.watch,
        Command::Stats(a) => a.watch.watch,
        Command::Inspect(a) => a.watch.watch,
        Command::Queues(a) => a.watch.watch,
        _ => false,
    }
}

/// A run over several targets (see `fleet`). The commands that read or maintain run on every
/// target; actions and schema changes only with `--all-targets`, one target at a time. Every
/// refusal here is a usage error, before any SQL.
fn on_targets(command: &Command, settings: &config::Settings, out: &mut dyn Write) -> Result<i32> {
    let name = name(command);
    if let Command::Stats(args) = command {
        if args.listen.is_some() {
            return commands::stats::run(settings, args, out);
        }
    }
    let names: Vec<&str> = settings.targets.iter().map(|t| t.name.as_str()).collect();
    if watching(command) {
        return Err(error::usage(format!(
            "{name} --watch: one target at a time; this run has several ({}): pick one with \
             --target NAME, or for a live view of many use `oban stats --listen`",
            names.join(", ")
        )));
    }
    let reads = matches!(
        command,
        Command::Prune(_)
            | Command::Rescue(_)
            | Command::Stats(_)
            | Command::Inspect(_)
            | Command::Queues(_)
            | Command::Doctor(_)
    );
    if !reads && !settings.all_targets {
        return Err(error::usage(format!(
            "{name}: acts on one target at a time, and this run has several ({}): pick one \
             with --target NAME or -d DSN, or pass --all-targets to run it on every one",
            names.join(", ")
        )));
    }
    if let Command::Prune(args) = command {
        if args.archive.is_some() {
            return Err(error::usage(
                "prune --archive: one target at a time (its lines do not name their database); \
                 run a prune per target with a file of its own",
            ));
        }
    }
    fleet::run(settings, name, !reads, &|s, o| dispatch(command, s, o), out)
}

/// Runs a command on one target.
fn dispatch(command: &Command, settings: &config::Settings, out: &mut dyn Write) -> Result<i32> {
    match command {
        Command::Prune(args) => commands::prune::run(settings, args, out),
        Command::Rescue(args) => commands::rescue::run(settings, args, out),
        Command::Stats(args) => commands::stats::run(settings, args, out),
        Command::Inspect(args) => commands::inspect::run(settings, args, out),
        Command::Retry(args) => commands::actions::run(db::JobAction::Retry, settings, args, out),
        Command::Cancel(args) => commands::actions::kill::run(settings, args, out),
        Command::Delete(args) => commands::actions::run(db::JobAction::Delete, settings, args, out),
        Command::Pause(args) => commands::pause::run(true, settings, args, out),
        Command::Resume(args) => commands::pause::run(false, settings, args, out),
        Command::Queues(args) => commands::queues::run(settings, args, out),
        Command::Migrate(args) => commands::migrate::run(settings, args, out),
        Command::Partitions(args) => commands::partitions::run(settings, args, out),
        Command::Seed(args) => commands::seed::run(settings, args, out),
        Command::Demo(args) => commands::demo::run(settings, args, out),
        Command::Doctor(args) => commands::doctor::run(settings, args, out),
        Command::Reindex(args) => commands::reindex::run(settings, args, out),
        Command::Vacuum(args) => commands::vacuum::run(settings, args, out),
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
        candidates.extend(settings.targets.iter().map(|t| t.dsn.target.clone()));
        candidates.extend(settings.dsn.map(|d| d.target));
    }
    candidates
        .iter()
        .filter_map(|text| dsn::Dsn::parse(text).ok()?.password())
        .collect()
}
