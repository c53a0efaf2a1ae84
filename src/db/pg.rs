//! PostgreSQL statements. Values are always bound parameters; the only text spliced into SQL is
//! the quoted prefix and fixed state and column names from `FinalState`.

use anyhow::{bail, Result};
use diesel::connection::SimpleConnection;
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text};
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};

use super::{
    quote_ident, BoolValue, DeletedRow, Flavour, JobFilter, QueueStateCount, RescueRule,
    RescuedJob, Schema, SessionLimits, TextValue,
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
    #[diesel(sql_type = Nullable<Text>)]
    leader_table: Option<String>,
    #[diesel(sql_type = Double)]
    reltuples: f64,
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
           (SELECT p.relname::text FROM pg_class p WHERE p.relnamespace = n.oid \
             AND p.relname IN ('oban_leaders', 'oban_peers') ORDER BY p.relname LIMIT 1) AS leader_table, \
           c.reltuples::float8 AS reltuples, \
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
        leader_table: cat.leader_table,
        estimated_rows: (cat.reltuples >= 0.0).then_some(cat.reltuples),
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

/// `AND queue = ANY($n) AND worker = ANY($n+1)` for the filters in use, parameters numbered
/// from `first`.
fn filter_sql(filter: &JobFilter, alias: &str, first: usize) -> String {
    let mut sql = String::new();
    let mut param = first;
    if !filter.queues.is_empty() {
        sql.push_str(&format!(" AND {alias}queue = ANY(${param}::text[])"));
        param += 1;
    }
    if !filter.workers.is_empty() {
        sql.push_str(&format!(" AND {alias}worker = ANY(${param}::text[])"));
    }
    sql
}

/// Binds the filters in the order `filter_sql` numbers them.
fn bind_filter<'a>(mut q: BoxedQuery<'a>, filter: &'a JobFilter) -> BoxedQuery<'a> {
    if !filter.queues.is_empty() {
        q = q.bind::<Array<Text>, _>(&filter.queues);
    }
    if !filter.workers.is_empty() {
        q = q.bind::<Array<Text>, _>(&filter.workers);
    }
    q
}

type BoxedQuery<'a> = diesel::query_builder::BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery>;

/// The WHERE clause selecting prunable rows of one state, with `$1` the cutoff and filters
/// from `$2` on. The state is a literal so the planner can match the partial index predicate.
fn eligible(state: FinalState, filter: &JobFilter, alias: &str) -> String {
    format!(
        "{alias}state = '{}' AND {alias}{} < $1::timestamp{}",
        state.name(),
        state.column(),
        filter_sql(filter, alias, 2)
    )
}

fn bind_eligible<'a>(sql: String, cutoff: &'a str, filter: &'a JobFilter) -> BoxedQuery<'a> {
    bind_filter(
        sql_query(sql).into_boxed::<Pg>().bind::<Text, _>(cutoff),
        filter,
    )
}

fn next_param(filter: &JobFilter) -> usize {
    2 + filter_count(filter)
}

fn filter_count(filter: &JobFilter) -> usize {
    usize::from(!filter.queues.is_empty()) + usize::from(!filter.workers.is_empty())
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

/// The rule deciding which executing jobs are orphans.
fn orphan_sql(schema: &Schema, rule: &RescueRule, alias: &str) -> String {
    let old = format!("{alias}attempted_at < $1::timestamp");
    if !rule.accurate {
        return format!("{alias}state = 'executing' AND {old}");
    }
    // The producer named in attempted_by[2] must have heartbeated within the TTL ($2).
    format!(
        "{alias}state = 'executing' AND CASE WHEN coalesce(cardinality({alias}attempted_by), 0) >= 2 \
           THEN NOT {live} ELSE {old} END",
        live = live_producer(schema, alias),
    )
}

fn live_producer(schema: &Schema, alias: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM {} p WHERE p.uuid::text = {alias}attempted_by[2] \
           AND p.updated_at >= timezone('UTC', now()) - make_interval(secs => $2))",
        table(&schema.prefix, "oban_producers")
    )
}

/// Where a rescued job goes: discarded when out of attempts (unless retrying), else available.
fn exhausted_sql(rule: &RescueRule, alias: &str) -> String {
    if rule.retry_exhausted {
        "false".into()
    } else {
        format!("{alias}attempt >= {alias}max_attempts")
    }
}

const RESCUED_COLUMNS: &str = "j.id, j.queue, j.worker, j.attempt::bigint AS attempt, \
    j.max_attempts::bigint AS max_attempts, j.attempted_by[1] AS node, \
    extract(epoch FROM timezone('UTC', now()) - j.attempted_at)::float8 AS executing";

fn bind_rescue<'a>(
    sql: String,
    rule: &'a RescueRule,
    filter: &'a JobFilter,
    n: u64,
) -> BoxedQuery<'a> {
    let q = sql_query(sql)
        .into_boxed::<Pg>()
        .bind::<Text, _>(&rule.cutoff)
        .bind::<Double, _>(rule.producer_ttl);
    bind_filter(q, filter).bind::<BigInt, _>(n as i64)
}

/// The jobs a rescue would move, with their destination, lowest id first.
pub fn rescue_candidates(
    conn: &mut PgConnection,
    schema: &Schema,
    rule: &RescueRule,
    filter: &JobFilter,
    limit: u64,
) -> Result<Vec<RescuedJob>> {
    let sql = format!(
        "SELECT {RESCUED_COLUMNS}, CASE WHEN {} THEN 'discarded' ELSE 'available' END AS state \
         FROM {} j WHERE {}{} ORDER BY j.id LIMIT ${}",
        exhausted_sql(rule, "j."),
        table(&schema.prefix, "oban_jobs"),
        orphan_sql(schema, rule, "j."),
        filter_sql(filter, "j.", 3),
        3 + filter_count(filter)
    );
    Ok(bind_rescue(sql, rule, filter, limit).load(conn)?)
}

/// Executing jobs older than the cutoff whose producer is alive: left alone by accurate mode.
pub fn long_running(
    conn: &mut PgConnection,
    schema: &Schema,
    rule: &RescueRule,
    filter: &JobFilter,
    limit: u64,
) -> Result<Vec<RescuedJob>> {
    let sql = format!(
        "SELECT {RESCUED_COLUMNS}, 'executing' AS state FROM {} j \
         WHERE j.state = 'executing' AND j.attempted_at < $1::timestamp \
           AND coalesce(cardinality(j.attempted_by), 0) >= 2 AND {}{} \
         ORDER BY j.attempted_at LIMIT ${}",
        table(&schema.prefix, "oban_jobs"),
        live_producer(schema, "j."),
        filter_sql(filter, "j.", 3),
        3 + filter_count(filter)
    );
    Ok(bind_rescue(sql, rule, filter, limit).load(conn)?)
}

/// Moves up to `n` orphaned jobs in one transaction, skipping rows others hold locked.
pub fn rescue_batch(
    conn: &mut PgConnection,
    schema: &Schema,
    rule: &RescueRule,
    filter: &JobFilter,
    n: u64,
) -> Result<Vec<RescuedJob>> {
    let jobs = table(&schema.prefix, "oban_jobs");
    let exhausted = exhausted_sql(rule, "j.");
    let count = "CASE WHEN jsonb_typeof(j.meta->'rescued') = 'number' \
                 THEN (j.meta->>'rescued')::numeric::bigint ELSE 0 END";
    // As in prune: SKIP LOCKED means a job a worker is acking right now is left for the next
    // pass instead of being waited on, and the UPDATE rechecks the rule on the locked row.
    let sql = format!(
        "WITH batch AS MATERIALIZED (\
           SELECT ctid FROM {jobs} j WHERE {orphan}{filters} LIMIT ${limit} FOR UPDATE SKIP LOCKED) \
         UPDATE {jobs} AS j SET \
           state = (CASE WHEN {exhausted} THEN 'discarded' ELSE 'available' END)::{enum_type}, \
           discarded_at = CASE WHEN {exhausted} THEN timezone('UTC', now()) ELSE j.discarded_at END, \
           max_attempts = CASE WHEN j.attempt >= j.max_attempts AND NOT ({exhausted}) \
                          THEN j.attempt + 1 ELSE j.max_attempts END, \
           meta = CASE WHEN {exhausted} THEN j.meta \
                  ELSE jsonb_set(coalesce(j.meta, '{{}}'::jsonb), '{{rescued}}', to_jsonb({count} + 1)) END \
         WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM batch)) AND {orphan} \
         RETURNING {RESCUED_COLUMNS}, j.state::text AS state",
        orphan = orphan_sql(schema, rule, "j."),
        filters = filter_sql(filter, "j.", 3),
        limit = 3 + filter_count(filter),
        enum_type = table(&schema.prefix, "oban_job_state"),
    );
    conn.transaction(|conn| Ok(bind_rescue(sql, rule, filter, n).load(conn)?))
}

/// Upserts producer rows with a fresh heartbeat.
pub fn insert_producers(conn: &mut PgConnection, schema: &Schema, json: &str) -> Result<()> {
    sql_query(format!(
        "INSERT INTO {} (uuid, name, node, queue, meta, started_at, updated_at) \
         SELECT x.uuid::uuid, 'oban', x.node, x.queue, '{{}}', \
                timezone('UTC', now()) - interval '1 hour', timezone('UTC', now()) \
         FROM jsonb_to_recordset($1::jsonb) AS x(uuid text, node text, queue text) \
         ON CONFLICT (uuid) DO UPDATE SET updated_at = excluded.updated_at",
        table(&schema.prefix, "oban_producers")
    ))
    .bind::<Text, _>(json)
    .execute(conn)?;
    Ok(())
}
