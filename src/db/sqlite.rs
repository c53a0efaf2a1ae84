//! SQLite (Oban Lite) statements. Timestamps are ISO-8601 text, compared through `julianday`
//! so that values with and without fractional seconds order correctly.

use anyhow::{bail, Result};
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::{
    quote_ident, ActedJob, BoolValue, DeletedRow, Flavour, JobAction, JobFilter, JobJson, JobQuery,
    JobStateRow, QueueStateCount, RescueRule, RescuedJob, Schema, SessionLimits, Targets,
    TextValue,
};
use crate::cli::{SortKey, TimeBasis};

pub mod stats;

/// Columns Lite stores as JSON text.
const JSON_COLUMNS: [&str; 5] = ["args", "meta", "tags", "errors", "attempted_by"];

/// Sets the busy timeout, SQLite's lock timeout.
pub fn setup_session(conn: &mut SqliteConnection, limits: SessionLimits) -> Result<()> {
    let ms = limits.lock_timeout.as_millis();
    sql_query(format!("PRAGMA busy_timeout = {ms}")).execute(conn)?;
    Ok(())
}

/// Finds `oban_jobs` and checks its columns.
pub fn detect(conn: &mut SqliteConnection) -> Result<Option<Schema>> {
    let columns: Vec<TextValue> =
        sql_query("SELECT name AS value FROM pragma_table_info('oban_jobs') ORDER BY cid")
            .load(conn)?;
    if columns.is_empty() {
        return Ok(None);
    }
    let columns: Vec<String> = columns.into_iter().map(|c| c.value).collect();
    let missing: Vec<&str> = super::pg::REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !columns.iter().any(|have| have == c))
        .collect();
    if !missing.is_empty() {
        bail!(
            "oban_jobs is not an Oban jobs table: it has no column {}",
            missing.join(", ")
        );
    }
    Ok(Some(Schema {
        prefix: "main".into(),
        flavour: Flavour::Lite,
        has_producers: false,
        leader_table: None,
        estimated_rows: None,
        indexed_final_states: Vec::new(),
        columns,
    }))
}

/// Exact counts by queue and state.
pub fn counts(conn: &mut SqliteConnection) -> Result<Vec<QueueStateCount>> {
    Ok(sql_query(
        "SELECT queue, state, count(*) AS count FROM oban_jobs GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .load(conn)?)
}

/// The database clock minus `age`, as ISO-8601 UTC text with a trailing `Z`.
pub fn cutoff(conn: &mut SqliteConnection, age_secs: f64) -> Result<String> {
    let rows: Vec<TextValue> =
        sql_query("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?) AS value")
            .bind::<Text, _>(format!("-{age_secs:.3} seconds"))
            .load(conn)?;
    Ok(rows.into_iter().next().map(|r| r.value).unwrap_or_default())
}

/// Prunable rows over all targets: bind each cutoff in order, then the filters. `+state` keeps
/// SQLite from answering the OR through the state index and sorting every eligible row by id
/// for each batch: batches walk the table by id instead, resuming where the last one stopped.
fn eligible_any(targets: &Targets, filter: &JobFilter) -> String {
    let parts: Vec<String> = targets
        .iter()
        .map(|(state, _)| {
            format!(
                "(+state = '{}' AND julianday({}) < julianday(?))",
                state.name(),
                state.column()
            )
        })
        .collect();
    format!("({}){}", parts.join(" OR "), filter_sql(filter))
}

/// Rows in `state` whose `column` is older than the bound cutoff, filtered: bind the cutoff,
/// then the filters.
fn older_than(state: &str, column: &str, filter: &JobFilter) -> String {
    format!(
        "state = '{state}' AND julianday({column}) < julianday(?){}",
        filter_sql(filter)
    )
}

/// The queue and worker filters, bound as JSON arrays so any number of values is one parameter.
fn filter_sql(filter: &JobFilter) -> String {
    let mut sql = String::new();
    if !filter.queues.is_empty() {
        sql.push_str(" AND queue IN (SELECT value FROM json_each(?))");
    }
    if !filter.workers.is_empty() {
        sql.push_str(" AND worker IN (SELECT value FROM json_each(?))");
    }
    sql
}

type BoxedQuery =
    diesel::query_builder::BoxedSqlQuery<'static, Sqlite, diesel::query_builder::SqlQuery>;

fn bind_eligible(sql: String, cutoff: &str, filter: &JobFilter) -> BoxedQuery {
    let q = sql_query(sql)
        .into_boxed::<Sqlite>()
        .bind::<Text, _>(cutoff.to_string());
    bind_filter(q, filter)
}

fn bind_targets(sql: String, targets: &Targets, filter: &JobFilter, limit: u64) -> BoxedQuery {
    let mut q = sql_query(sql).into_boxed::<Sqlite>();
    for (_, cutoff) in targets {
        q = q.bind::<Text, _>(cutoff.clone());
    }
    bind_filter(q, filter).bind::<BigInt, _>(limit as i64)
}

fn bind_filter(mut q: BoxedQuery, filter: &JobFilter) -> BoxedQuery {
    if !filter.queues.is_empty() {
        q = q.bind::<Text, _>(json_list(&filter.queues));
    }
    if !filter.workers.is_empty() {
        q = q.bind::<Text, _>(json_list(&filter.workers));
    }
    q
}

fn json_list(values: &[String]) -> String {
    serde_json::Value::from(values.to_vec()).to_string()
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

/// What a prune pass of `limit` rows would take, by state and queue (lowest ids first, as the
/// delete takes them).
pub fn count_eligible(
    conn: &mut SqliteConnection,
    targets: &Targets,
    filter: &JobFilter,
    limit: u64,
) -> Result<Vec<(String, String, u64)>> {
    let sql = format!(
        "SELECT state, queue, count(*) AS count FROM \
           (SELECT state, queue FROM oban_jobs WHERE {} ORDER BY id LIMIT ?) \
         GROUP BY 1, 2 ORDER BY 1, 2",
        eligible_any(targets, filter)
    );
    let rows: Vec<StateQueueCount> = bind_targets(sql, targets, filter, limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.state, r.queue, r.count as u64))
        .collect())
}

/// `json_object(...)` over every column, JSON columns embedded as JSON when they parse.
fn row_json(columns: &[String]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|c| {
            let q = quote_ident(c);
            let key = c.replace('\'', "''");
            if JSON_COLUMNS.contains(&c.as_str()) {
                format!("'{key}', CASE WHEN json_valid({q}) THEN json({q}) ELSE {q} END")
            } else {
                format!("'{key}', {q}")
            }
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

/// Deletes up to `n` prunable rows with ids above `after_id`, lowest ids (oldest) first, in one
/// immediate transaction.
#[allow(clippy::too_many_arguments)]
pub fn delete_batch(
    conn: &mut SqliteConnection,
    schema: &Schema,
    targets: &Targets,
    filter: &JobFilter,
    n: u64,
    after_id: i64,
    archive: bool,
    sink: &mut dyn FnMut(&[DeletedRow]) -> Result<()>,
) -> Result<Vec<DeletedRow>> {
    let returning = if archive {
        row_json(&schema.columns)
    } else {
        "NULL".into()
    };
    let sql = format!(
        "DELETE FROM oban_jobs WHERE id IN \
           (SELECT id FROM oban_jobs WHERE id > ? AND {} ORDER BY id LIMIT ?) \
         RETURNING id, state, queue, {returning} AS row",
        eligible_any(targets, filter)
    );
    conn.immediate_transaction(|conn| {
        let mut q = sql_query(sql)
            .into_boxed::<Sqlite>()
            .bind::<BigInt, _>(after_id);
        for (_, cutoff) in targets {
            q = q.bind::<Text, _>(cutoff.clone());
        }
        let rows: Vec<DeletedRow> = bind_filter(q, filter)
            .bind::<BigInt, _>(n as i64)
            .load(conn)?;
        sink(&rows)?;
        Ok(rows)
    })
}

/// Whether the jobs table has any row.
pub fn has_jobs(conn: &mut SqliteConnection) -> Result<bool> {
    let rows: Vec<BoolValue> =
        sql_query("SELECT EXISTS (SELECT 1 FROM oban_jobs) AS value").load(conn)?;
    Ok(rows.first().is_some_and(|r| r.value))
}

/// Inserts jobs described by a JSON array; times are offsets in seconds from the clock.
pub fn insert_jobs(conn: &mut SqliteConnection, jobs_json: &str) -> Result<usize> {
    let field = |f: &str| format!("json_extract(value, '$.{f}')");
    let ts = |f: &str| {
        format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', json_extract(value, '$.{f}') || ' seconds')")
    };
    let sql = format!(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, max_attempts, priority, args, \
            meta, tags, errors, attempted_by, inserted_at, scheduled_at, attempted_at, \
            completed_at, cancelled_at, discarded_at) \
         SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {} \
         FROM json_each(?)",
        field("state"),
        field("queue"),
        field("worker"),
        field("attempt"),
        field("max_attempts"),
        field("priority"),
        field("args"),
        field("meta"),
        field("tags"),
        field("errors"),
        field("attempted_by"),
        ts("inserted"),
        ts("scheduled"),
        ts("attempted"),
        ts("completed"),
        ts("cancelled"),
        ts("discarded"),
    );
    Ok(diesel::Connection::transaction(conn, |conn| {
        sql_query(sql).bind::<Text, _>(jobs_json).execute(conn)
    })?)
}

const RESCUED_COLUMNS: &str = "id, queue, worker, attempt, max_attempts, \
    CASE WHEN json_valid(attempted_by) THEN json_extract(attempted_by, '$[0]') END AS node, \
    (julianday('now') - julianday(attempted_at)) * 86400.0 AS executing";

fn exhausted_sql(rule: &RescueRule) -> &'static str {
    if rule.retry_exhausted {
        "0"
    } else {
        "attempt >= max_attempts"
    }
}

/// The jobs a rescue would move (timeout rule), lowest id first.
pub fn rescue_candidates(
    conn: &mut SqliteConnection,
    rule: &RescueRule,
    filter: &JobFilter,
    limit: u64,
) -> Result<Vec<RescuedJob>> {
    let sql = format!(
        "SELECT {RESCUED_COLUMNS}, CASE WHEN {} THEN 'discarded' ELSE 'available' END AS state \
         FROM oban_jobs WHERE {} ORDER BY id LIMIT ?",
        exhausted_sql(rule),
        older_than("executing", "attempted_at", filter)
    );
    Ok(bind_eligible(sql, &rule.cutoff, filter)
        .bind::<BigInt, _>(limit as i64)
        .load(conn)?)
}

/// Moves up to `n` orphaned jobs (timeout rule) in one immediate transaction.
pub fn rescue_batch(
    conn: &mut SqliteConnection,
    rule: &RescueRule,
    filter: &JobFilter,
    n: u64,
) -> Result<Vec<RescuedJob>> {
    let exhausted = exhausted_sql(rule);
    let count =
        "CASE WHEN json_valid(meta) AND json_type(meta, '$.rescued') IN ('integer', 'real') \
                 THEN CAST(json_extract(meta, '$.rescued') AS INTEGER) ELSE 0 END";
    let sql = format!(
        "UPDATE oban_jobs SET \
           state = CASE WHEN {exhausted} THEN 'discarded' ELSE 'available' END, \
           discarded_at = CASE WHEN {exhausted} THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                          ELSE discarded_at END, \
           max_attempts = CASE WHEN attempt >= max_attempts AND NOT ({exhausted}) \
                          THEN attempt + 1 ELSE max_attempts END, \
           meta = CASE WHEN {exhausted} THEN meta \
                  ELSE json_set(CASE WHEN json_valid(meta) THEN meta ELSE '{{}}' END, \
                                '$.rescued', {count} + 1) END \
         WHERE id IN (SELECT id FROM oban_jobs WHERE {} ORDER BY id LIMIT ?) \
         RETURNING {RESCUED_COLUMNS}, state",
        older_than("executing", "attempted_at", filter)
    );
    conn.immediate_transaction(|conn| {
        Ok(bind_eligible(sql, &rule.cutoff, filter)
            .bind::<BigInt, _>(n as i64)
            .load(conn)?)
    })
}

/// A value bound to a `?` of a statement being built.
enum Param {
    Text(String),
    Real(f64),
    BigInt(i64),
}

/// A WHERE clause under construction: conditions joined by AND, each value a parameter (lists
/// are bound as one JSON array and opened with `json_each`).
struct Where {
    conditions: Vec<String>,
    params: Vec<Param>,
}

type Boxed = diesel::query_builder::BoxedSqlQuery<'static, Sqlite, diesel::query_builder::SqlQuery>;

impl Where {
    fn add(&mut self, sql: &str, param: Param) {
        self.conditions.push(sql.to_string());
        self.params.push(param);
    }

    fn list(&mut self, expr: &str, values: &[String]) {
        if !values.is_empty() {
            self.add(
                &format!("{expr} IN (SELECT value FROM json_each(?))"),
                Param::Text(json_list(values)),
            );
        }
    }

    fn sql(&self) -> String {
        if self.conditions.is_empty() {
            "1".into()
        } else {
            self.conditions.join(" AND ")
        }
    }

    fn bind(self, sql: String) -> Boxed {
        let mut q = sql_query(sql).into_boxed::<Sqlite>();
        for p in self.params {
            q = match p {
                Param::Text(v) => q.bind::<Text, _>(v),
                Param::Real(v) => q.bind::<diesel::sql_types::Double, _>(v),
                Param::BigInt(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }
}

/// The timestamp a job's age is measured on: the one given, or the one that fits its state.
fn time_expr(basis: Option<TimeBasis>) -> &'static str {
    match basis {
        Some(TimeBasis::Inserted) => "inserted_at",
        Some(TimeBasis::Scheduled) => "scheduled_at",
        Some(TimeBasis::Attempted) => "attempted_at",
        None => {
            "(CASE state WHEN 'executing' THEN attempted_at WHEN 'completed' THEN completed_at \
               WHEN 'cancelled' THEN cancelled_at WHEN 'discarded' THEN discarded_at \
               ELSE scheduled_at END)"
        }
    }
}

/// A JSON column, or an empty value of its kind when the text is not valid JSON.
fn json_or(column: &str, empty: &str) -> String {
    format!("CASE WHEN json_valid({column}) THEN {column} ELSE '{empty}' END")
}

/// The WHERE clause for a job query.
fn job_where(q: &JobQuery) -> Where {
    let mut w = Where {
        conditions: Vec::new(),
        params: Vec::new(),
    };
    if !q.ids.is_empty() {
        w.add(
            "id IN (SELECT value FROM json_each(?))",
            Param::Text(serde_json::Value::from(q.ids.clone()).to_string()),
        );
    }
    w.list("state", &q.states);
    w.list("queue", &q.queues);
    w.list("worker", &q.workers);
    let node = format!("json_extract({}, '$[0]')", json_or("attempted_by", "[]"));
    w.list(&node, &q.nodes);
    if !q.tags.is_empty() {
        w.add(
            &format!(
                "EXISTS (SELECT 1 FROM json_each({}) t \
                   WHERE t.value IN (SELECT value FROM json_each(?)))",
                json_or("tags", "[]")
            ),
            Param::Text(json_list(&q.tags)),
        );
    }
    if let Some(args) = &q.args {
        // Containment on top-level keys: every key of the filter object is in args with an
        // equal value. Scalars compare by value (1 and 1.0 are equal, true is not 1); nested
        // objects and arrays must match exactly, as JSON text with the same key order.
        w.add(
            &format!(
                "NOT EXISTS (SELECT 1 FROM json_each(?) f WHERE NOT EXISTS (\
                   SELECT 1 FROM json_each({}) a WHERE a.key = f.key AND a.value IS f.value \
                     AND (a.type = f.type OR (a.type IN ('integer', 'real') \
                                              AND f.type IN ('integer', 'real')))))",
                json_or("args", "{}")
            ),
            Param::Text(args.clone()),
        );
    }
    let ts = time_expr(q.basis);
    if let Some(secs) = q.older_than {
        w.add(
            &format!("julianday({ts}) < julianday('now') - ? / 86400.0"),
            Param::Real(secs),
        );
    }
    if let Some(secs) = q.newer_than {
        w.add(
            &format!("julianday({ts}) >= julianday('now') - ? / 86400.0"),
            Param::Real(secs),
        );
    }
    if let Some(secs) = q.stuck_after {
        w.add(
            "state = 'executing' AND julianday(attempted_at) < julianday('now') - ? / 86400.0",
            Param::Real(secs),
        );
    }
    w
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Id => "id",
        SortKey::Inserted => "julianday(inserted_at)",
        SortKey::Scheduled => "julianday(scheduled_at)",
        SortKey::Attempted => "julianday(attempted_at)",
        SortKey::State => "state",
        SortKey::Queue => "queue",
        SortKey::Worker => "worker",
        SortKey::Attempt => "attempt",
    }
}

/// Every column as one JSON object, JSON columns embedded, times normalised to end in `Z`.
fn job_json() -> String {
    let json = |c: &str| format!("'{c}', CASE WHEN json_valid({c}) THEN json({c}) ELSE {c} END");
    let ts = |c: &str| {
        format!(
            "'{c}', CASE WHEN {c} IS NULL OR {c} LIKE '%Z' THEN {c} \
               ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {c}) END"
        )
    };
    format!(
        "json_object('id', id, 'state', state, 'queue', queue, 'worker', worker, \
           'attempt', attempt, 'max_attempts', max_attempts, 'priority', priority, \
           {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        json("args"),
        json("meta"),
        json("tags"),
        json("errors"),
        json("attempted_by"),
        ts("inserted_at"),
        ts("scheduled_at"),
        ts("attempted_at"),
        ts("cancelled_at"),
        ts("completed_at"),
        ts("discarded_at"),
    )
}

/// Jobs matching `q` (a plain read: nothing here writes).
pub fn find_jobs(conn: &mut SqliteConnection, q: &JobQuery) -> Result<Vec<JobJson>> {
    let mut w = job_where(q);
    let dir = if q.desc { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {row} AS json, (julianday('now') - julianday({ts})) * 86400.0 AS age \
         FROM oban_jobs WHERE {cond} ORDER BY {sort} {dir} NULLS LAST, id {dir} LIMIT ?",
        row = job_json(),
        ts = time_expr(q.basis),
        cond = w.sql(),
        sort = sort_column(q.sort),
    );
    w.params
        .push(Param::BigInt(q.limit.min(i64::MAX as u64) as i64));
    Ok(w.bind(sql).load(conn)?)
}

/// Applies an action to the eligible rows among `ids` in one immediate transaction (SQLite's
/// write lock: nothing else can change them between the read and the write).
pub fn act_batch(
    conn: &mut SqliteConnection,
    action: JobAction,
    ids: &[i64],
    eligible: &[&str],
) -> Result<Vec<ActedJob>> {
    let now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
    let change = match action {
        JobAction::Retry => format!(
            "UPDATE oban_jobs SET state = 'available', scheduled_at = {now}, \
               max_attempts = max(max_attempts, attempt + 1), \
               completed_at = NULL, cancelled_at = NULL, discarded_at = NULL"
        ),
        JobAction::Cancel => {
            format!("UPDATE oban_jobs SET state = 'cancelled', cancelled_at = {now}")
        }
        JobAction::Delete => "DELETE FROM oban_jobs".to_string(),
    };
    let ids = serde_json::Value::from(ids.to_vec()).to_string();
    let eligible: Vec<String> = eligible.iter().map(|s| s.to_string()).collect();
    let eligible = json_list(&eligible);
    conn.immediate_transaction(|conn| {
        let mut rows: Vec<ActedJob> = sql_query(
            "SELECT id, state, queue, worker, attempt, max_attempts FROM oban_jobs \
             WHERE id IN (SELECT value FROM json_each(?)) \
               AND state IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind::<Text, _>(&ids)
        .bind::<Text, _>(&eligible)
        .load(conn)?;
        let picked = serde_json::Value::from(rows.iter().map(|r| r.id).collect::<Vec<_>>());
        sql_query(format!(
            "{change} WHERE id IN (SELECT value FROM json_each(?))"
        ))
        .bind::<Text, _>(picked.to_string())
        .execute(conn)?;
        if action == JobAction::Retry {
            for r in &mut rows {
                r.max_attempts = r.max_attempts.max(r.attempt + 1);
            }
        }
        Ok(rows)
    })
}

/// The state of each existing job among `ids`.
pub fn job_states(conn: &mut SqliteConnection, ids: &[i64]) -> Result<Vec<JobStateRow>> {
    Ok(sql_query(
        "SELECT id, state FROM oban_jobs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
    )
    .bind::<Text, _>(serde_json::Value::from(ids.to_vec()).to_string())
    .load(conn)?)
}
