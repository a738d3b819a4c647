//! Step 5: volume → local disk rows with their checks, the disk picker, the paste box, and the
//! mapping printed as `--device-mapping` takes it.

use super::disk_identity;
use crate::app::App;
use crate::domain::fit::{Fit, fit};
use crate::domain::local_disks::{Refusal, refusal};
use crate::domain::mapping::{self, Choice, RowStatus};
use crate::domain::model::RecoveryVolume;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, field, pad, para, popup, problem, set_cursor, width, wrap_after};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// The status as a short table cell; the current row's detail line says it in full.
fn short(status: &RowStatus) -> String {
    match status {
        RowStatus::Fits => "fits".into(),
        RowStatus::FitsFractional => "fits (fractional GiB)".into(),
        RowStatus::Excluded => "excluded".into(),
        RowStatus::Unmapped => "unmapped".into(),
        RowStatus::TooSmall { short_by } => format!("too small by {short_by}"),
        RowStatus::UsedTwice { .. } => "used twice".into(),
        RowStatus::DiskGone { .. } => "disk gone".into(),
        RowStatus::DiskChanged { .. } => "disk changed".into(),
        RowStatus::Refused(why) => short_refusal(why).into(),
    }
}

fn short_refusal(why: &Refusal) -> &'static str {
    match why {
        Refusal::BootMedium => "boot medium",
        Refusal::Mounted(_) => "mounted",
        Refusal::Swap(_) => "swap",
        Refusal::Held(_) => "held",
        Refusal::OtherPath(_) => "other path",
        Refusal::ReadOnly => "read-only",
    }
}

fn status_look(theme: &Theme, status: &RowStatus) -> (&'static str, Style) {
    let g = theme.glyphs();
    match status {
        RowStatus::Excluded => (g.skipped, theme.muted()),
        s if s.blocks_start() => (g.failed, theme.error()),
        _ => (g.ok, theme.ok()),
    }
}

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let f = &app.mapping;
    let g = theme.glyphs();
    let Some(instance) = app.chosen_instance() else {
        Writer::new(frame, area).line("No recovery instance is chosen: go back (Esc).");
        return;
    };
    let volumes = &instance.volumes;
    let disks = app.local_disks();
    let statuses = f.statuses(volumes, disks);
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    let wide = cols >= 110;

    let mut head = format!(
        "  {} {} {} {} {} ",
        pad(theme, "Volume", 12),
        pad(theme, "Size", 9),
        " ".repeat(width(g.arrow)),
        pad(theme, "Local disk", 14),
        pad(theme, "Size", 9),
    );
    if wide {
        head.push_str(&pad(theme, "Model / serial", 28));
        head.push(' ');
    }
    head.push_str("Check");
    // Whose volumes these are: a stray key on the instance list must not go unseen until Review.
    let whose = format!("  Volumes of {}  {}", instance.id, instance.display_name());
    w.line(Line::styled(
        theme.clean(&whose).into_owned(),
        theme.muted(),
    ));
    w.line(Line::styled(head, theme.title()));
    for (i, (v, status)) in volumes.iter().zip(&statuses).enumerate() {
        let choice = f.choices.get(i).unwrap_or(&Choice::Unmapped);
        let (target, size, ident) = match choice {
            Choice::Disk(id) => match choice.disk(disks) {
                Some((_, disk)) => (
                    disk.device.clone(),
                    disk.bytes.to_string(),
                    disk_identity(disk),
                ),
                None => (id.device.clone(), String::new(), String::new()),
            },
            Choice::Exclude => ("EXCLUDE".into(), String::new(), String::new()),
            Choice::Unmapped => ("(none)".into(), String::new(), String::new()),
        };
        let current = i == f.row;
        let (mark, look) = status_look(theme, status);
        let mut text = format!(
            "{} {} {} {} {} ",
            pad(theme, &theme.clean(&v.device_name), 12),
            pad(theme, &v.bytes.to_string(), 9),
            g.arrow,
            pad(theme, &theme.clean(&target), 14),
            pad(theme, &size, 9),
        );
        if wide {
            text.push_str(&pad(theme, &theme.clean(&ident), 28));
            text.push(' ');
        }
        let row_style = if current {
            theme.selected()
        } else {
            Style::new()
        };
        w.line(Line::from(vec![
            Span::raw(if current { "> " } else { "  " }),
            Span::styled(text, row_style),
            Span::styled(format!("{mark} {}", short(status)), row_style.patch(look)),
        ]));
    }
    // The current row in full: the target's identity, its persistent name, the whole status.
    if let (Some(v), Some(status)) = (volumes.get(f.row), statuses.get(f.row)) {
        let (_, look) = status_look(theme, status);
        let target = match f.choices.get(f.row) {
            Some(c) => c.disk(disks).map(|(_, disk)| {
                let mut t = format!("{} ({})", disk.device, disk_identity(disk));
                if let Some(name) =
                    mapping::local_name(disk, f.value_format).filter(|n| *n != disk.device)
                {
                    t.push_str(&format!(", {} {name}", f.value_format.as_arg()));
                }
                t
            }),
            None => None,
        };
        let text = match target {
            Some(t) => format!("{} {} {t}: {}", v.device_name, g.arrow, status.describe()),
            None => format!("{}: {}", v.device_name, status.describe()),
        };
        w.lines(para("  ", &theme.clean(&text), cols, look));
    }
    w.gap();
    let mut heading = para(
        "As --device-mapping ",
        &format!(
            "({}; local names: {}; y shows it for copying)",
            f.format.label(),
            f.value_format.label()
        ),
        cols,
        Style::new(),
    );
    if let Some(first) = heading.first_mut() {
        first.spans[0].style = theme.title();
    }
    w.lines(heading);
    let printed = f.printed(volumes, disks);
    let mut error: Vec<Line> = unnamed_lines(app, theme, cols);
    if let Some(e) = &f.error {
        error.extend(problem(theme, 0, e, cols, theme.error()));
    }
    let room = w.left().saturating_sub(error.len() + 1).max(1);
    let mut lines: Vec<Line> = wrap_after(&theme.clean(&printed), ',', cols.saturating_sub(2))
        .into_iter()
        .map(|l| Line::from(format!("  {l}")))
        .collect();
    if lines.len() > room {
        lines.truncate(room);
        lines.push(Line::styled(
            format!("  {} (longer than the screen)", g.ellipsis),
            theme.muted(),
        ));
    }
    w.lines(lines);
    if !error.is_empty() {
        w.gap();
        w.lines(error);
    }

    if f.copy_view {
        copy_view(app, theme, frame, area, &printed);
    } else if let Some(cursor) = f.picker {
        if let Some(v) = volumes.get(f.row) {
            picker(app, theme, frame, area, v, cursor);
        }
    } else if f.paste.is_some() {
        paste(app, theme, frame, area);
    }
}

fn picker(
    app: &App,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    volume: &RecoveryVolume,
    cursor: usize,
) {
    let g = theme.glyphs();
    let f = &app.mapping;
    let disks = app.local_disks();
    let cols = area.width.saturating_sub(4).min(96) as usize;
    let inner = cols.saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    for (i, disk) in disks.iter().enumerate() {
        // Why this disk may not take the volume, most serious first.
        let other = f
            .choices
            .iter()
            .enumerate()
            .find(|(k, c)| *k != f.row && c.disk(disks).is_some_and(|(j, _)| j == i))
            .and_then(|(k, _)| app.chosen_instance()?.volumes.get(k));
        let (mark, note, style) = if let Some(why) = refusal(disk) {
            let note = match why {
                Refusal::BootMedium => "boot medium".to_owned(),
                why => why.describe(),
            };
            (g.failed, note, theme.muted())
        } else if let Some(o) = other {
            (
                g.failed,
                format!("chosen for {}", o.device_name),
                theme.muted(),
            )
        } else {
            match fit(volume.bytes, disk.bytes) {
                Fit::Fits => (g.ok, "fits".to_owned(), Style::new()),
                Fit::FitsFractional => (g.ok, "fits (fractional GiB)".to_owned(), Style::new()),
                Fit::TooSmall { short_by } => {
                    (g.failed, format!("too small by {short_by}"), theme.muted())
                }
            }
        };
        // A stick can be the wrong one in a hurry: say so before anything that may be cut.
        let note = match disk.removable {
            true => format!("removable; {note}"),
            false => note,
        };
        let text = format!(
            "{} {} {} {mark} {note}",
            pad(theme, &theme.clean(&disk.device), 10),
            pad(theme, &disk.bytes.to_string(), 8),
            pad(
                theme,
                &theme.clean(&disk_identity(disk)),
                inner.saturating_sub(52).max(12)
            ),
        );
        lines.push(option_line(
            theme,
            i == cursor,
            &theme.clean(&text),
            style,
            inner,
        ));
    }
    lines.push(option_line(
        theme,
        cursor == disks.len(),
        "EXCLUDE    do not copy this volume",
        Style::new(),
        inner,
    ));
    let title = format!(
        "Local disk for {} ({})",
        theme.clean(&volume.device_name),
        volume.bytes
    );
    let body = popup(
        theme,
        frame,
        area,
        &title,
        cols as u16,
        lines.len() as u16 + 2,
    );
    let mut w = Writer::new(frame, body);
    // Keep the cursor in view when the list is taller than the box.
    let skip = (cursor + 1).saturating_sub(w.left());
    w.lines(lines.into_iter().skip(skip));
}

fn option_line(theme: &Theme, on: bool, text: &str, style: Style, cols: usize) -> Line<'static> {
    let style = if on { theme.selected() } else { style };
    Line::from(vec![
        Span::raw(if on { "> " } else { "  " }),
        Span::styled(pad(theme, text, cols.saturating_sub(2)), style),
    ])
}

fn paste(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(p) = &app.mapping.paste else {
        return;
    };
    let g = theme.glyphs();
    let cols = area.width.saturating_sub(4).min(96) as usize;
    let inner = cols.saturating_sub(2);
    let mut lines = para(
        "",
        "One entry per recovery-instance volume, a local disk or EXCLUDE, in any of:",
        inner,
        Style::new(),
    );
    let mut examples = Vec::new();
    for example in [
        "/dev/xvda=/dev/sdb,/dev/xvdb=EXCLUDE",
        r#"{"/dev/xvda":"/dev/sdb","/dev/xvdb":"EXCLUDE"}"#,
        r#"[{"recoveryInstanceDeviceName":"/dev/xvda","failbackClientDeviceName":"/dev/sdb"}]"#,
    ] {
        examples.extend(para(
            &format!("  {} ", g.bullet),
            example,
            inner,
            theme.muted(),
        ));
    }
    let error = p
        .error
        .as_ref()
        .map(|e| problem(theme, 0, e, inner, theme.error()))
        .unwrap_or_default();
    // The error says what to fix: when the box cannot hold everything the examples give way.
    let rows = (area.height as usize).saturating_sub(2);
    if lines.len() + examples.len() + 2 + error.len() <= rows {
        lines.extend(examples);
        lines.push(Line::default());
    } else {
        lines = vec![Line::from("Correct the mapping, then Enter:")];
    }
    let input_row = lines.len();
    let (spans, cur) = field(theme, p.input.value(), p.input.visual_cursor(), true, inner);
    lines.push(Line::from(spans));
    lines.extend(error);
    let body = popup(
        theme,
        frame,
        area,
        "Paste a device mapping",
        cols as u16,
        lines.len() as u16 + 2,
    );
    let rows = body.height as usize;
    Writer::new(frame, body).lines(lines);
    if let Some(x) = cur.filter(|_| input_row < rows) {
        set_cursor(app, frame, body.x + x, body.y + input_row as u16);
    }
}

/// Disks the value format cannot name: the printed mapping falls back to their device name,
/// which `--dm-value-format` would then not find.
fn unnamed_lines(app: &App, theme: &Theme, cols: usize) -> Vec<Line<'static>> {
    let f = &app.mapping;
    let unnamed = f.unnamed(app.local_disks());
    if unnamed.is_empty() {
        return vec![];
    }
    let text = format!(
        "{} {} no {} name, so the mapping names {} by device: press v for another value format.",
        unnamed.join(", "),
        if unnamed.len() == 1 { "has" } else { "have" },
        f.value_format.as_arg(),
        if unnamed.len() == 1 { "it" } else { "them" },
    );
    problem(theme, 0, &text, cols, theme.warning())
}

/// The mapping alone on a cleared screen, no border, so a mouse selection copies only it.
fn copy_view(app: &App, theme: &Theme, frame: &mut Frame, area: Rect, printed: &str) {
    let f = &app.mapping;
    frame.render_widget(ratatui::widgets::Clear, area);
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    w.line(Line::styled("Device mapping, for copying", theme.title()));
    let mut how = format!(
        "{}; local names: {}",
        f.format.label(),
        f.value_format.label()
    );
    if f.value_format != mapping::DmValueFormat::DevName {
        how.push_str(&format!(
            "; give --dm-value-format {}",
            f.value_format.as_arg()
        ));
    }
    w.lines(para("", &how, cols, theme.muted()));
    w.lines(para(
        "",
        "Select it with the mouse (Shift+drag where the mouse is captured) and copy. Lines break only after a comma: join them before pasting into a shell; the p paste box takes them as they are.",
        cols,
        theme.muted(),
    ));
    w.gap();
    w.lines(
        wrap_after(&theme.clean(printed), ',', cols)
            .into_iter()
            .map(Line::from),
    );
    w.gap();
    w.lines(unnamed_lines(app, theme, cols));
}
