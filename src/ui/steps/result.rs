//! Step 8: completed (summary, job timeline, next steps) or failed (what, last lines, log
//! file, choices).

use crate::app::App;
use crate::domain::bytes::Bytes;
use crate::domain::throughput::{format_duration, format_rate};
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, fit, hint_spans, pad, para, problem};
use crate::wizard::Loadable;
use crate::wizard::result::{Failure, Outcome, Summary};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut w = Writer::new(frame, area);
    match &app.outcome {
        Some(Outcome::Completed(s)) => completed(app, theme, s, &mut w),
        Some(Outcome::Failed(f)) => failed(app, theme, f, &mut w),
        None => {
            w.line("No outcome yet.");
        }
    }
}

fn completed(app: &App, theme: &Theme, s: &Summary, w: &mut Writer) {
    let g = theme.glyphs();
    let cols = w.cols();
    w.line(Line::styled(
        format!("{} Failback completed", g.ok),
        theme.ok().patch(theme.title()),
    ));
    w.lines(para(
        "",
        &format!(
            "Recovery instance {}: {} in {}, {} written here, {} on average.",
            theme.clean(&s.instance_id),
            Bytes(s.replicated_bytes),
            format_duration(s.duration_secs),
            Bytes(s.written_bytes),
            format_rate(s.average_rate()),
        ),
        cols,
        Style::new(),
    ));
    if let Some(job) = &s.job {
        let mut text = format!("Launch job {} {}", job.id, job.status);
        if let Some(end) = &job.ended {
            text.push_str(&format!(", ended {end}"));
        }
        w.lines(para("", &theme.clean(&text), cols, Style::new()));
    }
    let next: Vec<Line> = s
        .next_steps()
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            para(
                &format!("  {}. ", i + 1),
                &theme.clean(t),
                cols,
                theme.emphasis(),
            )
        })
        .collect();
    w.gap();
    let timeline = timeline_lines(app, theme, s, cols);
    // The next steps must stay on screen: the timeline keeps its newest rows that fit.
    let room = w.left().saturating_sub(next.len() + 3);
    w.line(Line::styled("Job timeline", theme.title()));
    let skip = timeline.len().saturating_sub(room);
    if skip > 0 {
        w.line(Line::styled(
            format!("  ({} earlier events)", skip + 1),
            theme.muted(),
        ));
    }
    w.lines(timeline.into_iter().skip(skip + usize::from(skip > 0)));
    w.gap();
    w.line(Line::styled("Next", theme.title()));
    w.lines(next);
}

fn timeline_lines(app: &App, theme: &Theme, s: &Summary, cols: usize) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    match &s.timeline {
        Loadable::NotAsked => vec![Line::styled(
            "  No launch job is known, so there is no timeline to show.",
            theme.muted(),
        )],
        Loadable::Loading(_) => vec![Line::from(format!(
            "  {} Fetching the job log{}",
            theme.spinner(app.now),
            g.ellipsis
        ))],
        Loadable::Failed(e) => {
            let mut lines = problem(theme, 2, &e.advice(), cols, theme.warning());
            lines.extend(para(
                "    ",
                &theme.clean(&format!("AWS said: {}", e.detail)),
                cols,
                theme.muted(),
            ));
            lines
        }
        Loadable::Loaded(items) if items.is_empty() => {
            vec![Line::styled("  The job log is empty.", theme.muted())]
        }
        Loadable::Loaded(items) => {
            let time_cols = items
                .iter()
                .map(|i| i.time.len())
                .max()
                .unwrap_or(0)
                .min(25);
            items
                .iter()
                .map(|i| {
                    let mut text = format!(
                        "  {}  {}",
                        pad(theme, &i.time, time_cols),
                        pad(theme, i.event.as_str(), 18)
                    );
                    if let Some(d) = &i.detail {
                        text.push_str(d);
                    }
                    Line::from(fit(theme, &theme.clean(&text), cols))
                })
                .collect()
        }
    }
}

fn failed(app: &App, theme: &Theme, f: &Failure, w: &mut Writer) {
    let g = theme.glyphs();
    let cols = w.cols();
    w.line(Line::styled(
        format!("{} Failback failed", g.failed),
        theme.error(),
    ));
    w.lines(para("", &theme.clean(&f.what), cols, theme.error()));
    w.gap();
    let log_file = match &app.log_path {
        Some(p) => format!("The full log is in {p}"),
        None => "No log file was written (no --log-file).".to_owned(),
    };
    let tail = para("", &theme.clean(&log_file), cols, Style::new());
    // Choices and the log path stay on screen; the last lines give way.
    let room = w.left().saturating_sub(tail.len() + 3);
    if !f.last_log.is_empty() {
        w.line(Line::styled("Last log lines", theme.title()));
        let skip = f.last_log.len().saturating_sub(room);
        for line in &f.last_log[skip..] {
            w.line(Line::from(fit(
                theme,
                &theme.clean(&format!("  {line}")),
                cols,
            )));
        }
    }
    w.lines(tail);
    w.gap();
    w.line(Line::from(hint_spans(
        theme,
        &[
            ("r", "retry from the review"),
            ("b", "back to the volume mapping"),
            ("q", "quit"),
        ],
    )));
}
