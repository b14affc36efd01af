//! Small text parsers fed by operators and tokens: thumbprints, RFC 8705 confirmations,
//! RFC 3339 times, SPIFFE IDs. Never panic; what parses prints back and re-parses.
#![no_main]
use certauth::SpiffeId;
use certauth::{Thumbprint, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = Thumbprint::parse(text) {
        assert_eq!(Thumbprint::parse(&t.to_x5t_s256()).ok(), Some(t));
        assert!(certauth::Confirmation::parse(&t.to_x5t_s256()).is_ok());
    }
    let _ = certauth::Confirmation::parse(text);
    if let Ok(ts) = Timestamp::parse_rfc3339(text) {
        assert_eq!(Timestamp::parse_rfc3339(&ts.to_rfc3339()).ok(), Some(ts));
    }
    if let Ok(id) = SpiffeId::parse(text) {
        assert_eq!(SpiffeId::parse(id.as_str()).ok().as_ref(), Some(&id));
    }
});
