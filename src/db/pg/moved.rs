//! Rows that move between partitions. On a partitioned `oban_jobs` a state change moves the
//! row to another leaf, and locking a row that a concurrent transaction moved after this
//! statement's snapshot fails with SQLSTATE 40001 ("tuple to be locked was already moved to
//! another partition due to concurrent update"), whatever SKIP LOCKED says. A new statement
//! takes a new snapshot and sees the row where it now is, so the statement is simply run again.

use anyhow::Result;

use super::Pg;

/// Times a statement is run before its rows are given up on.
pub const ATTEMPTS: usize = 3;

pub use crate::db::partitions::moved;

/// Runs `work` again (up to [`ATTEMPTS`] times in all) while it fails because a row moved.
pub fn retry<T>(conn: &mut Pg, mut work: impl FnMut(&mut Pg) -> Result<T>) -> Result<T> {
    let mut tries = 1;
    loop {
        match work(conn) {
            Err(e) if moved(&e) && tries < ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}
