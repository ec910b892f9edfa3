//! Manage the systems of a registry and their trusted inbound client certificates from the
//! command line.
//!
//! ```text
//! cargo run --example certstore -- demo
//! certstore --store DIR system add NAME --kind source|proxy|target
//! certstore --store DIR system list [--json]
//! certstore --store DIR system remove NAME [--with-certificates]
//! certstore --store DIR --system NAME import [--allow-expired] [--allow-without-client-auth] [--allow-ca] FILE...
//! certstore --store DIR [--system NAME] list [--json] [--expiring-within DAYS] [--wide] [--status S] [--search TEXT] [--limit N]
//! certstore --store DIR --system NAME show NAME|FINGERPRINT [--json]
//! certstore --store DIR --system NAME delete NAME|FINGERPRINT...
//! certstore --store DIR --system NAME suspend NAME|FINGERPRINT --reason TEXT
//! certstore --store DIR --system NAME resume NAME|FINGERPRINT
//! certstore --store DIR [--system NAME] purge-expired
//! certstore --store DIR identify FILE|FINGERPRINT
//! certstore --store DIR check [--within-days N] [--json]
//! certstore --store DIR migrate --system NAME --kind source|proxy
//! certstore --store DIR history [--system NAME] [--since RFC3339|YYYY-MM-DD] [--limit N] [--json]
//! cargo run --features postgres --example certstore -- --postgres URL list   # any command
//! ```
//!
//! `--store DIR` names a registry directory (`--postgres URL`, with the `postgres` feature, a
//! registry in PostgreSQL, e.g. `--postgres postgres://user@localhost/service`). Without
//! `--system`, `list` and `purge-expired` cover every system and say which system each line
//! belongs to. `migrate` moves the certificates of a directory made by an earlier version
//! (one store, files directly in DIR) into a system.
//!
//! `show`, `delete`, `suspend` and `resume` take a certificate's name, its SHA-256
//! fingerprint, or the first 8 or more hex digits of its name (with or without
//! `cert_client_`), resolved against the system's certificates: a prefix that several begin
//! with is refused with the list of them, one that none begins with says so.
//!
//! `certstore --help` (or `certstore COMMAND --help`) prints the usage; a mistake in the
//! arguments gives one line saying what is wrong and a hint. Errors go to stderr and the exit
//! code is 1. A damaged certificate file does not fail
//! `list`: the healthy certificates are printed and each damaged file is reported on stderr.
//! `identify` exits 1 when no system trusts the certificate (a system that suspended it does
//! not). A suspended certificate stays listed: `list` marks its status `suspended …`, and
//! `show` and the JSON of both give the suspension's reason, time and actor. `check` lists every system's
//! expired certificates and those expiring within N days (default 30) and exits as monitoring
//! plugins do: 0 when there are none, 1 when some expire within the window, 2 when some have
//! expired, so cron or a monitoring agent can run it as it is.

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod cli;
mod commands;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

/// What follows a mistake in the arguments, instead of the whole usage.
const HINT: &str = "try 'certstore --help'";

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return argument_error(&error),
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(commands::Failure::Usage(message)) => {
            eprintln!("error: {message}\n{HINT}");
            ExitCode::FAILURE
        }
        Err(commands::Failure::Message(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `--help` prints the usage; any other mistake one line saying what is wrong, and a hint.
/// The exit code of a mistake is 1, never clap's 2, which `check` uses for "expired".
fn argument_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        // A value our parsers refused: their message says what was expected.
        ErrorKind::ValueValidation if std::error::Error::source(error).is_some() => {
            let source = std::error::Error::source(error)
                .map(ToString::to_string)
                .unwrap_or_default();
            eprintln!("error: {source}");
            ExitCode::FAILURE
        }
        // What clap shows then is the whole help: its usage line says what is missing.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let rendered = error.render().to_string();
            let usage = rendered
                .lines()
                .find_map(|line| line.strip_prefix("Usage: "))
                .unwrap_or("certstore <COMMAND>");
            eprintln!("error: a command is missing: {usage}\n{HINT}");
            ExitCode::FAILURE
        }
        _ => {
            let rendered = error.render().to_string();
            eprintln!(
                "{}\n{HINT}{}",
                first_paragraph(&rendered),
                similar(&rendered)
            );
            ExitCode::FAILURE
        }
    }
}

/// clap's tip naming the command or flag that was probably meant, if it has one, in
/// brackets (its other tips are about quoting, which confuses more than it helps).
fn similar(rendered: &str) -> String {
    rendered
        .lines()
        .find_map(|line| line.trim().strip_prefix("tip: a similar "))
        .map(|tip| format!(" (a similar {tip})"))
        .unwrap_or_default()
}

/// clap's message without its tips and usage, on one line: the text up to the first blank
/// line, its indented continuation lines (the missing arguments) joined with commas.
fn first_paragraph(rendered: &str) -> String {
    let mut lines = rendered.lines().take_while(|line| !line.trim().is_empty());
    let mut text = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_string();
    let rest: Vec<&str> = lines.map(str::trim).collect();
    if !rest.is_empty() {
        text.push(' ');
        text.push_str(&rest.join(", "));
    }
    text
}
