//! `oban rescue`: invariant 2 as a property, exhausted jobs, meta.rescued, accurate mode,
//! locks, flavours, prefixes and SQLite.

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use oban::cli::{BatchArgs, OnExhausted, RescueArgs};
use oban::commands::rescue::{pass, RescueOpts};
use oban::config::resolve_with;
use oban::model::JobState;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::elixir_db;
use crate::support::{insert, json_out, oban, JobSpec, LiteDb, PgDb, Target};

const MIN: f64 = 60.0;
const LIVE: &str = "11111111-1111-4111-8111-111111111111";
const STALE: &str = "22222222-2222-4222-8222-222222222222";
const GONE: &str = "33333333-3333-4333-8333-333333333333";

fn rescue_json(target: &dyn Target, prefix: &str, extra: &[&str]) -> Value {
    let dsn = target.dsn();
    let mut args = vec![
        "-d",
        dsn.as_str(),
        "--prefix",
        prefix,
        "rescue",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = oban().args(&args).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(&out)
}

fn parse(rows: &BTreeMap<i64, String>) -> BTreeMap<i64, Value> {
    rows.iter()
        .map(|(id, row)| (*id, serde_json::from_str(row).expect("row json")))
        .collect()
}

/// Checks invariant 2 between two snapshots: only executing rows older than the cutoff
/// changed, exactly as specified, and every other row is byte-for-byte the same.
fn check_rescued(
    before: &BTreeMap<i64, String>,
    after: &BTreeMap<i64, String>,
    orphan: &dyn Fn(i64) -> bool,
    retry: bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(before.len(), after.len(), "rescue never deletes");
    let (old, new) = (parse(before), parse(after));
    for (id, row) in before {
        if !orphan(*id) {
            prop_assert_eq!(
                Some(row),
                after.get(id),
                "row {} is not an orphan but changed",
                id
            );
            continue;
        }
        let (b, a) = (&old[id], &new[id]);
        let exhausted = b["attempt"].as_i64() >= b["max_attempts"].as_i64();
        let mut expected = b.clone();
        if exhausted && !retry {
            expected["state"] = json!("discarded");
            prop_assert!(a["discarded_at"].is_string(), "discarded_at set on {}", id);
            expected["discarded_at"] = a["discarded_at"].clone();
        } else {
            expected["state"] = json!("available");
            if exhausted {
                expected["max_attempts"] = json!(b["attempt"].as_i64().unwrap_or(0) + 1);
            }
            let meta = expected["meta"].as_object_mut();
            prop_assert!(meta.is_some(), "meta of {} is an object", id);
            if let Some(meta) = meta {
                let n = meta.get("rescued").and_then(Value::as_i64).unwrap_or(0);
                meta.insert("rescued".into(), json!(n + 1));
            }
        }
        prop_assert_eq!(&expected, a, "row {} moved wrongly", id);
    }
    Ok(())
}

fn job() -> impl Strategy<Value = JobSpec> {
    (
        0usize..8,
        prop_oneof![3 => (0u32..6).prop_map(|k| f64::from(k) * 30.0 + 30.0), 1 => (0u32..4).prop_map(|k| 400.0 + f64::from(k) * 3000.0)],
        0u32..4,
        1u32..4,
        prop::option::of(0i64..5),
        prop::bool::ANY,
    )
        .prop_map(|(s, age, attempt, max, rescued, extra)| {
            let mut meta = serde_json::Map::new();
            if let Some(n) = rescued {
                meta.insert("rescued".into(), json!(n));
            }
            if extra {
                meta.insert("trace_id".into(), json!("abc"));
            }
            JobSpec::new(JobState::ALL[s].name(), age).attempts(attempt.min(max), max).meta(Value::Object(meta))
        })
}

fn run_property(
    target: &dyn Target,
    snapshot: &dyn Fn() -> BTreeMap<i64, String>,
    jobs: &[JobSpec],
    retry: bool,
) -> Result<(), TestCaseError> {
    insert(target, "public", jobs);
    let before = snapshot();
    let ids: Vec<i64> = before.keys().copied().collect();
    // The cutoff is 300 s; ages are at least 30 s away from it.
    let orphans: Vec<i64> = ids
        .iter()
        .zip(jobs)
        .filter(|(_, j)| j.state == "executing" && j.age.is_some_and(|a| a > 300.0))
        .map(|(id, _)| *id)
        .collect();
    let settings =
        resolve_with(&Default::default(), &|_| None, Default::default()).expect("settings");
    let args = RescueArgs {
        on_exhausted: Some(if retry {
            OnExhausted::Retry
        } else {
            OnExhausted::Discard
        }),
        batch: BatchArgs {
            batch_size: Some(3),
            ..BatchArgs::default()
        },
        ..RescueArgs::default()
    };
    let opts = RescueOpts::resolve(&args, &settings).expect("opts");
    let mut db = target.db();
    let schema = db.schema("public").expect("schema");
    let report = pass(&mut db, &schema, &opts).expect("rescue");
    prop_assert_eq!((report.rescued + report.discarded) as usize, orphans.len());
    check_rescued(&before, &snapshot(), &|id| orphans.contains(&id), retry)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn rescue_changes_only_old_executing_rows_postgres(jobs in prop::collection::vec(job(), 1..40), retry in prop::bool::ANY) {
        let db = PgDb::migrated("prop_rescue", "public");
        run_property(&db, &|| db.snapshot("public"), &jobs, retry)?;
    }

    #[test]
    fn rescue_changes_only_old_executing_rows_sqlite(jobs in prop::collection::vec(job(), 1..40), retry in prop::bool::ANY) {
        let db = LiteDb::migrated();
        run_property(&db, &|| db.snapshot(), &jobs, retry)?;
    }
}

fn set_executing(target: &PgDb, prefix: &str) {
    target.exec(&format!(
        "UPDATE {prefix}.oban_jobs SET state = 'executing', discarded_at = NULL, \
         attempted_at = timezone('UTC', now()) - interval '1 hour'"
    ));
}

#[test]
fn rescued_counts_up_and_exhausted_jobs_are_discarded() {
    for (db, prefix) in [
        (PgDb::migrated("rescue_repeat", "public"), "public"),
        (elixir_db("rescue_repeat_ex", "ex"), "ex"),
    ] {
        insert(
            &db,
            prefix,
            &[
                JobSpec::new("executing", 10.0 * MIN).meta(json!({"trace": "t-1"})),
                JobSpec::new("executing", 10.0 * MIN)
                    .attempts(3, 3)
                    .meta(json!({"keep": true})),
            ],
        );
        for round in 1..=3 {
            let r = rescue_json(&db, prefix, &[]);
            assert_eq!(r["rescued"], 1);
            assert_eq!(r["discarded"], if round == 1 { 1 } else { 0 });
            if round == 1 {
                let jobs = r["jobs"].as_array().expect("jobs");
                assert_eq!(jobs.len(), 2);
                assert!(jobs
                    .iter()
                    .any(|j| j["to"] == "discarded" && j["attempt"] == 3));
                assert!(jobs
                    .iter()
                    .all(|j| j["node"] == "node-1"
                        && j["executing"].as_f64().is_some_and(|s| s > 590.0)));
            }
            assert_eq!(
                db.count(&format!("SELECT (meta->>'rescued')::bigint AS n FROM {prefix}.oban_jobs WHERE meta ? 'trace'")),
                round
            );
            assert_eq!(
                db.count(&format!(
                    "SELECT count(*) AS n FROM {prefix}.oban_jobs WHERE meta->>'trace' = 't-1'"
                )),
                1,
                "other keys kept"
            );
            let discarded = db.count(&format!(
                "SELECT count(*) AS n FROM {prefix}.oban_jobs WHERE state = 'discarded' AND discarded_at IS NOT NULL \
                 AND meta = '{{\"keep\": true}}'::jsonb AND attempt = 3 AND max_attempts = 3"
            ));
            assert_eq!(discarded, 1, "exhausted job discarded with meta untouched");
            // Back to executing for the next round; the discarded one stays discarded.
            db.exec(&format!(
                "UPDATE {prefix}.oban_jobs SET state = 'executing', attempted_at = timezone('UTC', now()) - interval '1 hour' WHERE meta ? 'trace'"
            ));
        }
        // --on-exhausted retry gives one more attempt instead.
        set_executing(&db, prefix);
        let r = rescue_json(&db, prefix, &["--on-exhausted", "retry"]);
        assert_eq!(r["rescued"], 2);
        assert_eq!(r["discarded"], 0);
        assert_eq!(
            db.count(&format!(
                "SELECT max_attempts::bigint AS n FROM {prefix}.oban_jobs WHERE meta ? 'keep'"
            )),
            4
        );
        assert_eq!(
            db.count(&format!(
                "SELECT count(*) AS n FROM {prefix}.oban_jobs WHERE state = 'available'"
            )),
            2
        );
    }
}

#[test]
fn accurate_mode_uses_producer_heartbeats() {
    let db = PgDb::migrated("rescue_accurate", "public");
    db.exec(&format!(
        "INSERT INTO oban_producers (uuid, node, queue, updated_at) VALUES \
         ('{LIVE}', 'web-1', 'default', timezone('UTC', now()) - interval '10 seconds'), \
         ('{STALE}', 'web-2', 'default', timezone('UTC', now()) - interval '5 minutes')"
    ));
    insert(
        &db,
        "public",
        &[
            JobSpec::new("executing", 5.0)
                .queue("live-old")
                .attempted_by(&["web-1", LIVE])
                .meta(json!({"case": "live"})),
            JobSpec::new("executing", 3.0 * 3600.0)
                .queue("live-old")
                .attempted_by(&["web-1", LIVE])
                .meta(json!({"case": "live-very-old"})),
            JobSpec::new("executing", 5.0)
                .attempted_by(&["web-2", STALE])
                .meta(json!({"case": "stale"})),
            JobSpec::new("executing", 5.0)
                .attempted_by(&["web-3", GONE])
                .meta(json!({"case": "gone"})),
            JobSpec::new("executing", 5.0)
                .attempted_by(&[])
                .meta(json!({"case": "no-producer-new"})),
            JobSpec::new("executing", 600.0)
                .attempted_by(&["web-4"])
                .meta(json!({"case": "no-producer-old"})),
            JobSpec::new("available", 600.0)
                .attempted_by(&["web-3", GONE])
                .meta(json!({"case": "not-executing"})),
        ],
    );
    let before = db.snapshot("public");
    let dry = rescue_json(&db, "public", &["--accurate", "--dry-run"]);
    assert_eq!(dry["mode"], "accurate");
    assert_eq!(dry["rescued"], 3);
    assert_eq!(db.snapshot("public"), before, "dry run changes nothing");

    let r = rescue_json(&db, "public", &["--accurate"]);
    assert_eq!(r["rescued"], 3);
    let moved = |case: &str| {
        db.count(&format!("SELECT count(*) AS n FROM oban_jobs WHERE meta->>'case' = '{case}' AND state = 'available'"))
    };
    assert_eq!(
        moved("stale"),
        1,
        "stale producer: rescued at once, however young"
    );
    assert_eq!(moved("gone"), 1, "missing producer: rescued at once");
    assert_eq!(moved("no-producer-old"), 1, "no producer: the timeout rule");
    assert_eq!(moved("no-producer-new"), 0);
    assert_eq!(moved("live"), 0);
    assert_eq!(
        moved("live-very-old"),
        0,
        "alive producer: never moved, however old"
    );
    let long = r["long_running"].as_array().expect("long_running");
    assert_eq!(long.len(), 1);
    assert_eq!(long[0]["queue"], "live-old");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE meta->>'case' = 'not-executing' AND state = 'available' AND NOT meta ? 'rescued'"), 1);
    // The timeout mode would have taken the very old job of the live producer.
    let r = rescue_json(&db, "public", &[]);
    assert_eq!(r["rescued"], 1);
    // A shorter TTL makes the live producer stale too.
    db.exec("UPDATE oban_jobs SET state = 'executing' WHERE meta->>'case' = 'live'");
    let r = rescue_json(&db, "public", &["--accurate", "--producer-ttl", "5s"]);
    assert_eq!(r["rescued"], 1);
}

#[test]
fn accurate_mode_without_producers_is_a_usage_error() {
    let db = elixir_db("rescue_no_producers", "public");
    insert(&db, "public", &[JobSpec::new("executing", 3600.0)]);
    let before = db.snapshot("public");
    let out = oban()
        .args(["-d", &db.url, "rescue", "--accurate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("oban_producers") && stderr.contains("--rescue-after"),
        "{stderr}"
    );
    assert_eq!(db.snapshot("public"), before);
    let lite = LiteDb::migrated();
    let out = oban()
        .args(["-d", &lite.dsn(), "rescue", "--accurate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = oban()
        .args(["-d", &db.url, "rescue", "--producer-ttl", "5s"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "--producer-ttl needs --accurate"
    );
}

#[test]
fn a_job_locked_by_its_worker_is_skipped_not_waited_on() {
    let db = PgDb::migrated("rescue_locked", "public");
    insert(
        &db,
        "public",
        &[
            JobSpec::new("executing", 3600.0),
            JobSpec::new("executing", 3600.0),
        ],
    );
    let mut worker = db.conn();
    worker
        .batch_execute(
            "BEGIN; SELECT id FROM oban_jobs WHERE id = (SELECT min(id) FROM oban_jobs) FOR UPDATE",
        )
        .expect("lock");
    let started = std::time::Instant::now();
    let r = rescue_json(&db, "public", &["--lock-timeout", "30s"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "did not wait for the lock"
    );
    assert_eq!(r["rescued"], 1);
    worker.batch_execute("ROLLBACK").expect("rollback");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'"),
        1
    );
}

#[test]
fn overlapping_rescues_and_filters_and_prefix() {
    let db = PgDb::migrated("rescue_overlap", "jobs");
    insert(
        &db,
        "jobs",
        &[
            JobSpec::new("executing", 3600.0).queue("media").worker("A"),
            JobSpec::new("executing", 3600.0).queue("media").worker("B"),
            JobSpec::new("executing", 3600.0).queue("mail").worker("A"),
        ],
    );
    let mut other = db.conn();
    let key = oban::db::lock::key("rescue", "jobs");
    other
        .batch_execute(&format!("SELECT pg_advisory_lock({key})"))
        .expect("lock");
    let r = rescue_json(&db, "jobs", &[]);
    assert_eq!(r["outcome"], "locked");
    assert_eq!(r["rescued"], 0);
    drop(other);
    let r = rescue_json(&db, "jobs", &["--queue", "media", "--worker", "B"]);
    assert_eq!(r["rescued"], 1);
    let r = rescue_json(&db, "jobs", &["--rescue-after", "2h"]);
    assert_eq!(r["rescued"], 0, "younger than --rescue-after");
    let r = rescue_json(&db, "jobs", &["--limit", "1"]);
    assert_eq!(r["rescued"], 1);
    assert_eq!(r["outcome"], "limit");
    let out = oban()
        .args(["-d", &db.url, "--prefix", "jobs", "rescue", "-o", "csv"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("id,queue,worker,attempt,max_attempts,executing,node,to,dry_run\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn sqlite_timeout_rescue_and_config_default() {
    let db = LiteDb::migrated();
    insert(
        &db,
        "public",
        &[
            JobSpec::new("executing", 20.0 * MIN).meta(json!({"rescued": 2, "k": 1})),
            JobSpec::new("executing", 8.0 * MIN).attempts(5, 5),
            JobSpec::new("executing", MIN),
        ],
    );
    // [lifeline] rescue_after from oban.toml: 15 minutes.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("oban.toml"),
        "[lifeline]\nrescue_after = \"15m\"\n",
    )
    .expect("write");
    let out = crate::support::oban_in(dir.path())
        .args(["-d", &db.dsn(), "rescue", "-o", "json"])
        .output()
        .expect("run");
    let r = json_out(&out);
    assert_eq!(r["rescued"], 1);
    assert_eq!(r["rescue_after"], 900);
    assert_eq!(db.count("SELECT json_extract(meta, '$.rescued') AS n FROM oban_jobs WHERE json_extract(meta, '$.k') = 1"), 3);
    let r = rescue_json(&db, "public", &[]);
    assert_eq!(r["discarded"], 1);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'discarded' AND discarded_at LIKE '%Z'"), 1);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'"),
        1
    );
}
