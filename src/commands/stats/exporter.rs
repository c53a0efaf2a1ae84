//! `oban stats --listen ADDR`: a long-running Prometheus exporter. `/metrics` answers with the
//! same families as `stats -o prometheus`, plus the exporter's own (`oban_up`, scrape duration,
//! scrapes and errors); `/healthz` says the process is alive. A scrape reuses a result younger
//! than `--min-interval`, so a burst of scrapers cannot load the database; a failed pass is
//! served as `oban_up 0` (with the error on stderr), never as a failed scrape. Ctrl-C or
//! SIGTERM stops it between requests.
//!
//! With several targets each pass reads every one (at most `--parallel` at once, through
//! `fleet::each`), every sample gains a `target` label and the exporter's own families have a
//! series per target; a target that fails is `oban_up 0` while the others are served.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{pass, prometheus, StatsOpts};
use crate::config::{Settings, Target};
use crate::db::{Db, SessionLimits};
use crate::watch;

/// How often the server loop looks for Ctrl-C while no request comes.
const POLL: Duration = Duration::from_millis(200);

/// The Prometheus text format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the exporter keeps between requests.
struct Exporter<'a> {
    settings: &'a Settings,
    opts: &'a StatsOpts,
    limits: SessionLimits,
    min_interval: Duration,
    /// The last pass over every target: the figures of those that answered, and when it
    /// ended.
    last: Option<(String, Instant)>,
    /// Each target's own series, in the order of the last pass.
    probes: Vec<Probe>,
}

/// The exporter's own series of one target.
#[derive(Debug, Clone, Default)]
struct Probe {
    /// The `target` label: the target's name, or (one target) its DSN without the password.
    target: String,
    prefix: String,
    up: bool,
    duration: f64,
    scrapes: u64,
    errors: u64,
}

/// One of the exporter's own families: name, type, help, and its value for a target.
type Family = (&'static str, &'static str, &'static str, fn(&Probe) -> f64);

/// What one target's pass gave: its exposition, or the error.
struct Pass {
    target: String,
    prefix: String,
    secrets: Vec<String>,
    result: Result<String>,
    duration: f64,
}

/// Serves until Ctrl-C or SIGTERM. Returns the exit code.
pub fn serve(
    settings: &Settings,
    opts: &StatsOpts,
    limits: SessionLimits,
    addr: SocketAddr,
    min_interval: Duration,
) -> Result<i32> {
    if !settings.fleet() {
        settings.require_dsn()?;
    }
    let server = tiny_http::Server::http(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    watch::install_handler();
    if !settings.quiet {
        eprintln!("oban: stats: serving /metrics and /healthz on http://{addr} (Ctrl-C to stop)");
    }
    let mut exporter = Exporter {
        settings,
        opts,
        limits,
        min_interval,
        last: None,
        probes: Vec::new(),
    };
    while !watch::interrupted() {
        let Some(request) = server.recv_timeout(POLL).context("waiting for requests")? else {
            continue;
        };
        let (status, body) = match (request.method(), request.url()) {
            (tiny_http::Method::Get, "/metrics") => (200, exporter.metrics()),
            (tiny_http::Method::Get, "/healthz") => (200, "ok\n".to_string()),
            (tiny_http::Method::Get, _) => (404, "not found: try /metrics\n".to_string()),
            _ => (405, "only GET\n".to_string()),
        };
        let header = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE)
            .map_err(|_| anyhow::anyhow!("bad header"))?;
        let response = tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(header);
        // A scraper that hung up is its own business.
        let _ = request.respond(response);
    }
    Ok(crate::error::exit::OK)
}

impl Exporter<'_> {
    /// The exposition: the cached pass when it is young enough, else a new pass over every
    /// target. One target is served as `stats -o prometheus` writes it; several carry a
    /// `target` label on every sample.
    fn metrics(&mut self) -> String {
        let fresh = self
            .last
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < self.min_interval);
        if !fresh {
            let passes = self.pass();
            // A target gone since the last pass (a schema dropped, with --all-prefixes) is no
            // longer served, rather than served as it last was.
            self.probes
                .retain(|q| passes.iter().any(|p| p.target == q.target));
            let mut ok = Vec::new();
            for p in &passes {
                let probe = match self.probes.iter_mut().find(|q| q.target == p.target) {
                    Some(probe) => probe,
                    None => {
                        self.probes.push(Probe {
                            target: p.target.clone(),
                            prefix: p.prefix.clone(),
                            ..Probe::default()
                        });
                        self.probes.last_mut().expect("just pushed")
                    }
                };
                probe.scrapes += 1;
                probe.duration = p.duration;
                probe.up = p.result.is_ok();
                match &p.result {
                    Ok(text) => ok.push((p.target.as_str(), text.as_str())),
                    Err(e) => {
                        probe.errors += 1;
                        eprintln!(
                            "oban: stats: scrape of {} failed: {}",
                            p.target,
                            crate::dsn::scrub(&format!("{e:#}"), &p.secrets)
                        );
                    }
                }
            }
            let text = if self.settings.fleet() {
                crate::fleet::combine::merge_expositions(&ok)
            } else {
                ok.first().map(|(_, t)| t.to_string()).unwrap_or_default()
            };
            self.last = Some((text, Instant::now()));
        }
        let (text, at) = self.last.clone().expect("a pass was made");
        let mut out = text;
        out.push_str(&self.own(at.elapsed().as_secs_f64()));
        out
    }

    /// One stats pass over every target, at most `--parallel` at once.
    fn pass(&self) -> Vec<Pass> {
        if !self.settings.fleet() {
            let dsn = self.settings.dsn.clone().expect("checked at start");
            let target = Target {
                name: dsn.to_string(),
                dsn,
                prefix: self.settings.prefix.clone(),
            };
            return vec![self.scrape(&target)];
        }
        let (targets, failed) = crate::fleet::expand(self.settings);
        let mut passes: Vec<Pass> = failed
            .into_iter()
            .map(|o| Pass {
                target: o.target,
                prefix: String::new(),
                secrets: Vec::new(),
                result: Err(anyhow::anyhow!(o.error.unwrap_or_default())),
                duration: 0.0,
            })
            .collect();
        passes.extend(crate::fleet::each(&targets, self.settings.parallel, |t| {
            self.scrape(t)
        }));
        passes
    }

    /// One stats pass over one target, as the Prometheus exposition.
    fn scrape(&self, target: &Target) -> Pass {
        let started = Instant::now();
        let result = Db::connect(&target.dsn, self.limits, false).and_then(|mut db| {
            let schema = db.schema(&target.prefix)?;
            let report = pass(&mut db, &schema, self.opts, None)?;
            Ok(prometheus::render(&report))
        });
        Pass {
            target: target.name.clone(),
            prefix: target.prefix.clone(),
            secrets: target.dsn.password().into_iter().collect(),
            result,
            duration: started.elapsed().as_secs_f64(),
        }
    }

    /// The exporter's own families, one series per target, labelled with the target and
    /// prefix.
    fn own(&self, age: f64) -> String {
        let families: [Family; 4] = [
            (
                "oban_up",
                "gauge",
                "1 when the last pass over the target succeeded, 0 when it failed.",
                |p| f64::from(u8::from(p.up)),
            ),
            (
                "oban_exporter_scrape_duration_seconds",
                "gauge",
                "How long the last pass over the target took.",
                |p| p.duration,
            ),
            (
                "oban_exporter_scrapes_total",
                "counter",
                "Passes over the target (scrapes served from the cache not counted).",
                |p| p.scrapes as f64,
            ),
            (
                "oban_exporter_scrape_errors_total",
                "counter",
                "Passes over the target that failed.",
                |p| p.errors as f64,
            ),
        ];
        let labels = |p: &Probe| {
            format!(
                "{{target=\"{}\",prefix=\"{}\"}}",
                prometheus::label(&p.target),
                prometheus::label(&p.prefix)
            )
        };
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, values: Vec<(String, f64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in values {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        for (i, (name, kind, help, value)) in families.into_iter().enumerate() {
            family(
                name,
                kind,
                help,
                self.probes.iter().map(|p| (labels(p), value(p))).collect(),
            );
            if i == 1 {
                family(
                    "oban_exporter_result_age_seconds",
                    "gauge",
                    "Age of the result served (passes younger than --min-interval are reused).",
                    self.probes.iter().map(|p| (labels(p), age)).collect(),
                );
            }
        }
        out
    }
}
