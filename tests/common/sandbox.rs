//! A directory of its own for everything a test starts: it is their TMPDIR, so the default
//! logs, the demo's disks and its state directory land there. When the sandbox goes (the test
//! passed or failed), whatever still runs with that TMPDIR is ended (a worker outlives its
//! wizard by design), then the directory is removed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_drs-failback");

pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The binary, its TMPDIR here.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env("TMPDIR", self.path());
        cmd
    }

    /// As `command`, for tokio.
    pub fn tokio_command(&self) -> tokio::process::Command {
        tokio::process::Command::from(self.command())
    }

    /// A program that is the binary with its TMPDIR here, for code that starts the binary
    /// itself (the demo's worker): the same process (exec), only its environment differs.
    pub fn program(&self) -> PathBuf {
        let path = self.path().join("drs-failback");
        let script = format!(
            "#!/bin/sh\nTMPDIR='{}' exec '{BIN}' \"$@\"\n",
            self.path().display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The processes that still run with this TMPDIR, or one inside it.
    pub fn running(&self) -> Vec<u32> {
        let here = format!("TMPDIR={}", self.path().display()).into_bytes();
        let inside =
            |v: &[u8]| v.starts_with(&here) && matches!(v.get(here.len()), None | Some(b'/'));
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                // A zombie's environment reads empty: it no longer runs.
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(inside))
            })
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Bounded: a process that cannot be killed is reported by the directory's removal
        // failing quietly, and by CI's check of TMPDIR.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = self.running();
            if left.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in left {
                // SAFETY: a signal to a process this test started (it runs with its TMPDIR).
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
