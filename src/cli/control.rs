//! The arguments of the incident commands: `pause`, `resume` and `queues`.

use std::time::Duration;

use clap::Args;

use super::values::duration;
use super::WatchArgs;

/// Arguments of `oban pause` and `oban resume`.
#[derive(Debug, Clone, Default, Args)]
pub struct PauseArgs {
    /// The queues (or --all)
    #[arg(value_name = "QUEUE", required_unless_present = "all")]
    pub queues: Vec<String>,
    /// Every queue
    #[arg(long, conflicts_with = "queues")]
    pub all: bool,
    /// Only the producers on this node
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// How long to wait for each producer to record the new state (oban-py); 0s sends and does not wait
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub wait: Option<Duration>,
}

/// Arguments of `oban queues`.
#[derive(Debug, Clone, Default, Args)]
pub struct QueuesArgs {
    /// Only these queues (repeatable)
    #[arg(long, value_name = "QUEUE")]
    pub queue: Vec<String>,
    /// Watch loop.
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Arguments of `oban cancel`: the actions' arguments, and how long to wait for running jobs to
/// stop.
#[derive(Debug, Clone, Default, Args)]
pub struct CancelArgs {
    /// What to cancel.
    #[command(flatten)]
    pub action: super::ActionArgs,
    /// Wait this long for executing jobs to leave executing (PostgreSQL; oban-py stops a job only when it checks job.cancelled())
    #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
    pub wait: Option<Duration>,
}

/// An inclusive range of job ids, `A..B`, `A..` or `..B`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdRange {
    /// Lowest id, inclusive.
    pub min: Option<i64>,
    /// Highest id, inclusive.
    pub max: Option<i64>,
}

/// Parses `--id-range`.
pub fn id_range(text: &str) -> Result<IdRange, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("expected A..B (or A.. or ..B), got {text}"))?;
    let end = |s: &str| -> Result<Option<i64>, String> {
        let s = s.trim().trim_start_matches('=');
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("expected a job id, got {s}"))
    };
    let range = IdRange {
        min: end(a)?,
        max: end(b)?,
    };
    match range {
        IdRange {
            min: None,
            max: None,
        } => Err("give at least one end: A..B, A.. or ..B".into()),
        IdRange {
            min: Some(a),
            max: Some(b),
        } if a > b => Err(format!(
            "{a}..{b} is empty: the first id must not exceed the second"
        )),
        r => Ok(r),
    }
}

/// What `inspect --group-by` groups jobs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// The line of the last recorded error that names the failure
    Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges() {
        let r = |min, max| Ok(IdRange { min, max });
        assert_eq!(id_range("10..20"), r(Some(10), Some(20)));
        assert_eq!(id_range("10..=20"), r(Some(10), Some(20)));
        assert_eq!(id_range("10.."), r(Some(10), None));
        assert_eq!(id_range("..20"), r(None, Some(20)));
        assert!(id_range("..").is_err());
        assert!(id_range("20..10").is_err());
        assert!(id_range("10").is_err());
        assert!(id_range("a..b").is_err());
    }
}
