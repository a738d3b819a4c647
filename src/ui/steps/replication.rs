//! Step 7: the replication dashboard. Built for 80x24: fixed facts first, then the launch panel,
//! the setup steps (folded to one line when short of rows), the chart, and the log gets the
//! rest. Nothing moves between polls except the spinner while waiting.

use crate::app::App;
use crate::domain::bytes::Bytes;
use crate::domain::model::{InitiationStep, throttle_words};
use crate::domain::replication_errors;
use crate::domain::states::{FailbackState, StepStatus};
use crate::domain::throughput::{
    GAP_SECS, eta_seconds, format_age, format_duration_coarse, format_rate_coarse,
};
use crate::domain::time::{self, parse_iso_duration};
use crate::drs::DrsErrorKind;
use crate::ui::steps::credentials::{LEAD, Rows};
use crate::ui::theme::Theme;
use crate::ui::widgets::{
    Writer, bar, field, fit, hint_spans, pad, para, percent, popup, problem, set_cursor, width,
};
use crate::wizard::replication::{CredentialsPrompt, Dashboard, Launch, ThrottleForm};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Sparkline, SparklineBar};

/// Rows the log keeps at least, with its title.
const MIN_LOG: usize = 6;
/// Columns left of the chart for its labels.
const CHART_LABEL: u16 = 12;
/// Chart rows: at least (below that it says nothing) and at most.
const MIN_CHART: usize = 3;
const MAX_CHART: usize = 8;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(d) = &app.dashboard else {
        Writer::new(frame, area).line("Handing the plan to the failback worker...");
        return;
    };
    let cols = area.width as usize;
    let mut top = state_lines(app, theme, d, cols);
    top.extend(progress_lines(theme, d, cols));
    let launch = launch_lines(app, theme, d, cols);
    let steps = d
        .instance
        .as_ref()
        .map(|i| i.replication.steps.as_slice())
        .unwrap_or_default();
    let chart_points = d.service_history.points();
    // Once everything is copied a flat zero line says nothing: its rows go to the log.
    let (done, total) = d.progress();
    let plot_cols = cols.saturating_sub(CHART_LABEL as usize);
    let recent = &chart_points[chart_points.len().saturating_sub(plot_cols)..];
    let has_chart =
        chart_points.len() >= 2 && !(done >= total && recent.iter().all(|p| p.1 == 0.0));

    // Row budget: facts, launch panel, a small chart, one line of setup steps and a log; what
    // is left unfolds the steps (while they matter), then grows the chart and the log.
    let settled = steps.iter().all(|s| s.status.is_done());
    let chart_min = if has_chart { MIN_CHART } else { 0 };
    let base = top.len() + launch.len() + chart_min + usize::from(!steps.is_empty()) + MIN_LOG;
    let mut extra = (area.height as usize).saturating_sub(base);
    let steps_full = !settled && steps.len() > 1 && extra >= steps.len() - 1;
    if steps_full {
        extra -= steps.len() - 1;
    }
    let chart_rows = if has_chart {
        (chart_min + extra / 3).min(MAX_CHART)
    } else {
        0
    };

    let mut w = Writer::new(frame, area);
    w.lines(top);
    if let Some(rect) = (chart_rows > 0).then(|| w.take(chart_rows)).flatten() {
        chart(theme, w.frame, rect, &chart_points);
    }
    if steps_full {
        w.lines(steps.iter().map(|s| step_line(app, theme, s)));
    } else if let Some(line) = folded_steps(app, theme, steps) {
        w.line(line);
    }
    w.lines(launch);
    log(theme, d, &mut w);

    // A modal (help, quit) goes over these.
    if app.modal.is_some() {
        return;
    }
    if let Some(p) = d.prompt() {
        credentials_prompt(
            app,
            theme,
            frame,
            area,
            p,
            (
                "Fresh credentials",
                "The replication software keeps running; the dashboard's figures wait for \
                 credentials DRS accepts. Any attached terminal may give them; paste export \
                 lines, a credentials file or assume-role JSON.",
            ),
        );
    } else if let Some(t) = &d.throttle {
        throttle(app, theme, frame, area, d, t);
    } else if d.stopping {
        confirm(
            theme,
            frame,
            area,
            ("Stop failback", "Stop the failback now?"),
            "DRS stops replicating to this machine (StopFailback) and forgets this failback client; the target disks stay partly written and do not boot. Starting a new failback copies them again.",
            ("y", "stop"),
        );
    } else if d.launch == Launch::Confirming {
        confirm(
            theme,
            frame,
            area,
            ("Failback launch", "Start the failback launch now?"),
            "This stops replication and converts the replicated data for this machine (StartFailbackLaunch). When DRS reports FAILBACK_COMPLETED, this machine boots from its local disk.",
            ("y", "start"),
        );
    }
}

/// "Downloading AWS's replication software: failback_assets.tar.gz 12 MiB of 113 MiB (10%),
/// 4.1 MiB/s, ETA 30s"
fn download_line(p: &crate::failback_software::Progress) -> String {
    let mut text = format!(
        "Downloading AWS's replication software: {} {}",
        p.file,
        Bytes(p.bytes)
    );
    if let Some(total) = p.total.filter(|t| *t > 0) {
        text.push_str(&format!(
            " of {} ({}%)",
            Bytes(total),
            percent(p.bytes.min(total), total)
        ));
    }
    if let Some(rate) = p.bytes_per_second {
        text.push_str(&format!(", {}", format_rate_coarse(rate)));
    }
    if let Some(eta) = p.eta_seconds {
        text.push_str(&format!(", ETA {}", format_duration_coarse(eta)));
    }
    text
}

fn elapsed(now: f64, then: f64) -> String {
    format_duration_coarse((now - then).max(0.0) as u64)
}

fn state_lines(app: &App, theme: &Theme, d: &Dashboard, cols: usize) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let mut lines = Vec::new();
    if let Some(by) = &d.started_by {
        lines.extend(para("", by, cols, theme.muted()));
    }
    if let Some(p) = &d.download {
        lines.extend(para("", &download_line(p), cols, Style::new()));
    }
    let Some(i) = &d.instance else {
        lines.push(Line::from(format!(
            "{} Waiting for the first answer from DRS{}  elapsed {}",
            theme.spinner(app.now),
            g.ellipsis,
            elapsed(app.now, d.started_at)
        )));
        return lines;
    };
    let r = &i.replication;
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    let polled = d.last_poll.map_or("not polled yet".to_owned(), |t| {
        format!("polled {}", format_age((app.now - t).max(0.0) as u64))
    });
    lines.push(Line::from(vec![
        Span::styled(dash(r.state.as_str()), theme.title()),
        Span::raw("  failback "),
        Span::styled(dash(i.failback.state.as_str()), theme.title()),
        Span::raw(format!(
            "  elapsed {}  {polled}",
            elapsed(app.now, d.started_at)
        )),
    ]));
    lines.extend(configuration_lines(theme, d, cols));
    if d.fresh_credentials.as_ref().is_some_and(|p| p.hidden) {
        lines.extend(problem(
            theme,
            0,
            "The session token expired: press k to type fresh credentials. The replication \
             software keeps running; the figures resume once DRS accepts them.",
            cols,
            theme.warning(),
        ));
    }
    // When DRS last heard from each end: a stale one explains a stall before any error does.
    let seen = |at: &Option<String>| {
        at.as_deref()
            .and_then(time::parse_iso8601)
            .map_or("never".to_owned(), |t| {
                format_age((app.epoch - t).max(0) as u64)
            })
    };
    let (client, agent) = (&i.failback.client_last_seen, &i.failback.agent_last_seen);
    if client.is_some() || agent.is_some() {
        lines.push(Line::from(format!(
            "Seen by DRS: failback client {}, agent {}",
            seen(client),
            seen(agent)
        )));
    }
    if let Some(err) = &r.error {
        let what = match &r.raw_error {
            Some(raw) => format!("{err}: {raw}"),
            None => err.clone(),
        };
        let text = format!(
            "{}. {}",
            what.trim_end_matches('.'),
            replication_errors::next_step(err)
        );
        lines.extend(problem(theme, 0, &text, cols, theme.error()));
    }
    let (done, total) = d.progress();
    // Figures measured before a stall describe data that no longer flows.
    let flows = r.state.data_flows();
    let rate = d.service_rate.rate().filter(|_| flows);
    let mut text = if total > 0 && done >= total {
        "Copy complete".to_owned()
    } else if !flows {
        format!("No ETA while {}", r.state)
    } else if let Some(secs) = eta_seconds(total - done, rate) {
        format!("ETA {}", format_duration_coarse(secs))
    } else if let Some(service) = &r.eta {
        format!("ETA (DRS) {service}")
    } else {
        "ETA unknown until data flows".to_owned()
    };
    if let Some(lag) = &r.lag {
        let lag = parse_iso_duration(lag).map_or_else(|| lag.clone(), format_duration_coarse);
        text.push_str(&format!(", lag {lag}"));
    }
    let rate_of = |r: Option<f64>| r.map_or("-".to_owned(), format_rate_coarse);
    text.push_str(&format!(
        "; DRS {}, disk writes {}; {} written here",
        rate_of(rate),
        rate_of(d.write_rate.rate().filter(|_| flows)),
        Bytes(d.written)
    ));
    lines.extend(para("", &theme.clean(&text), cols, Style::new()));
    lines
}

/// The failback replication configuration: throttle and route, or why it is not shown.
fn configuration_lines(theme: &Theme, d: &Dashboard, cols: usize) -> Vec<Line<'static>> {
    let text = match &d.configuration {
        None => return vec![],
        Some(Ok(c)) => return vec![Line::from(format!("Replication: {}", c.describe()))],
        // The prompt for fresh credentials says it; the configuration is read again after.
        Some(Err(e)) if e.kind == DrsErrorKind::ExpiredToken => return vec![],
        Some(Err(e)) if matches!(e.kind, DrsErrorKind::AccessDenied { .. }) => {
            "Bandwidth and route: not readable with the failback installation policy \
             (GetFailbackReplicationConfiguration); the DRS console shows and changes them."
                .to_owned()
        }
        Some(Err(e)) => format!("Bandwidth and route could not be read: {}", e.advice()),
    };
    para("", &text, cols, theme.muted())
}

/// Columns right of a bar: percent, done/total, backlog and rescan.
const AMOUNTS: usize = 40;

/// `label [bar] pct done/total extra`, bars of one width so they line up.
fn gauge(
    theme: &Theme,
    label: &str,
    label_cols: usize,
    done: u64,
    total: u64,
    extra: String,
    cols: usize,
) -> Line<'static> {
    let bar_cols = cols.saturating_sub(label_cols + 3 + AMOUNTS).clamp(8, 60);
    Line::from(format!(
        "{} [{}] {:>3}% {}/{}{extra}",
        pad(theme, label, label_cols),
        bar(theme, done, total, bar_cols),
        percent(done, total),
        Bytes(done),
        Bytes(total)
    ))
}

fn progress_lines(theme: &Theme, d: &Dashboard, cols: usize) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    let disks = d
        .instance
        .as_ref()
        .map(|i| i.replication.disks.as_slice())
        .unwrap_or_default();
    let labels: Vec<String> = d
        .targets
        .iter()
        .map(|t| {
            theme
                .clean(&format!("{} {} {}", t.volume, g.arrow, t.device))
                .into_owned()
        })
        .collect();
    let label_cols = labels
        .iter()
        .map(|l| width(l))
        .max()
        .unwrap_or(0)
        .clamp(5, 28);
    let (done, total) = d.progress();
    let mut lines = vec![gauge(
        theme,
        "Total",
        label_cols,
        done,
        total,
        String::new(),
        cols,
    )];
    for (t, label) in d.targets.iter().zip(&labels) {
        let r = disks.iter().find(|r| r.device_name == t.volume);
        let (done, total) = r.map_or((0, t.volume_bytes), |r| (r.replicated, r.total));
        let mut extra = String::new();
        if let Some(r) = r.filter(|r| r.backlogged > 0) {
            extra.push_str(&format!("  backlog {}", Bytes(r.backlogged)));
        }
        if let Some(r) = r.filter(|r| r.rescanned > 0) {
            extra.push_str(&format!("  rescan {}", Bytes(r.rescanned)));
        }
        lines.push(gauge(theme, label, label_cols, done, total, extra, cols));
    }
    lines
}

fn chart(theme: &Theme, frame: &mut Frame, area: Rect, points: &[(f64, f64)]) {
    let plot_cols = area.width.saturating_sub(CHART_LABEL) as usize;
    // One bar a point; a pause in sampling shows as an empty column, not a made-up value.
    let mut bars: Vec<Option<f64>> = Vec::new();
    for (k, &(t, v)) in points.iter().enumerate() {
        if k > 0 && t - points[k - 1].0 > GAP_SECS {
            bars.push(None);
        }
        bars.push(Some(v));
    }
    // New bars fill the plot left to right; a full plot jumps half a width at once rather than
    // scrolling a column a second (which rewrites every cell of it on a serial line).
    let shown = &bars[window_start(bars.len(), plot_cols)..];
    let peak = shown.iter().flatten().copied().fold(0.0, f64::max);
    // Headroom above the peak, so a steady rate reads as a line, not a wall; a round scale
    // that moves seldom, since each move redraws every bar.
    let max = round_scale(peak * 1.25);
    let first = shown.iter().flatten().count();
    let span = points.last().map_or(0.0, |l| l.0) - points[points.len().saturating_sub(first)].0;
    // Tenths of MiB/s: Sparkline takes integers.
    let data: Vec<SparklineBar> = shown
        .iter()
        .map(|v| SparklineBar::from(v.map(|v| (v * 10.0).round() as u64)))
        .collect();
    let labels = [
        format!("peak {peak:.1}"),
        "MiB/s DRS".to_owned(),
        format!("last {}", format_duration_coarse(span.max(0.0) as u64)),
    ];
    let mut w = Writer::new(
        frame,
        Rect::new(area.x, area.y, CHART_LABEL.min(area.width), area.height),
    );
    w.lines(labels.into_iter().map(|l| Line::styled(l, theme.muted())));
    let plot = Rect::new(
        area.x + CHART_LABEL.min(area.width),
        area.y,
        plot_cols as u16,
        area.height,
    );
    frame.render_widget(
        Sparkline::default()
            .data(data)
            .max(((max * 10.0).round() as u64).max(1))
            .bar_set(theme.glyphs().sparkline.clone()),
        plot,
    );
}

/// Where the shown part of a growing list (the chart's bars, the log's lines) starts: 0 until
/// its `cols` are full, then in steps of half of them.
fn window_start(bars: usize, cols: usize) -> usize {
    let step = (cols / 2).max(1);
    bars.saturating_sub(cols).div_ceil(step) * step
}

/// The next round number (1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten) at or above `v`.
fn round_scale(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 0.0;
    }
    let tens = 10f64.powf(v.log10().floor());
    [1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * tens)
        .find(|&s| s >= v)
        .unwrap_or(10.0 * tens)
}

/// "PAIR_AGENT_WITH_REPLICATION_SOFTWARE" → "Pair agent with replication software"
fn humanise(name: &str) -> String {
    let lower = name.to_lowercase().replace('_', " ");
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn step_mark(app: &App, theme: &Theme, status: &StepStatus) -> (String, Style) {
    let g = theme.glyphs();
    match status {
        StepStatus::Succeeded => (g.ok.into(), theme.ok()),
        StepStatus::Failed => (g.failed.into(), theme.error()),
        StepStatus::Skipped => (g.skipped.into(), theme.muted()),
        StepStatus::InProgress => (theme.running(app.now).into_owned(), Style::new()),
        _ => (g.pending.into(), theme.muted()),
    }
}

fn step_line(app: &App, theme: &Theme, s: &InitiationStep) -> Line<'static> {
    let (mark, style) = step_mark(app, theme, &s.status);
    Line::styled(format!("  {mark} {}", humanise(&s.name)), style)
}

/// One line for the setup steps: the one that matters now, and how far along.
fn folded_steps(app: &App, theme: &Theme, steps: &[InitiationStep]) -> Option<Line<'static>> {
    let done = steps.iter().filter(|s| s.status.is_done()).count();
    let n = steps.len();
    if n == 0 {
        return None;
    }
    let current = [
        StepStatus::Failed,
        StepStatus::InProgress,
        StepStatus::NotStarted,
    ]
    .iter()
    .find_map(|st| steps.iter().find(|s| s.status == *st));
    Some(match current {
        None => Line::styled(
            format!("Setup: all {n} steps done {}", theme.glyphs().ok),
            theme.ok(),
        ),
        Some(s) => {
            let (mark, style) = step_mark(app, theme, &s.status);
            Line::styled(
                format!("Setup {done}/{n} done: {mark} {}", humanise(&s.name)),
                style,
            )
        }
    })
}

fn launch_lines(app: &App, theme: &Theme, d: &Dashboard, cols: usize) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    match &d.launch {
        Launch::NotReady => vec![Line::styled(
            "Failback launch: possible once DRS reports FAILBACK_READY_FOR_LAUNCH.",
            theme.muted(),
        )],
        Launch::Ready | Launch::Confirming => para(
            &format!("{} ", g.arrow),
            "Replication is healthy and the instance is FAILBACK_READY_FOR_LAUNCH. Press l to start the failback launch.",
            cols,
            theme.emphasis(),
        ),
        Launch::Starting => vec![Line::from(format!(
            "{} Starting the failback launch{}",
            theme.spinner(app.now),
            g.ellipsis
        ))],
        Launch::Started(job) => para(
            &format!("{} ", g.ok),
            &format!(
                "Launch job {} started; waiting for FAILBACK_COMPLETED (now {}).",
                theme.clean(&job.id),
                match d.failback_state() {
                    FailbackState::NotGiven => "-",
                    s => s.as_str(),
                }
            ),
            cols,
            theme.ok(),
        ),
        Launch::Denied(msg) => problem(theme, 0, msg, cols, theme.warning()),
        Launch::Failed(msg) => problem(
            theme,
            0,
            &format!("The failback launch failed: {msg}"),
            cols,
            theme.error(),
        ),
    }
}

fn log(theme: &Theme, d: &Dashboard, w: &mut Writer) {
    let g = theme.glyphs();
    let cols = w.cols();
    let rows = w.left().saturating_sub(1);
    let end = d.log.len().saturating_sub(d.log_scroll);
    // Following the newest line, the log fills its rows top down, then jumps half its height at
    // once, as the chart does: scrolling a line each time rewrote every row on a serial line.
    let start = if d.log_scroll == 0 {
        window_start(end, rows)
    } else {
        end.saturating_sub(rows)
    };
    let mut title = " Log ".to_owned();
    if d.log_scroll > 0 {
        title.push_str(&format!(
            "(lines {}-{} of {}; End: newest) ",
            start + 1,
            end,
            d.log.len()
        ));
    }
    let rule = format!("{}{title}", g.rule.repeat(2));
    let rest = cols.saturating_sub(width(&rule));
    w.line(Line::styled(
        format!("{rule}{}", g.rule.repeat(rest)),
        theme.border(),
    ));
    for line in d.log.range(start..end) {
        w.line(fit(theme, &theme.clean(line), cols));
    }
}

/// Popup width over the dashboard: the screen less a margin, at most `most`.
fn popup_cols(area: Rect, most: u16) -> u16 {
    area.width.saturating_sub(4).min(most)
}

/// The credentials every terminal is asked for: fresh ones after ExpiredToken over the
/// dashboard, or an unattended run's over any step. `(title, why)` say which.
pub fn credentials_prompt(
    app: &App,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    p: &CredentialsPrompt,
    (title, why): (&str, &str),
) {
    let cols = popup_cols(area, 76);
    let inner = cols.saturating_sub(2) as usize;
    let mut head = para("", &p.detail, inner, theme.warning());
    head.extend(para("", why, inner, Style::new()));
    let mut tail = Vec::new();
    if p.sending {
        tail.push(Line::from(format!(
            "{} Checking them with DRS{}",
            theme.spinner(app.now),
            theme.glyphs().ellipsis
        )));
    } else if let Some(e) = &p.error {
        tail.extend(problem(theme, 0, e, inner, theme.error()));
    }
    let errors: usize = p
        .form
        .fields()
        .iter()
        .filter_map(|f| p.form.visible_error(*f))
        .map(|e| problem(theme, LEAD, &e, inner, Style::new()).len())
        .sum();
    let rows = head.len() + 1 + 3 + errors + usize::from(!tail.is_empty()) + tail.len();
    let body = popup(theme, frame, area, title, cols, rows as u16 + 2);
    let mut w = Writer::new(frame, body);
    w.lines(head);
    w.gap();
    Rows {
        app,
        theme,
        form: &p.form,
        editable: !p.sending,
        x: body.x,
    }
    .keys(&mut w, inner);
    if !tail.is_empty() {
        w.gap();
        w.lines(tail);
    }
}

/// The bandwidth throttle being typed.
fn throttle(
    app: &App,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    d: &Dashboard,
    t: &ThrottleForm,
) {
    let cols = popup_cols(area, 66);
    let inner = cols.saturating_sub(2) as usize;
    let now = match &d.configuration {
        Some(Ok(c)) => format!("Now {}. ", throttle_words(c.bandwidth_mbps)),
        _ => String::new(),
    };
    let mut lines = para(
        "",
        &format!(
            "{now}Limit the replication to this machine, in whole Mbps; 0 lifts the throttle. \
             DRS applies it at once (UpdateFailbackReplicationConfiguration), and every attached \
             terminal sees it."
        ),
        inner,
        Style::new(),
    );
    lines.push(Line::default());
    let label = "Throttle (Mbps) ";
    let (mut spans, cursor) = field(
        theme,
        t.input.value(),
        t.input.visual_cursor(),
        t.sending.is_none(),
        12,
    );
    spans.insert(0, Span::raw(label));
    let field_line = lines.len();
    lines.push(Line::from(spans));
    if let Some(mbps) = t.sending {
        lines.push(Line::from(format!(
            "{} Asking DRS for {}{}",
            theme.spinner(app.now),
            throttle_words(mbps.into()),
            theme.glyphs().ellipsis
        )));
    } else if let Some(e) = &t.error {
        lines.extend(problem(theme, 0, e, inner, theme.error()));
    }
    let body = popup(
        theme,
        frame,
        area,
        "Bandwidth throttle",
        cols,
        lines.len() as u16 + 2,
    );
    Writer::new(frame, body).lines(lines);
    if let Some(x) = cursor {
        set_cursor(
            app,
            frame,
            body.x + width(label) as u16 + x,
            body.y + field_line as u16,
        );
    }
}

/// A question over the dashboard: `(title, question)`, what it means, the yes key.
fn confirm(
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    (title, question): (&str, &str),
    meaning: &str,
    yes: (&'static str, &'static str),
) {
    let cols = area.width.saturating_sub(4).min(66);
    let inner = cols.saturating_sub(2) as usize;
    let mut lines = vec![Line::styled(question.to_owned(), theme.title())];
    lines.push(Line::default());
    lines.extend(para("", meaning, inner, Style::new()));
    lines.push(Line::default());
    lines.push(Line::from(hint_spans(theme, &[yes, ("n", "not now")])));
    let body = popup(theme, frame, area, title, cols, lines.len() as u16 + 2);
    Writer::new(frame, body).lines(lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_fills_then_jumps_half_a_width_instead_of_scrolling() {
        assert_eq!(window_start(10, 68), 0);
        assert_eq!(window_start(68, 68), 0);
        assert_eq!(window_start(69, 68), 34);
        assert_eq!(window_start(102, 68), 34);
        assert_eq!(window_start(103, 68), 68);
        // Between jumps a new bar leaves every earlier column where it was.
        let moves = (1..1000).filter(|&n| window_start(n, 68) != window_start(n + 1, 68));
        assert_eq!(moves.count(), 1000 / 34 - 1);
    }

    #[test]
    fn the_chart_scale_moves_in_round_steps() {
        assert_eq!(round_scale(0.0), 0.0);
        assert_eq!(round_scale(1.3), 1.5);
        assert_eq!(round_scale(48.4), 50.0);
        assert_eq!(round_scale(50.0), 50.0);
        assert_eq!(round_scale(66.6), 80.0);
    }
}
