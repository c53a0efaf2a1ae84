//! `oban doctor` on a partitioned `oban_jobs` (the layout built from the facts): a healthy one
//! is all ok, the index checks look for their indexes on the leaves, and the partitioned
//! checks find a leaf missing for the coming days and a DEFAULT partition holding rows, each
//! with a fix that works when applied.

use std::collections::BTreeMap;

use serde_json::Value;

use super::doctor::{doctor, finds, healthy_sql, SLOTS};
use super::partitioned::partitioned_db;
use crate::support::{oban, PgDb};

fn read() -> std::sync::RwLockReadGuard<'static, ()> {
    SLOTS.read().unwrap_or_else(|e| e.into_inner())
}

fn fix(found: &BTreeMap<String, Value>, name: &str) -> String {
    found[name]["fix"].as_str().unwrap_or_default().to_string()
}

/// The layout with recent jobs, vacuumed and analyzed as autovacuum would have; the fixture's
/// leaves keep the server's autovacuum defaults, so the open states' leaf first gets the
/// settings doctor asks for.
fn healthy(label: &str) -> PgDb {
    let db = partitioned_db(label, "public");
    db.exec(&healthy_sql(40));
    db.exec("VACUUM ANALYZE oban_jobs");
    let found = finds(&db, &[], &["autovacuum_settings"]);
    let settings = fix(&found, "autovacuum_settings");
    assert!(
        settings.starts_with("ALTER TABLE \"public\".\"oban_jobs_incomplete\" SET ("),
        "on the leaf, never the parent (which refuses storage parameters): {settings}"
    );
    db.exec(&settings);
    db
}

/// `name`'s status and detail in a report.
fn check(report: &Value, name: &str) -> (String, String) {
    let c = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"));
    (
        c["status"].as_str().unwrap_or_default().to_string(),
        c["detail"].as_str().unwrap_or_default().to_string(),
    )
}

/// A date `days` from today on the database clock, as the leaves name it.
fn day(db: &PgDb, days: i32) -> String {
    db.count(&format!(
        "SELECT to_char(timezone('UTC', now())::date + {days}, 'YYYYMMDD')::int8 AS n"
    ))
    .to_string()
}

#[test]
fn doctor_on_a_healthy_partitioned_table_is_all_ok() {
    let _slots = read();
    let db = healthy("doctor_part_healthy");
    let (code, report) = doctor(&db, &[]);
    assert_eq!(code, 0, "{report:#}");
    let (_, fetch) = check(&report, "fetch_index");
    assert!(fetch.contains("oban_jobs_incomplete"), "{fetch}");
    let (_, completed) = check(&report, "completed_at_index");
    assert!(completed.contains("partitioned by day"), "{completed}");
    let (_, leaves) = check(&report, "partition_leaves");
    assert!(leaves.contains("next 2 days"), "{leaves}");
    assert_eq!(
        check(&report, "default_partition").1,
        "no DEFAULT partition"
    );
    let (_, dead) = check(&report, "dead_tuples");
    assert!(
        dead.contains("oban_jobs_incomplete: 0 dead of 42 rows"),
        "{dead}"
    );
    // One summed line for the leaves' indexes, not one per leaf index.
    let names: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("index_bloat:")),
        "{names:?}"
    );
    assert!(names.contains(&"index_bloat"), "{names:?}");

    // oban migrate --partitioned (oban-py's shape, its settings on the leaves): all ok too.
    let py = PgDb::new("doctor_part_py");
    oban()
        .args(["-d", &py.url, "migrate", "--partitioned", "-q"])
        .assert()
        .success();
    py.exec(&healthy_sql(40));
    py.exec("VACUUM ANALYZE oban_jobs");
    finds(&py, &[], &[]);
}

#[test]
fn doctor_finds_a_missing_leaf_and_premake_fixes_it() {
    let _slots = read();
    let db = healthy("doctor_part_leaf");
    db.exec(&format!("DROP TABLE oban_jobs_completed_{}", day(&db, 1)));
    let found = finds(&db, &[], &["partition_leaves"]);
    assert_eq!(found["partition_leaves"]["status"], "warn");
    assert!(
        found["partition_leaves"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("completed on ")),
        "{:#}",
        found["partition_leaves"]
    );
    let premake = fix(&found, "partition_leaves");
    assert_eq!(premake, "oban partitions --premake 3d");
    let args: Vec<&str> = premake.split_whitespace().skip(1).collect();
    oban()
        .args(["-d", &db.url, "-q"])
        .args(&args)
        .assert()
        .success();
    finds(&db, &[], &[]);
    // Today's leaf missing, and no DEFAULT partition to take its rows: a job finishing now
    // cannot be stored.
    db.exec(&format!("DROP TABLE oban_jobs_cancelled_{}", day(&db, 0)));
    let found = finds(&db, &[], &["partition_leaves"]);
    assert_eq!(found["partition_leaves"]["status"], "fail");
}

#[test]
fn doctor_finds_a_default_partition_holding_rows_and_its_fix_moves_them() {
    let _slots = read();
    let db = healthy("doctor_part_default");
    db.exec("CREATE TABLE oban_jobs_completed_other PARTITION OF oban_jobs_completed DEFAULT");
    finds(&db, &[], &[]);
    // Today's leaf gone (its jobs with it): the jobs finishing now land in the DEFAULT
    // partition.
    db.exec(&format!("DROP TABLE oban_jobs_completed_{}", day(&db, 0)));
    db.exec(
        "INSERT INTO oban_jobs (state, worker, attempt, attempted_at, completed_at) \
         SELECT 'completed', 'app.W', 1, timezone('UTC', now()), timezone('UTC', now()) \
         FROM generate_series(1, 7)",
    );
    let found = finds(&db, &[], &["default_partition", "partition_leaves"]);
    let detail = found["default_partition"]["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("oban_jobs_completed_other holds 7 rows"),
        "{detail}"
    );
    // The DEFAULT partition blocks making today's leaf while it holds today's rows.
    let out = oban()
        .args(["-d", &db.url, "partitions", "--premake", "3d"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    db.exec(&fix(&found, "default_partition"));
    finds(&db, &[], &[]);
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM oban_jobs_completed_{}",
            day(&db, 0)
        )),
        7
    );
}

#[test]
fn doctor_looks_for_the_fetch_index_on_the_open_states_leaf() {
    let _slots = read();
    let db = healthy("doctor_part_index");
    db.exec("DROP INDEX oban_jobs_incomplete_state_queue_priority_scheduled_at_id_index");
    let found = finds(&db, &[], &["fetch_index"]);
    assert_eq!(found["fetch_index"]["status"], "fail");
    let create = fix(&found, "fetch_index");
    assert!(
        create.contains("ON \"public\".\"oban_jobs_incomplete\" (state, queue"),
        "{create}"
    );
    db.exec(&create);
    finds(&db, &[], &[]);
    // An index on the parent counts for every leaf below it.
    db.exec("DROP INDEX oban_jobs_incomplete_state_queue_priority_scheduled_at_id_index");
    db.exec("CREATE INDEX oban_jobs_fetch ON oban_jobs (state, queue, priority, scheduled_at, id)");
    db.exec("ANALYZE oban_jobs");
    finds(&db, &[], &[]);
    // A partitioned index made ON ONLY the parent is invalid until every partition has one.
    db.exec("CREATE INDEX oban_jobs_half ON ONLY oban_jobs (queue)");
    let found = finds(&db, &[], &["invalid_indexes"]);
    let drop = fix(&found, "invalid_indexes");
    assert!(drop.starts_with("DROP INDEX IF EXISTS"), "{drop}");
    db.exec(drop.lines().next().unwrap_or_default());
    finds(&db, &[], &[]);
}
