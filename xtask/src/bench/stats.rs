//! Summary statistics of repeated measurements.

/// Median, extremes and count of a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median (mean of the two middle values for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// How many samples.
    pub count: usize,
}

impl Summary {
    /// Summarizes `samples`; `None` when there are none (or any is NaN).
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| s.is_nan()) {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Summary {
            median,
            min: v[0],
            max: v[n - 1],
            count: n,
        })
    }

    /// `(max - min) / median`, in percent: how far apart the runs were.
    pub fn spread_percent(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let odd = Summary::of(&[5.0, 1.0, 3.0]).expect("three samples");
        assert_eq!(
            (odd.median, odd.min, odd.max, odd.count),
            (3.0, 1.0, 5.0, 3)
        );
        let even = Summary::of(&[4.0, 1.0, 2.0, 10.0]).expect("four samples");
        assert_eq!(even.median, 3.0);
        assert_eq!(even.spread_percent(), 300.0);
    }

    #[test]
    fn nothing_to_summarize() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }
}
