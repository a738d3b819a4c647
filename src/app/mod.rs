//! One owned `App` state; `update(&mut App, Msg) -> Vec<Cmd>` does no I/O. The runtime
//! executes the commands in tokio tasks and feeds their results back as messages.

pub mod demo;
pub mod keys;
pub mod msg;
pub mod prefill;
pub mod runtime;

pub use msg::{Cmd, Msg};

use crate::domain::model::{HostFacts, HostIdentity, LocalDisk, RecoveryInstance, RecoveryVolume};
use crate::domain::ssh::{SshAccess, SshError};
use crate::drs::{DrsError, DrsErrorKind, DrsTarget};
use crate::emulator::EmulatorCredential;
use crate::replicator::{ReplicationPlan, ReplicatorEvent, RunId, VolumeTarget};
use crate::wizard::credentials::{CredentialsForm, Verified};
use crate::wizard::endpoint::{ConnectivityCheck, EndpointForm};
use crate::wizard::instance::InstanceForm;
use crate::wizard::mapping::MappingForm;
use crate::wizard::network::{NetAction, NetworkForm, Work};
use crate::wizard::preflight::PreflightForm;
use crate::wizard::replication::{CredentialsPrompt, Dashboard, Launch, Verdict};
use crate::wizard::result::{self, Failure, Outcome, Summary};
use crate::wizard::review::{PlanKey, ReviewForm};
use crate::wizard::unattended::{Unattended, Waiting};
use crate::wizard::{Action, Loadable, StepId, is_ctrl};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

/// Where the wizard runs: against AWS, or the embedded emulator with virtual disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Real,
    Demo {
        /// Where the virtual disks live.
        disk_dir: String,
        /// The emulator's credentials, offered by F2 on the Credentials step.
        keys: Vec<EmulatorCredential>,
        /// The embedded emulator's URL: the demo's failback client works with it and no other.
        endpoint: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modal {
    Help,
    ConfirmQuit,
    /// SSH for this boot: starting, or how to log in.
    Ssh,
}

/// Why the program leaves without the operator asking (each has its own exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT.
    Signal(i32),
    /// The terminal went away (window closed, SSH dropped).
    TerminalLost,
    /// A worker thread panicked.
    Panic,
}

#[derive(Clone)]
pub struct App {
    pub mode: Mode,
    pub step: StepId,
    pub host: Option<HostFacts>,
    pub disks: Loadable<Vec<LocalDisk>>,
    /// The disk listing whose answer is awaited: 0 at start, then the latest rescan.
    disks_req: u64,
    /// The awaited rescan was the operator's (`r`), not udev's: say "no change" too.
    rescan_asked: bool,
    /// A rescan's answer is awaited (Review waits for it).
    rescanning: bool,
    pub preflight: PreflightForm,
    /// The Network screen's form, kept while it is closed.
    pub network: NetworkForm,
    /// The Network screen is shown over the step (which stays as it was).
    pub network_open: bool,
    pub credentials: CredentialsForm,
    pub endpoint: EndpointForm,
    pub instance: InstanceForm,
    pub mapping: MappingForm,
    pub review: ReviewForm,
    pub dashboard: Option<Dashboard>,
    pub outcome: Option<Outcome>,
    pub modal: Option<Modal>,
    /// A one-line message in the status bar, cleared by the next key.
    pub notice: Option<String>,
    /// Seconds since start (for rates and ages) and Unix time (to read the service's
    /// timestamps), from the last Tick.
    pub now: f64,
    pub epoch: i64,
    /// Where the log file is written, shown on failures.
    pub log_path: Option<String>,
    /// The command that attaches to this failback again (with --demo, --state-dir as given).
    pub come_back: String,
    /// `--s3-endpoint` (the demo: its emulator), for the pre-flight's S3 check.
    pub s3_endpoint: Option<String>,
    pub quit: bool,
    /// Set when a signal, a panic or the terminal's loss ended the program.
    pub interrupted: Option<Interrupt>,
    /// The size the screen is drawn at: below the minimum only a few keys work.
    pub size: (u16, u16),
    /// Something visible changed since the last draw.
    pub dirty: bool,
    /// The failback worker this wizard is attached to.
    pub worker: Option<WorkerInfo>,
    /// This terminal told the worker the result was seen.
    pub acknowledged: bool,
    /// SSH for this boot, as this wizard enabled it.
    pub ssh: Loadable<SshAccess, SshError>,
    /// Drawn in rich mode (Unicode, colour) rather than basic (ASCII, no colour); Ctrl-T
    /// switches.
    pub rich: bool,
    /// The demo's emulator is still starting (Welcome is shown meanwhile).
    pub demo_starting: bool,
    /// Why the demo could not start: the program leaves and says so.
    pub cannot_start: Option<String>,
    /// `--wait-for-credentials` without any: this run waits for them (the default chain is
    /// tried again, and any terminal may give them).
    pub waiting: Option<Waiting>,
    /// Another process's unattended run waits for credentials: its prompt, over any step.
    pub unattended: Option<Unattended>,
    next_req: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    pub pid: u32,
    pub log_file: Option<String>,
}

impl App {
    pub fn new(mode: Mode) -> App {
        App {
            mode,
            step: StepId::Welcome,
            host: None,
            disks: Loadable::Loading(0),
            disks_req: 0,
            rescan_asked: false,
            rescanning: false,
            preflight: PreflightForm::default(),
            network: NetworkForm::default(),
            network_open: false,
            credentials: CredentialsForm::default(),
            endpoint: EndpointForm::default(),
            instance: InstanceForm::default(),
            mapping: MappingForm::default(),
            review: ReviewForm::default(),
            dashboard: None,
            outcome: None,
            modal: None,
            notice: None,
            now: 0.0,
            epoch: 0,
            log_path: None,
            come_back: "drs-failback".into(),
            s3_endpoint: None,
            quit: false,
            interrupted: None,
            size: (crate::ui::MIN_WIDTH, crate::ui::MIN_HEIGHT),
            dirty: true,
            worker: None,
            acknowledged: false,
            rich: true,
            ssh: Loadable::NotAsked,
            demo_starting: false,
            cannot_start: None,
            waiting: None,
            unattended: None,
            next_req: 1,
        }
    }

    /// This machine's time of day, e.g. "07:32:00 UTC".
    pub fn wall(&self) -> String {
        let iso = crate::domain::time::iso8601(self.epoch);
        format!("{} UTC", iso.get(11..19).unwrap_or_default())
    }

    pub fn is_demo(&self) -> bool {
        matches!(self.mode, Mode::Demo { .. })
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    pub fn region(&self) -> &str {
        &self.credentials.region
    }

    fn target(&self) -> DrsTarget {
        DrsTarget {
            region: self.credentials.region.clone(),
            endpoint: self.endpoint.custom_url(),
            auth: self.credentials.auth(),
        }
    }

    /// The instance chosen on step 4 (committed by its Next).
    pub fn chosen_instance(&self) -> Option<&RecoveryInstance> {
        self.instance.selected_row().map(|r| &r.instance)
    }

    fn chosen_volumes(&self) -> Vec<RecoveryVolume> {
        self.chosen_instance()
            .map(|i| i.volumes.clone())
            .unwrap_or_default()
    }

    /// Review's checks: a pre-flight row failing now, then those that need the chosen recovery
    /// instance (the boot mode for its OS, the local disks for its volumes, TCP 1500 to it once
    /// measured). The demo measures this machine's boot mode, not the emulator's: there a
    /// failure only warns.
    pub fn instance_checks(&self) -> Vec<crate::domain::preflight::Check> {
        use crate::domain::preflight as rules;
        // A pre-flight row that fails now (run again for a new region or endpoint) first.
        let mut checks: Vec<_> =
            rules::blocking(self.preflight.checks(), self.preflight.ram_overridden)
                .into_iter()
                .cloned()
                .collect();
        if let Some(pinned) = &self.network.pinned {
            checks.extend(rules::s3_pin(pinned, self.region()));
        }
        let Some(instance) = self.chosen_instance() else {
            return checks;
        };
        if let Some(host) = &self.host {
            let boot = rules::boot_mode(host.boot_mode, Some(instance.os.as_deref().unwrap_or("")));
            checks.push(if self.is_demo() {
                rules::rehearsed(boot)
            } else {
                boot
            });
        }
        checks.push(rules::local_disks(instance, self.local_disks()));
        if let Loadable::Loaded(c) = &self.preflight.replication_port {
            checks.push(c.clone());
        }
        checks
    }

    /// Review's checks are still being measured (Next waits for them).
    pub fn review_checking(&self) -> bool {
        self.preflight.replication_port.is_loading()
            || self.preflight.report.is_loading()
            || self.disks_rereading()
    }

    /// The disk list is being read again: what is on a disk (mounts, swap, holders) changes
    /// without a udev event, so Review reads it again.
    pub fn disks_rereading(&self) -> bool {
        self.rescanning
    }

    pub fn local_disks(&self) -> &[LocalDisk] {
        self.disks.loaded().map(Vec::as_slice).unwrap_or_default()
    }

    /// True while something on screen moves with time (spinners, ages, rates).
    pub fn animating(&self) -> bool {
        self.credentials.check.is_loading()
            || self.preflight.running()
            || self.network.work.is_some()
            || (self.network_open && self.network.interfaces.is_loading())
            || self.preflight.replication_port.is_loading()
            || self.rescanning
            || self
                .endpoint
                .check
                .as_ref()
                .is_some_and(ConnectivityCheck::running)
            || self.instance.list.is_loading()
            || self.disks.is_loading()
            || self.ssh.is_loading()
            || self.step == StepId::Replication
            || matches!(&self.outcome, Some(Outcome::Completed(s)) if s.timeline.is_loading())
    }

    /// True when the focused control takes typed text, so `?` and letters are input.
    pub fn typing(&self) -> bool {
        use crate::wizard::credentials::Field as C;
        use crate::wizard::endpoint::Field as E;
        if self.network_open {
            return self.network.typing();
        }
        match self.step {
            _ if self.unattended_prompt().is_some() => true,
            StepId::Credentials => self.credentials.focus != C::Source,
            StepId::Endpoint => self.endpoint.focus == E::Url,
            StepId::Instance | StepId::Review => true,
            StepId::Mapping => self.mapping.paste.is_some(),
            StepId::Replication => self
                .dashboard
                .as_ref()
                .is_some_and(|d| d.prompt().is_some() || d.throttle.is_some()),
            _ => false,
        }
    }

    /// `--wait-for-credentials` without any given: the default chain is tried, and tried
    /// again while it finds none; any terminal may give them meanwhile.
    /// In the demo, a rehearsal of the unattended boot: its keys are not typed in either.
    pub fn wait_for_credentials(&mut self) {
        let region = std::mem::take(&mut self.credentials.region);
        self.credentials = CredentialsForm::default();
        self.credentials.source = crate::wizard::credentials::Source::DefaultChain;
        self.credentials.region = region;
        self.waiting = Some(Waiting::default());
    }

    /// The unattended run's credentials prompt, when it is in front (the dashboard and the
    /// result have their own).
    pub fn unattended_prompt(&self) -> Option<&CredentialsPrompt> {
        if self.network_open || matches!(self.step, StepId::Replication | StepId::Result) {
            return None;
        }
        self.unattended.as_ref()?.visible()
    }

    /// The screen shows only "terminal too small": keys must not act on what is not shown.
    pub fn too_small(&self) -> bool {
        self.size.0 < crate::ui::MIN_WIDTH || self.size.1 < crate::ui::MIN_HEIGHT
    }

    fn go(&mut self, step: StepId) {
        // A confirmation belongs to the Review it was typed on.
        if self.step == StepId::Review && step != StepId::Review {
            self.review = ReviewForm::default();
        }
        if step != StepId::Credentials {
            self.credentials.hide();
        }
        // The Network screen stays open over a step an answer changed (a dashboard's result):
        // what is being typed there is not lost, nor do its keys land on the new step.
        self.step = step;
        self.notice = None;
    }
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    // Messages that change nothing visible leave `dirty` as an earlier one set it.
    let was_dirty = app.dirty;
    app.dirty = true;
    match msg {
        // The screen's key table decides which keys work: the footer and help read it too.
        Msg::Key(key) if key.kind == KeyEventKind::Press && keys::handles(app, &key) => {
            on_key(app, key)
        }
        Msg::Key(_) => {
            app.dirty = was_dirty;
            vec![]
        }
        Msg::Paste(mut text) => {
            let cmds = on_paste(app, &text);
            // It may hold a secret: no copy left behind in freed memory.
            zeroize::Zeroize::zeroize(&mut text);
            cmds
        }
        Msg::Resize { cols, rows } => {
            app.size = (cols, rows);
            vec![]
        }
        Msg::Suspend => vec![Cmd::Suspend],
        Msg::Resumed => vec![Cmd::ClearScreen],
        Msg::Tick { now, epoch } => {
            app.now = now;
            app.epoch = epoch;
            app.dirty = was_dirty || app.animating();
            // Waiting for credentials: the default chain again, when it is time.
            let retry = app.waiting.as_ref().is_some_and(|w| now >= w.retry_at)
                && app.step == StepId::Credentials
                && matches!(app.credentials.check, Loadable::Failed(_));
            if retry {
                return verify_credentials(app);
            }
            vec![]
        }
        Msg::HostFacts(facts) => {
            app.host = Some(facts);
            reload_instance_rows(app);
            resume_start(app)
        }
        Msg::Disks { req, result } if req == app.disks_req => {
            app.rescanning = false;
            on_disks(app, req, result);
            resume_start(app)
        }
        Msg::Disks { .. } => vec![],
        // Only once the first list is in: until then it is on its way anyway.
        Msg::DisksChanged if app.disks.loaded().is_some() => rescan_disks(app, false),
        Msg::DisksChanged => vec![],
        Msg::CredentialsChecked { req, result } => on_credentials_checked(app, req, result),
        Msg::EndpointStage { req, stage, status } => {
            if let Some(check) = app.endpoint.check.as_mut().filter(|c| c.req == req) {
                check.set(stage, status);
            }
            vec![]
        }
        Msg::EndpointChecked { req, result } => on_endpoint_checked(app, req, result),
        Msg::Instances { req, result, more } => {
            let first = app.instance.list.awaits(req);
            if first || app.instance.more == Some(req) {
                app.instance.more = more.then_some(req);
                match result {
                    Ok(page) if first => load_instances(app, page),
                    Ok(page) => {
                        let (host, disks) = match_context(app);
                        app.instance.append(page, &host, &disks);
                    }
                    Err(e) => app.instance.list = Loadable::Failed(e),
                }
                if app.instance.more.is_none()
                    && let Some(problem) = app.instance.wanted_problem()
                {
                    app.instance.error = Some(problem);
                }
            }
            vec![]
        }
        Msg::Connected(_) | Msg::Verified { .. } | Msg::DemoStarted(_) => {
            app.dirty = was_dirty;
            vec![]
        }
        Msg::DemoReady(result) => on_demo_ready(app, result),
        Msg::Attached { run, .. } if app.dashboard.as_ref().is_some_and(|d| d.run == run) => {
            // The same failback told again (on the unattended socket too).
            app.dirty = was_dirty;
            vec![]
        }
        Msg::Attached {
            run,
            plan,
            started_at,
            started_by,
            worker_pid,
            log_file,
        } => {
            app.unattended = None;
            // This wizard confirmed a failback and waits for it, but another terminal's came
            // first: the machine's one failback is that one.
            let refused =
                app.step == StepId::Replication && app.dashboard.is_none() && started_by.is_some();
            let mut d = Dashboard::new(run, plan.recovery_instance_id, plan.targets, started_at);
            d.started_by = started_by;
            app.dashboard = Some(d);
            app.outcome = None;
            app.acknowledged = false;
            app.worker = Some(WorkerInfo {
                pid: worker_pid,
                log_file,
            });
            app.go(StepId::Replication);
            if refused {
                let message = "Your failback was not started and nothing was written: another \
                               terminal started one first, and a machine runs one failback at a \
                               time. This is its dashboard.";
                if let Some(d) = app.dashboard.as_mut() {
                    d.push_log(message.into());
                }
                app.notice = Some(message.into());
            }
            vec![]
        }
        Msg::Polled { run, now, result } => {
            if let Some(d) = running(app, run) {
                match result {
                    Ok(instance) => d.on_poll(now, instance),
                    Err(e) => d.on_poll_error(e),
                }
            }
            vec![]
        }
        Msg::Writes { run, now, total } => {
            if let Some(d) = running(app, run) {
                d.on_writes(now, total);
            }
            vec![]
        }
        Msg::Replicator { run, event } => {
            on_replicator(app, run, event);
            vec![]
        }
        Msg::LaunchStarted { run, result } => {
            let demo = app.is_demo();
            if let Some(d) = running(app, run) {
                d.launch = match result {
                    Ok(job) => {
                        d.push_log(format!("Failback launch started: job {}", job.id));
                        Launch::Started(job)
                    }
                    Err(e)
                        if d.console_launch
                            && matches!(e.kind, DrsErrorKind::AccessDenied { .. }) =>
                    {
                        Launch::Denied(format!(
                            "The console's Failback is refused too: a policy denies \
                             drs:StartFailbackLaunch on {} to everyone. Ask the AWS account's \
                             administrator to lift that deny; this screen keeps watching. ({})",
                            d.instance_id, e.detail
                        ))
                    }
                    Err(e) if matches!(e.kind, DrsErrorKind::AccessDenied { .. }) => {
                        let demo = if demo {
                            " In this demo, press c to play the console's Failback button."
                        } else {
                            ""
                        };
                        Launch::Denied(format!(
                            "These credentials may not start the failback launch. In the DRS console, select {} and choose Failback; this screen keeps watching.{demo} ({})",
                            d.instance_id, e.detail
                        ))
                    }
                    Err(e) => {
                        d.push_log(format!("The failback launch failed: {e}"));
                        Launch::Failed(e.to_string())
                    }
                };
            }
            vec![]
        }
        Msg::Outcome { run, verdict } => {
            on_outcome(app, run, verdict);
            vec![]
        }
        Msg::JobLog { run, result } => {
            if let Some(Outcome::Completed(s)) = app.outcome.as_mut()
                && app.dashboard.as_ref().is_some_and(|d| d.run == run)
                && s.timeline.is_loading()
            {
                s.timeline = match result {
                    Ok((job, items)) => {
                        s.job = Some(job);
                        Loadable::Loaded(items)
                    }
                    Err(e) => Loadable::Failed(e),
                };
            }
            vec![]
        }
        Msg::Configuration { run, result } => {
            if let Some(d) = running(app, run)
                && d.on_configuration(result)
            {
                app.notice = d.log.back().cloned();
            }
            vec![]
        }
        Msg::Bandwidth { run, mbps } => {
            if let Some(d) = running(app, run) {
                d.on_bandwidth(mbps);
                app.notice = d.log.back().cloned();
            }
            vec![]
        }
        Msg::CredentialsExpired { run, detail } => {
            if let Some(d) = running(app, run) {
                d.push_log(format!("{detail} The replication software keeps running."));
                if d.fresh_credentials.is_none() {
                    d.fresh_credentials = Some(CredentialsPrompt::new(detail));
                }
            }
            vec![]
        }
        Msg::CredentialsAccepted { run } => {
            if let Some(d) = running(app, run) {
                // Every terminal's prompt closes, whichever sent them; its text goes.
                d.fresh_credentials = None;
                let line = "Fresh credentials accepted: the dashboard's figures are live again.";
                d.push_log(line.into());
                app.notice = Some(line.into());
            }
            vec![]
        }
        // This run's own worker's news: this run said it.
        Msg::CredentialsWanted {
            started_by: None, ..
        } => {
            app.dirty = was_dirty;
            vec![]
        }
        Msg::CredentialsWanted {
            started_by: Some(by),
            detail,
        } => {
            app.unattended
                .get_or_insert_with(|| Unattended {
                    started_by: by.clone(),
                    prompt: None,
                })
                .wants(by, detail);
            vec![]
        }
        Msg::UnattendedAccepted => {
            if let Some(u) = app.unattended.as_mut()
                && u.prompt.take().is_some()
            {
                app.notice = Some(
                    "Credentials accepted: the unattended failback goes on with them; its \
                     dashboard shows here once it starts."
                        .into(),
                );
            }
            vec![]
        }
        Msg::UnattendedNotice(message) => {
            match app.unattended.as_mut().and_then(|u| u.prompt.as_mut()) {
                Some(p) => {
                    p.sending = false;
                    p.hidden = false;
                    p.error = Some(message);
                }
                None => app.notice = Some(message),
            }
            vec![]
        }
        Msg::UnattendedGone => {
            if app.unattended.take().is_some() {
                app.notice = Some(
                    "The unattended run ended before its failback started (its output says \
                     why); nothing was written. This wizard can prepare one."
                        .into(),
                );
            }
            vec![]
        }
        Msg::CredentialsGiven(credentials) => {
            if app.waiting.is_none() {
                return vec![];
            }
            app.credentials.fill(&credentials);
            verify_credentials(app)
        }
        Msg::UnattendedConnected(_) => {
            app.dirty = was_dirty;
            vec![]
        }
        // A waiting run asks for the credentials a terminal gives (another worker refuses).
        Msg::UnattendedReached if app.waiting.is_some() => vec![Cmd::RegisterForCredentials],
        Msg::UnattendedReached => {
            app.dirty = was_dirty;
            vec![]
        }
        Msg::WorkerNotice { run, message } => {
            if let Some(d) = app.dashboard.as_mut().filter(|d| d.run == run) {
                d.push_log(message.clone());
                if !d.on_refusal(&message) {
                    app.notice = Some(message);
                }
            }
            vec![]
        }
        Msg::WorkerGone { run, why } => {
            let ours = match run {
                Some(run) => app.dashboard.as_ref().is_some_and(|d| d.run == run),
                None => app.step == StepId::Replication,
            };
            if ours && app.outcome.is_none() {
                let log = app
                    .worker
                    .as_ref()
                    .and_then(|w| w.log_file.clone())
                    .map(|l| format!(" Its log: {l}."))
                    .unwrap_or_default();
                fail(app, &format!("The failback worker is gone: {why}.{log}"));
            }
            vec![]
        }
        Msg::SshEnabled { req, result } => {
            if app.ssh.awaits(req) {
                app.ssh = match result {
                    Ok(access) => Loadable::Loaded(access),
                    Err(e) => Loadable::Failed(e),
                };
            }
            vec![]
        }
        Msg::Interfaces { req, result } => {
            if app.network.awaits_list(req) {
                app.network.on_interfaces(result);
            }
            vec![]
        }
        Msg::NetworkApplied { req, applied } => {
            let repinned = app.network.work == Some((req, Work::Repinning));
            if !app.network.on_applied(req, applied) {
                return vec![];
            }
            if repinned {
                app.notice = app
                    .network
                    .report
                    .as_ref()
                    .map(|(_, lines)| repin_notice(lines));
                // Measured again now that the names point where they should.
                return rerun_if_moved(app);
            }
            app.network.changed = true;
            list_interfaces(app)
        }
        Msg::NetworkReverted { req, lines } => {
            if app.network.on_reverted(req, lines) {
                app.network.changed = true;
                app.network.snapshot = None;
                return list_interfaces(app);
            }
            vec![]
        }
        Msg::Interrupted(why) => {
            app.interrupted = Some(why);
            quit(app)
        }
        Msg::Preflight { req, report } => {
            if !app.preflight.report.awaits(req) {
                return vec![];
            }
            app.preflight.show(report);
            let mut cmds = resume_next(app);
            cmds.extend(resume_start(app));
            cmds
        }
        Msg::TargetsRechecked { plan, disks } => on_targets_rechecked(app, plan, disks),
        Msg::ReplicationPort { req, check } => {
            if !app.preflight.replication_port.awaits(req) {
                return vec![];
            }
            app.preflight.replication_port = Loadable::Loaded(check);
            resume_start(app)
        }
        Msg::ClockSet { req, result } => {
            if !app.preflight.clock_set.awaits(req) {
                return vec![];
            }
            match result {
                Ok(()) => {
                    app.preflight.clock_set = Loadable::Loaded(());
                    run_preflight(app)
                }
                Err(e) => {
                    app.preflight.clock_set = Loadable::Failed(e);
                    resume_next(app)
                }
            }
        }
    }
}

/// Runs the checks that need no recovery instance, for the region and endpoint the wizard has.
fn run_preflight(app: &mut App) -> Vec<Cmd> {
    let req = app.req();
    app.preflight.report = Loadable::Loading(req);
    let (region, drs_endpoint, s3_endpoint) = preflight_target(app);
    app.preflight.measured_for = Some((region.clone(), drs_endpoint.clone(), s3_endpoint.clone()));
    vec![Cmd::RunPreflight {
        req,
        region,
        drs_endpoint,
        s3_endpoint,
    }]
}

/// Pre-flight's Next pressed while its checks ran, made once they are done.
fn resume_next(app: &mut App) -> Vec<Cmd> {
    let done = app.step == StepId::Preflight && !app.preflight.running();
    if done && std::mem::take(&mut app.preflight.waiting) {
        return next(app);
    }
    vec![]
}

/// Shows the Network screen over the step, with a fresh list of the interfaces. A Next waiting
/// for checks is dropped: the operator is changing what they measure.
fn open_network(app: &mut App) -> Vec<Cmd> {
    app.network_open = true;
    app.preflight.waiting = false;
    app.review.waiting = false;
    app.network.changed = false;
    if app.network.interfaces.is_loading() {
        return vec![];
    }
    list_interfaces(app)
}

fn list_interfaces(app: &mut App) -> Vec<Cmd> {
    let req = app.req();
    // The rows shown stay until the new list comes.
    if !matches!(app.network.interfaces, Loadable::Loaded(_)) {
        app.network.interfaces = Loadable::Loading(req);
    } else {
        app.network.rescan = Some(req);
    }
    vec![Cmd::ListInterfaces { req }]
}

fn on_network_action(app: &mut App, action: NetAction) -> Vec<Cmd> {
    match action {
        NetAction::None => vec![],
        NetAction::Close => {
            app.network_open = false;
            // After a change every network row is measured again, whichever step this is:
            // Review shows and waits for them (and for TCP 1500, on Review).
            match std::mem::take(&mut app.network.changed) {
                true if app.step == StepId::Review => recheck_review(app),
                true => run_preflight(app),
                false => vec![],
            }
        }
        NetAction::Rescan => list_interfaces(app),
        NetAction::Apply(plan) => {
            let req = app.req();
            app.network.work = Some((req, Work::Applying));
            app.network.report = None;
            vec![Cmd::ApplyNetwork { req, plan }]
        }
        NetAction::Revert => match app.network.snapshot.clone() {
            Some(snapshot) => {
                let req = app.req();
                app.network.work = Some((req, Work::Reverting));
                app.network.report = None;
                vec![Cmd::RevertNetwork { req, snapshot }]
            }
            None => vec![],
        },
    }
}

/// The S3 pin of the Network screen, moved to the region the plan has now (when it pins
/// another region's host names).
fn repin(app: &mut App) -> Option<Cmd> {
    let req = app.req();
    let region = app.region().to_owned();
    let plan = app.network.repin(&region, req)?;
    Some(Cmd::ApplyNetwork { req, plan })
}

/// What a notice says of the S3 pin moved to the new region.
fn repin_notice(lines: &[crate::netconfig::Line]) -> String {
    let text = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    match lines.iter().all(|l| l.ok) {
        true => format!("The region changed: {text}."),
        false => format!(
            "The region changed, and the S3 pin could not follow it: {text}. Review refuses \
             to start until the Network screen (Ctrl-N) pins it for this region."
        ),
    }
}

/// What the network rows measure: the region, the DRS endpoint, the S3 endpoint.
fn preflight_target(app: &App) -> crate::wizard::preflight::Target {
    let target = app.target();
    let s3 = app.s3_endpoint.clone().or(match &app.mode {
        // The demo's emulator serves the replication software's buckets too.
        Mode::Demo { endpoint, .. } => Some(endpoint.clone()),
        Mode::Real => None,
    });
    (target.region, target.endpoint, s3)
}

/// The region or endpoint changed since the checks ran: run them again for the new ones.
fn rerun_if_moved(app: &mut App) -> Vec<Cmd> {
    let moved = app
        .preflight
        .measured_for
        .as_ref()
        .is_some_and(|t| *t != preflight_target(app));
    if moved { run_preflight(app) } else { vec![] }
}

/// The confirmed clock setting, from the last measured skew.
fn set_clock(app: &mut App) -> Vec<Cmd> {
    let Some(skew_seconds) = app
        .preflight
        .report
        .loaded()
        .and_then(|r| r.clock_skew_seconds)
    else {
        return vec![];
    };
    let req = app.req();
    app.preflight.clock_set = Loadable::Loading(req);
    vec![Cmd::SetClock { req, skew_seconds }]
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    // A repaint shows the same screen: the notice the operator repaints to read stays.
    if is_ctrl(&key, 'l') {
        return vec![Cmd::ClearScreen];
    }
    app.notice = None;
    if is_ctrl(&key, 'z') {
        return vec![Cmd::Suspend];
    }
    if is_ctrl(&key, 't') {
        app.rich = !app.rich;
        // Every cell changes: repaint the whole screen.
        return vec![Cmd::ClearScreen];
    }
    if is_ctrl(&key, 'c') {
        // Ctrl-C twice quits: the second one answers the question.
        if app.modal == Some(Modal::ConfirmQuit) {
            return quit(app);
        }
        app.modal = Some(Modal::ConfirmQuit);
        return vec![];
    }
    match app.modal {
        Some(Modal::ConfirmQuit) => {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => return quit(app),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => app.modal = None,
                _ => {}
            }
            return vec![];
        }
        Some(Modal::Ssh) => {
            match key.code {
                KeyCode::Char('n') | KeyCode::Char('N') if !app.ssh.is_loading() => {
                    return enable_ssh(app);
                }
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('s') | KeyCode::Char('S') => {
                    app.modal = None
                }
                _ => {}
            }
            return vec![];
        }
        Some(Modal::Help) => {
            if matches!(
                key.code,
                KeyCode::Esc
                    | KeyCode::F(1)
                    | KeyCode::Enter
                    | KeyCode::Char('?')
                    | KeyCode::Char('q')
            ) {
                app.modal = None;
            }
            return vec![];
        }
        None => {}
    }
    if key.code == KeyCode::F(1) || (key.code == KeyCode::Char('?') && !app.typing()) {
        app.modal = Some(Modal::Help);
        return vec![];
    }
    if app.unattended_prompt().is_some() {
        let action = match app.unattended.as_mut().and_then(|u| u.prompt.as_mut()) {
            Some(p) => p.on_key(key),
            None => Action::None,
        };
        return on_action(app, action);
    }
    if key.code == KeyCode::F(2) && app.step == StepId::Credentials {
        next_demo_key(app);
        return vec![];
    }
    if app.network_open {
        let region = app.credentials.region.clone();
        let action = app.network.on_key(key, &region);
        return on_network_action(app, action);
    }
    if keys::opens_network(app, &key) {
        return open_network(app);
    }
    let action = match app.step {
        StepId::Welcome => match key.code {
            KeyCode::Enter => Action::Next,
            KeyCode::Char('s') | KeyCode::Char('S') => {
                app.modal = Some(Modal::Ssh);
                // Once enabled, s shows how to log in again; n makes a new password.
                return match app.ssh {
                    Loadable::NotAsked => enable_ssh(app),
                    _ => vec![],
                };
            }
            KeyCode::Char('k') | KeyCode::Char('K') => {
                if let Some(p) = app.unattended.as_mut().and_then(|u| u.prompt.as_mut()) {
                    p.hidden = false;
                }
                Action::None
            }
            _ => Action::None,
        },
        StepId::Preflight => app.preflight.on_key(key),
        StepId::Credentials => app.credentials.on_key(key),
        StepId::Endpoint => app.endpoint.on_key(key),
        StepId::Instance => app.instance.on_key(key),
        StepId::Mapping => {
            let volumes = app.chosen_volumes();
            let disks = app.local_disks().to_vec();
            app.mapping.on_key(key, &volumes, &disks)
        }
        StepId::Review => {
            let plan = plan_key(app);
            app.review.on_key(key, plan)
        }
        StepId::Replication => match app.dashboard.as_mut() {
            Some(d) => {
                let form = d.prompt().is_some() || d.throttle.is_some() || d.stopping;
                if key.code == KeyCode::Esc && !form && d.launch != Launch::Confirming {
                    app.notice = Some(
                        "Replication is running: there is no going back from here. Ctrl-C quits."
                            .into(),
                    );
                }
                d.on_key(key)
            }
            None => Action::None,
        },
        StepId::Result => match &app.outcome {
            Some(outcome) => result::on_key(outcome, key),
            None => Action::None,
        },
    };
    on_action(app, action)
}

/// A paste edits the focused field of the step once; it never presses a key, and it does
/// nothing where keys do nothing (a modal, the "too small" screen).
fn on_paste(app: &mut App, text: &str) -> Vec<Cmd> {
    if app.modal.is_some() || app.too_small() {
        return vec![];
    }
    app.notice = None;
    if app.network_open {
        app.network.paste(text);
        return vec![];
    }
    if app.unattended_prompt().is_some() {
        if let Some(p) = app.unattended.as_mut().and_then(|u| u.prompt.as_mut())
            && !p.sending
        {
            app.notice = p.form.paste(text);
        }
        return vec![];
    }
    match app.step {
        StepId::Credentials => app.notice = app.credentials.paste(text),
        StepId::Endpoint => app.endpoint.paste(text),
        StepId::Instance => app.instance.paste(text),
        StepId::Mapping => app.mapping.paste(text),
        StepId::Review => {
            let plan = plan_key(app);
            app.review.paste(text, plan);
        }
        StepId::Replication => {
            if let Some(d) = app.dashboard.as_mut() {
                app.notice = d.paste(text);
            }
        }
        StepId::Welcome | StepId::Preflight | StepId::Result => {}
    }
    vec![]
}

/// A new one-time password and sshd started; the answer names this request.
fn enable_ssh(app: &mut App) -> Vec<Cmd> {
    // A new password only when asked for one over a password shown (not to try again).
    let new_password = matches!(app.ssh, Loadable::Loaded(_));
    let req = app.req();
    app.ssh = Loadable::Loading(req);
    vec![Cmd::EnableSsh { req, new_password }]
}

/// Fills the form with the demo's next credential and says what it demonstrates.
fn next_demo_key(app: &mut App) {
    let Mode::Demo { keys, .. } = &app.mode else {
        return;
    };
    let typed = app.credentials.access_key_id.value().trim();
    let next = keys
        .iter()
        .position(|k| k.credentials.access_key_id == typed)
        .map_or(0, |i| (i + 1) % keys.len());
    if let Some(key) = keys.get(next) {
        app.credentials.fill(&key.credentials);
        app.notice = Some(format!("Demo key \"{}\": {}", key.label, key.description));
    }
}

/// The demo's emulator listens: the journey can use it. A demo that cannot start ends the
/// program with the reason.
fn on_demo_ready(app: &mut App, result: Result<demo::DemoInfo, String>) -> Vec<Cmd> {
    app.demo_starting = false;
    let info = match result {
        Ok(info) => info,
        Err(why) => {
            app.cannot_start = Some(why);
            return quit(app);
        }
    };
    let c = &app.credentials;
    // Keys given on the command line or in the environment win over the demo's.
    let untouched = [
        c.access_key_id.value(),
        c.secret.0.value(),
        c.session_token.0.value(),
    ]
    .iter()
    .all(|v| v.is_empty());
    if let Some(first) = info.keys.first().filter(|_| untouched) {
        app.credentials.fill(&first.credentials);
    }
    // A region or endpoint given on the command line stays (the emulator plays a known
    // region given: it is the same then).
    if app.credentials.region == CredentialsForm::default().region {
        app.credentials.region = info.region;
    }
    if app.endpoint.custom.value().is_empty() {
        app.endpoint = EndpointForm::with_custom(&info.endpoint);
    }
    app.notice = info.joined;
    app.mode = Mode::Demo {
        disk_dir: info.disk_dir,
        keys: info.keys,
        endpoint: info.endpoint,
    };
    vec![]
}

fn quit(app: &mut App) -> Vec<Cmd> {
    app.quit = true;
    // Quitting the result screen is seeing it; a signal or a lost terminal is not.
    let mut cmds = if app.interrupted.is_none() {
        acknowledge(app)
    } else {
        vec![]
    };
    cmds.push(Cmd::Quit);
    cmds
}

/// Tells the worker the result was seen, once: it ends that failback.
fn acknowledge(app: &mut App) -> Vec<Cmd> {
    match (&app.outcome, &app.dashboard) {
        (Some(_), Some(d)) if !app.acknowledged && app.worker.is_some() => {
            app.acknowledged = true;
            vec![Cmd::Acknowledge { run: d.run }]
        }
        _ => vec![],
    }
}

fn on_action(app: &mut App, action: Action) -> Vec<Cmd> {
    match action {
        Action::None => vec![],
        Action::Quit => quit(app),
        Action::Back => {
            let back = match app.step {
                StepId::Result => Some(StepId::Mapping),
                StepId::Replication | StepId::Welcome => None,
                s => s.prev(),
            };
            if let Some(step) = back {
                app.go(step);
            }
            vec![]
        }
        Action::Next => next(app),
        Action::SkipToEndpoint => {
            app.go(StepId::Endpoint);
            vec![]
        }
        Action::Refresh if app.step == StepId::Preflight => run_preflight(app),
        Action::Refresh if app.step == StepId::Mapping => rescan_disks(app, true),
        Action::Refresh if app.step == StepId::Review => recheck_review(app),
        Action::Refresh => list_instances(app),
        Action::SetClock => set_clock(app),
        Action::Launch => launch(app, false),
        // Only the demo has a console to play (the worker holds its full-access key).
        Action::ConsoleLaunch if app.is_demo() => launch(app, true),
        Action::ConsoleLaunch => vec![],
        Action::SetBandwidth(mbps) => match app.dashboard.as_ref() {
            Some(d) => vec![Cmd::SetBandwidth { run: d.run, mbps }],
            None => vec![],
        },
        Action::SendCredentials if app.unattended_prompt().is_some() => {
            match app.unattended_prompt().and_then(|p| p.credentials()) {
                Some(credentials) => vec![Cmd::GiveCredentials { credentials }],
                None => vec![],
            }
        }
        Action::SendCredentials => match app.dashboard.as_ref().and_then(|d| {
            let c = d.fresh_credentials.as_ref()?.credentials()?;
            Some((d.run, c))
        }) {
            Some((run, credentials)) => vec![Cmd::SendCredentials { run, credentials }],
            None => vec![],
        },
        Action::StopFailback => match app.dashboard.as_mut() {
            Some(d) => {
                d.push_log("Stopping the failback (StopFailback)...".into());
                vec![Cmd::StopFailback { run: d.run }]
            }
            None => vec![],
        },
        Action::Retry => {
            let mut cmds = acknowledge(app);
            app.outcome = None;
            app.dashboard = None;
            cmds.extend(to_review(app));
            cmds
        }
    }
}

/// A rescan's answer replaces the list and says what came and went; a failed one keeps the
/// list it would have replaced. Rows on a changed or vanished disk then say so themselves.
fn on_disks(app: &mut App, req: u64, result: Result<Vec<LocalDisk>, String>) {
    let rescan = req != 0;
    match (result, rescan) {
        (Ok(disks), true) => {
            let before = app.local_disks();
            let at = |list: &[LocalDisk], d: &LocalDisk| {
                list.iter().find(|o| o.path == d.path).map(LocalDisk::id)
            };
            let (mut new, mut changed, mut gone) = (Vec::new(), Vec::new(), Vec::new());
            for d in &disks {
                match at(before, d) {
                    None => new.push(d.device.as_str()),
                    Some(id) if id != d.id() => changed.push(d.device.as_str()),
                    Some(_) => {}
                }
            }
            for d in before.iter().filter(|d| at(&disks, d).is_none()) {
                gone.push(d.device.as_str());
            }
            let mut said = format!("Disks rescanned: {} listed", disks.len());
            for (what, list) in [("new", &new), ("changed", &changed), ("gone", &gone)] {
                if !list.is_empty() {
                    said.push_str(&format!("; {what}: {}", list.join(", ")));
                }
            }
            let unchanged = new.is_empty() && changed.is_empty() && gone.is_empty();
            said.push_str(if unchanged { ", no change." } else { "." });
            if app.rescan_asked || !unchanged {
                app.notice = Some(said);
            }
            app.disks = Loadable::Loaded(disks);
        }
        (Err(e), true) if app.disks.loaded().is_some() => {
            tracing::warn!(error = %e, "disk rescan failed");
            app.notice = Some(format!(
                "The disks could not be re-read ({e}); the list shown is the earlier one: r tries again."
            ));
        }
        (Ok(disks), _) => app.disks = Loadable::Loaded(disks),
        (Err(e), _) => app.disks = Loadable::Failed(e),
    }
    reload_instance_rows(app);
}

/// Asks for the disk list again, for the operator (`asked`) or for a udev event; only the
/// latest answer counts.
fn rescan_disks(app: &mut App, asked: bool) -> Vec<Cmd> {
    let req = app.req();
    app.disks_req = req;
    app.rescan_asked = asked;
    app.rescanning = true;
    if asked {
        app.notice = Some("Rescanning the disks...".into());
    }
    vec![Cmd::ListDisks { req }]
}

/// What rows are matched and fitted against: this machine's identity and disks.
fn match_context(app: &App) -> (HostIdentity, Vec<LocalDisk>) {
    let host = app
        .host
        .as_ref()
        .map(|h| h.identity.clone())
        .unwrap_or_default();
    (host, app.local_disks().to_vec())
}

fn load_instances(app: &mut App, list: Vec<RecoveryInstance>) {
    let (host, disks) = match_context(app);
    app.instance.load(list, &host, &disks);
}

/// Matches and fits depend on the host and its disks: redo them when those arrive late.
fn reload_instance_rows(app: &mut App) {
    if let Loadable::Loaded(rows) = &app.instance.list {
        let list = rows.iter().map(|r| r.instance.clone()).collect();
        load_instances(app, list);
    }
}

fn launch(app: &mut App, as_console: bool) -> Vec<Cmd> {
    match app.dashboard.as_mut() {
        Some(d) => {
            d.launch = Launch::Starting;
            d.console_launch = as_console;
            vec![Cmd::StartFailbackLaunch {
                run: d.run,
                as_console,
            }]
        }
        None => vec![],
    }
}

fn list_instances(app: &mut App) -> Vec<Cmd> {
    let req = app.req();
    app.instance.list = Loadable::Loading(req);
    app.instance.more = None;
    app.instance.error = None;
    vec![Cmd::ListInstances { req }]
}

/// Next: validate and commit the current step.
fn next(app: &mut App) -> Vec<Cmd> {
    match app.step {
        StepId::Welcome if app.demo_starting => {
            app.notice = Some(
                "The demo's emulator is still starting: press Enter again in a moment.".into(),
            );
            vec![]
        }
        StepId::Welcome => {
            app.go(StepId::Preflight);
            if matches!(app.preflight.report, Loadable::NotAsked) {
                return run_preflight(app);
            }
            vec![]
        }
        // Pressed while the checks run: Next waits for them.
        StepId::Preflight if app.preflight.running() => {
            app.preflight.error = None;
            app.preflight.waiting = true;
            vec![]
        }
        StepId::Preflight => {
            match app.preflight.validate() {
                Ok(()) => {
                    app.preflight.error = None;
                    app.go(StepId::Credentials);
                }
                Err(e) => app.preflight.error = Some(e),
            }
            vec![]
        }
        StepId::Credentials => {
            app.credentials.show_errors = true;
            if let Some(field) = app.credentials.first_invalid() {
                app.credentials.focus_on(field);
                return vec![];
            }
            verify_credentials(app)
        }
        StepId::Endpoint => match app.endpoint.url(&app.credentials.region) {
            Err(e) => {
                app.endpoint.error = Some(e);
                app.endpoint.focus = crate::wizard::endpoint::Field::Url;
                vec![]
            }
            Ok(url) => {
                if let Mode::Demo { endpoint, .. } = &app.mode
                    && url.trim_end_matches('/') != endpoint.trim_end_matches('/')
                {
                    // One service per journey: the dashboard must watch the service the
                    // demo's failback client reports to.
                    app.endpoint.error = Some(format!(
                        "The demo replicates with its embedded emulator, so the wizard must \
                         use it too: set the custom endpoint back to {endpoint}. (A separate \
                         `drs-failback emulator` never sees the demo failback client's work.)"
                    ));
                    app.endpoint.focus = crate::wizard::endpoint::Field::Url;
                    return vec![];
                }
                app.endpoint.error = None;
                let req = app.req();
                app.endpoint.check = Some(ConnectivityCheck::new(req, url));
                vec![Cmd::CheckEndpoint {
                    req,
                    target: app.target(),
                }]
            }
        },
        StepId::Instance => {
            if !matches!(app.disks, Loadable::Loaded(_)) {
                app.instance.error = Some(match &app.disks {
                    Loadable::Failed(e) => format!("Local disks could not be listed: {e}"),
                    _ => "Local disks are still being discovered; try again in a moment.".into(),
                });
                return vec![];
            }
            match app.instance.validate() {
                Err(e) => app.instance.error = Some(e),
                Ok(instance) => {
                    let (id, volumes) = (instance.id.clone(), instance.volumes.clone());
                    let disks = app.local_disks().to_vec();
                    app.mapping.prepare(&id, &volumes, &disks);
                    app.go(StepId::Mapping);
                }
            }
            vec![]
        }
        StepId::Mapping => {
            let volumes = app.chosen_volumes();
            match app.mapping.validate(&volumes, app.local_disks()) {
                Err(e) => {
                    app.mapping.error = Some(e);
                    vec![]
                }
                Ok(()) => to_review(app),
            }
        }
        StepId::Review => {
            let volumes = app.chosen_volumes();
            // The disks may have been re-read since Mapping's Next.
            let statuses = app.mapping.statuses(&volumes, app.local_disks());
            if let Some(why) = crate::wizard::review::blocked(&volumes, &statuses) {
                app.review.error = Some(why);
                return vec![];
            }
            if let Err(e) = app.mapping.validate(&volumes, app.local_disks()) {
                app.review.error = Some(format!("{e} Go back (Esc) to the mapping."));
                return vec![];
            }
            let plan = plan_key(app);
            if let Err(e) = app.review.validate(plan.as_ref()) {
                app.review.error = Some(e);
                return vec![];
            }
            // Confirmed while the checks run: the start waits for them.
            if app.review_checking() {
                app.review.error = None;
                app.review.waiting = true;
                return vec![];
            }
            if let Err(e) = instance_checks_pass(app) {
                app.review.error = Some(e);
                return vec![];
            }
            match replication_plan(app) {
                Some(mut plan) => {
                    // What the checks said, for `status --json` (no row blocks here).
                    plan.preflight = app
                        .preflight
                        .checks()
                        .iter()
                        .chain(&app.instance_checks())
                        .map(Into::into)
                        .collect();
                    // The dashboard comes with the worker's first answer.
                    app.dashboard = None;
                    app.outcome = None;
                    app.go(StepId::Replication);
                    vec![Cmd::StartReplication { plan }]
                }
                None => {
                    app.review.error =
                        Some("Choose a recovery instance and its mapping first.".into());
                    vec![]
                }
            }
        }
        StepId::Replication | StepId::Result => vec![],
    }
}

/// The disks read again at the hand-over: the plan goes to the worker only when every chosen
/// target disk is still there, the same, and free; else back to Review, saying which and why.
fn on_targets_rechecked(
    app: &mut App,
    plan: ReplicationPlan,
    disks: Result<Vec<LocalDisk>, String>,
) -> Vec<Cmd> {
    // Only for the hand-over on screen (no dashboard yet).
    if app.step != StepId::Replication || app.dashboard.is_some() {
        return vec![];
    }
    let problem = match disks {
        Err(e) => Some(format!(
            "The disks could not be read again before starting ({e})."
        )),
        Ok(fresh) => {
            let volumes = app.chosen_volumes();
            let statuses =
                crate::domain::mapping::check_rows(&volumes, &fresh, &app.mapping.choices);
            app.disks = Loadable::Loaded(fresh);
            let changed: Vec<String> = volumes
                .iter()
                .zip(&statuses)
                .filter(|(_, s)| s.blocks_start())
                .map(|(v, s)| format!("{}: {}", v.device_name, s.describe()))
                .collect();
            (!changed.is_empty()).then(|| {
                format!(
                    "A target disk changed just before the start ({}).",
                    changed.join("; ")
                )
            })
        }
    };
    match problem {
        None => vec![Cmd::HandOff { plan }],
        Some(why) => {
            app.go(StepId::Review);
            app.review.error = Some(format!(
                "{why} Nothing was written. Go back (Esc) to the mapping, then confirm again."
            ));
            vec![]
        }
    }
}

/// Review, with the disks read again and TCP 1500 to the chosen recovery instance measured.
fn to_review(app: &mut App) -> Vec<Cmd> {
    app.go(StepId::Review);
    let mut cmds = check_replication_port(app);
    cmds.extend(rescan_disks(app, false));
    cmds
}

/// Review's re-run (Ctrl-R): the disks, TCP 1500 and the pre-flight again. A start waiting
/// for the checks waits for these.
fn recheck_review(app: &mut App) -> Vec<Cmd> {
    app.review.error = None;
    let mut cmds = to_review(app);
    cmds.extend(run_preflight(app));
    cmds
}

/// TCP 1500 to the chosen recovery instance.
fn check_replication_port(app: &mut App) -> Vec<Cmd> {
    let Some(instance) = app.chosen_instance() else {
        return vec![];
    };
    let (instance_id, private_ips) = (instance.id.clone(), instance.private_ips.clone());
    let req = app.req();
    app.preflight.replication_port = Loadable::Loading(req);
    vec![Cmd::CheckReplicationPort {
        req,
        instance_id,
        private_ips,
        connect: !app.is_demo(),
    }]
}

/// Review's Next refuses while an instance check fails.
fn instance_checks_pass(app: &App) -> Result<(), String> {
    let checks = app.instance_checks();
    match crate::domain::preflight::blocking(&checks, false).first() {
        None => Ok(()),
        Some(c) => Err(format!(
            "{} failed: {} Then press Ctrl-R to check again.",
            c.title,
            c.fix.as_deref().unwrap_or_default()
        )),
    }
}

/// A start confirmed while Review's checks ran: made once every check answered (refused with
/// the failure and its fix when one failed); dropped, with the confirmation, when the plan
/// changed under it.
fn resume_start(app: &mut App) -> Vec<Cmd> {
    if app.step != StepId::Review || !app.review.waiting {
        return vec![];
    }
    let plan = plan_key(app);
    if app.review.typed_for != plan {
        app.review.waiting = false;
        if let Err(e) = app.review.validate(plan.as_ref()) {
            app.review.error = Some(e);
        }
        return vec![];
    }
    if app.review_checking() {
        return vec![];
    }
    app.review.waiting = false;
    next(app)
}

/// The plan from the committed choices; the runtime adds the credentials it verified.
fn replication_plan(app: &App) -> Option<ReplicationPlan> {
    use crate::domain::mapping::{self, Choice};
    let instance = app.chosen_instance()?;
    let disks = app.local_disks();
    let value_format = app.mapping.value_format;
    let targets = instance
        .volumes
        .iter()
        .zip(&app.mapping.choices)
        .filter_map(|(v, c)| match c {
            Choice::Disk(_) => c.disk(disks).map(|(_, d)| VolumeTarget {
                volume: v.device_name.clone(),
                volume_bytes: v.bytes.get(),
                device: mapping::local_name(d, value_format).unwrap_or_else(|| d.device.clone()),
                write_path: d.path.clone(),
            }),
            _ => None,
        })
        .collect();
    let m =
        mapping::mapping_from_choices(&instance.volumes, disks, &app.mapping.choices, value_format);
    Some(ReplicationPlan {
        recovery_instance_id: instance.id.clone(),
        region: app.credentials.region.clone(),
        endpoint: app.endpoint.custom_url(),
        credentials: None,
        targets,
        device_mapping: mapping::format_mapping(&m, mapping::MappingFormat::CsvEquals),
        value_format,
        preflight: vec![],
    })
}

/// What a confirmation typed now would be for.
fn plan_key(app: &App) -> Option<PlanKey> {
    Some(PlanKey {
        credential: app.credentials.identity(),
        choices: app.mapping.choices.clone(),
        plan: replication_plan(app)?,
    })
}

/// Asks DRS whether the form's credentials work (answered by `CredentialsChecked`).
fn verify_credentials(app: &mut App) -> Vec<Cmd> {
    let req = app.req();
    app.credentials.check = Loadable::Loading(req);
    let mut cmds = vec![Cmd::VerifyCredentials {
        req,
        target: app.target(),
    }];
    // A waiting run's first try: every terminal learns of it now, not after it failed.
    if let Some(w) = app.waiting.as_mut().filter(|w| w.failures == 0) {
        w.detail = "The unattended failback looks for credentials: the default credential \
                    chain (instance metadata, environment, files) is being tried. You may give \
                    them here meanwhile (or over SSH, or from any console's wizard)."
            .into();
        cmds.push(await_credentials(
            &app.credentials.region,
            &app.endpoint,
            &w.detail,
        ));
    }
    cmds
}

/// Tells every terminal that this run waits for credentials, checked in `region`.
fn await_credentials(region: &str, endpoint: &EndpointForm, detail: &str) -> Cmd {
    Cmd::AwaitCredentials {
        wait: crate::worker::protocol::CredentialsWait {
            region: region.to_owned(),
            endpoint: endpoint.custom_url(),
            detail: detail.to_owned(),
        },
    }
}

fn on_credentials_checked(app: &mut App, req: u64, result: Result<Verified, DrsError>) -> Vec<Cmd> {
    if !app.credentials.check.awaits(req) {
        return vec![];
    }
    let mut cmds = vec![];
    match result {
        Ok(verified) => {
            if app.waiting.take().is_some() {
                cmds.push(Cmd::CredentialsFound);
            }
            let skew = verified.clock_skew.filter(|s| s.matters());
            app.credentials.check = Loadable::Loaded(verified);
            app.go(StepId::Endpoint);
            // The step changes, so the warning goes where it stays visible.
            app.notice = skew.map(|s| s.advice());
        }
        Err(e) => {
            if e.kind == DrsErrorKind::NoCredentials
                && let Some(w) = app.waiting.as_mut()
            {
                cmds.push(still_waiting(
                    w,
                    &e,
                    app.now,
                    &app.credentials.region,
                    &app.endpoint,
                ));
            }
            app.credentials.focus_for(&e);
            app.credentials.check = Loadable::Failed(e);
        }
    }
    cmds
}

/// The default chain found nothing again: when it is tried next, and what every terminal is
/// told.
fn still_waiting(
    w: &mut Waiting,
    e: &DrsError,
    now: f64,
    region: &str,
    endpoint: &EndpointForm,
) -> Cmd {
    w.failures += 1;
    let delay = crate::domain::backoff::credentials_retry_delay(w.failures);
    w.retry_at = now + delay.as_secs_f64();
    w.detail = format!(
        "The unattended failback waits for credentials: the default credential chain (instance \
         metadata, environment, files) found none ({}); it tries again in {} s. Give them here \
         (or over SSH, or from any console's wizard): they are checked with DRS in {region}.",
        e.detail,
        delay.as_secs()
    );
    await_credentials(region, endpoint, &w.detail)
}

fn on_endpoint_checked(app: &mut App, req: u64, result: Result<(), DrsError>) -> Vec<Cmd> {
    let Some(check) = app.endpoint.check.as_mut().filter(|c| c.req == req) else {
        return vec![];
    };
    match result {
        Ok(()) => {
            check.outcome = Some(Ok(()));
            let summary = check.summary();
            app.go(StepId::Instance);
            app.notice = Some(summary);
            let mut cmds = list_instances(app);
            // The S3 pin follows the region; the checks run again once it has moved.
            match repin(app) {
                Some(cmd) => cmds.push(cmd),
                None => cmds.extend(rerun_if_moved(app)),
            }
            cmds
        }
        Err(e) => {
            check.outcome = Some(Err(e.advice()));
            vec![]
        }
    }
}

/// The dashboard of `run` while it has no outcome: answers for another run, or for one that
/// already ended, change nothing.
fn running(app: &mut App, run: RunId) -> Option<&mut Dashboard> {
    if app.outcome.is_some() {
        return None;
    }
    app.dashboard.as_mut().filter(|d| d.run == run)
}

/// The worker's verdict, shown as the result screen.
fn on_outcome(app: &mut App, run: RunId, verdict: Verdict) {
    let now = app.now;
    let Some(d) = running(app, run) else {
        return;
    };
    app.outcome = Some(match verdict {
        Verdict::Completed { job_id } => Outcome::Completed(Summary {
            instance_id: d.instance_id.clone(),
            duration_secs: (now - d.started_at).max(0.0) as u64,
            replicated_bytes: d.replicated,
            written_bytes: d.written,
            job: None,
            timeline: match job_id {
                Some(_) => Loadable::Loading(run.0),
                None => Loadable::NotAsked,
            },
            copied: d.targets.clone(),
            boot_volume: d
                .instance
                .as_ref()
                .and_then(|i| i.boot_volume())
                .map(|v| v.device_name.clone()),
        }),
        Verdict::Failed { what, last_log } => Outcome::Failed(Failure { what, last_log }),
    });
    app.go(StepId::Result);
}

fn on_replicator(app: &mut App, run: RunId, event: ReplicatorEvent) {
    if let Some(d) = running(app, run) {
        d.on_replicator(event);
    }
}

/// A failure the wizard sees itself (the worker gone), with the log's last lines.
fn fail(app: &mut App, what: &str) {
    app.outcome = Some(Outcome::Failed(Failure {
        what: what.to_owned(),
        last_log: app
            .dashboard
            .as_ref()
            .map(Dashboard::last_lines)
            .unwrap_or_default(),
    }));
    app.go(StepId::Result);
}
