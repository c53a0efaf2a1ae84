//! `oban prune` through the binary: ages, filters, limits, locks, flavours, prefixes (the
//! archive is in `prune_archive`).

use diesel::connection::SimpleConnection;
use oban::model::JobState;
use serde_json::Value;

use crate::support::{elixir_db, insert, json_out, oban, JobSpec, LiteDb, PgDb, Target};

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// One job of every state, each old and new, so every rule has something to get wrong.
fn population() -> Vec<JobSpec> {
    let mut jobs = vec![];
    for state in JobState::ALL.map(JobState::name) {
        jobs.push(JobSpec::new(state, 2.0 * DAY));
        jobs.push(JobSpec::new(state, 10.0 * 60.0));
    }
    // Non-final jobs carrying an old completed_at must survive: the state decides.
    let mut odd = JobSpec::new("available", 3.0 * DAY);
    odd.stamp = Some("completed");
    jobs.push(odd);
    // A completed job without completed_at is never "older than" anything.
    let mut no_stamp = JobSpec::new("completed", 0.0);
    no_stamp.age = None;
    jobs.push(no_stamp);
    jobs
}

pub fn prune_json(target: &dyn Target, extra: &[&str]) -> Value {
    let dsn = target.dsn();
    let mut args = vec!["-d", dsn.as_str(), "prune", "-o", "json"];
    args.extend_from_slice(extra);
    let out = oban().args(&args).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(&out)
}

#[test]
fn prunes_only_old_final_jobs_postgres() {
    let db = PgDb::migrated("prune_basic", "public");
    insert(&db, "public", &population());
    let before = db.snapshot("public");
    let report = prune_json(&db, &[]);
    assert_eq!(report["command"], "prune");
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["flavour"], "oban_py");
    assert_eq!(report["deleted"]["completed"], 1);
    assert_eq!(report["deleted"]["cancelled"], 1);
    assert_eq!(report["deleted"]["discarded"], 1);
    assert_eq!(report["total"], 3);
    assert_eq!(report["outcome"], "done");
    assert!(report["cutoffs"]["completed"]
        .as_str()
        .is_some_and(|c| c.ends_with('Z')));
    let after = db.snapshot("public");
    assert_eq!(after.len(), before.len() - 3);
    // Every surviving row is byte-for-byte what it was.
    for (id, row) in &after {
        assert_eq!(before.get(id), Some(row));
    }
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs WHERE state IN ('completed','cancelled','discarded') \
             AND coalesce(completed_at, cancelled_at, discarded_at) < timezone('UTC', now()) - interval '1 day'"
        ),
        0
    );
    // A second pass has nothing to do.
    assert_eq!(prune_json(&db, &[])["total"], 0);
}

#[test]
fn prunes_only_old_final_jobs_sqlite() {
    let db = LiteDb::migrated();
    insert(&db, "public", &population());
    let before = db.snapshot();
    let report = prune_json(&db, &[]);
    assert_eq!(report["total"], 3);
    assert_eq!(report["flavour"], "lite");
    let after = db.snapshot();
    assert_eq!(after.len(), before.len() - 3);
    for (id, row) in &after {
        assert_eq!(before.get(id), Some(row));
    }
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs WHERE state IN ('completed','cancelled','discarded') \
             AND julianday(coalesce(completed_at, cancelled_at, discarded_at)) < julianday('now', '-1 day')"
        ),
        0
    );
    assert_eq!(prune_json(&db, &[])["total"], 0);
}

#[test]
fn per_state_ages_and_state_filter() {
    for target in targets("prune_ages") {
        let t = target.as_ref();
        insert(
            t,
            "public",
            &[
                JobSpec::new("completed", 2.0 * HOUR),
                JobSpec::new("completed", 30.0 * 60.0),
                JobSpec::new("cancelled", 2.0 * HOUR),
                JobSpec::new("discarded", 2.0 * HOUR),
                JobSpec::new("discarded", 10.0 * DAY),
            ],
        );
        let dry = prune_json(
            t,
            &["--max-age", "1h", "--discarded-max-age", "7d", "--dry-run"],
        );
        assert_eq!(dry["dry_run"], true);
        assert_eq!(dry["deleted"]["completed"], 1);
        assert_eq!(dry["deleted"]["cancelled"], 1);
        assert_eq!(dry["deleted"]["discarded"], 1);
        // Dry run deleted nothing.
        let only = prune_json(t, &["--max-age", "1h", "--state", "cancelled"]);
        assert_eq!(only["total"], 1);
        assert_eq!(only["deleted"]["cancelled"], 1);
        let rest = prune_json(t, &["--completed-max-age", "20m", "--max-age", "7d"]);
        assert_eq!(rest["deleted"]["completed"], 2);
        assert_eq!(rest["deleted"]["discarded"], 1);
        assert_eq!(rest["deleted"]["cancelled"], 0);
        let last = prune_json(t, &["--max-age", "1h"]);
        assert_eq!(
            last["total"], 1,
            "the 2h discarded job is left for the last pass"
        );
    }
}

/// A migrated PostgreSQL database and a migrated SQLite file.
pub fn targets(label: &str) -> Vec<Box<dyn Target>> {
    let pg = PgDb::migrated(label, "public");
    let lite = LiteDb::migrated();
    vec![Box::new(pg), Box::new(lite)]
}

#[test]
fn queue_and_worker_filters() {
    for target in targets("prune_filters") {
        let t = target.as_ref();
        insert(
            t,
            "public",
            &[
                JobSpec::new("completed", DAY * 2.0)
                    .queue("mailers")
                    .worker("A"),
                JobSpec::new("completed", DAY * 2.0)
                    .queue("mailers")
                    .worker("B"),
                JobSpec::new("completed", DAY * 2.0)
                    .queue("events")
                    .worker("A"),
                JobSpec::new("completed", DAY * 2.0)
                    .queue("it's; DROP TABLE oban_jobs")
                    .worker("A"),
            ],
        );
        let r = prune_json(t, &["--queue", "mailers", "--worker", "B"]);
        assert_eq!(r["total"], 1);
        assert_eq!(r["by_queue"]["mailers"]["completed"], 1);
        let r = prune_json(
            t,
            &["--queue", "it's; DROP TABLE oban_jobs", "--queue", "nope"],
        );
        assert_eq!(r["total"], 1, "a hostile queue name is data");
        let r = prune_json(t, &["--worker", "A"]);
        assert_eq!(r["total"], 2);
        assert_eq!(prune_json(t, &[])["total"], 0);
    }
}

#[test]
fn limit_and_batch_size_boundaries() {
    for target in targets("prune_limits") {
        let t = target.as_ref();
        let jobs: Vec<JobSpec> = (0..10)
            .map(|i| JobSpec::new("completed", DAY + 60.0 * f64::from(i + 1)))
            .collect();
        insert(t, "public", &jobs);
        let r = prune_json(t, &["--limit", "3", "--batch-size", "1"]);
        assert_eq!(r["total"], 3);
        assert_eq!(r["batches"], 3);
        assert_eq!(r["outcome"], "limit");
        let r = prune_json(t, &["--limit", "4", "--batch-size", "4"]);
        assert_eq!(r["total"], 4);
        assert_eq!(r["batches"], 1);
        assert_eq!(r["outcome"], "limit");
        // Exactly the remaining 3 with a batch size that divides unevenly.
        let r = prune_json(t, &["--limit", "4", "--batch-size", "2"]);
        assert_eq!(r["total"], 3);
        assert_eq!(r["batches"], 2);
        assert_eq!(r["outcome"], "done");
        let r = prune_json(t, &["--limit", "1"]);
        assert_eq!(r["total"], 0);
        assert_eq!(r["outcome"], "done");
    }
}

#[test]
fn rows_locked_by_another_transaction_are_skipped() {
    let db = PgDb::migrated("prune_locked", "public");
    let jobs: Vec<JobSpec> = (0..6)
        .map(|_| JobSpec::new("completed", 2.0 * DAY))
        .collect();
    insert(&db, "public", &jobs);
    let mut worker = db.conn();
    worker
        .batch_execute(
            "BEGIN; SELECT id FROM oban_jobs WHERE id IN (SELECT id FROM oban_jobs ORDER BY id LIMIT 2) FOR UPDATE",
        )
        .expect("lock rows");
    let r = prune_json(&db, &["--batch-size", "2", "--lock-timeout", "2s"]);
    assert_eq!(
        r["total"], 4,
        "the two locked rows are skipped, the rest go"
    );
    assert_eq!(r["outcome"], "done");
    worker.batch_execute("COMMIT").expect("commit");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 2);
    assert_eq!(
        prune_json(&db, &[])["total"],
        2,
        "released rows go on the next pass"
    );
}

#[test]
fn overlapping_runs_do_not_both_prune() {
    let db = PgDb::migrated("prune_overlap", "public");
    insert(&db, "public", &[JobSpec::new("completed", 2.0 * DAY)]);
    let mut other = db.conn();
    let key = oban::db::lock::key("prune", "public");
    other
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .expect("hold the lock");
    let out = oban().args(["-d", &db.url, "prune"]).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("another prune is running"), "{text}");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 1);
    let r = prune_json(&db, &[]);
    assert_eq!(r["outcome"], "locked");
    // A different prefix is a different lock.
    drop(other);
    assert_eq!(prune_json(&db, &[])["total"], 1);
}

#[test]
fn pause_between_batches_takes_milliseconds() {
    let db = PgDb::migrated("prune_pause_ms", "public");
    insert(&db, "public", &population());
    let out = oban()
        .args([
            "-d",
            &db.url,
            "prune",
            "--batch-size",
            "1",
            "--pause",
            "20ms",
            "-o",
            "json",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_out(&out);
    assert_eq!(r["total"], 3);
    // Three one-row batches, two pauses between them.
    assert!(r["batches"].as_u64().is_some_and(|b| b >= 3), "{r}");
}

#[test]
fn elixir_flavour_is_pruned_correctly_with_an_index_hint() {
    let db = elixir_db("prune_elixir", "public");
    insert(&db, "public", &population());
    let before = db.snapshot("public");
    let out = oban()
        .args(["-d", &db.url, "prune", "-o", "json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_out(&out);
    assert_eq!(r["flavour"], "elixir");
    assert_eq!(r["total"], 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hint:") && stderr.contains("(completed_at) WHERE state = 'completed'"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("(cancelled_at)"),
        "cancelled_at is served by (state, cancelled_at): {stderr}"
    );
    let after = db.snapshot("public");
    assert_eq!(after.len(), before.len() - 3);
    for (id, row) in &after {
        assert_eq!(before.get(id), Some(row));
    }
    // oban-py's own schema has every index: no hint.
    let py = PgDb::migrated("prune_no_hint", "public");
    let out = oban().args(["-d", &py.url, "prune"]).output().expect("run");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hint:"));
}

#[test]
fn non_default_prefix() {
    let db = PgDb::migrated("prune_prefix", "jobs_private");
    insert(&db, "jobs_private", &population());
    let r = {
        let out = oban()
            .args([
                "-d",
                &db.url,
                "--prefix",
                "jobs_private",
                "prune",
                "-o",
                "json",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_out(&out)
    };
    assert_eq!(r["prefix"], "jobs_private");
    assert_eq!(r["total"], 3);
    // The default prefix has no table: a clear error naming the schema searched, exit 1.
    let out = oban().args(["-d", &db.url, "prune"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no oban_jobs table in schema \"public\""),
        "{stderr}"
    );
    let elixir = elixir_db("prune_prefix_elixir", "ex_jobs");
    insert(&elixir, "ex_jobs", &population());
    let out = oban()
        .args([
            "-d",
            &elixir.url,
            "--prefix",
            "ex_jobs",
            "prune",
            "-o",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(json_out(&out)["total"], 3);
}

#[test]
fn pause_and_max_runtime_stop_a_pass_cleanly() {
    let db = PgDb::migrated("prune_runtime", "public");
    let jobs: Vec<JobSpec> = (0..20)
        .map(|_| JobSpec::new("completed", 2.0 * DAY))
        .collect();
    insert(&db, "public", &jobs);
    let r = prune_json(
        &db,
        &["--batch-size", "1", "--pause", "1s", "--max-runtime", "1s"],
    );
    assert_eq!(r["outcome"], "max_runtime");
    let total = r["total"].as_i64().expect("total");
    assert!((1..=3).contains(&total), "deleted {total}");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 20 - total);
}

#[test]
fn table_and_csv_output() {
    let db = PgDb::migrated("prune_output", "public");
    insert(
        &db,
        "public",
        &[JobSpec::new("completed", 2.0 * DAY).queue("mailers")],
    );
    let out = oban()
        .args(["-d", &db.url, "prune", "--dry-run", "-o", "csv"])
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "state,queue,jobs,dry_run\ncompleted,mailers,1,true\n"
    );
    let out = oban().args(["-d", &db.url, "prune"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("prune: deleted 1 job in"), "{text}");
    assert!(text.contains("mailers"), "{text}");
    assert!(
        text.lines().all(|l| l.chars().count() <= 80),
        "fits 80 columns:\n{text}"
    );
    let out = oban()
        .args(["-d", &db.url, "prune", "-q"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn two_connections_respect_the_limit_and_take_everything() {
    let db = PgDb::migrated("prune_two", "public");
    let jobs: Vec<JobSpec> = (0..40)
        .map(|i| {
            JobSpec::new(
                ["completed", "cancelled", "discarded"][i % 3],
                DAY + 60.0 * i as f64,
            )
        })
        .collect();
    insert(&db, "public", &jobs);
    let r = prune_json(
        &db,
        &["--connections", "2", "--batch-size", "3", "--limit", "17"],
    );
    assert_eq!(r["total"], 17);
    assert_eq!(r["outcome"], "limit");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 23);
    let r = prune_json(&db, &["--connections", "2", "--batch-size", "4"]);
    assert_eq!(r["total"], 23);
    assert_eq!(r["outcome"], "done");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 0);
    let out = oban()
        .args(["-d", &db.url, "prune", "--connections", "3"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
