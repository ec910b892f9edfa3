//! TLS to the database: `sslmode` and `sslrootcert` as libpq reads them, over rustls with the
//! crypto provider the service passes in.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode as ClientSslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why the TLS settings of a connection string cannot be used; the source of a
/// [`StoreError::Database`](crate::StoreError::Database) whose operation is
/// "configure TLS to the database".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresTlsError {
    /// The connection string asks for TLS (`sslmode=require`, `verify-ca` or `verify-full`, or
    /// names an `sslrootcert`), but no crypto provider was given with
    /// [`PostgresOptions::tls`](super::PostgresOptions::tls).
    #[error("sslmode={mode} needs TLS, but no crypto provider was given (PostgresOptions::tls)")]
    NoCryptoProvider {
        /// The `sslmode` asked for (`prefer` when only `sslrootcert` was given).
        mode: &'static str,
    },
    /// `sslmode=verify-ca` or `verify-full` without `sslrootcert`: there is nothing to verify
    /// the server's certificate against (libpq's default `~/.postgresql/root.crt` is not read).
    #[error(
        "sslmode={mode} needs sslrootcert=FILE naming the CA certificates to trust, found none"
    )]
    NoRootCertificate {
        /// `verify-ca` or `verify-full`.
        mode: &'static str,
    },
    /// An `sslmode` that is not `disable`, `prefer`, `require`, `verify-ca` or `verify-full`
    /// (libpq's `allow` is not supported).
    #[error("expected sslmode disable, prefer, require, verify-ca or verify-full, found {0:?}")]
    UnsupportedMode(String),
    /// `sslrootcert=system` (libpq 16's "the system's CAs") is not supported: name a file.
    #[error("sslrootcert=system is not supported: name a file of CA certificates")]
    SystemRoots,
    /// The `sslrootcert` file could not be read or holds no usable CA certificate.
    #[error("cannot use sslrootcert {path:?}: {problem}")]
    RootCertificate {
        /// The file named by `sslrootcert`.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the TLS configuration (e.g. the provider supports no TLS version).
    #[error("rustls refused the configuration")]
    Rustls(#[source] rustls::Error),
}

/// `sslmode`, as libpq names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// The TLS parameters taken out of a connection string, and the rest of it.
#[derive(Debug)]
pub(super) struct Settings {
    pub(super) rest: String,
    mode: Option<Mode>,
    root_certificate: Option<String>,
}

/// How connections are made: in clear, or with rustls.
#[derive(Clone)]
pub(super) enum Connector {
    Plain,
    /// tokio-postgres-rustls' hook: it gives SCRAM the server certificate's hash
    /// (tls-server-end-point), so a password cannot be relayed through another server.
    Tls(MakeRustlsConnect),
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connector::Plain => f.write_str("Plain"),
            Connector::Tls(_) => f.write_str("Tls"),
        }
    }
}

impl Connector {
    pub(super) fn connect(
        &self,
        config: &postgres::Config,
    ) -> Result<postgres::Client, postgres::Error> {
        match self {
            Connector::Plain => config.connect(postgres::NoTls),
            Connector::Tls(tls) => config.connect(tls.clone()),
        }
    }
}

/// Takes `sslmode` and `sslrootcert` out of a connection string (URL or `key=value` form), so
/// that the `postgres` crate, which knows neither `verify-*` nor `sslrootcert`, parses the rest.
/// A string this cannot read is passed on whole, for the `postgres` crate to report.
pub(super) fn split(connection: &str) -> Result<Settings, PostgresTlsError> {
    let is_url = connection.starts_with("postgres://") || connection.starts_with("postgresql://");
    let (rest, pairs) = match (is_url, connection.find('?')) {
        (true, Some(query_at)) => split_url(connection, query_at),
        (true, None) => (connection.to_string(), Vec::new()),
        (false, _) => {
            split_key_values(connection).unwrap_or_else(|| (connection.to_string(), Vec::new()))
        }
    };
    let mut settings = Settings {
        rest,
        mode: None,
        root_certificate: None,
    };
    for (key, value) in pairs {
        if key == "sslmode" {
            settings.mode = Some(match value.as_str() {
                "disable" => Mode::Disable,
                "prefer" => Mode::Prefer,
                "require" => Mode::Require,
                "verify-ca" => Mode::VerifyCa,
                "verify-full" => Mode::VerifyFull,
                _ => return Err(PostgresTlsError::UnsupportedMode(value)),
            });
        } else {
            settings.root_certificate = Some(value);
        }
    }
    Ok(settings)
}

fn is_tls_key(key: &str) -> bool {
    key == "sslmode" || key == "sslrootcert"
}

fn split_url(url: &str, query_at: usize) -> (String, Vec<(String, String)>) {
    let (base, query) = url.split_at(query_at);
    let query = query.trim_start_matches('?');
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        if is_tls_key(&key) {
            taken.push((key, percent_decode(value)));
        } else {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, taken)
}

/// A URL query's key or value with its `%XX` escapes decoded (bytes that are not UTF-8 as
/// U+FFFD); a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// libpq's `key = value` syntax: values unquoted or in single quotes, `\` escapes a character.
/// `None` when the string does not follow it.
fn split_key_values(text: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut chars = text.char_indices().peekable();
    let mut rest = String::with_capacity(text.len());
    let mut taken = Vec::new();
    let mut copied_to = 0;
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '=')?;
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next()? {
                    (_, '\'') => break,
                    (_, '\\') => value.push(chars.next()?.1),
                    (_, c) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next()?.1);
                } else {
                    value.push(c);
                }
            }
        }
        let end = chars.peek().map_or(text.len(), |(at, _)| *at);
        if is_tls_key(&key) {
            rest.push_str(text.get(copied_to..start)?);
            copied_to = end;
            taken.push((key, value));
        }
    }
    rest.push_str(text.get(copied_to..)?);
    Some((rest, taken))
}

impl Settings {
    /// How to connect, and the `sslmode` the `postgres` crate is to apply.
    pub(super) fn connector(
        &self,
        provider: Option<&Arc<CryptoProvider>>,
    ) -> Result<(Connector, ClientSslMode), PostgresTlsError> {
        let mode = self.mode.unwrap_or(Mode::Prefer);
        let root_certificate = match self.root_certificate.as_deref() {
            Some("system") => return Err(PostgresTlsError::SystemRoots),
            other => other.map(Path::new),
        };
        let Some(provider) = provider else {
            return match (mode, root_certificate) {
                (Mode::Disable, _) | (Mode::Prefer, None) => {
                    Ok((Connector::Plain, client_mode(mode)))
                }
                _ => Err(PostgresTlsError::NoCryptoProvider { mode: mode.name() }),
            };
        };
        if mode == Mode::Disable {
            return Ok((Connector::Plain, ClientSslMode::Disable));
        }
        let verifier = match (mode, root_certificate) {
            (Mode::VerifyCa | Mode::VerifyFull, None) => {
                return Err(PostgresTlsError::NoRootCertificate { mode: mode.name() })
            }
            // As libpq: with a root certificate, `prefer` and `require` verify the chain.
            (_, Some(path)) => {
                ServerVerifier::checking(path, mode == Mode::VerifyFull, provider.clone())?
            }
            (_, None) => ServerVerifier::trusting_any(provider),
        };
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(PostgresTlsError::Rustls)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // A connection without a host name (a Unix socket) never reaches TLS: the `postgres`
        // crate refuses it ("no hostname provided for TLS handshake").
        Ok((
            Connector::Tls(MakeRustlsConnect::new(config)),
            client_mode(mode),
        ))
    }
}

fn client_mode(mode: Mode) -> ClientSslMode {
    match mode {
        Mode::Disable => ClientSslMode::Disable,
        Mode::Prefer => ClientSslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => ClientSslMode::Require,
    }
}

/// Checks the server's certificate as `sslmode` says.
#[derive(Debug)]
struct ServerVerifier {
    /// The chain check against `sslrootcert`; `None` trusts any certificate (`require`
    /// without a root certificate, as libpq).
    chain: Option<Arc<WebPkiServerVerifier>>,
    host_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerVerifier {
    fn trusting_any(provider: &CryptoProvider) -> Self {
        ServerVerifier {
            chain: None,
            host_name: false,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn checking(
        path: &Path,
        host_name: bool,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, PostgresTlsError> {
        let problem = |problem: String| PostgresTlsError::RootCertificate {
            path: path.to_path_buf(),
            problem,
        };
        let mut roots = RootCertStore::empty();
        for certificate in
            CertificateDer::pem_file_iter(path).map_err(|error| problem(error.to_string()))?
        {
            let certificate = certificate.map_err(|error| problem(error.to_string()))?;
            roots
                .add(certificate)
                .map_err(|error| problem(error.to_string()))?;
        }
        if roots.is_empty() {
            return Err(problem(
                "expected PEM CA certificates, found none".to_string(),
            ));
        }
        let algorithms = provider.signature_verification_algorithms;
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|error| problem(error.to_string()))?;
        Ok(ServerVerifier {
            chain: Some(chain),
            host_name,
            algorithms,
        })
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // webpki checks the name only after the chain, so this error means the chain is
            // good: `verify-ca` asks no more.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.host_name => Ok(ServerCertVerified::assertion()),
            outcome => outcome,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, certificate, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, certificate, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_urls() {
        let settings =
            split("postgres://app@db/service?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem")
                .unwrap();
        assert_eq!(
            settings.rest,
            "postgres://app@db/service?application_name=x"
        );
        assert_eq!(settings.mode, Some(Mode::VerifyFull));
        assert_eq!(settings.root_certificate.as_deref(), Some("/etc/ca.pem"));
        let settings = split("postgresql://db/service?sslmode=require").unwrap();
        assert_eq!(settings.rest, "postgresql://db/service");
        assert_eq!(settings.mode, Some(Mode::Require));
        let settings = split("postgres://app:pass=word@db/service").unwrap();
        assert_eq!(settings.rest, "postgres://app:pass=word@db/service");
        assert_eq!(settings.mode, None);
    }

    #[test]
    fn percent_escapes_are_decoded_and_stray_percents_kept() {
        assert_eq!(percent_decode("%2Fetc%2fca.pem"), "/etc/ca.pem");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
        let settings =
            split("postgres://db/x?ssl%6Dode=require&sslrootcert=%2Fa%20dir%2Fca.pem").unwrap();
        assert_eq!(settings.rest, "postgres://db/x");
        assert_eq!(settings.mode, Some(Mode::Require));
        assert_eq!(settings.root_certificate.as_deref(), Some("/a dir/ca.pem"));
    }

    #[test]
    fn tls_parameters_are_taken_out_of_key_values() {
        let settings =
            split("host=db sslmode = verify-ca user=app sslrootcert='/a dir/ca\\'s.pem' dbname=x")
                .unwrap();
        assert_eq!(settings.rest, "host=db  user=app  dbname=x");
        assert_eq!(settings.mode, Some(Mode::VerifyCa));
        assert_eq!(
            settings.root_certificate.as_deref(),
            Some("/a dir/ca's.pem")
        );
        let settings = split("host=db user=app").unwrap();
        assert_eq!(settings.rest, "host=db user=app");
        assert_eq!(settings.mode, None);
    }

    #[test]
    fn unsupported_modes_and_missing_settings_are_named() {
        assert_eq!(
            split("host=db sslmode=allow").unwrap_err().to_string(),
            "expected sslmode disable, prefer, require, verify-ca or verify-full, found \"allow\""
        );
        let error = split("host=db sslmode=verify-full")
            .unwrap()
            .connector(None)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "sslmode=verify-full needs TLS, but no crypto provider was given (PostgresOptions::tls)"
        );
        assert!(matches!(
            split("host=db").unwrap().connector(None),
            Ok((Connector::Plain, ClientSslMode::Prefer))
        ));
    }
}
