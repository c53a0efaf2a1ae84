//! Settings from built-in defaults < oban.toml < environment < flags, resolved in one place.
//!
//! The built-in defaults are in [`defaults`]; oban.toml is read by [`mod@file`]. Resolution is pure:
//! warnings about the file travel in [`Settings::warnings`] for the caller to print.

pub use crate::defaults;
pub mod file;
pub mod rules;
pub mod targets;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::cli::GlobalArgs;
use crate::dsn::Dsn;
use crate::error::usage;
use crate::output::{Format, Style};

pub use file::FileConfig;
pub use targets::Target;

/// `[pruner]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pruner {
    /// Age after which final jobs are pruned.
    pub max_age: Duration,
    /// Rows per pass.
    pub limit: u64,
    /// Time between passes.
    pub interval: Duration,
    /// Throttles from the file (`[pruner] max_replica_lag`, …); flags and the environment
    /// come first.
    pub throttle: crate::cli::ThrottleArgs,
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
    /// Whether `-o/--format` was given (rather than the default).
    pub format_given: bool,
    /// Suppress table output on success.
    pub quiet: bool,
    /// Pruner settings.
    pub pruner: Pruner,
    /// Lifeline settings.
    pub lifeline: Lifeline,
    /// `[[retention]]` rules from the file, in order (`--rule` flags replace them).
    pub retention: Vec<crate::model::retention::Rule>,
    /// A run over several targets (more than one, or `--all-prefixes`): each target's
    /// database and schema; empty for a run on the one `dsn` and `prefix`.
    pub targets: Vec<Target>,
    /// `--all-prefixes`: each PostgreSQL target stands for every schema holding a jobs table.
    pub all_prefixes: bool,
    /// `--parallel`: targets worked on at once.
    pub parallel: usize,
    /// `--all-targets`: actions and schema changes may run on several targets.
    pub all_targets: bool,
    /// Things worth telling the user that are not errors (typos in oban.toml), one line each,
    /// without the `oban: warning: ` lead.
    pub warnings: Vec<String>,
}

impl Settings {
    /// The output style the settings ask for; `compact` for one JSON document per line.
    pub fn style(&self, compact: bool) -> Style {
        Style {
            format: self.format,
            quiet: self.quiet,
            compact,
        }
    }

    /// Whether this run covers several targets (see [`Settings::targets`]).
    pub fn fleet(&self) -> bool {
        !self.targets.is_empty()
    }

    /// The settings of one target's run: its database and schema, as a single-target run.
    pub fn for_target(&self, target: &Target) -> Settings {
        Settings {
            dsn: Some(target.dsn.clone()),
            prefix: target.prefix.clone(),
            targets: Vec::new(),
            all_prefixes: false,
            ..self.clone()
        }
    }

    /// The DSN, or a usage error that says how to give one.
    pub fn require_dsn(&self) -> Result<&Dsn> {
        self.dsn.as_ref().ok_or_else(|| {
            usage("no database: pass -d/--database-url, set OBAN_DSN or DATABASE_URL, or put dsn in oban.toml")
        })
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

/// Refuses to write into PostgreSQL's own schemas (`information_schema`, `pg_catalog`,
/// `pg_toast`, any `pg_*`): a usage error, before any SQL runs. SQLite has no schemas.
pub fn refuse_system_schema(settings: &Settings) -> Result<()> {
    let sqlite = settings
        .dsn
        .as_ref()
        .is_some_and(|d| d.backend == crate::dsn::Backend::Sqlite);
    let prefix = settings.prefix.to_ascii_lowercase();
    if !sqlite && (prefix == "information_schema" || prefix.starts_with("pg_")) {
        return Err(usage(format!(
            "prefix {}: a PostgreSQL system schema; Oban's tables belong in a schema of their own",
            settings.prefix
        )));
    }
    Ok(())
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
    let dsn_source = if let [d] = global.database_url.as_slice() {
        Some((d.clone(), "--database-url"))
    } else if global.database_url.len() > 1 || !file.targets.is_empty() {
        None
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
    // Several -d flags, else [[targets]], else the one DSN; --target narrows any of them.
    let mut fleet = if global.database_url.len() > 1 {
        targets::from_flags(&global.database_url, &prefix)?
    } else if global.database_url.is_empty() && !file.targets.is_empty() {
        targets::from_file(&file.targets, &prefix)?
    } else {
        dsn.iter()
            .map(|d| Target {
                name: Target::derived_name(d, &prefix),
                dsn: d.clone(),
                prefix: prefix.clone(),
            })
            .collect()
    };
    fleet = targets::select(fleet, &global.target)?;
    let (dsn, prefix) = match fleet.as_slice() {
        [one] if !global.all_prefixes => {
            let (dsn, prefix) = (Some(one.dsn.clone()), one.prefix.clone());
            fleet.clear();
            (dsn, prefix)
        }
        [] => (dsn, prefix),
        _ => (None, prefix),
    };
    Ok(Settings {
        dsn,
        prefix,
        targets: fleet,
        all_prefixes: global.all_prefixes,
        parallel: global.parallel.unwrap_or(defaults::FLEET_PARALLEL),
        all_targets: global.all_targets,
        format: global.format.unwrap_or(defaults::FORMAT),
        format_given: global.format.is_some(),
        quiet: global.quiet,
        pruner: Pruner {
            max_age: file.prune_max_age.unwrap_or(defaults::PRUNE_MAX_AGE),
            limit: file.prune_limit.unwrap_or(defaults::PRUNE_LIMIT),
            interval: file.prune_interval.unwrap_or(defaults::PRUNE_INTERVAL),
            throttle: crate::cli::ThrottleArgs {
                max_replica_lag: file.prune_max_replica_lag,
                max_slot_lag: file.prune_max_slot_lag,
                max_wal_rate: file.prune_max_wal_rate,
            },
        },
        lifeline: Lifeline {
            interval: file
                .lifeline_interval
                .unwrap_or(defaults::LIFELINE_INTERVAL),
            rescue_after: file.rescue_after.unwrap_or(defaults::RESCUE_AFTER),
        },
        retention: file.retention,
        warnings: file.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use file::tests::OBAN_PY_FILE;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
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
            database_url: vec!["sqlite://flag.db".into()],
            prefix: Some("flag_schema".into()),
            ..GlobalArgs::default()
        };
        let s = resolve_with(&flags, &env, file).expect("ok");
        assert_eq!(s.dsn.expect("dsn").target, "flag.db");
        assert_eq!(s.prefix, "flag_schema");
    }

    #[test]
    fn targets_come_from_flags_else_the_file_else_the_one_dsn() {
        let file = FileConfig::parse(
            "[[targets]]\nname = \"a\"\ndsn = \"postgres://u:pw@db/a\"\n\
             [[targets]]\ndsn = \"b.db\"\nprefix = \"x\"\n",
            "oban.toml",
        )
        .expect("parses");
        let env = env_of(&[("OBAN_DSN", "postgres://env@db/app")]);
        let s = resolve_with(&GlobalArgs::default(), &env, file.clone()).expect("ok");
        let names: Vec<&str> = s.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b.db"], "[[targets]] over OBAN_DSN");
        assert!(s.fleet() && s.dsn.is_none());
        assert_eq!(s.targets[1].prefix, "x");

        let flags = GlobalArgs {
            database_url: vec!["postgres://db/one".into(), "two.db".into()],
            ..GlobalArgs::default()
        };
        let s = resolve_with(&flags, &env, file.clone()).expect("ok");
        let names: Vec<&str> = s.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["db/one", "two.db"], "-d flags over the file");

        // One target selected, or one -d: a single-target run, as without targets.
        let one = GlobalArgs {
            target: vec!["a".into()],
            ..GlobalArgs::default()
        };
        let s = resolve_with(&one, &env, file.clone()).expect("ok");
        assert!(!s.fleet());
        assert_eq!(s.dsn.expect("dsn").target, "postgres://u:pw@db/a");
        let all = GlobalArgs {
            all_prefixes: true,
            ..one
        };
        assert!(resolve_with(&all, &env, file).expect("ok").fleet());
        let s = resolve_with(&GlobalArgs::default(), &env, FileConfig::default()).expect("ok");
        assert!(!s.fleet());
        assert_eq!(s.parallel, defaults::FLEET_PARALLEL);
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
    fn file_warnings_reach_the_settings() {
        let file = FileConfig::parse("[pruner]\nmax_agee = 5\n", "oban.toml").expect("parses");
        let s = resolve_with(&GlobalArgs::default(), &env_of(&[]), file).expect("ok");
        assert_eq!(
            s.warnings,
            ["oban.toml line 2: unknown key [pruner] max_agee (did you mean max_age?)"]
        );
        assert_eq!(s.pruner.max_age, defaults::PRUNE_MAX_AGE);
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
        /// Prefixes are accepted only as plain identifiers, so nothing else reaches SQL.
        #[test]
        fn prefixes_are_plain_identifiers(text in "\\PC{0,70}") {
            if let Ok(p) = validate_prefix(&text, "--prefix") {
                prop_assert!(p.len() <= 63 && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            }
        }
    }
}
