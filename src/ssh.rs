//! Enabling SSH for this boot on the live system: this boot's one-time root password, handed on
//! stdin (never argv, never a log) to the image's helper, which sets it and starts sshd, then
//! reports the addresses and host-key fingerprints to show. The password is kept in root's
//! kernel keyring, so every console's wizard shows the same one rather than replacing it.

use crate::domain::ssh::{SshAccess, SshError, parse_report, password};
use crate::keyring::BootSecret;
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

/// Where this boot's password is kept for every console.
pub fn boot_password() -> BootSecret {
    BootSecret::new("ssh-password")
}

/// Sets this boot's password (`kept`; a new one when `new` or none is kept yet) and starts
/// sshd through `helper`.
pub async fn enable(helper: &Path, kept: &BootSecret, new: bool) -> Result<SshAccess, SshError> {
    if !helper.exists() {
        return Err(SshError::NotAvailable(format!(
            "this is not the drs-failback live system ({} is missing)",
            helper.display()
        )));
    }
    let password = match kept.read().filter(|_| !new) {
        Some(p) => p,
        None => {
            let p = new_password().map_err(SshError::Failed)?;
            // Not kept: this console alone shows it, and another one's s replaces it.
            if let Err(e) = kept.keep(&p) {
                tracing::warn!(
                    "this boot's SSH password is not shared with the other consoles: {e}"
                );
            }
            p
        }
    };
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
        let kept = Kept::new("stdin");
        let access = enable(&path, &kept.0, false).await.unwrap();
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
    }

    /// A boot secret of the test's own, forgotten after.
    struct Kept(BootSecret);

    impl Kept {
        fn new(test: &str) -> Kept {
            let secret = BootSecret::new(&format!("test-ssh-{test}-{}", std::process::id()));
            secret.forget();
            Kept(secret)
        }
    }

    impl Drop for Kept {
        fn drop(&mut self) {
            self.0.forget();
        }
    }

    #[tokio::test]
    async fn every_console_gets_this_boots_password_until_one_asks_for_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = helper(
            dir.path(),
            "cat >/dev/null; echo 'fingerprint 256 SHA256:abc root@drs-failback (ED25519)'",
        );
        let kept = Kept::new("shared");
        let first = enable(&path, &kept.0, false).await.unwrap();
        if kept.0.read().is_none() {
            println!("SKIPPED (no kernel keyring here)");
            return;
        }
        // Another console's wizard (or this one started again): the same password.
        let second = enable(&path, &kept.0, false).await.unwrap();
        assert_eq!(second.password, first.password);
        // n: a new one, which every console gets from then on.
        let renewed = enable(&path, &kept.0, true).await.unwrap();
        assert_ne!(renewed.password, first.password);
        let third = enable(&path, &kept.0, false).await.unwrap();
        assert_eq!(third.password, renewed.password);
    }

    #[tokio::test]
    async fn a_failing_helper_says_why_and_a_missing_one_says_ssh_is_not_available_here() {
        let dir = tempfile::tempdir().unwrap();
        let path = helper(
            dir.path(),
            "cat >/dev/null; echo 'chpasswd: PAM failure' >&2; exit 1",
        );
        let kept = Kept::new("failing");
        match enable(&path, &kept.0, false).await {
            Err(SshError::Failed(why)) => assert!(why.contains("chpasswd: PAM failure"), "{why}"),
            other => panic!("{other:?}"),
        }
        let silent = helper(dir.path(), "cat >/dev/null");
        assert!(
            matches!(enable(&silent, &kept.0, false).await, Err(SshError::Failed(w)) if w.contains("no host key"))
        );
        match enable(&dir.path().join("absent"), &kept.0, false).await {
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
