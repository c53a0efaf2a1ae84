//! Snapshots of what a user reads, through the real binary, starting with the help of every
//! command. Review changes with `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test snapshots` and `git diff tests/snapshots`.

use crate::support::oban;

/// Every subcommand, for the help snapshots.
const COMMANDS: [&str; 11] = [
    "prune",
    "rescue",
    "stats",
    "inspect",
    "retry",
    "cancel",
    "delete",
    "migrate",
    "seed",
    "demo",
    "completions",
];

/// Runs `oban ARGS` with help wrapped at 100 columns, expects exit `code`, and returns stdout
/// followed by stderr when there is any.
fn run(args: &[&str], code: i32) -> String {
    let out = oban()
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "oban {args:?}:\n{stdout}{stderr}"
    );
    if stderr.is_empty() {
        stdout.into_owned()
    } else {
        format!("{stdout}--- stderr ---\n{stderr}")
    }
}

/// Asserts the output of `oban ARGS` (exit `code`) against the snapshot `name` in
/// tests/snapshots. The snapshot's description is the command line.
fn check(name: &str, args: &[&str], code: i32) {
    let text = run(args, code);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("oban {}", args.join(" ")));
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn help_of_every_command() {
    check("help", &["--help"], 0);
    for command in COMMANDS {
        check(&format!("help_{command}"), &[command, "--help"], 0);
    }
}
