//! The view layer: `view` draws the whole screen from `App` and nothing else.

mod chrome;
mod ssh;
pub mod steps;
pub mod theme;
mod widgets;

pub use theme::{Looks, Theme};

use crate::app::App;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

/// The smallest screen the wizard lays out for (a serial console's default).
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole screen. Pure: reads `app`, writes only to the frame (and places the text
/// cursor when a text field has focus).
pub fn view(app: &App, theme: &Theme, frame: &mut Frame) {
    view_counting(app, theme, frame);
}

/// `view`, returning how many cells the ASCII theme had to replace with `?`: text that
/// `Theme::clean` did not see. Tests require none.
pub fn view_counting(app: &App, theme: &Theme, frame: &mut Frame) -> usize {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        chrome::too_small(app, theme, frame, area);
    } else {
        let banner = u16::from(app.is_demo());
        let [title, demo, body, status, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(banner),
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        chrome::title(app, theme, frame, title);
        chrome::banner(theme, frame, demo);
        steps::render(app, theme, frame, body);
        if let Some(p) = app.unattended_prompt().filter(|_| app.modal.is_none()) {
            let by = app
                .unattended
                .as_ref()
                .map_or("", |u| u.started_by.as_str());
            let why = format!(
                "{by} Once DRS accepts them the unattended run goes on by itself, and every \
                 console shows its failback. Paste export lines, a credentials file or \
                 assume-role JSON; Esc puts this aside."
            );
            steps::replication::credentials_prompt(
                app,
                theme,
                frame,
                body,
                p,
                ("Credentials for the unattended failback", &why),
            );
        }
        chrome::status(app, theme, frame, status);
        chrome::footer(app, theme, frame, footer);
        chrome::modal(app, theme, frame, body);
    }
    let mut replaced = 0;
    if !theme.unicode {
        // Last line of defence for text from outside that `Theme::clean` did not see.
        for cell in frame.buffer_mut().content.iter_mut() {
            if !cell.symbol().is_ascii() {
                cell.set_symbol("?");
                replaced += 1;
            }
        }
    }
    replaced
}
