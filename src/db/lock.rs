//! The lock that keeps two overlapping runs of one maintenance command on one database and
//! prefix apart (a PostgreSQL session advisory lock; SQLite's file lock serialises writers on
//! its own). Prune and rescue both take it through [`exclusive`].

use anyhow::{Context, Result};

use super::Db;

/// The lock key for a command on a prefix: FNV-1a of `"oban:<command>:<prefix>"`.
pub fn key(command: &str, prefix: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("oban:{command}:{prefix}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Runs `work` holding the lock of `command` on `prefix`, and releases it whatever `work`
/// returned. `None` when another run holds the lock: nothing was done.
pub fn exclusive<T>(
    db: &mut Db,
    command: &str,
    prefix: &str,
    work: impl FnOnce(&mut Db) -> Result<T>,
) -> Result<Option<T>> {
    let key = key(command, prefix);
    if !db.try_lock(key).context("taking the advisory lock")? {
        return Ok(None);
    }
    let result = work(db);
    let unlocked = db.unlock(key).context("releasing the advisory lock");
    let value = result?;
    unlocked?;
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_command_and_prefix() {
        assert_ne!(key("prune", "public"), key("rescue", "public"));
        assert_ne!(key("prune", "public"), key("prune", "jobs"));
        assert_eq!(key("prune", "public"), key("prune", "public"));
    }
}
