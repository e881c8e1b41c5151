//! Reading options from the kernel command line the root server gets in
//! its root info page: whitespace-separated `key=value` words (or bare
//! flags), the last occurrence of a key winning. The kernel validates its
//! own options; user-land options are namespaced (`user.exit=1`) or shared
//! on purpose (`test=` filters both test suites).

/// The value of the last `key=value` word, if any.
pub fn value<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_ascii_whitespace()
        .rev()
        .filter_map(|word| word.split_once('='))
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

/// Whether `key=1` (or `key=yes`/`true`/`on`, or a bare `key`) is set.
pub fn flag(cmdline: &str, key: &str) -> bool {
    let bare = cmdline.split_ascii_whitespace().any(|word| word == key);
    bare || matches!(value(cmdline, key), Some("1" | "yes" | "true" | "on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins() {
        let line = "loglevel=info test=caps test=space";
        assert_eq!(value(line, "test"), Some("space"));
        assert_eq!(value(line, "te"), None);
        assert_eq!(value("", "test"), None);
    }

    #[test]
    fn flags_accept_one_and_bare_words() {
        assert!(flag("a user.exit=1", "user.exit"));
        assert!(flag("user.exit", "user.exit"));
        assert!(!flag("user.exit=0", "user.exit"));
        assert!(!flag("user.exit2=1", "user.exit"));
    }
}
