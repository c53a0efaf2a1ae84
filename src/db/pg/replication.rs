//! What the server says about its standbys, its replication slots and the WAL it has written:
//! the figures `prune`'s throttles wait on.

use anyhow::{Context, Result};
use diesel::sql_types::{Bool, Double, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::Pg;

/// One standby streaming from this server.
#[derive(Debug, Clone, QueryableByName)]
pub struct Standby {
    /// Its `application_name`, else its address, else the sender's pid.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Bytes of WAL written here and not yet replayed there; None when the standby has not
    /// reported a position yet.
    #[diesel(sql_type = Nullable<Double>)]
    pub behind_bytes: Option<f64>,
    /// The last replayed position it reported, as text (to see whether replay moves).
    #[diesel(sql_type = Nullable<Text>)]
    pub replay_lsn: Option<String>,
    /// `replay_lag` in seconds: measured only when replay reports progress, so it stops
    /// growing while replay is paused or stuck.
    #[diesel(sql_type = Nullable<Double>)]
    pub replay_lag: Option<f64>,
}

/// One replication slot and the WAL it keeps.
#[derive(Debug, Clone, QueryableByName)]
pub struct Slot {
    /// `slot_name`.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Bytes of WAL the server keeps for it (from its `restart_lsn`).
    #[diesel(sql_type = Double)]
    pub retained_bytes: f64,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Double)]
    bytes: f64,
}

#[derive(QueryableByName)]
struct Privilege {
    #[diesel(sql_type = Bool)]
    sees: bool,
}

/// Whether this user may see standby positions: `pg_stat_replication` shows them only to
/// superusers and members of `pg_read_all_stats` (or `pg_monitor`); to others they are NULL.
pub fn sees_standby_positions(conn: &mut Pg) -> Result<bool> {
    let rows: Vec<Privilege> = sql_query(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
                OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees",
    )
    .load(conn)
    .context("checking the right to read pg_stat_replication")?;
    Ok(rows.first().is_some_and(|r| r.sees))
}

/// The standbys streaming from this server now.
pub fn standbys(conn: &mut Pg) -> Result<Vec<Standby>> {
    sql_query(
        "SELECT coalesce(nullif(application_name, ''), host(client_addr), pid::text) AS name, \
                pg_wal_lsn_diff(pg_current_wal_lsn(), \
                                coalesce(replay_lsn, flush_lsn, write_lsn))::float8 \
                  AS behind_bytes, \
                replay_lsn::text AS replay_lsn, \
                extract(epoch FROM replay_lag)::float8 AS replay_lag \
         FROM pg_stat_replication ORDER BY 1",
    )
    .load(conn)
    .context("reading pg_stat_replication")
}

/// Every replication slot that holds WAL back.
pub fn slots(conn: &mut Pg) -> Result<Vec<Slot>> {
    sql_query(
        "SELECT slot_name::text AS name, \
                pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained_bytes \
         FROM pg_replication_slots WHERE restart_lsn IS NOT NULL ORDER BY 1",
    )
    .load(conn)
    .context("reading pg_replication_slots")
}

/// The server's WAL write position in bytes: the difference of two readings is the WAL
/// written between them (by every session).
pub fn wal_position(conn: &mut Pg) -> Result<f64> {
    let rows: Vec<Position> =
        sql_query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS bytes")
            .load(conn)
            .context("reading the WAL position")?;
    Ok(rows.first().map_or(0.0, |r| r.bytes))
}
