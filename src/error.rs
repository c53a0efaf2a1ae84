//! The few errors `main` must tell apart to choose an exit code.

/// A mistake in flags, environment or oban.toml: exit code 2, reported before any SQL runs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds an `anyhow::Error` that exits with code 2.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Exit codes, as documented in README.
pub mod exit {
    /// Success, including nothing to do.
    pub const OK: i32 = 0;
    /// Runtime failure.
    pub const FAILURE: i32 = 1;
    /// Usage or configuration error.
    pub const USAGE: i32 = 2;
    /// A health threshold given to `stats` was breached, or a `doctor` check warned or failed.
    pub const BREACH: i32 = 3;
    /// A pass was interrupted by Ctrl-C before it finished.
    pub const INTERRUPTED: i32 = 130;
}

/// Whether the error is a closed output pipe (`oban prune -o json | head -1`): not a
/// failure, and the end of any `--watch` loop (exit 0, as `yes | head` does).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code for an error chain: 2 for usage errors anywhere in the chain, else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|e| e.is::<UsageError>()) {
        exit::USAGE
    } else {
        exit::FAILURE
    }
}
