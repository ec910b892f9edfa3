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
/// # Ok::<(), inbound_certs::names::ParseSystemKindError>(())
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

/// The name an administrator gives a system: 1 to 64 characters of `a-z`, `0-9`, `-`, `_`
/// and `.`, not starting with `.`. Lower case only, so that two names never differ by case
/// alone; never a path (no `/`, `\`, NUL or `..` can appear in one).
///
/// ```
/// use inbound_certs::SystemName;
///
/// let name: SystemName = "crm-eu.prod".parse()?;
/// assert_eq!(name.as_str(), "crm-eu.prod");
/// let error = "CRM".parse::<SystemName>().unwrap_err();
/// assert_eq!(error.to_string(), "invalid system name \"CRM\": system names are lower case (\"crm\")");
/// assert!("../etc".parse::<SystemName>().is_err());
/// # Ok::<(), inbound_certs::names::ParseSystemNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemName(std::sync::Arc<str>);

impl SystemName {
    /// The longest name, in characters.
    pub const MAX_LENGTH: usize = 64;

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SystemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for SystemName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a text is not a [`SystemName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid system name {quoted}: {problem}", quoted = quote(.text))]
pub struct ParseSystemNameError {
    text: String,
    problem: NameProblem,
}

impl ParseSystemNameError {
    /// What is wrong with the name.
    pub fn problem(&self) -> &NameProblem {
        &self.problem
    }
}

/// What is wrong with a system name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    #[error("a system name cannot be empty")]
    Empty,
    /// The name is longer than [`SystemName::MAX_LENGTH`] characters.
    #[error("{length} characters, more than the 64 a system name may have")]
    TooLong {
        /// The name's length in characters.
        length: usize,
    },
    /// The name starts with `.` (names starting with `.` are kept for the store's own files).
    #[error("a system name cannot start with '.'")]
    LeadingDot,
    /// The name has upper-case letters; the lower-case spelling is suggested.
    #[error("system names are lower case ({suggestion:?})")]
    UpperCase {
        /// The name in lower case.
        suggestion: String,
    },
    /// A character other than `a-z 0-9 - _ .`.
    #[error(
        "{character:?} at position {position} is not allowed: use only a-z, 0-9, '-', '_' and '.'"
    )]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its position, counted in characters from 1.
        position: usize,
    },
}

/// The text as a quoted string, shortened and with control characters escaped, for messages.
fn quote(text: &str) -> String {
    let shortened: String = text.chars().take(80).collect();
    format!("{shortened:?}")
}

impl FromStr for SystemName {
    type Err = ParseSystemNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = |problem| ParseSystemNameError {
            text: text.chars().take(80).collect(),
            problem,
        };
        if text.is_empty() {
            return Err(refuse(NameProblem::Empty));
        }
        let length = text.chars().count();
        if length > Self::MAX_LENGTH {
            return Err(refuse(NameProblem::TooLong { length }));
        }
        if text.starts_with('.') {
            return Err(refuse(NameProblem::LeadingDot));
        }
        if text.chars().any(|c| c.is_ascii_uppercase())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(refuse(NameProblem::UpperCase {
                suggestion: text.to_ascii_lowercase(),
            }));
        }
        if let Some((index, character)) = text.chars().enumerate().find(|(_, c)| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        }) {
            return Err(refuse(NameProblem::InvalidCharacter {
                character,
                position: index + 1,
            }));
        }
        Ok(SystemName(text.into()))
    }
}

/// A system registered with a [`Registry`](crate::Registry): its name, its kind, and when it
/// was registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    name: SystemName,
    kind: SystemKind,
    created: time::OffsetDateTime,
}

impl System {
    pub(crate) fn new(name: SystemName, kind: SystemKind, created: time::OffsetDateTime) -> Self {
        System {
            name,
            kind,
            created,
        }
    }

    /// The system's name.
    pub fn name(&self) -> &SystemName {
        &self.name
    }

    /// The system's kind: only source and proxy systems hold inbound certificates.
    pub fn kind(&self) -> SystemKind {
        self.kind
    }

    /// When the system was registered (the instant its creator passed).
    pub fn created(&self) -> time::OffsetDateTime {
        self.created
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_system_names_are_refused_with_their_reason() {
        let problem = |text: &str| text.parse::<SystemName>().unwrap_err().problem().clone();
        assert_eq!(problem(""), NameProblem::Empty);
        assert_eq!(problem(".."), NameProblem::LeadingDot);
        assert_eq!(problem(".hidden"), NameProblem::LeadingDot);
        assert_eq!(problem("../x"), NameProblem::LeadingDot);
        assert_eq!(
            problem(&"a".repeat(65)),
            NameProblem::TooLong { length: 65 }
        );
        assert!("a".repeat(64).parse::<SystemName>().is_ok());
        for (text, character, position) in [
            ("a/b", '/', 2),
            ("x/../y", '/', 2),
            ("a\\b", '\\', 2),
            ("a\0b", '\0', 2),
            ("crm ", ' ', 4),
            ("сrm", 'с', 1), // Cyrillic es
            ("crm\u{200b}", '\u{200b}', 4),
            ("ＣＲＭ", 'Ｃ', 1),
        ] {
            assert_eq!(
                problem(text),
                NameProblem::InvalidCharacter {
                    character,
                    position
                },
                "{text:?}"
            );
        }
        assert_eq!(
            problem("Crm"),
            NameProblem::UpperCase {
                suggestion: "crm".into()
            }
        );
        assert_eq!(
            "a\0b".parse::<SystemName>().unwrap_err().to_string(),
            "invalid system name \"a\\0b\": '\\0' at position 2 is not allowed: use only a-z, 0-9, '-', '_' and '.'"
        );
        assert_eq!("a.b-c_9".parse::<SystemName>().unwrap().as_str(), "a.b-c_9");
    }
}
