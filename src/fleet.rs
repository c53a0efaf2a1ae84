//! Runs over several targets (`-d a -d b`, `[[targets]]`, `--all-prefixes`): every target's
//! run is the command's own single-target run, on a thread of its own (at most `--parallel` at
//! once, each with its own connection), its reports captured instead of written; then one
//! combined output labelled by target ([`combine`]) and the worst exit code of all.
//!
//! A target that fails is reported on stderr (password scrubbed) and in the output, and the
//! others still run. Exit codes combine by severity: 130 (interrupted) over 2 (usage) over 1
//! (failure) over 3 (threshold or check) over 0.

pub mod combine;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Result;

use crate::config::{Settings, Target};
use crate::db::{Db, SessionLimits};
use crate::dsn::Backend;
use crate::error::{exit, exit_code};
use crate::output::{capture, Captured};
use crate::{defaults, watch};

/// What one target's run gave.
#[derive(Debug)]
pub struct Outcome {
    /// The target's name.
    pub target: String,
    /// Its exit code.
    pub code: i32,
    /// Its reports, as captured.
    pub reports: Vec<Captured>,
    /// Why it failed, password scrubbed.
    pub error: Option<String>,
}

impl Outcome {
    fn failed(target: String, error: &anyhow::Error, secrets: &[String]) -> Outcome {
        Outcome {
            target,
            code: exit_code(error),
            reports: Vec::new(),
            error: Some(crate::dsn::scrub(&format!("{error:#}"), secrets)),
        }
    }
}

/// How bad an exit code is, for [`worst`].
fn severity(code: i32) -> u8 {
    match code {
        exit::OK => 0,
        exit::BREACH => 1,
        exit::FAILURE => 2,
        exit::USAGE => 3,
        _ => 4,
    }
}

/// The worse of two exit codes: 130 > 2 > 1 > 3 > 0.
pub fn worst(a: i32, b: i32) -> i32 {
    if severity(b) > severity(a) {
        b
    } else {
        a
    }
}

/// Runs `f` on each item, at most `parallel` at once, each on a thread of its own; the
/// results in the items' order.
pub fn each<T: Sync, R: Send>(items: &[T], parallel: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// The session limits of the catalog reads `--all-prefixes` makes.
fn catalog_limits() -> SessionLimits {
    SessionLimits {
        lock_timeout: defaults::LOCK_TIMEOUT,
        statement_timeout: defaults::STATEMENT_TIMEOUT,
    }
}

/// The targets of a run: with `--all-prefixes`, each PostgreSQL target becomes one target per
/// schema holding an Oban jobs table (named `name:schema`); a database that cannot be read,
/// or holds no jobs table, is an outcome of its own.
pub fn expand(settings: &Settings) -> (Vec<Target>, Vec<Outcome>) {
    if !settings.all_prefixes {
        return (settings.targets.clone(), Vec::new());
    }
    let found = each(&settings.targets, settings.parallel, |t| {
        if t.dsn.backend == Backend::Sqlite {
            return Ok(vec![t.clone()]);
        }
        let base = if t.name == Target::derived_name(&t.dsn, &t.prefix) {
            t.dsn.label()
        } else {
            t.name.clone()
        };
        let schemas = Db::connect(&t.dsn, catalog_limits(), false).and_then(|mut db| {
            let pg = db.postgres().expect("a PostgreSQL target");
            crate::db::pg::oban_schemas(pg)
        });
        match schemas {
            Ok(s) if s.is_empty() => Err((
                base,
                anyhow::anyhow!("no schema in this database holds an oban_jobs table"),
            )),
            Ok(s) => Ok(s
                .into_iter()
                .map(|schema| Target {
                    name: format!("{base}:{schema}"),
                    dsn: t.dsn.clone(),
                    prefix: schema,
                })
                .collect()),
            Err(e) => Err((base, e.context("listing the schemas (--all-prefixes)"))),
        }
    });
    let (mut targets, mut failed) = (Vec::new(), Vec::new());
    for (t, r) in settings.targets.iter().zip(found) {
        match r {
            Ok(list) => targets.extend(list),
            Err((name, e)) => {
                let secrets: Vec<String> = t.dsn.password().into_iter().collect();
                failed.push(Outcome::failed(name, &e, &secrets));
            }
        }
    }
    (targets, failed)
}

/// One target's run: `run` given the target's settings, its reports captured.
fn run_one(
    settings: &Settings,
    target: &Target,
    run: &(dyn Fn(&Settings, &mut dyn Write) -> Result<i32> + Sync),
) -> Outcome {
    if watch::interrupted() {
        return Outcome {
            target: target.name.clone(),
            code: exit::INTERRUPTED,
            reports: Vec::new(),
            error: Some("not run: interrupted".into()),
        };
    }
    let own = settings.for_target(target);
    let (result, reports) = capture(&target.name, || run(&own, &mut std::io::sink()));
    match result {
        Ok(code) => Outcome {
            target: target.name.clone(),
            code,
            reports,
            error: None,
        },
        Err(e) => {
            let secrets: Vec<String> = target.dsn.password().into_iter().collect();
            Outcome {
                reports,
                ..Outcome::failed(target.name.clone(), &e, &secrets)
            }
        }
    }
}

/// Runs a command on every target (one at a time when `sequential`: actions may prompt),
/// writes the combined output and returns the worst exit code.
pub fn run(
    settings: &Settings,
    command: &str,
    sequential: bool,
    run: &(dyn Fn(&Settings, &mut dyn Write) -> Result<i32> + Sync),
    out: &mut dyn Write,
) -> Result<i32> {
    watch::install_handler();
    let (targets, mut outcomes) = expand(settings);
    let parallel = if sequential { 1 } else { settings.parallel };
    let prompts = sequential && crate::output::Terminal::get().stdin;
    outcomes.extend(each(&targets, parallel, |t| {
        if prompts {
            eprintln!("oban: {command}: target {}", t.name);
        }
        run_one(settings, t, run)
    }));
    let mut code = exit::OK;
    let mut failures = 0;
    for o in &outcomes {
        code = worst(code, o.code);
        if let Some(e) = &o.error {
            failures += 1;
            eprintln!("oban: {command}: target {}: {e}", o.target);
        }
    }
    if failures > 0 {
        eprintln!(
            "oban: {command}: {failures} of {} targets failed",
            outcomes.len()
        );
    }
    combine::write(out, settings.style(false), &outcomes)?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_code_wins() {
        let all = |codes: &[i32]| codes.iter().fold(0, |a, &b| worst(a, b));
        assert_eq!(all(&[0, 3, 0]), 3);
        assert_eq!(all(&[3, 1, 0]), 1);
        assert_eq!(all(&[1, 2, 3]), 2);
        assert_eq!(all(&[2, 130, 1]), 130);
        assert_eq!(all(&[]), 0);
    }

    #[test]
    fn each_keeps_order_and_bounds_parallelism() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u64> = (0..12).collect();
        let out = each(&items, 3, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }
}
