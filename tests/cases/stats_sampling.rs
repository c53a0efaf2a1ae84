//! `oban stats` on populations that break naive sampling (issue 11): a rare window, a queue far
//! smaller than the others, queue and state correlated, a queue with no job in the window,
//! ties (many jobs finished in one statement). Every figure must be exact (and equal a direct
//! count), or marked as an estimate with a 95% range that holds the truth in at least 95 of 100
//! seeded repetitions, or unknown; never an unmarked wrong number.

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::sql_types::Text;
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use oban::commands::stats::{pass, StatsOpts};
use oban::estimate::Figure;
use serde_json::Value;

use crate::support::elixir_db;
use crate::support::{json_out, oban, succeeds, PgDb, Target};

/// The generator of `bench/stats.sh`: the issue's table, `rows` jobs in five equal queues.
const POPULATION: &str = include_str!("../../bench/stats-population.sql");

fn populate(db: &PgDb, prefix: &str, rows: u64, elixir: bool) {
    let (open, close) = if elixir {
        ("ARRAY(SELECT jsonb_array_elements(", "))")
    } else {
        ("", "")
    };
    db.exec(
        &POPULATION
            .replace("{rows}", &rows.to_string())
            .replace("{jobs}", &format!("{prefix}.oban_jobs"))
            .replace("{state_type}", &format!("{prefix}.oban_job_state"))
            .replace("{errors_open}", open)
            .replace("{errors_close}", close),
    );
}

/// The pathologies, as extra queues, then a gap around every window's edge so that the truth
/// stays put while the test runs (nothing within 5 minutes of now, nothing 45–60 minutes old).
fn pathologies(db: &PgDb, prefix: &str) {
    let now = "timezone('UTC', now())";
    let ins = format!(
        "INSERT INTO {prefix}.oban_jobs (state, queue, worker, attempt, scheduled_at, attempted_at, \
         completed_at, discarded_at)"
    );
    db.exec(&format!(
        "-- tiny: a queue far smaller than the others, with a few recent completions.
         {ins} SELECT 'completed', 'tiny', 'W', 1, {now} - interval '2 days', {now} - interval '2 days',
                {now} - CASE WHEN g <= 12 THEN g * interval '2 minutes' ELSE interval '2 days' END, NULL
         FROM generate_series(1, 60) g;
         -- corr: queue and state correlated and clustered on pages: all discarded, a third of
         -- them in the last hour.
         {ins} SELECT 'discarded', 'corr', 'W', 20, {now} - interval '3 days', {now} - interval '3 days',
                NULL, {now} - CASE WHEN g % 3 = 0 THEN (10 + g % 30) * interval '1 minute'
                                   ELSE interval '3 days' END
         FROM generate_series(1, 4000) g;
         -- quiet: plenty of jobs, none in any window.
         {ins} SELECT (ARRAY['completed','discarded','retryable'])[1 + g % 3]::{prefix}.oban_job_state,
                'quiet', 'W', 1, {now} + interval '1 day', {now} - interval '5 hours',
                CASE WHEN g % 3 = 0 THEN {now} - interval '5 hours' END,
                CASE WHEN g % 3 = 1 THEN {now} - interval '5 hours' END
         FROM generate_series(1, 3000) g;
         -- ties: three statements completed 800 jobs each, and 400 failed in one.
         {ins} SELECT 'completed', 'ties', 'W', 1, {now} - interval '1 hour', {now} - interval '30 minutes',
                {now} - (10 + g % 3 * 10) * interval '1 minute', NULL
         FROM generate_series(1, 2400) g;
         {ins} SELECT 'retryable', 'ties', 'W', 1, {now} + interval '1 hour', {now} - interval '20 minutes',
                NULL, NULL
         FROM generate_series(1, 400) g;
         UPDATE {prefix}.oban_jobs SET
           completed_at = completed_at - CASE WHEN completed_at > {now} - interval '5 minutes'
             THEN interval '6 minutes' WHEN completed_at > {now} - interval '60 minutes'
              AND completed_at <= {now} - interval '45 minutes' THEN interval '16 minutes' END
         WHERE completed_at > {now} - interval '5 minutes'
            OR completed_at BETWEEN {now} - interval '60 minutes' AND {now} - interval '45 minutes';
         UPDATE {prefix}.oban_jobs SET
           discarded_at = discarded_at - CASE WHEN discarded_at > {now} - interval '5 minutes'
             THEN interval '6 minutes' ELSE interval '16 minutes' END
         WHERE discarded_at > {now} - interval '5 minutes'
            OR discarded_at BETWEEN {now} - interval '60 minutes' AND {now} - interval '45 minutes';
         UPDATE {prefix}.oban_jobs SET
           attempted_at = attempted_at - CASE WHEN attempted_at > {now} - interval '5 minutes'
             THEN interval '6 minutes' ELSE interval '16 minutes' END
         WHERE state IN ('retryable', 'executing') AND (attempted_at > {now} - interval '5 minutes'
            OR attempted_at BETWEEN {now} - interval '60 minutes' AND {now} - interval '45 minutes')"
    ));
    db.exec(&format!("VACUUM ANALYZE {prefix}.oban_jobs"));
}

/// Executing longer than this is stuck: far from every executing job's age in the population.
const RESCUE_AFTER: Duration = Duration::from_secs(20 * 60);

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    value: String,
}

fn text(db: &PgDb, sql: &str) -> String {
    let rows: Vec<TextRow> = sql_query(sql).load(&mut db.conn()).expect("query");
    rows.into_iter().next().map(|r| r.value).unwrap_or_default()
}

/// The true figures, by direct count: cells by (queue, state), figures by (queue, figure).
fn truth(db: &PgDb, prefix: &str) -> BTreeMap<(String, String), f64> {
    let now = "timezone('UTC', now())";
    let mut out = BTreeMap::new();
    let rows: Vec<Value> = serde_json::from_str(&text(
        db,
        &format!(
        "SELECT coalesce(json_agg(t), '[]')::text AS value FROM ( \
           SELECT queue, state::text AS k, count(*)::float8 AS n FROM {prefix}.oban_jobs GROUP BY 1, 2 \
           UNION ALL SELECT queue, 'completed_last_minute', count(*) FILTER (WHERE state = 'completed' AND completed_at > {now} - interval '1 minute') FROM {prefix}.oban_jobs GROUP BY 1 \
           UNION ALL SELECT queue, 'completed_last_hour', count(*) FILTER (WHERE state = 'completed' AND completed_at > {now} - interval '1 hour') FROM {prefix}.oban_jobs GROUP BY 1 \
           UNION ALL SELECT queue, 'discarded_last_hour', count(*) FILTER (WHERE state = 'discarded' AND discarded_at > {now} - interval '1 hour') FROM {prefix}.oban_jobs GROUP BY 1 \
           UNION ALL SELECT queue, 'retryable_last_hour', count(*) FILTER (WHERE state = 'retryable' AND attempted_at > {now} - interval '1 hour') FROM {prefix}.oban_jobs GROUP BY 1 \
           UNION ALL SELECT queue, 'executing', count(*) FILTER (WHERE state = 'executing') FROM {prefix}.oban_jobs GROUP BY 1 \
           UNION ALL SELECT queue, 'stuck', count(*) FILTER (WHERE state = 'executing' AND attempted_at < {now} - interval '20 minutes') FROM {prefix}.oban_jobs GROUP BY 1) t"
    )))
    .expect("json");
    for r in rows {
        let queue = r["queue"].as_str().expect("queue").to_string();
        let k = r["k"].as_str().expect("k").to_string();
        out.insert((queue, k), r["n"].as_f64().expect("n"));
    }
    out
}

fn opts(seed: Option<i64>, budget: Option<Duration>) -> StatsOpts {
    StatsOpts {
        estimate_above: Some(2_000),
        budget,
        seed,
        rescue_after: RESCUE_AFTER,
        max_latency: None,
        max_stuck: None,
        max_discarded_rate: None,
    }
}

#[derive(Default, Debug)]
struct Coverage {
    exact: u32,
    estimated: u32,
    inside: u32,
}

/// Checks one pass against the truth; returns (key, kind) → was it an estimate and inside.
fn check(
    found: impl Iterator<Item = ((String, String), Figure)>,
    truth: &BTreeMap<(String, String), f64>,
    coverage: &mut BTreeMap<(String, String), Coverage>,
) {
    for (key, f) in found {
        let want = truth.get(&key).copied().unwrap_or(0.0);
        let c = coverage.entry(key.clone()).or_default();
        match f {
            Figure::Exact(v) => {
                assert_eq!(v.round(), want, "{key:?}: exact figure is wrong");
                c.exact += 1;
            }
            Figure::Estimate(iv) => {
                assert!(iv.low <= iv.value && iv.value <= iv.high, "{key:?}: {iv:?}");
                assert!(iv.within_tolerance(), "{key:?}: shown outside ±25%: {iv:?}");
                c.estimated += 1;
                c.inside += u32::from(iv.low <= want && want <= iv.high);
            }
            Figure::Unknown { reason, .. } => panic!("{key:?} unknown without a budget: {reason}"),
        }
    }
}

#[test]
fn estimates_hold_the_truth_in_95_of_100_seeded_passes() {
    let db = PgDb::migrated("stats_coverage", "public");
    populate(&db, "public", 40_000, false);
    pathologies(&db, "public");
    let truth = truth(&db, "public");
    let mut conn = db.db();
    let schema = conn.schema("public").expect("schema");
    // Exact figures equal a direct count.
    let exact = StatsOpts {
        estimate_above: None,
        ..opts(Some(1), None)
    };
    let r = pass(&mut conn, &schema, &exact, None).expect("exact pass");
    let mut unused = BTreeMap::new();
    check(r.found.cells.clone().into_iter(), &truth, &mut unused);
    check(
        r.found
            .figures
            .clone()
            .into_iter()
            .filter(|((_, m), _)| truth.contains_key(&("billing".into(), m.clone()))),
        &truth,
        &mut unused,
    );
    assert!(unused.values().all(|c| c.estimated == 0));
    // Sampled passes, seeds 1..=100, with no time limit: every figure ends exact or within
    // ±25%, and each estimate's range holds the truth in 95 of 100 passes at least.
    let mut coverage = BTreeMap::new();
    for seed in 1..=100 {
        let r = pass(&mut conn, &schema, &opts(Some(seed), None), None).expect("pass");
        check(r.found.cells.clone().into_iter(), &truth, &mut coverage);
        let figures = r
            .found
            .figures
            .clone()
            .into_iter()
            .filter(|((_, m), _)| !matches!(m.as_str(), "latency" | "longest_running"));
        check(figures, &truth, &mut coverage);
    }
    let estimates: u32 = coverage.values().map(|c| c.estimated).sum();
    for (key, c) in coverage.iter().filter(|(_, c)| c.estimated > 0) {
        eprintln!("{key:?}: {c:?}");
    }
    assert!(estimates >= 500, "too few estimates to judge: {estimates}");
    for (key, c) in &coverage {
        assert!(
            c.exact + c.inside >= 95,
            "{key:?}: the truth {} was outside {} of {} estimated ranges",
            truth.get(key).copied().unwrap_or(0.0),
            c.estimated - c.inside,
            c.estimated
        );
    }
    // The pathologies were estimated, not only counted.
    for key in [("billing", "completed"), ("ties", "retryable_last_hour")] {
        let c = &coverage[&(key.0.to_string(), key.1.to_string())];
        assert!(
            c.estimated >= 50,
            "{key:?} estimated only {} times",
            c.estimated
        );
    }
}

/// The issue's table, through the binary with default budget: no unmarked wrong figure in JSON,
/// and the table marks what JSON marks.
#[test]
fn the_issue_table_shows_no_unmarked_wrong_figure() {
    let py = PgDb::migrated("stats_issue", "public");
    populate(&py, "public", 30_000, false);
    pathologies(&py, "public");
    let ex = elixir_db("stats_issue_ex", "public");
    populate(&ex, "public", 30_000, true);
    pathologies(&ex, "public");
    for db in [&py, &ex] {
        let truth = truth(db, "public");
        for budget in ["0", "100ms", "10s"] {
            let dsn = db.dsn();
            let r = json_out(&succeeds(&[
                "-d",
                &dsn,
                "stats",
                "-o",
                "json",
                "--estimate-above",
                "2000",
                "--rescue-after",
                "20m",
                "--budget",
                budget,
            ]));
            check_json(&r, &truth, budget);
        }
    }
}

fn check_json(r: &Value, truth: &BTreeMap<(String, String), f64>, budget: &str) {
    let listed = |k: &str| -> Vec<String> {
        r[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (cells_est, figs_est) = (listed("estimated"), listed("estimated_figures"));
    for (queue, states) in r["counts"].as_object().expect("counts") {
        for (state, n) in states.as_object().expect("states") {
            let key = format!("{queue}/{state}");
            let want = truth[&(queue.clone(), state.clone())];
            if cells_est.contains(&key) {
                assert!(r["cell_ranges"][&key]["low"].is_number(), "{key}: no range");
            } else if n.is_null() {
                assert!(
                    r["unknown"][&key].is_string(),
                    "{key}: null without a reason"
                );
            } else {
                assert_eq!(
                    n.as_f64(),
                    Some(want),
                    "{key}: unmarked and wrong ({budget})"
                );
            }
        }
    }
    for (queue, q) in r["queues"].as_object().expect("queues") {
        for figure in [
            "completed_last_minute",
            "completed_last_hour",
            "discarded_last_hour",
            "retryable_last_hour",
            "stuck",
            "executing",
        ] {
            let key = format!("{queue}/{figure}");
            let want = truth.get(&(queue.clone(), figure.to_string())).copied();
            let v = &q[figure];
            if figs_est.contains(&key) {
                assert!(
                    r["figure_ranges"][&key]["high"].is_number(),
                    "{key}: no range"
                );
            } else if v.is_null() {
                let reason = r["unknown_figures"][&key].as_str().unwrap_or("");
                assert!(reason.contains("budget"), "{key}: null without a reason");
                assert_ne!(budget, "10s", "{key} unknown with a large budget");
            } else {
                assert_eq!(
                    v.as_f64(),
                    Some(want.unwrap_or(0.0)),
                    "{key}: unmarked, wrong"
                );
            }
        }
    }
}

/// Without time to refine, a rare window is withheld: `?` in the table, null and a reason in
/// JSON, NaN in Prometheus; never a number.
#[test]
fn a_figure_that_cannot_be_stood_behind_is_withheld() {
    let db = PgDb::migrated("stats_withheld", "public");
    populate(&db, "public", 30_000, false);
    pathologies(&db, "public");
    // No job completed in the last two minutes: that window is empty.
    db.exec(
        "DELETE FROM oban_jobs WHERE state = 'completed' \
         AND completed_at > timezone('UTC', now()) - interval '2 minutes'",
    );
    let run = |extra: &[&str]| {
        let dsn = db.dsn();
        let mut args = vec!["-d", dsn.as_str(), "stats", "--estimate-above", "500"];
        args.extend_from_slice(&["--budget", "0", "--rescue-after", "20m"]);
        args.extend_from_slice(extra);
        succeeds(&args)
    };
    let r = json_out(&run(&["-o", "json"]));
    let unknown = r["unknown_figures"].as_object().expect("unknown_figures");
    assert!(
        unknown.contains_key("billing/retryable_last_hour"),
        "a rare window with no budget must be withheld: {unknown:?}"
    );
    assert!(r["queues"]["billing"]["retryable_last_hour"].is_null());
    // An empty window needs no read, so no budget: every queue's figure is 0, exactly.
    for (queue, q) in r["queues"].as_object().expect("queues") {
        assert_eq!(
            q["completed_last_minute"], 0,
            "{queue}: {}",
            r["unknown_figures"]
        );
    }
    let estimated = r["estimated_figures"].to_string();
    assert!(!estimated.contains("completed_last_minute"), "{estimated}");
    let text = String::from_utf8_lossy(&run(&[]).stdout).to_string();
    assert!(text.contains('?') && text.contains("not known"), "{text}");
    let prom = String::from_utf8_lossy(&run(&["-o", "prometheus"]).stdout).to_string();
    assert!(
        prom.contains("oban_jobs_retryable_last_hour{queue=\"billing\"} NaN"),
        "{prom}"
    );
    assert!(
        prom.contains("oban_figure_unknown{queue=\"billing\",figure=\"retryable_last_hour\"} 1")
    );
    // Zero cells are series too: the quiet queue has no available job.
    assert!(
        prom.contains("oban_jobs{queue=\"quiet\",state=\"available\"} 0"),
        "{prom}"
    );
    // A threshold on a figure makes it exact whatever the budget.
    let out = oban()
        .args([
            "-d",
            &db.dsn(),
            "stats",
            "-o",
            "json",
            "--estimate-above",
            "500",
            "--budget",
            "0",
            "--max-discarded-rate",
            "100000",
        ])
        .output()
        .expect("run");
    let r = json_out(&out);
    assert!(r["queues"]["corr"]["discarded_last_hour"].is_number());
    assert!(!listed_has(
        &r,
        "estimated_figures",
        "corr/discarded_last_hour"
    ));
}

fn listed_has(r: &Value, key: &str, item: &str) -> bool {
    r[key]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(item)))
}

/// What a pass reads outside `--budget` does not grow with the table: an incident's backlog of
/// retryable jobs, and a window of more completions than a first sample walks, are read only
/// within the budget. Without one, their figures are unknown (not estimated from a walk of
/// every job); with one, they are known, exactly or with a range that holds the truth.
#[test]
fn a_backlog_is_walked_only_within_the_budget() {
    let db = PgDb::migrated("stats_backlog", "public");
    db.exec(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, scheduled_at) \
         SELECT 'retryable', 'backlog', 'w', 1, \
                timezone('UTC', now()) - (g % 10000) * interval '1 minute', \
                timezone('UTC', now()) + interval '1 hour' \
         FROM generate_series(1, 150000) g; \
         INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, scheduled_at, \
                                completed_at) \
         SELECT 'completed', 'backlog', 'w', 1, timezone('UTC', now()) - interval '2 hours', \
                timezone('UTC', now()) - interval '2 hours', \
                timezone('UTC', now()) - (g % 3000) * interval '1 second' \
         FROM generate_series(1, 120000) g; \
         ANALYZE oban_jobs",
    );
    let truth = db.count(
        "SELECT count(*) AS n FROM oban_jobs WHERE queue = 'backlog' \
         AND attempted_at > timezone('UTC', now()) - interval '1 hour'",
    ) as f64;
    let dsn = db.dsn();
    let run = |budget: &str| {
        json_out(&succeeds(&[
            "-d", &dsn, "stats", "-o", "json", "--budget", budget,
        ]))
    };
    let none = run("0");
    assert!(
        none["queues"]["backlog"]["retryable_last_hour"].is_null(),
        "{none}"
    );
    let reason = none["unknown_figures"]["backlog/retryable_last_hour"]
        .as_str()
        .unwrap_or_default();
    // Nothing was walked: no sample, no range.
    assert!(
        reason.starts_with("sampling some of") && reason.contains("did not fit the time budget"),
        "{reason}"
    );
    assert!(none["figure_ranges"]["backlog/retryable_last_hour"].is_null());
    let window = none["unknown_figures"]["backlog/completed_last_hour"]
        .as_str()
        .unwrap_or_default();
    assert!(
        window.starts_with("sampling the jobs in the window did not fit the time budget"),
        "{window}"
    );
    let some = run("10s");
    let got = some["queues"]["backlog"]["retryable_last_hour"]
        .as_f64()
        .expect("known with a budget");
    let estimated = some["estimated_figures"]
        .as_array()
        .is_some_and(|a| a.iter().any(|k| k == "backlog/retryable_last_hour"));
    if estimated {
        let range = &some["figure_ranges"]["backlog/retryable_last_hour"];
        assert!(range["low"].as_f64() <= Some(truth) && Some(truth) <= range["high"].as_f64());
    } else {
        assert_eq!(got, truth);
    }
    let done = some["queues"]["backlog"]["completed_last_hour"]
        .as_f64()
        .expect("the window known with a budget");
    match some["figure_ranges"]["backlog/completed_last_hour"].as_object() {
        Some(range) => assert!(
            range["low"].as_f64() <= Some(120_000.0) && Some(120_000.0) <= range["high"].as_f64()
        ),
        None => assert_eq!(done, 120_000.0),
    }
}
