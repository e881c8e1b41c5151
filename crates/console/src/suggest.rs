//! "Did you mean ...?": the known word nearest to a mistyped one.
//!
//! Nearness is the optimal-string-alignment distance: the fewest single
//! character insertions, deletions, substitutions and swaps of two
//! neighbours that turn one word into the other (`lst` -> `list` is 1,
//! `lsit` -> `list` is 1). A word is suggested only if it is close for
//! its length (at most 1 edit up to 4 characters, 2 up to 8, 3 beyond),
//! or if the typed word is the start of exactly one known word (`ben` ->
//! `bench`), so wild guesses are not offered.

use alloc::vec;
use alloc::vec::Vec;

/// The optimal-string-alignment distance between `a` and `b` (bytes).
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // rows[i][j]: the distance between a[..i] and b[..j]; three rows kept.
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        core::mem::swap(&mut before, &mut previous);
        core::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The most edits a word of `len` characters may be from a suggestion.
fn allowed(len: usize) -> usize {
    match len {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    }
}

/// The known word nearest to `typed`, if one is close enough (see the
/// module documentation); the first of equally near ones. An exact match
/// is not a suggestion.
pub fn closest<'a, I>(typed: &str, known: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let known: Vec<&'a str> = known.into_iter().collect();
    if typed.is_empty() || known.contains(&typed) {
        return None;
    }
    let best = known
        .iter()
        .map(|&word| (distance(typed, word), word))
        .filter(|&(d, _)| d <= allowed(typed.len()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, word)| word);
    best.or_else(|| {
        let mut starting = known
            .iter()
            .filter(|w| typed.len() >= 2 && w.starts_with(typed));
        match (starting.next(), starting.next()) {
            (Some(&only), None) => Some(only),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMANDS: [&str; 7] = ["help", "list", "run", "stats", "bench", "exploit", "exit"];

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("list", "list"), 0);
        assert_eq!(distance("lst", "list"), 1);
        assert_eq!(distance("lsit", "list"), 1);
        assert_eq!(distance("list", ""), 4);
        assert_eq!(distance("", "run"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("stast", "stats"), 1);
        assert_eq!(distance("ca", "abc"), 3);
    }

    #[test]
    fn close_typos_are_suggested() {
        assert_eq!(closest("lst", COMMANDS), Some("list"));
        assert_eq!(closest("lsit", COMMANDS), Some("list"));
        assert_eq!(closest("hlep", COMMANDS), Some("help"));
        assert_eq!(closest("stat", COMMANDS), Some("stats"));
        assert_eq!(closest("exploti", COMMANDS), Some("exploit"));
        assert_eq!(closest("rn", COMMANDS), Some("run"));
        assert_eq!(closest("quit", COMMANDS), None);
    }

    #[test]
    fn unique_prefixes_are_suggested() {
        assert_eq!(closest("ben", COMMANDS), Some("bench"));
        assert_eq!(closest("expl", COMMANDS), Some("exploit"));
        // "ex" starts both exploit and exit, and is within 1 edit of neither.
        assert_eq!(closest("e", COMMANDS), None);
    }

    #[test]
    fn ties_go_to_the_first_and_exact_words_are_not_suggested() {
        assert_eq!(closest("exot", COMMANDS), Some("exit"));
        assert_eq!(closest("list", COMMANDS), None);
        assert_eq!(closest("", COMMANDS), None);
    }

    #[test]
    fn far_words_are_not_suggested() {
        let names = ["alpha", "alpha-direct", "alpha-sci", "beta"];
        assert_eq!(closest("gamma", names), None);
        assert_eq!(closest("alpah", names), Some("alpha"));
        assert_eq!(closest("beat", names), Some("beta"));
        assert_eq!(closest("alpha-dir", names), Some("alpha-direct"));
    }
}
