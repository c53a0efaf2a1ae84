//! Moving an ordinary oban-py `oban_jobs` into the partitioned layout while its workers run
//! (`oban migrate --partitioned --from`), the way online copy tools do it: the new table is
//! made under a temporary name; a trigger on the old table records in a side table (the log)
//! the id of every row inserted, updated or deleted from then on; rows are copied in id-ordered
//! batches, each its own transaction with the progress row beside it, final-state rows first
//! and open jobs last (they change most); recorded changes are copied again; and one short
//! transaction under `lock_timeout` (the switch, in `move_switch.rs`) copies what the log still
//! names and swaps the names.
//! Every step is idempotent or guarded by what the catalog and the progress row say, so a run
//! stopped anywhere is finished by the next.

use anyhow::{bail, Context, Result};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::{table, Pg, PgSql};
use crate::db::catalog::TextValue;
use crate::db::partitions::Partitions;
use crate::db::{quote_ident, CountValue};
use crate::model::{FinalState, TIMESTAMPS};

/// The new parent's name until the switch.
pub const NEW_PARENT: &str = "oban_jobs_partitioning";
/// The side table the trigger appends ids to.
pub const LOG: &str = "oban_jobs_partitioning_log";
/// The one-row table of copy progress.
pub const PROGRESS: &str = "oban_jobs_partitioning_progress";
/// The trigger and its function.
pub const RECORD: &str = "oban_jobs_partitioning_record";
/// The old table's name after the switch.
pub const UNPARTITIONED: &str = "oban_jobs_unpartitioned";

/// oban-py's columns before the timestamps.
const HEAD: [&str; 12] = [
    "id",
    "state",
    "queue",
    "worker",
    "attempt",
    "max_attempts",
    "priority",
    "args",
    "meta",
    "tags",
    "attempted_by",
    "errors",
];

/// oban-py's columns in table order, which are copied as they are (the state through text, so
/// the enum of another schema takes it).
pub fn columns() -> Vec<&'static str> {
    HEAD.iter().chain(TIMESTAMPS.iter()).copied().collect()
}

/// The fixed condition for final-state rows.
pub const FINAL: &str = "state IN ('completed', 'cancelled', 'discarded')";
/// The fixed condition for open jobs, named one by one so the state index serves it (an
/// oban-py table has every label).
pub const OPEN: &str = "state IN ('available', 'scheduled', 'suspended', 'executing', 'retryable')";

/// Where a move reads and writes: the schema of the old table and of the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The schema holding the ordinary `oban_jobs`.
    pub from: String,
    /// The schema the partitioned `oban_jobs` ends up in.
    pub to: String,
}

impl Move {
    /// The old table, quoted.
    pub fn old(&self) -> String {
        table(&self.from, "oban_jobs")
    }
    /// The new parent (under its temporary name), quoted.
    pub fn new_parent(&self) -> String {
        table(&self.to, NEW_PARENT)
    }
    /// The log, quoted.
    pub fn log(&self) -> String {
        table(&self.from, LOG)
    }
    /// The progress table, quoted.
    pub fn progress(&self) -> String {
        table(&self.from, PROGRESS)
    }
    /// The trigger's function, quoted.
    pub fn record(&self) -> String {
        table(&self.from, RECORD)
    }

    /// `INSERT INTO new (…) OVERRIDING SYSTEM VALUE SELECT … FROM old WHERE `, to be
    /// followed by a condition.
    pub fn copy_prefix(&self) -> String {
        let state_type = format!("{}.oban_job_state", quote_ident(&self.to));
        let select: Vec<String> = columns()
            .iter()
            .map(|c| match *c {
                "state" => format!("state::text::{state_type}"),
                other => other.to_string(),
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} WHERE ",
            self.new_parent(),
            columns().join(", "),
            select.join(", "),
            self.old()
        )
    }
}

/// `relkind` of `schema.name` (`r` a table, `p` a partitioned table), if it exists.
pub fn relkind(conn: &mut Pg, schema: &str, name: &str) -> Result<Option<String>> {
    let mut sql = PgSql::new();
    let (s, n) = (sql.bind(schema), sql.bind(name));
    sql.push(&format!(
        "SELECT c.relkind::text AS value FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {s} AND c.relname = {n}"
    ));
    let rows: Vec<TextValue> = sql.query().load(conn)?;
    Ok(rows.into_iter().next().map(|r| r.value))
}

/// Copy progress: final-state rows with ids up to `copied_to`, then open jobs with ids up to
/// `open_to`, have been through the batches, which stop at `high`, the old table's largest id
/// when the trigger went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Progress {
    /// Final-state rows with ids up to this one are copied.
    #[diesel(sql_type = BigInt)]
    pub copied_to: i64,
    /// Open jobs with ids up to this one are copied (after every final-state row).
    #[diesel(sql_type = BigInt)]
    pub open_to: i64,
    /// The last id the batches copy.
    #[diesel(sql_type = BigInt)]
    pub high: i64,
}

impl Progress {
    /// Whether the batches are done.
    pub fn done(&self) -> bool {
        self.copied_to >= self.high && self.open_to >= self.high
    }
}

/// The progress row, when the trigger is in.
pub fn progress(conn: &mut Pg, mv: &Move) -> Result<Option<Progress>> {
    if relkind(conn, &mv.from, PROGRESS)?.is_none() {
        return Ok(None);
    }
    let rows: Vec<Progress> = diesel::sql_query(format!(
        "SELECT copied_to, open_to, high FROM {}",
        mv.progress()
    ))
    .load(conn)?;
    Ok(rows.into_iter().next())
}

/// Rows of the old table by state (a full count, for `--dry-run`).
#[derive(Debug, Clone, QueryableByName)]
pub struct StateRows {
    /// The state.
    #[diesel(sql_type = Text)]
    pub state: String,
    /// Its rows.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Counts the old table's rows per state.
pub fn rows_by_state(conn: &mut Pg, mv: &Move) -> Result<Vec<StateRows>> {
    Ok(diesel::sql_query(format!(
        "SELECT state::text AS state, count(*) AS n FROM {} GROUP BY state ORDER BY state",
        mv.old()
    ))
    .load(conn)?)
}

/// Finished jobs without their state's timestamp (count, and the lowest id): no day's leaf
/// can hold them, so the copy would stop at the first.
pub fn untimed(conn: &mut Pg, mv: &Move) -> Result<(i64, Option<i64>)> {
    let missing: Vec<String> = FinalState::ALL
        .iter()
        .map(|s| format!("(state = '{}' AND {} IS NULL)", s.name(), s.column()))
        .collect();
    let found: Untimed = diesel::sql_query(format!(
        "SELECT count(*) AS n, min(id) AS id FROM {} WHERE {}",
        mv.old(),
        missing.join(" OR ")
    ))
    .get_result(conn)?;
    Ok((found.n, found.id))
}

#[derive(QueryableByName)]
struct Untimed {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    id: Option<i64>,
}

/// A leaf the new table needs: a final state and a UTC day (`YYYY-MM-DD`) with the next one.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Day {
    /// The final state.
    #[diesel(sql_type = Text)]
    pub state: String,
    /// The day.
    #[diesel(sql_type = Text)]
    pub day: String,
    /// The day after.
    #[diesel(sql_type = Text)]
    pub next: String,
}

impl Day {
    /// The leaf's name, as `oban partitions` names them.
    pub fn leaf(&self) -> String {
        format!("oban_jobs_{}_{}", self.state, self.day.replace('-', ""))
    }
}

/// Every day a final-state row of the old table falls on (a loose scan of the partial index
/// of each state, one probe per day), and today and the next `ahead - 1` days.
pub fn days(conn: &mut Pg, mv: &Move, ahead: u64) -> Result<Vec<Day>> {
    let mut sql = PgSql::new();
    let last = sql.bind(ahead.saturating_sub(1));
    let mut parts = Vec::new();
    for state in FinalState::ALL {
        let (name, col, old) = (state.name(), state.column(), mv.old());
        parts.push(format!(
            "(WITH RECURSIVE d AS ( \
               SELECT date_trunc('day', min({col})) AS day FROM {old} WHERE state = '{name}' \
               UNION ALL \
               SELECT (SELECT date_trunc('day', min({col})) FROM {old} \
                        WHERE state = '{name}' AND {col} >= d.day + interval '1 day') \
                 FROM d WHERE d.day IS NOT NULL) \
             SELECT '{name}' AS state, day::date AS day FROM d WHERE day IS NOT NULL)"
        ));
        parts.push(format!(
            "(SELECT '{name}' AS state, g::date AS day FROM generate_series( \
               timezone('UTC', now())::date::timestamp, \
               timezone('UTC', now())::date + {last}::int, interval '1 day') g)"
        ));
    }
    sql.push(&format!(
        "SELECT DISTINCT state, to_char(day, 'YYYY-MM-DD') AS day, \
           to_char(day + 1, 'YYYY-MM-DD') AS next FROM ({}) all_days ORDER BY state, day",
        parts.join(" UNION ALL ")
    ));
    Ok(sql.query().load(conn)?)
}

/// The new parent's oid, when it exists.
fn new_parent_oid(conn: &mut Pg, mv: &Move) -> Result<Option<i64>> {
    let mut sql = PgSql::new();
    let name = sql.bind(mv.new_parent());
    sql.push(&format!("SELECT to_regclass({name})::oid::int8 AS n"));
    #[derive(QueryableByName)]
    struct Oid {
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        n: Option<i64>,
    }
    let rows: Vec<Oid> = sql.query().load(conn)?;
    Ok(rows.into_iter().next().and_then(|r| r.n))
}

/// The days of `wanted` that the new table has no leaf for yet (all of them before it exists).
pub fn missing_leaves(conn: &mut Pg, mv: &Move, wanted: &[Day]) -> Result<Vec<Day>> {
    let Some(oid) = new_parent_oid(conn, mv)? else {
        return Ok(wanted.to_vec());
    };
    let layout = super::partitions::layout(conn, oid)?;
    Ok(wanted
        .iter()
        .filter(|d| {
            FinalState::parse(&d.state)
                .is_some_and(|s| !layout.covers(s, &format!("{}T00:00:00.000000", d.day)))
        })
        .cloned()
        .collect())
}

/// Creates the new parent with its layout (oban-py's other tables too when it goes into
/// another schema), unless it exists.
pub fn create_table(conn: &mut Pg, mv: &Move) -> Result<()> {
    if new_parent_oid(conn, mv)?.is_some() {
        return Ok(());
    }
    super::migrate::create_layout(conn, &mv.to, NEW_PARENT, mv.to != mv.from)
}

/// Makes the leaves of `wanted` the new table lacks, each made apart and attached; returns
/// their names.
pub fn make_leaves(conn: &mut Pg, mv: &Move, wanted: &[Day]) -> Result<Vec<String>> {
    let oid = new_parent_oid(conn, mv)?.context("the new partitioned table is missing")?;
    let mut made = Vec::new();
    for day in missing_leaves(conn, mv, wanted)? {
        let layout = super::partitions::layout(conn, oid)?;
        let Some(model) = layout
            .leaves
            .iter()
            .rev()
            .find(|l| l.final_state().is_some_and(|s| s.name() == day.state))
        else {
            bail!("the new table has no {} partition", day.state);
        };
        let name = day.leaf();
        conn.create_leaf(
            model,
            &name,
            &format!("{} 00:00:00", day.day),
            &format!("{} 00:00:00", day.next),
        )
        .with_context(|| format!("creating partition {name}"))?;
        made.push(name);
    }
    Ok(made)
}

/// Puts the trigger on the old table, with the log and the progress row, in one transaction;
/// `high` is read under the trigger's lock, so any row above it is recorded in the log.
pub fn install_trigger(conn: &mut Pg, mv: &Move) -> Result<Progress> {
    let (old, log, progress, record) = (mv.old(), mv.log(), mv.progress(), mv.record());
    let trigger = quote_ident(RECORD);
    conn.transaction(|c| {
        // The prefix is a checked identifier (letters, digits, underscores), quoted: it cannot
        // end the dollar-quoted body.
        c.batch_execute(&format!(
            "CREATE TABLE {log} (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
               id bigint NOT NULL); \
             CREATE TABLE {progress} (copied_to bigint NOT NULL, open_to bigint NOT NULL, \
               high bigint NOT NULL); \
             CREATE FUNCTION {record}() RETURNS trigger LANGUAGE plpgsql AS $oban_record$ \
             BEGIN \
               IF TG_OP = 'DELETE' THEN INSERT INTO {log} (id) VALUES (OLD.id); \
               ELSE INSERT INTO {log} (id) VALUES (NEW.id); END IF; \
               RETURN NULL; \
             END $oban_record$; \
             CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {old} \
               FOR EACH ROW EXECUTE FUNCTION {record}(); \
             INSERT INTO {progress} SELECT 0, 0, coalesce(max(id), 0) FROM {old}"
        ))
    })
    .context("putting the change-recording trigger on the old table")?;
    progress_or_fail(conn, mv)
}

/// The progress row, which must be there.
pub fn progress_or_fail(conn: &mut Pg, mv: &Move) -> Result<Progress> {
    progress(conn, mv)?.context("the progress row is missing")
}

/// Copies the next batch (at most `batch` rows): final-state rows in id order, then open jobs
/// in id order, and moves the progress row on in the same transaction. `None` when the batches
/// are done.
pub fn copy_batch(conn: &mut Pg, mv: &Move, batch: u64) -> Result<Option<(u64, Progress)>> {
    conn.transaction(|c| {
        let rows: Vec<Progress> = diesel::sql_query(format!(
            "SELECT copied_to, open_to, high FROM {} FOR UPDATE",
            mv.progress()
        ))
        .load(c)?;
        let Some(mut at) = rows.into_iter().next() else {
            bail!("the progress row is missing");
        };
        let (which, column, done) = if at.copied_to < at.high {
            (FINAL, "copied_to", at.copied_to)
        } else if at.open_to < at.high {
            (OPEN, "open_to", at.open_to)
        } else {
            return Ok(None);
        };
        let mut sql = PgSql::new();
        let (from, high, size) = (sql.bind(done), sql.bind(at.high), sql.bind(batch));
        sql.push(&format!(
            "SELECT coalesce(max(id), {high}) AS n FROM (SELECT id FROM {} \
             WHERE id > {from} AND id <= {high} AND {which} ORDER BY id LIMIT {size}) s",
            mv.old()
        ));
        let to = sql
            .query()
            .load::<CountValue>(c)?
            .first()
            .map_or(at.high, |r| r.n);
        let mut sql = PgSql::new();
        let (lo, hi) = (sql.bind(done), sql.bind(to));
        sql.push(&format!(
            "{}id > {lo} AND id <= {hi} AND {which}",
            mv.copy_prefix()
        ));
        let copied = sql.query().execute(c)? as u64;
        let mut sql = PgSql::new();
        let hi = sql.bind(to);
        sql.push(&format!("UPDATE {} SET {column} = {hi}", mv.progress()));
        sql.query().execute(c)?;
        if column == "copied_to" {
            at.copied_to = to;
        } else {
            at.open_to = to;
        }
        Ok(Some((copied, at)))
    })
}

/// Gathers the new table's statistics (every leaf's), so the workers' first queries after the
/// switch are planned on real figures. Takes only a SHARE UPDATE EXCLUSIVE lock, on the new
/// table, which nothing else uses yet.
pub fn analyze(conn: &mut Pg, mv: &Move) -> Result<()> {
    conn.batch_execute(&format!("ANALYZE {}", mv.new_parent()))
        .context("analyzing the new table")
}

/// Takes up to `batch` ids off the log and copies those rows again: their copies deleted,
/// their current version inserted. The log entries are taken in the same transaction, so a
/// change committed after it read them leaves an entry of its own. Only once the batches are
/// done: before that, a batch could copy a row the catch-up has.
pub fn catch_up(conn: &mut Pg, mv: &Move, batch: u64) -> Result<u64> {
    conn.transaction(|c| {
        let at = progress_or_fail(c, mv)?;
        if !at.done() {
            bail!("changes are copied again only once the batches are done");
        }
        let mut sql = PgSql::new();
        let size = sql.bind(batch);
        let log = mv.log();
        sql.push(&format!(
            "DELETE FROM {log} WHERE seq IN (SELECT seq FROM {log} ORDER BY seq LIMIT {size}) \
             RETURNING id AS n"
        ));
        let ids = distinct(sql.query().load::<CountValue>(c)?);
        if ids.is_empty() {
            return Ok(0);
        }
        recopy(c, mv, &ids)?;
        Ok(ids.len() as u64)
    })
}

/// The distinct ids of `rows`.
pub fn distinct(rows: Vec<CountValue>) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.n).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Deletes every copy of `ids` from the new table and inserts their current version. Every
/// row copied twice by the batches (final at its batch, open at a later one) changed after
/// the trigger went in, so its id is in the log and this leaves one copy.
pub fn recopy(conn: &mut Pg, mv: &Move, ids: &[i64]) -> Result<u64> {
    let mut sql = PgSql::new();
    let list = sql.bind(ids);
    sql.push(&format!(
        "DELETE FROM {} WHERE id = ANY({list})",
        mv.new_parent()
    ));
    sql.query().execute(conn)?;
    let mut sql = PgSql::new();
    let list = sql.bind(ids);
    sql.push(&format!("{}id = ANY({list})", mv.copy_prefix()));
    Ok(sql.query().execute(conn)? as u64)
}
