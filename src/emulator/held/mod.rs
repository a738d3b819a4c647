//! The demo's emulator as a process of its own (`drs-failback emulator --held`), so that the
//! demo's worker is the real path's worker pointed at an endpoint. Every demo wizard on a state
//! directory and the demo's worker *hold* it; it ends, removing what it made, when the last
//! one lets go. One per state directory: a second demo wizard joins the one running.
//!
//! # The hold socket
//! `<state-dir>/emulator.sock` (0600). On each connection the emulator writes one JSON line, a
//! [`Hello`]: where it listens, its region and keys (emulator credentials, not AWS keys), the
//! demo host and its virtual disks. Then a holder only keeps the connection open. It lets go by
//! closing it, or by shutting down its writing side and reading on: the emulator then closes
//! its side at once, or — when that was the last hold — after it removed what it made and
//! wrote `{"ending":true}`. The wizard that starts the emulator holds it from the first moment
//! through a socket pair, the emulator's descriptor 3; the demo's worker gets a hold as its
//! descriptor 4 from the wizard that starts it.

mod serve;

pub use serve::serve;

use super::EmulatorCredential;
use crate::disks::virtual_disks::VirtualDiskSpec;
use crate::domain::model::HostIdentity;
use crate::exit::Exit;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// The hold socket's file name in the state directory.
pub const SOCKET: &str = "emulator.sock";
/// The emulator's lock in the state directory (one emulator per directory).
pub const LOCK: &str = "emulator.lock";
/// Where a held emulator finds its first hold.
pub const FIRST_HOLD_FD: RawFd = 3;
/// A safety net against an emulator that never answers, not a pace.
const PATIENCE: Duration = Duration::from_secs(30);

/// What every holder is told first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub pid: u32,
    /// e.g. `http://127.0.0.1:40123`: DRS, and the S3 buckets of the replication software.
    pub endpoint: String,
    pub region: String,
    /// The scenario's credentials; the first is the default (and the DRS console's).
    pub keys: Vec<EmulatorCredential>,
    /// The identity the demo's host takes.
    pub host: HostIdentity,
    /// The virtual disks, files in `disk_dir`.
    pub disk_dir: PathBuf,
    pub disks: Vec<VirtualDiskSpec>,
    /// The scenario file played (None: the embedded one).
    pub scenario: Option<PathBuf>,
}

/// How a wizard starts the emulator when none serves its state directory.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// None: the embedded scenario.
    pub scenario: Option<PathBuf>,
    /// None: a temporary directory, removed when the emulator ends.
    pub disk_dir: Option<PathBuf>,
    /// A known region to play instead of the scenario's.
    pub region: Option<String>,
    /// Its own log: removed when it ends as it should (one per demo start would pile up in
    /// the temporary directory), kept when it fails.
    pub log: Option<PathBuf>,
}

/// A hold on the demo's emulator: it serves as long as this (or another) is kept.
#[derive(Debug)]
pub struct Hold {
    stream: UnixStream,
    /// The emulator, when this hold started it.
    child: Option<Child>,
    /// Its log, when this hold started it.
    pub log: Option<PathBuf>,
    pub hello: Hello,
}

impl AsRawFd for Hold {
    fn as_raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }
}

/// Reads the hello on a fresh hold; None when the emulator closed it instead (it is ending).
fn greeted(stream: UnixStream) -> Result<Option<(UnixStream, Hello)>, String> {
    stream
        .set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    let mut text = zeroize::Zeroizing::new(String::new());
    // Only the hello comes before this side lets go: nothing is read past it.
    match BufReader::new(&stream).read_line(&mut text) {
        Ok(0) => Ok(None),
        Ok(_) => {
            let hello = serde_json::from_str(&text)
                .map_err(|e| format!("the demo's emulator said something else ({e})"))?;
            stream.set_read_timeout(None).map_err(|e| e.to_string())?;
            Ok(Some((stream, hello)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(None),
        Err(e) => Err(format!("the demo's emulator did not answer: {e}")),
    }
}

/// A hold on the emulator serving `state_dir`, if one does.
pub fn join(state_dir: &Path) -> Result<Option<Hold>, String> {
    let path = state_dir.join(SOCKET);
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(format!(
                "cannot reach the demo's emulator at {}: {e}",
                path.display()
            ));
        }
    };
    Ok(greeted(stream)?.map(|(stream, hello)| Hold {
        stream,
        child: None,
        log: None,
        hello,
    }))
}

/// A hold on the emulator serving `state_dir`: the running one, else one started now
/// (`program emulator --held`, detached).
pub fn join_or_start(program: &Path, state_dir: &Path, start: &Start) -> Result<Hold, String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(hold) = join(state_dir)? {
            return Ok(hold);
        }
        if let Some(hold) = spawn(program, state_dir, start)? {
            return Ok(hold);
        }
        // Another wizard's emulator took the lock first, or one still ends: join it.
        if Instant::now() > deadline {
            return Err(format!(
                "the demo's emulator in {} neither answers nor lets another start",
                state_dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts an emulator holding it from the first moment; None when another has the lock.
fn spawn(program: &Path, state_dir: &Path, start: &Start) -> Result<Option<Hold>, String> {
    let (ours, theirs) =
        UnixStream::pair().map_err(|e| format!("cannot make a socket pair: {e}"))?;
    let (mut child, log) = crate::process::spawn_detached(
        program,
        "drs-failback-emulator",
        &[(theirs.as_raw_fd(), FIRST_HOLD_FD)],
        |log| {
            let mut args: Vec<std::ffi::OsString> = vec!["emulator".into(), "--held".into()];
            args.extend(["--state-dir".into(), state_dir.into()]);
            args.extend(["--log".into(), log.into()]);
            if let Some(s) = &start.scenario {
                args.extend(["--scenario".into(), s.into()]);
            }
            if let Some(d) = &start.disk_dir {
                args.extend(["--demo-dir".into(), d.into()]);
            }
            if let Some(r) = &start.region {
                args.extend(["--region".into(), r.into()]);
            }
            args
        },
    )
    .map_err(|e| format!("cannot start the demo's emulator: {e}"))?;
    drop(theirs);
    if let Some((stream, hello)) = greeted(ours)? {
        return Ok(Some(Hold {
            stream,
            child: Some(child),
            log: Some(log),
            hello,
        }));
    }
    match child.wait() {
        Ok(s) if s.code() == Some(i32::from(Exit::Busy.code())) => Ok(None),
        status => Err(format!(
            "the demo's emulator did not start ({}){}",
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            crate::process::last_error(&log)
        )),
    }
}

impl Hold {
    /// This hold started the emulator (else it joined one another wizard started).
    pub fn started_here(&self) -> bool {
        self.child.is_some()
    }

    /// Lets go; when this was the last hold, returns once the emulator has removed what it
    /// made (and is gone, when this hold started it).
    pub fn leave(mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let _ = self.stream.set_read_timeout(Some(PATIENCE));
        let mut rest = String::new();
        let _ = (&self.stream).read_to_string(&mut rest);
        if rest.contains("\"ending\"")
            && let Some(child) = self.child.as_mut()
        {
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        tokio::task::spawn_blocking(f).await.unwrap()
    }

    /// The emulator served on one end of a socket pair, and the holder's end, greeted.
    async fn served(
        state: &Path,
        start: Start,
    ) -> (
        tokio::task::JoinHandle<Result<(), crate::exit::Stop>>,
        UnixStream,
        Hello,
    ) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let state = state.to_path_buf();
        let served = tokio::spawn(async move { serve(&state, &start, theirs).await });
        let (stream, hello) = blocking(move || greeted(ours)).await.unwrap().unwrap();
        (served, stream, hello)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_emulator_serves_while_anyone_holds_it_and_removes_what_it_made_after_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let log = dir.path().join("drs-failback-emulator-1-x.log");
        std::fs::write(&log, "").unwrap();
        let start = Start {
            log: Some(log.clone()),
            ..Start::default()
        };
        let (served, stream, hello) = served(&state, start).await;
        let first = Hold {
            stream,
            child: None,
            log: None,
            hello: hello.clone(),
        };
        assert_eq!(hello.pid, std::process::id());
        assert!(!hello.keys.is_empty() && !hello.disks.is_empty());
        for disk in &hello.disks {
            let file = crate::disks::virtual_disks::file_name(&disk.device);
            assert!(hello.disk_dir.join(file).exists(), "{}", disk.device);
        }
        let s = state.clone();
        let second = blocking(move || join(&s)).await.unwrap().expect("joined");
        assert_eq!(second.hello, hello);

        // One emulator per state directory.
        let (_, other) = UnixStream::pair().unwrap();
        let refused = serve(&state, &Start::default(), other).await.unwrap_err();
        assert_eq!(refused.exit, Exit::Busy, "{refused:?}");

        blocking(move || first.leave()).await;
        assert!(!served.is_finished(), "it ended while a hold remained");
        assert!(state.join(SOCKET).exists());
        blocking(move || second.leave()).await;
        served.await.unwrap().unwrap();
        assert!(!state.exists(), "the state directory is left");
        assert!(!hello.disk_dir.exists(), "the temporary disks are left");
        assert!(!log.exists(), "its log is left");
        let s = state.clone();
        assert!(blocking(move || join(&s)).await.unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hold_that_is_closed_without_a_word_lets_go_too_and_given_disks_stay() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let disks = dir.path().join("disks");
        let start = Start {
            disk_dir: Some(disks.clone()),
            region: Some("eu-west-3".into()),
            ..Start::default()
        };
        let (served, stream, hello) = served(&state, start).await;
        assert_eq!(hello.region, "eu-west-3");
        assert_eq!(hello.disk_dir, disks);
        // A holder killed: its descriptor closes, nothing more.
        drop(stream);
        served.await.unwrap().unwrap();
        assert!(!state.exists());
        assert!(disks.exists(), "the operator's --demo-dir is kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn holds_letting_go_at_once_are_each_told_that_it_ends() {
        // The order the emulator hears of them in is the scheduler's: many rounds.
        for _ in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let state = dir.path().join("state");
            let (served, first, _) = served(&state, Start::default()).await;
            let s = state.clone();
            let mut second = blocking(move || join(&s)).await.unwrap().unwrap();
            // The first is gone (a worker that exited) when the second lets go: whichever
            // the emulator hears of first, the second, waiting, is told.
            let said = blocking(move || {
                // Shut down, not only closed: another test's fork (before its exec or
                // close_range) may hold a copy of this descriptor for a moment, and a close
                // alone says nothing to the emulator until that copy goes too.
                let _ = first.shutdown(Shutdown::Both);
                drop(first);
                second.stream.shutdown(Shutdown::Write).unwrap();
                let mut said = String::new();
                second.stream.read_to_string(&mut said).unwrap();
                said
            })
            .await;
            assert_eq!(said, "{\"ending\":true}\n");
            served.await.unwrap().unwrap();
        }
    }
}
