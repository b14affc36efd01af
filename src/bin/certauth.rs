//! `certauth`: the operator's tool. Shows what the library sees in a certificate, a
//! bundle or a forwarded header value, and whether it verifies.
//!
//! ```text
//! cargo run --features cli --bin certauth -- inspect tests/data/pki/leaf-ec-chain.pem
//! cargo run --features cli --bin certauth -- inspect --format nginx-escaped --json < header.txt
//! cargo run --features cli --bin certauth -- thumbprint --format xfcc tests/data/headers/envoy-xfcc-ec-all-details.txt
//! cargo run --features cli --bin certauth -- thumbprint leaf.pem
//! cargo run --features cli --bin certauth -- verify --trust tests/data/pki/root.pem --json tests/data/pki/leaf-ec-chain.pem
//! cargo run --features cli --bin certauth -- verify --trust root.pem --crl http://pki.example.com/issuing.crl --fetch-intermediates-from pki.example.com leaf.pem
//! cargo run --features cli --bin certauth -- verify --trust root.pem --ocsp leaf-chain.pem
//! cargo run --features cli --bin certauth -- verify --trust root.pem --crl-from-distribution-points leaf-chain.pem
//! cargo run --features cli --bin certauth -- registry --file clients.json add-client billing --name Billing --metadata tier=gold
//! cargo run --features cli --bin certauth -- registry --file clients.json register billing --cert billing.pem
//! cargo run --features cli --bin certauth -- registry --file clients.json list --expiring-within 30 --json
//! cargo run --features cli,postgres --bin certauth -- registry --database-url postgresql://certauth@db/registry migrate
//! cargo run --features cli,postgres --bin certauth -- registry --database-url postgresql://certauth@db/registry suspend billing
//! ```
//!
//! Exit status: 0 on success (for `verify`: the chain is accepted), 1 when the input is
//! rejected (the error kind and message on standard error; with `--json` also
//! `{"error": KIND, "message": ...}` on standard output; `verify --json` prints
//! `{"ok": false, "error": KIND, "message": ..., "identity": null}`), 2 on a usage or
//! configuration error (an unreadable trust file). `registry`: 0 done, 1 the operation
//! is refused (with the reason on standard error), 2 the registry file cannot be read,
//! parsed or written, or the database cannot be reached or has another schema version
//! (`migrate` applies the missing migrations). `--database-url` needs the `postgres`
//! feature; without it the tool says so and exits 2. A panic is a bug.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use certauth::{Certificate, Error, ErrorKind, Format, HeaderFormat, Limits, PresentedChain};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "certauth", version, about = "See what certauth sees in a client certificate")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every certificate of a chain (file, bundle or header value).
    Inspect {
        /// Input encoding: auto, pem, pem-lenient, der, base64-der, or a header format
        /// (rfc9440, rfc9440-chain, xfcc, nginx-escaped, nginx-folded, apache, haproxy-der,
        /// pem-oneline, aws-alb, cloudfront, traefik, azure-arr, aspnet, cloudflare, gcp,
        /// caddy).
        #[arg(long, default_value = "auto", value_parser = parse_format)]
        format: InputFormat,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Input file; standard input when absent.
        file: Option<PathBuf>,
    },
    /// Print the leaf's RFC 8705 x5t#S256 thumbprint.
    Thumbprint {
        /// Input encoding, as for inspect.
        #[arg(long, default_value = "auto", value_parser = parse_format)]
        format: InputFormat,
        /// Input file; standard input when absent.
        file: Option<PathBuf>,
    },
    /// Verify a client chain against trust anchors, as a server would.
    Verify {
        /// Trust anchors: a PEM bundle (chain files allowed), DER file or directory.
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// Extra intermediates the server holds (PEM).
        #[arg(long)]
        intermediates: Option<PathBuf>,
        /// CRL file (PEM or DER), or an http:// URL fetched once (no redirects, 10 s);
        /// repeatable. Checked for the leaf; no CRL for the leaf's issuer is an error. A CRL
        /// of an intermediate that only the chain carries is checked against that
        /// intermediate.
        #[arg(long)]
        crl: Vec<String>,
        /// Check CRLs for the whole chain instead of the leaf only.
        #[arg(long)]
        crl_whole_chain: bool,
        /// Fetch an issuer missing from the chain from its caIssuers URL (http:// only),
        /// from this host only (`host` for port 80, or `host:port`); repeatable. Off
        /// when absent.
        #[arg(long, value_name = "HOST")]
        fetch_intermediates_from: Vec<String>,
        /// Ask the leaf's OCSP responder (its authority information access, http://)
        /// whether it is revoked; no answer, an unknown status or a bad or stale response
        /// is a rejection.
        #[arg(long)]
        ocsp: bool,
        /// Ask this OCSP responder (an http:// URL) instead of the leaf's; implies --ocsp.
        #[arg(long, value_name = "URL")]
        ocsp_url: Option<String>,
        /// Fetch the CRL the leaf names in its CRL distribution points (http:// only)
        /// and check the leaf against it; no distribution point, a failed fetch, or a CRL
        /// that is not the issuer's or is stale is a rejection.
        #[arg(long)]
        crl_from_distribution_points: bool,
        /// Verification time, RFC 3339; the clock when absent.
        #[arg(long, value_parser = parse_time)]
        at: Option<certauth::Timestamp>,
        /// Input encoding, as for inspect (a file encoding or a header format).
        #[arg(long, default_value = "auto", value_parser = parse_format)]
        format: InputFormat,
        /// Print one JSON object: {"ok", "error", "message", "identity"}.
        #[arg(long)]
        json: bool,
        /// Input file; standard input when absent.
        file: Option<PathBuf>,
    },
    /// Manage a registry: clients and their certificates, in a file or in PostgreSQL.
    /// A file is created when absent and replaced atomically, in the form
    /// `MemoryRegistry::save_file` writes (certificates by x5t#S256).
    Registry {
        /// The registry file (JSON).
        #[arg(long, conflicts_with = "database_url")]
        file: Option<PathBuf>,
        /// The registry database instead of a file: a PostgreSQL connection string
        /// (`postgresql://user@host/dbname` or `key=value` pairs). Needs the `postgres`
        /// feature. The schema must be at this certauth's version: run `migrate` first.
        /// Read from the environment variable `CERTAUTH_DATABASE_URL` when absent, which
        /// keeps a password out of the process list and the shell history.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Connect to the database over TLS (required, never downgraded), trusting the CA
        /// certificates of this PEM file for the server's certificate.
        #[arg(long, value_name = "FILE", conflicts_with = "file")]
        database_ca: Option<PathBuf>,
        /// The time registrations and expiry are judged at, RFC 3339; the clock when absent.
        #[arg(long, value_parser = parse_time)]
        at: Option<certauth::Timestamp>,
        #[command(subcommand)]
        action: RegistryAction,
    },
}

/// What `certauth registry` does to the file or the database.
#[derive(Subcommand)]
enum RegistryAction {
    /// Apply the schema migrations the database lacks (`--database-url` only). A
    /// database newer than this certauth is refused and left unchanged.
    Migrate,
    /// Add a client (active, without certificates).
    AddClient {
        /// The client id.
        id: String,
        /// Display name (the id when absent).
        #[arg(long)]
        name: Option<String>,
        /// A metadata entry KEY=VALUE; repeatable.
        #[arg(long, value_parser = parse_metadata)]
        metadata: Vec<(String, String)>,
    },
    /// Register a certificate (PEM or DER file; the leaf) to a client. An expired
    /// certificate or a weak key is refused.
    Register {
        /// The client id.
        id: String,
        /// The certificate file.
        #[arg(long)]
        cert: PathBuf,
        /// End of the rotation overlap, RFC 3339: the certificate is refused after it.
        #[arg(long, value_parser = parse_time)]
        retire_after: Option<certauth::Timestamp>,
    },
    /// Suspend a client: its requests are refused with client_suspended.
    Suspend {
        /// The client id.
        id: String,
    },
    /// Re-activate a suspended client.
    Activate {
        /// The client id.
        id: String,
    },
    /// Remove a client with its certificates and identity mappings.
    Remove {
        /// The client id.
        id: String,
    },
    /// List the clients and their certificates.
    List {
        /// Only certificates whose notAfter is within DAYS days (or past), and their clients.
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<u32>,
        /// Print one JSON object: {"clients": [{"id", "name", "status", "metadata",
        /// "certificates": [{"x5t#S256", "not_after", "retire_after", "expired", "retired"}]}]}.
        #[arg(long)]
        json: bool,
    },
}

fn parse_metadata(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err("expected KEY=VALUE".to_owned()),
    }
}

/// Like `println!`, but a closed pipe (`certauth inspect | head`) is not a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Like `eprintln!`, ignoring a closed standard error.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

fn parse_time(s: &str) -> Result<certauth::Timestamp, String> {
    certauth::Timestamp::parse_rfc3339(s).map_err(|e| e.to_string())
}

/// A file encoding or a forwarded-header format. The names shared by both (`auto`,
/// `base64-der`) are the file encodings; `auto` also tries the header formats when the
/// input is one line that is not a file encoding.
#[derive(Clone, Copy, Debug)]
enum InputFormat {
    File(Format),
    Header(HeaderFormat),
}

fn parse_format(s: &str) -> Result<InputFormat, String> {
    if let Ok(f) = s.parse::<Format>() {
        return Ok(InputFormat::File(f));
    }
    s.parse::<HeaderFormat>().map(InputFormat::Header).map_err(|_| {
        let names: Vec<&str> = Format::ALL
            .iter()
            .map(|f| f.name())
            .chain(HeaderFormat::ALL.iter().map(|f| f.name()))
            .filter(|n| !matches!(*n, "auto" | "base64-der"))
            .collect();
        format!("unknown format (known: auto, base64-der, {})", names.join(", "))
    })
}

/// The name shown as the chain's format: the header format when it came from one.
fn format_name(chain: &PresentedChain) -> &'static str {
    chain.header_format().map_or_else(|| chain.format().name(), HeaderFormat::name)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Verify { .. } = cli.command {
        return verify(cli.command);
    }
    if let Command::Registry { file, database_url, database_ca, at, action } = cli.command {
        let now = at.unwrap_or_else(certauth::Timestamp::now);
        // The environment is read only when no flag names the registry.
        let database_url = database_url.or_else(|| {
            file.is_none().then(|| std::env::var("CERTAUTH_DATABASE_URL").ok()).flatten()
        });
        return match (file, database_url) {
            (Some(file), _) => registry(&file, now, action),
            (None, Some(url)) => registry_database(&url, database_ca.as_deref(), now, action),
            (None, None) => {
                err!("error: registry needs --file or --database-url (or CERTAUTH_DATABASE_URL)");
                ExitCode::from(2)
            }
        };
    }
    let json_output = matches!(cli.command, Command::Inspect { json: true, .. });
    match run(cli.command) {
        Ok(out) => {
            out!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            err!("error: {}: {}", e.kind(), e.message());
            if json_output {
                out!("{}", json!({"error": e.kind().as_str(), "message": e.message()}));
            }
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> Result<String, Error> {
    match command {
        Command::Inspect { format, json, file } => {
            let chain = read_chain(file.as_ref(), format)?;
            let certs = parse_all(&chain)?;
            if json {
                let chain_json: Vec<Value> = certs.iter().map(cert_json).collect();
                Ok(json!({"format": format_name(&chain), "chain": chain_json}).to_string())
            } else {
                Ok(text_report(&chain, &certs))
            }
        }
        Command::Thumbprint { format, file } => {
            let chain = read_chain(file.as_ref(), format)?;
            Ok(certauth::Thumbprint::of(chain.leaf()).to_x5t_s256())
        }
        Command::Verify { .. } | Command::Registry { .. } => {
            unreachable!("handled by verify() and registry()")
        }
    }
}

/// `verify`: exit 0 accepted, 1 rejected, 2 configuration error.
fn verify(command: Command) -> ExitCode {
    let Command::Verify {
        trust,
        intermediates,
        crl,
        crl_whole_chain,
        fetch_intermediates_from: fetch_from,
        ocsp,
        ocsp_url,
        crl_from_distribution_points,
        at,
        format,
        json,
        file,
    } = command
    else {
        return ExitCode::from(2);
    };
    let now = at.unwrap_or_else(certauth::Timestamp::now);
    let revocation = Revocation { crls: &crl, whole_chain: crl_whole_chain };
    let verifier =
        match build_verifier(&trust, intermediates.as_ref(), revocation, &fetch_from, now) {
            Ok(v) => v,
            Err(e) => {
                err!("error: configuration: {}", describe_config_error(&e, now, at.is_some()));
                return ExitCode::from(2);
            }
        };
    let ocsp = match ocsp_checker(&verifier, ocsp, ocsp_url) {
        Ok(checker) => checker,
        Err(e) => {
            err!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let crldp = match crl_from_distribution_points
        .then(|| certauth::crldp::CrlDistributionPoints::builder(&verifier).build())
        .transpose()
    {
        Ok(checker) => checker,
        Err(e) => {
            err!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let result = read_chain(file.as_ref(), format)
        .and_then(|chain| verifier.verify(&chain, now))
        .and_then(|verified| match &ocsp {
            Some(checker) => check_revocation(checker, &verified, now).map(|()| verified),
            None => Ok(verified),
        })
        .and_then(|verified| match &crldp {
            Some(checker) => check_revocation(checker, &verified, now).map(|()| verified),
            None => Ok(verified),
        })
        .and_then(certauth::ClientIdentity::new);
    match result {
        Ok(id) => {
            if json {
                let identity = identity_json(&id);
                out!(
                    "{}",
                    json!({"ok": true, "error": null, "message": null, "identity": identity})
                );
            } else {
                out!("accepted: {}", id.subject());
                out!("x5t#S256: {}", id.thumbprint().to_x5t_s256());
                for w in id.chain().warnings() {
                    out!("warning: {w}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            err!("rejected: {}: {}", e.kind(), e.message());
            if json {
                out!(
                    "{}",
                    json!({"ok": false, "error": e.kind().as_str(), "message": e.message(), "identity": null})
                );
            }
            ExitCode::from(1)
        }
    }
}

/// The OCSP checker `--ocsp` / `--ocsp-url` ask for: the leaf only, unknown status
/// refused, the library's defaults otherwise.
fn ocsp_checker(
    verifier: &certauth::Verifier,
    ocsp: bool,
    url: Option<String>,
) -> Result<Option<certauth::ocsp::OcspChecker>, certauth::ConfigError> {
    if !ocsp && url.is_none() {
        return Ok(None);
    }
    let mut builder = certauth::ocsp::OcspChecker::builder(verifier);
    if let Some(url) = url {
        builder = builder.responder_url(url);
    }
    builder.build().map(Some)
}

/// Runs a revocation check (OCSP, CRL distribution points) of a verified chain on a
/// runtime of its own.
fn check_revocation(
    checker: &dyn certauth::RevocationChecker,
    chain: &certauth::VerifiedChain,
    now: certauth::Timestamp,
) -> Result<(), Error> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            Error::new(
                ErrorKind::RevocationUnknown,
                format!("revocation: cannot start the runtime: {e}"),
            )
        })?;
    runtime.block_on(checker.check(chain, now))
}

/// A configuration error in the operator's words: an anchor outside its validity is
/// said to be not valid at the verification time (`--at`, or now).
fn describe_config_error(
    e: &certauth::ConfigError,
    now: certauth::Timestamp,
    at_given: bool,
) -> String {
    use certauth::TrustProblem;
    let certauth::ConfigError::Trust(problems) = e else { return e.to_string() };
    let when = if at_given { "the --at time" } else { "now" };
    let now = now.to_rfc3339();
    let described: Vec<String> = problems
        .iter()
        .map(|p| match p {
            TrustProblem::AnchorNotYetValid { subject, not_before } => format!(
                "trust anchor {subject} is not valid at {now} ({when}): it is valid from \
                 {not_before}"
            ),
            TrustProblem::AnchorExpired { subject, not_after } => format!(
                "trust anchor {subject} is not valid at {now} ({when}): it expired at {not_after}"
            ),
            other => other.to_string(),
        })
        .collect();
    format!("trust store: {}", described.join("; "))
}

/// `registry`: exit 0 done, 1 the operation is refused (unknown or duplicate client,
/// expired certificate, weak key, certificate of another client), 2 the registry file
/// cannot be read, parsed or written.
fn registry(path: &std::path::Path, now: certauth::Timestamp, action: RegistryAction) -> ExitCode {
    use certauth::registry::MemoryRegistry;
    let registry = MemoryRegistry::new();
    if path.exists()
        && let Err(e) = registry.load_file(path, now)
    {
        err!("error: {e}");
        return ExitCode::from(2);
    }
    let done = match action {
        RegistryAction::Migrate => {
            err!("error: migrate applies to a database: use --database-url");
            return ExitCode::from(2);
        }
        RegistryAction::List { expiring_within, json } => {
            list_clients(registry.clients(), now, expiring_within, json);
            return ExitCode::SUCCESS;
        }
        RegistryAction::AddClient { id, name, metadata } => {
            let mut client = certauth::registry::RegisteredClient::builder(id.clone());
            if let Some(name) = name {
                client = client.name(name);
            }
            for (k, v) in metadata {
                client = client.metadata(k, v);
            }
            registry.add_client(client.build()).map(|()| format!("added client {id:?}"))
        }
        RegistryAction::Register { id, cert, retire_after } => {
            let certificate = match read_certificate(&cert) {
                Ok(c) => c,
                Err(e) => {
                    err!("error: {}: {}: {}", cert.display(), e.kind(), e.message());
                    return ExitCode::from(1);
                }
            };
            let x5t = certificate.thumbprint().to_x5t_s256();
            registry
                .register_certificate(&id, &certificate, now, retire_after)
                .map(|()| format!("registered certificate x5t#S256 {x5t} to client {id:?}"))
                .map_err(|e| certauth::registry::RegistrationError::CertificateRefused {
                    client: id.clone(),
                    certificate: format!("x5t#S256 {x5t}"),
                    error: Box::new(e),
                })
        }
        RegistryAction::Suspend { id } => {
            registry.suspend(&id).map(|()| format!("suspended client {id:?}"))
        }
        RegistryAction::Activate { id } => {
            registry.activate(&id).map(|()| format!("activated client {id:?}"))
        }
        RegistryAction::Remove { id } => {
            registry.remove_client(&id).map(|()| format!("removed client {id:?}"))
        }
    };
    match done {
        Ok(message) => {
            if let Err(e) = registry.save_file(path) {
                err!("error: {e}");
                return ExitCode::from(2);
            }
            out!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            err!("error: {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

/// `--database-ca FILE`: a rustls client configuration (ring) trusting its CA certificates.
#[cfg(feature = "postgres")]
fn database_tls(ca: &Path) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let bad = |e: &dyn std::fmt::Display| format!("{}: {e}", ca.display());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"no CA certificate"));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// `registry --database-url`: the same verbs on a `PostgresRegistry`, plus `migrate`.
/// Exit 0 done, 1 refused by the registration rules, 2 the database cannot be reached,
/// has another schema version, or the connection string does not parse.
#[cfg(feature = "postgres")]
fn registry_database(
    url: &str,
    ca: Option<&Path>,
    now: certauth::Timestamp,
    action: RegistryAction,
) -> ExitCode {
    use certauth::registry::postgres::{PostgresError, PostgresRegistry};
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            err!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let tls = match ca.map(database_tls).transpose() {
        Ok(tls) => tls,
        Err(e) => {
            err!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let done: Result<String, PostgresError> = runtime.block_on(async {
        let mut builder = PostgresRegistry::builder(url)?;
        if let Some(tls) = tls {
            builder = builder.tls(tls);
        }
        if let RegistryAction::Migrate = action {
            let m = builder.migrate().await?;
            return Ok(if m.from == m.to {
                format!("schema at version {}: nothing to do", m.to)
            } else {
                format!("schema migrated from version {} to {}", m.from, m.to)
            });
        }
        let registry = builder.connect().await?;
        match action {
            RegistryAction::Migrate => unreachable!("handled above"),
            RegistryAction::List { expiring_within, json } => {
                list_clients(registry.clients().await?, now, expiring_within, json);
                Ok(String::new())
            }
            RegistryAction::AddClient { id, name, metadata } => {
                let mut client = certauth::registry::RegisteredClient::builder(id.clone());
                if let Some(name) = name {
                    client = client.name(name);
                }
                for (k, v) in metadata {
                    client = client.metadata(k, v);
                }
                registry.add_client(&client.build()).await?;
                Ok(format!("added client {id:?}"))
            }
            RegistryAction::Register { id, cert, retire_after } => {
                let certificate = read_certificate(&cert).map_err(|e| {
                    PostgresError::Refused(
                        certauth::registry::RegistrationError::UnreadableCertificate {
                            client: id.clone(),
                            error: Error::new(
                                e.kind(),
                                format!("{}: {}", cert.display(), e.message()),
                            ),
                        },
                    )
                })?;
                let x5t = certificate.thumbprint().to_x5t_s256();
                registry.register_certificate(&id, &certificate, now, retire_after).await.map_err(
                    |e| match e {
                        PostgresError::Refused(e) => PostgresError::Refused(
                            certauth::registry::RegistrationError::CertificateRefused {
                                client: id.clone(),
                                certificate: format!("x5t#S256 {x5t}"),
                                error: Box::new(e),
                            },
                        ),
                        other => other,
                    },
                )?;
                Ok(format!("registered certificate x5t#S256 {x5t} to client {id:?}"))
            }
            RegistryAction::Suspend { id } => {
                registry.suspend(&id).await?;
                Ok(format!("suspended client {id:?}"))
            }
            RegistryAction::Activate { id } => {
                registry.activate(&id).await?;
                Ok(format!("activated client {id:?}"))
            }
            RegistryAction::Remove { id } => {
                registry.remove_client(&id).await?;
                Ok(format!("removed client {id:?}"))
            }
        }
    });
    match done {
        Ok(message) => {
            if !message.is_empty() {
                out!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(PostgresError::Refused(e)) => {
            err!("error: registry database: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            err!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `registry --database-url` in a build without the `postgres` feature.
#[cfg(not(feature = "postgres"))]
fn registry_database(
    _url: &str,
    _ca: Option<&Path>,
    _now: certauth::Timestamp,
    _action: RegistryAction,
) -> ExitCode {
    err!(
        "error: --database-url needs a certauth built with the postgres feature \
         (cargo install certauth --features cli,postgres)"
    );
    ExitCode::from(2)
}

/// The leaf of a PEM or DER file.
fn read_certificate(path: &std::path::Path) -> Result<Certificate, Error> {
    let limits = Limits::default();
    let bytes = read_file(path, limits.max_bundle() as u64)?;
    let chain = certauth::parse(&bytes, Format::Auto, &limits)?;
    Certificate::from_der(chain.leaf())
}

/// `registry list`: every client, or with `expiring_within` the clients holding a
/// certificate whose notAfter is before `now` plus that many days (those certificates
/// only).
fn list_clients(
    clients: Vec<certauth::registry::RegisteredClient>,
    now: certauth::Timestamp,
    expiring_within: Option<u32>,
    json: bool,
) {
    let horizon = expiring_within.map(|days| now.plus_secs(i64::from(days) * 86_400));
    let mut listed = Vec::new();
    for client in clients {
        let certificates: Vec<_> = client
            .certificates()
            .filter(|c| horizon.is_none_or(|h| c.not_after.is_some_and(|t| t <= h)))
            .collect();
        if horizon.is_some() && certificates.is_empty() {
            continue;
        }
        listed.push((client, certificates));
    }
    if json {
        let clients: Vec<Value> = listed
            .iter()
            .map(|(client, certificates)| {
                let metadata: serde_json::Map<String, Value> =
                    client.metadata_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
                let certificates: Vec<Value> = certificates
                    .iter()
                    .map(|c| {
                        json!({
                            "x5t#S256": c.thumbprint.to_x5t_s256(),
                            "not_after": c.not_after.map(certauth::Timestamp::to_rfc3339),
                            "retire_after": c.retire_after.map(certauth::Timestamp::to_rfc3339),
                            "expired": c.not_after.is_some_and(|t| t < now),
                            "retired": c.is_retired_at(now),
                        })
                    })
                    .collect();
                json!({
                    "id": client.id(),
                    "name": client.name(),
                    "status": serde_json::to_value(client.status()).unwrap_or(Value::Null),
                    "metadata": metadata,
                    "certificates": certificates,
                })
            })
            .collect();
        out!("{}", json!({ "clients": clients }));
        return;
    }
    for (client, certificates) in &listed {
        let status = serde_json::to_value(client.status())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        out!("{} ({}) {status}", client.id(), client.name());
        for c in certificates {
            let not_after = c.not_after.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
            let mut notes = String::new();
            if c.not_after.is_some_and(|t| t < now) {
                notes.push_str(" expired");
            }
            if let Some(r) = c.retire_after {
                notes.push_str(&format!(" retire-after {}", r.to_rfc3339()));
            }
            if c.is_retired_at(now) {
                notes.push_str(" retired");
            }
            out!("  x5t#S256 {} not-after {not_after}{notes}", c.thumbprint.to_x5t_s256());
        }
    }
}

/// `verify`'s CRLs (files or `http://` URLs) and their depth.
struct Revocation<'a> {
    crls: &'a [String],
    whole_chain: bool,
}

/// How long `verify` waits for a CRL fetched from a URL.
const CRL_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn build_verifier(
    trust: &[PathBuf],
    intermediates: Option<&PathBuf>,
    Revocation { crls, whole_chain }: Revocation<'_>,
    fetch_from: &[String],
    now: certauth::Timestamp,
) -> Result<certauth::Verifier, certauth::ConfigError> {
    use certauth::{RevocationDepth, RevocationPolicy, UnknownStatus};
    let mut store = certauth::TrustStore::builder().check_at(now);
    for path in trust {
        store = if path.is_dir() { store.add_directory(path)? } else { store.add_file(path)? };
    }
    if let Some(path) = intermediates {
        let bytes = read_file(path, TRUST_FILE_BOUND).map_err(|e| {
            certauth::ConfigError::Invalid { what: path.display().to_string(), error: e }
        })?;
        store = store.add_intermediates_pem(&bytes)?;
    }
    for crl in crls {
        // Anything with a scheme is a URL: `https://` is refused as such, not looked for
        // as a file.
        store = if crl.contains("://") {
            store.add_crl_url(crl, CRL_FETCH_TIMEOUT)?
        } else {
            store.add_crl_file(crl)?
        };
    }
    let store = store.build()?;
    for w in store.warnings() {
        err!("warning: {w}");
    }
    let mut verifier = certauth::Verifier::builder(store, certauth::RING_ALGORITHMS);
    if !crls.is_empty() {
        let depth = if whole_chain { RevocationDepth::Chain } else { RevocationDepth::Leaf };
        verifier = verifier.revocation(RevocationPolicy::new(depth, UnknownStatus::Deny));
    }
    if !fetch_from.is_empty() {
        let fetch = certauth::IntermediateFetch::from_hosts(fetch_from)?;
        verifier = verifier.fetch_missing_intermediates(fetch);
    }
    verifier.build()
}

fn identity_json(id: &certauth::ClientIdentity) -> Value {
    let mut v = cert_json(id.certificate());
    v["trusted_by"] = match id.chain().trusted_by() {
        certauth::TrustedBy::Anchor(subject) => json!({"anchor": subject}),
        certauth::TrustedBy::Pinned => json!("pinned"),
        _ => json!(null),
    };
    v["chain_length"] = json!(id.chain().certificates().len());
    v["warnings"] = json!(id.chain().warnings());
    v
}

/// Bound on a file of intermediates, as the library's trust store bounds its files.
const TRUST_FILE_BOUND: u64 = 16 << 20;

/// Reads a file of at most `max` bytes, reading one byte more at most: a device such
/// as `/dev/zero` or a huge file is refused at the bound.
fn read_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(|e| Error::new(ErrorKind::MalformedInput, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::InputTooLarge,
            format!("file is larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// Reads at most one byte more than the limit, so an endless stream is refused quickly.
fn read_chain(file: Option<&PathBuf>, format: InputFormat) -> Result<PresentedChain, Error> {
    let limits = Limits::default();
    let max = limits.max_bundle() as u64;
    let bytes = match file {
        Some(path) => read_file(path, max)
            .map_err(|e| Error::new(e.kind(), format!("{}: {}", path.display(), e.message())))?,
        None => {
            let mut bytes = Vec::new();
            std::io::stdin().take(max + 1).read_to_end(&mut bytes).map_err(|e| {
                Error::new(ErrorKind::MalformedInput, format!("cannot read standard input: {e}"))
            })?;
            if bytes.len() as u64 > max {
                return Err(Error::new(
                    ErrorKind::InputTooLarge,
                    format!("standard input is longer than {max} bytes"),
                ));
            }
            bytes
        }
    };
    match format {
        InputFormat::Header(f) => decode_header(&bytes, f, &limits),
        InputFormat::File(Format::Auto) => match certauth::parse(&bytes, Format::Auto, &limits) {
            Err(e) if e.kind() == ErrorKind::MalformedInput && is_one_line(&bytes) => {
                decode_header(&bytes, HeaderFormat::Auto, &limits)
            }
            other => other,
        },
        InputFormat::File(f) => certauth::parse(&bytes, f, &limits),
    }
}

/// A header value pasted into a file or a pipe: one line, maybe a final newline.
fn is_one_line(bytes: &[u8]) -> bool {
    !bytes.trim_ascii_end().iter().any(|&c| matches!(c, b'\r' | b'\n' | 0))
}

/// Decodes a header value, without the final newline a file or `echo` adds. Errors
/// name the format's default header, or say `header: ...` when the format is detected.
fn decode_header(
    bytes: &[u8],
    format: HeaderFormat,
    limits: &Limits,
) -> Result<PresentedChain, Error> {
    let name = format.default_header_name().unwrap_or("");
    certauth::decode_header(bytes.trim_ascii_end(), format, name, limits)
}

fn parse_all(chain: &PresentedChain) -> Result<Vec<Certificate>, Error> {
    chain
        .certificates()
        .iter()
        .enumerate()
        .map(|(i, der)| {
            Certificate::from_der(der)
                .map_err(|e| Error::new(e.kind(), format!("certificate {i}: {}", e.message())))
        })
        .collect()
}

fn key_json(cert: &Certificate) -> Value {
    let key = cert.key();
    match key {
        certauth::PublicKeyInfo::Ec { curve } => {
            json!({"type": key.type_name(), "curve": curve.name()})
        }
        _ => match key.bits() {
            Some(bits) => json!({"type": key.type_name(), "bits": bits}),
            None => json!({"type": key.type_name()}),
        },
    }
}

fn cert_json(cert: &Certificate) -> Value {
    let sans = cert.sans();
    let thumbprint = cert.thumbprint();
    json!({
        "subject": cert.subject().to_rfc4514(),
        "issuer": cert.issuer().to_rfc4514(),
        "serial": cert.serial_hex(),
        "not_before": cert.not_before().to_rfc3339(),
        "not_after": cert.not_after().to_rfc3339(),
        "sans": {
            "dns": sans.dns(),
            "ip": sans.ip().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "uri": sans.uri(),
            "email": sans.email(),
        },
        "spiffe_id": cert.spiffe_id().map(|id| id.as_str().to_owned()),
        "key": key_json(cert),
        "signature_algorithm": cert.signature_algorithm().name(),
        "is_ca": cert.is_ca(),
        "x5t#S256": thumbprint.to_x5t_s256(),
        "sha256_hex": thumbprint.to_hex(),
    })
}

fn text_report(chain: &PresentedChain, certs: &[Certificate]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("format: {}\ncertificates: {}\n", format_name(chain), certs.len());
    for (i, cert) in certs.iter().enumerate() {
        let sans = cert.sans();
        let key = cert.key();
        let _ = write!(
            out,
            "\n[{i}] subject:   {}\n    issuer:    {}\n    serial:    {}\n    validity:  {} .. {}\n",
            cert.subject(),
            cert.issuer(),
            cert.serial_hex(),
            cert.not_before(),
            cert.not_after(),
        );
        for (label, values) in [("dns", sans.dns()), ("uri", sans.uri()), ("email", sans.email())] {
            if !values.is_empty() {
                let _ = writeln!(
                    out,
                    "    san {label}:{}{}",
                    " ".repeat(6 - label.len()),
                    values.join(", ")
                );
            }
        }
        if !sans.ip().is_empty() {
            let ips: Vec<String> = sans.ip().iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "    san ip:    {}", ips.join(", "));
        }
        if let Some(id) = cert.spiffe_id() {
            let _ = writeln!(out, "    spiffe id: {id}");
        }
        let key_text = match (key, key.bits()) {
            (certauth::PublicKeyInfo::Ec { curve }, _) => format!("ec {}", curve.name()),
            (_, Some(bits)) => format!("{} {bits} bits", key.type_name()),
            (_, None) => key.type_name().to_owned(),
        };
        let ekus: Vec<String> = cert
            .extended_key_usages()
            .iter()
            .map(|e| e.name().map_or_else(|| e.oid().to_owned(), str::to_owned))
            .collect();
        let _ = write!(
            out,
            "    key:       {key_text}\n    signature: {}\n    ca:        {}\n    eku:       {}\n    x5t#S256:  {}\n    sha256:    {}\n",
            cert.signature_algorithm().name(),
            cert.is_ca(),
            if ekus.is_empty() { "(none)".to_owned() } else { ekus.join(", ") },
            cert.thumbprint().to_x5t_s256(),
            cert.thumbprint().to_hex_colons(),
        );
    }
    out.truncate(out.trim_end().len());
    out
}
