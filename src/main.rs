//! The `oban` binary: parse, run, print any error chain to stderr, map it to an exit code.

use std::io::Write;

use oban::error::exit_code;

fn main() {
    let cli = oban::cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match oban::run(&cli, &mut out) {
        Ok(code) => code,
        Err(err) if oban::error::is_broken_pipe(&err) => 0,
        Err(err) => {
            let _ = out.flush();
            let message = oban::scrub(&format!("{err:#}"), &oban::secrets(&cli));
            eprintln!("oban: {message}");
            exit_code(&err)
        }
    };
    std::process::exit(code);
}
