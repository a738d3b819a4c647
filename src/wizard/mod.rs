//! The wizard's steps: each one's form state and key handling. Back keeps every form as it
//! was; Next validates and commits. Effects are returned as `Action`s for `app::update`.

pub mod credentials;
pub mod endpoint;
pub mod instance;
pub mod mapping;
pub mod network;
pub mod preflight;
pub mod replication;
pub mod result;
pub mod review;
pub mod unattended;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use std::fmt;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepId {
    Welcome,
    Preflight,
    Credentials,
    Endpoint,
    Instance,
    Mapping,
    Review,
    Replication,
    Result,
}

impl StepId {
    pub const ALL: [StepId; 9] = [
        StepId::Welcome,
        StepId::Preflight,
        StepId::Credentials,
        StepId::Endpoint,
        StepId::Instance,
        StepId::Mapping,
        StepId::Review,
        StepId::Replication,
        StepId::Result,
    ];

    pub fn title(self) -> &'static str {
        match self {
            StepId::Welcome => "Welcome",
            StepId::Preflight => "Pre-flight",
            StepId::Credentials => "Credentials",
            StepId::Endpoint => "Endpoint",
            StepId::Instance => "Recovery instance",
            StepId::Mapping => "Volume mapping",
            StepId::Review => "Review",
            StepId::Replication => "Replication",
            StepId::Result => "Result",
        }
    }

    /// The step bar's name when every full title does not fit.
    pub fn short_title(self) -> &'static str {
        match self {
            StepId::Instance => "Instance",
            StepId::Mapping => "Mapping",
            s => s.title(),
        }
    }

    pub fn number(self) -> usize {
        self as usize + 1
    }

    pub fn prev(self) -> Option<StepId> {
        let i = self as usize;
        (i > 0).then(|| StepId::ALL[i - 1])
    }
}

/// Data a step waits for: the request id lets late answers for an abandoned request be dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Loadable<T, E = String> {
    #[default]
    NotAsked,
    Loading(u64),
    Loaded(T),
    Failed(E),
}

impl<T, E> Loadable<T, E> {
    pub fn is_loading(&self) -> bool {
        matches!(self, Loadable::Loading(_))
    }
    pub fn loaded(&self) -> Option<&T> {
        match self {
            Loadable::Loaded(t) => Some(t),
            _ => None,
        }
    }
    /// True when an answer for request `req` is still wanted.
    pub fn awaits(&self, req: u64) -> bool {
        matches!(self, Loadable::Loading(r) if *r == req)
    }
}

/// What a step's key handler asks the app to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    Back,
    /// Validate and commit the step (which may start a check before moving on).
    Next,
    /// Step-specific: reload (instances), launch failback (dashboard), retry (result).
    Refresh,
    Launch,
    /// The launch was denied: press the console's Failback button (the demo plays it).
    ConsoleLaunch,
    /// The operator confirmed stopping the failback (StopFailback).
    StopFailback,
    /// A valid throttle was typed on the dashboard, in Mbps (0: none).
    SetBandwidth(u32),
    /// Fresh credentials were typed after ExpiredToken: send them to the worker.
    SendCredentials,
    Retry,
    /// Credentials unreachable: go set a custom endpoint without verifying.
    SkipToEndpoint,
    /// Pre-flight: set the clock from the endpoint's time (confirmed).
    SetClock,
    Quit,
}

/// A text field whose Debug never shows its value (secrets, session tokens).
#[derive(Default, Clone)]
pub struct SecretInput(pub Input);

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretInput(<{} chars>)", self.0.value().chars().count())
    }
}

/// Applies an editing key to a text field; false when the key is not an edit.
pub fn edit(input: &mut Input, key: KeyEvent) -> bool {
    match to_input_request(&Event::Key(key)) {
        Some(req) => {
            input.handle(req);
            true
        }
        None => false,
    }
}

/// Inserts pasted text at the cursor as one edit of a one-line field: line breaks and tabs
/// become spaces (trailing ones are dropped), other control characters are dropped.
/// False when nothing was left to insert.
pub fn paste(input: &mut Input, text: &str) -> bool {
    let text: String = text
        .trim_end_matches(['\n', '\r'])
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    if text.is_empty() {
        return false;
    }
    let value = input.value();
    let at = value
        .char_indices()
        .nth(input.cursor())
        .map_or(value.len(), |(i, _)| i);
    let cursor = input.cursor() + text.chars().count();
    let joined = [&value[..at], &text, &value[at..]].concat();
    *input = Input::new(joined).with_cursor(cursor);
    true
}

pub fn is_ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

/// Space and Left/Right flip a two-way choice.
pub fn is_toggle(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right
    )
}

/// Tab/Down and BackTab/Up move between a form's fields.
pub fn focus_move(key: &KeyEvent) -> Option<isize> {
    match key.code {
        KeyCode::Tab | KeyCode::Down => Some(1),
        KeyCode::BackTab | KeyCode::Up => Some(-1),
        _ => None,
    }
}
