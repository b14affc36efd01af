//! Distinguished names: attribute-level access and RFC 4514 strings.

use std::fmt;

use der::{Encode as _, Tagged as _};

use crate::error::{Error, Result};

/// A distinguished name, RDN by RDN in DER order (most general first, e.g. C, O, CN).
/// Multi-valued RDNs are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinguishedName {
    rdns: Vec<RelativeDistinguishedName>,
    der: Vec<u8>,
}

/// One RDN: one attribute, or several joined by `+`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelativeDistinguishedName {
    attributes: Vec<Attribute>,
}

/// One attribute of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    oid: String,
    value: String,
    /// The value was not a string type: `value` holds `#` + hex of its DER.
    raw: bool,
}

const SHORT_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.4", "SN"),
    ("2.5.4.42", "GN"),
    ("2.5.4.12", "title"),
    ("2.5.4.97", "organizationIdentifier"),
];

fn oid_for(attr: &str) -> Option<&str> {
    SHORT_NAMES.iter().find(|(_, short)| short.eq_ignore_ascii_case(attr)).map(|(oid, _)| *oid)
}

impl DistinguishedName {
    pub(crate) fn from_name(name: &x509_cert::name::Name) -> Result<Self> {
        let der = name.to_der().map_err(|_| Error::malformed("invalid distinguished name"))?;
        let rdns = name
            .as_ref()
            .iter()
            .map(|rdn| RelativeDistinguishedName {
                attributes: rdn.iter().map(Attribute::from_atv).collect(),
            })
            .collect();
        Ok(Self { rdns, der })
    }

    /// The RDNs in DER order.
    pub fn rdns(&self) -> &[RelativeDistinguishedName] {
        &self.rdns
    }

    /// The RFC 4514 string: RDNs in reverse order (`CN=x,O=y,C=US`), multi-valued RDNs
    /// joined by `+`, special characters escaped.
    pub fn to_rfc4514(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, a) in rdn.attributes.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(a.short_name().unwrap_or(&a.oid));
                out.push('=');
                if a.raw {
                    out.push_str(&a.value);
                } else {
                    escape_into(&a.value, &mut out);
                }
            }
        }
        out
    }

    /// The most specific common name: the last CN in DER order.
    pub fn common_name(&self) -> Option<&str> {
        self.values("CN").last()
    }

    /// Values of the attribute `attr` (a short name such as `O`, case-insensitive, or a
    /// dotted OID), in DER order.
    pub fn values<'a>(&'a self, attr: &'a str) -> impl Iterator<Item = &'a str> {
        let oid = oid_for(attr).unwrap_or(attr);
        self.rdns
            .iter()
            .flat_map(|r| r.attributes.iter())
            .filter(move |a| a.oid == oid)
            .map(|a| a.value.as_str())
    }

    /// The name's DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// True for the empty name (as SPIFFE certificates often have).
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc4514())
    }
}

impl RelativeDistinguishedName {
    /// The attributes of this RDN.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
}

impl Attribute {
    fn from_atv(atv: &x509_cert::attr::AttributeTypeAndValue) -> Self {
        let oid = atv.oid.to_string();
        let any = &atv.value;
        let bytes = any.value();
        let tag = any.tag();
        let universal = tag.class() == der::Class::Universal;
        let text = match if universal { tag.number().value() } else { u32::MAX } {
            12 | 19 | 22 | 18 | 26 => std::str::from_utf8(bytes).ok().map(str::to_owned),
            // TeletexString: treated as Latin-1, as most software does.
            20 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            // BMPString: UTF-16BE.
            30 if bytes.len().is_multiple_of(2) => {
                let units = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                char::decode_utf16(units).collect::<Result<String, _>>().ok()
            }
            // UniversalString: UTF-32BE.
            28 if bytes.len().is_multiple_of(4) => bytes
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect::<Option<String>>(),
            _ => None,
        };
        match text {
            Some(value) => Self { oid, value, raw: false },
            None => {
                let der = any.to_der().unwrap_or_default();
                Self { oid, value: format!("#{}", crate::hex::encode(&der, None)), raw: true }
            }
        }
    }

    /// Dotted OID of the attribute type.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// Short name (`CN`, `O`, ...) if known.
    pub fn short_name(&self) -> Option<&'static str> {
        SHORT_NAMES.iter().find(|(oid, _)| *oid == self.oid).map(|(_, short)| *short)
    }

    /// The decoded string value; for non-string types, `#` followed by the hex of the
    /// value's DER (as RFC 4514 prints it).
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// RFC 4514 section 2.4 escaping.
fn escape_into(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let mut s = String::new();
        escape_into(" #a,b+c\"d\\e<f>g;h ", &mut s);
        assert_eq!(s, r#"\ #a\,b\+c\"d\\e\<f\>g\;h\ "#);
        let mut s = String::new();
        escape_into("#x\0", &mut s);
        assert_eq!(s, r"\#x\00");
    }
}
