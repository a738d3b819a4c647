//! Step 4: the recovery instances as a paged table, and the selected one in detail.

use crate::app::App;
use crate::domain::model::RecoveryInstance;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, field, pad, para, problem, set_cursor};
use crate::wizard::Loadable;
use crate::wizard::instance::Row;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Table columns: (header, width); the last one takes what is left.
fn columns(cols: usize) -> Vec<(&'static str, usize)> {
    let mut c = vec![
        ("Recovery instance", 20),
        ("Hostname", 12),
        ("OS", 12),
        ("Volumes", 15),
    ];
    if cols >= 110 {
        c[1].1 = 16;
        c[2].1 = 18;
        c.push(("Replication", 14));
        c.push(("Failback", 0));
    } else {
        c.push(("Replication", 0));
    }
    c
}

fn volumes(i: &RecoveryInstance) -> String {
    let n = i.volumes.len();
    format!(
        "{n} vol{} {}",
        if n == 1 { "" } else { "s" },
        i.total_bytes()
    )
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn cells(row: &Row) -> Vec<String> {
    let i = &row.instance;
    vec![
        i.id.clone(),
        i.display_name().to_owned(),
        i.os.clone().unwrap_or_else(|| "-".into()),
        volumes(i),
        or_dash(i.replication.state.as_str()).to_owned(),
        or_dash(i.failback.state.as_str()).to_owned(),
    ]
}

fn table_line(
    theme: &Theme,
    marks: String,
    texts: &[String],
    cols: usize,
    style: Style,
) -> Line<'static> {
    let spec = columns(cols);
    let mut used = 4;
    let mut text = String::new();
    for ((_, w), t) in spec.iter().zip(texts) {
        let w = if *w == 0 {
            cols.saturating_sub(used)
        } else {
            *w
        };
        text.push_str(&pad(theme, &theme.clean(t), w));
        text.push(' ');
        used += w + 1;
    }
    Line::from(vec![Span::raw(marks), Span::styled(text, style)])
}

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let f = &app.instance;
    let g = theme.glyphs();
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    let rows = f.rows();
    let visible = f.visible();
    let mut count = match &f.list {
        Loadable::Loaded(_) if visible.len() == rows.len() => format!("{} instances", rows.len()),
        Loadable::Loaded(_) => format!("{} of {} instances", visible.len(), rows.len()),
        _ => String::new(),
    };
    if f.more.is_some() {
        count.push_str(&format!(" so far, listing more{}", g.ellipsis));
    }
    let (mut spans, cur) = field(theme, f.filter.value(), f.filter.visual_cursor(), true, 32);
    spans.insert(0, Span::raw("> Filter  "));
    spans.push(Span::styled(format!("  {count}"), theme.muted()));
    if let (Some(y), Some(x)) = (w.line(Line::from(spans)), cur) {
        set_cursor(app, w.frame, area.x + 10 + x, y);
    }
    let error = f
        .error
        .as_ref()
        .map(|e| problem(theme, 0, e, cols, theme.error()))
        .unwrap_or_default();

    let list = match &f.list {
        Loadable::Loaded(list) => list,
        Loadable::NotAsked | Loadable::Loading(_) => {
            w.gap();
            let text = format!(
                "{} Listing recovery instances in {}{}",
                theme.spinner(app.now),
                app.region(),
                g.ellipsis
            );
            w.line(text);
            w.lines(error);
            return;
        }
        Loadable::Failed(e) => {
            w.gap();
            w.lines(problem(theme, 0, &e.advice(), cols, theme.error()));
            w.lines(para(
                "  ",
                &theme.clean(&format!("AWS said: {}", e.detail)),
                cols,
                theme.muted(),
            ));
            w.gap();
            w.line(Line::from(vec![
                Span::styled("Ctrl-R", theme.key()),
                Span::raw(" to retry."),
            ]));
            w.lines(error);
            return;
        }
    };
    if list.is_empty() {
        w.gap();
        w.lines(para(
            "",
            &format!(
                "No recovery instances in {}. Fail over (or run a drill) first, or check the region. Ctrl-R reloads.",
                app.region()
            ),
            cols,
            theme.warning(),
        ));
        w.lines(error);
        return;
    }

    let detail = f
        .selected_row()
        .filter(|_| f.cursor(visible).is_some())
        .map(|r| detail_lines(app, theme, r, cols))
        .unwrap_or_default();
    // Header, paging line, error and a fixed-height detail pane: the page size must not change
    // as the cursor moves, or rows would jump.
    let detail_rows = if area.height >= 30 { 9 } else { 6 };
    let reserved = 2 + error.len() + detail_rows;
    let page = w.left().saturating_sub(reserved).max(1);
    let header: Vec<String> = columns(cols).iter().map(|(h, _)| (*h).to_owned()).collect();
    w.line(table_line(
        theme,
        "    ".into(),
        &header,
        cols,
        theme.title(),
    ));
    let cursor = f.cursor(visible);
    let first = cursor.map_or(0, |c| c / page * page);
    if visible.is_empty() {
        w.line(Line::styled(
            "    No recovery instance matches the filter (Esc clears it).",
            theme.warning(),
        ));
    }
    for (pos, &index) in visible.iter().enumerate().skip(first).take(page) {
        let row = &rows[index];
        let selected = Some(pos) == cursor;
        let best = f.best.as_deref() == Some(row.instance.id.as_str());
        let marks = format!(
            "{}{}{} ",
            if selected { ">" } else { " " },
            if best { g.best } else { " " },
            if row.fit.is_err() { g.cross } else { " " },
        );
        let style = match (selected, row.fit.is_err()) {
            (true, _) => theme.selected(),
            (false, true) => theme.muted(),
            (false, false) => Style::new(),
        };
        w.line(table_line(theme, marks, &cells(row), cols, style));
    }
    let last = (first + page).min(visible.len());
    let mut legend = vec![Span::raw(if visible.len() > page {
        format!("rows {}-{} of {}   ", first + 1, last, visible.len())
    } else {
        String::new()
    })];
    if f.best.is_some() {
        legend.push(Span::raw(format!("{} best match   ", g.best)));
    }
    if f.shows_unfit() {
        legend.push(Span::styled(
            format!("{} cannot fit the local disks", g.cross),
            theme.muted(),
        ));
    }
    w.line(Line::from(legend));
    w.lines(error);
    w.lines(detail);
}

fn detail_lines(app: &App, theme: &Theme, row: &Row, cols: usize) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let i = &row.instance;
    let mut lines = vec![Line::styled(g.rule.repeat(cols), theme.border())];
    let mut head = format!("{} {}", i.id, i.display_name());
    if let Some(fqdn) = i.hints.fqdn.as_deref().filter(|f| *f != i.display_name()) {
        head.push_str(&format!(" ({fqdn})"));
    }
    if let Some(os) = &i.os {
        head.push_str(&format!(", {os}"));
    }
    if i.is_drill {
        head.push_str(", from a drill");
    }
    lines.extend(para("", &theme.clean(&head), cols, theme.title()));
    if let Err(why) = &row.fit {
        lines.extend(para(
            &format!("{} Cannot fail back here: ", g.failed),
            &theme.clean(why),
            cols,
            theme.error(),
        ));
    }
    if row.report.reasons.is_empty() {
        lines.push(Line::styled("No match with this machine.", theme.muted()));
    } else {
        let best = app.instance.best.as_deref() == Some(i.id.as_str());
        let lead = if best {
            format!("{} Best match: ", g.best)
        } else {
            "Matches: ".to_owned()
        };
        lines.extend(para(
            &lead,
            &theme.clean(&row.report.reasons.join(", ")),
            cols,
            theme.ok(),
        ));
    }
    let vols: Vec<String> = i
        .volumes
        .iter()
        .map(|v| format!("{} {}", v.device_name, v.bytes))
        .collect();
    lines.extend(para(
        "Volumes: ",
        &theme.clean(&vols.join(", ")),
        cols,
        Style::new(),
    ));
    let mut source = format!(
        "Source server {}, {}",
        i.source_server_id,
        or_dash(i.failback.state.as_str())
    );
    if let Some(s) = &i.ec2_state {
        source.push_str(&format!(", EC2 {s}"));
    }
    lines.extend(para("", &theme.clean(&source), cols, Style::new()));
    lines
}
