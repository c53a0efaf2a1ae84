//! `oban retry | cancel | delete`: the state rules of each action on every state (oban-py,
//! Elixir under a prefix, SQLite), the refused cases with their reasons, the
//! `--all-matching` / `--yes` guards, dry runs, locked rows, batches and limits, hostile input,
//! and the confirmation hook through the library.

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::cases::inspect::{insert_raw, job, population, with, HOSTILE};
use crate::support::elixir_db;
use crate::support::{json_out, oban, LiteDb, PgDb, Target};

const HOUR: f64 = 3600.0;

/// One job per state; `args.n` numbers them. The final ones carry their timestamps, and two
/// have used all their attempts.
pub fn one_per_state() -> Vec<Value> {
    vec![
        job(0, "available"),
        job(1, "suspended"),
        job(2, "scheduled"),
        with(job(3, "executing"), json!({"attempted": -HOUR})),
        with(job(4, "retryable"), json!({"attempted": -HOUR})),
        with(job(5, "completed"), json!({"completed": -HOUR})),
        with(
            job(6, "cancelled"),
            json!({"cancelled": -HOUR, "attempt": 3, "max_attempts": 3}),
        ),
        with(
            job(7, "discarded"),
            json!({"discarded": -HOUR, "attempt": 20, "max_attempts": 20}),
        ),
    ]
}

/// Every job by `args.n`, as inspect shows it.
fn jobs(target: &dyn Target, prefix: &str, extra: &[&str]) -> BTreeMap<i64, Value> {
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
        .args(["--limit", "1000"])
        .args(extra)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(&out)["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| (j["args"]["n"].as_i64().expect("n"), j.clone()))
        .collect()
}

fn ns(map: &BTreeMap<i64, Value>) -> BTreeSet<i64> {
    map.keys().copied().collect()
}

/// Runs an action; returns the exit code and the JSON report (Null when none).
fn act(target: &dyn Target, prefix: &str, args: &[&str]) -> (i32, Value, String) {
    let out = oban()
        .args(["-d", &target.dsn(), "--prefix", prefix, "-o", "json"])
        .args(args)
        .output()
        .expect("run");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        doc,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn reasons(report: &Value, by_id: &BTreeMap<i64, i64>) -> BTreeMap<i64, String> {
    report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            let id = s["id"].as_i64().expect("id");
            (
                by_id.get(&id).copied().unwrap_or(-1),
                s["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

fn changed(report: &Value, by_id: &BTreeMap<i64, i64>) -> BTreeMap<i64, String> {
    report["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                by_id[&j["id"].as_i64().expect("id")],
                j["state"].as_str().expect("state").to_string(),
            )
        })
        .collect()
}

/// Runs `action` on every job by id (plus one that does not exist), first as a dry run, and
/// checks the state rules.
fn check_rules(target: &dyn Target, prefix: &str, action: &str) {
    insert_raw(target, prefix, &one_per_state());
    let before = jobs(target, prefix, &[]);
    let by_id: BTreeMap<i64, i64> = before
        .iter()
        .map(|(n, j)| (j["id"].as_i64().expect("id"), *n))
        .collect();
    let mut args: Vec<String> = vec![action.into()];
    args.extend(by_id.keys().map(i64::to_string));
    args.push("987654".into());
    let mut dry = args.clone();
    dry.push("--dry-run".into());
    let dry: Vec<&str> = dry.iter().map(String::as_str).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let (code, planned, stderr) = act(target, prefix, &dry);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(planned["dry_run"], true);
    assert_eq!(
        jobs(target, prefix, &[]),
        before,
        "a dry run changes nothing"
    );

    let (code, report, stderr) = act(target, prefix, &args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["command"], action);
    assert_eq!(report["dry_run"], false);
    assert_eq!(
        changed(&report, &by_id),
        changed(&planned, &by_id),
        "the dry run planned it"
    );
    assert_eq!(reasons(&report, &by_id), reasons(&planned, &by_id));
    let skipped = reasons(&report, &by_id);
    assert_eq!(skipped.get(&-1).map(String::as_str), Some("not found"));
    // On PostgreSQL a cancel signals a running job to stop (issue 15); elsewhere it is refused.
    let pg = target.dsn().starts_with("postgres");
    let elixir = prefix == "oban_ex";
    let signals = action == "cancel" && pg;
    if !signals {
        assert!(
            skipped[&3].starts_with("executing: cannot be"),
            "{skipped:?}"
        );
    }
    let after = jobs(target, prefix, &[]);
    let states = |m: &BTreeMap<i64, String>| m.keys().copied().collect::<BTreeSet<i64>>();
    let names: BTreeMap<i64, String> = before
        .iter()
        .map(|(n, j)| (*n, j["state"].as_str().expect("state").to_string()))
        .collect();
    for (n, state) in changed(&report, &by_id) {
        assert_eq!(names[&n], state, "the report gives the state before");
    }
    match action {
        "retry" => {
            assert_eq!(
                states(&changed(&report, &by_id)),
                BTreeSet::from([1, 2, 4, 5, 6, 7])
            );
            assert_eq!(skipped[&0], "already available");
            // Available now (scheduled_at is the database's now), finals cleared.
            let fresh = jobs(
                target,
                prefix,
                &["--state", "available", "--newer-than", "1m"],
            );
            assert_eq!(ns(&fresh), BTreeSet::from([1, 2, 4, 5, 6, 7]));
            for j in fresh.values() {
                for col in ["completed_at", "cancelled_at", "discarded_at"] {
                    assert_eq!(j[col], Value::Null, "{col} cleared");
                }
            }
            assert_eq!(after[&6]["max_attempts"], 4, "exhausted: attempt + 1");
            assert_eq!(after[&7]["max_attempts"], 21);
            assert_eq!(after[&5]["max_attempts"], 20, "not exhausted: unchanged");
            assert_eq!(report["jobs"].as_array().map(Vec::len), Some(6));
            let raised = report["jobs"]
                .as_array()
                .expect("jobs")
                .iter()
                .find(|j| by_id[&j["id"].as_i64().expect("id")] == 7)
                .expect("job 7");
            assert_eq!(
                (raised["max_attempts"].as_i64(), raised["to"].as_str()),
                (Some(21), Some("available"))
            );
            for n in [0, 3] {
                assert_eq!(after[&n], before[&n], "job {n} untouched");
            }
        }
        "cancel" => {
            let running: &[i64] = if signals { &[3] } else { &[] };
            let expect = |mut ns: Vec<i64>| {
                ns.extend(running);
                ns.into_iter().collect::<BTreeSet<i64>>()
            };
            assert_eq!(states(&changed(&report, &by_id)), expect(vec![0, 1, 2, 4]));
            assert_eq!(skipped[&5], "already completed: final");
            assert_eq!(skipped[&6], "already cancelled: final");
            assert_eq!(skipped[&7], "already discarded: final");
            let fresh = jobs(
                target,
                prefix,
                &["--state", "cancelled", "--newer-than", "1m"],
            );
            // Elixir's cancel marks a running job cancelled; oban-py's leaves the row to the
            // worker that runs it.
            let marked = if elixir { running } else { &[] };
            let mut cancelled: BTreeSet<i64> = BTreeSet::from([0, 1, 2, 4]);
            cancelled.extend(marked);
            assert_eq!(ns(&fresh), cancelled);
            for n in [3, 5, 6, 7] {
                if !marked.contains(&n) {
                    assert_eq!(after[&n], before[&n], "job {n} untouched");
                }
            }
        }
        "delete" => {
            assert_eq!(
                states(&changed(&report, &by_id)),
                BTreeSet::from([0, 1, 2, 4, 5, 6, 7])
            );
            assert_eq!(ns(&after), BTreeSet::from([3]));
            assert_eq!(after[&3], before[&3]);
        }
        _ => unreachable!(),
    }
    assert_eq!(
        report["total"],
        report["jobs"].as_array().map(Vec::len).unwrap_or(0)
    );
    // Again: nothing left to do, and every job says why.
    // (oban-py's running job is still executing, nobody having stopped it: signalled again.)
    let (code, again, _) = act(target, prefix, &args);
    assert_eq!(code, 0);
    let again_total = if signals && !elixir { 1 } else { 0 };
    assert_eq!(again["total"], again_total);
}

#[test]
fn retry_rules_oban_py() {
    check_rules(&PgDb::migrated("act_retry", "public"), "public", "retry");
}

#[test]
fn retry_rules_elixir_prefix() {
    check_rules(&elixir_db("act_retry_ex", "oban_ex"), "oban_ex", "retry");
}

#[test]
fn retry_rules_sqlite() {
    check_rules(&LiteDb::migrated(), "public", "retry");
}

#[test]
fn cancel_rules_oban_py() {
    check_rules(&PgDb::migrated("act_cancel", "public"), "public", "cancel");
}

#[test]
fn cancel_rules_elixir_prefix() {
    check_rules(&elixir_db("act_cancel_ex", "oban_ex"), "oban_ex", "cancel");
}

#[test]
fn cancel_rules_sqlite() {
    check_rules(&LiteDb::migrated(), "public", "cancel");
}

#[test]
fn delete_rules_oban_py() {
    check_rules(&PgDb::migrated("act_delete", "public"), "public", "delete");
}

#[test]
fn delete_rules_elixir_prefix() {
    check_rules(&elixir_db("act_delete_ex", "oban_ex"), "oban_ex", "delete");
}

#[test]
fn delete_rules_sqlite() {
    check_rules(&LiteDb::migrated(), "public", "delete");
}

fn check_guards(target: &dyn Target) {
    insert_raw(target, "public", &population());
    let before = jobs(target, "public", &[]);
    let refused: &[(&[&str], &str)] = &[
        (&["retry"], "no jobs given"),
        (&["retry", "--state", "discarded"], "--all-matching"),
        (&["cancel", "--queue", "media"], "--all-matching"),
        (&["delete", "--all-matching"], "at least one filter"),
        (&["delete", "1", "--state", "discarded"], "not both"),
        (&["delete", "1", "--all-matching"], "not both"),
        // stdin is not a terminal here: acting by filter needs --yes.
        (
            &["delete", "--state", "discarded", "--all-matching"],
            "--yes",
        ),
        (
            &["retry", "--args", "{bad", "--all-matching", "--yes"],
            "--args",
        ),
        (
            &[
                "cancel",
                "--args",
                "\"'; DROP TABLE oban_jobs; --\"",
                "--all-matching",
                "--yes",
            ],
            "--args",
        ),
        (&["delete", "1; DROP TABLE oban_jobs"], "ID"),
        (&["retry", "--limit", "0", "1"], "--limit"),
    ];
    for (args, needle) in refused {
        let (code, _, stderr) = act(target, "public", args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?} should say {needle}: {stderr}"
        );
    }
    assert_eq!(
        jobs(target, "public", &[]),
        before,
        "refused runs change nothing"
    );

    // A dry run by filter needs no --yes and changes nothing.
    let (code, plan, stderr) = act(
        target,
        "public",
        &[
            "delete",
            "--state",
            "discarded,completed",
            "--all-matching",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(plan["total"], 2);
    assert_eq!(jobs(target, "public", &[]), before);

    // A hostile queue name is data: exactly its one job goes.
    let (code, report, stderr) = act(
        target,
        "public",
        &["delete", "--queue", HOSTILE, "--all-matching", "--yes"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["total"], 1);
    assert_eq!(report["jobs"][0]["queue"], HOSTILE);
    let after = jobs(target, "public", &[]);
    assert_eq!(ns(&after), BTreeSet::from([0, 1, 2, 3, 4, 5, 7]));

    // Filters with --yes act; --limit bounds them and says so; batches of one still do it all.
    let (code, report, _) = act(
        target,
        "public",
        &[
            "retry",
            "--state",
            "discarded,completed,retryable",
            "--all-matching",
            "--yes",
            "--limit",
            "2",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        (report["total"].as_i64(), report["limited"].as_bool()),
        (Some(2), Some(true))
    );
    let (code, report, _) = act(
        target,
        "public",
        &[
            "retry",
            "--state",
            "discarded,completed,retryable",
            "--all-matching",
            "--yes",
            "--batch-size",
            "1",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(report["total"], 1);
    assert_eq!(
        jobs(
            target,
            "public",
            &["--state", "discarded,completed,retryable"]
        )
        .len(),
        0
    );
    // Filtering only on states the action never changes is refused up front (issue 12),
    // with the reason, rather than listing every matching job as skipped.
    let (code, _, stderr) = act(
        target,
        "public",
        &["retry", "--state", "executing", "--all-matching", "--yes"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot be retried from outside"),
        "{stderr}"
    );
}

#[test]
fn guards_and_filters_oban_py() {
    check_guards(&PgDb::migrated("act_guards", "public"));
}

#[test]
fn guards_and_filters_sqlite() {
    check_guards(&LiteDb::migrated());
}

#[test]
fn rows_locked_by_a_worker_are_skipped_not_waited_for() {
    let db = PgDb::migrated("act_locked", "public");
    insert_raw(&db, "public", &one_per_state());
    let before = jobs(&db, "public", &[]);
    let (locked, free) = (
        before[&7]["id"].as_i64().expect("id"),
        before[&5]["id"].as_i64().expect("id"),
    );
    let mut holder = db.conn();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM oban_jobs WHERE id = {locked} FOR UPDATE"
        ))
        .expect("lock");
    let started = std::time::Instant::now();
    let (code, report, stderr) = act(
        &db,
        "public",
        &[
            "retry",
            &locked.to_string(),
            &free.to_string(),
            "--lock-timeout",
            "30s",
        ],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "did not wait"
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["total"], 1);
    assert_eq!(report["jobs"][0]["id"], free);
    assert_eq!(report["skipped"][0]["id"], locked);
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("locked by another session"),
        "{report}"
    );
    holder.batch_execute("ROLLBACK").expect("unlock");
    assert_eq!(jobs(&db, "public", &[])[&7]["state"], "discarded");
}
