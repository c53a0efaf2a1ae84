//! PostgreSQL's catalog, clock, advisory locks, counts and test-row inserts.

use anyhow::{bail, Result};
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::{table, Pg, PgSql, NOW};
use crate::db::catalog::{missing_columns, BoolValue, Catalog, QueueStateCount, Schema, TextValue};
use crate::model::{FinalState, Flavour, JobState};

#[derive(QueryableByName)]
struct CatalogRow {
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
    #[diesel(sql_type = Array<Text>)]
    states: Vec<String>,
    #[diesel(sql_type = BigInt)]
    oid: i64,
    #[diesel(sql_type = Bool)]
    partitioned: bool,
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

impl Catalog for Pg {
    fn detect(&mut self, prefix: &str) -> Result<Option<Schema>> {
        let mut q = PgSql::new();
        let schema_name = q.bind(prefix);
        q.push(&format!(
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
                      WHERE i.indrelid = c.oid AND i.indisvalid) AS indexes, \
               ARRAY(SELECT e.enumlabel::text FROM pg_attribute a \
                      JOIN pg_enum e ON e.enumtypid = a.atttypid \
                      WHERE a.attrelid = c.oid AND a.attname = 'state' \
                      ORDER BY e.enumsortorder) AS states, \
               c.oid::int8 AS oid, c.relkind = 'p' AS partitioned \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {schema_name} AND c.relname = 'oban_jobs' AND c.relkind IN ('r', 'p')"
        ));
        let rows: Vec<CatalogRow> = q.query().load(self)?;
        let Some(cat) = rows.into_iter().next() else {
            return Ok(None);
        };
        let missing = missing_columns(&cat.columns);
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
        // A partitioned table's indexes that serve a final state sit on its leaves; its
        // leaves are read from the catalog (never guessed from names).
        let partitions = if cat.partitioned {
            Some(super::partitions::layout(self, cat.oid)?)
        } else {
            None
        };
        let indexed = FinalState::ALL
            .into_iter()
            .filter(|s| cat.indexes.iter().any(|def| index_serves(def, s.column())))
            .collect();
        Ok(Some(Schema {
            prefix: prefix.to_string(),
            flavour,
            partitions,
            has_producers: cat.has_producers,
            leader_table: cat.leader_table,
            estimated_rows: (cat.reltuples >= 0.0).then_some(cat.reltuples),
            indexed_final_states: indexed,
            columns: cat.columns,
            // A text state column (no enum) holds any state.
            states: if cat.states.is_empty() {
                JobState::ALL.to_vec()
            } else {
                JobState::ALL
                    .into_iter()
                    .filter(|s| cat.states.iter().any(|l| l == s.name()))
                    .collect()
            },
        }))
    }

    fn missing_table(&self, prefix: &str) -> String {
        format!(
            "no oban_jobs table in schema \"{prefix}\" (searched {prefix}.oban_jobs): \
             check --prefix / OBAN_PREFIX, or run `oban migrate` to create it"
        )
    }

    fn cutoffs(&mut self, ages: &[f64]) -> Result<Vec<String>> {
        let mut sql = PgSql::new();
        let ages = sql.bind(ages);
        sql.push(&format!(
            "SELECT to_char({NOW} - make_interval(secs => a), \
                    'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS value \
             FROM unnest({ages}::float8[]) WITH ORDINALITY AS t(a, i) ORDER BY i"
        ));
        let rows: Vec<TextValue> = sql.query().load(self)?;
        Ok(rows.into_iter().map(|r| r.value).collect())
    }

    fn try_lock(&mut self, key: i64) -> Result<bool> {
        let mut sql = PgSql::new();
        let key = sql.bind(key);
        sql.push(&format!("SELECT pg_try_advisory_lock({key}) AS value"));
        let rows: Vec<BoolValue> = sql.query().load(self)?;
        Ok(rows.first().is_some_and(|r| r.value))
    }

    fn unlock(&mut self, key: i64) -> Result<()> {
        let mut sql = PgSql::new();
        let key = sql.bind(key);
        sql.push(&format!("SELECT pg_advisory_unlock({key})"));
        sql.query().execute(self)?;
        Ok(())
    }

    fn counts(&mut self, schema: &Schema) -> Result<Vec<QueueStateCount>> {
        Ok(sql_query(format!(
            "SELECT queue, state::text AS state, count(*) AS count FROM {} \
             GROUP BY queue, oban_jobs.state ORDER BY 1, 2",
            table(&schema.prefix, "oban_jobs")
        ))
        .load(self)?)
    }

    fn has_jobs(&mut self, schema: &Schema) -> Result<bool> {
        let rows: Vec<BoolValue> = sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM {}) AS value",
            table(&schema.prefix, "oban_jobs")
        ))
        .load(self)?;
        Ok(rows.first().is_some_and(|r| r.value))
    }

    fn insert_jobs(&mut self, schema: &Schema, jobs_json: &str) -> Result<usize> {
        let ts = |field: &str| format!("{NOW} + make_interval(secs => x.{field})");
        // PostgreSQL turns JSON arrays into SQL arrays by the record's column types.
        let errors_type = match schema.flavour {
            Flavour::Elixir => "jsonb[]",
            _ => "jsonb",
        };
        let mut sql = PgSql::new();
        let json = sql.bind(jobs_json);
        sql.push(&format!(
            "INSERT INTO {jobs} (state, queue, worker, attempt, max_attempts, priority, args, meta, \
                tags, errors, attempted_by, inserted_at, scheduled_at, attempted_at, completed_at, \
                cancelled_at, discarded_at) \
             SELECT x.state::{enum_type}, x.queue, x.worker, x.attempt, x.max_attempts, x.priority, \
                x.args, x.meta, x.tags, x.errors, x.attempted_by, {times} \
             FROM jsonb_to_recordset({json}::jsonb) AS x(state text, queue text, worker text, \
                attempt int, max_attempts int, priority int, args jsonb, meta jsonb, tags text[], \
                errors {errors_type}, attempted_by text[], inserted float8, scheduled float8, \
                attempted float8, completed float8, cancelled float8, discarded float8)",
            jobs = table(&schema.prefix, "oban_jobs"),
            enum_type = table(&schema.prefix, "oban_job_state"),
            times = ["inserted", "scheduled", "attempted", "completed", "cancelled", "discarded"]
                .map(ts)
                .join(", "),
        ));
        Ok(sql.query().execute(self)?)
    }

    fn insert_producers(&mut self, schema: &Schema, json: &str) -> Result<()> {
        let mut sql = PgSql::new();
        let json = sql.bind(json);
        sql.push(&format!(
            "INSERT INTO {} (uuid, name, node, queue, meta, started_at, updated_at) \
             SELECT x.uuid::uuid, 'oban', x.node, x.queue, '{{}}', {NOW} - interval '1 hour', {NOW} \
             FROM jsonb_to_recordset({json}::jsonb) AS x(uuid text, node text, queue text) \
             ON CONFLICT (uuid) DO UPDATE SET updated_at = excluded.updated_at",
            table(&schema.prefix, "oban_producers")
        ));
        sql.query().execute(self)?;
        Ok(())
    }
}

/// Every schema holding an Oban jobs table (`oban_jobs`, plain or partitioned, never a leaf),
/// by name; PostgreSQL's own schemas are left out.
pub fn oban_schemas(conn: &mut Pg) -> Result<Vec<String>> {
    let mut sql = PgSql::new();
    sql.push(
        "SELECT n.nspname::text AS value FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relname = 'oban_jobs' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
            AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' \
          ORDER BY 1",
    );
    let rows: Vec<TextValue> = sql.query().load(conn)?;
    Ok(rows.into_iter().map(|r| r.value).collect())
}
