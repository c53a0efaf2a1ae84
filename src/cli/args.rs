//! The arguments of each subcommand (shared groups live in the parent module).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::values::{
    count, duration, job_id, positive_count, positive_duration, replica_lag, size, wal_rate,
    ReplicaLag,
};
use super::{BatchArgs, QueueWorkerArgs, SessionArgs, WatchArgs};
use crate::defaults;
use crate::model::{FinalState, JobState, OnExhausted, SortKey, TimeBasis};

/// Arguments of `oban prune`.
#[derive(Debug, Clone, Default, Args)]
pub struct PruneArgs {
    /// Prune jobs finished longer ago than this
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
    /// Only these final states (repeatable or comma-separated)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub state: Vec<FinalState>,
    /// Retention rules given as flags (`--rule`).
    #[arg(
        help = "A retention rule, e.g. 'queue=mailers,state=discarded,max_age=30d' or 'worker=app.*,keep_last=1000' (repeatable; first match wins; replaces the config file's [[retention]] rules)",
        long,
        value_name = "RULE"
    )]
    pub rule: Vec<String>,
    /// Queue and worker filters.
    #[command(flatten)]
    pub scope: QueueWorkerArgs,
    /// How many rows, in all and per transaction.
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Sleep between batches, to spare a busy database
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub pause: Option<Duration>,
    /// Stop a pass after this long, once the batch in flight has committed
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_runtime: Option<Duration>,
    /// Connections deleting at once (PostgreSQL): 2 drains from both ends of the eligible range, about 1.3-1.6 times as fast on a server with an idle core, at twice the load
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub connections: Option<u8>,
    /// Count what would be deleted, per state and queue, and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run VACUUM (ANALYZE) on the jobs table after a pass that deleted more than --vacuum-after rows
    #[arg(long)]
    pub vacuum: bool,
    /// With --vacuum: the rows a pass must delete before it vacuums
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true, requires = "vacuum")]
    pub vacuum_after: Option<u64>,
    /// Append every deleted row to FILE as one JSON object per line, synced before each batch commits
    #[arg(long, value_name = "FILE")]
    pub archive: Option<PathBuf>,
    /// Throttles that spare standbys and slots.
    #[command(flatten)]
    pub throttle: ThrottleArgs,
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Watch loop.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// `prune`'s throttles (PostgreSQL). Each may also come from the environment or from
/// `[pruner]` in a config file of oban's own, so that cron entries stay short (not in the
/// oban.toml an application reads: oban-py refuses `[pruner]` keys it does not know).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ThrottleArgs {
    /// Before each batch, wait while any standby is further behind than this: WAL not yet replayed (16MB) or a time (30s)
    #[arg(long, value_name = "SIZE|TIME", value_parser = replica_lag, env = "OBAN_PRUNE_MAX_REPLICA_LAG")]
    pub max_replica_lag: Option<ReplicaLag>,
    /// Before each batch, wait while any replication slot keeps more WAL than this (e.g. 1GB)
    #[arg(long, value_name = "SIZE", value_parser = size, env = "OBAN_PRUNE_MAX_SLOT_LAG")]
    pub max_slot_lag: Option<u64>,
    /// Pace the pass so that the server writes at most this much WAL per second (e.g. 8MB/s)
    #[arg(long, value_name = "SIZE/s", value_parser = wal_rate, env = "OBAN_PRUNE_MAX_WAL_RATE")]
    pub max_wal_rate: Option<u64>,
}

impl ThrottleArgs {
    /// Each throttle from `self`, else from `fallback` (flags and environment over the file).
    pub fn or(&self, fallback: &ThrottleArgs) -> ThrottleArgs {
        ThrottleArgs {
            max_replica_lag: self.max_replica_lag.or(fallback.max_replica_lag),
            max_slot_lag: self.max_slot_lag.or(fallback.max_slot_lag),
            max_wal_rate: self.max_wal_rate.or(fallback.max_wal_rate),
        }
    }

    /// Whether any throttle is set.
    pub fn any(&self) -> bool {
        self.max_replica_lag.is_some() || self.max_slot_lag.is_some() || self.max_wal_rate.is_some()
    }
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
    /// Only jobs last attempted by these nodes (`--node`).
    #[arg(
        help = "Only jobs last attempted by this node (attempted_by[1]; repeatable)",
        long,
        value_name = "NODE"
    )]
    pub node: Vec<String>,
    /// Only jobs whose timestamp (see --by) is older than this
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub older_than: Option<Duration>,
    /// Only jobs whose timestamp (see --by) is newer than this
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub newer_than: Option<Duration>,
    /// Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)
    #[arg(long, value_enum, value_name = "TIMESTAMP")]
    pub by: Option<TimeBasis>,
    /// Only executing jobs attempted longer ago than rescue_after (the lifeline's)
    #[arg(long)]
    pub stuck: bool,
    /// Only jobs whose last recorded error contains this text (case-insensitive)
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub error: Option<String>,
    /// Only jobs whose meta contains this JSON object, e.g. '{"tenant": "acme"}'
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub meta: Option<String>,
    /// Only jobs of this priority (repeatable or comma-separated; 0 runs first)
    #[arg(long, value_name = "N", value_delimiter = ',')]
    pub priority: Vec<u16>,
    /// Only jobs whose id is in this inclusive range: A..B, A.. or ..B
    #[arg(long, value_name = "A..B", value_parser = super::control::id_range)]
    pub id_range: Option<super::control::IdRange>,
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
    /// Most jobs listed
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Sort the list by this column
    #[arg(long, value_enum, value_name = "COLUMN")]
    pub sort: Option<SortKey>,
    /// Sort in descending order
    #[arg(long)]
    pub desc: bool,
    /// More columns, full worker and args (wider than 80 columns)
    #[arg(long)]
    pub wide: bool,
    /// Count the matching jobs by the line of their last error that names the failure, most first (without --state: retryable and discarded jobs)
    #[arg(long, value_enum, value_name = "WHAT")]
    pub group_by: Option<super::control::GroupBy>,
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
    /// How many jobs, in all and per transaction.
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Sleep between batches, to spare a busy database
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub pause: Option<Duration>,
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// Arguments of `oban rescue`.
#[derive(Debug, Clone, Default, Args)]
pub struct RescueArgs {
    /// Executing jobs attempted longer ago than this are orphans
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub rescue_after: Option<Duration>,
    /// Judge by producer heartbeats (oban_producers) instead of age: a job whose producer is gone is rescued at once, a job whose producer is alive never
    #[arg(long)]
    pub accurate: bool,
    /// With --accurate: a producer silent for this long is gone
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub producer_ttl: Option<Duration>,
    /// What to do with an orphan that has no attempts left
    #[arg(long, value_enum, value_name = "ACTION")]
    pub on_exhausted: Option<OnExhausted>,
    /// Queue and worker filters.
    #[command(flatten)]
    pub scope: QueueWorkerArgs,
    /// How many jobs, in all and per transaction.
    #[command(flatten)]
    pub batch: BatchArgs,
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
    /// Sample tables above this many rows; a figure may be estimated (within ±25% at 95%) above a tenth of it
    #[arg(long, value_name = "N", value_parser = positive_count, allow_hyphen_values = true)]
    pub estimate_above: Option<u64>,
    /// Seed the samples, so that a pass on an unchanged table gives the same estimates (each pass draws a new seed without it)
    #[arg(long, value_name = "S")]
    pub seed: Option<i64>,
    /// Time a pass may spend sampling more or counting exactly before a figure is reported unknown
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub budget: Option<Duration>,
    /// Executing longer than this counts as stuck
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
    /// Cancel any single statement running longer than this
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub statement_timeout: Option<Duration>,
    /// Serve /metrics (Prometheus text) and /healthz on ADDR until Ctrl-C, e.g. 127.0.0.1:9187
    #[arg(long, value_name = "ADDR", conflicts_with = "watch")]
    pub listen: Option<std::net::SocketAddr>,
    /// With --listen: reuse a result younger than this, so a burst of scrapers cannot load the database
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true, requires = "listen")]
    pub min_interval: Option<Duration>,
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
    /// Create oban_jobs partitioned (LIST by state, final states by day, oban-py's columns) with leaves for today and the next two days (PostgreSQL; where there is no oban_jobs yet, or with --from)
    #[arg(long)]
    pub partitioned: bool,
    /// With --partitioned: move the jobs of the ordinary oban-py oban_jobs in this schema into the partitioned layout (made in --prefix) while workers run: in batches, open jobs last, then one short lock for what changed meanwhile; the old table is kept as oban_jobs_unpartitioned. Stopped at any point, the same command resumes
    #[arg(long, value_name = "SCHEMA", requires = "partitioned")]
    pub from: Option<String>,
    /// With --from: most rows copied in one transaction
    #[arg(long, value_name = "N", requires = "from", value_parser = positive_count, allow_hyphen_values = true)]
    pub batch_size: Option<u64>,
    /// With --from: stop after this many batches, before the switch (the next run resumes)
    #[arg(long, value_name = "N", requires = "from", value_parser = positive_count, allow_hyphen_values = true)]
    pub max_batches: Option<u64>,
    /// With --from: most recorded changes the switch copies under its lock; with more it refuses and changes nothing
    #[arg(long, value_name = "N", requires = "from", value_parser = positive_count, allow_hyphen_values = true)]
    pub max_switch_rows: Option<u64>,
    #[command(flatten)]
    pub session: SessionArgs,
}

/// Arguments of `oban seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many jobs to insert
    #[arg(long, value_name = "N", default_value_t = defaults::SEED_JOBS, value_parser = positive_count, allow_hyphen_values = true)]
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
    #[arg(long, value_name = "N", default_value_t = defaults::DEMO_JOBS, value_parser = positive_count, allow_hyphen_values = true)]
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

/// Arguments of `oban partitions`.
#[derive(Debug, Clone, Default, Args)]
pub struct PartitionsArgs {
    /// Make sure each final state partitioned by day has a leaf for every day this far ahead, today included (rounded up to whole days)
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub premake: Option<Duration>,
    /// List the leaves that would be created, and create none
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub session: SessionArgs,
}
