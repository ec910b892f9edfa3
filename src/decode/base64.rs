//! Strict standard base64 (RFC 4648 §4) over whole texts (PEM bodies and bare uploads), with
//! whitespace and line ends ignored.

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
    pub(crate) problem: &'static str,
}

const INVALID: u8 = 0xff;
const SPACE: u8 = 0xfe;
const PAD: u8 = 0xfd;

/// Each byte's 6-bit value, or what else it is. (Indexing here runs at compile time: an
/// out-of-range index would fail the build, never a caller.)
#[allow(clippy::indexing_slicing)]
const TABLE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b' ' as usize] = SPACE;
    table[b'\t' as usize] = SPACE;
    table[b'\n' as usize] = SPACE;
    table[b'\r' as usize] = SPACE;
    table[0x0c] = SPACE;
    table[b'=' as usize] = PAD;
    table
};

fn value(symbol: u8) -> u8 {
    TABLE.get(usize::from(symbol)).copied().unwrap_or(INVALID)
}

/// Decodes base64 text, ignoring whitespace (line ends included) anywhere. Padding may be
/// omitted but, if present, only ends the data.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut accumulator = 0u32;
    let mut pending = 0u32;
    let mut padding = 0u32;
    let mut position = 0;
    loop {
        if pending == 0 && padding == 0 {
            position += decode_groups(text.get(position..).unwrap_or_default(), &mut out);
        }
        let Some(&symbol) = text.get(position) else {
            break;
        };
        let value = value(symbol);
        if value < 64 && padding == 0 {
            accumulator = (accumulator << 6) | u32::from(value);
            pending += 1;
            if pending == 4 {
                let [_, a, b, c] = accumulator.to_be_bytes();
                out.extend_from_slice(&[a, b, c]);
                accumulator = 0;
                pending = 0;
            }
        } else {
            let error = |problem| Base64Error {
                at: At::Offset(position),
                problem,
            };
            match value {
                SPACE => {}
                PAD => {
                    padding += 1;
                    if padding > 2 || pending + padding > 4 || pending < 2 {
                        return Err(error("misplaced '=' padding"));
                    }
                }
                INVALID => return Err(error("a character outside the base64 alphabet")),
                _ => return Err(error("data after '=' padding")),
            }
        }
        position += 1;
    }
    let error = |problem| Base64Error {
        at: At::End,
        problem,
    };
    if padding > 0 && pending + padding != 4 {
        return Err(error("wrong amount of '=' padding"));
    }
    match pending {
        0 => {}
        1 => {
            return Err(error(
                "the data ends in the middle of a byte (is it cut short?)",
            ))
        }
        2 => out.push((accumulator >> 4) as u8),
        _ => out.extend_from_slice(&(accumulator >> 2).to_be_bytes()[2..]),
    }
    Ok(out)
}

/// The fast path: decodes whole groups of four alphabet symbols from the start of `text`
/// until one holds anything else (whitespace, padding, a bad symbol), and returns how many
/// symbols it consumed. The caller's symbol-by-symbol path handles the rest.
fn decode_groups(text: &[u8], out: &mut Vec<u8>) -> usize {
    let mut done = 0;
    // Two groups at a time: a PEM line of 64 symbols is eight of these.
    for symbols in text.as_chunks::<8>().0 {
        let Some(bits) = bits_of(symbols) else {
            break;
        };
        out.extend_from_slice(&bits.to_be_bytes()[2..]);
        done += 8;
    }
    let group = text.get(done..).unwrap_or_default().first_chunk::<4>();
    if let Some(bits) = group.and_then(bits_of) {
        out.extend_from_slice(&bits.to_be_bytes()[5..]);
        done += 4;
    }
    done
}

/// The 6-bit values of `N` symbols (at most ten) side by side, if all are in the alphabet.
fn bits_of<const N: usize>(symbols: &[u8; N]) -> Option<u64> {
    let mut bits = 0u64;
    // Every value that is not a symbol's (whitespace, padding, invalid) has its top bit set.
    let mut others = 0u8;
    for symbol in symbols {
        let value = value(*symbol);
        others |= value;
        bits = (bits << 6) | u64::from(value);
    }
    (others < 64).then_some(bits)
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
                problem: "a character outside the base64 alphabet"
            }
        );
        assert_eq!(decode(b"aGVsb\n").unwrap_err().at, At::End);
    }

    proptest::proptest! {
        /// Matches the `base64` crate on any bytes, wrapped at any width, with or without
        /// padding, LF or CRLF.
        #[test]
        fn agrees_with_a_reference_decoder(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            width in 1usize..80,
            crlf: bool,
            unpadded: bool,
        ) {
            use ::base64::Engine;
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
