//! `oban seed`: a realistic, reproducible population; refuses to pile onto real data.

use crate::support::elixir_db;
use crate::support::{json_out, oban, LiteDb, PgDb, Target};

fn seed(target: &dyn Target, extra: &[&str]) -> std::process::Output {
    let dsn = target.dsn();
    let mut args = vec!["-d", dsn.as_str(), "seed", "-o", "json"];
    args.extend_from_slice(extra);
    oban().args(&args).output().expect("run")
}

#[test]
fn realistic_mix_on_postgres() {
    let db = PgDb::migrated("seed_mix", "public");
    let out = seed(&db, &["--jobs", "5000", "--seed", "7"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_out(&out);
    assert_eq!(r["inserted"], 5000);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 5000);
    let share = |sql: &str| db.count(sql) as f64 / 5000.0;
    let completed = share("SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed'");
    assert!(
        (0.65..0.75).contains(&completed),
        "completed share {completed}"
    );
    for state in [
        "cancelled",
        "discarded",
        "available",
        "scheduled",
        "retryable",
        "executing",
    ] {
        assert!(
            db.count(&format!(
                "SELECT count(*) AS n FROM oban_jobs WHERE state = '{state}'"
            )) > 0,
            "{state}"
        );
    }
    // Final jobs carry their own timestamp; discarded ones carry errors.
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed' AND completed_at IS NULL"), 0);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'discarded' AND jsonb_array_length(errors) = 0"), 0);
    // Executing jobs: some orphans older than the lifeline's 300 s, some fresh, all with a node.
    assert!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing' AND attempted_at < timezone('UTC', now()) - interval '300 seconds'") > 0);
    assert!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing' AND attempted_at > timezone('UTC', now()) - interval '60 seconds'") > 0);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing' AND cardinality(attempted_by) <> 2"), 0);
    assert!(db.count("SELECT count(DISTINCT queue) AS n FROM oban_jobs") >= 5);
    // Ids follow time, as in production.
    assert_eq!(db.count("SELECT count(*) AS n FROM (SELECT inserted_at < lag(inserted_at) OVER (ORDER BY id) AS back FROM oban_jobs WHERE state IN ('completed','cancelled','discarded')) s WHERE back"), 0);
    // Refuses a non-empty table without --force.
    let out = seed(&db, &["--jobs", "10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert!(seed(&db, &["--jobs", "10", "--force"]).status.success());
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 5010);
}

#[test]
fn same_seed_same_population() {
    let a = LiteDb::migrated();
    let b = LiteDb::migrated();
    assert!(seed(&a, &["--jobs", "300", "--seed", "99"])
        .status
        .success());
    assert!(seed(&b, &["--jobs", "300", "--seed", "99"])
        .status
        .success());
    let fingerprint = |db: &LiteDb| {
        db.count("SELECT sum(length(args) * id + length(worker) + length(state) + attempt) AS n FROM oban_jobs")
    };
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_eq!(a.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed' AND completed_at NOT LIKE '%Z'"), 0, "Lite timestamps end in Z");
}

#[test]
fn seeds_the_elixir_shape() {
    let db = elixir_db("seed_elixir", "public");
    let out = seed(&db, &["--jobs", "500"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'discarded' AND cardinality(errors) > 0") > 0);
}

/// Issue 12: seeded jobs used to carry any queue's traceback (TrackEvent jobs failing in the
/// image library). Each failure now comes from its own queue's module.
#[test]
fn issue_12_each_failure_fits_its_queue() {
    let db = PgDb::migrated("seed_errors", "public");
    assert!(seed(&db, &["--jobs", "4000", "--seed", "3"])
        .status
        .success());
    let mismatched = db.count(
        "SELECT count(*) AS n FROM oban_jobs j, jsonb_array_elements(j.errors) e \
         WHERE e->>'error' NOT LIKE '%/app/workers/' || CASE j.queue WHEN 'default' THEN 'sync' \
           ELSE j.queue END || '.py%'",
    );
    let failures =
        db.count("SELECT count(*) AS n FROM oban_jobs j, jsonb_array_elements(j.errors) e");
    assert!(failures > 50, "{failures} errors seeded");
    assert_eq!(mismatched, 0, "errors from another queue's module");
}
