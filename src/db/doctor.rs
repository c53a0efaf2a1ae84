//! What `oban doctor`, `oban reindex` and `oban vacuum` ask of an engine: plain facts about the
//! jobs table, its indexes, what holds back vacuum and the jobs themselves (judged ok / warn /
//! fail in `commands::doctor`, never here), and the maintenance statements that fix them.
//! A fact an engine does not have is `None` (SQLite has no autovacuum, no sessions, no slots).

use anyhow::Result;
use serde::Serialize;

use super::Schema;

/// Final jobs past `max_age` are counted up to this many per state.
pub const COUNT_CAP: i64 = 10_000;

/// How many jobs a condition holds and the age of the oldest, as both engines read it.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct AgeRow {
    /// Jobs.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
    /// Seconds since the oldest one's timestamp; None when there is none.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub age: Option<f64>,
}

/// What the checks need to know beyond the schema.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Executing longer than this many seconds is an orphan.
    pub rescue_after: f64,
    /// Final jobs older than this many seconds should have been pruned.
    pub max_age: f64,
    /// A producer silent for this many seconds is gone.
    pub producer_ttl: f64,
    /// Measure bloat with `pgstattuple` (when installed) instead of estimating it.
    pub exact: bool,
    /// Days, today included, that a final state partitioned by day should have leaves for.
    pub days_ahead: u32,
}

/// One index of the jobs table.
#[derive(Debug, Clone, Serialize)]
pub struct IndexFact {
    /// Its name.
    pub name: String,
    /// The table it is on: `oban_jobs`, or on a partitioned table one of its partitions.
    pub table: String,
    /// A partitioned index (on a partitioned table): it holds nothing itself, each partition
    /// below has its own index attached to it.
    pub partitioned: bool,
    /// `CREATE INDEX …` as the catalog gives it.
    pub definition: String,
    /// Key and included columns in order; `None` stands for an expression.
    pub columns: Vec<Option<String>>,
    /// The partial index's predicate.
    pub predicate: Option<String>,
    /// Access method (btree, gin, …).
    pub method: String,
    /// Usable by queries (false after a failed concurrent build).
    pub valid: bool,
    /// A backend is building it right now (CREATE INDEX / REINDEX CONCURRENTLY in progress).
    pub building_pid: Option<i32>,
    /// Bytes on disk.
    pub bytes: i64,
    /// Bytes it would take freshly built, estimated from the statistics or measured; `None`
    /// when it cannot be told (no statistics yet, an expression, not a btree).
    pub expected_bytes: Option<i64>,
    /// Whether `expected_bytes` was measured (pgstattuple) rather than estimated.
    pub measured: bool,
    /// On a partitioned table: the partitioned indexes this one is attached to, nearest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<String>,
}

/// The jobs table's heap, its statistics and its vacuum settings.
#[derive(Debug, Clone, Serialize)]
pub struct TableFact {
    /// The table: `oban_jobs`, or on a partitioned table one of its leaves.
    pub name: String,
    /// Heap bytes.
    pub bytes: i64,
    /// Heap bytes freshly packed, estimated or measured; `None` when unknown.
    pub expected_bytes: Option<i64>,
    /// Whether `expected_bytes` was measured (pgstattuple).
    pub measured: bool,
    /// Live tuples (statistics).
    pub live: i64,
    /// Dead tuples (statistics).
    pub dead: i64,
    /// Rows changed since the last analyze.
    pub modified: i64,
    /// Seconds since the last vacuum of either kind; `None`: never.
    pub vacuumed_ago: Option<f64>,
    /// Seconds since the last analyze of either kind; `None`: never.
    pub analyzed_ago: Option<f64>,
    /// Dead tuples that make autovacuum vacuum the table (threshold + scale × rows).
    pub vacuum_trigger: f64,
    /// Changed rows that make autovacuum analyze it.
    pub analyze_trigger: f64,
    /// Effective `autovacuum_vacuum_scale_factor` (table option, else the server's).
    pub vacuum_scale_factor: f64,
    /// Autovacuum is not switched off for this table (`autovacuum_enabled`).
    pub autovacuum: bool,
    /// Autovacuum is on for the server.
    pub server_autovacuum: bool,
    /// The table's storage options as set (`fillfactor=85`, …).
    pub options: Vec<String>,
}

/// A session that holds back vacuum.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Backend pid.
    pub pid: i32,
    /// Role.
    pub user: Option<String>,
    /// `application_name`.
    pub application: Option<String>,
    /// Client address (`local` for a socket).
    pub client: Option<String>,
    /// `active`, `idle in transaction`, …
    pub state: Option<String>,
    /// Seconds since its transaction began.
    pub xact_age: f64,
    /// Seconds since its state last changed (idle that long).
    pub state_age: f64,
    /// Its current or last statement, clipped.
    pub query: Option<String>,
}

/// A replication slot.
#[derive(Debug, Clone, Serialize)]
pub struct Slot {
    /// Slot name.
    pub name: String,
    /// `physical` or `logical`.
    pub kind: String,
    /// A consumer is connected.
    pub active: bool,
    /// WAL bytes it keeps from being recycled.
    pub retained_wal: Option<i64>,
    /// Age in transactions of the horizon it holds (xmin or catalog_xmin).
    pub xmin_age: Option<i64>,
}

/// A prepared (two-phase) transaction.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    /// Its global id.
    pub gid: String,
    /// Who prepared it.
    pub owner: String,
    /// Seconds since it was prepared.
    pub age: f64,
}

/// What holds back vacuum on the server (PostgreSQL).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Holders {
    /// Transactions in this database, oldest first (this session left out).
    pub transactions: Vec<Session>,
    /// Replication slots of this database or of none (physical).
    pub slots: Vec<Slot>,
    /// Prepared transactions of this database.
    pub prepared: Vec<Prepared>,
}

/// A producer row (oban-py).
#[derive(Debug, Clone, Serialize)]
pub struct ProducerFact {
    /// Node.
    pub node: String,
    /// Queue.
    pub queue: String,
    /// Its uuid.
    pub uuid: String,
    /// Seconds since its last heartbeat.
    pub silent: f64,
}

/// Figures about the jobs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobFacts {
    /// Executing longer than `rescue_after`.
    pub orphans: i64,
    /// Seconds the oldest orphan has run.
    pub oldest_orphan: Option<f64>,
    /// Seconds the oldest available job has waited.
    pub oldest_available: Option<f64>,
    /// Final jobs older than `max_age`, per state.
    pub unpruned: Vec<(String, i64)>,
    /// Producers silent for longer than the producer TTL (oban-py).
    pub stale_producers: Option<Vec<ProducerFact>>,
    /// Leader rows whose lease ran out: (node, seconds since).
    pub stale_leaders: Option<Vec<(String, f64)>>,
}

/// SQLite's own health figures.
#[derive(Debug, Clone, Serialize)]
pub struct LiteFacts {
    /// `PRAGMA quick_check` (or `integrity_check` with `--exact`): `ok` or the problems.
    pub integrity: Vec<String>,
    /// Pages on the freelist.
    pub freelist_pages: i64,
    /// Pages in the file.
    pub page_count: i64,
    /// Bytes per page.
    pub page_size: i64,
}

/// A DEFAULT partition of a partitioned `oban_jobs`.
#[derive(Debug, Clone, Serialize)]
pub struct DefaultFact {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its parent's name (same schema).
    pub parent: String,
    /// Rows in it, counted up to `COUNT_CAP`.
    pub rows: i64,
    /// The UTC days (`YYYY-MM-DD`) its rows fall on, by its parent's range key, when the
    /// parent is ranged on one timestamp column; at most 31.
    pub days: Vec<String>,
}

/// What a partitioned `oban_jobs` adds (its tree itself is `Schema::partitions`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionFacts {
    /// Today and the coming days on the database clock (UTC, `YYYY-MM-DD`), today first.
    pub days: Vec<String>,
    /// Its DEFAULT partitions, at any level.
    pub defaults: Vec<DefaultFact>,
}

/// Everything doctor reads, in one pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    /// The jobs table's indexes, valid or not; on a partitioned table those of every table
    /// in its tree.
    pub indexes: Vec<IndexFact>,
    /// The heap (PostgreSQL; not on a partitioned table, whose rows are in its leaves).
    pub table: Option<TableFact>,
    /// On a partitioned table, each leaf's heap (autovacuum works on leaves, never on the
    /// partitioned parent).
    pub leaves: Vec<TableFact>,
    /// On a partitioned table, the days ahead and its DEFAULT partitions.
    pub partitions: Option<PartitionFacts>,
    /// What holds back vacuum (PostgreSQL).
    pub holders: Option<Holders>,
    /// The jobs.
    pub jobs: JobFacts,
    /// SQLite's file health.
    pub lite: Option<LiteFacts>,
    /// `pgstattuple` was asked for but is not installed.
    pub exact_unavailable: bool,
}

/// Where a long maintenance statement stands, from the server's progress views.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The phase, in the server's words.
    pub phase: String,
    /// Units done.
    pub done: i64,
    /// Units in all (0 when not known).
    pub total: i64,
}

/// What doctor, reindex and vacuum ask of an engine.
pub trait Doctor {
    /// Reads every fact doctor judges, read-only.
    fn doctor_facts(&mut self, schema: &Schema, probe: &Probe) -> Result<Facts>;
    /// The jobs table's indexes with their sizes, and their expected sizes when `estimate`
    /// (measured with pgstattuple when `exact` and it is installed).
    fn index_facts(
        &mut self,
        schema: &Schema,
        estimate: bool,
        exact: bool,
    ) -> Result<Vec<IndexFact>>;
    /// Rebuilds one index online (`REINDEX INDEX CONCURRENTLY`; SQLite: `REINDEX`).
    fn reindex_index(&mut self, schema: &Schema, name: &str) -> Result<()>;
    /// Drops one index online (`DROP INDEX CONCURRENTLY IF EXISTS`).
    fn drop_index(&mut self, schema: &Schema, name: &str) -> Result<()>;
    /// `VACUUM (ANALYZE)` on the jobs table (SQLite: `VACUUM` of the file, then `ANALYZE`).
    fn vacuum_jobs(&mut self, schema: &Schema) -> Result<()>;
    /// Bytes of the jobs table and its indexes (SQLite: the file's size).
    fn jobs_bytes(&mut self, schema: &Schema) -> Result<i64>;
    /// Sends this session's table statistics now rather than within the next second, so that
    /// a vacuum on another connection is not followed by this session's older dead-row counts.
    fn flush_stats(&mut self) -> Result<()> {
        Ok(())
    }
    /// This connection's server process, for progress read from another connection.
    fn backend_pid(&mut self) -> Result<Option<i32>> {
        Ok(None)
    }
    /// Progress of the index build (`index`) or vacuum (`!index`) run by `pid`.
    fn progress_of(&mut self, _pid: i32, _index: bool) -> Result<Option<Progress>> {
        Ok(None)
    }
}
