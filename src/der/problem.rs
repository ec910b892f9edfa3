//! What the DER reader reports: the problem, the element it is in, and the element's type
//! as messages name it.

use std::fmt;

/// The ASN.1 type of an element, as messages name it: `INTEGER`, `SEQUENCE`, `[3]`, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementKind {
    pub(crate) class: u8,
    pub(crate) constructed: bool,
    pub(crate) number: u32,
}

impl fmt::Display for ElementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNIVERSAL: &[&str] = &[
            "end-of-contents",
            "BOOLEAN",
            "INTEGER",
            "BIT STRING",
            "OCTET STRING",
            "NULL",
            "OBJECT IDENTIFIER",
            "ObjectDescriptor",
            "EXTERNAL",
            "REAL",
            "ENUMERATED",
            "EMBEDDED PDV",
            "UTF8String",
            "RELATIVE-OID",
            "TIME",
            "universal 15 element",
            "SEQUENCE",
            "SET",
            "NumericString",
            "PrintableString",
            "TeletexString",
            "VideotexString",
            "IA5String",
            "UTCTime",
            "GeneralizedTime",
            "GraphicString",
            "VisibleString",
            "GeneralString",
            "UniversalString",
            "CHARACTER STRING",
            "BMPString",
        ];
        let number = usize::try_from(self.number).unwrap_or(usize::MAX);
        match self.class {
            0 => match UNIVERSAL.get(number) {
                Some(name) => f.write_str(name),
                None => write!(f, "universal {} element", self.number),
            },
            1 => write!(f, "[APPLICATION {}] element", self.number),
            2 => write!(f, "[{}] element", self.number),
            _ => write!(f, "[PRIVATE {}] element", self.number),
        }
    }
}

/// The element another one sits in, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerContainer {
    /// An element of this kind, starting at this offset.
    Element {
        /// Its type.
        kind: ElementKind,
        /// Where it starts.
        offset: usize,
    },
    /// The value (extnValue) of an extension.
    ExtensionValue,
}

impl fmt::Display for DerContainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerContainer::Element { kind, offset } => write!(f, "the {kind} at byte {offset}"),
            DerContainer::ExtensionValue => f.write_str("the extension value"),
        }
    }
}

/// A structural DER problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerProblem {
    /// An element's length runs past the end of the data: the file (or the data of its
    /// PEM block) is cut short.
    Truncated,
    /// An element (its header or its content) runs past the end of the element that holds
    /// it: the length of one of the two is wrong.
    RunsPast {
        /// The element whose length is too long.
        element: ElementKind,
        /// The element it sits in.
        container: DerContainer,
    },
    /// An indefinite length (BER, not DER).
    IndefiniteLength,
    /// A length written with more octets than needed (BER, not DER).
    NonMinimalLength,
    /// A length of more than four octets.
    LengthTooLarge,
    /// A tag number written in the long form although it fits the short form.
    NonMinimalTag,
    /// A tag number that does not fit 32 bits.
    TagTooLarge,
    /// Elements nested deeper than the decoder allows.
    TooDeep,
    /// An element has the wrong tag (class, form or number) for its position.
    UnexpectedTag {
        /// What was expected there.
        expected: &'static str,
    },
    /// A required element is absent.
    Missing {
        /// What was expected there.
        expected: &'static str,
    },
    /// A BIT STRING's first octet (the count of unused bits in its last octet) is missing,
    /// more than 7, or not 0 in a string with no bits.
    UnusedBits {
        /// The BIT STRING.
        inside: &'static str,
    },
    /// Bytes remain inside a structure after its last field.
    UnexpectedContent {
        /// The structure.
        inside: &'static str,
    },
}

impl fmt::Display for DerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerProblem::Truncated => {
                f.write_str("the data is truncated (an element runs past the end of the data)")
            }
            DerProblem::RunsPast { element, container } => {
                write!(f, "the {element} runs past the end of {container}")
            }
            DerProblem::IndefiniteLength => {
                f.write_str("indefinite length (BER), not allowed in DER")
            }
            DerProblem::NonMinimalLength => {
                f.write_str("length not in its shortest form, not allowed in DER")
            }
            DerProblem::LengthTooLarge => f.write_str("length too large"),
            DerProblem::NonMinimalTag => {
                f.write_str("tag not in its shortest form, not allowed in DER")
            }
            DerProblem::TagTooLarge => f.write_str("tag number too large"),
            DerProblem::TooDeep => f.write_str("elements nested too deeply"),
            DerProblem::UnexpectedTag { expected } => {
                write!(f, "expected {expected}, found another element")
            }
            DerProblem::Missing { expected } => {
                write!(f, "expected {expected}, found the end of the structure")
            }
            DerProblem::UnusedBits { inside } => {
                write!(f, "{inside} has an invalid count of unused bits")
            }
            DerProblem::UnexpectedContent { inside } => {
                write!(f, "unexpected bytes at the end of {inside}")
            }
        }
    }
}
