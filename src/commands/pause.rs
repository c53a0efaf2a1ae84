//! `oban pause` and `oban resume`: send the notifier's `pause` / `resume` signal for some queues
//! (or every queue), to every node or one, then wait for each live producer of those queues to
//! record the new state. Only oban-py records it (`oban_producers.meta.paused`); on Elixir Oban
//! the signal is sent and cannot be confirmed; SQLite has no notifier at all.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use comfy_table::Cell;
use serde::Serialize;

use crate::cli::PauseArgs;
use crate::config::Settings;
use crate::db::pg::signal::{self, ProducerRow};
use crate::db::pg::Pg;
use crate::db::Schema;
use crate::defaults;
use crate::dsn::Backend;
use crate::error::{exit, usage};
use crate::output::{self, plural, Report};
use crate::watch;

/// Resolved options of `pause` or `resume`.
#[derive(Debug, Clone)]
pub struct PauseOpts {
    /// Pause (true) or resume.
    pub pause: bool,
    /// The queues; empty for every queue.
    pub queues: Vec<String>,
    /// Only this node.
    pub node: Option<String>,
    /// How long to wait for the producers' answers.
    pub wait: Duration,
}

impl PauseOpts {
    /// Checks the flags (usage errors, before any SQL).
    pub fn resolve(pause: bool, args: &PauseArgs) -> Result<PauseOpts> {
        let name = if pause { "pause" } else { "resume" };
        if args.queues.iter().any(|q| q.trim().is_empty()) {
            return Err(usage(format!("{name}: expected a non-empty queue name")));
        }
        if args.queues.iter().any(|q| q == "*") {
            return Err(usage(format!("{name}: use --all for every queue")));
        }
        if args.node.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(usage(format!(
                "{name}: --node: expected a non-empty node name"
            )));
        }
        let mut queues = if args.all {
            vec![]
        } else {
            args.queues.clone()
        };
        queues.sort();
        queues.dedup();
        Ok(PauseOpts {
            pause,
            queues,
            node: args.node.clone(),
            wait: args.wait.unwrap_or(defaults::SIGNAL_WAIT),
        })
    }

    fn verb(&self) -> &'static str {
        if self.pause {
            "pause"
        } else {
            "resume"
        }
    }
}

/// One producer's answer to the signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The queue.
    pub queue: String,
    /// The node running it.
    pub node: String,
    /// The Oban instance name.
    pub name: String,
    /// The producer's id.
    pub producer: String,
    /// "confirmed", "no answer", "gone" (the producer stopped while we waited), or
    /// "not waited for" (`--wait 0s`).
    pub answer: &'static str,
}

/// What `pause` or `resume` did.
#[derive(Debug, Clone, Serialize)]
pub struct PauseReport {
    /// "pause" or "resume".
    pub command: &'static str,
    /// The queues, `["*"]` for every queue.
    pub queues: Vec<String>,
    /// The node addressed, when one was.
    pub node: Option<String>,
    /// Notifications sent.
    pub signals: usize,
    /// Whether the schema records the producers' state (oban-py).
    pub confirmable: bool,
    /// Each live producer of those queues and its answer (oban-py).
    pub producers: Vec<Answer>,
    /// Seconds spent waiting for answers.
    pub waited: f64,
}

impl PauseReport {
    /// Producers that did not confirm.
    pub fn unanswered(&self) -> usize {
        self.producers
            .iter()
            .filter(|p| p.answer == "no answer")
            .count()
    }

    fn what(&self) -> String {
        let queues = if self.queues == ["*"] {
            "every queue".to_string()
        } else {
            self.queues.join(", ")
        };
        match &self.node {
            Some(node) => format!("{queues} on node {node}"),
            None => queues,
        }
    }
}

impl Report for PauseReport {
    fn to_table(&self) -> String {
        let done = if self.command == "pause" {
            "paused"
        } else {
            "resumed"
        };
        if !self.confirmable {
            return format!(
                "sent {} for {}: this schema has no producers table (Elixir Oban), so no node \
                 records its queues' state and the signal cannot be confirmed\n",
                self.command,
                self.what()
            );
        }
        if self.producers.is_empty() {
            return format!(
                "sent {} for {}: no live producer runs it, so nothing could answer (a queue \
                 started later starts unpaused)\n",
                self.command,
                self.what()
            );
        }
        let confirmed = self
            .producers
            .iter()
            .filter(|p| p.answer == "confirmed")
            .count();
        let mut text = format!(
            "{done} {}: confirmed by {confirmed} of {}\n",
            self.what(),
            plural(self.producers.len() as u64, "producer", "producers")
        );
        let mut table = output::table(&["queue", "node", "name", "answer"]);
        for p in &self.producers {
            table.add_row(vec![
                Cell::new(&p.queue),
                Cell::new(&p.node),
                Cell::new(&p.name),
                Cell::new(p.answer),
            ]);
        }
        text.push_str(&format!("{table}\n"));
        if self.unanswered() > 0 {
            text.push_str(&format!(
                "no answer within {}s: those producers may be busy or stuck; `oban queues` shows \
                 their heartbeat\n",
                self.waited.round()
            ));
        }
        text
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("queue,node,name,producer,answer", &self.producers, |p| {
            let (queue, node, name) = (p.queue.clone(), p.node.clone(), p.name.clone());
            vec![queue, node, name, p.producer.clone(), p.answer.to_string()]
        })
    }
}

fn live(rows: Vec<ProducerRow>) -> Vec<ProducerRow> {
    let ttl = defaults::PRODUCER_TTL.as_secs_f64();
    rows.into_iter().filter(|p| p.silent_for <= ttl).collect()
}

/// Sends the signal and, where producers record their state, waits for their answers.
pub fn pass(conn: &mut Pg, schema: &Schema, opts: &PauseOpts) -> Result<PauseReport> {
    let node = opts.node.as_deref();
    let targets = if schema.has_producers {
        live(signal::producers(conn, schema, &opts.queues, node)?)
    } else {
        vec![]
    };
    // oban-py and Elixir address one instance as "<name>.<node>"; the name is Oban's default
    // unless a producer of that node says otherwise.
    let idents: Vec<String> = match node {
        None => vec!["any".into()],
        Some(node) => {
            let mut names: Vec<&str> = targets.iter().map(|p| p.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            if names.is_empty() {
                names.push("Oban");
            }
            names.iter().map(|n| format!("{n}.{node}")).collect()
        }
    };
    let queues = if opts.queues.is_empty() {
        vec!["*".to_string()]
    } else {
        opts.queues.clone()
    };
    let payloads: Vec<serde_json::Value> = queues
        .iter()
        .flat_map(|q| {
            idents.iter().map(
                move |ident| serde_json::json!({"action": opts.verb(), "queue": q, "ident": ident}),
            )
        })
        .collect();
    signal::notify(conn, &schema.prefix, &payloads)?;

    let want = Some(opts.pause);
    let start = Instant::now();
    let mut answers: Vec<Answer> = vec![];
    loop {
        let now = if targets.is_empty() || opts.wait.is_zero() {
            vec![]
        } else {
            signal::producers(conn, schema, &opts.queues, node)?
        };
        answers = targets
            .iter()
            .map(|t| {
                let answer = match now.iter().find(|p| p.uuid == t.uuid) {
                    _ if opts.wait.is_zero() => "not waited for",
                    None => "gone",
                    Some(p) if p.paused == want => "confirmed",
                    Some(_) => "no answer",
                };
                Answer {
                    queue: t.queue.clone(),
                    node: t.node.clone(),
                    name: t.name.clone(),
                    producer: t.uuid.clone(),
                    answer,
                }
            })
            .collect();
        let waiting = answers.iter().any(|a| a.answer == "no answer");
        if !waiting || start.elapsed() >= opts.wait || watch::interrupted() {
            break;
        }
        watch::sleep(Duration::from_millis(100));
    }
    Ok(PauseReport {
        command: opts.verb(),
        queues,
        node: opts.node.clone(),
        signals: payloads.len(),
        confirmable: schema.has_producers,
        producers: answers,
        waited: start.elapsed().as_secs_f64(),
    })
}

/// The `oban pause` and `oban resume` commands: exit 1 when a live producer did not confirm.
pub fn run(pause: bool, settings: &Settings, args: &PauseArgs, out: &mut dyn Write) -> Result<i32> {
    let opts = PauseOpts::resolve(pause, args)?;
    let name = opts.verb();
    if settings.require_dsn()?.backend == Backend::Sqlite {
        return Err(usage(format!(
            "{name}: Oban Lite (SQLite) has no notifier, so a queue cannot be signalled from \
             outside; pause it in the application's own configuration"
        )));
    }
    let mut unanswered = 0;
    let runner = watch::Runner::reader(name, settings, false, Duration::ZERO);
    runner.run(
        |db, schema, _first| {
            let conn = db
                .postgres()
                .ok_or_else(|| anyhow!("{name}: needs PostgreSQL"))?;
            let report = pass(conn, schema, &opts)?;
            unanswered = report.unanswered();
            output::write_report(out, settings.style(false), &report)
        },
        |e| e,
    )?;
    Ok(if unanswered > 0 {
        exit::FAILURE
    } else {
        exit::OK
    })
}
