//! Each screen's key table: the keys it handles, how the footer and the help name them. `update`
//! lets through only keys of the table (and text edits in a focused field), so the footer and
//! help never miss a key that works, nor offer one that does nothing.

use super::{App, Modal, Mode};
use crate::domain::ssh::SshError;
use crate::wizard::credentials::Field as CredField;
use crate::wizard::endpoint::{Choice, Field as EndField};
use crate::wizard::replication::{CredentialsPrompt, Launch};
use crate::wizard::result::Outcome;
use crate::wizard::{Loadable, StepId};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::to_input_request;

/// (key, what it does), as the footer shows it.
pub type Hint = (&'static str, &'static str);

/// A key as a table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The key alone (Shift allowed: it makes capitals and Shift-Tab).
    Code(KeyCode),
    Ctrl(char),
    /// Any edit of the focused text field (typing, Backspace, cursor keys).
    Text,
}

use Key::{Code, Ctrl};

/// A table's keys, where a letter (`'y'`) is that key in either case (Shift or Caps Lock on).
macro_rules! keys {
    (@ [$($out:expr),*]) => {
        const { &[$($out),*] }
    };
    (@ [$($out:expr),*] $c:literal $(, $($rest:tt)*)?) => {
        keys!(@ [$($out,)* Code(KeyCode::Char($c)), Code(KeyCode::Char($c.to_ascii_uppercase()))] $($($rest)*)?)
    };
    (@ [$($out:expr),*] $k:expr $(, $($rest:tt)*)?) => {
        keys!(@ [$($out,)* $k] $($($rest)*)?)
    };
    ($($all:tt)*) => {
        keys!(@ [] $($all)*)
    };
}

const ENTER: Key = Code(KeyCode::Enter);
const ESC: Key = Code(KeyCode::Esc);
const UP: Key = Code(KeyCode::Up);
const DOWN: Key = Code(KeyCode::Down);
const LEFT: Key = Code(KeyCode::Left);
const RIGHT: Key = Code(KeyCode::Right);
const TAB: Key = Code(KeyCode::Tab);
const BACKTAB: Key = Code(KeyCode::BackTab);
const SPACE: Key = Code(KeyCode::Char(' '));

impl Key {
    pub fn matches(self, key: &KeyEvent) -> bool {
        match self {
            Ctrl(c) => {
                key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
            }
            Code(code) => {
                !key.modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    && key.code == code
            }
            Key::Text => is_text_edit(key),
        }
    }

    /// The key's name in the help screen.
    pub fn name(self) -> String {
        match self {
            Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Text => "typing".into(),
            Code(code) => match code {
                KeyCode::Char(' ') => "Space".into(),
                KeyCode::Char(c) => c.to_ascii_lowercase().to_string(),
                KeyCode::BackTab => "Shift-Tab".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::F(n) => format!("F{n}"),
                other => format!("{other:?}"),
            },
        }
    }
}

/// A key that edits a text field.
pub fn is_text_edit(key: &KeyEvent) -> bool {
    to_input_request(&Event::Key(*key)).is_some()
}

/// One row of a screen's table: its keys, the footer's short label and what it does, and the
/// help's longer words when the footer's are too short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: &'static [Key],
    pub label: &'static str,
    pub does: &'static str,
    pub help: Option<&'static str>,
    /// False: listed by help only (a key every terminal user knows, or one that only explains).
    pub footer: bool,
}

const fn b(label: &'static str, does: &'static str, keys: &'static [Key]) -> Binding {
    Binding {
        keys,
        label,
        does,
        help: None,
        footer: true,
    }
}

impl Binding {
    const fn help(self, text: &'static str) -> Binding {
        Binding {
            help: Some(text),
            ..self
        }
    }
    const fn help_only(self) -> Binding {
        Binding {
            footer: false,
            ..self
        }
    }
}

/// The current screen's table, most important first (the footer shows as many as fit).
pub fn bindings(app: &App) -> Vec<Binding> {
    let mut v = current_table(app);
    // Over a modal too: a serial line's garbled screen (with a password on it) must repaint.
    if app.modal.is_some() && !app.too_small() {
        v.push(b("Ctrl-L", "redraw the screen", &[Ctrl('l')]).help_only());
    }
    v
}

fn current_table(app: &App) -> Vec<Binding> {
    match app.modal {
        Some(Modal::ConfirmQuit) => {
            return vec![
                b("y", "quit", keys!['y', Ctrl('c')]),
                b("n/Esc", "stay", keys!['n', ESC]),
            ];
        }
        // Only "terminal too small" is shown: quitting, redrawing and suspending work.
        _ if app.too_small() => {
            return vec![
                b("Ctrl-C", "quit", &[Ctrl('c')]),
                b("Ctrl-L", "redraw", &[Ctrl('l')]),
                b("Ctrl-Z", "suspend", &[Ctrl('z')]),
            ];
        }
        Some(Modal::Ssh) => {
            let close = b("Esc", "close", keys![ESC, ENTER, 's']);
            return match &app.ssh {
                Loadable::Loading(_) | Loadable::Failed(SshError::NotAvailable(_)) => vec![close],
                Loadable::Failed(_) => vec![close, b("n", "try again", keys!['n'])],
                _ => vec![
                    close,
                    b("n", "new password", keys!['n']).help(
                        "a new password and the addresses again (the old password stops working, on every console)",
                    ),
                ],
            };
        }
        Some(Modal::Help) => {
            return vec![b(
                "Esc",
                "close help",
                &[
                    ESC,
                    Code(KeyCode::F(1)),
                    ENTER,
                    Code(KeyCode::Char('?')),
                    Code(KeyCode::Char('q')),
                ],
            )];
        }
        None => {}
    }
    screen(app)
}

/// The table of the screen under any modal: the step's keys, then the global ones.
fn screen(app: &App) -> Vec<Binding> {
    let mut v = if app.network_open {
        network(app)
    } else if let Some(p) = app.unattended_prompt() {
        let later = b("Esc", "later", &[ESC])
            .help("put the prompt aside (k on Welcome brings it back, as typed)");
        prompt(p, later)
    } else {
        step(app)
    };
    if let Some(n) = network_binding(app) {
        v.insert(v.len().min(1), n);
    }
    // `?` is text in a field.
    let help_keys: &'static [Key] = if app.typing() {
        &[Code(KeyCode::F(1))]
    } else {
        &[Code(KeyCode::F(1)), Code(KeyCode::Char('?'))]
    };
    v.push(b("F1", "help", help_keys).help("this help, listing every key"));
    v.push(b("Ctrl-C", "quit", &[Ctrl('c')]).help("quit (asks first)"));
    // A serial console starts basic: the way out is in its footer.
    v.push(if app.rich {
        b("Ctrl-T", "basic mode", &[Ctrl('t')])
            .help("basic mode: ASCII, no colour")
            .help_only()
    } else {
        b("Ctrl-T", "rich mode", &[Ctrl('t')]).help("rich mode: Unicode and colour")
    });
    v.push(b("Ctrl-L", "redraw the screen", &[Ctrl('l')]).help_only());
    v.push(b("Ctrl-Z", "suspend (fg resumes)", &[Ctrl('z')]).help_only());
    v
}

/// The key that opens the Network screen, where the screen offers it: Pre-flight, and every
/// screen whose connection just failed (the dashboard's polls, the software's download).
fn network_binding(app: &App) -> Option<Binding> {
    use crate::wizard::Loadable::Failed;
    if app.network_open {
        return None;
    }
    let ctrl_n = || {
        b("Ctrl-N", "network", &[Ctrl('n')])
            .help("the Network screen: addresses, DHCP, proxy, S3 endpoint (back with Esc)")
    };
    match app.step {
        StepId::Preflight if app.preflight.confirm.is_none() => Some(
            b("n", "network", keys!['n'])
                .help("the Network screen: addresses, DHCP, proxy, S3 endpoint (back with Esc)"),
        ),
        StepId::Credentials => {
            matches!(&app.credentials.check, Failed(e) if e.kind.is_connection()).then(ctrl_n)
        }
        StepId::Endpoint => app
            .endpoint
            .check
            .as_ref()
            .is_some_and(|c| matches!(c.outcome, Some(Err(_))))
            .then(ctrl_n),
        StepId::Instance => {
            matches!(&app.instance.list, Failed(e) if e.kind.is_connection()).then(ctrl_n)
        }
        StepId::Replication => app
            .dashboard
            .as_ref()
            .and_then(|d| d.poll_error.as_ref())
            .is_some_and(|e| e.kind.is_connection())
            .then(ctrl_n),
        // TCP 1500, the DRS endpoint or S3 failed to connect, or the S3 pin is another region's.
        StepId::Review => app
            .instance_checks()
            .iter()
            .any(|c| {
                c.verdict == crate::domain::preflight::Verdict::Fail
                    && ["replication_port", "drs_endpoint", "s3", "s3_pin"].contains(&c.id)
            })
            .then(ctrl_n),
        StepId::Result => (matches!(app.outcome, Some(Outcome::Failed(_)))
            && app.dashboard.as_ref().is_some_and(|d| d.download_failed()))
        .then(ctrl_n),
        _ => None,
    }
}

/// True when `key` opens the Network screen here.
pub fn opens_network(app: &App, key: &KeyEvent) -> bool {
    network_binding(app).is_some_and(|b| b.keys.iter().any(|k| k.matches(key)))
}

fn network(app: &App) -> Vec<Binding> {
    use crate::wizard::network::Field;
    let f = &app.network;
    if f.work.is_some() {
        return vec![b("Esc", "back", &[ESC]).help("back to the step; the change goes on")];
    }
    let mut v =
        vec![b("Enter", "apply", &[ENTER]).help("check the form, apply it, check the result")];
    match f.focus() {
        Field::Interface => v.extend([
            b("Up/Down", "interface", &[UP, DOWN]),
            b("Tab", "next field", &[TAB, BACKTAB]),
        ]),
        Field::Mode => v.extend([
            b("Space", "DHCP/static", &[SPACE, LEFT, RIGHT]).help(
                "unchanged, DHCP (IPv4, and IPv6 where offered), DHCP (IPv4 only), DHCP (IPv6 only), \
                 static address",
            ),
            b("Tab", "next field", &[TAB, BACKTAB, UP, DOWN]),
        ]),
        _ => v.push(b("Tab", "next field", &[TAB, BACKTAB, UP, DOWN])),
    }
    if f.snapshot.is_some() {
        v.push(
            b("Ctrl-R", "revert", &[Ctrl('r')])
                .help("put back the network as it was before the first apply"),
        );
    }
    v.push(b("F5", "rescan", &[Code(KeyCode::F(5))]).help("read the interfaces again"));
    v.push(b("Esc", "back", &[ESC]).help("back to the step, everything typed kept"));
    v
}

/// True when the current screen does something with `key`.
pub fn handles(app: &App, key: &KeyEvent) -> bool {
    bindings(app)
        .iter()
        .flat_map(|b| b.keys)
        .any(|k| k.matches(key))
        || (app.modal.is_none() && !app.too_small() && app.typing() && is_text_edit(key))
}

/// The footer's hints, in table order.
pub fn hints(app: &App) -> Vec<Hint> {
    bindings(app)
        .iter()
        .filter(|b| b.footer)
        .map(|b| (b.label, b.does))
        .collect()
}

/// The help screen: every key of the screen's table, each named.
pub fn help(app: &App) -> Vec<(String, &'static str)> {
    screen(app)
        .iter()
        .map(|b| {
            let mut names: Vec<String> = Vec::new();
            for k in b.keys {
                let name = k.name();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            (names.join(", "), b.help.unwrap_or(b.does))
        })
        .collect()
}

fn step(app: &App) -> Vec<Binding> {
    match app.step {
        StepId::Welcome => {
            let mut v = vec![
                b("Enter", "start", &[ENTER]),
                b("s", "SSH access", keys!['s'])
                    .help("enable SSH for this boot: a one-time password, then log in and paste"),
            ];
            if app.unattended.as_ref().is_some_and(|u| u.prompt.is_some()) {
                v.insert(
                    0,
                    b("k", "credentials for the unattended run", keys!['k'])
                        .help("the unattended failback waits for credentials: give them"),
                );
            }
            v
        }
        StepId::Preflight => preflight(app),
        StepId::Credentials => credentials(app),
        StepId::Endpoint => endpoint(app),
        StepId::Instance => {
            let mut v = vec![
                b("Enter", "next", &[ENTER]),
                b("Up/Down", "select", &[UP, DOWN]),
                b("type", "filter", &[Key::Text]),
            ];
            if app.instance.filter.value().is_empty() {
                v.push(b("Esc", "back", &[ESC]));
            } else {
                v.push(b("Esc", "clear filter", &[ESC]));
            }
            v.extend([
                b("Ctrl-R", "reload", &[Ctrl('r'), Code(KeyCode::F(5))]),
                b(
                    "PgUp/PgDn",
                    "page",
                    &[Code(KeyCode::PageUp), Code(KeyCode::PageDown)],
                ),
                b(
                    "Home/End",
                    "first/last",
                    &[Code(KeyCode::Home), Code(KeyCode::End)],
                ),
            ]);
            v
        }
        StepId::Mapping => mapping(app),
        StepId::Review => review(app),
        StepId::Replication => replication(app),
        StepId::Result => match &app.outcome {
            Some(Outcome::Completed(_)) => {
                vec![b("Enter/q", "quit", keys![ENTER, 'q'])]
            }
            Some(Outcome::Failed(_)) => vec![
                b("r", "retry", keys!['r', ENTER]),
                b("b", "back to mapping", keys!['b', ESC]),
                b("q", "quit", keys!['q']),
            ],
            None => vec![],
        },
    }
}

fn review(app: &App) -> Vec<Binding> {
    let mut v = vec![b("type OVERWRITE, Enter", "start", &[ENTER])];
    if !app.review_checking() {
        v.push(
            b("Ctrl-R", "re-run checks", &[Ctrl('r'), Code(KeyCode::F(5))])
                .help("check TCP 1500 to the recovery instance and run the pre-flight again"),
        );
    }
    v.push(if app.review.waiting {
        b("Esc", "cancel start", &[ESC])
            .help("do not start once the checks pass (OVERWRITE stays typed)")
    } else {
        b("Esc", "back", &[ESC])
    });
    v
}

fn preflight(app: &App) -> Vec<Binding> {
    let f = &app.preflight;
    if f.confirm.is_some() {
        return vec![b("y", "yes", keys!['y']), b("n/Esc", "no", keys!['n', ESC])];
    }
    let mut v = vec![b("Enter", "next", &[ENTER])];
    if !f.checks().is_empty() {
        v.push(
            b("Up/Down", "select", &[UP, DOWN])
                .help("choose the check whose fix is shown when not all rows fit")
                .help_only(),
        );
    }
    if !f.running() {
        v.push(
            b("r", "re-run checks", keys!['r'])
                .help("run every check again (after fixing something)"),
        );
    }
    if f.ram_refused() {
        v.push(
            b("o", "override RAM", keys!['o'])
                .help("go on with less RAM than AWS's client accepts (asks first, says the risk)"),
        );
    }
    if f.clock_offered() && !f.running() {
        v.push(
            b("c", "set clock", keys!['c'])
                .help("set this machine's clock from the DRS endpoint's time (asks first)"),
        );
    }
    v.push(if f.waiting {
        b("Esc", "cancel next", &[ESC]).help("do not go on once the checks finish")
    } else {
        b("Esc", "back", &[ESC])
    });
    v
}

fn credentials(app: &App) -> Vec<Binding> {
    let f = &app.credentials;
    if f.check.is_loading() {
        return vec![b("Esc", "cancel check", &[ESC])];
    }
    let mut v = vec![b("Enter", "verify & next", &[ENTER])];
    match f.focus {
        CredField::Region => v.extend([
            b("Tab", "next field", &[TAB, BACKTAB]),
            b("Up/Down", "choose region", &[UP, DOWN]),
        ]),
        CredField::Source => v.extend([
            b("Tab", "next field", &[TAB, BACKTAB, UP, DOWN]),
            b("Space", "switch source", &[SPACE, LEFT, RIGHT]),
        ]),
        _ => v.push(b("Tab", "next field", &[TAB, BACKTAB, UP, DOWN])),
    }
    // Ctrl-R shows the focused secret: elsewhere it has nothing to show.
    if matches!(f.focus, CredField::Secret | CredField::SessionToken) {
        v.push(if f.revealed(f.focus) {
            b("Ctrl-R", "hide", &[Ctrl('r')]).help("mask the focused secret again")
        } else {
            b("Ctrl-R", "reveal", &[Ctrl('r')])
                .help("show the focused secret until the cursor leaves it")
        });
    }
    if matches!(&app.mode, Mode::Demo { keys, .. } if !keys.is_empty()) {
        v.push(
            b("F2", "demo key", &[Code(KeyCode::F(2))])
                .help("type the demo's next key (full access, policy only, expired)"),
        );
    }
    if matches!(&f.check, crate::wizard::Loadable::Failed(e) if e.kind == crate::drs::DrsErrorKind::Unreachable)
    {
        v.push(b("Ctrl-E", "set endpoint", &[Ctrl('e')]));
    }
    v.push(b("Esc", "back", &[ESC]));
    v
}

fn endpoint(app: &App) -> Vec<Binding> {
    let f = &app.endpoint;
    if f.check.as_ref().is_some_and(|c| c.running()) {
        return vec![b("Esc", "cancel check", &[ESC])];
    }
    let mut v = vec![b("Enter", "check & next", &[ENTER])];
    if f.focus == EndField::Choice {
        v.push(b("Space", "default/custom", &[SPACE, LEFT, RIGHT]));
    }
    if f.choice == Choice::Custom {
        v.push(b("Tab", "next field", &[TAB, BACKTAB, UP, DOWN]));
    }
    v.push(b("Esc", "back", &[ESC]));
    v
}

fn mapping(app: &App) -> Vec<Binding> {
    let f = &app.mapping;
    if f.paste.is_some() {
        return vec![
            b("Enter", "apply mapping", &[ENTER]),
            b("Esc", "cancel", &[ESC]),
        ];
    }
    if f.picker.is_some() {
        return vec![
            b("Enter", "choose", &[ENTER, SPACE]),
            b("Up/Down", "move", &[UP, DOWN]),
            b("Esc", "cancel", &[ESC]),
        ];
    }
    if f.copy_view {
        return vec![
            b("Esc", "close", &[ESC, ENTER, Code(KeyCode::Char('y'))]),
            b("f", "format", &[Code(KeyCode::Char('f'))]),
            b("v", "value format", &[Code(KeyCode::Char('v'))]),
        ];
    }
    vec![
        b("Enter", "next", &[ENTER]),
        b(
            "Space",
            "choose disk",
            &[SPACE, RIGHT, Code(KeyCode::Char('c'))],
        ),
        b("x", "exclude", &[Code(KeyCode::Char('x'))]),
        b("a", "auto-map", &[Code(KeyCode::Char('a'))]),
        b("p", "paste mapping", &[Code(KeyCode::Char('p'))]),
        b("y", "copy view", &[Code(KeyCode::Char('y'))]),
        b("Up/Down", "row", &[UP, DOWN]),
        b(
            "u",
            "unmap",
            &[Code(KeyCode::Char('u')), Code(KeyCode::Delete)],
        ),
        b("f", "format", &[Code(KeyCode::Char('f'))]),
        b("v", "value format", &[Code(KeyCode::Char('v'))]),
        b("r", "rescan disks", &[Code(KeyCode::Char('r'))])
            .help("read the disk list again (after plugging a disk in or out)"),
        b("Esc", "back", &[ESC]),
    ]
}

/// The credentials prompt's keys: fresh ones after ExpiredToken, or an unattended run's.
fn prompt(p: &CredentialsPrompt, later: Binding) -> Vec<Binding> {
    if p.sending {
        return vec![later];
    }
    let mut v = vec![
        b("Enter", "send credentials", &[ENTER])
            .help("send them to the failback worker, which checks them with DRS"),
        b("Tab", "next field", &[TAB, BACKTAB, UP, DOWN]),
        b("type/paste", "keys", &[Key::Text])
            .help("type, or paste export lines, a credentials file or assume-role JSON"),
    ];
    let f = &p.form;
    if matches!(f.focus, CredField::Secret | CredField::SessionToken) {
        v.push(if f.revealed(f.focus) {
            b("Ctrl-R", "hide", &[Ctrl('r')]).help("mask the focused secret again")
        } else {
            b("Ctrl-R", "reveal", &[Ctrl('r')])
                .help("show the focused secret until the cursor leaves it")
        });
    }
    v.push(later);
    v
}

fn replication(app: &App) -> Vec<Binding> {
    let Some(d) = &app.dashboard else {
        return vec![];
    };
    if let Some(p) = d.prompt() {
        let later = b("Esc", "later", &[ESC])
            .help("put the prompt aside (k brings it back, as typed); polling waits meanwhile");
        return prompt(p, later);
    }
    if let Some(t) = &d.throttle {
        let close = b("Esc", "close", &[ESC]);
        if t.sending.is_some() {
            return vec![close];
        }
        return vec![
            b("Enter", "set throttle", &[ENTER])
                .help("set the bandwidth throttle (UpdateFailbackReplicationConfiguration)"),
            b("type", "Mbps, 0 for none", &[Key::Text]),
            close,
        ];
    }
    if d.stopping {
        return vec![
            b("y", "stop the failback", keys!['y']),
            b("n/Esc", "keep it going", keys!['n', ESC]),
        ];
    }
    let mut v = match d.launch {
        Launch::Confirming => {
            return vec![
                b("y", "start failback launch", keys!['y']),
                b("n/Esc", "not now", keys!['n', ESC]),
            ];
        }
        Launch::Ready => vec![b("l", "launch failback", keys!['l'])],
        Launch::Denied(_) if app.is_demo() => {
            vec![b("c", "console's Failback (demo)", keys!['c'])]
        }
        _ => vec![],
    };
    if d.fresh_credentials.is_some() {
        v.push(
            b("k", "fresh credentials", keys!['k'])
                .help("type fresh credentials: the session token expired"),
        );
    }
    if d.can_throttle() {
        v.push(b("b", "bandwidth", keys!['b']).help(
            "change the bandwidth throttle, in Mbps (UpdateFailbackReplicationConfiguration)",
        ));
    }
    v.push(
        b("s", "stop failback", keys!['s'])
            .help("stop the failback (StopFailback), after a confirmation"),
    );
    v.push(
        b(
            "PgUp/PgDn",
            "scroll log",
            &[
                Code(KeyCode::PageUp),
                Code(KeyCode::PageDown),
                Code(KeyCode::End),
            ],
        )
        .help("scroll the log; End shows the newest lines"),
    );
    v.push(b("Esc", "says why there is no going back", &[ESC]).help_only());
    v
}
