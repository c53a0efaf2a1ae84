//! Control signals on PostgreSQL: the NOTIFY that oban-py and Elixir Oban's PostgreSQL notifier
//! listen for on `<prefix>.oban_signal`, and what oban-py's producers record in answer
//! (`oban_producers.meta`: `paused`, `local_limit`, refreshed when the state changes).

use anyhow::{Context, Result};
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::RunQueryDsl;

use super::{table, Pg, PgSql, NOW};
use crate::db::Schema;

/// The channel both notifiers listen on: the prefix as the application spells it, unquoted.
pub fn channel(prefix: &str) -> String {
    format!("{prefix}.oban_signal")
}

/// Sends each payload (a JSON object) as one notification on the signal channel. Plain JSON
/// text is what both notifiers accept besides their own compressed form.
pub fn notify(conn: &mut Pg, prefix: &str, payloads: &[serde_json::Value]) -> Result<()> {
    let texts: Vec<String> = payloads.iter().map(|p| p.to_string()).collect();
    let mut sql = PgSql::new();
    let channel = sql.bind(channel(prefix));
    let payloads = sql.bind(&texts);
    sql.push(&format!(
        "SELECT pg_notify({channel}, p) FROM unnest({payloads}::text[]) AS p"
    ));
    sql.query()
        .execute(conn)
        .context("sending the signal (pg_notify)")?;
    Ok(())
}

/// One row of `oban_producers`, with what its meta says and the jobs it runs now.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct ProducerRow {
    /// The producer's id.
    #[diesel(sql_type = Text)]
    pub uuid: String,
    /// The Oban instance name (`Oban` by default).
    #[diesel(sql_type = Text)]
    pub name: String,
    /// The node.
    #[diesel(sql_type = Text)]
    pub node: String,
    /// The queue.
    #[diesel(sql_type = Text)]
    pub queue: String,
    /// `meta.paused`, when recorded.
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    pub paused: Option<bool>,
    /// `meta.local_limit`, when recorded.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub limit: Option<i64>,
    /// Executing jobs of this queue attempted by this producer.
    #[diesel(sql_type = BigInt)]
    pub running: i64,
    /// The last heartbeat (`updated_at`), RFC 3339.
    #[diesel(sql_type = Text)]
    pub heartbeat: String,
    /// Seconds since the last heartbeat.
    #[diesel(sql_type = Double)]
    pub silent_for: f64,
}

/// The producers of `queues` (every queue when empty) on `node` (any when `None`), by queue,
/// node and name. Needs `oban_producers` (oban-py); the caller checks `schema.has_producers`.
pub fn producers(
    conn: &mut Pg,
    schema: &Schema,
    queues: &[String],
    node: Option<&str>,
) -> Result<Vec<ProducerRow>> {
    let mut sql = PgSql::new();
    let mut cond = vec!["true".to_string()];
    if !queues.is_empty() {
        cond.push(format!("p.queue = ANY({}::text[])", sql.bind(queues)));
    }
    if let Some(node) = node {
        cond.push(format!("p.node = {}", sql.bind(node)));
    }
    // `meta` values are read as text first: a producer that wrote something unexpected there
    // shows as unknown instead of failing the whole listing.
    sql.push(&format!(
        "SELECT p.uuid::text AS uuid, p.name, p.node, p.queue, \
           CASE p.meta->>'paused' WHEN 'true' THEN true WHEN 'false' THEN false END AS paused, \
           CASE WHEN p.meta->>'local_limit' ~ '^[0-9]{{1,18}}$' \
             THEN (p.meta->>'local_limit')::bigint END AS limit, \
           (SELECT count(*) FROM {jobs} j WHERE j.state = 'executing' AND j.queue = p.queue \
              AND j.attempted_by[2] = p.uuid::text) AS running, \
           to_char(p.updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS heartbeat, \
           extract(epoch FROM {NOW} - p.updated_at)::float8 AS silent_for \
         FROM {producers} p WHERE {cond} ORDER BY p.queue, p.node, p.name, p.uuid",
        jobs = table(&schema.prefix, "oban_jobs"),
        producers = table(&schema.prefix, "oban_producers"),
        cond = cond.join(" AND "),
    ));
    sql.query().load(conn).context("reading oban_producers")
}

/// Marks executing jobs cancelled as Elixir Oban's own cancel does (the row first, then the
/// `pkill` signal); oban-py instead leaves the row to the worker, which records the cancel.
/// Returns the ids changed.
pub fn mark_cancelled(conn: &mut Pg, schema: &Schema, ids: &[i64]) -> Result<Vec<i64>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut sql = PgSql::new();
    let ids = sql.bind(ids);
    // A row the node holds locked right now (acknowledging it) is skipped, not waited for: the
    // pkill that follows still reaches the job.
    sql.push(&format!(
        "WITH batch AS MATERIALIZED (SELECT id FROM {jobs} WHERE id = ANY({ids}::bigint[]) \
           AND state = 'executing' FOR UPDATE SKIP LOCKED) \
         UPDATE {jobs} AS j SET state = 'cancelled', cancelled_at = {NOW} FROM batch b \
         WHERE j.id = b.id AND j.state = 'executing' RETURNING j.id",
        jobs = table(&schema.prefix, "oban_jobs"),
    ));
    let rows: Vec<Id> = sql
        .query()
        .load(conn)
        .context("marking executing jobs cancelled")?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
