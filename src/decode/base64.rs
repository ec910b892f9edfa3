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
        for &symbol in text {
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
}
