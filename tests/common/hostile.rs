//! Hostile uploads made on the fly (never committed as large files): certificates of about
//! 1 MiB holding as many extensions, name attributes, subject alternative names, EKU entries
//! or policies as fit, and large bundles. Shared by `tests/hostile.rs` and `benches/decode.rs`.
//! The certificates are well-formed DER with a P-256 key and clientAuth; their signatures
//! are not valid (nothing in the decoder checks one).

#![allow(dead_code, clippy::indexing_slicing)]

/// One DER element: identifier octet, definite minimal length, content.
pub(crate) fn tlv(identifier: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![identifier];
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The content octets of an OBJECT IDENTIFIER given by its arcs.
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |mut value: u64| {
        let mut groups = vec![(value & 0x7f) as u8];
        value >>= 7;
        while value > 0 {
            groups.push(0x80 | (value & 0x7f) as u8);
            value >>= 7;
        }
        groups.reverse();
        out.extend_from_slice(&groups);
    };
    push(arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push(*arc);
    }
    out
}

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const OID: u8 = 0x06;
pub(crate) const OCTET_STRING: u8 = 0x04;

/// A private OID, 1.3.6.1.4.1.32473.<i>.1 (32473 is the documentation enterprise number).
/// They all have the same length and last octet, as the OIDs of a hostile upload would:
/// no shortcut tells two of them apart without comparing them whole.
pub(crate) fn private_oid(i: u64) -> Vec<u8> {
    oid(&[1, 3, 6, 1, 4, 1, 32473, i, 1])
}

/// An Extension SEQUENCE.
pub(crate) fn extension(oid_content: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut content = tlv(OID, oid_content);
    if critical {
        content.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    content.extend(tlv(OCTET_STRING, value));
    tlv(SEQUENCE, &content)
}

/// A Name of RDNs, each one attribute: CN (2.5.4.3) as a UTF8String.
pub(crate) fn name<'a>(common_names: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut content = Vec::new();
    for cn in common_names {
        let mut attribute = tlv(OID, &[0x55, 0x04, 0x03]);
        attribute.extend(tlv(0x0c, cn.as_bytes()));
        content.extend(tlv(SET, &tlv(SEQUENCE, &attribute)));
    }
    tlv(SEQUENCE, &content)
}

/// The extendedKeyUsage extension listing clientAuth then `others`.
pub(crate) fn eku_client_auth(others: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut list = tlv(OID, &oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]));
    for other in others {
        list.extend(tlv(OID, &other));
    }
    extension(&oid(&[2, 5, 29, 37]), false, &tlv(SEQUENCE, &list))
}

/// A v3 certificate with these names and extensions (and a P-256 key, made-up values).
pub(crate) fn certificate(subject: &[u8], issuer: &[u8], extensions: &[Vec<u8>]) -> Vec<u8> {
    let ecdsa_sha256 = tlv(SEQUENCE, &tlv(OID, &oid(&[1, 2, 840, 10045, 4, 3, 2])));
    let mut tbs = tlv(0xa0, &tlv(0x02, &[0x02]));
    tbs.extend(tlv(0x02, &[0x01, 0x02, 0x03, 0x04]));
    tbs.extend_from_slice(&ecdsa_sha256);
    tbs.extend_from_slice(issuer);
    let mut validity = tlv(0x17, b"250101000000Z");
    validity.extend(tlv(0x17, b"450101000000Z"));
    tbs.extend(tlv(SEQUENCE, &validity));
    tbs.extend_from_slice(subject);
    let mut algorithm = tlv(OID, &oid(&[1, 2, 840, 10045, 2, 1]));
    algorithm.extend(tlv(OID, &oid(&[1, 2, 840, 10045, 3, 1, 7])));
    let mut point = vec![0x00, 0x04];
    point.extend((0..64).map(|i| i as u8 + 1));
    let mut spki = tlv(SEQUENCE, &algorithm);
    spki.extend(tlv(0x03, &point));
    tbs.extend(tlv(SEQUENCE, &spki));
    if !extensions.is_empty() {
        tbs.extend(tlv(0xa3, &tlv(SEQUENCE, &extensions.concat())));
    }
    let mut certificate = tlv(SEQUENCE, &tbs);
    certificate.extend_from_slice(&ecdsa_sha256);
    certificate.extend(tlv(
        0x03,
        &[0x00, 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
    ));
    tlv(SEQUENCE, &certificate)
}

fn small_name(cn: &str) -> Vec<u8> {
    name([cn])
}

/// How many items of `item_size` bytes fill a certificate of about `target` bytes.
fn fit(target: usize, item_size: usize) -> usize {
    (target - 400) / item_size
}

/// About `target` bytes of private extensions (value NULL), then clientAuth EKU. With
/// `duplicate`, the first private extension appears once more at the end.
pub(crate) fn many_extensions(target: usize, duplicate: bool) -> Vec<u8> {
    let item = extension(&private_oid(100_000), false, &[0x05, 0x00]).len();
    let count = fit(target, item);
    let mut extensions: Vec<Vec<u8>> = (0..count as u64)
        .map(|i| extension(&private_oid(100_000 + i), false, &[0x05, 0x00]))
        .collect();
    extensions.push(eku_client_auth([]));
    if duplicate {
        extensions.push(extension(&private_oid(100_000), false, &[0x05, 0x00]));
    }
    certificate(&small_name("issuer"), &small_name("subject"), &extensions)
}

/// A subject of about `target` bytes of one-attribute RDNs.
pub(crate) fn many_rdns(target: usize) -> Vec<u8> {
    let count = fit(target, 12);
    let subject = name(std::iter::repeat_n("a", count));
    certificate(&small_name("issuer"), &subject, &[eku_client_auth([])])
}

/// A subjectAltName of about `target` bytes of short DNS names.
pub(crate) fn many_sans(target: usize) -> Vec<u8> {
    let count = fit(target, 8);
    let mut names = Vec::with_capacity(count * 8);
    for i in 0..count {
        names.extend(tlv(0x82, format!("{:06}", i % 1_000_000).as_bytes()));
    }
    let san = extension(&oid(&[2, 5, 29, 17]), false, &tlv(SEQUENCE, &names));
    certificate(
        &small_name("issuer"),
        &small_name("subject"),
        &[san, eku_client_auth([])],
    )
}

/// An extendedKeyUsage of about `target` bytes of distinct private purposes.
pub(crate) fn many_eku_entries(target: usize) -> Vec<u8> {
    let count = fit(target, 2 + private_oid(100_000).len());
    let eku = eku_client_auth((0..count as u64).map(|i| private_oid(100_000 + i)));
    certificate(&small_name("issuer"), &small_name("subject"), &[eku])
}

/// A certificatePolicies of about `target` bytes of distinct private policy OIDs.
pub(crate) fn many_policies(target: usize) -> Vec<u8> {
    let count = fit(target, 4 + private_oid(100_000).len());
    let mut policies = Vec::new();
    for i in 0..count as u64 {
        policies.extend(tlv(SEQUENCE, &tlv(OID, &private_oid(100_000 + i))));
    }
    let extension = extension(&oid(&[2, 5, 29, 32]), false, &tlv(SEQUENCE, &policies));
    certificate(
        &small_name("issuer"),
        &small_name("subject"),
        &[extension, eku_client_auth([])],
    )
}

/// `count` distinct small certificates.
pub(crate) fn distinct_certificates(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            certificate(
                &small_name("issuer"),
                &small_name(&format!("client {i}")),
                &[eku_client_auth([])],
            )
        })
        .collect()
}

/// A DER PKCS#7 SignedData bundle of these certificates, as `openssl crl2pkcs7` writes it.
pub(crate) fn pkcs7(certificates: &[Vec<u8>]) -> Vec<u8> {
    let mut signed = tlv(0x02, &[0x01]);
    signed.extend(tlv(SET, &[]));
    signed.extend(tlv(
        SEQUENCE,
        &tlv(OID, &oid(&[1, 2, 840, 113549, 1, 7, 1])),
    ));
    signed.extend(tlv(0xa0, &certificates.concat()));
    signed.extend(tlv(SET, &[]));
    let mut content_info = tlv(OID, &oid(&[1, 2, 840, 113549, 1, 7, 2]));
    content_info.extend(tlv(0xa0, &tlv(SEQUENCE, &signed)));
    tlv(SEQUENCE, &content_info)
}

/// A PEM file of these certificates, 64 characters a line.
pub(crate) fn pem(certificates: &[Vec<u8>]) -> Vec<u8> {
    use base64::Engine;
    let mut out = String::new();
    for der in certificates {
        let text = base64::engine::general_purpose::STANDARD.encode(der);
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in text.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

/// About `target` bytes of text lines made of dashes and armour-like words, none of them
/// armour, then a BEGIN line without its END: every line is looked at as possible armour.
pub(crate) fn dashed_text(target: usize) -> Vec<u8> {
    let line = b"----- -----BEGIN-----END ----\n";
    let mut text = Vec::with_capacity(target);
    while text.len() + line.len() + 40 < target {
        text.extend_from_slice(line);
    }
    text.extend_from_slice(b"-----BEGIN CERTIFICATE-----\nMIIB\n");
    text
}
