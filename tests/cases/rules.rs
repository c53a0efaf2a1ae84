//! Retention rules (`--rule`, `[[retention]]`): by age and keep_last, per queue, worker (exact
//! and glob) and state, first match wins, the default covering the rest, on both PostgreSQL
//! flavours and SQLite. Expected survivors are listed by hand, not computed by the tool's logic.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use oban::cli::PruneArgs;
use oban::commands::prune::{pass, PruneOpts};
use oban::config::resolve_with;
use oban::model::JobState;
use serde_json::Value;

use super::prune::prune_json as run;
use crate::support::elixir_db;
use crate::support::{insert, json_out, oban, oban_in, succeeds_in, JobSpec, LiteDb, PgDb, Target};

const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// The rules the population is built against, as flags.
const RULES: [&str; 3] = [
    "queue=mailers,state=discarded,max_age=30d",
    "worker=app.events.T*,keep_last=3",
    "state=cancelled,keep_last=1,name=cancelled",
];

/// The same rules as oban.toml tables.
pub const RULES_TOML: &str = r#"
[pruner]
max_age = "1d"

[[retention]]
queue = "mailers"
state = "discarded"
max_age = "30d"

[[retention]]
worker = "app.events.T*"
keep_last = 3

[[retention]]
name = "cancelled"
state = ["cancelled"]
keep_last = 1
"#;

fn job(n: u32, state: &'static str, queue: &str, worker: &str, age: f64) -> (u32, JobSpec) {
    (n, JobSpec::new(state, age).queue(queue).worker(worker))
}

/// Numbered jobs (the number is the position, so the n-th job has the n-th id).
fn population() -> Vec<(u32, JobSpec)> {
    let mut jobs = vec![
        // Rule 1 (mailers, discarded, 30 days) keeps 1, 2 and 4 and deletes 3. The default
        // (1 day) would take 2 and 4: the first match wins.
        job(1, "discarded", "mailers", "app.Mailer", HOUR),
        job(2, "discarded", "mailers", "app.Mailer", 5.0 * DAY),
        job(3, "discarded", "mailers", "app.Mailer", 40.0 * DAY),
        // Rule 2's worker, but rule 1 matched it first: not in rule 2's group either.
        job(4, "discarded", "mailers", "app.events.Track", 3.0 * DAY),
        // Mailers but completed: rule 1 does not match; the default takes 5.
        job(5, "completed", "mailers", "app.Mailer", 2.0 * DAY),
        job(6, "completed", "mailers", "app.Mailer", 10.0 * MIN),
    ];
    // Rule 2 (worker app.events.T*, keep the newest 3): 17 (30 min), 7 (1 h), 12 (1.5 h)
    // stay, the other eight go, young as they are.
    for (i, n) in (7..=11).enumerate() {
        let age = (i as f64 + 1.0) * HOUR;
        jobs.push(job(n, "completed", "default", "app.events.Track", age));
    }
    for (i, n) in (12..=16).enumerate() {
        let age = (i as f64 + 1.5) * HOUR;
        jobs.push(job(n, "completed", "default", "app.events.Tick", age));
    }
    jobs.extend([
        job(17, "discarded", "default", "app.events.Track", 30.0 * MIN),
        // Not the glob: `Other` does not start with T, and `.` is itself, not any character.
        job(18, "completed", "default", "app.events.Other", 5.0 * HOUR),
        job(19, "completed", "default", "app.eventsXTrack", 3.0 * HOUR),
        // Rule 3 (cancelled, keep the newest 1): 21 stays; 24, 22, 23 go.
        job(21, "cancelled", "default", "app.Other", HOUR),
        job(22, "cancelled", "default", "app.Other", 2.0 * HOUR),
        job(23, "cancelled", "default", "app.Other", 3.0 * DAY),
        job(24, "cancelled", "mailers", "app.Mailer", 1.2 * HOUR),
    ]);
    // Never final: whatever their queue, worker or stray timestamps, they stay.
    let mut never = vec![
        job(25, "executing", "mailers", "app.Mailer", 40.0 * DAY),
        job(26, "available", "mailers", "app.Mailer", 40.0 * DAY),
        job(27, "retryable", "default", "app.events.Track", 10.0 * MIN),
        job(28, "available", "default", "app.events.Tick", 10.0 * DAY),
    ];
    never[1].1.stamp = Some("discarded");
    never[2].1.stamp = Some("completed");
    never[3].1.stamp = Some("completed");
    jobs.extend(never);
    jobs
}

/// What the rules delete, per rule.
const DELETED: [(&str, u64); 4] = [
    ("rule 1", 1),
    ("rule 2", 8),
    ("cancelled", 3),
    ("default", 1),
];
/// The jobs that survive.
const SURVIVORS: [u32; 14] = [1, 2, 4, 6, 7, 12, 17, 18, 19, 21, 25, 26, 27, 28];

/// Inserts the population; job number → id.
fn seed(
    target: &dyn Target,
    prefix: &str,
    snapshot: &dyn Fn() -> BTreeMap<i64, String>,
) -> BTreeMap<u32, i64> {
    let jobs = population();
    let specs: Vec<JobSpec> = jobs.iter().map(|(_, j)| j.clone()).collect();
    insert(target, prefix, &specs);
    let ids: Vec<i64> = snapshot().keys().copied().collect();
    assert_eq!(ids.len(), jobs.len());
    jobs.iter().map(|(n, _)| *n).zip(ids).collect()
}

/// The numbers of the jobs still in the table.
fn survivors(ids: &BTreeMap<u32, i64>, snapshot: &BTreeMap<i64, String>) -> Vec<u32> {
    ids.iter()
        .filter(|(_, id)| snapshot.contains_key(id))
        .map(|(n, _)| *n)
        .collect()
}

fn rule_flags(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec!["--max-age", "1d"];
    for rule in RULES {
        args.extend(["--rule", rule]);
    }
    args.extend_from_slice(extra);
    args
}

fn per_rule(report: &Value) -> Vec<(String, u64)> {
    report["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules in {report}"))
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["deleted"].as_u64().expect("n"),
            )
        })
        .collect()
}

fn expected_per_rule() -> Vec<(String, u64)> {
    DELETED.iter().map(|(n, d)| (n.to_string(), *d)).collect()
}

/// A dry run counts per rule what the real run then deletes; rows outside the rules untouched.
fn check_rules(
    target: &dyn Target,
    prefix: &str,
    snapshot: &dyn Fn() -> BTreeMap<i64, String>,
    extra: &[&'static str],
) {
    let ids = seed(target, prefix, snapshot);
    let before = snapshot();
    let dry = run(target, &rule_flags(&[&["--dry-run"], extra].concat()));
    assert_eq!(snapshot(), before, "a dry run deleted something");
    assert_eq!(per_rule(&dry), expected_per_rule(), "{dry}");
    assert_eq!(dry["total"], 13);
    let report = run(target, &rule_flags(extra));
    assert_eq!(per_rule(&report), expected_per_rule(), "{report}");
    assert_eq!(report["total"], 13);
    let after = snapshot();
    assert_eq!(survivors(&ids, &after), SURVIVORS);
    for (id, row) in &after {
        assert_eq!(before.get(id), Some(row), "row {id} changed");
    }
    // A second pass finds nothing more.
    assert_eq!(run(target, &rule_flags(extra))["total"], 0);
}

#[test]
fn rules_on_postgres_oban_py() {
    let db = PgDb::migrated("rules_obanpy", "public");
    check_rules(&db, "public", &|| db.snapshot("public"), &[]);
}

#[test]
fn rules_on_postgres_elixir() {
    let db = elixir_db("rules_elixir", "ex_jobs");
    check_rules(
        &db,
        "ex_jobs",
        &|| db.snapshot("ex_jobs"),
        &["--prefix", "ex_jobs"],
    );
}

#[test]
fn rules_on_sqlite() {
    let db = LiteDb::migrated();
    check_rules(&db, "public", &|| db.snapshot(), &[]);
}

#[test]
fn rules_in_one_row_batches_with_two_connections() {
    // Every batch boundary falls somewhere inside a rule; both ends drain each part.
    let db = PgDb::migrated("rules_batches", "public");
    check_rules(
        &db,
        "public",
        &|| db.snapshot("public"),
        &["--batch-size", "1", "--connections", "2"],
    );
}

#[test]
fn rules_from_the_config_file_and_flags_over_them() {
    let db = LiteDb::migrated();
    let ids = seed(&db, "public", &|| db.snapshot());
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("oban.toml"), RULES_TOML).expect("write");
    let dsn = db.dsn();
    // A --rule replaces every file rule: only queue `none` is covered, the rest falls to the
    // default, so rule 2's young jobs and rule 1's 5-day-old job are judged by 1 day.
    let in_dir = |args: &[&str]| {
        let all = [&["-d", dsn.as_str(), "prune", "-o", "json"], args].concat();
        json_out(&succeeds_in(dir.path(), &all))
    };
    let flagged = in_dir(&["--dry-run", "--rule", "queue=none,keep_last=0"]);
    let names: Vec<String> = per_rule(&flagged).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["rule 1", "default"]);
    // 2, 3, 4, 5 and 23 are older than a day.
    assert_eq!(flagged["total"], 5, "{flagged}");
    assert_eq!(per_rule(&in_dir(&[])), expected_per_rule());
    assert_eq!(survivors(&ids, &db.snapshot()), SURVIVORS);
}

/// Sets the completed_at of job ids, on either engine.
fn stamp(target: &Stamped, ids: &[i64], at: &str) {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    match target {
        Stamped::Pg(db) => db.exec(&format!(
            "UPDATE oban_jobs SET completed_at = '{at}'::timestamp WHERE id IN ({list})"
        )),
        Stamped::Lite(db) => {
            use diesel::connection::SimpleConnection;
            db.conn()
                .batch_execute(&format!(
                    "UPDATE oban_jobs SET completed_at = '{at}Z' WHERE id IN ({list})"
                ))
                .expect("stamp");
        }
    }
}

enum Stamped<'a> {
    Pg(&'a PgDb),
    Lite(&'a LiteDb),
}

fn check_ties(stamped: Stamped, target: &dyn Target, snapshot: &dyn Fn() -> BTreeMap<i64, String>) {
    // Five completed jobs in queue ties: 1 newest, 2-5 finished at the same instant.
    let jobs: Vec<JobSpec> = (0..5)
        .map(|_| JobSpec::new("completed", HOUR).queue("ties"))
        .collect();
    insert(target, "public", &jobs);
    let ids: Vec<i64> = snapshot().keys().copied().collect();
    stamp(&stamped, &ids[..1], "2026-01-02T00:00:00.5");
    stamp(&stamped, &ids[1..], "2026-01-01T00:00:00.25");
    // Keep 3: the newest, then the two tied jobs with the highest ids.
    for batch in ["1", "100"] {
        let dry = run(
            target,
            &[
                "--rule",
                "queue=ties,keep_last=3",
                "--batch-size",
                batch,
                "--dry-run",
            ],
        );
        assert_eq!(per_rule(&dry)[0].1, 2, "{dry}");
    }
    let report = run(
        target,
        &["--rule", "queue=ties,keep_last=3", "--batch-size", "1"],
    );
    assert_eq!(per_rule(&report)[0].1, 2, "{report}");
    assert_eq!(report["rules"][0]["kept_from"]["id"], ids[3], "{report}");
    let left: Vec<i64> = snapshot().keys().copied().collect();
    assert_eq!(left, [ids[0], ids[3], ids[4]]);
}

#[test]
fn keep_last_breaks_ties_by_id_postgres() {
    let db = PgDb::migrated("rules_ties", "public");
    check_ties(Stamped::Pg(&db), &db, &|| db.snapshot("public"));
}

#[test]
fn keep_last_breaks_ties_by_id_sqlite() {
    let db = LiteDb::migrated();
    check_ties(Stamped::Lite(&db), &db, &|| db.snapshot());
}

#[test]
fn keep_last_zero_takes_every_final_job_of_its_group_and_nothing_else() {
    let db = PgDb::migrated("rules_zero", "public");
    let mut jobs = vec![
        JobSpec::new("completed", 1.0).queue("zero"),
        JobSpec::new("discarded", 1.0).queue("zero"),
        // A job finishing in the future (a skewed clock) is still a final job of the group.
        JobSpec::new("cancelled", -HOUR).queue("zero"),
        JobSpec::new("completed", 1.0).queue("other"),
    ];
    // Every state that is not final, each with an old completed_at.
    for state in JobState::ALL.into_iter().filter(|s| s.as_final().is_none()) {
        let mut j = JobSpec::new(state.name(), 10.0 * DAY).queue("zero");
        j.stamp = Some("completed");
        jobs.push(j);
    }
    insert(&db, "public", &jobs);
    let ids: Vec<i64> = db.snapshot("public").keys().copied().collect();
    let report = run(&db, &["--rule", "queue=zero,keep_last=0"]);
    assert_eq!(
        per_rule(&report),
        [("rule 1".to_string(), 3), ("default".to_string(), 0)]
    );
    let left: BTreeSet<i64> = db.snapshot("public").keys().copied().collect();
    let expected: BTreeSet<i64> = ids[3..].iter().copied().collect();
    assert_eq!(left, expected);
}

#[test]
fn filters_narrow_a_pass_but_not_what_a_rule_keeps() {
    // keep_last 2 over the whole worker; `--queue b` deletes only b's jobs beyond the newest 2
    // of the group, never b's newest two within b alone.
    let db = PgDb::migrated("rules_narrow", "public");
    let jobs: Vec<JobSpec> = [
        ("a", 1.0),
        ("a", 2.0),
        ("b", 3.0),
        ("b", 4.0),
        ("a", 5.0),
        ("b", 6.0),
    ]
    .iter()
    .map(|(q, h)| JobSpec::new("completed", h * HOUR).queue(q).worker("w"))
    .collect();
    insert(&db, "public", &jobs);
    let ids: Vec<i64> = db.snapshot("public").keys().copied().collect();
    let report = run(&db, &["--rule", "worker=w,keep_last=2", "--queue", "b"]);
    assert_eq!(report["total"], 3, "{report}");
    let left: Vec<i64> = db.snapshot("public").keys().copied().collect();
    assert_eq!(left, [ids[0], ids[1], ids[4]]);
    // `--state discarded` leaves the completed group alone.
    assert_eq!(
        run(
            &db,
            &["--rule", "worker=w,keep_last=0", "--state", "discarded"]
        )["total"],
        0
    );
}

#[test]
fn bad_rules_exit_2_before_any_sql() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("oban.toml"),
        "[pruner]\nmax_age = 60\n\n[[retention]]\nqueue = \"a\"\nmax_age = \"1d\"\nkeep_last = 5\n",
    )
    .expect("write");
    // No database is reachable there: the error comes first.
    let out = oban_in(dir.path())
        .args(["-d", "postgres://nobody@127.0.0.1:1/none", "prune"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("oban.toml line 4: [[retention]] give max_age or keep_last, not both"),
        "{err}"
    );
    let out = oban()
        .args([
            "-d",
            "postgres://nobody@127.0.0.1:1/none",
            "prune",
            "--rule",
            "state=running,max_age=1d",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--rule 'state=running,max_age=1d': state")
    );
}

#[test]
fn rules_through_the_library() {
    let db = LiteDb::migrated();
    let ids = seed(&db, "public", &|| db.snapshot());
    let settings =
        resolve_with(&Default::default(), &|_| None, Default::default()).expect("settings");
    let args = PruneArgs {
        max_age: Some(Duration::from_secs(86_400)),
        rule: RULES.iter().map(|r| r.to_string()).collect(),
        ..PruneArgs::default()
    };
    let opts = PruneOpts::resolve(&args, &settings).expect("opts");
    let mut conn = db.db();
    let schema = conn.schema("public").expect("schema");
    let report = pass(&mut conn, &schema, &opts, None, None).expect("pass");
    let got: Vec<(String, u64)> = report
        .rules
        .expect("rules")
        .iter()
        .map(|r| (r.name.clone(), r.deleted))
        .collect();
    assert_eq!(got, expected_per_rule());
    assert_eq!(survivors(&ids, &db.snapshot()), SURVIVORS);
}

#[test]
fn rules_on_a_partitioned_table_delete_in_batches_and_drop_no_leaf() {
    use super::partitioned::{ids, leaves, partitioned_db, population};
    let db = partitioned_db("rules_partitioned", "public");
    insert(&db, "public", &population(&db));
    let final_rows = "state IN ('completed', 'cancelled', 'discarded')";
    let stamp = "coalesce(completed_at, cancelled_at, discarded_at)";
    // alpha keeps its newest two final jobs (ties by id); beta's go after a day.
    let kept_alpha = ids(
        &db,
        &format!(
            "SELECT id FROM oban_jobs WHERE queue = 'alpha' AND {final_rows} \
             ORDER BY {stamp} DESC, id DESC LIMIT 2"
        ),
    );
    let all = ids(&db, "SELECT id FROM oban_jobs");
    let gone: BTreeSet<i64> = ids(
        &db,
        &format!(
            "SELECT id FROM oban_jobs WHERE {final_rows} AND ((queue = 'alpha') \
               OR (queue = 'beta' AND {stamp} < timezone('UTC', now()) - interval '1 day'))"
        ),
    )
    .difference(&kept_alpha)
    .copied()
    .collect();
    let before_leaves = leaves(&db, "public");
    let report = run(
        &db,
        &[
            "--rule",
            "queue=alpha,keep_last=2",
            "--max-age",
            "1d",
            "--batch-size",
            "3",
        ],
    );
    assert_eq!(
        report["partitions_dropped"],
        serde_json::json!([]),
        "{report}"
    );
    assert_eq!(leaves(&db, "public"), before_leaves);
    assert_eq!(report["total"], gone.len() as u64);
    let left = ids(&db, "SELECT id FROM oban_jobs");
    let expected: BTreeSet<i64> = all.difference(&gone).copied().collect();
    assert_eq!(left, expected);
}

#[test]
fn worker_globs_know_only_star_and_question_mark() {
    let pg = PgDb::migrated("rules_globs", "public");
    let lite = LiteDb::migrated();
    for target in [&pg as &dyn Target, &lite] {
        // `_`, `%` and `[` are themselves; case counts.
        let workers = ["app_x1", "appYx2", "APP_x3", "app_[x]4", "app%5", "app_x"];
        let jobs: Vec<JobSpec> = workers
            .iter()
            .map(|w| JobSpec::new("completed", 1.0).worker(w))
            .collect();
        insert(target, "public", &jobs);
        let report = run(target, &["--rule", "worker=app_?*,keep_last=0"]);
        assert_eq!(per_rule(&report)[0].1, 3, "{report}");
        let report = run(target, &["--rule", "worker=app%?,keep_last=0"]);
        assert_eq!(per_rule(&report)[0].1, 1, "{report}");
    }
}
