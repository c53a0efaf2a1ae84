//! Refining a sampled per-queue figure until it passes the ±25% rule: sample again at the rate
//! it needs, or read exactly when that costs less, while the time budget lasts; whatever is
//! still outside is unknown. The first sample is taken outside the budget unless it would walk
//! more than [`sample::FREE_WALK`] index entries; later steps, and the exact read of a window
//! larger than a first sample, are budgeted.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use diesel::pg::PgConnection;

use super::sample::{self, Args, FigureOpts, Seen, Source};
use crate::estimate::{self, horvitz_thompson, Figure, Interval, Next, Tally};

/// Timestamp values a windowed figure samples first.
pub const WINDOW_SAMPLE: f64 = 2_000.0;
/// Jobs per queue a figure without a window index samples first.
pub const QUEUE_SAMPLE: f64 = 25.0;
/// Jobs an exact read may take outside the budget whatever the number of queues: about what
/// the first samples of ten queues read.
pub const FREE_READ: f64 = 250.0;

/// Whether reading `n` jobs of `queues` queues exactly costs no more than their first sample
/// would, so that it can be taken outside the budget as that sample is.
pub fn like_a_sample(n: f64, queues: usize) -> bool {
    n <= (QUEUE_SAMPLE * queues as f64).max(FREE_READ)
}
/// Refinement rounds at most.
const ROUNDS: usize = 6;
/// Index entries a sample walks for the cost of one job it probes: a sample's time is spread
/// over both, so that a long walk does not make each job look dear (and an exact read that
/// would fit look as if it could not).
/// Measured here: an entry walked costs about 0.15 µs, a job probed 10–50 µs (more for wide
/// rows); the larger ratio keeps the estimate of an exact read on the safe side.
const WALK_PER_PROBE: f64 = 256.0;

/// What walking `entries` index entries costs, in probed jobs.
fn walk(entries: f64) -> f64 {
    entries / WALK_PER_PROBE
}

/// A figure left unknown, with the interval its last sample gave (None: no sample fitted).
fn unknown(iv: Option<Interval>, what: &str) -> Figure {
    let reason = match iv {
        Some(iv) => format!(
            "sampled {what}: the 95% range {:.0}–{:.0} is wider than ±{:.0}%, and sampling \
             more or counting exactly did not fit the time budget",
            iv.low,
            iv.high,
            estimate::TOLERANCE * 100.0
        ),
        None => format!("sampling {what} did not fit the time budget"),
    };
    Figure::Unknown {
        interval: iv,
        reason: format!("{reason} (raise --budget, or use --exact)"),
    }
}

fn intervals(seen: &Seen, queues: &[String], pi: f64) -> BTreeMap<String, Interval> {
    queues
        .iter()
        .map(|q| {
            let t = seen.tallies.get(q).copied().unwrap_or_default();
            (q.clone(), horvitz_thompson(&t, pi, seen.largest_unit))
        })
        .collect()
}

/// What a refinement reads: the table, the figure's source, the options and the figure's SQL
/// arguments.
pub struct Refine<'a, 'b> {
    /// The quoted jobs table.
    pub jobs: &'a str,
    /// Which rows the figure counts.
    pub src: &'a Source,
    /// The pass's options and budget.
    pub opts: &'a FigureOpts<'b>,
    /// The values the figure's SQL binds.
    pub args: &'a Args,
}

/// Queues still to settle: name, their jobs in the source (an upper bound where not exact),
/// and whether that number is exact.
pub type Queues = [(String, f64, bool)];

/// The figure per queue, as settled.
pub type Out = BTreeMap<String, Figure>;

impl Refine<'_, '_> {
    /// A windowed figure through the index that lists the window.
    pub fn windowed(&self, conn: &mut PgConnection, queues: &Queues, out: &mut Out) -> Result<()> {
        let (jobs, src, opts, args) = (self.jobs, self.src, self.opts, self.args);
        let names: Vec<String> = queues.iter().map(|(q, ..)| q.clone()).collect();
        let Some(size) = sample::window_size(conn, jobs, src, args, opts.budget)? else {
            for q in &names {
                out.insert(q.clone(), unknown(None, "the jobs in the window"));
            }
            return Ok(());
        };
        let assign_exact = |out: &mut BTreeMap<String, Figure>, m: &BTreeMap<String, f64>| {
            for q in &names {
                out.insert(q.clone(), Figure::Exact(m.get(q).copied().unwrap_or(0.0)));
            }
        };
        if size == 0.0 {
            // The window is empty: every queue's figure is 0, with nothing to read.
            assign_exact(out, &BTreeMap::new());
            return Ok(());
        }
        // A small window is read exactly: as the first sample is when it holds no more jobs
        // than that sample would read, else within the budget; when that does not fit (a cold
        // heap), sampling it would not fit either, so every step is budgeted from the first.
        let small = size <= opts.small();
        if small {
            let budget = (size > WINDOW_SAMPLE).then_some(opts.budget);
            if let Some(m) = sample::exact(conn, jobs, src, args, &[], budget)? {
                assign_exact(out, &m);
                return Ok(());
            }
        }
        let mut pi = estimate::rate_for(WINDOW_SAMPLE, size);
        let mut budget = if small {
            Some(opts.budget)
        } else {
            opts.walk_budget(size)
        };
        let mut last: BTreeMap<String, Interval> = BTreeMap::new();
        for _ in 0..ROUNDS {
            let (t, p) = sample::threshold(pi);
            let started = Instant::now();
            let Some(seen) = sample::window_sample(conn, jobs, src, args, t, budget)? else {
                break;
            };
            // What one sampled job cost, the walk of the window's entries counted in; a job read
            // in order by an exact count costs a fraction.
            let per_job = started
                .elapsed()
                .div_f64((seen.jobs() + walk(size)).max(1.0));
            last = intervals(&seen, &names, p);
            let failing: Vec<Interval> = last
                .values()
                .filter(|iv| !iv.within_tolerance())
                .copied()
                .collect();
            if failing.is_empty() {
                break;
            }
            budget = Some(opts.budget);
            if !opts.budget.left() {
                break;
            }
            match estimate::next_step(&failing, p, size, size) {
                Next::Sample(r) if opts.budget.fits(per_job.mul_f64(size * r + walk(size))) => {
                    pi = r
                }
                Next::Exact
                    if opts
                        .budget
                        .fits(per_job.mul_f64(size / estimate::PROBE_COST + walk(size))) =>
                {
                    if let Some(m) = sample::exact(conn, jobs, src, args, &[], budget)? {
                        assign_exact(out, &m);
                        return Ok(());
                    }
                    break;
                }
                _ => break,
            }
        }
        let what = format!("the timestamps of {size} jobs in the window");
        for q in &names {
            let f = match last.get(q) {
                Some(iv) if iv.within_tolerance() => Figure::judge(*iv, String::new),
                iv => unknown(iv.copied(), &what),
            };
            out.insert(q.clone(), f);
        }
        Ok(())
    }

    /// A figure sampled per queue among the queue's jobs in the source state: the share of a
    /// simple random sample when the queue's jobs in that state were counted exactly
    /// ([`estimate::proportion`]), else Horvitz–Thompson.
    pub fn by_queue(&self, conn: &mut PgConnection, queues: &Queues, out: &mut Out) -> Result<()> {
        let (jobs, src, opts, args) = (self.jobs, self.src, self.opts, self.args);
        // Per queue: candidates, sampling probability, whether the candidates are counted.
        let mut open: BTreeMap<String, (f64, f64, bool)> = queues
            .iter()
            .map(|(q, n, e)| (q.clone(), (*n, estimate::rate_for(QUEUE_SAMPLE, *n), *e)))
            .collect();
        let mut last: BTreeMap<String, Interval> = BTreeMap::new();
        // The first sample walks every candidate in the index: within the budget when many.
        let mut budget = opts.walk_budget(queues.iter().map(|(_, n, _)| n).sum());
        for _ in 0..ROUNDS {
            if open.is_empty() {
                break;
            }
            let names: Vec<String> = open.keys().cloned().collect();
            let (thresholds, rates): (Vec<i64>, Vec<f64>) = open
                .values()
                .map(|(_, pi, _)| sample::threshold(*pi))
                .unzip();
            let started = Instant::now();
            let Some(seen) =
                sample::candidate_sample(conn, jobs, src, args, &names, &thresholds, budget)?
            else {
                break;
            };
            let walked: f64 = seen.counts.values().sum();
            let per_job = started
                .elapsed()
                .div_f64((seen.jobs() + walk(walked)).max(1.0));
            // The walk counted each queue's jobs in the state: from now on the share of a
            // simple random sample of a known number.
            for (q, n) in &seen.counts {
                if let Some(entry) = open.get_mut(q) {
                    entry.0 = *n;
                    entry.2 = true;
                }
                opts.counted
                    .borrow_mut()
                    .insert((q.clone(), src.state.to_string()), *n);
            }
            let mut exact = Vec::new();
            for (q, p) in names.iter().zip(rates) {
                let t: Tally = seen.tallies.get(q).copied().unwrap_or_default();
                let (n, _, counted) = open[q];
                let iv = if counted {
                    estimate::proportion(t.sum, t.units, n)
                } else {
                    horvitz_thompson(&t, p, 1.0)
                };
                last.insert(q.clone(), iv);
                if iv.within_tolerance() {
                    out.insert(q.clone(), Figure::judge(iv, String::new));
                    open.remove(q);
                    continue;
                }
                match estimate::next_step(&[iv], p, n, n) {
                    Next::Sample(r) => {
                        if let Some(entry) = open.get_mut(q) {
                            entry.1 = r;
                        }
                    }
                    Next::Exact => exact.push(q.clone()),
                }
            }
            // Only what is expected to fit: an exact read of a queue's jobs, or the next sample.
            let mut cost = std::time::Duration::ZERO;
            let mut dropped = Vec::new();
            exact.retain(|q| {
                let n = open[q].0;
                let c = per_job.mul_f64(n / estimate::PROBE_COST + walk(n));
                let keep = opts.budget.fits(cost + c);
                if keep {
                    cost += c;
                } else {
                    dropped.push(q.clone());
                }
                keep
            });
            // Only an exact read could settle these (sampling again at the same rate would see
            // the same jobs): they are unknown.
            for q in dropped {
                if let Some((n, ..)) = open.remove(&q) {
                    let what = format!("some of the {n:.0} {} jobs of the queue", src.state);
                    out.insert(q.clone(), unknown(last.get(&q).copied(), &what));
                }
            }
            let next: f64 = open
                .iter()
                .filter(|(q, _)| !exact.contains(q))
                .map(|(_, (n, r, _))| n * r)
                .sum();
            // Each round walks every open queue's jobs in the index again.
            let walks: f64 = open.values().map(|(n, ..)| walk(*n)).sum();
            let sample_fits = opts.budget.fits(cost + per_job.mul_f64(next + walks));
            budget = Some(opts.budget);
            if !opts.budget.left() {
                break;
            }
            if !exact.is_empty() {
                if let Some(m) = sample::exact(conn, jobs, src, args, &exact, budget)? {
                    for q in exact {
                        out.insert(q.clone(), Figure::Exact(m.get(&q).copied().unwrap_or(0.0)));
                        open.remove(&q);
                    }
                } else {
                    break;
                }
            }
            if !sample_fits {
                break;
            }
        }
        for (q, (n, ..)) in open {
            let what = format!("some of the {n:.0} {} jobs of the queue", src.state);
            out.insert(q.clone(), unknown(last.get(&q).copied(), &what));
        }
        Ok(())
    }
}
