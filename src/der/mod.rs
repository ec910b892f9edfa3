//! A small strict DER reader: tag-length-value elements with definite, minimal lengths and
//! byte offsets for errors. The decoder uses it to check a certificate's structure before
//! x509-parser sees it, to recognise what an upload is (key, CSR, CRL, PKCS#7, …) without
//! reading any key material, and to read the few fields x509-parser gets wrong.

mod problem;

pub use problem::{Container, DerProblem, ElementKind};

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
        self.reader_in(Container::Element {
            kind: self.tag.kind(),
            offset: self.offset,
        })
    }

    /// A reader over this element's content, which errors call `container`.
    pub(crate) fn reader_in(&self, container: Container) -> Reader<'a> {
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
    container: Option<Container>,
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

/// The elements of a checked certificate that are read again later. Their structure has
/// been checked: readers over them cannot fail.
pub(crate) struct Outline<'a> {
    /// The whole Certificate.
    pub(crate) certificate: Tlv<'a>,
    /// The version INTEGER inside `[0]`, if present.
    pub(crate) version: Option<Tlv<'a>>,
    /// The serialNumber INTEGER.
    pub(crate) serial: Tlv<'a>,
    /// The signature AlgorithmIdentifier inside the TBSCertificate.
    pub(crate) signature: Tlv<'a>,
    /// The issuer Name.
    pub(crate) issuer: Tlv<'a>,
    /// The notBefore and notAfter times.
    pub(crate) not_before: Tlv<'a>,
    pub(crate) not_after: Tlv<'a>,
    /// The subject Name.
    pub(crate) subject: Tlv<'a>,
    /// The SubjectPublicKeyInfo.
    pub(crate) spki: Tlv<'a>,
    /// The Extensions SEQUENCE, if present.
    pub(crate) extensions: Option<Tlv<'a>>,
    /// The signatureAlgorithm AlgorithmIdentifier after the TBSCertificate.
    pub(crate) signature_algorithm: Tlv<'a>,
}

/// One Extension of a checked Extensions SEQUENCE.
pub(crate) struct Extension<'a> {
    /// The whole Extension SEQUENCE.
    pub(crate) raw: &'a [u8],
    /// The extnID OBJECT IDENTIFIER.
    pub(crate) oid: Tlv<'a>,
    /// Whether the critical BOOLEAN is present and TRUE.
    pub(crate) critical: bool,
    /// The extnValue OCTET STRING.
    pub(crate) value: Tlv<'a>,
}

/// The extensions of an Extensions SEQUENCE that [`check_certificate`] accepted.
pub(crate) fn extensions<'a>(sequence: &Tlv<'a>) -> impl Iterator<Item = Extension<'a>> + Clone {
    let mut reader = sequence.reader();
    std::iter::from_fn(move || {
        let extension = reader.read().ok()?;
        let mut fields = extension.reader();
        let oid = fields.read().ok()?;
        let critical = fields
            .optional(Tag::BOOLEAN)
            .ok()?
            .is_some_and(|flag| flag.content != [0]);
        let value = fields.read().ok()?;
        Some(Extension {
            raw: extension.raw,
            oid,
            critical,
            value,
        })
    })
}

/// Checks the structure of one certificate (RFC 5280 §4.1) as strictly as OpenSSL and
/// rustls-webpki do, and returns its outline. Bytes after it are left to the caller.
pub(crate) fn check_certificate<'a>(reader: &mut Reader<'a>) -> DerResult<Outline<'a>> {
    // Every element of the outline below is read (so its length is checked) and every
    // subtree the outline does not descend into is walked: each byte is checked once.
    let certificate = reader.expect(Tag::SEQUENCE, "the Certificate SEQUENCE")?;
    let mut fields = certificate.reader();
    let tbs = fields.expect(Tag::SEQUENCE, "the TBSCertificate SEQUENCE")?;
    let signature_algorithm = algorithm_identifier(&mut fields, "the signatureAlgorithm")?;
    bit_string(&mut fields, "the signature BIT STRING")?;
    fields.finish("the Certificate")?;

    let mut tbs = tbs.reader();
    let mut version = None;
    if let Some(wrapper) = tbs.optional(Tag::context(true, 0))? {
        let mut inner = wrapper.reader();
        version = Some(inner.expect(Tag::INTEGER, "the version INTEGER")?);
        inner.finish("the version")?;
    }
    let serial = tbs.expect(Tag::INTEGER, "the serialNumber INTEGER")?;
    let signature = algorithm_identifier(&mut tbs, "the signature AlgorithmIdentifier")?;
    let issuer = name(&mut tbs, "the issuer Name")?;
    let validity = tbs.expect(Tag::SEQUENCE, "the Validity SEQUENCE")?;
    let mut times = validity.reader();
    let [not_before, not_after] = ["the notBefore time", "the notAfter time"].map(|what| {
        let offset = times.offset();
        let time = times.read().map_err(|e| DerError {
            offset,
            problem: match e.problem {
                DerProblem::Truncated => DerProblem::Missing { expected: what },
                other => other,
            },
        })?;
        if time.tag != Tag::UTC_TIME && time.tag != Tag::GENERALIZED_TIME {
            return Err(DerError {
                offset,
                problem: DerProblem::UnexpectedTag { expected: what },
            });
        }
        Ok(time)
    });
    let (not_before, not_after) = (not_before?, not_after?);
    times.finish("the Validity")?;
    let subject = name(&mut tbs, "the subject Name")?;
    let spki = tbs.expect(Tag::SEQUENCE, "the SubjectPublicKeyInfo SEQUENCE")?;
    let mut key = spki.reader();
    algorithm_identifier(&mut key, "the public key AlgorithmIdentifier")?;
    bit_string(&mut key, "the subjectPublicKey BIT STRING")?;
    key.finish("the SubjectPublicKeyInfo")?;
    tbs.optional(Tag::context(false, 1))?;
    tbs.optional(Tag::context(false, 2))?;
    let mut extensions = None;
    if let Some(wrapper) = tbs.optional(Tag::context(true, 3))? {
        let mut wrapper = wrapper.reader();
        let sequence = wrapper.expect(Tag::SEQUENCE, "the Extensions SEQUENCE")?;
        wrapper.finish("the extensions [3]")?;
        if !is_plain_extensions(sequence.content) {
            check_extensions(&sequence)?;
        }
        extensions = Some(sequence);
    }
    tbs.finish("the TBSCertificate")?;
    Ok(Outline {
        certificate,
        version,
        serial,
        signature,
        issuer,
        not_before,
        not_after,
        subject,
        spki,
        extensions,
        signature_algorithm,
    })
}

/// Checks the Extensions SEQUENCE element by element, saying what is wrong if anything is.
fn check_extensions(sequence: &Tlv<'_>) -> DerResult<()> {
    let mut list = sequence.reader();
    while !list.is_empty() {
        let extension = list.expect(Tag::SEQUENCE, "an Extension SEQUENCE")?;
        let mut extension = extension.reader();
        extension.expect(Tag::OID, "the extnID OBJECT IDENTIFIER")?;
        extension.optional(Tag::BOOLEAN)?;
        extension.expect(Tag::OCTET_STRING, "the extnValue OCTET STRING")?;
        extension.finish("an Extension")?;
        // The value is opaque here: the values of the extensions this crate interprets
        // are checked when they are read, and named in errors (summary/extensions.rs).
    }
    Ok(())
}

/// A BIT STRING whose first content octet (the number of unused bits) is there and is at
/// most 7, with no unused bits in an empty string.
fn bit_string<'a>(reader: &mut Reader<'a>, what: &'static str) -> DerResult<Tlv<'a>> {
    let bits = reader.expect(Tag::BIT_STRING, what)?;
    match bits.content {
        [unused, ..] if *unused <= 7 && (*unused == 0 || bits.content.len() > 1) => Ok(bits),
        _ => Err(DerError {
            offset: bits.offset,
            problem: DerProblem::UnusedBits { inside: what },
        }),
    }
}

fn algorithm_identifier<'a>(reader: &mut Reader<'a>, what: &'static str) -> DerResult<Tlv<'a>> {
    let algorithm = reader.expect(Tag::SEQUENCE, what)?;
    let mut inner = algorithm.reader();
    inner.expect(Tag::OID, "an algorithm OBJECT IDENTIFIER")?;
    if !inner.is_empty() {
        walk(&inner.read()?, 1)?;
    }
    inner.finish("an AlgorithmIdentifier")?;
    Ok(algorithm)
}

fn name<'a>(reader: &mut Reader<'a>, what: &'static str) -> DerResult<Tlv<'a>> {
    let name = reader.expect(Tag::SEQUENCE, what)?;
    if !is_plain_name(name.content) {
        check_name(&name)?;
    }
    Ok(name)
}

/// Checks a Name element by element, saying what is wrong if anything is.
fn check_name(name: &Tlv<'_>) -> DerResult<()> {
    let mut rdns = name.reader();
    while !rdns.is_empty() {
        let rdn = rdns.expect(Tag::SET, "a RelativeDistinguishedName SET")?;
        let mut attributes = rdn.reader();
        if attributes.is_empty() {
            // SET SIZE (1..MAX): x509-parser and OpenSSL refuse an empty one too.
            return Err(DerError {
                offset: rdn.offset,
                problem: DerProblem::Missing {
                    expected: "an AttributeTypeAndValue in the RelativeDistinguishedName",
                },
            });
        }
        while !attributes.is_empty() {
            let attribute = attributes.expect(Tag::SEQUENCE, "an AttributeTypeAndValue")?;
            let mut inner = attribute.reader();
            inner.expect(Tag::OID, "an attribute type OBJECT IDENTIFIER")?;
            if inner.is_empty() {
                return Err(DerError {
                    offset: inner.offset(),
                    problem: DerProblem::Missing {
                        expected: "an attribute value",
                    },
                });
            }
            walk(&inner.read()?, 1)?;
            inner.finish("an AttributeTypeAndValue")?;
        }
    }
    Ok(())
}

/// Whether a Name's content is, in the forms almost every certificate uses, one that [`name`]
/// accepts: SETs of SEQUENCEs of an OBJECT IDENTIFIER and one primitive value, each with a
/// one-octet identifier and a minimal length of at most four octets. `false` means "not
/// sure": [`name`] then checks the Name element by element and says what is wrong.
fn is_plain_name(mut rdns: &[u8]) -> bool {
    const SET: u8 = 0x31;
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    while !rdns.is_empty() {
        let Some((SET, mut attributes @ [_, ..], rest)) = common_element(rdns) else {
            return false;
        };
        rdns = rest;
        while !attributes.is_empty() {
            let Some((SEQUENCE, attribute, rest)) = common_element(attributes) else {
                return false;
            };
            attributes = rest;
            let Some((OID, _, value)) = common_element(attribute) else {
                return false;
            };
            match common_element(value) {
                Some((identifier, _, [])) if identifier & 0x20 == 0 => {}
                _ => return false,
            }
        }
    }
    true
}

/// Whether the content of the Extensions SEQUENCE is, in the forms almost every certificate
/// uses, one that [`check_certificate`] accepts: SEQUENCEs of an OID, maybe a BOOLEAN, and an
/// OCTET STRING (whose content is not looked at), all with the header forms of
/// [`common_element`]. `false` means "not sure": the extensions are then checked element
/// by element.
fn is_plain_extensions(mut extensions: &[u8]) -> bool {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    const BOOLEAN: u8 = 0x01;
    const OCTET_STRING: u8 = 0x04;
    while !extensions.is_empty() {
        let Some((SEQUENCE, extension, rest)) = common_element(extensions) else {
            return false;
        };
        extensions = rest;
        let Some((OID, _, fields)) = common_element(extension) else {
            return false;
        };
        let fields = match common_element(fields) {
            Some((BOOLEAN, _, rest)) => rest,
            _ => fields,
        };
        let Some((OCTET_STRING, _, [])) = common_element(fields) else {
            return false;
        };
    }
    true
}

/// Whether `data` is a run of elements with the header forms of [`common_element`], the
/// constructed ones holding such runs in turn, that [`walk`] accepts at `depth`. `false`
/// means "not sure" (it is also the answer for any element deeper than [`MAX_DEPTH`], which
/// the element-by-element walk refuses).
fn is_plain_tree(mut data: &[u8], depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return data.is_empty();
    }
    while !data.is_empty() {
        let Some((identifier, content, rest)) = common_element(data) else {
            return false;
        };
        if identifier & 0x20 != 0 && !is_plain_tree(content, depth + 1) {
            return false;
        }
        data = rest;
    }
    true
}

/// The identifier octet, the content and what follows of the element at the start of
/// `data`, if it has the header forms most elements have (a one-octet identifier; a
/// definite, minimal length of one to four octets) and fits; `None` for anything else,
/// valid or not.
#[inline(always)]
fn common_element(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&identifier, rest) = data.split_first()?;
    if identifier & 0x1f == 0x1f {
        return None;
    }
    let (header, length): (usize, usize) = match *rest {
        [length, ..] if length < 0x80 => (2, usize::from(length)),
        [0x81, length, ..] if length >= 0x80 => (3, usize::from(length)),
        [0x82, high, low, ..] if high != 0 => (4, usize::from(u16::from_be_bytes([high, low]))),
        [0x83, high, middle, low, ..] if high != 0 => {
            let length = u32::from_be_bytes([0, high, middle, low]);
            (5, usize::try_from(length).ok()?)
        }
        _ => return None,
    };
    let content = data.get(header..header.checked_add(length)?)?;
    let rest = data.get(header + content.len()..)?;
    Some((identifier, content, rest))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read_one(bytes: &[u8]) -> DerResult<Tlv<'_>> {
        Reader::new(bytes).read()
    }

    #[test]
    fn lengths_must_be_definite_minimal_and_fit() {
        assert_eq!(read_one(&[0x04, 0x01, 0xaa]).unwrap().content, &[0xaa]);
        let problem = |bytes: &[u8]| read_one(bytes).unwrap_err().problem;
        assert_eq!(
            problem(&[0x30, 0x80, 0x00, 0x00]),
            DerProblem::IndefiniteLength
        );
        assert_eq!(
            problem(&[0x04, 0x81, 0x01, 0xaa]),
            DerProblem::NonMinimalLength
        );
        assert_eq!(
            problem(&[0x04, 0x82, 0x00, 0x81]),
            DerProblem::NonMinimalLength
        );
        assert_eq!(problem(&[0x04, 0x02, 0xaa]), DerProblem::Truncated);
        assert_eq!(problem(&[0x04]), DerProblem::Truncated);
        assert_eq!(problem(&[]), DerProblem::Truncated);
        assert_eq!(
            problem(&[0x04, 0x85, 1, 1, 1, 1, 1]),
            DerProblem::LengthTooLarge
        );
        assert_eq!(problem(&[0x1f, 0x05, 0x00]), DerProblem::NonMinimalTag);
        assert_eq!(
            problem(&[0x1f, 0x80, 0x20, 0x00]),
            DerProblem::NonMinimalTag
        );
        assert_eq!(read_one(&[0x1f, 0x20, 0x00]).unwrap().tag.number, 0x20);
    }

    #[test]
    fn walk_refuses_deep_nesting() {
        let nested = |levels: usize| {
            let mut bytes: Vec<u8> = Vec::new();
            for _ in 0..levels {
                let mut outer = vec![0x30];
                match bytes.len() {
                    n if n < 0x80 => outer.push(n as u8),
                    n => outer.extend_from_slice(&[0x81, n as u8]),
                }
                outer.extend_from_slice(&bytes);
                bytes = outer;
            }
            bytes
        };
        let deep = nested(MAX_DEPTH + 2);
        let tlv = read_one(&deep).unwrap();
        assert_eq!(walk(&tlv, 0).unwrap_err().problem, DerProblem::TooDeep);
        let fine = nested(MAX_DEPTH);
        assert!(walk(&read_one(&fine).unwrap(), 0).is_ok());
    }

    #[test]
    fn only_names_the_full_check_accepts_are_plain() {
        // SET { SEQUENCE { OID 2.5.4.3, UTF8String "a" } }
        let name = [
            0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'a',
        ];
        let full_check = |content: &[u8]| {
            let mut der = vec![0x30, content.len() as u8];
            der.extend_from_slice(content);
            name_check(&der)
        };
        assert!(is_plain_name(&name) && full_check(&name));
        assert!(is_plain_name(&[]) && full_check(&[]));
        let mut constructed_value = name;
        constructed_value[9] = 0x30;
        let mut non_minimal = name.to_vec();
        non_minimal.splice(1..2, [0x81, 0x0a]);
        let mut two_values = name.to_vec();
        two_values.extend_from_slice(&[0x0c, 0x00]);
        two_values[1] += 2;
        two_values[3] += 2;
        for not_plain in [
            &constructed_value[..],
            &non_minimal[..],
            &name[..11],
            &two_values[..],
        ] {
            assert!(!is_plain_name(not_plain));
        }
        assert!(!full_check(&non_minimal) && !full_check(&two_values));
    }

    #[test]
    fn only_extensions_in_the_usual_forms_are_plain() {
        // SEQUENCE { OID 2.5.29.19, BOOLEAN TRUE, OCTET STRING { SEQUENCE { BOOLEAN TRUE } } }
        let extension = [
            0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03,
            0x01, 0x01, 0xff,
        ];
        assert!(is_plain_extensions(&extension));
        assert!(is_plain_extensions(&[]));
        // The value is opaque: whatever it holds, the extension is plain.
        let mut indefinite = extension;
        indefinite[13] = 0x80;
        let mut two_values = extension.to_vec();
        two_values.extend_from_slice(&[0x05, 0x00]);
        two_values[1] += 2;
        two_values[11] += 2;
        assert!(is_plain_extensions(&indefinite) && is_plain_extensions(&two_values));
        let mut constructed_octets = extension;
        constructed_octets[10] = 0x24;
        let mut long_length = extension.to_vec();
        long_length.splice(11..12, [0x81, 0x05]);
        long_length[1] += 1;
        for not_plain in [&constructed_octets[..], &long_length[..], &extension[..16]] {
            assert!(!is_plain_extensions(not_plain));
        }
        // Nesting near the limit always takes the element-by-element walk.
        let mut deep = vec![0x30, 0x00];
        for _ in 0..MAX_DEPTH {
            let mut outer = vec![0x30, deep.len() as u8];
            outer.extend_from_slice(&deep);
            deep = outer;
            if deep.len() > 120 {
                break;
            }
        }
        assert!(is_plain_tree(&deep, 0));
        assert!(!is_plain_tree(&deep, MAX_DEPTH));
    }

    fn name_check(der: &[u8]) -> bool {
        name(&mut Reader::new(der), "a Name").is_ok()
    }

    /// Every input the tests know: the fixtures, the fuzz corpora and artifacts, pyca's
    /// vectors when they are installed (see tests/pyca_vectors.rs), and the DER of every
    /// certificate these decode to.
    fn corpus() -> Vec<Vec<u8>> {
        fn files(dir: &std::path::Path, found: &mut Vec<Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    files(&path, found);
                } else {
                    found.push(std::fs::read(&path).unwrap());
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut inputs = Vec::new();
        for dir in ["tests/data", "fuzz/corpus", "fuzz/artifacts"] {
            files(&root.join(dir), &mut inputs);
        }
        let fixtures = inputs.len();
        if let Ok(versions) = std::fs::read_dir(root.join("target/pyvenv/lib")) {
            for version in versions {
                let vectors = version
                    .unwrap()
                    .path()
                    .join("site-packages/cryptography_vectors");
                files(&vectors.join("x509"), &mut inputs);
            }
        }
        assert!(fixtures > 1000, "the fixtures and fuzz corpora are missing");
        let certificates: Vec<Vec<u8>> = inputs
            .iter()
            .filter_map(|input| crate::decode(input).ok())
            .flatten()
            .map(|certificate| certificate.der().to_vec())
            .collect();
        inputs.extend(certificates);
        inputs.extend(edge_cases());
        inputs
    }

    /// Small elements at the edges of the lean passes, which the corpora may not hold.
    fn edge_cases() -> Vec<Vec<u8>> {
        let sequence = |content: &[u8]| {
            let mut der = vec![0x30];
            match content.len() {
                n if n < 0x80 => der.push(n as u8),
                n if n < 0x100 => der.extend_from_slice(&[0x81, n as u8]),
                n => der.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
            }
            der.extend_from_slice(content);
            der
        };
        // SET { SEQUENCE { OID 2.5.4.3, UTF8String "a" } }
        let rdn = [
            0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'a',
        ];
        // SEQUENCE { OID 2.5.29.19, BOOLEAN TRUE, OCTET STRING { SEQUENCE { } } }
        let extension = [
            0x30, 0x0d, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x03, 0x30, 0x01,
            0x00,
        ];
        let mut cases: Vec<Vec<u8>> = vec![
            sequence(&rdn),
            sequence(&extension),
            // An empty RDN, a Name of an empty SEQUENCE, an attribute without a value.
            sequence(&[0x31, 0x00]),
            sequence(&[]),
            sequence(&[0x31, 0x07, 0x30, 0x05, 0x06, 0x03, 0x55, 0x04, 0x03]),
            // An extension without its value, with two BOOLEANs, with a constructed value.
            sequence(&[0x30, 0x05, 0x06, 0x03, 0x55, 0x1d, 0x13]),
            sequence(&[
                0x30, 0x0d, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x01, 0x01, 0xff, 0x04,
                0x00,
            ]),
            sequence(&[0x30, 0x07, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x24, 0x00]),
            // Every form of length, minimal or not, and lengths cut short.
            vec![0x04, 0x81, 0x7f],
            vec![0x04, 0x82, 0x00, 0x80],
            vec![0x04, 0x83, 0x00, 0x01, 0x00],
            vec![0x04, 0x84, 0x00, 0x00, 0x01, 0x00],
            vec![0x04, 0x85, 0, 0, 0, 1, 0],
            vec![0x30, 0x80, 0x00, 0x00],
            vec![0x04, 0x82, 0x01],
            vec![0x04, 0x83, 0x01, 0x00, 0x00],
            vec![0x04, 0x84, 0x01, 0x00, 0x00, 0x00],
            // Long-form tags.
            vec![0x1f, 0x20, 0x00],
            vec![0x3f, 0x81, 0x00, 0x02, 0x05, 0x00],
            vec![0x1f, 0x05, 0x00],
        ];
        for length in [0x80usize, 0x100, 0x10000] {
            let mut long = vec![0x04, 0x83];
            long.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
            long.resize(long.len() + length, 0);
            cases.push(long.clone());
            long[1] = 0x82;
            cases.push(long);
        }
        // A Name and Extensions whose elements use every length form.
        let mut long_rdn = vec![0x31, 0x81, 0x0a];
        long_rdn.extend_from_slice(&rdn[2..]);
        cases.push(sequence(&long_rdn));
        let mut long_value = vec![0x30, 0x82, 0x00, 0x0d];
        long_value.extend_from_slice(&extension[2..]);
        cases.push(sequence(&long_value));
        // Each inside a SEQUENCE (as a tree), and inside a Name's attribute value.
        let mut wrapped = Vec::new();
        for case in &cases {
            wrapped.push(sequence(case));
            let mut attribute = vec![0x06, 0x03, 0x55, 0x04, 0x03];
            attribute.extend_from_slice(case);
            let mut rdn = vec![0x31];
            let attribute = sequence(&attribute);
            rdn.extend_from_slice(&sequence(&attribute)[1..]);
            wrapped.push(sequence(&rdn));
        }
        cases.extend(wrapped);
        // Nesting at and past the limit.
        let mut deep = vec![0x05, 0x00];
        for levels in 1..=MAX_DEPTH + 3 {
            deep = sequence(&deep);
            if levels >= MAX_DEPTH - 1 {
                cases.push(deep.clone());
            }
        }
        cases
    }

    type Element<'a> = (Tag, usize, usize, &'a [u8], &'a [u8]);

    fn element<'a>(tlv: Tlv<'a>) -> Element<'a> {
        (
            tlv.tag,
            tlv.offset,
            tlv.content_offset,
            tlv.content,
            tlv.raw,
        )
    }

    /// [`walk`] without the lean pass.
    fn walk_element_by_element(tlv: &Tlv<'_>, depth: usize) -> DerResult<()> {
        if depth > MAX_DEPTH {
            return Err(DerError {
                offset: tlv.offset,
                problem: DerProblem::TooDeep,
            });
        }
        if tlv.tag.constructed {
            walk_children(tlv.reader(), depth + 1)
        } else {
            Ok(())
        }
    }

    /// Reads every element of `reader` both ways and checks the lean passes on each
    /// constructed one, then goes down into it. Returns how many elements it read.
    fn agree(mut reader: Reader<'_>, depth: usize) -> usize {
        let mut count = 0;
        while !reader.is_empty() {
            let general = reader.clone().read_any(reader.position);
            let lean = reader.read();
            assert_eq!(lean.map(element), general.map(element));
            let Ok(tlv) = general else {
                break;
            };
            count += 1;
            assert_eq!(walk(&tlv, depth), walk_element_by_element(&tlv, depth));
            if !tlv.tag.constructed {
                continue;
            }
            if is_plain_name(tlv.content) {
                assert_eq!(check_name(&tlv), Ok(()), "a plain Name at {}", tlv.offset);
            }
            if is_plain_extensions(tlv.content) {
                assert_eq!(
                    check_extensions(&tlv),
                    Ok(()),
                    "plain Extensions at {}",
                    tlv.offset
                );
            }
            if depth <= MAX_DEPTH + 1 {
                count += agree(tlv.reader(), depth + 1);
            }
        }
        count
    }

    /// The lean paths (the header read at once in [`Reader::read`], and [`is_plain_name`],
    /// [`is_plain_extensions`] and [`is_plain_tree`]) accept exactly what the general ones do
    /// and give the same element or the same error: on every element of every corpus input,
    /// at every depth, as the start of a Name and of an Extensions SEQUENCE alike.
    #[test]
    fn lean_and_general_paths_agree_on_every_corpus_input() {
        let inputs = corpus();
        let elements: usize = inputs
            .iter()
            .map(|input| agree(Reader::new(input), 0))
            .sum();
        eprintln!("{} inputs, {elements} elements", inputs.len());
        assert!(elements > 100_000);
    }

    #[test]
    fn integer_bits_ignores_leading_zeros() {
        assert_eq!(integer_bits(&[]), 0);
        assert_eq!(integer_bits(&[0, 0]), 0);
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(integer_bits(&[0x7f, 0xff]), 15);
        assert_eq!(integer_bits(&[0x01]), 1);
    }
}
