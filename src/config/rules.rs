//! Retention rules as written: `[[retention]]` tables in the config file and `--rule` flags
//! (`queue=mailers,state=discarded,max_age=30d`). Both are read key by key into one draft and
//! checked the same way; a bad rule is a usage error (exit 2) naming the file line or the flag,
//! before any SQL runs.

use std::time::Duration;

use anyhow::Result;
use toml::de::{DeTable, DeValue};

use crate::duration;
use crate::error::usage;
use crate::model::retention::{Keep, Rule, RuleMatch, WorkerPattern, DEFAULT_NAME};
use crate::model::FinalState;

/// The keys a rule may have.
const KEYS: &str = "name, queue, worker, state, max_age, keep_last";

/// A value as either form gives it.
enum Raw<'a> {
    Text(&'a str),
    Int(i64),
    List(Vec<Raw<'a>>),
    Other,
}

/// One rule's keys, read but not yet checked as a whole.
#[derive(Default)]
struct Draft {
    name: Option<String>,
    matches: RuleMatch,
    max_age: Option<Duration>,
    keep_last: Option<u64>,
}

impl Draft {
    /// Reads one key. `again` is true when the key was already given (only `state` may
    /// repeat, in the flag form).
    fn set(&mut self, key: &str, value: Raw, again: bool) -> Result<(), String> {
        if again && key != "state" {
            return Err(format!("{key} given twice"));
        }
        match key {
            "name" => self.name = Some(text(key, value)?),
            "queue" => self.matches.queue = Some(text(key, value)?),
            "worker" => self.matches.worker = Some(WorkerPattern::new(&text(key, value)?)),
            "state" => {
                let values = match value {
                    Raw::List(items) if !items.is_empty() => items,
                    Raw::List(_) => return Err("state: expected at least one state".into()),
                    one => vec![one],
                };
                for v in values {
                    let state = final_state(&text("state", v)?)?;
                    if !self.matches.states.contains(&state) {
                        self.matches.states.push(state);
                    }
                }
            }
            "max_age" => {
                let parsed = match value {
                    Raw::Int(n) if n >= 0 => duration::parse(&n.to_string()),
                    Raw::Text(t) => duration::parse(t),
                    _ => Err(format!("expected {}", duration::EXPECTED)),
                };
                self.max_age = Some(parsed.map_err(|e| format!("max_age: {e}"))?);
            }
            "keep_last" => {
                let n = match value {
                    Raw::Int(n) => Some(n),
                    Raw::Text(t) => t.replace('_', "").parse::<i64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n) if n >= 0 => self.keep_last = Some(n as u64),
                    _ => return Err("keep_last: expected a whole number, 0 or more".into()),
                }
            }
            other => return Err(format!("unknown key {other} (a rule takes {KEYS})")),
        }
        Ok(())
    }

    /// The rule, checked as a whole; `position` counts from 1.
    fn finish(self, position: usize) -> Result<Rule, String> {
        let keep = match (self.max_age, self.keep_last) {
            (Some(age), None) => Keep::MaxAge(age),
            (None, Some(n)) => Keep::Last(n),
            (Some(_), Some(_)) => {
                return Err("give max_age or keep_last, not both".into());
            }
            (None, None) => return Err("missing max_age or keep_last".into()),
        };
        Ok(Rule {
            name: self.name.unwrap_or_else(|| format!("rule {position}")),
            matches: self.matches,
            keep,
        })
    }
}

/// A non-empty string.
fn text(key: &str, value: Raw) -> Result<String, String> {
    match value {
        Raw::Text(t) if !t.trim().is_empty() => Ok(t.to_string()),
        Raw::Text(_) => Err(format!("{key}: must not be empty")),
        _ => Err(format!("{key}: expected a string")),
    }
}

fn final_state(name: &str) -> Result<FinalState, String> {
    FinalState::parse(name).ok_or_else(|| {
        format!("state: expected a final state (completed, cancelled, discarded), got {name}")
    })
}

/// Two rules with one name would be one line in the report; `default` names the jobs no rule
/// matches.
fn check_names(rules: &[Rule]) -> Result<(), String> {
    for (i, rule) in rules.iter().enumerate() {
        if rule.name == DEFAULT_NAME {
            return Err(format!(
                "the name '{DEFAULT_NAME}' is kept for the jobs no rule matches"
            ));
        }
        if rules[..i].iter().any(|r| r.name == rule.name) {
            return Err(format!("two rules are named '{}'", rule.name));
        }
    }
    Ok(())
}

/// Rules from `--rule` flags, in order.
pub fn from_flags(flags: &[String]) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for (i, flag) in flags.iter().enumerate() {
        let fail = |e: String| usage(format!("--rule '{flag}': {e}"));
        let mut draft = Draft::default();
        let mut seen: Vec<&str> = Vec::new();
        for part in flag.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(fail(format!(
                    "expected key=value pairs separated by commas, got '{part}' (keys: {KEYS})"
                )));
            };
            let key = key.trim();
            draft
                .set(key, Raw::Text(value.trim()), seen.contains(&key))
                .map_err(fail)?;
            seen.push(key);
        }
        rules.push(draft.finish(i + 1).map_err(fail)?);
    }
    check_names(&rules).map_err(|e| usage(format!("--rule: {e}")))?;
    Ok(rules)
}

/// Rules from the `[[retention]]` tables of a parsed file; `line` turns a byte offset into
/// the line that errors name (`{origin} line N: [[retention]] …`).
pub fn from_document(
    document: &DeTable<'_>,
    origin: &str,
    line: &dyn Fn(usize) -> usize,
) -> Result<Vec<Rule>> {
    let fail = |offset: usize, e: String| {
        usage(format!("{origin} line {}: [[retention]] {e}", line(offset)))
    };
    let Some(value) = document.get("retention") else {
        return Ok(Vec::new());
    };
    let DeValue::Array(tables) = value.get_ref() else {
        return Err(fail(
            value.span().start,
            "must be an array of tables ([[retention]] headers)".into(),
        ));
    };
    let mut rules = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let DeValue::Table(keys) = table.get_ref() else {
            return Err(fail(table.span().start, "must be a table".into()));
        };
        let mut draft = Draft::default();
        for (key, value) in keys {
            draft
                .set(key.get_ref(), raw(value.get_ref()), false)
                .map_err(|e| fail(key.span().start, e))?;
        }
        rules.push(
            draft
                .finish(i + 1)
                .map_err(|e| fail(table.span().start, e))?,
        );
    }
    check_names(&rules).map_err(|e| fail(value.span().start, e))?;
    Ok(rules)
}

fn raw<'a>(value: &'a DeValue<'_>) -> Raw<'a> {
    match value {
        DeValue::String(s) => Raw::Text(s),
        DeValue::Integer(n) => {
            i64::from_str_radix(n.as_str(), n.radix()).map_or(Raw::Other, Raw::Int)
        }
        DeValue::Array(items) => Raw::List(items.iter().map(|v| raw(v.get_ref())).collect()),
        _ => Raw::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Result<Vec<Rule>> {
        from_flags(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn file(text: &str) -> Result<Vec<Rule>> {
        crate::config::FileConfig::parse(text, "oban.toml").map(|f| f.retention)
    }

    #[test]
    fn the_flag_form_reads_every_key() {
        let rules = flags(&[
            "queue=mailers,state=discarded,max_age=30d",
            "worker=app.*.Track?,state=completed,state=cancelled,keep_last=1_000,name=events",
        ])
        .expect("parses");
        assert_eq!(rules[0].name, "rule 1");
        assert_eq!(rules[0].matches.queue.as_deref(), Some("mailers"));
        assert_eq!(rules[0].matches.states, [FinalState::Discarded]);
        assert_eq!(
            rules[0].keep,
            Keep::MaxAge(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(rules[1].name, "events");
        assert_eq!(
            rules[1].matches.worker,
            Some(WorkerPattern::Glob("app.*.Track?".into()))
        );
        assert_eq!(
            rules[1].matches.states,
            [FinalState::Completed, FinalState::Cancelled]
        );
        assert_eq!(rules[1].keep, Keep::Last(1000));
    }

    #[test]
    fn the_file_form_reads_every_key() {
        let rules = file(
            "[[retention]]\nqueue = \"mailers\"\nmax_age = 3_600\n\n[[retention]]\nname = \"dead\"\n\
             worker = \"app.Mailer\"\nstate = [\"discarded\", \"cancelled\"]\nkeep_last = 0\n",
        )
        .expect("parses");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].keep, Keep::MaxAge(Duration::from_secs(3600)));
        assert_eq!(rules[1].name, "dead");
        assert_eq!(
            rules[1].matches.worker,
            Some(WorkerPattern::Exact("app.Mailer".into()))
        );
        assert_eq!(rules[1].keep, Keep::Last(0));
    }

    #[test]
    fn rules_in_the_wrong_place_are_pointed_to_the_right_one() {
        let file = crate::config::FileConfig::parse(
            "[[pruner.rules]]\nmax_age = 5\n\n[[retension]]\nkeep_last = 1\n",
            "oban.toml",
        )
        .expect("parses");
        assert!(file.retention.is_empty());
        assert_eq!(
            file.warnings,
            [
                "oban.toml line 1: unknown key [pruner] rules (retention rules are top-level \
                 [[retention]] tables)",
                "oban.toml line 4: unknown key [[retension]] (did you mean [[retention]]?)",
            ]
        );
    }

    #[test]
    fn bad_rules_are_usage_errors_with_their_line() {
        for (text, line, what) in [
            (
                "[[retention]]\nqueue = \"a\"\n",
                1,
                "missing max_age or keep_last",
            ),
            ("[[retention]]\nmax_age = 5\nkeep_last = 3\n", 1, "not both"),
            (
                "dsn = \"x.db\"\n[[retention]]\nmax_age = \"soon\"\n",
                3,
                "max_age",
            ),
            (
                "[[retention]]\nmax_age = 5\n[[retention]]\nkeep_last = -1\n",
                4,
                "keep_last",
            ),
            (
                "[[retention]]\nstate = \"executing\"\nmax_age = 5\n",
                2,
                "final state",
            ),
            (
                "[[retention]]\nqueu = \"a\"\nmax_age = 5\n",
                2,
                "unknown key queu",
            ),
            (
                "[[retention]]\nqueue = \"\"\nmax_age = 5\n",
                2,
                "queue: must not be empty",
            ),
            ("retention = 3\n", 1, "array of tables"),
        ] {
            let err = file(text).expect_err(text);
            let msg = format!("{err:#}");
            assert!(
                msg.starts_with(&format!("oban.toml line {line}: [[retention]]")),
                "{msg}"
            );
            assert!(msg.contains(what), "{msg} should say {what}");
            assert_eq!(crate::error::exit_code(&err), 2);
        }
        for (flag, what) in [
            ("queue=a", "missing max_age"),
            ("queue", "key=value"),
            ("queue=a,queue=b,max_age=1d", "queue given twice"),
            ("max_age=1d,colour=red", "unknown key colour"),
            ("keep_last=many", "keep_last"),
        ] {
            let err = flags(&[flag]).expect_err(flag);
            let msg = format!("{err:#}");
            assert!(msg.contains(what) && msg.contains(flag), "{msg}");
            assert_eq!(crate::error::exit_code(&err), 2);
        }
        let twice = flags(&["name=a,max_age=1d", "name=a,keep_last=1"]).expect_err("dup");
        assert!(format!("{twice:#}").contains("two rules are named 'a'"));
    }
}
