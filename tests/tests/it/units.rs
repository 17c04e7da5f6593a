//! The systemd units shipped for the hub and the agent, checked by systemd itself.

use std::path::Path;
use std::process::Command;

/// `systemd-analyze verify` on a copy of the unit whose ExecStart points at the binary this
/// build made (verify checks that the command is executable). Any warning fails the test.
fn verify(unit: &Path, installed: &str, built: &Path) {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing on a CI machine: install systemd (apt-get install -y systemd)"
        );
        eprintln!("SKIPPED: systemd-analyze is not installed on this machine");
        return;
    };
    assert!(version.status.success());
    let text = std::fs::read_to_string(unit).unwrap();
    assert!(
        text.contains(installed),
        "{} runs {installed}",
        unit.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(unit.file_name().unwrap());
    std::fs::write(&copy, text.replace(installed, built.to_str().unwrap())).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{}: {stderr}",
        unit.display()
    );
}

#[test]
fn both_service_units_verify() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let hub = root.join("hub/dist/karya-hub.service");
    verify(
        &hub,
        "/usr/local/bin/karya-hub",
        &karya_tests::bin("karya-hub"),
    );
    verify(
        &root.join("agent/dist/karya-agent.service"),
        "/usr/local/bin/karya-agent",
        &karya_tests::bin("karya-agent"),
    );
    let text = std::fs::read_to_string(hub).unwrap();
    for hardening in [
        "User=karya-hub",
        "StateDirectory=karya-hub",
        "ProtectSystem=strict",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "ReadWritePaths=/var/lib/karya-hub",
        "Restart=on-failure",
    ] {
        assert!(text.contains(hardening), "hub unit lacks {hardening}");
    }
}
