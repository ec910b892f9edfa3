//! A certificate whose text would take over a terminal or hide itself on a page if shown as
//! it is (issue 20, item 9): subject alternative names holding escape sequences (set the
//! window title, clear the screen), CR/LF with a forged line, NUL, and bidirectional and
//! invisible characters, and a common name holding some too. Made with rcgen; the subject
//! alternative names are encoded here, since rcgen's own types refuse what they hold.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(dead_code)]

use rcgen::{CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, KeyPair};
use time::macros::datetime;

/// The common name.
pub(crate) const COMMON_NAME: &str = "evil\u{202e}gpj.exe\u{1b}[2J";

/// The common name as the subject's RFC 4514 string shows it.
pub(crate) const COMMON_NAME_SHOWN: &str = "evil\\E2\\80\\AEgpj.exe\\1B[2J";

/// The subject alternative names: (GeneralName tag, text as the certificate holds it, how
/// `Display` shows it).
pub(crate) const NAMES: &[(u8, &str, &str)] = &[
    (
        DNS,
        "title.example\u{1b}]0;owned\u{7}",
        "DNS:title.example\\u{1B}]0;owned\\u{7}",
    ),
    (
        DNS,
        "clear.example\u{1b}[2J\u{1b}[H",
        "DNS:clear.example\\u{1B}[2J\\u{1B}[H",
    ),
    (
        EMAIL,
        "a@b.example\r\nStatus:              valid",
        "email:a@b.example\\u{D}\\u{A}Status:              valid",
    ),
    (
        URI,
        "https://nul.example/\u{0}hidden",
        "URI:https://nul.example/\\u{0}hidden",
    ),
    (
        DNS,
        "\u{202e}elpmaxe.desrever",
        "DNS:\\u{202E}elpmaxe.desrever",
    ),
    (
        DNS,
        "isolate\u{2066}.example\u{2069}",
        "DNS:isolate\\u{2066}.example\\u{2069}",
    ),
    (
        DNS,
        "zero\u{200b}width.example",
        "DNS:zero\\u{200B}width.example",
    ),
    (DNS, "\u{feff}bom.example", "DNS:\\u{FEFF}bom.example"),
    (
        DNS,
        "back\\u{202E}slash.example",
        "DNS:back\\\\u{202E}slash.example",
    ),
];

const EMAIL: u8 = 0x81;
const DNS: u8 = 0x82;
const URI: u8 = 0x86;

/// Every character of `text` that must never reach a terminal or a page as it is.
pub(crate) fn raw_characters(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(
                    c,
                    '\u{200b}'..='\u{200f}'
                        | '\u{2028}'..='\u{202e}'
                        | '\u{2060}'..='\u{2069}'
                        | '\u{feff}'
                )
        })
        .collect()
}

fn element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut der = vec![tag];
    match content.len() {
        n if n < 0x80 => der.push(n as u8),
        n if n < 0x100 => der.extend_from_slice(&[0x81, n as u8]),
        n => der.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    der.extend_from_slice(content);
    der
}

/// The certificate, in PEM: self-signed, a client certificate valid 2025–2045.
pub(crate) fn certificate() -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, COMMON_NAME);
    params.not_before = datetime!(2025-01-01 00:00 UTC);
    params.not_after = datetime!(2045-01-01 00:00 UTC);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let names: Vec<u8> = NAMES
        .iter()
        .flat_map(|(tag, text, _)| element(*tag, text.as_bytes()))
        .collect();
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[2, 5, 29, 17],
            element(0x30, &names),
        ));
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}
