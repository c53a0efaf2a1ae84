//! `prune`'s throttles against real replication: a streaming standby whose replay is paused, a
//! replication slot that keeps WAL, and the WAL rate measured on the server. Each test makes its
//! own cluster (primary, and standby where needed) in a temporary directory.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Double};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::support::cluster::Cluster;
use crate::support::{json_out, oban, succeeds, LiteDb};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct F {
    #[diesel(sql_type = Double)]
    f: f64,
}

const ELIGIBLE: &str = "SELECT count(*) AS n FROM oban_jobs WHERE \
    (state = 'completed' AND completed_at < timezone('UTC', now()) - interval '1 day') OR \
    (state = 'cancelled' AND cancelled_at < timezone('UTC', now()) - interval '1 day') OR \
    (state = 'discarded' AND discarded_at < timezone('UTC', now()) - interval '1 day')";

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sql_query(sql).get_result::<N>(conn).expect("count").n
}

fn float(conn: &mut PgConnection, sql: &str) -> f64 {
    sql_query(sql).get_result::<F>(conn).expect("float").f
}

/// A primary (and standby) with oban-py's tables and `jobs` seeded jobs.
fn seeded(cluster: &Cluster, jobs: u32) -> String {
    let dsn = cluster.dsn("postgres");
    succeeds(&["-d", &dsn, "migrate", "-q"]);
    succeeds(&[
        "-d",
        &dsn,
        "seed",
        "--jobs",
        &jobs.to_string(),
        "--seed",
        "3",
        "-q",
    ]);
    dsn
}

/// WAL for the standby to fall behind on.
fn write_wal(conn: &mut PgConnection) {
    conn.batch_execute(
        "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 40000) g",
    )
    .expect("write WAL");
}

/// `oban prune` in the background; `--batch-size` is 100 unless `extra` sets it.
fn spawn_prune(dsn: &str, extra: &[&str]) -> Child {
    let mut args = vec!["-d", dsn, "prune", "--limit", "1000000", "-o", "json"];
    if !extra.contains(&"--batch-size") {
        args.extend(["--batch-size", "100"]);
    }
    args.extend_from_slice(extra);
    Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args(&args)
        .env_remove("OBAN_PRUNE_MAX_REPLICA_LAG")
        .env_remove("OBAN_PRUNE_MAX_SLOT_LAG")
        .env_remove("OBAN_PRUNE_MAX_WAL_RATE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prune")
}

/// The report of a prune that must finish within `within`.
fn finish(child: Child, within: Duration) -> Value {
    let started = Instant::now();
    let mut child = child;
    while child.try_wait().expect("poll").is_none() {
        assert!(
            started.elapsed() < within,
            "prune did not finish in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "prune failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(&out)
}

fn still_running(child: &mut Child) {
    if child.try_wait().expect("poll").is_some() {
        use std::io::Read;
        let (mut out, mut err) = (String::new(), String::new());
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_string(&mut err);
        }
        panic!("prune finished while it should have been waiting: {out}{err}");
    }
}

#[test]
fn prune_waits_while_a_paused_standby_is_too_far_behind_by_size() {
    let cluster = Cluster::with_standby();
    let dsn = seeded(&cluster, 3000);
    let mut primary = cluster.conn();
    let eligible = count(&mut primary, ELIGIBLE);
    assert!(eligible > 500, "the seed makes eligible jobs");

    cluster
        .standby()
        .batch_execute("SELECT pg_wal_replay_pause()")
        .expect("pause replay");
    write_wal(&mut primary);
    let behind =
        "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::float8 \
                  AS f FROM pg_stat_replication";
    let started = Instant::now();
    while float(&mut primary, behind) < 2.0 * 1_048_576.0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "standby never fell behind"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut child = spawn_prune(&dsn, &["--max-replica-lag", "1MB"]);
    std::thread::sleep(Duration::from_secs(2));
    still_running(&mut child);
    assert_eq!(
        count(&mut primary, ELIGIBLE),
        eligible,
        "no batch runs while the standby is more than 1MB behind"
    );

    cluster
        .standby()
        .batch_execute("SELECT pg_wal_replay_resume()")
        .expect("resume replay");
    let report = finish(child, Duration::from_secs(60));
    assert_eq!(report["total"].as_i64(), Some(eligible));
    assert_eq!(count(&mut primary, ELIGIBLE), 0);
    let t = &report["throttle"];
    assert!(t["waits"].as_u64() >= Some(1), "{t}");
    assert!(
        t["waited_by_cause"]["replica_lag"].as_f64() >= Some(1.5),
        "waited about as long as replay was paused: {t}"
    );
}

#[test]
fn a_time_limit_sees_a_standby_whose_replay_stopped() {
    // replay_lag stops growing while replay is paused; the throttle must notice anyway.
    let cluster = Cluster::with_standby();
    let dsn = seeded(&cluster, 3000);
    let mut primary = cluster.conn();
    let eligible = count(&mut primary, ELIGIBLE);
    cluster
        .standby()
        .batch_execute("SELECT pg_wal_replay_pause()")
        .expect("pause replay");
    write_wal(&mut primary);

    // Batches of 10 with a pause: a drain that would take several seconds unthrottled.
    let mut child = spawn_prune(
        &dsn,
        &[
            "--max-replica-lag",
            "1s",
            "--batch-size",
            "10",
            "--pause",
            "50ms",
        ],
    );
    std::thread::sleep(Duration::from_secs(4));
    still_running(&mut child);
    let left = count(&mut primary, ELIGIBLE);
    assert!(left > 0, "the drain stopped while replay was paused");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        count(&mut primary, ELIGIBLE),
        left,
        "no batch runs while the stalled standby is more than 1s behind"
    );

    cluster
        .standby()
        .batch_execute("SELECT pg_wal_replay_resume()")
        .expect("resume replay");
    let report = finish(child, Duration::from_secs(120));
    assert_eq!(report["total"].as_i64(), Some(eligible));
    assert!(
        report["throttle"]["waited_by_cause"]["replica_lag"].as_f64() >= Some(1.0),
        "{}",
        report["throttle"]
    );
}

#[test]
fn prune_waits_while_a_slot_keeps_too_much_wal() {
    let cluster = Cluster::primary();
    let dsn = seeded(&cluster, 2000);
    let mut primary = cluster.conn();
    let eligible = count(&mut primary, ELIGIBLE);
    primary
        .batch_execute("SELECT pg_create_physical_replication_slot('oban_test_slot', true)")
        .expect("slot");
    write_wal(&mut primary);

    let mut child = spawn_prune(&dsn, &["--max-slot-lag", "1MB"]);
    std::thread::sleep(Duration::from_secs(2));
    still_running(&mut child);
    assert_eq!(count(&mut primary, ELIGIBLE), eligible);

    primary
        .batch_execute("SELECT pg_drop_replication_slot('oban_test_slot')")
        .expect("drop slot");
    let report = finish(child, Duration::from_secs(60));
    assert_eq!(report["total"].as_i64(), Some(eligible));
    assert!(
        report["throttle"]["waited_by_cause"]["slot_lag"].as_f64() >= Some(1.5),
        "{}",
        report["throttle"]
    );
}

#[test]
fn a_slot_limit_from_a_config_file_holds_the_pass_and_a_flag_overrides_it() {
    let cluster = Cluster::primary();
    let dsn = seeded(&cluster, 2000);
    let mut primary = cluster.conn();
    let eligible = count(&mut primary, ELIGIBLE);
    primary
        .batch_execute("SELECT pg_create_physical_replication_slot('oban_file_slot', true)")
        .expect("slot");
    write_wal(&mut primary);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("oban-ops.toml");
    std::fs::write(&file, "[pruner]\nmax_slot_lag = \"1MB\"\n").expect("config file");
    let file = file.to_str().expect("utf-8 path");

    // The file's limit holds the pass: nothing is deleted while the slot keeps the WAL.
    let mut child = spawn_prune(&dsn, &["-c", file]);
    std::thread::sleep(Duration::from_secs(2));
    still_running(&mut child);
    assert_eq!(
        count(&mut primary, ELIGIBLE),
        eligible,
        "waited, deleted nothing"
    );
    child.kill().expect("stop the waiting pass");
    child.wait().expect("reap");
    assert_eq!(count(&mut primary, ELIGIBLE), eligible);

    // A flag that allows more wins over the file: the pass does not wait.
    let report = finish(
        spawn_prune(&dsn, &["-c", file, "--max-slot-lag", "1GB"]),
        Duration::from_secs(60),
    );
    assert_eq!(report["total"].as_i64(), Some(eligible));
    assert_eq!(report["throttle"]["waits"].as_u64(), Some(0), "{report}");
    primary
        .batch_execute("SELECT pg_drop_replication_slot('oban_file_slot')")
        .expect("drop slot");
}

#[test]
fn the_wal_rate_cap_holds_the_measured_rate_near_the_limit() {
    let cluster = Cluster::primary();
    let dsn = seeded(&cluster, 12000);
    let mut primary = cluster.conn();
    primary.batch_execute("CHECKPOINT").expect("checkpoint");
    let lsn = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS f";
    let limit = 512.0 * 1024.0;

    let before = float(&mut primary, lsn);
    let started = Instant::now();
    let report = finish(
        spawn_prune(&dsn, &["--max-wal-rate", "512kB/s"]),
        Duration::from_secs(120),
    );
    let elapsed = started.elapsed().as_secs_f64();
    let written = float(&mut primary, lsn) - before;
    assert!(report["total"].as_i64() > Some(5000), "{report}");
    assert!(
        written > 3.0 * limit,
        "the drain writes enough WAL to measure a rate ({written} bytes)"
    );
    let rate = written / elapsed;
    assert!(
        (rate - limit).abs() <= 0.2 * limit,
        "measured {rate:.0} B/s for a limit of {limit} B/s ({written} bytes in {elapsed:.2} s)"
    );
    assert!(report["throttle"]["waited_by_cause"]["wal_rate"].as_f64() > Some(0.0));
}

#[test]
fn throttles_are_refused_on_sqlite_and_bad_values_say_why() {
    let lite = LiteDb::new();
    let dsn = lite.path.display().to_string();
    succeeds(&["-d", &dsn, "migrate", "-q"]);
    let out = oban()
        .args(["-d", &dsn, "prune", "--max-wal-rate", "1MB/s"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL only"));

    let out = oban()
        .args(["-d", &dsn, "prune", "--max-replica-lag", "30"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("16MB") && err.contains("30s"), "{err}");

    // The environment sets them too.
    let out = oban()
        .env("OBAN_PRUNE_MAX_SLOT_LAG", "1GB")
        .args(["-d", &dsn, "prune"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "read from OBAN_PRUNE_MAX_SLOT_LAG"
    );

    // And a config file of oban's own.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("oban-ops.toml");
    std::fs::write(&file, "[pruner]\nmax_wal_rate = \"1MB/s\"\n").expect("config file");
    let out = oban()
        .args(["-d", &dsn, "-c", file.to_str().expect("utf-8"), "prune"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "read from [pruner] max_wal_rate"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_wal_rate"), "{err}");
}
