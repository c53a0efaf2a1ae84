//! A real oban-py worker (`oban start` from PyPI) against a test database. The Python
//! environment is built by `tests/oban-py/setup.sh` on first use (cached under target/); when it
//! cannot be built the test fails with the script's output, it never skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::PgDb;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oban-py")
}

/// The venv's python, building the environment first if needed.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("bash")
            .arg(here().join("setup.sh"))
            .output()
            .expect("running tests/oban-py/setup.sh");
        assert!(
            out.status.success(),
            "tests/oban-py/setup.sh could not build the oban-py environment:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// One `oban start` process; killed (and reaped) on drop, even when the test fails.
pub struct Worker {
    child: Child,
    log: PathBuf,
    /// The node name it runs as.
    pub node: String,
}

impl Worker {
    /// Starts a worker on `db` running `queues` ("alpha:5,beta:5") as `node`, and waits until
    /// every one of its producers has registered.
    pub fn start(db: &PgDb, node: &str, queues: &str) -> Worker {
        let python = python();
        let log = std::env::temp_dir().join(format!("{}-{node}.log", db.name));
        let file = std::fs::File::create(&log).expect("worker log");
        let child = Command::new(python)
            .args(["-m", "oban", "start", "--log-level", "WARNING"])
            .args(["--dsn", &db.url, "--queues", queues, "--node", node])
            .env("PYTHONPATH", here())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("starting oban-py");
        let mut worker = Worker {
            child,
            log,
            node: node.to_string(),
        };
        let want = queues.split(',').count() as i64;
        let sql = format!("SELECT count(*) AS n FROM oban_producers WHERE node = '{node}'");
        worker.wait_for(
            &format!("{node}'s producers"),
            Duration::from_secs(30),
            || db.count(&sql) >= want,
        );
        worker
    }

    /// Waits until `done` holds, failing the test (with the worker's log) after `limit`.
    pub fn wait_for(&mut self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "oban-py exited ({status}) waiting for {what}:\n{}",
                    self.log()
                );
            }
            if start.elapsed() > limit {
                panic!(
                    "timed out waiting for {what}; oban-py's log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the worker printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
