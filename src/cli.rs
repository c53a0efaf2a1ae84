//! Command-line syntax only: clap derive structs holding what the user typed.
//!
//! Nothing here has a default that oban.toml can also set; `config.rs` resolves those so that
//! the file can win over built-in defaults. Values are still checked here (durations, counts) so
//! that a bad flag is a clap error naming the flag, exit code 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Operate Oban job tables from the outside: prune, rescue, inspect, retry, cancel, delete, migrate, seed, demo.
#[derive(Debug, Parser)]
#[command(
    name = "oban",
    version,
    about,
    long_about = "Operate Oban job tables (oban-py, Elixir Oban, Oban Lite) from a terminal, \
                  cron or CI: prune finished jobs, rescue orphaned ones, inspect jobs and retry, cancel or \
                  delete them, install the schema, seed test data.",
    after_help = "Examples:\n  \
        oban demo\n  \
        export OBAN_DSN=postgres://app@db/app\n  \
        oban prune --max-age 1h\n  \
        oban prune --dry-run -o json\n  \
        oban prune --watch --interval 30s\n  \
        oban rescue --accurate\n  \
        oban inspect --state discarded,retryable\n  \
        oban retry 42 43\n\n\
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
    /// List jobs by filters, or show jobs by id in full (read-only)
    #[command(after_help = "Examples:\n  \
        oban inspect --state discarded,retryable --queue mailers\n  \
        oban inspect --stuck                     # executing longer than [lifeline] rescue_after\n  \
        oban inspect --worker app.workers.Sync --args '{\"account_id\": 7}' --older-than 1h\n  \
        oban inspect --node worker-3 --sort attempted --desc --wide\n  \
        oban inspect 42 43                       # every column, args, meta and each error\n  \
        oban inspect --state executing --watch --interval 5s")]
    Inspect(Box<InspectArgs>),
    /// Make jobs available to run now (any state but available and executing)
    #[command(after_help = "Examples:\n  \
        oban retry 42 43\n  \
        oban retry --state discarded --queue mailers --all-matching --dry-run\n  \
        oban retry --state discarded --worker app.workers.Sync --all-matching --yes")]
    Retry(Box<ActionArgs>),
    /// Cancel jobs that are neither finished nor running (available, scheduled, retryable, suspended)
    #[command(after_help = "Examples:\n  \
        oban cancel 42\n  \
        oban cancel --state scheduled --worker app.workers.Newsletter --all-matching --yes")]
    Cancel(Box<ActionArgs>),
    /// Delete jobs (any state but executing)
    #[command(after_help = "Examples:\n  \
        oban delete 42\n  \
        oban delete --state discarded --args '{\"tenant\": \"gone\"}' --all-matching --dry-run")]
    Delete(Box<ActionArgs>),
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
    /// Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database
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
    /// Time between passes with --watch, at least 100ms [default: [pruner] or [lifeline] interval, else 60s; inspect: 2s]
    #[arg(long, value_name = "DURATION", value_parser = interval, allow_hyphen_values = true)]
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

/// `--queue` and `--worker`, shared by every command that selects jobs.
#[derive(Debug, Clone, Default, Args)]
pub struct QueueWorkerArgs {
    /// Only jobs in this queue (repeatable)
    #[arg(long, value_name = "QUEUE")]
    pub queue: Vec<String>,
    /// Only jobs of this worker (repeatable)
    #[arg(long, value_name = "WORKER")]
    pub worker: Vec<String>,
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
    /// Queue and worker filters.
    #[command(flatten)]
    pub scope: QueueWorkerArgs,
    /// Most rows deleted in one pass [default: [pruner] limit, else 20000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Most rows deleted in one transaction [default: 10000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
    /// Sleep between batches, to spare a busy database [default: 0s]
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub pause: Option<Duration>,
    /// Stop a pass after this long, once the batch in flight has committed
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_runtime: Option<Duration>,
    /// Connections deleting at once (PostgreSQL): 2 drains from both ends of the eligible range, about twice as fast, at twice the load [default: 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub connections: Option<u8>,
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

/// Any job state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum JobState {
    /// Ready to run
    Available,
    /// Held back until resumed
    Suspended,
    /// Waiting for its scheduled_at
    Scheduled,
    /// Running (or orphaned)
    Executing,
    /// Failed, will run again
    Retryable,
    /// Finished successfully
    Completed,
    /// Cancelled
    Cancelled,
    /// Failed for good
    Discarded,
}

/// The order a list can be sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SortKey {
    /// Job id
    #[default]
    Id,
    /// inserted_at
    Inserted,
    /// scheduled_at
    Scheduled,
    /// attempted_at
    Attempted,
    /// State name
    State,
    /// Queue name
    Queue,
    /// Worker name
    Worker,
    /// Attempt number
    Attempt,
}

/// A timestamp that `--older-than` / `--newer-than` can be measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeBasis {
    /// inserted_at
    Inserted,
    /// scheduled_at
    Scheduled,
    /// attempted_at
    Attempted,
}

/// Filters shared by `inspect` and the job actions.
#[derive(Debug, Clone, Default, Args)]
pub struct JobFilterArgs {
    /// Only jobs in these states (repeatable or comma-separated)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub state: Vec<JobState>,
    /// Queue and worker filters.
    #[command(flatten)]
    pub scope: QueueWorkerArgs,
    /// Only jobs carrying this tag (repeatable: any of them)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Only jobs whose args contain this JSON object, e.g. '{"user_id": 7}'
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub args: Option<String>,
    /// Only jobs last attempted by this node (attempted_by[1]; repeatable)
    #[arg(long, value_name = "NODE")]
    pub node: Vec<String>,
    /// Only jobs whose timestamp (see --by) is older than this
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub older_than: Option<Duration>,
    /// Only jobs whose timestamp (see --by) is newer than this
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub newer_than: Option<Duration>,
    /// Measure ages on this timestamp [default: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at]
    #[arg(long, value_enum, value_name = "TIMESTAMP")]
    pub by: Option<TimeBasis>,
    /// Only executing jobs attempted longer ago than [lifeline] rescue_after (default 300s)
    #[arg(long)]
    pub stuck: bool,
}

/// Arguments of `oban inspect`.
#[derive(Debug, Clone, Default, Args)]
pub struct InspectArgs {
    /// Show these jobs in full instead of a list
    #[arg(value_name = "ID", value_parser = job_id)]
    pub ids: Vec<i64>,
    /// Filters.
    #[command(flatten)]
    pub filter: JobFilterArgs,
    /// Most jobs listed [default: 20]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Sort the list by this column [default: id]
    #[arg(long, value_enum, value_name = "COLUMN")]
    pub sort: Option<SortKey>,
    /// Sort in descending order
    #[arg(long)]
    pub desc: bool,
    /// More columns, full worker and args (wider than 80 columns)
    #[arg(long)]
    pub wide: bool,
    /// Watch loop.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Arguments of `oban retry`, `oban cancel` and `oban delete`.
#[derive(Debug, Clone, Default, Args)]
pub struct ActionArgs {
    /// The jobs to act on
    #[arg(value_name = "ID", value_parser = job_id)]
    pub ids: Vec<i64>,
    /// Filters (need --all-matching).
    #[command(flatten)]
    pub filter: JobFilterArgs,
    /// Act on every job the filters match (required when acting by filter)
    #[arg(long)]
    pub all_matching: bool,
    /// Do not ask for confirmation (required with filters when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Show what would change, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Most jobs changed in one run [default: 1000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Most jobs changed in one transaction [default: 500]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
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
    /// Queue and worker filters.
    #[command(flatten)]
    pub scope: QueueWorkerArgs,
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
    /// Sample tables above this many rows; a figure may be estimated (within ±25% at 95%) above a tenth of it [default: 50000]
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub estimate_above: Option<u64>,
    /// Time a pass may spend sampling more or counting exactly before a figure is reported unknown [default: 250ms]
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub budget: Option<Duration>,
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
    /// Cancel any single statement running longer than this [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub statement_timeout: Option<Duration>,
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

/// The shortest `--interval`: a watch loop faster than this would only load the database.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Parses a watch interval: at least [`MIN_INTERVAL`].
pub fn interval(text: &str) -> Result<Duration, String> {
    let d = crate::duration::parse(text)?;
    if d < MIN_INTERVAL {
        return Err("must be at least 100ms".into());
    }
    Ok(d)
}

/// Parses a job id: a positive whole number.
pub fn job_id(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "expected a job id (a positive whole number), got '{text}'"
        )),
    }
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
