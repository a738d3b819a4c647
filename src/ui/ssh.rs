//! The SSH modal: starting SSH for this boot, then how to log in (every address, the one-time
//! password, the host-key fingerprints to compare).

use super::theme::Theme;
use super::widgets::para;
use crate::app::App;
use crate::domain::ssh::SshError;
use crate::wizard::Loadable;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

pub fn lines(app: &App, theme: &Theme, cols: usize) -> Vec<Line<'static>> {
    let plain = Style::new();
    let mut out = Vec::new();
    match &app.ssh {
        Loadable::NotAsked | Loadable::Loading(_) => {
            out.push(Line::from(vec![
                Span::raw(format!("{} ", theme.spinner(app.now))),
                Span::styled("Starting SSH for this boot...", theme.title()),
            ]));
            out.extend(para(
                "",
                "This boot's one-time root password (every console shows the same), its host \
                 keys (made on first use: up to a minute on a slow CPU), then sshd.",
                cols,
                plain,
            ));
        }
        Loadable::Failed(e) => {
            let style = match e {
                SshError::NotAvailable(_) => theme.warning(),
                SshError::Failed(_) => theme.error(),
            };
            out.extend(para("", &e.message(), cols, style));
        }
        Loadable::Loaded(access) => {
            out.push(Line::styled(
                "SSH is on for this boot. From another machine, log in as root:",
                theme.title(),
            ));
            if access.addresses.is_empty() {
                out.extend(para(
                    "  ",
                    "No network address yet (DHCP may still be running): press n in a moment \
                     for the addresses, with a new password.",
                    cols,
                    theme.warning(),
                ));
            }
            for (iface, address) in &access.addresses {
                out.push(Line::from(vec![
                    Span::styled(format!("  ssh root@{address}"), theme.key()),
                    Span::styled(format!("  ({iface})"), theme.muted()),
                ]));
            }
            out.push(Line::from(vec![
                Span::raw("Password   "),
                Span::styled(access.password.as_str().to_owned(), theme.title()),
                Span::raw("  (one-time, this boot only)"),
            ]));
            out.push(Line::default());
            out.extend(para(
                "",
                "Host keys: ssh shows one of these the first time; answer yes only if it matches.",
                cols,
                plain,
            ));
            for (kind, fingerprint) in &access.fingerprints {
                out.push(Line::raw(format!("  {kind:<8} {fingerprint}")));
            }
            out.push(Line::default());
            out.extend(para(
                "",
                "A login gets this same wizard, and the same failback once one runs: paste the \
                 credentials there.",
                cols,
                theme.muted(),
            ));
        }
    }
    out
}
