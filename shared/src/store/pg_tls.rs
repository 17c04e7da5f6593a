//! TLS to PostgreSQL, chosen in the database address as libpq users write it:
//! `?sslmode=verify-full&sslrootcert=/etc/karya/db-ca.pem`.
//!
//! | `sslmode` | what karya does |
//! |---|---|
//! | absent, `disable` | no TLS (a database on the hubs' own machine or HQ's private network) |
//! | `require`, `verify-full` | TLS; the server's certificate must chain to a trusted root and name the host |
//! | `verify-ca` | TLS; the certificate must chain to a trusted root (any host name) |
//! | `allow`, `prefer` | refused: they fall back to no encryption without saying so |
//!
//! Unlike libpq, `require` checks the certificate too: an encrypted connection to a server
//! nobody vouched for protects no password. The trusted roots are the `sslrootcert` file (PEM,
//! one or more certificates), or the machine's roots when it is absent or `system`.

use super::{Result, StoreError};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls_improved::MakeRustlsConnect;

/// The largest `sslrootcert` file read (a CA bundle is tens of kilobytes).
const MAX_ROOT_FILE: u64 = 4 << 20;

/// How the hub reaches its database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    /// TLS, the certificate checked against `roots` (the machine's when `None`); the host name
    /// too when `check_host`.
    Verify {
        roots: Option<PathBuf>,
        check_host: bool,
    },
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` address (rust-postgres knows only
/// some of their values): the address left, and what they ask for.
pub(crate) fn split_tls(url: &str) -> Result<(String, TlsMode)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), TlsMode::Disable));
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(decode(value)),
            "sslrootcert" => root = Some(decode(value)),
            _ => kept.push(pair),
        }
    }
    let address = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let roots = match root.as_deref() {
        None | Some("system") => None,
        Some("") => {
            return Err(StoreError::Config(
                "sslrootcert in the PostgreSQL address is empty; give the path of the CA's certificate (PEM), or leave it out to trust the machine's roots".into(),
            ));
        }
        Some(path) => Some(PathBuf::from(path)),
    };
    let tls = match mode.as_deref() {
        None | Some("disable") => {
            if roots.is_some() {
                return Err(StoreError::Config(
                    "the PostgreSQL address has sslrootcert but no sslmode, so the connection would not be encrypted; add sslmode=verify-full".into(),
                ));
            }
            TlsMode::Disable
        }
        Some("require" | "verify-full") => TlsMode::Verify {
            roots,
            check_host: true,
        },
        Some("verify-ca") => TlsMode::Verify {
            roots,
            check_host: false,
        },
        Some(m @ ("allow" | "prefer")) => {
            return Err(StoreError::Config(format!(
                "sslmode={m} in the PostgreSQL address may connect without encryption without saying so; write sslmode=verify-full to encrypt (with sslrootcert=PATH for a private CA), or sslmode=disable"
            )));
        }
        Some(other) => {
            return Err(StoreError::Config(format!(
                "sslmode={other} in the PostgreSQL address is not known; write disable, require, verify-ca or verify-full"
            )));
        }
    };
    Ok((address, tls))
}

/// `%XX` escapes of a query value (a path with spaces), decoded as rust-postgres decodes the
/// rest of the address.
fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// The connector for `mode`, its roots read now (a missing or unreadable file is an error at
/// start, not at the first connection).
pub(crate) fn connector(roots: Option<&Path>, check_host: bool) -> Result<MakeRustlsConnect> {
    let store = match roots {
        Some(path) => file_roots(path)?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| StoreError::Config(format!("cannot set up TLS to PostgreSQL: {e}")))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Config(format!("cannot set up TLS to PostgreSQL: {e}")))?;
    let config = if check_host {
        builder.with_webpki_verifier(webpki)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyHostName(webpki)))
    }
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn file_roots(path: &Path) -> Result<RootCertStore> {
    let named = |what: String| {
        StoreError::Config(format!(
            "sslrootcert {} in the PostgreSQL address {what}; give the path of the CA's certificate in PEM form (the file that begins with -----BEGIN CERTIFICATE-----)",
            path.display()
        ))
    };
    let size = std::fs::metadata(path)
        .map_err(|e| named(format!("cannot be read ({e})")))?
        .len();
    if size > MAX_ROOT_FILE {
        return Err(named(format!(
            "is {size} bytes, more than a CA bundle is ({MAX_ROOT_FILE} at most)"
        )));
    }
    let pem = std::fs::read(path).map_err(|e| named(format!("cannot be read ({e})")))?;
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| named(format!("is not valid PEM ({e})")))?;
        store
            .add(cert)
            .map_err(|e| named(format!("holds a certificate that is not valid ({e})")))?;
    }
    if store.is_empty() {
        return Err(named("holds no certificate".into()));
    }
    Ok(store)
}

fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(StoreError::Config(
            "TLS to PostgreSQL needs a trusted root, and this machine has none (install the ca-certificates package), or name the CA's certificate with sslrootcert=PATH in the address".into(),
        ));
    }
    Ok(store)
}

/// What went wrong with TLS in a failed connection, and what to do: `None` when the failure
/// was not TLS's (a refused connection, a wrong password).
pub(crate) fn failure(e: &tokio_postgres::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let tls = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = tls {
            return Some(match tls {
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                ) => "the server's certificate is for another host name; connect by a name the certificate carries, or write sslmode=verify-ca to check the CA alone".to_string(),
                rustls::Error::InvalidCertificate(why) => format!(
                    "the server's certificate is not trusted ({why:?}); name the CA that signed it with sslrootcert=PATH in the address"
                ),
                other => format!("TLS failed ({other})"),
            });
        }
        source = s.source();
    }
    let text = e.to_string();
    text.contains("does not support TLS").then(|| {
        "the server does not offer TLS; turn on ssl in its postgresql.conf, or leave sslmode out for a database on a private network".to_string()
    })
}

/// `verify-ca`: the chain is checked as for `verify-full`, the host name is not.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // The chain and dates are checked before the name: a name error means all else held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_keeps_what_rust_postgres_reads_and_tls_is_taken_out() {
        let (url, mode) = split_tls(
            "postgres://k:p@db:5432/karya?connect_timeout=5&sslmode=verify-full&sslrootcert=/etc/karya/db%20ca.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://k:p@db:5432/karya?connect_timeout=5");
        assert_eq!(
            mode,
            TlsMode::Verify {
                roots: Some(PathBuf::from("/etc/karya/db ca.pem")),
                check_host: true
            }
        );
        let (url, mode) = split_tls("postgres://k@db/karya?sslmode=verify-ca").unwrap();
        assert_eq!(url, "postgres://k@db/karya");
        assert_eq!(
            mode,
            TlsMode::Verify {
                roots: None,
                check_host: false
            }
        );
        assert_eq!(
            split_tls("postgres://k@db/karya").unwrap().1,
            TlsMode::Disable
        );
        assert_eq!(
            split_tls("postgres://k@db/karya?sslmode=disable&application_name=x").unwrap(),
            (
                "postgres://k@db/karya?application_name=x".into(),
                TlsMode::Disable
            )
        );
    }

    #[test]
    fn modes_that_may_silently_not_encrypt_are_refused_with_the_fix() {
        for m in ["prefer", "allow"] {
            let e = split_tls(&format!("postgres://k@db/karya?sslmode={m}")).unwrap_err();
            assert!(e.to_string().contains("sslmode=verify-full"), "{e}");
        }
        let e = split_tls("postgres://k@db/karya?sslmode=always").unwrap_err();
        assert!(e.to_string().contains("not known"), "{e}");
        let e = split_tls("postgres://k@db/karya?sslrootcert=/ca.pem").unwrap_err();
        assert!(e.to_string().contains("add sslmode=verify-full"), "{e}");
    }

    #[test]
    fn a_root_file_that_is_missing_or_not_pem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = connector(Some(&missing), true)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.contains("nope.pem") && e.contains("cannot be read"),
            "{e}"
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = connector(Some(&junk), true)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.contains("junk.pem") && e.contains("no certificate"),
            "{e}"
        );
    }
}
