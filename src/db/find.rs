//! Finding jobs by what went wrong, for incidents: the filters `--error`, `--meta`,
//! `--priority` and `--id-range` (each engine turns [`Find`] into conditions beside the other
//! job filters), the distinct last-error lines with their counts (`inspect --group-by error`),
//! and whether a query has to scan the table because no index serves it.

use anyhow::Result;

use super::{JobQuery, Schema};

/// The find-by filters; each is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Find {
    /// The last recorded error contains this text (case-insensitive).
    pub error: Option<String>,
    /// `meta` contains this JSON object (canonical JSON text).
    pub meta: Option<String>,
    /// Only these priorities.
    pub priorities: Vec<i64>,
    /// Lowest id, inclusive.
    pub id_min: Option<i64>,
    /// Highest id, inclusive.
    pub id_max: Option<i64>,
}

impl Find {
    /// Whether any find-by filter is set.
    pub fn any(&self) -> bool {
        self.error.is_some()
            || self.meta.is_some()
            || !self.priorities.is_empty()
            || self.id_min.is_some()
            || self.id_max.is_some()
    }
}

/// Jobs whose last error names the same failure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, diesel::QueryableByName)]
pub struct ErrorGroup {
    /// The line that names the error: a Python traceback's last line, else the first line.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub error: String,
    /// Jobs whose last error it is.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub jobs: i64,
    /// Distinct workers among them.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub workers: i64,
    /// The newest such job, to read in full with `oban inspect ID`.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub example: i64,
}

/// The find-by statements, for one engine. Each reads in a read-only transaction (PostgreSQL)
/// and never writes.
pub trait Search {
    /// The distinct last-error lines among the jobs `query` matches, most jobs first, at most
    /// `query.limit` of them.
    fn error_groups(&mut self, schema: &Schema, query: &JobQuery) -> Result<Vec<ErrorGroup>>;

    /// Whether the engine's plan for `query` reads the whole jobs table (no index serves its
    /// filters). Planning only: nothing is executed.
    fn scans(&mut self, schema: &Schema, query: &JobQuery) -> Result<bool>;

    /// How many jobs `query` matches (its limit ignored); bounded by the statement timeout.
    fn count_jobs(&mut self, schema: &Schema, query: &JobQuery) -> Result<u64>;
}

/// One count.
#[derive(diesel::QueryableByName)]
pub struct Count {
    /// The count.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}
