//! Finding jobs by what went wrong (issue 15): `--error`, `--meta`, `--priority`, `--id-range`
//! on inspect and the actions, and `inspect --group-by error`, on every flavour.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::elixir_db;
use crate::support::{json_out, oban, succeeds, JobSpec, LiteDb, PgDb, Target};

/// The error text of a failure, as the flavour's workers write it.
fn failure(python: bool, kind: &str, message: &str) -> String {
    if python {
        format!(
            "Traceback (most recent call last):\n  File \"app/workers.py\", line 9, in process\n    \
             raise {kind}(\"{message}\")\n{kind}: {message}\n"
        )
    } else {
        format!("** ({kind}) {message}\n    (app 0.1.0) lib/app/worker.ex:12: App.Worker.perform/1")
    }
}

fn job(state: &'static str, priority: u32, meta: Value, errors: &[&str]) -> Value {
    let mut j = JobSpec::new(state, 60.0).meta(meta).to_json();
    j["priority"] = json!(priority);
    j["errors"] = errors
        .iter()
        .enumerate()
        .map(|(n, e)| json!({"attempt": n + 1, "at": "2026-11-24T10:00:00Z", "error": e}))
        .collect();
    j
}

fn ids(report: &Value) -> BTreeSet<i64> {
    report["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["id"].as_i64().expect("id"))
        .collect()
}

fn check_find(target: &dyn Target, prefix: &str, python: bool) {
    let upstream = failure(python, "ConnectionError", "upstream 503");
    let key = failure(python, "KeyError", "user");
    let timeout = failure(python, "TimeoutError", "slow");
    let jobs = vec![
        job(
            "discarded",
            0,
            json!({"tenant": "acme"}),
            &[&timeout, &upstream],
        ),
        job(
            "retryable",
            2,
            json!({"tenant": "acme", "x": 1}),
            &[&upstream],
        ),
        job("retryable", 2, json!({"tenant": "other"}), &[&key]),
        job("discarded", 1, json!({}), &[&upstream, &key]),
        job("completed", 0, json!({}), &[]),
        job("available", 0, json!({}), &[]),
    ];
    let mut db = target.db();
    let schema = db.schema(prefix).expect("schema");
    db.insert_jobs(&schema, &Value::Array(jobs).to_string())
        .expect("insert");
    let dsn = target.dsn();
    let run = |args: &[&str]| {
        let mut all = vec!["-d", &dsn, "--prefix", prefix, "-o", "json"];
        all.extend(args);
        json_out(&succeeds(&all))
    };
    let all = run(&["inspect", "--limit", "100"]);
    let id: Vec<i64> = ids(&all).into_iter().collect();
    assert_eq!(id.len(), 6);
    let pick = |ns: &[usize]| ns.iter().map(|&n| id[n]).collect::<BTreeSet<i64>>();

    // The last error only, case-insensitively, the text taken literally.
    let found = run(&["inspect", "--error", "UPSTREAM 503"]);
    assert_eq!(ids(&found), pick(&[0, 1]), "{found}");
    assert!(found["scanned"].is_boolean(), "{found}");
    assert_eq!(
        ids(&run(&["inspect", "--error", "upstream_503"])),
        pick(&[])
    );
    assert_eq!(ids(&run(&["inspect", "--error", "slow"])), pick(&[]));
    assert_eq!(
        ids(&run(&["inspect", "--meta", r#"{"tenant": "acme"}"#])),
        pick(&[0, 1])
    );
    assert_eq!(ids(&run(&["inspect", "--priority", "2"])), pick(&[1, 2]));
    assert_eq!(
        ids(&run(&["inspect", "--priority", "1,2"])),
        pick(&[1, 2, 3])
    );
    let range = format!("{}..{}", id[1], id[3]);
    assert_eq!(
        ids(&run(&["inspect", "--id-range", &range])),
        pick(&[1, 2, 3])
    );
    let from = format!("{}..", id[4]);
    assert_eq!(ids(&run(&["inspect", "--id-range", &from])), pick(&[4, 5]));
    assert_eq!(
        ids(&run(&[
            "inspect",
            "--error",
            "503",
            "--priority",
            "2",
            "--state",
            "retryable"
        ])),
        pick(&[1])
    );

    // What is failing: one line per failure, most jobs first.
    let grouped = run(&["inspect", "--group-by", "error"]);
    let (a, b) = if python {
        ("ConnectionError: upstream 503", "KeyError: user")
    } else {
        ("** (ConnectionError) upstream 503", "** (KeyError) user")
    };
    assert_eq!(
        grouped["groups"],
        json!([
            {"error": a, "jobs": 2, "workers": 1, "example": id[1]},
            {"error": b, "jobs": 2, "workers": 1, "example": id[3]},
        ]),
        "{grouped}"
    );
    assert_eq!(grouped["states"], json!(["discarded", "retryable"]));
    let one = run(&[
        "inspect",
        "--group-by",
        "error",
        "--state",
        "discarded",
        "--limit",
        "1",
    ]);
    assert_eq!(one["groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["truncated"], true);
    let table = succeeds(&[
        "-d",
        &dsn,
        "--prefix",
        prefix,
        "inspect",
        "--group-by",
        "error",
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(a) && text.contains("last error"), "{text}");

    // The actions take the same filters.
    let retried = run(&[
        "retry",
        "--error",
        "upstream 503",
        "--all-matching",
        "--yes",
    ]);
    assert_eq!(ids(&retried), pick(&[0, 1]), "{retried}");
    let deleted = run(&[
        "delete",
        "--meta",
        r#"{"tenant": "other"}"#,
        "--all-matching",
        "--yes",
    ]);
    assert_eq!(ids(&deleted), pick(&[2]));
    let range = format!("{}..{}", id[4], id[5]);
    let cancelled = run(&["cancel", "--id-range", &range, "--all-matching", "--yes"]);
    assert_eq!(ids(&cancelled), pick(&[5]));
    assert_eq!(cancelled["skipped"][0]["id"], id[4]);
    let after = run(&["inspect", "--state", "available", "--limit", "100"]);
    assert_eq!(ids(&after), pick(&[0, 1]));
}

#[test]
fn find_oban_py() {
    check_find(&PgDb::migrated("find_py", "public"), "public", true);
}

#[test]
fn find_elixir() {
    check_find(&elixir_db("find_ex", "oban_ex"), "oban_ex", false);
}

#[test]
fn find_lite() {
    check_find(&LiteDb::migrated(), "public", false);
}

/// `oban seed` and `oban demo` write Python tracebacks into a Lite file too: a group is named
/// by the traceback's last line there as well, not by its "Traceback (most recent …" opening.
#[test]
fn find_lite_with_python_tracebacks() {
    check_find(&LiteDb::migrated(), "public", true);
}

#[test]
fn find_flags_are_checked_before_any_sql() {
    for args in [
        vec!["inspect", "--meta", "[1]"],
        vec!["inspect", "--meta", "{"],
        vec!["inspect", "--error", " "],
        vec!["inspect", "--id-range", "9..3"],
        vec!["inspect", "--id-range", ".."],
        vec!["inspect", "--priority", "x"],
        vec!["inspect", "--group-by", "error", "42"],
        vec!["inspect", "--group-by", "error", "--sort", "id"],
        vec!["retry", "--error", "boom"],
    ] {
        let out = oban()
            .args(["-d", "postgres://nobody@127.0.0.1:1/none"])
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn group_by_error_as_csv() {
    let lite = LiteDb::migrated();
    let errors = [failure(false, "KeyError", "user")];
    let jobs = Value::Array(vec![job("discarded", 0, json!({}), &[&errors[0]])]);
    let mut db = lite.db();
    let schema = db.schema("main").expect("schema");
    db.insert_jobs(&schema, &jobs.to_string()).expect("insert");
    let out = succeeds(&[
        "-d",
        &lite.dsn_str(),
        "-o",
        "csv",
        "inspect",
        "--group-by",
        "error",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "jobs,workers,example,error\n1,1,1,** (KeyError) user\n"
    );
}

#[test]
fn find_partitioned() {
    let db = crate::cases::partitioned::partitioned_db("find_part", "public");
    check_find(&db, "public", false);
}
