//! Step 8: failback completed (summary, job timeline, what next) or failed (what, last lines,
//! the log file, and the choices).

use super::{Action, Loadable};
use crate::domain::model::{Job, JobLogItem};
use crate::drs::DrsError;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub instance_id: String,
    pub duration_secs: u64,
    pub replicated_bytes: u64,
    pub written_bytes: u64,
    pub job: Option<Job>,
    pub timeline: Loadable<Vec<JobLogItem>, DrsError>,
}

impl Summary {
    pub fn average_rate(&self) -> f64 {
        self.replicated_bytes as f64 / self.duration_secs.max(1) as f64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub what: String,
    pub last_log: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed(Summary),
    Failed(Failure),
}

pub fn on_key(outcome: &Outcome, key: KeyEvent) -> Action {
    match (outcome, key.code) {
        (_, KeyCode::Char('q') | KeyCode::Char('Q')) => Action::Quit,
        (Outcome::Completed(_), KeyCode::Enter) => Action::Quit,
        (Outcome::Failed(_), KeyCode::Char('r') | KeyCode::Char('R') | KeyCode::Enter) => {
            Action::Retry
        }
        (Outcome::Failed(_), KeyCode::Char('b') | KeyCode::Char('B') | KeyCode::Esc) => {
            Action::Back
        }
        _ => Action::None,
    }
}
