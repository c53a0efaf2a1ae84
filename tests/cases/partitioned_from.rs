//! `oban migrate --partitioned --from`: an ordinary oban-py table's jobs moved into the
//! partitioned layout. Every job ends up once, whole, in the leaf of its state and day (checked
//! against the rows read by SQL before the move); a run stopped anywhere (`--max-batches`, a
//! killed process, a lock not granted) is finished by the next; writers during the copy (a test
//! thread, and a real oban-py worker) lose nothing. Refusals and the dry run are in
//! `partitioned_from_refusals`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;

use super::partitioned::{leaves, run_json};
use crate::support::obanpy::Worker;
use crate::support::{insert, oban, JobSpec, PgDb};
use oban::db::pg::move_jobs::{self as mv, Move};

/// A migrated oban-py table holding `jobs` seeded jobs (every state, seven days).
pub fn seeded(label: &str, jobs: u64) -> PgDb {
    let db = PgDb::migrated(label, "public");
    oban()
        .args(["-d", &db.url, "seed", "-q", "--seed", "7", "--jobs"])
        .arg(jobs.to_string())
        .assert()
        .success();
    db
}

pub fn relkind(db: &PgDb, name: &str) -> Option<String> {
    relkind_in(&mut db.conn(), &format!("public.{name}"))
}

/// The kind of the relation `name` resolves to on `conn` (`r`, `p`), if any.
fn relkind_in(conn: &mut diesel::PgConnection, name: &str) -> Option<String> {
    #[derive(QueryableByName)]
    struct Kind {
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let rows: Vec<Kind> = sql_query(format!(
        "SELECT relkind::text AS kind FROM pg_class WHERE oid = to_regclass('{name}')"
    ))
    .load(conn)
    .expect("relkind");
    rows.into_iter().next().map(|r| r.kind)
}

/// Runs `step` on a connection of its own every `pause`, counting the steps in `count`, until
/// `stop` is set or `step` returns false.
fn background(
    url: &str,
    stop: &Arc<AtomicBool>,
    count: &Arc<AtomicU64>,
    pause: Duration,
    mut step: impl FnMut(&mut diesel::PgConnection, u64) -> bool + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let (stop, count, url) = (stop.clone(), count.clone(), url.to_string());
    std::thread::spawn(move || {
        let mut conn =
            <diesel::PgConnection as diesel::Connection>::establish(&url).expect("connect");
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) && step(&mut conn, i) {
            i += 1;
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(pause);
        }
    })
}

/// `migrate --partitioned --from public` with `extra` flags, its JSON report.
fn move_public(db: &PgDb, extra: &[&str]) -> Value {
    let args = ["migrate", "--partitioned", "--from", "public"];
    run_json(db, "public", &[&args[..], extra].concat())
}

/// `migrate --partitioned --from public` run to fail: its output, after checking it exits 1.
pub fn move_fails(db: &PgDb) -> std::process::Output {
    let out = oban()
        .args([
            "-d",
            &db.url,
            "migrate",
            "--partitioned",
            "--from",
            "public",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    out
}

/// Every relation of the database, with its kind: what a dry run must leave as it is.
pub fn relations(db: &PgDb) -> BTreeSet<String> {
    #[derive(QueryableByName)]
    struct Rel {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<Rel> = sql_query(
        "SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text AS name FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
    )
    .load(&mut db.conn())
    .expect("relations");
    rows.into_iter().map(|r| r.name).collect()
}

/// The checks every finished move passes: the new `oban_jobs` holds exactly `before` (each id
/// once, every column equal), every final row sits in the leaf of its own day, the old table
/// is kept under its new name, and new ids continue above the old ones.
fn assert_moved(db: &PgDb, before: &BTreeMap<i64, String>) {
    assert_eq!(relkind(db, "oban_jobs").as_deref(), Some("p"));
    assert_eq!(relkind(db, "oban_jobs_unpartitioned").as_deref(), Some("r"));
    for gone in [
        "oban_jobs_partitioning",
        "oban_jobs_partitioning_log",
        "oban_jobs_partitioning_progress",
    ] {
        assert_eq!(relkind(db, gone), None, "{gone} is left behind");
    }
    assert_eq!(
        db.count("SELECT count(*) - count(DISTINCT id) AS n FROM oban_jobs"),
        0,
        "an id twice"
    );
    let after = db.snapshot("public");
    assert_eq!(after.len(), before.len(), "rows in the new table");
    let differ: Vec<_> = before
        .iter()
        .filter(|(id, row)| after.get(id) != Some(row))
        .take(3)
        .collect();
    assert!(differ.is_empty(), "rows differ or are missing: {differ:?}");
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs j JOIN pg_class c ON c.oid = j.tableoid \
             WHERE c.relname <> CASE j.state \
               WHEN 'completed' THEN 'oban_jobs_completed_' || to_char(j.completed_at, 'YYYYMMDD') \
               WHEN 'cancelled' THEN 'oban_jobs_cancelled_' || to_char(j.cancelled_at, 'YYYYMMDD') \
               WHEN 'discarded' THEN 'oban_jobs_discarded_' || to_char(j.discarded_at, 'YYYYMMDD') \
               ELSE 'oban_jobs_incomplete' END"
        ),
        0,
        "rows outside the leaf of their state and day"
    );
    let old_max = db.count("SELECT coalesce(max(id), 0) AS n FROM oban_jobs_unpartitioned");
    let new_id = db.count("INSERT INTO oban_jobs (worker) VALUES ('after.Move') RETURNING id AS n");
    assert!(new_id > old_max, "new id {new_id} not above {old_max}");
    db.exec("DELETE FROM oban_jobs WHERE worker = 'after.Move'");
}

#[test]
fn from_moves_every_job_once_into_its_leaf_and_keeps_the_old_table() {
    let db = seeded("from_move", 3_000);
    let before = db.snapshot("public");
    for state in [
        "available",
        "scheduled",
        "suspended",
        "executing",
        "retryable",
        "completed",
        "cancelled",
        "discarded",
    ] {
        assert!(
            db.count(&format!(
                "SELECT count(*) AS n FROM oban_jobs WHERE state = '{state}'"
            )) > 0,
            "the seed has {state} jobs"
        );
    }
    let r = move_public(&db, &["--batch-size", "500"]);
    assert_eq!(r["switched"], true, "{r}");
    assert_eq!(r["renamed_to"], "oban_jobs_unpartitioned");
    assert!(r["batches"].as_u64().is_some_and(|b| b >= 6), "{r}");
    assert!(r["switch_lock_ms"].as_f64().is_some(), "{r}");
    assert_moved(&db, &before);
    // The leaves cover the seed's days and the coming ones; prune and stats work on it.
    assert!(leaves(&db, "public").len() > 1 + 3 * 3);
    let again = run_json(
        &db,
        "public",
        &["migrate", "--partitioned", "--from", "public"],
    );
    assert_eq!(again["already_done"], true, "{again}");
    run_json(&db, "public", &["prune", "--max-age", "3d"]);
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs WHERE completed_at < timezone('UTC', now()) - interval '4 days'"
        ),
        0
    );
}

#[test]
fn from_into_another_schema_moves_the_jobs_there() {
    let db = seeded("from_schema", 600);
    let before = db.snapshot("public");
    let r = run_json(
        &db,
        "jobs",
        &["migrate", "--partitioned", "--from", "public"],
    );
    assert_eq!(r["switched"], true, "{r}");
    assert_eq!(db.snapshot("jobs"), before);
    assert_eq!(relkind(&db, "oban_jobs"), None, "renamed in its own schema");
    let mut lib = crate::support::Target::db(&db);
    let schema = lib.schema("jobs").expect("found");
    assert!(schema.partitions.is_some() && schema.has_producers);
}

#[test]
fn from_resumes_after_max_batches_a_kill_and_a_lock_not_granted() {
    let db = seeded("from_resume", 4_000);
    let before = db.snapshot("public");
    let args = [
        "migrate",
        "--partitioned",
        "--from",
        "public",
        "--batch-size",
        "300",
    ];
    let stopped = run_json(
        &db,
        "public",
        &[&args[..], &["--max-batches", "2"]].concat(),
    );
    assert_eq!(stopped["switched"], false, "{stopped}");
    assert_eq!(stopped["batches"], 2);
    assert_eq!(
        relkind(&db, "oban_jobs").as_deref(),
        Some("r"),
        "not switched"
    );
    // Killed mid-copy, several times: every batch is whole, so the next run goes on.
    for wait in [30, 60, 90] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("oban"))
            .args(["-d", &db.url, "-q"])
            .args(args)
            .arg("--max-batches")
            .arg("3")
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(wait));
        let _ = child.kill();
        let _ = child.wait();
    }
    // A killed client's backend ends (and lets go of the advisory lock) once it notices.
    for _ in 0..100 {
        let left = db.count(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'oban-cli'",
        );
        if left == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let resumed = run_json(
        &db,
        "public",
        &[&args[..], &["--max-batches", "1"]].concat(),
    );
    assert_eq!(resumed["resumed"], true, "{resumed}");
    // A session holding the table keeps the switch from its lock: it fails within
    // --lock-timeout, rolled back, and the table is as it was.
    let mut holder = db.conn();
    holder
        .batch_execute("BEGIN; LOCK TABLE oban_jobs IN ROW EXCLUSIVE MODE")
        .expect("hold");
    let out = oban()
        .args(["-d", &db.url])
        .args(args)
        .args(["--lock-timeout", "200ms"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rolled back") && stderr.contains("lock"),
        "{stderr}"
    );
    assert_eq!(relkind(&db, "oban_jobs").as_deref(), Some("r"));
    holder.batch_execute("ROLLBACK").expect("release");
    let done = run_json(&db, "public", &args);
    assert_eq!(done["switched"], true, "{done}");
    assert_moved(&db, &before);
}

/// One change a writer makes, chosen by `i`, in a transaction that first locks whatever
/// `oban_jobs` names: false once that is the partitioned table (the switch happened).
fn write_one(conn: &mut diesel::PgConnection, i: u64) -> bool {
    let op = match i % 6 {
        0 => "UPDATE oban_jobs SET meta = meta || jsonb_build_object('touched', id) \
              WHERE id = (SELECT id FROM oban_jobs WHERE state = 'completed' ORDER BY random() LIMIT 1)",
        1 => "UPDATE oban_jobs SET state = 'available', discarded_at = NULL, \
              max_attempts = max_attempts + 1 \
              WHERE id = (SELECT id FROM oban_jobs WHERE state = 'discarded' ORDER BY random() LIMIT 1)",
        2 => "UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) \
              WHERE id = (SELECT id FROM oban_jobs WHERE state = 'available' ORDER BY random() LIMIT 1)",
        3 => "DELETE FROM oban_jobs \
              WHERE id = (SELECT id FROM oban_jobs WHERE state = 'cancelled' ORDER BY random() LIMIT 1)",
        4 => "INSERT INTO oban_jobs (worker, args) VALUES ('writer.New', '{\"n\": 1}')",
        _ => "INSERT INTO oban_jobs (worker, state, attempt, completed_at) \
              VALUES ('writer.Done', 'completed', 1, timezone('UTC', now()))",
    };
    conn.batch_execute("BEGIN; LOCK TABLE oban_jobs IN ROW EXCLUSIVE MODE")
        .expect("lock");
    if relkind_in(conn, "oban_jobs").as_deref() != Some("r") {
        conn.batch_execute("ROLLBACK").expect("rollback");
        return false;
    }
    conn.batch_execute(op).expect("write");
    conn.batch_execute("COMMIT").expect("commit");
    true
}

#[test]
fn from_keeps_every_change_a_concurrent_writer_makes() {
    let db = seeded("from_writer", 4_000);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let writer = background(&db.url, &stop, &writes, Duration::from_millis(2), write_one);
    std::thread::sleep(Duration::from_millis(200));
    let r = move_public(&db, &["--batch-size", "200"]);
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer");
    assert_eq!(r["switched"], true, "{r}");
    assert!(
        writes.load(Ordering::SeqCst) > 20,
        "the writer wrote during the copy"
    );
    assert!(r["recopied"].as_u64().is_some_and(|n| n > 0), "{r}");
    // The old table is the truth as of the switch: the new one holds exactly its rows.
    let truth = unpartitioned_snapshot(&db);
    assert_moved(&db, &truth);
}

fn unpartitioned_snapshot(db: &PgDb) -> BTreeMap<i64, String> {
    db.exec("CREATE SCHEMA IF NOT EXISTS truth; CREATE VIEW truth.oban_jobs AS SELECT * FROM public.oban_jobs_unpartitioned");
    let rows = db.snapshot("truth");
    db.exec("DROP SCHEMA truth CASCADE");
    rows
}

#[test]
fn from_steps_through_the_library_with_changes_between_them() {
    let db = seeded("from_lib", 1_500);
    let mut lib = crate::support::Target::db(&db);
    let pg = lib.postgres().expect("postgres");
    let m = Move {
        from: "public".into(),
        to: "public".into(),
    };
    let days = mv::days(pg, &m, 3).expect("days");
    mv::create_table(pg, &m).expect("create");
    mv::make_leaves(pg, &m, &days).expect("leaves");
    assert!(mv::missing_leaves(pg, &m, &days)
        .expect("missing")
        .is_empty());
    mv::install_trigger(pg, &m).expect("trigger");
    mv::copy_batch(pg, &m, 400)
        .expect("batch")
        .expect("a batch");
    // Changes to rows already copied, to rows not yet copied, and new rows.
    db.exec(
        "UPDATE oban_jobs SET state = 'available', discarded_at = NULL WHERE id IN \
           (SELECT id FROM oban_jobs WHERE state = 'discarded' ORDER BY id LIMIT 5); \
         DELETE FROM oban_jobs WHERE id IN \
           (SELECT id FROM oban_jobs WHERE state = 'completed' ORDER BY id LIMIT 5); \
         UPDATE oban_jobs SET meta = '{\"late\": true}' WHERE id IN \
           (SELECT id FROM oban_jobs WHERE state = 'completed' ORDER BY id DESC LIMIT 5); \
         INSERT INTO oban_jobs (worker, state, completed_at) \
           VALUES ('lib.Done', 'completed', timezone('UTC', now()))",
    );
    assert!(
        mv::catch_up(pg, &m, 100).is_err(),
        "changes are not copied again before the batches end"
    );
    while mv::copy_batch(pg, &m, 400).expect("batch").is_some() {}
    assert!(mv::catch_up(pg, &m, 100).expect("catch up") > 0);
    db.exec(
        "UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) \
         WHERE id IN (SELECT id FROM oban_jobs WHERE state = 'available' ORDER BY id LIMIT 3)",
    );
    assert!(
        oban::db::pg::move_switch::switch(pg, &m, 1).is_err(),
        "more open jobs than allowed: refused"
    );
    assert_eq!(relkind(&db, "oban_jobs").as_deref(), Some("r"));
    let done = oban::db::pg::move_switch::switch(pg, &m, 100_000).expect("switch");
    assert!(done.copied > 0 && done.lock_ms > 0.0);
    let truth = unpartitioned_snapshot(&db);
    assert_moved(&db, &truth);
}

fn insert_sleepers(db: &PgDb, n: usize) {
    db.exec(&format!(
        "INSERT INTO oban_jobs (queue, worker, args) \
         SELECT 'default', 'incident_jobs.Sleep', '{{\"seconds\": 0}}' FROM generate_series(1, {n})"
    ));
}

const DAY: f64 = 86_400.0;

#[test]
fn from_moves_a_live_oban_py_table_and_prune_drops_old_leaves_while_it_runs() {
    let db = PgDb::migrated("from_obanpy", "public");
    let old: Vec<JobSpec> = ["completed", "cancelled", "discarded"]
        .into_iter()
        .flat_map(|s| (0..40).map(move |_| JobSpec::new(s, 3.0 * DAY - 3600.0)))
        .collect();
    insert(&db, "public", &old);
    let mut worker = Worker::start(&db, "n1", "default:5");
    let sleepers = "SELECT count(*) AS n FROM oban_jobs WHERE worker = 'incident_jobs.Sleep'";
    let done = "SELECT count(*) AS n FROM oban_jobs \
                WHERE worker = 'incident_jobs.Sleep' AND state = 'completed'";
    insert_sleepers(&db, 60);
    worker.wait_for("the first jobs to run", Duration::from_secs(60), || {
        db.count(done) == 60
    });
    // Jobs keep arriving while the move runs.
    let stop = Arc::new(AtomicBool::new(false));
    let enqueued = Arc::new(AtomicU64::new(60));
    let enqueuer = background(
        &db.url,
        &stop,
        &enqueued,
        Duration::from_millis(10),
        |c, _| {
            c.batch_execute(
                "INSERT INTO oban_jobs (queue, worker, args) \
             VALUES ('default', 'incident_jobs.Sleep', '{\"seconds\": 0}')",
            )
            .expect("enqueue");
            true
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let r = move_public(&db, &["--batch-size", "50"]);
    assert_eq!(r["switched"], true, "{r}");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    enqueuer.join().expect("enqueuer");
    insert_sleepers(&db, 60);
    let total = enqueued.load(Ordering::SeqCst) as i64 + 60;
    worker.wait_for("every job to finish", Duration::from_secs(90), || {
        db.count(done) == total
    });
    assert_eq!(db.count(sleepers), total, "no job lost or doubled");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'"),
        0,
        "none stuck in executing"
    );
    // Jobs that finished after the switch are in today's completed leaf.
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs WHERE worker = 'incident_jobs.Sleep' \
             AND completed_at >= date_trunc('day', timezone('UTC', now())) \
             AND tableoid::regclass::text <> 'oban_jobs_completed_' || \
                 to_char(timezone('UTC', now()), 'YYYYMMDD')"
        ),
        0
    );
    // Prune drops the old days' leaves while more jobs run.
    insert_sleepers(&db, 60);
    let r = run_json(&db, "public", &["prune", "--max-age", "1d"]);
    let dropped = r["partitions_dropped"].as_array().expect("dropped");
    assert_eq!(dropped.len(), 3, "{r}");
    assert_eq!(r["total"], 120, "{r}");
    worker.wait_for(
        "the jobs inserted around the prune",
        Duration::from_secs(60),
        || db.count(done) == total + 60,
    );
    let log = worker.log();
    assert!(
        !log.contains("Traceback") && !log.to_lowercase().contains("error"),
        "the worker reported errors:\n{log}"
    );
}
