//! Command-line syntax only: clap derive structs holding what the user typed.
//!
//! Nothing here has a default that oban.toml can also set; `config` resolves those so that
//! the file can win over built-in defaults. Values are still checked here (durations, counts) so
//! that a bad flag is a clap error naming the flag, exit code 2.
//!
//! Help text never writes a default down: [`command`] appends `[default: …]` to each flag's help
//! from [`help_defaults`], rendered from the constants in `config::defaults`. Parse, print help
//! and generate completions through [`command`], never `Cli::command()`.

use std::path::PathBuf;
use std::time::Duration;

mod args;
mod control;
mod help;
mod maintain;
mod values;

use clap::{Args, Parser, Subcommand};

pub use self::args::*;
pub use self::control::*;
pub use self::help::{command, help_defaults, man_pages, parse, HelpDefault};
pub use self::maintain::*;
pub use self::values::*;
pub use crate::model::OnExhausted;
pub use crate::output::Format;

/// Operate Oban job tables from the outside: prune, rescue, inspect, retry, cancel, delete, doctor, reindex, vacuum, migrate, seed, demo.
#[derive(Debug, Parser)]
#[command(
    name = "oban",
    version,
    about,
    long_about = "Operate Oban job tables (oban-py, Elixir Oban, Oban Lite) from a terminal, \
                  cron or CI: prune finished jobs, rescue orphaned ones, inspect jobs and retry, cancel or \
                  delete them, check the table's health and rebuild its indexes online, install \
                  the schema, seed test data.",
    after_help = "Examples:\n  \
        oban demo\n  \
        export OBAN_DSN=postgres://app@db/app\n  \
        oban prune --max-age 1h\n  \
        oban prune --dry-run -o json\n  \
        oban prune --watch --interval 30s\n  \
        oban rescue --accurate\n  \
        oban doctor\n  \
        oban inspect --state discarded,retryable\n  \
        oban retry 42 43\n  \
        oban -d postgres://app@db1/app -d sqlite://lite.db stats   # several targets\n  \
        oban --all-prefixes doctor               # every schema holding an Oban jobs table\n\n\
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
    /// Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]
    #[arg(short = 'd', long = "database-url", global = true, value_name = "DSN")]
    pub database_url: Vec<String>,
    /// Configuration file
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Schema holding the Oban tables (Oban's prefix) [env: OBAN_PREFIX]
    #[arg(long, global = true, value_name = "SCHEMA")]
    pub prefix: Option<String>,
    /// Output format
    #[arg(short = 'o', long = "format", global = true, value_enum)]
    pub format: Option<Format>,
    /// Print nothing on success in table format (errors still go to stderr)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Only the file targets of these names (`--target`).
    #[arg(
        help = "Only the [[targets]] of oban.toml with this name (repeatable)",
        long = "target",
        global = true,
        help_heading = "Targets",
        value_name = "NAME"
    )]
    pub target: Vec<String>,
    /// Every schema holding an Oban jobs table in each PostgreSQL target
    #[arg(long, global = true, help_heading = "Targets")]
    pub all_prefixes: bool,
    /// Targets worked on at once
    #[arg(long, global = true, help_heading = "Targets", value_name = "N", value_parser = parallel, allow_hyphen_values = true)]
    pub parallel: Option<usize>,
    /// Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target
    #[arg(long, global = true, help_heading = "Targets")]
    pub all_targets: bool,
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
        oban rescue                              # executing longer than [lifeline] rescue_after\n  \
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
        oban stats --max-latency 5m --max-stuck 0 -q      # exit 3 when breached\n  \
        oban stats --listen 0.0.0.0:9187                  # a Prometheus exporter (many targets too)")]
    Stats(StatsArgs),
    /// List jobs by filters, or show jobs by id in full (read-only)
    #[command(after_help = "Examples:\n  \
        oban inspect --state discarded,retryable --queue mailers\n  \
        oban inspect --stuck                     # executing longer than [lifeline] rescue_after\n  \
        oban inspect --worker app.workers.Sync --args '{\"account_id\": 7}' --older-than 1h\n  \
        oban inspect --node worker-3 --sort attempted --desc --wide\n  \
        oban inspect 42 43                       # every column, args, meta and each error\n  \
        oban inspect --group-by error --queue mailers   # what is failing, most jobs first\n  \
        oban inspect --error 'relay refused' --meta '{\"tenant\": \"acme\"}'\n  \
        oban inspect --state executing --watch --interval 5s")]
    Inspect(Box<InspectArgs>),
    /// Make jobs available to run now (any state but available and executing)
    #[command(after_help = "Examples:\n  \
        oban retry 42 43\n  \
        oban retry --state discarded --queue mailers --all-matching --dry-run\n  \
        oban retry --state discarded --worker app.workers.Sync --all-matching --yes\n  \
        oban retry --error 'relay refused' --all-matching --yes --limit all --pause 1s")]
    Retry(Box<ActionArgs>),
    /// Cancel jobs that have not finished; running ones (PostgreSQL) are signalled to stop
    #[command(after_help = "Examples:\n  \
        oban cancel 42\n  \
        oban cancel 42 --wait 30s                # a running job: signal it, confirm it stopped\n  \
        oban cancel --state scheduled --worker app.workers.Newsletter --all-matching --yes")]
    Cancel(Box<CancelArgs>),
    /// Delete jobs (any state but executing)
    #[command(after_help = "Examples:\n  \
        oban delete 42\n  \
        oban delete --state discarded --args '{\"tenant\": \"gone\"}' --all-matching --dry-run")]
    Delete(Box<ActionArgs>),
    /// Pause queues: their producers start no new jobs (running jobs finish); confirmed per node where oban-py records it
    #[command(after_help = "Examples:\n  \
        oban pause mailers\n  \
        oban pause mailers media --node worker-3 --wait 10s\n  \
        oban pause --all")]
    Pause(PauseArgs),
    /// Resume paused queues; confirmed per node where oban-py records it
    #[command(after_help = "Examples:\n  \
        oban resume mailers\n  \
        oban resume --all")]
    Resume(PauseArgs),
    /// One row per queue and node: paused, limit, running jobs, last heartbeat, with job counts
    #[command(after_help = "Examples:\n  \
        oban queues\n  \
        oban queues --queue mailers -o json\n  \
        oban queues --watch")]
    Queues(QueuesArgs),
    /// Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)
    #[command(after_help = "Examples:\n  \
        oban migrate -d postgres://app@db/app --prefix jobs\n  \
        oban migrate --dry-run\n  \
        oban migrate -d sqlite://jobs.db")]
    Migrate(MigrateArgs),
    /// On a partitioned table: make the leaves for the coming days (idempotent)
    #[command(after_help = "Examples:\n  \
        oban partitions --dry-run\n  \
        oban partitions --premake 7d\n  \
        0 * * * * oban partitions -q && oban prune -q    # cron: take over from the in-app plugin")]
    Partitions(PartitionsArgs),
    /// Fill the jobs table with a realistic population (for demos, tests and benchmarks)
    #[command(after_help = "Examples:\n  \
        oban seed --jobs 100000\n  \
        oban seed --jobs 1000000 --seed 7 --force")]
    Seed(SeedArgs),
    /// Check the jobs table's health: indexes, bloat, vacuum, what holds it back, orphans (read-only; exit 3 when any check warns or fails)
    #[command(after_help = "Examples:\n  \
        oban doctor\n  \
        oban doctor -o json                      # one object per check: name, status, value, fix\n  \
        oban doctor --exact                      # measure bloat with pgstattuple when installed\n  \
        oban doctor -q || alert                  # exit 3 when any check warns or fails")]
    Doctor(DoctorArgs),
    /// Rebuild the jobs table's indexes online, one at a time (PostgreSQL), dropping invalid leftovers first
    #[command(after_help = "Examples:\n  \
        oban reindex --dry-run\n  \
        oban reindex --bloated-only\n  \
        oban reindex --index oban_jobs_state_queue_priority_scheduled_at_id_index --lock-timeout 2s")]
    Reindex(ReindexArgs),
    /// VACUUM (ANALYZE) the jobs table (SQLite: VACUUM the file)
    #[command(after_help = "Examples:\n  \
        oban vacuum\n  \
        oban prune --vacuum                      # vacuum after a pass that deleted many rows")]
    Vacuum(VacuumArgs),
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
    /// Time between passes with --watch, at least 100ms
    #[arg(long, value_name = "DURATION", value_parser = interval, allow_hyphen_values = true)]
    pub interval: Option<Duration>,
}

/// Session safety settings for commands that write.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout)
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub lock_timeout: Option<Duration>,
    /// Cancel any single statement running longer than this
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub statement_timeout: Option<Duration>,
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

/// `--limit` and `--batch-size`, shared by the commands that change jobs in batches. Their help
/// says what each command changes ("rows deleted", "jobs moved"): see `help::BATCH_HELP`.
#[derive(Debug, Clone, Default, Args)]
pub struct BatchArgs {
    /// Most jobs changed in one pass
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Most jobs changed in one transaction
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
}

impl BatchArgs {
    /// The limit and the batch size, each flag over the default given; a batch is never larger
    /// than the limit.
    pub fn resolve(&self, limit: u64, batch_size: u64) -> (u64, u64) {
        let limit = self.limit.unwrap_or(limit);
        (limit, self.batch_size.unwrap_or(batch_size).min(limit))
    }
}
