//! The arguments of `oban doctor`, `oban reindex` and `oban vacuum`.

use std::time::Duration;

use clap::Args;

use super::values::{duration, percent, positive_duration, size_or_zero};
use super::SessionArgs;

/// How bloat is judged, shared by `doctor` and `reindex --bloated-only`.
#[derive(Debug, Clone, Default, Args)]
pub struct BloatArgs {
    /// An index or the table is bloated when this share of it (percent) is wasted space
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub max_bloat: Option<u8>,
    /// Never report less wasted space than this (0, 512kB, 8MB, 1GB)
    #[arg(long, value_name = "SIZE", value_parser = size_or_zero)]
    pub min_bloat: Option<u64>,
    /// Measure bloat with the pgstattuple extension (when installed) instead of estimating it from the statistics; SQLite: integrity_check instead of quick_check
    #[arg(long)]
    pub exact: bool,
}

/// Arguments of `oban doctor`.
#[derive(Debug, Clone, Default, Args)]
pub struct DoctorArgs {
    /// Bloat thresholds.
    #[command(flatten)]
    pub bloat: BloatArgs,
    /// Executing jobs attempted longer ago than this are orphans
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub rescue_after: Option<Duration>,
    /// Final jobs older than this should have been pruned
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_age: Option<Duration>,
    /// Warn about a transaction open longer than this (it holds back vacuum)
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_transaction_age: Option<Duration>,
    /// Warn about a session idle in a transaction longer than this
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_idle: Option<Duration>,
    /// Warn when the oldest available job has waited longer than this
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub max_latency: Option<Duration>,
    /// Cancel any single statement running longer than this
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub statement_timeout: Option<Duration>,
}

/// Arguments of `oban reindex`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReindexArgs {
    /// Rebuild only this index (repeatable)
    #[arg(long, value_name = "NAME")]
    pub index: Vec<String>,
    /// Rebuild only the indexes doctor reports bloated
    #[arg(long, conflicts_with = "index")]
    pub bloated_only: bool,
    /// Bloat thresholds for --bloated-only.
    #[command(flatten)]
    pub bloat: BloatArgs,
    /// List what would be dropped and rebuilt, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
}

/// Arguments of `oban vacuum`.
#[derive(Debug, Clone, Default, Args)]
pub struct VacuumArgs {
    /// Session timeouts.
    #[command(flatten)]
    pub session: SessionArgs,
}
