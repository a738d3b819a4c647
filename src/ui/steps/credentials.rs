//! Step 2: credential source, keys, region, and the verification call's outcome.

use crate::app::App;
use crate::drs::DrsErrorKind;
use crate::ui::theme::Theme;
use crate::ui::widgets::{Writer, field, pad, para, problem, set_cursor, width};
use crate::wizard::Loadable;
use crate::wizard::credentials::{CredentialsForm, Field, Source};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use tui_input::Input;

/// Focus marker and label columns before a field.
pub const LEAD: usize = 20;

fn lead(label: &str, focused: bool) -> Span<'static> {
    let mark = if focused { ">" } else { " " };
    Span::raw(format!("{mark} {label:<17} "))
}

/// "18 chars" after a field; nothing when empty.
fn chars_note(input: &Input) -> String {
    match input.value().chars().count() {
        0 => String::new(),
        n => format!("{n} chars"),
    }
}

/// Draws a credentials form's text rows: focus marker, label, the value (secrets masked
/// unless revealed), the cursor, and the field's inline error below.
pub struct Rows<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
    pub form: &'a CredentialsForm,
    pub editable: bool,
    /// The screen column the rows start at.
    pub x: u16,
}

impl Rows<'_> {
    fn focus(&self, field: Field) -> bool {
        self.editable && self.form.focus == field
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        w: &mut Writer,
        label: &str,
        fld: Field,
        input: &Input,
        mask: bool,
        cols: usize,
        suffix: Span<'static>,
    ) {
        let (theme, f) = (self.theme, self.form);
        let (shown, cursor) = if mask && !f.revealed(fld) {
            ("*".repeat(input.value().chars().count()), input.cursor())
        } else {
            (input.value().to_owned(), input.visual_cursor())
        };
        let (mut spans, cur) = field(theme, &shown, cursor, self.focus(fld), cols);
        spans.insert(0, lead(label, self.focus(fld)));
        spans.push(Span::raw(" "));
        spans.push(suffix);
        if let (Some(y), Some(x)) = (w.line(Line::from(spans)), cur) {
            set_cursor(self.app, w.frame, self.x + (LEAD as u16) + x, y);
        }
        if let Some(err) = f.visible_error(fld) {
            w.lines(problem(theme, LEAD, &err, w.cols(), theme.error()));
        }
    }

    /// Access key id, secret and session token, fields sized to what `cols` leaves.
    pub fn keys(&self, w: &mut Writer, cols: usize) {
        let (theme, f) = (self.theme, self.form);
        // The fields leave room for their longest note ("10020 chars", "optional").
        let note_cols = [&f.access_key_id, &f.secret.0, &f.session_token.0]
            .iter()
            .map(|i| width(&chars_note(i)))
            .chain([width("optional")])
            .max()
            .unwrap_or(0);
        let field_cols = cols.saturating_sub(LEAD + 2 + note_cols).min(50);
        let count = |i: &Input| Span::styled(chars_note(i), theme.muted());
        let key = &f.access_key_id;
        self.row(
            w,
            "Access key id",
            Field::AccessKeyId,
            key,
            false,
            field_cols,
            count(key),
        );
        let secret = &f.secret.0;
        self.row(
            w,
            "Secret access key",
            Field::Secret,
            secret,
            true,
            field_cols,
            count(secret),
        );
        let token = &f.session_token.0;
        let note = match token.value().is_empty() {
            true => Span::styled("optional", theme.muted()),
            false => count(token),
        };
        self.row(
            w,
            "Session token",
            Field::SessionToken,
            token,
            true,
            field_cols,
            note,
        );
    }
}

pub fn render(app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
    let f = &app.credentials;
    let editable = !f.check.is_loading();
    let focus = |field: Field| editable && f.focus == field;
    let rows = Rows {
        app,
        theme,
        form: f,
        editable,
        x: area.x,
    };
    let verify = verify_lines(app, theme, area.width as usize);
    let mut w = Writer::new(frame, area);
    let cols = w.cols();

    let option = |on: bool, text: &str| {
        let style = if on && focus(Field::Source) {
            theme.focus()
        } else {
            Style::new()
        };
        Span::styled(format!("[{}] {text}", if on { "x" } else { " " }), style)
    };
    w.line(Line::from(vec![
        lead("Credentials", focus(Field::Source)),
        option(f.source == Source::Typed, "access key typed here"),
        Span::raw("  "),
        option(f.source == Source::DefaultChain, "default credential chain"),
    ]));

    match f.source {
        Source::Typed => rows.keys(&mut w, cols),
        Source::DefaultChain => {
            w.lines(para(
                &" ".repeat(LEAD),
                "Environment variables (AWS_ACCESS_KEY_ID, AWS_PROFILE), ~/.aws files, then the instance role.",
                cols,
                theme.muted(),
            ));
        }
    }

    let chosen = crate::domain::regions::find(&f.region)
        .map(|r| format!("{} {}", r.code, r.name))
        .unwrap_or_else(|| f.region.clone());
    let filter = &f.region_filter;
    let chosen = Span::raw(theme.clean(&chosen).into_owned());
    rows.row(
        &mut w,
        "Region (filter)",
        Field::Region,
        filter,
        false,
        22,
        chosen,
    );
    let choices = f.region_choices();
    // A short list: what the verification block leaves, at most a handful of rows.
    let most = if area.height >= 30 { 9 } else { 5 };
    let rows = w.left().saturating_sub(verify.len() + 1).clamp(2, most);
    // No match: the filter's own error says so, and what stays chosen.
    if !choices.is_empty() {
        let at = choices.iter().position(|r| r.code == f.region);
        let shown = rows.min(choices.len());
        // Scroll the list so the chosen region sits in the middle.
        let first = at
            .map_or(0, |i| i.saturating_sub(shown / 2))
            .min(choices.len() - shown);
        for (i, r) in choices.iter().enumerate().skip(first).take(shown) {
            let chosen = Some(i) == at;
            let style = match (chosen, focus(Field::Region)) {
                (true, true) => theme.focus(),
                (true, false) => theme.selected(),
                _ => Style::new(),
            };
            let text = pad(theme, &format!("{:<16}{}", r.code, r.name), 44);
            w.line(Line::from(vec![
                Span::raw(format!(
                    "{:w$}{}",
                    "",
                    if chosen { "> " } else { "  " },
                    w = LEAD - 2
                )),
                Span::styled(text, style),
            ]));
        }
    }
    w.gap();
    w.lines(verify);
}

fn verify_lines(app: &App, theme: &Theme, cols: usize) -> Vec<Line<'static>> {
    let g = theme.glyphs();
    match &app.credentials.check {
        Loadable::NotAsked => para(
            "",
            "Enter checks these credentials with one read-only call (DescribeRecoveryInstances).",
            cols,
            theme.muted(),
        ),
        Loadable::Loading(_) => vec![Line::from(vec![
            Span::raw(format!("{} ", theme.spinner(app.now))),
            Span::raw(format!(
                "Verifying with DescribeRecoveryInstances{}",
                g.ellipsis
            )),
        ])],
        Loadable::Loaded(v) => {
            let mut lines = vec![Line::styled(
                format!("{} Verified: {}", g.ok, theme.clean(&v.source)),
                theme.ok(),
            )];
            if let Some(skew) = v.clock_skew.filter(|s| s.matters()) {
                lines.extend(para(
                    "  ",
                    &theme.clean(&skew.advice()),
                    cols,
                    theme.warning(),
                ));
            }
            lines
        }
        Loadable::Failed(e) => {
            let mark = format!("{} ", g.failed);
            let mut lines = para(&mark, &theme.clean(&e.advice()), cols, theme.error());
            let indent = " ".repeat(width(&mark));
            if e.kind == DrsErrorKind::ClockSkew {
                let aws = e
                    .server_date
                    .as_deref()
                    .unwrap_or("unknown (no Date header)");
                let text = format!("This machine: {} {} AWS: {}", app.wall(), g.dash, aws);
                lines.extend(para(&indent, &theme.clean(&text), cols, theme.warning()));
            }
            let detail = format!("AWS said: {}", e.detail);
            lines.extend(para(&indent, &theme.clean(&detail), cols, theme.muted()));
            lines
        }
    }
}
