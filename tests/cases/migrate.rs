//! `oban migrate`: creates the schema under any prefix, is idempotent, leaves others' schemas alone.

use crate::support::elixir_db;
use crate::support::{json_out, oban, LiteDb, PgDb};

#[test]
fn creates_the_oban_py_shape_under_a_prefix() {
    let db = PgDb::new("migrate_shape");
    let out = oban()
        .args([
            "-d",
            &db.url,
            "--prefix",
            "jobs",
            "migrate",
            "--dry-run",
            "-o",
            "json",
        ])
        .output()
        .expect("run");
    let r = json_out(&out);
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["migrations"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'jobs'"),
        0,
        "dry run creates nothing"
    );

    oban()
        .args(["-d", &db.url, "--prefix", "jobs", "migrate"])
        .assert()
        .success();
    assert_eq!(
        db.count("SELECT count(*) AS n FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typname = 'oban_job_state' AND n.nspname = 'jobs'"),
        8
    );
    for table in ["oban_jobs", "oban_leaders", "oban_producers"] {
        assert_eq!(db.count(&format!("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'jobs' AND tablename = '{table}'")), 1, "{table}");
    }
    for index in [
        "oban_jobs_completed_at_index",
        "oban_jobs_cancelled_at_index",
        "oban_jobs_discarded_at_index",
        "oban_jobs_state_queue_priority_scheduled_at_id_index",
    ] {
        assert_eq!(db.count(&format!("SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'jobs' AND indexname = '{index}'")), 1, "{index}");
    }
    assert_eq!(db.count("SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'jobs' AND indexname = 'oban_jobs_completed_at_index' AND indexdef LIKE '%WHERE (state = ''completed''%'"), 1, "partial");
    assert_eq!(db.count("SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'jobs' AND table_name = 'oban_jobs' AND column_name = 'errors' AND data_type = 'jsonb'"), 1);
    assert_eq!(db.count("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = 'oban_jobs'"), 0, "nothing leaks into public");
    // The count estimate function works on the new schema.
    db.exec("SELECT jobs.oban_count_estimate('available', 'default')");
    // Idempotent.
    let out = oban()
        .args(["-d", &db.url, "--prefix", "jobs", "migrate", "-o", "json"])
        .output()
        .expect("run");
    assert_eq!(
        json_out(&out)["migrations"].as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn leaves_an_existing_elixir_schema_alone() {
    let db = elixir_db("migrate_elixir", "public");
    let before = db.count("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'");
    let out = oban()
        .args(["-d", &db.url, "migrate", "-o", "json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_out(&out);
    assert_eq!(r["existing"], "elixir");
    assert_eq!(r["migrations"].as_array().map(Vec::len), Some(0));
    let after = db.count("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'");
    assert_eq!(before, after, "no table, index or sequence added");
    let text = oban()
        .args(["-d", &db.url, "migrate"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&text.stdout).contains("Elixir Oban"));
}

#[test]
fn sqlite_lite_schema() {
    let db = LiteDb::new();
    let out = oban()
        .args(["-d", &db.dsn_str(), "migrate", "-o", "json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM sqlite_master WHERE name = 'oban_jobs'"),
        1
    );
    let out = oban()
        .args(["-d", &db.dsn_str(), "migrate", "-o", "json"])
        .output()
        .expect("run");
    assert_eq!(
        json_out(&out)["migrations"].as_array().map(Vec::len),
        Some(0)
    );
    // A missing file is not silently created by other commands.
    let missing = db.dir.path().join("missing.db");
    let out = oban()
        .args(["-d", &missing.display().to_string(), "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(!missing.exists());
    // A file that is not a database.
    let junk = db.dir.path().join("junk.db");
    std::fs::write(
        &junk,
        "this is not sqlite, just text padding the header out.....",
    )
    .expect("write");
    let out = oban()
        .args(["-d", &junk.display().to_string(), "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_table_that_is_not_oban_is_refused() {
    let db = PgDb::new("migrate_foreign");
    db.exec("CREATE TABLE oban_jobs (id bigint PRIMARY KEY, payload text)");
    let out = oban().args(["-d", &db.url, "prune"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an Oban jobs table"));
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 0);
}
