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
