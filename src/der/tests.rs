//! Unit tests of the reader, the certificate outline and the lean passes.

use super::lean::{is_plain_extensions, is_plain_name, is_plain_tree};
use super::outline::{check_extensions, check_name, name};
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
        0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01,
        0x01, 0xff,
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
/// vectors when they are installed (see tests/decoding/pyca_vectors.rs), and the DER of every
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
        0x30, 0x0d, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x03, 0x30, 0x01, 0x00,
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
