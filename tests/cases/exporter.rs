//! `oban stats --listen`: the exporter answers real HTTP requests with the figures `stats
//! --exact` gives, reuses a result within `--min-interval`, shows a stopped database as
//! `oban_up 0` and recovers when it returns, and stops on SIGTERM.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::cluster::Cluster;
use crate::support::{insert, json_out, succeeds, JobSpec, Target};

pub(crate) struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the exporter and waits until it answers.
fn serve(dsn: &str, min_interval: &str) -> Served {
    serve_with(&["-d", dsn], min_interval)
}

/// Starts the exporter with these global flags (`-d …`) and waits until it answers.
pub(crate) fn serve_with(global: &[&str], min_interval: &str) -> Served {
    let port = free_port();
    let child = Command::new(assert_cmd::cargo::cargo_bin("oban"))
        .args(global)
        .args(["stats", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--min-interval", min_interval])
        .env_remove("OBAN_DSN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the exporter");
    let served = Served {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while ureq::get(&format!("{}/healthz", served.base))
        .call()
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the exporter never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    served
}

/// GET a path: status and body.
pub(crate) fn get(served: &Served, path: &str) -> (u16, String, String) {
    match ureq::get(&format!("{}{path}", served.base)).call() {
        Ok(r) => (
            r.status(),
            r.header("Content-Type").unwrap_or("").to_string(),
            r.into_string().expect("body"),
        ),
        Err(ureq::Error::Status(code, r)) => {
            (code, String::new(), r.into_string().unwrap_or_default())
        }
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// The value of the first sample of `family` whose labels contain `labels`.
pub(crate) fn sample(text: &str, family: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// `oban_jobs` by (queue, state).
fn jobs(text: &str) -> BTreeMap<(String, String), f64> {
    text.lines()
        .filter(|l| l.starts_with("oban_jobs{"))
        .filter_map(|l| {
            let queue = l.split("queue=\"").nth(1)?.split('"').next()?.to_string();
            let state = l.split("state=\"").nth(1)?.split('"').next()?.to_string();
            Some(((queue, state), l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect()
}

struct Db<'a>(&'a str);

impl Target for Db<'_> {
    fn dsn(&self) -> String {
        self.0.to_string()
    }
}

#[test]
fn the_exporter_serves_what_stats_exact_counts_caches_and_survives_an_outage() {
    let cluster = Cluster::primary();
    let dsn = cluster.dsn("postgres");
    succeeds(&["-d", &dsn, "migrate", "-q"]);
    succeeds(&["-d", &dsn, "seed", "--jobs", "3000", "--seed", "5", "-q"]);

    let served = serve(&dsn, "2s");
    let (status, kind, text) = get(&served, "/metrics");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    assert_eq!(
        sample(&text, "oban_up", "prefix=\"public\""),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains(&format!("oban_up{{target=\"{dsn}\",prefix=\"public\"}} 1")),
        "the target is labelled by its DSN: {text}"
    );

    // The same counts as `stats --exact`.
    let exact = json_out(&succeeds(&["-d", &dsn, "stats", "--exact", "-o", "json"]));
    let served_jobs = jobs(&text);
    let mut compared = 0;
    for (queue, states) in exact["counts"].as_object().expect("counts") {
        for (state, n) in states.as_object().expect("states") {
            assert_eq!(
                served_jobs.get(&(queue.clone(), state.clone())).copied(),
                n.as_f64(),
                "{queue}/{state}"
            );
            compared += 1;
        }
    }
    assert!(compared > 10);

    // Within --min-interval the result is reused; after it, a new pass sees new jobs.
    insert(
        &Db(&dsn),
        "public",
        &[JobSpec::new("available", 5.0).queue("fresh")],
    );
    let (_, _, again) = get(&served, "/metrics");
    assert_eq!(sample(&again, "oban_exporter_scrapes_total", ""), Some(1.0));
    assert!(!again.contains("queue=\"fresh\""), "served from the cache");
    std::thread::sleep(Duration::from_millis(2200));
    let (_, _, later) = get(&served, "/metrics");
    assert_eq!(sample(&later, "oban_exporter_scrapes_total", ""), Some(2.0));
    assert_eq!(
        sample(&later, "oban_jobs", "queue=\"fresh\",state=\"available\""),
        Some(1.0)
    );

    // A stopped database is `oban_up 0` in a successful scrape, and it recovers.
    cluster.stop_primary();
    std::thread::sleep(Duration::from_millis(2200));
    let (status, _, down) = get(&served, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(sample(&down, "oban_up", ""), Some(0.0), "{down}");
    assert_eq!(
        sample(&down, "oban_exporter_scrape_errors_total", ""),
        Some(1.0)
    );
    assert!(
        !down.contains("oban_jobs{"),
        "no stale figures are served as current"
    );
    cluster.start_primary();
    std::thread::sleep(Duration::from_millis(2200));
    let (_, _, up) = get(&served, "/metrics");
    assert_eq!(sample(&up, "oban_up", ""), Some(1.0), "{up}");

    // Other paths.
    assert_eq!(get(&served, "/healthz").0, 200);
    assert_eq!(get(&served, "/nothing").0, 404);
}

#[test]
fn the_exporter_stops_cleanly_on_sigterm() {
    let cluster = Cluster::primary();
    let dsn = cluster.dsn("postgres");
    succeeds(&["-d", &dsn, "migrate", "-q"]);
    let mut served = serve(&dsn, "10s");
    let pid = served.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(s) = served.child.try_wait().expect("poll") {
            break s.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
}
