//! `--help` defaults and the one clap command everything parses with: the derived definition
//! with `[default: …]` appended from `config::defaults`.

use clap::{CommandFactory, FromArgMatches, ValueEnum};

use super::Cli;
use crate::defaults;
use crate::duration::human;

/// One `[default: …]` shown in `--help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpDefault {
    /// The subcommand, or `None` for the global flags.
    pub command: Option<&'static str>,
    /// The arg's id (its field name).
    pub arg: &'static str,
    /// What `[default: …]` says, rendered from `config::defaults`.
    pub text: String,
}

/// The defaults `--help` shows, every one rendered from a constant in `config::defaults`
/// (durations in the tool's own short form, counts as digits, choices by their flag value).
pub fn help_defaults() -> Vec<HelpDefault> {
    use defaults as d;
    type Row = (&'static str, String);
    let file = |key: &str, value: String| format!("{key}, else {value}");
    let n = |v: u64| v.to_string();
    let session = || {
        vec![
            ("lock_timeout", human(d::LOCK_TIMEOUT)),
            ("statement_timeout", human(d::STATEMENT_TIMEOUT)),
        ]
    };
    // `--stuck`'s age, which the job filters of inspect and the actions share.
    let stuck = || {
        (
            "stuck",
            file("[lifeline] rescue_after", human(d::RESCUE_AFTER)),
        )
    };
    let bloat = || {
        vec![
            ("max_bloat", format!("{}%", d::DOCTOR_MAX_BLOAT)),
            ("min_bloat", size(d::DOCTOR_MIN_BLOAT)),
        ]
    };
    let doctor = || {
        vec![
            (
                "rescue_after",
                file("[lifeline] rescue_after", human(d::RESCUE_AFTER)),
            ),
            ("max_age", file("[pruner] max_age", human(d::PRUNE_MAX_AGE))),
            ("max_transaction_age", human(d::DOCTOR_MAX_TRANSACTION_AGE)),
            ("max_idle", human(d::DOCTOR_MAX_IDLE)),
            ("max_latency", human(d::DOCTOR_MAX_LATENCY)),
            ("statement_timeout", human(d::STATEMENT_TIMEOUT)),
        ]
    };
    let action = || {
        let mut rows = vec![
            stuck(),
            ("limit", n(d::ACTION_LIMIT)),
            ("batch_size", n(d::ACTION_BATCH_SIZE)),
        ];
        rows.extend(session());
        rows
    };
    let groups: Vec<(Option<&'static str>, Vec<Row>)> = vec![
        (
            None,
            vec![
                ("config", format!("./{} when present", d::CONFIG_FILE)),
                ("prefix", d::PREFIX.to_string()),
                ("format", choice(d::FORMAT)),
                ("parallel", d::FLEET_PARALLEL.to_string()),
            ],
        ),
        (
            Some("prune"),
            [
                vec![
                    ("max_age", file("[pruner] max_age", human(d::PRUNE_MAX_AGE))),
                    ("state", d::PRUNE_STATES.map(choice).join(",")),
                    ("rule", file("[[retention]]", "none".to_string())),
                    ("limit", file("[pruner] limit", n(d::PRUNE_LIMIT))),
                    ("batch_size", n(d::PRUNE_BATCH_SIZE)),
                    ("pause", human(d::PRUNE_PAUSE)),
                    ("connections", d::PRUNE_CONNECTIONS.to_string()),
                    ("vacuum_after", n(d::PRUNE_VACUUM_AFTER)),
                    (
                        "interval",
                        file("[pruner] interval", human(d::PRUNE_INTERVAL)),
                    ),
                ],
                session(),
            ]
            .concat(),
        ),
        (
            Some("rescue"),
            [
                vec![
                    (
                        "rescue_after",
                        file("[lifeline] rescue_after", human(d::RESCUE_AFTER)),
                    ),
                    ("producer_ttl", human(d::PRODUCER_TTL)),
                    ("on_exhausted", choice(d::ON_EXHAUSTED)),
                    ("limit", n(d::RESCUE_LIMIT)),
                    ("batch_size", n(d::RESCUE_BATCH_SIZE)),
                    (
                        "interval",
                        file("[lifeline] interval", human(d::LIFELINE_INTERVAL)),
                    ),
                ],
                session(),
            ]
            .concat(),
        ),
        (
            Some("stats"),
            vec![
                ("estimate_above", n(d::STATS_ESTIMATE_ABOVE)),
                ("budget", human(d::STATS_BUDGET)),
                (
                    "rescue_after",
                    file("[lifeline] rescue_after", human(d::RESCUE_AFTER)),
                ),
                ("statement_timeout", human(d::STATEMENT_TIMEOUT)),
                ("min_interval", human(d::STATS_MIN_INTERVAL)),
                ("interval", human(d::STATS_INTERVAL)),
            ],
        ),
        (
            Some("inspect"),
            vec![
                stuck(),
                ("limit", n(d::INSPECT_LIMIT)),
                ("sort", choice(d::INSPECT_SORT)),
                ("interval", human(d::INSPECT_INTERVAL)),
            ],
        ),
        (Some("doctor"), [bloat(), doctor()].concat()),
        (
            Some("reindex"),
            [
                bloat(),
                vec![
                    ("lock_timeout", human(d::LOCK_TIMEOUT)),
                    ("statement_timeout", human(d::REBUILD_STATEMENT_TIMEOUT)),
                ],
            ]
            .concat(),
        ),
        (
            Some("vacuum"),
            vec![
                ("lock_timeout", human(d::LOCK_TIMEOUT)),
                ("statement_timeout", human(d::REBUILD_STATEMENT_TIMEOUT)),
            ],
        ),
        (
            Some("partitions"),
            [vec![("premake", human(d::PARTITIONS_PREMAKE))], session()].concat(),
        ),
        (
            Some("migrate"),
            [
                vec![
                    ("batch_size", n(d::MOVE_BATCH_SIZE)),
                    ("max_switch_rows", n(d::MOVE_MAX_SWITCH_ROWS)),
                ],
                session(),
            ]
            .concat(),
        ),
        (Some("retry"), action()),
        (Some("cancel"), action()),
        (Some("delete"), action()),
        (Some("pause"), vec![("wait", human(d::SIGNAL_WAIT))]),
        (Some("resume"), vec![("wait", human(d::SIGNAL_WAIT))]),
        (
            Some("queues"),
            vec![("interval", human(d::QUEUES_INTERVAL))],
        ),
    ];
    groups
        .into_iter()
        .flat_map(|(command, rows)| {
            rows.into_iter()
                .map(move |(arg, text)| HelpDefault { command, arg, text })
        })
        .collect()
}

/// A size as PostgreSQL writes one (`8MB`, `512kB`, `0`).
pub fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TB"),
        (1 << 30, "GB"),
        (1 << 20, "MB"),
        (1 << 10, "kB"),
    ];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes % unit == 0)
        .map_or_else(
            || bytes.to_string(),
            |(unit, name)| format!("{}{name}", bytes / unit),
        )
}

/// A choice as it is typed on the command line (`table`, `discard`).
fn choice<T: ValueEnum>(value: T) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Appends `[default: text]` to an arg's help (and long help, when it has one).
fn with_default(arg: clap::Arg, text: &str) -> clap::Arg {
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let long = arg.get_long_help().map(ToString::to_string);
    let arg = arg.help(format!("{help} [default: {text}]"));
    match long {
        Some(long) => arg.long_help(format!("{long} [default: {text}]")),
        None => arg,
    }
}

/// The `oban` command line: the derived definition with the defaults of [`help_defaults`] in
/// its help. Parsing, `--help` and completions all go through this.
pub fn command() -> clap::Command {
    let table = help_defaults();
    // `mut_args` keeps the args in place, so `--help` lists them in the derived order.
    let mut cmd = Cli::command().mut_args(defaults_of(&table, None));
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    // Every subcommand is changed once, in order: `mut_subcommand` moves it to the end.
    for name in &names {
        let batch = BATCH_HELP.iter().find(|(n, ..)| n == name);
        cmd = cmd.mut_subcommand(name, |s| {
            s.mut_args(|arg| match (batch, arg.get_id().as_str()) {
                (Some((n, limit, _)), "limit") if ["retry", "cancel", "delete"].contains(n) => {
                    arg.help(*limit).value_parser(super::values::count_or_all)
                }
                (Some((_, limit, _)), "limit") => arg.help(*limit),
                (Some((_, _, size)), "batch_size") => arg.help(*size),
                _ => arg,
            })
            .mut_args(defaults_of(&table, Some(name)))
        });
    }
    cmd
}

/// What `--limit` and `--batch-size` count in each command that takes them (`BatchArgs`).
const BATCH_HELP: [(&str, &str, &str); 5] = [
    (
        "prune",
        "Most rows deleted in one pass",
        "Most rows deleted in one transaction",
    ),
    (
        "rescue",
        "Most jobs moved in one pass",
        "Most jobs moved in one transaction",
    ),
    (
        "retry",
        "Most jobs changed in one run; all: every match, in batches (resumable)",
        "Most jobs changed in one transaction",
    ),
    (
        "cancel",
        "Most jobs changed in one run; all: every match, in batches (resumable)",
        "Most jobs changed in one transaction",
    ),
    (
        "delete",
        "Most jobs changed in one run; all: every match, in batches (resumable)",
        "Most jobs changed in one transaction",
    ),
];

/// Adds its `[default: …]` to each arg of one command (`None`: the root) that has a row.
fn defaults_of<'a>(
    table: &'a [HelpDefault],
    command: Option<&'a str>,
) -> impl FnMut(clap::Arg) -> clap::Arg + 'a {
    move |arg| {
        let row = table
            .iter()
            .find(|d| d.command == command && d.arg == arg.get_id().as_str());
        match row {
            Some(d) => with_default(arg, &d.text),
            None => arg,
        }
    }
}

/// The man pages: `oban.1` for the command and `oban-<sub>.1` for each subcommand, rendered
/// from the same definition as `--help` (so they carry the same defaults).
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut root = command();
    // Built, so each subcommand carries the global options (-d, -c, --prefix, -o, -q).
    root.build();
    let mut pages = Vec::new();
    let mut page = Vec::new();
    clap_mangen::Man::new(root.clone()).render(&mut page)?;
    pages.push(("oban.1".to_string(), page));
    for sub in root.get_subcommands() {
        let name = format!("oban-{}", sub.get_name());
        let mut page = Vec::new();
        let sub = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("oban {}", sub.get_name()));
        clap_mangen::Man::new(sub).render(&mut page)?;
        pages.push((format!("{name}.1"), page));
    }
    Ok(pages)
}

/// Parses the process's arguments with [`command`], exiting with clap's message on a mistake.
pub fn parse() -> Cli {
    let mut cmd = command();
    let matches = match cmd.clone().try_get_matches() {
        Ok(m) => m,
        Err(e) => from_environment(e, &cmd).exit(),
    };
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

/// A bad value that came from an environment variable, not from the command line, says so:
/// clap names only the flag, which the user may never have typed (a cron line's
/// `OBAN_PRUNE_MAX_REPLICA_LAG=64`).
fn from_environment(mut e: clap::Error, cmd: &clap::Command) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return e;
    }
    let Some(ContextValue::String(invalid)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let typed: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let subcommands = cmd.get_subcommands().flat_map(clap::Command::get_arguments);
    let source = cmd.get_arguments().chain(subcommands).find_map(|arg| {
        let flag = format!("--{}", arg.get_long()?);
        let var = arg.get_env()?;
        let named = invalid == &flag || invalid.starts_with(&format!("{flag} "));
        let short = arg.get_short().map(|c| format!("-{c}"));
        let on_line = typed.iter().any(|t| {
            t == &flag
                || t.starts_with(&format!("{flag}="))
                || short.as_ref().is_some_and(|s| t.starts_with(s.as_str()))
        });
        (named && !on_line && std::env::var_os(var).is_some()).then(|| var.to_os_string())
    });
    if let Some(var) = source {
        let note = format!(
            "the value came from the environment variable {}",
            var.to_string_lossy()
        );
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![note.into()]),
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        command().debug_assert();
    }

    /// Every arg of the root command and of each subcommand, with its help text.
    fn helps(cmd: &clap::Command) -> Vec<(Option<String>, String, String)> {
        let of = |sub: Option<String>, c: &clap::Command| {
            c.get_arguments()
                .map(|a| {
                    let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                    (sub.clone(), a.get_id().to_string(), help)
                })
                .collect::<Vec<_>>()
        };
        let mut all = of(None, cmd);
        for sub in cmd.get_subcommands() {
            all.extend(of(Some(sub.get_name().to_string()), sub));
        }
        all
    }

    #[test]
    fn help_defaults_come_from_the_table() {
        let table = help_defaults();
        let raw = helps(&Cli::command());
        let built = helps(&command());
        // No default is written by hand in a doc comment.
        for (sub, arg, help) in &raw {
            assert!(
                !help.to_lowercase().contains("default"),
                "{sub:?} --{arg}: write the default in help_defaults, not in the help: {help}"
            );
        }
        // Every `[default: …]` shown is the table's, once.
        assert_eq!(raw.len(), built.len());
        for (sub, arg, before) in &raw {
            let after = built
                .iter()
                .find(|(s, a, _)| s == sub && a == arg)
                .map(|(_, _, help)| help)
                .expect("same args");
            let row = table
                .iter()
                .find(|d| d.command.map(str::to_string) == *sub && d.arg == arg.as_str());
            // What `--limit` and `--batch-size` count is said per command.
            let own = BATCH_HELP
                .iter()
                .find(|(n, ..)| Some(n.to_string()) == *sub);
            let before = match (own, arg.as_str()) {
                (Some((_, limit, _)), "limit") => limit,
                (Some((_, _, size)), "batch_size") => size,
                _ => before.as_str(),
            };
            match row {
                Some(d) => assert_eq!(after, &format!("{before} [default: {}]", d.text)),
                None => assert!(!after.contains("[default:"), "{sub:?} --{arg}: {after}"),
            }
        }
        // Every row names a real arg, once.
        for (i, d) in table.iter().enumerate() {
            let sub = d.command.map(str::to_string);
            assert!(
                raw.iter().any(|(s, a, _)| *s == sub && a == d.arg),
                "no arg {:?} {}",
                d.command,
                d.arg
            );
            assert!(!table[..i].contains(d), "{d:?} twice");
        }
    }

    #[test]
    fn help_defaults_render_the_constants() {
        let shown = |sub: &str, arg: &str| {
            help_defaults()
                .into_iter()
                .find(|d| d.command == Some(sub) && d.arg == arg)
                .map(|d| d.text)
                .unwrap_or_default()
        };
        assert_eq!(shown("prune", "max_age"), "[pruner] max_age, else 1d");
        assert_eq!(shown("prune", "limit"), "[pruner] limit, else 20000");
        assert_eq!(shown("prune", "batch_size"), "10000");
        assert_eq!(shown("prune", "state"), "completed,cancelled,discarded");
        assert_eq!(
            shown("rescue", "rescue_after"),
            "[lifeline] rescue_after, else 5m"
        );
        assert_eq!(shown("rescue", "on_exhausted"), "discard");
        assert_eq!(shown("inspect", "interval"), "2s");
        assert_eq!(shown("retry", "statement_timeout"), "1m");
        let help = command()
            .find_subcommand_mut("prune")
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("[default: 10000]"), "{help}");
    }
}
