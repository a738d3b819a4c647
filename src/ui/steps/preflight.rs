//! Step 2: the pre-flight checks, one row each (verdict, what was measured, the fix), and the
//! questions the RAM override and the clock setting ask first.

use crate::app::App;
use crate::domain::preflight::{self, Check, RAM_OVERRIDE_RISK, Verdict};
use crate::preflight::Report;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, fit, pad, para, problem, width};
use crate::wizard::Loadable;
use crate::wizard::preflight::Confirm;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const TITLE: usize = 16;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let f = &app.preflight;
    let g = theme.glyphs();
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    let report = match &f.report {
        Loadable::Loaded(r) => r,
        Loadable::Loading(_) | Loadable::NotAsked => {
            w.line(Line::from(format!(
                "{} Checking this machine, the clock and the way to AWS{}",
                theme.running(app.now),
                g.ellipsis
            )));
            if f.waiting {
                w.line(waiting(theme));
            }
            return;
        }
        Loadable::Failed(e) => {
            w.lines(problem(theme, 0, e, cols, theme.error()));
            return;
        }
    };
    let summary = format!(
        "{}{}",
        preflight::tally(&report.checks),
        if f.running() {
            format!("  {} checking again", theme.running(app.now))
        } else {
            String::new()
        }
    );
    w.line(Line::styled(summary, theme.title()));
    let measured = |c: &Check| {
        let overridden = f.ram_overridden && c.id == "ram" && c.verdict == Verdict::Fail;
        let text = if overridden {
            format!("{} (overridden)", c.measured)
        } else {
            c.measured.clone()
        };
        theme.clean(&text).to_string()
    };
    let rows: Vec<Vec<Line>> = report
        .checks
        .iter()
        .map(|c| full(theme, c, &measured(c), cols))
        .collect();
    let below = below(app, report, cols, theme);
    if rows.iter().map(Vec::len).sum::<usize>() + below.len() + 1 <= w.left() {
        rows.into_iter().for_each(|r| w.lines(r));
    } else {
        // One line a check; the selected one's measurement and fix in full below.
        for (i, c) in report.checks.iter().enumerate() {
            w.line(row(theme, c, &measured(c), i == f.selected, cols));
        }
        if let Some(c) = report.checks.get(f.selected) {
            w.gap();
            w.lines(para(
                &format!("{}: ", c.title),
                &measured(c),
                cols,
                theme.title(),
            ));
            if let Some(fix) = &c.fix {
                w.lines(para("", &theme.clean(fix), cols, theme.muted()));
            }
        }
    }
    w.lines(below);
}

fn mark(theme: &Theme, c: &Check) -> (&'static str, Style) {
    let g = theme.glyphs();
    match c.verdict {
        Verdict::Pass => (g.ok, theme.ok()),
        Verdict::Warning => (g.warn, theme.warning()),
        Verdict::Fail => (g.failed, theme.error()),
    }
}

/// A check with its measurement and fix wrapped under its title.
pub fn full(theme: &Theme, c: &Check, measured: &str, cols: usize) -> Vec<Line<'static>> {
    let (mark, style) = mark(theme, c);
    let head = format!("  {mark} {} ", pad(theme, c.title, TITLE));
    let mut lines = para(&head, &theme.clean(measured), cols, Style::new());
    if let Some(first) = lines.first_mut() {
        first.spans[0].style = style;
    }
    if let Some(fix) = &c.fix {
        let lead = " ".repeat(width(&head));
        lines.extend(para(&lead, &theme.clean(fix), cols, theme.muted()));
    }
    lines
}

/// A check on one line: the cursor when selected, its mark, title and measurement (cut to fit).
pub fn row(theme: &Theme, c: &Check, measured: &str, selected: bool, cols: usize) -> Line<'static> {
    let (mark, style) = mark(theme, c);
    let cursor = if selected { ">" } else { " " };
    let title = format!("{} ", pad(theme, c.title, TITLE));
    let used = width(cursor) + 1 + width(mark) + 1 + width(&title);
    let head_style = if selected {
        theme.focus()
    } else {
        Style::new()
    };
    Line::from(vec![
        Span::styled(format!("{cursor} "), head_style),
        Span::styled(format!("{mark} "), style),
        Span::styled(title, head_style),
        Span::raw(fit(
            theme,
            &theme.clean(measured),
            cols.saturating_sub(used),
        )),
    ])
}

fn waiting(theme: &Theme) -> Line<'static> {
    Line::styled(
        "Will go on once the checks finish (Esc cancels it).",
        theme.warning(),
    )
}

/// What follows the rows: the clock setting's result, Next's refusal, the question asked.
fn below(app: &App, report: &Report, cols: usize, theme: &Theme) -> Vec<Line<'static>> {
    let f = &app.preflight;
    let g = theme.glyphs();
    let mut v = Vec::new();
    match &f.clock_set {
        Loadable::Loaded(()) => {
            v.push(Line::styled(
                format!("{} The clock was set from the endpoint's time.", g.ok),
                theme.ok(),
            ));
        }
        Loadable::Failed(e) => v.extend(problem(theme, 0, e, cols, theme.error())),
        _ => {}
    }
    if let Some(err) = &f.error {
        v.extend(problem(theme, 0, err, cols, theme.error()));
    }
    if f.waiting {
        v.push(waiting(theme));
    }
    match f.confirm {
        Some(Confirm::RamOverride) => {
            v.push(Line::default());
            v.extend(para(
                "",
                &format!("Go on with less than 4 GiB of RAM? {RAM_OVERRIDE_RISK} y goes on, n keeps the refusal."),
                cols,
                theme.warning(),
            ));
        }
        Some(Confirm::SetClock) => {
            let skew = report.clock_skew_seconds.unwrap_or_default();
            let to = crate::domain::time::iso8601(app.epoch + skew);
            v.push(Line::default());
            v.extend(para(
                "",
                &format!(
                    "Set this machine's clock to {} UTC, the DRS endpoint's time? y sets it (as root), n leaves it.",
                    to.get(..19).unwrap_or(&to).replace('T', " ")
                ),
                cols,
                theme.warning(),
            ));
        }
        None => {}
    }
    v
}
