//! `--watch`: a pass every interval, failed passes reported and survived, Ctrl-C ends cleanly.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{insert, JobSpec, PgDb};

fn spawn(args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args(args)
        .env_remove("OBAN_DSN")
        .env_remove("DATABASE_URL")
        .env_remove("OBAN_PREFIX")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oban")
}

fn interrupt(child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Ctrl-C ends promptly"
    );
    out
}

#[test]
fn failed_passes_are_reported_and_the_loop_recovers() {
    let db = PgDb::new("watch_recover");
    // No table yet: passes fail until the schema appears.
    let child = spawn(&[
        "-d",
        &db.url,
        "prune",
        "--watch",
        "--interval",
        "1s",
        "-o",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    crate::support::oban()
        .args(["-d", &db.url, "migrate", "-q"])
        .assert()
        .success();
    insert(&db, "public", &[JobSpec::new("completed", 2.0 * 86_400.0)]);
    std::thread::sleep(Duration::from_millis(2500));
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pass failed"), "{stderr}");
    let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert!(
        !docs.is_empty(),
        "passes succeed once the table exists: {stderr}"
    );
    let total: u64 = docs.iter().filter_map(|d| d["total"].as_u64()).sum();
    assert_eq!(total, 1);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 0);
}

#[test]
fn an_unreachable_database_does_not_end_the_loop() {
    let child = spawn(&[
        "-d",
        "postgres://root:sekrit@127.0.0.1:1/none",
        "prune",
        "--watch",
        "--interval",
        "1s",
    ]);
    std::thread::sleep(Duration::from_millis(2500));
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.matches("pass failed").count() >= 2, "{stderr}");
    assert!(stderr.contains("stopped after"), "{stderr}");
    assert!(!stderr.contains("sekrit"), "{stderr}");
}

#[test]
fn ctrl_c_mid_pass_keeps_committed_batches_and_prints_the_summary() {
    let db = PgDb::migrated("watch_interrupt", "public");
    let jobs: Vec<JobSpec> = (0..30)
        .map(|_| JobSpec::new("completed", 2.0 * 86_400.0))
        .collect();
    insert(&db, "public", &jobs);
    let child = spawn(&[
        "-d",
        &db.url,
        "prune",
        "--batch-size",
        "1",
        "--pause",
        "1s",
        "-o",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(2500));
    let out = interrupt(child);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(report["outcome"], "interrupted");
    let total = report["total"].as_i64().expect("total");
    assert!((1..30).contains(&total), "deleted {total}");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs"),
        30 - total,
        "the summary matches the table"
    );
}

#[test]
fn stats_watch_prints_one_document_per_tick_with_rates() {
    let db = PgDb::migrated("watch_stats", "public");
    insert(&db, "public", &[JobSpec::new("completed", 5.0)]);
    let child = spawn(&["-d", &db.url, "stats", "--watch", "--interval", "1s"]);
    std::thread::sleep(Duration::from_millis(2600));
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(0));
    let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line when not a terminal"))
        .collect();
    assert!(docs.len() >= 2, "{} ticks", docs.len());
    assert!(docs[0]["queues"]["default"]
        .get("completed_per_second")
        .is_none());
    assert!(docs[1]["queues"]["default"]["completed_per_second"].is_number());
}

/// Waits up to `limit` for the child to exit on its own.
fn exits_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Issue 12: `--watch` into a closed pipe used to print "Broken pipe, retrying" forever (and
/// prune kept deleting). A closed stdout now ends every watch loop with exit 0.
#[test]
fn issue_12_a_closed_pipe_ends_every_watch_loop() {
    use std::io::Read;
    let db = PgDb::migrated("watch_pipe", "public");
    let old: Vec<JobSpec> = (0..40)
        .map(|_| JobSpec::new("completed", 2.0 * 86_400.0))
        .collect();
    insert(&db, "public", &old);
    for args in [
        vec!["stats", "-o", "json"],
        vec!["inspect", "-o", "json"],
        vec!["prune", "-o", "json", "--limit", "5", "--batch-size", "5"],
        vec!["rescue", "-o", "json"],
    ] {
        let mut full = vec!["-d", db.url.as_str()];
        full.extend(&args);
        full.extend(["--watch", "--interval", "100ms"]);
        let mut child = spawn(&full);
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 16];
        stdout.read_exact(&mut first).expect("a first document");
        drop(stdout);
        let status = exits_within(&mut child, Duration::from_secs(10));
        if status.is_none() {
            let _ = child.kill();
        }
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = status.unwrap_or_else(|| panic!("{args:?} kept running: {stderr}"));
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("retrying"), "{args:?}: {stderr}");
    }
    // prune stopped with the pass in flight: at most two passes of 5 went, not all 40.
    let left = db.count("SELECT count(*) AS n FROM oban_jobs");
    assert!(
        left >= 30,
        "prune kept deleting after the pipe closed: {left} left"
    );
}

/// Issue 12: a table asked for in a pipe used to turn into JSON silently. Without `-o`, a
/// piped `stats --watch` says so on stderr; with `-o table` it keeps the table.
#[test]
fn issue_12_a_piped_stats_watch_says_what_it_prints() {
    use std::io::Read;
    let db = PgDb::migrated("watch_piped_table", "public");
    insert(&db, "public", &[JobSpec::new("available", 0.0)]);
    for (format, json) in [(None, true), (Some("table"), false)] {
        let mut args = vec!["-d", db.url.as_str()];
        if let Some(f) = format {
            args.extend(["-o", f]);
        }
        args.extend(["stats", "--watch", "--interval", "100ms"]);
        let mut child = spawn(&args);
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).expect("a first frame");
        drop(stdout);
        let status = exits_within(&mut child, Duration::from_secs(10)).expect("ends");
        assert_eq!(status.code(), Some(0));
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read");
        assert_eq!(first[0] == b'{', json, "{format:?}");
        assert_eq!(
            stderr.contains("one JSON document per tick"),
            json,
            "{stderr}"
        );
    }
}
