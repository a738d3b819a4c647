//! The wizard's side of the worker: starting one detached, handing it the confirmed plan on
//! its pipe, attaching to its socket, and turning its events into the wizard's messages.

use super::protocol::{
    Event, Handoff, LOCK, LockHolder, Request, SOCKET, Setup, UNATTENDED_SOCKET, Wait, line,
};
use super::{HOLD_FD, PIPE_FD};
use crate::app::msg::Msg;
use crate::replicator::{ReplicatorEvent, RunId};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedSender;
use zeroize::Zeroize;

/// How long a new worker may take to answer (a safety net, not a pace).
const START_PATIENCE: Duration = Duration::from_secs(30);

/// A worker this wizard started: the pipe is how its plans reach it.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    pipe: Option<File>,
    /// The worker's log file.
    pub log: PathBuf,
    /// A plan went down the pipe: the worker now lives on its own.
    pub handed_off: bool,
}

/// Starts `program worker` detached (`process::spawn_detached`) and writes the setup on its
/// pipe. In the demo it also gets a hold on the demo's emulator, as descriptor 4, so the
/// emulator lives as long as this worker.
pub fn spawn(program: &Path, state_dir: &Path, setup: &Setup) -> Result<Spawned, String> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors this function then owns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!(
            "cannot make a pipe for the worker: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: fresh descriptors from pipe2.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // Taken before the worker starts: the wizard's own hold keeps the emulator meanwhile.
    let hold = match &setup.demo {
        Some(_) => Some(crate::emulator::held::join(state_dir)?.ok_or_else(|| {
            format!(
                "the demo's emulator no longer serves {}: start the demo again",
                state_dir.display()
            )
        })?),
        None => None,
    };
    let mut pass = vec![(read.as_raw_fd(), PIPE_FD)];
    pass.extend(hold.as_ref().map(|h| (h.as_raw_fd(), HOLD_FD)));
    let (child, log) =
        crate::process::spawn_detached(program, "drs-failback-worker", &pass, |log| {
            vec![
                "worker".into(),
                "--state-dir".into(),
                state_dir.into(),
                "--log".into(),
                log.into(),
            ]
        })
        .map_err(|e| format!("cannot start the failback worker: {e}"))?;
    // The worker has its own copies now.
    drop((read, hold));
    let mut spawned = Spawned {
        child,
        pipe: Some(write),
        log,
        handed_off: false,
    };
    spawned
        .write(&line(setup))
        .map_err(|e| spawned.stopped(&format!("cannot give the worker its setup: {e}")))?;
    Ok(spawned)
}

impl Spawned {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.pipe.as_mut() {
            Some(p) => p.write_all(bytes).and_then(|()| p.flush()),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Why the worker is not there: its exit status and its last error, and its log.
    fn stopped(&mut self, what: &str) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => format!(" (it exited: {s})"),
            _ => String::new(),
        };
        format!("{what}{status}{}", crate::process::last_error(&self.log))
    }

    /// Sends the confirmed plan with its credentials; the line is zeroed after.
    pub fn hand_off(&mut self, handoff: &Handoff) -> Result<(), String> {
        let mut bytes = line(handoff);
        let sent = self.write(&bytes);
        bytes.zeroize();
        sent.map_err(|e| self.stopped(&format!("cannot hand the plan to the worker: {e}")))?;
        self.handed_off = true;
        Ok(())
    }

    /// Tells the worker this run waits for credentials (or has them now).
    pub fn wait(&mut self, wait: &Wait) -> Result<(), String> {
        self.write(&line(wait))
            .map_err(|e| self.stopped(&format!("cannot tell the worker: {e}")))
    }

    /// The wizard leaves: closing the pipe tells the worker; a worker that has no failback
    /// to run then ends, and is waited for so that what it cleans up is gone when we exit.
    pub fn finish(mut self, acknowledged: bool) {
        self.pipe = None;
        if !self.handed_off || acknowledged {
            let _ = self.child.wait();
        }
    }

    /// Why the worker is no longer there, once it ended (it refused a start, crashed or was
    /// killed): it takes no plan then.
    pub fn ended(&mut self) -> Option<String> {
        matches!(self.child.try_wait(), Ok(Some(_))).then(|| {
            self.stopped(&format!(
                "the failback worker (pid {}) ended",
                self.child.id()
            ))
        })
    }

    pub fn worker_pid(&self) -> u32 {
        self.child.id()
    }
}

/// Gone, or a zombie no one has waited for yet.
fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// A connection to the running worker's socket: requests are written here.
#[derive(Debug)]
pub struct Connection {
    writer: UnixStream,
}

/// Connects to the worker serving `state_dir`, if one does: None when no failback runs.
pub fn connect(state_dir: &Path) -> io::Result<Option<(Connection, tokio::net::UnixStream)>> {
    connect_to(&state_dir.join(SOCKET))
}

/// Connects to a waiting unattended run's worker in `state_dir`, if one serves it.
pub fn connect_unattended(
    state_dir: &Path,
) -> io::Result<Option<(Connection, tokio::net::UnixStream)>> {
    connect_to(&state_dir.join(UNATTENDED_SOCKET))
}

fn connect_to(path: &Path) -> io::Result<Option<(Connection, tokio::net::UnixStream)>> {
    let stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    // The clone shares the socket's open file description, O_NONBLOCK included: the writer
    // is non-blocking too, and `Connection::send` waits when the socket is full.
    let reader = stream.try_clone()?;
    reader.set_nonblocking(true)?;
    let reader = tokio::net::UnixStream::from_std(reader)?;
    Ok(Some((Connection { writer: stream }, reader)))
}

/// Writes all of `bytes` to a non-blocking socket, waiting whenever it is full (a worker busy
/// for a moment) instead of failing with WouldBlock.
fn write_all_waiting(stream: &mut UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut pfd = libc::pollfd {
                    fd: stream.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the duration of the call.
                if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits (bounded) until the worker `pid` that was just handed a plan serves its socket, or
/// the worker holding the lock does (another terminal's failback came first: the wizard then
/// says its own was not started); otherwise says why (it ended: the lock, a bad setup).
pub async fn connect_when_ready(
    state_dir: &Path,
    pid: u32,
    log: &Path,
) -> Result<(Connection, tokio::net::UnixStream), String> {
    let deadline = tokio::time::Instant::now() + START_PATIENCE;
    // The socket is another worker's until the lock names ours; a socket served by the worker
    // the lock names (not ours) means another terminal's failback came first: ours cannot
    // start, and that one is the machine's failback.
    let holder = || {
        std::fs::read(state_dir.join(LOCK))
            .ok()
            .and_then(|t| serde_json::from_slice::<LockHolder>(&t).ok())
            .map(|h| h.worker_pid)
    };
    loop {
        let found = if holder().is_some() {
            connect(state_dir)
        } else {
            Ok(None)
        };
        match found {
            Ok(Some(c)) => return Ok(c),
            Ok(None) if exited(pid) => {
                return Err(format!(
                    "the failback worker (pid {pid}) ended before it started the failback{}",
                    crate::process::last_error(log)
                ));
            }
            Ok(None) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Ok(None) => {
                return Err(format!(
                    "the failback worker did not open {}{}",
                    state_dir.join(SOCKET).display(),
                    crate::process::last_error(log)
                ));
            }
            Err(e) => return Err(format!("cannot reach the failback worker: {e}")),
        }
    }
}

impl Connection {
    /// Sends a request; the line is zeroed after (it may hold credentials).
    pub fn send(&mut self, request: &Request) -> io::Result<()> {
        let mut bytes = line(request);
        let sent = write_all_waiting(&mut self.writer, &bytes);
        bytes.zeroize();
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drs::StaticCredentials;
    use std::io::Read;

    /// The state of thread `tid` of this process (R running, S sleeping, ...).
    fn thread_state(tid: i32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.chars().next()
    }

    #[tokio::test]
    async fn a_request_to_a_worker_that_reads_late_waits_for_room_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::os::unix::net::UnixListener::bind(dir.path().join(SOCKET)).unwrap();
        let (mut connection, reader) = connect(dir.path()).unwrap().unwrap();
        // The sender's descriptor alone: its end closes the socket.
        drop(reader);
        let (mut worker, _) = listener.accept().unwrap();
        // Far more than a socket holds, in requests of 64 KiB.
        let request = Request::Credentials {
            credentials: StaticCredentials {
                access_key_id: "AKIAEXAMPLE".into(),
                secret_access_key: "secret".into(),
                session_token: Some("t".repeat(64 * 1024)),
            },
        };
        let (count, size) = (64, line(&request).len());
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let sender = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tid_tx.send(unsafe { libc::gettid() }).unwrap();
            (0..count).try_for_each(|_| connection.send(&request))
        });
        let tid = tid_rx.recv().unwrap();
        // The worker reads nothing until the sender has filled the socket: it then either
        // waits (sleeping) or gave up.
        while !sender.is_finished() && thread_state(tid) != Some('S') {
            std::thread::yield_now();
        }
        let mut all = vec![0; count * size];
        let read = worker.read_exact(&mut all);
        let sent = sender.join().unwrap();
        assert!(sent.is_ok(), "{sent:?}");
        read.unwrap();
    }
}

/// Reads the worker's events and sends them to the wizard as messages. `now` is the wizard's
/// clock: the worker's times are turned into it. `unattended`: the connection is to a waiting
/// unattended run's socket.
pub async fn relay(
    reader: tokio::net::UnixStream,
    tx: UnboundedSender<Msg>,
    now: impl Fn() -> f64,
    unattended: bool,
) {
    let mut lines = BufReader::new(reader).lines();
    let mut run = None;
    let mut offset = 0.0;
    let mut ended = false;
    while let Ok(Some(text)) = lines.next_line().await {
        let event = match serde_json::from_str::<Event>(&text) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("an event of the worker was not understood: {e}");
                continue;
            }
        };
        if let Event::Hello {
            run_id, elapsed, ..
        } = &event
        {
            run = Some(*run_id);
            offset = now() - elapsed;
        }
        ended |= matches!(event, Event::Ending);
        let msg = match run {
            Some(run) => to_msg(run, offset, event),
            None => match event {
                Event::CredentialsWanted { started_by, detail } => Some(Msg::CredentialsWanted {
                    started_by: (started_by.pid != std::process::id())
                        .then(|| super::describe(&started_by)),
                    detail,
                }),
                Event::CredentialsAccepted => Some(Msg::UnattendedAccepted),
                Event::CredentialsGiven { credentials } => Some(Msg::CredentialsGiven(credentials)),
                Event::Error { message } if unattended => Some(Msg::UnattendedNotice(message)),
                Event::Error { message } => Some(Msg::WorkerGone {
                    run: None,
                    why: message,
                }),
                _ => None,
            },
        };
        if let Some(msg) = msg
            && tx.send(msg).is_err()
        {
            return;
        }
    }
    if unattended && run.is_none() {
        let _ = tx.send(Msg::UnattendedGone);
    } else if !ended {
        let _ = tx.send(Msg::WorkerGone {
            run,
            why: "the failback worker closed the connection".into(),
        });
    }
}

/// One event as the wizard's message; times shifted by `offset` onto the wizard's clock.
pub fn to_msg(run: RunId, offset: f64, event: Event) -> Option<Msg> {
    let replicator = |event| Some(Msg::Replicator { run, event });
    match event {
        Event::Hello {
            started_by,
            plan,
            worker_pid,
            log_file,
            ..
        } => Some(Msg::Attached {
            run,
            plan,
            started_at: offset,
            // Said only to the terminals that did not start it.
            started_by: (started_by.pid != std::process::id())
                .then(|| super::describe(&started_by)),
            worker_pid,
            log_file,
        }),
        Event::Download { progress } => replicator(ReplicatorEvent::Download(progress)),
        Event::Installed { version } => replicator(ReplicatorEvent::Installed { version }),
        Event::Log { line } => replicator(ReplicatorEvent::Log(line)),
        Event::Paired { client_id } => replicator(ReplicatorEvent::Paired { client_id }),
        Event::ReplicatorExited { result } => replicator(ReplicatorEvent::Exited(result)),
        Event::Writes { at, total } => Some(Msg::Writes {
            run,
            now: offset + at,
            total,
        }),
        Event::Polled { at, result } => Some(Msg::Polled {
            run,
            now: offset + at,
            result,
        }),
        Event::LaunchStarted { result, .. } => Some(Msg::LaunchStarted { run, result }),
        Event::Outcome { verdict } => Some(Msg::Outcome { run, verdict }),
        Event::JobLog { result } => Some(Msg::JobLog { run, result }),
        Event::CredentialsExpired { detail } => Some(Msg::CredentialsExpired { run, detail }),
        Event::CredentialsAccepted => Some(Msg::CredentialsAccepted { run }),
        Event::Configuration { result } => Some(Msg::Configuration { run, result }),
        Event::Bandwidth { mbps } => Some(Msg::Bandwidth { run, mbps }),
        Event::Error { message } => Some(Msg::WorkerNotice { run, message }),
        // Before the failback: `relay` reads them.
        Event::CredentialsWanted { .. } | Event::CredentialsGiven { .. } => None,
        Event::Live | Event::Ending => None,
    }
}
