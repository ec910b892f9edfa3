//! Web origins (scheme, host, port), for the `Origin` check of state changes (`auth`): a
//! browser's request from another site (or from a page that rebound a name of its own to the
//! console's address) is refused.

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
