//! The progress bar of a long prune on a terminal (stderr only).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar for a pass of at most `limit` rows.
pub fn bar(limit: u64) -> ProgressBar {
    let bar = ProgressBar::new(limit);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} pruning {pos}/{len} jobs [{elapsed}] {per_sec}")
    {
        bar.set_style(style);
    }
    bar
}
