//! Test fixtures: a PostgreSQL database or SQLite file per test, the binary, and helpers to
//! insert jobs with ages relative to the database clock and to snapshot rows.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, Connection, PgConnection, QueryableByName, RunQueryDsl};
use oban::db::{Db, Schema};
use oban::dsn::Dsn;
use serde_json::{json, Value};

pub mod cluster;
pub mod elixir;
pub mod obanpy;

pub(crate) use elixir::{elixir_db, elixir_table_head, ELIXIR_DDL};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server tests create their databases on.
pub fn server_url() -> String {
    std::env::var("OBAN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into())
}

/// Runs SQL on the test server's administrative database (roles are the server's, not a
/// database's).
pub fn admin_exec(sql: &str) {
    let mut admin = PgConnection::establish(&server_url()).expect("the test server");
    diesel::connection::SimpleConnection::batch_execute(&mut admin, sql).expect(sql);
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |p| p + 2) => &base[..i],
        _ => base,
    };
    format!("{root}/{name}{query}")
}

/// Where a test's jobs live.
pub trait Target {
    /// The DSN to pass with `-d`.
    fn dsn(&self) -> String;
    /// A fresh connection through the library.
    fn db(&self) -> Db {
        let dsn = Dsn::parse(&self.dsn()).expect("valid dsn");
        Db::connect(
            &dsn,
            oban::commands::session_limits(&Default::default()),
            false,
        )
        .expect("connect")
    }
}

/// A PostgreSQL database made for one test and dropped when it ends.
pub struct PgDb {
    pub name: String,
    pub url: String,
}

impl PgDb {
    /// Creates an empty database.
    pub fn new(label: &str) -> PgDb {
        let name = format!(
            "oban_t_{}_{}_{}",
            label,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let server = server_url();
        let mut admin = PgConnection::establish(&server).unwrap_or_else(|e| {
            panic!(
                "cannot reach the test PostgreSQL at {} ({e}).\nStart it (on this machine: \
                 pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or \
                 set OBAN_TEST_DATABASE_URL to a server where this user may create databases.",
                oban::dsn::redact(&server)
            )
        });
        sql_query(format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .and_then(|_| sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin))
            .expect("create test database");
        PgDb {
            url: with_database(&server, &name),
            name,
        }
    }

    /// A new database with the oban-py schema from `oban migrate` under `prefix`.
    pub fn migrated(label: &str, prefix: &str) -> PgDb {
        let db = PgDb::new(label);
        oban()
            .args(["-d", &db.url, "--prefix", prefix, "migrate", "-q"])
            .assert()
            .success();
        db
    }

    /// A plain diesel connection for test-side SQL.
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }

    /// Runs SQL (several statements allowed).
    pub fn exec(&self, sql: &str) {
        self.conn().batch_execute(sql).expect("test SQL");
    }

    /// Every row of `prefix.oban_jobs` as JSON text, by id.
    pub fn snapshot(&self, prefix: &str) -> BTreeMap<i64, String> {
        rows(
            sql_query(format!(
                "SELECT id, row_to_json(j)::text AS row FROM \"{prefix}\".oban_jobs j ORDER BY id"
            ))
            .load(&mut self.conn())
            .expect("snapshot"),
        )
    }

    /// One number from a query.
    pub fn count(&self, sql: &str) -> i64 {
        count(sql_query(sql).load(&mut self.conn()).expect("count"))
    }
}

impl Target for PgDb {
    fn dsn(&self) -> String {
        self.url.clone()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&server_url()) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// A SQLite file in its own temporary directory.
pub struct LiteDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl LiteDb {
    /// A path for a database that does not exist yet.
    pub fn new() -> LiteDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jobs.db");
        LiteDb { dir, path }
    }

    /// A new file with the Lite schema from `oban migrate`.
    pub fn migrated() -> LiteDb {
        let db = LiteDb::new();
        oban()
            .args(["-d", &db.dsn(), "migrate", "-q"])
            .assert()
            .success();
        db
    }

    /// A diesel connection.
    pub fn conn(&self) -> diesel::SqliteConnection {
        diesel::SqliteConnection::establish(&self.path.display().to_string()).expect("open")
    }

    /// Every row as a JSON array of its columns, by id.
    pub fn snapshot(&self) -> BTreeMap<i64, String> {
        rows(
            sql_query(
                "SELECT id, json_object('id', id, 'state', state, 'queue', queue, 'worker', worker, \
                 'attempt', attempt, 'max_attempts', max_attempts, 'priority', priority, \
                 'args', json(args), 'meta', json(meta), 'tags', json(tags), \
                 'errors', json(errors), 'attempted_by', json(attempted_by), \
                 'inserted_at', inserted_at, 'scheduled_at', scheduled_at, \
                 'attempted_at', attempted_at, 'cancelled_at', cancelled_at, \
                 'completed_at', completed_at, 'discarded_at', discarded_at) AS row \
                 FROM oban_jobs ORDER BY id",
            )
            .load(&mut self.conn())
            .expect("snapshot"),
        )
    }

    /// One number from a query.
    pub fn count(&self, sql: &str) -> i64 {
        count(sql_query(sql).load(&mut self.conn()).expect("count"))
    }
}

impl Target for LiteDb {
    fn dsn(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    row: String,
}

fn rows(list: Vec<IdRow>) -> BTreeMap<i64, String> {
    list.into_iter().map(|r| (r.id, r.row)).collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(list: Vec<Count>) -> i64 {
    list.first().map(|c| c.n).expect("one row named n")
}

/// The binary, isolated from the caller's environment and from any ./oban.toml.
pub fn oban() -> Command {
    let mut cmd = Command::cargo_bin("oban").expect("binary");
    cmd.env_remove("OBAN_DSN")
        .env_remove("DATABASE_URL")
        .env_remove("OBAN_PREFIX")
        .env_remove("OBAN_PRUNE_MAX_REPLICA_LAG")
        .env_remove("OBAN_PRUNE_MAX_SLOT_LAG")
        .env_remove("OBAN_PRUNE_MAX_WAL_RATE")
        .current_dir(std::env::temp_dir());
    cmd
}

/// The binary run in `dir` (where an oban.toml may be).
pub fn oban_in(dir: &Path) -> Command {
    let mut cmd = oban();
    cmd.current_dir(dir);
    cmd
}

/// A job to insert. `age` is seconds before the database's now() for the state's own
/// timestamp (completed_at etc.); `stamp` forces which timestamp column gets it.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub state: &'static str,
    pub queue: String,
    pub worker: String,
    pub age: Option<f64>,
    pub stamp: Option<&'static str>,
    pub attempt: u32,
    pub max_attempts: u32,
    pub meta: Value,
    pub attempted_by: Vec<String>,
}

impl JobSpec {
    /// A job in `state` whose own timestamp is `age` seconds old.
    pub fn new(state: &'static str, age: f64) -> JobSpec {
        JobSpec {
            state,
            queue: "default".into(),
            worker: "app.workers.Test".into(),
            age: Some(age),
            stamp: None,
            attempt: 1,
            max_attempts: 20,
            meta: json!({}),
            attempted_by: vec![
                "node-1".into(),
                "6f1c3d0e-0000-4000-8000-000000000001".into(),
            ],
        }
    }

    /// Attempts used and allowed.
    pub fn attempts(mut self, attempt: u32, max_attempts: u32) -> JobSpec {
        self.attempt = attempt;
        self.max_attempts = max_attempts;
        self
    }

    pub fn meta(mut self, meta: Value) -> JobSpec {
        self.meta = meta;
        self
    }

    /// `attempted_by`: `[node, producer]`, or fewer elements.
    pub fn attempted_by(mut self, by: &[&str]) -> JobSpec {
        self.attempted_by = by.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn queue(mut self, queue: &str) -> JobSpec {
        self.queue = queue.into();
        self
    }

    pub fn worker(mut self, worker: &str) -> JobSpec {
        self.worker = worker.into();
        self
    }

    /// In the JSON form `Db::insert_jobs` takes (offsets in seconds from now).
    pub fn to_json(&self) -> Value {
        let column = self.stamp.unwrap_or(match self.state {
            "completed" => "completed",
            "cancelled" => "cancelled",
            "discarded" => "discarded",
            _ => "attempted",
        });
        let mut job = json!({
            "state": self.state,
            "queue": self.queue,
            "worker": self.worker,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "priority": 0,
            "args": {"id": 1, "note": "it's \"quoted\""},
            "meta": self.meta,
            "tags": ["t"],
            "errors": [],
            "attempted_by": self.attempted_by,
            "inserted": -(self.age.unwrap_or(0.0) + 600.0),
            "scheduled": -(self.age.unwrap_or(0.0) + 600.0),
        });
        if let Some(age) = self.age {
            job[column] = json!(-age);
        }
        job
    }
}

/// Inserts jobs through the library, under `prefix`.
pub fn insert(target: &dyn Target, prefix: &str, jobs: &[JobSpec]) {
    let mut db = target.db();
    let schema: Schema = db.schema(prefix).expect("schema");
    let list: Vec<Value> = jobs.iter().map(JobSpec::to_json).collect();
    db.insert_jobs(&schema, &Value::Array(list).to_string())
        .expect("insert jobs");
}

/// Parses stdout as one JSON document.
/// Runs the binary with `args`, asserts it succeeded (showing stderr if not), and returns its
/// output.
pub fn succeeds(args: &[&str]) -> std::process::Output {
    succeeded(oban(), args)
}

/// [`succeeds`], run in `dir` (where an oban.toml may be).
pub fn succeeds_in(dir: &Path, args: &[&str]) -> std::process::Output {
    succeeded(oban_in(dir), args)
}

fn succeeded(mut cmd: Command, args: &[&str]) -> std::process::Output {
    let out = cmd.args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn json_out(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

impl LiteDb {
    /// The DSN as a string.
    pub fn dsn_str(&self) -> String {
        self.dsn()
    }
}

/// Every column of a job as the tool shows it (JSON keys, CSV header order, archive lines).
pub const JOB_COLUMNS: [&str; 18] = [
    "id",
    "state",
    "queue",
    "worker",
    "attempt",
    "max_attempts",
    "priority",
    "args",
    "meta",
    "tags",
    "errors",
    "attempted_by",
    "inserted_at",
    "scheduled_at",
    "attempted_at",
    "cancelled_at",
    "completed_at",
    "discarded_at",
];
