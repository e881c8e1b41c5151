//! `root.script=`: console lines given on the kernel command line, so a
//! test boot can drive the console without a keyboard.
//!
//! A command-line word cannot hold a space, so in the script a `,`
//! stands for one, and `;` ends a command:
//!
//! ```text
//!  root.script=help;lst;run,alpha,/bin/hello;stats,alpha;exit
//!    -> "help", "lst", "run alpha /bin/hello", "stats alpha", "exit"
//! ```
//!
//! GRUB's configuration language treats `;` as the end of a command, so
//! a script in `make run CMDLINE=...` is best quoted:
//! `root.script='help;list;exit'`. GRUB removes the quotes; Limine passes
//! them on, and [`lines`] removes one pair of matching quotes around the
//! whole value. Empty commands are dropped.

use alloc::string::String;
use alloc::vec::Vec;

/// The console lines of a `root.script=` value (see the module docs).
pub fn lines(value: &str) -> Vec<String> {
    let unquoted = ['\'', '"']
        .into_iter()
        .find_map(|q| value.strip_prefix(q)?.strip_suffix(q))
        .unwrap_or(value);
    unquoted
        .split(';')
        .map(|command| command.replace(',', " ").trim().into())
        .filter(|line: &String| !line.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_split_and_commas_are_spaces() {
        assert_eq!(
            lines("help;lst;run,alpha,/bin/hello;stats,alpha;exit"),
            ["help", "lst", "run alpha /bin/hello", "stats alpha", "exit"]
        );
    }

    #[test]
    fn quotes_around_the_value_go_and_empty_commands_are_dropped() {
        assert_eq!(lines("'help;list'"), ["help", "list"]);
        assert_eq!(lines("\"help;;exit;\""), ["help", "exit"]);
        assert_eq!(lines("'help"), ["'help"]);
        assert!(lines("").is_empty());
        assert!(lines(";;,;").is_empty());
    }
}
