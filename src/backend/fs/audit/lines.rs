//! Reading a file of the trail backwards, one line at a time, newest first: a history stops
//! as soon as it has its records instead of reading the whole trail, and no line costs more
//! than [`LINE_LIMIT`] bytes of memory however long it is.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::ControlFlow;

/// How much is read at a time.
const BLOCK: usize = 64 << 10;

/// The longest line kept. A record is a few hundred bytes (its fields are cut at
/// [`FIELD_LIMIT`](super::FIELD_LIMIT)); a longer line is not one, and is reported by its
/// place alone.
pub(super) const LINE_LIMIT: usize = 64 << 10;

/// One line of a file, read backwards.
#[derive(Debug)]
pub(super) enum Line<'a> {
    /// A line (without its newline) and the offset of its first byte.
    Text { offset: u64, bytes: &'a [u8] },
    /// A line longer than [`LINE_LIMIT`], at this offset, that was passed over.
    TooLong { offset: u64 },
}

/// Calls `visit` with each line of the first `length` bytes of `file`, last line first,
/// until it breaks. Empty lines are skipped. Reads at most what it visits, plus one block.
pub(super) fn for_each_backwards(
    file: &mut File,
    length: u64,
    mut visit: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<()> {
    // `tail` holds the bytes after the last newline seen so far (the end of a line whose start
    // is still ahead), at most LINE_LIMIT of them; `overlong` when more were dropped.
    let mut tail: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut end = length;
    let mut block = vec![0u8; BLOCK];
    while end > 0 {
        let start = end.saturating_sub(BLOCK as u64);
        let size = usize::try_from(end - start).unwrap_or(BLOCK).min(BLOCK);
        let Some(chunk) = block.get_mut(..size) else {
            break;
        };
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        // Lines that end in this chunk, from its end backwards.
        let mut line_end = chunk.len();
        while let Some(newline) = chunk
            .get(..line_end)
            .and_then(|bytes| memchr::memrchr(b'\n', bytes))
        {
            let offset = start + newline as u64 + 1;
            let piece = chunk.get(newline + 1..line_end).unwrap_or_default();
            let flow = emit(piece, &mut tail, &mut overlong, offset, &mut visit);
            if flow.is_break() {
                return Ok(());
            }
            line_end = newline;
        }
        // The start of the chunk is the end of a line that began earlier.
        let piece = chunk.get(..line_end).unwrap_or_default();
        prepend(piece, &mut tail, &mut overlong);
        end = start;
    }
    // The file's first line.
    let _ = emit(&[], &mut tail, &mut overlong, 0, &mut visit);
    Ok(())
}

/// Puts `piece` before what `tail` holds, keeping at most LINE_LIMIT bytes.
fn prepend(piece: &[u8], tail: &mut Vec<u8>, overlong: &mut bool) {
    if *overlong || tail.len() + piece.len() > LINE_LIMIT {
        *overlong = true;
        tail.clear();
        return;
    }
    let mut joined = Vec::with_capacity(piece.len() + tail.len());
    joined.extend_from_slice(piece);
    joined.extend_from_slice(tail);
    *tail = joined;
}

/// Visits the line made of `piece` and what `tail` holds, then starts a new one.
fn emit(
    piece: &[u8],
    tail: &mut Vec<u8>,
    overlong: &mut bool,
    offset: u64,
    visit: &mut impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let flow = if *overlong || piece.len() + tail.len() > LINE_LIMIT {
        visit(Line::TooLong { offset })
    } else if tail.is_empty() {
        if piece.is_empty() {
            ControlFlow::Continue(())
        } else {
            visit(Line::Text {
                offset,
                bytes: piece,
            })
        }
    } else {
        let mut line = Vec::with_capacity(piece.len() + tail.len());
        line.extend_from_slice(piece);
        line.extend_from_slice(tail);
        visit(Line::Text {
            offset,
            bytes: &line,
        })
    };
    tail.clear();
    *overlong = false;
    flow
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(content: &[u8]) -> Vec<(u64, Option<Vec<u8>>)> {
        let path = std::env::temp_dir().join(format!(
            "inbound-certs-lines-{}-{}",
            std::process::id(),
            content.len()
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        let mut file = File::open(&path).unwrap();
        let mut seen = Vec::new();
        for_each_backwards(&mut file, content.len() as u64, |line| {
            seen.push(match line {
                Line::Text { offset, bytes } => (offset, Some(bytes.to_vec())),
                Line::TooLong { offset } => (offset, None),
            });
            ControlFlow::Continue(())
        })
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        seen
    }

    /// Every line, last first, with its offset, whatever the block boundaries; empty lines
    /// and a missing final newline change nothing; a line past the limit is reported by its
    /// place only, and its neighbours are intact.
    #[test]
    fn lines_come_back_last_first_with_their_offsets() {
        let mut content = Vec::new();
        let mut expected = Vec::new();
        for index in 0..5000 {
            let line = format!("line {index} {}", "x".repeat(index % 97));
            expected.push((content.len() as u64, Some(line.clone().into_bytes())));
            content.extend_from_slice(line.as_bytes());
            content.push(b'\n');
            if index % 7 == 0 {
                content.push(b'\n');
            }
        }
        let long_at = content.len() as u64;
        content.extend(std::iter::repeat_n(b'y', LINE_LIMIT + 10));
        content.push(b'\n');
        expected.push((long_at, None));
        let last_at = content.len() as u64;
        content.extend_from_slice(b"no newline at the end");
        expected.push((last_at, Some(b"no newline at the end".to_vec())));
        expected.reverse();
        assert_eq!(lines_of(&content), expected);
        assert!(lines_of(b"").is_empty());
        assert_eq!(lines_of(b"\n\n\n"), vec![]);
        assert_eq!(lines_of(b"a"), vec![(0, Some(b"a".to_vec()))]);
    }

    /// A break stops the reading: only the blocks that hold the visited lines are read.
    #[test]
    fn a_break_stops_at_once() {
        let content: Vec<u8> = (0..100_000)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let path =
            std::env::temp_dir().join(format!("inbound-certs-lines-break-{}", std::process::id()));
        std::fs::write(&path, &content).unwrap();
        let mut file = File::open(&path).unwrap();
        let mut seen = Vec::new();
        for_each_backwards(&mut file, content.len() as u64, |line| {
            if let Line::Text { bytes, .. } = line {
                seen.push(String::from_utf8(bytes.to_vec()).unwrap());
            }
            if seen.len() == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(seen, ["99999", "99998", "99997"]);
        assert!(file.stream_position().unwrap() >= content.len() as u64 - BLOCK as u64);
        std::fs::remove_file(&path).unwrap();
    }
}
