//! A small strict DER reader: tag-length-value elements with definite, minimal lengths and
//! byte offsets for errors. The decoder uses it to check a certificate's structure before
//! x509-parser sees it, to recognise what an upload is (key, CSR, CRL, PKCS#7, …) without
//! reading any key material, and to read the few fields x509-parser gets wrong.

mod lean;
mod outline;
mod problem;

use lean::is_plain_tree;
pub(crate) use outline::{check_certificate, extensions, Outline};
pub use problem::{DerContainer, DerProblem, ElementKind};

/// Nesting deeper than this is refused; real certificates stay below 16.
pub(crate) const MAX_DEPTH: usize = 64;

/// Tag classes (X.690 §8.1.2.2).
pub(crate) const UNIVERSAL: u8 = 0;
pub(crate) const CONTEXT: u8 = 2;

/// An identifier: class, constructed bit and number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Tag {
    pub(crate) class: u8,
    pub(crate) constructed: bool,
    pub(crate) number: u32,
}

impl Tag {
    pub(crate) const BOOLEAN: Tag = Tag::universal(false, 1);
    pub(crate) const INTEGER: Tag = Tag::universal(false, 2);
    pub(crate) const BIT_STRING: Tag = Tag::universal(false, 3);
    pub(crate) const OCTET_STRING: Tag = Tag::universal(false, 4);
    pub(crate) const OID: Tag = Tag::universal(false, 6);
    pub(crate) const UTC_TIME: Tag = Tag::universal(false, 23);
    pub(crate) const GENERALIZED_TIME: Tag = Tag::universal(false, 24);
    pub(crate) const SEQUENCE: Tag = Tag::universal(true, 16);
    pub(crate) const SET: Tag = Tag::universal(true, 17);

    const fn universal(constructed: bool, number: u32) -> Tag {
        Tag {
            class: UNIVERSAL,
            constructed,
            number,
        }
    }

    /// The tag as messages name it.
    pub(crate) const fn kind(self) -> ElementKind {
        ElementKind {
            class: self.class,
            constructed: self.constructed,
            number: self.number,
        }
    }

    /// A context-specific tag `[number]`.
    pub(crate) const fn context(constructed: bool, number: u32) -> Tag {
        Tag {
            class: CONTEXT,
            constructed,
            number,
        }
    }
}

/// One element: its tag, where it starts, and its content.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: Tag,
    /// Offset of the identifier octet in the outermost input.
    pub(crate) offset: usize,
    /// Offset of the first content octet in the outermost input.
    pub(crate) content_offset: usize,
    pub(crate) content: &'a [u8],
    /// The whole element: identifier, length and content.
    pub(crate) raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over this element's content.
    pub(crate) fn reader(&self) -> Reader<'a> {
        self.reader_in(DerContainer::Element {
            kind: self.tag.kind(),
            offset: self.offset,
        })
    }

    /// A reader over this element's content, which errors call `container`.
    pub(crate) fn reader_in(&self, container: DerContainer) -> Reader<'a> {
        Reader {
            data: self.content,
            position: 0,
            base: self.content_offset,
            container: Some(container),
        }
    }
}

/// An error at a byte offset of the outermost input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DerError {
    pub(crate) offset: usize,
    pub(crate) problem: DerProblem,
}

pub(crate) type DerResult<T> = Result<T, DerError>;

/// Reads consecutive elements from a byte slice.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    position: usize,
    base: usize,
    /// What holds the data, for errors; `None` for the whole input.
    container: Option<DerContainer>,
}

impl<'a> Reader<'a> {
    /// A reader over the whole input, offsets counted from its start.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            position: 0,
            base: 0,
            container: None,
        }
    }

    /// The absolute offset of the next element.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.position
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.position >= self.data.len()
    }

    /// The bytes not read yet.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.data.get(self.position..).unwrap_or(&[])
    }

    fn error(&self, at: usize, problem: DerProblem) -> DerError {
        DerError {
            offset: self.base + at,
            problem,
        }
    }

    fn byte(&self, at: usize) -> DerResult<u8> {
        self.data.get(at).copied().ok_or_else(|| {
            // The element being read starts at `position`: its tag is what its first octet says.
            let kind = self.data.get(self.position).map(|&identifier| ElementKind {
                class: identifier >> 6,
                constructed: identifier & 0x20 != 0,
                number: u32::from(identifier & 0x1f),
            });
            match (self.container, kind) {
                (Some(_), Some(kind)) => self.runs_past(self.position, kind),
                _ => self.error(at, DerProblem::Truncated),
            }
        })
    }

    /// The element of this kind starting at `start` runs past the end of the data: of the
    /// input, or of the element that holds it.
    #[cold]
    fn runs_past(&self, start: usize, element: ElementKind) -> DerError {
        self.error(
            start,
            match self.container {
                Some(container) => DerProblem::RunsPast { element, container },
                None => DerProblem::Truncated,
            },
        )
    }

    /// The tag of the next element, without consuming it.
    #[inline(always)]
    pub(crate) fn peek_tag(&self) -> Option<Tag> {
        match self.data.get(self.position) {
            Some(&identifier) if identifier & 0x1f != 0x1f => Some(Tag {
                class: identifier >> 6,
                constructed: identifier & 0x20 != 0,
                number: u32::from(identifier & 0x1f),
            }),
            _ => self.clone().read_tag().ok().map(|(tag, _)| tag),
        }
    }

    fn read_tag(&mut self) -> DerResult<(Tag, usize)> {
        let start = self.position;
        let first = self.byte(start)?;
        let class = first >> 6;
        let constructed = first & 0x20 != 0;
        let mut number = u32::from(first & 0x1f);
        let mut at = start + 1;
        if number == 0x1f {
            number = 0;
            loop {
                let byte = self.byte(at)?;
                if number == 0 && byte == 0x80 {
                    return Err(self.error(start, DerProblem::NonMinimalTag));
                }
                if number > (u32::MAX >> 7) {
                    return Err(self.error(start, DerProblem::TagTooLarge));
                }
                number = (number << 7) | u32::from(byte & 0x7f);
                at += 1;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            if number < 0x1f {
                return Err(self.error(start, DerProblem::NonMinimalTag));
            }
        }
        Ok((
            Tag {
                class,
                constructed,
                number,
            },
            at,
        ))
    }

    /// Reads the next element, checking that its length is definite, minimal and fits.
    #[inline(always)]
    pub(crate) fn read(&mut self) -> DerResult<Tlv<'a>> {
        let start = self.position;
        // Most elements have a one-octet identifier and a length of one to three octets:
        // read them at once. (Kept beside `read_any` because one general path costs a tenth
        // of the floor in the decode bench; the test `lean_and_general_paths_agree_on_every_corpus_input`
        // proves both give the same element or the same error.)
        if let Some((&identifier, rest)) = self.data.get(start..).and_then(<[u8]>::split_first) {
            let (content_start, length) = match *rest {
                [length, ..] if length < 0x80 => (start + 2, usize::from(length)),
                [0x81, length, ..] if length >= 0x80 => (start + 3, usize::from(length)),
                [0x82, high, low, ..] if high != 0 => {
                    (start + 4, usize::from(u16::from_be_bytes([high, low])))
                }
                // Other forms and errors: the general path.
                _ => (0, usize::MAX),
            };
            if identifier & 0x1f != 0x1f && length != usize::MAX {
                let end = content_start + length;
                if let (Some(raw), Some(content)) =
                    (self.data.get(start..end), self.data.get(content_start..end))
                {
                    self.position = end;
                    return Ok(Tlv {
                        tag: Tag {
                            class: identifier >> 6,
                            constructed: identifier & 0x20 != 0,
                            number: u32::from(identifier & 0x1f),
                        },
                        offset: self.base + start,
                        content_offset: self.base + content_start,
                        content,
                        raw,
                    });
                }
            }
        }
        self.read_any(start)
    }

    /// [`Reader::read`] for every form of identifier and length.
    #[inline(never)]
    fn read_any(&mut self, start: usize) -> DerResult<Tlv<'a>> {
        let (tag, mut at) = self.read_tag()?;
        let first = self.byte(at)?;
        at += 1;
        let length = if first < 0x80 {
            usize::from(first)
        } else if first == 0x80 {
            return Err(self.error(start, DerProblem::IndefiniteLength));
        } else {
            let count = usize::from(first & 0x7f);
            if count > 4 {
                return Err(self.error(start, DerProblem::LengthTooLarge));
            }
            let mut length = 0usize;
            for _ in 0..count {
                length = (length << 8) | usize::from(self.byte(at)?);
                at += 1;
            }
            if length < 0x80 || length >> (8 * (count - 1)) == 0 {
                return Err(self.error(start, DerProblem::NonMinimalLength));
            }
            length
        };
        let cut = || self.runs_past(start, tag.kind());
        let end = at
            .checked_add(length)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(cut)?;
        let content = self.data.get(at..end).ok_or_else(cut)?;
        let raw = self.data.get(start..end).ok_or_else(cut)?;
        self.position = end;
        Ok(Tlv {
            tag,
            offset: self.base + start,
            content_offset: self.base + at,
            content,
            raw,
        })
    }

    /// Reads the next element like [`Reader::read`], but also accepts an indefinite length
    /// (BER) on a constructed element, whose content then runs to its end-of-contents
    /// octets (not part of the returned content). Elements inside are read the same way.
    /// Only PKCS#7 wrappers are read so: Windows and Java tools write them in BER.
    pub(crate) fn read_ber(&mut self, depth: usize) -> DerResult<Tlv<'a>> {
        let start = self.position;
        let mut probe = self.clone();
        match probe.read() {
            Err(DerError {
                problem: DerProblem::IndefiniteLength,
                ..
            }) => {}
            other => {
                *self = probe;
                return other;
            }
        }
        if depth > MAX_DEPTH {
            return Err(self.error(start, DerProblem::TooDeep));
        }
        let (tag, at) = self.read_tag()?;
        if !tag.constructed {
            return Err(self.error(start, DerProblem::IndefiniteLength));
        }
        let content_start = at + 1;
        let mut children = Reader {
            data: self.data,
            position: content_start,
            base: self.base,
            container: self.container,
        };
        loop {
            if children.data.get(children.position..children.position + 2) == Some(&[0, 0]) {
                break;
            }
            if children.is_empty() {
                return Err(self.runs_past(start, tag.kind()));
            }
            children.read_ber(depth + 1)?;
        }
        let end = children.position;
        let content = self.data.get(content_start..end).unwrap_or_default();
        let raw = self.data.get(start..end + 2).unwrap_or_default();
        self.position = end + 2;
        Ok(Tlv {
            tag,
            offset: self.base + start,
            content_offset: self.base + content_start,
            content,
            raw,
        })
    }

    /// Reads the next element and checks its tag.
    #[inline(always)]
    pub(crate) fn expect(&mut self, tag: Tag, what: &'static str) -> DerResult<Tlv<'a>> {
        let offset = self.offset();
        if self.is_empty() {
            return Err(DerError {
                offset,
                problem: DerProblem::Missing { expected: what },
            });
        }
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(DerError {
                offset,
                problem: DerProblem::UnexpectedTag { expected: what },
            });
        }
        Ok(tlv)
    }

    /// Reads the next element if it has this tag.
    #[inline(always)]
    pub(crate) fn optional(&mut self, tag: Tag) -> DerResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails if anything is left: bytes inside a structure after its last field.
    pub(crate) fn finish(&self, what: &'static str) -> DerResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError {
                offset: self.offset(),
                problem: DerProblem::UnexpectedContent { inside: what },
            })
        }
    }
}

/// Walks every element below `tlv`, refusing indefinite or non-minimal lengths, elements that
/// overrun their parent, and nesting deeper than [`MAX_DEPTH`].
#[inline(always)]
pub(crate) fn walk(tlv: &Tlv<'_>, depth: usize) -> DerResult<()> {
    if depth > MAX_DEPTH {
        return Err(DerError {
            offset: tlv.offset,
            problem: DerProblem::TooDeep,
        });
    }
    if tlv.tag.constructed && !is_plain_tree(tlv.content, depth + 1) {
        // Not the usual forms: walk element by element, which says what is wrong if anything is.
        // Below this point the lean pass is not tried again: each level retrying it would read
        // a deep subtree once per level.
        walk_children(tlv.reader(), depth + 1)
    } else {
        Ok(())
    }
}

/// Walks each element `reader` holds, at `depth`, element by element. (Most elements walked
/// are primitive: only constructed ones pay for a call.)
#[inline(never)]
fn walk_children(mut reader: Reader<'_>, depth: usize) -> DerResult<()> {
    while !reader.is_empty() {
        let tlv = reader.read()?;
        if depth > MAX_DEPTH {
            return Err(DerError {
                offset: tlv.offset,
                problem: DerProblem::TooDeep,
            });
        }
        if tlv.tag.constructed {
            walk_children(tlv.reader(), depth + 1)?;
        }
    }
    Ok(())
}

/// The minimal number of bits of a non-negative big-endian INTEGER's content.
pub(crate) fn integer_bits(content: &[u8]) -> u32 {
    let mut bytes = content.iter().skip_while(|b| **b == 0);
    match bytes.next() {
        None => 0,
        Some(first) => {
            let rest = bytes.count();
            let rest = u32::try_from(rest).unwrap_or(u32::MAX / 16);
            (8 - first.leading_zeros()).saturating_add(rest.saturating_mul(8))
        }
    }
}

/// The certificate's SubjectPublicKeyInfo, read by position (the certificate was checked when
/// it was imported; `None` if these bytes are not shaped like a certificate).
pub(crate) fn subject_public_key_info(certificate: &[u8]) -> Option<Tlv<'_>> {
    let mut outer = Reader::new(certificate);
    let mut certificate = outer.expect(Tag::SEQUENCE, "certificate").ok()?.reader();
    let mut tbs = certificate
        .expect(Tag::SEQUENCE, "tbsCertificate")
        .ok()?
        .reader();
    tbs.optional(Tag::context(true, 0)).ok()?;
    tbs.expect(Tag::INTEGER, "serialNumber").ok()?;
    for what in ["signature", "issuer", "validity", "subject"] {
        tbs.expect(Tag::SEQUENCE, what).ok()?;
    }
    tbs.expect(Tag::SEQUENCE, "subjectPublicKeyInfo").ok()
}

#[cfg(test)]
mod tests;
