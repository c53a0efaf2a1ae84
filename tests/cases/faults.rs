//! Faults: the tool killed mid-archive, its backend terminated mid-watch, a table lock held
//! by someone else, a server that accepts and never answers, and secrets in every command's
//! errors.

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
        // The message names the limit that ran out and the flag that sets it.
        assert!(
            stderr.contains("lock_timeout (1s) ran out; raise --lock-timeout"),
            "{args:?}: {stderr}"
        );
    }
    // stats waits on the lock too, and gives up at its statement timeout, saying which flag
    // to raise.
    let out = oban()
        .args([
            "-d",
            &db.url,
            "stats",
            "--exact",
            "--statement-timeout",
            "300ms",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("statement timeout")
            && stderr.contains("raise --statement-timeout to wait longer, or drop --exact"),
        "{stderr}"
    );
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

/// A test-side Oban: fetches available jobs with SKIP LOCKED, holds them executing for a moment,
/// acks them, inserts new ones and heartbeats its producer. Returns the ids it inserted and the
/// acks that found their job no longer executing (must be none).
fn worker(url: String, producer: &'static str, until: Instant) -> (Vec<i64>, u64) {
    use diesel::sql_types::{BigInt, Text};
    use diesel::{sql_query, Connection, PgConnection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut conn = PgConnection::establish(&url).expect("worker connects");
    let mut inserted = Vec::new();
    let mut lost = 0;
    let mut round = 0;
    while Instant::now() < until {
        round += 1;
        sql_query(
            "INSERT INTO oban_producers (uuid, node, queue) VALUES ($1::uuid, 'test-node', 'default') \
             ON CONFLICT (uuid) DO UPDATE SET updated_at = timezone('UTC', now())",
        )
        .bind::<Text, _>(producer)
        .execute(&mut conn)
        .expect("heartbeat");
        let fetched: Vec<Id> = sql_query(
            "UPDATE oban_jobs SET state = 'executing', attempt = attempt + 1, \
               attempted_at = timezone('UTC', now()), attempted_by = ARRAY['test-node', $1] \
             WHERE id IN (SELECT id FROM oban_jobs WHERE state = 'available' \
                          ORDER BY priority, scheduled_at, id LIMIT 5 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind::<Text, _>(producer)
        .load(&mut conn)
        .expect("fetch");
        // Every third batch runs longer than rescue's --rescue-after below: only the producer
        // heartbeat says these jobs are still alive.
        std::thread::sleep(Duration::from_millis(if round % 3 == 0 {
            1300
        } else {
            30
        }));
        for (i, job) in fetched.iter().enumerate() {
            let (state, stamp) = match i % 5 {
                0 => ("retryable", "scheduled_at"),
                1 => ("discarded", "discarded_at"),
                _ => ("completed", "completed_at"),
            };
            let n = sql_query(format!(
                "UPDATE oban_jobs SET state = '{state}', {stamp} = timezone('UTC', now()) \
                 WHERE id = $1 AND state = 'executing'"
            ))
            .bind::<BigInt, _>(job.id)
            .execute(&mut conn)
            .expect("ack");
            lost += 1 - n as u64;
        }
        let new: Vec<Id> = sql_query(
            "INSERT INTO oban_jobs (worker, queue, args) SELECT 'app.workers.Live', 'default', \
             jsonb_build_object('n', g) FROM generate_series(1, 5) g RETURNING id",
        )
        .load(&mut conn)
        .expect("insert");
        inserted.extend(new.into_iter().map(|r| r.id));
    }
    (inserted, lost)
}

#[test]
fn live_workload_loses_nothing_and_never_steals_a_running_job() {
    let db = PgDb::migrated("fault_live", "public");
    let old: Vec<JobSpec> = (0..2000)
        .map(|_| JobSpec::new("completed", 2.0 * DAY))
        .collect();
    insert(&db, "public", &old);
    let old_ids = ids(&db);
    let fresh: Vec<JobSpec> = (0..100).map(|_| JobSpec::new("available", 0.0)).collect();
    insert(&db, "public", &fresh);
    let start_ids = ids(&db);
    let until = Instant::now() + Duration::from_secs(4);
    let producers: [&'static str; 3] = [
        "aaaaaaaa-0000-4000-8000-000000000001",
        "aaaaaaaa-0000-4000-8000-000000000002",
        "aaaaaaaa-0000-4000-8000-000000000003",
    ];
    let handles: Vec<_> = producers
        .into_iter()
        .map(|p| {
            let url = db.url.clone();
            std::thread::spawn(move || worker(url, p, until))
        })
        .collect();
    let mut pruned = 0u64;
    while Instant::now() < until {
        for args in [
            vec![
                "prune",
                "--max-age",
                "1h",
                "--batch-size",
                "100",
                "-o",
                "json",
            ],
            vec!["rescue", "--accurate", "--rescue-after", "1s", "-o", "json"],
            vec!["stats", "-o", "json"],
            vec!["inspect", "--state", "executing", "-o", "json"],
        ] {
            let out = oban()
                .arg("-d")
                .arg(&db.url)
                .args(&args)
                .output()
                .expect("run");
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
            if args[0] == "prune" {
                pruned += doc["total"].as_u64().expect("total");
            }
            if args[0] == "rescue" {
                assert_eq!(
                    doc["rescued"], 0,
                    "live producers' jobs are never rescued: {doc}"
                );
            }
        }
    }
    let mut inserted = BTreeSet::new();
    for handle in handles {
        let (ids, lost) = handle.join().expect("worker");
        assert_eq!(lost, 0, "a worker found its running job moved");
        inserted.extend(ids);
    }
    let now = ids(&db);
    let expected: BTreeSet<i64> = start_ids.union(&inserted).copied().collect();
    let gone: BTreeSet<i64> = expected.difference(&now).copied().collect();
    assert_eq!(gone, old_ids, "exactly the old final jobs were deleted");
    assert_eq!(gone.len() as u64, pruned, "the counts reconcile");
    assert_eq!(now.len() + gone.len(), expected.len());
    assert!(!inserted.is_empty());
}

#[test]
fn hostile_input_is_data_or_refused_and_changes_nothing() {
    let db = PgDb::migrated("fault_hostile", "public");
    let mut jobs: Vec<JobSpec> = (0..5)
        .map(|_| JobSpec::new("completed", 2.0 * DAY))
        .collect();
    jobs.push(JobSpec::new("executing", DAY));
    jobs.push(JobSpec::new("discarded", 10.0));
    insert(&db, "public", &jobs);
    let before = db.snapshot("public");
    let relations = || db.count("SELECT count(*) AS n FROM pg_class");
    let rel_before = relations();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--prefix", "public; drop table x", "prune"],
            2,
            "--prefix",
        ),
        (
            &["--prefix", "public\"; drop table oban_jobs; --", "stats"],
            2,
            "--prefix",
        ),
        (&["prune", "--queue", "'"], 0, ""),
        (
            &[
                "prune",
                "--queue",
                "x'); DELETE FROM oban_jobs; --",
                "--worker",
                "\\",
            ],
            0,
            "",
        ),
        (
            &[
                "inspect",
                "--args",
                r#"{"a": "x\"; DROP TABLE oban_jobs; --", "b": {"c": "'"}}"#,
            ],
            0,
            "",
        ),
        (&["inspect", "--args", "not json"], 2, "--args"),
        (&["inspect", "--args", "[1, 2]"], 2, "--args"),
        (&["inspect", "--tag", "' OR '1'='1"], 0, ""),
        (&["inspect", "--state", "nope"], 2, "--state"),
        (&["prune", "--max-age", "-1s"], 2, "--max-age"),
        (&["prune", "--max-age", "1e9d"], 2, "--max-age"),
        (&["prune", "--limit", "0"], 2, "--limit"),
        (&["prune", "--state", "available"], 2, "--state"),
        (&["rescue", "--rescue-after", "0"], 2, "--rescue-after"),
        (
            &["rescue", "--on-exhausted", "explode"],
            2,
            "--on-exhausted",
        ),
        (&["stats", "--max-stuck", "-1"], 2, "--max-stuck"),
        (&["stats", "--estimate-above", "0"], 2, "--estimate-above"),
        (&["retry", "--all-matching"], 2, ""),
        (&["delete", "--queue", "default"], 2, "--all-matching"),
        (
            &["cancel", "--state", "available", "--all-matching"],
            2,
            "--yes",
        ),
        (&["seed", "--jobs", "10"], 1, "--force"),
    ];
    for (args, code, mention) in cases {
        let out = oban()
            .arg("-d")
            .arg(&db.url)
            .args(*args)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(mention),
            "{args:?} should mention {mention}: {stderr}"
        );
        assert_eq!(db.snapshot("public"), before, "{args:?} changed the table");
        assert_eq!(relations(), rel_before, "{args:?} changed the schema");
    }
    // An empty database: a clear runtime error, nothing created.
    let empty = PgDb::new("fault_empty");
    let out = oban()
        .args(["-d", &empty.url, "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no oban_jobs table"));
    assert_eq!(
        empty.count("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'"),
        0
    );
}

/// A server that accepts connections and never answers: the connection gives up after the
/// default connect_timeout (10 s) instead of waiting for as long as the network keeps it.
#[test]
fn a_server_that_never_answers_fails_the_run_at_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let dsn = format!("postgres://root@127.0.0.1:{port}/x");
    let out = oban()
        .args(["-d", &dsn, "stats"])
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timeout expired"), "{stderr}");
}
