//! The agent and TLS as a UPT meets it: a hub behind HQ's private CA, and plain HTTP.

use std::process::{Command, Stdio};

fn agent(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(karya_tests::bin("karya-agent"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("KARYA_LOG", "error")
        .env("KARYA_REQUEST_TIMEOUT_SECS", "5")
        .output()
        .unwrap()
}

#[test]
fn an_untrusted_certificate_is_named_and_a_private_ca_can_be_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let Some(certs) = karya_tests::certs::make(dir.path()) else {
        return;
    };
    let (ca, cert, key) = (certs.ca, certs.cert, certs.key);
    let addr = karya_tests::procs::free_addr();
    // A TLS endpoint with a certificate only HQ's CA vouches for (it answers with a web page,
    // not a sync frame: enough to see whether the handshake was trusted).
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(addr.to_string())
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let hub = format!("https://{addr}");

    let init = |dir: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "init",
            "--upt",
            "LAPAS-PATI",
            "--hub",
            &hub,
            "--token",
            "karya_a_b",
        ];
        args.extend_from_slice(extra);
        agent(dir, &args)
    };
    let plain = dir.path().join("a");
    let out = init(&plain, &[]);
    assert!(out.status.success(), "{out:?}");
    let out = agent(&plain, &["sync"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sertifikat TLS pusat tidak dipercaya") && err.contains("--ca-file"),
        "{err}"
    );

    let trusted = dir.path().join("b");
    let out = init(&trusted, &["--ca-file", ca.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let out = agent(&trusted, &["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("sertifikat"),
        "the private CA is trusted; what fails now is the page not being a hub: {err}"
    );
    let _ = server.kill();
    let _ = server.wait();

    let out = init(&dir.path().join("c"), &["--ca-file", "/etc/hostname"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bukan sertifikat PEM"),
        "{out:?}"
    );
}

#[test]
fn plain_http_to_another_machine_is_warned_about_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let init = |name: &str, hub: &str, extra: &[&str]| {
        let mut args = vec!["init", "--upt", "LAPAS-PATI", "--hub", hub, "--token", "t"];
        args.extend_from_slice(extra);
        agent(&dir.path().join(name), &args)
    };
    let out = init("a", "http://10.20.30.40:8080", &[]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HTTP biasa") && err.contains("--insecure-http"),
        "{err}"
    );
    let out = init("b", "http://10.20.30.40:8080", &["--insecure-http"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("plain HTTP"));
    let out = init("c", "http://127.0.0.1:8080", &[]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("plain HTTP"),
        "loopback is fine"
    );
}
