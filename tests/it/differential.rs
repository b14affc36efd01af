//! Differential testing against OpenSSL: several hundred verification scenarios built
//! with the test kit, each decided by certauth (through its public API, as a user would
//! configure it) and by `openssl verify`, the real binary. The verdicts (accept or
//! refuse) must agree, except for the scenarios listed in
//! `tests/data/openssl-divergences.txt` (one scenario name and a one-line reason per
//! line). The test fails on any divergence not listed, and on a listed scenario that no
//! longer diverges, so the list stays honest.
//!
//! How each side is configured, and why:
//! - **Time.** Both verify at [`VERIFY_AT`] (2026-06-01T00:00:00Z): certauth through
//!   `verify(chain, now)` and `check_at`, OpenSSL through `-attime`.
//! - **Trust.** A PEM bundle is certauth's `TrustStoreBuilder::add_pem` and OpenSSL's
//!   `-CAfile` (with `-no-CApath -no-CAstore`, so no system certificate takes part). A
//!   directory is certauth's `add_directory` over files in the scenario's encodings and
//!   OpenSSL's `-CApath` over the same certificates as PEM, named by `openssl rehash`
//!   (OpenSSL's directory look-up reads PEM only; that DER and PEM files mean the same
//!   is certauth's to get right). OpenSSL trusts every certificate of `-CAfile` and
//!   `-CApath`, but without `-partial_chain` it still requires the path to end at a
//!   self-signed certificate, which is certauth's rule: self-signed CA certificates are
//!   anchors, other CA certificates are intermediates the server holds. So
//!   `-partial_chain` is not used.
//! - **Intermediates the client presents** are the chain after the leaf for certauth and
//!   `-untrusted` for OpenSSL.
//! - **Store problems.** The trust store is built with `warn_on_problems`: the scenarios
//!   compare per-chain verdicts, and several of them need a store that the strict builder
//!   refuses by design (an expired root beside its renewal, a CRL of an intermediate that
//!   only clients present). OpenSSL loads any such bundle.
//! - **Revocation.** CRLs are given only with a check: OpenSSL's `-crl_check` (the leaf's
//!   issuer must have a CRL) is certauth's `RevocationPolicy::new(Leaf, Deny)`,
//!   `-crl_check_all` (every level) is `RevocationPolicy::new(Chain, Deny)`. All CRLs
//!   go into one `-CRLfile`, and into one `add_crl` each (DER and PEM in turn), in the
//!   scenario's load order.
//! - **Policy.** certauth's defaults (clientAuth required in the leaf, its key policy, at
//!   most four intermediates, no clock skew) against `-x509_strict -purpose sslclient`.
//!   Where certauth is stricter by design, the scenario is a listed divergence.
//!
//! The themes (`differential/scenarios.rs`): validity of roots, intermediates and leaves;
//! roots and intermediates renewed under the same name with the same or a new key; several
//! CRLs per issuer in every load order, CRLs of roots and of intermediates the client
//! presents, a CRL missing or revoking at each level; trust directories with DER and PEM
//! files; path length and name constraints; EKU of leaves and intermediates; CA profiles
//! the test kit does not make (`differential/forge.rs`); key types and sizes, RSA CAs.
//! Besides the verdicts, the test prints how often both sides refuse for different
//! reasons (informational; `CERTAUTH_DIFFERENTIAL_VERBOSE=1` lists each case).
//!
//! Scenarios are generated deterministically (fixed names, validity, serials and a seeded
//! choice of variants); only key material is fresh on every run, which no verdict depends
//! on. The divergence list is for OpenSSL 3.0. Without an `openssl` binary
//! (`$CERTAUTH_OPENSSL` or `openssl` on the `PATH`) the test is skipped with a message,
//! unless `CI` is set, where that is a failure.

#![cfg(all(feature = "ring", feature = "testkit"))]

mod forge;
mod openssl;
mod scenarios;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use certauth::TrustStore;
use certauth::{ConfigError, Format, Limits, PresentedChain, Source, Timestamp};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus, Verifier};

/// One certificate or CRL, DER.
pub(crate) type Der = Vec<u8>;

/// The verification time of every scenario: 2026-06-01T00:00:00Z.
pub(crate) const VERIFY_AT: Timestamp = Timestamp::from_unix_secs(1_780_272_000);

/// How many scenarios run at once (each runs one or two OpenSSL processes).
const WORKERS: usize = 3;

/// Which certificates of the path must be covered by a CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrlCheck {
    /// No revocation check (and no CRLs).
    Off,
    /// The leaf: `-crl_check`, `RevocationDepth::Leaf` with unknown status denied.
    Leaf,
    /// Every certificate below the anchor: `-crl_check_all`, `RevocationDepth::Chain`
    /// with unknown status denied.
    All,
}

/// How a file of a trust directory is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Pem,
    Der,
}

/// One file of a trust directory: a DER file holds exactly one certificate.
#[derive(Clone, Debug)]
pub(crate) struct TrustFile {
    pub(crate) name: String,
    pub(crate) encoding: Encoding,
    pub(crate) certs: Vec<Der>,
}

/// Where the anchors and the intermediates the server holds come from.
#[derive(Clone, Debug)]
pub(crate) enum Trust {
    /// One PEM bundle, certificates in this order.
    Bundle(Vec<Der>),
    /// A directory of files, loaded in name order.
    Directory(Vec<TrustFile>),
}

/// One verification: the trust configuration, the chain a client presents, the CRLs.
#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    /// Unique, stable across runs: the key of the divergence list.
    pub(crate) name: String,
    pub(crate) trust: Trust,
    pub(crate) leaf: Der,
    /// The intermediates the client sends after its leaf.
    pub(crate) presented: Vec<Der>,
    /// CRLs in load order.
    pub(crate) crls: Vec<Der>,
    pub(crate) crl_check: CrlCheck,
}

/// PEM with 64-character lines.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn config(e: ConfigError) -> String {
    format!("config: {e}")
}

/// certauth's verdict: `Ok(())`, or `"<kind>: <message>"`.
fn certauth_verdict(s: &Scenario, dir: &Path) -> Result<(), String> {
    let mut builder = TrustStore::builder().check_at(VERIFY_AT).warn_on_problems();
    match &s.trust {
        Trust::Bundle(certs) => {
            let bundle: String = certs.iter().map(|c| pem("CERTIFICATE", c)).collect();
            builder = builder.add_pem(bundle.as_bytes()).map_err(config)?;
        }
        Trust::Directory(files) => {
            let trust = dir.join("certauth-trust");
            std::fs::create_dir_all(&trust).expect("trust directory");
            for f in files {
                let bytes = match f.encoding {
                    Encoding::Der => {
                        assert_eq!(
                            f.certs.len(),
                            1,
                            "{}: a DER file holds one certificate",
                            s.name
                        );
                        f.certs[0].clone()
                    }
                    Encoding::Pem => {
                        f.certs.iter().map(|c| pem("CERTIFICATE", c)).collect::<String>().into()
                    }
                };
                std::fs::write(trust.join(&f.name), bytes).expect("trust file");
            }
            builder = builder.add_directory(&trust).map_err(config)?;
        }
    }
    for (i, crl) in s.crls.iter().enumerate() {
        // Both encodings a CRL file comes in.
        let bytes = if i % 2 == 0 { crl.clone() } else { pem("X509 CRL", crl).into_bytes() };
        builder = builder.add_crl(&bytes).map_err(config)?;
    }
    let store = builder.build().map_err(config)?;
    let mut verifier = Verifier::builder(store, RING_ALGORITHMS);
    verifier =
        match s.crl_check {
            CrlCheck::Off => verifier,
            CrlCheck::Leaf => verifier
                .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny)),
            CrlCheck::All => verifier
                .revocation(RevocationPolicy::new(RevocationDepth::Chain, UnknownStatus::Deny)),
        };
    let verifier = verifier.build().map_err(config)?;
    let mut certs = vec![s.leaf.clone().into()];
    certs.extend(s.presented.iter().cloned().map(Into::into));
    let chain = PresentedChain::new(certs, Source::Bytes, Format::Der, &Limits::default())
        .map_err(|e| format!("{}: {}", e.kind(), e.message()))?;
    verifier
        .verify(&chain, VERIFY_AT)
        .map(drop)
        .map_err(|e| format!("{}: {}", e.kind(), e.message()))
}

/// Both verdicts of one scenario.
struct Outcome {
    certauth: Result<(), String>,
    openssl: Result<(), String>,
}

/// The class of certauth's refusal, in the vocabulary of [`openssl_class`].
fn certauth_class(reason: &str) -> &'static str {
    let kind = reason.split(':').next().unwrap_or_default();
    match kind {
        "expired" => "expired",
        "not_yet_valid" => "not-yet-valid",
        "revoked" => "revoked",
        "revocation_unknown" => "crl-unusable",
        "revocation_stale" => "crl-out-of-date",
        "unknown_issuer" => "no-path",
        "wrong_usage" => "usage",
        "weak_key" => "weak-key",
        "name_constraint_violation" => "name-constraints",
        "bad_signature" => "signature",
        "invalid_certificate" if reason.contains("path length") => "path-length",
        "chain_too_long" => "path-length",
        "invalid_certificate" => "invalid-ca-or-leaf",
        "config" => "configuration",
        _ => "other",
    }
}

/// The class of an OpenSSL error code (`X509_V_ERR_*`).
fn openssl_class(reason: &str) -> &'static str {
    let code: u32 = reason.split(' ').next().and_then(|c| c.parse().ok()).unwrap_or(0);
    match code {
        10 => "expired",
        9 => "not-yet-valid",
        23 => "revoked",
        3 | 8 | 35 | 33 | 36 => "crl-unusable",
        11 | 12 => "crl-out-of-date",
        2 | 19 | 20 | 21 => "no-path",
        26 | 28 => "usage",
        47 | 48 | 49 | 51 | 53 => "name-constraints",
        7 => "signature",
        25 => "path-length",
        24 | 32 | 37 | 41 | 79 | 80 | 81 | 82 | 83 | 84 | 85 | 86 | 87 | 88 | 89 | 90 => {
            "invalid-ca-or-leaf"
        }
        _ => "other",
    }
}

fn verdict(r: &Result<(), String>) -> &'static str {
    if r.is_ok() { "accept" } else { "refuse" }
}

/// The listed divergences: scenario name to reason.
fn listed() -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in crate::common::text("openssl-divergences.txt").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = line.split_once(' ').unwrap_or((line, ""));
        assert!(!reason.trim().is_empty(), "openssl-divergences.txt: {name} has no reason");
        let old = map.insert(name.to_owned(), reason.trim().to_owned());
        assert!(old.is_none(), "openssl-divergences.txt lists {name} twice");
    }
    map
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("certauth-differential-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear scratch directory");
    }
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs every scenario on both sides, `WORKERS` at a time.
fn run_all(scenarios: &[Scenario], scratch: &Path) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(scenarios.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(s) = scenarios.get(i) else { break };
                    let dir = scratch.join(i.to_string());
                    std::fs::create_dir_all(&dir).expect("scenario directory");
                    let outcome = Outcome {
                        certauth: certauth_verdict(s, &dir),
                        openssl: openssl::verify(s, &dir),
                    };
                    let _ = std::fs::remove_dir_all(&dir);
                    results.lock().expect("results")[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|o| o.expect("every scenario ran"))
        .collect()
}

#[test]
fn openssl_verify_agrees_with_certauth() {
    let Some(version) = openssl::version() else {
        assert!(
            !in_ci(),
            "differential: {} cannot be run, and CI is set: install openssl (tests/run does)",
            openssl::binary().display()
        );
        eprintln!("differential: SKIPPED: no openssl binary (set CERTAUTH_OPENSSL or install it)");
        return;
    };
    // -no-CAstore and the verdicts of the list are OpenSSL 3's.
    assert!(
        version.starts_with("OpenSSL 3."),
        "differential: needs OpenSSL 3 (the divergence list was made with 3.0), found {version}"
    );
    let started = Instant::now();
    let scenarios = scenarios::all(&openssl::binary());
    let generated = started.elapsed();
    let mut names = BTreeSet::new();
    for s in &scenarios {
        assert!(!s.name.contains(char::is_whitespace), "scenario name with a space: {}", s.name);
        assert!(names.insert(s.name.as_str()), "scenario name used twice: {}", s.name);
    }
    assert!(scenarios.len() >= 500, "only {} scenarios", scenarios.len());

    let scratch = scratch_dir();
    let outcomes = run_all(&scenarios, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);

    let listed = listed();
    let unknown: Vec<_> = listed.keys().filter(|n| !names.contains(n.as_str())).collect();
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    let mut accepted = 0;
    let mut classes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (s, o) in scenarios.iter().zip(&outcomes) {
        accepted += usize::from(o.openssl.is_ok());
        if let (Err(ours), Err(theirs)) = (&o.certauth, &o.openssl) {
            let pair = (certauth_class(ours), openssl_class(theirs));
            if pair.0 != pair.1 {
                *classes.entry(pair).or_default() += 1;
                if std::env::var_os("CERTAUTH_DIFFERENTIAL_VERBOSE").is_some() {
                    eprintln!("class: {}: certauth {ours}; openssl {theirs}", s.name);
                }
            }
        }
        let diverges = o.certauth.is_ok() != o.openssl.is_ok();
        match (diverges, listed.get(&s.name)) {
            (true, Some(reason)) => *by_reason.entry(reason).or_default() += 1,
            (true, None) => unexpected.push(format!(
                "{}: certauth {} ({}), openssl {} ({})",
                s.name,
                verdict(&o.certauth),
                o.certauth.as_ref().err().map_or("ok", String::as_str),
                verdict(&o.openssl),
                o.openssl.as_ref().err().map_or("ok", String::as_str),
            )),
            (false, Some(_)) => stale.push(format!(
                "{}: both {} ({})",
                s.name,
                verdict(&o.openssl),
                o.certauth.as_ref().err().map_or("ok", String::as_str)
            )),
            (false, None) => {}
        }
    }
    eprintln!(
        "differential: {} scenarios against {version} (openssl accepts {accepted}), \
         generated in {:.1?}, {:.1?} in all; {} listed divergences",
        scenarios.len(),
        generated,
        started.elapsed(),
        listed.len()
    );
    for (reason, n) in &by_reason {
        eprintln!("  {n:4}  {reason}");
    }
    if !classes.is_empty() {
        eprintln!("both refuse, for another reason (certauth / openssl; informational):");
        for ((ours, theirs), n) in &classes {
            eprintln!("  {n:4}  {ours} / {theirs}");
        }
    }
    let mut problems = Vec::new();
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} divergences from openssl not listed in tests/data/openssl-divergences.txt:\n{}",
            unexpected.len(),
            unexpected.join("\n")
        ));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "listed in tests/data/openssl-divergences.txt but no longer diverging (remove them):\n{}",
            stale.join("\n")
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "tests/data/openssl-divergences.txt names scenarios that do not exist:\n{}",
            unknown.iter().map(|n| n.as_str()).collect::<Vec<_>>().join("\n")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
