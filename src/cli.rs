//! Command-line syntax only: clap derive structs holding what the user typed.
//!
//! Nothing here has a default that oban.toml can also set; `config.rs` resolves those so that
//! the file can win over built-in defaults. Values are still checked here (durations, counts) so
//! that a bad flag is a clap error naming the flag, exit code 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Operate Oban job tables from the outside: prune, rescue, migrate, seed, demo.
#[derive(Debug, Parser)]
#[command(
    name = "oban",
    version,
    about,
    long_about = "Operate Oban job tables (oban-py, Elixir Oban, Oban Lite) from a terminal, \
                  cron or CI: prune finished jobs, rescue orphaned ones, install the schema, seed test data.",
    after_help = "Examples:\n  \
        oban demo\n  \
        export OBAN_DSN=postgres://app@db/app\n  \
        oban prune --max-age 1h\n  \
        oban prune --dry-run -o json\n  \
        oban prune --watch --interval 30s\n  \
        oban rescue --accurate\n\n\
        Configuration: flags > environment (OBAN_DSN, DATABASE_URL, OBAN_PREFIX) > oban.toml > defaults."
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]
    #[arg(short = 'd', long = "database-url", global = true, value_name = "DSN")]
    pub database_url: Option<String>,
    /// Configuration file [default: ./oban.toml when present]
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Schema holding the Oban tables (Oban's prefix) [env: OBAN_PREFIX] [default: public]
    #[arg(long, global = true, value_name = "SCHEMA")]
    pub prefix: Option<String>,
    /// Output format
    #[arg(short = 'o', long = "format", global = true, value_enum)]
    pub format: Option<Format>,
    /// Print nothing on success in table format (errors still go to stderr)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// How results are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable tables
    #[default]
    Table,
    /// One JSON document per pass
    Json,
    /// A header row, then rows
    Csv,
    /// Prometheus text exposition format (stats only)
    Prometheus,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Delete finished jobs (completed, cancelled, discarded) older than their cutoff
    #[command(after_help = "Examples:\n  \
        oban prune --max-age 1h\n  \
        oban prune --dry-run -o json\n  \
        oban prune --discarded-max-age 30d --queue mailers --archive /var/backups/oban.jsonl\n  \
        oban prune --watch --interval 30s\n  \
        */5 * * * * oban prune -q        # cron: overlapping runs are harmless")]
    Prune(Box<PruneArgs>),
    /// Move jobs orphaned in `executing` back to available (or discard them when out of attempts)
    #[command(after_help = "Examples:\n  \
        oban rescue                              # executing longer than 5m (the lifeline rule)\n  \
        oban rescue --rescue-after 30m --queue media --dry-run\n  \
        oban rescue --accurate                   # orphans of dead producers, whatever their age\n  \
        oban rescue --accurate --on-exhausted retry --watch --interval 15s\n  \
        */1 * * * * oban rescue -q               # cron: overlapping runs are harmless")]
    Rescue(Box<RescueArgs>),
    /// Counts by queue and state, queue latency, throughput and database health
    #[command(after_help = "Examples:\n  \
        oban stats\n  \
        oban stats --watch --interval 2s                 # live view on a terminal\n  \
        oban stats -o prometheus > /var/lib/node_exporter/oban.prom\n  \
        oban stats --max-latency 5m --max-stuck 0 -q      # exit 3 when breached")]
    Stats(StatsArgs),
    /// Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)
    #[command(after_help = "Examples:\n  \
        oban migrate -d postgres://app@db/app --prefix jobs\n  \
        oban migrate --dry-run\n  \
        oban migrate -d sqlite://jobs.db")]
    Migrate(MigrateArgs),
    /// Fill the jobs table with a realistic population (for demos, tests and benchmarks)
    #[command(after_help = "Examples:\n  \
        oban seed --jobs 100000\n  \
        oban seed --jobs 1000000 --seed 7 --force")]
    Seed(SeedArgs),
    /// Walk through migrate, seed, prune, rescue and stats on a fresh SQLite database
    Demo(DemoArgs),
    /// Print a shell completion script
    #[command(after_help = "Example:\n  oban completions bash > /etc/bash_completion.d/oban")]
    Completions(CompletionsArgs),
}

/// `--watch` and `--interval`, shared by maintenance and query commands.
#[derive(Debug, Clone, Default, Args)]
pub struct WatchArgs {
    /// Run a pass every interval until Ctrl-C
    #[arg(long)]
    pub watch: bool,
    /// Time between passes with --watch [default: [pruner] or [lifeline] interval, else 60s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub interval: Option<Duration>,
}

/// Session safety settings for commands that write.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub lock_timeout: Option<Duration>,
    /// Cancel any single statement running longer than this [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub statement_timeout: Option<Duration>,
}

/// A final job state, the only states prune may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum FinalState {
    /// completed_at decides
    Completed,
    /// cancelled_at decides
    Cancelled,
    /// discarded_at decides
    Discarded,
}

/// Arguments of `oban prune`.
#[derive(Debug, Clone, Default, Args)]
pub struct PruneArgs {
    /// Prune jobs finished longer ago than this [default: [pruner] max_age, else 1d]
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub max_age: Option<Duration>,
    /// Age for completed jobs (overrides --max-age)
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub completed_max_age: Option<Duration>,
    /// Age for cancelled jobs (overrides --max-age)
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub cancelled_max_age: Option<Duration>,
    /// Age for discarded jobs (overrides --max-age)
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub discarded_max_age: Option<Duration>,
    /// Only these final states (repeatable or comma-separated) [default: all three]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub state: Vec<FinalState>,
    /// Only jobs in this queue (repeatable)
    #[arg(long, value_name = "QUEUE")]
    pub queue: Vec<String>,
    /// Only jobs of this worker (repeatable)
    #[arg(long, value_name = "WORKER")]
    pub worker: Vec<String>,
    /// Most rows deleted in one pass [default: [pruner] limit, else 20000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Most rows deleted in one transaction [default: 5000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
    /// Sleep between batches, to spare a busy database [default: 0s]
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub pause: Option<Duration>,
    /// Stop a pass after this long, once the batch in flight has committed
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_runtime: Option<Duration>,
    /// Count what would be deleted, per state and queue, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Append every deleted row to FILE as one JSON object per line, synced before each batch commits
    #[arg(long, value_name = "FILE")]
    pub archive: Option<PathBuf>,
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Watch loop.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// What happens to an orphan that has used all its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OnExhausted {
    /// Discard it, with discarded_at set (oban-py's lifeline)
    #[default]
    Discard,
    /// Raise max_attempts to attempt + 1 and make it available
    Retry,
}

/// Arguments of `oban rescue`.
#[derive(Debug, Clone, Default, Args)]
pub struct RescueArgs {
    /// Executing jobs attempted longer ago than this are orphans [default: [lifeline] rescue_after, else 300s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub rescue_after: Option<Duration>,
    /// Judge by producer heartbeats (oban_producers) instead of age: a job whose producer is gone is rescued at once, a job whose producer is alive never
    #[arg(long)]
    pub accurate: bool,
    /// With --accurate: a producer silent for this long is gone [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub producer_ttl: Option<Duration>,
    /// What to do with an orphan that has no attempts left
    #[arg(long, value_enum, value_name = "ACTION")]
    pub on_exhausted: Option<OnExhausted>,
    /// Only jobs in this queue (repeatable)
    #[arg(long, value_name = "QUEUE")]
    pub queue: Vec<String>,
    /// Only jobs of this worker (repeatable)
    #[arg(long, value_name = "WORKER")]
    pub worker: Vec<String>,
    /// Most jobs moved in one pass [default: 20000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Most jobs moved in one transaction [default: 1000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
    /// List what would move and where, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Watch loop.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Arguments of `oban stats`.
#[derive(Debug, Clone, Default, Args)]
pub struct StatsArgs {
    /// Count every cell exactly, however large the table
    #[arg(long)]
    pub exact: bool,
    /// Use planner estimates for cells above this many rows [default: 50000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub estimate_above: Option<u64>,
    /// Executing longer than this counts as stuck [default: [lifeline] rescue_after, else 300s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub rescue_after: Option<Duration>,
    /// Breach (exit 3) when any queue's oldest available job waited longer than this
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub max_latency: Option<Duration>,
    /// Breach (exit 3) when more than N jobs are stuck in executing
    #[arg(long, value_name = "N", value_parser = count, allow_hyphen_values = true)]
    pub max_stuck: Option<u64>,
    /// Breach (exit 3) when more than N jobs were discarded in the last hour
    #[arg(long, value_name = "N", value_parser = count, allow_hyphen_values = true)]
    pub max_discarded_rate: Option<u64>,
    /// Watch loop.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Arguments of `oban migrate`.
#[derive(Debug, Clone, Default, Args)]
pub struct MigrateArgs {
    /// List the migrations that would run, and run none
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `oban seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many jobs to insert
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = positive_count, allow_hyphen_values = true)]
    pub jobs: u64,
    /// Random seed, for a reproducible population
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Insert even when the table already has jobs
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `oban demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many jobs to seed
    #[arg(long, value_name = "N", default_value_t = 20_000, value_parser = positive_count, allow_hyphen_values = true)]
    pub jobs: u64,
    /// Keep the demo database at this path instead of a temporary file
    #[arg(long, value_name = "FILE")]
    pub keep: Option<PathBuf>,
}

/// Arguments of `oban completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Parses a duration flag (zero allowed).
pub fn duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

/// Parses a duration flag that must be longer than zero.
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    let d = crate::duration::parse(text)?;
    if d.is_zero() {
        return Err("must be longer than 0s".into());
    }
    Ok(d)
}

/// Parses a count that must be at least 1 (at most 100 million).
pub fn positive_count(text: &str) -> Result<u64, String> {
    let n: u64 = text
        .replace('_', "")
        .parse()
        .map_err(|_| format!("expected a whole number from 1 to 100000000, got '{text}'"))?;
    if !(1..=100_000_000).contains(&n) {
        return Err(format!(
            "expected a whole number from 1 to 100000000, got '{text}'"
        ));
    }
    Ok(n)
}

/// Parses a count that may be zero (at most 100 million).
pub fn count(text: &str) -> Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    positive_count(text)
        .map_err(|_| format!("expected a whole number from 0 to 100000000, got '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn counts_are_bounded() {
        assert!(positive_count("0").is_err());
        assert!(positive_count("-1").is_err());
        assert!(positive_count("100000001").is_err());
        assert_eq!(positive_count("20_000"), Ok(20_000));
    }
}
