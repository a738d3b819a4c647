//! Step 6: everything chosen, the disks that will be overwritten, and a typed confirmation.

use super::{Action, edit, paste};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

/// Typed (any case) to start overwriting disks: a word, not a key, so no stray Enter can do it.
pub const CONFIRM_WORD: &str = "OVERWRITE";

#[derive(Debug, Clone, Default)]
pub struct ReviewForm {
    pub confirm: Input,
    pub error: Option<String>,
}

impl ReviewForm {
    pub fn confirmed(&self) -> bool {
        self.confirm
            .value()
            .trim()
            .eq_ignore_ascii_case(CONFIRM_WORD)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.confirmed() {
            return Ok(());
        }
        let unseen = crate::domain::validate::invisible("The confirmation", self.confirm.value())
            .map(|e| format!("{e} "))
            .unwrap_or_default();
        Err(format!(
            "{unseen}Type {CONFIRM_WORD} to start, or Esc to go back and change something."
        ))
    }

    pub fn paste(&mut self, text: &str) {
        if paste(&mut self.confirm, text) {
            self.error = None;
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Enter => Action::Next,
            KeyCode::Esc => Action::Back,
            _ => {
                if edit(&mut self.confirm, key) {
                    self.error = None;
                }
                Action::None
            }
        }
    }
}
