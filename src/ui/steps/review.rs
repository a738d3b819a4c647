//! Step 6: every choice, the disks that will be overwritten (bold in every theme), and the typed
//! confirmation.

use super::{disk_identity, preflight};
use crate::app::App;
use crate::domain::mapping::Choice;
use crate::domain::preflight::{Check, Verdict};
use crate::domain::regions;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, field, kv, para, problem, set_cursor, width};
use crate::wizard::Loadable;
use crate::wizard::credentials::Source;
use crate::wizard::endpoint::Choice as EndpointChoice;
use crate::wizard::review::{self, CONFIRM_WORD};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

const LABEL: usize = 18;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let g = theme.glyphs();
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    let text = |s: String| vec![Span::raw(theme.clean(&s).into_owned())];

    let region = regions::find(app.region())
        .map(|r| format!("{}  {}", r.code, r.name))
        .unwrap_or_else(|| app.region().to_owned());
    w.line(kv("Region", LABEL, text(region)));
    let kind = match app.endpoint.choice {
        EndpointChoice::Default => "default",
        EndpointChoice::Custom => "custom",
    };
    let url = app.endpoint.url(app.region()).unwrap_or_else(|e| e);
    w.line(kv("Endpoint", LABEL, text(format!("{url} ({kind})"))));
    let c = &app.credentials;
    let mut cred = match c.source {
        Source::Typed => format!("access key {}", c.access_key_id.value().trim()),
        Source::DefaultChain => "default credential chain".to_owned(),
    };
    if let Loadable::Loaded(v) = &c.check {
        cred.push_str(&format!(" (verified: {})", v.source));
    }
    w.line(kv("Credentials", LABEL, text(cred)));
    let Some(instance) = app.chosen_instance() else {
        w.line(Line::styled(
            "No recovery instance is chosen: go back (Esc).",
            theme.error(),
        ));
        return;
    };
    let mut ri = format!("{}  {}", instance.id, instance.display_name());
    if let Some(os) = &instance.os {
        ri.push_str(&format!("  {os}"));
    }
    w.line(kv("Recovery instance", LABEL, text(ri)));
    // Each check on a line, a failure's fix under it; or, when the disks to overwrite still
    // fit, the reason of each that did not pass in full (what a cut line loses).
    let mut short: Vec<Line> = Vec::new();
    let mut full: Vec<Line> = Vec::new();
    for c in app.instance_checks() {
        let row = preflight::row(theme, &c, &c.measured, false, cols);
        short.push(row.clone());
        if let (Verdict::Fail, Some(fix)) = (c.verdict, &c.fix) {
            short.extend(para("    ", &theme.clean(fix), cols, theme.muted()));
        }
        match c.verdict {
            Verdict::Pass => full.push(row),
            Verdict::Warning => {
                let reason = Check {
                    fix: None,
                    unattended: None,
                    ..c.clone()
                };
                full.extend(preflight::full(theme, &reason, &c.measured, cols));
            }
            Verdict::Fail => full.extend(preflight::full(theme, &c, &c.measured, cols)),
        }
    }
    let mut running: Vec<Line> = Vec::new();
    if app.preflight.report.is_loading() {
        running.push(Line::from(format!(
            "  {} Pre-flight again, for this region and endpoint{}",
            theme.running(app.now),
            g.ellipsis
        )));
    }
    if app.disks_rereading() {
        running.push(Line::from(format!(
            "  {} Local disks: reading them again{}",
            theme.running(app.now),
            g.ellipsis
        )));
    }
    if app.preflight.replication_port.is_loading() {
        running.push(Line::from(format!(
            "  {} TCP 1500 to the recovery instance: checking{}",
            theme.running(app.now),
            g.ellipsis
        )));
    }

    let disks = app.local_disks();
    let mut overwrite: Vec<Line> = Vec::new();
    let mut excluded: Vec<String> = Vec::new();
    let statuses = app.mapping.statuses(&instance.volumes, disks);
    for ((v, choice), status) in instance
        .volumes
        .iter()
        .zip(&app.mapping.choices)
        .zip(&statuses)
    {
        match choice {
            Choice::Disk(_) => {
                let Some((_, d)) = choice.disk(disks) else {
                    // Re-read since the mapping was accepted: Next refuses, saying why.
                    overwrite.extend(problem(
                        theme,
                        2,
                        &format!(
                            "{}: {}: go back to the mapping",
                            v.device_name,
                            status.describe()
                        ),
                        cols,
                        theme.error(),
                    ));
                    continue;
                };
                let line = format!(
                    "{} {} ({}) {} gets {} ({})",
                    d.device,
                    disk_identity(d),
                    d.bytes,
                    g.arrow,
                    v.device_name,
                    v.bytes
                );
                overwrite.extend(para(
                    &format!("  {} ", g.bullet),
                    &theme.clean(&line),
                    cols,
                    theme.danger(),
                ));
                let mut now = format!("holds now: {}", d.contents);
                if !d.mounts.is_empty() {
                    now.push_str(&format!("; mounted at {}", d.mounts.join(", ")));
                }
                overwrite.extend(para("    ", &theme.clean(&now), cols, theme.danger()));
                // Said before the word is typed, not only when Enter refuses.
                if status.blocks_start() {
                    let why = format!("{}: {}", status.describe(), review::fix_for(status));
                    overwrite.extend(problem(theme, 4, &why, cols, theme.error()));
                }
            }
            Choice::Exclude => excluded.push(format!("{} ({})", v.device_name, v.bytes)),
            Choice::Unmapped => overwrite.extend(problem(
                theme,
                2,
                &format!("{} is not mapped: go back to the mapping", v.device_name),
                cols,
                theme.error(),
            )),
        }
    }
    let confirm_rows =
        2 + usize::from(app.review.waiting) + app.review.error.as_ref().map_or(0, |_| 2);
    let mut listing = review::boot_warning(instance, &app.mapping.choices)
        .map(|warning| problem(theme, 0, &warning, cols, theme.warning()))
        .unwrap_or_default();
    listing.push(Line::styled(
        "These local disks will be OVERWRITTEN:",
        theme.danger(),
    ));
    listing.extend(overwrite);
    if !excluded.is_empty() {
        listing.extend(para(
            "Not copied (excluded): ",
            &theme.clean(&excluded.join(", ")),
            cols,
            theme.muted(),
        ));
    }
    let fits =
        |checks: &[Line]| checks.len() + running.len() + 1 + listing.len() + 1 + confirm_rows;
    let checks = if fits(&full) <= w.left() { full } else { short };
    w.lines(checks);
    w.lines(running);
    w.gap();
    // The confirmation must stay on screen: the listing gives way, saying so.
    let room = w.left().saturating_sub(confirm_rows);
    if listing.len() > room {
        let hidden = listing.len() - room + 1;
        listing.truncate(room.saturating_sub(1));
        listing.push(Line::styled(
            format!(
                "  {} {hidden} more lines: enlarge the terminal to see them all",
                g.ellipsis
            ),
            theme.danger(),
        ));
    }
    w.lines(listing);
    w.gap();
    let (mut spans, cur) = field(
        theme,
        app.review.confirm.value(),
        app.review.confirm.visual_cursor(),
        app.modal.is_none(),
        CONFIRM_WORD.len() + 6,
    );
    let label = format!("Type {CONFIRM_WORD} to start: ");
    let lead = width(&label) as u16;
    spans.insert(0, Span::styled(label, theme.title()));
    if let (Some(y), Some(x)) = (w.line(Line::from(spans)), cur) {
        set_cursor(app, w.frame, area.x + lead + x, y);
    }
    if app.review.waiting {
        w.line(Line::styled(
            format!(
                "{} Will start once the checks pass (Esc cancels it).",
                theme.running(app.now)
            ),
            theme.warning(),
        ));
    }
    if let Some(e) = &app.review.error {
        w.lines(problem(theme, 0, e, cols, theme.error()));
    }
}
