//! A partitioned `oban_jobs` (Oban Pro's DynamicPartitioner layout: LIST by state, each final
//! state RANGE by day on its own timestamp): its leaves as the catalog describes them, which
//! leaves a prune may remove whole, and what an engine does to remove one.

use anyhow::{bail, Result};

use super::prune::DeletedRow;
use super::Schema;
use crate::model::{FinalState, JobState};

/// The comment put on a leaf before it is detached for pruning (followed by its state in
/// parentheses), so a pass that stopped between the detach and the drop is finished by the
/// next one.
pub const DETACHED_MARK: &str = "oban: detached for pruning";

/// A table an earlier prune detached and did not drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// The state it held, from its mark.
    pub state: Option<FinalState>,
}

/// The mark for a leaf of `state`.
pub fn detached_mark(state: FinalState) -> String {
    format!("{DETACHED_MARK} ({})", state.name())
}

/// The state a mark names.
pub fn marked_state(comment: &str) -> Option<FinalState> {
    let rest = comment.strip_prefix(DETACHED_MARK)?.trim();
    let name = rest.strip_prefix('(')?.strip_suffix(')')?;
    FinalState::parse(name)
}

/// A time range a leaf covers on one column, `[from, to)`; a missing end is MINVALUE/MAXVALUE.
/// Times are `YYYY-MM-DDTHH:MM:SS.ffffff`, the form cutoffs take, so they compare as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Range {
    /// The partition key column.
    pub column: String,
    /// Lower bound, inclusive.
    pub from: Option<String>,
    /// Upper bound, exclusive.
    pub to: Option<String>,
}

/// One table that holds rows (a leaf of the partition tree).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Leaf {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Its parent's schema.
    pub parent_schema: String,
    /// Its parent's name.
    pub parent: String,
    /// The states its rows can be in (every LIST bound on its path).
    pub states: Vec<JobState>,
    /// The time range it covers, when its parent is ranged on one timestamp column.
    pub range: Option<Range>,
    /// A `DETACH … CONCURRENTLY` that did not finish.
    pub detach_pending: bool,
    /// Its storage parameters (`fillfactor=85`, …), which new leaves beside it copy.
    pub options: Vec<String>,
    /// The DEFAULT partition of its parent: it holds what no other leaf's bound takes, so it
    /// covers no range of its own.
    pub default: bool,
}

impl Leaf {
    /// Whether every row it can hold is in `state` and older than `cutoff` by that state's own
    /// timestamp: such a leaf can go whole.
    pub fn wholly_older(&self, state: FinalState, cutoff: &str) -> bool {
        !self.default
            && self.states == [state.state()]
            && self.range.as_ref().is_some_and(|r| {
                r.column == state.column() && r.to.as_deref().is_some_and(|to| to <= cutoff)
            })
    }

    /// The single final state it holds, if it holds one.
    pub fn final_state(&self) -> Option<FinalState> {
        match self.states[..] {
            [s] => s.as_final(),
            _ => None,
        }
    }
}

/// The partition tree of a partitioned `oban_jobs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Every leaf, ordered by parent then range.
    pub leaves: Vec<Leaf>,
    /// Tables a pass detached for pruning and did not drop.
    pub detached: Vec<Detached>,
}

impl Layout {
    /// The leaves of `state` that are wholly older than `cutoff`, oldest first.
    pub fn whole(&self, state: FinalState, cutoff: &str) -> Vec<&Leaf> {
        let mut leaves: Vec<&Leaf> = self
            .leaves
            .iter()
            .filter(|l| l.wholly_older(state, cutoff))
            .collect();
        leaves.sort_by(|a, b| {
            a.range
                .as_ref()
                .map(|r| &r.to)
                .cmp(&b.range.as_ref().map(|r| &r.to))
        });
        leaves
    }

    /// The end of the newest leaf of `state` wholly older than `cutoff`: rows of `state` below
    /// it all sit in leaves that go whole.
    pub fn floor(&self, state: FinalState, cutoff: &str) -> Option<String> {
        self.whole(state, cutoff)
            .last()
            .and_then(|l| l.range.as_ref()?.to.clone())
    }

    /// Whether `state` is partitioned by day on its own timestamp.
    pub fn by_day(&self, state: FinalState) -> bool {
        self.leaves.iter().any(|l| {
            !l.default
                && l.final_state() == Some(state)
                && l.range.as_ref().is_some_and(|r| r.column == state.column())
        })
    }

    /// Whether a leaf of `state` covers the instant `at` (a DEFAULT partition takes such rows
    /// but covers no day: a leaf for that day could not be attached once it holds them).
    pub fn covers(&self, state: FinalState, at: &str) -> bool {
        self.leaves.iter().any(|l| {
            !l.default
                && l.final_state() == Some(state)
                && l.range.as_ref().is_some_and(|r| {
                    r.from.as_deref().is_none_or(|f| f <= at)
                        && r.to.as_deref().is_none_or(|t| at < t)
                })
        })
    }
}

/// Whether `err` is a serialization failure (SQLSTATE 40001), which is how diesel reports a
/// row moved to another partition by a concurrent update.
pub fn moved(err: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<Error>(),
            Some(Error::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                _
            ))
        )
    })
}

/// One row of the per-leaf table `stats` shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, diesel::QueryableByName)]
pub struct LeafSize {
    /// The leaf's name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// Rows in it, counted.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub rows: i64,
    /// Its size on disk with indexes and TOAST, in bytes.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub bytes: i64,
}

/// Parses `FOR VALUES IN ('a', 'b')` into the state names it lists.
pub fn list_bound(bound: &str) -> Option<Vec<String>> {
    let inner = bound.strip_prefix("FOR VALUES IN (")?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().trim_matches('\'').to_string())
            .collect(),
    )
}

/// Parses `RANGE (column)` into the column, when the key is one plain column.
pub fn range_key(partkey: &str) -> Option<String> {
    let col = partkey.strip_prefix("RANGE (")?.strip_suffix(')')?;
    let col = col.trim().trim_matches('"');
    (!col.is_empty() && !col.contains([',', '(', ' '])).then(|| col.to_string())
}

/// The steps that remove leaves whole, for one engine (PostgreSQL; SQLite has no partitions).
pub trait Partitions {
    /// Rows and size of every leaf, read by counting.
    fn leaf_sizes(&mut self, _schema: &Schema) -> Result<Vec<LeafSize>> {
        Ok(Vec::new())
    }
    /// Marks `leaf` and detaches it from its parent, concurrently when the parent allows it;
    /// finishes a detach left pending.
    fn detach(&mut self, _leaf: &Leaf, _state: FinalState) -> Result<()> {
        bail!("this engine has no partitions")
    }
    /// Exact rows of a table (an index-only count where the visibility map allows).
    fn table_rows(&mut self, _schema: &str, _name: &str) -> Result<u64> {
        bail!("this engine has no partitions")
    }
    /// Every row of a (detached) table as JSON, `batch` rows at a time, to `sink`.
    fn stream_rows(
        &mut self,
        _schema: &str,
        _name: &str,
        _batch: u64,
        _sink: &mut dyn FnMut(&[DeletedRow]) -> Result<()>,
    ) -> Result<u64> {
        bail!("this engine has no partitions")
    }
    /// Creates `name` beside `leaf` (same parent, same columns) and attaches it for
    /// `[from, to)`, times as `YYYY-MM-DD HH:MM:SS`. Creating it apart and attaching it takes
    /// only a SHARE UPDATE EXCLUSIVE lock on the parent, so workers go on.
    fn create_leaf(&mut self, _leaf: &Leaf, _name: &str, _from: &str, _to: &str) -> Result<()> {
        bail!("this engine has no partitions")
    }
    /// Drops a detached table.
    fn drop_table(&mut self, _schema: &str, _name: &str) -> Result<()> {
        bail!("this engine has no partitions")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(state: JobState, col: &str, from: &str, to: &str) -> Leaf {
        Leaf {
            schema: "public".into(),
            name: format!("oban_jobs_{}_{}", state.name(), &from[..10]),
            parent_schema: "public".into(),
            parent: format!("oban_jobs_{}", state.name()),
            states: vec![state],
            range: Some(Range {
                column: col.into(),
                from: Some(from.into()),
                to: Some(to.into()),
            }),
            detach_pending: false,
            options: vec![],
            default: false,
        }
    }

    #[test]
    fn bounds_parse() {
        assert_eq!(
            list_bound("FOR VALUES IN ('available', 'executing')"),
            Some(vec!["available".to_string(), "executing".to_string()])
        );
        assert_eq!(list_bound("FOR VALUES FROM ('a') TO ('b')"), None);
        assert_eq!(
            range_key("RANGE (completed_at)").as_deref(),
            Some("completed_at")
        );
        assert_eq!(range_key("RANGE (a, b)"), None);
        assert_eq!(range_key("LIST (state)"), None);
    }

    #[test]
    fn only_a_leaf_ending_before_the_cutoff_goes_whole() {
        let old = leaf(
            JobState::Completed,
            "completed_at",
            "2026-01-01T00:00:00.000000",
            "2026-01-02T00:00:00.000000",
        );
        let straddling = leaf(
            JobState::Completed,
            "completed_at",
            "2026-01-02T00:00:00.000000",
            "2026-01-03T00:00:00.000000",
        );
        let cutoff = "2026-01-02T12:00:00.000000";
        assert!(old.wholly_older(FinalState::Completed, cutoff));
        assert!(!straddling.wholly_older(FinalState::Completed, cutoff));
        // The range must be on the state's own timestamp, and the leaf hold only that state.
        assert!(!old.wholly_older(FinalState::Cancelled, cutoff));
        let other_key = leaf(
            JobState::Completed,
            "scheduled_at",
            "2026-01-01T00:00:00.000000",
            "2026-01-02T00:00:00.000000",
        );
        assert!(!other_key.wholly_older(FinalState::Completed, cutoff));
        let mut mixed = old.clone();
        mixed.states.push(JobState::Discarded);
        assert!(!mixed.wholly_older(FinalState::Completed, cutoff));
        // An end exactly at the cutoff holds nothing at or after it.
        assert!(old.wholly_older(FinalState::Completed, "2026-01-02T00:00:00.000000"));
        let layout = Layout {
            leaves: vec![straddling, old],
            detached: vec![],
        };
        assert_eq!(
            layout.floor(FinalState::Completed, cutoff).as_deref(),
            Some("2026-01-02T00:00:00.000000")
        );
        assert!(layout.covers(FinalState::Completed, cutoff));
        assert!(!layout.covers(FinalState::Completed, "2026-01-03T00:00:00.000000"));
        // A DEFAULT partition takes any day's rows but covers none, and never goes whole.
        let mut default = leaf(JobState::Completed, "completed_at", cutoff, cutoff);
        default.range = Some(Range {
            column: "completed_at".into(),
            from: None,
            to: None,
        });
        default.default = true;
        assert!(!default.wholly_older(FinalState::Completed, cutoff));
        let alone = Layout {
            leaves: vec![default],
            detached: vec![],
        };
        assert!(!alone.covers(FinalState::Completed, cutoff));
        assert!(!alone.by_day(FinalState::Completed));
    }

    #[test]
    fn marks_name_their_state() {
        for state in FinalState::ALL {
            assert_eq!(marked_state(&detached_mark(state)), Some(state));
        }
        assert_eq!(marked_state("something else"), None);
    }
}
