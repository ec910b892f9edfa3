//! [`SystemKind`]: which side of an integration a store belongs to, and the inbound rule;
//! [`SystemName`] and [`Permission`], the two names an administrator gives (checked by one
//! rule); [`System`], a registered system with its permissions.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

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

/// What is wrong with a system name or a [`Permission`] (both follow one rule). Its
/// `Display` speaks of a system name; a [`ParsePermissionError`] words it for a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The name is longer than 64 characters ([`SystemName::MAX_LENGTH`],
    /// [`Permission::MAX_LENGTH`]).
    TooLong {
        /// The name's length in characters.
        length: usize,
    },
    /// The name starts with `.` (names starting with `.` are kept for the store's own files).
    LeadingDot,
    /// The name has upper-case letters; the lower-case spelling is suggested.
    UpperCase {
        /// The name in lower case.
        suggestion: String,
    },
    /// A character other than `a-z 0-9 - _ .`.
    InvalidCharacter {
        /// The character.
        character: char,
        /// Its position, counted in characters from 1.
        position: usize,
    },
}

impl NameProblem {
    /// Says what is wrong, of a name of `what` (`"system name"`, `"permission"`).
    fn explain(&self, what: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => write!(f, "a {what} cannot be empty"),
            NameProblem::TooLong { length } => {
                write!(f, "{length} characters, more than the 64 a {what} may have")
            }
            NameProblem::LeadingDot => write!(f, "a {what} cannot start with '.'"),
            NameProblem::UpperCase { suggestion } => {
                write!(f, "{what}s are lower case ({suggestion:?})")
            }
            NameProblem::InvalidCharacter {
                character,
                position,
            } => write!(
                f,
                "{character:?} at position {position} is not allowed: use only a-z, 0-9, '-', '_' and '.'"
            ),
        }
    }

    /// The problem of a text as a name (a system name or a permission), if it is not one.
    fn of(text: &str) -> Option<NameProblem> {
        if text.is_empty() {
            return Some(NameProblem::Empty);
        }
        let length = text.chars().count();
        if length > SystemName::MAX_LENGTH {
            return Some(NameProblem::TooLong { length });
        }
        if text.starts_with('.') {
            return Some(NameProblem::LeadingDot);
        }
        if text.chars().any(|c| c.is_ascii_uppercase())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Some(NameProblem::UpperCase {
                suggestion: text.to_ascii_lowercase(),
            });
        }
        text.chars()
            .enumerate()
            .find(|(_, c)| {
                !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
            })
            .map(|(index, character)| NameProblem::InvalidCharacter {
                character,
                position: index + 1,
            })
    }
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.explain("system name", f)
    }
}

impl std::error::Error for NameProblem {}

/// The text as a quoted string, shortened and with control characters escaped, for messages.
fn quote(text: &str) -> String {
    let shortened: String = text.chars().take(80).collect();
    format!("{shortened:?}")
}

impl FromStr for SystemName {
    type Err = ParseSystemNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match NameProblem::of(text) {
            Some(problem) => Err(ParseSystemNameError {
                text: text.chars().take(80).collect(),
                problem,
            }),
            None => Ok(SystemName(text.into())),
        }
    }
}

/// A permission a system holds: a name the service chooses for what a caller may do (e.g.
/// `proxy-api`, `realtime-api`), checked by the rule of [`SystemName`]s: 1 to 64 characters of
/// `a-z`, `0-9`, `-`, `_` and `.`, not starting with `.`, lower case only. Cheap to clone.
///
/// ```
/// use inbound_certs::registry::Permission;
///
/// let permission: Permission = "proxy-api".parse()?;
/// assert_eq!(permission.as_str(), "proxy-api");
/// let error = "Realtime-API".parse::<Permission>().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "invalid permission \"Realtime-API\": permissions are lower case (\"realtime-api\")"
/// );
/// assert!("../admin".parse::<Permission>().is_err());
/// # Ok::<(), inbound_certs::names::ParsePermissionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission(Arc<str>);

impl Permission {
    /// The longest permission, in characters.
    pub const MAX_LENGTH: usize = SystemName::MAX_LENGTH;

    /// The permission as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Permission {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a text is not a [`Permission`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsePermissionError {
    text: String,
    problem: NameProblem,
}

impl ParsePermissionError {
    /// What is wrong with the permission.
    pub fn problem(&self) -> &NameProblem {
        &self.problem
    }
}

impl fmt::Display for ParsePermissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid permission {}: ", quote(&self.text))?;
        self.problem.explain("permission", f)
    }
}

impl std::error::Error for ParsePermissionError {}

impl FromStr for Permission {
    type Err = ParsePermissionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match NameProblem::of(text) {
            Some(problem) => Err(ParsePermissionError {
                text: text.chars().take(80).collect(),
                problem,
            }),
            None => Ok(Permission(text.into())),
        }
    }
}

serialize_as_text!(Permission);
deserialize_from_text!(Permission);

/// The permissions as text for a message or a record: `a, b`, or `none`.
pub(crate) fn permissions_text(permissions: &BTreeSet<Permission>) -> String {
    if permissions.is_empty() {
        return "none".to_string();
    }
    permissions
        .iter()
        .map(Permission::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A system registered with a [`Registry`](crate::Registry): its name, its kind, when it
/// was registered, and the [`Permission`]s it holds (a target system holds none). Cheap to
/// clone: the permissions are shared.
///
/// ```
/// use inbound_certs::{Registry, SystemKind};
/// use inbound_certs::registry::Permission;
/// use time::macros::datetime;
///
/// let registry = Registry::in_memory();
/// let proxy_api: Permission = "proxy-api".parse()?;
/// let gateway = registry.create_system_with(
///     &"gateway".parse()?,
///     SystemKind::Proxy,
///     [proxy_api.clone()],
///     datetime!(2026-06-01 0:00 UTC),
/// )?;
/// assert!(gateway.has_permission(&proxy_api));
/// assert!(!gateway.has_permission(&"realtime-api".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    name: SystemName,
    kind: SystemKind,
    created: time::OffsetDateTime,
    permissions: Arc<BTreeSet<Permission>>,
}

impl System {
    /// A system that holds no permissions.
    pub(crate) fn new(name: SystemName, kind: SystemKind, created: time::OffsetDateTime) -> Self {
        System {
            name,
            kind,
            created,
            permissions: Arc::default(),
        }
    }

    /// The same system holding these permissions instead.
    pub(crate) fn with_permissions(mut self, permissions: BTreeSet<Permission>) -> Self {
        self.permissions = Arc::new(permissions);
        self
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

    /// The permissions the system holds, sorted (none for a target system).
    pub fn permissions(&self) -> &BTreeSet<Permission> {
        &self.permissions
    }

    /// Whether the system holds this permission (one lookup in a sorted set).
    pub fn has_permission(&self, permission: &Permission) -> bool {
        self.permissions.contains(permission)
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.kind)
    }
}

/// The names of `systems`, joined by `, `, for messages.
pub(crate) fn join_names(systems: &[SystemName]) -> String {
    systems
        .iter()
        .map(SystemName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
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

    #[test]
    fn hostile_permissions_are_refused_in_a_permission_s_words() {
        let refused = |text: &str| text.parse::<Permission>().unwrap_err();
        for (text, message) in [
            ("", "invalid permission \"\": a permission cannot be empty"),
            ("..", "invalid permission \"..\": a permission cannot start with '.'"),
            (
                "../admin",
                "invalid permission \"../admin\": a permission cannot start with '.'",
            ),
            (
                "Proxy-API",
                "invalid permission \"Proxy-API\": permissions are lower case (\"proxy-api\")",
            ),
            (
                "proxy\napi",
                "invalid permission \"proxy\\napi\": '\\n' at position 6 is not allowed: use only a-z, 0-9, '-', '_' and '.'",
            ),
            (
                "a b",
                "invalid permission \"a b\": ' ' at position 2 is not allowed: use only a-z, 0-9, '-', '_' and '.'",
            ),
        ] {
            assert_eq!(refused(text).to_string(), message, "{text:?}");
        }
        assert_eq!(
            refused(&"p".repeat(65)).problem(),
            &NameProblem::TooLong { length: 65 }
        );
        assert_eq!(
            refused("api\u{202e}").problem(),
            &NameProblem::InvalidCharacter {
                character: '\u{202e}',
                position: 4
            }
        );
        assert_eq!(
            "p".repeat(64).parse::<Permission>().unwrap().as_str().len(),
            64
        );
        let proxy_api: Permission = "proxy-api".parse().unwrap();
        assert_eq!(proxy_api.to_string(), "proxy-api");
        assert!(proxy_api < "realtime-api".parse().unwrap());
    }

    proptest::proptest! {
        /// Permissions and system names follow one rule (one piece of code): any text is
        /// both or neither, the problem is the same, and nothing panics.
        #[test]
        fn permissions_and_system_names_follow_one_rule(
            text in "(\\PC|[\\x00-\\x1f./A-Z]){0,70}"
        ) {
            let permission = text.parse::<Permission>();
            let system = text.parse::<SystemName>();
            proptest::prop_assert_eq!(
                permission.as_ref().err().map(ParsePermissionError::problem),
                system.as_ref().err().map(ParseSystemNameError::problem)
            );
            if let Ok(permission) = permission {
                proptest::prop_assert_eq!(permission.as_str(), text.as_str());
            }
        }
    }

    #[test]
    fn a_system_says_which_permissions_it_holds() {
        let system = System::new(
            "gateway".parse().unwrap(),
            SystemKind::Proxy,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let proxy_api: Permission = "proxy-api".parse().unwrap();
        assert!(system.permissions().is_empty());
        assert!(!system.has_permission(&proxy_api));
        let granted = system.with_permissions(BTreeSet::from([proxy_api.clone()]));
        assert!(granted.has_permission(&proxy_api));
        assert_eq!(permissions_text(granted.permissions()), "proxy-api");
        assert_eq!(permissions_text(&BTreeSet::new()), "none");
    }
}
