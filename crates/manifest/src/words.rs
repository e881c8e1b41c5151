//! Splitting one manifest line into words.
//!
//! The rules are a small, predictable subset of the shell's:
//!
//! - words are separated by ASCII whitespace (leading whitespace is
//!   ignored);
//! - a `#` at the start of a word, outside quotes, starts a comment that runs
//!   to the end of the line (so `a#b` is one word, `a #b` is `a`);
//! - double quotes group: `"b c"` is one word, `""` is an empty word, and a
//!   quoted part may touch bare text (`a"b c"` is `ab c`);
//! - inside quotes, `\"` is a quote and `\\` a backslash; any other
//!   backslash stays as it is; outside quotes a backslash is plain text;
//! - an unterminated quote is an error.
//!
//! At most [`MAX_WORDS`] words are accepted, so a hostile line cannot make
//! the parser allocate without bound beyond the line itself.

use alloc::string::String;
use alloc::vec::Vec;

/// The directive plus at most 32 arguments.
pub const MAX_WORDS: usize = 33;

/// Why a line could not be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordsError {
    UnterminatedQuote,
    TooManyWords,
}

/// Splits `line` into words (see the module documentation).
pub fn split_words(line: &str) -> Result<Vec<String>, WordsError> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(char::is_ascii_whitespace).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        if words.len() == MAX_WORDS {
            return Err(WordsError::TooManyWords);
        }
        words.push(read_word(&mut chars)?);
    }
}

/// Reads one word starting at a non-whitespace character.
fn read_word(chars: &mut core::iter::Peekable<core::str::Chars<'_>>) -> Result<String, WordsError> {
    let mut word = String::new();
    while let Some(c) = chars.next_if(|c| !c.is_ascii_whitespace()) {
        if c == '"' {
            read_quoted(chars, &mut word)?;
        } else {
            word.push(c);
        }
    }
    Ok(word)
}

/// Reads the rest of a quoted part (after its opening quote) into `word`.
fn read_quoted(
    chars: &mut core::iter::Peekable<core::str::Chars<'_>>,
    word: &mut String,
) -> Result<(), WordsError> {
    loop {
        match chars.next() {
            None => return Err(WordsError::UnterminatedQuote),
            Some('"') => return Ok(()),
            Some('\\') => match chars.next_if(|&c| c == '"' || c == '\\') {
                Some(escaped) => word.push(escaped),
                None => word.push('\\'),
            },
            Some(c) => word.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_words(line).unwrap()
    }

    #[test]
    fn plain_words_and_comments() {
        assert_eq!(words("  run /bin/x  a\tb "), ["run", "/bin/x", "a", "b"]);
        assert_eq!(words("run a # comment \"x"), ["run", "a"]);
        assert_eq!(words("env A=b#c"), ["env", "A=b#c"]);
        assert!(words("# only a comment").is_empty());
        assert!(words("").is_empty());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(words(r#"run "b c" """#), ["run", "b c", ""]);
        assert_eq!(words(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(words(r#""q\"q" "s\\s" "\n""#), ["q\"q", "s\\s", "\\n"]);
        assert_eq!(words(r##""# not a comment""##), ["# not a comment"]);
        assert_eq!(words(r"a\b"), ["a\\b"]);
    }

    #[test]
    fn errors() {
        assert_eq!(split_words("run \"abc"), Err(WordsError::UnterminatedQuote));
        assert_eq!(
            split_words(r#"run "abc\""#),
            Err(WordsError::UnterminatedQuote)
        );
        let long = "a ".repeat(MAX_WORDS + 1);
        assert_eq!(split_words(&long), Err(WordsError::TooManyWords));
        assert_eq!(
            split_words(&"a ".repeat(MAX_WORDS)).unwrap().len(),
            MAX_WORDS
        );
    }
}
