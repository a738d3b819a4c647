//! Step 5: one row per recovery-instance volume → a local disk or EXCLUDE, with size checks,
//! auto-mapping, pasting a whole `--device-mapping`, and printing it in any format.

use super::{Action, edit};
use crate::domain::mapping::{
    self, Choice, DmValueFormat, MappingFormat, RowStatus, check_rows, choices_from_mapping,
};
use crate::domain::model::{LocalDisk, RecoveryVolume};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

#[derive(Debug, Clone, Default)]
pub struct PasteBox {
    pub input: Input,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MappingForm {
    /// The instance these choices were made for: another instance starts afresh.
    pub instance_id: Option<String>,
    pub choices: Vec<Choice>,
    pub row: usize,
    /// Open disk list for the current row: cursor over the disks, then EXCLUDE.
    pub picker: Option<usize>,
    pub paste: Option<PasteBox>,
    /// The paste box as Esc left it: `p` reopens it with the text, until it is applied.
    closed_paste: PasteBox,
    pub format: MappingFormat,
    pub value_format: DmValueFormat,
    /// The printed mapping fills the screen, for copying whole.
    pub copy_view: bool,
    /// Why Next was refused.
    pub error: Option<String>,
    /// The mapping given by `--device-mapping` (or DEVICE_MAPPING): applied to each
    /// instance the step starts afresh for; when it does not fit, it waits in the paste box
    /// with its error.
    pub given: Option<String>,
}

impl Default for MappingForm {
    fn default() -> Self {
        MappingForm {
            instance_id: None,
            choices: Vec::new(),
            row: 0,
            picker: None,
            paste: None,
            closed_paste: PasteBox::default(),
            format: MappingFormat::CsvEquals,
            value_format: DmValueFormat::DevName,
            copy_view: false,
            error: None,
            given: None,
        }
    }
}

/// A mapping as written (any `--device-mapping` form) turned into choices, or what is wrong.
fn choices_from_text(
    text: &str,
    volumes: &[RecoveryVolume],
    disks: &[LocalDisk],
) -> Result<Vec<Choice>, String> {
    mapping::parse_mapping(text)
        .map_err(|e| e.to_string())
        .and_then(|m| choices_from_mapping(&m, volumes, disks))
}

fn cycle<T: Copy + PartialEq>(all: &[T], cur: T) -> T {
    let i = all.iter().position(|x| *x == cur).unwrap_or(0);
    all[(i + 1) % all.len()]
}

impl MappingForm {
    /// Called when the step is entered: a new instance gets the auto-mapping proposal.
    pub fn prepare(&mut self, instance_id: &str, volumes: &[RecoveryVolume], disks: &[LocalDisk]) {
        if self.instance_id.as_deref() != Some(instance_id) || self.choices.len() != volumes.len() {
            self.instance_id = Some(instance_id.to_owned());
            self.choices = mapping::auto_map(volumes, disks);
            self.row = 0;
            self.picker = None;
            self.paste = None;
            self.error = None;
            if let Some(text) = &self.given {
                match choices_from_text(text, volumes, disks) {
                    Ok(choices) => self.choices = choices,
                    Err(e) => {
                        self.paste = Some(PasteBox {
                            input: Input::new(text.clone()),
                            error: Some(format!("From {}: {e}", crate::exit::Setting::MAPPING)),
                        })
                    }
                }
            }
        }
    }

    pub fn statuses(&self, volumes: &[RecoveryVolume], disks: &[LocalDisk]) -> Vec<RowStatus> {
        check_rows(volumes, disks, &self.choices)
    }

    /// The mapping as `--device-mapping` takes it, in the chosen formats.
    pub fn printed(&self, volumes: &[RecoveryVolume], disks: &[LocalDisk]) -> String {
        let m = mapping::mapping_from_choices(volumes, disks, &self.choices, self.value_format);
        mapping::format_mapping(&m, self.format)
    }

    /// The chosen disks that have no name in the value format: the printed mapping names them
    /// by device instead.
    pub fn unnamed(&self, disks: &[LocalDisk]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.choices {
            if let Some((_, d)) = c.disk(disks)
                && mapping::local_name(d, self.value_format).is_none()
                && !out.contains(&d.device)
            {
                out.push(d.device.clone());
            }
        }
        out
    }

    /// Ok when every volume is mapped to a fitting disk or excluded, and one at least is mapped.
    pub fn validate(&self, volumes: &[RecoveryVolume], disks: &[LocalDisk]) -> Result<(), String> {
        let statuses = self.statuses(volumes, disks);
        let blocking: Vec<String> = volumes
            .iter()
            .zip(&statuses)
            .filter(|(_, s)| s.blocks_start())
            .map(|(v, s)| format!("{}: {}", v.device_name, s.describe()))
            .collect();
        if !blocking.is_empty() {
            return Err(format!("Fix these rows first: {}.", blocking.join("; ")));
        }
        if self.choices.iter().all(|c| *c == Choice::Exclude) {
            return Err("Every volume is excluded: map at least one to a local disk.".into());
        }
        Ok(())
    }

    fn set_choice(&mut self, choice: Choice) {
        if let Some(slot) = self.choices.get_mut(self.row) {
            *slot = choice;
            self.error = None;
        }
    }

    /// A paste is a mapping: it goes into the paste box, opened for it; applying it stays
    /// the operator's Enter.
    pub fn paste(&mut self, text: &str) {
        if self.picker.is_some() {
            return;
        }
        // As `p` would open it: with the text Esc left, so nothing typed is lost.
        let closed = &mut self.closed_paste;
        let paste_box = self.paste.get_or_insert_with(|| std::mem::take(closed));
        if super::paste(&mut paste_box.input, &mapping::one_line(text)) {
            paste_box.error = None;
        }
    }

    pub fn on_key(
        &mut self,
        key: KeyEvent,
        volumes: &[RecoveryVolume],
        disks: &[LocalDisk],
    ) -> Action {
        if let Some(paste) = &mut self.paste {
            match key.code {
                KeyCode::Esc => self.closed_paste = self.paste.take().unwrap_or_default(),
                KeyCode::Enter => match choices_from_text(paste.input.value(), volumes, disks) {
                    Ok(choices) => {
                        self.choices = choices;
                        self.paste = None;
                        self.error = None;
                    }
                    Err(e) => paste.error = Some(e),
                },
                _ => {
                    if edit(&mut paste.input, key) {
                        paste.error = None;
                    }
                }
            }
            return Action::None;
        }
        if self.copy_view {
            match key.code {
                KeyCode::Char('f') => self.format = cycle(&MappingFormat::ALL, self.format),
                KeyCode::Char('v') => {
                    self.value_format = cycle(&DmValueFormat::ARGS, self.value_format)
                }
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('y') => self.copy_view = false,
                _ => {}
            }
            return Action::None;
        }
        if let Some(cursor) = self.picker {
            // Options: every disk, then EXCLUDE.
            let last = disks.len();
            match key.code {
                KeyCode::Esc => self.picker = None,
                KeyCode::Up => self.picker = Some(cursor.saturating_sub(1)),
                KeyCode::Down => self.picker = Some((cursor + 1).min(last)),
                KeyCode::Enter | KeyCode::Char(' ') => {
                    self.set_choice(match disks.get(cursor) {
                        Some(disk) => Choice::of(disk),
                        None => Choice::Exclude,
                    });
                    self.picker = None;
                }
                _ => {}
            }
            return Action::None;
        }
        match key.code {
            KeyCode::Enter => return Action::Next,
            KeyCode::Esc => return Action::Back,
            KeyCode::Up => self.row = self.row.saturating_sub(1),
            KeyCode::Down => self.row = (self.row + 1).min(volumes.len().saturating_sub(1)),
            KeyCode::Char(' ') | KeyCode::Right | KeyCode::Char('c') => {
                let current = match self.choices.get(self.row) {
                    Some(Choice::Exclude) => disks.len(),
                    Some(c) => c.disk(disks).map(|(i, _)| i).unwrap_or_else(|| {
                        disks.iter().position(|d| !d.is_boot_medium).unwrap_or(0)
                    }),
                    None => disks.iter().position(|d| !d.is_boot_medium).unwrap_or(0),
                };
                self.picker = Some(current);
            }
            KeyCode::Char('x') => self.set_choice(Choice::Exclude),
            KeyCode::Char('u') | KeyCode::Delete => self.set_choice(Choice::Unmapped),
            KeyCode::Char('a') => {
                self.choices = mapping::auto_map(volumes, disks);
                self.error = None;
            }
            KeyCode::Char('p') => self.paste = Some(std::mem::take(&mut self.closed_paste)),
            KeyCode::Char('f') => self.format = cycle(&MappingFormat::ALL, self.format),
            KeyCode::Char('v') => {
                self.value_format = cycle(&DmValueFormat::ARGS, self.value_format)
            }
            KeyCode::Char('y') => self.copy_view = true,
            KeyCode::Char('r') => return Action::Refresh,
            _ => {}
        }
        Action::None
    }
}
