//! `oban stats --listen ADDR`: a long-running Prometheus exporter. `/metrics` answers with the
//! same families as `stats -o prometheus`, plus the exporter's own (`oban_up`, scrape duration,
//! scrapes and errors); `/healthz` says the process is alive. A scrape reuses a result younger
//! than `--min-interval`, so a burst of scrapers cannot load the database; a failed pass is
//! served as `oban_up 0` (with the error on stderr), never as a failed scrape. Ctrl-C or
//! SIGTERM stops it between requests.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::{pass, prometheus, StatsOpts};
use crate::config::Settings;
use crate::db::{Db, SessionLimits};
use crate::dsn::Dsn;
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
    dsn: Dsn,
    min_interval: Duration,
    /// The last pass: its exposition (None when it failed) and when it ended.
    last: Option<(Option<String>, Instant)>,
    duration: f64,
    scrapes: u64,
    errors: u64,
}

/// Serves until Ctrl-C or SIGTERM. Returns the exit code.
pub fn serve(
    settings: &Settings,
    opts: &StatsOpts,
    limits: SessionLimits,
    addr: SocketAddr,
    min_interval: Duration,
) -> Result<i32> {
    let dsn = settings.require_dsn()?.clone();
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
        dsn,
        min_interval,
        last: None,
        duration: 0.0,
        scrapes: 0,
        errors: 0,
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
    /// The exposition: the cached pass when it is young enough, else a new pass.
    fn metrics(&mut self) -> String {
        let fresh = self
            .last
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < self.min_interval);
        if !fresh {
            let started = Instant::now();
            let result = self.scrape();
            self.duration = started.elapsed().as_secs_f64();
            self.scrapes += 1;
            let text = match result {
                Ok(text) => Some(text),
                Err(e) => {
                    self.errors += 1;
                    let secrets: Vec<String> = self.dsn.password().into_iter().collect();
                    eprintln!(
                        "oban: stats: scrape failed: {}",
                        crate::dsn::scrub(&format!("{e:#}"), &secrets)
                    );
                    None
                }
            };
            self.last = Some((text, Instant::now()));
        }
        let (text, at) = match &self.last {
            Some((text, at)) => (text.as_deref(), *at),
            None => (None, Instant::now()),
        };
        let mut out = text.unwrap_or_default().to_string();
        out.push_str(&self.own(text.is_some(), at.elapsed().as_secs_f64()));
        out
    }

    /// One stats pass, as the Prometheus exposition.
    fn scrape(&self) -> Result<String> {
        let mut db = Db::connect(&self.dsn, self.limits, false)?;
        let schema = db.schema(&self.settings.prefix)?;
        let report = pass(&mut db, &schema, self.opts, None)?;
        Ok(prometheus::render(&report))
    }

    /// The exporter's own families, labelled with the target (its DSN without the password)
    /// and prefix.
    fn own(&self, up: bool, age: f64) -> String {
        let labels = format!(
            "{{target=\"{}\",prefix=\"{}\"}}",
            prometheus::label(&self.dsn.to_string()),
            prometheus::label(&self.settings.prefix)
        );
        let mut out = String::new();
        for (name, kind, help, value) in [
            (
                "oban_up",
                "gauge",
                "1 when the last pass over the target succeeded, 0 when it failed.",
                f64::from(u8::from(up)),
            ),
            (
                "oban_exporter_scrape_duration_seconds",
                "gauge",
                "How long the last pass over the target took.",
                self.duration,
            ),
            (
                "oban_exporter_result_age_seconds",
                "gauge",
                "Age of the result served (passes younger than --min-interval are reused).",
                age,
            ),
            (
                "oban_exporter_scrapes_total",
                "counter",
                "Passes over the target (scrapes served from the cache not counted).",
                self.scrapes as f64,
            ),
            (
                "oban_exporter_scrape_errors_total",
                "counter",
                "Passes over the target that failed.",
                self.errors as f64,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{labels} {value}"
            );
        }
        out
    }
}
