//! Every screen, drawn into a test terminal: snapshots at 80x24 and 120x40 in Unicode+colour and
//! ASCII+mono, the promises the themes make, and no panic at any size.

mod common;

use drs_failback::app::App;
use drs_failback::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn draw(app: &App, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::view(app, theme, f)).unwrap();
    terminal
}

/// The screen as text, one row a line, trailing blanks cut; and where the cursor is.
fn text(terminal: &mut Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(row.trim_end());
        out.push('\n');
    }
    // The view places the cursor only for a focused text field; (0,0) means none was placed.
    let pos = terminal.get_cursor_position().unwrap();
    if (pos.x, pos.y) != (0, 0) {
        out.push_str(&format!("cursor at {},{}\n", pos.x, pos.y));
    }
    out
}

fn buffer(app: &App, theme: &Theme, w: u16, h: u16) -> Buffer {
    draw(app, theme, w, h).backend().buffer().clone()
}

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// The screen at 80x24, and its words on one line (for text a narrow screen wraps).
fn at_80x24(app: &App, theme: &Theme) -> (String, String) {
    let screen = text(&mut draw(app, theme, 80, 24));
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    (screen, flat)
}

#[test]
fn snapshots() {
    for (name, app) in common::all() {
        for (w, h) in SIZES {
            for (theme, label) in [
                (Theme::new(true, true), "unicode"),
                (Theme::new(false, false), "ascii"),
            ] {
                let mut t = draw(&app, &theme, w, h);
                insta::assert_snapshot!(format!("{name}_{w}x{h}_{label}"), text(&mut t));
            }
        }
    }
}

#[test]
fn ascii_theme_draws_only_ascii_without_the_last_resort() {
    // `view` turns any non-ASCII cell into `?` as a last resort: every screen must get by
    // without it, or a glyph or an uncleaned text reached the ASCII theme.
    let theme = Theme::new(false, true);
    for (name, app) in common::all() {
        for (w, h) in SIZES {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            let mut replaced = 0;
            terminal
                .draw(|f| replaced = ui::view_counting(&app, &theme, f))
                .unwrap();
            assert_eq!(replaced, 0, "{name} {w}x{h}:\n{}", text(&mut terminal));
        }
    }
}

#[test]
fn linux_console_theme_draws_only_what_its_fonts_have() {
    let theme = Theme {
        linux_console: true,
        ..Theme::new(true, true)
    };
    for (name, app) in common::all() {
        let buf = buffer(&app, &theme, 80, 24);
        for cell in &buf.content {
            let ok = cell
                .symbol()
                .chars()
                .all(|c| c.is_ascii() || ui::theme::LINUX_CONSOLE_GLYPHS.contains(c));
            assert!(ok, "{name}: {:?}", cell.symbol());
        }
    }
}

#[test]
fn ascii_theme_transliterates_outside_text() {
    // The demo replicator's log lines end in "…": they must read "...", not "?".
    let mut app = common::dashboard_initial_sync();
    app.dashboard.as_mut().unwrap().log_scroll = 14;
    let mut t = draw(&app, &Theme::new(false, false), 120, 40);
    let screen = text(&mut t);
    assert!(screen.contains("on the recovery instance..."), "{screen}");
}

#[test]
fn mono_theme_sets_no_colour() {
    for unicode in [true, false] {
        let theme = Theme::new(unicode, false);
        for (name, app) in common::all() {
            for (w, h) in SIZES {
                let buf = buffer(&app, &theme, w, h);
                for cell in &buf.content {
                    assert!(
                        cell.fg == Color::Reset && cell.bg == Color::Reset,
                        "{name} {w}x{h}: {:?} has colour",
                        cell.symbol()
                    );
                }
            }
        }
    }
}

/// Cells of row `y` whose text contains `needle`.
fn row_with(buf: &Buffer, needle: &str) -> Option<u16> {
    (0..buf.area.height).find(|&y| {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        row.contains(needle)
    })
}

fn row_has(buf: &Buffer, y: u16, m: Modifier) -> bool {
    (0..buf.area.width).any(|x| buf[(x, y)].modifier.contains(m))
}

#[test]
fn disks_to_overwrite_are_bold_even_in_mono() {
    let buf = buffer(&common::review(), &Theme::new(false, false), 80, 24);
    for needle in [
        "will be OVERWRITTEN",
        "/dev/sdc QEMU HARDDISK",
        "/dev/sdd QEMU HARDDISK",
    ] {
        let y = row_with(&buf, needle).unwrap_or_else(|| panic!("{needle} not on screen"));
        let x = (0..buf.area.width)
            .find(|&x| buf[(x, y)].symbol() == "/" || buf[(x, y)].symbol() == "w")
            .unwrap();
        assert!(
            buf[(x + 2, y)].modifier.contains(Modifier::BOLD),
            "{needle}"
        );
    }
}

#[test]
fn focus_and_selection_are_reverse_video_in_mono() {
    let mono = Theme::new(false, false);
    let buf = buffer(&common::instance_list(), &mono, 80, 24);
    let y = row_with(&buf, common::WEB01).unwrap();
    assert!(
        row_has(&buf, y, Modifier::REVERSED),
        "selected instance row"
    );
    let buf = buffer(&common::credentials_inline_error(), &mono, 80, 24);
    let y = row_with(&buf, "AKIAIOSFODNN7EXAMP").unwrap();
    assert!(row_has(&buf, y, Modifier::REVERSED), "focused field");
}

#[test]
fn focused_text_field_gets_the_cursor() {
    let mut t = draw(
        &common::credentials_inline_error(),
        &Theme::new(true, true),
        80,
        24,
    );
    let screen = text(&mut t);
    let pos = t.get_cursor_position().unwrap();
    let row = screen.lines().nth(pos.y as usize).unwrap();
    // Right after the 18 typed characters of the access key id.
    assert_eq!(
        &row[pos.x as usize - 18..pos.x as usize],
        "AKIAIOSFODNN7EXAMP"
    );
    // A modal hides it.
    let mut t = draw(&common::help_modal(), &Theme::new(true, true), 80, 24);
    assert!(!text(&mut t).contains("cursor at"));
}

#[test]
fn any_size_draws_without_panic_and_small_ones_say_so() {
    for (name, app) in common::all() {
        for theme in [Theme::new(true, true), Theme::new(false, false)] {
            for (w, h) in [
                (0, 0),
                (1, 1),
                (40, 10),
                (79, 23),
                (80, 23),
                (79, 24),
                (200, 60),
            ] {
                let mut t = draw(&app, &theme, w, h);
                let screen = text(&mut t);
                if (w, h) == (79, 23) {
                    assert!(screen.contains("Terminal too small"), "{name}: {screen}");
                    assert!(screen.contains("79x23"), "{name}: {screen}");
                }
            }
        }
    }
}

#[test]
fn footer_never_cuts_a_hint() {
    let theme = Theme::new(true, true);
    for (name, app) in common::all() {
        let mut t = draw(&app, &theme, 80, 24);
        let screen = text(&mut t);
        let footer = screen
            .lines()
            .rev()
            .find(|l| !l.starts_with("cursor at"))
            .unwrap();
        let hints = drs_failback::app::keys::hints(&app);
        // Every hint on the footer is whole: each shown key is followed by its whole text.
        for (key, desc) in hints {
            let whole = format!("{key} {desc}");
            let more = key == "F1" && footer.ends_with("F1 more");
            if footer.contains(key) && !footer.contains(&whole) && !more {
                let starts = footer.split("  ").any(|part| part.starts_with(key));
                assert!(!starts, "{name}: `{key}` shown without `{desc}`: {footer}");
            }
        }
        assert!(
            footer.contains("F1 help") || footer.ends_with("F1 more") || app.modal.is_some(),
            "{name}: {footer}"
        );
    }
}

#[test]
fn a_stalled_replication_shows_no_rate_or_eta_and_says_what_to_check() {
    let mut t = draw(
        &common::dashboard_stalled(),
        &Theme::new(true, true),
        80,
        24,
    );
    let screen = text(&mut t);
    assert!(screen.contains("No ETA while STALLED"), "{screen}");
    assert!(screen.contains("DRS -, disk writes -"), "{screen}");
    assert!(!screen.contains("ETA (DRS)"), "{screen}");
    assert!(screen.contains("TCP 1500"), "{screen}");
}

#[test]
fn the_download_of_the_replication_software_shows_bytes_rate_and_eta() {
    let mut t = draw(
        &common::dashboard_downloading(),
        &Theme::new(true, true),
        80,
        24,
    );
    let screen = text(&mut t).replace('\n', " ");
    assert!(
        screen.contains(
            "Downloading AWS's replication software: failback_assets.tar.gz 12 MiB of 113 MiB (10%), 4.3 MiB/s, ETA 24s"
        ),
        "{screen}"
    );
}

#[test]
fn a_failed_endpoint_check_is_not_still_checking() {
    let mut t = draw(&common::endpoint_failed(), &Theme::new(true, true), 80, 24);
    let screen = text(&mut t);
    assert!(screen.contains("Check failed"), "{screen}");
    assert!(!screen.contains("Checking"), "{screen}");
}

#[test]
fn a_check_that_did_not_pass_on_review_shows_its_whole_reason_while_the_disks_fit() {
    use drs_failback::domain::preflight as rules;
    use drs_failback::wizard::Loadable;
    let mut app = common::review();
    let public = rules::replication_address(Ok(false), &[], "i-0a1b2c3d4e5f60013");
    app.preflight.replication_port = Loadable::Loaded(rules::replication_port(
        public,
        rules::REPLICATION_PORT,
        None,
        false,
    ));
    for theme in [Theme::new(true, true), Theme::new(false, false)] {
        let (screen, flat) = at_80x24(&app, &theme);
        assert!(
            flat.contains("which DRS does not report (EC2 keeps it)"),
            "{screen}"
        );
        // Not at the cost of the disks to overwrite.
        assert!(!flat.contains("more lines"), "{screen}");
        assert!(flat.contains("Not copied (excluded)"), "{screen}");
    }
}

#[test]
fn a_failed_handshake_with_a_long_certificate_keeps_what_to_do_on_screen() {
    use drs_failback::drs::{DrsError, DrsErrorKind};
    use drs_failback::wizard::endpoint::{Stage, StageStatus, stages_after_failed_call};
    // What a TLS-inspecting proxy's certificate made of a custom endpoint, as seen at 80x24.
    let names: Vec<String> = (1..=12)
        .map(|i| format!("DnsName(\"mirror-{i}.example.org\")"))
        .collect();
    let detail = format!(
        "dispatch failure: io error: client error (Connect): TLS handshake failed: invalid peer \
         certificate: certificate not valid for name \"10.255.255.1\"; certificate is only valid \
         for {}",
        names.join(", ")
    );
    let e = DrsError::new(DrsErrorKind::Tls, detail);
    let mut app = common::endpoint_failed();
    let check = app.endpoint.check.as_mut().unwrap();
    check.set(
        Stage::Tcp,
        StageStatus::connected(([10, 255, 255, 1], 443).into(), 0),
    );
    let (tls, api) = stages_after_failed_call(&e, true);
    check.set(Stage::Tls, tls.unwrap());
    check.set(Stage::Api, api);
    check.outcome = Some(Err(e.advice()));
    for theme in [Theme::new(true, true), Theme::new(false, false)] {
        let (screen, flat) = at_80x24(&app, &theme);
        assert!(
            flat.contains("TLS-inspecting proxy, and the clock"),
            "{screen}"
        );
        assert!(flat.contains("DRS API call not reached"), "{screen}");
    }
}

#[test]
fn a_long_paste_error_keeps_its_advice_in_the_box() {
    for (w, h) in SIZES {
        let mut t = draw(
            &common::mapping_paste_long_error(),
            &Theme::new(true, true),
            w,
            h,
        );
        let screen = text(&mut t);
        let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("give each a local disk or EXCLUDE."),
            "{w}x{h}: {screen}"
        );
        assert!(
            flat.contains("This recovery instance has no"),
            "{w}x{h}: {screen}"
        );
    }
}

#[test]
fn a_long_token_count_is_not_cut() {
    let mut app = common::credentials_inline_error();
    app.credentials.session_token.0 = tui_input::Input::new("x".repeat(10_020));
    let mut t = draw(&app, &Theme::new(true, true), 80, 24);
    let screen = text(&mut t);
    assert!(screen.contains("] 10020 chars\n"), "{screen}");
}

#[test]
fn the_demo_welcome_says_which_facts_are_the_demo_hosts() {
    let mut t = draw(&common::welcome(), &Theme::new(false, false), 80, 24);
    let screen = text(&mut t);
    let line = |label: &str| {
        screen
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {screen}"))
    };
    assert!(line("Host ").ends_with("(demo host)"), "{screen}");
    assert!(line("Network ").ends_with("(demo host)"), "{screen}");
    assert!(!line("RAM ").contains("demo"), "{screen}");
    assert!(
        screen.contains("RAM, CPUs, boot: this computer)"),
        "{screen}"
    );
}

#[test]
fn the_copy_view_breaks_a_mapping_only_between_entries() {
    let app = common::mapping_copy_view();
    let instance = app.chosen_instance().unwrap();
    let printed = app.mapping.printed(&instance.volumes, app.local_disks());
    assert!(
        printed.len() > 80,
        "the test needs a mapping wider than the screen"
    );
    let mut t = draw(&app, &Theme::new(true, true), 80, 24);
    let screen = text(&mut t);
    let start = screen
        .lines()
        .position(|l| l.starts_with('{'))
        .expect(&screen);
    let lines: Vec<&str> = screen
        .lines()
        .skip(start)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(lines.len() > 1, "{screen}");
    for l in &lines[..lines.len() - 1] {
        assert!(l.ends_with(','), "a line breaks mid-entry: {l:?}\n{screen}");
    }
    assert_eq!(lines.concat(), printed, "{screen}");
    assert!(screen.contains("--dm-value-format by-id"), "{screen}");
}

#[test]
fn a_disk_without_the_chosen_name_is_named_as_such() {
    let mut t = draw(
        &common::mapping_by_uuid_missing(),
        &Theme::new(true, true),
        80,
        24,
    );
    let screen = text(&mut t);
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("/dev/sdd, /dev/sdb have no by-uuid name"),
        "{screen}"
    );
}

#[test]
fn the_too_small_screen_shows_the_quit_question_when_asked() {
    let mut app = common::review();
    app.modal = Some(drs_failback::app::Modal::ConfirmQuit);
    let mut t = draw(&app, &Theme::new(false, false), 40, 10);
    let screen = text(&mut t);
    assert!(
        screen.contains("Quit drs-failback? y quits, n stays."),
        "{screen}"
    );
    assert!(screen.contains("Terminal too small"), "{screen}");
    app.modal = None;
    let screen = text(&mut draw(&app, &Theme::new(false, false), 40, 10));
    assert!(!screen.contains("Quit"), "{screen}");
}

#[test]
fn new_log_lines_redraw_their_own_row_not_every_row_of_the_log() {
    // On a 9,600-baud line a log that scrolls a line at a time rewrites all its rows for each
    // new line; one that fills down and jumps half its height rewrites a row, and now and then
    // half the log.
    let mut app = common::dashboard_initial_sync();
    let theme = Theme::new(true, true);
    let mut before = buffer(&app, &theme, 80, 24);
    let (lines, mut rows_redrawn) = (12, 0);
    for k in 0..lines {
        let log = &mut app.dashboard.as_mut().unwrap().log;
        log.push_back(format!("/dev/xvdb: block range {}/512 written", 20 + k));
        let after = buffer(&app, &theme, 80, 24);
        rows_redrawn += (0..24u16)
            .filter(|&y| (0..80u16).any(|x| before[(x, y)] != after[(x, y)]))
            .count();
        before = after;
    }
    // Seven log rows at 80x24: 7 rows a line when it scrolls, about 3 when it jumps.
    assert!(
        rows_redrawn <= 3 * lines,
        "{rows_redrawn} rows redrawn for {lines} new log lines"
    );
    let screen = text(&mut draw(&app, &theme, 80, 24));
    assert!(
        screen.contains("block range 31/512 written"),
        "the newest line shows:\n{screen}"
    );
}
