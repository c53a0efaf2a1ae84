//! The embedded schema migrations and the rules for running them on a database that may
//! already have an Oban schema made by oban-py or Elixir Oban.

use anyhow::Result;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Db, Flavour};

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
    /// Whether the schema left alone holds a partitioned `oban_jobs`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partitioned: bool,
    /// Migrations applied (or, in a dry run, that would be).
    pub migrations: Vec<String>,
}

/// The names of every migration in `source`.
pub fn names(source: &EmbeddedMigrations) -> Result<Vec<String>> {
    use diesel::migration::MigrationSource;
    let all =
        MigrationSource::<diesel::pg::Pg>::migrations(source).map_err(anyhow::Error::from_boxed)?;
    Ok(all.iter().map(|m| m.name().to_string()).collect())
}

/// Lists the pending migrations and, unless `dry_run`, runs them.
pub fn apply<C: MigrationHarness<DB>, DB: diesel::backend::Backend>(
    conn: &mut C,
    source: EmbeddedMigrations,
    dry_run: bool,
) -> Result<Vec<String>> {
    let pending = conn
        .pending_migrations(source)
        .map_err(anyhow::Error::from_boxed)?;
    if !dry_run {
        conn.run_migrations(&pending)
            .map_err(anyhow::Error::from_boxed)?;
    }
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

/// What `migrate` asks of an engine.
pub trait Migrate {
    /// The schema name as reports show it (SQLite has one schema, `main`).
    fn shown_prefix(&self, prefix: &str) -> String;
    /// Whether a table `name` exists under `prefix`.
    fn table_exists(&mut self, prefix: &str, name: &str) -> Result<bool>;
    /// Every embedded migration of this engine, by name.
    fn all_migrations(&self) -> Result<Vec<String>>;
    /// Runs the pending migrations under `prefix` (creating the schema first where schemas
    /// exist), or with `dry_run` only lists them.
    fn run_pending(&mut self, prefix: &str, dry_run: bool) -> Result<Vec<String>>;
    /// Creates a partitioned `oban_jobs` in oban-py's shape under `prefix`, with today's leaf
    /// of each final state (PostgreSQL only).
    fn create_partitioned(&mut self, _prefix: &str) -> Result<()> {
        Err(crate::error::usage(
            "--partitioned: partitioned tables are PostgreSQL's; SQLite has none",
        ))
    }
}

/// What `migrate --partitioned` made: the table and today's leaves; `oban partitions` adds
/// the coming days'.
pub const PARTITIONED: &str =
    "partitioned oban_jobs (oban-py's columns; LIST by state, final states by day)";

/// `migrate --partitioned`: creates the partitioned layout where there is no `oban_jobs`;
/// leaves a partitioned one alone; refuses an ordinary one (`--from` moves its jobs, in
/// `commands/migrate/from.rs`).
pub fn migrate_partitioned(db: &mut Db, prefix: &str, dry_run: bool) -> Result<MigrateReport> {
    let shown_prefix = db.shown_prefix(prefix);
    let mut report = MigrateReport {
        command: "migrate",
        dry_run,
        prefix: shown_prefix.clone(),
        existing: None,
        partitioned: true,
        migrations: Vec::new(),
    };
    if db.table_exists(prefix, "oban_jobs")? {
        let schema = db.schema(prefix)?;
        if schema.partitions.is_none() {
            anyhow::bail!(
                "--partitioned: schema {shown_prefix} already has an ordinary oban_jobs; \
                 `oban migrate --partitioned --from {shown_prefix}` moves its jobs into the \
                 partitioned layout"
            );
        }
        report.existing = Some(schema.flavour);
        return Ok(report);
    }
    if !dry_run {
        db.create_partitioned(prefix)?;
    }
    report.migrations.push(PARTITIONED.to_string());
    Ok(report)
}

/// Installs or upgrades the schema under `prefix`.
pub fn migrate(db: &mut Db, prefix: &str, dry_run: bool) -> Result<MigrateReport> {
    let shown_prefix = db.shown_prefix(prefix);
    let mut partitioned = false;
    let ours = db.table_exists(prefix, "__diesel_schema_migrations")?;
    let existing = match db.schema(prefix) {
        Ok(schema) => {
            partitioned = schema.partitions.is_some();
            Some(schema.flavour)
        }
        Err(_) if !db.table_exists(prefix, "oban_jobs")? => None,
        Err(e) => return Err(e),
    };
    let report = |existing, migrations| MigrateReport {
        command: "migrate",
        dry_run,
        prefix: shown_prefix.clone(),
        existing,
        partitioned,
        migrations,
    };
    if let (Some(flavour), false) = (existing, ours) {
        // Installed by oban-py, Elixir Oban or by hand: it is theirs to upgrade, not ours.
        return Ok(report(Some(flavour), Vec::new()));
    }
    if dry_run && !ours {
        return Ok(report(None, db.all_migrations()?));
    }
    let pending = db.run_pending(prefix, dry_run)?;
    Ok(report(None, pending))
}
