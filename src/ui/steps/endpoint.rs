//! Step 3: default or custom endpoint, and the staged connectivity check.

use crate::app::App;
use crate::domain::validate;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, field, pad, para, problem, set_cursor};
use crate::wizard::endpoint::{Choice, Field, StageStatus};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const LEAD: usize = 16;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let f = &app.endpoint;
    let g = theme.glyphs();
    let running = f.check.as_ref().is_some_and(|c| c.running());
    let focus = |fld: Field| !running && f.focus == fld;
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    let mark = |on: bool| if on { "[x]" } else { "[ ]" };
    let option_style = |on: bool| {
        if on && focus(Field::Choice) {
            theme.focus()
        } else {
            Style::new()
        }
    };
    let lead = |label: &str, focused: bool| {
        Span::raw(format!(
            "{} {label:<w$}",
            if focused { ">" } else { " " },
            w = LEAD - 2
        ))
    };
    let default = f.choice == Choice::Default;
    w.line(Line::from(vec![
        lead("Endpoint", focus(Field::Choice)),
        Span::styled(format!("{} Default", mark(default)), option_style(default)),
        Span::raw(format!(
            "  {}",
            validate::default_endpoint(&app.credentials.region)
        )),
    ]));
    w.line(Line::from(vec![
        lead("", false),
        Span::styled(
            format!("{} Custom URL (VPC endpoint)", mark(!default)),
            option_style(!default),
        ),
    ]));
    if !default {
        let input = &f.custom;
        let (mut spans, cur) = field(
            theme,
            input.value(),
            input.visual_cursor(),
            focus(Field::Url),
            cols.saturating_sub(LEAD + 2).min(64),
        );
        spans.insert(0, lead("URL", focus(Field::Url)));
        if let (Some(y), Some(x)) = (w.line(Line::from(spans)), cur) {
            set_cursor(app, w.frame, area.x + LEAD as u16 + x, y);
        }
    }
    if let Some(err) = &f.error {
        w.lines(problem(theme, LEAD, err, cols, theme.error()));
    }
    w.gap();
    let Some(check) = &f.check else {
        w.lines(para(
            "",
            "Enter checks the endpoint step by step: DNS, TCP, TLS, then one DRS call.",
            cols,
            theme.muted(),
        ));
        return;
    };
    let heading = match &check.outcome {
        None => "Checking",
        Some(Ok(())) => "Checked",
        Some(Err(_)) => "Check failed: Enter checks again, Esc goes back",
    };
    w.line(Line::styled(heading, theme.title()));
    w.lines(para("  ", &theme.clean(&check.url), cols, Style::new()));
    let advice = match &check.outcome {
        Some(Ok(())) => vec![Line::styled(
            format!("{} The endpoint answers.", g.ok),
            theme.ok(),
        )],
        Some(Err(advice)) => para("", &theme.clean(advice), cols, theme.error()),
        None => vec![],
    };
    let mut stages = Vec::new();
    for (stage, status) in &check.stages {
        let (mark, detail, style) = match status {
            StageStatus::Pending => (g.pending.into(), String::new(), theme.muted()),
            StageStatus::Running => (theme.running(app.now), String::new(), Style::new()),
            StageStatus::Ok(d) => (g.ok.into(), d.clone(), theme.ok()),
            StageStatus::Failed(d) => (g.failed.into(), d.clone(), theme.error()),
            StageStatus::Skipped(d) => (g.skipped.into(), d.clone(), theme.muted()),
        };
        let head = format!("  {mark} {} ", pad(theme, stage.label(), 14));
        let mut lines = para(&head, &theme.clean(&detail), cols, style);
        if let Some(first) = lines.first_mut() {
            first.spans[0].style = style;
        }
        stages.push(lines);
    }
    // What to do next stays on screen: a long detail (a certificate's names) gives way.
    let room = w.left().saturating_sub(advice.len() + 1);
    while stages.iter().map(Vec::len).sum::<usize>() > room {
        let Some(longest) = stages
            .iter_mut()
            .filter(|l| l.len() > 1)
            .max_by_key(|l| l.len())
        else {
            break;
        };
        longest.pop();
        if let Some(last) = longest.last_mut() {
            last.spans.push(Span::raw(g.ellipsis));
        }
    }
    stages.into_iter().for_each(|lines| w.lines(lines));
    if !advice.is_empty() {
        w.gap();
        w.lines(advice);
    }
}
