//! Step 7: the live dashboard's state, fed by polls of DRS, the target disks' write counters
//! and the replicator's output.

use super::credentials::CredentialsForm;
use super::{Action, edit, paste};
use crate::domain::model::{FailbackReplicationConfiguration, Job, RecoveryInstance};
use crate::domain::states::FailbackState;
use crate::domain::throughput::{History, RateWindow};
use crate::domain::validate;
use crate::drs::{Auth, DrsError, StaticCredentials};
use crate::replicator::{RunId, VolumeTarget};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use std::collections::VecDeque;
use tui_input::Input;

/// Log lines kept for the log pane.
const LOG_LINES: usize = 500;
/// Seconds of samples a rate is computed over.
const RATE_WINDOW: f64 = 10.0;
/// Points in the throughput chart (one a second).
const HISTORY: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// Not FAILBACK_READY_FOR_LAUNCH yet.
    NotReady,
    Ready,
    /// The confirmation is open.
    Confirming,
    Starting,
    Started(Job),
    /// The credentials may not launch: the console's Failback button must.
    Denied(String),
    Failed(String),
}

/// How a failback ended, as the worker decided it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// FAILBACK_COMPLETED, with the launch job when one is known.
    Completed { job_id: Option<String> },
    /// What went wrong and the replication software's last lines.
    Failed { what: String, last_log: Vec<String> },
}

/// The bandwidth throttle being typed (b). It stays open, text and all, until the worker
/// says the throttle changed; a refusal shows in it.
#[derive(Debug, Clone, Default)]
pub struct ThrottleForm {
    pub input: Input,
    pub error: Option<String>,
    /// Asked of the worker, in Mbps: waiting for its answer.
    pub sending: Option<u32>,
}

/// Fresh credentials after DRS answered ExpiredToken: every attached terminal asks, any one
/// may answer, and all close once the worker accepted them.
#[derive(Debug, Clone)]
pub struct CredentialsPrompt {
    /// What the worker said (the expired token's advice).
    pub detail: String,
    pub form: CredentialsForm,
    /// Why the last ones sent were refused.
    pub error: Option<String>,
    /// Sent: waiting for the worker's check.
    pub sending: bool,
    /// Put aside with Esc (k brings it back, as typed).
    pub hidden: bool,
}

impl CredentialsPrompt {
    pub fn new(detail: String) -> CredentialsPrompt {
        CredentialsPrompt {
            detail,
            form: CredentialsForm::keys_only(),
            error: None,
            sending: false,
            hidden: false,
        }
    }

    /// The typed credentials.
    pub fn credentials(&self) -> Option<StaticCredentials> {
        match self.form.auth() {
            Auth::Static(c) => Some(c),
            Auth::DefaultChain => None,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.sending {
            if key.code == KeyCode::Esc {
                self.hidden = true;
            }
            return Action::None;
        }
        match self.form.on_key(key) {
            Action::Next => {
                self.form.show_errors = true;
                if let Some(field) = self.form.first_invalid() {
                    self.form.focus_on(field);
                    return Action::None;
                }
                self.sending = true;
                self.error = None;
                Action::SendCredentials
            }
            Action::Back => {
                self.form.hide();
                self.hidden = true;
                Action::None
            }
            _ => Action::None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub run: RunId,
    pub instance_id: String,
    pub targets: Vec<VolumeTarget>,
    /// The last answer of DescribeRecoveryInstances for this instance.
    pub instance: Option<RecoveryInstance>,
    /// App clock (seconds) when replication started.
    pub started_at: f64,
    pub service_rate: RateWindow,
    pub write_rate: RateWindow,
    pub service_history: History,
    pub write_history: History,
    /// The most the service has reported replicated: a completed instance may list no disks.
    pub replicated: u64,
    /// Target disks' write counters when replication started, and bytes written since.
    pub written_base: Option<u64>,
    pub written: u64,
    pub log: VecDeque<String>,
    /// Lines scrolled back from the end of the log.
    pub log_scroll: usize,
    pub last_poll: Option<f64>,
    pub poll_failures: u32,
    pub poll_error: Option<DrsError>,
    pub launch: Launch,
    /// The launch was last asked for as the console's Failback button (the demo plays it).
    pub console_launch: bool,
    /// This run's failback client, once the replicator paired it.
    pub client_id: Option<String>,
    /// The replication software's download, until it is installed.
    pub download: Option<crate::failback_software::Progress>,
    /// The version installed, once verified and unpacked.
    pub installed: Option<String>,
    /// Set when the replicator stopped.
    pub replicator_exit: Option<Result<(), String>>,
    /// The stop-failback question is open.
    pub stopping: bool,
    /// Who started this failback, when and from which terminal (shown when another terminal
    /// attached to it).
    pub started_by: Option<String>,
    /// The throttle and the route, as the worker read them (Err: not allowed, or failed).
    pub configuration: Option<Result<FailbackReplicationConfiguration, DrsError>>,
    /// The throttle being typed.
    pub throttle: Option<ThrottleForm>,
    /// Fresh credentials asked for after ExpiredToken.
    pub fresh_credentials: Option<CredentialsPrompt>,
}

impl Dashboard {
    pub fn new(run: RunId, instance_id: String, targets: Vec<VolumeTarget>, now: f64) -> Self {
        Dashboard {
            run,
            instance_id,
            targets,
            instance: None,
            started_at: now,
            service_rate: RateWindow::new(RATE_WINDOW),
            write_rate: RateWindow::new(RATE_WINDOW),
            service_history: History::new(HISTORY),
            write_history: History::new(HISTORY),
            replicated: 0,
            written_base: None,
            written: 0,
            log: VecDeque::new(),
            log_scroll: 0,
            last_poll: None,
            poll_failures: 0,
            poll_error: None,
            launch: Launch::NotReady,
            console_launch: false,
            client_id: None,
            download: None,
            installed: None,
            replicator_exit: None,
            stopping: false,
            started_by: None,
            configuration: None,
            throttle: None,
            fresh_credentials: None,
        }
    }

    /// The credentials prompt, when it is in front.
    pub fn prompt(&self) -> Option<&CredentialsPrompt> {
        self.fresh_credentials.as_ref().filter(|p| !p.hidden)
    }

    /// The throttle can be changed: the configuration was read (so these credentials may).
    pub fn can_throttle(&self) -> bool {
        matches!(self.configuration, Some(Ok(_)))
    }

    /// The configuration the worker read. One that replaces another was changed outside
    /// the wizards (a throttle set from one comes as `on_bandwidth`): the DRS console or
    /// another API client. True when it was such a change (the log says so).
    pub fn on_configuration(
        &mut self,
        result: Result<FailbackReplicationConfiguration, DrsError>,
    ) -> bool {
        let changed = matches!((&self.configuration, &result),
            (Some(Ok(before)), Ok(now)) if before != now);
        if let (true, Ok(now)) = (changed, &result) {
            self.push_log(format!(
                "Changed in DRS (the console or another client): replication is now {}.",
                now.describe()
            ));
        }
        self.configuration = Some(result);
        changed
    }

    /// The throttle changed (from any terminal): shown, and the editor that asked for it closes.
    pub fn on_bandwidth(&mut self, mbps: u32) {
        if let Some(Ok(c)) = self.configuration.as_mut() {
            c.bandwidth_mbps = mbps.into();
        }
        if self
            .throttle
            .as_ref()
            .is_some_and(|t| t.sending == Some(mbps))
        {
            self.throttle = None;
        }
        self.push_log(match mbps {
            0 => "Bandwidth throttling lifted.".into(),
            n => format!("Bandwidth throttled to {n} Mbps."),
        });
    }

    /// The worker refused a request of this terminal's: the form waiting for it shows why.
    /// False when no form waits (the message goes to the status line).
    pub fn on_refusal(&mut self, message: &str) -> bool {
        if let Some(p) = self.fresh_credentials.as_mut().filter(|p| p.sending) {
            p.sending = false;
            p.hidden = false;
            p.error = Some(message.to_owned());
            return true;
        }
        if let Some(t) = self.throttle.as_mut().filter(|t| t.sending.is_some()) {
            t.sending = None;
            t.error = Some(message.to_owned());
            return true;
        }
        false
    }

    /// A paste goes to the open form (access keys in any usual form fill the prompt); says
    /// what to tell the operator.
    pub fn paste(&mut self, text: &str) -> Option<String> {
        if let Some(p) = self
            .fresh_credentials
            .as_mut()
            .filter(|p| !p.hidden && !p.sending)
        {
            return p.form.paste(text);
        }
        if let Some(t) = self.throttle.as_mut().filter(|t| t.sending.is_none()) {
            paste(&mut t.input, text);
        }
        None
    }

    fn throttle_key(&mut self, key: KeyEvent) -> Action {
        let Some(t) = self.throttle.as_mut() else {
            return Action::None;
        };
        match key.code {
            KeyCode::Esc => self.throttle = None,
            _ if t.sending.is_some() => {}
            KeyCode::Enter => match validate::bandwidth_mbps(t.input.value()) {
                Ok(mbps) => {
                    t.error = None;
                    t.sending = Some(mbps);
                    return Action::SetBandwidth(mbps);
                }
                Err(e) => t.error = Some(e),
            },
            _ => {
                if edit(&mut t.input, key) {
                    t.error = None;
                }
            }
        }
        Action::None
    }

    pub fn push_log(&mut self, line: String) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// What the replicator says, on the dashboard of the worker and of every terminal.
    pub fn on_replicator(&mut self, event: crate::replicator::ReplicatorEvent) {
        use crate::replicator::ReplicatorEvent as E;
        match event {
            E::Download(progress) => self.download = Some(progress),
            E::Installed { version } => {
                self.download = None;
                self.installed = Some(version);
            }
            E::Log(line) => self.push_log(line),
            E::Paired { client_id } => self.client_id = Some(client_id),
            E::Exited(Ok(())) => {
                self.push_log("The replication software finished.".into());
                self.replicator_exit = Some(Ok(()));
            }
            E::Exited(Err(e)) => self.replicator_exit = Some(Err(e)),
        }
    }

    /// (replicated, total) over the mapped volumes, as the service reports them.
    pub fn progress(&self) -> (u64, u64) {
        let disks = self
            .instance
            .as_ref()
            .map(|i| i.replication.disks.as_slice())
            .unwrap_or_default();
        let total: u64 = self.targets.iter().map(|t| t.volume_bytes).sum();
        let replicated = disks
            .iter()
            .filter(|d| self.targets.iter().any(|t| t.volume == d.device_name))
            .map(|d| d.replicated.min(d.total))
            .sum();
        (replicated, total)
    }

    pub fn on_poll(&mut self, t: f64, instance: RecoveryInstance) {
        self.instance = Some(instance);
        let (replicated, _) = self.progress();
        self.service_rate.push(t, replicated);
        self.replicated = self.replicated.max(replicated);
        self.last_poll = Some(t);
        self.poll_failures = 0;
        self.poll_error = None;
        let ready = self.failback_state() == &FailbackState::ReadyForLaunch;
        match (&self.launch, ready) {
            // A refused launch (the state moved under it) is offered again once ready; its
            // reason stays in the log.
            (Launch::NotReady | Launch::Failed(_), true) => self.launch = Launch::Ready,
            (Launch::Ready, false) => self.launch = Launch::NotReady,
            _ => {}
        }
    }

    /// The replication software stopped before it was installed: its download (or the
    /// network settings it needs) failed.
    pub fn download_failed(&self) -> bool {
        self.installed.is_none() && matches!(self.replicator_exit, Some(Err(_)))
    }

    pub fn on_poll_error(&mut self, err: DrsError) {
        self.poll_failures += 1;
        self.poll_error = Some(err);
    }

    /// `total` is the sum of the target disks' write counters. This 1 Hz sample also feeds
    /// both charts, so they keep one point a second whatever the DRS poll interval.
    pub fn on_writes(&mut self, t: f64, total: u64) {
        let base = *self.written_base.get_or_insert(total);
        self.written = total.saturating_sub(base);
        self.write_rate.push(t, self.written);
        if let Some(rate) = self.write_rate.rate() {
            self.write_history.push(t, rate);
        }
        if let Some(rate) = self.service_rate.rate() {
            self.service_history.push(t, rate);
        }
    }

    /// failback.state of this run's own failback client; not given until the service shows
    /// it (what an earlier client left is not this run's to launch or complete).
    pub fn failback_state(&self) -> &FailbackState {
        const NOT_YET: &FailbackState = &FailbackState::NotGiven;
        self.instance
            .as_ref()
            .filter(|i| self.client_id.is_some() && i.failback.client_id == self.client_id)
            .map_or(NOT_YET, |i| &i.failback.state)
    }

    /// The failback's result once its own client's state shows one: the worker decides with
    /// this and tells every terminal.
    pub fn verdict(&self) -> Option<Verdict> {
        match self.failback_state() {
            FailbackState::Completed => Some(Verdict::Completed {
                job_id: self
                    .instance
                    .as_ref()
                    .and_then(|i| i.failback.job_id.clone())
                    .or(match &self.launch {
                        Launch::Started(job) => Some(job.id.clone()),
                        _ => None,
                    }),
            }),
            FailbackState::Error => {
                Some(self.failed("DRS reports FAILBACK_ERROR for this recovery instance.".into()))
            }
            _ => match &self.replicator_exit {
                Some(Err(e)) => Some(self.failed(format!("The replication software stopped: {e}"))),
                _ => None,
            },
        }
    }

    /// A failure, with the log's last lines.
    pub fn failed(&self, what: String) -> Verdict {
        Verdict::Failed {
            what,
            last_log: self.last_lines(),
        }
    }

    /// The log's last lines, shown with a failure.
    pub fn last_lines(&self) -> Vec<String> {
        self.log.iter().rev().take(8).rev().cloned().collect()
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if let Some(p) = self.fresh_credentials.as_mut().filter(|p| !p.hidden) {
            return p.on_key(key);
        }
        if self.throttle.is_some() {
            return self.throttle_key(key);
        }
        if self.stopping {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.stopping = false;
                    return Action::StopFailback;
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => self.stopping = false,
                _ => {}
            }
            return Action::None;
        }
        if self.launch == Launch::Confirming {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => return Action::Launch,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.launch = Launch::Ready
                }
                _ => {}
            }
            return Action::None;
        }
        match key.code {
            KeyCode::Char('l') | KeyCode::Char('L') if self.launch == Launch::Ready => {
                self.launch = Launch::Confirming
            }
            KeyCode::Char('c') | KeyCode::Char('C') if matches!(self.launch, Launch::Denied(_)) => {
                return Action::ConsoleLaunch;
            }
            KeyCode::Char('s') | KeyCode::Char('S') => self.stopping = true,
            KeyCode::Char('b') | KeyCode::Char('B') if self.can_throttle() => {
                let now = match &self.configuration {
                    Some(Ok(c)) => c.bandwidth_mbps.to_string(),
                    _ => String::new(),
                };
                self.throttle = Some(ThrottleForm {
                    input: Input::new(now),
                    ..ThrottleForm::default()
                });
            }
            KeyCode::Char('k') | KeyCode::Char('K') => {
                if let Some(p) = self.fresh_credentials.as_mut() {
                    p.hidden = false;
                }
            }
            KeyCode::PageUp => {
                self.log_scroll = (self.log_scroll + 5).min(self.log.len().saturating_sub(1))
            }
            KeyCode::PageDown => self.log_scroll = self.log_scroll.saturating_sub(5),
            KeyCode::End => self.log_scroll = 0,
            _ => {}
        }
        Action::None
    }
}
