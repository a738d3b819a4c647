//! Enabling SSH for this boot on the live system: a new one-time root password, handed on
//! stdin (never argv, never a log) to the image's helper, which sets it and starts sshd, then
//! reports the addresses and host-key fingerprints to show.

use crate::domain::ssh::{SshAccess, SshError, parse_report, password};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use zeroize::Zeroizing;

/// The live system's helper (image/rootfs/usr/local/sbin/drs-ssh-enable).
pub const HELPER: &str = "/usr/local/sbin/drs-ssh-enable";
/// Host keys are made on first use: slow on a slow or emulated CPU.
const PATIENCE: Duration = Duration::from_secs(180);

/// A new one-time password from the system's random source.
pub fn new_password() -> Result<Zeroizing<String>, String> {
    // 64 bytes give 16 accepted ones but with negligible odds of failing; then try again.
    for _ in 0..4 {
        let mut bytes = Zeroizing::new([0u8; 64]);
        getrandom::fill(&mut bytes[..]).map_err(|e| format!("no random numbers: {e}"))?;
        if let Some(p) = password(bytes.iter().copied()) {
            return Ok(p);
        }
    }
    Err("the random source gave too few usable bytes".into())
}

/// Sets a new password and starts sshd through `helper`.
pub async fn enable(helper: &Path) -> Result<SshAccess, SshError> {
    if !helper.exists() {
        return Err(SshError::NotAvailable(format!(
            "this is not the drs-failback live system ({} is missing)",
            helper.display()
        )));
    }
    let password = new_password().map_err(SshError::Failed)?;
    let failed = |what: &str, e: std::io::Error| SshError::Failed(format!("{what}: {e}"));
    let mut child = tokio::process::Command::new(helper)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(&format!("cannot run {}", helper.display()), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let line = Zeroizing::new(format!("{}\n", password.as_str()).into_bytes());
        stdin
            .write_all(&line)
            .await
            .map_err(|e| failed("cannot give the helper the password", e))?;
    }
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .map_err(|_| {
            SshError::Failed(format!(
                "{} did not finish within {} s",
                helper.display(),
                PATIENCE.as_secs()
            ))
        })?
        .map_err(|e| failed("the helper", e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(SshError::Failed(match why {
            Some(line) => format!("{} ({})", line.trim(), out.status),
            None => format!("{} ended with {}", helper.display(), out.status),
        }));
    }
    let (addresses, fingerprints) = parse_report(&String::from_utf8_lossy(&out.stdout));
    if fingerprints.is_empty() {
        return Err(SshError::Failed(
            "sshd reported no host key, so logins could not be checked".into(),
        ));
    }
    Ok(SshAccess {
        password,
        addresses,
        fingerprints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn helper(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("drs-ssh-enable");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn the_password_goes_on_stdin_only_and_the_report_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let got = dir.path().join("got");
        let path = helper(
            dir.path(),
            &format!(
                "[ $# -eq 0 ] || {{ echo \"argv: $*\" >&2; exit 3; }}\n\
                 IFS= read -r p; printf '%s' \"$p\" >{}\n\
                 echo 'address eth0 10.0.2.15'\n\
                 echo 'fingerprint 256 SHA256:abc root@drs-failback (ED25519)'",
                got.display()
            ),
        );
        let access = enable(&path).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&got).unwrap(),
            access.password.as_str()
        );
        assert_eq!(access.password.len(), 19);
        assert_eq!(access.addresses, vec![("eth0".into(), "10.0.2.15".into())]);
        assert_eq!(
            access.fingerprints,
            vec![("ED25519".into(), "SHA256:abc".into())]
        );
        // A new password each time.
        let again = enable(&path).await.unwrap();
        assert_ne!(again.password, access.password);
    }

    #[tokio::test]
    async fn a_failing_helper_says_why_and_a_missing_one_says_ssh_is_not_available_here() {
        let dir = tempfile::tempdir().unwrap();
        let path = helper(
            dir.path(),
            "cat >/dev/null; echo 'chpasswd: PAM failure' >&2; exit 1",
        );
        match enable(&path).await {
            Err(SshError::Failed(why)) => assert!(why.contains("chpasswd: PAM failure"), "{why}"),
            other => panic!("{other:?}"),
        }
        let silent = helper(dir.path(), "cat >/dev/null");
        assert!(
            matches!(enable(&silent).await, Err(SshError::Failed(w)) if w.contains("no host key"))
        );
        match enable(&dir.path().join("absent")).await {
            Err(e @ SshError::NotAvailable(_)) => {
                let message = e.message();
                assert!(
                    message.starts_with("SSH is not available here"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
