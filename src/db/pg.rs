//! PostgreSQL statements. Values are always bound parameters; the only text spliced into SQL is
//! the quoted prefix and fixed state and column names from `FinalState`.

use anyhow::{bail, Result};
use diesel::connection::SimpleConnection;
use diesel::pg::{Pg, PgConnection};
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text};
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};

use super::{
    quote_ident, ActedJob, BoolValue, DeletedRow, Flavour, JobAction, JobFilter, JobJson, JobQuery,
    JobStateRow, QueueStateCount, RescueRule, RescuedJob, Schema, SessionLimits, Targets,
    TextValue,
};
use crate::cli::{FinalState, SortKey, TimeBasis};

pub mod cells;
pub mod exact;
pub mod figures;
pub mod refine;
pub mod sample;
pub mod stats;

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

/// The database clock minus each age, in order, from one statement (one `now()`).
pub fn cutoffs(conn: &mut PgConnection, ages: &[f64]) -> Result<Vec<String>> {
    let rows: Vec<TextValue> = sql_query(
        "SELECT to_char(timezone('UTC', now()) - make_interval(secs => a), \
                'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS value \
         FROM unnest($1::float8[]) WITH ORDINALITY AS t(a, i) ORDER BY i",
    )
    .bind::<Array<Double>, _>(ages)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.value).collect())
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

fn filter_count(filter: &JobFilter) -> usize {
    usize::from(!filter.queues.is_empty()) + usize::from(!filter.workers.is_empty())
}

/// `(state = 'completed' AND completed_at < $1::timestamp) OR …` for every target. States are
/// literals so the planner can match each partial index predicate.
fn eligible_any(targets: &Targets, alias: &str) -> String {
    let parts: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, (state, _))| {
            format!(
                "({alias}state = '{}' AND {alias}{} < ${}::timestamp)",
                state.name(),
                state.column(),
                i + 1
            )
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

/// The oldest `$limit` prunable rows over all targets, as `(ctid, t, state, queue)`: one branch
/// per state, each read from that state's timestamp index when there is one (a branch without
/// an index takes any eligible rows rather than sorting the whole table), merged by age.
fn candidates(
    schema: &Schema,
    targets: &Targets,
    filter: &JobFilter,
    limit: usize,
    newest_first: bool,
) -> String {
    let dir = if newest_first { " DESC" } else { "" };
    let jobs = table(&schema.prefix, "oban_jobs");
    let filters = filter_sql(filter, "", targets.len() + 1);
    let branches: Vec<String> = targets
        .iter()
        .enumerate()
        .map(|(i, (state, _))| {
            let col = state.column();
            let order = if schema.indexed_final_states.contains(state) {
                format!("ORDER BY {col}{dir} ")
            } else {
                String::new()
            };
            format!(
                "(SELECT ctid, {col} AS t, state::text AS state, queue FROM {jobs} \
                  WHERE state = '{}' AND {col} < ${}::timestamp{filters} {order}LIMIT ${limit})",
                state.name(),
                i + 1
            )
        })
        .collect();
    format!(
        "SELECT ctid, state, queue FROM ({}) u ORDER BY t{dir} LIMIT ${limit}",
        branches.join(" UNION ALL ")
    )
}

/// Candidates read for a batch of `n`: a margin for rows other sessions hold locked.
fn candidate_count(n: u64) -> u64 {
    n + (n / 8).max(16)
}

/// Binds the cutoffs, the filters and the limit, in the order the builders number them.
fn bind_targets<'a>(
    sql: String,
    targets: &'a Targets,
    filter: &'a JobFilter,
    limit: u64,
) -> BoxedQuery<'a> {
    let mut q = sql_query(sql).into_boxed::<Pg>();
    for (_, cutoff) in targets {
        q = q.bind::<Text, _>(cutoff);
    }
    bind_filter(q, filter).bind::<BigInt, _>(limit as i64)
}

#[derive(QueryableByName)]
struct StateQueueCount {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// What a prune pass of `limit` rows would take, by state and queue: the same selection the
/// delete makes, without locking.
pub fn count_eligible(
    conn: &mut PgConnection,
    schema: &Schema,
    targets: &Targets,
    filter: &JobFilter,
    limit: u64,
) -> Result<Vec<(String, String, u64)>> {
    let limit_param = targets.len() + filter_count(filter) + 1;
    let sql = format!(
        "SELECT state, queue, count(*) AS count FROM ({}) c GROUP BY 1, 2 ORDER BY 1, 2",
        candidates(schema, targets, filter, limit_param, false)
    );
    let rows: Vec<StateQueueCount> = bind_targets(sql, targets, filter, limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.state, r.queue, r.count as u64))
        .collect())
}

/// Deletes up to `n` prunable rows, oldest first over all targets (newest eligible first with
/// `newest_first`, for a second connection), in one transaction, and
/// returns them. `sink` sees the rows before the transaction commits; if it fails, the batch
/// rolls back.
#[allow(clippy::too_many_arguments)]
pub fn delete_batch(
    conn: &mut PgConnection,
    schema: &Schema,
    targets: &Targets,
    filter: &JobFilter,
    n: u64,
    newest_first: bool,
    archive: bool,
    sink: &mut dyn FnMut(&[DeletedRow]) -> Result<()>,
) -> Result<Vec<DeletedRow>> {
    let jobs = table(&schema.prefix, "oban_jobs");
    // Oldest first across the states, so rows that sit together on disk (ids follow time) go
    // in the same batch and each page is rewritten once. A few more candidates than the batch
    // are read, so some rows held by other sessions do not stall the pass. The candidates are then
    // locked with SKIP LOCKED, re-checking that each is still prunable: this never waits on a
    // row that a running Oban (or another pruner) holds, and two deleters cannot deadlock
    // because the DELETE only touches rows this transaction has locked. Locked rows cannot
    // move, so their ctid is a stable, cheap address for the delete (a Tid Scan).
    let limit_param = targets.len() + filter_count(filter) + 1;
    let returning = if archive {
        "row_to_json(j)::text"
    } else {
        "NULL::text"
    };
    let sql = format!(
        "WITH candidates AS MATERIALIZED ({cands}), \
         locked AS MATERIALIZED ( \
           SELECT j.ctid FROM {jobs} j WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM candidates)) \
             AND {recheck}{filters} LIMIT ${lock_param} FOR UPDATE OF j SKIP LOCKED) \
         DELETE FROM {jobs} AS j WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM locked)) \
         RETURNING j.id, j.state::text AS state, j.queue AS queue, {returning} AS row",
        cands = candidates(schema, targets, filter, limit_param, newest_first),
        recheck = eligible_any(targets, "j."),
        filters = filter_sql(filter, "j.", targets.len() + 1),
        lock_param = limit_param + 1,
    );
    conn.transaction(|conn| {
        let rows: Vec<DeletedRow> = bind_targets(sql, targets, filter, candidate_count(n))
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

/// A value bound to a numbered parameter of a statement being built.
enum Param {
    Texts(Vec<String>),
    Ids(Vec<i64>),
    Text(String),
    Secs(f64),
    BigInt(i64),
}

/// A WHERE clause under construction: conditions joined by AND, each value a parameter.
struct Where {
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl Where {
    fn new() -> Where {
        Where {
            conditions: vec!["true".into()],
            params: Vec::new(),
        }
    }

    /// The number the next parameter gets.
    fn next(&self) -> usize {
        self.params.len() + 1
    }

    /// Adds a condition; `{}` in `sql` becomes the parameter's placeholder.
    fn add(&mut self, sql: &str, param: Param) {
        let placeholder = format!("${}", self.next());
        self.conditions.push(sql.replace("{}", &placeholder));
        self.params.push(param);
    }

    fn sql(&self) -> String {
        self.conditions.join(" AND ")
    }

    fn bind<'a>(self, sql: String) -> BoxedQuery<'a> {
        let mut q = sql_query(sql).into_boxed::<Pg>();
        for p in self.params {
            q = match p {
                Param::Texts(v) => q.bind::<Array<Text>, _>(v),
                Param::Ids(v) => q.bind::<Array<BigInt>, _>(v),
                Param::Text(v) => q.bind::<Text, _>(v),
                Param::Secs(v) => q.bind::<Double, _>(v),
                Param::BigInt(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }
}

/// The timestamp a job's age is measured on: the one given, or the one that fits its state.
fn time_expr(basis: Option<TimeBasis>) -> &'static str {
    match basis {
        Some(TimeBasis::Inserted) => "j.inserted_at",
        Some(TimeBasis::Scheduled) => "j.scheduled_at",
        Some(TimeBasis::Attempted) => "j.attempted_at",
        None => {
            "(CASE j.state WHEN 'executing' THEN j.attempted_at \
               WHEN 'completed' THEN j.completed_at WHEN 'cancelled' THEN j.cancelled_at \
               WHEN 'discarded' THEN j.discarded_at ELSE j.scheduled_at END)"
        }
    }
}

const NOW: &str = "timezone('UTC', now())";

/// The WHERE clause for a job query (alias `j`).
fn job_where(schema: &Schema, q: &JobQuery) -> Where {
    let mut w = Where::new();
    if !q.ids.is_empty() {
        w.add("j.id = ANY({}::bigint[])", Param::Ids(q.ids.clone()));
    }
    if !q.states.is_empty() {
        // Cast to the enum so the (state, queue, …) index applies.
        let states = format!(
            "j.state = ANY({{}}::text[]::{}[])",
            table(&schema.prefix, "oban_job_state")
        );
        w.add(&states, Param::Texts(q.states.clone()));
    }
    if !q.queues.is_empty() {
        w.add("j.queue = ANY({}::text[])", Param::Texts(q.queues.clone()));
    }
    if !q.workers.is_empty() {
        w.add(
            "j.worker = ANY({}::text[])",
            Param::Texts(q.workers.clone()),
        );
    }
    if !q.tags.is_empty() {
        w.add("j.tags && {}::text[]", Param::Texts(q.tags.clone()));
    }
    if !q.nodes.is_empty() {
        w.add(
            "j.attempted_by[1] = ANY({}::text[])",
            Param::Texts(q.nodes.clone()),
        );
    }
    if let Some(args) = &q.args {
        w.add("j.args @> {}::jsonb", Param::Text(args.clone()));
    }
    let ts = time_expr(q.basis);
    if let Some(secs) = q.older_than {
        w.add(
            &format!("{ts} < {NOW} - make_interval(secs => {{}})"),
            Param::Secs(secs),
        );
    }
    if let Some(secs) = q.newer_than {
        w.add(
            &format!("{ts} >= {NOW} - make_interval(secs => {{}})"),
            Param::Secs(secs),
        );
    }
    if let Some(secs) = q.stuck_after {
        w.add(
            &format!(
                "j.state = 'executing' AND j.attempted_at < {NOW} - make_interval(secs => {{}})"
            ),
            Param::Secs(secs),
        );
    }
    w
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Id => "j.id",
        SortKey::Inserted => "j.inserted_at",
        SortKey::Scheduled => "j.scheduled_at",
        SortKey::Attempted => "j.attempted_at",
        SortKey::State => "j.state::text",
        SortKey::Queue => "j.queue",
        SortKey::Worker => "j.worker",
        SortKey::Attempt => "j.attempt",
    }
}

/// Every column as one JSON object: `to_jsonb` turns oban-py's `errors jsonb` and Elixir's
/// `jsonb[]` alike into a JSON array (and a NULL array into null); times get a `Z`.
fn job_json() -> String {
    let ts = |c: &str| format!("'{c}', to_char(j.{c}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    format!(
        "json_build_object('id', j.id, 'state', j.state::text, 'queue', j.queue, \
           'worker', j.worker, 'attempt', j.attempt, 'max_attempts', j.max_attempts, \
           'priority', j.priority, 'args', j.args, 'meta', j.meta, 'tags', to_jsonb(j.tags), \
           'errors', to_jsonb(j.errors), 'attempted_by', to_jsonb(j.attempted_by), \
           {}, {}, {}, {}, {}, {})::text",
        ts("inserted_at"),
        ts("scheduled_at"),
        ts("attempted_at"),
        ts("cancelled_at"),
        ts("completed_at"),
        ts("discarded_at"),
    )
}

/// Jobs matching `q`, in a read-only transaction: inspect can never write.
pub fn find_jobs(conn: &mut PgConnection, schema: &Schema, q: &JobQuery) -> Result<Vec<JobJson>> {
    let mut w = job_where(schema, q);
    let dir = if q.desc { "DESC" } else { "ASC" };
    let limit = w.next();
    let sql = format!(
        "SELECT {row} AS json, extract(epoch FROM {NOW} - {ts})::float8 AS age \
         FROM {jobs} j WHERE {cond} ORDER BY {sort} {dir} NULLS LAST, j.id {dir} LIMIT ${limit}",
        row = job_json(),
        ts = time_expr(q.basis),
        jobs = table(&schema.prefix, "oban_jobs"),
        cond = w.sql(),
        sort = sort_column(q.sort),
    );
    w.params
        .push(Param::BigInt(q.limit.min(i64::MAX as u64) as i64));
    let query = w.bind(sql);
    Ok(conn
        .build_transaction()
        .read_only()
        .run(|c| query.load::<JobJson>(c))?)
}

/// Applies an action to the eligible rows among `ids` in one transaction. Rows are locked with
/// SKIP LOCKED first, so a job a worker is updating right now is left alone (and reported as
/// locked by the caller) rather than waited for.
pub fn act_batch(
    conn: &mut PgConnection,
    schema: &Schema,
    action: JobAction,
    ids: &[i64],
    eligible: &[&str],
) -> Result<Vec<ActedJob>> {
    let jobs = table(&schema.prefix, "oban_jobs");
    let enum_type = table(&schema.prefix, "oban_job_state");
    let change = match action {
        JobAction::Retry => format!(
            "UPDATE {jobs} AS j SET state = 'available', scheduled_at = {NOW}, \
               max_attempts = GREATEST(j.max_attempts, j.attempt + 1), \
               completed_at = NULL, cancelled_at = NULL, discarded_at = NULL FROM batch b"
        ),
        JobAction::Cancel => {
            format!("UPDATE {jobs} AS j SET state = 'cancelled', cancelled_at = {NOW} FROM batch b")
        }
        JobAction::Delete => format!("DELETE FROM {jobs} AS j USING batch b"),
    };
    let sql = format!(
        "WITH batch AS MATERIALIZED (\
           SELECT id, state FROM {jobs} WHERE id = ANY($1::bigint[]) \
             AND state = ANY($2::text[]::{enum_type}[]) FOR UPDATE SKIP LOCKED) \
         {change} WHERE j.id = b.id \
         RETURNING j.id, b.state::text AS state, j.queue, j.worker, j.attempt::bigint AS attempt, \
           j.max_attempts::bigint AS max_attempts"
    );
    let eligible: Vec<String> = eligible.iter().map(|s| s.to_string()).collect();
    conn.transaction(|conn| {
        Ok(sql_query(sql)
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<Text>, _>(&eligible)
            .load(conn)?)
    })
}

/// The state of each existing job among `ids`.
pub fn job_states(
    conn: &mut PgConnection,
    schema: &Schema,
    ids: &[i64],
) -> Result<Vec<JobStateRow>> {
    Ok(sql_query(format!(
        "SELECT id, state::text AS state FROM {} WHERE id = ANY($1::bigint[]) ORDER BY id",
        table(&schema.prefix, "oban_jobs")
    ))
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?)
}
