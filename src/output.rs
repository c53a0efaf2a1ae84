//! Rendering results: every command returns a report, and this module writes it as a table,
//! JSON or CSV to any `Write`, so tests can render into a buffer.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

/// How results are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables
    Table,
    /// One JSON document per pass
    Json,
    /// A header row, then rows
    Csv,
    /// Prometheus text exposition format (stats only)
    Prometheus,
}

/// What a report must offer to be printed in every format.
pub trait Report: Serialize {
    /// The human-readable form, ending with a newline.
    fn to_table(&self) -> String;
    /// The CSV header and rows.
    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>);
    /// Prometheus text exposition, for reports that have metrics.
    fn to_prometheus(&self) -> Option<String> {
        None
    }
    /// The header and rows this report adds to the one table of a run over several targets
    /// (each row then led by the target): the CSV rows unless a report has a better summary.
    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        self.to_csv()
    }
}

/// A report taken instead of written, by a run over several targets (see `fleet`): every
/// form it could be written in, for the run to combine with the other targets'.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The JSON object.
    pub json: serde_json::Value,
    /// The CSV header and rows.
    pub csv: (Vec<String>, Vec<Vec<String>>),
    /// The combined table's header and rows.
    pub rows: (Vec<String>, Vec<Vec<String>>),
    /// The Prometheus exposition, for reports that have metrics.
    pub prometheus: Option<String>,
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Vec<Captured>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` for target `target`: every report written on this thread is captured instead
/// (and returned), and its notices (see [`notice`]) name the target.
pub fn capture<T>(target: &str, f: impl FnOnce() -> T) -> (T, Vec<Captured>) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    TARGET.with(|t| *t.borrow_mut() = Some(target.to_string()));
    let result = f();
    TARGET.with(|t| *t.borrow_mut() = None);
    let taken = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (result, taken)
}

thread_local! {
    static TARGET: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Writes a line for the operator on stderr (`oban: command: …`); in a run over several
/// targets it names the target it is about: `oban: target NAME: command: …`.
pub fn notice(message: &str) {
    match TARGET.with(|t| t.borrow().clone()) {
        Some(name) => {
            let rest = message.strip_prefix("oban: ").unwrap_or(message);
            eprintln!("oban: target {name}: {rest}");
        }
        None => eprintln!("{message}"),
    }
}

/// Takes the report when this thread captures; says whether it did.
fn captured<R: Report>(report: &R) -> Result<bool> {
    if !CAPTURE.with(|c| c.borrow().is_some()) {
        return Ok(false);
    }
    let taken = Captured {
        json: serde_json::to_value(report)?,
        csv: report.to_csv(),
        rows: report.fleet_rows(),
        prometheus: report.to_prometheus(),
    };
    CAPTURE.with(|c| c.borrow_mut().as_mut().map(|v| v.push(taken)));
    Ok(true)
}

/// Which standard streams are terminals: asked once per process, then read from here by
/// every command (redraws, prompts, progress bars, table rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// Standard input: someone can answer a prompt.
    pub stdin: bool,
    /// Standard output: tables may redraw in place and use Unicode rules.
    pub stdout: bool,
    /// Standard error: progress bars may be drawn.
    pub stderr: bool,
    /// The terminal's width, when stdout is one.
    pub columns: Option<u16>,
    /// The terminal's height, when stdout is one.
    pub rows: Option<u16>,
}

impl Terminal {
    /// The streams of this process.
    pub fn get() -> Terminal {
        static TERMINAL: std::sync::OnceLock<Terminal> = std::sync::OnceLock::new();
        *TERMINAL.get_or_init(|| {
            let size = size();
            Terminal {
                stdin: std::io::stdin().is_terminal(),
                stdout: std::io::stdout().is_terminal(),
                stderr: std::io::stderr().is_terminal(),
                columns: size.map(|(w, _)| w),
                rows: size.map(|(_, h)| h),
            }
        })
    }
}

/// The size of the terminal stdout is, as (columns, rows).
fn size() -> Option<(u16, u16)> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, h)| (w.0, h.0))
}

/// A report's table, each line without the padding comfy-table leaves after the last column
/// (a pipe, grep or diff gets clean line ends).
pub fn table_text<R: Report>(report: &R) -> String {
    report
        .to_table()
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// Writes one frame of `oban <command> --watch` (see [`frame`]), titled with its interval.
pub fn write_frame<R: Report>(
    out: &mut dyn Write,
    command: &str,
    interval: std::time::Duration,
    report: &R,
) -> Result<()> {
    let every = crate::duration::human(interval);
    let title = format!("oban {command}, every {every} (Ctrl-C to stop)");
    let t = Terminal::get();
    let size = t.columns.zip(t.rows);
    let text = frame(&title, &table_text(report), size);
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// One frame of a `--watch` view on a terminal: the screen cleared, a title line, and the
/// report clipped to the window's height with a line saying how much was left out, so a small
/// window redraws in place instead of scrolling a frame each tick.
pub fn frame(title: &str, report: &str, size: Option<(u16, u16)>) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let (columns, rows) = size.map_or((usize::MAX, usize::MAX), |(c, r)| {
        (usize::from(c).max(1), usize::from(r))
    });
    // A line longer than the window wraps onto more than one row.
    let height = |line: &str| line.chars().count().max(1).div_ceil(columns);
    // The title, its blank line and the cursor's line are not the report's.
    let room = rows.saturating_sub(height(title) + 2).max(1);
    let mut out = format!("\x1b[2J\x1b[H{title}\n\n");
    if lines.iter().map(|l| height(l)).sum::<usize>() <= room {
        out.push_str(report);
        return out;
    }
    let mut used = 1; // the line that says what was left out
    let mut shown = 0;
    for line in &lines {
        if used + height(line) > room {
            break;
        }
        used += height(line);
        shown += 1;
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "… {} more lines not shown: enlarge the window, or use -o json\n",
        lines.len() - shown
    ));
    out
}

/// How output should look, decided once at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Output format.
    pub format: Format,
    /// Print nothing on success in table format.
    pub quiet: bool,
    /// One JSON document per line (watch mode) instead of pretty-printed.
    pub compact: bool,
}

/// Writes a report in the chosen format. Quiet silences tables only: a script that asks for
/// JSON or CSV gets it.
pub fn write_report<R: Report>(out: &mut dyn Write, style: Style, report: &R) -> Result<()> {
    if captured(report)? {
        return Ok(());
    }
    // Rendered in memory first, so that a closed pipe surfaces as a plain io::Error.
    let bytes = match style.format {
        Format::Table if style.quiet => return Ok(()),
        Format::Table => table_text(report).into_bytes(),
        Format::Json => {
            let mut buf = if style.compact {
                serde_json::to_vec(report)?
            } else {
                serde_json::to_vec_pretty(report)?
            };
            buf.push(b'\n');
            buf
        }
        Format::Csv => {
            let (header, rows) = report.to_csv();
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&header)?;
            for row in rows {
                w.write_record(&row)?;
            }
            w.into_inner().map_err(|e| e.into_error())?
        }
        Format::Prometheus => report
            .to_prometheus()
            .ok_or_else(|| crate::error::usage("--format prometheus: only stats has metrics"))?
            .into_bytes(),
    };
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}

/// Escapes a Prometheus label value for the text exposition format.
pub fn prometheus_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Columns a table may use: the terminal's width when wider than 80, else 80.
pub fn width() -> u16 {
    Terminal::get().columns.unwrap_or(80).max(80)
}

/// A table in the house style: horizontal rules only (Unicode on a terminal, ASCII in pipes),
/// 80 columns wide, or the terminal's width when wider.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    // Only a rule under the header (see comfy-table's preset format: the sixth character).
    if Terminal::get().stdout {
        t.load_preset("     ─             ");
    } else {
        t.load_preset("     -             ");
    }
    t.set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width())
        .set_header(header.iter().map(Cell::new));
    // No vertical rules: one space of padding on each side is enough to part the columns.
    for column in t.column_iter_mut() {
        column.set_padding((0, 1));
    }
    t
}

/// Rows a table shows of a long list of jobs; JSON and CSV list them all.
pub const TABLE_ROWS: usize = 50;

/// A CSV header from its column names, comma-separated.
pub fn header(columns: &str) -> Vec<String> {
    columns.split(',').map(String::from).collect()
}

/// A CSV table: the header from its comma-separated column names, one row per item.
pub fn csv<T>(
    columns: &str,
    items: impl IntoIterator<Item = T>,
    row: impl FnMut(T) -> Vec<String>,
) -> (Vec<String>, Vec<Vec<String>>) {
    (header(columns), items.into_iter().map(row).collect())
}

/// `1 job`, `2 jobs`: a count with its noun in the right number.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// At most `max` characters, cut at the end with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// At most `max` characters, keeping the end (the informative part of a module path).
pub fn clip_left(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let kept: String = text.chars().skip(n - max + 1).collect();
    format!("…{kept}")
}

/// A right-aligned number cell.
pub fn num(n: u64) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}

/// Bytes for people (`1.5 MB`, decimal units).
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.0} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

/// Whole seconds as the tool writes durations (`1h30m`).
pub fn duration_secs(secs: f64) -> String {
    crate::duration::human(std::time::Duration::from_secs(secs.max(0.0).round() as u64))
}

/// Seconds with millisecond precision, for people.
pub fn seconds(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_fits_its_window() {
        let report: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let text = frame("title", &report, Some((80, 20)));
        let rows = text.lines().count();
        assert!(rows <= 19, "{rows} rows: {text}");
        assert!(text.contains("more lines not shown"), "{text}");
        assert!(text.contains("line 0\n") && !text.contains("line 29"));
        // A line twice the width takes two rows.
        let wide = format!("{}\n{report}", "x".repeat(150));
        let text = frame("title", &wide, Some((80, 20)));
        assert_eq!(text.lines().count(), rows - 1, "{text}");
        // Room enough: the report whole.
        assert!(!frame("title", &report, Some((80, 40))).contains("not shown"));
        assert!(!frame("title", &report, None).contains("not shown"));
    }
}
