//! Text from a certificate made safe to show on a terminal or a page: the one rule that
//! decides which characters are shown escaped, and [`Visible`], the form every string that
//! is not a distinguished name is shown in (distinguished names escape the same characters
//! in their RFC 4514 form).

use std::fmt;

/// Text from a certificate (a subject alternative name, an attribute value) as it may be
/// shown on a terminal or a page: every character that could act instead of being seen is
/// written as `\u{XXXX}` (its code point in upper-case hex), and a backslash as `\\`, so the
/// shown text cannot be forged and maps back to exactly one string.
///
/// The characters escaped are the controls (C0, DEL, C1: a terminal obeys ESC sequences, CR
/// and LF forge lines), the bidirectional controls (U+061C, U+200E–U+200F, U+202A–U+202E,
/// U+2066–U+2069: they reorder what follows), the line and paragraph separators (U+2028,
/// U+2029), and the invisible characters (zero-width spaces and joiners, U+FEFF, the soft
/// hyphen, fillers, variation selectors, tags: they make different text look the same).
/// Everything else, including letters of any script, is shown as it is.
///
/// Output that escapes on its own, such as JSON, should hold the text itself instead.
///
/// ```
/// use inbound_certs::summary::Visible;
///
/// let forged = "a.example\u{1b}]0;owned\u{7}\r\nOK \u{202e}moc.elgoog\\";
/// assert_eq!(
///     Visible::new(forged).to_string(),
///     "a.example\\u{1B}]0;owned\\u{7}\\u{D}\\u{A}OK \\u{202E}moc.elgoog\\\\"
/// );
/// assert_eq!(Visible::new("grüße.example").to_string(), "grüße.example");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visible<'a>(&'a str);

impl<'a> Visible<'a> {
    /// `text`, to be shown escaped.
    pub const fn new(text: &'a str) -> Self {
        Visible(text)
    }
}

impl fmt::Display for Visible<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((position, c)) = rest
            .char_indices()
            .find(|&(_, c)| c == '\\' || is_hidden(c))
        {
            let (plain, special) = rest.split_at(position);
            f.write_str(plain)?;
            if c == '\\' {
                f.write_str("\\\\")?;
            } else {
                write!(f, "\\u{{{:X}}}", u32::from(c))?;
            }
            rest = special.get(c.len_utf8()..).unwrap_or_default();
        }
        f.write_str(rest)
    }
}

/// Whether `c` is shown escaped wherever certificate text is shown: a control, a
/// bidirectional control, a line or paragraph separator, or an invisible character.
pub(crate) fn is_hidden(c: char) -> bool {
    matches!(
        c,
        // C0, DEL, C1.
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            // Soft hyphen, combining grapheme joiner, Arabic letter mark.
            | '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            // Hangul fillers, Khmer inherent vowels, Mongolian selectors and separator.
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            // Zero-width space, non-joiner, joiner, LRM, RLM.
            | '\u{200b}'..='\u{200f}'
            // Line and paragraph separators, LRE, RLE, PDF, LRO, RLO.
            | '\u{2028}'..='\u{202e}'
            // Word joiner, invisible operators, LRI, RLI, FSI, PDI, deprecated formats.
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            // Variation selectors.
            | '\u{fe00}'..='\u{fe0f}'
            // Zero-width no-break space (byte order mark), half-width Hangul filler.
            | '\u{feff}'
            | '\u{ffa0}'
            // Interlinear annotation controls.
            | '\u{fff9}'..='\u{fffb}'
            // Musical symbol formatting, tags, variation selectors supplement.
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
            | '\u{e0100}'..='\u{e01ef}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_character_is_escaped_and_nothing_raw_is_left() {
        let named = [
            '\u{0}',
            '\u{7}',
            '\u{8}',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9b}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{fe0f}',
            '\u{feff}',
            '\u{e0041}',
        ];
        for c in named {
            assert!(is_hidden(c), "{:X}", u32::from(c));
            let shown = Visible::new(&format!("a{c}b")).to_string();
            assert_eq!(shown, format!("a\\u{{{:X}}}b", u32::from(c)));
            assert!(!shown.chars().any(is_hidden), "{shown}");
        }
        // Every control character Rust knows is one of them.
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            if c.is_control() {
                assert!(is_hidden(c), "{:X}", u32::from(c));
            }
        }
    }

    #[test]
    fn text_is_kept_and_backslashes_are_doubled_so_nothing_can_be_forged() {
        for text in [
            "",
            "a.example",
            "grüße",
            "名前.example",
            "ضيف",
            "x y",
            "*.example",
        ] {
            assert_eq!(Visible::new(text).to_string(), text);
        }
        assert_eq!(Visible::new("a\\b").to_string(), "a\\\\b");
        // The escaped form of a character and its text spelled out are told apart.
        assert_ne!(
            Visible::new("\u{202e}").to_string(),
            Visible::new("\\u{202E}").to_string()
        );
        assert_eq!(Visible::new("\\u{202E}").to_string(), "\\\\u{202E}");
    }
}
