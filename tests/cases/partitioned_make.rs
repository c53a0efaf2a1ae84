//! Making a partitioned layout: `oban partitions --premake` (the coming days' leaves) and
//! `oban migrate --partitioned` (the layout in oban-py's shape).

use diesel::connection::SimpleConnection;

use super::partitioned::{leaves, partitioned_db, run_json, since_midnight, HOUR};
use crate::support::{insert, JobSpec, PgDb};

#[test]
fn partitioned_premake_creates_the_coming_days_once() {
    let db = partitioned_db("part_premake_cmd", "public");
    let before = leaves(&db, "public");
    let dry = run_json(
        &db,
        "public",
        &["partitions", "--premake", "5d", "--dry-run"],
    );
    let listed = dry["created"].as_array().expect("created").len();
    assert_eq!(
        listed,
        3 * 2,
        "today + 4 days, two of them new, per final state"
    );
    assert_eq!(leaves(&db, "public"), before, "a dry run creates nothing");
    let r = run_json(&db, "public", &["partitions", "--premake", "5d"]);
    assert_eq!(r["created"].as_array().expect("created").len(), listed);
    assert_eq!(leaves(&db, "public").len(), before.len() + listed);
    let again = run_json(&db, "public", &["partitions", "--premake", "5d"]);
    assert_eq!(again["created"], serde_json::json!([]), "idempotent");
    // A job can finish on the new days: a row lands in the new leaf.
    db.exec(
        "INSERT INTO oban_jobs (state, worker, completed_at) \
         VALUES ('completed', 'w', timezone('UTC', now()) + interval '4 days')",
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs j JOIN pg_class c ON c.oid = j.tableoid \
             WHERE c.relname = 'oban_jobs_completed_' || \
               to_char(timezone('UTC', now()) + interval '4 days', 'YYYYMMDD')"
        ),
        1
    );
    // An ordinary table has no leaves to make.
    let plain = PgDb::migrated("part_premake_plain", "public");
    let out = crate::support::oban()
        .args(["-d", &plain.url, "partitions"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not partitioned"));
}

/// Making a leaf locks the parent: a session holding the table makes `partitions` give up
/// at its lock timeout, say which flag waits longer, and create nothing.
#[test]
fn partitioned_premake_gives_up_at_its_lock_timeout() {
    let db = partitioned_db("part_premake_lock", "public");
    let before = leaves(&db, "public");
    let mut holder = db.conn();
    holder
        .batch_execute("BEGIN; LOCK TABLE oban_jobs IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    let out = crate::support::oban()
        .args([
            "-d",
            &db.url,
            "partitions",
            "--premake",
            "5d",
            "--lock-timeout",
            "1s",
        ])
        .output()
        .expect("run");
    holder.batch_execute("ROLLBACK").expect("release");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lock_timeout (1s) ran out; raise --lock-timeout"),
        "{stderr}"
    );
    assert_eq!(leaves(&db, "public"), before, "nothing created");
}

#[test]
fn partitioned_premake_makes_what_it_can_beside_a_default_and_waits_for_no_other_run() {
    let db = partitioned_db("part_premake_default", "public");
    // A DEFAULT partition holding a job finished in four days: that day's leaf cannot be
    // made (its rows would have to move); the others can, shaped like the ranged leaves.
    db.exec(
        "DO $$ DECLARE r record; BEGIN \
           FOR r IN SELECT relname FROM pg_class WHERE relname ~ '^oban_jobs_completed_2[0-9]{7}$' \
           LOOP EXECUTE format('ALTER TABLE %I SET (fillfactor = 90)', r.relname); END LOOP; \
         END $$; \
         CREATE TABLE oban_jobs_completed_default PARTITION OF oban_jobs_completed DEFAULT; \
         INSERT INTO oban_jobs (state, queue, worker, args, completed_at) VALUES \
           ('completed', 'q', 'w', '{}', timezone('UTC', now()) + interval '4 days')",
    );
    let out = crate::support::oban()
        .args(["-d", &db.url, "partitions", "--premake", "7d"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("default partition"), "{stderr}");
    // Every leaf asked for but the one the DEFAULT's row is in: the last day's of each state.
    let day = |k: u32| {
        db.count(&format!(
            "SELECT to_char(timezone('UTC', now()) + interval '{k} days', 'YYYYMMDD')::int8 AS n"
        ))
    };
    let made = leaves(&db, "public");
    for state in ["completed", "cancelled", "discarded"] {
        let last = format!("oban_jobs_{state}_{}", day(6));
        assert!(made.contains(&last), "{last}: {made:?}");
    }
    let blocked = format!("oban_jobs_completed_{}", day(4));
    assert!(!made.contains(&blocked), "{made:?}");
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM pg_class WHERE relname ~ '^oban_jobs_completed_2[0-9]{7}$' \
             AND NOT coalesce('fillfactor=90' = ANY (reloptions), false)"
        ),
        0,
        "every completed leaf has the ranged leaves' storage parameters"
    );

    // Another run holds the lock: this one does nothing and says so, exit 0.
    let key = oban::db::lock::key("partitions", "public");
    let mut other = db.conn();
    other
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .expect("lock");
    let before = leaves(&db, "public");
    db.exec("DELETE FROM oban_jobs");
    let out = crate::support::oban()
        .args(["-d", &db.url, "partitions", "--premake", "9d"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("another run"), "{stdout}");
    assert_eq!(leaves(&db, "public"), before, "nothing made");
}

#[test]
fn partitioned_migrate_creates_the_layout_in_oban_py_shape() {
    let db = PgDb::new("part_migrate");
    let dry = run_json(&db, "jobs", &["migrate", "--partitioned", "--dry-run"]);
    assert_eq!(dry["migrations"].as_array().expect("migrations").len(), 1);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'jobs'"),
        0,
        "a dry run creates nothing"
    );
    let r = run_json(&db, "jobs", &["migrate", "--partitioned"]);
    assert_eq!(r["partitioned"], true);
    let made = leaves(&db, "jobs");
    assert_eq!(
        made.len(),
        1 + 3 * 3,
        "the open leaf, and today + two days per final state"
    );
    // Storage parameters sit on the leaves, the leaves made later included.
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'jobs' AND c.relkind = 'r' AND c.relname LIKE 'oban_jobs_%' \
               AND 'autovacuum_vacuum_scale_factor=0.02' = ANY (c.reloptions)"
        ),
        10
    );
    let mut lib = crate::support::Target::db(&db);
    let schema = lib.schema("jobs").expect("found");
    assert_eq!(schema.flavour, oban::db::Flavour::ObanPy);
    assert!(schema.partitions.is_some() && schema.has_producers);

    // Jobs finishing today land in today's leaves, and the commands work on them.
    let age = (since_midnight(&db) / 2.0).min(60.0);
    insert(
        &db,
        "jobs",
        &[
            JobSpec::new("completed", age),
            JobSpec::new("discarded", age),
            JobSpec::new("executing", 2.0 * HOUR),
            JobSpec::new("available", age),
        ],
    );
    let r = run_json(&db, "jobs", &["inspect", "--state", "completed"]);
    assert_eq!(r["jobs"].as_array().expect("jobs").len(), 1);
    let r = run_json(
        &db,
        "jobs",
        &["retry", "--state", "discarded", "--all-matching", "--yes"],
    );
    assert_eq!(r["jobs"].as_array().expect("jobs").len(), 1);
    let r = run_json(&db, "jobs", &["rescue", "--rescue-after", "1h"]);
    assert_eq!(r["rescued"], 1);
    let r = run_json(&db, "jobs", &["prune", "--dry-run"]);
    assert_eq!(r["total"], 0);

    // Again: nothing changes. An ordinary table is refused, not converted.
    let again = run_json(&db, "jobs", &["migrate", "--partitioned"]);
    assert!(again["migrations"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(leaves(&db, "jobs"), made);
    let plain = PgDb::migrated("part_migrate_plain", "public");
    let out = crate::support::oban()
        .args(["-d", &plain.url, "migrate", "--partitioned"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ordinary oban_jobs"));
}
