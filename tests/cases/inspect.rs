//! `oban inspect`: every filter alone and combined on oban-py, Elixir (under a non-default
//! prefix) and SQLite; sorting and limits; hostile filter values; `--watch` without a
//! terminal. The detail view and the JSON and CSV round trips are in `inspect_output`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::elixir_db;
use crate::support::{json_out, oban, JobSpec, LiteDb, PgDb, Target};

const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;
/// A queue name that would end the statement if it were ever spliced into SQL.
pub const HOSTILE: &str = "x'; DROP TABLE oban_jobs; --";

/// A job in the JSON form `Db::insert_jobs` takes, numbered by `args.n`, with every timestamp
/// given as seconds from the database clock (negative: past).
pub fn job(n: i64, state: &'static str) -> Value {
    let mut j = JobSpec::new(state, 0.0).to_json();
    for key in [
        "attempted",
        "completed",
        "cancelled",
        "discarded",
        "inserted",
        "scheduled",
    ] {
        j[key] = Value::Null;
    }
    j["inserted"] = json!(-4.0 * DAY);
    j["scheduled"] = json!(-4.0 * DAY);
    j["args"] = json!({ "n": n });
    j["tags"] = json!([]);
    j["attempted_by"] = json!([]);
    j
}

/// Sets fields of a job.
pub fn with(mut j: Value, fields: Value) -> Value {
    for (k, v) in fields.as_object().expect("object") {
        if k == "args" {
            for (ak, av) in v.as_object().expect("args object") {
                j["args"][ak] = av.clone();
            }
        } else {
            j[k] = v.clone();
        }
    }
    j
}

/// Inserts raw jobs through the library.
pub fn insert_raw(target: &dyn Target, prefix: &str, jobs: &[Value]) {
    let mut db = target.db();
    let schema = db.schema(prefix).expect("schema");
    db.insert_jobs(&schema, &Value::Array(jobs.to_vec()).to_string())
        .expect("insert jobs");
}

/// Two errors as oban-py and Elixir both record them.
pub fn errors() -> Value {
    json!([
        {"attempt": 1, "at": "2026-01-01T00:00:00Z", "error": "Traceback (most recent call last):\n  File \"w.py\", line 3\nValueError: boom"},
        {"attempt": 2, "at": "2026-01-01T00:01:00Z", "error": "** (RuntimeError) it's \"broken\""}
    ])
}

/// Eight jobs, one per state, each with distinct attributes (see the filter table below).
pub fn population() -> Vec<Value> {
    vec![
        with(
            job(0, "available"),
            json!({"queue": "default", "worker": "app.A", "tags": ["alpha"],
                   "args": {"user_id": 7, "kind": "x"}, "scheduled": -10.0 * MIN}),
        ),
        with(
            job(1, "executing"),
            json!({"queue": "media", "worker": "app.B", "args": {"user_id": 8},
                   "attempted": -20.0 * MIN, "attempted_by": ["node-a", "p-1"]}),
        ),
        with(
            job(2, "executing"),
            json!({"queue": "media", "worker": "app.B", "attempted": -MIN,
                   "attempted_by": ["node-b", "p-2"]}),
        ),
        with(
            job(3, "retryable"),
            json!({"queue": "mailers", "worker": "app.C", "tags": ["beta", "alpha"],
                   "args": {"user_id": 9}, "errors": errors(), "scheduled": 5.0 * MIN,
                   "attempted": -15.0 * MIN, "attempted_by": ["node-b", "p-2"]}),
        ),
        with(
            job(4, "discarded"),
            json!({"queue": "mailers", "worker": "app.C", "errors": errors(),
                   "args": {"user_id": 7, "nested": {"a": 1}}, "discarded": -2.0 * DAY,
                   "attempted": -2.0 * DAY, "attempted_by": ["node-c", "p-3"]}),
        ),
        with(
            job(5, "completed"),
            json!({"queue": "default", "worker": "app.A", "completed": -HOUR,
                   "attempted": -61.0 * MIN, "attempted_by": ["node-a", "p-1"]}),
        ),
        with(
            job(6, "cancelled"),
            json!({"queue": HOSTILE, "worker": "app.D", "cancelled": -3.0 * DAY}),
        ),
        with(
            job(7, "scheduled"),
            json!({"queue": "default", "worker": "app.A", "scheduled": 2.0 * HOUR,
                   "inserted": -30.0}),
        ),
    ]
}

/// Runs inspect with `-o json` and returns the `args.n` of the jobs listed, in order.
fn listed(target: &dyn Target, prefix: &str, extra: &[&str]) -> Vec<i64> {
    let dsn = target.dsn();
    let out = oban()
        .args(["-d", &dsn, "--prefix", prefix, "-o", "json", "inspect"])
        .args(extra)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_out(&out);
    assert_eq!(doc["command"], "inspect");
    doc["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["args"]["n"].as_i64().expect("n"))
        .collect()
}

fn check_filters(target: &dyn Target, prefix: &str) {
    insert_raw(target, prefix, &population());
    let cases: &[(&[&str], &[i64])] = &[
        (&[], &[0, 1, 2, 3, 4, 5, 6, 7]),
        (&["--state", "executing"], &[1, 2]),
        (&["--state", "available,scheduled"], &[0, 7]),
        (&["--state", "retryable", "--state", "discarded"], &[3, 4]),
        (&["--state", "suspended"], &[]),
        (&["--queue", "media"], &[1, 2]),
        (&["--queue", "media", "--queue", "mailers"], &[1, 2, 3, 4]),
        (&["--worker", "app.C"], &[3, 4]),
        (&["--tag", "alpha"], &[0, 3]),
        (&["--tag", "beta", "--tag", "nope"], &[3]),
        (&["--args", r#"{"user_id": 7}"#], &[0, 4]),
        (&["--args", r#"{"user_id": 7, "kind": "x"}"#], &[0]),
        (&["--args", r#"{"nested": {"a": 1}}"#], &[4]),
        (&["--args", r#"{"user_id": "7"}"#], &[]),
        (&["--args", "{}"], &[0, 1, 2, 3, 4, 5, 6, 7]),
        (&["--node", "node-a"], &[1, 5]),
        (&["--node", "node-b", "--node", "node-c"], &[2, 3, 4]),
        // Ages on the timestamp that fits each state.
        (&["--older-than", "15m"], &[1, 4, 5, 6]),
        (&["--newer-than", "15m"], &[0, 2, 3, 7]),
        (&["--older-than", "30m", "--newer-than", "2d1h"], &[4, 5]),
        (&["--by", "attempted", "--older-than", "5m"], &[1, 3, 4, 5]),
        (&["--by", "inserted", "--newer-than", "1m"], &[7]),
        (
            &["--by", "scheduled", "--older-than", "1d"],
            &[1, 2, 4, 5, 6],
        ),
        (&["--stuck"], &[1]),
        // Combined.
        (&["--state", "executing", "--node", "node-a"], &[1]),
        (&["--queue", "media", "--older-than", "5m"], &[1]),
        (
            &[
                "--worker",
                "app.C",
                "--state",
                "discarded",
                "--args",
                r#"{"user_id": 7}"#,
            ],
            &[4],
        ),
        (
            &["--tag", "alpha", "--node", "node-b", "--newer-than", "1h"],
            &[3],
        ),
        (&["--stuck", "--queue", "default"], &[]),
        // Hostile values are data: the queue with a quote matches its job, nothing runs.
        (&["--queue", HOSTILE], &[6]),
        (&["--worker", "app.A' OR '1'='1"], &[]),
        (
            &["--args", r#"{"kind": "x'; DROP TABLE oban_jobs; --"}"#],
            &[],
        ),
        (&["--tag", "') OR 1=1 --"], &[]),
        // Sorting and limits.
        (&["--limit", "3"], &[0, 1, 2]),
        (&["--desc", "--limit", "2"], &[7, 6]),
        (
            &["--sort", "attempted", "--desc", "--limit", "3"],
            &[2, 3, 1],
        ),
        (&["--sort", "attempted", "--limit", "2"], &[4, 5]),
        (&["--sort", "attempt", "--state", "executing"], &[1, 2]),
    ];
    for (args, expected) in cases {
        let mut got = listed(target, prefix, args);
        let ordered = args.iter().any(|a| *a == "--limit" || *a == "--sort");
        if !ordered {
            got.sort_unstable();
        }
        assert_eq!(&got, expected, "inspect {args:?}");
    }
    // The hostile values did nothing: every row is still there.
    assert_eq!(listed(target, prefix, &[]).len(), 8);
}

#[test]
fn filters_alone_and_combined_oban_py() {
    let db = PgDb::migrated("inspect_filters", "public");
    check_filters(&db, "public");
}

#[test]
fn filters_alone_and_combined_elixir_with_prefix() {
    let db = elixir_db("inspect_filters_ex", "oban_private");
    check_filters(&db, "oban_private");
}

#[test]
fn filters_alone_and_combined_sqlite() {
    let db = LiteDb::migrated();
    check_filters(&db, "public");
}

#[test]
fn stuck_follows_the_lifeline_setting_in_oban_toml() {
    let db = LiteDb::migrated();
    insert_raw(&db, "public", &population());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("oban.toml");
    std::fs::write(&file, "[lifeline]\nrescue_after = 30\n").expect("write");
    let cfg = file.display().to_string();
    let got = listed(&db, "public", &["--stuck"]);
    assert_eq!(got, vec![1]);
    let out = oban()
        .args([
            "-d",
            &db.dsn(),
            "-c",
            &cfg,
            "-o",
            "json",
            "inspect",
            "--stuck",
        ])
        .output()
        .expect("run");
    let doc = json_out(&out);
    let ns: BTreeSet<i64> = doc["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["args"]["n"].as_i64().expect("n"))
        .collect();
    assert_eq!(ns, BTreeSet::from([1, 2]));
}

#[test]
fn bad_filters_exit_2_before_any_sql() {
    // Nobody listens on this port: getting as far as connecting would exit 1.
    let dead = "postgres://root@127.0.0.1:1/none";
    let cases: &[(&[&str], &str)] = &[
        (&["inspect", "--args", "{not json"], "--args"),
        (&["inspect", "--args", "[1, 2]"], "--args"),
        (
            &["inspect", "--args", "'; DROP TABLE oban_jobs; --"],
            "--args",
        ),
        (&["inspect", "--state", "running"], "--state"),
        (&["inspect", "--queue", ""], "--queue"),
        (&["inspect", "--tag", " "], "--tag"),
        (&["inspect", "--node", ""], "--node"),
        (&["inspect", "--older-than", "soon"], "--older-than"),
        (&["inspect", "--newer-than", "-5m"], "--newer-than"),
        (&["inspect", "--by", "inserted"], "--by"),
        (
            &["inspect", "--by", "finished", "--older-than", "1h"],
            "--by",
        ),
        (&["inspect", "--limit", "0"], "--limit"),
        (&["inspect", "--sort", "priority"], "--sort"),
        (&["inspect", "1; DROP TABLE oban_jobs"], "ID"),
        (&["inspect", "0"], "ID"),
        (&["inspect", "5", "--state", "executing"], "ids or filters"),
    ];
    for (args, needle) in cases {
        let out = oban().args(["-d", dead]).args(*args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?} should name {needle}: {stderr}"
        );
    }
}

#[test]
fn default_table_fits_80_columns() {
    let db = LiteDb::migrated();
    let mut jobs = population();
    jobs.push(with(
        job(8, "retryable"),
        json!({"queue": "a-very-long-queue-name", "worker": "MyApp.Workers.Billing.ReconcileInvoices",
               "args": {"invoice_id": 123_456_789, "notes": "x".repeat(200)},
               "attempted_by": ["worker-node-with-a-long-name", "p"], "scheduled": -3.0 * DAY}),
    ));
    insert_raw(&db, "public", &jobs);
    let out = oban()
        .args(["-d", &db.dsn(), "inspect"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "too wide ({}): {line}",
            line.chars().count()
        );
    }
    for header in [
        "id", "state", "queue", "worker", "try", "age", "node", "args",
    ] {
        assert!(text.lines().next().unwrap_or("").contains(header), "{text}");
    }
    assert!(
        text.contains("…concileInvoices"),
        "worker keeps its end: {text}"
    );
    let wide = oban()
        .args(["-d", &db.dsn(), "inspect", "--wide"])
        .output()
        .expect("run");
    let wide = String::from_utf8_lossy(&wide.stdout);
    assert!(
        wide.contains("MyApp.Workers.Billing.ReconcileInvoices"),
        "{wide}"
    );
    assert!(
        wide.contains("ValueError: boom") || wide.contains("RuntimeError"),
        "{wide}"
    );
}

#[test]
fn inspect_never_writes() {
    let db = PgDb::migrated("inspect_read_only", "public");
    insert_raw(&db, "public", &population());
    let before = db.snapshot("public");
    for args in [
        vec!["inspect", "--stuck"],
        vec!["inspect", "--state", "executing,discarded", "--wide"],
        vec!["inspect", "1", "2", "3"],
        vec!["-o", "csv", "inspect", "--older-than", "1m"],
    ] {
        oban().args(["-d", &db.url]).args(&args).assert().success();
    }
    assert_eq!(db.snapshot("public"), before);
}

#[test]
fn watch_prints_one_document_per_tick_without_a_terminal() {
    let db = LiteDb::migrated();
    insert_raw(&db, "public", &population());
    let child = Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args([
            "-d",
            &db.dsn(),
            "-o",
            "json",
            "inspect",
            "--state",
            "executing",
            "--watch",
            "--interval",
            "1s",
        ])
        .env_remove("OBAN_DSN")
        .env_remove("DATABASE_URL")
        .env_remove("OBAN_PREFIX")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(2500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b'), "no screen control codes in a pipe");
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert!(docs.len() >= 2, "{text}");
    for doc in docs {
        assert_eq!(doc["jobs"].as_array().map(Vec::len), Some(2));
    }
}
