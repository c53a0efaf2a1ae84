//! What prune asks of an engine: count and delete final-state rows older than their cutoffs,
//! one bounded batch at a time.

use anyhow::Result;

use super::sql::{Dialect, Sql};
use super::Schema;
use crate::model::retention::{RuleMatch, WorkerPattern};
use crate::model::{FinalState, JobState};

/// One final state a prune pass takes, and which of its rows: those whose timestamp is older
/// than `cutoff` (database clock text), and, with `below_id`, also those at exactly `cutoff`
/// whose id is lower (a keep_last rule's mark: the newest rows, ties by id, stay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The state.
    pub state: FinalState,
    /// Rows older than this go.
    pub cutoff: String,
    /// Rows at exactly `cutoff` with a lower id go too.
    pub below_id: Option<i64>,
}

impl Target {
    /// A state whose rows older than `cutoff` go.
    pub fn older(state: FinalState, cutoff: String) -> Target {
        Target {
            state,
            cutoff,
            below_id: None,
        }
    }
}

/// What a prune pass takes: each final state with its cutoff.
pub type Targets = [Target];

/// Filters shared by maintenance commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only these queues (empty: all).
    pub queues: Vec<String>,
    /// Only these workers (empty: all).
    pub workers: Vec<String>,
    /// Only jobs this retention rule matches (prune).
    pub rule: Option<RuleMatch>,
    /// Not jobs these retention rules match: the earlier rules, which win (prune).
    pub unless: Vec<RuleMatch>,
}

impl JobFilter {
    /// ` AND queue IN (…) AND worker IN (…)` for the filters in use (`alias` with its dot),
    /// and a retention rule's match and the earlier rules' non-match, the values bound into
    /// `sql`.
    pub fn sql<DB: Dialect>(&self, sql: &mut Sql<DB>, alias: &str) -> String {
        let mut text = String::new();
        for (column, values) in [("queue", &self.queues), ("worker", &self.workers)] {
            if !values.is_empty() {
                text.push_str(" AND ");
                text.push_str(&sql.in_list(&format!("{alias}{column}"), values));
            }
        }
        if let Some(rule) = &self.rule {
            text.push_str(&format!(" AND {}", rule_sql(rule, sql, alias)));
        }
        for earlier in &self.unless {
            text.push_str(&format!(" AND NOT {}", rule_sql(earlier, sql, alias)));
        }
        text
    }
}

/// `(queue = $1 AND worker LIKE $2 AND CAST(state AS text) IN ('completed'))` for what the
/// rule names, `(1 = 1)` when it names nothing. Queue, worker and state are never null.
fn rule_sql<DB: Dialect>(rule: &RuleMatch, sql: &mut Sql<DB>, alias: &str) -> String {
    let mut parts = vec!["1 = 1".to_string()];
    if let Some(queue) = &rule.queue {
        parts.push(format!("{alias}queue = {}", sql.bind(queue)));
    }
    match &rule.worker {
        Some(WorkerPattern::Exact(w)) => parts.push(format!("{alias}worker = {}", sql.bind(w))),
        Some(WorkerPattern::Glob(g)) => parts.push(sql.glob(&format!("{alias}worker"), g)),
        None => {}
    }
    if !rule.states.is_empty() {
        // Literals of our own vocabulary; text, so a state the table's enum lacks is no error.
        let names: Vec<String> = rule
            .states
            .iter()
            .map(|s| format!("'{}'", s.name()))
            .collect();
        parts.push(format!(
            "CAST({alias}state AS text) IN ({})",
            names.join(", ")
        ));
    }
    format!("({})", parts.join(" AND "))
}

/// A row taken out by a prune batch.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct DeletedRow {
    /// The job's id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The job's state, for per-state totals.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: JobState,
    /// The job's queue, for per-queue totals.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// Where the batch's candidates began, the same on every row of a batch (PostgreSQL's
    /// index walk): every eligible row further from the drain's end was a candidate before, so
    /// the next batch may start here. Before `row`: the derive names its row `row` too, so a
    /// field of that name must come last.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub at: Option<String>,
    /// The whole row as a JSON object, when archiving.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub row: Option<String>,
}

/// What one batch deleted: its rows where the statement returned them one by one, else how
/// many of each state and queue (a heap walk that does not archive).
#[derive(Debug, Default)]
pub struct Deleted {
    /// Each row (archiving, the index walk whose cursor reads them, SQLite).
    pub rows: Vec<DeletedRow>,
    /// Rows counted by state and queue on the server, not returned one by one.
    pub counted: Vec<PrunableCount>,
    /// A heap walk's batch: the block of its last row, where a full batch's range goes on.
    pub last_block: Option<u64>,
}

impl Deleted {
    /// How many rows the batch deleted.
    pub fn total(&self) -> u64 {
        self.cells().map(|(_, _, n)| n).sum()
    }

    /// Rows by state and queue.
    pub fn cells(&self) -> impl Iterator<Item = (JobState, &str, u64)> + '_ {
        let rows = self.rows.iter().map(|r| (r.state, r.queue.as_str(), 1));
        let counted = self
            .counted
            .iter()
            .map(|c| (c.state, c.queue.as_str(), c.count.max(0) as u64));
        rows.chain(counted)
    }
}

impl From<Vec<DeletedRow>> for Deleted {
    fn from(rows: Vec<DeletedRow>) -> Self {
        Deleted {
            rows,
            ..Deleted::default()
        }
    }
}

/// How many rows of one state and queue a pass would take.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct PrunableCount {
    /// The final state.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: JobState,
    /// The queue.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub queue: String,
    /// Rows.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
}

/// Where a keep_last rule's kept jobs begin: the oldest kept job's timestamp (database clock
/// text, as a cutoff) and id.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct Mark {
    /// Its final-state timestamp.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub at: String,
    /// Its id.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
}

/// Which end of the eligible range a drain takes its batches from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Oldest first: rows that sit together on disk go in the same batch.
    Oldest,
    /// Newest eligible first, for a second connection draining towards the first.
    Newest,
}

/// Where a drain stands: the end it takes from and how far it has come. An engine may use the
/// position to resume instead of scanning from the start (SQLite walks by id: a row below the
/// highest id deleted was not eligible then and cannot have become so, the cutoffs being fixed
/// for the pass; PostgreSQL's index walk resumes at the timestamp it reached, so a filtered
/// pass does not read again, batch after batch, the older rows its filters leave).
#[derive(Debug, Clone)]
pub struct Cursor {
    /// The end batches come from.
    pub end: End,
    after_id: i64,
    /// Where the last batch's candidates began (see [`DeletedRow::at`]).
    reached: Option<String>,
    /// The heap blocks `[from, to)` this batch walks, when the pass walks the heap.
    blocks: Option<(u64, u64)>,
}

impl Cursor {
    /// A drain from `end` that has deleted nothing yet.
    pub fn new(end: End) -> Cursor {
        Cursor {
            end,
            after_id: 0,
            reached: None,
            blocks: None,
        }
    }

    /// A batch that takes the eligible rows of heap blocks `[from, to)`, in physical order.
    pub fn blocks(from: u64, to: u64) -> Cursor {
        Cursor {
            end: End::Oldest,
            after_id: 0,
            reached: None,
            blocks: Some((from, to)),
        }
    }

    /// The heap blocks this batch walks, if it walks the heap.
    pub fn walked(&self) -> Option<(u64, u64)> {
        self.blocks
    }

    /// The highest id deleted so far.
    pub fn after_id(&self) -> i64 {
        self.after_id
    }

    /// Where the last batch's candidates began, if the engine reports it: no eligible row is
    /// further from the drain's end (apart from rows that were candidates and stayed, held by
    /// other sessions).
    pub fn reached(&self) -> Option<&str> {
        self.reached.as_deref()
    }

    /// Moves past the rows a batch deleted.
    pub fn advance(&mut self, rows: &[DeletedRow]) {
        self.after_id = rows.iter().map(|r| r.id).fold(self.after_id, i64::max);
        if let Some(at) = rows.first().and_then(|r| r.at.clone()) {
            self.reached = Some(at);
        }
    }
}

/// One batch: what it may take and how big it may be.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// The table.
    pub schema: &'a Schema,
    /// Each state with its cutoff.
    pub targets: &'a Targets,
    /// Queue and worker filters.
    pub filter: &'a JobFilter,
    /// Most rows in the batch.
    pub size: u64,
    /// Return each row as JSON, for the archive.
    pub archive: bool,
    /// Where the drain stands (a count ignores it).
    pub cursor: Cursor,
}

/// How a pass should find its rows, decided once per pass from the planner's statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    /// Nothing is eligible: the pass has nothing to do.
    Nothing,
    /// Batches read the oldest eligible rows from the timestamp indexes.
    Index,
    /// Batches walk the heap in physical order, block range by block range: for a backlog,
    /// where most of the heap is eligible, or a state with no timestamp index.
    Walk {
        /// Heap blocks at the start of the pass; rows in blocks added later are newer jobs.
        blocks: u64,
        /// Eligible rows per block, as estimated (sizes the first block ranges).
        density: f64,
    },
}

/// Sees a batch's rows before it commits, and can veto the commit by failing (the archive).
pub type Sink<'a> = dyn FnMut(&[DeletedRow]) -> Result<()> + 'a;

/// Prune's statements, for one engine.
pub trait Prune {
    /// What a pass of `batch.size` rows would take, by state and queue: the same selection
    /// the delete makes, without locking.
    fn count_prunable(&mut self, batch: &Batch) -> Result<Vec<PrunableCount>>;

    /// How many rows are eligible in all, however many passes they take (exact: one count per
    /// state, through its timestamp index where there is one).
    fn count_eligible(&mut self, batch: &Batch) -> Result<u64>;

    /// Deletes one batch from the cursor's end (or its heap blocks) in its own transaction,
    /// skipping rows others hold locked; `sink` (the archive) sees the rows before commit and
    /// can veto it by failing.
    fn delete_batch(&mut self, batch: &Batch, sink: &mut Sink) -> Result<Deleted>;

    /// The `(timestamp, id)` of the `n`-th newest job (`n` ≥ 1) in `states` that `filter`
    /// takes, by each job's own final-state timestamp, ties by id; `None` when there are fewer.
    /// A keep_last rule keeps that job and the newer ones.
    fn keep_mark(
        &mut self,
        schema: &Schema,
        states: &[FinalState],
        filter: &JobFilter,
        n: u64,
    ) -> Result<Option<Mark>>;

    /// How the pass `whole` (its targets, filters and batch size) should find its rows. An
    /// engine that cannot walk its heap answers [`Plan::Index`].
    fn plan(&mut self, whole: &Batch) -> Result<Plan> {
        let _ = whole;
        Ok(Plan::Index)
    }
}
