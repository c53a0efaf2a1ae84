//! What every engine says about its catalog and clock: finding and classifying `oban_jobs`,
//! the database time, advisory locks, exact counts, and inserting test rows.

use anyhow::Result;

use crate::model::{FinalState, Flavour, JobState};

/// What was found in the database for the configured prefix.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The schema name (always `main` on SQLite, where prefixes do not exist).
    pub prefix: String,
    /// The table shape.
    pub flavour: Flavour,
    /// Whether `oban_producers` exists (oban-py).
    pub has_producers: bool,
    /// `oban_leaders` (oban-py) or `oban_peers` (Elixir), when present.
    pub leader_table: Option<String>,
    /// The planner's row count for `oban_jobs` (PostgreSQL, once analyzed).
    pub estimated_rows: Option<f64>,
    /// Final states whose timestamp an index serves (the partial indexes of oban-py, or
    /// Elixir's `(state, cancelled_at)` and `(state, discarded_at)`). Always empty on SQLite.
    pub indexed_final_states: Vec<FinalState>,
    /// Column names of `oban_jobs`, in table order.
    pub columns: Vec<String>,
    /// The states the table can hold: the labels of its state enum. Older Elixir tables lack
    /// some (before migration v14 `suspended`, before v9 `cancelled`), and naming a missing
    /// label in SQL is an error, so statements only name these.
    pub states: Vec<JobState>,
    /// The partition tree, when `oban_jobs` is a partitioned table.
    pub partitions: Option<super::partitions::Layout>,
}

impl Schema {
    /// Whether the table can hold jobs in `state`.
    pub fn has_state(&self, state: JobState) -> bool {
        self.states.contains(&state)
    }

    /// The names among `names` that the table can hold, keeping their order.
    pub fn existing_states<S: AsRef<str>>(&self, names: &[S]) -> Vec<String> {
        names
            .iter()
            .map(AsRef::as_ref)
            .filter(|n| JobState::parse(n).is_some_and(|s| self.has_state(s)))
            .map(String::from)
            .collect()
    }
}

/// Columns every Oban flavour has and this tool relies on.
pub const REQUIRED_COLUMNS: &str = "id state queue worker attempt max_attempts inserted_at \
     attempted_at completed_at cancelled_at discarded_at";

/// The required columns a table lacks.
pub fn missing_columns(columns: &[String]) -> Vec<&'static str> {
    REQUIRED_COLUMNS
        .split_whitespace()
        .filter(|c| !columns.iter().any(|have| have == c))
        .collect()
}

/// One cell of a queue × state count.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct QueueStateCount {
    /// Queue name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// State.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: crate::model::JobState,
    /// Jobs in that cell.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
}

/// A single text value, for small queries.
#[derive(Debug, diesel::QueryableByName)]
pub struct TextValue {
    /// The value.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub value: String,
}

/// A single boolean, for small queries.
#[derive(Debug, diesel::QueryableByName)]
pub struct BoolValue {
    /// The value.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub value: bool,
}

/// A single count, for small queries.
#[derive(Debug, diesel::QueryableByName)]
pub struct CountValue {
    /// The count.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// The catalog, the clock, locks and plain reads and inserts, for one engine.
pub trait Catalog {
    /// Finds `oban_jobs` under `prefix` and classifies it; `None` when there is none.
    fn detect(&mut self, prefix: &str) -> Result<Option<Schema>>;
    /// What to tell the user when `detect` found nothing.
    fn missing_table(&self, prefix: &str) -> String;
    /// The database clock minus each age in seconds, from one reading of the clock, as the
    /// engine's own timestamp text.
    fn cutoffs(&mut self, ages: &[f64]) -> Result<Vec<String>>;
    /// Tries the lock that keeps overlapping runs of one command apart; true when taken.
    /// Engines without one (SQLite serialises writers by its file lock) need none.
    fn try_lock(&mut self, _key: i64) -> Result<bool> {
        Ok(true)
    }
    /// Releases the lock `try_lock` took.
    fn unlock(&mut self, _key: i64) -> Result<()> {
        Ok(())
    }
    /// Exact counts by queue and state.
    fn counts(&mut self, schema: &Schema) -> Result<Vec<QueueStateCount>>;
    /// Whether the jobs table holds any row.
    fn has_jobs(&mut self, schema: &Schema) -> Result<bool>;
    /// Inserts jobs given as a JSON array (see `commands::seed`); times are offsets in
    /// seconds from the database clock.
    fn insert_jobs(&mut self, schema: &Schema, jobs_json: &str) -> Result<usize>;
    /// Records live producers (heartbeat now) from a JSON array of `{uuid, node, queue}`,
    /// where the schema has a producers table.
    fn insert_producers(&mut self, _schema: &Schema, _json: &str) -> Result<()> {
        Ok(())
    }
}
