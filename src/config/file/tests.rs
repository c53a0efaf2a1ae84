//! Tests of reading oban.toml.

use super::*;

/// A file as oban-py users write it.
pub(crate) const OBAN_PY_FILE: &str = r#"
dsn = "postgres://file@db/app"
prefix = "file_schema"
node = "worker-1"
queues = { default = 10, mailers = 5 }
pool_min_size = 2
pool_max_size = 10
metrics = true

[pruner]
max_age = 3_600
limit = 500
interval = "30s"

[lifeline]
interval = 120
rescue_after = "10m"
"#;

#[test]
fn oban_py_file_is_accepted() {
    let file = FileConfig::parse(OBAN_PY_FILE, "oban.toml").expect("parses");
    assert_eq!(file.prune_max_age, Some(Duration::from_secs(3600)));
    assert_eq!(file.prune_limit, Some(500));
    assert_eq!(file.prune_interval, Some(Duration::from_secs(30)));
    assert_eq!(file.lifeline_interval, Some(Duration::from_secs(120)));
    assert_eq!(file.rescue_after, Some(Duration::from_secs(600)));
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn bad_values_name_the_key() {
    for (text, key) in [
        ("[pruner]\nmax_age = \"soon\"", "[pruner] max_age"),
        ("[pruner]\nmax_age = -5", "[pruner] max_age"),
        ("[pruner]\nlimit = 0", "[pruner] limit"),
        ("[pruner]\nlimit = \"many\"", "[pruner] limit"),
        ("[pruner]\ninterval = 0", "[pruner] interval"),
        ("[lifeline]\nrescue_after = 1.5", "[lifeline] rescue_after"),
        ("dsn = 5", "dsn"),
        ("prefix = true", "prefix"),
        ("pruner = 3", "[pruner]"),
        ("this is not toml", "not valid TOML"),
    ] {
        let err = FileConfig::parse(text, "oban.toml").expect_err(text);
        let msg = format!("{err:#}");
        assert!(msg.contains(key), "{msg} should name {key}");
        assert_eq!(crate::error::exit_code(&err), 2);
    }
}

#[test]
fn errors_name_the_line() {
    let text = "dsn = \"postgres://app@db/app\"\n\n[pruner]\nmax_age = \"1d\"\nlimit = 0\n";
    let err = FileConfig::parse(text, "oban.toml").expect_err("limit 0");
    assert_eq!(
        format!("{err:#}"),
        "oban.toml line 5: [pruner] limit: expected a whole number from 1 to 100000000, got 0"
    );
    let err = FileConfig::parse(
        "# a comment\n[lifeline]\nrescue_after = \"soon\"\n",
        "x.toml",
    )
    .expect_err("soon");
    assert!(
        format!("{err:#}").starts_with("x.toml line 3: [lifeline] rescue_after: "),
        "{err:#}"
    );
    let err = FileConfig::parse("prefix = \"a\"\npruner = [1]\n", "oban.toml").expect_err("");
    assert_eq!(
        format!("{err:#}"),
        "oban.toml line 2: [pruner] must be a table"
    );
    let err = FileConfig::parse("\n\ndsn = \"mysql://x\"\n", "oban.toml").expect_err("");
    assert!(
        format!("{err:#}").starts_with("oban.toml line 3: dsn: "),
        "{err:#}"
    );
}

#[test]
fn syntax_errors_give_position_but_not_the_source_line() {
    let text = "prefix = \"jobs\"\ndsn = \"postgres://u:s3cret@h/db\nnode = \"a\"\n";
    let err = FileConfig::parse(text, "oban.toml").expect_err("broken string");
    let msg = format!("{err:#} {err:?}");
    assert!(!msg.contains("s3cret"), "{msg}");
    assert!(!msg.contains("postgres://"), "{msg}");
    let shown = format!("{err:#}");
    assert!(
        shown.starts_with("oban.toml line 2, column ") && shown.contains(": not valid TOML: "),
        "{shown}"
    );
    assert_eq!(crate::error::exit_code(&err), 2);
}

#[test]
fn pruner_false_is_accepted() {
    for text in ["pruner = false", "pruner = true\nlifeline = false"] {
        let file = FileConfig::parse(text, "oban.toml").expect(text);
        assert_eq!(file, FileConfig::default());
    }
}

#[test]
fn typos_are_warnings() {
    let text = "\
dsn = \"postgres://app@db/app\"
queues = { default = 10 }
shutdown_grace_period = 15.0
prefx = \"jobs\"
my_own_setting = 1

[pruner]
max_agee = 60
limit = 10

[prunner]
max_age = 60

[lifeline]
rescue_afer = 60
max_age = 60
frobnicate = 1
";
    let file = FileConfig::parse(text, "oban.toml").expect("typos are not errors");
    assert_eq!(file.prune_limit, Some(10));
    assert_eq!(file.prune_max_age, None);
    assert_eq!(
        file.warnings,
        [
            "oban.toml line 4: unknown key prefx (did you mean prefix?)",
            "oban.toml line 8: unknown key [pruner] max_agee (did you mean max_age?)",
            "oban.toml line 11: unknown key [prunner] (did you mean [pruner]?)",
            "oban.toml line 15: unknown key [lifeline] rescue_afer (did you mean rescue_after?)",
            "oban.toml line 16: unknown key [lifeline] max_age (did you mean [pruner] max_age?)",
            "oban.toml line 17: unknown key [lifeline] frobnicate",
        ]
    );
}

#[test]
fn oban_py_keys_never_warn() {
    let text = OBAN_PY_KEYS
        .iter()
        .filter(|k| !["dsn", "pruner", "lifeline"].contains(k))
        .map(|k| format!("{k} = 1\n"))
        .collect::<String>()
        .replace("prefix = 1", "prefix = \"p\"");
    let file = FileConfig::parse(&text, "oban.toml").expect("parses");
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
}

#[test]
fn near_misses() {
    assert!(is_near("DSN", "dsn"));
    assert!(is_near("dns", "dsn"));
    assert!(!is_near("db", "dsn"));
    assert!(is_near("rescue_afer", "rescue_after"));
    assert!(is_near("max-age", "max_age"));
    assert!(!is_near("queues", "prefix"));
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text is either a configuration or a usage error (exit 2), never a panic.
        #[test]
        fn any_text_parses_or_is_a_usage_error(text in "\\PC{0,200}") {
            if let Err(e) = FileConfig::parse(&text, "oban.toml") {
                prop_assert_eq!(crate::error::exit_code(&e), 2);
            }
        }

        /// Known keys with arbitrary values: accepted only when valid, otherwise the error names
        /// the key.
        #[test]
        fn known_keys_are_checked(
            key in prop::sample::select(vec!["max_age", "limit", "interval"]),
            value in prop_oneof![
                any::<i64>().prop_map(|n| n.to_string()),
                "[a-z0-9_ -]{0,12}".prop_map(|s| format!("{s:?}")),
                Just("1.5".to_string()),
                Just("true".to_string()),
            ],
        ) {
            let text = format!("[pruner]\n{key} = {value}\n");
            match FileConfig::parse(&text, "oban.toml") {
                Ok(cfg) => {
                    let set = cfg.prune_max_age.is_some() || cfg.prune_limit.is_some() || cfg.prune_interval.is_some();
                    prop_assert!(set, "{text} was accepted but set nothing");
                }
                Err(e) => prop_assert!(format!("{e:#}").contains(&format!("[pruner] {key}")), "{e:#}"),
            }
        }

        /// A syntax error never repeats the file's text, so a password on a broken line stays
        /// out of the message.
        #[test]
        fn syntax_errors_do_not_quote_the_file(secret in "[a-z]{12}", tail in "[\"'=\\[ ]{0,3}") {
            let text = format!("dsn = \"postgres://u:{secret}@h/db{tail}\n[");
            if let Err(e) = FileConfig::parse(&text, "oban.toml") {
                prop_assert!(!format!("{e:#}").contains(&secret), "{e:#}");
            }
        }
    }
}

#[test]
fn targets_are_read_and_not_taken_for_typos() {
    let text = "prefix = \"jobs\"\n\n[[targets]]\nname = \"billing\"\ndsn = \"postgres://app@db/billing\"\n\n[[targets]]\ndsn = \"sqlite://lite.db\"\nprefix = \"other\"\n";
    let file = FileConfig::parse(text, "oban.toml").expect("parses");
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    assert_eq!(file.targets.len(), 2);
    assert_eq!(file.targets[0].name.as_deref(), Some("billing"));
    assert_eq!(file.targets[1].prefix.as_deref(), Some("other"));
    let typo = FileConfig::parse("[[target]]\ndsn = \"x.db\"\n", "oban.toml").expect("parses");
    assert_eq!(typo.warnings.len(), 1, "{:?}", typo.warnings);
    assert!(
        typo.warnings[0].contains("did you mean [[targets]]"),
        "{:?}",
        typo.warnings
    );
    for bad in [
        "[[targets]]\nname = \"x\"\n",
        "[[targets]]\ndsn = \"mysql://x\"\n",
        "[[targets]]\ndsn = \"x.db\"\nhost = 1\n",
    ] {
        let e = FileConfig::parse(bad, "oban.toml")
            .expect_err(bad)
            .to_string();
        assert!(e.contains("oban.toml line"), "{e}");
    }
}

#[test]
fn throttles_are_read_from_a_file_of_its_own() {
    let text = "dsn = \"postgres://ops@db/app\"\n\n[pruner]\nmax_age = \"7d\"\n\
                max_replica_lag = \"64MB\"\nmax_slot_lag = \"2GB\"\nmax_wal_rate = \"16MB/s\"\n";
    let file = FileConfig::parse(text, "oban-ops.toml").expect("parses");
    assert_eq!(
        file.prune_max_replica_lag,
        Some(ReplicaLag::Bytes(64 << 20))
    );
    assert_eq!(file.prune_max_slot_lag, Some(2 << 30));
    assert_eq!(file.prune_max_wal_rate, Some(16 << 20));
    assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    let time = FileConfig::parse("[pruner]\nmax_replica_lag = \"30s\"\n", "f").expect("parses");
    assert_eq!(
        time.prune_max_replica_lag,
        Some(ReplicaLag::Time(Duration::from_secs(30)))
    );
    for (text, key) in [
        (
            "[pruner]\nmax_replica_lag = \"30\"",
            "[pruner] max_replica_lag",
        ),
        ("[pruner]\nmax_slot_lag = \"lots\"", "[pruner] max_slot_lag"),
        ("[pruner]\nmax_wal_rate = 8", "[pruner] max_wal_rate"),
    ] {
        let err = FileConfig::parse(text, "oban.toml").expect_err(text);
        let msg = format!("{err:#}");
        assert!(msg.contains(key) && msg.contains("line 2"), "{msg}");
        assert_eq!(crate::error::exit_code(&err), 2);
    }
}

#[test]
fn keys_oban_py_refuses_are_flagged_in_an_application_file() {
    let text = OBAN_PY_FILE.replace(
        "interval = \"30s\"\n",
        "interval = \"30s\"\nmax_wal_rate = \"8MB/s\"\n",
    ) + "\n[[retention]]\nqueue = \"mailers\"\nmax_age = \"1h\"\n";
    let file = FileConfig::parse(&text, "oban.toml").expect("parses");
    assert_eq!(file.prune_max_wal_rate, Some(8 << 20), "still read");
    assert_eq!(file.warnings.len(), 2, "{:?}", file.warnings);
    assert!(
        file.warnings[0]
            .starts_with("oban.toml line 14: [pruner] max_wal_rate is read by oban only")
            && file.warnings[0].contains("it sets queues"),
        "{:?}",
        file.warnings
    );
    assert!(file.warnings[1].contains("[[retention]] is read by oban only"));
}
