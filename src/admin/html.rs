//! HTML for the pages: escaping (every string from a certificate or a request goes through
//! [`esc`]), the page frame, and the small pieces pages share.

use std::fmt;

use crate::summary::{is_hidden, ValidityStatus};

use super::auth::{Base, SessionContext};

/// Appends formatted text to a `String` (writing to a `String` cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = write!($out, $($arg)*);
    }};
}
pub(super) use w;

/// Text made safe to place in HTML content and in quoted attribute values: the HTML
/// specials as entities, and every character a page would hide or obey instead of showing
/// (controls, bidirectional controls, invisible characters: the rule of [`Visible`]) as
/// `\u{XXXX}`. Text from a certificate arrives already shown by [`Visible`] (or as an RFC 4514
/// name), so this only guards text from elsewhere (messages, requests); its backslashes are
/// left alone, since RFC 4514 names already escape with them.
///
/// [`Visible`]: crate::Visible
pub(super) struct Escaped<'a>(&'a str);

/// `text`, escaped for HTML.
pub(super) fn esc(text: &str) -> Escaped<'_> {
    Escaped(text)
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((position, c)) = rest
            .char_indices()
            .find(|&(_, c)| matches!(c, '&' | '<' | '>' | '"' | '\'') || is_hidden(c))
        {
            let (plain, special) = rest.split_at(position);
            f.write_str(plain)?;
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                hidden => write!(f, "\\u{{{:X}}}", u32::from(hidden))?,
            }
            rest = special.get(c.len_utf8()..).unwrap_or_default();
        }
        f.write_str(rest)
    }
}

/// A message shown once, on the page after a change: its outcome.
#[derive(Debug, Clone)]
pub(super) struct Flash {
    pub(super) ok: bool,
    pub(super) title: String,
    pub(super) lines: Vec<String>,
}

impl Flash {
    pub(super) fn ok(title: impl Into<String>, lines: Vec<String>) -> Self {
        Flash {
            ok: true,
            title: title.into(),
            lines,
        }
    }

    pub(super) fn error(title: impl Into<String>, lines: Vec<String>) -> Self {
        Flash {
            ok: false,
            title: title.into(),
            lines,
        }
    }
}

/// A whole page: the header with navigation (and the logout button when logged in), the
/// message of the last change, and `body`.
pub(super) fn page(
    base: &Base,
    session: Option<&SessionContext>,
    title: &str,
    flash: Option<&Flash>,
    body: &str,
) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    w!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Inbound certificates</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body><header>\
         <a class=\"brand\" href=\"{}\">Inbound certificates</a>",
        esc(title),
        esc(&base.to("/assets/console.css")),
        esc(&base.to("/")),
    );
    if let Some(session) = session {
        w!(
            out,
            "<nav><a href=\"{}\">Systems</a><a href=\"{}\" id=\"nav-identify\">Identify</a><a href=\"{}\">Activity</a>\
             <form method=\"post\" action=\"{}\" class=\"inline\">{}\
             <button type=\"submit\" id=\"logout\">Log out</button></form></nav>",
            esc(&base.to("/")),
            esc(&base.to("/identify")),
            esc(&base.to("/activity")),
            esc(&base.to("/logout")),
            csrf_field(session),
        );
    }
    out.push_str("</header><main>");
    if let Some(flash) = flash {
        w!(
            out,
            "<section class=\"flash {}\" role=\"status\" id=\"flash\"><strong>{}</strong>",
            if flash.ok { "ok" } else { "error" },
            esc(&flash.title)
        );
        if !flash.lines.is_empty() {
            out.push_str("<ul>");
            for line in &flash.lines {
                w!(out, "<li>{}</li>", esc(line));
            }
            out.push_str("</ul>");
        }
        out.push_str("</section>");
    }
    out.push_str(body);
    out.push_str("</main></body></html>\n");
    out
}

/// The hidden field every state-changing form carries.
pub(super) fn csrf_field(session: &SessionContext) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

/// A status badge: valid, expires in N days, expired, not yet valid.
pub(super) fn badge(status: &ValidityStatus) -> String {
    let (class, text) = match status {
        ValidityStatus::Valid { .. } => ("valid", "valid".to_owned()),
        ValidityStatus::ExpiringSoon { remaining } => {
            let days = remaining.whole_days();
            let text = match days {
                0 => "expires today".to_owned(),
                1 => "expires in 1 day".to_owned(),
                _ => format!("expires in {days} days"),
            };
            ("expiring", text)
        }
        ValidityStatus::Expired { .. } => ("expired", "expired".to_owned()),
        ValidityStatus::NotYetValid { .. } => ("pending", "not yet valid".to_owned()),
    };
    format!(
        "<span class=\"badge {class}\" title=\"{}\">{}</span>",
        esc(&status.to_string()),
        esc(&text)
    )
}

/// After the status badge of a certificate whose key could never authenticate a client,
/// the badge that says so (its title says why); nothing for others.
pub(super) fn unusable_badge(
    summary: &crate::CertificateSummary,
    keys: &crate::summary::TlsKeyTypes,
) -> String {
    let why: Vec<String> = summary
        .weaknesses(keys)
        .iter()
        .filter(|weakness| weakness.prevents_authentication())
        .map(ToString::to_string)
        .collect();
    if why.is_empty() {
        return String::new();
    }
    format!(
        " <span class=\"badge unusable\" title=\"{}\">unusable key</span>",
        esc(&why.join("; "))
    )
}

/// The badge of a damaged entry.
pub(super) const DAMAGED_BADGE: &str = "<span class=\"badge damaged\">damaged</span>";

/// An instant as the pages show it: `2026-06-01 12:00 UTC`.
pub(super) fn instant(instant: time::OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute()
    )
}

/// The style sheet, served at `/assets/console.css` (the pages load nothing from elsewhere).
pub(super) const STYLE_SHEET: &str = include_str!("console.css");

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            esc("<script>alert('x') & \"y\"</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("plain é").to_string(), "plain é");
        assert_eq!(esc("").to_string(), "");
        assert_eq!(esc("CN=a\\,b").to_string(), "CN=a\\,b");
    }

    #[test]
    fn shows_control_and_bidirectional_characters_visibly() {
        assert_eq!(
            esc("a\u{1b}[2J\r\n\u{0}\u{202e}<b\u{2066}\u{200b}\u{feff}").to_string(),
            "a\\u{1B}[2J\\u{D}\\u{A}\\u{0}\\u{202E}&lt;b\\u{2066}\\u{200B}\\u{FEFF}"
        );
    }
}
