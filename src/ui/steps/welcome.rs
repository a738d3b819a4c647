//! Step 1: what will happen, what it needs, and what this machine has.

use crate::app::App;
use crate::domain::model::{BootMode, MIN_RAM};
use crate::drs::errors::INSTALLATION_POLICY;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, kv, para};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

const LABEL: usize = 8;

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let g = theme.glyphs();
    let [area, last] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let mut press = vec![
        Span::raw("Press "),
        Span::styled("Enter", theme.key()),
        Span::styled(" to start.", theme.emphasis()),
    ];
    if app.unattended.as_ref().is_some_and(|u| u.prompt.is_some()) {
        press.extend([
            Span::raw(" An unattended failback waits for credentials: "),
            Span::styled("k", theme.key()),
            Span::raw(" gives them."),
        ]);
    }
    frame.render_widget(Line::from(press), last);
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    let plain = Style::new();
    w.lines(para(
        "",
        "Copies a recovery instance from AWS Elastic Disaster Recovery back onto this machine: credentials, endpoint, recovery instance, volume mapping, review, then replication and the failback launch.",
        cols,
        plain,
    ));
    w.lines(para(
        "",
        "The local disks you choose will be OVERWRITTEN. Replication can take hours.",
        cols,
        theme.danger(),
    ));
    w.gap();
    w.line(Line::styled("It needs", theme.title()));
    let b = format!("{} ", g.bullet);
    for need in [
        format!("AWS credentials allowed by {INSTALLATION_POLICY}"),
        "TCP 443 out to DRS and S3; TCP 1500 out to the recovery instance".to_owned(),
        "4 GiB of RAM or more; Secure Boot off; BIOS boot for Linux sources; a correct clock"
            .to_owned(),
    ] {
        w.lines(para(&b, &need, cols, plain));
    }
    w.gap();
    // The demo plays a host from its scenario on this computer's hardware: say which is which.
    let demo = app.is_demo();
    let mut heading = vec![Span::styled("This machine", theme.title())];
    if demo {
        heading.push(Span::styled(
            "  (name and network: demo host; RAM, CPUs, boot: this computer)",
            theme.muted(),
        ));
    }
    w.line(Line::from(heading));
    let demo_tag = |spans: &mut Vec<Span<'static>>| {
        if demo {
            spans.push(Span::styled("  (demo host)", theme.muted()));
        }
    };
    match &app.host {
        None => {
            w.line(format!("reading{}", g.ellipsis));
        }
        Some(h) => {
            let id = &h.identity;
            let name = match &id.fqdn {
                Some(fqdn) if fqdn != &id.hostname => format!("{} ({fqdn})", id.hostname),
                _ => id.hostname.clone(),
            };
            let mut host = vec![Span::raw(theme.clean(&name).into_owned())];
            demo_tag(&mut host);
            w.line(kv("Host", LABEL, host));
            let mut ram = vec![Span::raw(h.ram.to_string())];
            if h.ram < MIN_RAM {
                ram.push(Span::styled(
                    format!("  {} below the 4 GiB the failback client needs", g.failed),
                    theme.error(),
                ));
            }
            w.line(kv("RAM", LABEL, ram));
            let model = theme.clean(&h.cpu_model);
            let cpus = if model.is_empty() {
                h.cpus.to_string()
            } else {
                format!("{} x {model}", h.cpus)
            };
            w.line(kv("CPUs", LABEL, vec![Span::raw(cpus)]));
            let mut boot = vec![Span::raw(match h.boot_mode {
                BootMode::Uefi => "UEFI",
                BootMode::Bios => "BIOS",
            })];
            match h.secure_boot {
                Some(true) => boot.push(Span::styled(
                    format!(
                        "  {} Secure Boot is on: turn it off in the firmware setup",
                        g.failed
                    ),
                    theme.error(),
                )),
                Some(false) => boot.push(Span::raw(", Secure Boot off")),
                None if h.boot_mode == BootMode::Uefi => {
                    boot.push(Span::raw(", Secure Boot state unknown"))
                }
                None => {}
            }
            w.line(kv("Boot", LABEL, boot));
            let nics = if h.nics.is_empty() {
                "no network interface found".to_owned()
            } else {
                h.nics
                    .iter()
                    .map(|(n, m)| format!("{n} {m}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut nics = theme.clean(&nics).into_owned();
            if demo {
                nics.push_str(" (demo host)");
            }
            w.lines(para(&format!("{:<LABEL$} ", "Network"), &nics, cols, plain));
        }
    }
}
