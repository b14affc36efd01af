//! DER certificates: one, or several concatenated (as HAProxy's `ssl_c_chain_der` sends).

use rustls_pki_types::CertificateDer;

use crate::der_reader::sequence_len;
use crate::error::{Error, Result};
use crate::input::Limits;

/// Splits concatenated DER certificates at their outer `SEQUENCE` boundaries.
///
/// Only the outer framing is checked here (tag, length, no bytes left over); the content
/// is parsed by whoever uses the certificate. At most [`Limits::max_chain_len`]
/// certificates are accepted.
///
/// ```
/// use certauth::{Limits, der::split_concatenated};
/// let two = [0x30, 0x01, 0x00, 0x30, 0x00];
/// assert_eq!(split_concatenated(&two, &Limits::default()).unwrap().len(), 2);
/// assert!(split_concatenated(&two[..4], &Limits::default()).is_err());
/// ```
pub fn split_concatenated(input: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    if input.is_empty() {
        return Err(Error::no_certificate("input is empty"));
    }
    let mut certs = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let offset = input.len() - rest.len();
        limits.check_chain(certs.len() + 1)?;
        let len = sequence_len(rest).map_err(|why| {
            Error::malformed(format!("der certificate at offset {offset}: {why}"))
        })?;
        let (cert, tail) = rest.split_at(len);
        certs.push(CertificateDer::from(cert.to_vec()));
        rest = tail;
    }
    Ok(certs)
}

/// As [`split_concatenated`], taking ownership: a buffer that holds exactly one
/// certificate (the per-request case) becomes it without a copy.
pub(crate) fn split_owned(input: Vec<u8>, limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    match sequence_len(&input) {
        Ok(len) if len == input.len() => {
            limits.check_chain(1)?;
            Ok(vec![CertificateDer::from(input)])
        }
        _ => split_concatenated(&input, limits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const LEAF: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");
    const INTERMEDIATE: &[u8] = include_bytes!("../../tests/data/pki/intermediate.der");

    #[test]
    fn splits_a_concatenated_chain() {
        let both = [LEAF, INTERMEDIATE].concat();
        let certs = split_concatenated(&both, &Limits::default()).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].as_ref(), LEAF);
        assert_eq!(certs[1].as_ref(), INTERMEDIATE);
    }

    #[test]
    fn rejects_bad_framing() {
        let l = Limits::default();
        let cases: &[(&[u8], ErrorKind, &str)] = &[
            (b"", ErrorKind::NoCertificate, "input is empty"),
            (&LEAF[..LEAF.len() - 1], ErrorKind::MalformedInput, "offset 0: is truncated"),
            (&[0x31, 0x00], ErrorKind::MalformedInput, "does not start with a sequence"),
            (&[0x30, 0x80, 0x00, 0x00], ErrorKind::MalformedInput, "unsupported length"),
            (&[0x30, 0x81, 0x05], ErrorKind::MalformedInput, "non-minimal"),
            (&[0x30, 0x82, 0x00, 0x90], ErrorKind::MalformedInput, "non-minimal"),
            (&[0x30, 0x85, 1, 1, 1, 1, 1], ErrorKind::MalformedInput, "unsupported length"),
            (&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], ErrorKind::MalformedInput, "truncated"),
        ];
        for (input, kind, text) in cases {
            let e = split_concatenated(input, &l).unwrap_err();
            assert_eq!(e.kind(), *kind, "{input:?}");
            assert!(e.message().contains(text), "{input:?}: {e}");
        }
        let trailing = [LEAF, &[0x00][..]].concat();
        let e = split_concatenated(&trailing, &l).unwrap_err();
        assert!(e.message().contains(&format!("offset {}", LEAF.len())), "{e}");
    }

    #[test]
    fn chain_length_is_bounded() {
        let many = LEAF.repeat(17);
        let e = split_concatenated(&many, &Limits::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
        assert!(split_concatenated(&LEAF.repeat(16), &Limits::default()).is_ok());
    }
}
