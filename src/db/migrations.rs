//! The embedded schema migrations and the rules for running them on a database that may
//! already have an Oban schema made by oban-py or Elixir Oban.

use anyhow::{anyhow, Context, Result};
use diesel::sql_types::Text;
use diesel::{sql_query, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{quote_ident, BoolValue, Db, Flavour};

/// The oban-py shape, for PostgreSQL.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// The Lite shape, for SQLite.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// What `migrate` found and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrateReport {
    /// Always "migrate".
    pub command: &'static str,
    /// Whether nothing was run on purpose.
    pub dry_run: bool,
    /// The schema migrated (`main` on SQLite).
    pub prefix: String,
    /// A schema made by another installer that was left alone, if any.
    pub existing: Option<Flavour>,
    /// Migrations applied (or, in a dry run, that would be).
    pub migrations: Vec<String>,
}

fn names(source: &EmbeddedMigrations) -> Result<Vec<String>> {
    use diesel::migration::MigrationSource;
    let all = MigrationSource::<diesel::pg::Pg>::migrations(source).map_err(|e| anyhow!("{e}"))?;
    Ok(all.iter().map(|m| m.name().to_string()).collect())
}

/// Installs or upgrades the schema under `prefix`.
pub fn migrate(db: &mut Db, prefix: &str, dry_run: bool) -> Result<MigrateReport> {
    let shown_prefix = match db {
        Db::Pg(_) => prefix.to_string(),
        Db::Sqlite(_) => "main".to_string(),
    };
    let report = |existing, migrations| MigrateReport {
        command: "migrate",
        dry_run,
        prefix: shown_prefix.clone(),
        existing,
        migrations,
    };
    let ours = has_migration_table(db, prefix)?;
    let existing = match db.schema(prefix) {
        Ok(schema) => Some(schema.flavour),
        Err(_) if !jobs_table_exists(db, prefix)? => None,
        Err(e) => return Err(e),
    };
    if let (Some(flavour), false) = (existing, ours) {
        // Installed by oban-py, Elixir Oban or by hand: it is theirs to upgrade, not ours.
        return Ok(report(Some(flavour), Vec::new()));
    }
    if dry_run && !ours {
        let source = match db {
            Db::Pg(_) => POSTGRES,
            Db::Sqlite(_) => SQLITE,
        };
        return Ok(report(None, names(&source)?));
    }
    if let Db::Pg(c) = db {
        if !dry_run {
            sql_query(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(prefix)
            ))
            .execute(c)
            .with_context(|| format!("creating schema {prefix}"))?;
        }
    }
    let pending = match db {
        Db::Pg(c) => with_search_path(c, prefix, |c| apply(c, POSTGRES, dry_run))?,
        Db::Sqlite(c) => apply(c, SQLITE, dry_run).context("running migrations")?,
    };
    Ok(report(None, pending))
}

/// Lists the pending migrations and, unless `dry_run`, runs them.
fn apply<C: MigrationHarness<DB>, DB: diesel::backend::Backend>(
    conn: &mut C,
    source: EmbeddedMigrations,
    dry_run: bool,
) -> Result<Vec<String>> {
    let pending = conn
        .pending_migrations(source)
        .map_err(|e| anyhow!("{e}"))?;
    if !dry_run {
        conn.run_migrations(&pending).map_err(|e| anyhow!("{e}"))?;
    }
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

fn with_search_path<T>(
    conn: &mut diesel::pg::PgConnection,
    prefix: &str,
    work: impl FnOnce(&mut diesel::pg::PgConnection) -> Result<T>,
) -> Result<T> {
    sql_query(format!("SET search_path TO {}", quote_ident(prefix))).execute(conn)?;
    let result = work(conn);
    sql_query("RESET search_path").execute(conn)?;
    result.with_context(|| format!("running migrations in schema {prefix}"))
}

fn has_migration_table(db: &mut Db, prefix: &str) -> Result<bool> {
    table_exists(db, prefix, "__diesel_schema_migrations")
}

fn jobs_table_exists(db: &mut Db, prefix: &str) -> Result<bool> {
    table_exists(db, prefix, "oban_jobs")
}

fn table_exists(db: &mut Db, prefix: &str, name: &str) -> Result<bool> {
    let rows: Vec<BoolValue> = match db {
        Db::Pg(c) => sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2) AS value",
        )
        .bind::<Text, _>(prefix)
        .bind::<Text, _>(name)
        .load(c)?,
        Db::Sqlite(c) => sql_query(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?) AS value",
        )
        .bind::<Text, _>(name)
        .load(c)?,
    };
    Ok(rows.first().is_some_and(|r| r.value))
}
