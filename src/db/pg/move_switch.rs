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
use diesel::sql_types::BigInt;
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::move_jobs::{distinct, progress_or_fail, recopy, Move, RECORD, UNPARTITIONED};
use super::{Pg, PgSql};
use crate::db::catalog::TextValue;
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

/// The two tables counted in one snapshot.
#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    old: i64,
    #[diesel(sql_type = BigInt)]
    new: i64,
    #[diesel(sql_type = BigInt)]
    new_ids: i64,
    #[diesel(sql_type = BigInt)]
    logged: i64,
}

/// Checks, before the switch, that the new table holds the old one's jobs. In one snapshot an
/// id is in both tables unless the log names it (changed since the last copy), and no id is in
/// the new table twice. A move undone in part by hand (the new table dropped and made again,
/// or the trigger, log and progress dropped with the copied rows kept) fails here instead of
/// switching the workers to a table that lacks or doubles jobs. Two full reads of each table,
/// outside any lock: seconds on millions of jobs, once per move.
pub fn verify(conn: &mut Pg, mv: &Move) -> Result<()> {
    let sql = format!(
        "SELECT (SELECT count(*) FROM {old}) AS old, (SELECT count(*) FROM {new}) AS new, \
                (SELECT count(DISTINCT id) FROM {new}) AS new_ids, \
                (SELECT count(DISTINCT id) FROM {log}) AS logged",
        old = mv.old(),
        new = mv.new_parent(),
        log = mv.log()
    );
    let counts = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|c| diesel::sql_query(&sql).get_result::<Counts>(c))?;
    let undo = "a move undone in part by hand? nothing was switched; to start again, drop \
                oban_jobs_partitioning and the trigger, log and progress tables (README, \
                \"To give up instead\") and run the command again";
    if counts.new_ids != counts.new {
        bail!(
            "the new table holds {} jobs twice: {undo}",
            counts.new - counts.new_ids
        );
    }
    if (counts.old - counts.new).abs() > counts.logged {
        bail!(
            "the new table holds {} jobs against the old table's {}, further apart than the {} \
             changes recorded since the last copy: {undo}",
            counts.new,
            counts.old,
            counts.logged
        );
    }
    Ok(())
}

/// Gives the new table (and each of its leaves) the old one's owner, privileges and comment,
/// so that workers connecting as a role other than the one running the move keep their access
/// after the switch. The statements are written by the server (`format` with `%I`/`%L`) from
/// the catalog. Changing the owner needs the running role to be a member of the old owner's
/// role (or a superuser): otherwise this fails and the switch is rolled back.
fn carry_over(c: &mut Pg, old: &str, new: &str) -> Result<()> {
    let mut sql = PgSql::new();
    let (old_name, new_name) = (sql.bind(old), sql.bind(new));
    sql.push(&format!(
        "WITH o AS (SELECT oid, relowner, relacl FROM pg_class WHERE oid = {old_name}::regclass), \
              tree AS (SELECT relid FROM pg_partition_tree({new_name}::regclass)) \
         SELECT format('ALTER TABLE %s OWNER TO %I', t.relid::regclass, pg_get_userbyid(o.relowner)) \
                AS value \
           FROM tree t, o \
          WHERE (SELECT relowner FROM pg_class WHERE oid = t.relid) <> o.relowner \
         UNION ALL \
         SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, {new_name}::regclass, \
                       CASE WHEN a.grantee = 0 THEN 'PUBLIC' \
                            ELSE quote_ident(pg_get_userbyid(a.grantee)) END, \
                       CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) \
           FROM o, aclexplode(o.relacl) a WHERE a.grantee <> o.relowner \
         UNION ALL \
         SELECT format('COMMENT ON TABLE %s IS %L', {new_name}::regclass, d.description) \
           FROM o JOIN pg_description d ON d.objoid = o.oid AND d.objsubid = 0 \
                AND d.classoid = 'pg_class'::regclass"
    ));
    let statements: Vec<TextValue> = sql.query().load(c)?;
    for s in statements {
        c.batch_execute(&s.value)?;
    }
    Ok(())
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
        carry_over(c, &old, &new)?;
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
