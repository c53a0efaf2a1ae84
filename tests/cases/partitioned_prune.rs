//! Prune on a partitioned `oban_jobs`: old leaves dropped whole (archived first with
//! `--archive`), the straddling leaf in batches, rows addressed by (tableoid, ctid), a busy
//! parent left for the next pass, workers running beside it, rows moved under a lock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::{sql_query, RunQueryDsl};
use serde_json::Value;

use super::partitioned::{
    ids, leaves, partitioned_db, population, run_json, IdRow, Name, DAY, HOUR,
};
use crate::support::{insert, oban, JobSpec, PgDb};

/// Rows a prune at a one-day cutoff should take, and the leaves wholly older than it.
fn expected(db: &PgDb) -> (BTreeSet<i64>, BTreeSet<String>) {
    let rows = ids(
        db,
        "SELECT id FROM oban_jobs WHERE coalesce(completed_at, cancelled_at, discarded_at) \
           < timezone('UTC', now()) - interval '1 day' AND state IN ('completed', 'cancelled', 'discarded')",
    );
    let names: Vec<Name> = sql_query(
        "SELECT c.relname::text AS name FROM pg_class c \
         WHERE c.relname ~ '^oban_jobs_(completed|cancelled|discarded)_[0-9]{8}$' \
           AND to_date(right(c.relname, 8), 'YYYYMMDD') + 1 <= timezone('UTC', now()) - interval '1 day'",
    )
    .load(&mut db.conn())
    .expect("leaves");
    (rows, names.into_iter().map(|n| n.name).collect())
}

#[test]
fn partitioned_prune_drops_old_leaves_whole_and_batches_the_straddling_one() {
    let db = partitioned_db("part_prune", "public");
    insert(&db, "public", &population(&db));
    let (gone_rows, gone_leaves) = expected(&db);
    assert_eq!(gone_leaves.len(), 12, "four whole days per final state");
    let before = db.snapshot("public");

    let dry = run_json(&db, "public", &["prune", "--dry-run"]);
    let listed: BTreeSet<String> = dry["partitions_dropped"]
        .as_array()
        .expect("partitions_dropped")
        .iter()
        .map(|l| l["name"].as_str().expect("present").to_string())
        .collect();
    assert_eq!(listed, gone_leaves);
    assert_eq!(dry["total"], gone_rows.len() as u64);
    assert_eq!(db.snapshot("public"), before, "a dry run changes nothing");

    let archive = tempfile::NamedTempFile::new().expect("temp file");
    let path = archive.path().display().to_string();
    let r = run_json(
        &db,
        "public",
        &["prune", "--archive", &path, "--batch-size", "2"],
    );
    assert_eq!(r["total"], gone_rows.len() as u64);
    let dropped = r["partitions_dropped"]
        .as_array()
        .expect("partitions_dropped");
    assert_eq!(dropped.len(), 12);
    let in_leaves: u64 = dropped
        .iter()
        .map(|l| l["rows"].as_u64().expect("present"))
        .sum();
    assert!(
        in_leaves < gone_rows.len() as u64,
        "the straddling leaf went by batches"
    );
    assert!(r["batches"].as_u64().is_some_and(|b| b >= 1));
    let left = leaves(&db, "public");
    assert!(left.is_disjoint(&gone_leaves), "{left:?}");
    assert_eq!(left.len(), 25 - 12);
    let after = db.snapshot("public");
    let kept: BTreeMap<i64, String> = before
        .iter()
        .filter(|(id, _)| !gone_rows.contains(id))
        .map(|(id, row)| (*id, row.clone()))
        .collect();
    assert_eq!(
        after, kept,
        "exactly the old final rows went, nothing else changed"
    );
    let archived: BTreeSet<i64> = std::fs::read_to_string(archive.path())
        .expect("archive")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON line")["id"]
                .as_i64()
                .expect("present")
        })
        .collect();
    assert_eq!(archived, gone_rows, "the archive holds every dropped row");

    let again = run_json(&db, "public", &["prune"]);
    assert_eq!(again["total"], 0);
    assert_eq!(again["partitions_dropped"], serde_json::json!([]));
}

#[test]
fn partitioned_prune_by_queue_never_takes_a_row_sharing_a_ctid_in_another_leaf() {
    let db = partitioned_db("part_ctid", "public");
    // One row per leaf, so each sits at ctid (0,1): an old one to prune in queue alpha, old
    // ones of other queues, and new ones of alpha.
    let mut jobs = vec![];
    for state in ["completed", "cancelled", "discarded"] {
        jobs.push(JobSpec::new(state, 3.0 * DAY).queue("alpha"));
        jobs.push(JobSpec::new(state, 4.0 * DAY).queue("beta"));
        jobs.push(JobSpec::new(state, 60.0).queue("alpha"));
        jobs.push(
            JobSpec::new(state, 2.0 * DAY + HOUR)
                .queue("alpha")
                .worker("other"),
        );
    }
    insert(&db, "public", &jobs);
    assert!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE ctid = '(0,1)'") >= 9,
        "the fixture puts rows at the same ctid in many leaves"
    );
    let before = db.snapshot("public");
    let r = run_json(
        &db,
        "public",
        &["prune", "--queue", "alpha", "--worker", "app.workers.Test"],
    );
    assert_eq!(r["total"], 3);
    assert!(r
        .get("partitions_dropped")
        .is_some_and(|p| p == &serde_json::json!([])));
    let after = db.snapshot("public");
    let gone: Vec<i64> = before
        .keys()
        .filter(|id| !after.contains_key(id))
        .copied()
        .collect();
    assert_eq!(gone.len(), 3, "{gone:?}");
    for id in gone {
        let row: Value = serde_json::from_str(&before[&id]).expect("present");
        assert_eq!(row["queue"], "alpha");
        assert_eq!(row["worker"], "app.workers.Test");
    }
    assert_eq!(leaves(&db, "public").len(), 25, "filters never drop a leaf");
}

#[test]
fn partitioned_prune_leaves_a_busy_leaf_for_the_next_pass() {
    let db = partitioned_db("part_busy", "public");
    insert(&db, "public", &population(&db));
    let (gone_rows, _) = expected(&db);
    let mut holder = db.conn();
    // A lock that DETACH … CONCURRENTLY waits for but row writes do not.
    holder
        .batch_execute("BEGIN; LOCK TABLE oban_jobs_completed IN SHARE UPDATE EXCLUSIVE MODE")
        .expect("lock");
    let r = run_json(&db, "public", &["prune", "--lock-timeout", "300ms"]);
    let busy = r["partitions_busy"].as_array().expect("partitions_busy");
    assert_eq!(busy.len(), 4, "{r}");
    assert_eq!(
        r["partitions_dropped"].as_array().expect("present").len(),
        8
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed'"),
        14 - r["deleted"]["completed"].as_i64().expect("present")
    );
    holder.batch_execute("COMMIT").expect("unlock");
    let r2 = run_json(&db, "public", &["prune"]);
    assert_eq!(
        r2["partitions_dropped"].as_array().expect("present").len(),
        4
    );
    assert_eq!(
        r["total"].as_u64().expect("present") + r2["total"].as_u64().expect("present"),
        gone_rows.len() as u64
    );
}

#[test]
fn partitioned_prune_leaves_a_parent_whose_detach_waits_on_a_reader_for_the_next_pass() {
    let db = partitioned_db("part_reader", "public");
    insert(&db, "public", &population(&db));
    let (gone_rows, gone_leaves) = expected(&db);
    // A reader in an open transaction: the first phase of DETACH … CONCURRENTLY goes through
    // and leaves the leaf pending; the second waits for the reader, past lock_timeout. No
    // other leaf of that parent can be detached until the pending one is finalized.
    let mut reader = db.conn();
    reader
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ;              SELECT count(*) FROM oban_jobs WHERE state = 'completed'",
        )
        .expect("read");
    let r = run_json(&db, "public", &["prune", "--lock-timeout", "300ms"]);
    let names = |key: &str| -> BTreeSet<String> {
        r[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| {
                v.as_str()
                    .or(v["name"].as_str())
                    .expect("a name")
                    .to_string()
            })
            .collect()
    };
    let busy = names("partitions_busy");
    assert_eq!(busy.len(), 4, "every completed leaf waits: {r}");
    assert!(
        busy.iter().all(|n| n.starts_with("oban_jobs_completed_")),
        "{r}"
    );
    assert_eq!(names("partitions_dropped").len(), 8, "{r}");
    // A second pass while the reader stays: still nothing from that parent, still exit 0.
    let again = run_json(&db, "public", &["prune", "--lock-timeout", "300ms"]);
    assert_eq!(
        again["partitions_busy"].as_array().map(Vec::len),
        Some(4),
        "{again}"
    );
    reader.batch_execute("COMMIT").expect("end the reader");
    let r2 = run_json(&db, "public", &["prune"]);
    let dropped: BTreeSet<String> = r2["partitions_dropped"]
        .as_array()
        .expect("present")
        .iter()
        .map(|l| l["name"].as_str().expect("a name").to_string())
        .collect();
    assert_eq!(dropped.len(), 4, "{r2}");
    assert!(dropped.is_subset(&gone_leaves));
    let total: u64 = [&r, &again, &r2]
        .iter()
        .map(|x| x["total"].as_u64().expect("present"))
        .sum();
    assert_eq!(total, gone_rows.len() as u64);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM pg_inherits WHERE inhdetachpending",),
        0
    );
}

/// Leaves `leaf` of `oban_jobs_completed` pending detach, as a DBA's concurrent detach does
/// when a reader outlasts its lock timeout.
fn leave_pending(db: &PgDb, leaf: &str) {
    let mut reader = db.conn();
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM oban_jobs")
        .expect("read");
    // Two statements: a concurrent detach cannot run in the implicit transaction of a
    // multi-statement string.
    let mut dba = db.conn();
    dba.batch_execute("SET lock_timeout = '200ms'")
        .expect("set");
    let detach = dba.batch_execute(&format!(
        "ALTER TABLE oban_jobs_completed DETACH PARTITION {leaf} CONCURRENTLY"
    ));
    assert!(
        format!("{detach:?}").contains("lock timeout"),
        "the detach waits for the reader: {detach:?}"
    );
    reader.batch_execute("COMMIT").expect("end the reader");
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM pg_inherits WHERE inhdetachpending \
             AND inhrelid = '{leaf}'::regclass"
        )),
        1
    );
}

/// A pending leaf that prune finalizes carries the mark before its detach is finished, so that
/// a pass stopped between the finalize and the drop leaves a table the next pass finds.
#[test]
fn a_finalized_leaf_is_marked_for_the_next_pass() {
    let db = partitioned_db("part_pending_mark", "public");
    insert(&db, "public", &population(&db));
    let (_, gone_leaves) = expected(&db);
    let leaf = gone_leaves
        .iter()
        .find(|n| n.starts_with("oban_jobs_completed_"))
        .expect("an old completed leaf")
        .clone();
    leave_pending(&db, &leaf);
    let mut lib = crate::support::Target::db(&db);
    let schema = lib.schema("public").expect("schema");
    let pending = schema
        .partitions
        .as_ref()
        .and_then(|p| p.leaves.iter().find(|l| l.name == leaf))
        .expect("the pending leaf")
        .clone();
    assert!(pending.detach_pending);
    lib.detach(&pending, oban::model::FinalState::Completed)
        .expect("finalize");
    let schema = lib.schema("public").expect("schema");
    let detached = schema.partitions.expect("partitioned").detached;
    assert!(detached.iter().any(|d| d.name == leaf), "{detached:?}");
}

#[test]
fn partitioned_prune_finishes_or_keeps_a_detach_left_pending_by_someone_else() {
    // A pending leaf among the old ones, not the oldest: it is finalized first, else every
    // other detach from its parent would fail.
    let db = partitioned_db("part_pending_old", "public");
    insert(&db, "public", &population(&db));
    let (gone_rows, gone_leaves) = expected(&db);
    let old: Vec<&String> = gone_leaves
        .iter()
        .filter(|n| n.starts_with("oban_jobs_completed_"))
        .collect();
    assert_eq!(old.len(), 4);
    leave_pending(&db, old[2]);
    // A session reading that leaf directly holds its finalize past lock_timeout: the leaf is
    // busy this pass, and the next pass finishes it.
    let mut holder = db.conn();
    holder
        .batch_execute(&format!("BEGIN; SELECT count(*) FROM {}", old[2]))
        .expect("hold the leaf");
    let r = run_json(&db, "public", &["prune", "--lock-timeout", "300ms"]);
    holder.batch_execute("COMMIT").expect("release");
    let r2 = run_json(&db, "public", &["prune"]);
    let dropped = |x: &Value| x["partitions_dropped"].as_array().map_or(0, Vec::len);
    assert_eq!(dropped(&r) + dropped(&r2), 12, "{r}\n{r2}");
    assert_eq!(
        r["total"].as_u64().expect("present") + r2["total"].as_u64().expect("present"),
        gone_rows.len() as u64
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM pg_class WHERE relname = '{}'",
            old[2]
        )),
        0,
        "the detached leaf is gone"
    );

    // A pending leaf that is not past the cutoff is kept, and so are its parent's old leaves
    // (they cannot be detached until it is finished), with a notice; the pass exits 0.
    let db = partitioned_db("part_pending_new", "public");
    insert(&db, "public", &population(&db));
    let (_, gone_leaves) = expected(&db);
    let recent = leaves(&db, "public")
        .into_iter()
        .filter(|n| n.starts_with("oban_jobs_completed_2") && !gone_leaves.contains(n))
        .max()
        .expect("a recent completed leaf");
    leave_pending(&db, &recent);
    // A filtered pass removes no leaf whole: nothing to block, nothing to say.
    let out = oban()
        .args(["-d", &db.url, "-o", "json", "prune", "--queue", "alpha"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("pending detach"), "{stderr}");
    let out = oban()
        .args(["-d", &db.url, "-o", "json", "prune"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("partition {recent}")), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    let busy = r["partitions_busy"].as_array().expect("a list");
    assert_eq!(busy.len(), 4, "{r}");
    assert_eq!(r["partitions_dropped"].as_array().map(Vec::len), Some(8));
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM pg_class WHERE relname = '{recent}'"
        )),
        1,
        "the kept leaf is still there"
    );
}

#[test]
fn partitioned_prune_warns_when_the_coming_days_lack_a_leaf() {
    let db = partitioned_db("part_premake", "public");
    let out = oban()
        .args(["-d", &db.url, "prune", "-q"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db.exec(
        "DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'oban_jobs_cancelled_' || \
           to_char(timezone('UTC', now())::date + 2, 'YYYYMMDD')); END $$",
    );
    let out = oban()
        .args(["-d", &db.url, "prune", "-q"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no partition holds cancelled on"),
        "{stderr}"
    );
}

/// Runs a pool statement that races the other workers, again when it meets SQLSTATE 40001:
/// workers fetch and stage rows that others move to the completed leaf, which is inherent to
/// the layout (Oban's own fetch retries likewise). Any other error is returned.
fn racing<T>(
    conn: &mut diesel::PgConnection,
    what: &str,
    mut run: impl FnMut(&mut diesel::PgConnection) -> diesel::QueryResult<T>,
) -> Result<T, String> {
    use diesel::result::{DatabaseErrorKind, Error};
    loop {
        match run(conn) {
            Err(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => continue,
            other => return other.map_err(|e| format!("{what}: {e}")),
        }
    }
}

/// One worker of the test-side pool: fetch a few jobs, then complete (a move to today's
/// completed leaf) or retry each, stage retryable jobs again, enqueue more. Returns the ids it
/// enqueued; any other database error is the test's failure.
fn worker(url: &str, stop: &AtomicBool, n: i64) -> Result<BTreeSet<i64>, String> {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    let mut enqueued = BTreeSet::new();
    while !stop.load(Ordering::SeqCst) {
        let fetched: Vec<IdRow> = racing(&mut conn, "fetch", |c| {
            sql_query(
                "UPDATE oban_jobs SET state = 'executing', attempt = attempt + 1, \
                   attempted_at = timezone('UTC', now()), attempted_by = ARRAY['pool', 'p'] \
                 WHERE id IN (SELECT id FROM oban_jobs WHERE state = 'available' \
                   AND queue = 'work' ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED) RETURNING id",
            )
            .load(c)
        })?;
        // A job this worker holds executing: its ack must never fail.
        for job in fetched {
            let ack = if job.id % 3 == n % 3 {
                "UPDATE oban_jobs SET state = 'retryable', scheduled_at = timezone('UTC', now()) \
                 WHERE id = $1 AND state = 'executing'"
            } else {
                "UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) \
                 WHERE id = $1 AND state = 'executing'"
            };
            sql_query(ack)
                .bind::<BigInt, _>(job.id)
                .execute(&mut conn)
                .map_err(|e| format!("ack: {e}"))?;
        }
        racing(&mut conn, "stage", |c| {
            sql_query(
                "UPDATE oban_jobs SET state = 'available' WHERE id IN (SELECT id FROM oban_jobs \
                   WHERE state = 'retryable' AND queue = 'work' FOR UPDATE SKIP LOCKED)",
            )
            .execute(c)
        })?;
        let new: Vec<IdRow> = sql_query(
            "INSERT INTO oban_jobs (state, queue, worker, max_attempts) \
             SELECT 'available', 'work', 'pool', 100 FROM generate_series(1, 3) RETURNING id",
        )
        .load(&mut conn)
        .map_err(|e| format!("enqueue: {e}"))?;
        enqueued.extend(new.into_iter().map(|r| r.id));
    }
    Ok(enqueued)
}

#[test]
fn partitioned_prune_drops_leaves_while_workers_fetch_ack_and_retry() {
    let db = partitioned_db("part_pool", "public");
    insert(&db, "public", &population(&db));
    db.exec(
        "INSERT INTO oban_jobs (state, queue, worker, max_attempts) \
         SELECT 'available', 'work', 'pool', 100 FROM generate_series(1, 2000)",
    );
    let (gone_rows, gone_leaves) = expected(&db);
    let open_before = ids(
        &db,
        "SELECT id FROM oban_jobs WHERE state NOT IN ('completed', 'cancelled', 'discarded')",
    );
    let stop = AtomicBool::new(false);
    let archive = tempfile::NamedTempFile::new().expect("temp file");
    let path = archive.path().display().to_string();
    let (pool, report) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|n| {
                let (url, stop) = (&db.url, &stop);
                scope.spawn(move || worker(url, stop, n))
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let report = run_json(
            &db,
            "public",
            &["prune", "--archive", &path, "--batch-size", "3"],
        );
        // Actions that move rows between leaves while workers move them too: a row moved
        // under a statement is run again or skipped, never an error, in batches of a plan
        // (cancel) and in a walk of every match (retry --limit all) alike.
        for _ in 0..5 {
            let r = run_json(
                &db,
                "public",
                &[
                    "cancel",
                    "--state",
                    "available",
                    "--queue",
                    "work",
                    "--limit",
                    "40",
                    "--all-matching",
                    "--yes",
                ],
            );
            assert!(r["jobs"].as_array().is_some_and(|j| !j.is_empty()), "{r}");
            run_json(
                &db,
                "public",
                &[
                    "retry",
                    "--state",
                    "cancelled",
                    "--queue",
                    "work",
                    "--limit",
                    "all",
                    "--all-matching",
                    "--yes",
                ],
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
        let pool: Vec<Result<BTreeSet<i64>, String>> = workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect();
        (pool, report)
    });
    let mut enqueued = BTreeSet::new();
    for result in pool {
        enqueued.extend(result.expect("the pool saw no error"));
    }
    assert!(!enqueued.is_empty(), "the pool worked during the prune");
    let dropped: BTreeSet<String> = report["partitions_dropped"]
        .as_array()
        .expect("partitions_dropped")
        .iter()
        .map(|l| l["name"].as_str().expect("present").to_string())
        .collect();
    assert_eq!(dropped, gone_leaves);
    assert!(leaves(&db, "public").is_disjoint(&gone_leaves));
    // No job the pool could still run, or ran today, is lost.
    let present = ids(&db, "SELECT id FROM oban_jobs");
    let missing: Vec<&i64> = open_before
        .union(&enqueued)
        .filter(|id| !present.contains(id))
        .collect();
    assert!(missing.is_empty(), "lost jobs: {missing:?}");
    assert!(gone_rows.is_disjoint(&present));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE queue = 'work'"),
        2000 + enqueued.len() as i64
    );
    let archived: BTreeSet<i64> = std::fs::read_to_string(archive.path())
        .expect("archive")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON line")["id"]
                .as_i64()
                .expect("present")
        })
        .collect();
    assert_eq!(archived, gone_rows);
}

#[test]
fn partitioned_a_row_moved_under_a_lock_is_run_again() {
    use diesel::Connection;
    let db = partitioned_db("part_moved", "public");
    insert(&db, "public", &[JobSpec::new("executing", 60.0)]);
    let mut mover = db.conn();
    mover
        .batch_execute(
            "BEGIN; UPDATE oban_jobs SET state = 'completed', \
             completed_at = timezone('UTC', now()) WHERE state = 'executing'",
        )
        .expect("move");
    let url = db.url.clone();
    let locker = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).expect("connect");
        let mut tries = 0;
        let result = oban::db::pg::moved::retry(&mut conn, |conn| {
            tries += 1;
            let rows: Vec<IdRow> =
                sql_query("SELECT id FROM oban_jobs WHERE state = 'executing' FOR UPDATE")
                    .load(conn)?;
            Ok(rows.len())
        });
        (result.map_err(|e| format!("{e:#}")), tries)
    });
    // Wait until the locker queues behind the mover, then let the move commit under it.
    while db.count(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND query LIKE '%FOR UPDATE%'",
    ) == 0
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    mover.batch_execute("COMMIT").expect("commit");
    let (result, tries) = locker.join().expect("locker");
    assert_eq!(
        result,
        Ok(0),
        "run again, the moved row is no longer executing"
    );
    assert_eq!(tries, 2, "the first run met SQLSTATE 40001");
}

#[test]
fn partitioned_prune_detaches_plainly_beside_a_default_partition() {
    let db = partitioned_db("part_default", "public");
    // PostgreSQL refuses DETACH … CONCURRENTLY when the parent has a default partition.
    db.exec("CREATE TABLE oban_jobs_completed_other PARTITION OF oban_jobs_completed DEFAULT");
    insert(&db, "public", &population(&db));
    let (gone_rows, gone_leaves) = expected(&db);
    let r = run_json(&db, "public", &["prune"]);
    let dropped: BTreeSet<String> = r["partitions_dropped"]
        .as_array()
        .expect("partitions_dropped")
        .iter()
        .map(|l| l["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(dropped, gone_leaves);
    assert_eq!(r["total"], gone_rows.len() as u64);
    assert!(leaves(&db, "public").contains("oban_jobs_completed_other"));
}
