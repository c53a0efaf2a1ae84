//! Installing the Lite schema in a SQLite file.

use anyhow::{Context, Result};
use diesel::RunQueryDsl;

use super::{Lite, LiteSql};
use crate::db::catalog::BoolValue;
use crate::db::migrations::{apply, names, Migrate, SQLITE};

impl Migrate for Lite {
    fn shown_prefix(&self, _prefix: &str) -> String {
        "main".to_string()
    }

    fn table_exists(&mut self, _prefix: &str, name: &str) -> Result<bool> {
        let mut sql = LiteSql::new();
        let name = sql.bind(name);
        sql.push(&format!(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {name}) AS value"
        ));
        let rows: Vec<BoolValue> = sql.query().load(self)?;
        Ok(rows.first().is_some_and(|r| r.value))
    }

    fn all_migrations(&self) -> Result<Vec<String>> {
        names(&SQLITE)
    }

    fn run_pending(&mut self, _prefix: &str, dry_run: bool) -> Result<Vec<String>> {
        apply(self, SQLITE, dry_run).context("running migrations")
    }
}
