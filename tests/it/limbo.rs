//! x509-limbo conformance: every testcase of `../shared/conformance/limbo.json` (or
//! `$CERTAUTH_LIMBO`) through certauth's public verification API, side by side with raw
//! rustls-webpki on the same inputs.
//!
//! CLIENT cases are verified as certauth verifies clients; SERVER cases with the
//! required EKU set to serverAuth and the expected host name checked here. The test
//! fails on a panic, on any divergence from the expected result that is not listed in
//! `tests/data/limbo-divergences.txt` (one id and a one-line reason per line), on a
//! listed divergence that no longer diverges, and on any case that raw webpki gets
//! right and certauth gets wrong.

use std::collections::BTreeMap;
use std::path::PathBuf;

use certauth::TrustStore;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use certauth::{
    ExtendedKeyUsagePolicy, RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus,
    Verifier,
};
use certauth::{Format, Limits, PresentedChain, Source, Timestamp};
use serde_json::Value;

const SHA256: &str = "bef443be4917ee6409907bbf9e94e07bbae35292b61cfa779f6d981b68d8b6d9";

fn suite_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CERTAUTH_LIMBO") {
        return Some(PathBuf::from(p));
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/limbo.json");
    beside.exists().then_some(beside)
}

fn pem_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    certauth::parse(pem.as_bytes(), Format::Pem, &Limits::default())
        .map(PresentedChain::into_certificates)
        .unwrap_or_default()
}

fn strs(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str)
}

struct Case<'a> {
    id: &'a str,
    server: bool,
    anchors: Vec<CertificateDer<'static>>,
    intermediates: Vec<CertificateDer<'static>>,
    leaf: Option<CertificateDer<'static>>,
    crls: Vec<&'a str>,
    time: Timestamp,
    max_depth: Option<usize>,
    peer: &'a Value,
    expect_success: bool,
}

impl<'a> Case<'a> {
    fn from_json(t: &'a Value) -> Self {
        let time = t["validation_time"]
            .as_str()
            .map(|s| Timestamp::parse_rfc3339(s).expect("limbo time"))
            .unwrap_or_else(Timestamp::now);
        Case {
            id: t["id"].as_str().unwrap_or("?"),
            server: t["validation_kind"] == "SERVER",
            anchors: strs(&t["trusted_certs"]).flat_map(pem_certs).collect(),
            intermediates: strs(&t["untrusted_intermediates"]).flat_map(pem_certs).collect(),
            leaf: t["peer_certificate"].as_str().and_then(|p| pem_certs(p).into_iter().next()),
            crls: strs(&t["crls"]).collect(),
            time,
            max_depth: t["max_chain_depth"].as_u64().map(|d| d.min(6) as usize),
            peer: if t["validation_kind"] == "SERVER" {
                &t["expected_peer_name"]
            } else {
                &t["expected_peer_names"]
            },
            expect_success: t["expected_result"] == "SUCCESS",
        }
    }

    /// certauth's verdict: `Ok(())` or the error kind's name.
    fn certauth(&self) -> Result<(), String> {
        let leaf = self.leaf.clone().ok_or("no leaf")?;
        let mut builder = TrustStore::builder().check_at(self.time);
        for a in &self.anchors {
            builder = builder.add_der(a).map_err(|e| e.to_string())?;
        }
        for crl in &self.crls {
            builder = builder.add_crl(crl.as_bytes()).map_err(|e| format!("crl refused: {e}"))?;
        }
        let store = builder.build().map_err(|e| e.to_string())?;
        let mut verifier = Verifier::builder(store, RING_ALGORITHMS);
        if self.server {
            verifier = verifier.extended_key_usage(ExtendedKeyUsagePolicy::server_auth());
        }
        if !self.crls.is_empty() {
            verifier = verifier
                .revocation(RevocationPolicy::new(RevocationDepth::Chain, UnknownStatus::Allow));
        }
        verifier = verifier.max_intermediates(self.max_depth.unwrap_or(6));
        let verifier = verifier.build().map_err(|e| e.to_string())?;
        let mut certs = vec![leaf];
        certs.extend(self.intermediates.iter().cloned());
        let limits = Limits::default().with_max_chain_len(64);
        let chain = PresentedChain::new(certs, Source::Bytes, Format::Der, &limits)
            .map_err(|e| e.kind().to_string())?;
        let verified = verifier.verify(&chain, self.time).map_err(|e| e.kind().to_string())?;
        self.names_match(verified.leaf_der())
    }

    /// Raw rustls-webpki on the same inputs, as rustls would call it.
    fn webpki(&self) -> Result<(), String> {
        let leaf = self.leaf.as_ref().ok_or("no leaf")?;
        let anchors: Vec<_> = self
            .anchors
            .iter()
            .filter_map(|a| webpki::anchor_from_trusted_cert(a).ok().map(|t| t.to_owned()))
            .collect();
        let crls: Vec<webpki::CertRevocationList<'static>> = self
            .crls
            .iter()
            .flat_map(|p| CertificateRevocationListDer::pem_slice_iter(p.as_bytes()))
            .filter_map(|der| webpki::OwnedCertRevocationList::from_der(&der.ok()?).ok())
            .map(Into::into)
            .collect();
        let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
        let revocation = webpki::RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
            b.with_depth(webpki::RevocationCheckDepth::Chain)
                .with_status_policy(webpki::UnknownStatusPolicy::Allow)
                .build()
        });
        let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| format!("{e:?}"))?;
        let usage = if self.server {
            webpki::KeyUsage::server_auth()
        } else {
            webpki::KeyUsage::client_auth()
        };
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            self.time.as_unix_secs().max(0) as u64,
        ));
        ee.verify_for_usage(
            RING_ALGORITHMS,
            &anchors,
            &self.intermediates,
            time,
            usage,
            revocation,
            None,
        )
        .map_err(|e| format!("{e:?}"))?;
        self.names_match(leaf)
    }

    /// The peer-name expectation: a DNS name or IP for SERVER, e-mail SANs for CLIENT.
    fn names_match(&self, leaf: &CertificateDer<'_>) -> Result<(), String> {
        if self.server {
            let Some(value) = self.peer["value"].as_str() else { return Ok(()) };
            let name = ServerName::try_from(value).map_err(|_| "bad peer name")?;
            let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| format!("{e:?}"))?;
            ee.verify_is_valid_for_subject_name(&name).map_err(|_| "name mismatch".to_string())
        } else {
            let cert = certauth::Certificate::from_der(leaf).map_err(|e| e.to_string())?;
            for want in self.peer.as_array().into_iter().flatten() {
                let value = want["value"].as_str().unwrap_or_default();
                if !cert.sans().email().iter().any(|e| e == value) {
                    return Err("name mismatch".into());
                }
            }
            Ok(())
        }
    }
}

fn divergences() -> BTreeMap<String, String> {
    crate::common::text("limbo-divergences.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_owned(), reason.trim().to_owned())
        })
        .collect()
}

#[test]
fn limbo_conformance() {
    let Some(path) = suite_path() else {
        eprintln!("limbo: SKIPPED: suite not found beside the checkout or in $CERTAUTH_LIMBO");
        return;
    };
    let bytes = std::fs::read(&path).expect("read limbo.json");
    use sha2::Digest as _;
    let digest: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, SHA256, "{} is not the expected suite", path.display());
    let suite: Value = serde_json::from_slice(&bytes).expect("limbo json");
    let cases = suite["testcases"].as_array().expect("testcases");
    let listed = divergences();

    let (mut agree, mut webpki_agree) = (0, 0);
    let mut unexpected = Vec::new();
    let mut regressions = Vec::new();
    let mut diverged = std::collections::BTreeSet::new();
    for t in cases {
        let case = Case::from_json(t);
        let ours = case.certauth();
        let theirs = case.webpki();
        let ours_right = ours.is_ok() == case.expect_success;
        let theirs_right = theirs.is_ok() == case.expect_success;
        agree += usize::from(ours_right);
        webpki_agree += usize::from(theirs_right);
        if theirs_right && !ours_right {
            regressions.push(format!("{}: certauth {:?}, webpki {:?}", case.id, ours, theirs));
        }
        if !ours_right {
            diverged.insert(case.id.to_owned());
            if !listed.contains_key(case.id) {
                unexpected.push(format!(
                    "{} expected {} got {:?}",
                    case.id,
                    if case.expect_success { "SUCCESS" } else { "FAILURE" },
                    ours
                ));
            }
        }
    }
    let stale: Vec<_> = listed.keys().filter(|id| !diverged.contains(*id)).collect();
    eprintln!(
        "limbo: certauth agrees on {agree} / {}, raw webpki on {webpki_agree}; {} listed divergences",
        cases.len(),
        listed.len()
    );
    assert!(
        regressions.is_empty(),
        "cases webpki gets right and certauth wrong:\n{}",
        regressions.join("\n")
    );
    assert!(unexpected.is_empty(), "unlisted divergences:\n{}", unexpected.join("\n"));
    assert!(stale.is_empty(), "listed divergences that now agree (remove them): {stale:?}");
    assert!(agree >= 9_723, "certauth agrees on only {agree}");
}
