//! Prints the details of every certificate in the given files.
//!
//! ```text
//! cargo run --example inspect -- tests/data/bundle.pem
//! cargo run --example inspect -- --json tests/data/rsa2048.der tests/data/ec_p256.pem
//! ```
//!
//! A file that cannot be decoded is reported on stderr as `FILE: <error>`; the other files are
//! still printed and the exit code is 1.
//!
//! Text from a certificate is attacker-chosen: the readable form shows control, bidirectional
//! and invisible characters escaped (`\u{202E}` in alternative names, `\E2\80\AE` in RFC 4514
//! names; see `inbound_certs::summary::Visible`), so a certificate cannot drive the terminal or forge
//! a line; `--json` holds the text as the certificate does, escaped by JSON.

#[macro_use]
mod support;

use std::process::ExitCode;

use serde_json::Value;
use time::OffsetDateTime;

fn main() -> ExitCode {
    let mut json = false;
    let mut files = Vec::new();
    for argument in std::env::args().skip(1) {
        match argument.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                out!("usage: inspect [--json] FILE...");
                return ExitCode::SUCCESS;
            }
            _ => files.push(argument),
        }
    }
    if files.is_empty() {
        eprintln!("usage: inspect [--json] FILE...");
        return ExitCode::from(2);
    }

    let now = OffsetDateTime::now_utc();
    let mut failed = false;
    let mut objects = Vec::new();
    let mut first_block = true;
    for file in &files {
        let certificates = std::fs::read(file)
            .map_err(|error| error.to_string())
            .and_then(|bytes| {
                inbound_certs::decode(&bytes)
                    .map_err(|error| inbound_certs::ErrorReport::new(&error).to_string())
            });
        let certificates = match certificates {
            Ok(certificates) => certificates,
            Err(error) => {
                eprintln!("{file}: {error}");
                failed = true;
                continue;
            }
        };
        let count = certificates.len();
        for (index, certificate) in certificates.iter().enumerate() {
            if json {
                let mut object = serde_json::Map::new();
                object.insert("source".into(), Value::String(file.clone()));
                object.extend(support::json_object(certificate, now));
                objects.push(Value::Object(object));
            } else {
                if !first_block {
                    out!();
                }
                first_block = false;
                out!("Certificate {} of {count} in {file}", index + 1);
                for line in support::readable_block(certificate, now).lines() {
                    out!("  {line}");
                }
            }
        }
    }
    if json {
        match serde_json::to_string_pretty(&objects) {
            Ok(text) => out!("{text}"),
            Err(error) => {
                eprintln!("cannot write JSON: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
