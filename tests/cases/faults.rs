//! Faults: the tool killed mid-archive, its backend terminated mid-watch, a table lock held
//! by someone else, and secrets in every command's errors.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use serde_json::Value;

use crate::support::{insert, oban, JobSpec, PgDb};

const DAY: f64 = 86_400.0;

fn ids(db: &PgDb) -> BTreeSet<i64> {
    db.snapshot("public").keys().copied().collect()
}

#[test]
fn sigkill_mid_archive_loses_nothing_and_a_rerun_finishes() {
    let db = PgDb::migrated("fault_kill", "public");
    let jobs: Vec<JobSpec> = (0..3000)
        .map(|i| JobSpec::new("completed", 2.0 * DAY + f64::from(i)))
        .collect();
    insert(&db, "public", &jobs);
    let before = ids(&db);
    let dir = tempfile::tempdir().expect("dir");
    let archive = dir.path().join("archive.jsonl");
    // Kill at a few points; each run appends to the same archive.
    for delay_ms in [150u64, 400, 900] {
        let child = Command::new(assert_cmd::cargo::cargo_bin("oban"))
            .args([
                "-d",
                &db.url,
                "prune",
                "--batch-size",
                "50",
                "-q",
                "--archive",
            ])
            .arg(&archive)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        let archived: BTreeSet<i64> = std::fs::read_to_string(&archive)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).expect("whole JSON lines")["id"]
                    .as_i64()
                    .expect("id")
            })
            .collect();
        let now = ids(&db);
        let deleted: BTreeSet<i64> = before.difference(&now).copied().collect();
        assert!(
            deleted.is_subset(&archived),
            "every deleted row is in the archive"
        );
        // A batch synced but not committed when the kill came is still whole in the table.
        let pending = archived.difference(&deleted).count();
        assert!(
            pending <= 50,
            "{pending} archived rows still present: more than one batch"
        );
        assert_eq!(deleted.len() % 50, 0, "batches are applied whole");
    }
    oban()
        .args(["-d", &db.url, "prune", "-q", "--archive"])
        .arg(&archive)
        .assert()
        .success();
    assert!(ids(&db).is_empty(), "the re-run finishes the work");
    let archived: BTreeSet<i64> = std::fs::read_to_string(&archive)
        .expect("archive")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["id"]
                .as_i64()
                .expect("id")
        })
        .collect();
    assert_eq!(archived, before, "the archive holds every deleted row");
}

#[test]
fn a_terminated_backend_costs_one_watch_tick() {
    let db = PgDb::migrated("fault_terminate", "public");
    let jobs: Vec<JobSpec> = (0..400)
        .map(|_| JobSpec::new("completed", 2.0 * DAY))
        .collect();
    insert(&db, "public", &jobs);
    let child = Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args([
            "-d",
            &db.url,
            "prune",
            "--watch",
            "--interval",
            "1s",
            "--batch-size",
            "1",
            "--pause",
            "1s",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    db.exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'oban-cli'",
        db.name
    ));
    std::thread::sleep(Duration::from_millis(2500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pass failed"),
        "the terminated pass is reported: {stderr}"
    );
    let total: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|d| d["total"].as_u64())
        .sum();
    assert!(total >= 1, "a later pass did work after the failure");
    // The failed pass says how far it got; what the table lost is that plus the reports.
    let lost = 400 - db.count("SELECT count(*) AS n FROM oban_jobs") as u64;
    let before_failure: u64 = stderr
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the failure names the rows deleted before it");
    assert_eq!(lost, total + before_failure, "{stderr}");
}

#[test]
fn a_held_table_lock_fails_within_lock_timeout() {
    let db = PgDb::migrated("fault_lock", "public");
    insert(
        &db,
        "public",
        &[
            JobSpec::new("completed", 2.0 * DAY),
            JobSpec::new("executing", DAY),
        ],
    );
    let mut holder = db.conn();
    holder
        .batch_execute("BEGIN; LOCK TABLE oban_jobs IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    for args in [
        vec!["prune", "--lock-timeout", "1s"],
        vec!["rescue", "--lock-timeout", "1s"],
    ] {
        let started = Instant::now();
        let out = oban()
            .arg("-d")
            .arg(&db.url)
            .args(&args)
            .output()
            .expect("run");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{args:?} did not hang"
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("lock timeout"), "{args:?}: {stderr}");
    }
    holder.batch_execute("ROLLBACK").expect("rollback");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs"),
        2,
        "nothing changed"
    );
}

#[test]
fn no_command_shows_the_password() {
    let dsn = "postgres://root:s3cret-pw@127.0.0.1:1/oban";
    for args in [
        vec!["prune"],
        vec!["prune", "--dry-run"],
        vec!["rescue"],
        vec!["stats"],
        vec!["stats", "-o", "prometheus"],
        vec!["inspect"],
        vec!["inspect", "7"],
        vec!["retry", "7"],
        vec!["cancel", "7", "--yes"],
        vec!["delete", "7", "--yes"],
        vec!["migrate"],
        vec!["seed", "--jobs", "1"],
    ] {
        for via_env in [false, true] {
            let mut cmd = oban();
            if via_env {
                cmd.env("DATABASE_URL", dsn);
            } else {
                cmd.args(["-d", dsn]);
            }
            let out = cmd.args(&args).output().expect("run");
            assert_ne!(out.status.code(), Some(0), "{args:?}");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains("s3cret-pw"), "{args:?}: {all}");
        }
    }
}
