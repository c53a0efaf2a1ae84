//! Settings from built-in defaults < oban.toml < environment < flags, resolved in one place.
//!
//! oban.toml is the same file oban-py reads, so every key oban-py knows (`queues`, `node`,
//! `metrics`, `pool_*`, …) is accepted and ignored; only `dsn`, `prefix`, `[pruner]` and
//! `[lifeline]` are read. A bad value is a usage error naming the key and the allowed form.

pub mod defaults;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::cli::{Format, GlobalArgs};
use crate::dsn::Dsn;
use crate::duration;
use crate::error::usage;

/// `[pruner]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruner {
    /// Age after which final jobs are pruned.
    pub max_age: Duration,
    /// Rows per pass.
    pub limit: u64,
    /// Time between passes.
    pub interval: Duration,
}

/// `[lifeline]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifeline {
    /// Time between rescue passes.
    pub interval: Duration,
    /// Age after which an executing job counts as orphaned.
    pub rescue_after: Duration,
}

/// Everything the commands need to know from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database, when one was given anywhere.
    pub dsn: Option<Dsn>,
    /// Validated schema name.
    pub prefix: String,
    /// Output format.
    pub format: Format,
    /// Suppress table output on success.
    pub quiet: bool,
    /// Pruner settings.
    pub pruner: Pruner,
    /// Lifeline settings.
    pub lifeline: Lifeline,
}

impl Settings {
    /// The DSN, or a usage error that says how to give one.
    pub fn require_dsn(&self) -> Result<&Dsn> {
        self.dsn.as_ref().ok_or_else(|| {
            usage("no database: pass -d/--database-url, set OBAN_DSN or DATABASE_URL, or put dsn in oban.toml")
        })
    }
}

/// The values an oban.toml may hold for this tool; everything is optional.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// `dsn`
    pub dsn: Option<String>,
    /// `prefix`
    pub prefix: Option<String>,
    /// `[pruner] max_age`
    pub prune_max_age: Option<Duration>,
    /// `[pruner] limit`
    pub prune_limit: Option<u64>,
    /// `[pruner] interval`
    pub prune_interval: Option<Duration>,
    /// `[lifeline] interval`
    pub lifeline_interval: Option<Duration>,
    /// `[lifeline] rescue_after`
    pub rescue_after: Option<Duration>,
}

impl FileConfig {
    /// Reads and parses a file; `origin` names it in errors.
    pub fn load(path: &Path) -> Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("reading config file {}: {e}", path.display())))?;
        FileConfig::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; unknown keys are ignored, known keys with bad values are errors.
    pub fn parse(text: &str, origin: &str) -> Result<FileConfig> {
        let table: toml::Table = text
            .parse()
            .map_err(|e| usage(format!("{origin}: not valid TOML: {e}")))?;
        let section = |name: &str| -> Result<Option<&toml::Table>> {
            match table.get(name) {
                None => Ok(None),
                Some(toml::Value::Table(t)) => Ok(Some(t)),
                // oban-py lets `pruner = false` turn the plugin off; that says nothing to us.
                Some(toml::Value::Boolean(_)) => Ok(None),
                Some(_) => Err(usage(format!("{origin}: [{name}] must be a table"))),
            }
        };
        let pruner = section("pruner")?;
        let lifeline = section("lifeline")?;
        let dur = |t: Option<&toml::Table>, sect: &str, key: &str| -> Result<Option<Duration>> {
            match t.and_then(|t| t.get(key)) {
                None => Ok(None),
                Some(v) => toml_duration(v)
                    .map(Some)
                    .map_err(|e| usage(format!("{origin}: [{sect}] {key}: {e}"))),
            }
        };
        let dsn = toml_string(&table, "dsn", origin)?;
        if let Some(text) = &dsn {
            Dsn::parse(text).map_err(|e| usage(format!("{origin}: dsn: {e}")))?;
        }
        let cfg = FileConfig {
            dsn,
            prefix: toml_string(&table, "prefix", origin)?,
            prune_max_age: dur(pruner, "pruner", "max_age")?,
            prune_limit: match pruner.and_then(|t| t.get("limit")) {
                None => None,
                Some(toml::Value::Integer(n)) if (1..=100_000_000).contains(n) => Some(*n as u64),
                Some(v) => {
                    return Err(usage(format!(
                        "{origin}: [pruner] limit: expected a whole number from 1 to 100000000, got {v}"
                    )))
                }
            },
            prune_interval: dur(pruner, "pruner", "interval")?,
            lifeline_interval: dur(lifeline, "lifeline", "interval")?,
            rescue_after: dur(lifeline, "lifeline", "rescue_after")?,
        };
        for (key, value) in [
            ("[pruner] interval", cfg.prune_interval),
            ("[lifeline] interval", cfg.lifeline_interval),
        ] {
            if value.is_some_and(|v| v < crate::cli::MIN_INTERVAL) {
                return Err(usage(format!("{origin}: {key}: must be at least 100ms")));
            }
        }
        if cfg.rescue_after == Some(Duration::ZERO) {
            return Err(usage(format!(
                "{origin}: [lifeline] rescue_after: must be longer than 0s"
            )));
        }
        Ok(cfg)
    }
}

fn toml_string(table: &toml::Table, key: &str, origin: &str) -> Result<Option<String>> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(usage(format!("{origin}: {key}: expected a string"))),
    }
}

fn toml_duration(value: &toml::Value) -> Result<Duration, String> {
    match value {
        toml::Value::Integer(n) if *n >= 0 => duration::parse(&n.to_string()),
        toml::Value::String(s) => duration::parse(s),
        other => Err(format!("expected {}, got {other}", duration::EXPECTED)),
    }
}

/// Checks a schema name: a plain SQL identifier of at most 63 bytes. It is still quoted
/// wherever it is used; this check keeps typos and injection attempts out of the catalog.
pub fn validate_prefix(prefix: &str, origin: &str) -> Result<String> {
    let mut chars = prefix.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && prefix.len() <= 63;
    if ok {
        Ok(prefix.to_string())
    } else {
        Err(usage(format!(
            "{origin}: invalid prefix '{prefix}': expected a schema name of letters, digits and \
             underscores, starting with a letter or underscore, at most 63 characters"
        )))
    }
}

/// Resolves settings. `env` looks up environment variables (a function so tests can pass a
/// map); the default config file is `./oban.toml`, read only when it exists.
pub fn resolve(global: &GlobalArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings> {
    let file = match &global.config {
        Some(path) => FileConfig::load(path)?,
        None => {
            let default = PathBuf::from(defaults::CONFIG_FILE);
            if default.is_file() {
                FileConfig::load(&default)?
            } else {
                FileConfig::default()
            }
        }
    };
    resolve_with(global, env, file)
}

/// Resolution once the file (if any) is parsed.
pub fn resolve_with(
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: FileConfig,
) -> Result<Settings> {
    let env_nonempty = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let dsn_source = if let Some(d) = &global.database_url {
        Some((d.clone(), "--database-url"))
    } else if let Some(d) = env_nonempty("OBAN_DSN") {
        Some((d, "OBAN_DSN"))
    } else if let Some(d) = env_nonempty("DATABASE_URL") {
        Some((d, "DATABASE_URL"))
    } else {
        file.dsn.clone().map(|d| (d, "oban.toml dsn"))
    };
    let dsn = match dsn_source {
        Some((text, origin)) => {
            Some(Dsn::parse(&text).map_err(|e| usage(format!("{origin}: {e}")))?)
        }
        None => None,
    };
    let prefix = if let Some(p) = &global.prefix {
        validate_prefix(p, "--prefix")?
    } else if let Some(p) = env_nonempty("OBAN_PREFIX") {
        validate_prefix(&p, "OBAN_PREFIX")?
    } else if let Some(p) = &file.prefix {
        validate_prefix(p, "oban.toml prefix")?
    } else {
        defaults::PREFIX.to_string()
    };
    Ok(Settings {
        dsn,
        prefix,
        format: global.format.unwrap_or(defaults::FORMAT),
        quiet: global.quiet,
        pruner: Pruner {
            max_age: file.prune_max_age.unwrap_or(defaults::PRUNE_MAX_AGE),
            limit: file.prune_limit.unwrap_or(defaults::PRUNE_LIMIT),
            interval: file.prune_interval.unwrap_or(defaults::PRUNE_INTERVAL),
        },
        lifeline: Lifeline {
            interval: file
                .lifeline_interval
                .unwrap_or(defaults::LIFELINE_INTERVAL),
            rescue_after: file.rescue_after.unwrap_or(defaults::RESCUE_AFTER),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const OBAN_PY_FILE: &str = r#"
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
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let file = FileConfig::parse(OBAN_PY_FILE, "oban.toml").expect("parses");
        let none = GlobalArgs::default();
        let s = resolve_with(&none, &env_of(&[]), file.clone()).expect("ok");
        assert_eq!(s.dsn.expect("dsn").target, "postgres://file@db/app");
        assert_eq!(s.prefix, "file_schema");

        let env = env_of(&[
            ("DATABASE_URL", "postgres://dburl@db/app"),
            ("OBAN_PREFIX", "env_schema"),
        ]);
        let s = resolve_with(&none, &env, file.clone()).expect("ok");
        assert_eq!(s.dsn.expect("dsn").target, "postgres://dburl@db/app");
        assert_eq!(s.prefix, "env_schema");

        let env = env_of(&[
            ("OBAN_DSN", "postgres://oban@db/app"),
            ("DATABASE_URL", "postgres://dburl@db/app"),
        ]);
        let s = resolve_with(&none, &env, file.clone()).expect("ok");
        assert_eq!(s.dsn.expect("dsn").target, "postgres://oban@db/app");

        let flags = GlobalArgs {
            database_url: Some("sqlite://flag.db".into()),
            prefix: Some("flag_schema".into()),
            ..GlobalArgs::default()
        };
        let s = resolve_with(&flags, &env, file).expect("ok");
        assert_eq!(s.dsn.expect("dsn").target, "flag.db");
        assert_eq!(s.prefix, "flag_schema");
    }

    #[test]
    fn defaults_match_oban_py() {
        let s =
            resolve_with(&GlobalArgs::default(), &env_of(&[]), FileConfig::default()).expect("ok");
        assert!(s.dsn.is_none());
        assert_eq!(s.prefix, "public");
        assert_eq!(s.pruner.max_age, Duration::from_secs(86_400));
        assert_eq!(s.pruner.limit, 20_000);
        assert_eq!(s.pruner.interval, Duration::from_secs(60));
        assert_eq!(s.lifeline.rescue_after, Duration::from_secs(300));
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
    fn prefixes_are_identifiers() {
        for good in ["public", "_x", "oban_2", "Jobs"] {
            assert!(validate_prefix(good, "t").is_ok(), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "public; drop table x",
            "a-b",
            "a\"b",
            "ä",
            &"x".repeat(64),
        ] {
            assert!(validate_prefix(bad, "t").is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
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

        /// Prefixes are accepted only as plain identifiers, so nothing else reaches SQL.
        #[test]
        fn prefixes_are_plain_identifiers(text in "\\PC{0,70}") {
            if let Ok(p) = validate_prefix(&text, "--prefix") {
                prop_assert!(p.len() <= 63 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            }
        }
    }
}
