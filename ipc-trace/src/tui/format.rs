//! Text helpers shared by the views.

use crate::model::LoggedEvent;
use crate::model::describe::event_text;

/// `+12.345678s` relative to `origin_ns`.
pub fn rel_time(ts_ns: u64, origin_ns: u64) -> String {
    let d = ts_ns.saturating_sub(origin_ns);
    format!("+{}.{:06}s", d / 1_000_000_000, (d % 1_000_000_000) / 1_000)
}

/// Bytes as `516`, `4.0K`, `12.5M`, `1.0G`.
pub fn bytes(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..10_000_000 => format!("{:.1}K", n as f64 / 1024.0),
        10_000_000..10_000_000_000 => format!("{:.1}M", n as f64 / 1048576.0),
        _ => format!("{:.1}G", n as f64 / 1073741824.0),
    }
}

/// The searchable text of a log line: who, what, steps.
pub fn log_line_text(l: &LoggedEvent) -> String {
    let e = &l.event;
    format!(
        "{} {}/{} {} {} {}",
        e.kind.as_str(),
        e.comm,
        e.tgid,
        event_text(e),
        l.steps.labels(),
        e.probe
    )
}

/// Cuts `s` to `max` characters, ending in `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rel_time(1_500_000_123, 500_000_000), "+1.000000s");
        assert_eq!(bytes(516), "516");
        assert_eq!(bytes(65536), "64.0K");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
