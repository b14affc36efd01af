//! Differential: certauth's certificate model against x509-parser. Where both accept
//! the same DER, they must read the same serial, names, validity, SANs and CA flag.
//!
//! Acceptance itself is not compared: the two are strict in different places (x509-parser
//! refuses unknown key-algorithm parameters certauth reports as `Other`; certauth refuses
//! non-canonical DER that x509-parser tolerates), so a one-sided refusal is not a bug
//! signal. A difference in what both read is.
#![no_main]
use std::net::IpAddr;

use certauth::Certificate;
use libfuzzer_sys::fuzz_target;
use x509_parser::extensions::GeneralName;

fn trim_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

fuzz_target!(|data: &[u8]| {
    let Ok(ours) = Certificate::from_der(data) else { return };
    let Ok((rest, theirs)) = x509_parser::parse_x509_certificate(data) else { return };
    if !rest.is_empty() {
        return;
    }
    assert_eq!(trim_zeros(ours.serial_bytes()), trim_zeros(theirs.raw_serial()), "serial");
    assert_eq!(ours.subject().der(), theirs.subject().as_raw(), "subject");
    assert_eq!(ours.issuer().der(), theirs.issuer().as_raw(), "issuer");
    assert_eq!(ours.not_before().as_unix_secs(), theirs.validity().not_before.timestamp(), "notBefore");
    assert_eq!(ours.not_after().as_unix_secs(), theirs.validity().not_after.timestamp(), "notAfter");
    if let Ok(Some(san)) = theirs.subject_alternative_name() {
        let (mut dns, mut uri, mut email, mut ip) = (vec![], vec![], vec![], vec![]);
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns.push(n.to_string()),
                GeneralName::URI(u) => uri.push(u.to_string()),
                GeneralName::RFC822Name(e) => email.push(e.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => ip.push(IpAddr::from(<[u8; 4]>::try_from(*b).expect("4"))),
                    16 => ip.push(IpAddr::from(<[u8; 16]>::try_from(*b).expect("16"))),
                    _ => {}
                },
                _ => {}
            }
        }
        let sans = ours.sans();
        assert_eq!(sans.dns(), dns.as_slice(), "dNSName SANs");
        assert_eq!(sans.uri(), uri.as_slice(), "URI SANs");
        assert_eq!(sans.email(), email.as_slice(), "rfc822Name SANs");
        assert_eq!(sans.ip(), ip.as_slice(), "iPAddress SANs");
    }
    if let Ok(Some(bc)) = theirs.basic_constraints() {
        assert_eq!(ours.is_ca(), bc.value.ca, "basicConstraints cA");
    }
});
