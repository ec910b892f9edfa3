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
    let mut bytes = Vec::new();
    decode_into(text, &mut bytes)?;
    Ok(bytes)
}

/// [`decode`] into `bytes`, replacing what they held: a bundle's blocks reuse one buffer.
pub(crate) fn decode_into(text: &[u8], bytes: &mut Vec<u8>) -> Result<(), Base64Error> {
    let mut out = Output::for_symbols(text.len(), std::mem::take(bytes));
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
                out.put(&[a, b, c]);
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
        2 => out.put(&[(accumulator >> 4) as u8]),
        _ => out.put(&(accumulator >> 2).to_be_bytes()[2..]),
    }
    *bytes = out.finish();
    Ok(())
}

/// The decoded bytes, written front to back into a buffer allocated once at the greatest
/// size the text can decode to.
struct Output {
    bytes: Vec<u8>,
    written: usize,
}

impl Output {
    /// Room for what `count` symbols decode to, in `bytes` (whose old content, if any, is
    /// overwritten as decoding goes: only the gap beyond it is zeroed).
    fn for_symbols(count: usize, mut bytes: Vec<u8>) -> Self {
        bytes.resize(count / 4 * 3 + 3, 0);
        Output { bytes, written: 0 }
    }

    fn put(&mut self, new: &[u8]) {
        match self.bytes.get_mut(self.written..self.written + new.len()) {
            Some(slot) => slot.copy_from_slice(new),
            // Not reached (the buffer is large enough), but never lose bytes.
            None => {
                self.bytes.truncate(self.written);
                self.bytes.extend_from_slice(new);
            }
        }
        self.written += new.len();
    }

    /// The part not written yet.
    fn spare(&mut self) -> &mut [u8] {
        self.bytes.get_mut(self.written..).unwrap_or_default()
    }

    fn finish(mut self) -> Vec<u8> {
        self.bytes.truncate(self.written);
        self.bytes
    }
}

/// The fast path: decodes whole groups of four alphabet symbols from the start of `text`
/// until one holds anything else (whitespace, padding, a bad symbol), and returns how many
/// symbols it consumed. The caller's symbol-by-symbol path handles the rest.
fn decode_groups(text: &[u8], out: &mut Output) -> usize {
    let groups = text.as_chunks::<4>().0;
    let mut done = 0;
    // Two groups at a time (a PEM line of 64 symbols is eight such pairs), each pair into
    // its six bytes of the output.
    for (pair, bytes) in groups
        .as_chunks::<2>()
        .0
        .iter()
        .zip(out.spare().as_chunks_mut::<6>().0)
    {
        let (Some(first), Some(second)) = (group(&pair[0]), group(&pair[1])) else {
            break;
        };
        let [_, a, b, c] = first.to_be_bytes();
        let [_, d, e, f] = second.to_be_bytes();
        *bytes = [a, b, c, d, e, f];
        done += 2;
    }
    out.written += done / 2 * 6;
    if let Some(bits) = groups.get(done).and_then(group) {
        let [_, a, b, c] = bits.to_be_bytes();
        out.put(&[a, b, c]);
        done += 1;
    }
    done * 4
}

/// For each position in a group of four, each byte's 6-bit value already shifted into its
/// place in the group's 24 bits, or bit 24 set for anything that is not a symbol (whitespace,
/// padding, invalid): a group is then four look-ups and three ORs.
#[allow(clippy::indexing_slicing)]
static SHIFTED: [[u32; 256]; 4] = {
    let mut tables = [[0; 256]; 4];
    let mut position = 0;
    while position < 4 {
        let mut byte = 0;
        while byte < 256 {
            let value = TABLE[byte];
            tables[position][byte] = if value < 64 {
                (value as u32) << (18 - 6 * position)
            } else {
                NOT_A_SYMBOL
            };
            byte += 1;
        }
        position += 1;
    }
    tables
};

const NOT_A_SYMBOL: u32 = 1 << 24;

/// The 24 bits of four alphabet symbols, or `None` if any is something else.
fn group(symbols: &[u8; 4]) -> Option<u32> {
    let [a, b, c, d] = &SHIFTED;
    let look_up = |table: &[u32; 256], symbol: u8| {
        table
            .get(usize::from(symbol))
            .copied()
            .unwrap_or(NOT_A_SYMBOL)
    };
    let [w, x, y, z] = *symbols;
    let bits = look_up(a, w) | look_up(b, x) | look_up(c, y) | look_up(d, z);
    (bits < NOT_A_SYMBOL).then_some(bits)
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
