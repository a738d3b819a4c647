//! Step 6: everything chosen, the disks that will be overwritten, and a typed confirmation
//! that belongs to the one plan it was typed for.

use super::{Action, edit, paste};
use crate::domain::local_disks::Refusal;
use crate::domain::mapping::{Choice, RowStatus};
use crate::domain::model::{RecoveryInstance, RecoveryVolume};
use crate::replicator::ReplicationPlan;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

/// Typed exactly (capitals, nothing around it) to start overwriting disks: a word, not a key,
/// so no stray Enter can do it.
pub const CONFIRM_WORD: &str = "OVERWRITE";

/// Everything a confirmation is given for: another instance, mapping, target disk, value
/// format, region, endpoint or credential is another plan. The credential is named by its
/// access key id, so no secret is copied here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanKey {
    pub credential: String,
    pub choices: Vec<Choice>,
    pub plan: ReplicationPlan,
}

/// Said on Review when the plan leaves the boot volume behind.
pub fn boot_warning(instance: &RecoveryInstance, choices: &[Choice]) -> Option<String> {
    let boot = instance.boot_volume()?;
    let copied = matches!(choices.first(), Some(Choice::Disk(_)));
    (!copied).then(|| {
        format!(
            "The boot volume {} is excluded: no local disk will start {}. Map it unless this \
             machine boots from elsewhere.",
            boot.device_name,
            instance.display_name()
        )
    })
}

/// What frees a target disk that stops the start, from Review: a disk in use can be freed
/// here and checked again; any other problem is the mapping's.
pub fn fix_for(status: &RowStatus) -> &'static str {
    match status {
        RowStatus::Refused(Refusal::Mounted(_)) => {
            "unmount it, then Ctrl-R checks again; or Esc to choose another disk"
        }
        RowStatus::Refused(Refusal::Swap(_)) => {
            "swapoff it, then Ctrl-R checks again; or Esc to choose another disk"
        }
        RowStatus::Refused(Refusal::Held(_)) => {
            "stop what holds it, then Ctrl-R checks again; or Esc to choose another disk"
        }
        _ => "Esc goes back to the mapping to choose another disk",
    }
}

/// Why Review cannot start with these rows, each with its fix; None when every row may go.
pub fn blocked(volumes: &[RecoveryVolume], statuses: &[RowStatus]) -> Option<String> {
    let rows: Vec<String> = volumes
        .iter()
        .zip(statuses)
        .filter(|(_, s)| s.blocks_start())
        .map(|(v, s)| format!("{}: {}: {}", v.device_name, s.describe(), fix_for(s)))
        .collect();
    (!rows.is_empty()).then(|| format!("Not started, nothing written. {}.", rows.join(". ")))
}

#[derive(Debug, Clone, Default)]
pub struct ReviewForm {
    pub confirm: Input,
    /// The plan on screen when the confirmation was last edited.
    pub typed_for: Option<PlanKey>,
    pub error: Option<String>,
    /// Enter was pressed while the checks ran: the failback starts once they pass. Esc, an
    /// edit of the confirmation or a change of the plan drops it.
    pub waiting: bool,
}

impl ReviewForm {
    pub fn confirmed(&self) -> bool {
        self.confirm.value() == CONFIRM_WORD
    }

    /// Ok when the word was typed exactly, for `current`. A confirmation typed for another
    /// plan is cleared.
    pub fn validate(&mut self, current: Option<&PlanKey>) -> Result<(), String> {
        if !self.confirmed() {
            let typed = self.confirm.value();
            let unseen = crate::domain::validate::invisible("The confirmation", typed);
            return Err(if let Some(unseen) = unseen {
                format!("{unseen} Type {CONFIRM_WORD} exactly.")
            } else if typed.trim().eq_ignore_ascii_case(CONFIRM_WORD) {
                format!(
                    "`{typed}` is not {CONFIRM_WORD}: type the word exactly, in capitals, nothing around it."
                )
            } else {
                format!("Type {CONFIRM_WORD} to start, or Esc to go back and change something.")
            });
        }
        if current.is_none() || self.typed_for.as_ref() != current {
            self.confirm = Input::default();
            self.typed_for = None;
            return Err(format!(
                "What will be written changed after {CONFIRM_WORD} was typed (the disks were \
                 re-read or a choice changed): check the plan above and type {CONFIRM_WORD} again."
            ));
        }
        Ok(())
    }

    /// A paste is one edit of the confirmation, for `plan` as typing is.
    pub fn paste(&mut self, text: &str, plan: Option<PlanKey>) {
        if paste(&mut self.confirm, text) {
            self.error = None;
            self.waiting = false;
            self.typed_for = plan;
        }
    }

    /// `plan` is the plan on screen now: an edit confirms (or unconfirms) that one.
    pub fn on_key(&mut self, key: KeyEvent, plan: Option<PlanKey>) -> Action {
        match key.code {
            KeyCode::Enter => Action::Next,
            // The waiting start is cancelled; what was typed stays.
            KeyCode::Esc if self.waiting => {
                self.waiting = false;
                Action::None
            }
            KeyCode::Esc => Action::Back,
            KeyCode::F(5) => Action::Refresh,
            _ if super::is_ctrl(&key, 'r') => Action::Refresh,
            _ => {
                if edit(&mut self.confirm, key) {
                    self.error = None;
                    self.waiting = false;
                    self.typed_for = plan;
                }
                Action::None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn plan(region: &str) -> PlanKey {
        PlanKey {
            credential: "default credential chain".into(),
            choices: vec![Choice::Exclude],
            plan: ReplicationPlan {
                recovery_instance_id: "i-0123456789abcdef0".into(),
                region: region.into(),
                endpoint: None,
                credentials: None,
                targets: vec![],
                device_mapping: "/dev/xvda=EXCLUDE".into(),
                value_format: crate::domain::mapping::DmValueFormat::DevName,
                preflight: vec![],
            },
        }
    }

    fn typed(word: &str, plan: &PlanKey) -> ReviewForm {
        let mut form = ReviewForm::default();
        for c in word.chars() {
            form.on_key(
                KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
                Some(plan.clone()),
            );
        }
        form
    }

    #[test]
    fn a_confirmation_holds_for_the_plan_it_was_typed_for_only() {
        let here = plan("eu-west-1");
        assert_eq!(typed(CONFIRM_WORD, &here).validate(Some(&here)), Ok(()));
        let mut form = typed(CONFIRM_WORD, &here);
        assert!(form.validate(Some(&plan("us-east-1"))).is_err());
        assert_eq!(form.confirm.value(), "", "a stale confirmation is cleared");
        assert!(typed(CONFIRM_WORD, &here).validate(None).is_err());
    }
}
