//! What the real oban-py accepts in the file it reads: the keys only `oban` reads
//! (`[[retention]]`, `[[targets]]`, the prune throttles in `[pruner]`) stop it from starting,
//! which is why they belong in a file of `oban`'s own.

use super::rules::RULES_TOML;

/// What the real oban-py (0.7, from PyPI) does with a file: `tests/oban-py/load_config.py`
/// loads it as `oban start` does and builds its pruner. See tests/oban-py/NOTES.md.
fn oban_py_loads(text: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("oban.toml");
    std::fs::write(&path, text).expect("write");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oban-py/load_config.py");
    let out = std::process::Command::new(crate::support::obanpy::python())
        .arg(script)
        .arg(&path)
        .env_clear()
        .output()
        .expect("running oban-py's loader");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn what_oban_py_accepts_in_the_shared_file() {
    let base = "dsn = \"postgres://app@db/app\"\nqueues = { default = 10 }\n\n[pruner]\nmax_age = 86_400\nlimit = 20_000\n";
    assert_eq!(oban_py_loads(base), "ok");
    // Any top-level key its Config does not declare stops the application from starting ...
    let retention = oban_py_loads(&format!(
        "{base}\n{}",
        RULES_TOML.replace("[pruner]\nmax_age = \"1d\"\n", "")
    ));
    assert!(
        retention.starts_with("config refused") && retention.contains("'retention'"),
        "{retention}"
    );
    let targets = oban_py_loads(&format!(
        "{base}\n[[targets]]\nname = \"a\"\ndsn = \"postgres://a@db/a\"\n"
    ));
    assert!(
        targets.starts_with("config refused") && targets.contains("'targets'"),
        "{targets}"
    );
    // ... and a [pruner] key its Pruner does not take stops it one step later.
    let nested = oban_py_loads(&format!(
        "{base}\n[[pruner.rules]]\nqueue = \"mailers\"\nmax_age = 60\n"
    ));
    assert!(
        nested.starts_with("pruner refused") && nested.contains("'rules'"),
        "{nested}"
    );
    // The prune throttles are [pruner] keys of oban's own: oban-py's pruner refuses each.
    for key in ["max_replica_lag", "max_slot_lag", "max_wal_rate"] {
        let throttle = oban_py_loads(&format!("{base}{key} = \"64MB\"\n"));
        assert!(
            throttle.starts_with("pruner refused") && throttle.contains(key),
            "{throttle}"
        );
    }
}
