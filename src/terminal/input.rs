//! Bytes from the terminal to keys and pastes. Owned here, not crossterm's reader: that one
//! waits forever for the end of `ESC [ ?` sequences and of pastes, drops the bytes around an
//! invalid one, and hands input over 1 KiB out one block per later keystroke.
//!
//! The decoder is pure: `feed` takes whatever bytes arrived, `timeout` is called when none
//! arrived for `Decoder::wait()`; the reader thread does the I/O.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Duration;

/// What the operator did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    /// A bracketed paste, whole; line ends as `\n`, invalid bytes dropped.
    Paste(String),
}

/// How long a lone ESC or an unfinished sequence waits for its next byte: terminals send a
/// sequence in one write, so a gap this long means the operator pressed Esc.
const ESC_WAIT: Duration = Duration::from_millis(100);
/// Silence inside a paste that ends it (a slow link still delivers a paste in a steady flow).
const PASTE_WAIT: Duration = Duration::from_secs(1);
/// Longer sequences are not keys: the rest of one is skipped.
const MAX_SEQUENCE: usize = 32;
/// A paste beyond this is cut (and still ends as one paste): no field takes more.
const MAX_PASTE: usize = 1 << 20;
const PASTE_END: &[u8] = b"\x1b[201~";

#[derive(Debug, Default)]
enum State {
    #[default]
    Ground,
    /// ESC seen.
    Escape,
    /// ESC O: one more byte names the key.
    Ss3,
    /// ESC [ and the bytes after it; `skip` once it grew too long to be a key.
    Csi {
        bytes: Vec<u8>,
        skip: bool,
    },
    /// ESC [ [: the Linux console's F1-F5.
    LinuxFn,
    /// A multi-byte UTF-8 character, `need` bytes long.
    Utf8 {
        bytes: Vec<u8>,
        need: usize,
    },
    Paste(Vec<u8>),
}

#[derive(Debug, Default)]
pub struct Decoder {
    state: State,
    out: Vec<Input>,
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Input {
    Input::Key(KeyEvent::new(code, modifiers))
}

fn plain(code: KeyCode) -> Input {
    key(code, KeyModifiers::NONE)
}

/// A single byte in ground state, if it is a key by itself (ASCII and control codes).
fn byte_key(b: u8) -> Option<Input> {
    let ctrl = KeyModifiers::CONTROL;
    Some(match b {
        b'\r' | b'\n' => plain(KeyCode::Enter),
        b'\t' => plain(KeyCode::Tab),
        0x7f | 0x08 => plain(KeyCode::Backspace),
        0x00 => key(KeyCode::Char(' '), ctrl),
        0x01..=0x1a => key(KeyCode::Char((b - 1 + b'a') as char), ctrl),
        0x1c..=0x1f => key(KeyCode::Char((b - 0x1c + b'4') as char), ctrl),
        0x20..=0x7e => {
            let c = b as char;
            let m = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            key(KeyCode::Char(c), m)
        }
        _ => return None,
    })
}

/// The length of a UTF-8 character from its first byte; None for a byte that cannot start one.
fn utf8_len(b: u8) -> Option<usize> {
    match b {
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

/// xterm's modifier parameter: 1 + shift(1) + alt(2) + ctrl(4).
fn modifiers(param: Option<&str>) -> KeyModifiers {
    let bits = param
        .and_then(|p| p.parse::<u8>().ok())
        .unwrap_or(1)
        .saturating_sub(1);
    let mut m = KeyModifiers::NONE;
    if bits & 1 != 0 {
        m |= KeyModifiers::SHIFT;
    }
    if bits & 2 != 0 {
        m |= KeyModifiers::ALT;
    }
    if bits & 4 != 0 {
        m |= KeyModifiers::CONTROL;
    }
    m
}

fn ss3_key(b: u8) -> Option<KeyCode> {
    Some(match b {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P'..=b'S' => KeyCode::F(b - b'P' + 1),
        _ => return None,
    })
}

/// A whole CSI sequence (after `ESC [`) as a key; None for anything else (dropped).
fn csi_key(seq: &[u8]) -> Option<Input> {
    let (&last, params) = seq.split_last()?;
    let params = std::str::from_utf8(params).ok()?;
    if params.starts_with(['?', '<', '>', '=']) {
        return None; // Replies and private modes, never keys.
    }
    let mut fields = params.split(';');
    let first = fields.next().filter(|f| !f.is_empty());
    let m = modifiers(fields.next());
    let code = match last {
        b'Z' => return Some(key(KeyCode::BackTab, KeyModifiers::SHIFT)),
        b'~' => match first?.parse::<u8>().ok()? {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            n @ 11..=15 => KeyCode::F(n - 10),
            n @ 17..=21 => KeyCode::F(n - 11),
            n @ 23..=24 => KeyCode::F(n - 12),
            _ => return None,
        },
        b'A'..=b'D' | b'H' | b'F' | b'P'..=b'S' => ss3_key(last)?,
        _ => return None,
    };
    Some(key(code, m))
}

/// Paste text: invalid UTF-8 dropped byte by byte, line ends made `\n`. The bytes (a pasted
/// secret, maybe) are zeroed once copied.
fn paste_text(mut bytes: Vec<u8>) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut after_cr = false;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => text.push('\n'),
                '\n' if after_cr => {}
                c => text.push(c),
            }
            after_cr = c == '\r';
        }
    }
    zeroize::Zeroize::zeroize(&mut bytes);
    text
}

impl Decoder {
    /// How long to wait for more bytes before calling `timeout`; None: wait for ever.
    pub fn wait(&self) -> Option<Duration> {
        match self.state {
            State::Ground => None,
            State::Paste(_) => Some(PASTE_WAIT),
            _ => Some(ESC_WAIT),
        }
    }

    /// Decodes the bytes that arrived; returns what they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Input> {
        for &b in bytes {
            self.byte(b);
        }
        std::mem::take(&mut self.out)
    }

    /// No byte came in time: a lone ESC is the Esc key, an unfinished sequence or character is
    /// dropped, an unterminated paste ends with what it holds.
    pub fn timeout(&mut self) -> Vec<Input> {
        match std::mem::take(&mut self.state) {
            State::Escape => self.out.push(plain(KeyCode::Esc)),
            State::Paste(bytes) => self.out.push(Input::Paste(paste_text(bytes))),
            _ => {}
        }
        std::mem::take(&mut self.out)
    }

    fn byte(&mut self, b: u8) {
        match std::mem::take(&mut self.state) {
            State::Ground => self.ground(b),
            State::Escape => match b {
                b'[' => {
                    self.state = State::Csi {
                        bytes: Vec::new(),
                        skip: false,
                    }
                }
                b'O' => self.state = State::Ss3,
                0x1b => {
                    self.out.push(plain(KeyCode::Esc));
                    self.state = State::Escape;
                }
                _ => match byte_key(b) {
                    // ESC then a printable key: that key with Alt. Esc then Enter typed fast
                    // stays two keys.
                    Some(Input::Key(mut k)) if (0x20..0x7f).contains(&b) => {
                        k.modifiers |= KeyModifiers::ALT;
                        self.out.push(Input::Key(k));
                    }
                    _ => {
                        self.out.push(plain(KeyCode::Esc));
                        self.ground(b);
                    }
                },
            },
            State::Ss3 => match ss3_key(b) {
                Some(code) => self.out.push(plain(code)),
                // Another final byte: an unknown key, dropped; anything else starts afresh.
                None if (0x40..=0x7e).contains(&b) => {}
                None => self.ground(b),
            },
            State::Csi { mut bytes, skip } => match b {
                b'[' if bytes.is_empty() => self.state = State::LinuxFn,
                0x20..=0x3f => {
                    let skip = skip || bytes.len() >= MAX_SEQUENCE;
                    if !skip {
                        bytes.push(b);
                    }
                    self.state = State::Csi { bytes, skip };
                }
                0x40..=0x7e => {
                    bytes.push(b);
                    if skip {
                        // Too long to be a key: dropped whole.
                    } else if bytes == b"200~" {
                        self.state = State::Paste(Vec::new());
                    } else if let Some(k) = csi_key(&bytes) {
                        self.out.push(k);
                    }
                }
                // Not part of a sequence: the sequence is dropped, this byte counts.
                _ => self.ground(b),
            },
            State::LinuxFn => match b {
                b'A'..=b'E' => self.out.push(plain(KeyCode::F(b - b'A' + 1))),
                0x40..=0x7e => {}
                _ => self.ground(b),
            },
            State::Utf8 { mut bytes, need } => {
                if b & 0xc0 == 0x80 {
                    bytes.push(b);
                    if bytes.len() < need {
                        self.state = State::Utf8 { bytes, need };
                    } else if let Some(c) = std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(|s| s.chars().next())
                    {
                        self.out.push(plain(KeyCode::Char(c)));
                    }
                } else {
                    // The character broke off: its bytes are dropped, this one counts.
                    self.ground(b);
                }
            }
            State::Paste(mut bytes) => {
                if bytes.len() < MAX_PASTE + PASTE_END.len() {
                    bytes.push(b);
                } else {
                    // Full: keep only a tail long enough to see the end marker.
                    let at = bytes.len() - (PASTE_END.len() - 1);
                    bytes.copy_within(at.., MAX_PASTE);
                    bytes.truncate(MAX_PASTE + PASTE_END.len() - 1);
                    bytes.push(b);
                }
                if bytes.ends_with(PASTE_END) {
                    bytes.truncate(bytes.len() - PASTE_END.len());
                    bytes.truncate(MAX_PASTE);
                    self.out.push(Input::Paste(paste_text(bytes)));
                } else {
                    self.state = State::Paste(bytes);
                }
            }
        }
    }

    fn ground(&mut self, b: u8) {
        if b == 0x1b {
            self.state = State::Escape;
        } else if let Some(k) = byte_key(b) {
            self.out.push(k);
        } else if let Some(need) = utf8_len(b) {
            self.state = State::Utf8 {
                bytes: vec![b],
                need,
            };
        }
        // Any other byte is invalid UTF-8: dropped alone.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ch(c: char) -> Input {
        match byte_key(c as u8) {
            Some(k) if c.is_ascii() => k,
            _ => plain(KeyCode::Char(c)),
        }
    }

    fn chars(s: &str) -> Vec<Input> {
        s.chars().map(ch).collect()
    }

    fn decode(chunks: &[&[u8]]) -> Vec<Input> {
        let mut d = Decoder::default();
        let mut out: Vec<Input> = chunks.iter().flat_map(|c| d.feed(c)).collect();
        out.extend(d.timeout());
        out
    }

    #[test]
    fn invalid_bytes_are_dropped_alone() {
        assert_eq!(decode(&[b"ab\xffcd"]), chars("abcd"));
        assert_eq!(decode(&[b"a\xc3b\xe2\x82c"]), chars("abc"));
        assert_eq!(decode(&[b"\xc3\xa9t\xc3", b"\xa9"]), chars("\u{e9}t\u{e9}"));
    }

    #[test]
    fn private_mode_sequences_never_swallow_later_keys() {
        // crossterm waited for a `u` or `c` after `ESC [ ?`, eating Ctrl-C on the way.
        assert_eq!(decode(&[b"\x1b[?1049lq"]), chars("q"));
        assert_eq!(decode(&[b"\x1b[?uq"]), chars("q"));
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"\x1b[?"), vec![]);
        assert_eq!(
            d.feed(b"\x03"),
            vec![key(KeyCode::Char('c'), KeyModifiers::CONTROL)]
        );
    }

    #[test]
    fn an_unfinished_sequence_is_dropped_at_the_timeout() {
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"\x1b[1;"), vec![]);
        assert_eq!(d.wait(), Some(ESC_WAIT));
        assert_eq!(d.timeout(), vec![]);
        assert_eq!(d.wait(), None);
        assert_eq!(d.feed(b"x"), chars("x"));
    }

    #[test]
    fn a_lone_escape_is_the_esc_key_after_the_timeout() {
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"\x1b"), vec![]);
        assert_eq!(d.timeout(), vec![plain(KeyCode::Esc)]);
        assert_eq!(decode(&[b"\x1b\x1b"]), vec![plain(KeyCode::Esc); 2]);
        assert_eq!(
            decode(&[b"\x1bx"]),
            vec![key(KeyCode::Char('x'), KeyModifiers::ALT)]
        );
        assert_eq!(
            decode(&[b"\x1b\r"]),
            vec![plain(KeyCode::Esc), plain(KeyCode::Enter)]
        );
    }

    #[test]
    fn terminal_keys_decode() {
        let cases: &[(&[u8], Input)] = &[
            (b"\x1b[A", plain(KeyCode::Up)),
            (b"\x1bOB", plain(KeyCode::Down)),
            (b"\x1b[5~", plain(KeyCode::PageUp)),
            (b"\x1b[6~", plain(KeyCode::PageDown)),
            (b"\x1b[3~", plain(KeyCode::Delete)),
            (b"\x1bOP", plain(KeyCode::F(1))),
            (b"\x1b[12~", plain(KeyCode::F(2))),
            (b"\x1b[[B", plain(KeyCode::F(2))), // the Linux console
            (b"\x1b[Z", key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            (b"\x1b[1;5C", key(KeyCode::Right, KeyModifiers::CONTROL)),
            (b"\r", plain(KeyCode::Enter)),
            (b"\x7f", plain(KeyCode::Backspace)),
            (b"\x0c", key(KeyCode::Char('l'), KeyModifiers::CONTROL)),
            (b"O", key(KeyCode::Char('O'), KeyModifiers::SHIFT)),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(&[bytes]), vec![want.clone()], "{bytes:?}");
        }
    }

    #[test]
    fn a_paste_is_one_event_however_it_arrives() {
        let body = "line one\r\nline two\rthree".repeat(1000);
        let bytes = [b"\x1b[200~", body.as_bytes(), b"\x1b[201~x"].concat();
        let want = vec![
            Input::Paste("line one\nline two\nthree".repeat(1000)),
            ch('x'),
        ];
        assert_eq!(decode(&[&bytes]), want);
        let chunks: Vec<&[u8]> = bytes.chunks(1000).collect();
        assert_eq!(decode(&chunks), want);
    }

    #[test]
    fn an_unterminated_paste_ends_with_what_it_holds() {
        let mut d = Decoder::default();
        assert_eq!(d.feed(b"\x1b[200~abc"), vec![]);
        assert_eq!(d.wait(), Some(PASTE_WAIT));
        assert_eq!(d.timeout(), vec![Input::Paste("abc".into())]);
        assert_eq!(d.feed(b"q"), chars("q"));
    }

    #[test]
    fn an_oversized_paste_is_cut_and_still_ends() {
        let body = vec![b'a'; MAX_PASTE + 10];
        let out = decode(&[b"\x1b[200~", &body, b"\x1b[201~q"]);
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[0], Input::Paste(p) if p.len() == MAX_PASTE));
        assert_eq!(out[1], ch('q'));
    }

    fn printable() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ -~\u{e9}\u{20ac}\u{1f600}]{0,40}").unwrap()
    }

    proptest! {
        /// Whatever came before, once the line is quiet the next plain key comes out as itself.
        #[test]
        fn any_bytes_never_lose_a_later_key(
            noise in proptest::collection::vec(any::<u8>(), 0..200),
            later in printable(),
        ) {
            let mut d = Decoder::default();
            d.feed(&noise);
            d.timeout();
            let mut out = d.feed(later.as_bytes());
            out.extend(d.timeout());
            prop_assert_eq!(out, chars(&later));
        }

        /// A control key ends any unfinished sequence, and is not lost.
        #[test]
        fn ctrl_c_after_any_sequence_start_arrives(
            params in proptest::collection::vec(0x20u8..0x40, 0..40),
            intro in prop_oneof![Just(&b"\x1b["[..]), Just(&b"\x1bO"[..]), Just(&b"\x1b[["[..])],
        ) {
            let mut d = Decoder::default();
            let mut out = d.feed(intro);
            out.extend(d.feed(&params));
            out.extend(d.feed(b"\x03"));
            prop_assert_eq!(out.last(), Some(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        }

        /// A paste comes out whole, in one event, however the bytes are split.
        #[test]
        fn pastes_come_out_whole(
            text in proptest::string::string_regex("[^\u{1b}\r]{0,300}").unwrap(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let bytes = [b"\x1b[200~", text.as_bytes(), b"\x1b[201~"].concat();
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            at.sort();
            let mut chunks = Vec::new();
            let mut from = 0;
            for a in at {
                chunks.push(&bytes[from..a]);
                from = a;
            }
            chunks.push(&bytes[from..]);
            prop_assert_eq!(decode(&chunks), vec![Input::Paste(text)]);
        }

        /// Invalid bytes are dropped alone: every valid character around them survives.
        #[test]
        fn invalid_bytes_drop_only_themselves(
            parts in proptest::collection::vec(
                (printable(), prop_oneof![0x80u8..0xc2, 0xf5u8..=0xff]), 0..10),
            tail in printable(),
        ) {
            let mut bytes = Vec::new();
            let mut text = String::new();
            for (s, bad) in &parts {
                bytes.extend_from_slice(s.as_bytes());
                bytes.push(*bad);
                text.push_str(s);
            }
            bytes.extend_from_slice(tail.as_bytes());
            text.push_str(&tail);
            prop_assert_eq!(decode(&[&bytes]), chars(&text));
        }
    }
}
