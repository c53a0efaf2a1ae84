//! SQLite (Oban Lite): the connection and its busy timeout; one file per feature beside it.
//! Timestamps are ISO-8601 text, compared through `julianday` so that values with and without
//! fractional seconds order correctly. Lists are bound as one JSON text and opened with
//! `json_each`, so any number of values is one parameter.

mod catalog;
mod doctor;
pub mod find;
mod jobs;
mod migrate;
mod prune;
mod rescue;
pub mod stats;

use anyhow::{anyhow, Context, Result};
use diesel::sqlite::{Sqlite as Backend, SqliteConnection};
use diesel::{Connection, RunQueryDsl};

use super::sql::Sql;
use super::{JobFilter, SessionLimits};
use crate::dsn::Dsn;

/// A statement for SQLite.
pub type LiteSql = Sql<Backend>;

/// The clock as Lite writes timestamps.
pub const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// The connection type the engine's traits are implemented on.
pub type Lite = SqliteConnection;

/// Opens the file. `create` allows a missing file to be created (migrate, demo); otherwise
/// a missing file is an error rather than a new empty database.
pub fn connect(dsn: &Dsn, limits: SessionLimits, create: bool) -> Result<Lite> {
    let path = std::path::Path::new(&dsn.target);
    if !create && !path.exists() {
        return Err(anyhow!(
            "SQLite database {} does not exist (run `oban migrate` to create it)",
            path.display()
        ));
    }
    let mut conn =
        SqliteConnection::establish(&dsn.target).with_context(|| format!("opening {dsn}"))?;
    // The busy timeout is SQLite's lock timeout.
    let ms = limits.lock_timeout.as_millis();
    diesel::sql_query(format!("PRAGMA busy_timeout = {ms}"))
        .execute(&mut conn)
        .with_context(|| format!("opening {dsn}"))?;
    Ok(conn)
}

/// Rows in `state` whose `column` is older than `cutoff` (a placeholder), filtered.
fn older_than(sql: &mut LiteSql, state: &str, column: &str, cutoff: &str, f: &JobFilter) -> String {
    format!(
        "state = '{state}' AND julianday({column}) < julianday({cutoff}){}",
        f.sql(sql, "")
    )
}
