//! Snapshots of what a user reads: the help of every command, and every table, JSON and CSV
//! layout, through the real binary against a SQLite file (and PostgreSQL for `stats`) filled
//! with a few hand-written jobs. Times, ages, durations and temporary paths are redacted, so a
//! snapshot changes only when the output does. Review changes with `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test snapshots` and `git diff tests/snapshots`.

use serde_json::{json, Value};

use crate::cases::inspect::{insert_raw, job, with};
use crate::support::{oban, LiteDb, PgDb, Target};

const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// Every subcommand, for the help snapshots.
const COMMANDS: [&str; 18] = [
    "prune",
    "rescue",
    "stats",
    "doctor",
    "reindex",
    "vacuum",
    "inspect",
    "retry",
    "cancel",
    "pause",
    "resume",
    "queues",
    "delete",
    "migrate",
    "seed",
    "partitions",
    "demo",
    "completions",
];

/// Runs `oban ARGS` with help wrapped at 100 columns, expects exit `code`, and returns stdout
/// followed by stderr when there is any.
fn run(args: &[&str], code: i32) -> String {
    let out = oban()
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "oban {args:?}:\n{stdout}{stderr}"
    );
    if stderr.is_empty() {
        stdout.into_owned()
    } else {
        format!("{stdout}--- stderr ---\n{stderr}")
    }
}

/// Asserts the output of `oban ARGS` (exit `code`) against the snapshot `name` in
/// tests/snapshots, with what depends on the clock redacted when `redact`. The snapshot's
/// description is the command line.
fn check(name: &str, args: &[&str], code: i32, redact: bool) {
    let text = run(args, code);
    let command: Vec<&str> = args
        .iter()
        .map(|a| if a.contains("://") { "$DSN" } else { a })
        .collect();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("oban {}", command.join(" ")));
    if redact {
        for (pattern, replacement) in CLOCK {
            settings.add_filter(pattern, *replacement);
        }
        // One digit of each age per pass; no age shown has more than four.
        for _ in 0..4 {
            settings.add_filter(AGE_DIGIT, "${1}#${2}");
        }
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Redactions of what depends on the clock or the machine, applied in this order. A timestamp
/// becomes a placeholder as wide as SQLite's, and an age keeps its units with each digit
/// masked (`2d0h` to `#d#h`, `in 5m` to `in #m`), so that table columns stay aligned.
const CLOCK: &[(&str, &str)] = &[
    (r"/\S*/jobs\.db", "[DB]"),
    (
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}",
        "YYYY-MM-DDTHH:MM:SS",
    ),
    (r"HH:MM:SS\.\d+", "HH:MM:SS.fff"),
    (r"\b\d+ ms\b", "[ms]"),
    (r"\b\d+\.\d+ s\b", "[s]"),
    (
        r#""(elapsed|latency|longest_running|mark_seconds)": [0-9.eE+-]+"#,
        r#""$1": "[seconds]""#,
    ),
    // PostgreSQL publishes tuple counts a moment after the transaction that made them.
    (r"~?\d+ live / ~?\d+ dead", "[n] live / [n] dead"),
];

/// The first unmasked digit of an age or duration such as `2d0h`, `in 2h0m`, `20m30s` or
/// `250ms` that follows a space (so not the `1m` of a `done/1m` header).
const AGE_DIGIT: &str = r"(\s(?:in )?[#dhms]*)\d([\d#dhms]*[dhms]\b)";

/// Asserts `oban ARGS` (exit 0) against snapshot `name`, clock and paths redacted.
fn snap(name: &str, args: &[&str]) {
    check(name, args, 0, true);
}

/// Two errors, as oban-py records them.
fn errors() -> Value {
    json!([
        {"attempt": 1, "at": "2026-01-01T00:00:00Z",
         "error": "Traceback (most recent call last):\n  File \"mailer.py\", line 12, in send\nConnectionError: smtp.example.com refused"},
        {"attempt": 2, "at": "2026-01-01T00:05:00Z", "error": "** (RuntimeError) template \"welcome\" missing"}
    ])
}

/// A job in `state` with these `args`, and `fields` as `with` takes them.
fn spec(state: &'static str, args: Value, fields: Value) -> Value {
    let mut j = with(job(0, state), fields);
    j["args"] = args;
    j
}

/// Eleven jobs, ids 1 to 11 in a fresh file: three prunable, two orphaned in `executing`, and
/// a job in every other state. Ages sit half a minute past a round value, so the age shown,
/// and the width of its column, stays the same however long the test takes.
fn population() -> Vec<Value> {
    let mailer = |to: &str, state: &'static str, fields: Value| {
        let fields = with(
            fields,
            json!({"queue": "mailers", "worker": "app.workers.Mailer"}),
        );
        spec(state, json!({"to": to}), fields)
    };
    let media = |worker: &str, args: Value, fields: Value| {
        let fields = with(fields, json!({"queue": "media", "worker": worker}));
        spec("executing", args, fields)
    };
    vec![
        mailer(
            "ada@example.com",
            "completed",
            json!({"completed": -(2.0 * DAY + 30.0), "attempted": -(2.0 * DAY + MIN),
                   "attempted_by": ["node-a", "p-1"]}),
        ),
        mailer(
            "bob@example.com",
            "completed",
            json!({"completed": -(10.0 * MIN + 30.0), "attempted": -(11.0 * MIN),
                   "attempted_by": ["node-a", "p-1"]}),
        ),
        spec(
            "cancelled",
            json!({"account_id": 3}),
            json!({"worker": "app.workers.Sync", "tags": ["tenant-42"],
                   "cancelled": -(3.0 * DAY + 30.0)}),
        ),
        mailer(
            "cy@example.com",
            "discarded",
            json!({"attempt": 2, "max_attempts": 2, "errors": errors(), "meta": {"uniq": true},
                   "discarded": -(5.0 * DAY + 30.0), "attempted": -(5.0 * DAY + MIN),
                   "attempted_by": ["node-b", "p-2"]}),
        ),
        media(
            "app.workers.Transcode",
            json!({"video_id": 501, "format": "h264"}),
            json!({"attempted": -(20.0 * MIN + 30.0), "attempted_by": ["node-a", "p-1"]}),
        ),
        media(
            "app.workers.Transcode",
            json!({"video_id": 502, "format": "vp9"}),
            json!({"attempt": 3, "max_attempts": 3, "attempted": -(40.0 * MIN + 30.0),
                   "attempted_by": ["node-b", "p-2"]}),
        ),
        media(
            "app.workers.Thumbnail",
            json!({"video_id": 503}),
            json!({"attempted": -(MIN + 30.0), "attempted_by": ["node-a", "p-1"]}),
        ),
        spec(
            "available",
            json!({"account_id": 7}),
            json!({"worker": "app.workers.Sync", "scheduled": -(10.0 * MIN + 30.0)}),
        ),
        spec(
            "scheduled",
            json!({"report": "sales", "day": "2026-01-01"}),
            json!({"worker": "app.workers.Report", "priority": 2, "tags": ["daily"],
                   "scheduled": 2.0 * HOUR + 30.0}),
        ),
        mailer(
            "dee@example.com",
            "retryable",
            json!({"errors": [errors()[0].clone()], "scheduled": 5.0 * MIN + 30.0,
                   "attempted": -(15.0 * MIN + 30.0), "attempted_by": ["node-b", "p-2"]}),
        ),
        spec(
            "suspended",
            json!({"account_id": 8}),
            json!({"worker": "app.workers.Sync"}),
        ),
    ]
}

/// A migrated SQLite file holding `population()`, and its DSN.
fn populated() -> (LiteDb, String) {
    let db = LiteDb::migrated();
    insert_raw(&db, "public", &population());
    let dsn = db.dsn();
    (db, dsn)
}

#[test]
fn help_of_every_command() {
    check("help", &["--help"], 0, false);
    for command in COMMANDS {
        check(&format!("help_{command}"), &[command, "--help"], 0, false);
    }
}

#[test]
fn prune_tables_and_json() {
    let (_db, dsn) = populated();
    snap("prune_dry_run", &["-d", &dsn, "prune", "--dry-run"]);
    snap(
        "prune_dry_run_json",
        &["-d", &dsn, "-o", "json", "prune", "--dry-run"],
    );
    snap("prune", &["-d", &dsn, "prune"]);
}

#[test]
fn prune_rules_tables_and_json() {
    let (_db, dsn) = populated();
    let rules = [
        "--rule",
        "state=discarded,max_age=30d,name=dead",
        "--rule",
        "queue=mailers,keep_last=1",
    ];
    let args =
        |extra: &[&'static str]| [&["-d", dsn.as_str(), "prune"], &rules[..], extra].concat();
    snap("prune_rules_dry_run", &args(&["--dry-run"]));
    snap(
        "prune_rules_dry_run_json",
        &args(&["-o", "json", "--dry-run"]),
    );
    snap("prune_rules", &args(&[]));
}

#[test]
fn rescue_tables() {
    let (_db, dsn) = populated();
    snap("rescue_dry_run", &["-d", &dsn, "rescue", "--dry-run"]);
    snap("rescue", &["-d", &dsn, "rescue"]);
}

#[test]
fn inspect_list_detail_and_csv() {
    let (_db, dsn) = populated();
    snap("inspect", &["-d", &dsn, "inspect"]);
    snap("inspect_wide", &["-d", &dsn, "inspect", "--wide"]);
    snap("inspect_csv", &["-d", &dsn, "-o", "csv", "inspect"]);
    snap("inspect_job", &["-d", &dsn, "inspect", "4"]);
    check(
        "inspect_missing",
        &["-d", &dsn, "inspect", "10", "99"],
        1,
        true,
    );
}

#[test]
fn actions_dry_run_and_real() {
    let (_db, dsn) = populated();
    for (action, ids) in [
        ("retry", ["4", "5"]),
        ("cancel", ["8", "2"]),
        ("delete", ["3", "7"]),
    ] {
        let args = ["-d", &dsn, action, ids[0], ids[1]];
        snap(
            &format!("{action}_dry_run"),
            &[&args[..], &["--dry-run"]].concat(),
        );
        snap(action, &[&args[..], &["--yes"]].concat());
    }
}

#[test]
fn stats_table_and_json() {
    let (_db, dsn) = populated();
    snap("stats", &["-d", &dsn, "stats"]);
    snap("stats_json", &["-d", &dsn, "-o", "json", "stats"]);
}

/// A PostgreSQL database holding `population()`, two producers (one alive) and a leader.
fn populated_postgres(label: &str) -> PgDb {
    let db = PgDb::migrated(label, "public");
    insert_raw(&db, "public", &population());
    db.exec(
        "INSERT INTO oban_producers (uuid, node, queue, started_at, updated_at) VALUES \
         ('6f1c3d0e-0000-4000-8000-000000000001', 'node-a', 'media', \
          timezone('UTC', now()) - interval '1 hour', timezone('UTC', now()) - interval '5 seconds'), \
         ('6f1c3d0e-0000-4000-8000-000000000002', 'node-b', 'mailers', \
          timezone('UTC', now()) - interval '2 hours', timezone('UTC', now()) - interval '1 hour'); \
         INSERT INTO oban_leaders (node, elected_at, expires_at) VALUES \
         ('node-a', timezone('UTC', now()) - interval '1 hour', timezone('UTC', now()) + interval '1 hour')",
    );
    db
}

#[test]
fn stats_on_postgres() {
    let db = populated_postgres("snap_stats");
    snap("stats_postgres", &["-d", &db.url, "stats"]);
}

#[test]
fn incident_tables_on_postgres() {
    let db = populated_postgres("snap_incident");
    snap("queues_postgres", &["-d", &db.url, "queues"]);
    // Nobody answers here: the table says so, and the exit code is 1.
    check(
        "pause",
        &["-d", &db.url, "pause", "media", "--wait", "0s"],
        0,
        true,
    );
    check(
        "resume",
        &["-d", &db.url, "resume", "media", "--wait", "0s"],
        0,
        true,
    );
}

#[test]
fn group_doctor_queues_and_vacuum_on_sqlite() {
    let (_db, dsn) = populated();
    snap(
        "inspect_group_by_error",
        &["-d", &dsn, "inspect", "--group-by", "error"],
    );
    snap(
        "inspect_group_by_error_csv",
        &["-d", &dsn, "-o", "csv", "inspect", "--group-by", "error"],
    );
    // Orphans and unpruned jobs warn: exit 3.
    check("doctor", &["-d", &dsn, "doctor"], 3, true);
    snap("queues", &["-d", &dsn, "queues"]);
    snap("vacuum", &["-d", &dsn, "vacuum"]);
}

#[test]
fn migrate_and_seed() {
    let db = LiteDb::new();
    let dsn = db.dsn();
    snap("migrate", &["-d", &dsn, "migrate"]);
    snap("migrate_again", &["-d", &dsn, "migrate"]);
    snap(
        "seed",
        &["-d", &dsn, "seed", "--jobs", "100", "--seed", "1"],
    );
}
