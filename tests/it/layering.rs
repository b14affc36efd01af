//! Dependencies point down the data flow: the modules at the bottom import nothing above
//! them, and the trust store does not import the verifier (which imports it).

use std::path::{Path, PathBuf};

/// Every `.rs` file of a module: `src/NAME.rs` and everything under `src/NAME/`.
fn module_files(name: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join(format!("{name}.rs"))];
    let mut dirs = vec![src.join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The `crate::MODULE` paths a file's code (not its comments or docs) names, outside
/// its unit tests.
fn crate_paths(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap();
    let code = code.split("#[cfg(all(test").next().unwrap();
    let mut out = Vec::new();
    for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let module: String =
                rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !module.is_empty() {
                out.push(module);
            }
        }
        if let Some(use_super) = line.strip_prefix("use super::") {
            out.push(format!("super::{use_super}"));
        }
    }
    out
}

#[test]
fn modules_import_only_modules_below_them() {
    let rules: &[(&str, &[&str])] = &[
        ("error", &["error"]),
        ("time", &["error", "time"]),
        ("hex", &[]),
        ("der_reader", &["error", "time"]),
        ("http_get", &["error"]),
        (
            "trust",
            &[
                "cert",
                "der_reader",
                "error",
                "hex",
                "http_get",
                "input",
                "thumbprint",
                "time",
                "trust",
            ],
        ),
        // Revocation from distribution points: below the authenticator, beside OCSP,
        // on the blocking fetcher rather than an async runtime.
        ("crldp", &["cert", "der_reader", "error", "hex", "http_get", "time", "trust", "verify"]),
    ];
    for (module, allowed) in rules {
        for file in module_files(module) {
            for used in crate_paths(&file) {
                assert!(
                    allowed.contains(&used.as_str()) || used.starts_with("super::"),
                    "{} names crate::{used}, above it in the data flow",
                    file.display()
                );
            }
        }
    }
}

/// The check itself sees an upward import.
#[test]
fn an_upward_import_is_seen() {
    let dir = std::env::temp_dir().join(format!("certauth-layering-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("probe.rs");
    std::fs::write(
        &file,
        "//! Docs may name [`crate::verify::Verifier`].\nuse crate::verify::Verifier;\n\
         #[cfg(test)]\nmod tests { use crate::authenticator::Authenticator; }\n",
    )
    .unwrap();
    assert_eq!(crate_paths(&file), ["verify"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
