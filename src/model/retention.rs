//! Retention rules: which final jobs a rule covers (queue, worker exact or glob, states) and
//! what it keeps (an age, or the newest N). Parsed by `config::rules`, applied by
//! `commands::prune::rules`, turned into conditions by `db::prune`.

use std::time::Duration;

use super::FinalState;

/// What reports call the jobs no rule matches (so no rule may take the name).
pub const DEFAULT_NAME: &str = "default";

/// A worker name to match: exact, or a glob where `*` is any run of characters and `?` any one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerPattern {
    /// The whole name.
    Exact(String),
    /// A glob with `*` and `?`.
    Glob(String),
}

impl WorkerPattern {
    /// A glob when the text holds `*` or `?`, else an exact name.
    pub fn new(text: &str) -> WorkerPattern {
        if text.contains(['*', '?']) {
            WorkerPattern::Glob(text.to_string())
        } else {
            WorkerPattern::Exact(text.to_string())
        }
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        match self {
            WorkerPattern::Exact(t) | WorkerPattern::Glob(t) => t,
        }
    }
}

/// Which final jobs a rule covers; every part left out matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleMatch {
    /// Only this queue (exact).
    pub queue: Option<String>,
    /// Only workers matching this.
    pub worker: Option<WorkerPattern>,
    /// Only these final states (empty: all three).
    pub states: Vec<FinalState>,
}

impl RuleMatch {
    /// The states the rule covers, in prune's order.
    pub fn covers(&self, state: FinalState) -> bool {
        self.states.is_empty() || self.states.contains(&state)
    }
}

/// What a rule keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Jobs that reached their final state less than this long ago.
    MaxAge(Duration),
    /// The newest N jobs of the rule's group, by their final-state timestamp, ties by id.
    Last(u64),
}

/// One `[[retention]]` table or `--rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its name in reports (`rule 1`, `rule 2`, … by position unless given).
    pub name: String,
    /// The jobs it covers.
    pub matches: RuleMatch,
    /// What it keeps of them.
    pub keep: Keep,
}
