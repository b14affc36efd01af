//! The OpenSSL side: a scenario written to files and checked with `openssl verify`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{CrlCheck, Scenario, Trust, VERIFY_AT, pem};

/// The `openssl` binary: `$CERTAUTH_OPENSSL`, else `openssl` on the `PATH`.
pub(crate) fn binary() -> PathBuf {
    std::env::var_os("CERTAUTH_OPENSSL").map_or_else(|| PathBuf::from("openssl"), PathBuf::from)
}

/// `openssl version`, or `None` when the binary cannot be run.
pub(crate) fn version() -> Option<String> {
    let out = Command::new(binary()).arg("version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// OpenSSL's verdict: `Ok(())`, or the first error it reported as `"<code> <text>"`.
pub(crate) fn verify(s: &Scenario, dir: &Path) -> Result<(), String> {
    let mut cmd = Command::new(binary());
    cmd.args(["verify", "-x509_strict", "-purpose", "sslclient", "-attime"]);
    cmd.arg(VERIFY_AT.as_unix_secs().to_string());
    match &s.trust {
        Trust::Bundle(certs) => {
            let file = dir.join("openssl-anchors.pem");
            write(&file, certs.iter().map(|c| pem("CERTIFICATE", c)).collect::<String>());
            cmd.arg("-CAfile").arg(&file).args(["-no-CApath", "-no-CAstore"]);
        }
        Trust::Directory(files) => {
            // -CApath reads PEM only, one certificate per hashed name: the same
            // certificates, each as its own PEM file, named by `openssl rehash`.
            let capath = dir.join("openssl-capath");
            std::fs::create_dir_all(&capath).expect("capath");
            for (i, file) in files.iter().enumerate() {
                for (j, der) in file.certs.iter().enumerate() {
                    write(&capath.join(format!("{i}-{j}.pem")), pem("CERTIFICATE", der));
                }
            }
            let out = Command::new(binary()).arg("rehash").arg(&capath).output().expect("rehash");
            assert!(
                out.status.success(),
                "openssl rehash: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            cmd.arg("-CApath").arg(&capath).args(["-no-CAfile", "-no-CAstore"]);
        }
    }
    if !s.presented.is_empty() {
        let file = dir.join("openssl-untrusted.pem");
        write(&file, s.presented.iter().map(|c| pem("CERTIFICATE", c)).collect::<String>());
        cmd.arg("-untrusted").arg(&file);
    }
    if !s.crls.is_empty() {
        let file = dir.join("openssl-crls.pem");
        write(&file, s.crls.iter().map(|c| pem("X509 CRL", c)).collect::<String>());
        cmd.arg("-CRLfile").arg(&file);
    }
    match s.crl_check {
        CrlCheck::Off => {}
        CrlCheck::Leaf => {
            cmd.arg("-crl_check");
        }
        CrlCheck::All => {
            cmd.arg("-crl_check_all");
        }
    }
    let leaf = dir.join("openssl-leaf.pem");
    write(&leaf, pem("CERTIFICATE", &s.leaf));
    cmd.arg(&leaf);
    let out = cmd.output().expect("run openssl verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stdout.trim_end().ends_with(": OK") {
        return Ok(());
    }
    // "error 10 at 0 depth lookup: certificate has expired"
    let first = stderr
        .lines()
        .chain(stdout.lines())
        .find_map(|l| {
            let rest = l.strip_prefix("error ")?;
            let (code, rest) = rest.split_once(" at ")?;
            let (depth, text) = rest.split_once(" depth lookup: ")?;
            Some(format!("{code} at depth {depth}: {text}"))
        })
        .unwrap_or_else(|| format!("exit {:?}: {}", out.status.code(), stderr.trim()));
    Err(first)
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
