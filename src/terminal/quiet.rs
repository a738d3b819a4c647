//! A backend that writes nothing a terminal already shows. ratatui diffs the cells, but every
//! frame still ends with colour resets and a cursor command even when no cell changed: on a
//! 9,600-baud line those bytes add up to a large share of the dashboard's budget.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use std::io::{self, Write};

pub struct Quiet<B> {
    inner: B,
    /// What the terminal's cursor is known to be: shown or not, and where. None: not known.
    shown: Option<bool>,
    at: Option<Position>,
}

impl<B> Quiet<B> {
    pub fn new(inner: B) -> Self {
        Quiet {
            inner,
            shown: None,
            at: None,
        }
    }

    /// After something else wrote to the terminal (a resume, Ctrl-L): assume nothing.
    pub fn forget(&mut self) {
        self.shown = None;
        self.at = None;
    }
}

impl<B: Backend> Backend for Quiet<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        // Printing moves the cursor.
        self.at = None;
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        if self.shown != Some(false) {
            self.inner.hide_cursor()?;
            self.shown = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        if self.shown != Some(true) {
            self.inner.show_cursor()?;
            self.shown = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        let position = position.into();
        if self.at != Some(position) {
            self.inner.set_cursor_position(position)?;
            self.at = Some(position);
        }
        Ok(())
    }

    fn clear(&mut self) -> Result<(), Self::Error> {
        self.at = None;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.at = None;
        self.inner.clear_region(clear_type)
    }

    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.at = None;
        self.inner.append_lines(n)
    }

    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }

    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

/// What ratatui's crossterm backend ends every frame with: default colours (foreground,
/// background, underline) and no attributes.
const RESETS: &[u8] = b"\x1b[39m\x1b[49m\x1b[59m\x1b[0m";
/// The same in one: SGR 0 resets colours and attributes alike.
const RESET: &[u8] = b"\x1b[0m";

/// Collects a frame's many small writes and hands them to `out` when ratatui flushes at the end
/// of the draw, with the frame's closing resets said in 4 bytes instead of 19 (at two or three
/// frames a second, a sixth of the dashboard's bytes).
pub struct Frames<W: Write> {
    frame: Vec<u8>,
    out: W,
}

impl<W: Write> Frames<W> {
    pub fn new(out: W) -> Self {
        Frames {
            frame: Vec::with_capacity(16 * 1024),
            out,
        }
    }
}

impl<W: Write> Write for Frames<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut written = Ok(());
        let mut rest = &self.frame[..];
        while let Some(at) = memchr::memmem::find(rest, RESETS) {
            written = written
                .and_then(|()| self.out.write_all(&rest[..at]))
                .and_then(|()| self.out.write_all(RESET));
            rest = &rest[at + RESETS.len()..];
        }
        written = written.and_then(|()| self.out.write_all(rest));
        self.frame.clear();
        written.and_then(|()| self.out.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;
    use ratatui::style::{Color, Style};
    use ratatui::text::Line;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Counts what reaches the terminal.
    #[derive(Clone, Default)]
    struct Wire(Rc<RefCell<usize>>);

    impl Write for Wire {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            *self.0.borrow_mut() += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frame(
        terminal: &mut Terminal<Quiet<CrosstermBackend<Wire>>>,
        wire: &Wire,
        text: &str,
    ) -> usize {
        let before = *wire.0.borrow();
        terminal
            .draw(|f| f.render_widget(Line::raw(text.to_owned()), f.area()))
            .unwrap();
        *wire.0.borrow() - before
    }

    #[test]
    fn a_frame_that_changes_nothing_writes_nothing() {
        let wire = Wire::default();
        let backend = CrosstermBackend::new(wire.clone());
        let mut terminal = Terminal::with_options(
            Quiet::new(backend),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 20, 2)),
            },
        )
        .unwrap();
        assert!(frame(&mut terminal, &wire, "elapsed 5s") > 0);
        assert_eq!(frame(&mut terminal, &wire, "elapsed 5s"), 0);
        assert!(frame(&mut terminal, &wire, "elapsed 6s") > 0);
        terminal.backend_mut().forget();
        let again = frame(&mut terminal, &wire, "elapsed 6s");
        assert_eq!(again, "\x1b[?25l".len(), "the cursor is hidden again");
    }

    /// What reaches the terminal.
    #[derive(Clone, Default)]
    struct Screen(Rc<RefCell<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_reaches_the_terminal_whole_at_the_flush_and_ends_with_one_reset() {
        let screen = Screen::default();
        let backend = CrosstermBackend::new(Frames::new(screen.clone()));
        let mut terminal = Terminal::with_options(
            Quiet::new(backend),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 20, 1)),
            },
        )
        .unwrap();
        let line = Line::styled("elapsed 5s", Style::new().fg(Color::Cyan));
        terminal
            .draw(|f| f.render_widget(line.clone(), f.area()))
            .unwrap();
        let sent = String::from_utf8(screen.0.borrow().clone()).unwrap();
        assert_eq!(
            sent,
            "\x1b[1;1H\x1b[38;5;6;49melapsed 5s          \x1b[0m\x1b[?25l"
        );
        // Nothing is held back between frames.
        screen.0.borrow_mut().clear();
        terminal.backend_mut().flush().unwrap();
        assert!(screen.0.borrow().is_empty());
    }
}
