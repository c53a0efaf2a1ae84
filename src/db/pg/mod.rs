//! PostgreSQL: the connection and its session settings; one file per feature beside it. Values
//! are always bound parameters; the only text spliced into SQL is the quoted prefix and fixed
//! state and column names from the job vocabulary.

mod catalog;
pub use catalog::oban_schemas;
pub mod cells;
mod doctor;
mod doctor_holders;
mod doctor_parts;
mod eligible;
pub mod exact;
pub mod figures;
pub mod find;
mod jobs;
mod maintain;
mod migrate;
pub mod move_jobs;
pub mod move_switch;
pub mod moved;
mod partitions;
mod prune;
pub mod refine;
pub mod replication;
mod rescue;
pub mod sample;
pub mod signal;
pub mod stats;
mod walk;

use anyhow::{Context, Result};
use diesel::connection::SimpleConnection;
use diesel::pg::{Pg as Backend, PgConnection};
use diesel::Connection;

use super::sql::Sql;
use super::{quote_ident, SessionLimits};
use crate::dsn::Dsn;

/// A statement for PostgreSQL.
pub type PgSql = Sql<Backend>;

/// The database clock, in the zone-less UTC that Oban's timestamps use.
pub const NOW: &str = "timezone('UTC', now())";

/// Where distributions put the server's Unix socket, in the order they are tried for a DSN
/// without a host.
const SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/run/postgresql", "/tmp"];

/// The connection type the engine's traits are implemented on.
pub type Pg = PgConnection;

/// Connects and applies timeouts and a recognisable application name.
pub fn connect(dsn: &Dsn, limits: SessionLimits) -> Result<Pg> {
    let env = |key: &str| std::env::var(key).ok();
    let target = crate::dsn::with_connect_timeout(
        &dsn.libpq_target(SOCKET_DIRS, &env),
        crate::defaults::CONNECT_TIMEOUT_SECS,
        &env,
    );
    let mut conn =
        PgConnection::establish(&target).with_context(|| format!("connecting to {dsn}"))?;
    let lock_ms = limits.lock_timeout.as_millis();
    let stmt_ms = limits.statement_timeout.as_millis();
    // Integers formatted by us, not user text: SET does not take bind parameters.
    conn.batch_execute(&format!(
        "SET lock_timeout = {lock_ms}; SET statement_timeout = {stmt_ms}; \
         SET idle_in_transaction_session_timeout = {stmt_ms}; SET application_name = 'oban-cli'"
    ))
    .with_context(|| format!("setting up the session on {dsn}"))?;
    Ok(conn)
}

/// `"prefix".name`
pub fn table(prefix: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(prefix), quote_ident(name))
}
