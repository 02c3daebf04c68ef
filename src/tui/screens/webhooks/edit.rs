//! Editing an endpoint's settings on the Webhooks screen (`e`): one row per setting of
//! `webhooks endpoints update`, `Tab`/`↓` to the next row, `←`/`→` through a choice,
//! `Enter` saves through `ops::webhooks::update` (every problem it finds shown under the
//! form), `Esc` leaves it unchanged. The endpoint's path, task and secrets stay.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::domain::webhook::{EndpointSpec, Handler};
use crate::tui::view_ctx::ViewCtx;
use crate::tui::widgets::line_input::{self, InputEvent, LineInput};

const HANDLERS: &[&str] = &["records", "trigger", "both"];
const SCHEMES: &[&str] = &["standard", "stripe", "hmac_sha256"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Handler,
    Records,
    Scheme,
    SignatureHeader,
    IdHeader,
    AllowIps,
    MaxBody,
    RateLimit,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub setting: Setting,
    pub label: &'static str,
    pub input: LineInput,
    /// The values a choice row cycles through; empty for text.
    pub choices: &'static [&'static str],
    pub help: &'static str,
}

/// The form, for the endpoint at `path`, from its settings as stored.
#[derive(Debug, Clone)]
pub struct EditForm {
    pub path: String,
    pub base: EndpointSpec,
    pub rows: Vec<Row>,
    pub focus: usize,
    /// Why the last save was refused.
    pub error: Option<String>,
    pub saving: bool,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    Cancel,
    Save(Box<EndpointSpec>),
}

fn row(
    setting: Setting,
    label: &'static str,
    value: &str,
    choices: &'static [&'static str],
    help: &'static str,
) -> Row {
    Row {
        setting,
        label,
        input: LineInput::new(value),
        choices,
        help,
    }
}

impl EditForm {
    pub fn new(spec: &EndpointSpec) -> EditForm {
        let s = spec;
        let rows = vec![
            row(
                Setting::Handler,
                "Handler",
                s.handler.as_str(),
                HANDLERS,
                "records: map each payload's records; trigger: run the task; both",
            ),
            row(
                Setting::Records,
                "Records",
                &s.records,
                &[],
                "JSONPath to the records in a payload; $ is the payload as one record",
            ),
            row(
                Setting::Scheme,
                "Scheme",
                &s.scheme,
                SCHEMES,
                "how senders sign: Standard Webhooks, Stripe, or an HMAC-SHA256 header",
            ),
            row(
                Setting::SignatureHeader,
                "Sig. header",
                s.signature_header.as_deref().unwrap_or(""),
                &[],
                "hmac_sha256 only; empty: X-Hub-Signature-256",
            ),
            row(
                Setting::IdHeader,
                "Id header",
                s.id_header.as_deref().unwrap_or(""),
                &[],
                "hmac_sha256 only: the header naming the delivery, e.g. X-GitHub-Delivery",
            ),
            row(
                Setting::AllowIps,
                "Allowed from",
                &s.allow_ips.join(", "),
                &[],
                "CIDR blocks, comma-separated; empty: any address",
            ),
            row(
                Setting::MaxBody,
                "Body limit",
                &s.max_body.to_string(),
                &[],
                "bytes; a larger body is refused with 413",
            ),
            row(
                Setting::RateLimit,
                "Rate limit",
                &s.rate_limit.map(|r| r.to_string()).unwrap_or_default(),
                &[],
                "requests a second, answered 429 beyond; empty: none",
            ),
        ];
        EditForm {
            path: s.path.clone(),
            base: s.clone(),
            rows,
            focus: 0,
            error: None,
            saving: false,
        }
    }

    fn value(&self, setting: Setting) -> &str {
        self.rows
            .iter()
            .find(|r| r.setting == setting)
            .map_or("", |r| r.input.text().trim())
    }

    /// The settings as typed over the stored ones; what cannot be read is named.
    pub fn spec(&self) -> Result<EndpointSpec, String> {
        let mut s = self.base.clone();
        s.handler = Handler::parse(self.value(Setting::Handler))
            .ok_or_else(|| "handler: use records, trigger or both".to_string())?;
        s.records = self.value(Setting::Records).to_string();
        s.scheme = self.value(Setting::Scheme).to_string();
        let optional = |v: &str| (!v.is_empty()).then(|| v.to_string());
        s.signature_header = optional(self.value(Setting::SignatureHeader));
        s.id_header = optional(self.value(Setting::IdHeader));
        s.allow_ips = self
            .value(Setting::AllowIps)
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string)
            .collect();
        let body = self.value(Setting::MaxBody);
        s.max_body = body
            .parse()
            .map_err(|_| format!("body limit {body:?}: write a number of bytes"))?;
        let rate = self.value(Setting::RateLimit);
        s.rate_limit = match rate {
            "" => None,
            r => Some(r.parse().map_err(|_| {
                format!("rate limit {r:?}: write requests a second, or leave it empty")
            })?),
        };
        Ok(s)
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Outcome {
        if self.saving {
            return Outcome::Stay;
        }
        let last = self.rows.len().saturating_sub(1);
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1).min(last),
            KeyCode::BackTab | KeyCode::Up => self.focus = self.focus.saturating_sub(1),
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Enter => {
                return match self.spec() {
                    Ok(spec) => {
                        self.error = None;
                        Outcome::Save(Box::new(spec))
                    }
                    Err(e) => {
                        self.error = Some(e);
                        Outcome::Stay
                    }
                };
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ')
                if self
                    .rows
                    .get(self.focus)
                    .is_some_and(|r| !r.choices.is_empty()) =>
            {
                if let Some(r) = self.rows.get_mut(self.focus) {
                    let at = r
                        .choices
                        .iter()
                        .position(|c| *c == r.input.text())
                        .unwrap_or(0);
                    let n = r.choices.len();
                    let next = if key.code == KeyCode::Left {
                        (at + n - 1) % n
                    } else {
                        (at + 1) % n
                    };
                    if let Some(c) = r.choices.get(next) {
                        r.input.set(c);
                    }
                }
            }
            _ => {
                if let Some(r) = self.rows.get_mut(self.focus)
                    && r.choices.is_empty()
                    && r.input.handle(key) == InputEvent::Cancel
                {
                    return Outcome::Cancel;
                }
            }
        }
        Outcome::Stay
    }
}

/// The form over the screen, centred, with the focused row's help and any refusal.
pub fn view(form: &EditForm, v: &ViewCtx, frame: &mut Frame, area: Rect) {
    let t = v.theme;
    let rows = u16::try_from(form.rows.len()).unwrap_or(u16::MAX);
    let height = (rows + 7).min(area.height);
    let width = area.width.saturating_sub(2).min(78);
    let dialog = crate::tui::layout::centered(area, width, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(" Edit endpoint {} ", form.path),
            t.title,
        ));
    let inner = block.inner(dialog);
    frame.render_widget(Clear, dialog);
    frame.render_widget(block, dialog);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    for (i, r) in form.rows.iter().enumerate() {
        let y = inner.y + u16::try_from(i).unwrap_or(u16::MAX);
        if y >= inner.bottom() {
            break;
        }
        let focused = i == form.focus;
        let marker = if focused { "› " } else { "  " };
        let label = Span::styled(
            format!("{marker}{:<13}", r.label),
            if focused { t.prompt } else { t.label },
        );
        let line = Rect::new(inner.x, y, inner.width, 1);
        if r.choices.is_empty() && focused {
            line_input::draw(frame, line, &r.input, label, t.highlight, None);
        } else {
            let value = if r.choices.is_empty() {
                r.input.text().to_string()
            } else {
                format!("‹ {} ›", r.input.text())
            };
            frame.render_widget(
                Paragraph::new(Line::from(vec![label, Span::raw(value)])),
                line,
            );
        }
    }
    let below = inner.y + rows + 1;
    if below < inner.bottom() {
        let help = form.rows.get(form.focus).map_or("", |r| r.help).to_string();
        let mut lines = vec![Line::styled(help, t.dim)];
        if let Some(e) = &form.error {
            lines.push(Line::styled(e.clone(), t.error));
        }
        lines.push(Line::styled(
            if form.saving {
                "saving…"
            } else {
                "enter saves · esc leaves it unchanged · tab next · ←/→ choose"
            },
            t.dim,
        ));
        let rest = Rect::new(inner.x, below, inner.width, inner.bottom() - below);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rest);
    }
}
