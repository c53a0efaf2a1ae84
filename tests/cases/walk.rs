//! Actions at incident scale (issue 15): past `--limit` the report says how many match;
//! `--limit all` walks every match in batches, and a run stopped early is finished by running
//! it again.

use diesel::connection::SimpleConnection;
use serde_json::Value;

use crate::support::{json_out, oban, succeeds, LiteDb, PgDb, Target};

fn discarded(db: &PgDb, n: u32) {
    db.exec(&format!(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, discarded_at, errors) \
         SELECT 'discarded', 'mailers', 'app.Mail', 1, timezone('UTC', now()), \
           jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now()::text, \
             'error', 'SMTPError: relay refused')) \
         FROM generate_series(1, {n})"
    ));
}

fn act(dsn: &str, args: &[&str]) -> Value {
    let mut all = vec!["-d", dsn, "-o", "json"];
    all.extend(args);
    json_out(&succeeds(&all))
}

#[test]
fn past_the_limit_the_report_says_how_many_match() {
    let db = PgDb::migrated("walk_limit", "public");
    discarded(&db, 2_500);
    let report = act(
        &db.url,
        &["delete", "--state", "discarded", "--all-matching", "--yes"],
    );
    assert_eq!(report["total"], 1_000);
    assert_eq!(report["limited"], true);
    assert_eq!(report["matched"], 2_500);
    let out = succeeds(&[
        "-d",
        &db.url,
        "delete",
        "--state",
        "discarded",
        "--all-matching",
        "--yes",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1500 jobs match in all; run again to continue, or --limit all"),
        "{text}"
    );
}

#[test]
fn limit_all_walks_every_match_and_resumes() {
    let db = PgDb::migrated("walk_all", "public");
    discarded(&db, 2_500);
    // Another session holds 10 of them: they are skipped, not waited for.
    let mut holder = db.conn();
    holder
        .batch_execute("BEGIN; SELECT id FROM oban_jobs ORDER BY id DESC LIMIT 10 FOR UPDATE")
        .expect("lock");
    let report = act(
        &db.url,
        &[
            "retry",
            "--error",
            "relay refused",
            "--all-matching",
            "--yes",
            "--limit",
            "all",
            "--batch-size",
            "300",
            "--pause",
            "10ms",
        ],
    );
    assert_eq!(report["matched"], 2_500);
    assert_eq!(report["total"], 2_490, "{}", report["skipped"]);
    let skipped = report["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 10);
    assert!(skipped
        .iter()
        .all(|s| s["reason"] == "locked by another session; try again"));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'available'"),
        2_490
    );
    holder.batch_execute("ROLLBACK").expect("unlock");
    // Run again: only the rest still match the filters (the others are available now).
    let again = act(
        &db.url,
        &[
            "retry",
            "--error",
            "relay refused",
            "--state",
            "discarded",
            "--all-matching",
            "--yes",
            "--limit",
            "all",
        ],
    );
    assert_eq!(again["matched"], 10);
    assert_eq!(again["total"], 10);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'available'"),
        2_500
    );
    // A dry run counts and changes nothing.
    let dry = act(
        &db.url,
        &[
            "delete",
            "--queue",
            "mailers",
            "--all-matching",
            "--dry-run",
            "--limit",
            "all",
        ],
    );
    assert_eq!(dry["matched"], 2_500);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 2_500);
}

#[test]
fn limit_all_on_sqlite() {
    let lite = LiteDb::migrated();
    let jobs: Vec<Value> = (0..1_200)
        .map(|_| crate::support::JobSpec::new("scheduled", -60.0).to_json())
        .collect();
    let mut db = lite.db();
    let schema = db.schema("main").expect("schema");
    db.insert_jobs(&schema, &Value::Array(jobs).to_string())
        .expect("insert");
    let report = act(
        &lite.dsn_str(),
        &[
            "cancel",
            "--state",
            "scheduled",
            "--all-matching",
            "--yes",
            "--limit",
            "all",
        ],
    );
    assert_eq!(report["total"], 1_200);
    assert_eq!(
        lite.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'cancelled'"),
        1_200
    );
}

#[test]
fn limit_all_is_only_for_the_actions() {
    let out = oban()
        .args([
            "-d",
            "postgres://nobody@127.0.0.1:1/x",
            "prune",
            "--limit",
            "all",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
