//! The switch of `oban migrate --partitioned --from`: one transaction that takes the old
//! table's lock (under `lock_timeout`, so a busy table makes it fail and a later run retry
//! rather than queue workers behind it for long), copies again every row the log still names
//! (the changes since the last catch-up round), sets the new table's identity above every id
//! the old one gave out, removes
//! the trigger and its tables, and renames old → `oban_jobs_unpartitioned`, new → `oban_jobs`.
//! Executing jobs are in the new table when it commits, so the workers' acks find them.

use std::time::Instant;

use anyhow::{bail, Result};
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use super::move_jobs::{distinct, progress_or_fail, recopy, Move, RECORD, UNPARTITIONED};
use super::{Pg, PgSql};
use crate::db::{quote_ident, CountValue};

/// What the switch did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Switched {
    /// Ids taken off the log.
    pub logged: u64,
    /// Rows inserted into the new table (the current version of each id the log named).
    pub copied: u64,
    /// Milliseconds from the lock granted to the commit.
    pub lock_ms: f64,
}

/// Runs the switch; refuses (changing nothing) when the log names more than `max_rows` ids to
/// copy under the lock.
pub fn switch(conn: &mut Pg, mv: &Move, max_rows: u64) -> Result<Switched> {
    let mut locked = None;
    let (logged, copied) = conn.transaction(|c| {
        if !progress_or_fail(c, mv)?.done() {
            bail!("the switch runs only once the batches are done");
        }
        let (old, new) = (mv.old(), mv.new_parent());
        c.batch_execute(&format!("LOCK TABLE {old} IN ACCESS EXCLUSIVE MODE"))?;
        locked = Some(Instant::now());
        c.batch_execute(&format!("LOCK TABLE {new} IN ACCESS EXCLUSIVE MODE"))?;
        // Taken off the log in one statement under the lock; refusing rolls that back.
        let taken = diesel::sql_query(format!("DELETE FROM {} RETURNING id AS n", mv.log()))
            .load::<CountValue>(c)?;
        let rows = taken.len() as u64;
        if rows > max_rows {
            bail!(
                "the switch would copy {rows} recorded changes under its lock, more than \
                 --max-switch-rows {max_rows}; nothing was switched (run again when the \
                 workers are quieter, or raise --max-switch-rows)"
            );
        }
        let ids = distinct(taken);
        let copied = recopy(c, mv, &ids)?;
        // New ids continue above every id the old table's identity handed out.
        let mut sql = PgSql::new();
        let (new_name, old_name) = (sql.bind(&new), sql.bind(&old));
        sql.push(&format!(
            "SELECT setval(pg_get_serial_sequence({new_name}, 'id'), greatest( \
               coalesce(pg_sequence_last_value(pg_get_serial_sequence({old_name}, 'id')::regclass), 0), \
               coalesce((SELECT max(id) FROM {old}), 0), 1)) AS n"
        ));
        sql.query().load::<CountValue>(c)?;
        c.batch_execute(&format!(
            "DROP TRIGGER {trigger} ON {old}; DROP FUNCTION {record}(); \
             DROP TABLE {log}; DROP TABLE {progress}; \
             ALTER TABLE {old} RENAME TO {unpartitioned}; \
             ALTER TABLE {new} RENAME TO oban_jobs",
            trigger = quote_ident(RECORD),
            record = mv.record(),
            log = mv.log(),
            progress = mv.progress(),
            unpartitioned = quote_ident(UNPARTITIONED),
        ))?;
        Ok((ids.len() as u64, copied))
    })?;
    Ok(Switched {
        logged,
        copied,
        lock_ms: locked.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0),
    })
}
