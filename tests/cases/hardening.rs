//! Issue 12: defects found trying the tool as a new user and as a hostile tester would. Each
//! test failed before its fix.

use crate::support::{insert, oban, JobSpec, LiteDb, PgDb, Target};

const DAY: f64 = 86_400.0;

/// Writing commands refuse PostgreSQL's own schemas (exit 2, before any SQL).
#[test]
fn issue_12_system_schemas_are_refused_for_writes() {
    let db = PgDb::new("hard_sysschema");
    for prefix in ["information_schema", "pg_catalog", "pg_toast", "PG_temp_1"] {
        for args in [
            vec!["migrate"],
            vec!["seed", "--jobs", "10"],
            vec!["prune"],
            vec!["rescue"],
            vec!["delete", "--state", "completed", "--all-matching", "--yes"],
        ] {
            let out = oban()
                .args(["-d", &db.url, "--prefix", prefix])
                .args(&args)
                .output()
                .expect("run");
            assert_eq!(out.status.code(), Some(2), "{prefix} {args:?}: {out:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("system schema"), "{stderr}");
        }
    }
    let tables = db.count(
        "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname LIKE 'oban%'",
    );
    assert_eq!(tables, 0, "nothing was created");
}

/// `prune --watch --dry-run` used to end with "N jobs changed in all" though nothing changed.
#[test]
fn issue_12_a_dry_run_watch_says_nothing_changed() {
    let db = LiteDb::migrated();
    insert(&db, "", &[JobSpec::new("completed", 2.0 * DAY)]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args([
            "-d",
            &db.dsn(),
            "prune",
            "--dry-run",
            "--watch",
            "--interval",
            "100ms",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(600));
    // SIGINT, as Ctrl-C sends.
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("would have changed (dry run: none did)"),
        "{stderr}"
    );
    assert!(!stderr.contains("jobs changed"), "{stderr}");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 1);
}

/// The rescue table used to wrap a long worker name onto a line of its own, which breaks
/// grep and awk: each job is one line now, the worker clipped with `…`.
#[test]
fn issue_12_long_worker_names_stay_on_their_row() {
    let db = LiteDb::migrated();
    let worker = "app.workers.billing.quarterly.SendTheQuarterlyStatementToEveryCustomer";
    insert(
        &db,
        "",
        &[JobSpec::new("executing", 3_600.0)
            .worker(worker)
            .queue("billing")],
    );
    for args in [vec!["rescue", "--dry-run"], vec!["rescue"]] {
        let out = oban()
            .args(["-d", &db.dsn()])
            .args(&args)
            .output()
            .expect("run");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let row = text
            .lines()
            .find(|l| l.contains("billing"))
            .unwrap_or_else(|| panic!("no row: {text}"));
        assert!(
            row.contains("ToEveryCustomer") && row.contains('…'),
            "{text}"
        );
        assert!(row.contains("available"), "{text}");
        assert!(row.chars().count() <= 80, "{text}");
        assert!(
            text.lines().all(|l| !l.ends_with(' ')),
            "trailing spaces: {text:?}"
        );
    }
}

/// Plurals: "1 job", "1 batch", not "1 jobs", "(1 batches)".
#[test]
fn issue_12_counts_of_one_read_as_one() {
    let db = LiteDb::migrated();
    insert(&db, "", &[JobSpec::new("completed", 2.0 * DAY)]);
    let out = oban()
        .args(["-d", &db.dsn(), "prune"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("deleted 1 job in"), "{text}");
    assert!(text.contains("(1 batch)"), "{text}");
}

/// Every form libpq accepts keeps its password out of every message: keyword DSNs (flag,
/// environment, oban.toml), a URL with one slash, and passwords holding unencoded `@ / ? #`.
#[test]
fn issue_12_no_dsn_form_shows_its_password() {
    let forms = [
        "host=127.0.0.1 port=1 user=root password=s3cret-pw dbname=oban",
        "host=127.0.0.1 port=1 user=root password='s3cret-pw x' dbname=oban",
        "postgres:/root:s3cret-pw@127.0.0.1:1/oban",
        "postgres://root:p@s3cret-pw@127.0.0.1:1/oban",
        "postgres://root:pa/s3cret-pw@127.0.0.1:1/oban",
        "postgres://root:pa?s3cret-pw@127.0.0.1:1/oban",
        "postgres://root:pa#s3cret-pw@127.0.0.1:1/oban",
    ];
    let dir = tempfile::tempdir().expect("dir");
    for dsn in forms {
        for how in ["flag", "env", "file"] {
            if how == "file" {
                let toml = format!("dsn = {}\n", toml_string(dsn));
                std::fs::write(dir.path().join("oban.toml"), toml).expect("write");
            }
            for args in [vec!["prune"], vec!["stats"], vec!["inspect", "7"]] {
                let mut cmd = crate::support::oban_in(dir.path());
                match how {
                    "flag" => {
                        cmd.args(["-d", dsn]);
                    }
                    "env" => {
                        cmd.env("OBAN_DSN", dsn);
                    }
                    _ => {}
                }
                let out = cmd.args(&args).output().expect("run");
                let all = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_ne!(out.status.code(), Some(0), "{dsn} {how} {args:?}");
                assert!(!all.contains("s3cret"), "{dsn} via {how} {args:?}: {all}");
            }
            let _ = std::fs::remove_file(dir.path().join("oban.toml"));
        }
    }
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An Elixir Oban table as an older migration left it: before version 9 it has no
/// `cancelled` label either; `version` 12 or 13 has no `suspended`
/// label (v14 adds it), v12 lacks the `(state, cancelled_at)` / `(state, discarded_at)`
/// indexes, and a table first installed before Oban 2.18.1 keeps `tags varchar(255)[]`.
fn older_elixir_db(label: &str, version: u32) -> PgDb {
    let mut ddl = crate::support::ELIXIR_DDL
        .replace("{p}", "public")
        .replace(
            "tags text[] DEFAULT ARRAY[]::text[]",
            "tags varchar(255)[] DEFAULT ARRAY[]::varchar[]",
        )
        .replace(
            "COMMENT ON TABLE public.oban_jobs IS '12'",
            &format!("COMMENT ON TABLE public.oban_jobs IS '{version}'"),
        );
    if version < 14 {
        ddl = ddl.replace(
            "'available', 'suspended', 'scheduled'",
            "'available', 'scheduled'",
        );
    }
    if version < 9 {
        ddl = ddl.replace("'discarded', 'cancelled');", "'discarded');");
    }
    if version < 13 {
        ddl = ddl
            .replace("CREATE INDEX oban_jobs_state_cancelled_at_index ON public.oban_jobs (state, cancelled_at);", "")
            .replace("CREATE INDEX oban_jobs_state_discarded_at_index ON public.oban_jobs (state, discarded_at);", "");
    }
    let db = PgDb::new(label);
    db.exec(&ddl);
    db
}

/// Before migration v9 a table cannot hold a cancelled job: `cancel` is refused before it
/// changes anything (it used to plan the cancel, then fail on the enum), and the commands that
/// only read or delete cancelled jobs find none.
#[test]
fn a_table_without_the_cancelled_state_refuses_cancel_and_reads_as_usual() {
    let db = older_elixir_db("hard_elixir_v8", 8);
    insert(
        &db,
        "public",
        &[
            JobSpec::new("available", 60.0),
            JobSpec::new("completed", 2.0 * DAY),
        ],
    );
    let run = |args: &[&str]| {
        let out = oban()
            .args(["-d", &db.url])
            .args(args)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.code(), stderr)
    };
    let before = db.snapshot("public");
    for args in [
        vec!["cancel", "1", "--dry-run"],
        vec!["cancel", "1"],
        vec!["cancel", "--state", "available", "--all-matching", "--yes"],
    ] {
        let (code, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no 'cancelled'"), "{args:?}: {stderr}");
    }
    assert_eq!(db.snapshot("public"), before, "nothing changed");
    for args in [
        vec!["inspect", "--state", "cancelled"],
        vec!["delete", "--state", "cancelled", "--all-matching", "--yes"],
        vec!["prune"],
        vec!["stats"],
    ] {
        let (code, stderr) = run(&args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs"),
        1,
        "prune took the old one"
    );
}

/// Issue 12: on tables older than migration v14 (no `suspended`) or with `varchar(255)[]`
/// tags, retry/cancel/delete, `inspect --state suspended` and `--tag` used to fail with
/// `invalid input value for enum` or `operator does not exist`.
#[test]
fn issue_12_older_elixir_tables_work_with_every_command() {
    for version in [12, 13, 14] {
        let db = older_elixir_db(&format!("hard_elixir_v{version}"), version);
        insert(
            &db,
            "public",
            &[
                JobSpec::new("discarded", 2.0 * DAY),
                JobSpec::new("scheduled", -600.0),
                JobSpec::new("completed", 2.0 * DAY),
                JobSpec::new("executing", 3_600.0),
            ],
        );
        db.exec("UPDATE oban_jobs SET tags = ARRAY['billing']::varchar[] WHERE id = 1");
        let run = |args: &[&str]| {
            let out = oban()
                .args(["-d", &db.url, "-o", "json"])
                .args(args)
                .output()
                .expect("run");
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert_eq!(out.status.code(), Some(0), "v{version} {args:?}: {stderr}");
            serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .unwrap_or_else(|e| panic!("v{version} {args:?}: {e}: {stderr}"))
        };
        let tagged = run(&["inspect", "--tag", "billing"]);
        assert_eq!(
            tagged["jobs"].as_array().map(Vec::len),
            Some(1),
            "v{version}"
        );
        let suspended = run(&["inspect", "--state", "suspended"]);
        assert_eq!(
            suspended["jobs"].as_array().map(Vec::len),
            Some(0),
            "v{version}"
        );
        let retried = run(&["retry", "1", "--yes"]);
        assert_eq!(retried["total"], 1, "v{version}: {retried}");
        let cancelled = run(&["cancel", "--state", "scheduled", "--all-matching", "--yes"]);
        assert_eq!(cancelled["total"], 1, "v{version}: {cancelled}");
        let deleted = run(&[
            "delete",
            "--state",
            "cancelled,suspended",
            "--all-matching",
            "--yes",
        ]);
        assert_eq!(deleted["total"], 1, "v{version}: {deleted}");
        let pruned = run(&["prune"]);
        assert_eq!(pruned["total"], 1, "v{version}: {pruned}");
        run(&["rescue", "--dry-run"]);
        run(&["stats"]);
        run(&["inspect", "--older-than", "1m"]);
        assert_eq!(
            db.count("SELECT count(*) AS n FROM oban_jobs"),
            2,
            "v{version}"
        );
    }
}

/// The libpq built into the binary looks for the local socket in /tmp only; a DSN without a
/// host must still reach a Debian server through /var/run/postgresql. Checked against the
/// default test server, which is local (the machine's own PostgreSQL).
#[test]
fn a_dsn_without_a_host_reaches_the_local_server_by_its_socket() {
    if std::env::var("OBAN_TEST_DATABASE_URL").is_ok() {
        return; // another server was named: its socket is not ours to find.
    }
    let db = PgDb::migrated("hard_socket", "public");
    for dsn in [
        format!("postgres:///{}", db.name),
        format!("postgresql://root@/{}", db.name),
        format!("dbname={} user=root", db.name),
    ] {
        let out = oban()
            .args(["-d", &dsn, "stats", "-o", "json"])
            .output()
            .expect("run");
        assert!(out.status.success(), "{dsn}: {out:?}");
    }
}

/// Papercuts that were runtime failures or silent no-ops and are now usage errors (exit 2,
/// before any SQL): a NUL in `--args`, `--connections 2` on SQLite, and an action asked only
/// for states it can never change.
#[test]
fn issue_12_hopeless_requests_are_usage_errors() {
    let db = LiteDb::migrated();
    insert(
        &db,
        "",
        &[
            JobSpec::new("executing", 60.0),
            JobSpec::new("completed", 2.0 * DAY),
        ],
    );
    let before = db.snapshot();
    for args in [
        vec!["inspect", "--args", r#"{"a":"\u0000"}"#],
        vec![
            "delete",
            "--args",
            r#"{"a":"\u0000"}"#,
            "--all-matching",
            "--yes",
        ],
        vec!["prune", "--connections", "2"],
        vec!["retry", "--state", "executing", "--all-matching", "--yes"],
        vec![
            "cancel",
            "--state",
            "completed,executing",
            "--all-matching",
            "--yes",
        ],
    ] {
        let out = oban()
            .args(["-d", &db.dsn()])
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    assert_eq!(db.snapshot(), before);
}

/// The demo runs on its own fresh file: `-d` and `--prefix` used to be accepted and ignored.
#[test]
fn issue_12_the_demo_refuses_a_database_it_would_ignore() {
    for args in [
        vec!["-d", "other.db", "demo"],
        vec!["--prefix", "jobs", "demo"],
    ] {
        let out = oban().args(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--keep"));
    }
    let out = oban()
        .args(["demo", "--jobs", "2000"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("jobs by state").count(), 1, "{text}");
}

/// `prune --dry-run` used to stop counting at `--limit` ("would delete 20000"); it now also
/// says how many are eligible in all, counted exactly, on both engines.
#[test]
fn issue_12_a_limited_dry_run_says_how_many_are_eligible() {
    let jobs: Vec<JobSpec> = (0..7)
        .map(|_| JobSpec::new("completed", 2.0 * DAY))
        .chain([
            JobSpec::new("completed", 60.0),
            JobSpec::new("available", 0.0),
        ])
        .collect();
    let pg = PgDb::migrated("hard_eligible", "public");
    insert(&pg, "public", &jobs);
    let lite = LiteDb::migrated();
    insert(&lite, "", &jobs);
    for dsn in [pg.url.clone(), lite.dsn()] {
        let out = oban()
            .args([
                "-d",
                &dsn,
                "prune",
                "--dry-run",
                "--limit",
                "3",
                "-o",
                "json",
            ])
            .output()
            .expect("run");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(report["total"], 3, "{dsn}: {report}");
        assert_eq!(report["eligible"], 7, "{dsn}: {report}");
        let out = oban()
            .args(["-d", &dsn, "prune", "--dry-run", "--limit", "3"])
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("3 jobs in this pass, of 7 eligible (3 passes"),
            "{text}"
        );
    }
}
