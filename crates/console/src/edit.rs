//! Line editing on a raw serial line: the terminal sends every key as it
//! is typed and shows nothing itself, so the console echoes what it
//! keeps and erases what backspace removes.
//!
//! [`LineEditor::feed`] takes one byte and says what to show:
//!
//! | byte                         | effect                                   |
//! |------------------------------|------------------------------------------|
//! | printable ASCII, tab         | appended and echoed (tab as a space)     |
//! | CR, LF, CR LF                | the line is complete (one line for CR LF)|
//! | backspace (0x08), DEL (0x7f) | the last character is removed            |
//! | Ctrl-U                       | the whole line is removed                |
//! | Ctrl-C                       | the line is dropped                      |
//! | Ctrl-D on an empty line      | end of input (the console exits)         |
//! | ESC sequences (arrow keys)   | ignored, with their parameters           |
//! | anything else                | ignored                                  |
//!
//! A line holds at most [`MAX_LINE`] characters; further ones are
//! ignored (not echoed), so the screen always shows exactly the line.

use alloc::string::String;

/// Longest line kept, in characters.
pub const MAX_LINE: usize = 256;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;
const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const CTRL_U: u8 = 0x15;
const ESC: u8 = 0x1b;

/// What the console shows (or does) after one byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing changes on screen.
    Nothing,
    /// Echo this character.
    Echo(u8),
    /// Erase this many characters before the cursor (`"\x08 \x08"` each).
    Erase(usize),
    /// The line is complete: move to a new line and run it.
    Line(String),
    /// The line was dropped (Ctrl-C): show `^C` and a new prompt.
    Cancel,
    /// End of input (Ctrl-D on an empty line).
    End,
}

/// Where the editor is in an escape sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Started,
    /// After `ESC [` or `ESC O`: parameters until a final byte.
    Sequence,
}

/// The line being typed.
#[derive(Clone, Debug, Default)]
pub struct LineEditor {
    line: String,
    /// The previous byte was a CR (so an LF right after it is its pair).
    after_cr: bool,
    escape: Escape,
}

impl LineEditor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The line typed so far.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Takes one input byte (see the module documentation).
    pub fn feed(&mut self, byte: u8) -> Action {
        let after_cr = core::mem::replace(&mut self.after_cr, byte == b'\r');
        match self.escape {
            Escape::Started => {
                self.escape = match byte {
                    b'[' | b'O' => Escape::Sequence,
                    _ => Escape::None,
                };
                return Action::Nothing;
            }
            Escape::Sequence => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                }
                return Action::Nothing;
            }
            Escape::None => {}
        }
        match byte {
            b'\n' if after_cr => Action::Nothing,
            b'\r' | b'\n' => Action::Line(core::mem::take(&mut self.line)),
            BACKSPACE | DELETE => match self.line.pop() {
                Some(_) => Action::Erase(1),
                None => Action::Nothing,
            },
            CTRL_U => {
                let n = self.line.chars().count();
                self.line.clear();
                if n == 0 {
                    Action::Nothing
                } else {
                    Action::Erase(n)
                }
            }
            CTRL_C => {
                self.line.clear();
                Action::Cancel
            }
            CTRL_D if self.line.is_empty() => Action::End,
            ESC => {
                self.escape = Escape::Started;
                Action::Nothing
            }
            b'\t' => self.push(b' '),
            0x20..=0x7e => self.push(byte),
            _ => Action::Nothing,
        }
    }

    fn push(&mut self, byte: u8) -> Action {
        if self.line.len() >= MAX_LINE {
            return Action::Nothing;
        }
        self.line.push(char::from(byte));
        Action::Echo(byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Feeds `bytes` and returns every action that is not `Nothing`.
    fn feed(editor: &mut LineEditor, bytes: &[u8]) -> Vec<Action> {
        bytes
            .iter()
            .map(|&b| editor.feed(b))
            .filter(|a| *a != Action::Nothing)
            .collect()
    }

    fn lines(bytes: &[u8]) -> Vec<String> {
        feed(&mut LineEditor::new(), bytes)
            .into_iter()
            .filter_map(|a| match a {
                Action::Line(line) => Some(line),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn typing_echoes_and_enter_ends_the_line() {
        let mut editor = LineEditor::new();
        let actions = feed(&mut editor, b"ls\r");
        assert_eq!(
            actions,
            [
                Action::Echo(b'l'),
                Action::Echo(b's'),
                Action::Line(String::from("ls"))
            ]
        );
        assert_eq!(editor.line(), "");
    }

    #[test]
    fn cr_lf_is_one_line_and_lf_alone_is_one_too() {
        assert_eq!(lines(b"a\r\nb\nc\r\r\n"), ["a", "b", "c", ""]);
        assert_eq!(lines(b"\n\n"), ["", ""]);
    }

    #[test]
    fn backspace_and_delete_remove_one_character() {
        let mut editor = LineEditor::new();
        assert_eq!(
            feed(&mut editor, b"lsx\x7f"),
            [
                Action::Echo(b'l'),
                Action::Echo(b's'),
                Action::Echo(b'x'),
                Action::Erase(1)
            ]
        );
        assert_eq!(editor.line(), "ls");
        assert_eq!(lines(b"helpp\x08\r"), ["help"]);
        // Nothing to erase on an empty line: nothing happens.
        assert_eq!(feed(&mut LineEditor::new(), b"\x7f\x08"), []);
    }

    #[test]
    fn ctrl_u_clears_and_ctrl_c_cancels() {
        let mut editor = LineEditor::new();
        feed(&mut editor, b"abc");
        assert_eq!(editor.feed(0x15), Action::Erase(3));
        assert_eq!(editor.line(), "");
        feed(&mut editor, b"xy");
        assert_eq!(editor.feed(0x03), Action::Cancel);
        assert_eq!(lines(b"abc\x03list\r"), ["list"]);
    }

    #[test]
    fn ctrl_d_ends_input_only_on_an_empty_line() {
        let mut editor = LineEditor::new();
        assert_eq!(editor.feed(0x04), Action::End);
        feed(&mut editor, b"a");
        assert_eq!(editor.feed(0x04), Action::Nothing);
    }

    #[test]
    fn escape_sequences_are_dropped() {
        // Up, Left, a function key with parameters, then a word.
        assert_eq!(lines(b"\x1b[A\x1b[D\x1b[15~li\x1bOPst\r"), ["list"]);
        // A lone ESC swallows only the next byte.
        assert_eq!(lines(b"\x1bxhelp\r"), ["help"]);
    }

    #[test]
    fn tabs_become_spaces_and_other_bytes_are_ignored() {
        assert_eq!(lines(b"run\talpha\x01\x07\xc3\xa9\r"), ["run alpha"]);
    }

    #[test]
    fn long_lines_stop_growing() {
        let mut editor = LineEditor::new();
        let typed = [b'x'; MAX_LINE + 10];
        let echoed = feed(&mut editor, &typed).len();
        assert_eq!(echoed, MAX_LINE);
        assert_eq!(editor.line().len(), MAX_LINE);
        assert_eq!(editor.feed(b'\r'), Action::Line("x".repeat(MAX_LINE)));
    }
}
