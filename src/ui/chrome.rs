//! What every screen has: title and step bar, demo banner, status line, key hints, modals, and
//! the screen shown when the terminal is too small.

use super::theme::Theme;
use super::widgets::{self, Writer, hint_spans, para, popup, width};
use super::{MIN_HEIGHT, MIN_WIDTH};
use crate::app::{App, Modal, keys};
use crate::wizard::StepId;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

const NAME: &str = "drs-failback";

/// Only this shows below the minimum size, so the quit question (the one thing keys can do
/// here) comes first.
pub fn too_small(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let text = format!(
        "Terminal too small: need {MIN_WIDTH}x{MIN_HEIGHT}, have {}x{}. Resize, or on a serial console run `stty rows {MIN_HEIGHT} cols {MIN_WIDTH}`.",
        area.width, area.height
    );
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    if app.modal == Some(Modal::ConfirmQuit) {
        w.lines(para(
            "",
            "Quit drs-failback? y quits, n stays.",
            cols,
            theme.title(),
        ));
    }
    w.lines(para("", &text, cols, theme.warning()));
}

/// "drs-failback" and the step bar: every step name when they fit (shortened if need be),
/// else "3/9 Endpoint".
pub fn title(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let sep = theme.glyphs().step_sep;
    let room = (area.width as usize).saturating_sub(NAME.len() + 2);
    let fits = |name: fn(StepId) -> &'static str| {
        StepId::ALL.iter().map(|s| width(name(*s))).sum::<usize>()
            + width(sep) * (StepId::ALL.len() - 1)
            <= room
    };
    let name: Option<fn(StepId) -> &'static str> = if fits(StepId::title) {
        Some(StepId::title)
    } else if fits(StepId::short_title) {
        Some(StepId::short_title)
    } else {
        None
    };
    let mut spans = vec![Span::styled(NAME, theme.title()), Span::raw("  ")];
    let bar: Vec<Span> = match name {
        Some(name) => {
            let mut v = Vec::new();
            for (i, step) in StepId::ALL.iter().enumerate() {
                if i > 0 {
                    v.push(Span::styled(sep, theme.muted()));
                }
                let style = match step.cmp(&app.step) {
                    std::cmp::Ordering::Equal => theme.focus(),
                    std::cmp::Ordering::Less => ratatui::style::Style::new(),
                    std::cmp::Ordering::Greater => theme.muted(),
                };
                v.push(Span::styled(name(*step), style));
            }
            v
        }
        None => vec![
            Span::raw(format!("{}/{} ", app.step.number(), StepId::ALL.len())),
            Span::styled(app.step.title(), theme.title()),
        ],
    };
    let used: usize = bar.iter().map(Span::width).sum();
    spans.push(Span::raw(" ".repeat(room.saturating_sub(used))));
    spans.extend(bar);
    widgets::draw_line(&Line::from(spans), area, frame.buffer_mut());
}

/// The demo banner, shortened rather than cut when the line is narrow.
pub fn banner(theme: &Theme, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let d = theme.glyphs().dash;
    let texts = [
        format!("DEMO {d} emulator, virtual disks: no AWS account used, no real disk written"),
        format!("DEMO {d} emulator: no AWS account used, no real disk written"),
        "DEMO: no AWS, no real disk".to_owned(),
    ];
    let cols = area.width as usize;
    let text = texts
        .iter()
        .find(|t| width(t) < cols)
        .map_or("DEMO", String::as_str);
    let line = widgets::pad(theme, &format!(" {text}"), cols);
    frame.render_widget(Span::styled(line, theme.banner()), area);
}

/// The notice, else a replication poll warning (an error once polls keep failing).
pub fn status(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let poll = app
        .dashboard
        .as_ref()
        .filter(|_| app.step == StepId::Replication)
        .and_then(|d| Some((d.poll_failures, d.poll_error.as_ref()?)))
        .filter(|(n, _)| *n > 0);
    let (text, style) = match (&app.notice, poll) {
        (Some(n), _) => (theme.clean(n).into_owned(), theme.warning()),
        (None, Some((n, e))) => {
            let style = if n >= 3 {
                theme.error()
            } else {
                theme.warning()
            };
            let times = if n == 1 {
                "once".to_owned()
            } else {
                format!("{n} times in a row")
            };
            let text = format!("DRS poll failed {times}: {}", e.advice());
            (theme.clean(&text).into_owned(), style)
        }
        (None, None) => return,
    };
    let text = widgets::fit(theme, &text, area.width as usize);
    frame.render_widget(Span::styled(text, style), area);
}

/// The most important hints that fit, whole; when some must go, "F1 more" ends the line, since
/// help lists every key.
pub fn footer(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let shown = footer_hints(keys::hints(app), area.width as usize);
    let line = Line::from(hint_spans(theme, &shown));
    widgets::draw_line(&line, area, frame.buffer_mut());
}

fn footer_hints(hints: Vec<keys::Hint>, cols: usize) -> Vec<keys::Hint> {
    let line_width = |h: &[keys::Hint]| -> usize {
        h.iter()
            .map(|(k, d)| width(k) + 1 + width(d))
            .sum::<usize>()
            + 2 * h.len().saturating_sub(1)
    };
    if line_width(&hints) <= cols {
        return hints;
    }
    let Some(f1) = hints.iter().position(|(k, _)| *k == "F1") else {
        // A modal's own keys: as many as fit.
        let mut shown = Vec::new();
        for h in hints {
            shown.push(h);
            if line_width(&shown) > cols {
                shown.pop();
                break;
            }
        }
        return shown;
    };
    let more = ("F1", "more");
    let mut shown = Vec::new();
    for (i, h) in hints.into_iter().enumerate() {
        if i == f1 {
            continue;
        }
        shown.push(h);
        if line_width(&shown) + 2 + line_width(&[more]) > cols {
            shown.pop();
            break;
        }
    }
    shown.push(more);
    shown
}

/// What the step is for, in the help modal.
fn step_help(step: StepId) -> &'static str {
    match step {
        StepId::Welcome => "What the wizard does and needs, and what this machine has.",
        StepId::Preflight => {
            "What AWS's failback client needs, checked now: RAM, boot mode, Secure Boot, the clock, the way to DRS and S3."
        }
        StepId::Credentials => {
            "AWS credentials that may use Elastic Disaster Recovery in the recovery region. They are checked with one read-only call before going on."
        }
        StepId::Endpoint => {
            "The DRS endpoint: the regional default, or a custom URL such as a VPC endpoint. The check tries DNS, TCP, TLS and one API call in turn."
        }
        StepId::Instance => {
            "The recovery instance to copy back onto this machine. The best match for this machine is pre-selected; instances too large for the local disks cannot be chosen."
        }
        StepId::Mapping => {
            "Which local disk receives each recovery-instance volume, or EXCLUDE to skip it. The chosen disks will be overwritten."
        }
        StepId::Review => {
            "Everything chosen so far. Typing the confirmation word starts replication, which overwrites the listed disks."
        }
        StepId::Replication => {
            "Replication progress as DRS and the local disks report it. When DRS says the instance is ready for launch, start the failback launch here or from the DRS console."
        }
        StepId::Result => "How the failback ended, and what to do next.",
    }
}

/// What quitting does to work in progress, per step and mode.
fn quit_note(app: &App) -> Option<String> {
    match app.step {
        StepId::Replication if app.dashboard.is_some() => Some(format!(
            "Replication goes on in the failback worker: quitting only closes this screen. Run {} again, on any console or over SSH, to come back to it.",
            app.come_back
        )),
        StepId::Replication => Some(
            "The failback worker has not answered yet: quitting now may leave no failback running."
                .into(),
        ),
        _ => None,
    }
}

pub fn modal(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(modal) = app.modal else {
        return;
    };
    let cols = (area.width as usize).saturating_sub(4).min(72);
    let inner_cols = cols.saturating_sub(2);
    let (title, lines) = match modal {
        Modal::Help => {
            let mut lines = para(
                "",
                step_help(app.step),
                inner_cols,
                ratatui::style::Style::new(),
            );
            lines.push(Line::default());
            let help = keys::help(app);
            let key_cols = help
                .iter()
                .map(|(k, _)| width(k))
                .max()
                .unwrap_or(0)
                .min(24);
            for (key, desc) in help {
                let lead = format!("{key:<key_cols$}  ");
                let mut wrapped = para(&lead, desc, inner_cols, ratatui::style::Style::new());
                if let Some(first) = wrapped.first_mut() {
                    first.spans[0].style = theme.key();
                }
                lines.extend(wrapped);
            }
            (
                format!("Help {} {}", theme.glyphs().dash, app.step.title()),
                lines,
            )
        }
        Modal::Ssh => ("SSH".to_owned(), super::ssh::lines(app, theme, inner_cols)),
        Modal::ConfirmQuit => {
            let mut lines = vec![Line::styled("Quit drs-failback?", theme.title())];
            if let Some(note) = quit_note(app) {
                lines.push(Line::default());
                lines.extend(para("", &theme.clean(&note), inner_cols, theme.warning()));
            }
            lines.push(Line::default());
            lines.push(Line::from(hint_spans(
                theme,
                &[("y", "quit"), ("n", "stay")],
            )));
            ("Quit".to_owned(), lines)
        }
    };
    let inner = popup(
        theme,
        frame,
        area,
        &title,
        cols as u16,
        lines.len() as u16 + 2,
    );
    Writer::new(frame, inner).lines(lines);
}
