//! `prune`'s throttles (PostgreSQL): before each batch, wait while a standby or a replication
//! slot is too far behind, and pace the pass to a WAL rate. Waiting is bounded by
//! `--max-runtime` and Ctrl-C like the rest of the pass.
//!
//! A time limit on replica lag does not rest on `replay_lag` alone: that column is measured
//! only when replay reports progress, so it stops growing while replay is paused or stuck.
//! A standby that has WAL to replay and whose replay position has not moved since an earlier
//! check is taken to be at least as far behind as the time since its position last moved.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::cli::{ReplicaLag, ThrottleArgs};
use crate::db::pg::{replication, Pg};
use crate::watch;

/// How often the figures are read again while waiting.
const POLL: Duration = Duration::from_millis(200);

/// What the throttles did in one pass (JSON `throttle`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ThrottleReport {
    /// Batches that had to wait before they started.
    pub waits: u64,
    /// Seconds spent waiting, in all.
    pub waited_seconds: f64,
    /// Seconds waited per cause: `replica_lag`, `slot_lag`, `wal_rate`.
    pub waited_by_cause: BTreeMap<&'static str, f64>,
    /// Bytes of WAL the server wrote from the first batch to the last check.
    pub wal_bytes: f64,
}

/// Why a batch waits.
struct Hold {
    cause: &'static str,
    /// Said on the progress bar.
    reason: String,
    /// How long to sleep before looking again.
    sleep: Duration,
}

#[derive(Default)]
struct State {
    report: ThrottleReport,
    /// The WAL position and the time of the first check.
    start: Option<(f64, Instant)>,
    /// Each standby's replay position and when it was first seen there.
    replay_seen: BTreeMap<String, (String, Instant)>,
}

/// The throttles of one pass, shared by its drains.
pub struct Throttle {
    limits: ThrottleArgs,
    state: Mutex<State>,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The batch may start.
    Go,
    /// `--max-runtime` ran out while waiting.
    MaxRuntime,
    /// Ctrl-C while waiting.
    Interrupted,
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

impl Throttle {
    /// The throttles asked for; None when there are none.
    pub fn new(limits: &ThrottleArgs) -> Option<Throttle> {
        limits.any().then(|| Throttle {
            limits: limits.clone(),
            state: Mutex::new(State::default()),
        })
    }

    /// Checks that this user can read what the throttles need, once per pass.
    pub fn check(&self, conn: &mut Pg) -> Result<()> {
        if self.limits.max_replica_lag.is_some() && !replication::sees_standby_positions(conn)? {
            bail!(
                "--max-replica-lag: this user cannot see standby positions in \
                 pg_stat_replication; grant it pg_monitor (GRANT pg_monitor TO <user>) or drop \
                 the flag"
            );
        }
        Ok(())
    }

    /// Waits until every limit allows the next batch, or `deadline` passes, or Ctrl-C.
    /// `status` is told why, while waiting (the progress bar's message).
    pub fn wait(
        &self,
        conn: &mut Pg,
        deadline: Option<Instant>,
        status: &dyn Fn(&str),
    ) -> Result<Waited> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("throttle state poisoned"))?;
        let mut waited_this_batch = false;
        loop {
            let Some(hold) = self.hold(conn, &mut state)? else {
                status("");
                return Ok(Waited::Go);
            };
            if !waited_this_batch {
                state.report.waits += 1;
                waited_this_batch = true;
            }
            status(&format!("waiting: {}", hold.reason));
            let mut sleep = hold.sleep;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Waited::MaxRuntime);
                }
                sleep = sleep.min(left);
            }
            let slept = Instant::now();
            let awake = watch::sleep(sleep);
            let took = slept.elapsed().as_secs_f64();
            state.report.waited_seconds += took;
            *state.report.waited_by_cause.entry(hold.cause).or_default() += took;
            if !awake {
                return Ok(Waited::Interrupted);
            }
        }
    }

    /// What the pass's throttles did so far.
    pub fn report(&self) -> ThrottleReport {
        self.state
            .lock()
            .map(|s| s.report.clone())
            .unwrap_or_default()
    }

    /// The first limit that holds the next batch back, if any.
    fn hold(&self, conn: &mut Pg, state: &mut State) -> Result<Option<Hold>> {
        let now = Instant::now();
        let position = replication::wal_position(conn)?;
        let (start, started) = *state.start.get_or_insert((position, now));
        state.report.wal_bytes = position - start;
        if let Some(rate) = self.limits.max_wal_rate {
            // The pass may have written `rate` bytes per second since it started.
            let due = started + Duration::from_secs_f64((position - start) / rate as f64);
            if due > now {
                return Ok(Some(Hold {
                    cause: "wal_rate",
                    reason: format!(
                        "{} of WAL written, pacing to {}/s",
                        mb(position - start),
                        mb(rate as f64)
                    ),
                    sleep: due - now,
                }));
            }
        }
        if let Some(limit) = self.limits.max_replica_lag {
            for s in replication::standbys(conn)? {
                let Some(behind) = s.behind_bytes else {
                    return Ok(Some(Hold {
                        cause: "replica_lag",
                        reason: format!("standby {} has not reported its position", s.name),
                        sleep: POLL,
                    }));
                };
                let over = match limit {
                    ReplicaLag::Bytes(max) => (behind > max as f64).then(|| {
                        format!(
                            "standby {} is {} behind (limit {})",
                            s.name,
                            mb(behind),
                            mb(max as f64)
                        )
                    }),
                    ReplicaLag::Time(max) => {
                        let lag = time_behind(&s, behind, now, &mut state.replay_seen);
                        (lag > max).then(|| {
                            format!(
                                "standby {} is {:.1}s behind (limit {})",
                                s.name,
                                lag.as_secs_f64(),
                                crate::duration::human(max)
                            )
                        })
                    }
                };
                if let Some(reason) = over {
                    return Ok(Some(Hold {
                        cause: "replica_lag",
                        reason,
                        sleep: POLL,
                    }));
                }
            }
        }
        if let Some(max) = self.limits.max_slot_lag {
            if let Some(slot) = replication::slots(conn)?
                .into_iter()
                .find(|s| s.retained_bytes > max as f64)
            {
                return Ok(Some(Hold {
                    cause: "slot_lag",
                    reason: format!(
                        "replication slot {} keeps {} of WAL (limit {})",
                        slot.name,
                        mb(slot.retained_bytes),
                        mb(max as f64)
                    ),
                    sleep: POLL,
                }));
            }
        }
        Ok(None)
    }
}

/// How far behind in time a standby is: its `replay_lag`, or, when it has WAL to replay and its
/// replay position has not moved since an earlier check, the time since it was first seen there,
/// whichever is longer.
fn time_behind(
    s: &replication::Standby,
    behind: f64,
    now: Instant,
    seen: &mut BTreeMap<String, (String, Instant)>,
) -> Duration {
    if behind <= 0.0 {
        seen.remove(&s.name);
        return Duration::ZERO;
    }
    let reported = Duration::from_secs_f64(s.replay_lag.unwrap_or(0.0).max(0.0));
    let position = s.replay_lsn.clone().unwrap_or_default();
    let since = match seen.get(&s.name) {
        Some((p, at)) if *p == position => *at,
        _ => {
            seen.insert(s.name.clone(), (position, now));
            now
        }
    };
    reported.max(now - since)
}
