//! The database layer: one seam per engine. Each engine (`pg`, `sqlite`) implements the
//! feature traits ([`Catalog`], [`Prune`], [`Rescue`], [`Jobs`], [`Search`], …) in its own folder, one file a
//! feature, so the compiler checks that both engines answer every question; [`Db`] holds a
//! connection to either and hands it out as one [`Engine`]. Every SQL statement lives under
//! `db/`, builds its values through [`sql::Sql`] and returns plain structs; nothing here imports
//! the command line or the commands.

pub mod catalog;
pub mod doctor;
pub mod errors;
pub mod find;
pub mod jobs;
pub mod lock;
pub mod migrations;
pub mod partitions;
pub mod pg;
pub mod prune;
pub mod rescue;
pub mod sql;
pub mod sqlite;
pub mod stats;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

pub use self::catalog::{BoolValue, Catalog, CountValue, QueueStateCount, Schema, TextValue};
pub use self::doctor::Doctor;
pub use self::find::Search;
pub use self::jobs::{
    ActedJob, Change, Job, JobAction, JobJson, JobQuery, JobRef, JobStateRow, Jobs,
};
pub use self::migrations::Migrate;
pub use self::partitions::{Layout, Leaf, Partitions};
pub use self::prune::{
    Batch, Cursor, Deleted, DeletedRow, End, JobFilter, Mark, Plan, Prune, Sink, Target, Targets,
};
pub use self::rescue::{Orphans, Rescue, RescueRule, RescuedJob};
pub use self::stats::Stats;
use crate::dsn::{Backend, Dsn};
pub use crate::model::Flavour;

/// Everything an engine answers: the feature traits together.
pub trait Engine:
    Catalog + Prune + Rescue + Jobs + Search + Migrate + Stats + Doctor + Partitions
{
}

impl<T: Catalog + Prune + Rescue + Jobs + Search + Migrate + Stats + Doctor + Partitions> Engine
    for T
{
}

/// A live connection to one of the supported engines.
pub enum Db {
    /// PostgreSQL.
    Pg(pg::Pg),
    /// SQLite (Oban Lite).
    Sqlite(sqlite::Lite),
}

impl Deref for Db {
    type Target = dyn Engine;

    fn deref(&self) -> &Self::Target {
        match self {
            Db::Pg(c) => c,
            Db::Sqlite(c) => c,
        }
    }
}

impl DerefMut for Db {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Db::Pg(c) => c,
            Db::Sqlite(c) => c,
        }
    }
}

/// Session limits applied to every maintenance connection.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// PostgreSQL `lock_timeout`; SQLite busy timeout.
    pub lock_timeout: Duration,
    /// PostgreSQL `statement_timeout` and `idle_in_transaction_session_timeout`.
    pub statement_timeout: Duration,
}

/// Quotes an identifier for PostgreSQL. Prefixes are validated before they get here; quoting
/// anyway means a validation slip can never become SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Db {
    /// The PostgreSQL connection, for what only PostgreSQL has (replication figures).
    pub fn postgres(&mut self) -> Option<&mut pg::Pg> {
        match self {
            Db::Pg(c) => Some(c),
            Db::Sqlite(_) => None,
        }
    }

    /// Connects and applies the session limits. For SQLite, `create` allows a missing file to be
    /// created (migrate, demo); otherwise a missing file is an error rather than a new empty
    /// database.
    pub fn connect(dsn: &Dsn, limits: SessionLimits, create: bool) -> Result<Db> {
        match dsn.backend {
            Backend::Postgres => Ok(Db::Pg(pg::connect(dsn, limits)?)),
            Backend::Sqlite => Ok(Db::Sqlite(sqlite::connect(dsn, limits, create)?)),
        }
    }

    /// Finds `oban_jobs` under the prefix and classifies it, or explains what is missing.
    pub fn schema(&mut self, prefix: &str) -> Result<Schema> {
        let found = self.detect(prefix).context("reading the catalog")?;
        found.ok_or_else(|| anyhow!(self.missing_table(prefix)))
    }

    /// The database clock minus `age`, as the engine's timestamp text.
    pub fn cutoff(&mut self, age: Duration) -> Result<String> {
        let mut all = self
            .cutoffs(&[age.as_secs_f64()])
            .context("reading the database clock")?;
        Ok(all.pop().unwrap_or_default())
    }

    /// The database clock minus each age, from one reading of the clock.
    pub fn cutoffs_of(&mut self, ages: &[Duration]) -> Result<Vec<String>> {
        let secs: Vec<f64> = ages.iter().map(Duration::as_secs_f64).collect();
        self.cutoffs(&secs).context("reading the database clock")
    }

    /// Jobs matching a query, full rows; never writes.
    pub fn find_jobs(&mut self, schema: &Schema, query: &JobQuery) -> Result<Vec<Job>> {
        let rows = self.job_rows(schema, query).context("listing jobs")?;
        rows.into_iter()
            .map(|r| {
                let mut job: Job = serde_json::from_str(&r.json)
                    .with_context(|| format!("reading a job row: {}", r.json))?;
                job.age = r.age;
                Ok(job)
            })
            .collect()
    }
}
