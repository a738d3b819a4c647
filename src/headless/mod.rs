//! `--no-prompt`: the same wizard, runtime and failback worker with no screen. An autopilot
//! takes what the arguments and the environment gave, else each step's default where the
//! official client has one (the matching recovery instance, the automatic mapping), and stops
//! with the setting to fix and its exit status where an operator would have to choose. Once
//! replication is ready it waits for the failback launch, or starts it with
//! `--launch-when-ready`. What it prints is `report`'s.

pub mod report;

use crate::app::runtime::Frontend;
use crate::app::{App, Mode};
use crate::cli::Output;
use crate::domain::bytes::Bytes;
use crate::domain::throughput::{format_duration, format_rate};
use crate::drs::{DrsError, DrsErrorKind};
use crate::exit::{Exit, Setting, Stop};
use crate::wizard::credentials::Field;
use crate::wizard::endpoint::{ConnectivityCheck, StageStatus};
use crate::wizard::replication::Launch;
use crate::wizard::result::Outcome;
use crate::wizard::review::CONFIRM_WORD;
use crate::wizard::{Loadable, StepId};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use report::{Printer, Report};
use std::io::Write;

pub struct Headless {
    printer: Printer,
    /// `--launch-when-ready`: start the failback launch once ready, instead of waiting for it.
    pub launch_when_ready: bool,
    /// This run attaches to a failback already running: it waits for its dashboard, and its
    /// own (empty) forms are not checked.
    pub attaching: bool,
    /// The last state the autopilot acted on, so it presses each key once.
    acted: Option<String>,
    /// Replication progress already reported: tenths and failback state.
    reported: Option<(u64, String)>,
    /// The worker running the failback was named.
    worker_told: bool,
    /// The worker's last notice reported (expired credentials, a refused request...).
    noticed: Option<String>,
    /// Set when the journey cannot go on without an operator.
    pub stop: Option<Stop>,
}

impl Default for Headless {
    fn default() -> Self {
        Headless::new(Output::Text, false)
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn typed(word: &str) -> Vec<KeyEvent> {
    word.chars().map(|c| key(KeyCode::Char(c))).collect()
}

/// What the arguments gave that cannot work, before anything is asked of AWS: each form's
/// own checks, named by the setting that filled it.
pub fn check_start(app: &App) -> Result<(), Stop> {
    if let Some(field) = app.credentials.first_invalid() {
        let (exit, setting) = match field {
            Field::Region => (Exit::Region, Setting::REGION),
            Field::Secret => (Exit::Credentials, Setting::SECRET),
            Field::SessionToken => (Exit::Credentials, Setting::TOKEN),
            Field::AccessKeyId | Field::Source => (Exit::Credentials, Setting::KEY_ID),
        };
        let why = app.credentials.field_error(field).unwrap_or_default();
        return Err(Stop::new(exit, Some(setting), why));
    }
    if let Err(e) = app.endpoint.url(app.region()) {
        return Err(Stop::new(Exit::Endpoint, Some(Setting::ENDPOINT), e));
    }
    if let Some(id) = &app.instance.wanted
        && let Err(e) = crate::domain::validate::recovery_instance_id(id)
    {
        return Err(Stop::new(
            Exit::RecoveryInstance,
            Some(Setting::INSTANCE),
            e,
        ));
    }
    if let Some(text) = &app.mapping.given
        && let Err(e) = crate::domain::mapping::parse_mapping(text)
    {
        return Err(Stop::new(
            Exit::DeviceMapping,
            Some(Setting::MAPPING),
            e.to_string(),
        ));
    }
    Ok(())
}

/// A failed DRS call, as the setting that most likely needs fixing.
pub fn stop_for(e: &DrsError) -> Stop {
    use DrsErrorKind::*;
    let (exit, setting) = match e.kind {
        UnknownAccessKey | AccessDenied { .. } | NoCredentials => {
            (Exit::Credentials, Some(Setting::KEY_ID))
        }
        WrongSecret => (Exit::Credentials, Some(Setting::SECRET)),
        ExpiredToken => (Exit::Credentials, Some(Setting::TOKEN)),
        WrongRegion => (Exit::Region, Some(Setting::REGION)),
        Unreachable | Tls => (Exit::Endpoint, Some(Setting::ENDPOINT)),
        // The clock and the proxy variables: the pre-flight's ground.
        ClockSkew | NetworkSettings => (Exit::CannotStart, None),
        NotFound | Conflict | Validation | Throttled | ServiceUnavailable | Other => {
            (Exit::Service, None)
        }
    };
    Stop::new(
        exit,
        setting,
        format!("{} ({})", e.unattended_advice(), e.detail),
    )
}

/// How to launch from outside, for the line that says the run waits for it.
fn launch_hint(app: &App, instance: &str) -> String {
    let endpoint = match &app.mode {
        Mode::Demo { endpoint, .. } => format!(" --endpoint-url {endpoint}"),
        Mode::Real => app
            .endpoint
            .custom_url()
            .map(|u| format!(" --endpoint-url {u}"))
            .unwrap_or_default(),
    };
    format!(
        "waiting for the failback launch: the DRS console's Failback button, or any API client \
         (aws drs start-failback-launch --recovery-instance-ids {instance} --region {}{endpoint}); \
         --launch-when-ready starts it itself",
        app.region()
    )
}

impl Headless {
    pub fn new(output: Output, launch_when_ready: bool) -> Self {
        Headless {
            printer: Printer::new(output),
            launch_when_ready,
            attaching: false,
            acted: None,
            reported: None,
            worker_told: false,
            noticed: None,
            stop: None,
        }
    }

    /// The same, printing to `out` instead of standard output.
    pub fn printing_to(mut self, out: Box<dyn Write + Send>) -> Self {
        self.printer = Printer::to(self.printer.output, out);
        self
    }

    pub fn output(&self) -> Output {
        self.printer.output
    }

    pub fn emit(&mut self, app: &App, report: Report) {
        self.printer.emit(&report, app.epoch);
    }

    /// The first event: how this run started (the demo adds where its emulator and disks are).
    pub fn started(&mut self, app: &App, extra: &[(&str, String)]) {
        let mode = if app.is_demo() { "demo" } else { "real" };
        let mut message = format!("drs-failback {mode}");
        let mut r = Report::new("started", app.step, "").with("mode", mode);
        for (k, v) in extra {
            message.push_str(&format!(", {} {v}", k.replace('_', " ")));
            r = r.with(k, v);
        }
        if let Some(log) = &app.log_path {
            message.push_str(&format!(", log {log}"));
        }
        r.message = message;
        self.emit(app, r.with("log_file", &app.log_path));
    }

    fn stop_with(&mut self, stop: Stop) -> (String, Vec<KeyEvent>) {
        self.stop.get_or_insert(stop);
        (String::new(), vec![])
    }

    /// What the operator would be told on this step, if anything new.
    fn report(&mut self, app: &App) {
        let step = app.step;
        let r = match step {
            StepId::Welcome => app.host.as_ref().map(|h| {
                Report::new(
                    "host",
                    step,
                    format!(
                        "host {} ({} RAM, {} CPUs)",
                        h.identity.hostname, h.ram, h.cpus
                    ),
                )
                .with("hostname", &h.identity.hostname)
                .with("ram_bytes", h.ram.get())
                .with("cpus", h.cpus)
            }),
            StepId::Preflight => app.preflight.report.loaded().map(|r| {
                use crate::domain::preflight::Verdict;
                let passed = r.checks.iter().filter(|c| c.verdict == Verdict::Pass).count();
                let rest = not_passed(&r.checks);
                Report::new(
                    "preflight",
                    step,
                    format!("{passed} of {} checks passed{rest}", r.checks.len()),
                )
                .with("passed", passed)
                .with("checks", &r.checks)
            }),
            StepId::Credentials => Some(match &app.credentials.check {
                // Said on every terminal too, by the worker.
                Loadable::Failed(_) if app.waiting.is_some() => Report::new(
                    "waiting_for_credentials",
                    step,
                    app.waiting.as_ref().map(|w| w.detail.clone()).unwrap_or_default(),
                ),
                Loadable::Failed(e) => Report::new("problem", step, format!("failed: {}", e.unattended_advice())),
                _ => Report::new(
                    "verifying_credentials",
                    step,
                    format!("verifying credentials for {}", app.region()),
                )
                .with("region", app.region()),
            }),
            StepId::Endpoint => app.endpoint.check.as_ref().map(|c| {
                let failed = c.stages.iter().find_map(|(s, st)| match st {
                    StageStatus::Failed(d) => Some(format!("{}: {d}", s.label())),
                    _ => None,
                });
                match failed {
                    Some(f) => Report::new("problem", step, format!("failed at {f}")),
                    None => Report::new("checking_endpoint", step, format!("checking {}", c.url))
                        .with("url", &c.url),
                }
            }),
            StepId::Instance => {
                let listed = app.instance.more.is_none();
                if let Some(row) = app.instance.selected_row().filter(|_| listed) {
                    let by_argument = app.instance.wanted.as_deref() == Some(&row.instance.id);
                    let why = if by_argument {
                        "from --recovery-instance-id".to_owned()
                    } else {
                        row.report.reasons.join(", ")
                    };
                    Some(
                        Report::new(
                            "recovery_instance",
                            step,
                            format!(
                                "{} of {} recovery instances: {} ({why})",
                                row.instance.id,
                                app.instance.rows().len(),
                                row.instance.display_name()
                            ),
                        )
                        .with("recovery_instance_id", &row.instance.id)
                        .with("name", row.instance.display_name())
                        .with("listed", app.instance.rows().len())
                        .with("chosen_by", if by_argument { "argument" } else { "match" })
                        .with("reasons", &row.report.reasons),
                    )
                } else if let Loadable::Failed(e) = &app.instance.list {
                    Some(Report::new("problem", step, format!("failed: {}", e.unattended_advice())))
                } else {
                    None
                }
            }
            // A given mapping that does not fit stops next: the automatic one is not used.
            StepId::Mapping if app.mapping.paste.is_some() => None,
            StepId::Mapping => app.chosen_instance().map(|i| {
                let printed = app.mapping.printed(&i.volumes, app.local_disks());
                let format = app.mapping.value_format.as_arg();
                Report::new(
                    "device_mapping",
                    step,
                    format!("--device-mapping {printed} --dm-value-format {format}"),
                )
                .with("device_mapping", printed)
                .with("dm_value_format", format)
            }),
            StepId::Review if app.review_checking() => None,
            StepId::Review => {
                let checks = app.instance_checks();
                let notes = not_passed(&checks);
                Some(
                    match &app.review.error {
                        Some(_) => Report::new("problem", step, format!("refused{notes}")),
                        None => Report::new(
                            "confirmed",
                            step,
                            format!("confirmed with {CONFIRM_WORD}{notes}"),
                        ),
                    }
                    .with("recovery_instance_id", app.chosen_instance().map(|i| &i.id))
                    .with("checks", &checks),
                )
            }
            StepId::Replication => self.replication_report(app),
            StepId::Result => match &app.outcome {
                Some(Outcome::Completed(s)) if !s.timeline.is_loading() => Some(
                    Report::new(
                        "completed",
                        step,
                        format!(
                            "FAILBACK_COMPLETED for {} in {}: {} replicated ({}), {} written to the target disks",
                            s.instance_id,
                            format_duration(s.duration_secs),
                            Bytes(s.replicated_bytes),
                            format_rate(s.average_rate()),
                            Bytes(s.written_bytes),
                        ),
                    )
                    .with("recovery_instance_id", &s.instance_id)
                    .with("duration_seconds", s.duration_secs)
                    .with("replicated_bytes", s.replicated_bytes)
                    .with("written_bytes", s.written_bytes)
                    .with("job_id", s.job.as_ref().map(|j| &j.id)),
                ),
                Some(Outcome::Failed(f)) => {
                    Some(Report::new("problem", step, format!("FAILED: {}", f.what)))
                }
                _ => None,
            },
        };
        if let Some(r) = r {
            self.emit(app, r);
        }
    }

    fn replication_report(&mut self, app: &App) -> Option<Report> {
        let step = StepId::Replication;
        let d = app.dashboard.as_ref()?;
        if let Some(w) = app.worker.as_ref().filter(|_| !self.worker_told) {
            self.worker_told = true;
            let log = w.log_file.as_deref().unwrap_or("no log");
            self.emit(
                app,
                Report::new(
                    "worker",
                    step,
                    format!("the failback worker (pid {}, log {log}) runs it", w.pid),
                )
                .with("worker_pid", w.pid)
                .with("log_file", &w.log_file),
            );
        }
        if let Some(notice) = app
            .notice
            .as_ref()
            .filter(|n| self.noticed.as_ref() != Some(*n))
        {
            self.noticed = Some(notice.clone());
            self.emit(app, Report::new("notice", step, notice.clone()));
        }
        if let Some(p) = d.prompt() {
            // Nobody types here: another terminal answers (the worker asks them all).
            return Some(Report::new(
                "credentials_needed",
                step,
                format!(
                    "{} Give fresh credentials from a wizard on any console (drs-failback \
                     again): the replication software keeps running.",
                    p.detail
                ),
            ));
        }
        let (done, total) = d.progress();
        let tenth = (done * 10).checked_div(total).unwrap_or(0);
        let (replication, failback) = d
            .instance
            .as_ref()
            .map(|i| {
                (
                    i.replication.state.to_string(),
                    i.failback.state.to_string(),
                )
            })
            .unwrap_or_else(|| ("starting".into(), String::new()));
        Some(match &d.launch {
            Launch::Ready | Launch::Confirming | Launch::Starting => {
                let (launch, what) = if self.launch_when_ready {
                    (
                        "starting",
                        "starting the failback launch (--launch-when-ready)".into(),
                    )
                } else {
                    ("waiting", launch_hint(app, &d.instance_id))
                };
                Report::new(
                    "ready_for_launch",
                    step,
                    format!("FAILBACK_READY_FOR_LAUNCH: {what}"),
                )
                .with("recovery_instance_id", &d.instance_id)
                .with("launch", launch)
            }
            Launch::Started(job) => Report::new(
                "launch_started",
                step,
                format!("failback launch job {}", job.id),
            )
            .with("job_id", &job.id),
            Launch::Denied(why) | Launch::Failed(why) => {
                Report::new("launch_refused", step, why.clone())
            }
            Launch::NotReady => {
                let now = (tenth, failback.clone());
                if self.reported.as_ref() == Some(&now) {
                    return None;
                }
                self.reported = Some(now);
                let state = if failback.is_empty() {
                    replication.clone()
                } else {
                    format!("{replication} / {failback}")
                };
                Report::new(
                    "progress",
                    step,
                    format!("{state}: {}% replicated", tenth * 10),
                )
                .with("replication_state", replication)
                .with("failback_state", failback)
                .with("percent", tenth * 10)
                .with("replicated_bytes", done)
                .with("total_bytes", total)
            }
        })
    }

    /// The keys an operator taking every given value and default would press now.
    fn decide(&mut self, app: &App) -> (String, Vec<KeyEvent>) {
        let enter = vec![key(KeyCode::Enter)];
        let here = format!("{:?}", app.step);
        match app.step {
            StepId::Welcome if self.attaching => (String::new(), vec![]),
            StepId::Welcome if app.host.is_some() => match check_start(app) {
                Ok(()) => (here, enter),
                Err(stop) => self.stop_with(stop),
            },
            // A failed check stops the run: exit 2, as `drs-failback preflight` does.
            StepId::Preflight if app.preflight.report.loaded().is_some() => {
                match app.preflight.validate() {
                    Ok(()) => (here, enter),
                    Err(e) => {
                        let blocking = crate::domain::preflight::blocking(
                            app.preflight.checks(),
                            app.preflight.ram_overridden,
                        );
                        // A network check names the setting that points it somewhere.
                        let setting = match blocking.first().map(|c| c.id) {
                            Some("drs_endpoint") => Some(Setting::ENDPOINT),
                            Some("s3") => Some(Setting::S3_ENDPOINT),
                            _ => None,
                        };
                        // The checks' own words: the wizard's names its keys (r), here are none.
                        let why: Vec<String> = blocking
                            .iter()
                            .map(|c| {
                                let fix = c.unattended_fix().unwrap_or_default();
                                format!("{} failed ({}). {fix}", c.title, c.measured)
                            })
                            .collect();
                        let why = if why.is_empty() { e } else { why.join(" ") };
                        self.stop_with(Stop::new(Exit::CannotStart, setting, why))
                    }
                }
            }
            StepId::Credentials => match &app.credentials.check {
                Loadable::NotAsked => (here, enter),
                // The default chain is tried again, or a terminal gives them.
                Loadable::Failed(_) if app.waiting.is_some() => (String::new(), vec![]),
                Loadable::Failed(e) => self.stop_with(stop_for(e)),
                _ => (String::new(), vec![]),
            },
            StepId::Endpoint => match &app.endpoint.check {
                // Next refused the URL (the demo wants its own emulator).
                None if app.endpoint.error.is_some() && self.acted.as_deref() == Some(&here) => {
                    let why = app.endpoint.error.clone().unwrap_or_default();
                    self.stop_with(Stop::new(Exit::Endpoint, Some(Setting::ENDPOINT), why))
                }
                None => (here, enter),
                Some(ConnectivityCheck {
                    outcome: Some(Err(advice)),
                    ..
                }) => self.stop_with(Stop::new(
                    Exit::Endpoint,
                    Some(Setting::ENDPOINT),
                    advice.clone(),
                )),
                _ => (String::new(), vec![]),
            },
            StepId::Instance => self.decide_instance(app, here),
            StepId::Mapping => {
                let why = match &app.mapping.paste {
                    Some(p) => p.error.clone(),
                    None => app.mapping.error.clone(),
                };
                match why {
                    Some(e) => {
                        self.stop_with(Stop::new(Exit::DeviceMapping, Some(Setting::MAPPING), e))
                    }
                    None => (here, enter),
                }
            }
            // Next waits for TCP 1500 (and a pre-flight run again for a new region or endpoint).
            StepId::Review if app.review_checking() => (String::new(), vec![]),
            // A failed check stops the run before anything is written: exit 2.
            StepId::Review
                if app.review.error.is_some()
                    && !crate::domain::preflight::blocking(&app.instance_checks(), false)
                        .is_empty() =>
            {
                let why = app.review.error.clone().unwrap_or_default();
                self.stop_with(Stop::new(Exit::CannotStart, None, why))
            }
            StepId::Review => match &app.review.error {
                Some(e) => self.stop_with(Stop::new(
                    Exit::DeviceMapping,
                    Some(Setting::MAPPING),
                    e.clone(),
                )),
                None => {
                    let mut keys = typed(CONFIRM_WORD);
                    keys.push(key(KeyCode::Enter));
                    (here, keys)
                }
            },
            // The prompt takes every key: the autopilot waits for another terminal's answer.
            StepId::Replication if app.dashboard.as_ref().is_some_and(|d| d.prompt().is_some()) => {
                (String::new(), vec![])
            }
            StepId::Replication => match app.dashboard.as_ref().map(|d| &d.launch) {
                // Named by the log's length: offered again after a refusal, pressed again.
                Some(Launch::Ready) if self.launch_when_ready => (
                    format!(
                        "launch {}",
                        app.dashboard.as_ref().map_or(0, |d| d.log.len())
                    ),
                    typed("l"),
                ),
                Some(Launch::Confirming) => ("confirm".into(), typed("y")),
                _ => (String::new(), vec![]),
            },
            StepId::Result => match &app.outcome {
                Some(Outcome::Completed(s)) if !s.timeline.is_loading() => (here, typed("q")),
                Some(Outcome::Failed(f)) => {
                    self.stop
                        .get_or_insert_with(|| Stop::new(Exit::Failed, None, f.what.clone()));
                    (here, typed("q"))
                }
                _ => (String::new(), vec![]),
            },
            _ => (String::new(), vec![]),
        }
    }

    /// The given recovery instance, else the one that matches this machine: never a guess.
    fn decide_instance(&mut self, app: &App, here: String) -> (String, Vec<KeyEvent>) {
        let form = &app.instance;
        if let Loadable::Failed(e) = &form.list {
            return self.stop_with(stop_for(e));
        }
        if let Loadable::Failed(e) = &app.disks {
            return self.stop_with(Stop::new(
                Exit::CannotStart,
                None,
                format!("the local disks cannot be listed: {e}"),
            ));
        }
        // Every page first: the best match may be on the last one.
        if form.list.loaded().is_none() || app.disks.loaded().is_none() || form.more.is_some() {
            return (String::new(), vec![]);
        }
        if let Some(e) = &form.error {
            return self.stop_with(Stop::new(
                Exit::RecoveryInstance,
                Some(Setting::INSTANCE),
                e.clone(),
            ));
        }
        let chosen = form.selected.as_ref();
        if form.wanted.is_none() && (form.best.is_none() || chosen != form.best.as_ref()) {
            let fitting: Vec<&str> = form
                .rows()
                .iter()
                .filter(|r| r.fit.is_ok())
                .map(|r| r.instance.id.as_str())
                .collect();
            let some = fitting
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if fitting.len() > 5 { ", ..." } else { "" };
            return self.stop_with(Stop::new(
                Exit::RecoveryInstance,
                Some(Setting::INSTANCE),
                format!(
                    "none of the {} recovery instances DRS lists matches this machine (hostname, \
                     MAC, FQDN, VMware UUID or AWS instance id), and --no-prompt does not guess: \
                     give the one to fail back{}",
                    form.rows().len(),
                    if fitting.is_empty() {
                        String::new()
                    } else {
                        format!(", e.g. one that fits here: {some}{more}")
                    }
                ),
            ));
        }
        (here, vec![key(KeyCode::Enter)])
    }

    /// The run is over: prints its outcome (JSON: the last line) and gives its exit status.
    pub fn conclude(&mut self, app: &App) -> u8 {
        let (result, code, stop) = if let Some(why) = app.interrupted {
            let code = crate::process::exit_status(why);
            let what = match why {
                crate::app::Interrupt::Signal(n) => format!("ended by signal {n}"),
                crate::app::Interrupt::TerminalLost => "the terminal went away".into(),
                crate::app::Interrupt::Panic => "an internal error (see the log)".into(),
            };
            let stop = Stop::new(Exit::Failed, None, what);
            ("interrupted", code, Some(stop))
        } else {
            match (&app.outcome, &self.stop) {
                (Some(Outcome::Completed(_)), _) => ("completed", 0, None),
                (_, Some(stop)) => (
                    if stop.exit == Exit::Failed {
                        "failed"
                    } else {
                        "stopped"
                    },
                    stop.exit.code(),
                    Some(stop.clone()),
                ),
                (Some(Outcome::Failed(f)), None) => (
                    "failed",
                    Exit::Failed.code(),
                    Some(Stop::new(Exit::Failed, None, f.what.clone())),
                ),
                _ => (
                    "failed",
                    Exit::Failed.code(),
                    Some(Stop::new(
                        Exit::Failed,
                        None,
                        "the run ended without a result",
                    )),
                ),
            }
        };
        let message = stop.as_ref().map_or_else(
            || "FAILBACK_COMPLETED".to_owned(),
            |s| {
                let _ = writeln!(std::io::stderr(), "drs-failback: stopped: {s}");
                s.to_string()
            },
        );
        if self.output() == Output::Json {
            self.emit(app, outcome(app.step, result, code, stop.as_ref(), message));
        }
        code
    }
}

/// The last JSON line.
pub fn outcome(
    step: StepId,
    result: &str,
    code: u8,
    stop: Option<&Stop>,
    message: String,
) -> Report {
    let setting = stop.and_then(|s| s.setting);
    Report::new("outcome", step, message)
        .with("result", result)
        .with("exit_code", code)
        .with("argument", setting.map(|s| s.argument))
        .with("variable", setting.and_then(|s| s.variable))
}

/// A run that stopped before its wizard ran (bad arguments, the lock): said on standard
/// error, and as the outcome line with `--output json`.
pub fn stop_before_start(output: Output, stop: &Stop) -> u8 {
    let code = stop.exit.code();
    let _ = writeln!(std::io::stderr(), "drs-failback: stopped: {stop}");
    if output == Output::Json {
        let now = crate::domain::time::unix_seconds(std::time::SystemTime::now()) as i64;
        let report = outcome(
            StepId::Welcome,
            "stopped",
            code,
            Some(stop),
            stop.to_string(),
        );
        Printer::new(output).emit(&report, now);
    }
    code
}

/// "; FAIL title: measured; warning title: measured" for the checks that did not pass.
fn not_passed(checks: &[crate::domain::preflight::Check]) -> String {
    use crate::domain::preflight::Verdict;
    checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| {
            let tag = if c.verdict == Verdict::Fail {
                "FAIL"
            } else {
                "warning"
            };
            format!("; {tag} {}: {}", c.title, c.measured)
        })
        .collect()
}

impl Frontend for Headless {
    fn draw(&mut self, app: &App) -> std::io::Result<()> {
        self.report(app);
        Ok(())
    }

    fn clear(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn keys_for(&mut self, app: &App) -> Vec<KeyEvent> {
        // Steps can pass between two draws: report every state the autopilot acts on.
        self.report(app);
        let (state, keys) = self.decide(app);
        if keys.is_empty() || self.acted.as_deref() == Some(state.as_str()) {
            return if self.stop.is_some() && self.acted.as_deref() != Some("quit") {
                self.acted = Some("quit".into());
                vec![KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL); 2]
            } else {
                vec![]
            };
        }
        self.acted = Some(state);
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failed_call_names_the_setting_to_fix_and_its_exit_status() {
        use DrsErrorKind::*;
        let cases = [
            (UnknownAccessKey, 3, Some("--aws-access-key-id")),
            (
                AccessDenied { action: None },
                3,
                Some("--aws-access-key-id"),
            ),
            (WrongSecret, 3, Some("--aws-secret-access-key")),
            (ExpiredToken, 3, Some("--aws-session-token")),
            (WrongRegion, 4, Some("--region")),
            (Unreachable, 5, Some("--endpoint")),
            (Tls, 5, Some("--endpoint")),
            (ClockSkew, 2, None),
            (NetworkSettings, 2, None),
            (Throttled, 9, None),
            (ServiceUnavailable, 9, None),
        ];
        for (kind, code, argument) in cases {
            let stop = stop_for(&DrsError::new(kind.clone(), "the service said so"));
            assert_eq!(stop.exit.code(), code, "{kind:?}");
            assert_eq!(stop.setting.map(|s| s.argument), argument, "{kind:?}");
            let said = stop.to_string();
            assert!(said.contains("the service said so"), "{said}");
            // No one is at a wizard to press a key.
            assert!(!said.contains("Ctrl-"), "{said}");
            if let Some(a) = argument {
                assert!(said.starts_with(a), "{said}");
            }
        }
    }
}
