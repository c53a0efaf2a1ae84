//! Usage errors, configuration precedence, secrets, completions and the demo, through the binary.

use crate::support::{insert, json_out, oban, oban_in, JobSpec, PgDb};

/// A DSN nobody listens on: if a bad flag let the tool get as far as connecting, the exit code
/// would be 1, not 2.
const DEAD_DSN: &str = "postgres://root@127.0.0.1:1/none";

#[test]
fn bad_flags_exit_2_naming_the_flag_before_any_sql() {
    let cases: &[(&[&str], &str)] = &[
        (&["prune", "--max-age", "soon"], "--max-age"),
        (&["prune", "--max-age", "-1s"], "--max-age"),
        (&["prune", "--max-age", "1e9d"], "--max-age"),
        (
            &["prune", "--completed-max-age", "1.5h"],
            "--completed-max-age",
        ),
        (&["prune", "--limit", "0"], "--limit"),
        (&["prune", "--limit", "many"], "--limit"),
        (&["prune", "--batch-size", "-1"], "--batch-size"),
        (&["prune", "--state", "executing"], "--state"),
        (&["prune", "--state", "nope"], "--state"),
        (&["prune", "--interval", "0"], "--interval"),
        (&["stats", "--interval", "50ms"], "--interval"),
        (&["prune", "--pause", "5mss"], "--pause"),
        (&["prune", "--pause", "x"], "--pause"),
        (&["prune", "--max-runtime", "0s"], "--max-runtime"),
        (&["prune", "--lock-timeout", "0"], "--lock-timeout"),
        (&["prune", "--queue", ""], "--queue"),
        (&["prune", "--worker", " "], "--worker"),
        (&["--format", "xml", "prune"], "--format"),
        (&["--prefix", "public; drop table x", "prune"], "--prefix"),
        (&["--prefix", "1abc", "prune"], "--prefix"),
        (&["seed", "--jobs", "0"], "--jobs"),
        (&["prune", "--bogus"], "--bogus"),
    ];
    for (args, flag) in cases {
        let out = oban()
            .arg("-d")
            .arg(DEAD_DSN)
            .args(*args)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} should name {flag}: {stderr}"
        );
    }
}

#[test]
fn bad_dsn_and_environment_exit_2() {
    let out = oban()
        .args(["-d", "mysql://root:pw@db/x", "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--database-url") && !stderr.contains(":pw@"),
        "{stderr}"
    );

    // What libpq would refuse is a configuration error, found before connecting.
    for dsn in [
        "postgres://root:pw@127.0.0.1:notaport/x",
        "postgres://root:pw@127.0.0.1/x?sslmode=bogus",
        "postgres://root:pw@127.0.0.1/x?bogusparam=1",
        "postgres://root:pw@[::1/x",
    ] {
        let out = oban().args(["-d", dsn, "stats"]).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{dsn}: {stderr}");
        assert!(
            stderr.contains("not valid") && !stderr.contains("pw@"),
            "{stderr}"
        );
    }

    let out = oban()
        .env("OBAN_PREFIX", "x y")
        .args(["-d", DEAD_DSN, "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OBAN_PREFIX"));

    let out = oban().arg("prune").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));

    // A bad value from a variable names the variable, not only the flag nobody typed; a typed
    // flag's bad value does not blame the variable.
    for (var, value) in [
        ("OBAN_PRUNE_MAX_REPLICA_LAG", "64"),
        ("OBAN_PRUNE_MAX_WAL_RATE", "abc"),
    ] {
        let out = oban()
            .env(var, value)
            .args(["-d", DEAD_DSN, "prune"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("environment variable {var}")),
            "{stderr}"
        );
    }
    let out = oban()
        .env("OBAN_PRUNE_MAX_REPLICA_LAG", "64MB")
        .args(["-d", DEAD_DSN, "prune", "--max-replica-lag", "64"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'64'") && !stderr.contains("OBAN_PRUNE_MAX_REPLICA_LAG"),
        "{stderr}"
    );
}

#[test]
fn bad_config_values_exit_2_naming_the_key() {
    for (text, key) in [
        ("[pruner]\nmax_age = \"soon\"\n", "[pruner] max_age"),
        ("[pruner]\nlimit = 0\n", "[pruner] limit"),
        ("[pruner]\ninterval = -3\n", "[pruner] interval"),
        ("[lifeline]\ninterval = \"10ms\"\n", "[lifeline] interval"),
        (
            "[lifeline]\nrescue_after = \"x\"\n",
            "[lifeline] rescue_after",
        ),
        ("prefix = \"a;b\"\n", "prefix"),
        ("dsn = 42\n", "dsn"),
        ("dsn = \"ftp://x\"\n", "dsn"),
        ("not toml at all", "TOML"),
    ] {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("oban.toml"), text).expect("write");
        let out = oban_in(dir.path())
            .args(["-d", DEAD_DSN, "prune"])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(key), "{text}: {stderr}");
    }
    let out = oban()
        .args(["-c", "/nonexistent/oban.toml", "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/oban.toml"));
}

#[test]
fn config_typos_warn_without_changing_the_outcome() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("jobs.db").display());
    std::fs::write(
        dir.path().join("oban.toml"),
        "queues = { default = 10 }\n[pruner]\nmax_agee = 60\n",
    )
    .expect("write");
    let out = oban_in(dir.path())
        .args(["-d", &db, "migrate"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "oban: warning: oban.toml line 3: unknown key [pruner] max_agee (did you mean max_age?)"
    );
}

#[test]
fn config_syntax_errors_do_not_quote_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("oban.toml"),
        "prefix = \"jobs\"\ndsn = \"postgres://u:s3cret@h/db\n",
    )
    .expect("write");
    let out = oban_in(dir.path()).arg("prune").output().expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(!all.contains("s3cret"), "{all}");
    assert!(all.contains("oban.toml line 2, column"), "{all}");
}

#[test]
fn password_never_appears() {
    for dsn in [
        "postgres://root:hunter2@127.0.0.1:1/oban",
        "postgresql://127.0.0.1:1/oban?user=root&password=hunter2",
    ] {
        for env in [false, true] {
            let mut cmd = oban();
            if env {
                cmd.env("OBAN_DSN", dsn);
            } else {
                cmd.args(["-d", dsn]);
            }
            let out = cmd.args(["prune", "-o", "json"]).output().expect("run");
            assert_eq!(out.status.code(), Some(1));
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains("hunter2"), "{all}");
            assert!(all.contains("***"), "the DSN is shown masked: {all}");
        }
    }
}

#[test]
fn config_precedence_file_env_flag() {
    let db = PgDb::migrated("cfg_precedence", "public");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("oban.toml"),
        format!(
            "# an oban-py file\ndsn = \"{}\"\nprefix = \"from_file\"\nnode = \"web-1\"\n\
             queues = {{ default = 10, mailers = 2 }}\npool_min_size = 1\npool_max_size = 5\n\
             metrics = {{ interval = 2 }}\n[pruner]\nmax_age = 7_200\nlimit = 1\n\
             [lifeline]\nrescue_after = 600\n",
            db.url
        ),
    )
    .expect("write");
    let error_of = |cmd: &mut assert_cmd::Command| {
        let out = cmd.output().expect("run");
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(error_of(oban_in(dir.path()).arg("prune")).contains("\"from_file\""));
    assert!(error_of(
        oban_in(dir.path())
            .env("OBAN_PREFIX", "from_env")
            .arg("prune")
    )
    .contains("\"from_env\""));
    assert!(
        error_of(oban_in(dir.path()).env("OBAN_PREFIX", "from_env").args([
            "--prefix",
            "from_flag",
            "prune"
        ]))
        .contains("\"from_flag\"")
    );

    // The file's [pruner] settings apply: max_age 2h, limit 1.
    insert(
        &db,
        "public",
        &[
            JobSpec::new("completed", 3.0 * 3600.0),
            JobSpec::new("completed", 3.0 * 3600.0),
            JobSpec::new("completed", 3600.0),
        ],
    );
    let out = oban_in(dir.path())
        .args(["--prefix", "public", "prune", "-o", "json"])
        .output()
        .expect("run");
    let r = json_out(&out);
    assert_eq!(r["total"], 1);
    assert_eq!(r["limit"], 1);
    // Flags beat the file.
    let out = oban_in(dir.path())
        .args([
            "--prefix",
            "public",
            "prune",
            "-o",
            "json",
            "--limit",
            "10",
            "--max-age",
            "30m",
        ])
        .output()
        .expect("run");
    assert_eq!(json_out(&out)["total"], 2);
    // An explicit -c file with a dead DSN loses to OBAN_DSN.
    let other = tempfile::tempdir().expect("dir");
    let cfg = other.path().join("custom.toml");
    std::fs::write(&cfg, "dsn = \"postgres://root@127.0.0.1:1/dead\"\n").expect("write");
    oban()
        .env("OBAN_DSN", &db.url)
        .args(["-c", &cfg.display().to_string(), "prune", "-q"])
        .assert()
        .success();
}

#[test]
fn completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    for (shell, file) in [
        (clap_complete::Shell::Bash, "oban.bash"),
        (clap_complete::Shell::Zsh, "_oban"),
        (clap_complete::Shell::Fish, "oban.fish"),
        (clap_complete::Shell::Elvish, "oban.elv"),
        (clap_complete::Shell::PowerShell, "_oban.ps1"),
    ] {
        let mut fresh = Vec::new();
        clap_complete::generate(shell, &mut oban::cli::command(), "oban", &mut fresh);
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &fresh).expect("write completions");
        }
        let stored = std::fs::read(&path).unwrap_or_default();
        assert!(
            stored == fresh,
            "{} is stale: run `UPDATE_COMPLETIONS=1 cargo test completions` and commit",
            path.display()
        );
        let out = oban()
            .args(["completions", &shell.to_string()])
            .output()
            .expect("run");
        assert!(out.status.success());
        assert_eq!(out.stdout, fresh);
    }
}

#[test]
fn demo_walks_through_prune_on_sqlite() {
    let out = oban()
        .args(["demo", "--jobs", "3000"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "oban migrate",
        "seed: inserted 3000 jobs",
        "prune (dry run): would delete",
        "prune: deleted",
        "jobs by state (after prune)",
    ] {
        assert!(text.contains(expected), "missing {expected:?}:\n{text}");
    }
    let out = oban()
        .args(["demo", "--jobs", "500", "-o", "json"])
        .output()
        .expect("run");
    let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    let dry = docs
        .iter()
        .find(|d| d["command"] == "prune" && d["dry_run"] == true)
        .expect("dry run");
    let real = docs
        .iter()
        .find(|d| d["command"] == "prune" && d["dry_run"] == false)
        .expect("prune");
    assert_eq!(dry["total"], real["total"]);
    assert!(real["total"].as_u64().is_some_and(|n| n > 0));
}

#[test]
fn help_has_examples() {
    let out = oban().args(["prune", "--help"]).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--archive"),
        "{text}"
    );
    oban().arg("--version").assert().success();
}

/// Issue 12: `oban completions fish | head -1` (or `> /dev/full`) used to panic (exit 101).
#[test]
fn issue_12_completions_into_a_closed_or_full_stream_do_not_panic() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args(["completions", "fish"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = Command::new(assert_cmd::cargo::cargo_bin("oban"))
            .args(["completions", "fish"])
            .stdout(full)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("oban: "));
    }
}

/// The man pages in `man/` are what the command definition renders now.
#[test]
fn man_pages_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("UPDATE_MANPAGES").is_some();
    if update {
        std::fs::create_dir_all(&dir).expect("man dir");
    }
    let pages = oban::cli::man_pages().expect("render");
    assert!(
        pages.len() > 10,
        "a page for the command and each subcommand"
    );
    for (file, fresh) in &pages {
        let path = dir.join(file);
        if update {
            std::fs::write(&path, fresh).expect("write man page");
        }
        let stored = std::fs::read(&path).unwrap_or_default();
        assert!(
            &stored == fresh,
            "{} is stale: run `UPDATE_MANPAGES=1 cargo test man_pages` and commit",
            path.display()
        );
    }
    let stored = std::fs::read_dir(&dir).expect("man/").count();
    assert_eq!(stored, pages.len(), "no stale page left in man/");
}
