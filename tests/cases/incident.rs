//! Incident control against a real oban-py worker: pause and resume queues (confirmed per node
//! from `oban_producers.meta`), `oban queues`, and cancelling a running job through `pkill`.

use std::time::Duration;

use serde_json::Value;

use crate::support::obanpy::Worker;
use crate::support::{json_out, oban, succeeds, LiteDb, PgDb};

fn insert_sleepers(db: &PgDb, queue: &str, n: usize) {
    for _ in 0..n {
        db.exec(&format!(
            "INSERT INTO oban_jobs (queue, worker, args) \
             VALUES ('{queue}', 'incident_jobs.Sleep', '{{\"seconds\": 0}}')"
        ));
    }
}

fn count(db: &PgDb, queue: &str, state: &str) -> i64 {
    db.count(&format!(
        "SELECT count(*) AS n FROM oban_jobs WHERE queue = '{queue}' AND state = '{state}'"
    ))
}

fn producer<'a>(queues: &'a Value, queue: &str, node: &str) -> &'a Value {
    queues["producers"]
        .as_array()
        .expect("producers")
        .iter()
        .find(|p| p["queue"] == queue && p["node"] == node)
        .unwrap_or_else(|| panic!("no producer {queue}@{node} in {queues}"))
}

#[test]
fn pause_stops_one_queue_and_resume_restarts_it() {
    let db = PgDb::migrated("inc_pause", "public");
    let mut worker = Worker::start(&db, "n1", "alpha:5,beta:5");

    let out = succeeds(&["-d", &db.url, "pause", "alpha", "-o", "json"]);
    let report = json_out(&out);
    assert_eq!(report["command"], "pause");
    assert_eq!(report["confirmable"], true);
    let answers = report["producers"].as_array().expect("answers");
    assert_eq!(answers.len(), 1, "{report}");
    assert_eq!(answers[0]["node"], "n1");
    assert_eq!(answers[0]["queue"], "alpha");
    assert_eq!(answers[0]["answer"], "confirmed");

    // The paused queue starts nothing while the other runs on: beta's jobs complete, alpha's
    // stay available well past the time beta needed.
    insert_sleepers(&db, "alpha", 3);
    insert_sleepers(&db, "beta", 3);
    worker.wait_for("beta's jobs", Duration::from_secs(20), || {
        count(&db, "beta", "completed") == 3
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&db, "alpha", "available"), 3, "{}", worker.log());

    let queues = json_out(&succeeds(&["-d", &db.url, "queues", "-o", "json"]));
    assert_eq!(producer(&queues, "alpha", "n1")["paused"], true);
    assert_eq!(producer(&queues, "beta", "n1")["paused"], false);
    assert_eq!(producer(&queues, "alpha", "n1")["limit"], 5);
    assert_eq!(producer(&queues, "alpha", "n1")["alive"], true);
    assert_eq!(queues["counts"]["alpha"]["available"], 3);
    let table = succeeds(&["-d", &db.url, "queues"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("alpha") && l.contains("PAUSED")),
        "{text}"
    );

    let out = succeeds(&["-d", &db.url, "resume", "alpha"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("resumed alpha: confirmed by 1 of 1 producer"),
        "{text}"
    );
    worker.wait_for("alpha's jobs after resume", Duration::from_secs(20), || {
        count(&db, "alpha", "completed") == 3
    });
}

#[test]
fn pause_addresses_one_node_and_all_queues() {
    let db = PgDb::migrated("inc_node", "public");
    let _one = Worker::start(&db, "n1", "alpha:2");
    let _two = Worker::start(&db, "n2", "alpha:2,beta:2");

    let report = json_out(&succeeds(&[
        "-d", &db.url, "pause", "alpha", "--node", "n2", "-o", "json",
    ]));
    let answers = report["producers"].as_array().expect("answers");
    assert_eq!(answers.len(), 1, "{report}");
    assert_eq!(answers[0]["node"], "n2");
    assert_eq!(answers[0]["answer"], "confirmed");
    // Give n1 the time to have (wrongly) obeyed too.
    std::thread::sleep(Duration::from_millis(500));
    let queues = json_out(&succeeds(&["-d", &db.url, "queues", "-o", "json"]));
    assert_eq!(producer(&queues, "alpha", "n2")["paused"], true);
    assert_eq!(producer(&queues, "alpha", "n1")["paused"], false);
    assert_eq!(producer(&queues, "beta", "n2")["paused"], false);

    let report = json_out(&succeeds(&["-d", &db.url, "pause", "--all", "-o", "json"]));
    assert_eq!(report["queues"], serde_json::json!(["*"]));
    let answers = report["producers"].as_array().expect("answers");
    assert_eq!(answers.len(), 3, "{report}");
    assert!(
        answers.iter().all(|a| a["answer"] == "confirmed"),
        "{report}"
    );

    let report = json_out(&succeeds(&["-d", &db.url, "resume", "--all", "-o", "json"]));
    assert!(
        report["producers"]
            .as_array()
            .expect("answers")
            .iter()
            .all(|a| a["answer"] == "confirmed"),
        "{report}"
    );
}

#[test]
fn a_producer_that_does_not_answer_fails_the_run() {
    // A producer row that nothing runs behind: it looks alive, but no listener answers.
    let db = PgDb::migrated("inc_silent", "public");
    db.exec(
        "INSERT INTO oban_producers (uuid, name, node, queue, meta, started_at, updated_at) \
         VALUES (gen_random_uuid(), 'Oban', 'ghost', 'alpha', '{\"paused\": false, \"local_limit\": 3}', \
                 timezone('UTC', now()), timezone('UTC', now()))",
    );
    let out = oban()
        .args(["-d", &db.url, "pause", "alpha", "--wait", "300ms"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("confirmed by 0 of 1 producer"), "{text}");
    assert!(text.contains("no answer"), "{text}");
}

#[test]
fn pause_without_producers_says_it_cannot_confirm() {
    let db = crate::support::elixir_db("inc_elixir", "public");
    let out = succeeds(&["-d", &db.url, "pause", "alpha"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cannot be confirmed"), "{text}");
    let queues = succeeds(&["-d", &db.url, "queues"]);
    let text = String::from_utf8_lossy(&queues.stdout);
    assert!(text.contains("records no producers"), "{text}");
}

#[test]
fn pause_on_sqlite_is_a_usage_error() {
    let lite = LiteDb::migrated();
    let out = oban()
        .args(["-d", &lite.dsn_str(), "pause", "alpha"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no notifier"));
    let out = oban().args(["pause"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

fn state_of(db: &PgDb, id: i64) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    use diesel::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT state::text AS state FROM oban_jobs WHERE id = {id}"
    ))
    .load(&mut db.conn())
    .expect("state");
    rows.into_iter().next().map(|r| r.state).unwrap_or_default()
}

fn insert_job(db: &PgDb, worker: &str, seconds: u32) -> i64 {
    db.count(&format!(
        "INSERT INTO oban_jobs (queue, worker, args) \
         VALUES ('alpha', 'incident_jobs.{worker}', '{{\"seconds\": {seconds}}}') RETURNING id AS n"
    ))
}

#[test]
fn cancel_stops_a_running_job_that_checks() {
    let db = PgDb::migrated("inc_cancel", "public");
    let mut worker = Worker::start(&db, "n1", "alpha:2");
    let id = insert_job(&db, "Watchful", 120);
    worker.wait_for("the job to run", Duration::from_secs(20), || {
        state_of(&db, id) == "executing"
    });

    let out = oban()
        .args(["-d", &db.url, "cancel", &id.to_string(), "--wait", "15s"])
        .args(["-o", "json"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        worker.log()
    );
    let report = json_out(&out);
    assert_eq!(report["jobs"][0]["id"], id);
    assert_eq!(report["jobs"][0]["state"], "executing");
    assert_eq!(report["jobs"][0]["to"], "cancelled", "{report}");
    assert_eq!(state_of(&db, id), "cancelled");
    // The worker recorded the cancel itself, with its reason as the error.
    let errors = db.count(&format!(
        "SELECT count(*) AS n FROM oban_jobs WHERE id = {id} \
         AND errors::text LIKE '%stopped on request%' AND cancelled_at IS NOT NULL"
    ));
    assert_eq!(errors, 1);
}

#[test]
fn cancel_of_a_job_that_never_checks_reports_it_still_running() {
    let db = PgDb::migrated("inc_cancel_deaf", "public");
    let mut worker = Worker::start(&db, "n1", "alpha:2");
    let id = insert_job(&db, "Sleep", 30);
    worker.wait_for("the job to run", Duration::from_secs(20), || {
        state_of(&db, id) == "executing"
    });
    let out = oban()
        .args(["-d", &db.url, "cancel", &id.to_string(), "--wait", "1s"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("still executing"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cooperative"));
    assert_eq!(state_of(&db, id), "executing");

    // Without --wait the signal is sent and the command says what to expect.
    let out = succeeds(&["-d", &db.url, "cancel", &id.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stop requested"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--wait"));
}

#[test]
fn cancel_on_elixir_marks_the_row_and_sends_pkill() {
    use diesel::connection::SimpleConnection;
    let db = crate::support::elixir_db("inc_cancel_ex", "public");
    let id = db.count(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, attempted_by) \
         VALUES ('executing', 'alpha', 'W', 1, timezone('UTC', now()), ARRAY['n1', 'p1']) \
         RETURNING id AS n",
    );
    let mut listener = db.conn();
    listener
        .batch_execute("LISTEN \"public.oban_signal\"")
        .expect("listen");
    succeeds(&["-d", &db.url, "cancel", &id.to_string()]);
    assert_eq!(state_of(&db, id), "cancelled");
    let mut got = vec![];
    for n in listener.notifications_iter() {
        got.push(n.expect("notification"));
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].channel, "public.oban_signal");
    let payload: Value = serde_json::from_str(&got[0].payload).expect("json");
    assert_eq!(
        payload,
        serde_json::json!({"action": "pkill", "job_id": id})
    );
}

#[test]
fn cancel_of_a_running_job_on_sqlite_still_refuses() {
    let lite = LiteDb::migrated();
    crate::support::insert(
        &lite,
        "main",
        &[crate::support::JobSpec::new("executing", 10.0)],
    );
    let out = succeeds(&["-d", &lite.dsn_str(), "cancel", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cannot be cancelled from outside"), "{text}");
}

#[test]
fn pause_without_waiting_and_queues_as_csv() {
    let db = PgDb::migrated("inc_nowait", "public");
    db.exec(
        "INSERT INTO oban_producers (uuid, name, node, queue, meta, started_at, updated_at) \
         VALUES (gen_random_uuid(), 'Oban', 'ghost', 'alpha', '{\"paused\": false, \"local_limit\": 3}', \
                 timezone('UTC', now()), timezone('UTC', now()) - interval '5 minutes')",
    );
    // A producer silent for 5 minutes is stale: not waited for, shown as such.
    let report = json_out(&succeeds(&["-d", &db.url, "pause", "alpha", "-o", "json"]));
    assert_eq!(report["producers"], serde_json::json!([]));
    let csv = succeeds(&["-d", &db.url, "queues", "-o", "csv"]);
    let text = String::from_utf8_lossy(&csv.stdout);
    let mut lines = text.lines();
    assert!(lines
        .next()
        .is_some_and(|h| h.starts_with("queue,node,name,paused,limit")));
    assert!(
        lines.any(|l| l.starts_with("alpha,ghost,Oban,false,3,0,") && l.contains(",false,")),
        "{text}"
    );
    let table = succeeds(&["-d", &db.url, "queues"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("STALE"));

    db.exec("UPDATE oban_producers SET updated_at = timezone('UTC', now())");
    let report = json_out(&succeeds(&[
        "-d", &db.url, "pause", "alpha", "--wait", "0s", "-o", "json",
    ]));
    assert_eq!(report["producers"][0]["answer"], "not waited for");
}

#[test]
fn cancel_limit_all_also_signals_the_running_matches() {
    use diesel::connection::SimpleConnection;
    let db = crate::support::elixir_db("inc_cancel_all", "public");
    db.exec(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, attempted_by) \
         SELECT 'executing', 'alpha', 'W', 1, timezone('UTC', now()), ARRAY['n1', 'p1'] \
         FROM generate_series(1, 3); \
         INSERT INTO oban_jobs (state, queue, worker) SELECT 'available', 'alpha', 'W' \
         FROM generate_series(1, 5); \
         INSERT INTO oban_jobs (state, queue, worker) VALUES ('available', 'beta', 'W')",
    );
    let mut listener = db.conn();
    listener
        .batch_execute("LISTEN \"public.oban_signal\"")
        .expect("listen");
    let report = json_out(&succeeds(&[
        "-d",
        &db.url,
        "-o",
        "json",
        "cancel",
        "--queue",
        "alpha",
        "--all-matching",
        "--yes",
        "--limit",
        "all",
        "--batch-size",
        "2",
    ]));
    assert_eq!(report["total"], 8, "{report}");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'cancelled'"),
        8
    );
    let pkills = listener.notifications_iter().filter_map(Result::ok).count();
    assert_eq!(pkills, 3);
}

#[test]
fn cancel_leaves_running_jobs_it_was_not_asked_for() {
    use diesel::connection::SimpleConnection;
    let db = crate::support::elixir_db("inc_cancel_only", "public");
    let running = db.count(
        "INSERT INTO oban_jobs (state, queue, worker, attempt, attempted_at, attempted_by) \
         VALUES ('executing', 'alpha', 'W', 1, timezone('UTC', now()), ARRAY['n1', 'p1']) \
         RETURNING id AS n",
    );
    db.exec("INSERT INTO oban_jobs (state, queue, worker) VALUES ('available', 'alpha', 'W')");
    let mut listener = db.conn();
    listener
        .batch_execute("LISTEN \"public.oban_signal\"")
        .expect("listen");
    let report = json_out(&succeeds(&[
        "-d",
        &db.url,
        "-o",
        "json",
        "cancel",
        "--state",
        "available",
        "--queue",
        "alpha",
        "--all-matching",
        "--yes",
    ]));
    assert_eq!(report["total"], 1);
    assert_eq!(state_of(&db, running), "executing");
    assert_eq!(listener.notifications_iter().count(), 0);
}
