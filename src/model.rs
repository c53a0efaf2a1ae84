//! The job vocabulary every layer shares: states (all, final, and the timestamp each final
//! state is judged by), the orders and time bases a list can use, the table flavours, and times
//! as the database clock gives them. Each is derived once for clap, serde, diesel and display.

pub mod retention;

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::sql_types::Text;

/// A job state, in the order of a job's life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Ready to run
    Available,
    /// Held back until resumed
    Suspended,
    /// Waiting for its scheduled_at
    Scheduled,
    /// Running (or orphaned)
    Executing,
    /// Failed, will run again
    Retryable,
    /// Finished successfully
    Completed,
    /// Cancelled
    Cancelled,
    /// Failed for good
    Discarded,
}

impl JobState {
    /// Every state, in the order of a job's life (the order tables list them in).
    pub const ALL: [JobState; 8] = [
        JobState::Available,
        JobState::Suspended,
        JobState::Scheduled,
        JobState::Executing,
        JobState::Retryable,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Discarded,
    ];

    /// Every state's name, in the order of `ALL`.
    pub const NAMES: [&'static str; 8] = [
        "available",
        "suspended",
        "scheduled",
        "executing",
        "retryable",
        "completed",
        "cancelled",
        "discarded",
    ];

    /// The state's name in the database.
    pub fn name(self) -> &'static str {
        // `ALL` and `NAMES` list the states in declaration order.
        Self::NAMES[self as usize]
    }

    /// The state with this database name.
    pub fn parse(name: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The timestamp a job's age in this state is measured on: when it started running, when
    /// it finished, or else when it is (or was) due.
    pub fn age_column(self) -> &'static str {
        match self {
            JobState::Executing => "attempted_at",
            s => s.as_final().map_or("scheduled_at", FinalState::column),
        }
    }

    /// The final state this is, if it is one.
    pub fn as_final(self) -> Option<FinalState> {
        FinalState::ALL.into_iter().find(|f| f.state() == self)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<DB: Backend> FromSql<Text, DB> for JobState
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let name = String::from_sql(bytes)?;
        JobState::parse(&name).ok_or_else(|| format!("unknown job state '{name}'").into())
    }
}

/// A final job state: the only states prune may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalState {
    /// completed_at decides
    Completed,
    /// cancelled_at decides
    Cancelled,
    /// discarded_at decides
    Discarded,
}

impl FinalState {
    /// The three final states, in the order prune visits them.
    pub const ALL: [FinalState; 3] = [
        FinalState::Completed,
        FinalState::Cancelled,
        FinalState::Discarded,
    ];

    /// The final state with this database name.
    pub fn parse(name: &str) -> Option<FinalState> {
        FinalState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The same state in the full vocabulary.
    pub fn state(self) -> JobState {
        match self {
            FinalState::Completed => JobState::Completed,
            FinalState::Cancelled => JobState::Cancelled,
            FinalState::Discarded => JobState::Discarded,
        }
    }

    /// The state's name in the database.
    pub fn name(self) -> &'static str {
        self.state().name()
    }

    /// The timestamp that says when the job reached this state.
    pub fn column(self) -> &'static str {
        match self {
            FinalState::Completed => "completed_at",
            FinalState::Cancelled => "cancelled_at",
            FinalState::Discarded => "discarded_at",
        }
    }
}

impl fmt::Display for FinalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The order a list of jobs can be sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SortKey {
    /// Job id
    #[default]
    Id,
    /// inserted_at
    Inserted,
    /// scheduled_at
    Scheduled,
    /// attempted_at
    Attempted,
    /// State name
    State,
    /// Queue name
    Queue,
    /// Worker name
    Worker,
    /// Attempt number
    Attempt,
}

impl SortKey {
    /// The column sorted on.
    pub fn column(self) -> &'static str {
        match self {
            SortKey::Id => "id",
            SortKey::Inserted => "inserted_at",
            SortKey::Scheduled => "scheduled_at",
            SortKey::Attempted => "attempted_at",
            SortKey::State => "state",
            SortKey::Queue => "queue",
            SortKey::Worker => "worker",
            SortKey::Attempt => "attempt",
        }
    }

    /// The word a list's heading uses for this order.
    pub fn label(self) -> &'static str {
        self.column().trim_end_matches("_at")
    }
}

/// A timestamp that ages (`--older-than`, `--newer-than`) can be measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeBasis {
    /// inserted_at
    Inserted,
    /// scheduled_at
    Scheduled,
    /// attempted_at
    Attempted,
}

impl TimeBasis {
    /// The column.
    pub fn column(self) -> &'static str {
        match self {
            TimeBasis::Inserted => "inserted_at",
            TimeBasis::Scheduled => "scheduled_at",
            TimeBasis::Attempted => "attempted_at",
        }
    }
}

/// What happens to an orphan that has used all its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnExhausted {
    /// Discard it, with discarded_at set (oban-py's lifeline)
    Discard,
    /// Raise max_attempts to attempt + 1 and make it available
    Retry,
}

/// Which of the known table shapes a database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavour {
    /// oban-py: `errors jsonb`, smallint counters, producers table.
    ObanPy,
    /// Elixir Oban: `errors jsonb[]`, integer counters, `oban_peers`.
    Elixir,
    /// Oban Lite on SQLite.
    Lite,
}

impl Flavour {
    /// A short name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Flavour::ObanPy => "oban-py",
            Flavour::Elixir => "Elixir Oban",
            Flavour::Lite => "Oban Lite",
        }
    }
}

/// Every timestamp column of a job, in the order a job's JSON lists them.
pub const TIMESTAMPS: [&str; 6] = [
    "inserted_at",
    "scheduled_at",
    "attempted_at",
    "cancelled_at",
    "completed_at",
    "discarded_at",
];

/// A moment on the database clock, as RFC 3339 UTC text with a `Z`. PostgreSQL's timestamps
/// carry no zone and SQLite's do; both are stored in UTC, so the zone is added here, once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct DbTime(String);

impl DbTime {
    /// A time as the database wrote it (`2026-11-24T10:00:00.123456` or with a trailing `Z`).
    pub fn from_db(text: &str) -> DbTime {
        let text = text.replacen(' ', "T", 1);
        if text.ends_with('Z') {
            DbTime(text)
        } else {
            DbTime(format!("{text}Z"))
        }
    }
}

impl fmt::Display for DbTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.name().into()));
        }
        assert_eq!(JobState::parse("running"), None);
    }

    #[test]
    fn final_states_are_the_last_three() {
        let finals: Vec<JobState> = JobState::ALL
            .into_iter()
            .filter(|s| s.as_final().is_some())
            .collect();
        assert_eq!(finals, FinalState::ALL.map(FinalState::state).to_vec());
    }

    #[test]
    fn db_times_get_one_zone() {
        assert_eq!(
            DbTime::from_db("2026-11-24T10:00:00.5").to_string(),
            "2026-11-24T10:00:00.5Z"
        );
        assert_eq!(
            DbTime::from_db("2026-11-24T10:00:00.5Z").to_string(),
            "2026-11-24T10:00:00.5Z"
        );
        assert_eq!(
            DbTime::from_db("2026-11-24 10:00:00").to_string(),
            "2026-11-24T10:00:00Z"
        );
    }
}
