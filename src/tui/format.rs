//! Small text helpers the views share: ages, durations, status styles.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::domain::{ExecutionStatus, ExecutionTrigger};
use crate::store::ExecutionRow;

use super::theme::Theme;

/// "12s", "5m", "3h", "2d" — how long ago (or, for the future, "in 5m").
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let diff = now_ms.saturating_sub(then_ms);
    if diff < 0 {
        return format!("in {}", span(diff.saturating_neg()));
    }
    format!("{} ago", span(diff))
}

/// A duration in the largest unit that keeps it short: "850ms", "42s", "7m", "5h", "3d".
pub fn span(ms: i64) -> String {
    let s = ms / 1000;
    if ms < 1000 {
        format!("{ms}ms")
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// An elapsed time with two units where it helps: "42s", "3m 05s", "2h 10m".
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

pub fn execution_style(theme: &Theme, status: ExecutionStatus) -> Style {
    match status {
        ExecutionStatus::Success => theme.ok,
        ExecutionStatus::Partial => theme.warn,
        ExecutionStatus::Failed => theme.error,
        ExecutionStatus::Running | ExecutionStatus::Queued => theme.info,
        ExecutionStatus::Cancelled => theme.muted,
    }
}

/// An execution's status as shown: `stalled`, in the warning colour, for a running one
/// whose lease expired (its worker stopped renewing it), else the stored status.
pub fn execution_status(theme: &Theme, e: &ExecutionRow, now_ms: i64) -> Span<'static> {
    let style = if e.is_stalled(now_ms) {
        theme.warn
    } else {
        execution_style(theme, e.status)
    };
    Span::styled(e.shown_status(now_ms), style)
}

/// The style of an integration's status label (`IntegrationSummary::status_label`).
pub fn integration_style(theme: &Theme, label: &str) -> Style {
    match label {
        "active" => theme.ok,
        "paused" => theme.warn,
        _ => theme.muted,
    }
}

/// Cuts `text` to `width` characters, ending with "…" when it was longer.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Cuts `text` from the left, keeping its end ("…/data/syncdeck.db"), for paths.
pub fn fit_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::from("…");
    out.extend(text.chars().skip(n - (width - 1)));
    out
}

/// Cuts a line of spans to `width` characters, ending with "…" when it was longer;
/// each span keeps its style.
pub fn fit_line(line: Line<'_>, width: usize) -> Line<'_> {
    let total: usize = line.spans.iter().map(|s| s.content.chars().count()).sum();
    if total <= width {
        return line;
    }
    let style = line.style;
    let mut left = width;
    let mut spans = Vec::with_capacity(line.spans.len());
    for span in line.spans {
        let n = span.content.chars().count();
        if n < left {
            left -= n;
            spans.push(span);
        } else {
            spans.push(Span::styled(fit(&span.content, left), span.style));
            if n == left {
                // The cut falls right after this span: mark it on its last character.
                if let Some(last) = spans.last_mut() {
                    let mut text: String = last.content.chars().collect();
                    text.pop();
                    text.push('…');
                    last.content = text.into();
                }
            }
            break;
        }
    }
    Line::from(spans).style(style)
}

/// A count with thousands separators: "1,234,567".
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The part of an execution id people tell apart: ids are UUIDv7, whose first
/// characters are a timestamp shared by runs queued close together, so the end is used.
pub fn short_id(id: &str) -> &str {
    let n = id.len();
    id.get(n.saturating_sub(8)..).unwrap_or(id)
}

/// A text sparkline of the last `width` values, scaled to the largest of them.
pub fn sparkline(values: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown = &values[values.len().saturating_sub(width)..];
    let max = shown.iter().copied().max().unwrap_or(0);
    shown
        .iter()
        .map(|v| {
            let i = v
                .saturating_mul(7)
                .saturating_add(max / 2)
                .checked_div(max)
                .unwrap_or(0);
            BARS[usize::try_from(i).unwrap_or(7).min(7)]
        })
        .collect()
}

/// A text progress bar `width` characters wide with the percentage after it:
/// "██████░░░░  60%".
pub fn gauge(done: i64, total: i64, width: usize) -> String {
    let ratio = if total <= 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let bar = width.saturating_sub(5);
    let filled = ((ratio * bar as f64).round() as usize).min(bar);
    let mut out = String::with_capacity(width * 3);
    out.extend(std::iter::repeat_n('█', filled));
    out.extend(std::iter::repeat_n('░', bar - filled));
    out.push_str(&format!(" {:>3}%", (ratio * 100.0).floor() as u32));
    out
}

/// An execution's phase for a table cell: "—" until it starts.
pub fn phase(r: &ExecutionRow) -> &'static str {
    r.phase.map_or("—", |p| p.as_str())
}

/// What queued an execution: "schedule run, attempt 1", "retry of 4f2a91c0, attempt 2".
pub fn origin(r: &ExecutionRow) -> String {
    match (&r.trigger, &r.retry_of) {
        (ExecutionTrigger::Retry, Some(of)) => {
            format!("retry of {}, attempt {}", short_id(of), r.attempt)
        }
        (trigger, _) => format!("{trigger} run, attempt {}", r.attempt),
    }
}

/// " of 10,000 (82%)" after a count of records read, when the source said its total.
pub fn of_total(r: &ExecutionRow) -> String {
    match (r.total, r.percentage()) {
        (Some(total), Some(pct)) => format!(" of {} ({pct}%)", count(total)),
        (Some(total), None) => format!(" of {}", count(total)),
        _ => String::new(),
    }
}

/// The frames of the spinner shown while a run's total is unknown.
pub const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ExecutionRow {
        ExecutionRow {
            id: "0196d0c1-0000-7000-8000-000000000002".into(),
            integration_id: "i".into(),
            integration_name: "CRM".into(),
            task_id: "t".into(),
            task_name: "CRM".into(),
            status: ExecutionStatus::Running,
            trigger: ExecutionTrigger::Schedule,
            retry_of: None,
            full_run: false,
            attempt: 1,
            queued_at: 0,
            started_at: Some(0),
            finished_at: None,
            phase: Some(crate::domain::ExecutionPhase::Fetching),
            fetched: 820,
            created: 0,
            updated: 0,
            skipped: 0,
            unchanged: 0,
            failed: 0,
            total: None,
            records_per_sec: 0.0,
            error: None,
            lease_owner: None,
            lease_until: None,
        }
    }

    #[test]
    fn executions_say_what_queued_them_and_how_far_they_are() {
        let mut r = row();
        assert_eq!(origin(&r), "schedule run, attempt 1");
        assert_eq!((phase(&r), of_total(&r)), ("fetching", String::new()));
        r.total = Some(1_000);
        assert_eq!(of_total(&r), " of 1,000 (82%)");
        r.trigger = ExecutionTrigger::Retry;
        r.retry_of = Some("0196d0c1-aaaa-7000-8000-000000000001".into());
        r.attempt = 2;
        r.phase = None;
        assert_eq!(
            origin(&r),
            format!(
                "retry of {}, attempt 2",
                short_id("0196d0c1-aaaa-7000-8000-000000000001")
            )
        );
        assert_eq!(phase(&r), "—");
    }

    #[test]
    fn ages_and_durations_read_naturally() {
        assert_eq!(age(100_000, 90_000), "10s ago");
        assert_eq!(age(10_000_000, 10_000_000 - 3 * 3_600_000), "3h ago");
        assert_eq!(age(0, 300_000), "in 5m");
        assert_eq!(span(500), "500ms");
        assert_eq!(duration(185_000), "3m 05s");
        assert_eq!(duration(7_800_000), "2h 10m");
    }

    #[test]
    fn fitting_marks_the_cut() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit_left("/var/lib/x.db", 8), "…ib/x.db");
        assert_eq!(fit_left("/var/lib/x.db", 0), "");
    }

    #[test]
    fn lines_are_cut_across_spans() {
        let line = Line::from(vec![Span::raw("abc"), Span::raw("def")]);
        assert_eq!(fit_line(line.clone(), 10).to_string(), "abcdef");
        assert_eq!(fit_line(line.clone(), 5).to_string(), "abcd…");
        assert_eq!(fit_line(line.clone(), 3).to_string(), "ab…");
        assert_eq!(fit_line(line, 0).to_string(), "");
    }

    #[test]
    fn counts_bars_and_sparklines() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(-1_234_567), "-1,234,567");
        assert_eq!(short_id("0194f3a2-7b1c-7def-8abc-1234567890ab"), "567890ab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(sparkline(&[0, 5, 10], 10), "▁▅█");
        assert_eq!(sparkline(&[1, 2, 3, 4], 2), "▆█");
        assert_eq!(sparkline(&[], 4), "");
        assert_eq!(gauge(1, 2, 9), "██░░  50%");
        assert_eq!(gauge(5, 0, 9), "░░░░   0%");
        assert_eq!(gauge(9, 3, 7), "██ 100%");
        assert_eq!(gauge(1, 2, 2), "  50%");
    }
}
