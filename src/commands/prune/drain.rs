//! One prune pass: take the cutoffs from the database clock, then count (dry run) or drain in
//! bounded batches under the advisory lock, with one connection or two from both ends; with
//! retention rules, part by part (`rules`), within one `--limit`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use super::rules::{self, Part};
use super::throttle::{Throttle, Waited};
use super::walk::Walk;
use super::{leaves, Archive, Method, Outcome, PruneOpts, PruneReport};
use crate::db::{lock, Batch, Cursor, Db, DeletedRow, End, Plan, Schema};
use crate::watch;

/// Runs one pass on an open connection. `progress` is advanced by the rows of each batch.
pub fn pass(
    db: &mut Db,
    schema: &Schema,
    opts: &PruneOpts,
    archive: Option<&mut Archive>,
    progress: Option<&ProgressBar>,
) -> Result<PruneReport> {
    let started = Instant::now();
    let mut report = PruneReport::new(opts, schema);
    let parts = rules::parts(db, schema, opts, &mut report)?;
    if parts.iter().all(|p| p.targets.is_empty()) {
        report.elapsed = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    // Leaves that go whole; batches leave their rows alone (see `db::pg::prune`). The default
    // part is the last: with rules, its filter keeps every leaf out.
    let leaves = match parts.last() {
        Some(last) => leaves::whole(schema, &last.filter, &last.targets),
        None => Vec::new(),
    };
    if opts.dry_run {
        count(db, schema, opts, &parts, &mut report)?;
        let batched = report.total;
        leaves::count(db, &leaves, &mut report)?;
        report.eligible = report.eligible.map(|n| n + report.total - batched);
        report.elapsed = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    if let Some(bar) = progress {
        // The bar's length is what this pass will delete, so it can show an ETA.
        let all = eligible(db, schema, opts, &parts)?;
        bar.set_length(all.min(opts.limit));
    }

    let throttle = Throttle::new(&opts.throttle);
    if let (Some(t), Some(conn)) = (&throttle, db.postgres()) {
        t.check(conn)?;
    }
    let mut whole_leaves = PruneReport::new(opts, schema);
    let mut archive = archive;
    let drained = lock::exclusive(db, "prune", &schema.prefix, |db| {
        leaves::remove(
            db,
            schema,
            opts,
            &leaves,
            archive.as_deref_mut(),
            &mut whole_leaves,
            started,
        )?;
        let mut all = Drained::default();
        let mut method = Method::Index;
        for (i, part) in parts.iter().enumerate() {
            let left = opts.limit.saturating_sub(all.cells.values().sum());
            if part.targets.is_empty() {
                continue;
            }
            if left == 0 {
                all.outcome = Outcome::Limit;
                break;
            }
            // Planned for one batch: a walk only pays when at least a batch is eligible.
            let plan = db
                .plan(&part.batch(schema, opts.batch_size))
                .context("planning the pass")?;
            let walk = match plan {
                Plan::Nothing => continue,
                Plan::Index => None,
                Plan::Walk { blocks, density } => Some(Walk::new(blocks, density)),
            };
            if walk.is_some() {
                method = Method::HeapWalk;
            }
            let drain = Drain {
                walk,
                schema,
                opts,
                part,
                budget: AtomicU64::new(left),
                archive: archive.as_deref_mut().map(Mutex::new),
                progress,
                started,
                failed: AtomicBool::new(false),
                throttle: throttle.as_ref(),
            };
            let done = drain.delete_all(db)?;
            all.per_part.push((i, done.cells.values().sum()));
            for (cell, n) in done.cells {
                *all.cells.entry(cell).or_default() += n;
            }
            all.batches += done.batches;
            all.outcome = done.outcome;
            if done.outcome != Outcome::Done {
                break;
            }
        }
        Ok((all, method))
    })?;
    report.throttle = throttle.as_ref().map(Throttle::report);
    let Some((drained, method)) = drained else {
        report.outcome = Outcome::Locked;
        report.elapsed = started.elapsed().as_secs_f64();
        return Ok(report);
    };
    report.method = Some(method);
    for ((state, queue), n) in &drained.cells {
        report.add(state, queue, *n);
    }
    for (i, n) in drained.per_part {
        report.add_to_rule(i, n);
    }
    report.batches = drained.batches;
    report.outcome = drained.outcome;
    if report.outcome == Outcome::Done && report.total >= opts.limit {
        report.outcome = Outcome::Limit;
    }
    // Whole leaves are not rows of a batch: `--limit` bounds the batches only.
    for (state, n) in &whole_leaves.deleted {
        *report.deleted.entry(state).or_default() += n;
    }
    report.total += whole_leaves.total;
    report.partitions_dropped = whole_leaves.partitions_dropped;
    report.partitions_busy = whole_leaves.partitions_busy;
    report.elapsed = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A dry run: what each part would take, in order, within `--limit`; and every eligible row
/// when the limit is reached.
fn count(
    db: &mut Db,
    schema: &Schema,
    opts: &PruneOpts,
    parts: &[Part],
    report: &mut PruneReport,
) -> Result<()> {
    for (i, part) in parts.iter().enumerate() {
        let left = opts.limit.saturating_sub(report.total);
        if part.targets.is_empty() || left == 0 {
            continue;
        }
        let counts = db
            .count_prunable(&part.batch(schema, left))
            .context("counting prunable jobs")?;
        for c in counts {
            report.add(c.state.name(), &c.queue, c.count as u64);
            report.add_to_rule(i, c.count as u64);
        }
    }
    if report.total >= opts.limit {
        report.outcome = Outcome::Limit;
        report.eligible = Some(eligible(db, schema, opts, parts)?);
    } else {
        report.eligible = Some(report.total);
    }
    Ok(())
}

/// Every row the parts could take, however many passes that takes.
fn eligible(db: &mut Db, schema: &Schema, opts: &PruneOpts, parts: &[Part]) -> Result<u64> {
    let mut all = 0;
    for part in parts.iter().filter(|p| !p.targets.is_empty()) {
        all += db
            .count_eligible(&part.batch(schema, opts.limit))
            .context("counting every eligible job")?;
    }
    Ok(all)
}

/// What one or two drains did.
#[derive(Debug, Default)]
struct Drained {
    cells: BTreeMap<(String, String), u64>,
    /// Rows per part (its index), over a whole pass.
    per_part: Vec<(usize, u64)>,
    batches: u64,
    outcome: Outcome,
}

/// Shared by the drains of one pass.
struct Drain<'a> {
    schema: &'a Schema,
    opts: &'a PruneOpts,
    /// The rows this drain may take.
    part: &'a Part,
    /// Rows the pass may still delete; each batch claims its size up front.
    budget: AtomicU64,
    archive: Option<Mutex<&'a mut Archive>>,
    progress: Option<&'a ProgressBar>,
    started: Instant,
    /// Set when a drain fails, so the other stops after its batch in flight.
    failed: AtomicBool,
    /// Waits before each batch, when throttles are set.
    throttle: Option<&'a Throttle>,
    /// The heap walk, when the pass walks the heap instead of the indexes.
    walk: Option<Walk>,
}

impl Drain<'_> {
    /// Deletes in batches until nothing is eligible, the limit, the runtime or Ctrl-C. With a
    /// second connection, two drains work at once from both ends of the eligible range (oldest
    /// first, newest first), so they never compete for the same rows until they meet.
    fn delete_all(&self, db: &mut Db) -> Result<Drained> {
        let Some(dsn) = &self.opts.second_connection else {
            return self.run(db, End::Oldest);
        };
        std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let result = Db::connect(dsn, self.opts.limits, false)
                    .context("opening the second connection")
                    .and_then(|mut second| self.run(&mut second, End::Newest));
                if result.is_err() {
                    self.failed.store(true, Ordering::SeqCst);
                }
                result
            });
            let mine = self.run(db, End::Oldest);
            if mine.is_err() {
                self.failed.store(true, Ordering::SeqCst);
            }
            let theirs = other
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the second connection's drain panicked")));
            let (mut a, b) = (mine?, theirs?);
            for (cell, n) in b.cells {
                *a.cells.entry(cell).or_default() += n;
            }
            a.batches += b.batches;
            a.outcome = a.outcome.max(b.outcome);
            Ok(a)
        })
    }

    /// Waits for the throttles before a batch; the outcome that ends the drain, if any.
    fn throttled(&self, db: &mut Db) -> Result<Option<Outcome>> {
        let (Some(throttle), Some(conn)) = (self.throttle, db.postgres()) else {
            return Ok(None);
        };
        let deadline = self.opts.max_runtime.map(|max| self.started + max);
        let status = |text: &str| {
            if let Some(bar) = self.progress {
                bar.set_message(text.to_string());
            }
        };
        Ok(match throttle.wait(conn, deadline, &status)? {
            Waited::Go => None,
            Waited::MaxRuntime => Some(Outcome::MaxRuntime),
            Waited::Interrupted => Some(Outcome::Interrupted),
        })
    }

    fn run(&self, db: &mut Db, end: End) -> Result<Drained> {
        let opts = self.opts;
        let mut done = Drained::default();
        let mut cursor = Cursor::new(end);
        let mut full = false;
        // The heap walk's range in hand: where it began, the rows taken from it so far, and
        // where a full batch's successor begins (the block of its last row).
        let mut range_from = 0;
        let mut range_rows = 0;
        let mut resume: Option<u64> = None;
        loop {
            if watch::interrupted() {
                done.outcome = Outcome::Interrupted;
                return Ok(done);
            }
            if self.failed.load(Ordering::SeqCst) {
                return Ok(done);
            }
            if opts
                .max_runtime
                .is_some_and(|max| self.started.elapsed() >= max)
            {
                done.outcome = Outcome::MaxRuntime;
                return Ok(done);
            }
            if let Some(outcome) = self.throttled(db)? {
                done.outcome = outcome;
                return Ok(done);
            }
            let claim = self
                .budget
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    (left > 0).then(|| left - left.min(opts.batch_size))
                });
            let Ok(left) = claim else {
                done.outcome = Outcome::Limit;
                return Ok(done);
            };
            let n = left.min(opts.batch_size);
            // Walking the heap: the rest of the range after a full batch (it may hold more),
            // else the next one; the walk ends when the heap has been walked.
            if let Some(walk) = &self.walk {
                let range = match cursor.walked() {
                    Some((from, to)) if full => Some((resume.unwrap_or(from).max(from), to)),
                    _ => walk.claim(n).inspect(|&(from, _)| {
                        range_from = from;
                        range_rows = 0;
                    }),
                };
                let Some((from, to)) = range else {
                    self.budget.fetch_add(n, Ordering::SeqCst);
                    return Ok(done);
                };
                cursor = Cursor::blocks(from, to);
            }
            let mut sink = |rows: &[DeletedRow]| match &self.archive {
                Some(archive) => archive
                    .lock()
                    .map_err(|_| anyhow::anyhow!("archive lock poisoned"))?
                    .append(rows),
                None => Ok(()),
            };
            let batch = Batch {
                schema: self.schema,
                targets: &self.part.targets,
                filter: &self.part.filter,
                size: n,
                archive: self.archive.is_some(),
                cursor: cursor.clone(),
            };
            let deleted = db.delete_batch(&batch, &mut sink).with_context(|| {
                let deleted: u64 = done.cells.values().sum();
                format!(
                    "deleting batch {} (after {deleted} jobs deleted and committed in this pass)",
                    done.batches + 1
                )
            })?;
            let got = deleted.total();
            self.budget.fetch_add(n - got.min(n), Ordering::SeqCst);
            if got > 0 {
                done.batches += 1;
            }
            cursor.advance(&deleted.rows);
            for (state, queue, count) in deleted.cells() {
                *done
                    .cells
                    .entry((state.to_string(), queue.to_string()))
                    .or_default() += count;
            }
            if let Some(bar) = self.progress {
                bar.inc(got);
            }
            // A short batch means nothing more is eligible from this end (or in this range),
            // apart from rows that other sessions hold locked; those wait for the next pass.
            full = got == n;
            range_rows += got;
            resume = deleted.last_block;
            match (&self.walk, cursor.walked()) {
                (Some(walk), Some((_, to))) if !full => walk.saw(range_rows, to - range_from),
                (None, _) if !full => return Ok(done),
                _ => {}
            }
            if !opts.pause.is_zero() && !watch::sleep(opts.pause) {
                done.outcome = Outcome::Interrupted;
                return Ok(done);
            }
        }
    }
}
