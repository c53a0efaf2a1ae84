//! oban.toml, read through serde.
//!
//! The file may be the one oban-py reads, so every key oban-py accepts (`queues`, `node`,
//! `metrics`, `pool_*`, …) is accepted and ignored; only `dsn`, `prefix`, `[pruner]`,
//! `[lifeline]`, `[[targets]]` and the `[[retention]]` tables (`config::rules`) are read. A bad
//! value is a usage error naming the line, the key and the allowed form. Keys that neither tool
//! reads but that look like a misspelling of one are reported as warnings, and so are keys only
//! this tool reads (oban-py refuses them) in a file that also configures an application.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::de::DeTable;

use crate::cli::ReplicaLag;
use crate::dsn::Dsn;
use crate::duration;
use crate::error::usage;
use crate::model::retention::Rule;

#[cfg(test)]
use keys::{is_near, OBAN_PY_KEYS};
use keys::{tool_only_keys, unknown_keys};

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
    /// `[pruner] max_replica_lag` (this tool only)
    pub prune_max_replica_lag: Option<ReplicaLag>,
    /// `[pruner] max_slot_lag` (this tool only), bytes
    pub prune_max_slot_lag: Option<u64>,
    /// `[pruner] max_wal_rate` (this tool only), bytes per second
    pub prune_max_wal_rate: Option<u64>,
    /// `[lifeline] interval`
    pub lifeline_interval: Option<Duration>,
    /// `[lifeline] rescue_after`
    pub rescue_after: Option<Duration>,
    /// `[[retention]]` tables, in order.
    pub retention: Vec<Rule>,
    /// `[[targets]]`: the databases (and schemas) a run covers, in file order.
    pub targets: Vec<FileTarget>,
    /// Unknown keys that look like typos, each as `FILE line N: unknown key …`.
    pub warnings: Vec<String>,
}

/// One `[[targets]]` entry: a database, optionally named and with its own schema.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    /// `name`: how output labels it and `--target` selects it.
    #[serde(default)]
    pub name: Option<String>,
    /// `dsn` (required; checked as the top-level `dsn` is).
    #[serde(deserialize_with = "target_dsn")]
    pub dsn: String,
    /// `prefix` (default: the global prefix).
    #[serde(default)]
    pub prefix: Option<String>,
}

impl FileConfig {
    /// Reads and parses a file; its path names it in errors and warnings.
    pub fn load(path: &Path) -> Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("reading config file {}: {e}", path.display())))?;
        FileConfig::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names the file in messages. Unknown keys are ignored (typos of
    /// known ones are returned as warnings), known keys with bad values are errors.
    pub fn parse(text: &str, origin: &str) -> Result<FileConfig> {
        // A syntax error is reported by position and reason only: toml's own message quotes
        // the offending line, which may be the dsn with its password.
        let document = DeTable::parse(text).map_err(|e| {
            let at = match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    format!(" line {line}, column {column}")
                }
                None => String::new(),
            };
            usage(format!("{origin}{at}: not valid TOML: {}", e.message()))
        })?;
        let mut found = unknown_keys(document.get_ref());
        found.extend(tool_only_keys(document.get_ref()));
        found.sort();
        let warnings = found
            .into_iter()
            .map(|(offset, what)| {
                let (line, _) = line_column(text, offset);
                format!("{origin} line {line}: {what}")
            })
            .collect();
        let retention = super::rules::from_document(document.get_ref(), origin, &|offset| {
            line_column(text, offset).0
        })?;
        let file = Document::deserialize(toml::de::Deserializer::from(document)).map_err(|e| {
            let at = e
                .span()
                .map(|span| format!(" line {}", line_column(text, span.start).0))
                .unwrap_or_default();
            usage(format!("{origin}{at}: {}", e.message()))
        })?;
        let pruner = file.pruner.unwrap_or_default();
        let lifeline = file.lifeline.unwrap_or_default();
        Ok(FileConfig {
            dsn: file.dsn,
            prefix: file.prefix,
            prune_max_age: pruner.max_age,
            prune_limit: pruner.limit,
            prune_interval: pruner.interval,
            prune_max_replica_lag: pruner.max_replica_lag,
            prune_max_slot_lag: pruner.max_slot_lag,
            prune_max_wal_rate: pruner.max_wal_rate,
            lifeline_interval: lifeline.interval,
            rescue_after: lifeline.rescue_after,
            retention,
            targets: file.targets,
            warnings,
        })
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// The part of oban.toml this tool reads. Every value is checked as it is read, so that an
/// error carries the position of the value.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Document {
    #[serde(deserialize_with = "dsn")]
    dsn: Option<String>,
    #[serde(deserialize_with = "prefix")]
    prefix: Option<String>,
    #[serde(deserialize_with = "pruner")]
    pruner: Option<PrunerSection>,
    #[serde(deserialize_with = "lifeline")]
    lifeline: Option<LifelineSection>,
    targets: Vec<FileTarget>,
}

/// `[pruner]`
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PrunerSection {
    #[serde(deserialize_with = "pruner_max_age")]
    max_age: Option<Duration>,
    #[serde(deserialize_with = "pruner_limit")]
    limit: Option<u64>,
    #[serde(deserialize_with = "pruner_interval")]
    interval: Option<Duration>,
    #[serde(deserialize_with = "pruner_max_replica_lag")]
    max_replica_lag: Option<ReplicaLag>,
    #[serde(deserialize_with = "pruner_max_slot_lag")]
    max_slot_lag: Option<u64>,
    #[serde(deserialize_with = "pruner_max_wal_rate")]
    max_wal_rate: Option<u64>,
}

/// `[lifeline]`
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LifelineSection {
    #[serde(deserialize_with = "lifeline_interval")]
    interval: Option<Duration>,
    #[serde(deserialize_with = "lifeline_rescue_after")]
    rescue_after: Option<Duration>,
}

/// Reads any TOML value, so that a wrong type becomes a message naming the key rather than
/// serde's generic one.
fn value<'de, D: Deserializer<'de>>(d: D) -> Result<toml::Value, D::Error> {
    toml::Value::deserialize(d)
}

fn string<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Option<String>, D::Error> {
    match value(d)? {
        toml::Value::String(s) => Ok(Some(s)),
        _ => Err(de::Error::custom(format!("{key}: expected a string"))),
    }
}

fn dsn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = string(d, "dsn")?;
    if let Some(text) = &text {
        Dsn::parse(text).map_err(|e| de::Error::custom(format!("dsn: {e}")))?;
    }
    Ok(text)
}

fn target_dsn<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = string(d, "[[targets]] dsn")?.unwrap_or_default();
    Dsn::parse(&text).map_err(|e| de::Error::custom(format!("[[targets]] dsn: {e}")))?;
    Ok(text)
}

fn prefix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string(d, "prefix")
}

/// A duration: integer seconds (`3_600`) or a string (`"1h30m"`).
fn duration_value<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Duration, D::Error> {
    let v = value(d)?;
    let parsed = match &v {
        toml::Value::Integer(n) if *n >= 0 => duration::parse(&n.to_string()),
        toml::Value::String(s) => duration::parse(s),
        other => Err(format!("expected {}, got {other}", duration::EXPECTED)),
    };
    parsed.map_err(|e| de::Error::custom(format!("{key}: {e}")))
}

/// A watch interval: a duration of at least [`crate::cli::MIN_INTERVAL`].
fn interval_value<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Duration, D::Error> {
    let v = duration_value(d, key)?;
    if v < crate::cli::MIN_INTERVAL {
        return Err(de::Error::custom(format!(
            "{key}: must be at least {}",
            duration::human(crate::cli::MIN_INTERVAL)
        )));
    }
    Ok(v)
}

fn pruner_max_age<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration_value(d, "[pruner] max_age").map(Some)
}

fn pruner_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match value(d)? {
        toml::Value::Integer(n) if (1..=100_000_000).contains(&n) => Ok(Some(n as u64)),
        v => Err(de::Error::custom(format!(
            "[pruner] limit: expected a whole number from 1 to 100000000, got {v}"
        ))),
    }
}

fn pruner_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    interval_value(d, "[pruner] interval").map(Some)
}

/// A string read by one of the flags' parsers, so that the file takes what the flag takes.
fn parsed<'de, D: Deserializer<'de>, T>(
    d: D,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    let text = string(d, key)?.unwrap_or_default();
    parse(&text)
        .map(Some)
        .map_err(|e| de::Error::custom(format!("{key}: {e}")))
}

fn pruner_max_replica_lag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ReplicaLag>, D::Error> {
    parsed(d, "[pruner] max_replica_lag", crate::cli::replica_lag)
}

fn pruner_max_slot_lag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    parsed(d, "[pruner] max_slot_lag", crate::cli::size)
}

fn pruner_max_wal_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    parsed(d, "[pruner] max_wal_rate", crate::cli::wal_rate)
}

fn lifeline_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    interval_value(d, "[lifeline] interval").map(Some)
}

fn lifeline_rescue_after<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v = duration_value(d, "[lifeline] rescue_after")?;
    if v.is_zero() {
        return Err(de::Error::custom(
            "[lifeline] rescue_after: must be longer than 0s",
        ));
    }
    Ok(Some(v))
}

fn pruner<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PrunerSection>, D::Error> {
    d.deserialize_any(SectionVisitor::new("pruner"))
}

fn lifeline<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LifelineSection>, D::Error> {
    d.deserialize_any(SectionVisitor::new("lifeline"))
}

/// A `[pruner]` or `[lifeline]` table, or a boolean: oban-py accepts `pruner = false` (to turn
/// the plugin off), which says nothing to this tool.
struct SectionVisitor<T> {
    name: &'static str,
    section: std::marker::PhantomData<T>,
}

impl<T> SectionVisitor<T> {
    fn new(name: &'static str) -> Self {
        SectionVisitor {
            name,
            section: std::marker::PhantomData,
        }
    }

    fn not_a_table<E: de::Error>(&self) -> E {
        E::custom(format!("[{}] must be a table", self.name))
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for SectionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a [{}] table", self.name)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(self.not_a_table())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(self.not_a_table())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(self.not_a_table())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.not_a_table())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.not_a_table())
    }
}

mod keys;
#[cfg(test)]
pub(crate) mod tests;
