//! The key tables against what the screens do: on every fixture, each table row's keys do
//! something visible, and every key that does something is in the table (or edits a field).

mod common;

use drs_failback::app::keys::{self, Key};
use drs_failback::app::{App, Msg, update};
use drs_failback::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The screen and the cursor, as the operator sees them.
fn seen(app: &App) -> String {
    let (cols, rows) = app.size;
    let mut t = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    t.draw(|f| ui::view(app, &Theme::new(true, true), f))
        .unwrap();
    let buf = t.backend().buffer().clone();
    let mut out: String = buf.content.iter().map(|c| c.symbol()).collect();
    out.push_str(&format!("{:?}", t.get_cursor_position().unwrap()));
    out
}

/// A fixture with no notice (any key clears one), and how it looks.
struct Fixture {
    app: App,
    before: String,
}

impl Fixture {
    fn new(build: fn() -> App) -> Fixture {
        let mut app = build();
        app.notice = None;
        app.dirty = false;
        let before = seen(&app);
        Fixture { app, before }
    }

    /// Whether `key` does anything on a copy: changes the screen or asks the runtime for
    /// something.
    fn acts(&self, key: KeyEvent) -> bool {
        let mut app = self.app.clone();
        let cmds = update(&mut app, Msg::Key(key));
        // Not dirty means nothing visible changed: the runtime would not even redraw.
        !cmds.is_empty() || (app.dirty && seen(&app) != self.before)
    }
}

fn event(k: Key) -> KeyEvent {
    match k {
        Key::Code(code) => KeyEvent::new(code, KeyModifiers::NONE),
        Key::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
        Key::Text => KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE),
    }
}

/// Every key worth trying: named keys, F-keys, printable characters, Ctrl-letters.
fn every_key() -> Vec<KeyEvent> {
    let none = KeyModifiers::NONE;
    let mut v: Vec<KeyEvent> = [
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Insert,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
    ]
    .into_iter()
    .chain((1..=12).map(KeyCode::F))
    .chain(
        " ?".chars()
            .chain('a'..='z')
            .chain('A'..='Z')
            .map(KeyCode::Char),
    )
    .map(|c| KeyEvent::new(c, none))
    .collect();
    v.extend(('a'..='z').map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
    v
}

/// A paste box holding a mapping that applies.
fn paste_valid() -> App {
    let mut app = common::mapping_paste_error();
    let paste = app.mapping.paste.as_mut().unwrap();
    paste.input =
        tui_input::Input::new("/dev/xvda=/dev/sdd,/dev/xvdb=/dev/sdc,/dev/xvdc=EXCLUDE".into());
    paste.error = None;
    app
}

/// The confirmation word typed.
fn review_confirmed() -> App {
    let mut app = common::review();
    app.review.confirm = tui_input::Input::new("OVERWRITE".into());
    app.review.error = None;
    app
}

/// The cursor on the secret, where Ctrl-R shows it.
fn secret_focused() -> App {
    let mut app = common::credentials_inline_error();
    app.credentials.focus = drs_failback::wizard::credentials::Field::Secret;
    app
}

/// A terminal below 80x24: only "terminal too small" shows.
fn too_small() -> App {
    let mut app = common::review();
    app.size = (40, 10);
    app
}

/// The quit question asked on a terminal too small for anything else.
fn too_small_quitting() -> App {
    let mut app = too_small();
    app.modal = Some(drs_failback::app::Modal::ConfirmQuit);
    app
}

/// The snapshot fixtures, and states where a key that only refuses there does its work.
fn states() -> Vec<common::Builder> {
    let mut v = common::builders();
    v.extend([
        ("paste_valid", paste_valid as fn() -> App),
        ("review_confirmed", review_confirmed),
        ("secret_focused", secret_focused),
        ("too_small", too_small),
        ("too_small_quitting", too_small_quitting),
    ]);
    v
}

#[test]
fn every_key_in_a_table_does_something() {
    // A row may be idle in one state (Enter on a refusal already shown), never in all.
    let mut rows: Vec<(String, bool)> = Vec::new();
    for (_, build) in states() {
        let app = build();
        let fixture = Fixture::new(build);
        for b in keys::bindings(&app) {
            let row = format!("{:?} `{} {}`", app.step, b.label, b.does);
            let works = b.keys.iter().any(|k| fixture.acts(event(*k)));
            match rows.iter_mut().find(|(r, _)| *r == row) {
                Some((_, seen_working)) => *seen_working |= works,
                None => rows.push((row, works)),
            }
        }
    }
    let idle: Vec<&String> = rows.iter().filter(|(_, w)| !w).map(|(r, _)| r).collect();
    assert!(
        idle.is_empty(),
        "rows that do nothing on any screen: {idle:#?}"
    );
}

#[test]
fn every_key_that_does_something_is_in_the_table() {
    for (name, build) in states() {
        let app = build();
        let table = keys::bindings(&app);
        let fixture = Fixture::new(build);
        for key in every_key() {
            if !fixture.acts(key) {
                continue;
            }
            let listed = table.iter().flat_map(|b| b.keys).any(|k| k.matches(&key));
            let typed =
                app.modal.is_none() && !app.too_small() && app.typing() && keys::is_text_edit(&key);
            assert!(
                listed || typed,
                "{name}: {key:?} works but no table lists it"
            );
        }
    }
}

#[test]
fn help_names_every_key_of_the_table() {
    let app = secret_focused();
    let help = keys::help(&app);
    let names: Vec<&str> = help.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"Tab, Shift-Tab, Up, Down"), "{names:?}");
    assert!(names.contains(&"F2"), "{names:?}");
    assert!(names.contains(&"Ctrl-R"), "{names:?}");
    assert!(names.contains(&"Ctrl-L"), "{names:?}");
}

#[test]
fn a_full_footer_ends_with_f1_more_and_keeps_the_first_hints() {
    for (name, app) in common::all() {
        let hints = keys::hints(&app);
        let (cols, rows) = app.size;
        let mut t = Terminal::new(TestBackend::new(cols, rows)).unwrap();
        t.draw(|f| ui::view(&app, &Theme::new(true, true), f))
            .unwrap();
        let buf = t.backend().buffer().clone();
        let footer: String = (0..80).map(|x| buf[(x, 23)].symbol()).collect();
        let footer = footer.trim_end();
        let all_fit = hints
            .iter()
            .all(|(k, d)| footer.contains(&format!("{k} {d}")));
        if !all_fit && app.modal.is_none() {
            assert!(footer.ends_with("F1 more"), "{name}: {footer}");
            let (k, d) = hints[0];
            assert!(footer.starts_with(&format!("{k} {d}")), "{name}: {footer}");
        }
    }
}
