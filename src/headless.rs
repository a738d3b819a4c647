//! `--no-prompt`: the same wizard and runtime with no screen. An autopilot takes each step's
//! default (as an operator pressing Enter would) and prints one line per step.

use crate::app::App;
use crate::app::runtime::Frontend;
use crate::domain::throughput::{format_duration, format_rate};
use crate::wizard::endpoint::{ConnectivityCheck, StageStatus};
use crate::wizard::replication::Launch;
use crate::wizard::result::Outcome;
use crate::wizard::review::CONFIRM_WORD;
use crate::wizard::{Loadable, StepId};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::io::{self, Write};

#[derive(Default)]
pub struct Headless {
    /// The last state the autopilot acted on, so it presses each key once.
    acted: Option<String>,
    /// The last line printed, so a state is reported once.
    printed: Option<String>,
    /// Replication progress already reported, in tenths.
    reported_tenth: Option<u64>,
    /// Set when the journey cannot go on without an operator.
    pub failure: Option<String>,
    /// The failure came before anything was written (a failed pre-flight): exit status 2.
    pub cannot_start: bool,
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn typed(word: &str) -> Vec<KeyEvent> {
    word.chars().map(|c| key(KeyCode::Char(c))).collect()
}

impl Headless {
    fn say(&mut self, line: String) {
        if self.printed.as_deref() != Some(line.as_str()) {
            // A closed output (a pipe's reader gone) must not stop the failback.
            let mut out = io::stdout();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
            self.printed = Some(line);
        }
    }

    /// What the operator would be told on this step, if anything new.
    fn report(&mut self, app: &App) {
        let step = format!(
            "[{}/{} {}]",
            app.step.number(),
            StepId::ALL.len(),
            app.step.title()
        );
        match app.step {
            StepId::Welcome => {
                if let Some(h) = &app.host {
                    self.say(format!(
                        "{step} host {} ({} RAM, {} CPUs)",
                        h.identity.hostname, h.ram, h.cpus
                    ));
                }
            }
            StepId::Preflight => {
                if let Some(r) = app.preflight.report.loaded() {
                    use crate::domain::preflight::Verdict;
                    let passed = r.checks.iter().filter(|c| c.verdict == Verdict::Pass).count();
                    let rest: Vec<String> = r
                        .checks
                        .iter()
                        .filter(|c| c.verdict != Verdict::Pass)
                        .map(|c| {
                            let tag = if c.verdict == Verdict::Fail { "FAIL" } else { "warning" };
                            format!("{tag} {}: {}", c.title, c.measured)
                        })
                        .collect();
                    let rest = if rest.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", rest.join("; "))
                    };
                    self.say(format!("{step} {passed} of {} checks passed{rest}", r.checks.len()));
                }
            }
            StepId::Credentials => match &app.credentials.check {
                Loadable::Failed(e) => self.say(format!("{step} failed: {}", e.advice())),
                _ => self.say(format!("{step} verifying credentials for {}", app.region())),
            },
            StepId::Endpoint => {
                if let Some(c) = &app.endpoint.check {
                    let failed = c.stages.iter().find_map(|(s, st)| match st {
                        StageStatus::Failed(d) => Some(format!("{}: {d}", s.label())),
                        _ => None,
                    });
                    match failed {
                        Some(f) => self.say(format!("{step} failed at {f}")),
                        None => self.say(format!("{step} checking {}", c.url)),
                    }
                }
            }
            StepId::Instance => {
                let listed = app.instance.more.is_none();
                if let Some(row) = app.instance.selected_row().filter(|_| listed) {
                    let why = if row.report.reasons.is_empty() {
                        "first that fits".to_owned()
                    } else {
                        row.report.reasons.join(", ")
                    };
                    self.say(format!(
                        "{step} {} of {} recovery instances: {} ({why})",
                        row.instance.id,
                        app.instance.rows().len(),
                        row.instance.display_name()
                    ));
                } else if let Loadable::Failed(e) = &app.instance.list {
                    self.say(format!("{step} failed: {}", e.advice()));
                }
            }
            StepId::Mapping => {
                if let Some(i) = app.chosen_instance() {
                    let printed = app.mapping.printed(&i.volumes, app.local_disks());
                    self.say(format!("{step} --device-mapping {printed}"));
                }
            }
            StepId::Review => self.say(format!("{step} confirmed with {CONFIRM_WORD}")),
            StepId::Replication => self.report_replication(app, &step),
            StepId::Result => match &app.outcome {
                Some(Outcome::Completed(s)) if !s.timeline.is_loading() => self.say(format!(
                    "{step} FAILBACK_COMPLETED for {} in {}: {} replicated ({}), {} written to the target disks",
                    s.instance_id,
                    format_duration(s.duration_secs),
                    crate::domain::bytes::Bytes(s.replicated_bytes),
                    format_rate(s.average_rate()),
                    crate::domain::bytes::Bytes(s.written_bytes),
                )),
                Some(Outcome::Failed(f)) => self.say(format!("{step} FAILED: {}", f.what)),
                _ => {}
            },
        }
    }

    fn report_replication(&mut self, app: &App, step: &str) {
        let Some(d) = &app.dashboard else { return };
        let (done, total) = d.progress();
        let tenth = (done * 10).checked_div(total).unwrap_or(0);
        let state = d
            .instance
            .as_ref()
            .map(|i| format!("{} / {}", i.replication.state, i.failback.state))
            .unwrap_or_else(|| "starting".into());
        if let Some(p) = d.prompt() {
            // Nobody types here: another terminal answers (the worker asks them all).
            return self.say(format!(
                "{step} {} Give fresh credentials from a wizard on any console (drs-failback \
                 again): the replication software keeps running.",
                p.detail
            ));
        }
        match &d.launch {
            Launch::Started(job) => self.say(format!("{step} failback launch job {}", job.id)),
            Launch::Denied(why) | Launch::Failed(why) => self.say(format!("{step} {why}")),
            _ if self.reported_tenth != Some(tenth) => {
                self.reported_tenth = Some(tenth);
                self.say(format!("{step} {state}: {}% replicated", tenth * 10));
            }
            _ => {}
        }
    }

    /// The keys an operator taking every default would press now.
    fn decide(&mut self, app: &App) -> (String, Vec<KeyEvent>) {
        let enter = vec![key(KeyCode::Enter)];
        let here = format!("{:?}", app.step);
        match app.step {
            StepId::Welcome if app.host.is_some() => (here, enter),
            StepId::Preflight if app.preflight.report.loaded().is_some() => {
                match app.preflight.validate() {
                    Ok(()) => (here, enter),
                    Err(e) => {
                        self.failure = Some(e);
                        self.cannot_start = true;
                        (here, vec![])
                    }
                }
            }
            StepId::Credentials => match &app.credentials.check {
                Loadable::NotAsked => (here, enter),
                Loadable::Failed(e) => {
                    self.failure = Some(e.advice());
                    (here, vec![])
                }
                _ => (String::new(), vec![]),
            },
            StepId::Endpoint => match &app.endpoint.check {
                None => (here, enter),
                Some(ConnectivityCheck {
                    outcome: Some(Err(advice)),
                    ..
                }) => {
                    self.failure = Some(advice.clone());
                    (here, vec![])
                }
                _ => (String::new(), vec![]),
            },
            StepId::Instance => match &app.instance.list {
                // Every page first: the best match may be on the last one.
                Loadable::Loaded(_)
                    if matches!(app.disks, Loadable::Loaded(_)) && app.instance.more.is_none() =>
                {
                    if let Some(e) = &app.instance.error {
                        self.failure = Some(e.clone());
                        return (here, vec![]);
                    }
                    (here, enter)
                }
                Loadable::Failed(e) => {
                    self.failure = Some(e.advice());
                    (here, vec![])
                }
                _ => (String::new(), vec![]),
            },
            StepId::Mapping => match &app.mapping.error {
                Some(e) => {
                    self.failure = Some(e.clone());
                    (here, vec![])
                }
                None => (here, enter),
            },
            StepId::Review => {
                let mut keys = typed(CONFIRM_WORD);
                keys.push(key(KeyCode::Enter));
                (here, keys)
            }
            // The prompt takes every key: the autopilot waits for another terminal's answer.
            StepId::Replication if app.dashboard.as_ref().is_some_and(|d| d.prompt().is_some()) => {
                (String::new(), vec![])
            }
            StepId::Replication => match app.dashboard.as_ref().map(|d| &d.launch) {
                // Named by the log's length: offered again after a refusal, pressed again.
                Some(Launch::Ready) => (
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
                    self.failure = Some(f.what.clone());
                    (here, typed("q"))
                }
                _ => (String::new(), vec![]),
            },
            _ => (String::new(), vec![]),
        }
    }
}

impl Frontend for Headless {
    fn draw(&mut self, app: &App) -> io::Result<()> {
        self.report(app);
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn keys_for(&mut self, app: &App) -> Vec<KeyEvent> {
        // Steps can pass between two draws: report every state the autopilot acts on.
        self.report(app);
        let (state, keys) = self.decide(app);
        if keys.is_empty() || self.acted.as_deref() == Some(state.as_str()) {
            return if self.failure.is_some() && self.acted.as_deref() != Some("quit") {
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
