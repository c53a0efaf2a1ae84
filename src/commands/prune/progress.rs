//! The progress bar of a long prune on a terminal (stderr only): jobs deleted of the pass's
//! total, the rate in jobs per second and the time left.

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar for a pass of at most `limit` rows (the pass sets the exact length once counted).
pub fn bar(limit: u64) -> ProgressBar {
    let bar = ProgressBar::new(limit);
    if let Ok(style) = ProgressStyle::with_template(
        "pruning {human_pos}/{human_len} jobs {wide_bar} {rate} ETA {eta} ({elapsed}) {msg}",
    ) {
        bar.set_style(style.with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        ));
    }
    bar
}
