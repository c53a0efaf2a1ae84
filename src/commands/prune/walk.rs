//! The heap walk's shared position: the drains of a pass claim block ranges from it in turn,
//! each sized from the eligible rows per block seen so far, so that a range holds about one
//! batch. Two connections walking the heap take alternate ranges and never meet on a row.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Fewest and most blocks in one range (a range is one statement's scan).
const MIN_BLOCKS: u64 = 8;
const MAX_BLOCKS: u64 = 8192;
/// The density assumed at least, so that a sparse stretch still moves in bounded ranges.
const MIN_DENSITY: f64 = 0.05;

/// Where the walk of one pass stands.
pub struct Walk {
    next: AtomicU64,
    blocks: u64,
    /// Eligible rows per block, as estimated, then as seen.
    density: Mutex<f64>,
}

impl Walk {
    /// A walk over the first `blocks` blocks, starting from an estimated density.
    pub fn new(blocks: u64, density: f64) -> Walk {
        Walk {
            next: AtomicU64::new(0),
            blocks,
            density: Mutex::new(density),
        }
    }

    /// The next range for a batch of `n` rows; None once the heap has been walked.
    pub fn claim(&self, n: u64) -> Option<(u64, u64)> {
        let density = self.density.lock().map(|d| *d).unwrap_or(MIN_DENSITY);
        // Aim a little under a batch, so that most ranges are finished in one statement.
        let len = ((0.9 * n as f64) / density.max(MIN_DENSITY)).ceil() as u64;
        let len = len.clamp(MIN_BLOCKS, MAX_BLOCKS);
        let from = self.next.fetch_add(len, Ordering::SeqCst);
        (from < self.blocks).then(|| (from, (from + len).min(self.blocks)))
    }

    /// Learns from a range that was finished: `got` rows in `blocks` blocks.
    pub fn saw(&self, got: u64, blocks: u64) {
        if let Ok(mut d) = self.density.lock() {
            let seen = got as f64 / blocks.max(1) as f64;
            *d = 0.5 * *d + 0.5 * seen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_heap_once_and_follow_the_density() {
        let walk = Walk::new(1000, 10.0);
        let (a, b) = walk.claim(100).expect("a range");
        assert_eq!((a, b), (0, 9));
        walk.saw(0, 9);
        // Nothing found: the next range is longer.
        let (c, d) = walk.claim(100).expect("a range");
        assert_eq!(c, 9);
        assert!(d - c > 9);
        let mut last = d;
        while let Some((from, to)) = walk.claim(100) {
            assert_eq!(from, last, "ranges are contiguous");
            assert!(to <= 1000);
            last = to;
        }
        assert_eq!(last, 1000);
        assert!(walk.claim(100).is_none());
    }
}
