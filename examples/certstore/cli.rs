//! The command line: what `certstore` accepts, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use inbound_certs::{
    names::ParseFingerprintError, CertificateName, Fingerprint, SystemKind, SystemName,
};

/// The heading of the options every command takes, apart from each command's own.
const GLOBAL: &str = "Registry options (before or after the command)";

/// Manage the systems of a registry and the client certificates each trusts for inbound mTLS.
#[derive(Debug, Parser)]
#[command(name = "certstore")]
pub(crate) struct Cli {
    /// A registry directory.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "postgres", help_heading = GLOBAL)]
    pub(crate) store: Option<PathBuf>,

    /// A registry in PostgreSQL instead of a directory (needs --features postgres), e.g.
    /// postgres://user@localhost/service.
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub(crate) postgres: Option<String>,

    /// Who the audit trail records as making the changes [default: $USER].
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub(crate) actor: Option<String>,

    /// The system a command works on (import, show, delete, suspend, resume, migrate), or the only one it
    /// covers (list, purge-expired, history).
    #[arg(long, global = true, value_name = "NAME", value_parser = system_name, help_heading = GLOBAL)]
    pub(crate) system: Option<SystemName>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run every command on a temporary registry, showing what each does.
    Demo,
    /// Add, list or remove systems; grant and revoke their permissions.
    #[command(subcommand)]
    System(SystemCommand),
    /// Import FILE... into --system as one upload: all their certificates or none.
    Import(ImportArgs),
    /// The certificates of --system, or of every system.
    List(ListArgs),
    /// One certificate of --system, in full.
    Show(ShowArgs),
    /// Delete certificates from --system.
    Delete(DeleteArgs),
    /// Suspend a certificate in --system: it stays stored, but the system does not trust it
    /// until it is resumed (suspending it again replaces the reason).
    Suspend(SuspendArgs),
    /// Lift a certificate's suspension in --system: the system trusts it again.
    Resume(ResumeArgs),
    /// Delete the expired certificates of --system, or of every system.
    PurgeExpired,
    /// The systems that trust a certificate; exit 1 when none does.
    Identify(IdentifyArgs),
    /// Expired and expiring certificates of every system; exit 0 (none), 1 (expiring) or 2
    /// (expired), as monitoring plugins do.
    Check(CheckArgs),
    /// Move the certificates of a directory made by an earlier version (files directly in
    /// DIR) into --system.
    Migrate(MigrateArgs),
    /// The audit trail, newest first.
    History(HistoryArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SystemCommand {
    /// Register a system.
    Add {
        /// The system's name (lower case letters, digits, '-', '_', '.').
        name: String,
        /// What kind of system it is.
        #[arg(long, value_parser = system_kind)]
        kind: SystemKind,
        /// A permission the system holds (e.g. proxy-api); repeat for more. Source and proxy
        /// systems only.
        #[arg(long = "permission", value_name = "PERMISSION")]
        permissions: Vec<String>,
    },
    /// Grant a permission to a system (nothing changes if it holds it already).
    Grant {
        /// The system's name.
        name: String,
        /// The permission (lower case letters, digits, '-', '_', '.'), e.g. proxy-api.
        permission: String,
    },
    /// Revoke a permission from a system (nothing changes if it does not hold it).
    Revoke {
        /// The system's name.
        name: String,
        /// The permission.
        permission: String,
    },
    /// Every system with its permissions and how many certificates it holds in each state.
    List(JsonArgs),
    /// Remove a system.
    Remove {
        /// The system's name.
        name: String,
        /// Remove it with the certificates it trusts (refused otherwise).
        #[arg(long)]
        with_certificates: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Import expired certificates too.
    #[arg(long)]
    pub(crate) allow_expired: bool,
    /// Import certificates that are not valid for client authentication too.
    #[arg(long)]
    pub(crate) allow_without_client_auth: bool,
    /// Import CA certificates too (those of a chain are skipped otherwise).
    #[arg(long)]
    pub(crate) allow_ca: bool,
    /// Import certificates whose key could never authenticate a client too (RSA under 2048
    /// bits, DSA, curves TLS does not verify).
    #[arg(long)]
    pub(crate) allow_weak: bool,
    /// Certificate files (PEM, DER, base64 or PKCS#7).
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only the certificates that expire within this many days, and those already expired.
    #[arg(long, value_name = "DAYS", value_parser = days("--expiring-within"))]
    pub(crate) expiring_within: Option<u32>,
    /// Every column in full: whole names (cert_client_…), subjects, issuers and keys (the
    /// table is otherwise fitted to 120 columns).
    #[arg(long)]
    pub(crate) wide: bool,
    /// Only the certificates in this state (a suspended one is `suspended` only, whatever its
    /// validity), or, with `damaged`, the files or rows that could not be read.
    #[arg(long, value_name = "STATUS", value_enum)]
    pub(crate) status: Option<Status>,
    /// Only the certificates whose subject, issuer or a subject alternative name holds TEXT,
    /// whatever the case, or whose name begins with it (cert_client_ may be left out).
    #[arg(long, value_name = "TEXT")]
    pub(crate) search: Option<String>,
    /// At most N certificates, the first by system and name; how many more there are is said
    /// on stderr.
    #[arg(long, value_name = "N", value_parser = limit)]
    pub(crate) limit: Option<usize>,
}

/// A certificate's state, as `list --status` selects it (and the monitor counts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Status {
    /// Valid, and not within 30 days of its end.
    Valid,
    /// Valid, and ends within 30 days.
    Expiring,
    /// Its validity has ended.
    Expired,
    /// Its validity has not begun.
    #[value(name = "not_yet_valid")]
    NotYetValid,
    /// Suspended in its system, whatever its validity.
    Suspended,
    /// A file or row that could not be read as a certificate.
    Damaged,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// A certificate name (cert_client_…), a SHA-256 fingerprint, or the first 8 or more hex
    /// digits of one.
    #[arg(value_name = "NAME|FINGERPRINT", value_parser = certificate_argument)]
    pub(crate) name: CertificateArgument,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Certificate names (cert_client_…), SHA-256 fingerprints, or the first 8 or more hex
    /// digits of them.
    #[arg(required = true, value_name = "NAME|FINGERPRINT", value_parser = certificate_argument)]
    pub(crate) names: Vec<CertificateArgument>,
}

#[derive(Debug, Args)]
pub(crate) struct SuspendArgs {
    /// A certificate name (cert_client_…), a SHA-256 fingerprint, or the first 8 or more hex
    /// digits of one.
    #[arg(value_name = "NAME|FINGERPRINT", value_parser = certificate_argument)]
    pub(crate) name: CertificateArgument,
    /// Why it is suspended: 1 to 500 characters on one line (recorded in the audit trail).
    #[arg(long, value_name = "TEXT")]
    pub(crate) reason: String,
}

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// A certificate name (cert_client_…), a SHA-256 fingerprint, or the first 8 or more hex
    /// digits of one.
    #[arg(value_name = "NAME|FINGERPRINT", value_parser = certificate_argument)]
    pub(crate) name: CertificateArgument,
}

#[derive(Debug, Args)]
pub(crate) struct IdentifyArgs {
    /// A certificate file, or a certificate name or SHA-256 fingerprint.
    #[arg(value_name = "FILE|FINGERPRINT")]
    pub(crate) what: String,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// How many days ahead an expiry is reported.
    #[arg(long, value_name = "N", default_value = "30", value_parser = days("--within-days"))]
    pub(crate) within_days: u32,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also report certificates not used for N days (never used, or last used before),
    /// from the uses the servers flushed.
    #[arg(long, value_name = "N", value_parser = days("--unused-days"))]
    pub(crate) unused_days: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The kind of the system the certificates move into.
    #[arg(long, value_parser = system_kind)]
    pub(crate) kind: SystemKind,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only records made at or after this instant: RFC 3339, or a date (midnight UTC).
    #[arg(long, value_name = "RFC3339|YYYY-MM-DD", value_parser = since)]
    pub(crate) since: Option<time::OffsetDateTime>,
    /// At most this many records (the newest).
    #[arg(long, value_name = "N", value_parser = limit)]
    pub(crate) limit: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

// The parsers' messages are printed as they are (see `main`), so each says what was expected.

fn system_name(text: &str) -> Result<SystemName, String> {
    text.parse().map_err(|error| format!("{error}"))
}

fn system_kind(text: &str) -> Result<SystemKind, String> {
    text.parse().map_err(|error| format!("{error}"))
}

/// A number of days for `flag`; bounded so that no date arithmetic can overflow.
fn days(flag: &'static str) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |text| {
        text.parse::<u32>()
            .map_err(|_| format!("{flag} needs a number of days, got {text:?}"))
    }
}

fn limit(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("--limit needs a number, got {text:?}"))
}

/// An RFC 3339 instant, or a date meaning its midnight UTC (what people type).
fn since(text: &str) -> Result<time::OffsetDateTime, String> {
    let date = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .or_else(|_| time::Date::parse(text, &date).map(|day| day.midnight().assume_utc()))
        .map_err(|_| {
            format!(
                "--since needs an RFC 3339 instant such as 2026-01-31T00:00:00Z or a date such as 2026-01-31, got {text:?}"
            )
        })
}

/// A certificate name, or a fingerprint in any common spelling.
pub(crate) fn certificate_name(text: &str) -> Result<CertificateName, String> {
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

/// A certificate as the command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertificateArgument {
    /// A whole name, or a fingerprint in any common spelling.
    Name(CertificateName),
    /// The first hex digits of a name (lower case, at least [`SHORTEST_PREFIX`] of them),
    /// resolved against the certificates of the system.
    Prefix(String),
}

/// The fewest hex digits that may stand for a certificate name.
pub(crate) const SHORTEST_PREFIX: usize = 8;

/// A certificate name or fingerprint, or the beginning of a name's hex digits
/// (`cert_client_` may be left out, in either case), or of a fingerprint written in pairs
/// between colons.
pub(crate) fn certificate_argument(text: &str) -> Result<CertificateArgument, String> {
    certificate_name(text)
        .map(CertificateArgument::Name)
        .or_else(|error| {
            let digits = text
                .get(.."cert_client_".len())
                .filter(|start| start.eq_ignore_ascii_case("cert_client_"))
                .and_then(|start| text.get(start.len()..))
                .unwrap_or(text);
            // The beginning of a fingerprint as openssl prints it: pairs between colons.
            let digits = if digits.contains(':') {
                if !digits.split(':').all(|pair| pair.len() == 2) {
                    return Err(error);
                }
                digits.replace(':', "")
            } else {
                digits.to_string()
            };
            let hex = !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_hexdigit());
            // 64 digits or more are a whole name that `certificate_name` refused: its
            // message says why.
            if !hex || digits.len() >= 2 * 32 {
                Err(error)
            } else if digits.len() < SHORTEST_PREFIX {
                Err(format!(
                    "{text:?} is too short to stand for a certificate: give at least {SHORTEST_PREFIX} hex digits of its name, or the whole name"
                ))
            } else {
                Ok(CertificateArgument::Prefix(digits.to_ascii_lowercase()))
            }
        })
}
