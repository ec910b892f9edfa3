//! Standard base64 (RFC 4648 §4) over whole texts (PEM bodies and bare uploads), decoded by
//! the `base64` crate with the tolerances the decoder documents: whitespace and line ends
//! anywhere (removed before decoding), padding optional but, when present, only at the end and
//! of the right amount, and the unused bits of the last symbol ignored (as OpenSSL does).

use ::base64::alphabet::STANDARD;
use ::base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ::base64::{DecodeError, Engine as _};

use crate::error::Base64Problem;

/// Where a problem in base64 text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// At this byte offset of the text.
    Offset(usize),
    /// At the end of the data (a missing symbol or missing padding).
    End,
}

/// Base64 that does not decode: where and why. The caller turns `at` into a line number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Base64Error {
    pub(crate) at: At,
    pub(crate) problem: Base64Problem,
}

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The buffers of [`Base64::decode`], kept between calls so that the blocks of a PEM bundle
/// reuse them.
#[derive(Default)]
pub(crate) struct Base64 {
    /// The text without its whitespace.
    symbols: Vec<u8>,
    /// The decoded bytes.
    bytes: Vec<u8>,
}

impl Base64 {
    /// Decodes base64 text, ignoring whitespace (line ends included) anywhere, into bytes
    /// that stay valid until the next call.
    pub(crate) fn decode(&mut self, text: &[u8]) -> Result<&[u8], Base64Error> {
        self.symbols.clear();
        self.symbols.reserve(text.len());
        // Line by line: most lines hold no other whitespace, and are copied whole.
        let mut rest = text;
        while !rest.is_empty() {
            // The 64 symbols RFC 7468 asks for and a LF: a line found without a search, and
            // checked and copied by code made for its size.
            if let Some((line, [b'\n', after @ ..])) = rest.split_first_chunk::<64>() {
                if !has_low_bytes(line) {
                    self.symbols.extend_from_slice(line);
                    rest = after;
                    continue;
                }
            }
            let end = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
            let (line, after) = rest.split_at(end);
            if has_low_bytes(line) {
                let symbols = line.iter().filter(|byte| !byte.is_ascii_whitespace());
                self.symbols.extend(symbols);
            } else {
                self.symbols.extend_from_slice(line);
            }
            rest = after.get(1..).unwrap_or_default();
        }
        self.bytes.clear();
        let symbols = self.symbols.as_slice();
        if let Err(error) = ENGINE.decode_vec(symbols, &mut self.bytes) {
            let (at, problem) = diagnose(symbols, error);
            return Err(Base64Error {
                at: match at {
                    At::Offset(index) => At::Offset(text_offset(text, index)),
                    At::End => At::End,
                },
                problem,
            });
        }
        // The crate accepts any amount of padding up to a whole group; RFC 4648 wants it to
        // complete the last group exactly.
        if symbols.last() == Some(&b'=') && !symbols.len().is_multiple_of(4) {
            return Err(Base64Error {
                at: At::End,
                problem: Base64Problem::WrongPadding,
            });
        }
        Ok(&self.bytes)
    }
}

/// Whether `bytes` holds a byte up to `b' '`, as every whitespace byte is. A line with none is
/// all symbols (or bytes the crate reports as invalid). Without an early exit: the compiler
/// checks many bytes at once.
#[inline(always)]
fn has_low_bytes(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |low, byte| low | (*byte <= b' '))
}

/// Decodes base64 text, ignoring whitespace (line ends included) anywhere.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let mut base64 = Base64::default();
    base64.decode(text)?;
    Ok(base64.bytes)
}

/// What the crate's error means, at which index of `symbols` (the text without whitespace).
#[cold]
fn diagnose(symbols: &[u8], error: DecodeError) -> (At, Base64Problem) {
    let is_symbol = |byte: &u8| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/';
    let index = match error {
        DecodeError::InvalidLength(_) => return (At::End, Base64Problem::CutShort),
        DecodeError::InvalidPadding => return (At::End, Base64Problem::WrongPadding),
        // The crate looks at a lone last symbol before the others: find the first problem.
        DecodeError::InvalidByte(index, _) | DecodeError::InvalidLastSymbol(index, _) => symbols
            .iter()
            .position(|byte| !is_symbol(byte))
            .unwrap_or(index),
    };
    if symbols.get(index) != Some(&b'=') {
        return (At::Offset(index), Base64Problem::InvalidSymbol);
    }
    // Padding may only complete the group it is in (after two or three symbols) and end
    // the data.
    let in_group = index % 4;
    let padding = symbols
        .get(index..)
        .unwrap_or_default()
        .iter()
        .take_while(|byte| **byte == b'=')
        .count();
    if in_group < 2 {
        (At::Offset(index), Base64Problem::MisplacedPadding)
    } else if in_group + padding > 4 {
        (
            At::Offset(index + 4 - in_group),
            Base64Problem::MisplacedPadding,
        )
    } else {
        let after = index + padding;
        match symbols.get(after) {
            Some(byte) if is_symbol(byte) => (At::Offset(after), Base64Problem::DataAfterPadding),
            _ => (At::Offset(after), Base64Problem::InvalidSymbol),
        }
    }
}

/// The offset in `text` of its `index`-th byte that is not whitespace.
fn text_offset(text: &[u8], index: usize) -> usize {
    text.iter()
        .enumerate()
        .filter(|(_, byte)| !byte.is_ascii_whitespace())
        .nth(index)
        .map_or(text.len(), |(offset, _)| offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_and_without_padding() {
        assert_eq!(decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode(b"aGVs bG8h\n").unwrap(), b"hell\x6f!");
        assert_eq!(decode(b"aA==").unwrap(), b"h");
        assert_eq!(decode(b"aA=\n=\r\n").unwrap(), b"h");
        assert_eq!(decode(b"").unwrap(), b"");
    }

    #[test]
    fn refuses_bad_symbols_and_padding() {
        for bad in [
            "aGVsbG8*",
            "a===",
            "aGVsbG8=x",
            "a",
            "aGVsb",
            "=aGV",
            "aG==",
        ] {
            let result = decode(bad.as_bytes());
            if bad == "aG==" {
                assert_eq!(result.unwrap(), b"h");
            } else {
                assert!(result.is_err(), "{bad}");
            }
        }
        assert_eq!(
            decode(b"aGVs\nbG8*").unwrap_err(),
            Base64Error {
                at: At::Offset(8),
                problem: Base64Problem::InvalidSymbol
            }
        );
        assert_eq!(decode(b"aGVsb\n").unwrap_err().at, At::End);
    }

    #[test]
    fn problems_are_named_where_they_are() {
        let error = |text: &str| {
            let error = decode(text.as_bytes()).unwrap_err();
            (error.at, error.problem)
        };
        use Base64Problem::*;
        assert_eq!(error("aGVsbG8*"), (At::Offset(7), InvalidSymbol));
        assert_eq!(error("*GVsbG8x*"), (At::Offset(0), InvalidSymbol));
        assert_eq!(error("a===").1, MisplacedPadding);
        assert_eq!(error("=aGV"), (At::Offset(0), MisplacedPadding));
        assert_eq!(error("aGVsbG8=="), (At::Offset(8), MisplacedPadding));
        assert_eq!(error("aA==\naGVs"), (At::Offset(5), DataAfterPadding));
        assert_eq!(error("aGVsbG8=x"), (At::Offset(8), DataAfterPadding));
        assert_eq!(error("aA==*"), (At::Offset(4), InvalidSymbol));
        assert_eq!(error("aA="), (At::End, WrongPadding));
        assert_eq!(error("aGVsb"), (At::End, CutShort));
        assert_eq!(error("a"), (At::End, CutShort));
    }

    proptest::proptest! {
        /// Round-trips the crate's own encoding of any bytes, wrapped at any width, with or
        /// without padding, LF or CRLF.
        #[test]
        fn decodes_wrapped_text(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            width in 1usize..80,
            crlf: bool,
            unpadded: bool,
        ) {
            let mut text = ::base64::engine::general_purpose::STANDARD.encode(&bytes);
            if unpadded {
                text = text.trim_end_matches('=').to_string();
            }
            let end = if crlf { "\r\n" } else { "\n" };
            let wrapped: String = text
                .as_bytes()
                .chunks(width)
                .map(|line| format!("{}{end}", String::from_utf8_lossy(line)))
                .collect();
            proptest::prop_assert_eq!(decode(wrapped.as_bytes()).unwrap(), bytes);
        }
    }
}
