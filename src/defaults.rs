//! Every built-in default, once. Resolution (`config`), the commands and `--help`
//! (`cli::command`) all read these constants; nothing else writes a default value down.
//!
//! The pruner and lifeline values are oban-py's, so that a file both tools read means the same
//! thing to each.

use std::time::Duration;

use crate::model::{FinalState, OnExhausted, SortKey};
use crate::output::Format;

/// The config file read when `-c/--config` is not given, and only when it exists.
pub const CONFIG_FILE: &str = "oban.toml";
/// Schema holding the Oban tables (Oban's prefix) when neither flag, environment nor file says.
pub const PREFIX: &str = "public";
/// Output format when `-o/--format` is not given.
pub const FORMAT: Format = Format::Table;
/// Seconds libpq waits to connect when the DSN and `PGCONNECT_TIMEOUT` name no
/// `connect_timeout` (libpq alone would wait for as long as the network keeps the attempt open).
pub const CONNECT_TIMEOUT_SECS: u64 = 10;

/// `[pruner] max_age`: final jobs older than this are pruned (oban-py: 1 day).
pub const PRUNE_MAX_AGE: Duration = Duration::from_secs(86_400);
/// `[pruner] limit`: rows deleted in one prune pass (oban-py: 20,000).
pub const PRUNE_LIMIT: u64 = 20_000;
/// `[pruner] interval`: time between prune passes with `--watch` (oban-py: 60 s).
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Rows deleted in one prune transaction (`prune --batch-size`).
pub const PRUNE_BATCH_SIZE: u64 = 10_000;
/// Sleep between prune batches (`prune --pause`).
pub const PRUNE_PAUSE: Duration = Duration::ZERO;
/// Connections deleting at once (`prune --connections`).
pub const PRUNE_CONNECTIONS: u8 = 1;
/// The final states pruned when `prune --state` is not given: all of them.
pub const PRUNE_STATES: [FinalState; 3] = FinalState::ALL;

/// `[lifeline] interval`: time between rescue passes with `--watch` (oban-py: 60 s).
pub const LIFELINE_INTERVAL: Duration = Duration::from_secs(60);
/// `[lifeline] rescue_after`: executing jobs attempted longer ago are orphans (oban-py: 300 s).
pub const RESCUE_AFTER: Duration = Duration::from_secs(300);
/// Jobs moved in one rescue pass (`rescue --limit`).
pub const RESCUE_LIMIT: u64 = 20_000;
/// Jobs moved in one rescue transaction (`rescue --batch-size`).
pub const RESCUE_BATCH_SIZE: u64 = 1_000;
/// `rescue --accurate`: a producer silent this long is gone (oban-py: 60 s).
pub const PRODUCER_TTL: Duration = Duration::from_secs(60);
/// What happens to an orphan with no attempts left (`rescue --on-exhausted`; oban-py discards).
pub const ON_EXHAUSTED: OnExhausted = OnExhausted::Discard;

/// PostgreSQL `lock_timeout` and SQLite busy timeout (`--lock-timeout`).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL `statement_timeout` (`--statement-timeout`).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Jobs listed by `inspect` (`inspect --limit`).
pub const INSPECT_LIMIT: u64 = 20;
/// Column the `inspect` list is sorted by (`inspect --sort`).
pub const INSPECT_SORT: SortKey = SortKey::Id;
/// Time between refreshes of `inspect --watch`.
pub const INSPECT_INTERVAL: Duration = Duration::from_secs(2);

/// Jobs changed in one run of `retry`, `cancel` or `delete` (`--limit`).
pub const ACTION_LIMIT: u64 = 1_000;
/// Jobs changed in one transaction of `retry`, `cancel` or `delete` (`--batch-size`).
pub const ACTION_BATCH_SIZE: u64 = 500;

/// `stats` samples tables above this many rows unless `--exact` (Oban's own metrics use
/// 50,000).
pub const STATS_ESTIMATE_ABOVE: u64 = 50_000;
/// Time a `stats` pass may spend sampling more or counting exactly what its first samples
/// could not place within ±25% (`--budget`).
pub const STATS_BUDGET: Duration = Duration::from_millis(250);
/// Time between passes of `stats --watch`: a live view, so a few seconds.
pub const STATS_INTERVAL: Duration = Duration::from_secs(5);
/// Targets worked on at once when there are several (`--parallel`).
pub const FLEET_PARALLEL: usize = 4;

/// `stats --listen` reuses a result younger than this (`--min-interval`): Prometheus scrapes
/// every 15–60 s, so two scrapers (or a retry) within 10 s share one pass.
pub const STATS_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// `doctor`: an index or table is bloated when this share of it is wasted (`--max-bloat`).
pub const DOCTOR_MAX_BLOAT: u8 = 50;
/// `doctor`: less waste than this is never reported, whatever its share (`--min-bloat`).
pub const DOCTOR_MIN_BLOAT: u64 = 8 << 20;
/// `doctor`: a transaction open longer than this holds back vacuum (`--max-transaction-age`).
pub const DOCTOR_MAX_TRANSACTION_AGE: Duration = Duration::from_secs(600);
/// `doctor`: a session idle in a transaction longer than this is reported (`--max-idle`).
pub const DOCTOR_MAX_IDLE: Duration = Duration::from_secs(60);
/// `doctor`: the oldest available job may wait this long (`--max-latency`).
pub const DOCTOR_MAX_LATENCY: Duration = Duration::from_secs(300);
/// `doctor`: dead tuples are reported when at least this many make up 20% of the table.
pub const DOCTOR_DEAD_MIN: i64 = 1_000;
/// `doctor`: the dead share of the table above which dead tuples are reported.
pub const DOCTOR_DEAD_SHARE: f64 = 0.2;
/// `doctor`: autovacuum should have run by now when its trigger was passed this long ago
/// and it has not.
pub const DOCTOR_VACUUM_LAG: Duration = Duration::from_secs(3600);
/// `doctor`: a queue table wants autovacuum at most at this scale factor (oban-py sets 0.02).
pub const DOCTOR_MAX_SCALE_FACTOR: f64 = 0.05;
/// Days ahead, today included, that a final state partitioned by day should have leaves for
/// (as the in-app plugin keeps them): `prune` warns and `doctor` checks.
pub const PARTITION_DAYS_AHEAD: u32 = 3;
/// `reindex` and `vacuum`: `statement_timeout` (a rebuild of a large index takes minutes).
pub const REBUILD_STATEMENT_TIMEOUT: Duration = Duration::from_secs(3600);
/// `prune --vacuum`: vacuum after a pass that deleted more rows than this
/// (`--vacuum-after`).
pub const PRUNE_VACUUM_AFTER: u64 = 10_000;

/// How long `pause` and `resume` wait for every producer to record the new state (`--wait`).
pub const SIGNAL_WAIT: Duration = Duration::from_secs(5);
/// Time between refreshes of `queues --watch`.
pub const QUEUES_INTERVAL: Duration = Duration::from_secs(2);

/// Jobs inserted by `seed` (`seed --jobs`).
pub const SEED_JOBS: u64 = 10_000;
/// Jobs seeded by `demo` (`demo --jobs`).
pub const DEMO_JOBS: u64 = 20_000;

/// How far ahead `oban partitions` makes leaves, today included (`--premake`), as Oban Pro's
/// plugin does (today and the next two days).
pub const PARTITIONS_PREMAKE: Duration = Duration::from_secs(3 * 86_400);

/// `migrate --partitioned --from`: rows read from the old table per copy transaction.
pub const MOVE_BATCH_SIZE: u64 = 10_000;

/// `migrate --partitioned --from`: the most recorded changes the switch copies while it holds
/// the old table's lock; above it the switch refuses. Copying under the lock was measured at
/// about 30 µs a row (BENCHMARKS.md), so this bounds the switch's own work near 0.6 s.
pub const MOVE_MAX_SWITCH_ROWS: u64 = 20_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// `SortKey::default()` (model) is defined outside this module; it must say the same.
    #[test]
    fn other_defaults_agree() {
        assert_eq!(SortKey::default(), INSPECT_SORT);
    }
}
