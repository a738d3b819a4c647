//! Step 2: the pre-flight checks, their results, and the two confirmed actions they may offer
//! (override the RAM refusal, set the clock from the endpoint's time).

use super::{Action, Loadable};
use crate::domain::preflight::{self, Check, Verdict};
use crate::preflight::Report;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

/// A question on screen that y answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Go on with less RAM than the official client accepts.
    RamOverride,
    /// Set this machine's clock from the DRS endpoint's `Date`.
    SetClock,
}

#[derive(Debug, Clone, Default)]
pub struct PreflightForm {
    pub report: Loadable<Report>,
    pub confirm: Option<Confirm>,
    /// The operator accepted the RAM risk (kept across re-runs).
    pub ram_overridden: bool,
    /// The clock is being set (request id), or how that went.
    pub clock_set: Loadable<(), String>,
    /// Why Next did not move on.
    pub error: Option<String>,
    /// Enter was pressed while the checks ran: Next is made once they answer (Esc cancels).
    pub waiting: bool,
    /// The check whose fix is shown when the rows do not all fit (Up/Down move it).
    pub selected: usize,
    /// TCP 1500 to the chosen recovery instance (run on the way to Review).
    pub replication_port: Loadable<Check>,
    /// The region, DRS endpoint and S3 endpoint the report was measured for.
    pub measured_for: Option<Target>,
}

/// Region, custom DRS endpoint, custom S3 endpoint.
pub type Target = (String, Option<String>, Option<String>);

impl PreflightForm {
    pub fn checks(&self) -> &[Check] {
        self.report
            .loaded()
            .map(|r| r.checks.as_slice())
            .unwrap_or_default()
    }

    /// A new report, with the first failure (else warning) selected.
    pub fn show(&mut self, report: Report) {
        let first = |v| report.checks.iter().position(|c| c.verdict == v);
        self.selected = first(Verdict::Fail)
            .or_else(|| first(Verdict::Warning))
            .unwrap_or_default();
        self.report = Loadable::Loaded(report);
        self.error = None;
    }

    pub fn running(&self) -> bool {
        self.report.is_loading() || self.clock_set.is_loading()
    }

    /// The RAM check failed and is not yet overridden: `o` is offered.
    pub fn ram_refused(&self) -> bool {
        !self.ram_overridden
            && self
                .checks()
                .iter()
                .any(|c| c.id == "ram" && c.verdict == Verdict::Fail)
    }

    /// The clock is off and NTP silent: `c` is offered.
    pub fn clock_offered(&self) -> bool {
        self.report.loaded().is_some_and(|r| r.offer_clock_set)
    }

    /// Next's rule: checks done, no failure left (the RAM one once overridden).
    pub fn validate(&self) -> Result<(), String> {
        if self.running() {
            return Err("The checks are still running; Enter again once they finish.".into());
        }
        let blocking = preflight::blocking(self.checks(), self.ram_overridden);
        match blocking.as_slice() {
            [] if self.report.loaded().is_some() => Ok(()),
            [] => Err("Press r to run the checks.".into()),
            [only] => Err(format!(
                "{} failed: {} Then press r to check again.",
                only.title,
                only.fix.as_deref().unwrap_or_default()
            )),
            many => Err(format!(
                "{} checks failed ({}): fix each as its row says, then press r to check again.",
                many.len(),
                many.iter().map(|c| c.title).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if let Some(confirm) = self.confirm {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    self.confirm = None;
                    match confirm {
                        Confirm::RamOverride => {
                            self.ram_overridden = true;
                            self.error = None;
                            return Action::None;
                        }
                        Confirm::SetClock => return Action::SetClock,
                    }
                }
                _ => self.confirm = None,
            }
            return Action::None;
        }
        match key.code {
            KeyCode::Enter => Action::Next,
            KeyCode::Esc if self.waiting => {
                self.waiting = false;
                Action::None
            }
            KeyCode::Esc => Action::Back,
            KeyCode::Char('r') | KeyCode::Char('R') => Action::Refresh,
            KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                Action::None
            }
            KeyCode::Down => {
                let last = self.checks().len().saturating_sub(1);
                self.selected = (self.selected + 1).min(last);
                Action::None
            }
            KeyCode::Char('o') | KeyCode::Char('O') if self.ram_refused() => {
                self.confirm = Some(Confirm::RamOverride);
                Action::None
            }
            KeyCode::Char('c') | KeyCode::Char('C') if self.clock_offered() => {
                self.confirm = Some(Confirm::SetClock);
                Action::None
            }
            _ => Action::None,
        }
    }
}
