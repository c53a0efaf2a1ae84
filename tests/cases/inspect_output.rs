//! `oban inspect`'s detail view (errors in both encodings) and its JSON and CSV output, which
//! must give back every column of every row as the database holds it, on oban-py, Elixir
//! (under a non-default prefix, NULL columns included) and SQLite.

use serde_json::{json, Value};

use std::collections::BTreeSet;

use crate::cases::inspect::{errors, insert_raw, population};
use crate::support::elixir_db;
use crate::support::{json_out, oban, succeeds, LiteDb, PgDb, Target, JOB_COLUMNS};

/// The first id whose `args.n` is `n`.
fn id_of(target: &dyn Target, prefix: &str, n: i64) -> i64 {
    let out = oban()
        .args([
            "-d",
            &target.dsn(),
            "--prefix",
            prefix,
            "-o",
            "json",
            "inspect",
        ])
        .args(["--args", &json!({ "n": n }).to_string()])
        .output()
        .expect("run");
    json_out(&out)["jobs"][0]["id"].as_i64().expect("id")
}

fn check_detail(target: &dyn Target, prefix: &str) {
    insert_raw(target, prefix, &population());
    let id = id_of(target, prefix, 3).to_string();
    let out = succeeds(&["-d", &target.dsn(), "--prefix", prefix, "inspect", &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        format!("job {id}  retryable  queue mailers  worker app.C"),
        "errors (2):".to_string(),
        "attempt 1 at 2026-01-01T00:00:00Z:".to_string(),
        "      ValueError: boom".to_string(),
        "attempt 2 at 2026-01-01T00:01:00Z:".to_string(),
        "** (RuntimeError) it's \"broken\"".to_string(),
        "    \"user_id\": 9".to_string(),
        "attempted_by  [\"node-b\",\"p-2\"]".to_string(),
        "tags          [\"beta\",\"alpha\"]".to_string(),
        "completed_at  -".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in:\n{text}");
    }
    // A job without errors, and an unknown id: the known one is shown, then exit 1.
    let other = id_of(target, prefix, 0).to_string();
    let out = oban()
        .args([
            "-d",
            &target.dsn(),
            "--prefix",
            prefix,
            "inspect",
            &other,
            "987654",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: none"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no job with id 987654"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn detail_shows_errors_oban_py() {
    check_detail(&PgDb::migrated("inspect_detail", "public"), "public");
}

#[test]
fn detail_shows_errors_elixir() {
    check_detail(&elixir_db("inspect_detail_ex", "ex"), "ex");
}

#[test]
fn detail_shows_errors_sqlite() {
    check_detail(&LiteDb::migrated(), "public");
}

/// A timestamp as a civil time, whatever its precision and whether it ends in `Z`.
fn civil(v: &Value) -> Option<jiff::civil::DateTime> {
    v.as_str().map(|s| {
        s.trim_end_matches('Z')
            .parse::<jiff::civil::DateTime>()
            .expect("timestamp")
    })
}

/// Compares inspect's JSON with the database's own rendering of every row.
fn check_round_trip(target: &dyn Target, prefix: &str, snapshot: &dyn Fn() -> Vec<Value>) {
    insert_raw(target, prefix, &population());
    let dsn = target.dsn();
    let out = oban()
        .args([
            "-d", &dsn, "--prefix", prefix, "-o", "json", "inspect", "--limit", "100",
        ])
        .output()
        .expect("run");
    let doc = json_out(&out);
    let jobs = doc["jobs"].as_array().expect("jobs");
    let rows = snapshot();
    assert_eq!(jobs.len(), rows.len());
    for (job, row) in jobs.iter().zip(&rows) {
        let keys: BTreeSet<&str> = job
            .as_object()
            .expect("job")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, JOB_COLUMNS.into_iter().collect(), "job keys");
        for column in JOB_COLUMNS {
            if row.get(column).is_none() {
                continue; // the SQLite snapshot leaves out priority
            }
            if column.ends_with("_at") {
                if let Some(s) = job[column].as_str() {
                    assert!(s.ends_with('Z') && s.contains('T'), "{column}: {s}");
                }
                assert_eq!(civil(&job[column]), civil(&row[column]), "{column}");
            } else {
                assert_eq!(job[column], row[column], "{column} of {}", job["id"]);
            }
        }
    }
    // Detail JSON has the same shape.
    let id = jobs[3]["id"].to_string();
    let out = oban()
        .args(["-d", &dsn, "--prefix", prefix, "-o", "json", "inspect", &id])
        .output()
        .expect("run");
    let one = json_out(&out);
    assert_eq!(one["jobs"][0], jobs[3]);
    assert_eq!(one["jobs"][0]["errors"], errors());
    // CSV: a header with every column, then one row per job; JSON columns stay JSON.
    let out = oban()
        .args([
            "-d", &dsn, "--prefix", prefix, "-o", "csv", "inspect", "--limit", "100",
        ])
        .output()
        .expect("run");
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header, JOB_COLUMNS.map(String::from).to_vec());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), rows.len());
    let args: Value = serde_json::from_str(&records[4][7]).expect("args json");
    assert_eq!(args, json!({"n": 4, "user_id": 7, "nested": {"a": 1}}));
}

fn pg_rows(db: &PgDb, prefix: &str) -> Vec<Value> {
    db.snapshot(prefix)
        .values()
        .map(|r| serde_json::from_str(r).expect("row"))
        .collect()
}

#[test]
fn json_round_trips_every_column_oban_py() {
    let db = PgDb::migrated("inspect_json", "public");
    check_round_trip(&db, "public", &|| pg_rows(&db, "public"));
}

#[test]
fn json_round_trips_every_column_elixir() {
    let db = elixir_db("inspect_json_ex", "ex");
    // Elixir allows NULL tags, meta and attempted_by: they come back as null.
    check_round_trip(&db, "ex", &|| pg_rows(&db, "ex"));
    db.exec("UPDATE ex.oban_jobs SET tags = NULL, meta = NULL, attempted_by = NULL");
    let out = succeeds(&[
        "-d", &db.url, "--prefix", "ex", "-o", "json", "inspect", "--node", "node-a",
    ]);
    assert_eq!(json_out(&out)["jobs"], json!([]));
    let out = oban()
        .args([
            "-d", &db.url, "--prefix", "ex", "-o", "json", "inspect", "--limit", "1",
        ])
        .output()
        .expect("run");
    let job = &json_out(&out)["jobs"][0];
    assert_eq!(
        (&job["tags"], &job["meta"], &job["attempted_by"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    // The table renders NULL columns.
    succeeds(&["-d", &db.url, "--prefix", "ex", "inspect"]);
}

#[test]
fn json_round_trips_every_column_sqlite() {
    let db = LiteDb::migrated();
    check_round_trip(&db, "public", &|| {
        db.snapshot()
            .values()
            .map(|r| serde_json::from_str(r).expect("row"))
            .collect()
    });
}
