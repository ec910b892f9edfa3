//! Manage the systems of a registry and their trusted inbound client certificates from the
//! command line.
//!
//! ```text
//! cargo run --example certstore -- demo
//! certstore --store DIR system add NAME --kind source|proxy|target
//! certstore --store DIR system list [--json]
//! certstore --store DIR system remove NAME [--with-certificates]
//! certstore --store DIR --system NAME import [--allow-expired] [--allow-without-client-auth] [--allow-ca] FILE...
//! certstore --store DIR [--system NAME] list [--json] [--expiring-within DAYS]
//! certstore --store DIR --system NAME show NAME|FINGERPRINT [--json]
//! certstore --store DIR --system NAME delete NAME|FINGERPRINT...
//! certstore --store DIR [--system NAME] purge-expired
//! certstore --store DIR identify FILE|FINGERPRINT
//! certstore --store DIR check [--within-days N] [--json]
//! certstore --store DIR migrate --system NAME --kind source|proxy
//! certstore --store DIR history [--system NAME] [--since RFC3339] [--limit N] [--json]
//! cargo run --features postgres --example certstore -- --postgres URL list   # any command
//! ```
//!
//! `--store DIR` names a registry directory (`--postgres URL`, with the `postgres` feature, a
//! registry in PostgreSQL, e.g. `--postgres postgres://user@localhost/service`). Without
//! `--system`, `list` and `purge-expired` cover every system and say which system each line
//! belongs to. `migrate` moves the certificates of a directory made by an earlier version
//! (one store, files directly in DIR) into a system.
//!
//! Errors go to stderr and the exit code is 1. A damaged certificate file does not fail
//! `list`: the healthy certificates are printed and each damaged file is reported on stderr.
//! `identify` exits 1 when no system trusts the certificate. `check` lists every system's
//! expired certificates and those expiring within N days (default 30) and exits as monitoring
//! plugins do: 0 when there are none, 1 when some expire within the window, 2 when some have
//! expired, so cron or a monitoring agent can run it as it is.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use inbound_certs::{
    Certificate, CertificateName, CertificateStore, Fingerprint, ImportPolicy, Imported,
    ParseFingerprintError, Registry, StoreError, System, SystemKind, SystemName, Visible,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

const USAGE: &str = "usage:
  certstore demo
  certstore --store DIR system add NAME --kind source|proxy|target
  certstore --store DIR system list [--json]
  certstore --store DIR system remove NAME [--with-certificates]
  certstore --store DIR --system NAME import [--allow-expired] [--allow-without-client-auth] [--allow-ca] FILE...
  certstore --store DIR [--system NAME] list [--json] [--expiring-within DAYS]
  certstore --store DIR --system NAME show NAME|FINGERPRINT [--json]
  certstore --store DIR --system NAME delete NAME|FINGERPRINT...
  certstore --store DIR [--system NAME] purge-expired
  certstore --store DIR identify FILE|FINGERPRINT
  certstore --store DIR check [--within-days N] [--json]
  certstore --store DIR migrate --system NAME --kind source|proxy
  certstore --store DIR history [--system NAME] [--since RFC3339] [--limit N] [--json]
  (--actor NAME before any command: who the audit trail records; default $USER)
  (--postgres URL instead of --store DIR: a registry in PostgreSQL; needs --features postgres)";

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
    actor: String,
    system: Option<SystemName>,
    kind: Option<SystemKind>,
    command: String,
    flags: Vec<String>,
    operands: Vec<String>,
}

/// The user running this, for the audit trail: `$USER`, `$LOGNAME`, or the user id.
fn login_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            #[cfg(unix)]
            return format!("uid {}", rustix::process::geteuid().as_raw());
            #[cfg(not(unix))]
            return "unknown".to_string();
        })
}

fn parse(arguments: &[String]) -> Result<Options, String> {
    let mut options = Options {
        store: None,
        actor: login_name(),
        system: None,
        kind: None,
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
            "--actor" => {
                options.actor = iter.next().ok_or("--actor needs a name")?.clone();
            }
            "--since" => {
                let since = iter.next().ok_or("--since needs an RFC 3339 instant")?;
                options.flags.push(format!("--since={since}"));
            }
            "--limit" => {
                let limit = iter.next().ok_or("--limit needs a number")?;
                options.flags.push(format!("--limit={limit}"));
            }
            "--system" => {
                let name = iter.next().ok_or("--system needs a system name")?;
                options.system = Some(name.parse().map_err(|e| format!("{e}"))?);
            }
            "--kind" => {
                let kind = iter.next().ok_or("--kind needs source, proxy or target")?;
                options.kind = Some(kind.parse().map_err(|e| format!("{e}"))?);
            }
            "--within-days" => {
                let days = iter.next().ok_or("--within-days needs a number of days")?;
                options.flags.push(format!("--within-days={days}"));
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
    let _ = ACTOR.set(options.actor.clone());
    let command = if options.command == "system" {
        format!(
            "system {}",
            options.operands.first().map(String::as_str).unwrap_or("")
        )
    } else {
        options.command.clone()
    };
    let known = |allowed: &[&str]| -> Result<(), String> {
        for flag in &options.flags {
            let base = flag.split('=').next().unwrap_or(flag);
            if !allowed.contains(&base) {
                return Err(format!("unknown option {flag} for '{command}'\n{USAGE}"));
            }
        }
        Ok(())
    };
    let location = || {
        options
            .store
            .as_ref()
            .ok_or_else(|| format!("'{command}' needs --store DIR or --postgres URL\n{USAGE}"))
    };
    let system = || {
        options.system.as_ref().ok_or_else(|| {
            format!("'{command}' needs --system NAME (see 'certstore --store DIR system list')")
        })
    };
    let json = options.flags.iter().any(|f| f == "--json");
    let now = OffsetDateTime::now_utc();
    match command.as_str() {
        "demo" => {
            known(&[])?;
            demo(now)
        }
        "system add" => {
            known(&[])?;
            let [_, name] = options.operands.as_slice() else {
                return Err(format!("system add needs exactly one NAME\n{USAGE}"));
            };
            let name: SystemName = name.parse().map_err(|e| format!("{e}"))?;
            let kind = options
                .kind
                .ok_or("system add needs --kind source, proxy or target")?;
            let registry = open(location()?, Create::Yes)?;
            let system = registry
                .create_system(&name, kind, now)
                .map_err(|e| e.to_string())?;
            out!("added system {system}");
            Ok(ExitCode::SUCCESS)
        }
        "system list" => {
            known(&["--json"])?;
            let registry = open(location()?, Create::No)?;
            system_list(&registry, now, json)
        }
        "system remove" => {
            known(&["--with-certificates"])?;
            let [_, name] = options.operands.as_slice() else {
                return Err(format!("system remove needs exactly one NAME\n{USAGE}"));
            };
            let name: SystemName = name.parse().map_err(|e| format!("{e}"))?;
            let registry = open(location()?, Create::No)?;
            let with = options.flags.iter().any(|f| f == "--with-certificates");
            let removed = registry
                .remove_system(&name, with)
                .map_err(|error| match error {
                    StoreError::SystemNotEmpty { .. } => {
                        format!("{error} (--with-certificates)")
                    }
                    other => other.to_string(),
                })?;
            out!("removed system {name} and {removed} certificate(s)");
            Ok(ExitCode::SUCCESS)
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
            let system = system()?;
            let registry = open(location()?, Create::No)?;
            let store = registry
                .store(system)
                .map_err(|e| missing_system(e, location()))?;
            Ok(import(&store, &options.operands, &policy))
        }
        "list" => {
            known(&["--json", "--expiring-within"])?;
            let registry = open(location()?, Create::No)?;
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
            let systems = match &options.system {
                Some(name) => vec![registry
                    .system(name)
                    .map_err(|e| missing_system(e, location()))?],
                None => registry.systems().map_err(|e| e.to_string())?.systems,
            };
            list(
                &registry,
                &systems,
                options.system.is_none(),
                now,
                within,
                json,
            )
        }
        "show" => {
            known(&["--json"])?;
            let [name] = options.operands.as_slice() else {
                return Err(format!("show needs exactly one NAME\n{USAGE}"));
            };
            let system = system()?;
            let registry = open(location()?, Create::No)?;
            let store = registry
                .store(system)
                .map_err(|e| missing_system(e, location()))?;
            let name = parse_name(name)?;
            let certificate = store
                .get(&name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{} in system {system}", StoreError::NotFound(name)))?;
            let imported = imported(&registry, system, &certificate.name())
                .map(|(at, by)| format!("{at} by {by}"));
            if json {
                let mut object = support::json_object(&certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                object.insert(
                    "imported".into(),
                    imported.map_or(Value::Null, Value::String),
                );
                out!(
                    "{}",
                    serde_json::to_string_pretty(&Value::Object(object))
                        .map_err(|e| e.to_string())?
                );
            } else {
                out!("System:              {system}");
                // Who imported it is read from the audit trail, a file others may have
                // written: shown by the rule the certificate's own text is.
                out!(
                    "Imported:            {}",
                    Visible::new(imported.as_deref().unwrap_or("(not in the audit trail)"))
                );
                out!("{}", support::readable_block(&certificate, now));
            }
            Ok(ExitCode::SUCCESS)
        }
        "delete" => {
            known(&[])?;
            if options.operands.is_empty() {
                return Err(format!("delete needs at least one NAME\n{USAGE}"));
            }
            let system = system()?;
            let registry = open(location()?, Create::No)?;
            let store = registry
                .store(system)
                .map_err(|e| missing_system(e, location()))?;
            let mut code = ExitCode::SUCCESS;
            for name in &options.operands {
                let result = parse_name(name).and_then(|name| {
                    store
                        .delete(&name)
                        .map(|()| name)
                        .map_err(|e| e.to_string())
                });
                match result {
                    Ok(name) => out!("deleted {name} from {system}"),
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
            let registry = open(location()?, Create::No)?;
            let systems = match &options.system {
                Some(name) => vec![registry
                    .system(name)
                    .map_err(|e| missing_system(e, location()))?],
                None => registry.systems().map_err(|e| e.to_string())?.systems,
            };
            for system in systems {
                let store = registry.store(system.name()).map_err(|e| e.to_string())?;
                for name in store.purge_expired(now).map_err(|e| e.to_string())? {
                    out!("deleted {name} from {}", system.name());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        "identify" => {
            known(&[])?;
            let [what] = options.operands.as_slice() else {
                return Err(format!(
                    "identify needs exactly one FILE or FINGERPRINT\n{USAGE}"
                ));
            };
            let registry = open(location()?, Create::No)?;
            identify(&registry, what)
        }
        "check" => {
            known(&["--json", "--within-days"])?;
            let days = match options
                .flags
                .iter()
                .find_map(|f| f.strip_prefix("--within-days="))
            {
                Some(days) => days
                    .parse::<i64>()
                    .ok()
                    .filter(|days| *days >= 0)
                    .ok_or_else(|| format!("--within-days needs a number of days, got {days:?}"))?,
                None => 30,
            };
            let registry = open(location()?, Create::No)?;
            check(&registry, now, Duration::days(days), json)
        }
        "history" => {
            known(&["--json", "--since", "--limit"])?;
            let mut query = inbound_certs::HistoryQuery::new();
            if let Some(system) = &options.system {
                query = query.system(system.clone());
            }
            if let Some(since) = options
                .flags
                .iter()
                .find_map(|f| f.strip_prefix("--since="))
            {
                let since = OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| format!("--since needs an RFC 3339 instant such as 2026-01-31T00:00:00Z, got {since:?}"))?;
                query = query.since(since);
            }
            if let Some(limit) = options
                .flags
                .iter()
                .find_map(|f| f.strip_prefix("--limit="))
            {
                let limit = limit
                    .parse::<usize>()
                    .map_err(|_| format!("--limit needs a number, got {limit:?}"))?;
                query = query.limit(limit);
            }
            let registry = open(location()?, Create::No)?;
            history(&registry, &query, json)
        }
        "migrate" => {
            known(&[])?;
            let system = system()?;
            let kind = options.kind.ok_or("migrate needs --kind source or proxy")?;
            let registry = open(location()?, Create::No)?;
            let moved = registry
                .adopt_legacy_store(system, kind, now)
                .map_err(|e| e.to_string())?;
            out!("moved {moved} certificate(s) into system {system} ({kind})");
            Ok(ExitCode::SUCCESS)
        }
        "help" => {
            out!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "" => Err(format!("no command given\n{USAGE}")),
        "system " => Err(format!("'system' needs add, list or remove\n{USAGE}")),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// A missing system's error, with how to add one.
fn missing_system(error: StoreError, location: Result<&Location, String>) -> String {
    match (&error, location) {
        (StoreError::SystemNotFound(name), Ok(location)) => format!(
            "{error}: add it with 'certstore {location} system add {name} --kind source' (or proxy)"
        ),
        _ => error.to_string(),
    }
}

/// Where the registry is kept.
enum Location {
    Directory(PathBuf),
    Postgres(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Directory(dir) => write!(f, "--store {}", dir.display()),
            Location::Postgres(url) => write!(f, "--postgres {url}"),
        }
    }
}

/// Whether a missing registry directory is created (by `system add`) or an error.
#[derive(PartialEq)]
enum Create {
    Yes,
    No,
}

fn open(location: &Location, create: Create) -> Result<Registry, String> {
    let actor = ACTOR.get().map_or("unknown", String::as_str);
    open_registry(location, create).map(|registry| registry.acting_as(actor))
}

/// Who this run's changes are recorded as made by (`--actor`, or the login name).
static ACTOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn open_registry(location: &Location, create: Create) -> Result<Registry, String> {
    match location {
        Location::Directory(dir) if create == Create::Yes => {
            Registry::create(dir).map_err(|e| e.to_string())
        }
        Location::Directory(dir) => Registry::open(dir).map_err(|error| match error {
            StoreError::NoDirectory(_) => format!(
                "{error}: add a system first ('certstore --store {} system add NAME --kind source')",
                dir.display()
            ),
            other => other.to_string(),
        }),
        Location::Postgres(url) => open_postgres(url),
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Registry, String> {
    // TLS to the database as the URL asks (sslmode, sslrootcert), with ring's algorithms.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let options = inbound_certs::PostgresOptions::default().tls(provider);
    Registry::connect(url, &options).map_err(|e| e.to_string())
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str) -> Result<Registry, String> {
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

/// Imports `files` as one bundle: all their certificates or none.
fn import(store: &dyn CertificateStore, files: &[String], policy: &ImportPolicy) -> ExitCode {
    match read_all(store, files, policy) {
        Some(certificates) => import_all(store, &certificates, policy),
        None => ExitCode::FAILURE,
    }
}

/// Reads and decodes every file and checks each certificate against `policy`, before anything
/// is stored. Every problem is reported on stderr with its file, and each refused file is
/// offered to the store, which refuses it too and records the refusal in the audit trail;
/// then the result is `None`.
fn read_all(
    store: &dyn CertificateStore,
    files: &[String],
    policy: &ImportPolicy,
) -> Option<Vec<Certificate>> {
    let mut certificates = Vec::new();
    let mut refused = 0;
    for file in files {
        let bytes = std::fs::read(file);
        // `decode` uses the default limits, which are those of `ImportPolicy::new`.
        let decoded = bytes
            .as_ref()
            .map_err(|e| e.to_string())
            .and_then(|bytes| inbound_certs::decode(bytes).map_err(|e| e.to_string()));
        let problems: Vec<String> = match &decoded {
            Ok(found) => found
                .iter()
                .enumerate()
                .filter_map(|(index, certificate)| {
                    policy.check_in_upload(certificate, index + 1).err()
                })
                .map(|error| refusal(&error))
                .collect(),
            Err(error) => vec![error.clone()],
        };
        for problem in &problems {
            eprintln!("error: {file}: {problem}");
        }
        match decoded {
            Ok(found) if problems.is_empty() => certificates.extend(found),
            _ => {
                refused += 1;
                if let Ok(bytes) = &bytes {
                    // Refused again, by the store this time, which records why.
                    let _ = store.import_upload(bytes, policy);
                }
            }
        }
    }
    if refused > 0 {
        eprintln!(
            "error: nothing imported: {refused} of {} files refused",
            files.len()
        );
        return None;
    }
    Some(certificates)
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

/// Stores `certificates` all or nothing, and prints what happened to each.
fn import_all(
    store: &dyn CertificateStore,
    certificates: &[Certificate],
    policy: &ImportPolicy,
) -> ExitCode {
    match store.import_all(certificates, policy) {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    Imported::Added(name) => out!("imported {name}"),
                    Imported::AlreadyPresent(name) => out!("already present {name}"),
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", refusal(&error));
            eprintln!("error: nothing imported");
            ExitCode::FAILURE
        }
    }
}

/// The certificates of `systems`; with `per_system`, each row says its system.
fn list(
    registry: &Registry,
    systems: &[System],
    per_system: bool,
    now: OffsetDateTime,
    within: Option<Duration>,
    json: bool,
) -> Result<ExitCode, String> {
    let mut rows: Vec<(SystemName, Certificate)> = Vec::new();
    for system in systems {
        let listing = registry
            .store(system.name())
            .and_then(|store| store.list())
            .map_err(|e| e.to_string())?;
        for damaged in &listing.damaged {
            eprintln!("warning: system {}: {damaged}", system.name());
        }
        rows.extend(
            listing
                .certificates
                .into_iter()
                .filter(|c| {
                    within.is_none_or(|within| c.summary().validity.ends_within(now, within))
                })
                .map(|certificate| (system.name().clone(), certificate)),
        );
    }
    if json {
        let objects: Vec<Value> = rows
            .iter()
            .map(|(system, certificate)| {
                let mut object = support::json_object(certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                let when_and_who = imported(registry, system, &certificate.name());
                let when_and_who = when_and_who.as_ref();
                object.insert(
                    "imported_at".into(),
                    when_and_who.map_or(Value::Null, |(at, _)| Value::String(at.clone())),
                );
                object.insert(
                    "imported_by".into(),
                    when_and_who.map_or(Value::Null, |(_, by)| Value::String(by.clone())),
                );
                Value::Object(object)
            })
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())?
        );
    } else {
        print_table(&rows, per_system, now);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(rows: &[(SystemName, Certificate)], per_system: bool, now: OffsetDateTime) {
    let mut header = vec![
        "NAME",
        "SUBJECT",
        "ISSUER",
        "NOT AFTER",
        "KEY",
        "CA",
        "STATUS",
    ];
    if per_system {
        header.insert(0, "SYSTEM");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(system, c)| {
            let s = c.summary();
            let mut row = vec![
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
            ];
            if per_system {
                row.insert(0, system.to_string());
            }
            row
        })
        .collect();
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    print_columns(&header, &cells);
    if rows.is_empty() {
        out!("(no certificates)");
    }
}

/// Rows under a header, each column as wide as its widest cell.
fn print_columns(header: &[String], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out!("{}", cells.join("  ").trim_end());
    }
}

/// Every system with its kind and how many certificates are in each state.
fn system_list(registry: &Registry, now: OffsetDateTime, json: bool) -> Result<ExitCode, String> {
    for damaged in registry.systems().map_err(|e| e.to_string())?.damaged {
        eprintln!("warning: {damaged}");
    }
    let overview = registry
        .overview(now, support::WARN_WITHIN)
        .map_err(|e| e.to_string())?;
    if json {
        let objects: Vec<Value> = overview
            .iter()
            .map(|o| {
                serde_json::json!({
                    "name": o.system.name().to_string(),
                    "kind": o.system.kind().as_str(),
                    "created": o.system.created().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    "valid": o.valid,
                    "expiring": o.expiring,
                    "expired": o.expired,
                    "damaged": o.damaged,
                })
            })
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let header: Vec<String> = ["SYSTEM", "KIND", "VALID", "EXPIRING", "EXPIRED", "DAMAGED"]
        .into_iter()
        .map(String::from)
        .collect();
    let rows: Vec<Vec<String>> = overview
        .iter()
        .map(|o| {
            vec![
                o.system.name().to_string(),
                o.system.kind().to_string(),
                o.valid.to_string(),
                o.expiring.to_string(),
                o.expired.to_string(),
                o.damaged.to_string(),
            ]
        })
        .collect();
    print_columns(&header, &rows);
    if rows.is_empty() {
        out!("(no systems)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The systems that trust a certificate (from a file, or given by name or fingerprint), one
/// per line; exit 1 when none does.
fn identify(registry: &Registry, what: &str) -> Result<ExitCode, String> {
    let fingerprints: Vec<Fingerprint> = if Path::new(what).is_file() {
        let bytes = std::fs::read(what).map_err(|e| format!("{what}: {e}"))?;
        inbound_certs::decode(&bytes)
            .map_err(|e| format!("{what}: {e}"))?
            .iter()
            .map(Certificate::fingerprint)
            .collect()
    } else {
        vec![parse_name(what)?.fingerprint()]
    };
    let mut found = false;
    for fingerprint in &fingerprints {
        let systems = registry.identify(fingerprint).map_err(|e| e.to_string())?;
        found |= !systems.is_empty();
        for system in systems {
            if fingerprints.len() == 1 {
                out!("{system}");
            } else {
                out!("{}: {system}", CertificateName::from(*fingerprint));
            }
        }
    }
    if !found {
        eprintln!("no system trusts {what}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every system's expired certificates and those expiring within `within`; the exit status
/// says the worst (0 none, 1 expiring, 2 expired), as monitoring plugins do.
fn check(
    registry: &Registry,
    now: OffsetDateTime,
    within: Duration,
    json: bool,
) -> Result<ExitCode, String> {
    let mut findings: Vec<(SystemName, Certificate, &'static str)> = Vec::new();
    for system in registry.systems().map_err(|e| e.to_string())?.systems {
        let store = registry.store(system.name()).map_err(|e| e.to_string())?;
        for certificate in store.list().map_err(|e| e.to_string())?.certificates {
            let validity = &certificate.summary().validity;
            let state = if validity.is_expired_at(now) {
                "expired"
            } else if validity.ends_within(now, within) {
                "expiring"
            } else {
                continue;
            };
            findings.push((system.name().clone(), certificate, state));
        }
    }
    let expired = findings
        .iter()
        .filter(|(_, _, state)| *state == "expired")
        .count();
    let expiring = findings.len() - expired;
    if json {
        let objects: Vec<Value> = findings
            .iter()
            .map(|(system, certificate, state)| {
                let mut object = support::json_object(certificate, now);
                object.insert("system".into(), Value::String(system.to_string()));
                object.insert("check".into(), Value::String((*state).to_string()));
                Value::Object(object)
            })
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())?
        );
    } else {
        for (system, certificate, state) in &findings {
            let summary = certificate.summary();
            out!(
                "{}: system {system}: {} ({}) {} {}",
                state.to_uppercase(),
                summary.name,
                summary.subject,
                if *state == "expired" {
                    "expired on"
                } else {
                    "expires on"
                },
                summary.validity.not_after.date()
            );
        }
        out!(
            "{expired} expired, {expiring} expiring within {} days",
            within.whole_days()
        );
    }
    Ok(ExitCode::from(if expired > 0 {
        2
    } else if expiring > 0 {
        1
    } else {
        0
    }))
}

/// The audit trail, newest first, one record a line (or a JSON array).
fn history(
    registry: &Registry,
    query: &inbound_certs::HistoryQuery,
    json: bool,
) -> Result<ExitCode, String> {
    let history = registry.history(query).map_err(|e| e.to_string())?;
    for damaged in &history.damaged {
        eprintln!("warning: audit trail: {damaged}");
    }
    if json {
        let objects: Vec<Value> = history
            .records
            .iter()
            .map(|record| {
                serde_json::json!({
                    "time": record.time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    "actor": record.actor,
                    "system": record.system.as_ref().map(ToString::to_string),
                    "action": record.action.as_str(),
                    "certificate": record.certificate.map(|name| name.to_string()),
                    "subject": record.subject,
                    "outcome": record.outcome.as_str(),
                    "detail": record.detail,
                })
            })
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())?
        );
    } else {
        for record in &history.records {
            out!("{record}");
        }
        if history.records.is_empty() {
            out!("(no records)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// When (RFC 3339) and by whom a certificate was last imported into a system, from the
/// index the registry keeps beside its audit trail.
fn imported(
    registry: &Registry,
    system: &SystemName,
    name: &CertificateName,
) -> Option<(String, String)> {
    let record = registry.import_record(system, name).ok()??;
    Some((
        record
            .time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        record.actor,
    ))
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

fn system_name(text: &str) -> Result<SystemName, String> {
    text.parse().map_err(|e| format!("{e}"))
}

fn demo_in(dir: &Path, now: OffsetDateTime) -> Result<ExitCode, String> {
    let err = |e: StoreError| e.to_string();
    step(&format!("A registry of systems, in {}", dir.display()));
    let registry = Registry::create(dir).map_err(err)?.acting_as("demo-admin");
    let crm = system_name("crm")?;
    let gateway = system_name("partner-gateway")?;
    let warehouse = system_name("warehouse")?;
    for (name, kind) in [
        (&crm, SystemKind::Source),
        (&gateway, SystemKind::Proxy),
        (&warehouse, SystemKind::Target),
    ] {
        out!("$ certstore system add {name} --kind {kind}");
        let system = registry.create_system(name, kind, now).map_err(err)?;
        out!("added system {system}");
    }

    let policy = ImportPolicy::new(now);
    let crm_store = registry.store(&crm).map_err(err)?;
    let gateway_store = registry.store(&gateway).map_err(err)?;
    step(
        "Import client certificates for crm (each upload is decoded, checked and written durably)",
    );
    for file in ["sample_source.pem", "bundle.pem"] {
        out!("$ certstore --system crm import {file}");
        import(&crm_store, &[path_string(file)], &policy);
    }
    step(
        "The bundle holds a CA certificate, refused by default: import it anyway, with --allow-ca",
    );
    out!("$ certstore --system crm import --allow-ca bundle.pem");
    import(
        &crm_store,
        &[path_string("bundle.pem")],
        &policy.clone().allow_ca(true),
    );
    step("Import the same certificate again: nothing is duplicated");
    import(&crm_store, &[path_string("sample_source.pem")], &policy);

    step("Trust the first certificate for partner-gateway too, with one of its own");
    for file in ["sample_source.pem", "sample_proxy.der"] {
        out!("$ certstore --system partner-gateway import {file}");
        import(&gateway_store, &[path_string(file)], &policy);
    }

    step("A target system is never called in by: it refuses inbound certificates");
    out!("$ certstore --system warehouse import sample_source.pem");
    import(
        &registry.store(&warehouse).map_err(err)?,
        &[path_string("sample_source.pem")],
        &policy,
    );

    step("Which system is this client? (what a server asks after a TLS handshake)");
    out!("$ certstore identify sample_source.pem");
    identify(&registry, &path_string("sample_source.pem"))?;

    step("The systems");
    system_list(&registry, now, false)?;

    step("Every system's certificates");
    let systems = registry.systems().map_err(err)?.systems;
    list(&registry, &systems, true, now, None, false)?;

    let upload = std::fs::read(path_string("sample_source.pem")).map_err(|e| e.to_string())?;
    let shared = inbound_certs::decode(&upload)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("sample_source.pem holds a certificate")?;
    let first = crm_store
        .get(&shared.name())
        .map_err(err)?
        .ok_or("the certificate was just imported")?;
    step(&format!("Show {} in crm", first.name()));
    out!("{}", support::readable_block(&first, now));

    step("Upload a private key by mistake: refused, nothing stored");
    import(&crm_store, &[path_string("key_pkcs8.pem")], &policy);

    step("Upload an expired certificate: refused by the default policy");
    import(&crm_store, &[path_string("expired.pem")], &policy);

    step("Upload a server-only certificate (no clientAuth): refused by the default policy");
    import(&crm_store, &[path_string("server_only.pem")], &policy);

    step("Import the expired certificate anyway, with --allow-expired");
    import(
        &crm_store,
        &[path_string("expired.pem")],
        &policy.clone().allow_expired(true),
    );

    step("Delete the shared certificate from crm: partner-gateway still trusts it");
    crm_store.delete(&first.name()).map_err(err)?;
    out!("deleted {} from crm", first.name());
    match crm_store.delete(&first.name()) {
        Err(error) => out!("deleting it again: error: {error}"),
        Ok(()) => return Err("deleting twice should fail".into()),
    }
    identify(&registry, &first.name().to_string())?;

    step("Purge expired certificates");
    for name in crm_store.purge_expired(now).map_err(err)? {
        out!("deleted {name} from crm");
    }

    step("Remove crm: refused while it trusts certificates, then with them");
    match registry.remove_system(&crm, false) {
        Err(error) => out!("error: {error} (--with-certificates)"),
        Ok(_) => return Err("removing a system with certificates should be refused".into()),
    }
    let removed = registry.remove_system(&crm, true).map_err(err)?;
    out!("removed system crm and {removed} certificate(s)");

    step("What is left");
    system_list(&registry, now, false)?;

    step("The audit trail: who changed what, newest first (the last 8 records)");
    out!("$ certstore history --limit 8");
    history(
        &registry,
        &inbound_certs::HistoryQuery::new().limit(8),
        false,
    )?;
    out!("\nDemo done; the temporary registry is removed.");
    Ok(ExitCode::SUCCESS)
}

fn path_string(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
