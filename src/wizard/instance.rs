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
}

impl Row {
    fn new(instance: RecoveryInstance, host: &HostIdentity, disks: &[LocalDisk]) -> Row {
        Row {
            report: matching::match_instance(host, &instance),
            fit: matching::instance_fit(&instance, disks),
            instance,
        }
    }
}

/// What the filter searches, lower-cased once per row (id, source server, hostname, FQDN, OS),
/// one line per row in one string, with the set of characters each line holds: a filter word
/// is looked for only in the lines that hold all its characters.
#[derive(Debug, Clone, Default)]
struct SearchText {
    text: String,
    /// Where each row's line starts in `text`.
    starts: Vec<usize>,
    /// Each row's characters, as [`class`] bits.
    classes: Vec<u64>,
    /// For each class bit, the rows holding it, in order: a filter typed afresh looks only at
    /// the rows holding its rarest character (a first letter, at 20,000 rows, was a visit to
    /// every row).
    holding: Vec<Vec<u32>>,
}

/// What a filter looks for: the characters its words need, and a finder for each word that
/// its characters alone do not settle.
struct Matcher {
    need: u64,
    finders: Vec<memchr::memmem::Finder<'static>>,
}

/// A bit per byte class: one each for a-z, 0-9, '-', '.' and '_' (what ids and host names are
/// made of), the other bytes sharing the rest.
fn class(b: u8) -> u64 {
    let bit = match b {
        b'a'..=b'z' => b - b'a',
        b'0'..=b'9' => 26 + b - b'0',
        b'-' => 36,
        b'.' => 37,
        b'_' => 38,
        _ => 39 + b % 25,
    };
    1 << bit
}

fn classes(text: &str) -> u64 {
    text.bytes().fold(0, |set, b| set | class(b))
}

impl SearchText {
    fn push(&mut self, i: &RecoveryInstance) {
        let start = self.text.len();
        self.starts.push(start);
        let parts = [
            Some(i.id.as_str()),
            Some(i.source_server_id.as_str()),
            i.hints.hostname.as_deref(),
            i.hints.fqdn.as_deref(),
            i.os.as_deref(),
        ];
        for part in parts {
            // A line break inside a name would join two rows' lines.
            let part = part.unwrap_or("").to_lowercase().replace('\n', " ");
            self.text.push_str(&part);
            self.text.push(' ');
        }
        let row = self.classes.len() as u32;
        let mut set = classes(&self.text[start..]);
        self.classes.push(set);
        self.holding.resize_with(64, Vec::new);
        while set != 0 {
            self.holding[set.trailing_zeros() as usize].push(row);
            set &= set - 1;
        }
        self.text.push('\n');
    }

    fn clear(&mut self) {
        self.text.clear();
        self.starts.clear();
        self.classes.clear();
        self.holding.clear();
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn line(&self, row: usize) -> &[u8] {
        let end = self.starts.get(row + 1).map_or(self.text.len(), |&e| e - 1);
        &self.text.as_bytes()[self.starts[row]..end]
    }

    /// What a filter of `words` (which hold no whitespace) looks for.
    fn matcher(&self, words: &[String]) -> Matcher {
        Matcher {
            need: words.iter().fold(0, |need, w| need | classes(w)),
            // A one-letter word in a class of its own is found by its bit alone.
            finders: words
                .iter()
                .filter(|w| w.len() != 1 || class(w.as_bytes()[0]).trailing_zeros() >= 39)
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
                .collect(),
        }
    }

    /// Whether a row's line holds every word of the matcher's filter.
    fn matches(&self, m: &Matcher, row: usize) -> bool {
        self.classes[row] & m.need == m.need
            && m.finders.iter().all(|f| f.find(self.line(row)).is_some())
    }

    /// The rows a filter shows, looked for among those holding its rarest character only.
    fn rows_matching(&self, m: &Matcher) -> Vec<usize> {
        let mut bits = m.need;
        let mut fewest: Option<&[u32]> = None;
        while bits != 0 {
            let rows = self.holding.get(bits.trailing_zeros() as usize);
            let rows = rows.map_or(&[][..], Vec::as_slice);
            if fewest.is_none_or(|f| rows.len() < f.len()) {
                fewest = Some(rows);
            }
            bits &= bits - 1;
        }
        let Some(rows) = fewest else {
            return (0..self.len()).collect();
        };
        let rows = rows.iter().map(|&r| r as usize);
        if m.need.count_ones() == 1 && m.finders.is_empty() {
            // Holding that character is matching.
            rows.collect()
        } else {
            rows.filter(|&r| self.matches(m, r)).collect()
        }
    }
}

/// Every row a filter of `new` words shows, a filter of `old` words shows too: each old word
/// is inside some new one (a letter typed, a word added).
fn narrower(old: &[String], new: &[String]) -> bool {
    old.iter()
        .all(|o| new.iter().any(|n| n.contains(o.as_str())))
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
    /// The selection (and whether the operator had picked it) before the filter was typed:
    /// clearing the filter puts it back, as the filter only moved it to show a match. None
    /// once the operator moves the cursor among the filtered rows (their pick stays).
    unfiltered: Option<(Option<String>, bool)>,
    /// The rows the filter shows, in list order (computed when the filter or the rows change).
    shown: Vec<usize>,
    /// The filter's words and the number of rows when `shown` was computed: a narrower filter
    /// looks only among those, and rows added since are the only ones still to look at.
    shown_for: (Vec<String>, usize),
    /// Some shown row cannot fit the local disks (the legend says what its mark means).
    shown_unfit: bool,
    /// The rows that cannot fit, in order (few: checked against `shown` without a visit to
    /// every row).
    unfit: Vec<usize>,
    search: SearchText,
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
        self.unfit.clear();
        self.search.clear();
        self.shown.clear();
        self.shown_for = Default::default();
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
            self.search.push(&row.instance);
            if row.fit.is_err() {
                self.unfit.push(rows.len());
            }
            self.top.offer(rows.len(), row.report.score);
            self.by_id.insert(row.instance.id.clone(), rows.len());
            rows.push(row);
        }
        self.best = self.top.index().map(|i| rows[i].instance.id.clone());
        let keep = self.picked && self.selected_row().is_some();
        if !keep {
            self.preselect();
        }
        self.refilter();
    }

    /// Selects the given instance, else the best match, else the first that fits.
    fn preselect(&mut self) {
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
        let (old, counted) = std::mem::take(&mut self.shown_for);
        let (all, added) = (self.search.len(), counted..self.search.len());
        let m = self.search.matcher(&words);
        let search = &self.search;
        let matches = |&row: &usize| search.matches(&m, row);
        let shown = &mut self.shown;
        if words.is_empty() {
            shown.clear();
            shown.extend(0..all);
        } else if words == old {
            shown.extend(added.filter(matches));
        } else if !old.is_empty() && narrower(&old, &words) {
            shown.retain(matches);
            shown.extend(added.filter(matches));
        } else {
            *shown = search.rows_matching(&m);
        }
        self.shown_for = (words, all);
        self.shown_unfit = self
            .unfit
            .iter()
            .any(|u| self.shown.binary_search(u).is_ok());
    }

    /// Some row the filter shows cannot fit the local disks.
    pub fn shows_unfit(&self) -> bool {
        self.shown_unfit
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
        let was_empty = self.shown_for.0.is_empty();
        self.refilter();
        let is_empty = self.shown_for.0.is_empty();
        if was_empty && !is_empty {
            self.unfiltered = Some((self.selected.clone(), self.picked));
        } else if is_empty && let Some((selected, picked)) = self.unfiltered.take() {
            self.selected = selected;
            self.picked = picked;
            if !picked || self.selected_row().is_none() {
                // The pre-selection follows the pages that arrived while filtering.
                self.picked = false;
                self.preselect();
            }
        }
        if self.cursor(self.visible()).is_none() {
            self.move_cursor(0);
        }
    }

    /// An arrow key: the operator picks among the rows shown, which clearing the filter keeps.
    fn pick(&mut self, delta: isize) {
        self.move_cursor(delta);
        self.unfiltered = None;
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
                self.filter_changed();
                return Action::None;
            }
            KeyCode::Esc => return Action::Back,
            KeyCode::Up => self.pick(-1),
            KeyCode::Down => self.pick(1),
            KeyCode::PageUp => self.pick(-(PAGE as isize)),
            KeyCode::PageDown => self.pick(PAGE as isize),
            KeyCode::Home => self.pick(isize::MIN / 2),
            KeyCode::End => self.pick(isize::MAX / 2),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, hostname: &str) -> RecoveryInstance {
        let mut i = RecoveryInstance {
            id: id.into(),
            source_server_id: "s-00000000000000001".into(),
            ..Default::default()
        };
        i.hints.hostname = Some(hostname.into());
        i
    }

    fn text(hostnames: &[&str]) -> SearchText {
        let mut t = SearchText::default();
        for (k, h) in hostnames.iter().enumerate() {
            t.push(&instance(&format!("i-{k:017x}"), h));
        }
        t
    }

    fn words(filter: &str) -> Vec<String> {
        filter.split_whitespace().map(str::to_lowercase).collect()
    }

    fn matching(t: &SearchText, filter: &str) -> Vec<usize> {
        let m = t.matcher(&words(filter));
        let all: Vec<usize> = (0..t.len()).filter(|&r| t.matches(&m, r)).collect();
        assert_eq!(
            t.rows_matching(&m),
            all,
            "`{filter}` among the rows holding its rarest character"
        );
        all
    }

    #[test]
    fn every_word_must_match_the_same_row() {
        let t = text(&["Web-North", "web-south", "db-north", "Web-North\ndb"]);
        assert_eq!(matching(&t, "web"), [0, 1, 3]);
        assert_eq!(matching(&t, "WEB north"), [0, 3]);
        assert_eq!(matching(&t, "north db"), [2, 3]);
        assert_eq!(matching(&t, ""), [0, 1, 2, 3]);
        assert!(matching(&t, "web db-north").is_empty());
    }

    #[test]
    fn a_match_never_spans_two_rows() {
        // Row 0's line ends with its hostname, row 1's starts with its id.
        let t = text(&["x-a", "y"]);
        assert_eq!(matching(&t, "x-a"), [0]);
        assert!(matching(&t, "x-ai-").is_empty());
        assert!(matching(&t, "ai-").is_empty());
    }

    #[test]
    fn a_row_holding_a_words_letters_elsewhere_does_not_match_it() {
        let t = text(&["ba-x", "ab-x", "Café", "cafe"]);
        // Rows 0 and 1 both hold a and b: only row 1 holds "ab".
        assert_eq!(matching(&t, "ab"), [1]);
        assert_eq!(matching(&t, "b"), [0, 1]);
        // Letters outside a-z share their bits: they are looked for, not taken on their bit.
        assert_eq!(matching(&t, "É"), [2]);
        assert_eq!(matching(&t, "#"), Vec::<usize>::new());
    }

    #[test]
    fn clearing_the_filter_goes_back_to_the_best_match_as_pages_arrived_meanwhile() {
        let host = HostIdentity {
            hostname: "web-01".into(),
            ..Default::default()
        };
        let mut form = InstanceForm::default();
        let first = vec![
            instance("i-00000000000000001", "db-01"),
            instance("i-00000000000000002", "cache-01"),
        ];
        form.load(first, &host, &[]);
        assert_eq!(form.best, None);
        assert_eq!(form.selected.as_deref(), Some("i-00000000000000001"));
        for c in "cache".chars() {
            form.on_key(KeyEvent::from(KeyCode::Char(c)));
        }
        assert_eq!(form.selected.as_deref(), Some("i-00000000000000002"));
        // This machine's own instance arrives while the filter hides it.
        form.append(vec![instance("i-00000000000000003", "web-01")], &host, &[]);
        form.on_key(KeyEvent::from(KeyCode::Esc));
        assert_eq!(form.best.as_deref(), Some("i-00000000000000003"));
        assert_eq!(form.selected.as_deref(), Some("i-00000000000000003"));
    }

    #[test]
    fn a_filter_narrowed_or_widened_shows_what_a_fresh_one_would_as_pages_arrive() {
        let host = HostIdentity::default();
        let names = [
            "web-01", "web-02", "db-01", "web-db", "cache", "wEb-9", "db-web-2",
        ];
        let page = |from: usize| -> Vec<RecoveryInstance> {
            names
                .iter()
                .enumerate()
                .map(|(k, h)| instance(&format!("i-{:017x}", from + k), h))
                .collect()
        };
        let mut form = InstanceForm::default();
        form.load(page(0), &host, &[]);
        let check = |form: &InstanceForm, what: &str| {
            let fresh = matching(&form.search, form.filter.value());
            assert_eq!(
                form.visible(),
                fresh,
                "after {what}: `{}`",
                form.filter.value()
            );
        };
        let key = |form: &mut InstanceForm, code| {
            form.on_key(KeyEvent::from(code));
        };
        for c in "web-0".chars() {
            key(&mut form, KeyCode::Char(c));
            check(&form, "a letter");
        }
        form.append(page(100), &host, &[]);
        check(&form, "a page");
        key(&mut form, KeyCode::Backspace);
        check(&form, "Backspace");
        key(&mut form, KeyCode::Char(' '));
        key(&mut form, KeyCode::Char('d'));
        check(&form, "a second word");
        key(&mut form, KeyCode::Left);
        key(&mut form, KeyCode::Left);
        key(&mut form, KeyCode::Char('b'));
        check(&form, "a letter inside a word");
        key(&mut form, KeyCode::Delete);
        check(&form, "Delete");
        form.paste("db");
        check(&form, "a paste");
        form.append(page(200), &host, &[]);
        check(&form, "another page");
        key(&mut form, KeyCode::Esc);
        check(&form, "Esc");
        assert_eq!(form.visible().len(), 3 * names.len());
    }
}
