//! Step 4: pick the recovery instance. Best match pre-selected; instances that cannot fit stay
//! visible with the reason; type-to-filter; a typed full id selects that instance.

use super::{Action, Loadable, edit};
use crate::domain::matching::{self, MatchReport};
use crate::domain::model::{HostIdentity, LocalDisk, RecoveryInstance};
use crate::drs::DrsError;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

/// Rows moved by PgUp/PgDn.
pub const PAGE: usize = 10;

#[derive(Debug, Clone)]
pub struct Row {
    pub instance: RecoveryInstance,
    pub report: MatchReport,
    /// Err with the reason when its volumes cannot fit the local disks.
    pub fit: Result<(), String>,
}

#[derive(Debug, Clone, Default)]
pub struct InstanceForm {
    pub list: Loadable<Vec<Row>, DrsError>,
    pub filter: Input,
    /// Selected recovery instance id (kept across filter changes).
    pub selected: Option<String>,
    /// The best match for this machine, if one stands out.
    pub best: Option<String>,
    /// Why Next was refused.
    pub error: Option<String>,
}

impl InstanceForm {
    /// Builds the rows and pre-selects the best match (or keeps the operator's earlier pick).
    pub fn load(
        &mut self,
        instances: Vec<RecoveryInstance>,
        host: &HostIdentity,
        disks: &[LocalDisk],
    ) {
        let best = matching::best_match(host, &instances).map(|i| instances[i].id.clone());
        let rows: Vec<Row> = instances
            .into_iter()
            .map(|instance| Row {
                report: matching::match_instance(host, &instance),
                fit: matching::instance_fit(&instance, disks),
                instance,
            })
            .collect();
        let keep = self
            .selected
            .as_ref()
            .is_some_and(|id| rows.iter().any(|r| &r.instance.id == id));
        if !keep {
            self.selected = best
                .clone()
                .or_else(|| {
                    rows.iter()
                        .find(|r| r.fit.is_ok())
                        .map(|r| r.instance.id.clone())
                })
                .or_else(|| rows.first().map(|r| r.instance.id.clone()));
        }
        self.best = best;
        self.list = Loadable::Loaded(rows);
    }

    pub fn rows(&self) -> &[Row] {
        self.list.loaded().map(Vec::as_slice).unwrap_or_default()
    }

    /// Indices of the rows the filter shows.
    pub fn visible(&self) -> Vec<usize> {
        let words: Vec<String> = self
            .filter
            .value()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        self.rows()
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let i = &r.instance;
                let hay = format!(
                    "{} {} {} {} {}",
                    i.id,
                    i.source_server_id,
                    i.hints.hostname.as_deref().unwrap_or(""),
                    i.hints.fqdn.as_deref().unwrap_or(""),
                    i.os.as_deref().unwrap_or("")
                )
                .to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub fn selected_row(&self) -> Option<&Row> {
        let id = self.selected.as_ref()?;
        self.rows().iter().find(|r| &r.instance.id == id)
    }

    /// Position of the selection among the visible rows.
    pub fn cursor(&self, visible: &[usize]) -> Option<usize> {
        let id = self.selected.as_ref()?;
        visible
            .iter()
            .position(|i| &self.rows()[*i].instance.id == id)
    }

    fn move_cursor(&mut self, delta: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let pos = match self.cursor(&visible) {
            Some(p) => (p as isize + delta).clamp(0, visible.len() as isize - 1) as usize,
            None => 0,
        };
        self.selected = Some(self.rows()[visible[pos]].instance.id.clone());
    }

    /// The selected instance, if Next may commit it; else the reason.
    pub fn validate(&self) -> Result<&RecoveryInstance, String> {
        let visible = self.visible();
        let row = self
            .selected_row()
            .filter(|_| self.cursor(&visible).is_some())
            .ok_or_else(|| self.why_none_selected(&visible))?;
        row.fit
            .as_ref()
            .map(|_| &row.instance)
            .map_err(|why| format!("{} cannot fail back here: {why}", row.instance.id))
    }

    /// Why Next has no instance to take, and what to do about it.
    fn why_none_selected(&self, visible: &[usize]) -> String {
        match &self.list {
            Loadable::NotAsked | Loadable::Loading(_) => {
                "The recovery instances are still being listed: press Enter again once they show."
                    .into()
            }
            Loadable::Failed(_) => {
                "The recovery instances could not be listed: Ctrl-R lists them again.".into()
            }
            Loadable::Loaded(rows) if rows.is_empty() => {
                "DRS lists no recovery instance in this region: Esc goes back to check the region, Ctrl-R lists again.".into()
            }
            Loadable::Loaded(_) if visible.is_empty() => format!(
                "No recovery instance matches `{}`: Esc clears the filter.",
                self.filter.value()
            ),
            Loadable::Loaded(_) => "Select a recovery instance first (Up/Down).".into(),
        }
    }

    fn filter_changed(&mut self) {
        self.error = None;
        if self.cursor(&self.visible()).is_none() {
            self.move_cursor(0);
        }
    }

    /// A paste filters the list, as typing it would.
    pub fn paste(&mut self, text: &str) {
        if super::paste(&mut self.filter, text) {
            self.filter_changed();
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if super::is_ctrl(&key, 'r') || key.code == KeyCode::F(5) {
            return Action::Refresh;
        }
        match key.code {
            KeyCode::Enter => return Action::Next,
            KeyCode::Esc if !self.filter.value().is_empty() => {
                self.filter = Input::default();
                return Action::None;
            }
            KeyCode::Esc => return Action::Back,
            KeyCode::Up => self.move_cursor(-1),
            KeyCode::Down => self.move_cursor(1),
            KeyCode::PageUp => self.move_cursor(-(PAGE as isize)),
            KeyCode::PageDown => self.move_cursor(PAGE as isize),
            KeyCode::Home => self.move_cursor(isize::MIN / 2),
            KeyCode::End => self.move_cursor(isize::MAX / 2),
            _ => {
                // A typed full id leaves that one row visible, which the cursor then takes.
                if edit(&mut self.filter, key) {
                    self.filter_changed();
                }
            }
        }
        Action::None
    }
}
