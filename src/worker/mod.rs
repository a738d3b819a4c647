//! The failback worker: the process that runs a confirmed failback whatever happens to the
//! terminals. A wizard starts it detached (`drs-failback worker`, its own session, stdin
//! /dev/null, its own log) and writes the setup and the plan on a pipe; given a plan, the
//! worker takes the machine's lock, runs the replication software, polls DRS, samples the
//! target disks' write counters, launches when asked, decides the outcome, and tells every
//! attached client (`protocol` documents the wire; `client` is the wizard's side).

pub mod client;
pub mod lock;
mod poll;
pub mod protocol;
pub mod status;

use crate::domain::model::{FailbackReplicationConfiguration, Job, JobLogItem, RecoveryInstance};
use crate::drs::{Auth, DrsClient, DrsError, DrsErrorKind, DrsTarget, StaticCredentials};
use crate::failback_software::SoftwareSource;
use crate::replicator::downloaded::Downloaded;
use crate::replicator::failback_entry::{FailbackEntry, end_left_over};
use crate::replicator::{ReplicationPlan, Replicator, ReplicatorEvent, RunId, VolumeTarget};
use crate::wizard::replication::{Dashboard, Launch, Verdict};
use protocol::{
    CredentialsWait, Event, Handoff, LockHolder, PipeLine, Request, SOCKET, Setup, StartedBy,
    UNATTENDED_SOCKET, line,
};
use std::io::BufRead;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;
use zeroize::Zeroize;

/// The pipe the starting wizard writes on.
pub const PIPE_FD: RawFd = 3;
/// In the demo: a hold on the demo's emulator (`emulator::held`).
pub const HOLD_FD: RawFd = 4;

/// The hold on the demo's emulator the starting wizard passed, kept from this worker's children.
fn adopt_hold() -> Option<std::os::fd::OwnedFd> {
    // SAFETY: F_SETFD on a number that may not be open only fails; when it is open, it is the
    // hold the wizard passed, which nothing else in this process owns.
    unsafe {
        (libc::fcntl(HOLD_FD, libc::F_SETFD, libc::FD_CLOEXEC) == 0)
            .then(|| std::os::fd::OwnedFd::from_raw_fd(HOLD_FD))
    }
}

/// Where the worker keeps its lock and socket: `/run/drs-failback`, or for the demo a
/// directory of its own under the temporary directory, so a rehearsal never meets a real run.
pub fn default_state_dir(demo: bool) -> PathBuf {
    if demo {
        std::env::temp_dir().join("drs-failback-demo")
    } else {
        PathBuf::from("/run/drs-failback")
    }
}

/// Creates the state directory (0700) if needed.
pub fn prepare_state_dir(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))
}

/// The terminal this process talks to, for "started from": its tty, and the SSH client.
pub fn this_terminal() -> String {
    // SAFETY: ttyname returns a pointer to a static buffer or null.
    let tty = [0, 1, 2].into_iter().find_map(|fd| unsafe {
        let p = libc::ttyname(fd);
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
    });
    let ssh = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|c| c.split_whitespace().next().map(str::to_owned));
    match (tty, ssh) {
        (Some(t), Some(s)) => format!("{t} (ssh from {s})"),
        (Some(t), None) => t,
        (None, Some(s)) => format!("ssh from {s}"),
        (None, None) => "no terminal".into(),
    }
}

/// Who is starting a failback now: this terminal, this process.
pub fn started_by() -> StartedBy {
    StartedBy {
        terminal: this_terminal(),
        pid: std::process::id(),
        started_at: crate::domain::time::unix_seconds(std::time::SystemTime::now()) as i64,
    }
}

enum Input {
    /// A line of the pipe: None at its end.
    Pipe(Option<Result<PipeLine, String>>),
    Replicator(RunId, ReplicatorEvent),
    Polled(RunId, Result<RecoveryInstance, DrsError>),
    Writes(RunId, u64),
    Launched(RunId, bool, Result<Job, DrsError>),
    JobLog(RunId, Result<(Job, Vec<JobLogItem>), DrsError>),
    /// StopFailback's answer, and who asked.
    Stopped(RunId, Result<(), DrsError>, UnboundedSender<Event>),
    Throttled(RunId, Result<u32, DrsError>, UnboundedSender<Event>),
    /// A read of the configuration, and when it was asked.
    Configuration(
        RunId,
        Instant,
        Result<FailbackReplicationConfiguration, DrsError>,
    ),
    /// Fresh credentials checked (a client built and one call made with them), and who sent
    /// them.
    CredentialsChecked(RunId, Result<DrsClient, DrsError>, UnboundedSender<Event>),
    /// Credentials given for the waiting unattended run, checked, and who sent them.
    WaitChecked(Result<StaticCredentials, DrsError>, UnboundedSender<Event>),
    Attach(oneshot::Sender<(Vec<Event>, broadcast::Receiver<Event>)>),
    /// A client's request, its reply channel and its process (from the socket's peer).
    Request(Request, UnboundedSender<Event>, Option<u32>),
}

/// A `--wait-for-credentials` run waits for credentials: every wizard may give them.
struct Waiting {
    /// None once the run has them.
    wait: Option<CredentialsWait>,
    /// The waiting run's own connection: given credentials go there alone.
    run: Option<UnboundedSender<Event>>,
    /// Credentials accepted before the waiting run asked for them: kept until it does.
    given: Option<StaticCredentials>,
    /// Serves [`UNATTENDED_SOCKET`] until the worker ends.
    server: JoinHandle<()>,
}

/// One confirmed failback.
struct Run {
    id: RunId,
    plan: ReplicationPlan,
    started: Instant,
    /// The dashboard's state kept by the worker: the snapshot and the verdict come from it.
    dashboard: Dashboard,
    first_writes: Option<(f64, u64)>,
    last_writes: Option<(f64, u64)>,
    last_poll: Option<(f64, Result<RecoveryInstance, DrsError>)>,
    launch: Option<(bool, Result<Job, DrsError>)>,
    /// Set while DRS answers ExpiredToken: what to tell a terminal that attaches.
    expired: Option<String>,
    /// GetFailbackReplicationConfiguration's answer, kept current by throttle changes.
    configuration: Option<Result<FailbackReplicationConfiguration, DrsError>>,
    /// The bandwidth throttle last set, in Mbps, and when its change was answered (a read
    /// asked before may show the throttle before it).
    bandwidth: Option<(u32, Instant)>,
    verdict: Option<Verdict>,
    job_log: Option<Result<(Job, Vec<JobLogItem>), DrsError>>,
    client: watch::Sender<DrsClient>,
    /// Replicator, poller, write sampler: stopped at the outcome.
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
    /// Held while this failback runs (until acknowledged).
    lock: lock::Lock,
}

impl Run {
    fn at(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

struct Worker {
    dir: PathBuf,
    setup: Setup,
    log_file: Option<String>,
    spawner_gone: bool,
    runs: u64,
    run: Option<Run>,
    waiting: Option<Waiting>,
    events: broadcast::Sender<Event>,
    tx: UnboundedSender<Input>,
    /// Cloned into every client's task; all gone when every client is served to its end.
    clients: tokio::sync::mpsc::Sender<()>,
}

/// Reads the pipe in a thread: the setup first, then each handoff.
fn read_pipe(fd: RawFd) -> Result<(Setup, PipeLines), String> {
    // SAFETY: descriptor 3 is the pipe the wizard passed; nothing else in this process owns it.
    // Kept from the programs this worker starts: credentials travel on it.
    let file = unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        std::fs::File::from_raw_fd(fd)
    };
    let mut reader = std::io::BufReader::new(file);
    let mut first = String::new();
    reader
        .read_line(&mut first)
        .map_err(|e| format!("cannot read the setup from the wizard: {e}"))?;
    let setup = serde_json::from_str(&first).map_err(|e| {
        format!("the wizard's setup is not understood ({e}): start the worker from drs-failback")
    })?;
    Ok((setup, PipeLines(reader)))
}

struct PipeLines(std::io::BufReader<std::fs::File>);

impl PipeLines {
    fn spawn(mut self, tx: UnboundedSender<Input>) {
        std::thread::spawn(move || {
            loop {
                let mut text = String::new();
                let read = self.0.read_line(&mut text);
                let input = match read {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(
                        serde_json::from_str::<PipeLine>(&text)
                            .map_err(|e| format!("a line of the pipe was not understood: {e}")),
                    ),
                };
                // It held credentials.
                text.zeroize();
                let end = input.is_none();
                if tx.send(Input::Pipe(input)).is_err() || end {
                    return;
                }
            }
        });
    }
}

/// Where the worker downloads and unpacks the replication software, in its state directory.
const SOFTWARE_DIR: &str = "software";
/// The record of the running replication software's processes, in the state directory: kept
/// while the lock is held, so the next holder ends what a killed worker left.
pub const PROGRAM_RECORD: &str = "replication-software.json";

/// The replication software this worker runs, the one place it is chosen: AWS's, downloaded
/// from the region's buckets or `s3_endpoint` (the demo's emulator serves a tarball whose
/// failback_entry is the stand-in), then run with the documented arguments.
fn replicator(
    dir: &Path,
    region: &str,
    s3_endpoint: Option<&str>,
    demo_disks: Option<&Path>,
    log_file: Option<&str>,
    poll_every_ms: u64,
) -> Result<Arc<dyn Replicator>, String> {
    let source = SoftwareSource::new(region, s3_endpoint).map_err(|e| e.message)?;
    let log_file = log_file.map_or_else(
        || std::env::temp_dir().join("drs-failback-failback_entry.log"),
        |l| Path::new(l).with_extension("failback_entry.log"),
    );
    Ok(Arc::new(Downloaded {
        source,
        dir: dir.join(SOFTWARE_DIR),
        runner: FailbackEntry {
            // Set once unpacked.
            program: PathBuf::new(),
            leading_args: Vec::new(),
            // Only the demo points the stand-in at its virtual disks.
            env: demo_disks
                .map(|d| {
                    (
                        crate::standin::devices::DEMO_DISKS_ENV.to_owned(),
                        d.display().to_string(),
                    )
                })
                .into_iter()
                .collect(),
            log_file,
            poll_every: Duration::from_millis(poll_every_ms.clamp(10, 500)),
            // Set once unpacked: the software's own directory.
            workdir: PathBuf::new(),
            record: Some(dir.join(PROGRAM_RECORD)),
        },
    }))
}

/// Sum of the target disks' write counters: a file's allocated blocks, a device's sectors
/// written.
fn written(targets: &[VolumeTarget]) -> u64 {
    targets
        .iter()
        .filter_map(|t| match std::fs::metadata(&t.write_path) {
            Ok(m) if m.is_file() => Some(m.blocks() * 512),
            _ => crate::disks::udev_disks::device_written_bytes(Path::new("/"), &t.write_path).ok(),
        })
        .sum()
}

/// Runs the worker until its failbacks are over. `pipe` is the wizard's pipe descriptor.
pub async fn run(dir: &Path, pipe: RawFd, log_file: Option<String>) -> Result<(), String> {
    let (setup, lines) = read_pipe(pipe)?;
    prepare_state_dir(dir)?;
    tracing::info!(dir = %dir.display(), started_by = ?setup.started_by, "failback worker started");
    // Kept to the end of this function: the demo's emulator lives as long as this worker.
    let _emulator = setup.demo.as_ref().and_then(|_| adopt_hold());
    let (tx, mut rx) = unbounded_channel();
    lines.spawn(tx.clone());
    let (events, _) = broadcast::channel(1024);
    let (clients, mut clients_gone) = tokio::sync::mpsc::channel::<()>(1);
    let mut worker = Worker {
        clients,
        dir: dir.to_owned(),
        setup,
        log_file,
        spawner_gone: false,
        runs: 0,
        run: None,
        waiting: None,
        events,
        tx,
    };
    while let Some(input) = rx.recv().await {
        if worker.on_input(input).await {
            break;
        }
    }
    worker.leave();
    // Attached clients get their last events (the ending) out before the process goes.
    drop(worker);
    let _ = tokio::time::timeout(Duration::from_secs(2), clients_gone.recv()).await;
    Ok(())
}

impl Worker {
    fn emit(&mut self, event: Event) {
        if let Event::Log { line } = &event {
            tracing::info!("replication software: {line}");
        } else {
            tracing::info!(?event, "event");
        }
        // No client attached is fine: the snapshot has it for the next one.
        let _ = self.events.send(event);
    }

    /// Ends the failback this worker holds: its socket, its software and then the lock go
    /// (none of them are touched without the lock: they would be another worker's).
    fn end_run(&mut self) {
        if let Some(run) = self.run.take() {
            run.server.abort();
            let _ = std::fs::remove_file(self.dir.join(SOCKET));
            // Not one process of the program outlives the lock (its keeper ends them too).
            if let Some(ended) = end_left_over(&self.dir.join(PROGRAM_RECORD)) {
                tracing::warn!("{ended}");
            }
            // Hundreds of MB in /run (memory on a live image); the next failback downloads again.
            let _ = std::fs::remove_dir_all(self.dir.join(SOFTWARE_DIR));
            run.lock.release();
        }
    }

    /// Removes what the worker made.
    fn leave(&mut self) {
        self.end_run();
        if let Some(w) = self.waiting.take() {
            w.server.abort();
            let _ = std::fs::remove_file(self.dir.join(UNATTENDED_SOCKET));
        }
        // Best effort: the directory goes when nothing else is in it.
        let _ = std::fs::remove_dir(&self.dir);
        tracing::info!("failback worker ends");
    }

    /// Handles one input; true when the worker should end.
    async fn on_input(&mut self, input: Input) -> bool {
        match input {
            Input::Pipe(None) => {
                self.spawner_gone = true;
                return self.run.is_none();
            }
            Input::Pipe(Some(Err(e))) => tracing::warn!("{e}"),
            Input::Pipe(Some(Ok(PipeLine::Wait(wait)))) => self.wait(wait.wait),
            Input::Pipe(Some(Ok(PipeLine::Handoff(handoff)))) => {
                if self.run.is_some() {
                    tracing::warn!("a second plan while a failback runs: ignored");
                } else if let Err(e) = self.start(handoff).await {
                    tracing::error!("cannot start the failback: {e}");
                    // A worker that cannot start has no use: ending says so to the wizard at once.
                    return true;
                }
            }
            Input::Attach(reply) => {
                let snapshot = self.snapshot();
                let _ = reply.send((snapshot, self.events.subscribe()));
            }
            Input::Request(request, reply, pid) if self.run.is_none() => {
                self.on_waiting_request(request, reply, pid)
            }
            Input::Request(request, reply, _) => return self.on_request(request, reply),
            Input::WaitChecked(result, reply) => match result {
                Ok(credentials) => {
                    let Some(w) = self.waiting.as_mut().filter(|w| w.wait.is_some()) else {
                        return false;
                    };
                    w.wait = None;
                    match &w.run {
                        Some(run) => {
                            let _ = run.send(Event::CredentialsGiven { credentials });
                        }
                        None => w.given = Some(credentials),
                    }
                    self.emit(Event::CredentialsAccepted);
                }
                Err(e) => {
                    let _ = reply.send(Event::Error {
                        message: format!("These credentials were not accepted: {}", e.advice()),
                    });
                }
            },
            Input::Replicator(id, event) => {
                let Some(run) = self.current(id) else {
                    return false;
                };
                let out = match event {
                    ReplicatorEvent::Download(progress) => {
                        run.dashboard.download = Some(progress.clone());
                        Event::Download { progress }
                    }
                    ReplicatorEvent::Installed { version } => {
                        run.dashboard.download = None;
                        run.dashboard.installed = Some(version.clone());
                        Event::Installed { version }
                    }
                    ReplicatorEvent::Log(line) => {
                        run.dashboard.push_log(line.clone());
                        Event::Log { line }
                    }
                    ReplicatorEvent::Paired { client_id } => {
                        run.dashboard.client_id = Some(client_id.clone());
                        Event::Paired { client_id }
                    }
                    ReplicatorEvent::Exited(result) => {
                        run.dashboard.replicator_exit = Some(result.clone());
                        Event::ReplicatorExited { result }
                    }
                };
                self.emit(out);
                self.decide();
            }
            Input::Polled(id, result) => {
                let Some(run) = self.current(id) else {
                    return false;
                };
                let at = run.at();
                match &result {
                    Ok(instance) => run.dashboard.on_poll(at, instance.clone()),
                    Err(e) => run.dashboard.on_poll_error(e.clone()),
                }
                run.last_poll = Some((at, result.clone()));
                self.emit(Event::Polled {
                    at,
                    result: result.clone(),
                });
                if let Err(e) = &result {
                    self.expired_if(e);
                }
                self.decide();
            }
            Input::Writes(id, total) => {
                let Some(run) = self.current(id) else {
                    return false;
                };
                let at = run.at();
                run.dashboard.on_writes(at, total);
                run.first_writes.get_or_insert((at, total));
                run.last_writes = Some((at, total));
                self.emit(Event::Writes { at, total });
            }
            Input::Launched(id, as_console, result) => {
                let Some(run) = self.run.as_mut().filter(|r| r.id == id) else {
                    return false;
                };
                if let Ok(job) = &result {
                    run.dashboard.launch = Launch::Started(job.clone());
                }
                run.launch = Some((as_console, result.clone()));
                self.emit(Event::LaunchStarted {
                    result: result.clone(),
                    as_console,
                });
                if let Err(e) = &result {
                    self.expired_if(e);
                }
            }
            Input::Stopped(id, result, reply) => {
                if self.current(id).is_none() {
                    return false;
                }
                match result {
                    Ok(()) => {
                        let what = "The failback was stopped (StopFailback): DRS no longer \
                                    replicates to this machine, and the target disks stay \
                                    partly written. Start a new failback to copy them again.";
                        if let Some(run) = self.run.as_ref() {
                            let verdict = run.dashboard.failed(what.into());
                            self.conclude(verdict);
                        }
                    }
                    Err(e) => {
                        let _ = reply.send(Event::Error {
                            message: format!("StopFailback failed: {}", e.advice()),
                        });
                        self.expired_if(&e);
                    }
                }
            }
            Input::Throttled(id, result, reply) => {
                let Some(run) = self.current(id) else {
                    return false;
                };
                match result {
                    Ok(mbps) => {
                        run.bandwidth = Some((mbps, Instant::now()));
                        if let Some(Ok(c)) = run.configuration.as_mut() {
                            c.bandwidth_mbps = mbps.into();
                        }
                        self.emit(Event::Bandwidth { mbps });
                    }
                    Err(e) => {
                        let _ = reply.send(Event::Error {
                            message: format!("The throttle was not changed: {}", e.advice()),
                        });
                        self.expired_if(&e);
                    }
                }
            }
            Input::Configuration(id, asked, result) => {
                let Some(run) = self.current(id) else {
                    return false;
                };
                let throttled = run.bandwidth.map(|(_, set)| set);
                let known = !poll::is_news(run.configuration.as_ref(), &result, asked, throttled);
                if !known {
                    run.configuration = Some(result.clone());
                }
                if let Err(e) = &result {
                    self.expired_if(e);
                }
                if !known {
                    self.emit(Event::Configuration { result });
                }
            }
            Input::CredentialsChecked(id, result, reply) => {
                let Some(run) = self.current(id) else {
                    return false;
                };
                match result {
                    Ok(client) => {
                        // The polls wait for it (the configuration's too, if it had expired).
                        run.client.send_replace(client);
                        run.expired = None;
                        self.emit(Event::CredentialsAccepted);
                    }
                    Err(e) => {
                        let _ = reply.send(Event::Error {
                            message: format!("These credentials were not accepted: {}", e.advice()),
                        });
                    }
                }
            }
            Input::JobLog(id, result) => {
                let Some(run) = self.run.as_mut().filter(|r| r.id == id) else {
                    return false;
                };
                run.job_log = Some(result.clone());
                self.emit(Event::JobLog { result });
            }
        }
        false
    }

    /// A line of a waiting run: serve the unattended socket, say its news to every terminal,
    /// or close every prompt once it has credentials.
    fn wait(&mut self, wait: Option<CredentialsWait>) {
        if self.waiting.is_none() {
            let Some(first) = wait.as_ref() else {
                return;
            };
            match serve(
                &self.dir.join(UNATTENDED_SOCKET),
                self.tx.clone(),
                self.clients.clone(),
            ) {
                Ok(server) => {
                    self.waiting = Some(Waiting {
                        wait: None,
                        run: None,
                        given: None,
                        server,
                    })
                }
                Err(e) => {
                    tracing::error!("the unattended run cannot be given credentials: {e}");
                    return;
                }
            }
            tracing::info!(region = %first.region, "an unattended run waits for credentials");
        }
        let Some(w) = self.waiting.as_mut() else {
            return;
        };
        // Given already: the run gets them once it asks; no terminal is asked again.
        if w.given.is_some() {
            return;
        }
        let had = w.wait.is_some();
        w.wait = wait.clone();
        match wait {
            Some(wait) => self.emit(Event::CredentialsWanted {
                started_by: self.setup.started_by.clone(),
                detail: wait.detail,
            }),
            None if had => self.emit(Event::CredentialsAccepted),
            None => {}
        }
    }

    /// Before any failback: credentials for the waiting run, from any client, checked with one
    /// DRS call; and the waiting run's own request for them.
    fn on_waiting_request(
        &mut self,
        request: Request,
        reply: UnboundedSender<Event>,
        pid: Option<u32>,
    ) {
        let refuse = |message: &str| {
            let _ = reply.send(Event::Error {
                message: message.to_owned(),
            });
        };
        let started_by = self.setup.started_by.pid;
        let Some(w) = self.waiting.as_mut() else {
            refuse("no failback is running");
            return;
        };
        match request {
            Request::AwaitCredentials if pid == Some(started_by) => {
                if let Some(credentials) = w.given.take() {
                    let _ = reply.send(Event::CredentialsGiven { credentials });
                }
                w.run = Some(reply);
            }
            Request::AwaitCredentials => {
                refuse("only the unattended run that started this worker may ask for credentials")
            }
            Request::Credentials { credentials } => {
                let Some(wait) = &w.wait else {
                    refuse("the unattended run has credentials already");
                    return;
                };
                let target = DrsTarget {
                    region: wait.region.clone(),
                    endpoint: wait.endpoint.clone(),
                    auth: Auth::Static(credentials),
                };
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = match DrsClient::connect(&target).await {
                        Ok(c) => c.verify().await.map(|()| c.credentials.clone()),
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Input::WaitChecked(result, reply));
                });
            }
            _ => refuse("no failback is running yet: the unattended run waits for credentials"),
        }
    }

    /// An ExpiredToken answer: every terminal is asked for fresh credentials, once.
    fn expired_if(&mut self, e: &DrsError) {
        let Some(run) = self.run.as_mut().filter(|r| r.verdict.is_none()) else {
            return;
        };
        if e.kind == DrsErrorKind::ExpiredToken && run.expired.is_none() {
            let detail = e.advice();
            run.expired = Some(detail.clone());
            self.emit(Event::CredentialsExpired { detail });
        }
    }

    /// The running failback `id` while it has no outcome.
    fn current(&mut self, id: RunId) -> Option<&mut Run> {
        self.run
            .as_mut()
            .filter(|r| r.id == id && r.verdict.is_none())
    }

    async fn start(&mut self, handoff: Handoff) -> Result<(), String> {
        let Handoff {
            mut plan,
            credentials,
        } = handoff;
        // One failback per machine: the lock is taken when a failback starts, so that wizards
        // on several consoles can each prepare one and the first confirmed wins.
        let holder = LockHolder {
            worker_pid: std::process::id(),
            started_by: self.setup.started_by.clone(),
        };
        let lock = lock::Lock::acquire(&self.dir, &holder)?;
        // What a killed worker's program left running would write the same disks.
        let record = self.dir.join(PROGRAM_RECORD);
        let left_over = tokio::task::spawn_blocking(move || end_left_over(&record))
            .await
            .ok()
            .flatten();
        if let Some(ended) = &left_over {
            tracing::warn!("{ended}");
        }
        let replicator = replicator(
            &self.dir,
            &plan.region,
            self.setup.s3_endpoint.as_deref(),
            self.setup.demo.as_ref().map(|d| d.disk_dir.as_path()),
            self.log_file.as_deref(),
            self.setup.poll_every_ms,
        )?;
        let client = DrsClient::connect(&plan.target(credentials.clone()))
            .await
            .map_err(|e| e.advice())?;
        self.runs += 1;
        let id = RunId(u64::from(std::process::id()) << 16 | self.runs);
        let (client_tx, client_rx) = watch::channel(client);
        let (rtx, mut rrx) = unbounded_channel();
        plan.credentials = Some(credentials);
        let mut tasks = vec![replicator.start(plan.clone(), client_tx.subscribe(), rtx)];
        plan.credentials = None;
        let tx = self.tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(event) = rrx.recv().await {
                let _ = tx.send(Input::Replicator(id, event));
            }
        }));
        let every = Duration::from_millis(self.setup.poll_every_ms.max(10));
        let instance = plan.recovery_instance_id.clone();
        tasks.push(tokio::spawn(poll::configuration(
            id,
            instance.clone(),
            client_tx.subscribe(),
            every,
            self.tx.clone(),
        )));
        tasks.push(tokio::spawn(poll::instance(
            id,
            instance,
            client_rx,
            every,
            self.tx.clone(),
        )));
        let (tx, targets) = (self.tx.clone(), plan.targets.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let t = targets.clone();
                let total = tokio::task::spawn_blocking(move || written(&t))
                    .await
                    .unwrap_or(0);
                if tx.send(Input::Writes(id, total)).is_err() {
                    return;
                }
            }
        }));
        let server = serve(
            &self.dir.join(SOCKET),
            self.tx.clone(),
            self.clients.clone(),
        )?;
        let mut dashboard = Dashboard::new(
            id,
            plan.recovery_instance_id.clone(),
            plan.targets.clone(),
            0.0,
        );
        dashboard.started_by = Some(describe(&self.setup.started_by));
        dashboard.log.extend(left_over);
        tracing::info!(?plan, run = id.0, "failback started");
        self.run = Some(Run {
            id,
            plan,
            started: Instant::now(),
            dashboard,
            first_writes: None,
            last_writes: None,
            last_poll: None,
            launch: None,
            expired: None,
            configuration: None,
            bandwidth: None,
            verdict: None,
            job_log: None,
            client: client_tx,
            tasks,
            server,
            lock,
        });
        // Clients of the unattended socket are there already: they attach now.
        if let Some(hello) = self.snapshot().into_iter().next() {
            self.emit(hello);
        }
        Ok(())
    }

    /// The outcome, once the failback's state shows one.
    fn decide(&mut self) {
        if let Some(verdict) = self
            .run
            .as_ref()
            .filter(|r| r.verdict.is_none())
            .and_then(|r| r.dashboard.verdict())
        {
            self.conclude(verdict);
        }
    }

    /// The failback has its result: stop replicating, fetch the job log, tell everyone.
    fn conclude(&mut self, verdict: Verdict) {
        let Some(run) = self.run.as_mut().filter(|r| r.verdict.is_none()) else {
            return;
        };
        for task in run.tasks.drain(..) {
            task.abort();
        }
        run.verdict = Some(verdict.clone());
        if let Verdict::Completed {
            job_id: Some(job_id),
        } = &verdict
        {
            let (client, tx, id, job_id) = (
                run.client.borrow().clone(),
                self.tx.clone(),
                run.id,
                job_id.clone(),
            );
            tokio::spawn(async move {
                let result = match client.job(&job_id).await {
                    Ok(job) => client.job_log(&job_id).await.map(|log| (job, log)),
                    Err(e) => Err(e),
                };
                let _ = tx.send(Input::JobLog(id, result));
            });
        }
        self.emit(Event::Outcome { verdict });
    }

    fn on_request(&mut self, request: Request, reply: UnboundedSender<Event>) -> bool {
        let refuse = |message: &str| {
            let _ = reply.send(Event::Error {
                message: message.to_owned(),
            });
        };
        let Some(run) = self.run.as_mut() else {
            refuse("no failback is running");
            return false;
        };
        match request {
            Request::StartLaunch { as_console } => {
                let client = if as_console {
                    let console = self.setup.demo.as_ref().map(|d| d.console.clone());
                    let Some(credentials) = console else {
                        refuse(
                            "only the demo has a DRS console to play: launch from the DRS console",
                        );
                        return false;
                    };
                    Err(run.plan.target(credentials))
                } else {
                    Ok(run.client.borrow().clone())
                };
                let (tx, id) = (self.tx.clone(), run.id);
                let instance = run.plan.recovery_instance_id.clone();
                tokio::spawn(async move {
                    let client = match client {
                        Ok(c) => Ok(c),
                        Err(console) => DrsClient::connect(&console).await,
                    };
                    let result = match client {
                        Ok(c) => c.start_failback_launch(&instance).await,
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Input::Launched(id, as_console, result));
                });
            }
            Request::Credentials { credentials } => {
                let target = run.plan.target(credentials);
                let (tx, id) = (self.tx.clone(), run.id);
                tokio::spawn(async move {
                    let result = match DrsClient::connect(&target).await {
                        Ok(c) => c.verify().await.map(|()| c),
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Input::CredentialsChecked(id, result, reply));
                });
            }
            Request::SetBandwidth { mbps } => {
                let (client, tx, id) = (run.client.borrow().clone(), self.tx.clone(), run.id);
                let instance = run.plan.recovery_instance_id.clone();
                tokio::spawn(async move {
                    let result = client.set_bandwidth(&instance, mbps).await.map(|()| mbps);
                    let _ = tx.send(Input::Throttled(id, result, reply));
                });
            }
            Request::StopFailback => {
                if run.verdict.is_some() {
                    refuse("the failback already has its result: nothing to stop");
                    return false;
                }
                let (client, tx, id) = (run.client.borrow().clone(), self.tx.clone(), run.id);
                let instance = run.plan.recovery_instance_id.clone();
                tokio::spawn(async move {
                    let result = client.stop_failback(&instance).await;
                    let _ = tx.send(Input::Stopped(id, result, reply));
                });
            }
            Request::AwaitCredentials => {
                refuse("the failback runs already: it has its credentials");
            }
            Request::Acknowledge => {
                if run.verdict.is_none() {
                    refuse("the failback has no result yet: nothing to acknowledge");
                    return false;
                }
                self.emit(Event::Ending);
                self.end_run();
                return self.spawner_gone;
            }
        }
        false
    }

    /// The state so far, as the events that made it.
    fn snapshot(&self) -> Vec<Event> {
        let Some(run) = &self.run else {
            let Some(w) = &self.waiting else {
                return vec![Event::Error {
                    message: "no failback is running".into(),
                }];
            };
            let mut out: Vec<Event> = w
                .wait
                .iter()
                .map(|wait| Event::CredentialsWanted {
                    started_by: self.setup.started_by.clone(),
                    detail: wait.detail.clone(),
                })
                .collect();
            out.push(Event::Live);
            return out;
        };
        let mut out = vec![Event::Hello {
            run_id: run.id,
            worker_pid: std::process::id(),
            started_by: self.setup.started_by.clone(),
            plan: run.plan.clone(),
            elapsed: run.at(),
            log_file: self.log_file.clone(),
        }];
        out.extend(
            run.dashboard
                .log
                .iter()
                .map(|l| Event::Log { line: l.clone() }),
        );
        if let Some(progress) = &run.dashboard.download {
            out.push(Event::Download {
                progress: progress.clone(),
            });
        }
        if let Some(version) = &run.dashboard.installed {
            out.push(Event::Installed {
                version: version.clone(),
            });
        }
        if let Some(client_id) = &run.dashboard.client_id {
            out.push(Event::Paired {
                client_id: client_id.clone(),
            });
        }
        for (at, total) in run.first_writes.iter().chain(&run.last_writes) {
            out.push(Event::Writes {
                at: *at,
                total: *total,
            });
        }
        if let Some((at, result)) = &run.last_poll {
            out.push(Event::Polled {
                at: *at,
                result: result.clone(),
            });
        }
        if let Some((as_console, result)) = &run.launch {
            out.push(Event::LaunchStarted {
                result: result.clone(),
                as_console: *as_console,
            });
        }
        if let Some(result) = &run.dashboard.replicator_exit {
            out.push(Event::ReplicatorExited {
                result: result.clone(),
            });
        }
        if let Some(result) = &run.configuration {
            out.push(Event::Configuration {
                result: result.clone(),
            });
        }
        // The configuration carries the throttle set here, and any change made since.
        if let (Some((mbps, _)), false) = (run.bandwidth, matches!(run.configuration, Some(Ok(_))))
        {
            out.push(Event::Bandwidth { mbps });
        }
        if let Some(detail) = &run.expired {
            out.push(Event::CredentialsExpired {
                detail: detail.clone(),
            });
        }
        if let Some(verdict) = &run.verdict {
            out.push(Event::Outcome {
                verdict: verdict.clone(),
            });
        }
        if let Some(result) = &run.job_log {
            out.push(Event::JobLog {
                result: result.clone(),
            });
        }
        out.push(Event::Live);
        out
    }
}

/// "started from /dev/tty1 by pid 812 at 2026-12-01T20:00:00Z"
pub fn describe(by: &StartedBy) -> String {
    format!(
        "Started from {} (pid {}) at {}.",
        by.terminal,
        by.pid,
        crate::domain::time::iso8601(by.started_at)
    )
}

/// Binds the socket at `path` (0600) and serves each client in its own task.
fn serve(
    path: &Path,
    core: UnboundedSender<Input>,
    clients: tokio::sync::mpsc::Sender<()>,
) -> Result<JoinHandle<()>, String> {
    // Another worker's unattended run is served there (the failback's socket is the lock's).
    if path.ends_with(UNATTENDED_SOCKET) && std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(format!("another unattended run serves {}", path.display()));
    }
    // A socket left by a worker that died: the lock says no one else serves it.
    let _ = std::fs::remove_file(path);
    // SAFETY: umask only changes this process's file creation mask; restored below.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = listener.map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    Ok(tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_client(stream, core.clone(), clients.clone()));
        }
    }))
}

/// `_attached` is held while the client is served: the worker waits for all of them to go.
async fn serve_client(
    stream: UnixStream,
    core: UnboundedSender<Input>,
    _attached: tokio::sync::mpsc::Sender<()>,
) {
    let pid = stream
        .peer_cred()
        .ok()
        .and_then(|c| c.pid())
        .and_then(|p| u32::try_from(p).ok());
    let (read, mut write) = stream.into_split();
    let (reply, answer) = oneshot::channel();
    if core.send(Input::Attach(reply)).is_err() {
        return;
    }
    let Ok((snapshot, mut live)) = answer.await else {
        return;
    };
    let (private, mut private_rx) = unbounded_channel();
    let mut reader = tokio::spawn({
        let (core, private) = (core.clone(), private.clone());
        async move {
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(mut text)) = lines.next_line().await {
                match serde_json::from_str::<Request>(&text) {
                    Ok(request) => {
                        let _ = core.send(Input::Request(request, private.clone(), pid));
                    }
                    // The text is not repeated: it may hold a secret.
                    Err(e) => {
                        let _ = private.send(Event::Error {
                            message: format!(
                                "not a request this worker knows (line {}, column {}): the \
                                 requests are start_launch, stop_failback, set_bandwidth, \
                                 acknowledge, credentials and await_credentials",
                                e.line(),
                                e.column()
                            ),
                        });
                    }
                }
                text.zeroize();
            }
        }
    });
    drop(private);
    let mut ended = snapshot.iter().any(|e| matches!(e, Event::Error { .. }));
    let mut gone = false;
    for event in &snapshot {
        if write.write_all(&line(event)).await.is_err() {
            (ended, gone) = (true, true);
            break;
        }
    }
    while !ended {
        let event = tokio::select! {
            e = live.recv() => match e {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(e) = private_rx.recv() => e,
        };
        ended = matches!(event, Event::Ending);
        if write.write_all(&line(&event)).await.is_err() {
            gone = true;
            break;
        }
    }
    // A client that wrote its last request and went (a wizard quitting the result screen
    // acknowledges it, then exits) has that request still unread: read to its end, or the
    // acknowledge is lost and the worker waits for another that never comes.
    if gone
        && tokio::time::timeout(Duration::from_secs(5), &mut reader)
            .await
            .is_ok()
    {
        return;
    }
    reader.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The acknowledge of a wizard that quit at once is read, though its connection is gone
    /// before anything reaches it (one thread: the reader runs only once the writer fails).
    #[tokio::test(flavor = "current_thread")]
    async fn the_last_request_of_a_client_that_went_is_read() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        {
            use std::io::Write;
            (&theirs)
                .write_all(b"{\"request\":\"acknowledge\"}\n")
                .unwrap();
        }
        drop(theirs);
        ours.set_nonblocking(true).unwrap();
        let stream = UnixStream::from_std(ours).unwrap();
        let (core, mut inputs) = unbounded_channel();
        let (attached, _) = tokio::sync::mpsc::channel(1);
        let served = tokio::spawn(serve_client(stream, core, attached));
        let Some(Input::Attach(reply)) = inputs.recv().await else {
            panic!("no attach")
        };
        let (events, live) = broadcast::channel(4);
        let _ = reply.send((vec![Event::Live], live));
        drop(events);
        let request = tokio::time::timeout(Duration::from_secs(10), inputs.recv()).await;
        assert!(
            matches!(
                request,
                Ok(Some(Input::Request(Request::Acknowledge, _, _)))
            ),
            "the acknowledge was lost"
        );
        served.await.unwrap();
    }
}
