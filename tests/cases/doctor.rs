//! `oban doctor`: each problem made for real (a dropped index, a failed concurrent build, a
//! bloated index, an old transaction and an idle one, a replication slot, orphans and stale
//! producers) is found, alone, with a fix that works when applied; a healthy database is all
//! ok (exit 0); SQLite gets its own checks.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{sql_query, Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::support::{oban, server_url, LiteDb, PgDb, Target};

/// Replication slots are the server's, not a database's: the test that makes one runs alone
/// (write), every other doctor test on PostgreSQL beside the others (read).
pub static SLOTS: RwLock<()> = RwLock::new(());

/// A healthy small population made with SQL: recent finished jobs, fresh available jobs and
/// a few running ones, then vacuumed and analyzed as autovacuum would have.
pub fn healthy(label: &str) -> PgDb {
    let db = PgDb::migrated(label, "public");
    db.exec(&healthy_sql(40));
    db.exec("VACUUM ANALYZE oban_jobs");
    db
}

/// `n` completed, `n` available and two executing jobs, all recent.
pub fn healthy_sql(n: u32) -> String {
    format!(
        "INSERT INTO oban_jobs (state, queue, worker, args, attempt, scheduled_at, attempted_at, completed_at) \
         SELECT 'completed', 'default', 'app.W', jsonb_build_object('n', g), 1, \
           timezone('UTC', now()) - interval '20 minutes', timezone('UTC', now()) - interval '20 minutes', \
           timezone('UTC', now()) - interval '19 minutes' FROM generate_series(1, {n}) g; \
         INSERT INTO oban_jobs (state, queue, worker, args) \
         SELECT 'available', 'default', 'app.W', jsonb_build_object('n', g) FROM generate_series(1, {n}) g; \
         INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at) \
         SELECT 'executing', 'default', 'app.W', 1, timezone('UTC', now()) - interval '10 seconds' \
         FROM generate_series(1, 2);"
    )
}

/// Runs `oban doctor -o json ARGS`; returns the exit code and the report.
pub fn doctor(target: &dyn Target, args: &[&str]) -> (i32, Value) {
    let dsn = target.dsn();
    let mut all = vec!["-d", dsn.as_str(), "doctor", "-o", "json"];
    all.extend_from_slice(args);
    let out = oban().args(&all).output().expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The checks that are not ok, by name.
pub fn findings(report: &Value) -> BTreeMap<String, Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] != "ok")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c.clone(),
            )
        })
        .collect()
}

/// Asserts that exactly `names` are not ok and the exit code says so; returns them.
#[track_caller]
pub fn finds(target: &dyn Target, args: &[&str], names: &[&str]) -> BTreeMap<String, Value> {
    let (code, report) = doctor(target, args);
    let found = findings(&report);
    let got: Vec<&str> = found.keys().map(String::as_str).collect();
    let mut want = names.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{report:#}");
    assert_eq!(code, if names.is_empty() { 0 } else { 3 }, "{report:#}");
    for c in report["checks"].as_array().expect("checks") {
        for key in ["name", "status", "value", "fix"] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
        assert_eq!(c["fix"].is_null(), c["status"] == "ok", "{c}");
    }
    found
}

/// The fix text of a finding.
fn fix(found: &BTreeMap<String, Value>, name: &str) -> String {
    found[name]["fix"].as_str().unwrap_or_default().to_string()
}

fn read() -> std::sync::RwLockReadGuard<'static, ()> {
    SLOTS.read().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn a_healthy_seeded_database_is_all_ok() {
    let _slots = read();
    let db = PgDb::migrated("doctor_seeded", "public");
    let dsn = db.url.clone();
    // Pruned at a day less an hour: no job crosses doctor's one-day line while the test runs.
    for args in [
        vec!["seed", "--jobs", "2000", "-q"],
        vec!["prune", "--max-age", "23h", "-q"],
    ] {
        let mut all = vec!["-d", dsn.as_str()];
        all.extend(args);
        oban().args(&all).assert().success();
    }
    // The seeded orphans finished after all; then autovacuum's work, by hand.
    db.exec(
        "DELETE FROM oban_jobs WHERE state = 'executing' \
           AND attempted_at < timezone('UTC', now()) - interval '5 minutes'",
    );
    db.exec("VACUUM ANALYZE oban_jobs");
    finds(&db, &[], &[]);
    // The table and CSV forms say the same.
    let out = oban().args(["-d", &dsn, "doctor"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(", 0 warn, 0 fail"), "{text}");
    // A check of one index names it in the finding: the check column stays narrow, and the
    // name is whole at 80 columns.
    let pkey = text
        .lines()
        .find(|l| l.contains("oban_jobs_pkey"))
        .expect("pkey row");
    let cells: Vec<&str> = pkey.split_whitespace().collect();
    assert_eq!(
        cells[..3],
        ["index_bloat", "ok", "oban_jobs_pkey:"],
        "{text}"
    );
    assert!(!text.contains("index_bloat:"), "{text}");
    let out = oban()
        .args(["-d", &dsn, "doctor", "-o", "csv"])
        .output()
        .expect("run");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("name,status,value,fix,detail\n"), "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",ok,")), "{csv}");
    // Measured with pgstattuple, still healthy, and said to be measured.
    db.exec("CREATE EXTENSION IF NOT EXISTS pgstattuple");
    let (code, report) = doctor(&db, &["--exact"]);
    assert_eq!(code, 0, "{report:#}");
    let bloat = &report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "index_bloat:oban_jobs_pkey")
        .expect("pkey bloat")["value"];
    assert_eq!(bloat["measured"], true, "{bloat}");
}

#[test]
fn a_dropped_index_is_found_and_its_fix_creates_it() {
    let _slots = read();
    let db = PgDb::migrated("doctor_drop", "jobs_x");
    db.exec(&format!("SET search_path = jobs_x; {}", healthy_sql(20)));
    db.exec("VACUUM ANALYZE jobs_x.oban_jobs");
    finds(&db, &["--prefix", "jobs_x"], &[]);
    db.exec("DROP INDEX jobs_x.oban_jobs_completed_at_index");
    let found = finds(&db, &["--prefix", "jobs_x"], &["completed_at_index"]);
    let statement = fix(&found, "completed_at_index");
    assert_eq!(
        statement,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS oban_jobs_completed_at_index ON \
         \"jobs_x\".oban_jobs (completed_at) WHERE state = 'completed';"
    );
    db.exec(&statement);
    db.exec("ANALYZE jobs_x.oban_jobs");
    finds(&db, &["--prefix", "jobs_x"], &[]);
    // Without the fetch index every fetch scans: a failure.
    db.exec("DROP INDEX jobs_x.oban_jobs_state_queue_priority_scheduled_at_id_index");
    let found = finds(&db, &["--prefix", "jobs_x"], &["fetch_index"]);
    assert_eq!(found["fetch_index"]["status"], "fail");
    db.exec(&fix(&found, "fetch_index"));
    db.exec("ANALYZE jobs_x.oban_jobs");
    finds(&db, &["--prefix", "jobs_x"], &[]);
}

#[test]
fn an_invalid_index_from_a_failed_concurrent_build_is_found() {
    let _slots = read();
    let db = healthy("doctor_invalid");
    // Every job is in queue "default": a unique index on queue cannot be built.
    let failed = db.conn().batch_execute(
        "CREATE UNIQUE INDEX CONCURRENTLY oban_jobs_queue_uniq ON oban_jobs (queue)",
    );
    assert!(failed.is_err(), "the build was meant to fail");
    let found = finds(&db, &[], &["invalid_indexes"]);
    let check = &found["invalid_indexes"];
    assert_eq!(check["status"], "fail");
    assert_eq!(check["value"], serde_json::json!(["oban_jobs_queue_uniq"]));
    let statements = fix(&found, "invalid_indexes");
    let drop = statements.lines().next().unwrap_or_default();
    assert_eq!(
        drop,
        "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"oban_jobs_queue_uniq\";"
    );
    assert!(statements.contains("CREATE UNIQUE INDEX CONCURRENTLY oban_jobs_queue_uniq"));
    db.exec(drop);
    finds(&db, &[], &[]);
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

fn pid_of(conn: &mut PgConnection) -> i32 {
    let rows: Vec<Pid> = sql_query("SELECT pg_backend_pid() AS pid")
        .load(conn)
        .expect("pid");
    rows[0].pid
}

#[test]
fn an_old_transaction_and_an_idle_session_are_found_with_who_they_are() {
    let _slots = read();
    let db = healthy("doctor_xact");
    // A report that has run for a while, in a transaction of its own.
    let mut busy = db.conn();
    busy.batch_execute("SET application_name = 'nightly-report'")
        .expect("name");
    let busy_pid = pid_of(&mut busy);
    let worker = std::thread::spawn(move || {
        let _ = busy.batch_execute("BEGIN; SELECT txid_current(); SELECT pg_sleep(30)");
    });
    std::thread::sleep(Duration::from_millis(300));
    // A session that began a transaction and went quiet.
    let mut idle = db.conn();
    idle.batch_execute(
        "SET application_name = 'forgotten-console'; BEGIN; SELECT count(*) FROM oban_jobs",
    )
    .expect("idle");
    let idle_pid = pid_of(&mut idle);
    std::thread::sleep(Duration::from_millis(1500));
    let args = ["--max-transaction-age", "1s", "--max-idle", "1s"];
    let found = finds(&db, &args, &["idle_in_transaction", "oldest_transaction"]);
    let oldest = &found["oldest_transaction"]["value"];
    assert_eq!(oldest["pid"], busy_pid, "{oldest}");
    assert_eq!(oldest["application"], "nightly-report");
    assert_eq!(oldest["state"], "active");
    assert_eq!(
        fix(&found, "oldest_transaction"),
        format!("SELECT pg_terminate_backend({busy_pid});")
    );
    let idle_found = found["idle_in_transaction"]["value"]
        .as_array()
        .expect("list");
    assert_eq!(idle_found.len(), 1, "{idle_found:?}");
    assert_eq!(idle_found[0]["pid"], idle_pid);
    assert_eq!(idle_found[0]["application"], "forgotten-console");
    assert!(fix(&found, "idle_in_transaction")
        .contains(&format!("SELECT pg_terminate_backend({idle_pid});")));
    // The fixes end both; nothing is left.
    db.exec(&fix(&found, "oldest_transaction"));
    db.exec(&fix(&found, "idle_in_transaction"));
    let _ = worker.join();
    drop(idle);
    std::thread::sleep(Duration::from_millis(200));
    finds(&db, &args, &[]);
}

/// A physical replication slot, dropped whatever happens to the test.
struct SlotGuard(String);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&server_url()) {
            let _ = admin.batch_execute(&format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE slot_name = '{}'",
                self.0
            ));
        }
    }
}

#[test]
fn a_forgotten_replication_slot_is_found_and_its_fix_drops_it() {
    let _alone = SLOTS.write().unwrap_or_else(|e| e.into_inner());
    let db = healthy("doctor_slot");
    let name = format!("oban_t_slot_{}", std::process::id());
    let guard = SlotGuard(name.clone());
    // Physical: works at any wal_level; reserving WAL makes it hold some.
    db.exec(&format!(
        "SELECT pg_create_physical_replication_slot('{name}', true)"
    ));
    let found = finds(&db, &[], &["replication_slots"]);
    let slots = found["replication_slots"]["value"]
        .as_array()
        .expect("list");
    let ours = slots
        .iter()
        .find(|s| s["name"] == name.as_str())
        .expect("our slot");
    assert_eq!(ours["kind"], "physical");
    assert_eq!(ours["active"], false);
    let statement = fix(&found, "replication_slots");
    assert!(
        statement.contains(&format!("SELECT pg_drop_replication_slot('{name}');")),
        "{statement}"
    );
    db.exec(&statement);
    finds(&db, &[], &[]);
    drop(guard);
}

#[test]
fn orphans_stale_producers_and_a_lapsed_leader_are_found() {
    let _slots = read();
    let db = healthy("doctor_jobs");
    db.exec(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, attempted_by) \
         VALUES ('executing', 'media', 'app.Resize', 1, timezone('UTC', now()) - interval '20 minutes', \
                 ARRAY['node-9', '00000000-0000-4000-8000-000000000009']); \
         INSERT INTO oban_producers (uuid, node, queue, updated_at) VALUES \
           ('00000000-0000-4000-8000-000000000001', 'node-1', 'default', timezone('UTC', now())), \
           ('00000000-0000-4000-8000-000000000009', 'node-9', 'media', \
            timezone('UTC', now()) - interval '5 minutes'); \
         INSERT INTO oban_leaders (name, node, elected_at, expires_at) VALUES \
           ('oban', 'node-9', timezone('UTC', now()) - interval '1 hour', \
            timezone('UTC', now()) - interval '10 minutes');",
    );
    let found = finds(&db, &[], &["orphans", "stale_leaders", "stale_producers"]);
    assert_eq!(found["orphans"]["value"]["count"], 1);
    assert_eq!(fix(&found, "orphans"), "oban rescue");
    let stale = found["stale_producers"]["value"].as_array().expect("list");
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0]["node"], "node-9");
    assert!(fix(&found, "stale_producers").contains("'00000000-0000-4000-8000-000000000009'"));
    assert_eq!(found["stale_leaders"]["value"][0]["node"], "node-9");
    // A rescue window longer than the orphan's age finds none.
    finds(
        &db,
        &["--rescue-after", "1h"],
        &["stale_leaders", "stale_producers"],
    );
    // Following the fixes clears them: rescue, then the producers' statement after it.
    oban()
        .args(["-d", &db.url, "rescue", "-q"])
        .assert()
        .success();
    let statement = fix(&found, "stale_producers");
    let delete = &statement[statement.find("DELETE").expect("delete")..];
    db.exec(delete);
    db.exec("DELETE FROM oban_leaders");
    // The rescued job waits in available since its first scheduling (20 minutes ago).
    db.exec("UPDATE oban_jobs SET scheduled_at = timezone('UTC', now()) WHERE queue = 'media'");
    finds(&db, &[], &[]);
}

#[test]
fn final_jobs_past_max_age_and_a_waiting_queue_are_found() {
    let _slots = read();
    let db = healthy("doctor_pruner");
    db.exec(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, completed_at) \
         VALUES ('completed', 'default', 'app.W', 1, timezone('UTC', now()) - interval '3 days', \
                 timezone('UTC', now()) - interval '3 days'); \
         INSERT INTO oban_jobs (state, queue, worker, scheduled_at) \
         VALUES ('available', 'slow', 'app.W', timezone('UTC', now()) - interval '1 hour');",
    );
    let found = finds(&db, &[], &["latency", "unpruned"]);
    assert_eq!(fix(&found, "unpruned"), "oban prune");
    assert_eq!(found["unpruned"]["value"]["completed"], 1);
    assert_eq!(
        found["unpruned"]["value"]["counted_up_to"], 10_000,
        "capped counts say so"
    );
    finds(&db, &["--max-latency", "2h", "--max-age", "4d"], &[]);
    oban()
        .args(["-d", &db.url, "prune", "-q"])
        .assert()
        .success();
    finds(&db, &["--max-latency", "2h"], &[]);
}

#[test]
fn sqlite_gets_its_index_integrity_and_freelist_checks() {
    let db = LiteDb::migrated();
    {
        let mut conn = db.conn();
        conn.batch_execute(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) \
             INSERT INTO oban_jobs (state, queue, worker, args, attempt, completed_at) \
             SELECT 'completed', 'default', 'app.W', json_object('pad', hex(randomblob(300))), 1, \
                    strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM g",
        )
        .expect("insert");
    }
    finds(&db, &[], &[]);
    db.conn()
        .batch_execute("DELETE FROM oban_jobs WHERE id > 10")
        .expect("delete");
    let found = finds(&db, &["--min-bloat", "0"], &["freelist"]);
    assert_eq!(fix(&found, "freelist"), "oban vacuum");
    let before = std::fs::metadata(&db.path).expect("file").len();
    let out = oban()
        .args(["-d", &db.dsn(), "vacuum", "-o", "json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::metadata(&db.path).expect("file").len();
    assert!(after * 4 < before, "{before} -> {after}");
    finds(&db, &["--min-bloat", "0"], &[]);
    db.conn()
        .batch_execute("DROP INDEX oban_jobs_state_queue_priority_scheduled_at_id_index")
        .expect("drop");
    let found = finds(&db, &[], &["fetch_index"]);
    let statement = fix(&found, "fetch_index");
    db.conn().batch_execute(&statement).expect("the fix runs");
    finds(&db, &[], &[]);
    // No online rebuild on SQLite: a usage error that names what to run instead.
    let out = oban()
        .args(["-d", &db.dsn(), "reindex"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("oban vacuum"));
}

#[test]
fn elixir_tables_lack_the_completed_at_index_and_queue_table_autovacuum() {
    let _slots = read();
    let db = crate::support::elixir_db("doctor_elixir", "public");
    db.exec(&healthy_sql(20));
    db.exec("VACUUM ANALYZE oban_jobs");
    let found = finds(&db, &[], &["autovacuum_settings", "completed_at_index"]);
    // gin indexes are not estimated, and say so rather than guess.
    let (_, report) = doctor(&db, &[]);
    let gin = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "index_bloat:oban_jobs_args_index")
        .expect("args index")
        .clone();
    assert!(gin["value"]["bloat"].is_null(), "{gin}");
    for name in ["completed_at_index", "autovacuum_settings"] {
        db.exec(&fix(&found, name));
    }
    db.exec("ANALYZE oban_jobs");
    finds(&db, &[], &[]);
}
