//! The console's HTML: the page frame and the pieces pages share, written with
//! [`maud::html!`], which escapes what it splices by the splice's type.
//!
//! # The rule: text reaches a page only through a type that shows it safely
//!
//! maud's own escaping of a `String` or `&str` turns the HTML specials into entities but
//! leaves every other character as it is, so a subject holding U+202E (a right-to-left
//! override) or an escape sequence would reorder or hide what the page shows. So:
//!
//! - a string that comes from a certificate, a request, the store or a message (subjects,
//!   issuers, SANs, system names, actors, audit details, file names, errors) is spliced as
//!   [`Text`]: the HTML specials as entities and every character a page would hide or obey
//!   (controls, bidirectional controls, invisible characters) as `\u{XXXX}`;
//! - a link is an [`Href`] (what [`Base::to`] makes: its prefix comes from the request),
//!   shown like a [`Text`];
//! - the library's own values ([`SystemName`], [`CertificateName`], [`Fingerprint`],
//!   [`DistinguishedName`]) and instants ([`Time`]) render through the same escaping (their
//!   `Render` impls are below), so they are spliced as they are;
//! - numbers and this crate's `&'static str` constants (a kind's or an action's name) are
//!   spliced as they are.
//!
//! A `String` or `&str` of any other origin is never spliced bare (`(value)`), markup is
//! never assembled with `format!`, and nothing is `PreEscaped` (the doctype is maud's
//! constant). The pages run no script and carry no inline style: everything they look like
//! comes from [`STYLE_SHEET`], as the Content-Security-Policy demands.

use axum::response::Html;
use maud::{html, Markup, Render, DOCTYPE};

use super::console::{Base, Href};
use super::error::AdminError;
use super::session::{Flash, SessionContext};
use crate::fingerprint::{CertificateName, Fingerprint};
use crate::summary::{is_hidden, DistinguishedName, ValidityStatus};
use crate::system::SystemName;

/// Appends `text` to `buffer` made safe for HTML content and quoted attribute values: the
/// HTML specials as entities, and every character a page would hide or obey instead of
/// showing (controls, bidirectional controls, invisible characters: the rule of
/// [`Visible`](crate::summary::Visible)) as `\u{XXXX}`. Text from a certificate arrives already shown
/// by `Visible` (or as an RFC 4514 name), so this only guards text from elsewhere (messages,
/// requests); its backslashes are left alone, since RFC 4514 names already escape with them.
fn write_visible(text: &str, buffer: &mut String) {
    use std::fmt::Write as _;
    let mut rest = text;
    while let Some((position, c)) = rest
        .char_indices()
        .find(|&(_, c)| matches!(c, '&' | '<' | '>' | '"' | '\'') || is_hidden(c))
    {
        let (plain, special) = rest.split_at(position);
        buffer.push_str(plain);
        match c {
            '&' => buffer.push_str("&amp;"),
            '<' => buffer.push_str("&lt;"),
            '>' => buffer.push_str("&gt;"),
            '"' => buffer.push_str("&quot;"),
            '\'' => buffer.push_str("&#39;"),
            // Writing to a `String` cannot fail.
            hidden => {
                let _ = write!(buffer, "\\u{{{:X}}}", u32::from(hidden));
            }
        }
        rest = special.get(c.len_utf8()..).unwrap_or_default();
    }
    buffer.push_str(rest);
}

/// Text of any origin, shown as text: see the [module docs](self).
pub(super) struct Text<T>(pub(super) T);

impl<T: AsRef<str>> Render for Text<T> {
    fn render_to(&self, buffer: &mut String) {
        write_visible(self.0.as_ref(), buffer);
    }
}

impl Render for Href {
    fn render_to(&self, buffer: &mut String) {
        write_visible(self.as_str(), buffer);
    }
}

/// Renders the library's own values through [`write_visible`] too: their `Display` is already
/// visible text, and this keeps it so whatever it becomes.
macro_rules! render_visibly {
    ($($type:ty),*) => {$(
        impl Render for $type {
            fn render_to(&self, buffer: &mut String) {
                write_visible(&self.to_string(), buffer);
            }
        }
    )*};
}
render_visibly!(SystemName, CertificateName, Fingerprint, DistinguishedName);

/// An instant as the pages show it: `2026-06-01 12:00 UTC`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Time(pub(super) time::OffsetDateTime);

impl Render for Time {
    fn render_to(&self, buffer: &mut String) {
        write_visible(&instant(self.0), buffer);
    }
}

/// An instant as the pages (and the messages they show) say it: `2026-06-01 12:00 UTC`.
pub(super) fn instant(instant: time::OffsetDateTime) -> String {
    const PAGE_TIME: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let utc = instant.to_offset(time::UtcOffset::UTC);
    utc.format(PAGE_TIME).unwrap_or_else(|_| utc.to_string())
}

/// A whole page: the header with navigation (and the logout button when logged in), the
/// message of the last change, and `body`.
pub(super) fn page(
    base: &Base,
    session: Option<&SessionContext>,
    title: &str,
    flash: Option<&Flash>,
    body: Markup,
) -> Html<String> {
    let markup = html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (Text(title)) " · Inbound certificates" }
                link rel="stylesheet" href=(base.to("/assets/console.css"));
            }
            body {
                header {
                    a class="brand" href=(base.to("/")) { "Inbound certificates" }
                    @if let Some(session) = session {
                        nav {
                            a href=(base.to("/")) { "Systems" }
                            a href=(base.to("/identify")) id="nav-identify" { "Identify" }
                            a href=(base.to("/activity")) { "Activity" }
                            form method="post" action=(base.to("/logout")) class="inline" {
                                (csrf_field(session))
                                button type="submit" id="logout" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    @if let Some(flash) = flash {
                        section class={ "flash " (if flash.ok { "ok" } else { "error" }) }
                            role="status" id="flash" {
                            strong { (Text(&flash.title)) }
                            @if !flash.lines.is_empty() {
                                ul {
                                    @for line in &flash.lines {
                                        li { (Text(line)) }
                                    }
                                }
                            }
                        }
                    }
                    (body)
                }
            }
        }
        "\n"
    };
    Html(markup.into_string())
}

/// The page of an error: its status's reason, its message, a way back.
pub(super) fn error_page(base: &Base, error: &AdminError) -> Html<String> {
    let body = html! {
        h1 { (error.status.canonical_reason().unwrap_or("Error")) }
        p id="error" { (Text(&error.message)) }
        p { a href=(base.to("/")) { "Back to the systems" } }
    };
    page(base, None, "Error", None, body)
}

/// The hidden field every state-changing form carries.
pub(super) fn csrf_field(session: &SessionContext) -> Markup {
    html! { input type="hidden" name="csrf" value=(Text(&*session.csrf)); }
}

/// A status badge: valid, expires in N days, expired, not yet valid.
pub(super) fn badge(status: &ValidityStatus) -> Markup {
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
    html! {
        span class={ "badge " (class) } title=(Text(status.to_string())) { (Text(text)) }
    }
}

/// After the status badge of a certificate whose key could never authenticate a client,
/// the badge that says so (its title says why); nothing for others.
pub(super) fn unusable_badge(
    summary: &crate::CertificateSummary,
    keys: &crate::summary::TlsKeyTypes,
) -> Markup {
    let why: Vec<String> = summary
        .weaknesses(keys)
        .iter()
        .filter(|weakness| weakness.prevents_authentication())
        .map(ToString::to_string)
        .collect();
    html! {
        @if !why.is_empty() {
            " "
            span class="badge unusable" title=(Text(why.join("; "))) { "unusable key" }
        }
    }
}

/// The badge of a damaged entry.
pub(super) fn damaged_badge() -> Markup {
    html! { span class="badge damaged" { "damaged" } }
}

/// The badge of a suspended certificate: stored, and refused at every handshake.
pub(super) fn suspended_badge() -> Markup {
    html! { span class="badge suspended" title="refused at every handshake until resumed" { "suspended" } }
}

/// A certificate's name, shortened to its first 20 characters, linked to `href` with the
/// whole name as the link's title.
pub(super) fn short_name(href: &Href, name: &CertificateName) -> Markup {
    let full = name.to_string();
    let short: String = full.chars().take(20).collect();
    html! { a href=(href) title=(Text(&full)) { code { (Text(short)) "…" } } }
}

/// The style sheet, served at `/assets/console.css` (the pages load nothing from elsewhere).
pub(super) const STYLE_SHEET: &str = include_str!("console.css");

#[cfg(test)]
mod tests {
    use maud::Render;

    use super::{Base, Text};

    fn shown(text: &str) -> String {
        Text(text).render().into_string()
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            shown("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(shown("plain é"), "plain é");
        assert_eq!(shown(""), "");
        assert_eq!(shown("CN=a\\,b"), "CN=a\\,b");
    }

    #[test]
    fn shows_control_and_bidirectional_characters_visibly() {
        assert_eq!(
            shown("a\u{1b}[2J\r\n\u{0}\u{202e}<b\u{2066}\u{200b}\u{feff}"),
            "a\\u{1B}[2J\\u{D}\\u{A}\\u{0}\\u{202E}&lt;b\\u{2066}\\u{200B}\\u{FEFF}"
        );
    }

    #[test]
    fn links_and_library_values_are_escaped_like_text() {
        // The prefix of a link comes from the request's path.
        let base = Base("/a\"><script>\u{202e}".into());
        let markup = maud::html! { a href=(base.to("/x")) { (base.to("/")) } };
        assert_eq!(
            markup.into_string(),
            "<a href=\"/a&quot;&gt;&lt;script&gt;\\u{202E}/x\">/a&quot;&gt;&lt;script&gt;\\u{202E}</a>"
        );
        let system: crate::SystemName = "crm".parse().unwrap();
        assert_eq!(maud::html! { (system) }.into_string(), "crm");
    }

    #[test]
    fn a_splice_of_text_in_a_template_is_escaped_visibly() {
        let hostile = "evil\u{202e}gpj.exe\u{1b}[2J <b>";
        let markup = maud::html! { p title=(Text(hostile)) { (Text(hostile)) } };
        assert_eq!(
            markup.into_string(),
            "<p title=\"evil\\u{202E}gpj.exe\\u{1B}[2J &lt;b&gt;\">evil\\u{202E}gpj.exe\\u{1B}[2J &lt;b&gt;</p>"
        );
    }
}
