//! Traefik `passTLSClientCert` (`X-Forwarded-Tls-Client-Cert`): every certificate the
//! client sent, leaf first, each as base64 of its DER (a PEM body without armour or line
//! breaks), joined with `,`. Traefik v2 before 2.9.4 additionally applied Go's
//! `url.QueryEscape` to each certificate (`%2B`, `%2F`, `%3D`); such items are
//! percent-decoded first (strictly: `+` stays `+`, which QueryEscape never emits raw).
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::input::{Limits, base64, der, escaped_pem};

/// Decodes a `,`-separated list of base64 DER certificates (optionally URL-escaped).
pub(crate) fn decode(value: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    if value.is_empty() {
        return Err(Error::no_certificate("empty value"));
    }
    let mut certs = Vec::new();
    let mut offset = 0;
    let mut scratch = Vec::new();
    let mut rest = Some(value);
    while let Some(r) = rest {
        let (item, tail) = match memchr::memchr(b',', r) {
            Some(i) => (r.get(..i).unwrap_or_default(), r.get(i + 1..)),
            None => (r, None),
        };
        rest = tail;
        let at = offset;
        offset += item.len() + 1;
        let trimmed = item.trim_ascii();
        if trimmed.is_empty() {
            return Err(Error::malformed(format!("empty list item at offset {at}")));
        }
        let bytes = if memchr::memchr(b'%', trimmed).is_some() {
            scratch.clear();
            escaped_pem::normalize(trimmed, true, at, &mut scratch)?;
            base64::decode(&scratch, "base64 certificate")?
        } else {
            base64::decode(trimmed, "base64 certificate")?
        };
        for cert in der::split_owned(bytes, limits)
            .map_err(|e| Error::new(e.kind(), format!("list item at offset {at}: {e}")))?
        {
            limits.check_chain(certs.len() + 1)?;
            certs.push(cert);
        }
    }
    Ok(certs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use ::base64::Engine as _;

    const LEAF: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");
    const INTERMEDIATE: &[u8] = include_bytes!("../../tests/data/pki/intermediate.der");

    #[test]
    fn plain_and_escaped_lists() {
        let b64 = |d: &[u8]| ::base64::engine::general_purpose::STANDARD.encode(d);
        let l = Limits::default();
        let v3 = format!("{},{}", b64(LEAF), b64(INTERMEDIATE));
        let certs = decode(v3.as_bytes(), &l).unwrap();
        assert_eq!((certs[0].as_ref(), certs[1].as_ref()), (LEAF, INTERMEDIATE));
        let v2 = v3.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        assert_eq!(decode(v2.as_bytes(), &l).unwrap(), certs);
        let e = decode(format!("{},", b64(LEAF)).as_bytes(), &l).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedInput);
    }
}
