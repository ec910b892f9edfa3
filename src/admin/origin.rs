//! The `Origin` check of state changes: a browser's request from another site (or from a
//! page that rebound a name of its own to the console's address) is refused.

use axum::http::header::{self, HeaderMap};

use super::Console;

impl Console {
    /// Whether the request's `Origin` is not the console's: its scheme, host and port are
    /// compared with [`AdminConfig::public_origin`](super::AdminConfig::public_origin) when
    /// configured, else with the scheme the console is served over and the `Host` it was
    /// sent to. A request without `Origin` (not from a browser) is not foreign.
    pub(super) fn is_foreign(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return false;
        };
        let Some(origin) = origin.to_str().ok().and_then(Origin::parse) else {
            return true;
        };
        let expected = match &self.config().public_origin {
            Some(configured) => Some(configured.clone()),
            None => {
                let scheme = if self.config().over_https {
                    "https"
                } else {
                    "http"
                };
                headers
                    .get(header::HOST)
                    .and_then(|host| host.to_str().ok())
                    .and_then(|host| Origin::parse(&format!("{scheme}://{host}")))
            }
        };
        expected.is_none_or(|expected| expected != origin)
    }
}

/// A web origin: scheme, host and port (the scheme's default when not written), in lower
/// case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `http://host[:port]` or `https://host[:port]` (a trailing `/` allowed); anything else,
    /// `null` included, is not an origin.
    pub(super) fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return None;
        }
        // An IPv6 literal keeps its colons inside brackets.
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()?),
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}
