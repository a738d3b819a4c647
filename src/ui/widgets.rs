//! Small drawing helpers shared by the screens: measured text, wrapping, bars, text fields, a
//! top-down line writer and popups. Text is wrapped here rather than by `Paragraph` so every
//! screen knows how many rows it uses before drawing.

use super::theme::Theme;
use crate::app::App;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

/// Printable ASCII: one column per byte, one cell per character.
fn plain(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// Display width in terminal columns.
pub fn width(text: &str) -> usize {
    if plain(text) {
        text.len()
    } else {
        Span::raw(text).width()
    }
}

/// The glyphs the themes draw with that take one column and never join a neighbour into one
/// grapheme (no combining mark, joiner or emoji presentation among them): box drawing and
/// blocks (rules, bars, the sparkline), dashes, bullets and the ellipsis, a few arrows, the
/// spinner's circles, the marks.
fn narrow(c: char) -> bool {
    matches!(c,
        '\u{b7}'
        | '\u{2010}'..='\u{2027}'
        | '\u{2039}' | '\u{203a}'
        | '\u{2190}'..='\u{2193}'
        | '\u{2500}'..='\u{259f}'
        | '\u{25d0}'..='\u{25d3}'
        | '\u{2605}' | '\u{2713}' | '\u{2717}')
}

/// Draws `line` as ratatui's `Line` widget does, into the first row of `area`. Printable ASCII
/// and the themes' [`narrow`] glyphs (most of every screen) go straight to their cells:
/// ratatui's grapheme segmentation of each cell was most of the cost of drawing a page of a
/// long list. Only the rest (an accented letter, a wide character, with the character on each
/// side, which may combine with it) goes through ratatui's `Span`: a cut between two of those
/// characters is always between graphemes.
pub fn draw_line(line: &Line, area: Rect, buf: &mut Buffer) {
    let area = Rect {
        height: 1,
        ..area.intersection(buf.area)
    };
    if !matches!(line.alignment, None | Some(Alignment::Left)) || area.is_empty() {
        return line.render(area, buf);
    }
    let empty = if line.spans.iter().all(|s| plain(&s.content)) {
        line.spans.iter().all(|s| s.content.is_empty())
    } else {
        line.width() == 0
    };
    if empty {
        return;
    }
    // A line's own style is mostly none, and setting none changes no cell.
    if line.style != Style::default() {
        buf.set_style(area, line.style);
    }
    let mut x = area.x;
    // The row's cells, the area's first at 0.
    let row = buf.index_of(area.x, area.y);
    for span in &line.spans {
        let text: &str = &span.content;
        if plain(text) {
            let room = usize::from(area.right().saturating_sub(x));
            for (k, b) in text.bytes().take(room).enumerate() {
                buf.content[row + usize::from(x - area.x) + k]
                    .set_char(char::from(b))
                    .set_style(span.style);
            }
            if text.len() >= room {
                return;
            }
            x += text.len() as u16;
            continue;
        }
        // Each character with whether it is simple; alone when its neighbours are too (a
        // span's ends count as simple). The rest goes out in runs, through ratatui.
        let mut chars = text
            .char_indices()
            .map(|(i, c)| {
                (
                    i,
                    c,
                    if c.is_ascii() {
                        (' '..='~').contains(&c)
                    } else {
                        narrow(c)
                    },
                )
            })
            .peekable();
        let mut before = true;
        let mut run: Option<usize> = None;
        loop {
            let next = chars.next();
            let end = next.map_or(text.len(), |(i, _, _)| i);
            let alone = next.is_some_and(|(_, _, simple)| {
                let after = chars.peek().is_none_or(|&(_, _, s)| s);
                let alone = simple && before && after;
                before = simple;
                alone
            });
            if next.is_some() && !alone {
                run.get_or_insert(end);
                continue;
            }
            if let Some(from) = run.take() {
                if x >= area.right() {
                    return;
                }
                let run = Span::styled(&text[from..end], span.style);
                let room = Rect {
                    x,
                    width: area.right() - x,
                    ..area
                };
                (&run).render(room, buf);
                x = x.saturating_add(u16::try_from(run.width()).unwrap_or(u16::MAX));
            }
            let Some((_, c, _)) = next else {
                break;
            };
            if x >= area.right() {
                return;
            }
            buf.content[row + usize::from(x - area.x)]
                .set_char(c)
                .set_style(span.style);
            x += 1;
        }
    }
}

/// Cuts `text` to `max` columns, ending with an ellipsis when something was cut.
pub fn fit(theme: &Theme, text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    let ell = theme.glyphs().ellipsis;
    let room = max.saturating_sub(width(ell));
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w > room {
            break;
        }
        out.push(c);
        used += w;
    }
    if max >= width(ell) {
        out.push_str(ell);
    }
    out
}

/// `fit`, then padded with spaces to exactly `cols` columns.
pub fn pad(theme: &Theme, text: &str, cols: usize) -> String {
    let mut s = fit(theme, text, cols);
    let w = width(&s);
    s.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    s
}

/// Greedy word wrap to `cols` columns; words longer than a line are cut across lines.
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        // `used`: the width of `line`, kept as it grows.
        let (mut line, mut used) = (String::new(), 0);
        for word in para.split_whitespace() {
            let need = if line.is_empty() { 0 } else { 1 } + width(word);
            if !line.is_empty() && used + need > cols {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            if !line.is_empty() {
                line.push(' ');
                used += 1;
            }
            if used + width(word) <= cols {
                line.push_str(word);
                used += width(word);
                continue;
            }
            for c in word.chars() {
                let w = width(c.encode_utf8(&mut [0; 4]));
                if used + w > cols {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// Wraps `text` only right after `sep` (a mapping after its commas), so every line copies as
/// whole entries; a piece longer than a line is cut, as nothing else can be done.
pub fn wrap_after(text: &str, sep: char, cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for piece in text.split_inclusive(sep) {
        if !line.is_empty() && width(&line) + width(piece) > cols {
            lines.push(std::mem::take(&mut line));
        }
        line.push_str(piece);
        while width(&line) > cols {
            let cut = line
                .char_indices()
                .scan(0, |w, (i, c)| {
                    *w += width(c.encode_utf8(&mut [0; 4]));
                    Some((i, *w))
                })
                .find(|(_, w)| *w > cols)
                .map_or(line.len(), |(i, _)| i);
            let rest = line.split_off(cut);
            lines.push(std::mem::replace(&mut line, rest));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A problem: `indent` spaces, the failure mark, then the text (made safe for the theme),
/// wrapped under itself.
pub fn problem(
    theme: &Theme,
    indent: usize,
    text: &str,
    cols: usize,
    style: Style,
) -> Vec<Line<'static>> {
    let lead = format!("{:indent$}{} ", "", theme.glyphs().failed);
    para(&lead, &theme.clean(text), cols, style)
}

/// Wrapped text as lines: `first` before the first line, continuation lines indented as wide.
pub fn para(first: &str, text: &str, cols: usize, style: Style) -> Vec<Line<'static>> {
    let indent = width(first);
    wrap(text, cols.saturating_sub(indent))
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let lead = if i == 0 {
                first.to_owned()
            } else {
                " ".repeat(indent)
            };
            Line::from(vec![Span::raw(lead), Span::styled(l, style)])
        })
        .collect()
}

/// "Label      value": the label padded to `label_cols`, then the value's spans.
pub fn kv(label: &str, label_cols: usize, value: Vec<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::raw(format!("{label:<label_cols$} "))];
    spans.extend(value);
    Line::from(spans)
}

/// done/total in 0..=1 (more done than total happens: estimates move).
pub fn ratio(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}

/// Whole percent, rounded down so 100% means done.
pub fn percent(done: u64, total: u64) -> u64 {
    (ratio(done, total) * 100.0).floor() as u64
}

/// A text progress bar `cols` wide.
pub fn bar(theme: &Theme, done: u64, total: u64, cols: usize) -> String {
    let g = theme.glyphs();
    let full = ((ratio(done, total) * cols as f64).floor() as usize).min(cols);
    let mut s = g.bar_full.repeat(full);
    s.push_str(&g.bar_empty.repeat(cols - full));
    s
}

/// A one-line text field: `[value   ]`, reverse video when focused. `cursor` is the cursor's
/// column within `shown`. Returns the spans and, when focused, the cursor column offset.
pub fn field(
    theme: &Theme,
    shown: &str,
    cursor: usize,
    focused: bool,
    cols: usize,
) -> (Vec<Span<'static>>, Option<u16>) {
    let inner = cols.saturating_sub(2).max(1);
    // Keep the cursor inside: scroll so it sits on the last column at most.
    let scroll = cursor.saturating_sub(inner - 1);
    let mut visible = String::new();
    let mut col = 0;
    for c in shown.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if col >= scroll && col + w <= scroll + inner {
            visible.push(c);
        }
        col += w;
    }
    let style = if focused {
        theme.focus()
    } else {
        theme.input()
    };
    let spans = vec![
        Span::raw("["),
        Span::styled(pad(theme, &visible, inner), style),
        Span::raw("]"),
    ];
    (spans, focused.then(|| (1 + cursor - scroll) as u16))
}

/// Places the terminal cursor, unless a modal covers the screen.
pub fn set_cursor(app: &App, frame: &mut Frame, x: u16, y: u16) {
    if app.modal.is_none() {
        frame.set_cursor_position(Position::new(x, y));
    }
}

/// Writes lines from the top of an area down, never past its bottom.
pub struct Writer<'f, 'a> {
    pub frame: &'f mut Frame<'a>,
    pub area: Rect,
    y: u16,
}

impl<'f, 'a> Writer<'f, 'a> {
    pub fn new(frame: &'f mut Frame<'a>, area: Rect) -> Self {
        Writer {
            frame,
            area,
            y: area.y,
        }
    }

    /// Rows still free.
    pub fn left(&self) -> usize {
        (self.area.bottom().saturating_sub(self.y)) as usize
    }

    pub fn cols(&self) -> usize {
        self.area.width as usize
    }

    /// Draws one line; returns its row, or None when the area is full.
    pub fn line(&mut self, line: impl Into<Line<'static>>) -> Option<u16> {
        let rect = self.take(1)?;
        draw_line(&line.into(), rect, self.frame.buffer_mut());
        Some(rect.y)
    }

    pub fn lines(&mut self, lines: impl IntoIterator<Item = Line<'static>>) {
        for l in lines {
            if self.line(l).is_none() {
                break;
            }
        }
    }

    /// An empty row, skipped when it would be the last free one (content matters more).
    pub fn gap(&mut self) {
        if self.left() > 1 {
            self.y += 1;
        }
    }

    /// Reserves `rows` rows (fewer if not free); None when none are.
    pub fn take(&mut self, rows: usize) -> Option<Rect> {
        let rows = rows.min(self.left()) as u16;
        if rows == 0 || self.area.width == 0 {
            return None;
        }
        let rect = Rect::new(self.area.x, self.y, self.area.width, rows);
        self.y += rows;
        Some(rect)
    }
}

/// Clears a centred box of at most `w`x`h` inside `area`, draws its border and title, and
/// returns the inside.
pub fn popup(theme: &Theme, frame: &mut Frame, area: Rect, title: &str, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .border_set(theme.glyphs().border)
        .border_style(theme.border())
        .title(Span::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    inner
}

/// `key desc` pairs as one line.
pub fn hint_spans(theme: &Theme, hints: &[(&'static str, &'static str)]) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (i, (key, desc)) in hints.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::raw(format!(" {desc}")));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
    }

    #[test]
    fn wrap_after_breaks_only_after_the_separator() {
        assert_eq!(
            wrap_after("/dev/xvda=/dev/sdb,/dev/xvdb=EXCLUDE", ',', 24),
            ["/dev/xvda=/dev/sdb,", "/dev/xvdb=EXCLUDE"]
        );
        assert_eq!(wrap_after("a,b,c", ',', 10), ["a,b,c"]);
        assert_eq!(wrap_after("abcdef,g", ',', 4), ["abcd", "ef,g"]);
        assert_eq!(wrap_after("", ',', 4), [""]);
    }

    #[test]
    fn bars_clamp_overshoot() {
        let t = Theme::new(false, false);
        assert_eq!(bar(&t, 5, 10, 4), "##..");
        assert_eq!(bar(&t, 50, 10, 4), "####");
        assert_eq!(bar(&t, 1, 0, 2), "..");
        assert_eq!(percent(999, 1000), 99);
    }

    #[test]
    fn fit_marks_cuts() {
        let t = Theme::new(false, false);
        assert_eq!(fit(&t, "abcdef", 5), "ab...");
        assert_eq!(fit(&t, "abc", 5), "abc");
        assert_eq!(pad(&t, "ab", 4), "ab  ");
    }

    #[test]
    fn a_line_draws_as_ratatuis_line_widget_would() {
        use ratatui::style::{Color, Modifier, Stylize};
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let lines = [
            Line::from(vec![
                Span::raw("> "),
                Span::styled("selected row", bold.fg(Color::Cyan)),
            ]),
            Line::styled(
                "a warning across the whole row",
                Style::new().fg(Color::Yellow),
            ),
            Line::from(vec![
                Span::raw("cut at the edge "),
                Span::styled("of the area, far past it", bold),
            ]),
            Line::from(vec![
                Span::raw("wide "),
                "日本語".red(),
                Span::raw(" é after"),
            ]),
            Line::from(vec![Span::raw("★"), Span::raw(" best match")]).reversed(),
            Line::from("Ubuntu 22.0… 1 vol 8 GiB ★x y✗ ─────"),
            Line::from("─────────────────────────────────────"),
            Line::from("◐ → • — › █░▁▂▃ ·✓ ‹x› ✗\u{301}─\u{fe0f}★\u{200d}★ é─"),
            Line::from("cafe\u{301} a\u{200d}b \u{600}1 ok\u{301}"),
            Line::from("a wide 日 cut at the last column: 日本"),
            Line::from("centred").centered(),
            Line::styled("", bold),
            Line::from(vec![Span::raw(""), Span::styled("x", bold)]),
        ];
        for line in &lines {
            for area in [Rect::new(2, 1, 20, 1), Rect::new(0, 0, 30, 2)] {
                let mut ours = Buffer::empty(Rect::new(0, 0, 30, 3));
                let mut theirs = ours.clone();
                // What an earlier widget left there.
                for buf in [&mut ours, &mut theirs] {
                    buf.set_string(0, 1, "underneath ".repeat(3), Style::new().fg(Color::Red));
                }
                draw_line(line, area, &mut ours);
                line.render(area, &mut theirs);
                assert_eq!(ours, theirs, "{line:?} in {area:?}");
            }
        }
    }

    #[test]
    fn field_scrolls_to_keep_the_cursor_visible() {
        let t = Theme::new(false, false);
        let (spans, cur) = field(&t, "abcdefghij", 10, true, 6);
        assert_eq!(spans[1].content, "hij ");
        assert_eq!(cur, Some(4));
    }
}
