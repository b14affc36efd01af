//! The crate's one hex codec: lowercase encoding, and decoding of digits in any case.

use std::fmt::Write as _;

/// Lowercase hex of `bytes`, with `sep` between bytes if given: thumbprints, serials,
/// CRL numbers and raw name values.
pub(crate) fn encode(bytes: &[u8], sep: Option<char>) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if let (Some(sep), true) = (sep, i > 0) {
            out.push(sep);
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The value of one hex digit (`0-9`, `a-f`, `A-F`).
pub(crate) fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Exactly 64 hex digits (any case, nothing else) as the 32 bytes of a SHA-256 digest.
pub(crate) fn decode_sha256(text: &[u8]) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *byte = (digit(*hi)? << 4) | digit(*lo)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let text = encode(&bytes, None);
        assert_eq!(decode_sha256(text.as_bytes()), Some(bytes));
        assert_eq!(decode_sha256(text.to_uppercase().as_bytes()), Some(bytes));
        assert_eq!(encode(&[0x0a, 0xff], Some(':')), "0a:ff");
        assert_eq!(encode(&[], Some(':')), "");
        for bad in [&text[..62], &format!("{}g", &text[..63]), &format!("+{}", &text[..63])] {
            assert_eq!(decode_sha256(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(decode_sha256("é".repeat(32).as_bytes()), None);
        assert_eq!((digit(b'F'), digit(b'g'), digit(b'0')), (Some(15), None, Some(0)));
    }
}
