//! Prune by walking the heap: a backlog (most rows eligible, with statistics that say so) and
//! a state without a timestamp index (Elixir's `completed_at`) are walked in physical order;
//! the invariants are the same as the index walk's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use crate::cases::prune::prune_json;
use crate::support::elixir_db;
use crate::support::{insert, JobSpec, PgDb};

const DAY: f64 = 86_400.0;

/// 1,200 eligible jobs (final, two days old) and 300 others of every kind: final but recent,
/// open states with old timestamps, a final state aged on another state's timestamp.
fn backlog() -> Vec<JobSpec> {
    let mut jobs = Vec::new();
    for i in 0..1500 {
        let queue = ["default", "mailers", "events"][i % 3];
        let spec = match i % 5 {
            0 => match i % 4 {
                0 => JobSpec::new("completed", 600.0),
                1 => JobSpec::new("available", 3.0 * DAY),
                2 => JobSpec::new("retryable", 3.0 * DAY),
                _ => {
                    let mut odd = JobSpec::new("cancelled", 3.0 * DAY);
                    odd.stamp = Some("discarded");
                    odd
                }
            },
            k => JobSpec::new(
                ["completed", "cancelled", "discarded", "completed"][k - 1],
                2.0 * DAY,
            ),
        };
        jobs.push(spec.queue(queue));
    }
    jobs
}

fn eligible_ids(db: &PgDb) -> BTreeSet<i64> {
    let mut conn = db.conn();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT id FROM oban_jobs WHERE \
         (state = 'completed' AND completed_at < timezone('UTC', now()) - interval '1 day') OR \
         (state = 'cancelled' AND cancelled_at < timezone('UTC', now()) - interval '1 day') OR \
         (state = 'discarded' AND discarded_at < timezone('UTC', now()) - interval '1 day')",
    )
    .load::<Id>(&mut conn)
    .expect("eligible ids")
    .into_iter()
    .map(|r| r.id)
    .collect()
}

/// `oban prune` with batches of 100, as JSON.
fn prune(db: &PgDb, extra: &[&str]) -> serde_json::Value {
    prune_json(db, &[&["--batch-size", "100"], extra].concat())
}

fn backlog_db(label: &str) -> (PgDb, BTreeSet<i64>, usize) {
    let db = PgDb::migrated(label, "public");
    insert(&db, "public", &backlog());
    db.exec("ANALYZE oban_jobs");
    let eligible = eligible_ids(&db);
    let all = db.snapshot("public").len();
    assert_eq!(eligible.len(), 1200);
    (db, eligible, all)
}

#[test]
fn a_backlog_is_walked_and_exactly_the_eligible_rows_go() {
    let (db, eligible, _) = backlog_db("walk_backlog");
    let before = db.snapshot("public");
    let report = prune(&db, &["--limit", "100000"]);
    assert_eq!(report["method"], "heap_walk", "{report}");
    assert_eq!(report["total"].as_u64(), Some(1200));
    let after = db.snapshot("public");
    let mut gone: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (id, row) in &before {
        match after.get(id) {
            Some(kept) => {
                assert!(!eligible.contains(id), "eligible job {id} was left");
                assert_eq!(kept, row, "job {id} changed");
            }
            None => {
                assert!(eligible.contains(id), "job {id} was not eligible");
                let row: serde_json::Value = serde_json::from_str(row).expect("row json");
                let key = (row["state"].to_string(), row["queue"].to_string());
                *gone.entry(key).or_default() += 1;
            }
        }
    }
    // The batches count on the server what they delete: the report says what went.
    let mut reported: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (queue, states) in report["by_queue"].as_object().expect("by_queue") {
        for (state, n) in states.as_object().expect("states") {
            let key = (format!("{state:?}"), format!("{queue:?}"));
            reported.insert(key, n.as_u64().expect("a count"));
        }
    }
    assert_eq!(reported, gone, "{report}");
    // The next pass, with statistics still saying "backlog", finds nothing and says so fast.
    let report = prune(&db, &["--limit", "100000"]);
    assert_eq!(report["total"].as_u64(), Some(0));
    assert_eq!(report["method"], "index");
}

#[test]
fn a_walk_stops_at_the_limit_and_two_connections_share_it() {
    let (db, eligible, all) = backlog_db("walk_limit");
    let report = prune(&db, &["--limit", "450"]);
    assert_eq!(report["method"], "heap_walk");
    assert_eq!(report["total"].as_u64(), Some(450));
    assert_eq!(report["outcome"], "limit");
    assert_eq!(eligible_ids(&db).len(), 750);
    assert!(eligible_ids(&db).is_subset(&eligible));

    let report = prune(&db, &["--limit", "100000", "--connections", "2"]);
    assert_eq!(report["total"].as_u64(), Some(750));
    assert!(eligible_ids(&db).is_empty());
    assert_eq!(db.snapshot("public").len(), all - 1200);
}

#[test]
fn a_walk_skips_rows_another_session_holds_without_waiting() {
    let (db, eligible, _) = backlog_db("walk_locked");
    let held: Vec<i64> = eligible.iter().copied().step_by(97).collect();
    let mut other = db.conn();
    other
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM oban_jobs WHERE id IN ({}) FOR UPDATE",
            held.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ))
        .expect("hold rows");
    let started = Instant::now();
    let report = prune(&db, &["--limit", "100000", "--lock-timeout", "30s"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the walk waited on a held row"
    );
    assert_eq!(report["method"], "heap_walk");
    assert_eq!(report["total"].as_u64(), Some((1200 - held.len()) as u64));
    let left = eligible_ids(&db);
    assert_eq!(left, held.into_iter().collect::<BTreeSet<_>>());
    other.batch_execute("ROLLBACK").expect("release");
    drop(other);
    assert_eq!(
        prune(&db, &["--limit", "100000"])["total"].as_u64(),
        Some(left.len() as u64)
    );
}

#[test]
fn a_job_retried_under_the_walk_is_left_alone() {
    let (db, eligible, _) = backlog_db("walk_retried");
    // Another session retries some eligible jobs and has not committed yet: the walk must
    // neither wait for it nor delete what the retry makes of them.
    let retried: Vec<i64> = eligible.iter().copied().skip(5).step_by(89).collect();
    let list = retried
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut other = db.conn();
    other
        .batch_execute(&format!(
            "BEGIN; UPDATE oban_jobs SET state = 'available', completed_at = NULL, \
               cancelled_at = NULL, discarded_at = NULL, attempt = 0 WHERE id IN ({list})"
        ))
        .expect("retry under the walk");
    let report = prune(&db, &["--limit", "100000", "--lock-timeout", "30s"]);
    assert_eq!(report["method"], "heap_walk");
    assert_eq!(
        report["total"].as_u64(),
        Some((1200 - retried.len()) as u64)
    );
    other.batch_execute("COMMIT").expect("commit the retry");
    let available = db.count(&format!(
        "SELECT count(*) AS n FROM oban_jobs WHERE id IN ({list}) AND state = 'available'"
    ));
    assert_eq!(
        available,
        retried.len() as i64,
        "every retried job is still there"
    );
    assert!(eligible_ids(&db).is_empty());
}

#[test]
fn an_archiving_walk_writes_exactly_the_rows_it_deletes() {
    let (db, eligible, _) = backlog_db("walk_archive");
    let before = db.snapshot("public");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.jsonl");
    let archive = path.to_str().expect("utf-8 path");
    let report = prune(&db, &["--limit", "100000", "--archive", archive]);
    assert_eq!(report["method"], "heap_walk", "{report}");
    assert_eq!(report["total"].as_u64(), Some(1200));
    let text = std::fs::read_to_string(&path).expect("archive");
    let archived: BTreeSet<i64> = text
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let id = row["id"].as_i64().expect("an id");
            let was: serde_json::Value = serde_json::from_str(&before[&id]).expect("row json");
            assert_eq!(row, was, "the archived row is the row as it was");
            id
        })
        .collect();
    assert_eq!(text.lines().count(), 1200, "each row once");
    assert_eq!(archived, eligible);
    assert!(eligible_ids(&db).is_empty());
}

#[test]
fn a_walk_honours_queue_filters() {
    let (db, eligible, _) = backlog_db("walk_queue");
    let report = prune(
        &db,
        &[
            "--limit", "100000", "--queue", "mailers", "--queue", "events",
        ],
    );
    assert_eq!(report["method"], "heap_walk");
    assert_eq!(report["total"].as_u64(), Some(800));
    let left = eligible_ids(&db);
    assert_eq!(left.len(), 400);
    assert!(left.is_subset(&eligible));
    let rows = db.snapshot("public");
    assert!(
        left.iter()
            .all(|id| rows[id].contains("\"queue\":\"default\"")),
        "only the default queue's eligible jobs are left"
    );
}

#[test]
fn a_narrow_filter_over_a_backlog_walks_the_heap() {
    // 400 of the 1,500 rows (27%) are eligible jobs of queue default, under the 30% that makes
    // a backlog; but 80% of the table is eligible, and the index walk would fetch every one of
    // those to find default's, so the pass walks the heap.
    let (db, eligible, _) = backlog_db("walk_narrow");
    let report = prune(&db, &["--limit", "100000", "--queue", "default"]);
    assert_eq!(report["method"], "heap_walk", "{report}");
    assert_eq!(report["total"].as_u64(), Some(400));
    let left = eligible_ids(&db);
    assert_eq!(left.len(), 800);
    assert!(left.is_subset(&eligible));
    let rows = db.snapshot("public");
    assert!(
        left.iter()
            .all(|id| !rows[id].contains("\"queue\":\"default\"")),
        "every eligible job of queue default went, and only those"
    );
}

#[test]
fn elixir_completed_jobs_without_an_index_are_walked() {
    let db = elixir_db("walk_elixir", "public");
    insert(&db, "public", &backlog());
    let eligible = eligible_ids(&db);
    let report = prune(&db, &["--limit", "100000"]);
    assert_eq!(report["flavour"], "elixir");
    assert_eq!(
        report["method"], "heap_walk",
        "no completed_at index: walked"
    );
    assert_eq!(report["total"].as_u64(), Some(eligible.len() as u64));
    assert!(eligible_ids(&db).is_empty());
}
