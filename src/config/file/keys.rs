//! Which keys of oban.toml look wrong: misspellings of a key either tool reads, and keys only
//! this tool reads in a file that also configures an oban-py application.

use toml::de::{DeTable, DeValue};

/// The keys this tool reads in `[pruner]`: the three oban-py accepts there, then the
/// throttles, which only this tool knows (oban-py's pruner refuses them).
const PRUNER_KEYS: [&str; 6] = [
    "max_age",
    "limit",
    "interval",
    "max_replica_lag",
    "max_slot_lag",
    "max_wal_rate",
];
/// The `[pruner]` keys oban-py does not accept.
const TOOL_PRUNER_KEYS: [&str; 3] = ["max_replica_lag", "max_slot_lag", "max_wal_rate"];
/// The keys this tool reads in `[lifeline]`; they are also all oban-py accepts there.
const LIFELINE_KEYS: [&str; 2] = ["interval", "rescue_after"];
/// Every top-level key oban-py's `Config` accepts (oban-py 0.7, `oban/_config.py`).
pub(super) const OBAN_PY_KEYS: [&str; 20] = [
    "dsn",
    "leadership",
    "lifeline",
    "metrics",
    "name",
    "node",
    "notifier",
    "pool_check",
    "pool_max_idle",
    "pool_max_lifetime",
    "pool_max_size",
    "pool_min_size",
    "pool_timeout",
    "prefix",
    "pruner",
    "queues",
    "refresher",
    "scheduler",
    "shutdown_grace_period",
    "stager",
];
/// Top-level keys this tool reads that oban-py does not know (and ignores).
const TOOL_KEYS: [&str; 2] = ["retention", "targets"];
/// What a top-level key that neither tool knows may be a misspelling of, and how to say so.
const TOP_LEVEL_NEAR: [(&str, &str); 10] = [
    ("targets", "[[targets]]"),
    ("dsn", "dsn"),
    ("prefix", "prefix"),
    ("pruner", "[pruner]"),
    ("lifeline", "[lifeline]"),
    ("max_age", "[pruner] max_age"),
    ("limit", "[pruner] limit"),
    ("interval", "[pruner] interval or [lifeline] interval"),
    ("rescue_after", "[lifeline] rescue_after"),
    ("retention", "[[retention]]"),
];

/// Keys that look like typos: every unknown key in `[pruner]` and `[lifeline]`, and top-level
/// keys oban-py does not accept either that are close to one this tool reads. Each comes with
/// the byte offset of the key.
pub(super) fn unknown_keys(document: &DeTable<'_>) -> Vec<(usize, String)> {
    let mut found = vec![];
    for (key, value) in document {
        let name = key.get_ref().as_ref();
        let is_table = matches!(value.get_ref(), DeValue::Table(_));
        let sections = [
            ("pruner", &PRUNER_KEYS[..]),
            ("lifeline", &LIFELINE_KEYS[..]),
        ];
        if let Some((section, known)) = sections.iter().find(|(s, _)| *s == name) {
            let DeValue::Table(table) = value.get_ref() else {
                continue;
            };
            for (sub, _) in table {
                let sub_name = sub.get_ref().as_ref();
                if known.contains(&sub_name) {
                    continue;
                }
                let hint = known
                    .iter()
                    .copied()
                    .filter(|k| is_near(sub_name, k))
                    .min_by_key(|k| distance(sub_name, k))
                    .map(|k| format!(" (did you mean {k}?)"))
                    .or_else(|| {
                        // A key of the other section: say where it belongs.
                        let (other, keys) = sections.iter().find(|(s, _)| s != section)?;
                        keys.contains(&sub_name)
                            .then(|| format!(" (did you mean [{other}] {sub_name}?)"))
                    })
                    .or_else(|| {
                        (*section == "pruner" && sub_name == "rules").then(|| {
                            " (retention rules are top-level [[retention]] tables)".to_string()
                        })
                    })
                    .unwrap_or_default();
                found.push((
                    sub.span().start,
                    format!("unknown key [{section}] {sub_name}{hint}"),
                ));
            }
        } else if !OBAN_PY_KEYS.contains(&name) && !TOOL_KEYS.contains(&name) {
            let near = TOP_LEVEL_NEAR
                .iter()
                .filter(|(k, _)| is_near(name, k))
                .min_by_key(|(k, _)| distance(name, k));
            if let Some((_, meant)) = near {
                let tables = matches!(value.get_ref(), DeValue::Array(items)
                    if !items.is_empty()
                        && items.iter().all(|i| matches!(i.get_ref(), DeValue::Table(_))));
                let shown = match (is_table, tables) {
                    (true, _) => format!("[{name}]"),
                    (_, true) => format!("[[{name}]]"),
                    _ => name.to_string(),
                };
                found.push((
                    key.span().start,
                    format!("unknown key {shown} (did you mean {meant}?)"),
                ));
            }
        }
    }
    found.sort();
    found
}

/// Keys only this tool reads, in a file that also sets something only an application reads
/// (`queues`, `node`, …): oban-py refuses such a file, so the application would not start.
pub(super) fn tool_only_keys(document: &DeTable<'_>) -> Vec<(usize, String)> {
    let read_here = ["dsn", "prefix", "pruner", "lifeline"];
    let app_keys: Vec<&str> = document
        .iter()
        .map(|(k, _)| k.get_ref().as_ref())
        .filter(|k| OBAN_PY_KEYS.contains(k) && !read_here.contains(k))
        .collect();
    // `queues` is the one every application file has; name it when it is there.
    let Some(app) = app_keys
        .iter()
        .find(|k| **k == "queues")
        .or(app_keys.first())
    else {
        return Vec::new();
    };
    let app = app.to_string();
    let mut found = vec![];
    let mut flag = |offset: usize, what: String| {
        found.push((
            offset,
            format!(
                "{what} is read by oban only: oban-py refuses it, so the application that reads \
                 this file (it sets {app}) would not start; keep it in a file of oban's own \
                 (oban -c oban-ops.toml)"
            ),
        ))
    };
    for (key, value) in document {
        let name = key.get_ref().as_ref();
        if TOOL_KEYS.contains(&name) {
            flag(key.span().start, format!("[[{name}]]"));
        } else if name == "pruner" {
            let DeValue::Table(table) = value.get_ref() else {
                continue;
            };
            for (sub, _) in table {
                let sub_name = sub.get_ref().as_ref();
                if TOOL_PRUNER_KEYS.contains(&sub_name) {
                    flag(sub.span().start, format!("[pruner] {sub_name}"));
                }
            }
        }
    }
    found
}

/// Whether `typed` is close enough to `known` to be a misspelling of it: at most one edit for
/// short names (`dsn`), two for longer ones, ignoring case.
pub(super) fn is_near(typed: &str, known: &str) -> bool {
    let allowed = if known.len() <= 4 { 1 } else { 2 };
    distance(typed, known) <= allowed
}

/// Edit distance counting insertions, deletions, substitutions and swaps of neighbours, ignoring
/// case.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}
