//! The terminal's backend: ratatui works out which cells changed, and this says them in few
//! bytes. A cursor move only where the changed cells are not contiguous (and then the shortest
//! one), colours and attributes only where they change (the 16 colours as SGR 30-37/90-97), a
//! frame that changes nothing writes nothing, and a frame reaches the terminal in one write. On
//! a 9,600-baud line every byte counts, and formatting each cell through crossterm's commands
//! was most of what a page key cost on a long list.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use std::io::{self, Write};

/// What the terminal draws the next character with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

/// What SGR 0 leaves.
const PLAIN: Pen = Pen {
    fg: Color::Reset,
    bg: Color::Reset,
    underline: Color::Reset,
    modifier: Modifier::empty(),
};

impl Pen {
    fn of(cell: &Cell) -> Pen {
        Pen {
            fg: cell.fg,
            bg: cell.bg,
            underline: cell.underline_color,
            modifier: cell.modifier,
        }
    }
}

/// Attributes with their SGR numbers: (modifier, on, off).
const ATTRIBUTES: [(Modifier, u8, u8); 9] = [
    (Modifier::BOLD, 1, 22),
    (Modifier::DIM, 2, 22),
    (Modifier::ITALIC, 3, 23),
    (Modifier::UNDERLINED, 4, 24),
    (Modifier::SLOW_BLINK, 5, 25),
    (Modifier::RAPID_BLINK, 6, 25),
    (Modifier::REVERSED, 7, 27),
    (Modifier::HIDDEN, 8, 28),
    (Modifier::CROSSED_OUT, 9, 29),
];

/// SGR parameters, separated by ';'.
#[derive(Default)]
struct Params(Vec<u8>);

impl Params {
    fn push(&mut self, n: u8) {
        if !self.0.is_empty() {
            self.0.push(b';');
        }
        number(&mut self.0, n.into());
    }

    /// A colour for `base` 30 (foreground), 40 (background) or 50 (underline, which has only
    /// the 256-colour form).
    fn color(&mut self, base: u8, color: Color) {
        let named = match color {
            Color::Reset => return self.push(base + 9),
            Color::Black => 0,
            Color::Red => 1,
            Color::Green => 2,
            Color::Yellow => 3,
            Color::Blue => 4,
            Color::Magenta => 5,
            Color::Cyan => 6,
            Color::Gray => 7,
            Color::DarkGray => 8,
            Color::LightRed => 9,
            Color::LightGreen => 10,
            Color::LightYellow => 11,
            Color::LightBlue => 12,
            Color::LightMagenta => 13,
            Color::LightCyan => 14,
            Color::White => 15,
            Color::Indexed(i) => return [base + 8, 5, i].into_iter().for_each(|n| self.push(n)),
            Color::Rgb(r, g, b) => {
                return [base + 8, 2, r, g, b]
                    .into_iter()
                    .for_each(|n| self.push(n));
            }
        };
        match (base, named) {
            (50, n) => [58, 5, n].into_iter().for_each(|n| self.push(n)),
            (_, n @ 0..8) => self.push(base + n),
            (_, n) => self.push(base + 60 + n - 8),
        }
    }

    /// From the pen `from` to `to`: only what differs.
    fn change(from: Pen, to: Pen) -> Params {
        let mut p = Params::default();
        let removed = from.modifier - to.modifier;
        // What is off after the codes that turn `removed` off: one code turns bold and dim
        // off together (22), and both blinks (25).
        let mut off = Modifier::empty();
        for (m, _, code) in ATTRIBUTES {
            if removed.contains(m) && !off.contains(m) {
                p.push(code);
                for (other, _, c) in ATTRIBUTES {
                    if c == code {
                        off |= other;
                    }
                }
            }
        }
        let on = from.modifier - off;
        for (m, code, _) in ATTRIBUTES {
            if to.modifier.contains(m) && !on.contains(m) {
                p.push(code);
            }
        }
        if from.fg != to.fg {
            p.color(30, to.fg);
        }
        if from.bg != to.bg {
            p.color(40, to.bg);
        }
        if from.underline != to.underline {
            p.color(50, to.underline);
        }
        p
    }

    /// From anything to `to`: a reset, then what `to` has.
    fn fresh(to: Pen) -> Params {
        let mut p = Params::default();
        p.push(0);
        let rest = Params::change(PLAIN, to);
        if !rest.0.is_empty() {
            p.0.push(b';');
            p.0.extend_from_slice(&rest.0);
        }
        p
    }
}

/// How many digits `n` has in decimal.
fn digits(n: u16) -> usize {
    match n {
        0..10 => 1,
        10..100 => 2,
        100..1000 => 3,
        1000..10000 => 4,
        _ => 5,
    }
}

/// `n` in decimal.
fn number(out: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

pub struct Quiet<W: Write> {
    out: W,
    /// The frame so far: it reaches `out` in one write when ratatui flushes after the draw.
    frame: Vec<u8>,
    /// What the terminal is known to have (None: not known): the cursor shown or not, where it
    /// is, and its pen.
    shown: Option<bool>,
    at: Option<Position>,
    pen: Option<Pen>,
    /// `at`'s column is the terminal's for certain: only printable ASCII was printed since the
    /// last absolute move (a wide or combining character moves the cursor as the terminal
    /// measures it).
    exact: bool,
}

impl<W: Write> Quiet<W> {
    pub fn new(out: W) -> Self {
        Quiet {
            out,
            frame: Vec::with_capacity(16 * 1024),
            shown: None,
            at: None,
            // As a terminal starts, and as every frame leaves it.
            pen: Some(PLAIN),
            exact: false,
        }
    }

    /// After something else wrote to the terminal (a resume, Ctrl-L): assume nothing.
    pub fn forget(&mut self) {
        self.shown = None;
        self.at = None;
        self.pen = None;
    }

    /// The cursor to `to`, in the fewest bytes from where it is.
    fn move_to(&mut self, to: Position) {
        let out = &mut self.frame;
        let absolute = || 3 + digits(to.y + 1) + if to.x > 0 { 1 + digits(to.x + 1) } else { 0 };
        match self.at {
            Some(at) if at == to => {}
            // CR is an absolute column.
            Some(at) if at.y == to.y && to.x == 0 => {
                out.push(b'\r');
                self.exact = true;
            }
            Some(at) if at.y + 1 == to.y && to.x == 0 => {
                out.extend_from_slice(b"\r\n");
                self.exact = true;
            }
            // Forward on the row (CUF), from a column known for certain.
            Some(at)
                if self.exact && at.y == to.y && at.x < to.x && {
                    let n = to.x - at.x;
                    3 + if n > 1 { digits(n) } else { 0 } < absolute()
                } =>
            {
                out.extend_from_slice(b"\x1b[");
                if to.x - at.x > 1 {
                    number(out, to.x - at.x);
                }
                out.push(b'C');
            }
            _ => {
                out.extend_from_slice(b"\x1b[");
                number(out, to.y + 1);
                if to.x > 0 {
                    out.push(b';');
                    number(out, to.x + 1);
                }
                out.push(b'H');
                self.exact = true;
            }
        }
        self.at = Some(to);
    }

    fn pen_to(&mut self, to: Pen) {
        let params = match self.pen {
            Some(pen) if pen == to => return,
            Some(pen) => {
                let change = Params::change(pen, to);
                let fresh = Params::fresh(to);
                if fresh.0.len() < change.0.len() {
                    fresh
                } else {
                    change
                }
            }
            None => Params::fresh(to),
        };
        self.frame.extend_from_slice(b"\x1b[");
        self.frame.extend_from_slice(&params.0);
        self.frame.push(b'm');
        self.pen = Some(to);
    }
}

impl<W: Write> Backend for Quiet<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut drew = false;
        for (x, y, cell) in content {
            drew = true;
            if self.at != Some(Position { x, y }) {
                self.move_to(Position { x, y });
            }
            let pen = Pen::of(cell);
            if self.pen != Some(pen) {
                self.pen_to(pen);
            }
            let symbol = cell.symbol().as_bytes();
            match symbol {
                [b] => self.frame.push(*b),
                _ => self.frame.extend_from_slice(symbol),
            }
            // As ratatui's diff assumes: a cell takes one column, and what follows a wide one
            // is not contiguous with it.
            self.at = Some(Position { x: x + 1, y });
            self.exact &= matches!(symbol, [b' '..=b'~']);
        }
        if drew {
            // The cursor past the last column is where the terminal says it is, not here.
            self.at = None;
            // Other writers (a clear, the exit) find the terminal's default pen.
            self.pen_to(PLAIN);
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.shown != Some(false) {
            self.frame.extend_from_slice(b"\x1b[?25l");
            self.shown = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.shown != Some(true) {
            self.frame.extend_from_slice(b"\x1b[?25h");
            self.shown = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        let (x, y) = crossterm::cursor::position()?;
        Ok(Position { x, y })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let position = position.into();
        if self.at != Some(position) {
            // Absolute: where a frame leaves the cursor is not known.
            self.at = None;
            self.move_to(position);
        }
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        // Erasing fills with the pen's background on most terminals.
        self.pen_to(PLAIN);
        self.frame.extend_from_slice(match clear_type {
            ClearType::All => b"\x1b[2J",
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        });
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.at = None;
        self.frame.extend(std::iter::repeat_n(b'\n', n.into()));
        self.flush()
    }

    fn size(&self) -> io::Result<Size> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(Size { width, height })
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let w = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size {
                width: w.columns,
                height: w.rows,
            },
            pixels: Size {
                width: w.width,
                height: w.height,
            },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        let written = self.out.write_all(&self.frame);
        self.frame.clear();
        written.and_then(|()| self.out.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;
    use ratatui::text::Line;
    use ratatui::{Terminal, TerminalOptions, Viewport};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// What reaches the terminal, and how many writes brought it.
    #[derive(Clone, Default)]
    struct Screen(Rc<RefCell<(Vec<u8>, usize)>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut s = self.0.borrow_mut();
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn take(&self) -> String {
            let mut s = self.0.borrow_mut();
            s.1 = 0;
            String::from_utf8(std::mem::take(&mut s.0)).unwrap()
        }
    }

    fn terminal(w: u16, h: u16) -> (Terminal<Quiet<Screen>>, Screen) {
        let screen = Screen::default();
        let viewport = Viewport::Fixed(Rect::new(0, 0, w, h));
        let t = Terminal::with_options(Quiet::new(screen.clone()), TerminalOptions { viewport });
        (t.unwrap(), screen)
    }

    fn frame(terminal: &mut Terminal<Quiet<Screen>>, screen: &Screen, line: &Line) -> String {
        screen.take();
        let line = line.clone();
        terminal.draw(|f| f.render_widget(line, f.area())).unwrap();
        screen.take()
    }

    #[test]
    fn a_frame_that_changes_nothing_writes_nothing() {
        let (mut terminal, screen) = terminal(20, 2);
        let text = |t: &str| Line::raw(t.to_owned());
        assert!(!frame(&mut terminal, &screen, &text("elapsed 5s")).is_empty());
        assert_eq!(frame(&mut terminal, &screen, &text("elapsed 5s")), "");
        // Only the changed cell, with no colour said.
        assert_eq!(
            frame(&mut terminal, &screen, &text("elapsed 6s")),
            "\x1b[1;9H6"
        );
        terminal.backend_mut().forget();
        assert_eq!(
            frame(&mut terminal, &screen, &text("elapsed 6s")),
            "\x1b[?25l",
            "the cursor is hidden again"
        );
    }

    #[test]
    fn a_frame_reaches_the_terminal_in_one_write_and_ends_with_the_default_colours() {
        let (mut terminal, screen) = terminal(20, 1);
        let line = Line::styled("elapsed 5s", Style::new().fg(Color::Cyan));
        terminal
            .draw(|f| f.render_widget(line.clone(), f.area()))
            .unwrap();
        assert_eq!(screen.0.borrow().1, 1, "one write");
        assert_eq!(
            screen.take(),
            "\x1b[1H\x1b[36melapsed 5s          \x1b[0m\x1b[?25l"
        );
        // Nothing is held back between frames.
        terminal.backend_mut().flush().unwrap();
        assert!(screen.take().is_empty());
    }

    #[test]
    fn moves_and_colours_are_said_in_their_shortest_form() {
        let (mut terminal, screen) = terminal(40, 12);
        let bold = Style::new().fg(Color::LightGreen).bold();
        let sent = {
            screen.take();
            terminal
                .draw(|f| {
                    let buf = f.buffer_mut();
                    buf.set_string(0, 10, "ab", Style::new());
                    buf.set_string(7, 10, "c", bold);
                    buf.set_string(0, 11, "d", bold.not_bold());
                    buf.set_string(30, 11, "e", Style::new().fg(Color::Indexed(200)));
                })
                .unwrap();
            screen.take()
        };
        // CUF to 7 on the row, bright green (92) and bold; CR LF to the next row's start; bold
        // off alone (22); CUF again, shorter than the absolute move.
        assert_eq!(
            sent,
            "\x1b[11Hab\x1b[5C\x1b[1;92mc\r\n\x1b[22md\x1b[29C\x1b[38;5;200me\x1b[0m\x1b[?25l"
        );
    }

    /// Random text in random styles, at random places, frame after frame.
    fn frames() -> impl Strategy<Value = Vec<Vec<(u16, u16, String, Style)>>> {
        let color = prop_oneof![
            Just(Color::Reset),
            (0u8..16).prop_map(|i| [
                Color::Black,
                Color::Red,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::Cyan,
                Color::Gray,
                Color::DarkGray,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
                Color::LightCyan,
                Color::White,
            ][usize::from(i)]),
            any::<u8>().prop_map(Color::Indexed),
            any::<(u8, u8, u8)>().prop_map(|(r, g, b)| Color::Rgb(r, g, b)),
        ];
        let style = (color.clone(), color, any::<u16>()).prop_map(|(fg, bg, m)| {
            Style::new()
                .fg(fg)
                .bg(bg)
                .add_modifier(Modifier::from_bits_truncate(m))
        });
        // Narrow glyphs only: a wide one written over half of another leaves the terminal as
        // ratatui's diff does not know it, whatever the backend (see the test after this).
        let text = proptest::string::string_regex("[ a-z\u{2500}\u{2713}]{1,12}").unwrap();
        let span = (0u16..24, 0u16..6, text, style);
        proptest::collection::vec(proptest::collection::vec(span, 0..8), 1..6)
    }

    fn vt_color(c: Color) -> vt100::Color {
        match c {
            Color::Reset => vt100::Color::Default,
            Color::Indexed(i) => vt100::Color::Idx(i),
            Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
            named => {
                let mut p = Params::default();
                p.color(30, named);
                let n: u8 = std::str::from_utf8(&p.0).unwrap().parse().unwrap();
                vt100::Color::Idx(if n >= 90 { n - 90 + 8 } else { n - 30 })
            }
        }
    }

    /// Every cell of `buf` as the terminal that was sent the bytes shows it.
    fn same_screen(vt: &vt100::Screen, buf: &Buffer) -> Result<(), TestCaseError> {
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                let want = &buf[(x, y)];
                let got = vt.cell(y, x).unwrap();
                if got.is_wide_continuation() {
                    continue;
                }
                let text = if got.has_contents() {
                    got.contents()
                } else {
                    " "
                };
                let at = format!("at {x},{y}");
                prop_assert_eq!(text, want.symbol(), "{}", at);
                prop_assert_eq!(got.fgcolor(), vt_color(want.fg), "{}", at);
                prop_assert_eq!(got.bgcolor(), vt_color(want.bg), "{}", at);
                let m = want.modifier;
                prop_assert_eq!(got.bold(), m.contains(Modifier::BOLD), "{}", at);
                prop_assert_eq!(got.dim(), m.contains(Modifier::DIM), "{}", at);
                prop_assert_eq!(got.italic(), m.contains(Modifier::ITALIC), "{}", at);
                prop_assert_eq!(got.underline(), m.contains(Modifier::UNDERLINED), "{}", at);
                prop_assert_eq!(got.inverse(), m.contains(Modifier::REVERSED), "{}", at);
            }
        }
        Ok(())
    }

    #[test]
    fn after_a_wide_character_the_cursor_is_placed_absolutely() {
        let (mut terminal, screen) = terminal(20, 1);
        let mut vt = vt100::Parser::new(1, 20, 0);
        let mut draw = |texts: &[(u16, &str)]| {
            let done = terminal
                .draw(|f| {
                    for (x, text) in texts {
                        f.buffer_mut().set_string(*x, 0, text, Style::new());
                    }
                })
                .unwrap();
            let drawn = done.buffer.clone();
            let sent = screen.take();
            vt.process(sent.as_bytes());
            same_screen(vt.screen(), &drawn).unwrap();
            sent
        };
        draw(&[(0, "ab"), (10, "x")]);
        // The wide one takes two columns; where the terminal put the cursor after it is not
        // assumed.
        assert_eq!(
            draw(&[(0, "\u{30b3}c"), (10, "y")]),
            "\x1b[1H\u{30b3}\x1b[1;3Hc\x1b[7Cy"
        );
    }

    proptest! {
        #[test]
        fn the_bytes_sent_redraw_the_screen_ratatui_drew(frames in frames(), cursor in any::<bool>()) {
            let (w, h) = (24, 6);
            let (mut terminal, screen) = terminal(w, h);
            let mut vt = vt100::Parser::new(h, w, 0);
            for (k, spans) in frames.iter().enumerate() {
                let done = terminal.draw(|f| {
                    let buf = f.buffer_mut();
                    for (x, y, text, style) in spans {
                        buf.set_string(*x, *y, text, *style);
                    }
                    // vt100 keeps one intensity, bold or dim.
                    for cell in &mut buf.content {
                        if cell.modifier.contains(Modifier::BOLD) {
                            cell.modifier.remove(Modifier::DIM);
                        }
                    }
                    if cursor {
                        f.set_cursor_position((k as u16 % w, k as u16 % h));
                    }
                }).unwrap();
                let drawn = done.buffer.clone();
                vt.process(screen.take().as_bytes());
                same_screen(vt.screen(), &drawn)?;
                if cursor {
                    prop_assert_eq!(vt.screen().cursor_position(), (k as u16 % h, k as u16 % w));
                }
                prop_assert_eq!(vt.screen().hide_cursor(), !cursor);
                if k == 2 {
                    // As after a resume: the terminal may show anything.
                    vt.process(b"\x1b[2J\x1b[5;3H\x1b[1;7;31m");
                    terminal.backend_mut().forget();
                    let area = terminal.get_frame().area();
                    terminal.resize(area).unwrap();
                }
            }
        }
    }
}
