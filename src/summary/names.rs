//! Distinguished names and their attributes, and subject alternative names.

use super::*;

/// An X.509 distinguished name: relative distinguished names, each one or more attributes.
///
/// `Display` gives the RFC 4514 string (most specific first, e.g. `CN=a,O=b,C=DE`) with the
/// attribute names OpenSSL uses; the characters [`Visible`] escapes are written as the
/// `\XX` hex pairs of their UTF-8 bytes, so the string is safe on a terminal and a page.
///
/// Names are equal when their attributes are. The attributes are read from the
/// certificate's DER (whose structure was checked when it was parsed) the first time they
/// are asked for: most certificates are stored and listed far more often than their names
/// are looked at.
#[derive(Clone, Default)]
pub struct DistinguishedName {
    /// DER holding the Name element at `range`.
    der: Arc<[u8]>,
    range: Range<usize>,
    rdns: OnceLock<Vec<Vec<Attribute>>>,
}

impl DistinguishedName {
    /// The Name element at `range` of `der`, which the certificate parse has checked.
    pub(crate) fn from_der(der: Arc<[u8]>, range: Range<usize>) -> Self {
        DistinguishedName {
            der,
            range,
            rdns: OnceLock::new(),
        }
    }

    /// The Name element's DER, as the certificate encodes it.
    pub(crate) fn der(&self) -> &[u8] {
        self.der.get(self.range.clone()).unwrap_or_default()
    }

    /// The relative distinguished names in encoded order (least specific first).
    pub fn rdns(&self) -> &[Vec<Attribute>] {
        self.rdns
            .get_or_init(|| read_rdns(self.der.get(self.range.clone()).unwrap_or_default()))
    }

    /// All attributes in encoded order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.rdns().iter().flatten()
    }

    /// The text of the last (most specific) attribute with this dotted OID, as the
    /// certificate holds it: show it through [`Visible`].
    pub fn get(&self, oid: &str) -> Option<&str> {
        self.attributes()
            .filter(|a| a.oid.as_str() == oid)
            .last()
            .and_then(|a| a.value.as_text())
    }

    /// The most specific common name (CN), if any.
    pub fn common_name(&self) -> Option<&str> {
        self.get("2.5.4.3")
    }

    /// The most specific organisation (O), if any.
    pub fn organization(&self) -> Option<&str> {
        self.get("2.5.4.10")
    }

    /// Whether the name has no attribute at all.
    pub fn is_empty(&self) -> bool {
        self.rdns().iter().all(Vec::is_empty)
    }
}

impl PartialEq for DistinguishedName {
    fn eq(&self, other: &Self) -> bool {
        self.rdns() == other.rdns()
    }
}

impl Eq for DistinguishedName {}

impl Hash for DistinguishedName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rdns().hash(state);
    }
}

/// The attributes of a Name element, whose structure the strict DER check has checked.
/// Every vector is allocated at its final size: a name may hold 80,000 RDNs.
pub(super) fn read_rdns(name: &[u8]) -> Vec<Vec<Attribute>> {
    let Ok(name) = Reader::new(name).expect(Tag::SEQUENCE, "a Name") else {
        return Vec::new();
    };
    let sets = || {
        let mut sets = name.reader();
        std::iter::from_fn(move || sets.read().ok())
    };
    let mut rdns = Vec::with_capacity(sets().count());
    for set in sets() {
        let attributes = || {
            let mut set = set.reader();
            std::iter::from_fn(move || set.read().ok())
        };
        let mut rdn = Vec::with_capacity(attributes().count());
        for attribute in attributes() {
            let mut fields = attribute.reader();
            if let (Ok(oid), Ok(value)) = (fields.read(), fields.read()) {
                rdn.push(Attribute {
                    oid: Oid::from_content(oid.content),
                    value: attribute_value(&value),
                });
            }
        }
        rdns.push(rdn);
    }
    rdns
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An empty RDN has nothing to show: it is skipped, as OpenSSL does.
        let shown = self.rdns().iter().rev().filter(|rdn| !rdn.is_empty());
        for (i, rdn) in shown.enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            for (j, attribute) in rdn.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                write!(f, "{attribute}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName(\"{self}\")")
    }
}

serialize_as_text!(DistinguishedName);

/// One attribute of a distinguished name, such as `CN=example`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The attribute type.
    pub oid: Oid,
    /// The value.
    pub value: AttributeValue,
}

impl Attribute {
    /// The short name OpenSSL uses for this attribute type (`CN`, `O`, `emailAddress`, …).
    pub fn short_name(&self) -> Option<&'static str> {
        let name = match self.oid.as_str() {
            "2.5.4.3" => "CN",
            "2.5.4.6" => "C",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "2.5.4.9" => "street",
            "2.5.4.4" => "SN",
            "2.5.4.5" => "serialNumber",
            "2.5.4.12" => "title",
            "2.5.4.13" => "description",
            "2.5.4.15" => "businessCategory",
            "2.5.4.17" => "postalCode",
            "2.5.4.42" => "GN",
            "2.5.4.43" => "initials",
            "2.5.4.44" => "generationQualifier",
            "2.5.4.46" => "dnQualifier",
            "2.5.4.65" => "pseudonym",
            "2.5.4.97" => "organizationIdentifier",
            "0.9.2342.19200300.100.1.25" => "DC",
            "0.9.2342.19200300.100.1.1" => "UID",
            "1.2.840.113549.1.9.1" => "emailAddress",
            "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
            "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
            "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
            _ => return None,
        };
        Some(name)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.short_name() {
            Some(name) => f.write_str(name)?,
            None => f.write_str(self.oid.as_str())?,
        }
        f.write_str("=")?;
        match &self.value {
            AttributeValue::Text(text) => write_escaped(f, text),
            AttributeValue::Der(der) => write!(f, "#{}", hex::encode(der)),
        }
    }
}

/// RFC 4514 §2.4 escaping, plus every character [`Visible`] escapes (controls, bidirectional
/// controls, invisible characters) as the `\XX` hex pairs of its UTF-8 bytes, which RFC 4514
/// allows for any character: the string stays one a parser reads back, and shows nothing
/// that a terminal or a page would obey or hide.
pub(super) fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => write!(f, "\\{c}")?,
            '#' if i == 0 => f.write_str("\\#")?,
            ' ' if i == 0 || i == last => f.write_str("\\ ")?,
            c if is_hidden(c) => {
                for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                    write!(f, "\\{byte:02X}")?;
                }
            }
            c => write!(f, "{c}")?,
        }
    }
    Ok(())
}

/// An attribute's value: text for the string types, else the DER encoding (shown `#hex`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeValue {
    /// A string type (UTF8String, PrintableString, IA5String, BMPString, TeletexString as
    /// Latin-1, …) decoded to text.
    Text(String),
    /// Any other type: the whole DER element.
    Der(Vec<u8>),
}

impl AttributeValue {
    /// The text, if the value is a string type, as the certificate holds it: show it
    /// through [`Visible`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AttributeValue::Text(text) => Some(text),
            AttributeValue::Der(_) => None,
        }
    }
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// `DNS:` a host name.
    Dns(String),
    /// `IP:` an IPv4 or IPv6 address.
    Ip(IpAddr),
    /// `email:` an RFC 822 address.
    Email(String),
    /// `URI:` a URI.
    Uri(String),
    /// `DirName:` a distinguished name.
    DirectoryName(DistinguishedName),
    /// `RID:` a registered OID.
    RegisteredId(Oid),
    /// `othername:` a name of the given type.
    OtherName(Oid),
    /// A name this crate does not decode (x400Address, ediPartyName, an IP address of the
    /// wrong length, text that is not UTF-8): a short description.
    Unsupported(String),
}

impl SubjectAltName {
    /// The name as `Display` shows it (`DNS:a.example`), but with the certificate's text as
    /// it is, unescaped: for output that escapes on its own, such as JSON (the `serde` form
    /// is this one). Never print it to a terminal or a page; `Display` is made for those.
    pub fn to_unescaped_string(&self) -> String {
        Shown {
            name: self,
            escaped: false,
        }
        .to_string()
    }
}

/// A subject alternative name with its text escaped by [`Visible`] or as it is.
struct Shown<'a> {
    name: &'a SubjectAltName,
    escaped: bool,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |f: &mut fmt::Formatter<'_>, prefix: &str, text: &str| {
            f.write_str(prefix)?;
            if self.escaped {
                write!(f, "{}", Visible::new(text))
            } else {
                f.write_str(text)
            }
        };
        match self.name {
            SubjectAltName::Dns(name) => show(f, "DNS:", name),
            SubjectAltName::Ip(address) => write!(f, "IP:{address}"),
            SubjectAltName::Email(address) => show(f, "email:", address),
            SubjectAltName::Uri(uri) => show(f, "URI:", uri),
            SubjectAltName::DirectoryName(name) => write!(f, "DirName:{name}"),
            SubjectAltName::RegisteredId(oid) => write!(f, "RID:{oid}"),
            SubjectAltName::OtherName(oid) => write!(f, "othername:{oid}"),
            SubjectAltName::Unsupported(what) => f.write_str(what),
        }
    }
}

impl fmt::Display for SubjectAltName {
    /// As OpenSSL prints them (`DNS:a.example`, `IP:10.0.0.1`, `email:x@y`, `URI:…`), the
    /// certificate's text shown by [`Visible`]: safe on a terminal and, HTML-escaped, on a page.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Shown {
            name: self,
            escaped: true,
        }
        .fmt(f)
    }
}

/// JSON and every other serde format get the text as it is: they escape on their own.
#[cfg(feature = "serde")]
impl serde::Serialize for SubjectAltName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Shown {
            name: self,
            escaped: false,
        })
    }
}

pub(super) fn distinguished_name(name: &x509_parser::x509::X509Name<'_>) -> DistinguishedName {
    let der: Arc<[u8]> = name.as_raw().into();
    let range = 0..der.len();
    DistinguishedName::from_der(der, range)
}

pub(super) fn attribute_value(value: &der::Tlv<'_>) -> AttributeValue {
    let data = value.content;
    let text = if value.tag.class != der::UNIVERSAL || value.tag.constructed {
        None
    } else {
        match value.tag.number {
            // UTF8String, NumericString, PrintableString, IA5String, VisibleString
            12 | 18 | 19 | 22 | 26 => std::str::from_utf8(data).ok().map(str::to_string),
            // TeletexString: treated as Latin-1, as OpenSSL does.
            20 => Some(data.iter().map(|b| char::from(*b)).collect()),
            // BMPString: UTF-16BE.
            30 => {
                let units: Vec<u16> = data
                    .chunks(2)
                    .map(|pair| match pair {
                        [high, low] => u16::from_be_bytes([*high, *low]),
                        _ => 0xfffd,
                    })
                    .collect();
                String::from_utf16(&units).ok()
            }
            // UniversalString: UTF-32BE.
            28 => data
                .chunks(4)
                .map(|quad| match quad {
                    [a, b, c, d] => char::from_u32(u32::from_be_bytes([*a, *b, *c, *d])),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    match text {
        Some(text) => AttributeValue::Text(text),
        None => AttributeValue::Der(value.raw.to_vec()),
    }
}

pub(crate) fn alt_name(name: &GeneralName<'_>) -> SubjectAltName {
    match name {
        GeneralName::DNSName(text) => SubjectAltName::Dns((*text).to_string()),
        GeneralName::RFC822Name(text) => SubjectAltName::Email((*text).to_string()),
        GeneralName::URI(text) => SubjectAltName::Uri((*text).to_string()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => {
                let mut octets = [0u8; 4];
                octets.copy_from_slice(bytes);
                SubjectAltName::Ip(IpAddr::from(octets))
            }
            16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(bytes);
                SubjectAltName::Ip(IpAddr::from(octets))
            }
            _ => SubjectAltName::Unsupported(format!("IP:<invalid:{}>", hex::encode(bytes))),
        },
        GeneralName::DirectoryName(name) => SubjectAltName::DirectoryName(distinguished_name(name)),
        GeneralName::RegisteredID(oid) => SubjectAltName::RegisteredId(Oid::from_parser(oid)),
        GeneralName::OtherName(oid, _) => SubjectAltName::OtherName(Oid::from_parser(oid)),
        GeneralName::X400Address(_) => SubjectAltName::Unsupported("X400Name:<unsupported>".into()),
        GeneralName::EDIPartyName(_) => {
            SubjectAltName::Unsupported("EdiPartyName:<unsupported>".into())
        }
        GeneralName::Invalid(_, _) => SubjectAltName::Unsupported("<invalid name>".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Name of one RDN holding one attribute of this type (OID content) with this
    /// UTF8String value.
    fn name(oid: &[u8], value: &str) -> DistinguishedName {
        let element = |tag: u8, content: &[u8]| {
            let mut der = vec![tag, u8::try_from(content.len()).unwrap()];
            der.extend_from_slice(content);
            der
        };
        let mut attribute = element(0x06, oid);
        attribute.extend(element(0x0c, value.as_bytes()));
        let der = element(0x30, &element(0x31, &element(0x30, &attribute)));
        let range = 0..der.len();
        DistinguishedName::from_der(der.into(), range)
    }

    #[test]
    fn names_show_hidden_characters_of_known_and_unknown_attributes_as_utf8_hex_pairs() {
        let common_name = [0x55, 0x04, 0x03];
        let unknown = [0x2a, 0x03, 0x04];
        assert_eq!(
            name(
                &common_name,
                "a\u{1b}[2J\r\n\u{0}\u{202e}\u{2066}\u{200b}\u{feff}\u{85}é"
            )
            .to_string(),
            "CN=a\\1B[2J\\0D\\0A\\00\\E2\\80\\AE\\E2\\81\\A6\\E2\\80\\8B\\EF\\BB\\BF\\C2\\85é"
        );
        assert_eq!(
            name(&unknown, "x\u{202e}y\\").to_string(),
            "1.2.3.4=x\\E2\\80\\AEy\\\\"
        );
        // The attribute's text itself stays as the certificate holds it.
        assert_eq!(
            name(&unknown, "x\u{202e}y")
                .attributes()
                .next()
                .unwrap()
                .value
                .as_text(),
            Some("x\u{202e}y")
        );
    }

    #[test]
    fn alternative_names_show_their_text_through_visible_and_keep_it_unescaped_on_request() {
        let dns = SubjectAltName::Dns("a\u{1b}]0;t\u{7}\u{202e}\\.example".into());
        assert_eq!(
            dns.to_string(),
            "DNS:a\\u{1B}]0;t\\u{7}\\u{202E}\\\\.example"
        );
        assert_eq!(
            dns.to_unescaped_string(),
            "DNS:a\u{1b}]0;t\u{7}\u{202e}\\.example"
        );
        let email = SubjectAltName::Email("a@b\r\nforged".into());
        assert_eq!(email.to_string(), "email:a@b\\u{D}\\u{A}forged");
        let uri = SubjectAltName::Uri("https://x/\u{0}\u{feff}".into());
        assert_eq!(uri.to_string(), "URI:https://x/\\u{0}\\u{FEFF}");
        assert_eq!(uri.to_unescaped_string(), "URI:https://x/\u{0}\u{feff}");
        let ip = SubjectAltName::Ip([10, 0, 0, 1].into());
        assert_eq!(ip.to_string(), ip.to_unescaped_string());
    }
}
