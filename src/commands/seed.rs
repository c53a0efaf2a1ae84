//! `oban seed`: a realistic population of jobs, generated here and inserted in large batches
//! (one JSON document per batch, unpacked by the database), with ids in time order as in
//! production. Times are offsets from the database clock, so seeded ages never depend on the
//! client's clock.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::SeedArgs;
use crate::config::Settings;
use crate::db::{Db, Schema};
use crate::defaults;
use crate::output::{self, Report};
use crate::watch;

/// Jobs per insert statement.
const BATCH: u64 = 10_000;
/// Seeded jobs span this many seconds before now (7 days).
const WINDOW: f64 = 7.0 * 86_400.0;

/// The result of `oban seed`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// Always "seed".
    pub command: &'static str,
    /// Jobs inserted.
    pub inserted: u64,
    /// Jobs inserted per state.
    pub states: BTreeMap<&'static str, u64>,
    /// The random seed used (pass it again for the same population).
    pub seed: u64,
    /// Seconds taken.
    pub elapsed: f64,
    /// On a partitioned table: the leaves made first, for the days the seeded jobs finished on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions_created: Vec<String>,
}

impl Report for SeedReport {
    fn to_table(&self) -> String {
        let mut t = output::table(&["state", "jobs"]);
        for state in crate::model::JobState::ALL.map(crate::model::JobState::name) {
            if let Some(n) = self.states.get(state) {
                t.add_row(vec![state.into(), output::num(*n)]);
            }
        }
        t.add_row(vec!["total".into(), output::num(self.inserted)]);
        let mut text = String::new();
        if !self.partitions_created.is_empty() {
            text.push_str(&format!(
                "seed: created {} for the seeded days: {}\n",
                output::plural(self.partitions_created.len() as u64, "leaf", "leaves"),
                self.partitions_created.join(", ")
            ));
        }
        text.push_str(&format!(
            "seed: inserted {} in {} (seed {})\n{t}\n",
            output::plural(self.inserted, "job", "jobs"),
            output::seconds(self.elapsed),
            self.seed
        ));
        text
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("state,jobs", &self.states, |(s, n)| {
            vec![s.to_string(), n.to_string()]
        })
    }
}

const QUEUES: [(&str, u32, &[&str]); 6] = [
    (
        "default",
        30,
        &["app.workers.SyncAccount", "app.workers.RefreshCache"],
    ),
    (
        "mailers",
        25,
        &[
            "app.workers.mailers.WelcomeEmail",
            "app.workers.mailers.Digest",
        ],
    ),
    ("events", 20, &["app.workers.TrackEvent"]),
    ("webhooks", 12, &["app.workers.DeliverWebhook"]),
    (
        "media",
        8,
        &["app.workers.ResizeImage", "app.workers.TranscodeVideo"],
    ),
    ("reports", 5, &["app.workers.BuildReport"]),
];

const NODES: [&str; 4] = ["web-1", "web-2", "worker-1", "worker-2"];

/// What each queue's jobs fail with, in the order of `QUEUES`: a traceback from that queue's
/// own module, so a failing job's error fits its worker.
const ERRORS: [&str; 6] = [
    "Traceback (most recent call last):\n  File \"/app/workers/sync.py\", line 12, in process\n    account = Account.get(args['account_id'])\napp.errors.NotFound: account not found",
    "Traceback (most recent call last):\n  File \"/app/workers/mailers.py\", line 17, in process\n    smtp.send(message)\nTimeoutError: timed out after 30s",
    "Traceback (most recent call last):\n  File \"/app/workers/events.py\", line 31, in process\n    session = sessions[args['session_id']]\nKeyError: 'session_id'",
    "Traceback (most recent call last):\n  File \"/app/workers/webhooks.py\", line 42, in process\n    response.raise_for_status()\nhttpx.HTTPStatusError: Server error '503 Service Unavailable' for url 'https://hooks.example.com/in'",
    "Traceback (most recent call last):\n  File \"/app/workers/media.py\", line 88, in process\n    image = Image.open(path)\nPIL.UnidentifiedImageError: cannot identify image file '/tmp/upload-31.bin'",
    "Traceback (most recent call last):\n  File \"/app/workers/reports.py\", line 54, in process\n    rows = cursor.fetchall()\npsycopg.errors.QueryCanceled: canceling statement due to statement timeout",
];

/// A deterministic job generator.
pub struct Generator {
    rng: fastrand::Rng,
    /// A producer uuid per node and queue, as oban-py runs one producer per queue per node.
    producers: Vec<Vec<String>>,
    now: jiff::Timestamp,
}

/// The node whose producers died: the executing jobs it left behind are the orphans.
const DEAD_NODE: usize = NODES.len() - 1;

/// A live producer row for `oban_producers`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedProducer {
    /// Producer uuid.
    pub uuid: String,
    /// Node name.
    pub node: String,
    /// Queue it runs.
    pub queue: &'static str,
}

impl Generator {
    /// A generator for the given seed.
    pub fn new(seed: u64) -> Generator {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut uuid = || {
            let (a, b) = (rng.u64(..), rng.u64(..));
            format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                0x8000 | (b >> 48) & 0x3fff,
                b & 0xffff_ffff_ffff
            )
        };
        let producers = NODES
            .iter()
            .map(|_| QUEUES.iter().map(|_| uuid()).collect())
            .collect();
        Generator {
            rng,
            producers,
            now: jiff::Timestamp::now(),
        }
    }

    /// The producers still heartbeating: every node's but the dead one's.
    pub fn live_producers(&self) -> Vec<SeedProducer> {
        let mut live = Vec::new();
        for (node, uuids) in self.producers.iter().enumerate().take(DEAD_NODE) {
            for (q, uuid) in uuids.iter().enumerate() {
                live.push(SeedProducer {
                    uuid: uuid.clone(),
                    node: NODES[node].to_string(),
                    queue: QUEUES[q].0,
                });
            }
        }
        live
    }

    /// Job `i` of `n`: inserted at an even pace over the last seven days, so ids follow time.
    pub fn job(&mut self, i: u64, n: u64) -> SeedJob {
        let now = self.now;
        let rng = &mut self.rng;
        let inserted = -WINDOW * (1.0 - (i as f64 + rng.f64()) / n as f64);
        // In ten-thousandths: mostly finished work, a backlog, and only a few jobs running
        // (a real table's executing set is bounded by queue concurrency, not by its size).
        let state = match rng.u32(0..10_000) {
            0..=6_999 => "completed",
            7_000..=7_399 => "cancelled",
            7_400..=7_999 => "discarded",
            8_000..=9_079 => "available",
            9_080..=9_679 => "scheduled",
            9_680..=9_829 => "retryable",
            9_830..=9_849 => "executing",
            _ => "suspended",
        };
        let total: u32 = QUEUES.iter().map(|q| q.1).sum();
        let mut pick_queue = rng.u32(0..total);
        let qi = QUEUES
            .iter()
            .position(|(_, weight, _)| {
                if pick_queue < *weight {
                    true
                } else {
                    pick_queue -= weight;
                    false
                }
            })
            .unwrap_or(0);
        let (queue, _, workers) = &QUEUES[qi];
        let max_attempts = if *queue == "webhooks" { 10 } else { 20 };
        let node = rng.usize(0..NODES.len());
        let run = 0.02 + rng.f64() * 3.0;
        let mut job = SeedJob {
            state,
            queue,
            worker: workers[rng.usize(0..workers.len())],
            attempt: 1,
            max_attempts,
            priority: u32::from(rng.u32(0..10) == 0),
            args: args_for(rng, queue, i),
            meta: serde_json::Map::new(),
            tags: if rng.bool() { vec![queue] } else { vec![] },
            errors: vec![],
            attempted_by: vec![NODES[node].to_string(), self.producers[node][qi].clone()],
            inserted,
            scheduled: inserted,
            attempted: Some(inserted + run / 10.0),
            completed: None,
            cancelled: None,
            discarded: None,
        };
        // Error times are written by the client: they are data inside the JSON, not columns.
        let error = |rng: &mut fastrand::Rng, attempt: u32| {
            let at = now
                .checked_add(jiff::SignedDuration::from_secs_f64(
                    inserted + f64::from(attempt) * 30.0,
                ))
                .unwrap_or(now);
            // One draw as before, so a seed gives the same population as earlier versions.
            let _ = rng.usize(0..4);
            SeedError {
                attempt,
                at: at.to_string(),
                error: ERRORS[qi],
            }
        };
        let unattempted = |job: &mut SeedJob| {
            job.attempt = 0;
            job.attempted = None;
            job.attempted_by.clear();
        };
        match state {
            "completed" => job.completed = Some(inserted + run),
            "cancelled" => {
                job.cancelled = Some(inserted + run);
                if rng.bool() {
                    unattempted(&mut job);
                }
            }
            "discarded" => {
                job.attempt = max_attempts;
                job.discarded = Some(inserted + run);
                job.errors = (1..=3).map(|a| error(rng, a)).collect();
            }
            "available" | "suspended" => {
                // Waiting now: inserted in the last few minutes, so queue latency is realistic.
                unattempted(&mut job);
                job.inserted = -rng.f64() * 180.0;
                job.scheduled = job.inserted;
            }
            "scheduled" => {
                unattempted(&mut job);
                job.scheduled = rng.f64() * 3.0 * 86_400.0;
            }
            "retryable" => {
                job.attempt = rng.u32(1..5);
                job.attempted = Some(-rng.f64() * 600.0);
                job.scheduled = rng.f64() * 3_600.0;
                job.errors = (1..=job.attempt).map(|a| error(rng, a)).collect();
            }
            _ => {
                // Executing: most started seconds ago on a live node; one in five is an orphan
                // of the node that died 20 to 60 minutes ago.
                let (age, node) = if rng.u32(0..5) == 0 {
                    (1_200.0 + rng.f64() * 2_400.0, DEAD_NODE)
                } else {
                    (rng.f64() * 30.0, rng.usize(0..DEAD_NODE))
                };
                job.attempted_by = vec![NODES[node].to_string(), self.producers[node][qi].clone()];
                job.attempted = Some(-age);
                job.scheduled = -age - 1.0;
                job.inserted = -age - 1.0 - rng.f64();
            }
        }
        job
    }
}

/// One generated job, in the JSON form `Db::insert_jobs` takes: times are offsets in seconds
/// from the database clock.
#[derive(Debug, Clone, Serialize)]
pub struct SeedJob {
    /// Job state.
    pub state: &'static str,
    /// Queue.
    pub queue: &'static str,
    /// Worker.
    pub worker: &'static str,
    /// Attempts so far.
    pub attempt: u32,
    /// Attempt limit.
    pub max_attempts: u32,
    /// Priority, 0 highest.
    pub priority: u32,
    /// Arguments.
    pub args: serde_json::Map<String, Value>,
    /// Meta.
    pub meta: serde_json::Map<String, Value>,
    /// Tags.
    pub tags: Vec<&'static str>,
    /// Recorded errors.
    pub errors: Vec<SeedError>,
    /// `[node, producer uuid]`.
    pub attempted_by: Vec<String>,
    /// inserted_at offset.
    pub inserted: f64,
    /// scheduled_at offset.
    pub scheduled: f64,
    /// attempted_at offset.
    pub attempted: Option<f64>,
    /// completed_at offset.
    pub completed: Option<f64>,
    /// cancelled_at offset.
    pub cancelled: Option<f64>,
    /// discarded_at offset.
    pub discarded: Option<f64>,
}

/// One entry of a job's `errors`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedError {
    /// The attempt that failed.
    pub attempt: u32,
    /// When, RFC 3339.
    pub at: String,
    /// The traceback.
    pub error: &'static str,
}

fn pick(rng: &mut fastrand::Rng, choices: &[&'static str]) -> &'static str {
    choices[rng.usize(0..choices.len())]
}

fn args_for(rng: &mut fastrand::Rng, queue: &str, i: u64) -> serde_json::Map<String, Value> {
    let args = match queue {
        "mailers" => {
            json!({"user_id": rng.u32(1..500_000), "template": pick(rng, &["welcome", "digest", "reset"])})
        }
        "events" => {
            json!({"event": pick(rng, &["signup", "login", "purchase"]), "account_id": rng.u32(1..50_000), "seq": i})
        }
        "webhooks" => {
            json!({"endpoint_id": rng.u32(1..2_000), "payload": {"id": format!("evt_{i:08}"), "type": "invoice.paid"}})
        }
        "media" => json!({"upload_id": rng.u32(1..1_000_000), "sizes": [64, 256, 1024]}),
        "reports" => json!({"account_id": rng.u32(1..50_000), "period": "monthly"}),
        _ => json!({"account_id": rng.u32(1..50_000)}),
    };
    match args {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// Inserts `jobs` generated from `seed`, in batches.
pub fn seed(db: &mut Db, schema: &Schema, jobs: u64, seed: u64) -> Result<SeedReport> {
    let started = Instant::now();
    // A job can only be stored in a leaf for the day it finished on: make the past week's.
    let partitions_created = match schema.partitions {
        Some(_) => {
            let days = (WINDOW / 86_400.0).ceil() as u64;
            let ahead = defaults::PARTITIONS_PREMAKE.as_secs().div_ceil(86_400);
            super::partitions::make_days(db, schema, days, ahead, false)?
                .created
                .into_iter()
                .map(|l| l.name)
                .collect()
        }
        None => Vec::new(),
    };
    let mut generator = Generator::new(seed);
    let mut states: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut done = 0;
    while done < jobs {
        let size = BATCH.min(jobs - done);
        let mut batch = Vec::with_capacity(size as usize);
        for i in done..done + size {
            let job = generator.job(i, jobs);
            *states.entry(job.state).or_default() += 1;
            batch.push(job);
        }
        db.insert_jobs(schema, &serde_json::to_string(&batch)?)
            .context("inserting jobs")?;
        done += size;
    }
    if schema.has_producers {
        db.insert_producers(schema, &serde_json::to_string(&generator.live_producers())?)
            .context("recording producers")?;
    }
    Ok(SeedReport {
        command: "seed",
        inserted: done,
        states,
        seed,
        elapsed: started.elapsed().as_secs_f64(),
        partitions_created,
    })
}

/// The `oban seed` command.
pub fn run(settings: &Settings, args: &SeedArgs, out: &mut dyn Write) -> Result<i32> {
    let runner = watch::Runner::once(
        "seed",
        settings,
        crate::commands::session_limits(&Default::default()),
    );
    runner.maintain(out, |db, schema, _| {
        if !args.force
            && db
                .has_jobs(schema)
                .context("checking whether the jobs table is empty")?
        {
            bail!(
                "oban_jobs in schema {} already has jobs; pass --force to add {} more",
                schema.prefix,
                args.jobs
            );
        }
        let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
        let report = self::seed(db, schema, args.jobs, seed)?;
        let tally = watch::Tally {
            changed: report.inserted,
            interrupted: false,
            dry_run: false,
        };
        Ok((report, tally))
    })
}
