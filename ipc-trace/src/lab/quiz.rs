//! Questions whose answers come from the student's own run: the answer
//! types, how a typed answer is graded against one, and the `--answers
//! FILE` format.

use super::facts::{RunFacts, Who};
use std::collections::BTreeMap;
use std::fmt;

/// The right answer, computed from a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A count; only the exact number is right.
    Count(u64),
    /// A duration in milliseconds; right within 10% or 0.5 ms.
    Millis(f64),
    /// A process: its pid or its command name is right.
    Process(Who),
    /// An IPC id; only the exact number is right.
    Id(i32),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Count(n) => write!(f, "{n}"),
            Answer::Millis(ms) => write!(f, "{ms:.2} ms"),
            Answer::Process(who) => write!(f, "{who}"),
            Answer::Id(id) => write!(f, "{id}"),
        }
    }
}

/// One question of a lab.
pub struct Question {
    /// The question as asked.
    pub text: &'static str,
    /// Its answer from the run, or why this run cannot answer it.
    pub answer: fn(&RunFacts) -> Result<Answer, String>,
    /// Why that is the answer, from the run's facts.
    pub why: fn(&RunFacts) -> String,
}

/// How a typed answer compares with the right one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grade {
    /// It matches.
    Right,
    /// It is an answer, and not the right one.
    Wrong,
    /// Nothing usable was typed (empty, or no number where one is needed).
    Unreadable,
}

/// The first decimal number in `text` (`"2 pages"` → 2, `"1.5ms"` → 1.5).
fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].trim_end_matches('.').parse().ok()
}

/// Grades `given` against `right`.
pub fn grade(right: &Answer, given: &str) -> Grade {
    let given = given.trim();
    if given.is_empty() {
        return Grade::Unreadable;
    }
    let number = first_number(given);
    let verdict = |ok: bool| if ok { Grade::Right } else { Grade::Wrong };
    match right {
        Answer::Count(n) => number.map_or(Grade::Unreadable, |g| verdict(g == *n as f64)),
        Answer::Id(id) => number.map_or(Grade::Unreadable, |g| verdict(g == f64::from(*id))),
        Answer::Millis(ms) => number.map_or(Grade::Unreadable, |g| {
            verdict((g - ms).abs() <= (ms * 0.1).max(0.5))
        }),
        Answer::Process(who) => {
            if let Some(g) = number {
                return verdict(g == f64::from(who.tgid));
            }
            let given = given.to_lowercase();
            let comm = who.comm.to_lowercase();
            // "shm-producer", or a distinctive part of it ("producer").
            let named = given.contains(&comm)
                || given
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w.len() >= 5 && comm.contains(w));
            verdict(named)
        }
    }
}

/// `Some((n, at))` when `line` starts with a question number `n` ≥ 1 and
/// its separator at byte `at`: `:` or `)`, or `.` before a space (so that
/// `1.5 ms` stays an answer).
fn question_number(line: &str) -> Option<(usize, usize)> {
    let at = line.find(|c: char| !c.is_ascii_digit())?;
    let n: usize = line[..at].parse().ok().filter(|n| *n >= 1)?;
    let rest = &line[at..];
    let separated = rest.starts_with([':', ')'])
        || (rest.starts_with('.') && rest[1..].starts_with(char::is_whitespace));
    separated.then_some((n, at))
}

/// Reads an answers file: one answer per line in question order, blank
/// lines and `#` comments skipped; a line may name its question with a
/// leading `N:`, `N.` or `N)` (1-based), and later lines go on from there.
/// Returns the answers by 0-based question index.
pub fn read_answers(text: &str) -> BTreeMap<usize, String> {
    let mut out = BTreeMap::new();
    let mut next = 0usize;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let numbered = question_number(line);
        let answer = match numbered {
            Some((n, at)) => {
                next = n - 1;
                line[at + 1..].trim()
            }
            None => line,
        };
        out.insert(next, answer.to_string());
        next += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Who {
        Who {
            tgid: 4242,
            comm: "shm-producer".into(),
        }
    }

    #[test]
    fn counts_and_ids_are_right_only_when_exact() {
        assert_eq!(grade(&Answer::Count(2), "2 pages"), Grade::Right);
        assert_eq!(grade(&Answer::Count(2), "3"), Grade::Wrong);
        assert_eq!(grade(&Answer::Count(2), "two"), Grade::Unreadable);
        assert_eq!(grade(&Answer::Id(32768), " 32768\n"), Grade::Right);
        assert_eq!(grade(&Answer::Id(32768), "32769"), Grade::Wrong);
    }

    #[test]
    fn durations_are_right_within_ten_percent_or_half_a_millisecond() {
        let a = Answer::Millis(20.0);
        assert_eq!(grade(&a, "21.5 ms"), Grade::Right);
        assert_eq!(grade(&a, "23"), Grade::Wrong);
        let small = Answer::Millis(0.2);
        assert_eq!(grade(&small, "0.6"), Grade::Right);
        assert_eq!(grade(&small, "0.8"), Grade::Wrong);
    }

    #[test]
    fn a_process_is_right_by_pid_or_by_a_distinctive_part_of_its_name() {
        let a = Answer::Process(who());
        assert_eq!(grade(&a, "4242"), Grade::Right);
        assert_eq!(grade(&a, "pid 4243"), Grade::Wrong);
        assert_eq!(grade(&a, "the shm-producer"), Grade::Right);
        assert_eq!(grade(&a, "Producer"), Grade::Right);
        assert_eq!(grade(&a, "consumer"), Grade::Wrong);
        // Too short to tell producer from consumer.
        assert_eq!(grade(&a, "shm"), Grade::Wrong);
        assert_eq!(grade(&a, ""), Grade::Unreadable);
    }

    #[test]
    fn an_answers_file_may_number_its_lines_or_not() {
        let file = "# lab shm\n1: producer\n\n3) 2 pages\n4. 0.5 ms\n";
        let a = read_answers(file);
        assert_eq!(a.get(&0).map(String::as_str), Some("producer"));
        assert_eq!(a.get(&1), None);
        assert_eq!(a.get(&2).map(String::as_str), Some("2 pages"));
        assert_eq!(a.get(&3).map(String::as_str), Some("0.5 ms"));
        let plain = read_answers("a\nb\n");
        assert_eq!(plain.len(), 2);
        assert_eq!(plain.get(&1).map(String::as_str), Some("b"));
        // "0.5 ms" alone is an answer, not question 0.
        assert_eq!(
            read_answers("0.5 ms").get(&0).map(String::as_str),
            Some("0.5 ms")
        );
        assert_eq!(
            read_answers("1.5 ms").get(&0).map(String::as_str),
            Some("1.5 ms")
        );
    }
}
