//! Runs `Cmd`s in tokio tasks and turns their results into `Msg`s; draws only when the state
//! changed. The same loop drives the full-screen terminal and the headless `--no-prompt` run.

use super::{App, Cmd, Msg, update};
use crate::disks::DiskSource;
use crate::domain::model::{HostIdentity, LocalDisk};
use crate::drs::{DrsClient, DrsError, DrsErrorKind, DrsTarget};
use crate::wizard::credentials::Verified;
use crate::wizard::endpoint::{Stage, StageStatus, TCP_TIMEOUT};
use crate::worker::client::{self, Connection, Spawned};
use crate::worker::protocol::{Handoff, Request, Setup, Wait};
use ratatui::crossterm::event::KeyEvent;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpStream, UnixStream, lookup_host};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// What the wizard works with: real machine pieces, or the demo's.
pub struct Services {
    /// None when attaching to a running failback: no disk is chosen then.
    pub disks: Option<Arc<dyn DiskSource>>,
    /// The identity this host takes instead of its own (the demo's scenario host).
    pub host_identity: Option<HostIdentity>,
    /// Sets the system clock (the pre-flight's confirmed action; tests inject a fake).
    pub set_clock: fn(SystemTime) -> Result<(), String>,
    /// Where the failback worker serves its socket.
    pub state_dir: PathBuf,
    /// The worker this wizard started: confirmed plans go down its pipe.
    pub worker: Option<Spawned>,
    /// How to start one when a plan is confirmed and there is none yet (without --demo: no
    /// lock is held before, so a wizard on every console can start).
    pub start_worker: Option<WorkerStart>,
    /// A running failback to attach to at once.
    pub attach: Option<(Connection, UnixStream)>,
    /// The demo to start in the background (disks and host identity come with it).
    pub demo: Option<super::demo::DemoStart>,
    /// The demo's emulator, held while this wizard runs.
    pub emulator: Option<crate::emulator::held::Hold>,
    /// Where the Network screen applies its plan; None in the demo, which only reads this
    /// machine's interfaces and changes nothing.
    pub network: Option<crate::netconfig::System>,
}

/// This program (`worker` is its hidden subcommand) and the setup its worker gets.
pub struct WorkerStart {
    pub program: PathBuf,
    /// `started_by` is made again when the worker starts.
    pub setup: Setup,
}

/// The screen side: a terminal, or the headless printer that also answers for the operator.
pub trait Frontend {
    fn draw(&mut self, app: &App) -> io::Result<()>;
    /// Ctrl-L: forget what is on screen so the next draw repaints everything.
    fn clear(&mut self) -> io::Result<()>;
    /// Ctrl-Z, SIGTSTP: stop until continued (a terminal is given back meanwhile).
    fn suspend(&mut self) -> io::Result<()> {
        crate::terminal::stop_process();
        Ok(())
    }
    /// Keys to act on the new state (the headless autopilot); a terminal has none.
    fn keys_for(&mut self, _app: &App) -> Vec<KeyEvent> {
        Vec::new()
    }
}

/// Failed calls go to the log file with the service's own words.
fn logged<T>(what: &str, result: Result<T, DrsError>) -> Result<T, DrsError> {
    if let Err(e) = &result {
        tracing::warn!(kind = ?e.kind, detail = %e.detail, "{what} failed");
    }
    result
}

/// Why usePrivateIP could not be read, in the row's words.
fn port_unknown(e: &DrsError) -> String {
    match &e.kind {
        DrsErrorKind::AccessDenied { .. } => {
            "these credentials may not call GetFailbackReplicationConfiguration".into()
        }
        _ => format!("GetFailbackReplicationConfiguration failed: {}", e.detail),
    }
}

fn epoch() -> i64 {
    crate::domain::time::unix_seconds(SystemTime::now()) as i64
}

struct Runtime<'a> {
    services: &'a mut Services,
    tx: UnboundedSender<Msg>,
    /// The client verified last, and for which request: a late answer for an older request
    /// never replaces a newer one.
    client: Option<(u64, DrsClient)>,
    start: Instant,
    /// Requests to the worker go here once attached.
    connection: Option<Connection>,
    /// A waiting unattended run's worker (another process's, or this run's own).
    unattended: Option<Connection>,
}

/// Reads the disk list off the loop (sysfs, udev and blkid may be slow); `answer` makes the
/// message it comes back in.
fn list_disks(
    tx: &UnboundedSender<Msg>,
    disks: Option<Arc<dyn DiskSource>>,
    answer: impl FnOnce(Result<Vec<LocalDisk>, String>) -> Msg + Send + 'static,
) {
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let result = disks.map_or(Ok(vec![]), |d| d.list().map_err(|e| e.to_string()));
        Runtime::send(&tx, answer(result));
    });
}

impl Runtime<'_> {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn send(tx: &UnboundedSender<Msg>, msg: Msg) {
        // The loop is gone only when the program is leaving.
        let _ = tx.send(msg);
    }

    /// Keeps the client verified for `req` unless a newer request's is kept already.
    fn verified(&mut self, req: u64, client: DrsClient) {
        if self.client.as_ref().is_none_or(|(r, _)| *r <= req) {
            self.client = Some((req, client));
        }
    }

    fn client(&self) -> Result<DrsClient, DrsError> {
        self.client
            .as_ref()
            .map(|(_, c)| c.clone())
            .ok_or_else(|| DrsError::new(DrsErrorKind::Other, "no verified credentials yet"))
    }

    fn execute(&mut self, cmd: Cmd) {
        // Debug of commands redacts credentials.
        tracing::info!(?cmd, "run");
        let tx = self.tx.clone();
        match cmd {
            Cmd::VerifyCredentials { req, target } => {
                tokio::spawn(async move {
                    let result = match DrsClient::connect(&target).await {
                        Ok(c) => c.verify().await.map(|()| {
                            let verified = Verified {
                                source: c.credential_source.clone(),
                                clock_skew: c.clock_skew(),
                            };
                            // Before the answer: what it leads to uses the client.
                            Self::send(&tx, Msg::Verified { req, client: c });
                            verified
                        }),
                        Err(e) => Err(e),
                    };
                    Self::send(
                        &tx,
                        Msg::CredentialsChecked {
                            req,
                            result: logged("verification", result),
                        },
                    );
                });
            }
            Cmd::CheckEndpoint { req, target } => {
                tokio::spawn(async move {
                    let result = check_endpoint(req, &target, &tx).await;
                    Self::send(
                        &tx,
                        Msg::EndpointChecked {
                            req,
                            result: logged("endpoint check", result),
                        },
                    );
                });
            }
            Cmd::ListDisks { req } => list_disks(&tx, self.services.disks.clone(), move |result| {
                Msg::Disks { req, result }
            }),
            Cmd::ListInstances { req } => {
                let client = self.client();
                tokio::spawn(async move {
                    // Each page as it comes: the first is on screen while the rest load.
                    let page = |page, more| {
                        let result = Ok(page);
                        Self::send(&tx, Msg::Instances { req, result, more });
                    };
                    let result = match client {
                        Ok(c) => c.recovery_instance_pages(page).await,
                        Err(e) => Err(e),
                    };
                    match logged("listing recovery instances", result) {
                        Ok(count) => {
                            crate::process::give_back_freed_memory();
                            tracing::info!(count, "recovery instances listed");
                        }
                        Err(e) => {
                            let result = Err(e);
                            Self::send(
                                &tx,
                                Msg::Instances {
                                    req,
                                    result,
                                    more: false,
                                },
                            );
                        }
                    }
                });
            }
            Cmd::EnableSsh { req, new_password } => {
                tokio::spawn(async move {
                    let helper = std::path::Path::new(crate::ssh::HELPER);
                    let kept = crate::ssh::boot_password();
                    let result = crate::ssh::enable(helper, &kept, new_password).await;
                    if let Err(e) = &result {
                        tracing::warn!("SSH not enabled: {e:?}");
                    }
                    Self::send(&tx, Msg::SshEnabled { req, result });
                });
            }
            Cmd::StartReplication { plan } => match self.services.disks.clone() {
                Some(source) => list_disks(&tx, Some(source), move |disks| Msg::TargetsRechecked {
                    plan,
                    disks,
                }),
                // Attached to another terminal's failback: hand_off says why it cannot.
                None => self.hand_off(plan),
            },
            Cmd::HandOff { plan } => self.hand_off(plan),
            Cmd::StartFailbackLaunch { run, as_console } => {
                self.request(run, &Request::StartLaunch { as_console })
            }
            Cmd::Acknowledge { run } => self.request(run, &Request::Acknowledge),
            Cmd::StopFailback { run } => self.request(run, &Request::StopFailback),
            Cmd::SetBandwidth { run, mbps } => self.request(run, &Request::SetBandwidth { mbps }),
            Cmd::SendCredentials { run, credentials } => {
                self.request(run, &Request::Credentials { credentials })
            }
            Cmd::GiveCredentials { credentials } => {
                self.unattended_request(&Request::Credentials { credentials })
            }
            Cmd::RegisterForCredentials => self.unattended_request(&Request::AwaitCredentials),
            Cmd::AwaitCredentials { wait } => {
                let told = self
                    .worker()
                    .and_then(|w| w.wait(&Wait { wait: Some(wait) }));
                if let Err(e) = told {
                    tracing::warn!("no terminal can be asked for credentials: {e}");
                }
            }
            Cmd::CredentialsFound => {
                if let Some(w) = self.services.worker.as_mut()
                    && let Err(e) = w.wait(&Wait { wait: None })
                {
                    tracing::warn!("{e}");
                }
            }
            Cmd::RunPreflight {
                req,
                region,
                drs_endpoint,
                s3_endpoint,
            } => {
                let state_dir = self.services.state_dir.clone();
                tokio::spawn(async move {
                    let mut targets = crate::preflight::Targets::new(
                        &region,
                        drs_endpoint.as_deref(),
                        s3_endpoint.as_deref(),
                    );
                    targets.state_dir = state_dir;
                    let report = crate::preflight::measure(&targets).await;
                    tracing::info!(?report, "pre-flight");
                    Self::send(&tx, Msg::Preflight { req, report });
                });
            }
            Cmd::CheckReplicationPort {
                req,
                instance_id,
                private_ips,
                connect,
            } => {
                let client = self.client();
                tokio::spawn(async move {
                    let use_private_ip = match client {
                        Ok(c) => c
                            .failback_configuration(&instance_id)
                            .await
                            .map(|f| f.use_private_ip),
                        Err(e) => Err(e),
                    };
                    let use_private_ip =
                        logged("GetFailbackReplicationConfiguration", use_private_ip)
                            .map_err(|e| port_unknown(&e));
                    let check = crate::preflight::replication_port(
                        &instance_id,
                        use_private_ip,
                        &private_ips,
                        connect,
                        crate::domain::preflight::REPLICATION_PORT,
                        crate::preflight::TIMEOUT,
                    )
                    .await;
                    Self::send(&tx, Msg::ReplicationPort { req, check });
                });
            }
            Cmd::SetClock { req, skew_seconds } => {
                let set = self.services.set_clock;
                let to = if skew_seconds >= 0 {
                    SystemTime::now() + Duration::from_secs(skew_seconds.unsigned_abs())
                } else {
                    SystemTime::now() - Duration::from_secs(skew_seconds.unsigned_abs())
                };
                let result = set(to);
                tracing::info!(skew_seconds, ?result, "clock set from the endpoint's time");
                Self::send(&tx, Msg::ClockSet { req, result });
            }
            Cmd::ListInterfaces { req } => {
                let system = self
                    .services
                    .network
                    .clone()
                    .unwrap_or_else(crate::netconfig::System::live);
                tokio::spawn(async move {
                    let result = system.interfaces().await;
                    Self::send(&tx, Msg::Interfaces { req, result });
                });
            }
            Cmd::ApplyNetwork { req, plan } => match self.services.network.clone() {
                Some(system) => {
                    tokio::spawn(async move {
                        let applied = system.apply(&plan).await;
                        tracing::info!(lines = ?applied.lines, "network applied");
                        Self::send(&tx, Msg::NetworkApplied { req, applied });
                    });
                }
                None => Self::send(
                    &tx,
                    Msg::NetworkApplied {
                        req,
                        applied: crate::netconfig::Applied::demo(&plan),
                    },
                ),
            },
            Cmd::RevertNetwork { req, snapshot } => {
                if let Some(system) = self.services.network.clone() {
                    tokio::spawn(async move {
                        let lines = system.revert(snapshot).await;
                        tracing::info!(?lines, "network reverted");
                        Self::send(&tx, Msg::NetworkReverted { req, lines });
                    });
                } else {
                    Self::send(&tx, Msg::NetworkReverted { req, lines: vec![] });
                }
            }
            // Handled by the loop, which owns the frontend.
            Cmd::ClearScreen | Cmd::Suspend | Cmd::Quit => {}
        }
    }

    /// The host's facts and the disks, off the loop.
    fn read_machine(&self) {
        let (tx, identity) = (self.tx.clone(), self.services.host_identity.clone());
        tokio::task::spawn_blocking(move || {
            let mut facts = crate::host::facts();
            if let Some(identity) = identity {
                facts.nics = identity
                    .macs
                    .iter()
                    .enumerate()
                    .map(|(i, mac)| (format!("eth{i}"), mac.clone()))
                    .collect();
                facts.identity = identity;
            }
            Self::send(&tx, Msg::HostFacts(facts));
        });
        list_disks(&self.tx, self.services.disks.clone(), |result| Msg::Disks {
            req: 0,
            result,
        });
        if self
            .services
            .disks
            .as_ref()
            .is_some_and(|d| !d.is_virtual())
        {
            let tx = self.tx.clone();
            let watching =
                crate::disks::udev_disks::watch(move || tx.send(Msg::DisksChanged).is_ok());
            tracing::info!(watching, "udev events for disks");
        }
    }

    /// Keeps the started demo's emulator, disks, host and worker start, and reads them.
    fn demo_started(&mut self, started: super::demo::Started) -> super::demo::DemoInfo {
        let info = started.keep(self.services);
        self.read_machine();
        info
    }

    fn request(&mut self, run: crate::replicator::RunId, request: &Request) {
        let sent = match self.connection.as_mut() {
            Some(c) => c.send(request).map_err(|e| e.to_string()),
            None => Err("not attached to a failback worker".to_owned()),
        };
        if let Err(why) = sent {
            Self::send(
                &self.tx,
                Msg::WorkerGone {
                    run: Some(run),
                    why,
                },
            );
        }
    }

    fn unattended_request(&mut self, request: &Request) {
        let sent = match self.unattended.as_mut() {
            Some(c) => c.send(request).map_err(|e| e.to_string()),
            None => Err("the unattended run is gone".to_owned()),
        };
        if let Err(why) = sent {
            Self::send(&self.tx, Msg::UnattendedNotice(why));
        }
    }

    /// Gives the confirmed plan, with the verified credentials, to the worker this wizard
    /// started, then attaches to it.
    fn hand_off(&mut self, plan: crate::replicator::ReplicationPlan) {
        let handed = self.client().map_err(|e| e.to_string()).and_then(|c| {
            let worker = self.worker()?;
            worker.hand_off(&Handoff {
                plan,
                credentials: c.credentials.clone(),
            })?;
            Ok((worker.worker_pid(), worker.log.clone()))
        });
        let tx = self.tx.clone();
        let (pid, log) = match handed {
            Ok(w) => w,
            Err(why) => {
                Self::send(&tx, Msg::WorkerGone { run: None, why });
                return;
            }
        };
        let (dir, start) = (self.services.state_dir.clone(), self.start);
        tokio::spawn(async move {
            match client::connect_when_ready(&dir, pid, &log).await {
                Ok((connection, reader)) => {
                    Self::send(&tx, Msg::Connected(connection));
                    client::relay(reader, tx, move || start.elapsed().as_secs_f64(), false).await;
                }
                Err(why) => Self::send(&tx, Msg::WorkerGone { run: None, why }),
            }
        });
    }
}

impl Runtime<'_> {
    /// This wizard's worker, started now if it has none yet.
    fn worker(&mut self) -> Result<&mut Spawned, String> {
        let services = &mut *self.services;
        // An ended worker takes no plan: a new one is started where this wizard can.
        if let Some(why) = services.worker.as_mut().and_then(Spawned::ended) {
            tracing::info!("{why}");
            services.worker = None;
        }
        match services.worker {
            Some(ref mut worker) => Ok(worker),
            None => {
                let start = services.start_worker.as_ref().ok_or_else(|| {
                    "this wizard has no failback worker of its own to hand the plan to (it \
                     attached to one another terminal started): start drs-failback again for a \
                     new failback"
                        .to_owned()
                })?;
                let mut setup = start.setup.clone();
                setup.started_by = crate::worker::started_by();
                crate::worker::prepare_state_dir(&services.state_dir)?;
                let spawned = client::spawn(&start.program, &services.state_dir, &setup)?;
                tracing::info!(worker = spawned.worker_pid(), "failback worker started");
                Ok(services.worker.insert(spawned))
            }
        }
    }
}

/// DNS, TCP, TLS and one API call, each reported as it ends.
async fn check_endpoint(
    req: u64,
    target: &DrsTarget,
    tx: &UnboundedSender<Msg>,
) -> Result<(), DrsError> {
    let stage = |stage: Stage, status: StageStatus| {
        Runtime::send(tx, Msg::EndpointStage { req, stage, status });
    };
    let url = target
        .endpoint
        .clone()
        .unwrap_or_else(|| crate::domain::validate::default_endpoint(&target.region));
    let crate::domain::validate::EndpointAddress {
        https,
        host_port,
        port,
    } = crate::domain::validate::endpoint_address(&url);
    let unreachable =
        |detail: String| DrsError::new(DrsErrorKind::Unreachable, detail).on_port(port);
    let skip_rest = |from: usize| {
        for s in &Stage::ALL[from..] {
            stage(*s, StageStatus::not_reached());
        }
    };

    stage(Stage::Dns, StageStatus::Running);
    let addrs: Vec<_> = match lookup_host(host_port.as_str()).await {
        Ok(a) => a.collect(),
        Err(e) => {
            stage(Stage::Dns, StageStatus::Failed(e.to_string()));
            skip_rest(1);
            return Err(unreachable(format!("DNS: {e}")));
        }
    };
    let Some(addr) = addrs.first().copied() else {
        stage(Stage::Dns, StageStatus::no_address());
        skip_rest(1);
        return Err(unreachable("DNS gave no address".into()));
    };
    stage(Stage::Dns, StageStatus::resolved(addr.ip()));

    stage(Stage::Tcp, StageStatus::Running);
    let started = Instant::now();
    match tokio::time::timeout(TCP_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(_)) => stage(
            Stage::Tcp,
            StageStatus::connected(addr, started.elapsed().as_millis()),
        ),
        Ok(Err(e)) => {
            stage(Stage::Tcp, StageStatus::Failed(e.to_string()));
            skip_rest(2);
            return Err(unreachable(format!("TCP {addr}: {e}")));
        }
        Err(_) => {
            stage(Stage::Tcp, StageStatus::no_answer(addr));
            skip_rest(2);
            return Err(unreachable(format!("TCP {addr}: timed out")));
        }
    }

    // TLS is proven by the API call itself: any HTTP answer means the handshake succeeded.
    stage(
        Stage::Tls,
        if https {
            StageStatus::Running
        } else {
            StageStatus::plain_http()
        },
    );
    stage(Stage::Api, StageStatus::Running);
    let result = match DrsClient::connect(target).await {
        Ok(c) => c.verify().await.map(|()| c),
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => {
            if https {
                stage(Stage::Tls, StageStatus::handshake_done());
            }
            stage(Stage::Api, StageStatus::api_answered());
            Runtime::send(tx, Msg::Verified { req, client: c });
            Ok(())
        }
        Err(e) => {
            let (tls, api) = crate::wizard::endpoint::stages_after_failed_call(&e, https);
            if let Some(tls) = tls {
                stage(Stage::Tls, tls);
            }
            stage(Stage::Api, api);
            Err(e)
        }
    }
}

/// Connects to a waiting unattended run's worker whenever one serves `state_dir` (checked
/// each second), and relays what it says.
fn watch_unattended(tx: UnboundedSender<Msg>, state_dir: PathBuf, start: Instant) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Ok(Some((connection, reader))) = client::connect_unattended(&state_dir) else {
                continue;
            };
            if tx.send(Msg::UnattendedConnected(connection)).is_err() {
                return;
            }
            client::relay(
                reader,
                tx.clone(),
                move || start.elapsed().as_secs_f64(),
                true,
            )
            .await;
        }
    });
}

/// Runs the wizard until it quits; returns the final state (its outcome decides the exit code).
pub async fn run(
    mut app: App,
    services: &mut Services,
    frontend: &mut dyn Frontend,
    input: Option<tokio::sync::mpsc::UnboundedReceiver<Msg>>,
) -> io::Result<App> {
    let (tx, mut rx) = unbounded_channel::<Msg>();
    let mut rt = Runtime {
        services,
        tx: tx.clone(),
        client: None,
        start: Instant::now(),
        connection: None,
        unattended: None,
    };
    if let Some((connection, reader)) = rt.services.attach.take() {
        rt.connection = Some(connection);
        let (tx, start) = (tx.clone(), rt.start);
        tokio::spawn(client::relay(
            reader,
            tx,
            move || start.elapsed().as_secs_f64(),
            false,
        ));
    } else {
        watch_unattended(tx.clone(), rt.services.state_dir.clone(), rt.start);
    }

    // Startup facts, off the loop; the demo's wait for its host and disks.
    match rt.services.demo.take() {
        Some(start) => {
            let tx = tx.clone();
            tokio::task::spawn_blocking(move || {
                let started = super::demo::start(start).map(Box::new);
                Runtime::send(&tx, Msg::DemoStarted(started));
            });
        }
        None => rt.read_machine(),
    }
    // The clock: a Tick redraws only while something on screen moves.
    {
        let (tx, start) = (tx.clone(), rt.start);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let now = start.elapsed().as_secs_f64();
                Runtime::send(
                    &tx,
                    Msg::Tick {
                        now,
                        epoch: epoch(),
                    },
                );
            }
        });
    }
    crate::terminal::signals::spawn(tx.clone());
    if let Some(mut input) = input {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(msg) = input.recv().await {
                Runtime::send(&tx, msg);
            }
        });
    }
    app.now = rt.now();
    app.epoch = epoch();

    loop {
        if app.dirty {
            frontend.draw(&app)?;
            app.dirty = false;
        }
        let Some(first) = rx.recv().await else { break };
        // Handle everything already queued before drawing once.
        let mut pending = vec![first];
        while let Ok(more) = rx.try_recv() {
            pending.push(more);
        }
        let mut queue: std::collections::VecDeque<Msg> = pending.into();
        while let Some(msg) = queue.pop_front() {
            let msg = match msg {
                Msg::Connected(connection) => {
                    rt.connection = Some(connection);
                    continue;
                }
                Msg::UnattendedConnected(connection) => {
                    rt.unattended = Some(connection);
                    Msg::UnattendedReached
                }
                // The unattended run's failback started: this wizard's requests go to it.
                msg @ Msg::Attached { .. } if rt.connection.is_none() => {
                    rt.connection = rt.unattended.take();
                    msg
                }
                Msg::Verified { req, client } => {
                    rt.verified(req, client);
                    continue;
                }
                Msg::DemoStarted(started) => Msg::DemoReady(started.map(|s| rt.demo_started(*s))),
                msg => msg,
            };
            for cmd in update(&mut app, msg) {
                match cmd {
                    Cmd::ClearScreen => {
                        frontend.clear()?;
                        app.dirty = true;
                    }
                    Cmd::Suspend => {
                        frontend.suspend()?;
                        app.dirty = true;
                    }
                    Cmd::Quit => {}
                    cmd => rt.execute(cmd),
                }
            }
            if app.quit {
                frontend.draw(&app)?;
                return Ok(app);
            }
            if queue.is_empty() {
                queue.extend(frontend.keys_for(&app).into_iter().map(Msg::Key));
            }
        }
    }
    Ok(app)
}
