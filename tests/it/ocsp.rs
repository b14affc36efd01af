//! OCSP against OpenSSL's own responder (`openssl ocsp -index ... -port 0`), through
//! certauth's default HTTP transport.
//!
//! OpenSSL's responder stamps `thisUpdate` with its real clock, so these tests verify
//! at a time read once from the clock at the start of each test (not the fixed time of
//! the other tests): a response from the real responder is fresh only near real time.
//! The test kit's certificates are valid from 2020 to 2040, so they are valid then.
//! OpenSSL 3.0's responder listens on every interface (it takes a port, not an
//! address); the tests connect to it on 127.0.0.1.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use certauth::ocsp::{HttpTransport, OcspChecker, OcspTransport};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{
    AuthRequest, Authenticator, BoxFuture, Credential, ErrorKind, RING_ALGORITHMS, Result,
    RevocationChecker, Timestamp, TrustStore, UnknownStatus, VerifiedChain, Verifier,
};

const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "certauth-ocsp-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `openssl ocsp` responder process, killed on drop.
struct Responder {
    child: Child,
    port: u16,
    _dir: TempDir,
}

/// An index.txt line: `V` (valid) or `R` (revoked) for a serial (upper-case hex).
fn index_line(serial: &[u8], revoked: bool) -> String {
    let hex: String = serial.iter().map(|b| format!("{b:02X}")).collect();
    if revoked {
        format!("R\t391231000000Z\t260101000000Z\t{hex}\tunknown\t/CN=client\n")
    } else {
        format!("V\t391231000000Z\t\t{hex}\tunknown\t/CN=client\n")
    }
}

impl Responder {
    /// Starts a responder for `ca`'s certificates listed in `index`, signing with
    /// `signer` (certificate PEM, key PEM), with `extra` arguments.
    fn start(ca: &Ca, signer: (&str, &str), index: &str, extra: &[&str]) -> Self {
        let dir = TempDir::new("responder");
        let index = dir.write("index.txt", index);
        let ca_pem = dir.write("ca.pem", &ca.pem());
        let signer_pem = dir.write("signer.pem", signer.0);
        let signer_key = dir.write("signer.key", signer.1);
        let mut child = Command::new("openssl")
            .args(["ocsp", "-index", &index, "-port", "0", "-CA", &ca_pem])
            .args(["-rsigner", &signer_pem, "-rkey", &signer_key, "-ignore_err"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed (tests/run installs it)");
        // "ACCEPT [::]:PORT PID=..." once it listens.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines.next().expect("openssl ocsp exited before listening").unwrap();
            if let Some(rest) = line.strip_prefix("ACCEPT ") {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.rsplit(':').next().unwrap().parse().unwrap();
            }
        };
        Self { child, port, _dir: dir }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real clock, read once per test (see the module docs).
fn real_now() -> Timestamp {
    Timestamp::now()
}

fn verifier(ca: &Ca, now: Timestamp) -> Verifier {
    let store = TrustStore::builder().add_der(ca.der()).unwrap().check_at(now).build().unwrap();
    Verifier::builder(store, RING_ALGORITHMS).build().unwrap()
}

fn verified(verifier: &Verifier, leaf: &Leaf, now: Timestamp) -> VerifiedChain {
    verifier.verify(&leaf.presented(), now).unwrap()
}

fn ca_signer(ca: &Ca) -> (String, String) {
    (ca.pem(), ca.key_pem())
}

/// Counts the requests that reach the default transport.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    http: HttpTransport,
}

impl OcspTransport for Counting {
    fn post<'a>(
        &'a self,
        url: &'a str,
        request: &'a [u8],
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.http.post(url, request, max)
    }
}

#[tokio::test]
async fn good_revoked_and_unknown_from_the_leafs_responder() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    let index = index_line(&[0x51, 0x01], false) + &index_line(&[0x51, 0x02], true);
    let (pem, key) = ca_signer(&ca);
    let responder = Responder::start(&ca, (&pem, &key), &index, &[]);
    let good = ca.leaf("good").serial(&[0x51, 0x01]).ocsp_responder(&responder.url()).build();
    let revoked = ca.leaf("revoked").serial(&[0x51, 0x02]).ocsp_responder(&responder.url()).build();
    let unknown = ca.leaf("unknown").serial(&[0x51, 0x03]).ocsp_responder(&responder.url()).build();
    let verifier = verifier(&ca, now);
    let ocsp = OcspChecker::builder(&verifier).build().unwrap();

    ocsp.check(&verified(&verifier, &good, now), now).await.unwrap();
    let e = ocsp.check(&verified(&verifier, &revoked, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
    assert!(e.message().contains("revoked at 2026-01-01T00:00:00Z"), "{e}");
    let e = ocsp.check(&verified(&verifier, &unknown, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{e}");
    assert!(e.message().contains("does not know the certificate"), "{e}");

    // With unknown status allowed, unknown passes and revoked is still refused.
    let open =
        OcspChecker::builder(&verifier).unknown_status(UnknownStatus::Allow).build().unwrap();
    open.check(&verified(&verifier, &unknown, now), now).await.unwrap();
    let e = open.check(&verified(&verifier, &revoked, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked);

    // SHA-256 CertIDs and a nonce (OpenSSL's responder echoes it).
    let strict = OcspChecker::builder(&verifier)
        .cert_id_hash(certauth::ocsp::CertIdHash::Sha256)
        .nonce(true)
        .build()
        .unwrap();
    strict.check(&verified(&verifier, &good, now), now).await.unwrap();
    let e = strict.check(&verified(&verifier, &revoked, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked);
}

/// Through the authenticator: the revocation checker runs after verification, on every
/// request.
#[tokio::test]
async fn authenticator_refuses_a_revoked_client() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    let (pem, key) = ca_signer(&ca);
    let responder = Responder::start(&ca, (&pem, &key), &index_line(&[0x52, 0x02], true), &[]);
    let revoked = ca.leaf("revoked").serial(&[0x52, 0x02]).build();
    let verifier = verifier(&ca, now);
    let ocsp = OcspChecker::builder(&verifier).responder_url(responder.url()).build().unwrap();
    let auth = Authenticator::builder(verifier).revocation_checker(Arc::new(ocsp)).build().unwrap();
    let chain = revoked.presented();
    let e = auth.authenticate(&AuthRequest::new(Credential::Chain(&chain), now)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
}

#[tokio::test]
async fn responder_down_is_unknown_status() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let leaf = ca.leaf("client").ocsp_responder(&format!("http://127.0.0.1:{port}/")).build();
    let verifier = verifier(&ca, now);
    let ocsp = OcspChecker::builder(&verifier).build().unwrap();
    let e = ocsp.check(&verified(&verifier, &leaf, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{e}");
    assert!(e.message().contains("cannot connect"), "{e}");
    let open =
        OcspChecker::builder(&verifier).unknown_status(UnknownStatus::Allow).build().unwrap();
    open.check(&verified(&verifier, &leaf, now), now).await.unwrap();
}

#[tokio::test]
async fn delegated_responder_is_accepted_only_with_the_eku() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    let index = index_line(&[0x53, 0x01], false) + &index_line(&[0x53, 0x02], true);
    let delegate = ca.leaf("OCSP Responder").eku(&[OCSP_SIGNING]).build();
    let responder =
        Responder::start(&ca, (&delegate.pem(), &delegate.key_pem().unwrap()), &index, &[]);
    let verifier = verifier(&ca, now);
    let ocsp = OcspChecker::builder(&verifier).responder_url(responder.url()).build().unwrap();
    let good = ca.leaf("good").serial(&[0x53, 0x01]).build();
    let revoked = ca.leaf("revoked").serial(&[0x53, 0x02]).build();
    ocsp.check(&verified(&verifier, &good, now), now).await.unwrap();
    let e = ocsp.check(&verified(&verifier, &revoked, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");

    // A certificate of the same CA without id-kp-OCSPSigning may not sign responses.
    let impostor = ca.leaf("Not A Responder").build();
    let responder =
        Responder::start(&ca, (&impostor.pem(), &impostor.key_pem().unwrap()), &index, &[]);
    let ocsp = OcspChecker::builder(&verifier).responder_url(responder.url()).build().unwrap();
    let e = ocsp.check(&verified(&verifier, &revoked, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{e}");
    assert!(e.message().contains("without id-kp-OCSPSigning"), "{e}");
}

#[tokio::test]
async fn response_signed_by_the_wrong_key_is_unknown_status() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    // Another CA of the same name: its responses verify under its own key only.
    let other = Ca::root("OCSP Test Root");
    let index = index_line(&[0x54, 0x02], true);
    let responder = Responder::start(&ca, (&other.pem(), &other.key_pem()), &index, &[]);
    let verifier = verifier(&ca, now);
    let ocsp = OcspChecker::builder(&verifier).responder_url(responder.url()).build().unwrap();
    let revoked = ca.leaf("revoked").serial(&[0x54, 0x02]).build();
    let e = ocsp.check(&verified(&verifier, &revoked, now), now).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{e}");
    assert!(e.message().contains("did not issue"), "{e}");
}

#[tokio::test]
async fn stale_response_is_revocation_stale() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    let (pem, key) = ca_signer(&ca);
    // nextUpdate one minute after the responder's clock.
    let index = index_line(&[0x55, 0x01], false);
    let responder = Responder::start(&ca, (&pem, &key), &index, &["-nmin", "1"]);
    let good = ca.leaf("good").serial(&[0x55, 0x01]).build();
    let verifier = verifier(&ca, now);
    let ocsp = OcspChecker::builder(&verifier).responder_url(responder.url()).build().unwrap();
    ocsp.check(&verified(&verifier, &good, now), now).await.unwrap();
    // An hour later the answer is past nextUpdate and the allowance; the responder
    // (whose clock has not moved) answers the same: stale.
    let later = now.plus_secs(3600);
    let e = ocsp.check(&verified(&verifier, &good, later), later).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationStale, "{e}");
    assert!(e.message().contains("past its next update"), "{e}");
}

/// Concurrent requests for one certificate make one request to the responder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_make_one_fetch() {
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    let (pem, key) = ca_signer(&ca);
    let responder = Responder::start(&ca, (&pem, &key), &index_line(&[0x56, 0x01], false), &[]);
    let good = ca.leaf("good").serial(&[0x56, 0x01]).ocsp_responder(&responder.url()).build();
    let verifier = verifier(&ca, now);
    let counting = Arc::new(Counting::default());
    let ocsp =
        Arc::new(OcspChecker::builder(&verifier).transport(counting.clone()).build().unwrap());
    let chain = Arc::new(verified(&verifier, &good, now));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (ocsp, chain) = (ocsp.clone(), chain.clone());
        tasks.spawn(async move { ocsp.check(&chain, now).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(counting.calls.load(Ordering::SeqCst), 1);
    assert_eq!(ocsp.cached(), 1);
}

/// `certauth verify --ocsp-url`: exit 0 for a good certificate, 1 with the kind for a
/// revoked one, 2 for a responder URL that is not http://. Without `--at` the tool reads
/// the clock, as the responder does.
#[cfg(feature = "cli")]
#[test]
fn cli_verify_with_ocsp() {
    let ca = Ca::root("OCSP Test Root");
    let (pem, key) = ca_signer(&ca);
    let index = index_line(&[0x57, 0x01], false) + &index_line(&[0x57, 0x02], true);
    let responder = Responder::start(&ca, (&pem, &key), &index, &[]);
    let dir = TempDir::new("cli");
    let root = dir.write("root.pem", &ca.pem());
    let good = ca.leaf("good").serial(&[0x57, 0x01]).ocsp_responder(&responder.url()).build();
    let good = dir.write("good.pem", &good.pem());
    let revoked = ca.leaf("revoked").serial(&[0x57, 0x02]).build();
    let revoked = dir.write("revoked.pem", &revoked.pem());
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_certauth")).args(args).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
    };
    let url = responder.url();
    let (code, stdout, stderr) = run(&["verify", "--trust", &root, "--ocsp", &good]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("accepted: CN=good"), "{stdout}");
    let (code, stdout, stderr) = run(&["verify", "--trust", &root, "--ocsp-url", &url, &good]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) =
        run(&["verify", "--trust", &root, "--ocsp-url", &url, "--json", &revoked]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.starts_with("rejected: revoked: the client certificate: ocsp: revoked at"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["error"], "revoked");
    // The revoked certificate names no responder: --ocsp alone cannot ask anyone.
    let (code, _, stderr) = run(&["verify", "--trust", &root, "--ocsp", &revoked]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("rejected: revocation_unknown:"), "{stderr}");
    let (code, _, stderr) =
        run(&["verify", "--trust", &root, "--ocsp-url", "https://ocsp.example.test/", &good]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ocsp responder url"), "{stderr}");
}

/// A hostile responder through the default transport: a redirect is not followed, an
/// announced or streamed body over the bound is cut off, an error status, a silent
/// server and garbage are all unknown status; nothing hangs and no body is echoed.
#[tokio::test]
async fn hostile_responders_are_unknown_status() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let now = real_now();
    let ca = Ca::root("OCSP Test Root");
    let leaf = ca.leaf("client").build();
    let verifier = verifier(&ca, now);
    let chain = verified(&verifier, &leaf, now);
    let endless = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "redirect",
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n"
                .into(),
            "http 302",
        ),
        (
            "error",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".into(),
            "http 500",
        ),
        (
            "announced",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n".into(),
            "over the limit",
        ),
        ("streamed", endless, "over the limit"),
        (
            "garbage",
            "HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n<html>secret!</html>\n".into(),
            "not a der ocsp response",
        ),
        ("silent", String::new(), "did not answer"),
    ];
    for (name, reply, says) in cases {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let streamed = name == "streamed";
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            if reply.is_empty() {
                std::future::pending::<()>().await;
            }
            let _ = socket.write_all(reply.as_bytes()).await;
            // A body that never ends: more chunks until the client hangs up.
            while streamed
                && socket
                    .write_all(&[b"1000\r\n", &[b'A'; 4096][..], b"\r\n"].concat())
                    .await
                    .is_ok()
            {}
            std::future::pending::<()>().await;
        });
        let ocsp = OcspChecker::builder(&verifier)
            .responder_url(&url)
            .max_response_bytes(64 * 1024)
            .timeout(std::time::Duration::from_millis(500))
            .build()
            .unwrap();
        let e = ocsp.check(&chain, now).await.unwrap_err();
        server.abort();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{name}: {e}");
        assert!(e.message().contains(says), "{name}: {e}");
        assert!(!e.message().contains("secret") && !e.message().contains("AAAA"), "{name}: {e}");
    }
}
