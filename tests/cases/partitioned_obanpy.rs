//! The partitioned layout made by `oban migrate --partitioned`, run by a real oban-py worker:
//! jobs are fetched, run and finish into today's leaves, and `oban prune` drops whole old leaves
//! while the worker runs, with no job lost and no error in the worker.

use std::time::Duration;

use crate::cases::partitioned::{leaves, run_json};
use crate::support::obanpy::Worker;
use crate::support::{insert, JobSpec, PgDb};

const DAY: f64 = 86_400.0;

fn insert_sleepers(db: &PgDb, n: usize) {
    db.exec(&format!(
        "INSERT INTO oban_jobs (queue, worker, args) \
         SELECT 'default', 'incident_jobs.Sleep', '{{\"seconds\": 0}}' FROM generate_series(1, {n})"
    ));
}

fn count(db: &PgDb, sql: &str) -> i64 {
    db.count(sql)
}

#[test]
fn oban_py_runs_on_the_partitioned_layout_while_prune_drops_old_leaves() {
    let db = PgDb::new("part_obanpy");
    run_json(&db, "public", &["migrate", "--partitioned"]);
    // Three days ago, for each final state: a leaf of its own holding old jobs.
    for state in ["completed", "cancelled", "discarded"] {
        db.exec(&format!(
            "DO $$ DECLARE d date := (timezone('UTC', now()) - interval '3 days')::date; \
             BEGIN EXECUTE format('CREATE TABLE public.%I PARTITION OF public.oban_jobs_{state} \
               FOR VALUES FROM (%L) TO (%L)', 'oban_jobs_{state}_' || to_char(d, 'YYYYMMDD'), \
               d, d + 1); END $$"
        ));
    }
    let old: Vec<JobSpec> = ["completed", "cancelled", "discarded"]
        .into_iter()
        .flat_map(|s| (0..40).map(move |_| JobSpec::new(s, 3.0 * DAY - 3600.0)))
        .collect();
    insert(&db, "public", &old);
    let before = leaves(&db, "public");
    assert_eq!(
        before.len(),
        1 + 3 * 4,
        "open leaf, three days ahead and one old per state"
    );

    let mut worker = Worker::start(&db, "n1", "default:5");
    insert_sleepers(&db, 60);
    worker.wait_for("the first jobs to run", Duration::from_secs(60), || {
        count(&db, "SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed' AND worker = 'incident_jobs.Sleep'") == 60
    });
    // They finished into today's completed leaf.
    let today = db.count(
        "SELECT count(*) AS n FROM oban_jobs WHERE worker = 'incident_jobs.Sleep' \
         AND tableoid::regclass::text = 'oban_jobs_completed_' || \
             to_char(timezone('UTC', now()), 'YYYYMMDD')",
    );
    assert_eq!(today, 60, "completed into today's leaf");

    // Prune while more jobs arrive and run.
    insert_sleepers(&db, 120);
    let r = run_json(&db, "public", &["prune", "--max-age", "1d"]);
    let dropped = r["partitions_dropped"]
        .as_array()
        .expect("partitions_dropped");
    assert_eq!(dropped.len(), 3, "{r}");
    assert_eq!(r["total"], 120, "{r}");
    worker.wait_for("the jobs inserted around the prune", Duration::from_secs(60), || {
        count(&db, "SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed' AND worker = 'incident_jobs.Sleep'") == 180
    });
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM oban_jobs WHERE worker = 'incident_jobs.Sleep'"
        ),
        180,
        "no job lost"
    );
    assert_eq!(leaves(&db, "public").len(), before.len() - 3);
    let log = worker.log();
    assert!(
        !log.contains("Traceback") && !log.to_lowercase().contains("error"),
        "the worker reported errors:\n{log}"
    );
}
