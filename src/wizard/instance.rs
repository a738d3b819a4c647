//! Step 4: pick the recovery instance. Best match pre-selected; instances that cannot fit stay
//! visible with the reason; type-to-filter; a typed full id selects that instance.

use super::{Action, Loadable, edit};
use crate::domain::matching::{self, BestMatch, MatchReport};
use crate::domain::model::{HostIdentity, LocalDisk, RecoveryInstance};
use crate::drs::DrsError;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use std::collections::HashMap;
use tui_input::Input;

/// Rows moved by PgUp/PgDn.
pub const PAGE: usize = 10;

#[derive(Debug, Clone)]
pub struct Row {
    pub instance: RecoveryInstance,
    pub report: MatchReport,
    /// Err with the reason when its volumes cannot fit the local disks.
    pub fit: Result<(), String>,
    /// What the filter searches, lower-cased once: id, source server, hostname, FQDN, OS.
    search: String,
}

impl Row {
    fn new(instance: RecoveryInstance, host: &HostIdentity, disks: &[LocalDisk]) -> Row {
        let i = &instance;
        let search = format!(
            "{} {} {} {} {}",
            i.id,
            i.source_server_id,
            i.hints.hostname.as_deref().unwrap_or(""),
            i.hints.fqdn.as_deref().unwrap_or(""),
            i.os.as_deref().unwrap_or("")
        )
        .to_lowercase();
        Row {
            report: matching::match_instance(host, &instance),
            fit: matching::instance_fit(&instance, disks),
            search,
            instance,
        }
    }
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
    /// The listing whose further pages are still coming (the rows so far are shown).
    pub more: Option<u64>,
    /// The recovery instance given by `--recovery-instance-id` (or RECOVERY_INSTANCE_ID):
    /// selected as soon as a page lists it, until the operator moves the cursor.
    pub wanted: Option<String>,
    /// The operator moved the cursor: arriving pages no longer move the selection.
    picked: bool,
    /// The rows the filter shows, in list order (computed when the filter or the rows change).
    shown: Vec<usize>,
    /// Row index by recovery instance id.
    by_id: HashMap<String, usize>,
    top: BestMatch,
}

impl InstanceForm {
    /// Builds the rows and pre-selects the best match (or keeps the operator's earlier pick).
    pub fn load(
        &mut self,
        instances: Vec<RecoveryInstance>,
        host: &HostIdentity,
        disks: &[LocalDisk],
    ) {
        self.list = Loadable::Loaded(Vec::new());
        self.by_id.clear();
        self.top = BestMatch::default();
        self.append(instances, host, disks);
    }

    /// Adds a page of rows; the selection follows the best match until the operator moves it.
    pub fn append(
        &mut self,
        instances: Vec<RecoveryInstance>,
        host: &HostIdentity,
        disks: &[LocalDisk],
    ) {
        let Loadable::Loaded(rows) = &mut self.list else {
            return;
        };
        for instance in instances {
            let row = Row::new(instance, host, disks);
            self.top.offer(rows.len(), row.report.score);
            self.by_id.insert(row.instance.id.clone(), rows.len());
            rows.push(row);
        }
        self.best = self.top.index().map(|i| rows[i].instance.id.clone());
        let keep = self.picked && self.selected_row().is_some();
        if !keep {
            let wanted = self.wanted.clone().filter(|id| self.by_id.contains_key(id));
            let rows = self.rows();
            self.selected = wanted
                .or_else(|| self.best.clone())
                .or_else(|| {
                    rows.iter()
                        .find(|r| r.fit.is_ok())
                        .map(|r| r.instance.id.clone())
                })
                .or_else(|| rows.first().map(|r| r.instance.id.clone()));
        }
        self.refilter();
    }

    pub fn rows(&self) -> &[Row] {
        self.list.loaded().map(Vec::as_slice).unwrap_or_default()
    }

    fn refilter(&mut self) {
        let words: Vec<String> = self
            .filter
            .value()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let shown = self
            .rows()
            .iter()
            .enumerate()
            .filter(|(_, r)| words.iter().all(|w| r.search.contains(w.as_str())))
            .map(|(i, _)| i)
            .collect();
        self.shown = shown;
    }

    /// Indices of the rows the filter shows, in list order.
    pub fn visible(&self) -> &[usize] {
        if self.list.loaded().is_some() {
            &self.shown
        } else {
            &[]
        }
    }

    fn selected_index(&self) -> Option<usize> {
        let id = self.selected.as_ref()?;
        let index = *self.by_id.get(id)?;
        let row = self.rows().get(index)?;
        (&row.instance.id == id).then_some(index)
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.selected_index().map(|i| &self.rows()[i])
    }

    /// Position of the selection among the visible rows.
    pub fn cursor(&self, visible: &[usize]) -> Option<usize> {
        let index = self.selected_index()?;
        visible.binary_search(&index).ok()
    }

    fn move_cursor(&mut self, delta: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let pos = match self.cursor(visible) {
            Some(p) => (p as isize + delta).clamp(0, visible.len() as isize - 1) as usize,
            None => 0,
        };
        self.selected = Some(self.rows()[visible[pos]].instance.id.clone());
        self.picked = true;
    }

    /// The selected instance, if Next may commit it; else the reason.
    pub fn validate(&self) -> Result<&RecoveryInstance, String> {
        let visible = self.visible();
        let row = self
            .selected_row()
            .filter(|_| self.cursor(visible).is_some())
            .ok_or_else(|| self.why_none_selected(visible))?;
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

    /// Why the given recovery instance cannot be taken, once the whole list is in: not an id,
    /// or not listed. None when none was given or it is listed.
    pub fn wanted_problem(&self) -> Option<String> {
        let id = self.wanted.as_deref()?;
        let from = crate::exit::Setting::INSTANCE;
        if let Err(e) = crate::domain::validate::recovery_instance_id(id) {
            return Some(format!("{e}; it was given by {from}"));
        }
        let listed = self.list.loaded()?.len();
        if self.more.is_some() || self.by_id.contains_key(id) {
            return None;
        }
        Some(format!(
            "{id}, given by {from}, is not among the {listed} recovery instances DRS lists in \
             this region: check the id and the region, or pick one here."
        ))
    }

    fn filter_changed(&mut self) {
        self.error = None;
        self.refilter();
        if self.cursor(self.visible()).is_none() {
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
                self.refilter();
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
