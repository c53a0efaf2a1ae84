//! `oban reindex` and `oban vacuum`: a bloated index rebuilt smaller while workers fetch and
//! ack on the same table, invalid leftovers dropped first, a failure part-way that leaves one
//! named invalid index for the next run, the advisory lock, and `prune --vacuum`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Array, BigInt};
use diesel::{sql_query, Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use super::doctor::{doctor, finds, healthy, SLOTS};
use crate::support::{json_out, oban, PgDb};

const FETCH: &str = "oban_jobs_state_queue_priority_scheduled_at_id_index";

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// What the worker pool did: rounds of insert, fetch and ack, and statements that failed.
#[derive(Default)]
struct Pool {
    rounds: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
}

/// One worker: inserts five jobs, fetches five as Oban does (SKIP LOCKED), acks them.
fn work(url: String, pool: Arc<Pool>) {
    let mut conn = PgConnection::establish(&url).expect("worker connects");
    while !pool.stop.load(Ordering::SeqCst) {
        let round = (|| -> Result<(), diesel::result::Error> {
            conn.batch_execute(
                "INSERT INTO oban_jobs (state, queue, worker) \
                 SELECT 'available', 'default', 'app.W' FROM generate_series(1, 5)",
            )?;
            let ids: Vec<Id> = sql_query(
                "UPDATE oban_jobs SET state = 'executing', attempt = attempt + 1, \
                   attempted_at = timezone('UTC', now()) \
                 WHERE id IN (SELECT id FROM oban_jobs WHERE state = 'available' AND queue = 'default' \
                              ORDER BY priority, scheduled_at, id LIMIT 5 FOR UPDATE SKIP LOCKED) \
                 RETURNING id",
            )
            .load(&mut conn)?;
            let ids: Vec<i64> = ids.into_iter().map(|r| r.id).collect();
            sql_query(
                "UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) \
                 WHERE id = ANY($1)",
            )
            .bind::<Array<BigInt>, _>(ids)
            .execute(&mut conn)?;
            Ok(())
        })();
        // A steady pool, not a flood: its own churn stays below the bloat threshold.
        std::thread::sleep(Duration::from_millis(2));
        match round {
            Ok(()) => pool.rounds.fetch_add(1, Ordering::SeqCst),
            Err(e) => {
                eprintln!("worker: {e}");
                pool.errors.fetch_add(1, Ordering::SeqCst)
            }
        };
    }
}

fn reindex(db: &PgDb, args: &[&str]) -> std::process::Output {
    let mut all = vec!["-d", db.url.as_str(), "reindex", "-o", "json"];
    all.extend_from_slice(args);
    oban().args(&all).output().expect("run")
}

fn index_bytes(db: &PgDb, name: &str) -> i64 {
    db.count(&format!("SELECT pg_relation_size('{name}'::regclass) AS n"))
}

#[test]
fn a_bloated_index_is_rebuilt_smaller_while_workers_fetch_and_ack() {
    let _slots = SLOTS.read().unwrap_or_else(|e| e.into_inner());
    let db = healthy("reindex_bloat");
    // Churn: twenty thousand jobs come and go. Vacuum truncates the heap behind the survivors,
    // and every index but the fetch index is rebuilt, so that one alone stays bloated.
    db.exec(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, completed_at) \
         SELECT 'completed', 'default', 'app.W', 1, timezone('UTC', now()), timezone('UTC', now()) \
         FROM generate_series(1, 20000); \
         DELETE FROM oban_jobs WHERE id > 82",
    );
    db.exec("VACUUM oban_jobs");
    db.exec(
        "REINDEX INDEX oban_jobs_pkey; REINDEX INDEX oban_jobs_completed_at_index; \
         REINDEX INDEX oban_jobs_cancelled_at_index; REINDEX INDEX oban_jobs_discarded_at_index; \
         REINDEX INDEX oban_jobs_staged_scheduled_at_id_index",
    );
    db.exec("ANALYZE oban_jobs");
    let limits = ["--min-bloat", "256kB"];
    let found = finds(&db, &limits, &[&format!("index_bloat:{FETCH}")]);
    let check = &found[&format!("index_bloat:{FETCH}")];
    assert_eq!(check["fix"], format!("oban reindex --index {FETCH}"));
    assert!(
        check["value"]["bloat"].as_f64().is_some_and(|b| b > 0.8),
        "{check}"
    );
    // Measured by pgstattuple, the same one index and nothing else (the empty indexes too).
    db.exec("CREATE EXTENSION pgstattuple");
    let exact = ["--min-bloat", "256kB", "--exact"];
    let found = finds(&db, &exact, &[&format!("index_bloat:{FETCH}")]);
    let value = &found[&format!("index_bloat:{FETCH}")]["value"];
    assert_eq!(value["measured"], true, "{value}");
    // The heap was truncated behind the survivors: dense, estimated and measured alike.
    for args in [&limits[..], &exact[..]] {
        let (_, report) = doctor(&db, args);
        let table = report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "table_bloat"))
            .expect("table_bloat")["value"]
            .clone();
        let bloat = table["bloat"].as_f64().expect("a figure");
        assert!(bloat < 0.3, "{args:?}: {table}");
    }
    let before = index_bytes(&db, FETCH);

    let pool = Arc::new(Pool::default());
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (url, pool) = (db.url.clone(), pool.clone());
            std::thread::spawn(move || work(url, pool))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let rounds_before = pool.rounds.load(Ordering::SeqCst);
    let out = reindex(&db, &["--bloated-only", "--min-bloat", "256kB"]);
    let rounds_after = pool.rounds.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    pool.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pool.errors.load(Ordering::SeqCst), 0, "workers failed");
    assert!(rounds_after > rounds_before, "the workers were not working");
    let r = json_out(&out);
    assert_eq!(r["command"], "reindex");
    assert_eq!(r["dry_run"], false);
    let rebuilt = r["rebuilt"].as_array().expect("rebuilt");
    assert_eq!(rebuilt.len(), 1, "{r:#}");
    assert_eq!(rebuilt[0]["name"], FETCH);
    let after = rebuilt[0]["after_bytes"].as_i64().expect("after");
    assert!(after * 3 < before, "{before} -> {after}");
    assert!(
        r["skipped"].as_array().is_some_and(|s| s.len() == 5),
        "{r:#}"
    );
    // No job was lost or doubled by the rebuild: every fetched job was acked.
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'"),
        2
    );
}

#[test]
fn invalid_indexes_are_dropped_first_and_a_failure_names_its_leftover() {
    let _slots = SLOTS.read().unwrap_or_else(|e| e.into_inner());
    let db = healthy("reindex_invalid");
    // An old snapshot makes REINDEX CONCURRENTLY wait in its last phase, after it has built
    // the new index: with a short lock_timeout it fails there and leaves that index behind.
    let mut holder = db.conn();
    holder
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
        .expect("snapshot");
    let out = reindex(&db, &["--index", "oban_jobs_pkey", "--lock-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("left invalid index oban_jobs_pkey_ccnew")
            && stderr.contains("the next `oban reindex` drops"),
        "{stderr}"
    );
    let invalid = "SELECT count(*) AS n FROM pg_index WHERE NOT indisvalid \
                   AND indrelid = 'oban_jobs'::regclass";
    assert_eq!(db.count(invalid), 1);
    holder.batch_execute("ROLLBACK").expect("release");
    // And a failed build of the user's own.
    let failed = db.conn().batch_execute(
        "CREATE UNIQUE INDEX CONCURRENTLY oban_jobs_queue_uniq ON oban_jobs (queue)",
    );
    assert!(failed.is_err());
    let dry = json_out(&reindex(&db, &["--dry-run"]));
    assert_eq!(dry["dropped"].as_array().map(Vec::len), Some(2), "{dry:#}");
    assert_eq!(db.count(invalid), 2, "a dry run changed something");
    let out = reindex(&db, &["--index", "oban_jobs_pkey"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_out(&out);
    let dropped: Vec<&str> = r["dropped"]
        .as_array()
        .expect("dropped")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(dropped, ["oban_jobs_pkey_ccnew", "oban_jobs_queue_uniq"]);
    assert_eq!(r["rebuilt"][0]["name"], "oban_jobs_pkey");
    assert_eq!(db.count(invalid), 0);
    finds(&db, &[], &[]);
}

#[test]
fn overlapping_runs_do_nothing_and_exit_0() {
    let db = PgDb::migrated("reindex_lock", "public");
    let mut holder = db.conn();
    for command in ["reindex", "vacuum"] {
        let key = oban::db::lock::key(command, "public");
        holder
            .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
            .expect("lock");
        let out = oban()
            .args(["-d", &db.url, command, "-o", "json"])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = json_out(&out);
        assert_eq!(r["locked"], true, "{r}");
        assert_eq!(r["command"], command);
        holder
            .batch_execute(&format!("SELECT pg_advisory_unlock({key})"))
            .expect("unlock");
    }
    let r = json_out(&reindex(&db, &[]));
    assert_eq!(r["locked"], false);
    assert_eq!(r["rebuilt"].as_array().map(Vec::len), Some(6), "{r:#}");
}

fn dead(db: &PgDb) -> i64 {
    db.count("SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relname = 'oban_jobs'")
}

#[test]
fn vacuum_and_prune_vacuum_clear_dead_tuples() {
    let db = PgDb::migrated("vacuum_prune", "public");
    let old = |n: u32| {
        format!(
            "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, completed_at) \
             SELECT 'completed', 'default', 'app.W', 1, timezone('UTC', now()) - interval '3 days', \
               timezone('UTC', now()) - interval '3 days' FROM generate_series(1, {n})"
        )
    };
    db.exec(&old(50));
    let prune = |extra: &[&str]| -> Value {
        let mut args = vec!["-d", db.url.as_str(), "prune", "--vacuum", "-o", "json"];
        args.extend_from_slice(extra);
        json_out(&oban().args(&args).output().expect("run"))
    };
    // Too few deleted for a vacuum.
    let r = prune(&["--vacuum-after", "100"]);
    assert_eq!(r["total"], 50);
    assert!(r["vacuumed"].is_null(), "{r}");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(dead(&db) >= 50);
    db.exec(&old(3000));
    let r = prune(&["--vacuum-after", "100"]);
    assert_eq!(r["total"], 3000);
    assert!(r["vacuumed"].as_f64().is_some(), "{r}");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(dead(&db), 0);
    // `oban vacuum` on its own.
    db.exec(&old(100));
    db.exec("DELETE FROM oban_jobs");
    let out = oban()
        .args(["-d", &db.url, "vacuum", "-o", "json"])
        .output()
        .expect("run");
    let r = json_out(&out);
    assert_eq!(r["command"], "vacuum");
    assert_eq!(r["dry_run"], false);
    assert_eq!(r["locked"], false);
    // An ordinary table is measured as itself: the table and its indexes hold pages.
    let size = db.count("SELECT pg_total_relation_size('oban_jobs') AS n");
    let before = r["before_bytes"].as_i64().expect("present");
    assert!(before > 0 && before >= size / 2, "{r} against {size}");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(dead(&db), 0);
    // --vacuum-after needs --vacuum.
    let out = oban()
        .args(["-d", &db.url, "prune", "--vacuum-after", "5"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
