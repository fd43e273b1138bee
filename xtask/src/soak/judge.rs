//! The soak's verdicts over its samples: memory flat over the second half,
//! map entries bounded, nothing lost.

use super::sample::Sample;

/// Largest growth of RSS allowed over the second half of the run.
pub const RSS_GROWTH_LIMIT: f64 = 0.05;
/// Entries a hash map may hold above its first-half peak in the second
/// half (objects alive at the moment of a sample).
pub const ENTRY_SLACK: u64 = 16;

/// One judgement: its name, whether it passed, and the figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What was judged.
    pub name: String,
    /// True when within bounds.
    pub ok: bool,
    /// The figures behind it.
    pub detail: String,
}

/// Resident memory over the second half: the peak may exceed the value at
/// the half-way sample by at most [`RSS_GROWTH_LIMIT`].
pub fn rss_flat(samples: &[Sample]) -> Verdict {
    let name = "RSS flat over the second half".to_string();
    let Some(second) = second_half(samples) else {
        return Verdict {
            name,
            ok: false,
            detail: "fewer than 4 samples".into(),
        };
    };
    let base = second[0].rss_kib.max(1);
    let peak = second.iter().map(|s| s.rss_kib).max().unwrap_or(base);
    let growth = peak.saturating_sub(base) as f64 / base as f64;
    Verdict {
        name,
        ok: growth <= RSS_GROWTH_LIMIT,
        detail: format!(
            "{base} KiB at half-way, peak {peak} KiB: +{:.1}% (limit {:.0}%)",
            growth * 100.0,
            RSS_GROWTH_LIMIT * 100.0
        ),
    }
}

/// Each hash map's entries in the second half stay within
/// [`ENTRY_SLACK`] of its peak in the first half.
pub fn maps_bounded(samples: &[Sample]) -> Verdict {
    let name = "map entries bounded".to_string();
    let Some(second) = second_half(samples) else {
        return Verdict {
            name,
            ok: false,
            detail: "fewer than 4 samples".into(),
        };
    };
    let first = &samples[..samples.len() - second.len()];
    let peak = |part: &[Sample], map: &str| {
        part.iter()
            .filter_map(|s| s.entries.get(map))
            .copied()
            .max()
            .unwrap_or(0)
    };
    let mut names: Vec<&String> = samples.iter().flat_map(|s| s.entries.keys()).collect();
    names.sort();
    names.dedup();
    let mut ok = true;
    let mut parts = Vec::new();
    for map in names {
        let (before, after) = (peak(first, map), peak(second, map));
        let within = after <= before + ENTRY_SLACK;
        ok &= within;
        parts.push(format!(
            "{map} {before}→{after}{}",
            if within { "" } else { " GROWS" }
        ));
    }
    Verdict {
        name,
        ok,
        detail: if parts.is_empty() {
            "no hash map seen".into()
        } else {
            parts.join(", ")
        },
    }
}

/// The stats line's `dropped` is 0 (and events were recorded). `missed`
/// (program runs the kernel skipped because another BPF program was
/// running on that CPU) is shown, not judged: on a shared kernel other
/// tracers cause it.
pub fn nothing_lost(stats: &serde_json::Value) -> Verdict {
    let dropped = stats["dropped"].as_u64();
    let missed = stats["missed"].as_u64().unwrap_or(0);
    let events = stats["events"].as_u64().unwrap_or(0);
    Verdict {
        name: "0 drops".into(),
        ok: dropped == Some(0) && events > 0,
        detail: format!(
            "{events} events, dropped {}, program runs skipped {missed}",
            dropped.map_or("?".to_string(), |d| d.to_string())
        ),
    }
}

/// Every redraw after a key came within `limit`.
pub fn responsive(redraws: &[std::time::Duration], limit: std::time::Duration) -> Verdict {
    let ms = |d: &std::time::Duration| d.as_secs_f64() * 1000.0;
    let mut sorted: Vec<f64> = redraws.iter().map(ms).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    let worst = sorted.last().copied().unwrap_or(f64::NAN);
    Verdict {
        name: "TUI redraws after a key".into(),
        ok: !redraws.is_empty() && redraws.iter().all(|d| *d < limit),
        detail: format!(
            "{} keys: median {median:.0} ms, worst {worst:.0} ms (limit {:.0} ms)",
            redraws.len(),
            ms(&limit)
        ),
    }
}

/// The samples from the half-way point on (None with fewer than 4).
fn second_half(samples: &[Sample]) -> Option<&[Sample]> {
    (samples.len() >= 4).then(|| &samples[samples.len() / 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(rss: &[u64], entries: &[u64]) -> Vec<Sample> {
        rss.iter()
            .zip(entries)
            .enumerate()
            .map(|(i, (&rss_kib, &n))| Sample {
                at_s: i as f64 * 10.0,
                rss_kib,
                entries: [("SHM_SIZES".to_string(), n)].into_iter().collect(),
            })
            .collect()
    }

    #[test]
    fn flat_memory_and_bounded_maps_pass() {
        let s = samples(
            &[9000, 10000, 10000, 10100, 10200, 10300],
            &[3, 5, 2, 4, 5, 1],
        );
        assert!(rss_flat(&s).ok, "{:?}", rss_flat(&s));
        assert!(maps_bounded(&s).ok, "{:?}", maps_bounded(&s));
    }

    #[test]
    fn growing_memory_or_maps_fail() {
        let s = samples(
            &[9000, 10000, 10000, 10400, 10800, 11200],
            &[3, 5, 10, 40, 80, 120],
        );
        let rss = rss_flat(&s);
        assert!(!rss.ok, "{rss:?}");
        assert!(rss.detail.contains("+7.7%"), "{rss:?}");
        let maps = maps_bounded(&s);
        assert!(!maps.ok, "{maps:?}");
        assert!(maps.detail.contains("SHM_SIZES 10→120 GROWS"), "{maps:?}");
        assert!(!rss_flat(&s[..3]).ok);
    }

    #[test]
    fn a_slow_or_missing_redraw_fails() {
        use std::time::Duration;
        let limit = Duration::from_secs(2);
        let fast = [Duration::from_millis(30), Duration::from_millis(50)];
        assert!(responsive(&fast, limit).ok);
        let slow = [Duration::from_millis(30), Duration::from_secs(2)];
        assert!(!responsive(&slow, limit).ok);
        assert!(!responsive(&[], limit).ok);
    }

    #[test]
    fn drops_or_an_empty_recording_fail() {
        let ok = serde_json::json!({"events": 10, "dropped": 0, "missed": 0});
        assert!(nothing_lost(&ok).ok);
        let missed = serde_json::json!({"events": 10, "dropped": 0, "missed": 4});
        assert!(nothing_lost(&missed).ok);
        let lost = serde_json::json!({"events": 10, "dropped": 3, "missed": 0});
        assert!(!nothing_lost(&lost).ok);
        let empty = serde_json::json!({"events": 0, "dropped": 0});
        assert!(!nothing_lost(&empty).ok);
    }
}
