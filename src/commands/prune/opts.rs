//! What a prune pass needs, resolved once from flags, environment, oban.toml and defaults.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{PruneArgs, ThrottleArgs};
use crate::config::Settings;
use crate::db::{JobFilter, SessionLimits};
use crate::defaults;
use crate::dsn::Dsn;
use crate::model::retention::Rule;
use crate::model::FinalState;

/// Everything a prune pass needs, resolved from flags, environment, file and defaults.
#[derive(Debug, Clone)]
pub struct PruneOpts {
    /// The states to prune and the age after which each goes, in visiting order.
    pub ages: Vec<(FinalState, Duration)>,
    /// Retention rules, in order (first match wins): `--rule` flags, else the config file's.
    pub rules: Vec<Rule>,
    /// Queue and worker filters.
    pub filter: JobFilter,
    /// Most rows per pass.
    pub limit: u64,
    /// Most rows per transaction.
    pub batch_size: u64,
    /// Sleep between batches.
    pub pause: Duration,
    /// Stop starting new batches after this long.
    pub max_runtime: Option<Duration>,
    /// Count only.
    pub dry_run: bool,
    /// Archive file for deleted rows.
    pub archive: Option<PathBuf>,
    /// Session timeouts.
    pub limits: SessionLimits,
    /// Replica, slot and WAL-rate throttles (PostgreSQL).
    pub throttle: ThrottleArgs,
    /// `--vacuum`: vacuum after a pass that deleted more than this many rows.
    pub vacuum_after: Option<u64>,
    /// With `--connections 2` on PostgreSQL: the database for the second connection, which
    /// drains newest-eligible-first while the first drains oldest-first.
    pub second_connection: Option<Dsn>,
}

impl PruneOpts {
    /// Resolves and checks the flags; every error here is a usage error (exit 2).
    pub fn resolve(args: &PruneArgs, settings: &Settings) -> Result<PruneOpts> {
        let base = args.max_age.unwrap_or(settings.pruner.max_age);
        let states = if args.state.is_empty() {
            defaults::PRUNE_STATES.to_vec()
        } else {
            FinalState::ALL
                .into_iter()
                .filter(|s| args.state.contains(s))
                .collect()
        };
        let ages = states
            .into_iter()
            .map(|s| {
                let own = match s {
                    FinalState::Completed => args.completed_max_age,
                    FinalState::Cancelled => args.cancelled_max_age,
                    FinalState::Discarded => args.discarded_max_age,
                };
                (s, own.unwrap_or(base))
            })
            .collect();
        let (limit, batch_size) = args
            .batch
            .resolve(settings.pruner.limit, defaults::PRUNE_BATCH_SIZE);
        let sqlite = settings
            .dsn
            .as_ref()
            .is_some_and(|d| d.backend == crate::dsn::Backend::Sqlite);
        let throttle = args.throttle.or(&settings.pruner.throttle);
        if sqlite && throttle.any() {
            return Err(crate::error::usage(
                "--max-replica-lag, --max-slot-lag and --max-wal-rate ([pruner] max_replica_lag, \
                 max_slot_lag, max_wal_rate): SQLite has no standbys, slots or WAL to throttle on \
                 (PostgreSQL only)",
            ));
        }
        if sqlite && args.connections.is_some_and(|n| n > 1) {
            return Err(crate::error::usage(
                "--connections: SQLite has one writer at a time; a second connection would only wait",
            ));
        }
        let rules = if args.rule.is_empty() {
            settings.retention.clone()
        } else {
            crate::config::rules::from_flags(&args.rule)?
        };
        Ok(PruneOpts {
            ages,
            rules,
            filter: crate::commands::job_filter(&args.scope)?,
            limit,
            batch_size,
            pause: args.pause.unwrap_or(defaults::PRUNE_PAUSE),
            max_runtime: args.max_runtime,
            dry_run: args.dry_run,
            archive: args.archive.clone(),
            limits: crate::commands::session_limits(&args.session),
            throttle,
            vacuum_after: args
                .vacuum
                .then(|| args.vacuum_after.unwrap_or(defaults::PRUNE_VACUUM_AFTER)),
            second_connection: match args.connections.unwrap_or(defaults::PRUNE_CONNECTIONS) {
                2 => settings
                    .dsn
                    .clone()
                    .filter(|dsn| dsn.backend == crate::dsn::Backend::Postgres),
                _ => None,
            },
        })
    }
}
