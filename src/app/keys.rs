//! The keys that work right now, for the footer and the help screen. The same states decide
//! what `update` does with a key, so the footer never offers a key that does nothing.

use super::{App, Modal};
use crate::wizard::StepId;
use crate::wizard::credentials::{Field as CredField, Source};
use crate::wizard::endpoint::{Choice, Field as EndField};
use crate::wizard::replication::Launch;
use crate::wizard::result::Outcome;

/// (key, what it does)
pub type Hint = (&'static str, &'static str);

/// The footer's hints, most important first (the footer shows as many as fit).
pub fn hints(app: &App) -> Vec<Hint> {
    match app.modal {
        Some(Modal::ConfirmQuit) => return vec![("y", "quit"), ("n/Esc", "stay")],
        Some(Modal::Help) => return vec![("Esc", "close help")],
        None => {}
    }
    let mut h = step_hints(app);
    h.push(("F1", "help"));
    h.push(("Ctrl-C", "quit"));
    h
}

fn step_hints(app: &App) -> Vec<Hint> {
    match app.step {
        StepId::Welcome => vec![("Enter", "start")],
        StepId::Credentials => credentials(app),
        StepId::Endpoint => endpoint(app),
        StepId::Instance => {
            let mut v = vec![("Enter", "next"), ("Up/Down", "select"), ("type", "filter")];
            if !app.instance.filter.value().is_empty() {
                v.push(("Esc", "clear filter"));
            } else {
                v.push(("Esc", "back"));
            }
            v.extend([("PgUp/PgDn", "page"), ("Ctrl-R", "reload")]);
            v
        }
        StepId::Mapping => mapping(app),
        StepId::Review => vec![("type OVERWRITE, Enter", "start"), ("Esc", "back")],
        StepId::Replication => replication(app),
        StepId::Result => match &app.outcome {
            Some(Outcome::Completed(_)) => vec![("Enter/q", "quit")],
            Some(Outcome::Failed(_)) => {
                vec![("r", "retry"), ("b", "back to mapping"), ("q", "quit")]
            }
            None => vec![],
        },
    }
}

fn credentials(app: &App) -> Vec<Hint> {
    let f = &app.credentials;
    if f.check.is_loading() {
        return vec![("Esc", "cancel check")];
    }
    let mut v = vec![("Enter", "verify & next"), ("Tab", "next field")];
    match f.focus {
        CredField::Source => v.push(("Space", "switch source")),
        CredField::Region => v.push(("Up/Down", "choose region")),
        _ => {}
    }
    if f.source == Source::Typed {
        v.push((
            "Ctrl-R",
            if f.revealed(f.focus) {
                "hide secret"
            } else {
                "reveal secret"
            },
        ));
    }
    if matches!(&f.check, crate::wizard::Loadable::Failed(e) if e.kind == crate::drs::DrsErrorKind::Unreachable)
    {
        v.push(("Ctrl-E", "set endpoint"));
    }
    v.push(("Esc", "back"));
    if app.is_demo() {
        v.push(("F2", "next demo key"));
    }
    v
}

fn endpoint(app: &App) -> Vec<Hint> {
    let f = &app.endpoint;
    if f.check.as_ref().is_some_and(|c| c.running()) {
        return vec![("Esc", "cancel check")];
    }
    let mut v = vec![("Enter", "check & next")];
    if f.focus == EndField::Choice {
        v.push(("Space", "default/custom"));
    }
    if f.choice == Choice::Custom {
        v.push(("Tab", "next field"));
    }
    v.push(("Esc", "back"));
    v
}

fn mapping(app: &App) -> Vec<Hint> {
    let f = &app.mapping;
    if f.paste.is_some() {
        return vec![("Enter", "apply mapping"), ("Esc", "cancel")];
    }
    if f.picker.is_some() {
        return vec![("Enter", "choose"), ("Up/Down", "move"), ("Esc", "cancel")];
    }
    vec![
        ("Enter", "next"),
        ("Space", "choose disk"),
        ("x", "exclude"),
        ("a", "auto-map"),
        ("p", "paste mapping"),
        ("f", "format"),
        ("v", "value format"),
        ("Esc", "back"),
    ]
}

fn replication(app: &App) -> Vec<Hint> {
    let Some(d) = &app.dashboard else {
        return vec![];
    };
    let mut v = match d.launch {
        Launch::Confirming => return vec![("y", "start failback launch"), ("n/Esc", "not now")],
        Launch::Ready => vec![("l", "launch failback")],
        Launch::Denied(_) if app.is_demo() => vec![("c", "console's Failback (demo)")],
        _ => vec![],
    };
    v.push(("PgUp/PgDn", "scroll log"));
    v
}

/// The help screen: every key of the current step, plus the global ones.
pub fn help(app: &App) -> Vec<Hint> {
    let mut v = step_hints(app);
    v.extend([
        ("Ctrl-L", "redraw the screen"),
        ("Ctrl-Z", "suspend (fg resumes)"),
        ("F1 or ?", "this help (? only outside text fields)"),
        ("Ctrl-C", "quit (asks first)"),
    ]);
    v
}
