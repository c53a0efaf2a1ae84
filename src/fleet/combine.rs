//! The one output of a run over several targets, every part labelled with its target:
//! - table: one table whose first column is `target` (a failed target's row says `FAILED`,
//!   and a line under the table the start of its error, which stderr has whole; a target with
//!   nothing to show has a row of `-`);
//! - JSON: an array with one object per report, the command's usual object plus `"target"` and
//!   `"exit_code"`, or `{"target", "exit_code", "error"}` for a failed target;
//! - CSV: the command's rows led by a `target` column (failed targets only on stderr);
//! - Prometheus: every sample gains a `target` label, each family's `# HELP`/`# TYPE` once.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use comfy_table::{ColumnConstraint, Width};
use unicode_width::UnicodeWidthStr;

use super::Outcome;
use crate::output::{self, Format, Style};

/// Writes the combined output of `outcomes` in the style's format.
pub fn write(out: &mut dyn Write, style: Style, outcomes: &[Outcome]) -> Result<()> {
    let bytes = match style.format {
        Format::Table if style.quiet => return Ok(()),
        Format::Table => table(outcomes).into_bytes(),
        Format::Json => {
            let mut buf = serde_json::to_vec_pretty(&json(outcomes))?;
            buf.push(b'\n');
            buf
        }
        Format::Csv => csv(outcomes)?,
        Format::Prometheus => {
            let parts: Vec<(&str, &str)> = outcomes
                .iter()
                .flat_map(|o| {
                    o.reports
                        .iter()
                        .filter_map(|r| Some((o.target.as_str(), r.prometheus.as_deref()?)))
                })
                .collect();
            merge_expositions(&parts).into_bytes()
        }
    };
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}

/// The JSON array: one object per report, or per failed target.
pub fn json(outcomes: &[Outcome]) -> serde_json::Value {
    let mut list = Vec::new();
    for o in outcomes {
        let label = |mut object: serde_json::Map<String, serde_json::Value>| {
            object.insert("target".into(), o.target.clone().into());
            object.insert("exit_code".into(), o.code.into());
            serde_json::Value::Object(object)
        };
        for r in &o.reports {
            let object = match &r.json {
                serde_json::Value::Object(m) => m.clone(),
                other => [("report".to_string(), other.clone())]
                    .into_iter()
                    .collect(),
            };
            list.push(label(object));
        }
        if let Some(e) = &o.error {
            list.push(label(
                [("error".to_string(), e.clone().into())]
                    .into_iter()
                    .collect(),
            ));
        }
    }
    serde_json::Value::Array(list)
}

/// The header both tables and CSV share: `target`, then the first report's columns.
fn header(outcomes: &[Outcome], pick: impl Fn(&output::Captured) -> &Vec<String>) -> Vec<String> {
    let mut header = vec!["target".to_string()];
    match outcomes.iter().flat_map(|o| &o.reports).next() {
        Some(r) => header.extend(pick(r).iter().cloned()),
        None => header.push("error".into()),
    }
    header
}

/// The width on screen of the longest word of a cell (at most `u16::MAX`): a wide character
/// takes two columns.
fn longest_word(cell: &str) -> u16 {
    let n = cell.split_whitespace().map(UnicodeWidthStr::width).max();
    u16::try_from(n.unwrap_or(0)).unwrap_or(u16::MAX)
}

/// The combined table.
fn table(outcomes: &[Outcome]) -> String {
    let header = header(outcomes, |r| &r.rows.0);
    let columns: Vec<&str> = header.iter().map(String::as_str).collect();
    let width = columns.len() - 1;
    let mut t = output::table(&columns);
    let mut failed = Vec::new();
    let mut longest = longest_word(columns[columns.len() - 1]);
    let filler = |first: String| {
        let mut row = vec![first];
        row.resize(width, String::new());
        row
    };
    for o in outcomes {
        let mut rows: Vec<Vec<String>> = o.reports.iter().flat_map(|r| r.rows.1.clone()).collect();
        if let Some(e) = &o.error {
            rows.push(filler("FAILED".into()));
            let line = e.split_whitespace().collect::<Vec<_>>().join(" ");
            let room = usize::from(output::width()).saturating_sub(o.target.len() + 2);
            failed.push(format!("{}: {}\n", o.target, output::clip(&line, room)));
        } else if rows.is_empty() {
            rows.push(vec!["-".to_string(); width]);
        }
        for row in rows {
            let mut cells = vec![o.target.clone()];
            cells.extend(row);
            let words = cells.last().map_or(0, |c| longest_word(c));
            longest = longest.max(words);
            t.add_row(cells);
        }
    }
    // Only the last column wraps, and only between words: a count, a state or a name broken
    // across lines reads as another value. A table that cannot fit so runs wider instead.
    let last = columns.len() - 1;
    for (i, column) in t.column_iter_mut().enumerate() {
        column.set_constraint(if i < last {
            ColumnConstraint::ContentWidth
        } else {
            // The bound counts the column's padding (one space).
            ColumnConstraint::LowerBoundary(Width::Fixed(longest.saturating_add(1)))
        });
    }
    let text = format!("{t}\n");
    let mut text: String = text
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    text.extend(failed);
    text
}

/// The combined CSV.
fn csv(outcomes: &[Outcome]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header(outcomes, |r| &r.csv.0))?;
    for o in outcomes {
        for r in &o.reports {
            for row in &r.csv.1 {
                let mut cells = vec![o.target.clone()];
                cells.extend(row.iter().cloned());
                w.write_record(&cells)?;
            }
        }
    }
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

/// Several expositions as one: each sample gains `target="…"` as its first label, and each
/// family keeps one `# HELP` and `# TYPE` with the samples of every target under it.
pub fn merge_expositions(parts: &[(&str, &str)]) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut families: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (target, text) in parts {
        let target = crate::output::prometheus_label(target);
        for line in text.lines() {
            let (name, meta) = if let Some(rest) = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
            {
                (rest.split(' ').next().unwrap_or_default().to_string(), true)
            } else if line.is_empty() || line.starts_with('#') {
                continue;
            } else {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                (line[..end].to_string(), false)
            };
            let entry = families.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                (Vec::new(), Vec::new())
            });
            if meta {
                if entry.0.len() < 2 && !entry.0.iter().any(|l| l == line) {
                    entry.0.push(line.to_string());
                }
                continue;
            }
            let rest = &line[name.len()..];
            let labelled = match rest.strip_prefix('{') {
                Some(labels) if labels.starts_with('}') => {
                    format!("{name}{{target=\"{target}\"{labels}")
                }
                Some(labels) => format!("{name}{{target=\"{target}\",{labels}"),
                None => format!("{name}{{target=\"{target}\"}}{rest}"),
            };
            entry.1.push(labelled);
        }
    }
    let mut out = String::new();
    for name in order {
        let (meta, samples) = &families[&name];
        for line in meta.iter().chain(samples) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expositions_merge_by_family_with_a_target_label() {
        let a = "# HELP oban_jobs Jobs.\n# TYPE oban_jobs gauge\noban_jobs{queue=\"q\",state=\"available\"} 3\n# HELP oban_threshold_breached B.\n# TYPE oban_threshold_breached gauge\noban_threshold_breached 0\n";
        let b = "# HELP oban_jobs Jobs.\n# TYPE oban_jobs gauge\noban_jobs{queue=\"q\",state=\"available\"} 5\n";
        let merged = merge_expositions(&[("a", a), ("b\"x", b)]);
        assert_eq!(
            merged,
            "# HELP oban_jobs Jobs.\n# TYPE oban_jobs gauge\n\
             oban_jobs{target=\"a\",queue=\"q\",state=\"available\"} 3\n\
             oban_jobs{target=\"b\\\"x\",queue=\"q\",state=\"available\"} 5\n\
             # HELP oban_threshold_breached B.\n# TYPE oban_threshold_breached gauge\n\
             oban_threshold_breached{target=\"a\"} 0\n"
        );
    }

    /// One target's outcome whose report adds `rows` under `header` to the combined table.
    fn one_target(header: Vec<String>, rows: Vec<Vec<String>>) -> Outcome {
        let captured = output::Captured {
            json: serde_json::Value::Null,
            csv: (header.clone(), rows.clone()),
            rows: (header, rows),
            prometheus: None,
        };
        Outcome {
            target: "db.internal/production".into(),
            code: 0,
            reports: vec![captured],
            error: None,
        }
    }

    #[test]
    fn a_table_too_wide_for_80_columns_runs_over_rather_than_split_a_value() {
        // The stats counts of a large table, estimates marked: wider than 80 columns.
        let header: Vec<String> = "queue,avail,susp,sched,exec,retry,done,cancel,disc,total"
            .split(',')
            .map(String::from)
            .collect();
        let row: Vec<String> = ["webhooks", "~69632", "8858", "~38912", "1287", "9064"]
            .into_iter()
            .chain(["~3566208", "16090", "~152211", "~3862336"])
            .map(String::from)
            .collect();
        let text = table(&[one_target(header, vec![row.clone(), row])]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "a header, a rule and two rows:\n{text}");
        for value in ["webhooks", "~3566208", "~3862336"] {
            assert!(
                lines[2].contains(value) && lines[3].contains(value),
                "{text}"
            );
        }
    }

    #[test]
    fn a_wide_word_in_the_last_column_is_measured_by_its_columns_on_screen() {
        let header: Vec<String> = "id,state,queue,worker,try,to"
            .split(',')
            .map(String::from)
            .collect();
        let word = "請求書の送信処理ジョブ"; // 11 characters, 22 columns
                                             // A worker name wider than any terminal, so that the last column gets only its bound.
        let worker = format!("app.workers.{}", "Deliver".repeat(100));
        let row: Vec<String> = ["123456", "discarded", "mailers", &worker, "20/21", word]
            .into_iter()
            .map(String::from)
            .collect();
        let text = table(&[one_target(header, vec![row])]);
        assert!(text.lines().any(|l| l.contains(word)), "{text}");
    }
}
