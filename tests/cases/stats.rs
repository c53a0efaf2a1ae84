//! `oban stats`: exact and estimated counts, health figures, thresholds, Prometheus, flavours.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::elixir_db;
use crate::support::{insert, json_out, oban, JobSpec, LiteDb, PgDb, Target};

fn stats(target: &dyn Target, prefix: &str, extra: &[&str]) -> std::process::Output {
    let dsn = target.dsn();
    let mut args = vec!["-d", dsn.as_str(), "--prefix", prefix, "stats"];
    args.extend_from_slice(extra);
    oban().args(&args).output().expect("run")
}

fn stats_json(target: &dyn Target, prefix: &str, extra: &[&str]) -> Value {
    let mut args = vec!["-o", "json"];
    args.extend_from_slice(extra);
    let out = stats(target, prefix, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(&out)
}

/// A population whose figures are known: queue "q" has an available job waiting 10 minutes,
/// two executing jobs (one stuck past 5 minutes), recent completions and failures.
fn known() -> Vec<JobSpec> {
    vec![
        JobSpec::new("available", 0.0).queue("q"),
        JobSpec::new("executing", 400.0).queue("q"),
        JobSpec::new("executing", 100.0).queue("q"),
        JobSpec::new("completed", 30.0).queue("q"),
        JobSpec::new("completed", 1800.0).queue("q"),
        JobSpec::new("completed", 7200.0).queue("q"),
        JobSpec::new("discarded", 100.0).queue("q"),
        JobSpec::new("discarded", 100.0).queue("q"),
        JobSpec::new("retryable", 100.0).queue("q"),
        JobSpec::new("completed", 10.0).queue("other \"quoted\" \\ queue"),
    ]
}

fn check_known(r: &Value) {
    let q = &r["queues"]["q"];
    let latency = q["latency"].as_f64().expect("latency");
    assert!((595.0..660.0).contains(&latency), "latency {latency}");
    assert_eq!(q["executing"], 2);
    assert_eq!(q["stuck"], 1);
    let longest = q["longest_running"].as_f64().expect("longest");
    assert!((395.0..460.0).contains(&longest), "longest {longest}");
    assert_eq!(q["completed_last_minute"], 1);
    assert_eq!(q["completed_last_hour"], 2);
    assert_eq!(q["discarded_last_hour"], 2);
    assert_eq!(q["retryable_last_hour"], 1);
    assert_eq!(r["counts"]["q"]["completed"], 3);
    assert_eq!(r["states"]["completed"], 4);
    assert_eq!(r["total"], 10);
    assert_eq!(r["estimated"].as_array().map(Vec::len), Some(0));
}

#[test]
fn known_figures_on_every_flavour() {
    let py = PgDb::migrated("stats_known", "public");
    insert(&py, "public", &known());
    let r = stats_json(&py, "public", &[]);
    check_known(&r);
    assert_eq!(r["flavour"], "oban_py");
    assert!(r["table"]["total_bytes"].as_i64().is_some_and(|b| b > 0));
    assert!(r["producers"].is_array(), "oban-py has producers");

    let ex = elixir_db("stats_known_ex", "ex_jobs");
    insert(&ex, "ex_jobs", &known());
    ex.exec("INSERT INTO ex_jobs.oban_peers VALUES ('oban', 'node-a', timezone('UTC', now()), timezone('UTC', now()) + interval '30 seconds')");
    let r = stats_json(&ex, "ex_jobs", &[]);
    check_known(&r);
    assert_eq!(r["prefix"], "ex_jobs");
    assert!(
        r.get("producers").is_none(),
        "Elixir has no producers table"
    );
    assert_eq!(r["leader"]["node"], "node-a");

    let lite = LiteDb::migrated();
    insert(&lite, "public", &known());
    let r = stats_json(&lite, "public", &[]);
    check_known(&r);
    assert!(r.get("table").is_none(), "no size section on SQLite");
}

#[test]
fn exact_counts_equal_a_group_by() {
    let db = PgDb::migrated("stats_exact", "public");
    oban()
        .args(["-d", &db.url, "seed", "--jobs", "3000", "-q"])
        .assert()
        .success();
    let r = stats_json(&db, "public", &["--exact"]);
    let mut cells = 0;
    for (queue, states) in r["counts"].as_object().expect("counts") {
        for (state, n) in states.as_object().expect("states") {
            let truth = db.count(&format!(
                "SELECT count(*) AS n FROM oban_jobs WHERE queue = '{queue}' AND state = '{state}'"
            ));
            assert_eq!(n.as_i64(), Some(truth), "{queue}/{state}");
            cells += 1;
        }
    }
    assert!(cells >= 30, "{cells} cells");
    assert_eq!(r["total"], 3000);
    let out = stats(&db, "public", &["-o", "csv"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("queue,state,count,estimated,low,high\n"));
    assert_eq!(text.lines().count(), cells + 1);
}

#[test]
fn large_cells_are_estimated_and_flagged() {
    let db = PgDb::migrated("stats_estimate", "public");
    oban()
        .args([
            "-d", &db.url, "seed", "--jobs", "60000", "--seed", "5", "-q",
        ])
        .assert()
        .success();
    db.exec("ANALYZE oban_jobs");
    let r = stats_json(&db, "public", &["--estimate-above", "2000", "--seed", "7"]);
    let estimated: BTreeSet<String> = r["estimated"]
        .as_array()
        .expect("estimated")
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    assert!(estimated.contains("default/completed"), "{estimated:?}");
    for cell in &estimated {
        let (queue, state) = cell.split_once('/').expect("queue/state");
        let truth = db.count(&format!(
            "SELECT count(*) AS n FROM oban_jobs WHERE queue = '{queue}' AND state = '{state}'"
        )) as f64;
        let guess = r["counts"][queue][state].as_f64().expect("count");
        assert!(
            (guess - truth).abs() <= truth * 0.3,
            "{cell}: estimate {guess} vs {truth}"
        );
    }
    // Small cells stay exact.
    let truth = db.count(
        "SELECT count(*) AS n FROM oban_jobs WHERE queue = 'reports' AND state = 'executing'",
    );
    assert_eq!(
        r["counts"]["reports"]["executing"].as_i64().unwrap_or(0),
        truth
    );
    assert!(!estimated.contains("reports/executing"));
    // The same seed as the JSON pass, so the same sample: a pass may otherwise refine its way
    // to a census (every page read, every cell exact).
    let text = String::from_utf8_lossy(
        &stats(&db, "public", &["--estimate-above", "2000", "--seed", "7"]).stdout,
    )
    .to_string();
    assert!(
        text.contains('~'),
        "estimates are marked in the table:\n{text}"
    );
    // Each estimate carries its range; totals built from estimates are marked too.
    for cell in &estimated {
        let range = &r["cell_ranges"][cell.as_str()];
        let (queue, state) = cell.split_once('/').expect("queue/state");
        let n = r["counts"][queue][state].as_f64().expect("count");
        assert!(range["low"].as_f64() <= Some(n) && Some(n) <= range["high"].as_f64());
    }
    assert_eq!(r["total_estimated"], true);
    assert!(r["total_range"]["low"].is_number());
    assert!(r["estimated_states"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s == "completed")));
    // A total with an estimate in it is marked `~` (or `?` when, short of time, a cell stayed
    // unknown): never a plain number.
    assert!(
        text.starts_with("stats: ~") || text.starts_with("stats: ?"),
        "{text}"
    );
    // --exact wins.
    let r = stats_json(&db, "public", &["--exact", "--estimate-above", "2000"]);
    assert_eq!(r["estimated"].as_array().map(Vec::len), Some(0));
    assert_eq!(r["total"], 60000);
}

/// Many recent completions and failures: 6,000 completed in the last hour (queue "a" five
/// times "b"), 3,000 retryable (2,000 attempted within the hour), 3,000 executing in "a"
/// (1,000 for two hours), and available jobs at two priorities, the older one at the lower
/// priority.
fn busy(db: &PgDb, prefix: &str) {
    db.exec(&format!(
        "INSERT INTO \"{prefix}\".oban_jobs (state, queue, worker, args, attempt, scheduled_at, attempted_at, completed_at) \
         SELECT 'completed', CASE WHEN g % 6 = 0 THEN 'b' ELSE 'a' END, 'W', '{{}}', 1, \
                timezone('UTC', now()) - interval '2 hours', timezone('UTC', now()) - interval '2 hours', \
                timezone('UTC', now()) - (g % 3500) * interval '1 second' \
         FROM generate_series(1, 6000) g; \
         INSERT INTO \"{prefix}\".oban_jobs (state, queue, worker, args, attempt, scheduled_at, attempted_at) \
         SELECT 'retryable', CASE WHEN g % 4 = 0 THEN 'b' ELSE 'a' END, 'W', '{{}}', 1, \
                timezone('UTC', now()) + interval '1 hour', \
                timezone('UTC', now()) - CASE WHEN g % 3 = 0 THEN interval '2 hours' ELSE interval '10 minutes' END \
         FROM generate_series(1, 3000) g; \
         INSERT INTO \"{prefix}\".oban_jobs (state, queue, worker, args, attempt, scheduled_at, attempted_at) \
         SELECT 'executing', 'a', 'W', '{{}}', 1, timezone('UTC', now()) - interval '3 hours', \
                timezone('UTC', now()) - CASE WHEN g % 3 = 0 THEN interval '2 hours' ELSE interval '1 minute' END \
         FROM generate_series(1, 3000) g; \
         INSERT INTO \"{prefix}\".oban_jobs (state, queue, worker, args, priority, scheduled_at) VALUES \
           ('available', 'a', 'W', '{{}}', 0, timezone('UTC', now()) - interval '100 seconds'), \
           ('available', 'a', 'W', '{{}}', 3, timezone('UTC', now()) - interval '900 seconds'); \
         ANALYZE \"{prefix}\".oban_jobs"
    ));
}

#[test]
fn large_figures_are_sampled_and_flagged() {
    let py = PgDb::migrated("stats_sampled", "public");
    busy(&py, "public");
    let ex = elixir_db("stats_sampled_ex", "public");
    busy(&ex, "public");
    for db in [&py, &ex] {
        let truth = |sql: &str| db.count(sql) as f64;
        let exact = stats_json(db, "public", &["--exact"]);
        // A budget that a loaded machine (the suite runs tests side by side) cannot exhaust:
        // what is checked here is how estimates are made and marked, not the budget.
        let r = stats_json(
            db,
            "public",
            &["--estimate-above", "500", "--budget", "10s"],
        );
        for (queue, figure, filter) in [
            (
                "a",
                "completed_last_hour",
                "state = 'completed' AND completed_at > timezone('UTC', now()) - interval '1 hour'",
            ),
            (
                "b",
                "completed_last_hour",
                "state = 'completed' AND completed_at > timezone('UTC', now()) - interval '1 hour'",
            ),
            (
                "a",
                "retryable_last_hour",
                "state = 'retryable' AND attempted_at > timezone('UTC', now()) - interval '1 hour'",
            ),
            (
                "b",
                "retryable_last_hour",
                "state = 'retryable' AND attempted_at > timezone('UTC', now()) - interval '1 hour'",
            ),
        ] {
            let want = truth(&format!(
                "SELECT count(*) AS n FROM oban_jobs WHERE queue = '{queue}' AND {filter}"
            ));
            assert_eq!(
                exact["queues"][queue][figure].as_f64(),
                Some(want),
                "{queue}/{figure} exact"
            );
            let guess = r["queues"][queue][figure].as_f64().expect("figure");
            assert!(
                (guess - want).abs() <= want * 0.25,
                "{queue}/{figure}: estimate {guess} vs {want}"
            );
        }
        let flagged: BTreeSet<&str> = r["estimated_figures"]
            .as_array()
            .expect("estimated_figures")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for f in [
            "a/completed_last_hour",
            "b/completed_last_hour",
            "a/retryable_last_hour",
        ] {
            assert!(flagged.contains(f), "{f} not flagged: {flagged:?}");
        }
        assert!(
            !flagged.contains("a/discarded_last_hour") && !flagged.contains("a/latency"),
            "{flagged:?}"
        );
        assert_eq!(exact["estimated_figures"].as_array().map(Vec::len), Some(0));
        // Executing: the count stays exact; stuck jobs and the longest run are read within the
        // time budget, else stuck jobs are sampled (and flagged, with a range) and the longest
        // run is unknown, never a guess.
        assert_eq!(r["queues"]["a"]["executing"], 3000);
        assert!(!flagged.contains("a/executing"));
        assert_eq!(exact["queues"]["a"]["stuck"], 1000);
        let stuck = r["queues"]["a"]["stuck"].as_f64().expect("stuck");
        if flagged.contains("a/stuck") {
            let range = &r["figure_ranges"]["a/stuck"];
            assert!(range["low"].as_f64() <= Some(stuck) && Some(stuck) <= range["high"].as_f64());
            assert!((750.0..1250.0).contains(&stuck), "stuck estimate {stuck}");
        } else {
            assert_eq!(stuck, 1000.0);
        }
        match r["queues"]["a"]["longest_running"].as_f64() {
            Some(longest) => assert!((7195.0..7300.0).contains(&longest), "longest {longest}"),
            None => assert!(r["unknown_figures"]["a/longest_running"].is_string()),
        }
        // A threshold on a figure makes it exact.
        let out = stats(
            db,
            "public",
            &[
                "--estimate-above",
                "500",
                "--max-stuck",
                "999",
                "-o",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(3));
        let t = json_out(&out);
        assert_eq!(t["queues"]["a"]["stuck"], 1000);
        assert!(!t["estimated_figures"]
            .as_array()
            .expect("list")
            .iter()
            .any(|f| f == "a/stuck"));
        // Latency is the oldest available job over every priority, and always exact.
        for report in [&r, &exact] {
            let latency = report["queues"]["a"]["latency"].as_f64().expect("latency");
            assert!((895.0..960.0).contains(&latency), "latency {latency}");
        }
        let text =
            String::from_utf8_lossy(&stats(db, "public", &["--estimate-above", "500"]).stdout)
                .to_string();
        assert!(
            text.contains("~ estimate, within ±25% at 95% confidence"),
            "{text}"
        );
        let prom = String::from_utf8_lossy(
            &stats(
                db,
                "public",
                &["--estimate-above", "500", "-o", "prometheus"],
            )
            .stdout,
        )
        .to_string();
        assert!(
            prom.contains("oban_figure_estimated{queue=\"a\",figure=\"completed_last_hour\"} 1"),
            "{prom}"
        );
    }
}

#[test]
fn thresholds_set_the_exit_code() {
    let db = PgDb::migrated("stats_thresholds", "public");
    insert(&db, "public", &known());
    for (args, code) in [
        (vec!["--max-latency", "5m"], 3),
        (vec!["--max-latency", "20m"], 0),
        (vec!["--max-stuck", "0"], 3),
        (vec!["--max-stuck", "1"], 0),
        (vec!["--max-discarded-rate", "1"], 3),
        (vec!["--max-discarded-rate", "2"], 0),
        (vec!["--max-stuck", "1", "--rescue-after", "1m"], 3),
    ] {
        let out = stats(&db, "public", &args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code == 3 {
            assert!(String::from_utf8_lossy(&out.stderr).contains("threshold breached"));
        }
    }
    let out = stats(&db, "public", &["-o", "json", "--max-stuck", "0"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json_out(&out)["breaches"].as_array().map(Vec::len), Some(1));
}

#[test]
fn prometheus_output_is_valid_exposition() {
    let db = PgDb::migrated("stats_prometheus", "public");
    insert(&db, "public", &known());
    let out = stats(&db, "public", &["-o", "prometheus"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut declared = BTreeSet::new();
    let mut typed = BTreeSet::new();
    let mut samples = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("name");
            assert!(declared.insert(name.to_string()), "{name} declared twice");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().expect("name");
            assert_eq!(parts.next(), Some("gauge"));
            assert!(typed.insert(name.to_string()), "{name} typed twice");
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample");
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line}"));
            let name = series.split('{').next().expect("name");
            assert!(typed.contains(name), "sample before its TYPE: {line}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
                check_labels(&labels[1..labels.len() - 1], line);
            }
            samples += 1;
        }
    }
    assert!(samples > 10);
    assert!(
        text.contains("oban_jobs{queue=\"q\",state=\"completed\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("queue=\"other \\\"quoted\\\" \\\\ queue\""),
        "escaped label: {text}"
    );
    assert!(text.contains("oban_threshold_breached 0"));
    // Other commands refuse the format before touching anything.
    let out = oban()
        .args(["-d", &db.url, "prune", "-o", "prometheus"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 10);
}

/// `key="value",…` with escapes only for backslash, quote and newline.
fn check_labels(mut s: &str, line: &str) {
    while !s.is_empty() {
        let (key, rest) = s
            .split_once("=\"")
            .unwrap_or_else(|| panic!("label syntax: {line}"));
        assert!(
            key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let mut chars = rest.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, next) = chars.next().expect("escape");
                    assert!(matches!(next, '\\' | '"' | 'n'), "{line}");
                }
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.unwrap_or_else(|| panic!("unterminated label: {line}"));
        s = rest[end + 1..].trim_start_matches(',');
    }
}

#[test]
fn stats_runs_read_only() {
    let db = PgDb::migrated("stats_read_only", "public");
    insert(&db, "public", &known());
    db.exec(&format!(
        "ALTER DATABASE {} SET default_transaction_read_only = on",
        db.name
    ));
    let r = stats_json(&db, "public", &[]);
    assert_eq!(r["total"], 10);
    // The same database refuses writes, so prune fails: stats really did not write.
    let out = oban()
        .args(["-d", &db.url, "prune", "--max-age", "0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}
