//! Step 8: failback completed (summary, job timeline, what next) or failed (what, last lines,
//! the log file, and the choices).

use super::{Action, Loadable};
use crate::domain::model::{Job, JobLogItem};
use crate::drs::DrsError;
use crate::replicator::VolumeTarget;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub instance_id: String,
    pub duration_secs: u64,
    pub replicated_bytes: u64,
    pub written_bytes: u64,
    pub job: Option<Job>,
    pub timeline: Loadable<Vec<JobLogItem>, DrsError>,
    /// What was copied where; excluded volumes are absent.
    pub copied: Vec<VolumeTarget>,
    /// The recovery instance's boot volume (see `RecoveryInstance::boot_volume`).
    pub boot_volume: Option<String>,
}

impl Summary {
    /// What the operator does now, following what was actually copied.
    pub fn next_steps(&self) -> Vec<String> {
        let boot_copied = self
            .boot_volume
            .as_ref()
            .is_some_and(|b| self.copied.iter().any(|t| t.volume == *b));
        let first = if boot_copied {
            "Remove the live medium and reboot from the local disk.".to_owned()
        } else {
            let disks: Vec<&str> = self.copied.iter().map(|t| t.device.as_str()).collect();
            format!(
                "The boot volume{} was not copied, so no local disk boots this server: keep \
                 the disks it boots from, and find the copied volumes on {}.",
                self.boot_volume
                    .as_ref()
                    .map(|b| format!(" {b}"))
                    .unwrap_or_default(),
                disks.join(", ")
            )
        };
        vec![
            first,
            format!(
                "Then in the DRS console terminate or disconnect recovery instance {}.",
                self.instance_id
            ),
        ]
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(copied: &[(&str, &str)]) -> Summary {
        Summary {
            instance_id: "i-0123456789abcdef0".into(),
            duration_secs: 60,
            replicated_bytes: 0,
            written_bytes: 0,
            job: None,
            timeline: Loadable::NotAsked,
            copied: copied
                .iter()
                .map(|(volume, device)| VolumeTarget {
                    volume: (*volume).into(),
                    volume_bytes: 1,
                    device: (*device).into(),
                    write_path: (*device).into(),
                })
                .collect(),
            boot_volume: Some("/dev/xvda".into()),
        }
    }

    #[test]
    fn next_steps_reboot_only_when_the_boot_volume_was_copied() {
        let copied = summary(&[("/dev/xvda", "/dev/sdb"), ("/dev/xvdb", "/dev/sdc")]);
        assert!(copied.next_steps()[0].contains("reboot from the local disk"));
        let data_only = summary(&[("/dev/xvdb", "/dev/sdc")]);
        let first = &data_only.next_steps()[0];
        assert!(!first.contains("reboot"), "{first}");
        assert!(
            first.contains("boot volume /dev/xvda was not copied") && first.contains("/dev/sdc"),
            "{first}"
        );
    }
}
