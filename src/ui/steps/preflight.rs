//! Step 2: the pre-flight checks, one row each (verdict, what was measured, the fix), and the
//! questions the RAM override and the clock setting ask first.

use crate::app::App;
use crate::domain::preflight::{RAM_OVERRIDE_RISK, Verdict};
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, pad, para, problem, width};
use crate::wizard::Loadable;
use crate::wizard::preflight::Confirm;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

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
            return;
        }
        Loadable::Failed(e) => {
            w.lines(problem(theme, 0, e, cols, theme.error()));
            return;
        }
    };
    let count = |v| report.checks.iter().filter(|c| c.verdict == v).count();
    let summary = format!(
        "{} passed, {} warnings, {} failed{}",
        count(Verdict::Pass),
        count(Verdict::Warning),
        count(Verdict::Fail),
        if f.running() {
            format!("  {} checking again", theme.running(app.now))
        } else {
            String::new()
        }
    );
    w.line(Line::styled(summary, theme.title()));
    let fix_lead = " ".repeat(2 + width(g.ok) + 1 + TITLE + 1);
    for c in &report.checks {
        let (mark, style) = match c.verdict {
            Verdict::Pass => (g.ok, theme.ok()),
            Verdict::Warning => (g.warn, theme.warning()),
            Verdict::Fail => (g.failed, theme.error()),
        };
        let overridden = f.ram_overridden && c.id == "ram" && c.verdict == Verdict::Fail;
        let head = format!("  {mark} {} ", pad(theme, c.title, TITLE));
        let measured = if overridden {
            format!("{} (overridden)", c.measured)
        } else {
            c.measured.clone()
        };
        let mut lines = para(&head, &theme.clean(&measured), cols, Style::new());
        if let Some(first) = lines.first_mut() {
            first.spans[0].style = style;
        }
        w.lines(lines);
        if let Some(fix) = &c.fix {
            w.lines(para(&fix_lead, &theme.clean(fix), cols, theme.muted()));
        }
    }
    match &f.clock_set {
        Loadable::Loaded(()) => {
            w.line(Line::styled(
                format!("{} The clock was set from the endpoint's time.", g.ok),
                theme.ok(),
            ));
        }
        Loadable::Failed(e) => w.lines(problem(theme, 0, e, cols, theme.error())),
        _ => {}
    }
    if let Some(err) = &f.error {
        w.lines(problem(theme, 0, err, cols, theme.error()));
    }
    match f.confirm {
        Some(Confirm::RamOverride) => {
            w.gap();
            w.lines(para(
                "",
                &format!("Go on with less than 4 GiB of RAM? {RAM_OVERRIDE_RISK} y goes on, n keeps the refusal."),
                cols,
                theme.warning(),
            ));
        }
        Some(Confirm::SetClock) => {
            let skew = report.clock_skew_seconds.unwrap_or_default();
            let to = crate::domain::time::iso8601(app.epoch + skew);
            w.gap();
            w.lines(para(
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
}
