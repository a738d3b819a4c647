//! Step 2: access key, secret, session token and region, or the default credential chain.

use super::{Action, Loadable, SecretInput, edit, focus_move, is_ctrl, is_toggle, paste};
use crate::domain::access_keys::{self, AccessKeys};
use crate::domain::regions::{self, Region};
use crate::domain::validate;
use crate::drs::{Auth, ClockSkew, DrsError, DrsErrorKind, StaticCredentials};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

/// What a successful verification learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Where the credentials came from, in words.
    pub source: String,
    pub clock_skew: Option<ClockSkew>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Typed,
    DefaultChain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Source,
    AccessKeyId,
    Secret,
    SessionToken,
    Region,
}

#[derive(Debug, Clone)]
pub struct CredentialsForm {
    pub source: Source,
    pub access_key_id: Input,
    pub secret: SecretInput,
    pub session_token: SecretInput,
    /// The secret field shown in clear (Ctrl-R), until it loses focus, the step is left or
    /// the form is refilled.
    revealed: Option<Field>,
    pub region_filter: Input,
    /// The chosen region's code; kept when the filter hides it.
    pub region: String,
    pub focus: Field,
    /// Set by a Next attempt: from then on every field shows its format error.
    pub show_errors: bool,
    /// The verification call.
    pub check: Loadable<Verified, DrsError>,
    /// Only the key fields (fresh credentials for a running failback): no source, no region.
    pub keys_only: bool,
}

impl Default for CredentialsForm {
    fn default() -> Self {
        CredentialsForm {
            source: Source::Typed,
            access_key_id: Input::default(),
            secret: SecretInput::default(),
            session_token: SecretInput::default(),
            revealed: None,
            region_filter: Input::default(),
            region: "us-east-1".into(),
            focus: Field::AccessKeyId,
            show_errors: false,
            check: Loadable::NotAsked,
            keys_only: false,
        }
    }
}

impl CredentialsForm {
    /// The key fields alone, for fresh credentials after ExpiredToken.
    pub fn keys_only() -> CredentialsForm {
        CredentialsForm {
            keys_only: true,
            ..CredentialsForm::default()
        }
    }

    pub fn fields(&self) -> &'static [Field] {
        if self.keys_only {
            return &[Field::AccessKeyId, Field::Secret, Field::SessionToken];
        }
        match self.source {
            Source::Typed => &[
                Field::Source,
                Field::AccessKeyId,
                Field::Secret,
                Field::SessionToken,
                Field::Region,
            ],
            Source::DefaultChain => &[Field::Source, Field::Region],
        }
    }

    /// Regions matching the filter, in table order.
    pub fn region_choices(&self) -> Vec<&'static Region> {
        regions::filtered(self.region_filter.value())
    }

    /// The format problem of a field, if any (shown inline once typed into or after Next).
    pub fn field_error(&self, field: Field) -> Option<String> {
        let key = self.access_key_id.value().trim();
        let typed = self.source == Source::Typed;
        let result = match field {
            Field::AccessKeyId if typed => validate::access_key_id(key),
            Field::Secret if typed => validate::secret_access_key(self.secret.0.value().trim()),
            Field::SessionToken if typed => {
                validate::session_token(key, self.session_token.0.value().trim())
            }
            Field::Region if regions::find(&self.region).is_none() => {
                Err(regions::unknown(&self.region))
            }
            // A typo must not leave an earlier match chosen unseen.
            Field::Region if self.region_choices().is_empty() => Err(format!(
                "No region matches `{}`; {} is still chosen. Correct the filter, or clear it \
                 (Backspace) to keep {}.",
                self.region_filter.value().trim(),
                self.region,
                self.region
            )),
            _ => Ok(()),
        };
        result.err()
    }

    /// Errors to display now: a field's error shows once it has content, or after Next.
    pub fn visible_error(&self, field: Field) -> Option<String> {
        let empty = match field {
            Field::AccessKeyId => self.access_key_id.value().is_empty(),
            Field::Secret => self.secret.0.value().is_empty(),
            Field::SessionToken => self.session_token.0.value().is_empty(),
            _ => false,
        };
        if self.show_errors || !empty {
            self.field_error(field)
        } else {
            None
        }
    }

    pub fn first_invalid(&self) -> Option<Field> {
        self.fields()
            .iter()
            .copied()
            .find(|f| self.field_error(*f).is_some())
    }

    pub fn auth(&self) -> Auth {
        match self.source {
            Source::DefaultChain => Auth::DefaultChain,
            Source::Typed => Auth::Static(StaticCredentials {
                access_key_id: self.access_key_id.value().trim().to_owned(),
                secret_access_key: self.secret.0.value().trim().to_owned(),
                session_token: Some(self.session_token.0.value().trim())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            }),
        }
    }

    pub fn revealed(&self, field: Field) -> bool {
        self.revealed == Some(field) && self.focus == field
    }

    /// Masks every secret again (the step is left).
    pub fn hide(&mut self) {
        self.revealed = None;
    }

    /// Moves the cursor; a revealed secret is masked again when it loses focus.
    pub fn focus_on(&mut self, field: Field) {
        if field != self.focus {
            self.revealed = None;
        }
        self.focus = field;
    }

    /// Which credential is used, without its secret: the access key id, or the chain.
    pub fn identity(&self) -> String {
        match self.source {
            Source::DefaultChain => "default credential chain".into(),
            Source::Typed => self.access_key_id.value().trim().to_owned(),
        }
    }

    /// Types these credentials in (the demo's keys, keys given on the command line).
    pub fn fill(&mut self, c: &StaticCredentials) {
        self.revealed = None;
        self.source = Source::Typed;
        self.access_key_id = Input::new(c.access_key_id.clone());
        self.secret.0 = Input::new(c.secret_access_key.clone());
        self.session_token.0 = Input::new(c.session_token.clone().unwrap_or_default());
        self.check = Loadable::NotAsked;
    }

    /// A paste: access keys in any usual form (export lines, the JSON of `aws sts
    /// assume-role`, ...) fill the key fields at once; other text goes into the focused field.
    /// Returns what to tell the operator.
    pub fn paste(&mut self, text: &str) -> Option<String> {
        if self.check.is_loading() {
            return None;
        }
        let on_keys = self.focus != Field::Region;
        let (changed, notice) = match access_keys::parse(text).filter(|_| on_keys) {
            Some(keys) => {
                let parts = self.fill_keys(&keys);
                (
                    true,
                    parts.map(|p| format!("Filled the {p} from the pasted text.")),
                )
            }
            None => {
                let changed = match self.focus {
                    Field::Source => false,
                    Field::AccessKeyId => paste(&mut self.access_key_id, text),
                    Field::Secret => paste(&mut self.secret.0, text),
                    Field::SessionToken => paste(&mut self.session_token.0, text),
                    Field::Region => {
                        let edited = paste(&mut self.region_filter, text);
                        if edited {
                            self.region_filter_changed();
                        }
                        edited
                    }
                };
                (changed, None)
            }
        };
        if changed {
            self.check = Loadable::NotAsked;
        }
        notice
    }

    /// Types in the parts found (pasted, or from the environment); says which, None if none.
    pub fn fill_keys(&mut self, keys: &AccessKeys) -> Option<String> {
        if *keys == AccessKeys::default() {
            return None;
        }
        self.source = Source::Typed;
        self.check = Loadable::NotAsked;
        let mut filled = Vec::new();
        if let Some(id) = &keys.access_key_id {
            self.access_key_id = Input::new(id.clone());
            filled.push("access key id");
            // Another key: a token kept from the last one would not belong to it.
            if keys.session_token.is_none() {
                self.session_token.0 = Input::default();
            }
        }
        if let Some(secret) = &keys.secret_access_key {
            self.secret.0 = Input::new(secret.to_string());
            filled.push("secret");
        }
        if let Some(token) = &keys.session_token {
            self.session_token.0 = Input::new(token.to_string());
            filled.push("session token");
        }
        // "access key id and secret", "access key id, secret and session token"
        Some(match filled.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        })
    }

    /// Keep the chosen region if the filter still lists it, else take the first match.
    fn region_filter_changed(&mut self) {
        let choices = self.region_choices();
        if !choices.iter().any(|r| r.code == self.region)
            && let Some(first) = choices.first()
        {
            self.region = first.code.clone();
        }
    }

    /// After a failed verification, put the cursor where the fix is.
    pub fn focus_for(&mut self, err: &DrsError) {
        let field = match err.kind {
            DrsErrorKind::UnknownAccessKey => Field::AccessKeyId,
            DrsErrorKind::WrongSecret => Field::Secret,
            DrsErrorKind::WrongRegion => Field::Region,
            DrsErrorKind::ExpiredToken => Field::SessionToken,
            _ => return,
        };
        if self.fields().contains(&field) {
            self.focus_on(field);
        }
    }

    fn move_focus(&mut self, delta: isize) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = fields.len() as isize;
        self.focus_on(fields[((i + delta).rem_euclid(n)) as usize]);
    }

    fn move_region(&mut self, delta: isize) {
        let choices = self.region_choices();
        if choices.is_empty() {
            return;
        }
        let i = choices
            .iter()
            .position(|r| r.code == self.region)
            .map(|i| i as isize + delta)
            .unwrap_or(0)
            .clamp(0, choices.len() as isize - 1);
        self.region = choices[i as usize].code.clone();
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        if self.check.is_loading() {
            if key.code == KeyCode::Esc {
                // Abandon the call: its late answer is dropped.
                self.check = Loadable::NotAsked;
            }
            return Action::None;
        }
        if is_ctrl(&key, 'r') {
            self.revealed = (!self.revealed(self.focus)).then_some(self.focus);
            return Action::None;
        }
        if matches!(self.check, Loadable::Failed(ref e) if e.kind == DrsErrorKind::Unreachable)
            && is_ctrl(&key, 'e')
        {
            return Action::SkipToEndpoint;
        }
        match key.code {
            KeyCode::Enter => return Action::Next,
            KeyCode::Esc => return Action::Back,
            KeyCode::Up | KeyCode::Down if self.focus == Field::Region => {
                self.move_region(if key.code == KeyCode::Up { -1 } else { 1 });
                return Action::None;
            }
            _ => {}
        }
        if let Some(delta) = focus_move(&key) {
            self.move_focus(delta);
            return Action::None;
        }
        let changed = match self.focus {
            Field::Source if is_toggle(&key) => {
                self.source = match self.source {
                    Source::Typed => Source::DefaultChain,
                    Source::DefaultChain => Source::Typed,
                };
                true
            }
            Field::Source => false,
            Field::AccessKeyId => edit(&mut self.access_key_id, key),
            Field::Secret => edit(&mut self.secret.0, key),
            Field::SessionToken => edit(&mut self.session_token.0, key),
            Field::Region => {
                let edited = edit(&mut self.region_filter, key);
                if edited {
                    self.region_filter_changed();
                }
                edited
            }
        };
        if changed {
            // An edit makes the last verification stale.
            self.check = Loadable::NotAsked;
        }
        Action::None
    }
}
