//! A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port, made with
//! the installed server's own tools, and optionally a streaming standby of it. The server
//! refuses to run as root, so as root the tools run as the `postgres` OS user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::{Connection, PgConnection};

/// A primary, and a standby when asked for; both are stopped and removed on drop.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The primary's port.
    pub port: u16,
    /// The standby's port, when there is one.
    pub standby_port: Option<u16>,
}

/// The newest installed server's bin directory (Debian's layout), or the one `pg_config`
/// names. Fails loudly when there is none: these tests need a real server.
fn server_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(bin) = found.pop() {
        return bin;
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("no PostgreSQL server tools found (initdb): install the server package");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Cluster {
    /// A new primary with WAL senders enabled, trusting loopback connections.
    pub fn primary() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("oban-cluster")
            .tempdir()
            .expect("temp dir");
        set_mode(dir.path(), 0o777);
        let c = Cluster {
            bin: server_bin(),
            port: free_port(),
            standby_port: None,
            dir,
        };
        let data = c.data("primary");
        c.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "root",
                "--auth=trust",
                "-N",
                "-E",
                "UTF8",
            ],
        );
        let conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\nwal_level = replica\nmax_wal_senders = 4\nmax_replication_slots = 4\n\
             wal_receiver_status_interval = 1s\n",
            c.port,
            c.dir.path().display()
        );
        append(&Path::new(&data).join("postgresql.conf"), &conf);
        append(
            &Path::new(&data).join("pg_hba.conf"),
            "host replication all 127.0.0.1/32 trust\n",
        );
        c.start("primary");
        c
    }

    /// The same, with a streaming standby of it.
    pub fn with_standby() -> Cluster {
        let mut c = Cluster::primary();
        let port = free_port();
        let data = c.data("standby");
        let primary = c.port.to_string();
        c.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary,
                "-U",
                "root",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
            ],
        );
        let conf = Path::new(&data).join("postgresql.conf");
        append(&conf, &format!("port = {port}\n"));
        c.standby_port = Some(port);
        c.start("standby");
        c
    }

    /// A DSN for a database on the primary.
    pub fn dsn(&self, db: &str) -> String {
        format!("postgres://root@127.0.0.1:{}/{db}", self.port)
    }

    /// A connection to the primary's `postgres` database.
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.dsn("postgres")).expect("connect to the test primary")
    }

    /// A connection to the standby.
    pub fn standby(&self) -> PgConnection {
        let port = self.standby_port.expect("a standby");
        PgConnection::establish(&format!("postgres://root@127.0.0.1:{port}/postgres"))
            .expect("connect to the test standby")
    }

    /// Stops the primary (fast shutdown), as an outage would.
    pub fn stop_primary(&self) {
        let data = self.data("primary");
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }

    /// Starts the primary again.
    pub fn start_primary(&self) {
        self.start("primary");
    }

    fn data(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn start(&self, name: &str) {
        let data = self.data(name);
        let log = self.data(&format!("{name}.log"));
        self.run("pg_ctl", &["-D", &data, "-l", &log, "-w", "start"]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for name in ["standby", "primary"] {
            let data = self.data(name);
            if Path::new(&data).exists() {
                let exe = self.bin.join("pg_ctl");
                let mut cmd = if is_root() {
                    let mut c = Command::new("runuser");
                    c.args(["-u", "postgres", "--"]).arg(&exe);
                    c
                } else {
                    Command::new(&exe)
                };
                let _ = cmd.args(["-D", &data, "-m", "immediate", "stop"]).output();
            }
        }
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    f.write_all(text.as_bytes()).expect("append");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
