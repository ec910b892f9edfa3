//! Manage a directory of trusted inbound client certificates from the command line.
//!
//! ```text
//! cargo run --example certstore -- demo
//! cargo run --example certstore -- --store DIR [--system-kind source|proxy|target] import [--allow-expired] [--allow-without-client-auth] [--allow-ca] FILE...
//! cargo run --example certstore -- --store DIR list [--json] [--expiring-within DAYS]
//! cargo run --example certstore -- --store DIR show NAME [--json]
//! cargo run --example certstore -- --store DIR delete NAME...
//! cargo run --example certstore -- --store DIR purge-expired
//! cargo run --features postgres --example certstore -- --postgres URL list   # any command
//! ```
//!
//! `--postgres URL` (with the `postgres` feature) uses a PostgreSQL store instead of a
//! directory, e.g. `--postgres postgres://user@localhost/service`.
//!
//! Errors go to stderr and the exit code is 1. A damaged certificate file does not fail
//! `list`: the healthy certificates are printed and each damaged file is reported on stderr.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use inbound_certs::{
    Certificate, CertificateName, CertificateStore, FileStore, Fingerprint, ImportPolicy, Imported,
    ParseFingerprintError, StoreError, SystemKind,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

const USAGE: &str = "usage:
  certstore demo
  certstore --store DIR [--system-kind source|proxy|target] import [--allow-expired] [--allow-without-client-auth] [--allow-ca] FILE...
  certstore --store DIR list [--json] [--expiring-within DAYS]
  certstore --store DIR show NAME [--json]
  certstore --store DIR delete NAME...
  certstore --store DIR purge-expired
  (--postgres URL instead of --store DIR: a PostgreSQL store; needs --features postgres)";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match run(&arguments) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    store: Option<Location>,
    kind: SystemKind,
    command: String,
    flags: Vec<String>,
    operands: Vec<String>,
}

fn parse(arguments: &[String]) -> Result<Options, String> {
    let mut options = Options {
        store: None,
        kind: SystemKind::Source,
        command: String::new(),
        flags: Vec::new(),
        operands: Vec::new(),
    };
    let mut iter = arguments.iter();
    while let Some(argument) = iter.next() {
        match argument.as_str() {
            "--store" => {
                let dir = iter.next().ok_or("--store needs a directory")?;
                options.store = Some(Location::Directory(PathBuf::from(dir)));
            }
            "--postgres" => {
                let url = iter.next().ok_or("--postgres needs a connection URL")?;
                options.store = Some(Location::Postgres(url.clone()));
            }
            "--system-kind" => {
                let kind = iter
                    .next()
                    .ok_or("--system-kind needs source, proxy or target")?;
                options.kind = kind.parse().map_err(|e| format!("{e}"))?;
            }
            "--expiring-within" => {
                let days = iter
                    .next()
                    .ok_or("--expiring-within needs a number of days")?;
                options.flags.push(format!("--expiring-within={days}"));
            }
            "-h" | "--help" => {
                options.command = "help".into();
            }
            flag if flag.starts_with("--") => options.flags.push(flag.to_string()),
            word if options.command.is_empty() => options.command = word.to_string(),
            operand => options.operands.push(operand.to_string()),
        }
    }
    Ok(options)
}

fn run(arguments: &[String]) -> Result<ExitCode, String> {
    let options = parse(arguments)?;
    let known = |allowed: &[&str]| -> Result<(), String> {
        for flag in &options.flags {
            let base = flag.split('=').next().unwrap_or(flag);
            if !allowed.contains(&base) {
                return Err(format!(
                    "unknown option {flag} for '{}'\n{USAGE}",
                    options.command
                ));
            }
        }
        Ok(())
    };
    let location = || {
        options.store.as_ref().ok_or_else(|| {
            format!(
                "'{}' needs --store DIR or --postgres URL\n{USAGE}",
                options.command
            )
        })
    };
    let now = OffsetDateTime::now_utc();
    match options.command.as_str() {
        "demo" => {
            known(&[])?;
            demo(now)
        }
        "import" => {
            known(&[
                "--allow-expired",
                "--allow-without-client-auth",
                "--allow-ca",
            ])?;
            if options.operands.is_empty() {
                return Err(format!("import needs at least one FILE\n{USAGE}"));
            }
            let policy = ImportPolicy::new(now)
                .allow_expired(options.flags.iter().any(|f| f == "--allow-expired"))
                .allow_without_client_auth(
                    options
                        .flags
                        .iter()
                        .any(|f| f == "--allow-without-client-auth"),
                )
                .allow_ca(options.flags.iter().any(|f| f == "--allow-ca"));
            let store = open(location()?, options.kind, Create::Yes)?;
            Ok(import(store.as_ref(), &options.operands, &policy))
        }
        "list" => {
            known(&["--json", "--expiring-within"])?;
            let store = open(location()?, options.kind, Create::No)?;
            let within = options
                .flags
                .iter()
                .find_map(|f| f.strip_prefix("--expiring-within="))
                .map(|days| {
                    days.parse::<i64>().map(Duration::days).map_err(|_| {
                        format!("--expiring-within needs a number of days, got {days:?}")
                    })
                })
                .transpose()?;
            list(
                store.as_ref(),
                now,
                within,
                options.flags.iter().any(|f| f == "--json"),
            )
        }
        "show" => {
            known(&["--json"])?;
            let [name] = options.operands.as_slice() else {
                return Err(format!("show needs exactly one NAME\n{USAGE}"));
            };
            let store = open(location()?, options.kind, Create::No)?;
            let name = parse_name(name)?;
            let certificate = store
                .get(&name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| StoreError::NotFound(name).to_string())?;
            if options.flags.iter().any(|f| f == "--json") {
                let object = Value::Object(support::json_object(&certificate, now));
                out!(
                    "{}",
                    serde_json::to_string_pretty(&object).map_err(|e| e.to_string())?
                );
            } else {
                out!("{}", support::readable_block(&certificate, now));
            }
            Ok(ExitCode::SUCCESS)
        }
        "delete" => {
            known(&[])?;
            if options.operands.is_empty() {
                return Err(format!("delete needs at least one NAME\n{USAGE}"));
            }
            let store = open(location()?, options.kind, Create::No)?;
            let mut code = ExitCode::SUCCESS;
            for name in &options.operands {
                let result = parse_name(name).and_then(|name| {
                    store
                        .delete(&name)
                        .map(|()| name)
                        .map_err(|e| e.to_string())
                });
                match result {
                    Ok(name) => out!("deleted {name}"),
                    Err(error) => {
                        eprintln!("error: {error}");
                        code = ExitCode::FAILURE;
                    }
                }
            }
            Ok(code)
        }
        "purge-expired" => {
            known(&[])?;
            let store = open(location()?, options.kind, Create::No)?;
            for name in store.purge_expired(now).map_err(|e| e.to_string())? {
                out!("deleted {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        "help" => {
            out!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "" => Err(format!("no command given\n{USAGE}")),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// Where the certificates are kept.
enum Location {
    Directory(PathBuf),
    Postgres(String),
}

/// Whether a missing store directory is created (by `import`) or an error.
#[derive(PartialEq)]
enum Create {
    Yes,
    No,
}

fn open(
    location: &Location,
    kind: SystemKind,
    create: Create,
) -> Result<Box<dyn CertificateStore>, String> {
    match location {
        Location::Directory(dir) if create == Create::Yes => FileStore::create(dir, kind)
            .map(|store| Box::new(store) as Box<dyn CertificateStore>)
            .map_err(|e| e.to_string()),
        Location::Directory(dir) => FileStore::open(dir, kind)
            .map(|store| Box::new(store) as Box<dyn CertificateStore>)
            .map_err(|e| e.to_string()),
        Location::Postgres(url) => open_postgres(url, kind),
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str, kind: SystemKind) -> Result<Box<dyn CertificateStore>, String> {
    inbound_certs::PostgresStore::connect(url, kind)
        .map(|store| Box::new(store) as Box<dyn CertificateStore>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str, _kind: SystemKind) -> Result<Box<dyn CertificateStore>, String> {
    Err("--postgres needs the postgres feature: cargo run --features postgres --example certstore -- ...".to_string())
}

/// A certificate name, or a fingerprint in any common spelling.
fn parse_name(text: &str) -> Result<CertificateName, String> {
    text.parse::<CertificateName>().or_else(|error| {
        text.parse::<Fingerprint>()
            .map(CertificateName::from)
            .map_err(|fingerprint_error| match fingerprint_error {
                // A pasted SHA-1 fingerprint: say how to get the SHA-256 one.
                ParseFingerprintError::Sha1 => fingerprint_error.to_string(),
                _ => error.to_string(),
            })
    })
}

fn import(store: &dyn CertificateStore, files: &[String], policy: &ImportPolicy) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for file in files {
        let result = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| store.import_upload(&bytes, policy).map_err(|e| refusal(&e)));
        match result {
            Ok(outcomes) => {
                for outcome in outcomes {
                    match outcome {
                        Imported::Added(name) => out!("imported {name}"),
                        Imported::AlreadyPresent(name) => out!("already present {name}"),
                    }
                }
            }
            Err(error) => {
                eprintln!("error: {file}: {error}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}

/// An import error, with the flag that would allow what the policy refused.
fn refusal(error: &StoreError) -> String {
    let flag = match error {
        StoreError::Expired { .. } => "--allow-expired",
        StoreError::NotForClientAuth { .. } => "--allow-without-client-auth",
        StoreError::CaCertificate { .. } => "--allow-ca",
        other => return other.to_string(),
    };
    format!("{error} (to import it anyway: {flag})")
}

fn list(
    store: &dyn CertificateStore,
    now: OffsetDateTime,
    within: Option<Duration>,
    json: bool,
) -> Result<ExitCode, String> {
    let listing = store.list().map_err(|e| e.to_string())?;
    for damaged in &listing.damaged {
        eprintln!("warning: {damaged}");
    }
    let certificates: Vec<&Certificate> = match within {
        None => listing.certificates.iter().collect(),
        Some(within) => listing
            .certificates
            .iter()
            .filter(|c| c.summary().validity.ends_within(now, within))
            .collect(),
    };
    if json {
        let objects: Vec<Value> = certificates
            .iter()
            .map(|c| Value::Object(support::json_object(c, now)))
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())?
        );
    } else {
        print_table(&certificates, now);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(certificates: &[&Certificate], now: OffsetDateTime) {
    let rows: Vec<[String; 7]> = certificates
        .iter()
        .map(|c| {
            let s = c.summary();
            [
                s.name.to_string(),
                s.subject.to_string(),
                s.issuer.to_string(),
                s.validity.not_after.date().to_string(),
                s.public_key.to_string(),
                if s.is_ca { "yes" } else { "no" }.to_string(),
                s.validity
                    .status_at(now, support::WARN_WITHIN)
                    .as_str()
                    .to_string(),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "SUBJECT",
        "ISSUER",
        "NOT AFTER",
        "KEY",
        "CA",
        "STATUS",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out!("{}", cells.join("  ").trim_end());
    }
    if rows.is_empty() {
        out!("(no certificates)");
    }
}

fn demo(now: OffsetDateTime) -> Result<ExitCode, String> {
    let dir = std::env::temp_dir().join(format!("inbound-certs-demo-{}", std::process::id()));
    let result = demo_in(&dir, now);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn step(text: &str) {
    out!("\n== {text}");
}

fn demo_in(dir: &Path, now: OffsetDateTime) -> Result<ExitCode, String> {
    let err = |e: StoreError| e.to_string();
    step(&format!(
        "A file store for a source system, in {}",
        dir.display()
    ));
    let store = FileStore::create(dir, SystemKind::Source).map_err(err)?;

    step("Import two client certificates (each upload is decoded, checked and written durably)");
    let policy = ImportPolicy::new(now);
    for file in ["sample_source.pem", "sample_proxy.der"] {
        out!("$ certstore import {file}");
        import(&store, &[path_string(file)], &policy);
    }

    step("Import the first again: nothing is duplicated");
    import(&store, &[path_string("sample_source.pem")], &policy);

    step("Import a PEM bundle of five certificates (all or nothing): refused, its fifth is a CA");
    import(&store, &[path_string("bundle.pem")], &policy);

    step("Import the bundle anyway, with --allow-ca");
    import(
        &store,
        &[path_string("bundle.pem")],
        &policy.clone().allow_ca(true),
    );

    step("List the store");
    list(&store, now, None, false)?;

    let listing = store.list().map_err(err)?;
    let first = listing.certificates.first().ok_or("the store is empty")?;
    step(&format!("Show {}", first.name()));
    out!("{}", support::readable_block(first, now));

    step("Upload a private key by mistake: refused, nothing stored");
    import(&store, &[path_string("key_pkcs8.pem")], &policy);

    step("Upload an expired certificate: refused by the default policy");
    import(&store, &[path_string("expired.pem")], &policy);

    step("Upload a server-only certificate (no clientAuth): refused by the default policy");
    import(&store, &[path_string("server_only.pem")], &policy);

    step("Import the expired certificate anyway, with --allow-expired");
    import(
        &store,
        &[path_string("expired.pem")],
        &policy.clone().allow_expired(true),
    );

    step("Delete one certificate");
    let victim = first.name();
    store.delete(&victim).map_err(err)?;
    out!("deleted {victim}");
    match store.delete(&victim) {
        Err(error) => out!("deleting it again: error: {error}"),
        Ok(()) => return Err("deleting twice should fail".into()),
    }

    step("Purge expired certificates");
    for name in store.purge_expired(now).map_err(err)? {
        out!("deleted {name}");
    }

    step("A store for a target system cannot be created");
    match FileStore::create(dir, SystemKind::Target) {
        Err(error) => out!("error: {error}"),
        Ok(_) => return Err("a target store should be refused".into()),
    }

    step("What is left");
    list(&store, now, None, false)?;
    out!("\nDemo done; the temporary store is removed.");
    Ok(ExitCode::SUCCESS)
}

fn path_string(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
