//! PostgreSQL statements. Values are always bound parameters; the only text spliced into SQL is
//! the quoted prefix and fixed state and column names from `FinalState`.

use anyhow::{bail, Result};
use diesel::connection::SimpleConnection;
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text};
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};

use super::{
    quote_ident, BoolValue, DeletedRow, Flavour, JobFilter, QueueStateCount, Schema, SessionLimits,
    TextValue,
};
use crate::cli::FinalState;

/// Applies timeouts and a recognisable application name.
pub fn setup_session(conn: &mut PgConnection, limits: SessionLimits) -> Result<()> {
    let lock_ms = limits.lock_timeout.as_millis();
    let stmt_ms = limits.statement_timeout.as_millis();
    // Integers formatted by us, not user text: SET does not take bind parameters.
    conn.batch_execute(&format!(
        "SET lock_timeout = {lock_ms}; SET statement_timeout = {stmt_ms}; \
         SET idle_in_transaction_session_timeout = {stmt_ms}; SET application_name = 'oban-cli'"
    ))?;
    Ok(())
}

/// `"prefix".name`
fn table(prefix: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(prefix), quote_ident(name))
}

#[derive(QueryableByName)]
struct Catalog {
    #[diesel(sql_type = Nullable<Text>)]
    errors_type: Option<String>,
    #[diesel(sql_type = Bool)]
    has_producers: bool,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    indexes: Vec<String>,
}

/// Columns every Oban flavour has and this tool relies on.
pub const REQUIRED_COLUMNS: [&str; 11] = [
    "id",
    "state",
    "queue",
    "worker",
    "attempt",
    "max_attempts",
    "inserted_at",
    "attempted_at",
    "completed_at",
    "cancelled_at",
    "discarded_at",
];

/// Looks up `prefix.oban_jobs` in the catalog.
pub fn detect(conn: &mut PgConnection, prefix: &str) -> Result<Option<Schema>> {
    let rows: Vec<Catalog> = sql_query(
        "SELECT \
           (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = c.oid AND a.attname = 'errors' AND NOT a.attisdropped) AS errors_type, \
           EXISTS (SELECT 1 FROM pg_class p WHERE p.relnamespace = n.oid \
                     AND p.relname = 'oban_producers' AND p.relkind IN ('r', 'p')) AS has_producers, \
           ARRAY(SELECT a.attname::text FROM pg_attribute a \
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                  ORDER BY a.attnum) AS columns, \
           ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
                  WHERE i.indrelid = c.oid AND i.indisvalid) AS indexes \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = 'oban_jobs' AND c.relkind = 'r'",
    )
    .bind::<Text, _>(prefix)
    .load(conn)?;
    let Some(cat) = rows.into_iter().next() else {
        return Ok(None);
    };
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !cat.columns.iter().any(|have| have == c))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{prefix}.oban_jobs is not an Oban jobs table: it has no column {}",
            missing.join(", ")
        );
    }
    let flavour = match cat.errors_type.as_deref() {
        Some("jsonb") => Flavour::ObanPy,
        Some("jsonb[]") => Flavour::Elixir,
        Some(other) => bail!("{prefix}.oban_jobs has errors of type {other}; expected jsonb (oban-py) or jsonb[] (Elixir Oban)"),
        None => bail!("{prefix}.oban_jobs is not an Oban jobs table: it has no errors column"),
    };
    let indexed = FinalState::ALL
        .into_iter()
        .filter(|s| cat.indexes.iter().any(|def| index_serves(def, s.column())))
        .collect();
    Ok(Some(Schema {
        prefix: prefix.to_string(),
        flavour,
        has_producers: cat.has_producers,
        indexed_final_states: indexed,
        columns: cat.columns,
    }))
}

/// Whether a btree index definition leads with `column`, or with `state` then `column`.
fn index_serves(indexdef: &str, column: &str) -> bool {
    let Some(start) = indexdef.find("USING btree (") else {
        return false;
    };
    let rest = &indexdef[start + "USING btree (".len()..];
    let Some(end) = rest.find(')') else {
        return false;
    };
    let cols: Vec<&str> = rest[..end].split(',').map(str::trim).collect();
    cols.first() == Some(&column)
        || (cols.first() == Some(&"state") && cols.get(1) == Some(&column))
}

/// Exact counts by queue and state.
pub fn counts(conn: &mut PgConnection, schema: &Schema) -> Result<Vec<QueueStateCount>> {
    Ok(sql_query(format!(
        "SELECT queue, state::text AS state, count(*) AS count FROM {} GROUP BY 1, 2 ORDER BY 1, 2",
        table(&schema.prefix, "oban_jobs")
    ))
    .load(conn)?)
}

/// The database clock minus `age`, as an ISO-8601 UTC timestamp without zone.
pub fn cutoff(conn: &mut PgConnection, age_secs: f64) -> Result<String> {
    let rows: Vec<TextValue> = sql_query(
        "SELECT to_char(timezone('UTC', now()) - make_interval(secs => $1), \
                'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS value",
    )
    .bind::<Double, _>(age_secs)
    .load(conn)?;
    Ok(rows.into_iter().next().map(|r| r.value).unwrap_or_default())
}

/// Tries the session advisory lock for `key`; true when this session now holds it.
pub fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool> {
    let rows: Vec<BoolValue> = sql_query("SELECT pg_try_advisory_lock($1) AS value")
        .bind::<BigInt, _>(key)
        .load(conn)?;
    Ok(rows.first().is_some_and(|r| r.value))
}

/// Releases the session advisory lock for `key`.
pub fn unlock(conn: &mut PgConnection, key: i64) -> Result<()> {
    sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(key)
        .execute(conn)?;
    Ok(())
}

/// The WHERE clause selecting prunable rows of one state, with `$1` the cutoff and filters
/// from `$2` on. The state is a literal so the planner can match the partial index predicate.
fn eligible(state: FinalState, filter: &JobFilter, alias: &str) -> String {
    let mut sql = format!(
        "{alias}state = '{}' AND {alias}{} < $1::timestamp",
        state.name(),
        state.column()
    );
    let mut param = 2;
    if !filter.queues.is_empty() {
        sql.push_str(&format!(" AND {alias}queue = ANY(${param}::text[])"));
        param += 1;
    }
    if !filter.workers.is_empty() {
        sql.push_str(&format!(" AND {alias}worker = ANY(${param}::text[])"));
    }
    sql
}

fn bind_eligible<'a>(
    sql: String,
    cutoff: &'a str,
    filter: &'a JobFilter,
) -> diesel::query_builder::BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery> {
    let mut q = sql_query(sql).into_boxed::<Pg>().bind::<Text, _>(cutoff);
    if !filter.queues.is_empty() {
        q = q.bind::<Array<Text>, _>(&filter.queues);
    }
    if !filter.workers.is_empty() {
        q = q.bind::<Array<Text>, _>(&filter.workers);
    }
    q
}

fn next_param(filter: &JobFilter) -> usize {
    2 + usize::from(!filter.queues.is_empty()) + usize::from(!filter.workers.is_empty())
}

#[derive(QueryableByName)]
struct QueueCount {
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many rows of `state` a prune would take, by queue, up to `limit`.
pub fn count_eligible(
    conn: &mut PgConnection,
    schema: &Schema,
    state: FinalState,
    cutoff: &str,
    filter: &JobFilter,
    limit: u64,
) -> Result<Vec<(String, u64)>> {
    let sql = format!(
        "SELECT queue, count(*) AS count FROM (SELECT queue FROM {} WHERE {} LIMIT ${}) s \
         GROUP BY queue ORDER BY queue",
        table(&schema.prefix, "oban_jobs"),
        eligible(state, filter, ""),
        next_param(filter)
    );
    let rows: Vec<QueueCount> = bind_eligible(sql, cutoff, filter)
        .bind::<BigInt, _>(limit as i64)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.queue, r.count as u64))
        .collect())
}

/// Deletes up to `n` prunable rows of `state` in one transaction and returns them. `sink` sees
/// the rows before the transaction commits; if it fails, the batch rolls back.
#[allow(clippy::too_many_arguments)]
pub fn delete_batch(
    conn: &mut PgConnection,
    schema: &Schema,
    state: FinalState,
    cutoff: &str,
    filter: &JobFilter,
    n: u64,
    archive: bool,
    sink: &mut dyn FnMut(&[DeletedRow]) -> Result<()>,
) -> Result<Vec<DeletedRow>> {
    let jobs = table(&schema.prefix, "oban_jobs");
    // Rows are picked with SKIP LOCKED, so this never waits on a row that a running Oban (or
    // another pruner) holds, and two deleters can never deadlock: the DELETE only touches rows
    // this transaction already locked. Locked rows cannot move, so their ctid is a stable and
    // cheap address for the delete. With an index on the state's timestamp, rows are taken in
    // that order, read straight from the (partial) index.
    let order = if schema.indexed_final_states.contains(&state) {
        format!("ORDER BY {} ", state.column())
    } else {
        String::new()
    };
    let returning = if archive {
        "row_to_json(j)::text"
    } else {
        "NULL::text"
    };
    let sql = format!(
        "WITH batch AS MATERIALIZED (\
           SELECT ctid FROM {jobs} WHERE {} {order}LIMIT ${} FOR UPDATE SKIP LOCKED) \
         DELETE FROM {jobs} AS j WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM batch)) AND {} \
         RETURNING j.queue AS queue, {returning} AS row",
        eligible(state, filter, ""),
        next_param(filter),
        eligible(state, filter, "j."),
    );
    conn.transaction(|conn| {
        let rows: Vec<DeletedRow> = bind_eligible(sql, cutoff, filter)
            .bind::<BigInt, _>(n as i64)
            .load(conn)?;
        sink(&rows)?;
        Ok(rows)
    })
}

/// Whether the jobs table has any row.
pub fn has_jobs(conn: &mut PgConnection, schema: &Schema) -> Result<bool> {
    let rows: Vec<BoolValue> = sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM {}) AS value",
        table(&schema.prefix, "oban_jobs")
    ))
    .load(conn)?;
    Ok(rows.first().is_some_and(|r| r.value))
}

/// Inserts jobs described by a JSON array (see `commands::seed`); times are offsets in seconds
/// from the database clock.
pub fn insert_jobs(conn: &mut PgConnection, schema: &Schema, jobs_json: &str) -> Result<usize> {
    let ts = |field: &str| format!("timezone('UTC', now()) + make_interval(secs => x.{field})");
    // PostgreSQL turns JSON arrays into SQL arrays by the record's column types.
    let errors_type = match schema.flavour {
        Flavour::Elixir => "jsonb[]",
        _ => "jsonb",
    };
    let sql = format!(
        "INSERT INTO {jobs} (state, queue, worker, attempt, max_attempts, priority, args, meta, \
            tags, errors, attempted_by, inserted_at, scheduled_at, attempted_at, completed_at, \
            cancelled_at, discarded_at) \
         SELECT x.state::{enum_type}, x.queue, x.worker, x.attempt, x.max_attempts, x.priority, \
            x.args, x.meta, x.tags, x.errors, x.attempted_by, {ins}, {sch}, {att}, \
            {com}, {can}, {dis} \
         FROM jsonb_to_recordset($1::jsonb) AS x(state text, queue text, worker text, \
            attempt int, max_attempts int, priority int, args jsonb, meta jsonb, tags text[], \
            errors {errors_type}, attempted_by text[], inserted float8, scheduled float8, \
            attempted float8, completed float8, cancelled float8, discarded float8)",
        jobs = table(&schema.prefix, "oban_jobs"),
        enum_type = table(&schema.prefix, "oban_job_state"),
        ins = ts("inserted"),
        sch = ts("scheduled"),
        att = ts("attempted"),
        com = ts("completed"),
        can = ts("cancelled"),
        dis = ts("discarded"),
    );
    Ok(sql_query(sql).bind::<Text, _>(jobs_json).execute(conn)?)
}
