//! [`Suspension`]: a certificate kept in a system's store that the system does not trust for
//! now, and why.

use time::OffsetDateTime;

/// The longest actor a suspension keeps, in bytes (as the audit trail keeps one).
const MAX_BY_BYTES: usize = 4096;

/// The longest reason a suspension may give, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Why, since when and by whom a certificate is suspended in a system: it stays stored, but
/// the system does not trust it until it is resumed (see
/// [`SystemStore::suspend`](crate::SystemStore::suspend)).
///
/// ```
/// use inbound_certs::store::Suspension;
/// use time::macros::datetime;
///
/// let suspension = Suspension::new("key may have leaked", datetime!(2026-06-01 0:00 UTC), "alice")?;
/// assert_eq!(suspension.reason(), "key may have leaked");
/// assert!(Suspension::new("  ", datetime!(2026-06-01 0:00 UTC), "alice").is_err());
/// # Ok::<(), inbound_certs::store::SuspensionReasonError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Suspension {
    reason: String,
    since: OffsetDateTime,
    by: String,
}

impl Suspension {
    /// A suspension for `reason` (checked by [`check_reason`], kept without the white space
    /// around it), made at `since` by `by` (kept to 4096 bytes, as the audit trail keeps an
    /// actor).
    pub fn new(
        reason: &str,
        since: OffsetDateTime,
        by: impl Into<String>,
    ) -> Result<Self, SuspensionReasonError> {
        let mut by = by.into();
        // As the audit trail keeps an actor: at most 4096 bytes, cut at a character.
        if by.len() > MAX_BY_BYTES {
            let mut end = MAX_BY_BYTES - '…'.len_utf8();
            while !by.is_char_boundary(end) {
                end -= 1;
            }
            by.truncate(end);
            by.push('…');
        }
        Ok(Suspension {
            reason: check_reason(reason)?.to_string(),
            since,
            by,
        })
    }

    /// A suspension as a backend read it back (the reason was checked when it was made).
    pub(crate) fn stored(reason: String, since: OffsetDateTime, by: String) -> Self {
        Suspension { reason, since, by }
    }

    /// Why the certificate is suspended, as the administrator wrote it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// When it was suspended, by the registry's clock.
    pub fn since(&self) -> OffsetDateTime {
        self.since
    }

    /// Who suspended it (the registry handle's actor).
    pub fn by(&self) -> &str {
        &self.by
    }
}

/// Why a suspension's reason is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuspensionReasonError {
    /// The reason is empty, or only white space.
    #[error("a suspension needs a reason: say in a few words why the certificate is suspended")]
    Empty,
    /// The reason is longer than [`MAX_REASON_CHARS`].
    #[error("the reason is {chars} characters long; keep it to {MAX_REASON_CHARS}")]
    TooLong {
        /// How many characters it has (without the white space around it).
        chars: usize,
    },
    /// The reason holds a control character (a line break, a tab, an escape, …).
    #[error("the reason holds a control character (a line break, a tab or similar) at character {position}; write it as one line of text")]
    ControlCharacter {
        /// Where, counting characters from 1 (after the white space around it is taken off).
        position: usize,
    },
}

/// The reason as a suspension keeps it (without the white space around it), if it is
/// acceptable: 1 to [`MAX_REASON_CHARS`] characters, none of them a control character.
pub fn check_reason(reason: &str) -> Result<&str, SuspensionReasonError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(SuspensionReasonError::Empty);
    }
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(SuspensionReasonError::TooLong { chars });
    }
    if let Some(position) = reason.chars().position(char::is_control) {
        return Err(SuspensionReasonError::ControlCharacter {
            position: position + 1,
        });
    }
    Ok(reason)
}

/// The JSON of a suspension in every output (the console's API, `certstore --json`):
/// `{"reason": …, "since": RFC 3339, "by": …}`.
impl serde::Serialize for Suspension {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut object = serializer.serialize_struct("Suspension", 3)?;
        object.serialize_field("reason", &self.reason)?;
        object.serialize_field("since", &crate::clock::rfc3339(self.since))?;
        object.serialize_field("by", &self.by)?;
        object.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_bounded_and_one_line() {
        assert_eq!(check_reason("  leaked key "), Ok("leaked key"));
        assert_eq!(check_reason(" \t "), Err(SuspensionReasonError::Empty));
        assert_eq!(
            check_reason(&"x".repeat(501)),
            Err(SuspensionReasonError::TooLong { chars: 501 })
        );
        assert!(check_reason(&"é".repeat(500)).is_ok());
        assert_eq!(
            check_reason("a\nb"),
            Err(SuspensionReasonError::ControlCharacter { position: 2 })
        );
        assert_eq!(
            check_reason("a\u{1b}[31m").unwrap_err().to_string(),
            "the reason holds a control character (a line break, a tab or similar) at character 2; write it as one line of text"
        );
    }
}
