//! [`SystemKind`]: which side of an integration a store belongs to, and the inbound rule.

use std::fmt;
use std::str::FromStr;

/// The kind of system a certificate store serves.
///
/// Inbound client certificates are kept for *source* and *proxy* systems, which call in over a
/// trusted inbound connection; a *target* system is only ever called, so it has none.
///
/// ```
/// use inbound_certs::SystemKind;
///
/// let kind: SystemKind = "proxy".parse()?;
/// assert!(kind.accepts_inbound());
/// assert!(!SystemKind::Target.accepts_inbound());
/// # Ok::<(), inbound_certs::ParseSystemKindError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum SystemKind {
    /// A system that sends data in.
    Source,
    /// A proxy that forwards calls in on behalf of others.
    Proxy,
    /// A system that is called, never calls in.
    Target,
}

impl SystemKind {
    /// Whether stores for this kind may hold inbound client certificates.
    pub const fn accepts_inbound(self) -> bool {
        matches!(self, SystemKind::Source | SystemKind::Proxy)
    }

    /// `"source"`, `"proxy"` or `"target"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SystemKind::Source => "source",
            SystemKind::Proxy => "proxy",
            SystemKind::Target => "target",
        }
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not `source`, `proxy` or `target`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown system kind {0:?}: expected 'source', 'proxy' or 'target'")]
pub struct ParseSystemKindError(String);

impl FromStr for SystemKind {
    type Err = ParseSystemKindError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "source" => Ok(SystemKind::Source),
            "proxy" => Ok(SystemKind::Proxy),
            "target" => Ok(SystemKind::Target),
            _ => Err(ParseSystemKindError(text.chars().take(40).collect())),
        }
    }
}
