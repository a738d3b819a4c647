//! The Network screen, drawn over the step it was opened from: the interfaces, the selected
//! one's addressing, the proxy and the S3 endpoint, and what the last apply or revert found.

use crate::app::App;
use crate::netconfig::interfaces::Interface;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, field, fit, pad, para, problem, set_cursor};
use crate::wizard::Loadable;
use crate::wizard::network::{Field, Mode, Work};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

const LEAD: usize = 15;
/// Interface rows shown at most; the selected one is always among them.
const ROWS: usize = 3;

/// A proxy URL with its password as stars (same length, so the cursor stays right).
fn mask_password(url: &str) -> String {
    // curl takes user:password@host:port without a scheme too.
    let start = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[start..].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':').map(|i| start + i + 1) {
        Some(pw) => format!(
            "{}{}{}",
            &url[..pw],
            "*".repeat(url[pw..at].chars().count()),
            &url[at..]
        ),
        None => url.to_owned(),
    }
}

fn link(i: &Interface) -> String {
    match (i.carrier, i.speed_mbps) {
        (false, _) => "no cable".into(),
        (true, Some(s)) if s >= 1000 && s % 1000 == 0 => format!("up {} Gb/s", s / 1000),
        (true, Some(s)) => format!("up {s} Mb/s"),
        (true, None) => "up".into(),
    }
}

fn addresses(i: &Interface) -> String {
    let list: Vec<String> = i
        .routable()
        .map(|a| {
            format!(
                "{}/{}{}",
                a.ip,
                a.prefix,
                if a.dynamic { " dhcp" } else { "" }
            )
        })
        .collect();
    if list.is_empty() {
        "no address".into()
    } else {
        list.join(", ")
    }
}

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let f = &app.network;
    let g = theme.glyphs();
    let busy = f.work.is_some();
    let focused = |fld: Field| !busy && f.focus() == fld;
    let mut w = Writer::new(frame, area);
    let cols = w.cols();
    w.line(Line::styled(
        format!("Network {} back to {} with Esc", g.dash, app.step.title()),
        theme.title(),
    ));
    if let Some(p) = &f.prefill_problem {
        w.lines(problem(theme, 0, p, cols, theme.warning()));
    }
    match &f.interfaces {
        Loadable::Loaded(list) if !list.is_empty() => {
            let head = format!(
                "  {} {} {} {} Addresses",
                pad(theme, "Interface", 10),
                pad(theme, "MAC", 17),
                pad(theme, "Driver", 10),
                pad(theme, "Link", 11)
            );
            w.line(Line::styled(fit(theme, &head, cols), theme.muted()));
            let first = f.selected.saturating_sub(ROWS - 1);
            for (n, i) in list.iter().enumerate().skip(first).take(ROWS) {
                let on = n == f.selected;
                let text = format!(
                    "{} {} {} {} {} {}",
                    if on { ">" } else { " " },
                    pad(theme, &i.name, 10),
                    pad(theme, &i.mac, 17),
                    pad(theme, i.driver.as_deref().unwrap_or("-"), 10),
                    pad(theme, &link(i), 11),
                    addresses(i)
                );
                let style = if on && focused(Field::Interface) {
                    theme.focus()
                } else {
                    ratatui::style::Style::new()
                };
                w.line(Line::styled(fit(theme, &theme.clean(&text), cols), style));
            }
            if list.len() > ROWS {
                w.line(Line::styled(
                    format!(
                        "  {} of {} interfaces: Up/Down on the list",
                        f.selected + 1,
                        list.len()
                    ),
                    theme.muted(),
                ));
            }
        }
        Loadable::Loaded(_) => {
            w.line(Line::styled(
                "  No network interface found (only loopback).",
                theme.warning(),
            ));
        }
        Loadable::Failed(e) => {
            w.lines(problem(
                theme,
                2,
                &format!("{e} F5 reads them again."),
                cols,
                theme.error(),
            ));
        }
        Loadable::Loading(_) | Loadable::NotAsked => {
            w.line(Line::from(format!(
                "  {} Reading the interfaces...",
                theme.running(app.now)
            )));
        }
    }
    w.gap();
    let text_row = |w: &mut Writer, label: &str, fld: Field, shown: &str, note: &str| {
        let Some(input) = f.input(fld) else { return };
        let width = cols.saturating_sub(LEAD + note.len() + 1).clamp(8, 40);
        let (mut spans, cur) = field(theme, shown, input.visual_cursor(), focused(fld), width);
        spans.insert(
            0,
            Span::raw(format!(
                "{} {label:<lw$}",
                if focused(fld) { ">" } else { " " },
                lw = LEAD - 2
            )),
        );
        if !note.is_empty() {
            spans.push(Span::styled(format!(" {note}"), theme.muted()));
        }
        if let (Some(y), Some(x)) = (w.line(Line::from(spans)), cur) {
            set_cursor(app, w.frame, w.area.x + LEAD as u16 + x, y);
        }
    };
    if let Some(form) = f.current() {
        let mode = format!("< {} >", form.mode.label());
        let style = if focused(Field::Mode) {
            theme.focus()
        } else {
            theme.input()
        };
        w.line(Line::from(vec![
            Span::raw(format!(
                "{} {:<lw$}",
                if focused(Field::Mode) { ">" } else { " " },
                fit(theme, &form.name, LEAD - 2),
                lw = LEAD - 2
            )),
            Span::styled(mode, style),
        ]));
        if form.mode == Mode::Static {
            for (label, fld, note) in [
                ("Address", Field::Address, "e.g. 192.168.1.20"),
                ("Prefix", Field::Prefix, "24 or 255.255.255.0"),
                ("Gateway", Field::Gateway, "the router"),
                ("DNS", Field::Dns, "commas between servers"),
            ] {
                let shown = f
                    .input(fld)
                    .map(|i| i.value().to_owned())
                    .unwrap_or_default();
                text_row(&mut w, label, fld, &shown, note);
            }
        }
    }
    let proxy = mask_password(f.proxy.0.value());
    text_row(
        &mut w,
        "HTTPS proxy",
        Field::Proxy,
        &proxy,
        "http://host:port",
    );
    text_row(
        &mut w,
        "NO_PROXY",
        Field::NoProxy,
        f.no_proxy.value(),
        "hosts reached directly",
    );
    text_row(
        &mut w,
        "S3 endpoint",
        Field::S3Endpoint,
        f.s3_endpoint.value(),
        // Our downloads use --s3-endpoint already; Enter pins it for AWS's program too.
        match f.started_with_s3 {
            Some(_) => "from --s3-endpoint; Enter pins it",
            None => "pinned in /etc/hosts",
        },
    );
    if let Some((_, message)) = &f.error {
        w.lines(problem(theme, 2, message, cols, theme.error()));
    }
    match (&f.work, &f.report) {
        (Some((_, work)), _) => {
            let doing = match work {
                Work::Applying => "Applying and checking (a DHCP lease may take up to 30 s)...",
                Work::Reverting => "Putting back the network as it was...",
                Work::Repinning => "Pinning the S3 endpoint for the new region...",
            };
            w.line(Line::from(format!("{} {doing}", theme.running(app.now))));
        }
        (None, Some((work, lines))) => {
            let heading = match work {
                Work::Applying => "Applied:",
                Work::Reverting => "Reverted:",
                Work::Repinning => "Pinned for the new region:",
            };
            let revert = if f.snapshot.is_some() {
                " Ctrl-R puts back what was there before."
            } else {
                ""
            };
            w.line(Line::styled(format!("{heading}{revert}"), theme.title()));
            for l in lines {
                let (mark, style) = if l.ok {
                    (g.ok, theme.ok())
                } else {
                    (g.failed, theme.error())
                };
                let head = format!("  {mark} {} ", pad(theme, &l.what, 8));
                let mut out = para(&head, &theme.clean(&l.text), cols, style);
                if let Some(first) = out.first_mut() {
                    first.spans[0].style = style;
                }
                w.lines(out);
            }
        }
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::mask_password;

    #[test]
    fn a_proxy_password_is_starred_keeping_its_length() {
        assert_eq!(
            mask_password("http://u:s3cret@p:3128"),
            "http://u:******@p:3128"
        );
        assert_eq!(mask_password("http://p:3128"), "http://p:3128");
        assert_eq!(mask_password("http://user@p:3128"), "http://user@p:3128");
        assert_eq!(mask_password("u:pw@p:1"), "u:**@p:1");
    }
}
