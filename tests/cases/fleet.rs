//! Runs over several targets: two prefixes of one PostgreSQL database, a SQLite file and an
//! unreachable server (whose DSN holds a password) in one run of every command that reads or
//! maintains; `--all-prefixes`, `--parallel 1`, the combined table, JSON and CSV, the exit
//! code, actions refused without `--all-targets`, and the exporter over several targets.

use std::collections::BTreeMap;

use serde_json::Value;

use super::exporter::{get, sample, serve_with};
use crate::support::{insert, json_out, oban, oban_in, JobSpec, LiteDb, PgDb, Target};

/// An unreachable server (loopback, port 1) with a password that must never be shown.
const DOWN: &str = "postgres://root:s3cret@127.0.0.1:1/nope";
const SECRET: &str = "s3cret";
const DAY: f64 = 86_400.0;

/// The jobs of one target: `old` final jobs past the default max age (1 day), `orphans`
/// executing for an hour, and a few recent and waiting ones that nothing touches.
fn jobs(old: usize, orphans: usize, queue: &str) -> Vec<JobSpec> {
    let mut list = Vec::new();
    for i in 0..old {
        let state = if i % 3 == 2 { "discarded" } else { "completed" };
        list.push(JobSpec::new(state, 2.0 * DAY).queue(queue));
    }
    for _ in 0..orphans {
        list.push(
            JobSpec::new("executing", 3600.0)
                .queue(queue)
                .attempts(1, 20),
        );
    }
    list.push(JobSpec::new("completed", 60.0).queue(queue));
    list.push(JobSpec::new("available", 30.0).queue(queue));
    list.push(JobSpec::new("discarded", 120.0).queue(queue));
    list
}

/// Two prefixes in one database and a SQLite file, each with its own population.
struct Fleet {
    pg: PgDb,
    lite: LiteDb,
    dir: tempfile::TempDir,
}

/// (name, old final jobs, orphans) of each reachable target, in file order.
const EXPECTED: [(&str, usize, usize); 3] = [("main", 4, 2), ("tenant", 2, 1), ("lite", 5, 3)];

impl Fleet {
    fn new() -> Fleet {
        let pg = PgDb::migrated("fleet", "public");
        oban()
            .args(["-d", &pg.url, "--prefix", "tenant_b", "migrate", "-q"])
            .assert()
            .success();
        let lite = LiteDb::migrated();
        insert(&pg, "public", &jobs(4, 2, "default"));
        insert(&pg, "tenant_b", &jobs(2, 1, "mailers"));
        insert(&lite, "main", &jobs(5, 3, "media"));
        let dir = tempfile::tempdir().expect("tempdir");
        let file = format!(
            "node = \"worker-1\"\n\n\
             [[targets]]\nname = \"main\"\ndsn = \"{pg}\"\n\n\
             [[targets]]\nname = \"tenant\"\ndsn = \"{pg}\"\nprefix = \"tenant_b\"\n\n\
             [[targets]]\nname = \"lite\"\ndsn = \"{lite}\"\n\n\
             [[targets]]\nname = \"down\"\ndsn = \"{DOWN}\"\n",
            pg = pg.url,
            lite = lite.dsn()
        );
        std::fs::write(dir.path().join("oban.toml"), file).expect("write oban.toml");
        Fleet { pg, lite, dir }
    }

    /// Runs `args` in the directory of the oban.toml; (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = oban_in(self.dir.path()).args(args).output().expect("run");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(
            !stdout.contains(SECRET) && !stderr.contains(SECRET),
            "{args:?} showed the password:\n{stdout}\n{stderr}"
        );
        (out.status.code().expect("exit code"), stdout, stderr)
    }

    /// Runs `args` with `-o json`: the exit code and each target's object, by target.
    fn json(&self, args: &[&str]) -> (i32, BTreeMap<String, Value>) {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (code, stdout, stderr) = self.run(&all);
        let list: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{stdout}\n{stderr}"));
        let mut by = BTreeMap::new();
        for item in list.as_array().expect("an array of targets") {
            let name = item["target"]
                .as_str()
                .expect("every object names its target");
            assert!(item["exit_code"].is_i64(), "{item}");
            assert!(
                by.insert(name.to_string(), item.clone()).is_none(),
                "{name} twice"
            );
        }
        (code, by)
    }

    /// Checks the shape every command shares: the four targets, the unreachable one an
    /// error entry with exit code 1, the others the command's own object.
    fn four(&self, command: &str, by: &BTreeMap<String, Value>) {
        let names: Vec<&str> = by.keys().map(String::as_str).collect();
        assert_eq!(names, ["down", "lite", "main", "tenant"], "{command}");
        let down = &by["down"];
        assert_eq!(down["exit_code"], 1, "{down}");
        assert!(
            down["error"]
                .as_str()
                .is_some_and(|e| e.contains("127.0.0.1")),
            "{down}"
        );
        for (name, _, _) in EXPECTED {
            let item = &by[name];
            assert!(item.get("error").is_none(), "{command} on {name}: {item}");
            if command != "queues" && command != "doctor" {
                assert_eq!(item["command"], command, "{item}");
            }
        }
    }
}

#[test]
fn three_targets_and_an_unreachable_one_each_command() {
    let f = Fleet::new();

    // stats: the counts each target holds, exact.
    let (code, by) = f.json(&["stats", "--exact"]);
    assert_eq!(code, 1);
    f.four("stats", &by);
    for (name, old, orphans) in EXPECTED {
        assert_eq!(by[name]["total"], (old + orphans + 3) as u64, "{name}");
    }
    assert_eq!(by["tenant"]["prefix"], "tenant_b");

    // inspect: each target's available job.
    let (code, by) = f.json(&["inspect", "--state", "available"]);
    assert_eq!(code, 1);
    f.four("inspect", &by);
    for (name, _, _) in EXPECTED {
        assert_eq!(by[name]["jobs"].as_array().map(Vec::len), Some(1), "{name}");
    }

    // queues and doctor run on each and say so.
    let (code, by) = f.json(&["queues"]);
    assert_eq!(code, 1);
    f.four("queues", &by);
    let (code, by) = f.json(&["doctor"]);
    assert_eq!(code, 1, "a connection failure outranks a doctor warning");
    f.four("doctor", &by);

    // rescue: the orphans of each target, and only them.
    let (code, by) = f.json(&["rescue"]);
    assert_eq!(code, 1);
    f.four("rescue", &by);
    for (name, _, orphans) in EXPECTED {
        assert_eq!(by[name]["rescued"], orphans as u64, "{name}");
    }
    let executing = "SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'";
    assert_eq!(f.lite.count(executing), 0);

    // prune: per-target deleted counts are what the tables held past the cutoff (every
    // final job but the two recent ones of each target).
    let finals = |prefix: &str| {
        format!(
            "SELECT count(*) AS n FROM {prefix}oban_jobs WHERE state IN \
             ('completed', 'discarded', 'cancelled')"
        )
    };
    let counts = || {
        [
            f.pg.count(&finals("public.")),
            f.pg.count(&finals("tenant_b.")),
            f.lite.count(&finals("")),
        ]
    };
    let before = counts();
    assert_eq!(before, [6, 4, 7]);
    let (code, by) = f.json(&["prune"]);
    assert_eq!(code, 1);
    f.four("prune", &by);
    for ((name, old, _), n) in EXPECTED.iter().zip(before) {
        assert_eq!(by[*name]["total"], n - 2, "{name}: {}", by[*name]);
        assert_eq!(by[*name]["total"], *old as i64, "{name}");
    }
    assert_eq!(counts(), [2, 2, 2], "the recent final jobs stay");

    // The combined table and CSV label every row; stderr names the failed target.
    let (code, table, stderr) = f.run(&["stats", "--exact"]);
    assert_eq!(code, 1);
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("target")),
        "{table}"
    );
    for name in ["main", "tenant", "lite", "down"] {
        assert!(
            table.lines().any(|l| l.starts_with(name)),
            "{name} has a row: {table}"
        );
    }
    assert!(stderr.contains("target down:"), "{stderr}");
    assert!(stderr.contains("1 of 4 targets failed"), "{stderr}");
    let (_, csv, _) = f.run(&["inspect", "-o", "csv"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("target,id,state")),
        "{csv}"
    );
    assert!(lines.all(|l| ["main,", "tenant,", "lite,"]
        .iter()
        .any(|p| l.starts_with(p))));

    // --target narrows the file's targets; one target is today's output, exit 0.
    let (code, stdout, _) = f.run(&["--target", "tenant", "stats", "-o", "json"]);
    assert_eq!(code, 0);
    let one: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        one["prefix"], "tenant_b",
        "a single object, as without targets"
    );
    let (code, _, stderr) = f.run(&["--target", "nobody", "stats"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("main, tenant, lite, down"), "{stderr}");
}

#[test]
fn all_prefixes_finds_both_schemas_and_parallel_one_gives_the_same() {
    let f = Fleet::new();
    let pg_label = f.pg.url.rsplit('@').next().expect("host").to_string();
    let args = |parallel: &str| {
        vec![
            "-d".to_string(),
            f.pg.url.clone(),
            "-d".into(),
            f.lite.dsn(),
            "-d".into(),
            DOWN.into(),
            "--all-prefixes".into(),
            "--parallel".into(),
            parallel.into(),
            "stats".into(),
            "--exact".into(),
        ]
    };
    let totals = |parallel: &str| {
        let a = args(parallel);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (code, by) = f.json(&a);
        assert_eq!(code, 1);
        by.iter()
            .map(|(name, item)| (name.clone(), item.get("total").cloned()))
            .collect::<BTreeMap<_, _>>()
    };
    let four = totals("4");
    let names: Vec<&str> = four.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "127.0.0.1:1/nope".to_string(),
            format!("{pg_label}:public"),
            format!("{pg_label}:tenant_b"),
            "jobs.db".to_string(),
        ]
    );
    assert_eq!(four[&format!("{pg_label}:public")], Some(Value::from(9)));
    assert_eq!(four[&format!("{pg_label}:tenant_b")], Some(Value::from(6)));
    assert_eq!(four["jobs.db"], Some(Value::from(11)));
    assert_eq!(totals("1"), four, "--parallel 1 gives the same");
}

#[test]
fn actions_need_all_targets_and_watch_is_one_target() {
    let f = Fleet::new();
    let discarded = |prefix: &str| {
        format!("SELECT count(*) AS n FROM \"{prefix}\".oban_jobs WHERE state = 'discarded'")
    };
    let before = (
        f.pg.count(&discarded("public")),
        f.pg.count(&discarded("tenant_b")),
    );
    let two = [
        "--target",
        "main",
        "--target",
        "tenant",
        "delete",
        "--state",
        "discarded",
        "--all-matching",
        "--yes",
    ];
    let (code, _, stderr) = f.run(&two);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--all-targets"), "{stderr}");
    assert_eq!(
        (
            f.pg.count(&discarded("public")),
            f.pg.count(&discarded("tenant_b"))
        ),
        before,
        "nothing changed"
    );
    let (code, _, stderr) = f.run(&["--target", "main", "--target", "lite", "pause", "default"]);
    assert_eq!(code, 2, "{stderr}");

    let mut all = two.to_vec();
    all.push("--all-targets");
    // The dry run's combined table, in a pipe (80 columns): a row per job, each on one line
    // with its state and destination whole, and the column saying it was a dry run.
    let mut dry = all.clone();
    dry.push("--dry-run");
    let (code, table, stderr) = f.run(&dry);
    assert_eq!(code, 0, "{stderr}");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(header[..2], ["target", "id"], "{table}");
    assert!(
        table
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("would go to"),
        "{table}"
    );
    let rows: Vec<&str> = lines.skip(1).collect();
    assert_eq!(rows.len() as i64, before.0 + before.1, "{table}");
    for row in &rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert!(["main", "tenant"].contains(&cells[0]), "{table}");
        assert_eq!(cells[2], "discarded", "{table}");
        assert_eq!(cells.last(), Some(&"deleted"), "{table}");
    }
    let (code, by) = f.json(&all);
    assert_eq!(code, 0);
    assert_eq!(by.len(), 2);
    assert_eq!(
        (
            f.pg.count(&discarded("public")),
            f.pg.count(&discarded("tenant_b"))
        ),
        (0, 0),
        "both changed: {by:?}"
    );
    assert_eq!(
        by["main"]["jobs"].as_array().map(Vec::len),
        Some(before.0 as usize)
    );

    let (code, _, stderr) = f.run(&["stats", "--watch"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = f.run(&["prune", "--archive", "/tmp/never.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_exporter_serves_every_target_with_its_label() {
    let f = Fleet::new();
    let lite = f.lite.dsn();
    let served = serve_with(&["-d", &f.pg.url, "-d", &lite, "-d", DOWN], "10s");
    let (status, _, text) = get(&served, "/metrics");
    assert_eq!(status, 200);
    assert!(!text.contains(SECRET), "{text}");
    let pg_name = f.pg.url.rsplit('@').next().expect("host").to_string();
    assert!(
        text.contains(&format!(
            "oban_up{{target=\"{pg_name}\",prefix=\"public\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains("oban_up{target=\"jobs.db\",prefix=\"public\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("oban_up{target=\"127.0.0.1:1/nope\",prefix=\"public\"} 0"),
        "{text}"
    );
    assert_eq!(
        sample(&text, "oban_exporter_scrape_errors_total", "nope"),
        Some(1.0)
    );
    assert_eq!(
        text.matches("# TYPE oban_jobs gauge").count(),
        1,
        "one family"
    );
    // --min-interval covers the whole pass: a second scrape is served from it.
    let (_, _, again) = get(&served, "/metrics");
    for target in ["jobs.db", "nope"] {
        let scrapes = sample(&again, "oban_exporter_scrapes_total", target);
        assert_eq!(scrapes, Some(1.0), "{target}: {again}");
    }
    for (name, dsn) in [(pg_name.as_str(), f.pg.dsn()), ("jobs.db", lite.clone())] {
        let out = oban()
            .args(["-d", &dsn, "stats", "--exact", "-o", "json"])
            .output()
            .expect("run");
        let exact = json_out(&out);
        let mut compared = 0;
        for (queue, states) in exact["counts"].as_object().expect("counts") {
            for (state, n) in states.as_object().expect("states") {
                let labels = format!("target=\"{name}\",queue=\"{queue}\",state=\"{state}\"");
                assert_eq!(
                    sample(&text, "oban_jobs", &labels),
                    n.as_f64(),
                    "{labels}: {text}"
                );
                compared += 1;
            }
        }
        assert!(compared >= 3, "{name}");
    }
}

#[test]
fn the_exporter_reads_every_prefix() {
    let f = Fleet::new();
    let served = serve_with(&["-d", &f.pg.url, "--all-prefixes"], "1s");
    let (_, _, text) = get(&served, "/metrics");
    let pg_name = f.pg.url.rsplit('@').next().expect("host").to_string();
    for prefix in ["public", "tenant_b"] {
        let target = format!("target=\"{pg_name}:{prefix}\"");
        assert!(
            text.contains(&format!("oban_up{{{target},prefix=\"{prefix}\"}} 1")),
            "{text}"
        );
        let available: f64 = text
            .lines()
            .filter(|l| l.starts_with("oban_jobs{") && l.contains(&target))
            .filter(|l| l.contains("state=\"available\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(available, 1.0, "{prefix}: {text}");
    }
    // A schema dropped is no longer served, neither up nor down.
    f.pg.exec("DROP SCHEMA tenant_b CASCADE");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let (_, _, later) = get(&served, "/metrics");
    assert!(
        later.contains(&format!("target=\"{pg_name}:public\"")),
        "{later}"
    );
    assert!(!later.contains("tenant_b"), "{later}");
}

#[test]
fn a_notice_about_one_target_names_it() {
    let f = Fleet::new();
    // Each reachable target has orphans older than the rescue window: --max-stuck 0 breaches
    // on each, and every breach line says which target it is about.
    let (code, _, stderr) = f.run(&["stats", "--exact", "--max-stuck", "0", "-o", "json"]);
    assert_eq!(
        code, 1,
        "the unreachable target outranks the breaches: {stderr}"
    );
    let breaches: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("threshold breached"))
        .collect();
    for (name, _, _) in EXPECTED {
        let prefix = format!("oban: target {name}: stats: threshold breached: ");
        assert_eq!(
            breaches.iter().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "{name}:\n{stderr}"
        );
    }
    assert_eq!(breaches.len(), EXPECTED.len(), "{stderr}");
    // One target alone: the line as before, with no target in it.
    let (code, _, stderr) = f.run(&["--target", "main", "stats", "--exact", "--max-stuck", "0"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("oban: stats: threshold breached: ")),
        "{stderr}"
    );
}
