//! The lean passes: scans of Names, Extensions and element trees in the header forms almost
//! every certificate uses, which answer "accepted" without building readers, or "not sure".
//! They never accept what the element-by-element checks refuse (the test
//! `lean_and_general_paths_agree_on_every_corpus_input` checks this on every corpus input).

use super::MAX_DEPTH;
#[cfg(doc)]
use super::{outline::check_certificate, outline::name, walk};

/// Whether a Name's content is, in the forms almost every certificate uses, one that [`name`]
/// accepts: SETs of SEQUENCEs of an OBJECT IDENTIFIER and one primitive value, each with a
/// one-octet identifier and a minimal length of at most four octets. `false` means "not
/// sure": [`name`] then checks the Name element by element and says what is wrong.
pub(super) fn is_plain_name(mut rdns: &[u8]) -> bool {
    const SET: u8 = 0x31;
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    while !rdns.is_empty() {
        let Some((SET, mut attributes, rest)) = common_element(rdns) else {
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
pub(super) fn is_plain_extensions(mut extensions: &[u8]) -> bool {
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
pub(super) fn is_plain_tree(mut data: &[u8], depth: usize) -> bool {
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
