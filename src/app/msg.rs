//! What reaches `update` (`Msg`: keys, signals, answers of the tasks and of the failback
//! worker) and what it asks the runtime to do (`Cmd`).

use super::Interrupt;
use crate::domain::model::{
    FailbackReplicationConfiguration, HostFacts, Job, JobLogItem, LocalDisk, RecoveryInstance,
};
use crate::domain::network::NetworkPlan;
use crate::domain::ssh::{SshAccess, SshError};
use crate::drs::{DrsClient, DrsError, DrsTarget, StaticCredentials};
use crate::netconfig::interfaces::Interface;
use crate::netconfig::{Applied, Line as NetLine, Snapshot};
use crate::replicator::{ReplicationPlan, ReplicatorEvent, RunId};
use crate::wizard::credentials::Verified;
use crate::wizard::endpoint::{Stage, StageStatus};
use crate::wizard::replication::Verdict;
use crate::worker::client::Connection;
use ratatui::crossterm::event::KeyEvent;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// A bracketed paste: one edit of the focused field, never a key press.
    Paste(String),
    /// The terminal changed size (the size the screen is drawn at).
    Resize {
        cols: u16,
        rows: u16,
    },
    /// SIGTSTP: give the terminal back and stop until continued.
    Suspend,
    /// SIGCONT: take the terminal again and repaint.
    Resumed,
    /// The clock moved: `now` in seconds since start, `epoch` in Unix seconds.
    Tick {
        now: f64,
        epoch: i64,
    },
    HostFacts(HostFacts),
    /// udevd announced block devices added, removed or changed: read the disk list again.
    DisksChanged,
    /// The disk list read for `req` (0: the one read at start).
    Disks {
        req: u64,
        result: Result<Vec<LocalDisk>, String>,
    },
    CredentialsChecked {
        req: u64,
        result: Result<Verified, DrsError>,
    },
    EndpointStage {
        req: u64,
        stage: Stage,
        status: StageStatus,
    },
    EndpointChecked {
        req: u64,
        result: Result<(), DrsError>,
    },
    /// One page of the listing `req`; `more` while further pages follow.
    Instances {
        req: u64,
        result: Result<Vec<RecoveryInstance>, DrsError>,
        more: bool,
    },
    /// The runtime's own: the worker's socket answered (never reaches `update`).
    Connected(Connection),
    /// The runtime's own: a client that passed the check of `req` (credentials or endpoint),
    /// for the calls that follow and the plan's hand-over.
    Verified {
        req: u64,
        client: DrsClient,
    },
    /// The runtime's own: the demo started (it keeps the pieces and sends `DemoReady`).
    DemoStarted(Result<Box<crate::app::demo::Started>, String>),
    /// The demo's emulator listens (or the demo could not start, and why).
    DemoReady(Result<crate::app::demo::DemoInfo, String>),
    /// The worker's failback `run`, as a worker tells a client that attaches.
    Attached {
        run: RunId,
        plan: ReplicationPlan,
        /// On this wizard's clock.
        started_at: f64,
        /// Who started it, when another wizard did.
        started_by: Option<String>,
        worker_pid: u32,
        log_file: Option<String>,
    },
    Polled {
        run: RunId,
        now: f64,
        result: Result<RecoveryInstance, DrsError>,
    },
    /// Sum of the target disks' write counters.
    Writes {
        run: RunId,
        now: f64,
        total: u64,
    },
    Replicator {
        run: RunId,
        event: ReplicatorEvent,
    },
    LaunchStarted {
        run: RunId,
        result: Result<Job, DrsError>,
    },
    /// The worker decided the failback's result.
    Outcome {
        run: RunId,
        verdict: Verdict,
    },
    JobLog {
        run: RunId,
        result: Result<(Job, Vec<JobLogItem>), DrsError>,
    },
    /// The throttle and the route the worker read.
    Configuration {
        run: RunId,
        result: Result<FailbackReplicationConfiguration, DrsError>,
    },
    /// The throttle was changed (by any terminal), in Mbps.
    Bandwidth {
        run: RunId,
        mbps: u32,
    },
    /// DRS answered ExpiredToken: every terminal asks for fresh credentials.
    CredentialsExpired {
        run: RunId,
        detail: String,
    },
    /// The worker accepted fresh credentials (from any terminal).
    CredentialsAccepted {
        run: RunId,
    },
    /// An unattended run waits for credentials (`started_by` None: this run's own worker).
    CredentialsWanted {
        started_by: Option<String>,
        detail: String,
    },
    /// The unattended run has credentials (given by any terminal, or found).
    UnattendedAccepted,
    /// The unattended run's worker refused a request of this terminal's.
    UnattendedNotice(String),
    /// The unattended run's worker ended before a failback started.
    UnattendedGone,
    /// Credentials a wizard gave this waiting run, checked by its worker (Debug redacts them).
    CredentialsGiven(StaticCredentials),
    /// The runtime's own: an unattended run's socket answered (it keeps the connection and
    /// sends `UnattendedReached`).
    UnattendedConnected(Connection),
    /// This wizard is connected to a waiting unattended run's worker (perhaps its own).
    UnattendedReached,
    /// The worker refused a request of this terminal's.
    WorkerNotice {
        run: RunId,
        message: String,
    },
    /// The worker's connection ended without the failback's end (or it refused us).
    WorkerGone {
        run: Option<RunId>,
        why: String,
    },
    /// SSH for this boot was enabled (or not) for request `req`.
    SshEnabled {
        req: u64,
        result: Result<SshAccess, SshError>,
    },
    /// Leave now, restoring the terminal.
    Interrupted(Interrupt),
    // Pre-flight.
    Preflight {
        req: u64,
        report: crate::preflight::Report,
    },
    ClockSet {
        req: u64,
        result: Result<(), String>,
    },
    // The Network screen.
    Interfaces {
        req: u64,
        result: Result<Vec<Interface>, String>,
    },
    NetworkApplied {
        req: u64,
        applied: Applied,
    },
    NetworkReverted {
        req: u64,
        lines: Vec<NetLine>,
    },
    /// The disks as they are at the hand-over of `plan` (its target disks are checked again).
    TargetsRechecked {
        plan: ReplicationPlan,
        disks: Result<Vec<LocalDisk>, String>,
    },
    /// TCP 1500 to the chosen recovery instance, judged.
    ReplicationPort {
        req: u64,
        check: crate::domain::preflight::Check,
    },
}

#[derive(Debug)]
pub enum Cmd {
    VerifyCredentials {
        req: u64,
        target: DrsTarget,
    },
    CheckEndpoint {
        req: u64,
        target: DrsTarget,
    },
    ListInstances {
        req: u64,
    },
    /// Read the disk list again (the Mapping step's rescan).
    ListDisks {
        req: u64,
    },
    /// Read the disks again, so the confirmed plan's target disks are checked just before it
    /// is handed over (answered with `TargetsRechecked`).
    StartReplication {
        plan: ReplicationPlan,
    },
    /// Hand the confirmed, rechecked plan to the failback worker and attach to it.
    HandOff {
        plan: ReplicationPlan,
    },
    /// Ask the worker for the failback launch.
    StartFailbackLaunch {
        run: RunId,
        /// As the DRS console's Failback button (the demo plays it with its full-access key).
        as_console: bool,
    },
    /// Ask the worker to stop the failback (StopFailback).
    StopFailback {
        run: RunId,
    },
    /// Ask the worker to change the bandwidth throttle, in Mbps (0: none).
    SetBandwidth {
        run: RunId,
        mbps: u32,
    },
    /// Fresh credentials for the worker after ExpiredToken (Debug redacts them).
    SendCredentials {
        run: RunId,
        credentials: StaticCredentials,
    },
    /// This run waits for credentials: its worker (started now if needed) tells every
    /// terminal so, and takes credentials from any of them.
    AwaitCredentials {
        wait: crate::worker::protocol::CredentialsWait,
    },
    /// This run asks its worker for the credentials a terminal gives.
    RegisterForCredentials,
    /// This run has credentials: every terminal's prompt closes.
    CredentialsFound,
    /// Credentials for another process's waiting unattended run (Debug redacts them).
    GiveCredentials {
        credentials: StaticCredentials,
    },
    /// Tell the worker the result was seen: it ends that failback.
    Acknowledge {
        run: RunId,
    },
    /// This boot's one-time root password (kept for every console; a new one when
    /// `new_password` or none is kept yet), and sshd started (the live system's helper).
    EnableSsh {
        req: u64,
        new_password: bool,
    },
    // Pre-flight: the checks that need no recovery instance, and setting the clock.
    RunPreflight {
        req: u64,
        region: String,
        /// A custom DRS endpoint; None for the region's default.
        drs_endpoint: Option<String>,
        s3_endpoint: Option<String>,
    },
    /// Set the clock to this machine's time plus `skew_seconds` (from the endpoint's `Date`).
    SetClock {
        req: u64,
        skew_seconds: i64,
    },
    // The Network screen: read the interfaces, apply a plan (checked at once), put back what
    // an apply replaced.
    ListInterfaces {
        req: u64,
    },
    ApplyNetwork {
        req: u64,
        plan: NetworkPlan,
    },
    RevertNetwork {
        req: u64,
        snapshot: Snapshot,
    },
    /// Read usePrivateIP for the recovery instance, then try TCP 1500 to that address (not in
    /// the demo, whose emulator runs no agent).
    CheckReplicationPort {
        req: u64,
        instance_id: String,
        private_ips: Vec<String>,
        connect: bool,
    },
    /// Ctrl-L: clear and redraw everything.
    ClearScreen,
    /// Ctrl-Z or SIGTSTP: restore the terminal, stop, and take it again when continued.
    Suspend,
    Quit,
}
