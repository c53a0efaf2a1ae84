//! Installing the oban-py schema on PostgreSQL, under any schema name.

use anyhow::{Context, Result};
use diesel::{sql_query, RunQueryDsl};

use super::{Pg, PgSql};
use crate::db::catalog::BoolValue;
use crate::db::migrations::{apply, names, Migrate, POSTGRES};
use crate::db::quote_ident;

/// The partitioned layout in oban-py's shape (`migrate --partitioned`), its parent named
/// `@PARENT@`.
const PARTITIONED_SQL: &str = include_str!("sql/partitioned.sql");
/// The oban-py schema, whose tail (from `oban_leaders` on) is what a partitioned layout needs
/// beside its `oban_jobs`: the other tables, made only where missing, and the count function.
const SCHEMA_SQL: &str =
    include_str!("../../../migrations/postgres/2026-01-01-000000_oban_schema/up.sql");

/// The tables and function oban-py keeps beside `oban_jobs`: the schema's statements from the
/// `oban_leaders` table on.
fn extras_sql() -> &'static str {
    let start = SCHEMA_SQL
        .find("CREATE UNLOGGED TABLE IF NOT EXISTS oban_leaders")
        .expect("the schema migration creates oban_leaders");
    &SCHEMA_SQL[start..]
}

/// Creates the partitioned layout under `prefix` with its parent named `parent` (a fixed name
/// of ours, never user text), in one transaction; with `extras`, oban-py's other tables and
/// its count function too.
pub fn create_layout(conn: &mut Pg, prefix: &str, parent: &str, extras: bool) -> Result<()> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let schema = quote_ident(prefix);
    let parent = quote_ident(parent);
    conn.transaction(|conn| {
        conn.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema}"
        ))?;
        conn.batch_execute(&PARTITIONED_SQL.replace("@PARENT@", &parent))?;
        if extras {
            conn.batch_execute(extras_sql())?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .with_context(|| format!("creating a partitioned table in schema {prefix}"))
}

impl Migrate for Pg {
    fn shown_prefix(&self, prefix: &str) -> String {
        prefix.to_string()
    }

    fn table_exists(&mut self, prefix: &str, name: &str) -> Result<bool> {
        let mut sql = PgSql::new();
        let (schema, table) = (sql.bind(prefix), sql.bind(name));
        sql.push(&format!(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {schema} AND c.relname = {table}) AS value"
        ));
        let rows: Vec<BoolValue> = sql.query().load(self)?;
        Ok(rows.first().is_some_and(|r| r.value))
    }

    fn all_migrations(&self) -> Result<Vec<String>> {
        names(&POSTGRES)
    }

    fn create_partitioned(&mut self, prefix: &str) -> Result<()> {
        create_layout(self, prefix, "oban_jobs", true)
    }

    fn run_pending(&mut self, prefix: &str, dry_run: bool) -> Result<Vec<String>> {
        if !dry_run {
            sql_query(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(prefix)
            ))
            .execute(self)
            .with_context(|| format!("creating schema {prefix}"))?;
        }
        // diesel's migration table and the migrations' own tables land in the search path.
        sql_query(format!("SET search_path TO {}", quote_ident(prefix))).execute(self)?;
        let result = apply(self, POSTGRES, dry_run);
        sql_query("RESET search_path").execute(self)?;
        result.with_context(|| format!("running migrations in schema {prefix}"))
    }
}
