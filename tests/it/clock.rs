//! The clock is read only at the edges: the tower layer, the command-line tool, the setup
//! shortcuts, and
//! `Timestamp::now` itself. Every other function takes the time as an argument (the
//! rustls verifier gets it from rustls).

use std::path::{Path, PathBuf};

/// Files allowed to read the wall clock, relative to `src/`, and why.
const EDGES: &[(&str, &str)] = &[
    ("time.rs", "Timestamp::now, the one reader of the system clock"),
    ("tower.rs", "the tower layer: the time of each request"),
    ("bin/certauth.rs", "the command-line tool, unless --at is given"),
    ("trust.rs", "TrustStoreBuilder::build checks anchor validity at the clock without check_at"),
    ("reload.rs", "the reload watcher: a changed file is checked at the time it is reloaded"),
    ("setup.rs", "the setup shortcuts: the registry file is loaded at start-up, as the CLI does"),
];

const CLOCK_READS: &[&str] = &["Timestamp::now", "SystemTime::now", "UnixTime::now"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_edges_read_the_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "{} files under {}", files.len(), src.display());
    let mut reads = Vec::new();
    for path in files {
        let relative = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if EDGES.iter().any(|(edge, _)| *edge == relative) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if CLOCK_READS.iter().any(|read| code.contains(read)) {
                reads.push(format!("src/{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(reads.is_empty(), "the clock read away from the edges:\n{}", reads.join("\n"));
}
