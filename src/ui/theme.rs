//! The one style table and the one glyph table. Colour is a bonus: every meaning is also carried
//! by a modifier or a text marker, so a monochrome serial console loses nothing.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::{bar, border};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub unicode: bool,
    pub color: bool,
    /// The Linux VGA/framebuffer console (TERM=linux): Unicode, but its fonts hold only a few
    /// hundred glyphs (no check mark, star, eighth blocks or circles).
    pub linux_console: bool,
}

/// The non-ASCII glyphs every standard Linux console font has (Lat15-*, Lat2-*, Uni2-*, Uni3-*
/// of console-setup, read from their Unicode tables).
pub const LINUX_CONSOLE_GLYPHS: &str = "✗×♦●■▲▼▶→←↑↓•·…—–›»█▒░─│┌┐└┘├┤┬┴┼═║";

/// Characters that differ between a Unicode terminal and a 7-bit one.
#[derive(Debug)]
pub struct Glyphs {
    pub border: border::Set<'static>,
    /// Checklist marks, all of one width within a set.
    pub ok: &'static str,
    pub failed: &'static str,
    pub skipped: &'static str,
    pub pending: &'static str,
    /// A check that passed with a warning.
    pub warn: &'static str,
    /// Spinner frames; ASCII ones are wrapped to the checklist mark width by `running`.
    pub spinner: &'static [&'static str],
    /// One-column marks: a row that cannot be used, a horizontal rule.
    pub cross: &'static str,
    pub rule: &'static str,
    pub arrow: &'static str,
    pub best: &'static str,
    pub bullet: &'static str,
    pub ellipsis: &'static str,
    pub dash: &'static str,
    pub step_sep: &'static str,
    pub bar_full: &'static str,
    pub bar_empty: &'static str,
    pub sparkline: bar::Set<'static>,
}

/// `+ - |` borders: ratatui has no ASCII set.
const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

const ASCII_SPARKLINE: bar::Set<'static> = bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "=",
    five_eighths: "=",
    half: "-",
    three_eighths: "-",
    one_quarter: "_",
    one_eighth: "_",
    empty: " ",
};

static UNICODE: Glyphs = Glyphs {
    border: border::PLAIN,
    ok: "✓",
    failed: "✗",
    skipped: "-",
    pending: "·",
    warn: "!",
    spinner: &["◐", "◓", "◑", "◒"],
    cross: "✗",
    rule: "─",
    arrow: "→",
    best: "★",
    bullet: "•",
    ellipsis: "…",
    dash: "—",
    step_sep: " › ",
    bar_full: "█",
    bar_empty: "░",
    sparkline: bar::NINE_LEVELS,
};

const CONSOLE_SPARKLINE: bar::Set<'static> = bar::Set {
    full: "█",
    seven_eighths: "█",
    three_quarters: "▒",
    five_eighths: "▒",
    half: "░",
    three_eighths: "░",
    one_quarter: "░",
    one_eighth: "░",
    empty: " ",
};

static LINUX_CONSOLE: Glyphs = Glyphs {
    border: border::PLAIN,
    ok: "+",
    failed: "✗",
    skipped: "-",
    pending: "·",
    warn: "!",
    spinner: &["|", "/", "-", "\\"],
    cross: "✗",
    rule: "─",
    arrow: "→",
    best: "*",
    bullet: "•",
    ellipsis: "…",
    dash: "—",
    step_sep: " › ",
    bar_full: "█",
    bar_empty: "░",
    sparkline: CONSOLE_SPARKLINE,
};

static ASCII: Glyphs = Glyphs {
    border: ASCII_BORDER,
    ok: "[ok]",
    failed: "[!!]",
    skipped: "[--]",
    pending: "[  ]",
    warn: "[??]",
    spinner: &["|", "/", "-", "\\"],
    cross: "x",
    rule: "-",
    arrow: "->",
    best: "*",
    bullet: "-",
    ellipsis: "...",
    dash: "-",
    step_sep: " > ",
    bar_full: "#",
    bar_empty: ".",
    sparkline: ASCII_SPARKLINE,
};

fn has(value: &Option<String>, words: &[&str]) -> bool {
    value
        .as_deref()
        .map(str::to_ascii_lowercase)
        .is_some_and(|v| words.iter().any(|w| v.contains(w)))
}

impl Theme {
    pub fn new(unicode: bool, color: bool) -> Theme {
        Theme {
            unicode,
            color,
            linux_console: false,
        }
    }

    /// From the environment: NO_COLOR (any value) drops colour; a serial or dumb TERM, or a
    /// locale that is not UTF-8, falls back to ASCII (and those terminals have no colour either).
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Theme {
        let term = env("TERM").unwrap_or_default().to_ascii_lowercase();
        let plain_term = term.is_empty()
            || term == "dumb"
            || term == "ansi"
            || term.starts_with("vt")
            || term.contains("serial");
        // POSIX precedence: the first of these that is set and not empty decides.
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .into_iter()
            .map(&env)
            .find(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
            .flatten();
        let utf8 = has(&locale, &["utf-8", "utf8"]);
        Theme {
            unicode: utf8 && !plain_term,
            color: env("NO_COLOR").is_none() && !plain_term,
            linux_console: term == "linux",
        }
    }

    pub fn glyphs(&self) -> &'static Glyphs {
        match (self.unicode, self.linux_console) {
            (false, _) => &ASCII,
            (true, true) => &LINUX_CONSOLE,
            (true, false) => &UNICODE,
        }
    }

    /// The spinner frame for a clock in seconds (the app ticks once a second).
    pub fn spinner(&self, now: f64) -> &'static str {
        let frames = self.glyphs().spinner;
        frames[(now.max(0.0) as usize) % frames.len()]
    }

    /// A running checklist mark, as wide as the other marks.
    pub fn running(&self, now: f64) -> Cow<'static, str> {
        let frame = self.spinner(now);
        if self.unicode {
            Cow::Borrowed(frame)
        } else {
            Cow::Owned(format!("[{frame} ]"))
        }
    }

    /// Text from outside (AWS, logs, the replicator) made safe for a 7-bit terminal.
    pub fn clean<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.unicode || text.is_ascii() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                c if c.is_ascii() => out.push(c),
                '…' => out.push_str("..."),
                '—' | '–' | '‐' => out.push('-'),
                '→' => out.push_str("->"),
                '‘' | '’' => out.push('\''),
                '“' | '”' => out.push('"'),
                '✓' => out.push_str("ok"),
                '✗' => out.push('x'),
                '\u{a0}' => out.push(' '),
                _ => out.push('?'),
            }
        }
        Cow::Owned(out)
    }

    fn pick(&self, color: Style, mono: Style) -> Style {
        // Mono sets no colour at all, not even Reset: with NO_COLOR crossterm turns colour
        // changes into attribute resets that would also clear bold and reverse.
        if self.color { color } else { mono }
    }

    pub fn title(&self) -> Style {
        self.bold(Color::Cyan)
    }
    /// The focused control: reverse video reads on any terminal.
    pub fn focus(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    /// The cursor row of a list or table.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// Greyed out; rows using it also carry a text marker since DIM may not render.
    pub fn muted(&self) -> Style {
        self.pick(
            Style::new().fg(Color::DarkGray),
            Style::new().add_modifier(Modifier::DIM),
        )
    }
    /// Bold, and in `color` where colours are allowed.
    fn bold(&self, color: Color) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD);
        self.pick(s.fg(color), s)
    }
    pub fn error(&self) -> Style {
        self.bold(Color::Red)
    }
    pub fn warning(&self) -> Style {
        self.bold(Color::Yellow)
    }
    pub fn ok(&self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }
    /// Disks about to be overwritten: bold in every theme.
    pub fn danger(&self) -> Style {
        self.bold(Color::LightRed)
    }
    /// A call to action (Enter to start, l to launch).
    pub fn emphasis(&self) -> Style {
        self.bold(Color::LightGreen)
    }
    pub fn key(&self) -> Style {
        self.bold(Color::Cyan)
    }
    /// A text field's extent when not focused.
    pub fn input(&self) -> Style {
        Style::new().add_modifier(Modifier::UNDERLINED)
    }
    pub fn banner(&self) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD);
        self.pick(
            s.fg(Color::Black).bg(Color::Yellow),
            s.add_modifier(Modifier::REVERSED),
        )
    }
    pub fn border(&self) -> Style {
        self.pick(Style::new().fg(Color::Gray), Style::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn utf8_xterm_gets_unicode_and_colour() {
        let t = Theme::detect(env(&[("TERM", "xterm-256color"), ("LANG", "en_US.UTF-8")]));
        assert_eq!(t, Theme::new(true, true));
    }

    #[test]
    fn no_color_with_any_value_drops_colour_only() {
        let t = Theme::detect(env(&[
            ("TERM", "xterm"),
            ("LANG", "C.utf8"),
            ("NO_COLOR", ""),
        ]));
        assert_eq!(t, Theme::new(true, false));
    }

    /// Every glyph of a set, the spinner's frames included.
    fn every(g: &Glyphs) -> Vec<&'static str> {
        let b = g.border;
        let s = &g.sparkline;
        let mut all = vec![
            g.ok,
            g.failed,
            g.skipped,
            g.pending,
            g.cross,
            g.rule,
            g.arrow,
            g.best,
            g.bullet,
            g.ellipsis,
            g.dash,
            g.step_sep,
            g.bar_full,
            g.bar_empty,
            b.top_left,
            b.top_right,
            b.bottom_left,
            b.bottom_right,
            b.vertical_left,
            b.vertical_right,
            b.horizontal_top,
            b.horizontal_bottom,
            s.empty,
            s.one_eighth,
            s.one_quarter,
            s.three_eighths,
            s.half,
            s.five_eighths,
            s.three_quarters,
            s.seven_eighths,
            s.full,
        ];
        all.extend(g.spinner);
        all
    }

    #[test]
    fn linux_console_glyphs_are_in_its_fonts() {
        let t = Theme::detect(env(&[("TERM", "linux"), ("LANG", "C.UTF-8")]));
        assert!(t.unicode && t.linux_console && t.color);
        for glyph in every(t.glyphs()) {
            for c in glyph.chars().filter(|c| !c.is_ascii()) {
                assert!(LINUX_CONSOLE_GLYPHS.contains(c), "{c}");
            }
        }
    }

    #[test]
    fn ascii_glyphs_are_ascii() {
        for glyph in every(Theme::new(false, true).glyphs()) {
            assert!(glyph.is_ascii(), "{glyph:?}");
        }
    }

    #[test]
    fn serial_terms_and_non_utf8_locales_get_ascii() {
        for term in ["vt100", "vt220", "dumb"] {
            let t = Theme::detect(env(&[("TERM", term), ("LANG", "en_US.UTF-8")]));
            assert_eq!(t, Theme::new(false, false), "{term}");
        }
        let t = Theme::detect(env(&[
            ("TERM", "xterm"),
            ("LANG", "en_US.UTF-8"),
            ("LC_ALL", "C"),
        ]));
        assert!(!t.unicode, "LC_ALL overrides LANG");
        let t = Theme::detect(env(&[("TERM", "xterm")]));
        assert!(!t.unicode, "no locale is the C locale");
    }

    #[test]
    fn clean_transliterates_for_ascii_only() {
        let ascii = Theme::new(false, false);
        assert_eq!(ascii.clean("Pairing…"), "Pairing...");
        assert_eq!(ascii.clean("a → b ✗ ü"), "a -> b x ?");
        assert_eq!(Theme::new(true, false).clean("Pairing…"), "Pairing…");
    }
}
