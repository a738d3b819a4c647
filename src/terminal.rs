//! The full-screen terminal: entered once, restored on every exit path (drop, error, panic,
//! signals), with a fixed 80x24 viewport when a serial line reports no size.

use crate::app::Msg;
use crate::app::runtime::Frontend;
use crate::ui::{self, Theme};
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::layout::Rect;
use ratatui::prelude::CrosstermBackend;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::{self, Stdout};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

pub struct TerminalUi {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    theme: Theme,
}

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
}

/// A panic anywhere, a worker task included, restores the terminal, says what happened on a
/// clean screen and ends the program: a wizard half-drawn over the shell helps nobody.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
        std::process::exit(101);
    }));
}

impl TerminalUi {
    /// Enters raw mode and the alternate screen; keys arrive on the returned channel.
    pub fn enter(theme: Theme) -> io::Result<(TerminalUi, UnboundedReceiver<Msg>)> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        execute!(io::stdout(), terminal::EnterAlternateScreen)?;
        let backend = CrosstermBackend::new(io::stdout());
        // Serial lines report 0x0: draw 80x24 there.
        let viewport = match terminal::size() {
            Ok((w, h)) if w > 0 && h > 0 => Viewport::Fullscreen,
            _ => Viewport::Fixed(Rect::new(0, 0, 80, 24)),
        };
        let terminal = Terminal::with_options(backend, TerminalOptions { viewport })?;
        let (tx, rx) = unbounded_channel();
        // crossterm's read blocks: a thread of its own, ending with the process.
        std::thread::spawn(move || {
            while let Ok(ev) = event::read() {
                let msg = match ev {
                    Event::Key(key) => Msg::Key(key),
                    Event::Resize(..) => Msg::Resize,
                    _ => continue,
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        Ok((TerminalUi { terminal, theme }, rx))
    }
}

impl Drop for TerminalUi {
    fn drop(&mut self) {
        restore();
    }
}

impl Frontend for TerminalUi {
    fn draw(&mut self, app: &crate::app::App) -> io::Result<()> {
        let theme = &self.theme;
        self.terminal.draw(|frame| ui::view(app, theme, frame))?;
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.terminal.clear()
    }
}
