//! What holds back vacuum on PostgreSQL, for `oban doctor`: this database's open
//! transactions (with who and what they are), replication slots and prepared transactions.

use anyhow::{Context, Result};
use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::Pg;
use crate::db::doctor::{Holders, Prepared, Session, Slot};

#[derive(QueryableByName)]
struct SessionRow {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    user: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    application: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    client: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
    #[diesel(sql_type = Double)]
    xact_age: f64,
    #[diesel(sql_type = Double)]
    state_age: f64,
    #[diesel(sql_type = Nullable<Text>)]
    query: Option<String>,
}

#[derive(QueryableByName)]
struct SlotRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    retained_wal: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    xmin_age: Option<i64>,
}

#[derive(QueryableByName)]
struct PreparedRow {
    #[diesel(sql_type = Text)]
    gid: String,
    #[diesel(sql_type = Text)]
    owner: String,
    #[diesel(sql_type = Double)]
    age: f64,
}

/// Open transactions in this database, slots and prepared transactions.
pub fn holders(conn: &mut Pg) -> Result<Holders> {
    // Only this database's transactions hold back vacuum of its tables (and only client
    // backends hold snapshots that matter here); this session is left out.
    let transactions: Vec<SessionRow> = sql_query(
        "SELECT pid, usename::text AS user, application_name AS application, \
           coalesce(host(client_addr), 'local') AS client, state, \
           extract(epoch FROM clock_timestamp() - xact_start)::float8 AS xact_age, \
           extract(epoch FROM clock_timestamp() - state_change)::float8 AS state_age, \
           left(query, 200) AS query \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND backend_type = 'client backend' AND xact_start IS NOT NULL \
         ORDER BY xact_start",
    )
    .load(conn)
    .context("reading open transactions")?;
    let slots: Vec<SlotRow> = sql_query(
        "SELECT slot_name::text AS name, slot_type AS kind, active, \
           pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() \
                                ELSE pg_current_wal_lsn() END, restart_lsn)::int8 AS retained_wal, \
           greatest(age(xmin), age(catalog_xmin))::int8 AS xmin_age \
         FROM pg_replication_slots \
         WHERE database IS NULL OR database = current_database() ORDER BY slot_name",
    )
    .load(conn)
    .context("reading replication slots")?;
    let prepared: Vec<PreparedRow> = sql_query(
        "SELECT gid, owner::text AS owner, \
           extract(epoch FROM clock_timestamp() - prepared)::float8 AS age \
         FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared",
    )
    .load(conn)
    .context("reading prepared transactions")?;
    Ok(Holders {
        transactions: transactions
            .into_iter()
            .map(|r| Session {
                pid: r.pid,
                user: r.user,
                application: r.application,
                client: r.client,
                state: r.state,
                xact_age: r.xact_age,
                state_age: r.state_age,
                query: r.query,
            })
            .collect(),
        slots: slots
            .into_iter()
            .map(|r| Slot {
                name: r.name,
                kind: r.kind,
                active: r.active,
                retained_wal: r.retained_wal,
                xmin_age: r.xmin_age,
            })
            .collect(),
        prepared: prepared
            .into_iter()
            .map(|r| Prepared {
                gid: r.gid,
                owner: r.owner,
                age: r.age,
            })
            .collect(),
    })
}
