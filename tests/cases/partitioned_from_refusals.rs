//! `oban migrate --partitioned --from` refuses what it cannot move (an Elixir-shaped or an
//! already partitioned table, a system schema, a bad name, SQLite, no `--partitioned`), and a
//! dry run counts the jobs and the leaves it would make and writes nothing.

use super::partitioned::run_json;
use super::partitioned_from::{move_fails, relations, relkind, seeded};
use crate::support::{oban, PgDb};

#[test]
fn from_refuses_other_shapes_and_a_dry_run_writes_nothing() {
    let db = seeded("from_refuse", 500);
    let rels = relations(&db);
    let before = db.snapshot("public");
    let dry = run_json(
        &db,
        "public",
        &["migrate", "--partitioned", "--from", "public", "--dry-run"],
    );
    assert_eq!(dry["dry_run"], true);
    let counted: i64 = dry["rows"]
        .as_object()
        .expect("rows")
        .values()
        .map(|v| v.as_i64().expect("n"))
        .sum();
    assert_eq!(counted, before.len() as i64);
    assert!(
        dry["leaves"].as_array().is_some_and(|l| l.len() >= 9),
        "{dry}"
    );
    assert_eq!(relations(&db), rels, "a dry run creates nothing");
    assert_eq!(db.snapshot("public"), before);

    let elixir = crate::support::elixir_db("from_elixir", "public");
    let out = move_fails(&elixir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Elixir Oban") && stderr.contains("oban-py"),
        "{stderr}"
    );
    assert_eq!(relkind(&elixir, "oban_jobs_partitioning"), None);

    let parted = PgDb::new("from_parted");
    run_json(&parted, "public", &["migrate", "--partitioned"]);
    let out = move_fails(&parted);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already partitioned"));

    for (args, why) in [
        (vec!["migrate", "--from", "public"], "without --partitioned"),
        (
            vec!["migrate", "--partitioned", "--from", "pg_catalog"],
            "a system schema",
        ),
        (
            vec!["migrate", "--partitioned", "--from", "bad-name"],
            "not an identifier",
        ),
    ] {
        let out = oban()
            .args(["-d", &db.url])
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{why}");
    }
    let lite = crate::support::LiteDb::migrated();
    let out = oban()
        .args([
            "-d",
            &lite.dsn_str(),
            "migrate",
            "--partitioned",
            "--from",
            "main",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(relations(&db), rels);
}

/// A move undone in part by hand, then run again, is refused before the switch: the workers
/// are never switched to a table that lacks jobs or holds some twice.
#[test]
fn from_refuses_to_switch_to_a_copy_undone_in_part() {
    let stop_early = [
        "migrate",
        "--partitioned",
        "--from",
        "public",
        "--batch-size",
        "100",
        "--max-batches",
        "2",
    ];
    // The new table dropped and made again: the rows copied before are gone from it.
    let db = seeded("from_undone_new", 400);
    let before = db.snapshot("public");
    run_json(&db, "public", &stop_early);
    db.exec("DROP TABLE oban_jobs_partitioning CASCADE");
    let out = move_fails(&db);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("undone in part"), "{stderr}");
    assert_eq!(
        relkind(&db, "oban_jobs").as_deref(),
        Some("r"),
        "not switched"
    );
    assert_eq!(db.snapshot("public"), before);

    // The trigger, log and progress dropped, the copied rows kept: copied again, twice.
    let db = seeded("from_undone_log", 400);
    run_json(&db, "public", &stop_early);
    db.exec(
        "DROP TRIGGER oban_jobs_partitioning_record ON oban_jobs; \
         DROP FUNCTION oban_jobs_partitioning_record(); \
         DROP TABLE oban_jobs_partitioning_log; DROP TABLE oban_jobs_partitioning_progress",
    );
    let out = move_fails(&db);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("twice"), "{stderr}");
    assert_eq!(
        relkind(&db, "oban_jobs").as_deref(),
        Some("r"),
        "not switched"
    );
}

/// The workers' role keeps its access across the switch: the new table gets the old one's
/// owner, grants and comment.
#[test]
fn from_carries_the_owner_grants_and_comment_over() {
    /// Roles belong to the server: dropped after the database (declared before it).
    struct Roles(Vec<String>);
    impl Drop for Roles {
        fn drop(&mut self) {
            for role in &self.0 {
                crate::support::admin_exec(&format!("DROP ROLE IF EXISTS {role}"));
            }
        }
    }
    let app = format!("oban_t_app_{}", std::process::id());
    let worker = format!("oban_t_worker_{}", std::process::id());
    let _roles = Roles(vec![app.clone(), worker.clone()]);
    let db = seeded("from_grants", 300);
    db.exec(&format!(
        "CREATE ROLE {app} NOLOGIN; CREATE ROLE {worker} NOLOGIN; \
         ALTER TABLE oban_jobs OWNER TO {app}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON oban_jobs TO {worker}; \
         COMMENT ON TABLE oban_jobs IS 'the app''s jobs'"
    ));
    let moved = run_json(
        &db,
        "public",
        &["migrate", "--partitioned", "--from", "public"],
    );
    assert_eq!(moved["switched"], true, "{moved}");
    let yes = |sql: &str| db.count(&format!("SELECT ({sql})::int::int8 AS n"));
    assert_eq!(yes(&format!("pg_get_userbyid((SELECT relowner FROM pg_class WHERE oid = 'oban_jobs'::regclass)) = '{app}'")), 1);
    assert_eq!(
        yes(&format!(
            "NOT EXISTS (SELECT 1 FROM pg_partition_tree('oban_jobs') t JOIN pg_class c \
             ON c.oid = t.relid WHERE pg_get_userbyid(c.relowner) <> '{app}')"
        )),
        1,
        "every leaf has the owner"
    );
    for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
        assert_eq!(
            yes(&format!(
                "has_table_privilege('{worker}', 'oban_jobs', '{privilege}')"
            )),
            1,
            "{privilege}"
        );
    }
    assert_eq!(
        yes("obj_description('oban_jobs'::regclass) = 'the app''s jobs'"),
        1
    );
    // A worker's insert and fetch, as that role.
    db.exec(&format!(
        "SET ROLE {worker}; \
         INSERT INTO oban_jobs (worker, args) VALUES ('app.Worker', '{{}}'); \
         UPDATE oban_jobs SET state = 'executing' WHERE id = (SELECT max(id) FROM oban_jobs); \
         RESET ROLE"
    ));
}

/// A finished job without its state's timestamp fits no day's leaf: the move (and its dry
/// run) refuses before it changes anything, naming the job.
#[test]
fn from_refuses_a_finished_job_without_its_timestamp() {
    let db = seeded("from_untimed", 300);
    let id = db.count("SELECT min(id) AS n FROM oban_jobs WHERE state = 'completed'");
    db.exec(&format!(
        "UPDATE oban_jobs SET completed_at = NULL WHERE id = {id}"
    ));
    let rels = relations(&db);
    for dry in [true, false] {
        let mut args = vec![
            "-d",
            db.url.as_str(),
            "migrate",
            "--partitioned",
            "--from",
            "public",
        ];
        if dry {
            args.push("--dry-run");
        }
        let out = oban().args(&args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("no timestamp") && stderr.contains(&format!("id {id}")),
            "{stderr}"
        );
    }
    assert_eq!(relations(&db), rels, "nothing created");
}
