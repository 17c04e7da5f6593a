//! A private CA and a server certificate for 127.0.0.1 signed by it, made with the `openssl`
//! program: HQ's own CA as the TLS tests meet it (a hub behind it, a PostgreSQL server).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files, in the folder they were made in.
pub struct TestCerts {
    /// The CA's certificate (what a client is told to trust).
    pub ca: PathBuf,
    /// The server's certificate (for IP 127.0.0.1 only) and its key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes the CA and the server's certificate in `dir`; `None` where there is no `openssl`
/// outside CI (CI machines have it: there it is a failure).
pub fn make(dir: &Path) -> Option<TestCerts> {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI machines have openssl");
        eprintln!("SKIPPED: no openssl to make test certificates");
        return None;
    }
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl {args:?}");
    };
    // HQ's private CA, and the server's certificate signed by it.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "hq-ca.key",
        "-out",
        "hq-ca.pem",
        "-subj",
        "/CN=Ditjen PAS test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=karya-test-server",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "hq-ca.pem",
        "-CAkey",
        "hq-ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.pem",
        "-extfile",
        "ext.cnf",
    ]);
    let certs = TestCerts {
        ca: dir.join("hq-ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    assert!(certs.ca.exists() && certs.cert.exists() && certs.key.exists());
    Some(certs)
}
