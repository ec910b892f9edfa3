//! One file per command (the `system` commands together), and what they share: where the
//! registry is, who acts, which system, and how a failure is reported.

mod check;
mod delete;
mod demo;
mod history;
mod identify;
mod import;
mod list;
mod migrate;
mod purge;
mod resolve;
mod show;
mod suspend;
mod system;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use inbound_certs::{CertificateName, ErrorReport, Registry, StoreError, SystemName};
use time::OffsetDateTime;

use crate::cli::{Cli, Command};

/// Why a command failed, as `main` reports it.
pub(crate) enum Failure {
    /// A mistake in the arguments: followed by the hint to read `--help`.
    Usage(String),
    /// Anything else: the message alone.
    Message(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Message(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::Message(message.to_string())
    }
}

impl From<StoreError> for Failure {
    /// The error with its causes (a file's, the database's).
    fn from(error: StoreError) -> Self {
        Failure::Message(ErrorReport::new(&error).to_string())
    }
}

pub(crate) type Outcome = Result<ExitCode, Failure>;

/// Runs the command `cli` names.
pub(crate) fn run(cli: Cli) -> Outcome {
    let location = match (cli.store, cli.postgres) {
        (Some(dir), _) => Some(Location::Directory(dir)),
        (None, Some(url)) => Some(Location::Postgres(url)),
        (None, None) => None,
    };
    let context = Context {
        location,
        actor: cli.actor.unwrap_or_else(login_name),
        system: cli.system,
        command: command_name(&cli.command),
        now: OffsetDateTime::now_utc(),
    };
    match cli.command {
        Command::Demo => demo::run(context.now),
        Command::System(command) => system::run(&context, command),
        Command::Import(arguments) => import::run(&context, &arguments),
        Command::List(arguments) => list::run(&context, &arguments),
        Command::Show(arguments) => show::run(&context, &arguments),
        Command::Delete(arguments) => delete::run(&context, &arguments),
        Command::Suspend(arguments) => suspend::suspend(&context, &arguments),
        Command::Resume(arguments) => suspend::resume(&context, &arguments),
        Command::PurgeExpired => purge::run(&context),
        Command::Identify(arguments) => identify::run(&context, &arguments),
        Command::Check(arguments) => check::run(&context, &arguments),
        Command::Migrate(arguments) => migrate::run(&context, &arguments),
        Command::History(arguments) => history::run(&context, &arguments),
    }
}

fn command_name(command: &Command) -> &'static str {
    use crate::cli::SystemCommand;
    match command {
        Command::Demo => "demo",
        Command::System(SystemCommand::Add { .. }) => "system add",
        Command::System(SystemCommand::Grant { .. }) => "system grant",
        Command::System(SystemCommand::Revoke { .. }) => "system revoke",
        Command::System(SystemCommand::List(_)) => "system list",
        Command::System(SystemCommand::Remove { .. }) => "system remove",
        Command::Import(_) => "import",
        Command::List(_) => "list",
        Command::Show(_) => "show",
        Command::Delete(_) => "delete",
        Command::Suspend(_) => "suspend",
        Command::Resume(_) => "resume",
        Command::PurgeExpired => "purge-expired",
        Command::Identify(_) => "identify",
        Command::Check(_) => "check",
        Command::Migrate(_) => "migrate",
        Command::History(_) => "history",
    }
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

/// What every command may need, from the options before (or after) its name.
pub(crate) struct Context {
    location: Option<Location>,
    actor: String,
    system: Option<SystemName>,
    command: &'static str,
    pub(crate) now: OffsetDateTime,
}

impl Context {
    /// Where the registry is; a usage mistake when neither `--store` nor `--postgres` is given.
    fn location(&self) -> Result<&Location, Failure> {
        self.location.as_ref().ok_or_else(|| {
            Failure::Usage(format!(
                "'{}' needs --store DIR or --postgres URL",
                self.command
            ))
        })
    }

    /// The `--system` this command needs.
    pub(crate) fn system(&self) -> Result<&SystemName, Failure> {
        self.system.as_ref().ok_or_else(|| {
            Failure::Usage(format!(
                "'{}' needs --system NAME (see 'certstore --store DIR system list')",
                self.command
            ))
        })
    }

    /// The `--system` given, if any (commands that otherwise cover every system).
    pub(crate) fn only_system(&self) -> Option<&SystemName> {
        self.system.as_ref()
    }

    /// The registry, acting as `--actor`; a missing directory is an error.
    pub(crate) fn open(&self) -> Result<Registry, Failure> {
        self.open_or_create(false)
    }

    /// The registry, its directory made when missing (by `system add`).
    pub(crate) fn open_or_create(&self, create: bool) -> Result<Registry, Failure> {
        let registry = match self.location()? {
            Location::Directory(dir) if create => Registry::create(dir)?,
            Location::Directory(dir) => Registry::open(dir).map_err(|error| match error {
                StoreError::NoDirectory(_) => format!(
                    "{error}: add a system first ('certstore --store {} system add NAME --kind source')",
                    dir.display()
                ),
                other => ErrorReport::new(&other).to_string(),
            })?,
            Location::Postgres(url) => open_postgres(url)?,
        };
        Ok(registry.acting_as(self.actor.as_str()))
    }

    /// A missing system's error, with how to add one.
    pub(crate) fn missing_system(&self, error: StoreError) -> Failure {
        match (&error, &self.location) {
            (StoreError::SystemNotFound(name), Some(location)) => Failure::Message(format!(
                "{error}: add it with 'certstore {location} system add {name} --kind source' (or proxy)"
            )),
            _ => error.into(),
        }
    }

    /// The systems a command covers: `--system`, or every one.
    pub(crate) fn systems(
        &self,
        registry: &Registry,
    ) -> Result<Vec<inbound_certs::System>, Failure> {
        Ok(match self.only_system() {
            Some(name) => vec![registry
                .system(name)
                .map_err(|error| self.missing_system(error))?],
            None => registry.systems()?.systems,
        })
    }

    /// The store of `--system`.
    pub(crate) fn store(&self, registry: &Registry) -> Result<inbound_certs::SystemStore, Failure> {
        let system = self.system()?;
        registry
            .store(system)
            .map_err(|error| self.missing_system(error))
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

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Registry, Failure> {
    // TLS to the database as the URL asks (sslmode, sslrootcert), with ring's algorithms.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let options = inbound_certs::backend::PostgresOptions::default().tls(provider);
    Ok(Registry::connect(url, &options)?)
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str) -> Result<Registry, Failure> {
    Err("--postgres needs the postgres feature: cargo run --features postgres --example certstore -- ...".into())
}

/// When (RFC 3339) and by whom a certificate was last imported into a system, from the
/// index the registry keeps beside its audit trail.
pub(crate) fn imported(
    registry: &Registry,
    system: &SystemName,
    name: &CertificateName,
) -> Option<(String, String)> {
    let record = registry.import_record(system, name).ok()??;
    Some((rfc3339(record.time), record.actor))
}

pub(crate) fn rfc3339(instant: OffsetDateTime) -> String {
    instant
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// JSON text of `value`, pretty-printed.
pub(crate) fn pretty(value: &serde_json::Value) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map_err(|error| Failure::Message(error.to_string()))
}

/// Rows under a header, each column as wide as its widest cell.
pub(crate) fn print_columns(header: &[String], rows: &[Vec<String>]) {
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
