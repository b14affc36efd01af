//! The operator tool, run as a real process: its JSON fields and exit codes are a contract.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::common::{data, data_dir, x5t};

/// Runs `certauth ARGS` with `stdin`, returning (exit code, stdout, stderr).
fn certauth(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_certauth"))
        .args(args)
        .current_dir(data_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn certauth");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let code = out.status.code().expect("exited, not killed by a signal (a panic aborts?)");
    (code, String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn inspect_json_has_the_documented_fields() {
    let (code, out, err) = certauth(&["inspect", "--json", "pki/leaf-ec-chain.pem"], b"");
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["format"], "pem");
    let chain = v["chain"].as_array().expect("chain");
    assert_eq!(chain.len(), 2);
    let leaf = &chain[0];
    assert_eq!(leaf["subject"], "CN=client.example.test,OU=Engineering,O=Example Corp,C=US");
    assert_eq!(leaf["issuer"], "CN=Example Test Intermediate CA,O=Example Test PKI,C=US");
    assert_eq!(leaf["serial"], "3a5f01");
    assert_eq!(leaf["not_before"], "2026-11-22T10:34:32Z");
    assert_eq!(leaf["not_after"], "2036-11-19T10:34:32Z");
    assert_eq!(leaf["sans"]["dns"], serde_json::json!(["client.example.test"]));
    assert_eq!(
        leaf["sans"]["uri"],
        serde_json::json!(["spiffe://example.test/ns/default/sa/client"])
    );
    assert_eq!(leaf["sans"]["email"], serde_json::json!(["client@example.test"]));
    assert_eq!(leaf["sans"]["ip"], serde_json::json!([]));
    assert_eq!(leaf["spiffe_id"], "spiffe://example.test/ns/default/sa/client");
    assert_eq!(leaf["key"], serde_json::json!({"type": "ec", "curve": "P-256"}));
    assert_eq!(leaf["signature_algorithm"], "ecdsa-with-SHA256");
    assert_eq!(leaf["is_ca"], false);
    assert_eq!(leaf["x5t#S256"], x5t(&data("pki/leaf-ec.der")));
    assert_eq!(leaf["sha256_hex"].as_str().map(str::len), Some(64));
    assert_eq!(chain[1]["is_ca"], true);

    let (code, out, _) = certauth(&["inspect", "--json", "pki/leaf-rsa.der"], b"");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["format"], "der");
    assert_eq!(v["chain"][0]["key"], serde_json::json!({"type": "rsa", "bits": 2048}));
    assert_eq!(v["chain"][0]["spiffe_id"], serde_json::Value::Null);
}

#[test]
fn inspect_reads_standard_input_and_prints_text() {
    let pem = data("pki/leaf-ec.pem");
    let (code, out, _) = certauth(&["inspect"], &pem);
    assert_eq!(code, 0);
    assert!(out.contains("subject:   CN=client.example.test"), "{out}");
    assert!(out.contains(&x5t(&data("pki/leaf-ec.der"))), "{out}");
}

#[test]
fn thumbprint_prints_the_leaf_x5t() {
    let (code, out, _) = certauth(&["thumbprint", "pki/leaf-rsa-chain.pem"], b"");
    assert_eq!(code, 0);
    assert_eq!(out.trim(), x5t(&data("pki/leaf-rsa.der")));
}

#[test]
fn rejected_input_exits_1_with_kind() {
    let (code, out, err) = certauth(&["inspect", "--json"], b"not a certificate!");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json error object");
    assert_eq!(v["error"], "malformed_input");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(err.starts_with("error: malformed_input: "), "{err}");

    let (code, _, err) = certauth(&["inspect", "pki/leaf-ec.key"], b"");
    assert_eq!(code, 1);
    assert!(err.contains("private_key_supplied"), "{err}");
    assert!(!err.contains("MHc"), "the key must not be echoed: {err}");

    let (code, _, err) = certauth(&["thumbprint"], b"");
    assert_eq!(code, 1);
    assert!(err.contains("no_certificate"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in
        [&["inspect", "--format", "nope"][..], &["frobnicate"], &[], &["inspect", "--bogus"]]
    {
        let (code, _, _) = certauth(args, b"");
        assert_eq!(code, 2, "{args:?}");
    }
    let (code, _, err) = certauth(&["inspect", "does-not-exist.pem"], b"");
    assert_eq!(code, 1, "{err}");
}

#[test]
fn verify_json_contract_and_exit_codes() {
    let args = ["verify", "--trust", "pki/root.pem", "--at", "2027-01-01T00:00:00Z", "--json"];
    let (code, out, err) = certauth(&[&args[..], &["pki/leaf-ec-chain.pem"]].concat(), b"");
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["error"], serde_json::Value::Null);
    assert_eq!(v["identity"]["x5t#S256"], x5t(&data("pki/leaf-ec.der")));
    assert_eq!(
        v["identity"]["subject"],
        "CN=client.example.test,OU=Engineering,O=Example Corp,C=US"
    );

    // Standard input, and a rejection: the leaf alone lacks its intermediate.
    let (code, out, _) = certauth(&args, &data("pki/leaf-ec.pem"));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], "unknown_issuer");
    assert_eq!(v["identity"], serde_json::Value::Null);

    // Held intermediates fix that.
    let (code, _, err) = certauth(
        &[&args[..], &["--intermediates", "pki/intermediate.pem", "pki/leaf-ec.pem"]].concat(),
        b"",
    );
    assert_eq!(code, 0, "{err}");

    // Expired at the given time.
    let (code, out, _) = certauth(
        &[
            "verify",
            "--trust",
            "pki/root.pem",
            "--at",
            "2040-01-01T00:00:00Z",
            "--json",
            "pki/leaf-ec-chain.pem",
        ],
        b"",
    );
    assert_eq!(code, 1);
    assert!(out.contains("\"error\":\"expired\""), "{out}");

    // A trust file that does not exist is a configuration error.
    let (code, _, err) = certauth(&["verify", "--trust", "nope.pem", "pki/leaf-ec-chain.pem"], b"");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn header_formats_are_accepted_by_name_and_detected_by_auto() {
    let leaf = x5t(&data("pki/leaf-ec.der"));
    for (format, file) in [
        ("xfcc", "headers/envoy-xfcc-ec-all-details.txt"),
        ("rfc9440", "headers/rfc9440-client-cert-ec.txt"),
        ("nginx-escaped", "headers/kong-x-client-cert-ec.txt"),
        ("aws-alb", "headers/aws-alb-x-amzn-mtls-clientcert-passthrough-ec.txt"),
        ("traefik", "headers/traefik-v3-x-forwarded-tls-client-cert-ec.txt"),
        ("azure-arr", "headers/azure-app-service-x-arr-clientcert-ec.txt"),
        ("auto", "headers/envoy-xfcc-ec-all-details.txt"),
        ("auto", "headers/kong-x-client-cert-ec.txt"),
    ] {
        let (code, out, err) = certauth(&["thumbprint", "--format", format, file], b"");
        assert_eq!((code, out.trim()), (0, leaf.as_str()), "{format} {file}: {err}");
        // Pasted on standard input with the newline `echo` adds.
        let mut value = data(file);
        value.push(b'\n');
        let (code, out, err) = certauth(&["inspect", "--json", "--format", format], &value);
        assert_eq!(code, 0, "{format} {file}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["chain"][0]["x5t#S256"], leaf.as_str());
        if format != "auto" {
            assert_eq!(v["format"], format);
        }
    }
    let (code, out, _) = certauth(
        &["inspect", "--json", "--format", "auto", "headers/envoy-xfcc-ec-all-details.txt"],
        b"",
    );
    assert_eq!(code, 0);
    assert!(out.contains("\"format\":\"xfcc\""), "{out}");
    // A sentinel is a rejection with its kind, exit 1.
    let (code, out, err) = certauth(&["inspect", "--json", "--format", "apache"], b"(null)\n");
    assert_eq!(code, 1);
    assert!(err.contains("no_certificate"), "{err}");
    assert!(out.contains("no_certificate"), "{out}");
}

/// Regression: `certauth inspect | head` must not panic ("failed printing to stdout") when
/// the reader closes the pipe early; output errors end the output quietly.
#[test]
fn closed_stdout_is_not_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_certauth"))
        .args(["inspect", "pki/leaf-ec-chain.pem"])
        .current_dir(data_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // close the read end before it writes
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0));
}

/// Every file the tool opens is read up to a bound and no further: `/dev/zero` as a
/// trust, intermediates or CRL file is a configuration error naming the file and the
/// bound, not a process that grows until it is killed.
#[test]
fn endless_trust_intermediate_and_crl_files_are_refused_at_the_bound() {
    let base = ["verify", "--at", "2027-01-01T00:00:00Z"];
    for extra in [
        &["--trust", "/dev/zero"][..],
        &["--trust", "pki/root.pem", "--intermediates", "/dev/zero"],
        &["--trust", "pki/root.pem", "--crl", "/dev/zero"],
    ] {
        let args = [&base[..], extra, &["pki/leaf-ec-chain.pem"]].concat();
        let (code, _, err) = certauth(&args, b"");
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains("/dev/zero") && err.contains("larger than 16777216 bytes"), "{err}");
    }
    let (code, out, err) = certauth(&["inspect", "--json", "/dev/zero"], b"");
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("input_too_large") && err.contains("/dev/zero"), "{out} {err}");
}

/// `verify --trust root.pem --crl intermediate.crl chain.pem` works as with `openssl
/// verify`: the intermediate's CRL is accepted though only the chain holds the
/// intermediate (with a warning), and a revoked leaf is refused.
#[cfg(feature = "testkit")]
#[test]
fn verify_with_the_crl_of_an_intermediate_only_the_chain_holds() {
    use certauth::testkit::pki::Ca;
    let root = Ca::root("CLI Root");
    let inter = root.intermediate("CLI Intermediate");
    let good = inter.leaf("good").build();
    let bad = inter.leaf("bad").build();
    let next = certauth::Timestamp::parse_rfc3339("2026-07-01T00:00:00Z").unwrap();
    let crl = inter.crl().revoke(&bad).next_update(next).build();
    let dir = std::env::temp_dir().join(format!("certauth-cli-crl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let root_pem = write("root.pem", root.pem());
    let crl_pem = write("inter.crl", crl.pem());
    let chain = |leaf: &certauth::testkit::pki::Leaf| format!("{}{}", leaf.pem(), inter.pem());
    let good_pem = write("good.pem", chain(&good));
    let bad_pem = write("bad.pem", chain(&bad));
    let run = |file: &str| {
        let args =
            ["verify", "--trust", &root_pem, "--crl", &crl_pem, "--at", "2026-06-01T00:00:00Z"];
        certauth(&[&args[..], &["--json", file]].concat(), b"")
    };
    let (code, out, err) = run(&good_pem);
    assert_eq!(code, 0, "{out} {err}");
    assert!(err.contains("warning: crl of CN=CLI Intermediate matches no anchor"), "{err}");
    let (code, out, _) = run(&bad_pem);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"error\":\"revoked\""), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Regression: `verify` of a leaf without its intermediate says which issuer was not
/// found, how many certificates the chain held and where the intermediate belongs, on
/// standard error and in the JSON `message`, as the library does.
#[test]
fn verify_unknown_issuer_names_the_missing_issuer() {
    let args = ["verify", "--trust", "pki/root.pem", "--at", "2027-01-01T00:00:00Z"];
    let expected = "no path to a trust anchor: issuer \"CN=Example Test Intermediate CA,O=Example \
                    Test PKI,C=US\" not found (chain of 1 certificate); proxies such as nginx \
                    forward only the leaf: add the intermediate to the trust store's \
                    intermediate pool, or the issuing ca as a trust anchor";
    let (code, _, err) = certauth(&[&args[..], &["pki/leaf-ec.pem"]].concat(), b"");
    assert_eq!(code, 1);
    assert_eq!(err.trim_end(), format!("rejected: unknown_issuer: {expected}"));
    let (code, out, _) = certauth(&[&args[..], &["--json", "pki/leaf-ec.pem"]].concat(), b"");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["message"], expected);
}

/// Regression: a detected header value's errors say `header: ...` once, never
/// `header header: ...`; nginx's `-` for "no certificate" is `no_certificate` whatever the
/// format.
#[test]
fn header_errors_name_the_header_once_and_dash_is_no_certificate() {
    let (code, _, err) = certauth(&["inspect"], b"abc!!\n");
    assert_eq!(code, 1);
    assert!(err.starts_with("error: malformed_input: header: "), "{err}");
    assert!(!err.contains("header header"), "{err}");
    for format in ["auto", "nginx-escaped", "nginx-folded", "pem-oneline", "haproxy-der"] {
        let (code, out, err) = certauth(&["inspect", "--json", "--format", format], b"-\n");
        assert_eq!(code, 1, "{format}");
        assert!(err.starts_with("error: no_certificate: header"), "{format}: {err}");
        assert!(!err.contains("header header"), "{format}: {err}");
        assert!(out.contains("\"error\":\"no_certificate\""), "{format}: {out}");
    }
}

/// Regression: `verify --at` before the trust anchor's notBefore says that the anchor is
/// not valid at that time (a configuration error, exit 2), not only when it becomes valid.
#[test]
fn verify_at_before_the_anchor_is_valid_says_so() {
    let at = "2020-01-01T00:00:00Z";
    let (code, out, err) =
        certauth(&["verify", "--trust", "pki/root.pem", "--at", at, "pki/leaf-ec-chain.pem"], b"");
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        err.trim_end(),
        "error: configuration: trust store: trust anchor CN=Example Test Root CA,O=Example \
         Test PKI,C=US is not valid at 2020-01-01T00:00:00Z (the --at time): it is valid from \
         2026-11-22T10:34:32Z"
    );
    // After its notAfter: expired, said the same way.
    let (code, _, err) = certauth(
        &["verify", "--trust", "pki/root.pem", "--at", "2050-01-01T00:00:00Z", "pki/leaf-ec.pem"],
        b"",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("is not valid at 2050-01-01T00:00:00Z (the --at time): it expired at"),
        "{err}"
    );
}

/// `certauth registry --file FILE ...` writes registry files: the file is created when
/// absent, every command is checked (exit 1 with the reason on standard error, the file
/// unchanged), `list` reports certificates and their expiry, and the library loads what
/// the tool wrote.
#[cfg(feature = "testkit")]
#[test]
fn registry_commands_manage_a_registry_file() {
    use certauth::Timestamp;
    use certauth::testkit::pki::{Ca, KeyType};
    let at = "2026-06-01T00:00:00Z";
    let now = Timestamp::parse_rfc3339(at).unwrap();
    let day = |n: i64| now.plus_secs(n * 86_400);
    let root = Ca::root("Registry CLI Root");
    let good = root.leaf("billing").build();
    let soon = root.leaf("billing-soon").valid(day(-10), day(20)).build();
    let expired = root.leaf("old").valid(day(-100), day(-1)).build();
    let weak = root.leaf("weak").key(KeyType::Rsa1024).build();
    let dir = std::env::temp_dir().join(format!("certauth-cli-registry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (good_pem, soon_pem) = (write("good.pem", good.pem()), write("soon.pem", soon.pem()));
    let (expired_pem, weak_pem) = (write("old.pem", expired.pem()), write("weak.pem", weak.pem()));
    let file = dir.join("clients.json").display().to_string();
    let run =
        |args: &[&str]| certauth(&[&["registry", "--file", &file, "--at", at], args].concat(), b"");

    let (code, out, err) = run(&[
        "add-client",
        "billing",
        "--name",
        "Billing",
        "--metadata",
        "tier=gold",
        "--metadata",
        "scope=orders:read",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "added client \"billing\"");
    assert!(std::path::Path::new(&file).exists(), "created");
    let (code, _, err) = run(&["add-client", "billing"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), format!("error: {file}: a client with id \"billing\" exists already"));

    let (code, out, err) = run(&["register", "billing", "--cert", &good_pem]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&good.thumbprint().to_x5t_s256()), "{out}");
    let (code, _, err) = run(&[
        "register",
        "billing",
        "--cert",
        &soon_pem,
        "--retire-after",
        "2026-06-15T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    // Refused, naming the file, the client and the certificate, never the PEM.
    for (pem, cert, why) in [
        (&expired_pem, &expired, "the certificate expired at"),
        (&weak_pem, &weak, "the certificate's key is refused"),
    ] {
        let (code, _, err) = run(&["register", "billing", "--cert", pem]);
        assert_eq!(code, 1, "{err}");
        let x5t = cert.thumbprint().to_x5t_s256();
        assert!(
            err.starts_with(&format!(
                "error: {file}: client \"billing\": certificate x5t#S256 {x5t}: {why}"
            )),
            "{err}"
        );
        assert!(!err.contains("BEGIN"), "{err}");
    }
    let (code, _, err) = run(&["register", "ghost", "--cert", &good_pem]);
    assert_eq!(code, 1);
    assert!(err.contains("no client with id \"ghost\""), "{err}");
    let (code, _, err) = run(&["register", "billing", "--cert", "/nonexistent.pem"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent.pem"), "{err}");

    let list = |args: &[&str]| {
        let (code, out, err) = run(&[&["list", "--json"], args].concat());
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).expect("json")
    };
    let v = list(&[]);
    let billing = &v["clients"][0];
    assert_eq!(billing["id"], "billing");
    assert_eq!(billing["name"], "Billing");
    assert_eq!(billing["status"], "active");
    assert_eq!(billing["metadata"], serde_json::json!({"tier": "gold", "scope": "orders:read"}));
    assert_eq!(billing["certificates"].as_array().unwrap().len(), 2);
    let v = list(&["--expiring-within", "30"]);
    let certs = v["clients"][0]["certificates"].as_array().unwrap().clone();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["x5t#S256"], soon.thumbprint().to_x5t_s256());
    assert_eq!(certs[0]["not_after"], day(20).to_rfc3339());
    assert_eq!(certs[0]["retire_after"], "2026-06-15T00:00:00Z");
    assert_eq!(
        (certs[0]["expired"].clone(), certs[0]["retired"].clone()),
        (false.into(), false.into())
    );
    assert_eq!(list(&["--expiring-within", "5"])["clients"], serde_json::json!([]));
    let (code, out, _) = run(&["list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("billing (Billing) active\n  x5t#S256 "), "{out}");

    // The library loads what the tool wrote; later, with a certificate expired, too.
    let loaded = certauth::registry::MemoryRegistry::new();
    loaded.load_file(&file, now).unwrap();
    assert_eq!(loaded.certificate_count(), 2);
    loaded.load_file(&file, day(40)).unwrap();
    let (code, out, err) = certauth(
        &["registry", "--file", &file, "--at", &day(40).to_rfc3339(), "list", "--json"],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"expired\":true"), "{out}");

    for (action, status) in [("suspend", "suspended"), ("activate", "active")] {
        let (code, _, err) = run(&[action, "billing"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(list(&[])["clients"][0]["status"], status);
    }
    let (code, _, _) = run(&["suspend", "ghost"]);
    assert_eq!(code, 1);
    let (code, _, err) = run(&["remove", "billing"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(list(&[])["clients"], serde_json::json!([]));
    let (code, _, _) = run(&["remove", "billing"]);
    assert_eq!(code, 1);

    // A file the library refuses is exit 2, naming the file; it is left as it was.
    std::fs::write(&file, "{").unwrap();
    let (code, _, err) = run(&["add-client", "x"]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("error: {file}: registry file: ")), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{");
    let (code, _, err) = run(&["add-client", "x", "--metadata", "novalue"]);
    assert_eq!(code, 2, "usage error");
    assert!(err.contains("expected KEY=VALUE"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `files` into a fresh directory named after `test`; returns the paths in order.
#[cfg(feature = "testkit")]
fn temp_files(test: &str, files: &[(&str, String)]) -> (std::path::PathBuf, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("certauth-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths = files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        })
        .collect();
    (dir, paths)
}

/// `verify --crl http://...` fetches the CRL once from a real HTTP server: a revoked leaf
/// exits 1 `revoked`, a good one 0; a URL that cannot be fetched, or is not plain
/// `http://`, is a configuration error (exit 2) naming the URL.
#[cfg(feature = "testkit")]
#[test]
fn verify_with_a_crl_fetched_from_an_http_url() {
    use crate::common::serve::{Answer, Server};
    use certauth::testkit::pki::Ca;
    let server = Server::start();
    let root = Ca::root("CLI Root");
    let inter = root.intermediate("CLI Intermediate");
    let good = inter.leaf("good").build();
    let bad = inter.leaf("bad").build();
    let next = certauth::Timestamp::parse_rfc3339("2026-07-01T00:00:00Z").unwrap();
    server.set(
        "/inter.crl",
        Answer::Body(inter.crl().revoke(&bad).next_update(next).build().pem().into_bytes()),
    );
    let (dir, paths) = temp_files(
        "crl-url",
        &[
            ("root.pem", root.pem()),
            ("good.pem", format!("{}{}", good.pem(), inter.pem())),
            ("bad.pem", format!("{}{}", bad.pem(), inter.pem())),
        ],
    );
    let run = |crl: &str, file: &str| {
        let args = ["verify", "--trust", &paths[0], "--crl", crl, "--at", "2026-06-01T00:00:00Z"];
        certauth(&[&args[..], &["--json", file]].concat(), b"")
    };
    let url = server.url("/inter.crl");
    let (code, out, err) = run(&url, &paths[1]);
    assert_eq!(code, 0, "{out} {err}");
    let (code, out, _) = run(&url, &paths[2]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"error\":\"revoked\""), "{out}");
    assert_eq!(server.accepts(), 2);

    let missing = server.url("/missing.crl");
    let (code, _, err) = run(&missing, &paths[1]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("crl url {missing}")) && err.contains("status 404"), "{err}");
    let https = format!("https://127.0.0.1:{}/inter.crl", server.port);
    let (code, _, err) = run(&https, &paths[1]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only http:// urls are fetched"), "{err}");
    assert_eq!(server.accepts(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `verify --fetch-intermediates-from HOST` completes a leaf-only chain from the leaf's
/// caIssuers URL on that host; without the flag, or naming another host, nothing is
/// fetched and the leaf is `unknown_issuer`.
#[cfg(feature = "testkit")]
#[test]
fn verify_fetches_a_missing_intermediate_only_from_a_named_host() {
    use crate::common::serve::{Answer, Server};
    use certauth::testkit::pki::Ca;
    let server = Server::start();
    let root = Ca::root("CLI Root");
    let inter = root.intermediate("CLI Intermediate");
    server.set("/inter.crt", Answer::Body(inter.der().to_vec()));
    let leaf = inter.leaf("client").ca_issuers_url(&server.url("/inter.crt")).build();
    let (dir, paths) = temp_files("aia", &[("root.pem", root.pem()), ("leaf.pem", leaf.pem())]);
    let run = |extra: &[&str]| {
        let args = ["verify", "--trust", &paths[0], "--at", "2026-06-01T00:00:00Z", "--json"];
        certauth(&[&args[..], extra, &[&paths[1]]].concat(), b"")
    };
    let (code, out, _) = run(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"error\":\"unknown_issuer\""), "{out}");
    let (code, out, _) = run(&["--fetch-intermediates-from", "localhost"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("caIssuers host 127.0.0.1 is not allowed"), "{out}");
    assert_eq!(server.accepts(), 0);
    let host = server.host();
    let (code, out, err) =
        run(&["--fetch-intermediates-from", "localhost", "--fetch-intermediates-from", &host]);
    assert_eq!(code, 0, "{out} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["identity"]["chain_length"], 2);
    assert_eq!(server.accepts(), 1);
    let (code, _, err) = run(&["--fetch-intermediates-from", "http://localhost/"]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
