//! The console's commands, and parsing a typed line into one.
//!
//! A line is split into words like a manifest line (whitespace separates,
//! double quotes group, `#` starts a comment; see
//! `bulkhead_manifest::words`). The first word names the command; a
//! mistyped name gets the nearest command suggested, and a command given
//! the wrong arguments gets its usage line. [`parse`] returns `Ok(None)`
//! for a line with no words, which the console ignores.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bulkhead_manifest::words::{split_words, WordsError};

use crate::suggest;

/// One command as `help` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandInfo {
    pub name: &'static str,
    /// The arguments, as `help` shows them.
    pub args: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
}

impl CommandInfo {
    /// `run <container> <program> [args...]`.
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            String::from(self.name)
        } else {
            format!("{} {}", self.name, self.args)
        }
    }
}

/// Every command, in the order `help` lists them.
pub const COMMANDS: [CommandInfo; 7] = [
    CommandInfo {
        name: "help",
        args: "",
        summary: "this list",
    },
    CommandInfo {
        name: "list",
        args: "",
        summary: "the manifest's containers, their programs and capabilities",
    },
    CommandInfo {
        name: "run",
        args: "<container> <program> [args...]",
        summary: "one program in a fresh instance of a container, shown live",
    },
    CommandInfo {
        name: "stats",
        args: "[<container>]",
        summary: "syscall counts of every container instance held (or one's)",
    },
    CommandInfo {
        name: "bench",
        args: "",
        summary: "/bin/bench in a container of each mode (figures in cycles)",
    },
    CommandInfo {
        name: "exploit",
        args: "",
        summary: "/bin/exploit jump and peek in ipc, direct and sci containers",
    },
    CommandInfo {
        name: "exit",
        args: "",
        summary: "release everything, check for leaks, end the emulator run",
    },
];

/// The help text: one line per command, usages lined up.
pub fn help_lines() -> Vec<String> {
    let width = COMMANDS.iter().map(|c| c.usage().len()).max().unwrap_or(0);
    COMMANDS
        .iter()
        .map(|c| format!("  {:width$}  {}", c.usage(), c.summary))
        .collect()
}

fn info(name: &str) -> &'static CommandInfo {
    COMMANDS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or(&COMMANDS[0])
}

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    List,
    /// `run <container> <program> [args...]`: `argv[0]` is the program's
    /// absolute path (a bare name means `/bin/<name>`).
    Run {
        container: String,
        argv: Vec<String>,
    },
    Stats {
        container: Option<String>,
    },
    Bench,
    Exploit,
    Exit,
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// No command of that name; the nearest one, if any is close.
    Unknown {
        word: String,
        suggestion: Option<&'static str>,
    },
    /// The command's arguments are wrong.
    Usage {
        command: &'static str,
        problem: &'static str,
    },
    /// The line could not be split into words.
    Words(WordsError),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Unknown {
                word,
                suggestion: Some(near),
            } => write!(
                f,
                "unknown command '{word}'; did you mean '{near}'? type 'help'"
            ),
            ParseError::Unknown {
                word,
                suggestion: None,
            } => write!(f, "unknown command '{word}'; type 'help' for the commands"),
            ParseError::Usage { command, problem } => {
                write!(f, "{command}: {problem}; usage: {}", info(command).usage())
            }
            ParseError::Words(WordsError::UnterminatedQuote) => {
                f.write_str("unterminated quote (a \" opens a word that a \" must close)")
            }
            ParseError::Words(WordsError::TooManyWords) => f.write_str(
                "too many words (a program takes at most 32 arguments, its path included)",
            ),
        }
    }
}

/// The absolute path a program name stands for: itself if absolute,
/// else `/bin/<name>`.
pub fn program_path(name: &str) -> String {
    if name.starts_with('/') {
        String::from(name)
    } else {
        format!("/bin/{name}")
    }
}

/// Parses one line (see the module documentation).
pub fn parse(line: &str) -> Result<Option<Command>, ParseError> {
    let words = split_words(line).map_err(ParseError::Words)?;
    let Some((name, args)) = words.split_first() else {
        return Ok(None);
    };
    let usage = |command, problem| ParseError::Usage { command, problem };
    let none = |command: &'static str, made: Command| {
        if args.is_empty() {
            Ok(Some(made))
        } else {
            Err(usage(command, "takes no arguments"))
        }
    };
    match name.as_str() {
        // `help <anything>` still helps.
        "help" | "?" => Ok(Some(Command::Help)),
        "list" => none("list", Command::List),
        "bench" => none("bench", Command::Bench),
        "exploit" => none("exploit", Command::Exploit),
        "exit" | "quit" => none("exit", Command::Exit),
        "stats" => match args {
            [] => Ok(Some(Command::Stats { container: None })),
            [container] => Ok(Some(Command::Stats {
                container: Some(container.clone()),
            })),
            _ => Err(usage("stats", "at most one container")),
        },
        "run" => match args {
            [] => Err(usage("run", "which container?")),
            [_] => Err(usage("run", "which program?")),
            [container, program, rest @ ..] => {
                let mut argv = Vec::with_capacity(rest.len() + 1);
                argv.push(program_path(program));
                argv.extend(rest.iter().cloned());
                Ok(Some(Command::Run {
                    container: container.clone(),
                    argv,
                }))
            }
        },
        other => Err(ParseError::Unknown {
            word: String::from(other),
            suggestion: suggest::closest(other, COMMANDS.iter().map(|c| c.name)),
        }),
    }
}

/// What to say about a container name the manifest does not have:
/// `no container 'gamma'; containers: alpha, beta` (with a suggestion
/// when one is near).
pub fn unknown_container<'a, I>(name: &str, known: I) -> String
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    let list: Vec<&str> = known.clone().into_iter().collect();
    if list.is_empty() {
        return format!("no container '{name}': this boot has no manifest, so no containers");
    }
    let listed = list.join(", ");
    match suggest::closest(name, known) {
        Some(near) => format!("no container '{name}'; did you mean '{near}'? containers: {listed}"),
        None => format!("no container '{name}'; containers: {listed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line).unwrap().unwrap()
    }

    fn err(line: &str) -> String {
        parse(line).unwrap_err().to_string()
    }

    #[test]
    fn empty_lines_and_comments_are_nothing() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   \t "), Ok(None));
        assert_eq!(parse("# a note"), Ok(None));
    }

    #[test]
    fn simple_commands() {
        assert_eq!(ok("help"), Command::Help);
        assert_eq!(ok(" help run "), Command::Help);
        assert_eq!(ok("list"), Command::List);
        assert_eq!(ok("bench"), Command::Bench);
        assert_eq!(ok("exploit"), Command::Exploit);
        assert_eq!(ok("exit"), Command::Exit);
        assert_eq!(ok("quit"), Command::Exit);
        assert_eq!(ok("stats"), Command::Stats { container: None });
        assert_eq!(
            ok("stats alpha"),
            Command::Stats {
                container: Some(String::from("alpha"))
            }
        );
    }

    #[test]
    fn run_takes_a_container_a_program_and_arguments() {
        let strings = |words: &[&str]| words.iter().map(|w| String::from(*w)).collect();
        assert_eq!(
            ok("run alpha /bin/hello"),
            Command::Run {
                container: String::from("alpha"),
                argv: strings(&["/bin/hello"])
            }
        );
        assert_eq!(
            ok(r#"run beta args 2 "two words" # comment"#),
            Command::Run {
                container: String::from("beta"),
                argv: strings(&["/bin/args", "2", "two words"])
            }
        );
    }

    #[test]
    fn mistyped_commands_get_a_suggestion() {
        assert_eq!(
            err("lst"),
            "unknown command 'lst'; did you mean 'list'? type 'help'"
        );
        assert_eq!(
            err("stast alpha"),
            "unknown command 'stast'; did you mean 'stats'? type 'help'"
        );
        assert_eq!(
            err("frobnicate"),
            "unknown command 'frobnicate'; type 'help' for the commands"
        );
    }

    #[test]
    fn wrong_arguments_get_the_usage() {
        assert_eq!(
            err("run"),
            "run: which container?; usage: run <container> <program> [args...]"
        );
        assert_eq!(
            err("run alpha"),
            "run: which program?; usage: run <container> <program> [args...]"
        );
        assert_eq!(err("list all"), "list: takes no arguments; usage: list");
        assert_eq!(
            err("stats a b"),
            "stats: at most one container; usage: stats [<container>]"
        );
        assert!(err("run alpha \"/bin/x").starts_with("unterminated quote"));
    }

    #[test]
    fn help_has_one_line_per_command() {
        let lines = help_lines();
        assert_eq!(lines.len(), COMMANDS.len());
        for (line, command) in lines.iter().zip(COMMANDS) {
            assert!(
                line.starts_with(&format!("  {}", command.usage())),
                "{line}"
            );
            assert!(line.ends_with(command.summary));
        }
        // The summaries start in one column.
        let columns: Vec<usize> = lines
            .iter()
            .zip(COMMANDS)
            .map(|(l, c)| l.rfind(c.summary).unwrap())
            .collect();
        assert!(columns.iter().all(|&c| c == columns[0]), "{columns:?}");
        assert!(lines.iter().all(|l| !l.contains('\n')));
    }

    #[test]
    fn unknown_containers_list_the_known_ones() {
        let names = ["alpha", "alpha-direct", "alpha-sci", "beta"];
        assert_eq!(
            unknown_container("gamma", names),
            "no container 'gamma'; containers: alpha, alpha-direct, alpha-sci, beta"
        );
        assert_eq!(
            unknown_container("alpah", names),
            "no container 'alpah'; did you mean 'alpha'? containers: alpha, alpha-direct, alpha-sci, beta"
        );
        assert!(unknown_container("x", []).contains("no manifest"));
    }

    #[test]
    fn program_paths() {
        assert_eq!(program_path("hello"), "/bin/hello");
        assert_eq!(program_path("/etc/x"), "/etc/x");
        assert_eq!(program_path("sub/x"), "/bin/sub/x");
    }
}
