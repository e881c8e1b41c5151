//! Writing a container back as manifest text: the root server's console
//! starts a fresh instance of one container with programs typed at the
//! prompt, and hands that instance's syscall server a manifest holding
//! just it (the server reads its own container's section by name).
//!
//! [`ContainerSpec::to_text`] writes every field, so parsing the text
//! gives an equal spec back (its `line` aside). A copy made by a `mode`
//! line naming several modes may have a name longer than a `container`
//! line allows (`<name>-<mode>`); it is written as its base container
//! with two modes, so parsing makes the copy, under its own name, again.

use alloc::format;
use alloc::string::String;

use crate::values::container_name;
use crate::{ContainerSpec, Expect, Mode};

/// `word` as the manifest's word splitter reads it back: bare when it
/// can be, else in double quotes with `"` and `\` escaped.
pub fn quote(word: &str) -> String {
    let bare = !word.is_empty()
        && !word.starts_with('#')
        && !word.chars().any(|c| c.is_ascii_whitespace() || c == '"');
    if bare {
        return String::from(word);
    }
    let mut quoted = String::from("\"");
    for c in word.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

impl ContainerSpec {
    /// The container as manifest text (see the module documentation).
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let mut line = |l: String| {
            text.push_str(&l);
            text.push('\n');
        };
        match copy_base(&self.name, self.mode) {
            Some((base, other)) => {
                line(format!("container {base}"));
                line(format!("mode {} {}", other.name(), self.mode.name()));
            }
            None => {
                line(format!("container {}", self.name));
                line(format!("mode {}", self.mode.name()));
            }
        }
        line(format!("memory {}", self.memory_bytes));
        if let Some(files) = &self.files {
            line(format!("files {files}"));
        }
        line(format!("threads {}", self.threads));
        line(format!("slots {}", self.slots));
        for entry in &self.env {
            line(format!("env {}", quote(entry)));
        }
        for program in &self.programs {
            let directive = if program.wait { "run" } else { "spawn" };
            let mut words = String::from(directive);
            for arg in &program.argv {
                words.push(' ');
                words.push_str(&quote(arg));
            }
            line(words);
            match program.expect {
                Some(Expect::Exit(status)) => line(format!("expect {status}")),
                Some(Expect::Signal(signal)) => line(format!("expect signal {signal}")),
                Some(Expect::Refused) => line(String::from("expect refused")),
                None => {}
            }
        }
        text
    }
}

/// For a name a `container` line cannot carry but a copy can
/// (`<base>-<mode>` with a valid base): the base and another mode for
/// the base to run in.
fn copy_base(name: &str, mode: Mode) -> Option<(&str, Mode)> {
    if container_name(name).is_ok() {
        return None;
    }
    let base = name.strip_suffix(mode.name())?.strip_suffix('-')?;
    container_name(base).ok()?;
    let other = Mode::ALL.into_iter().find(|&m| m != mode)?;
    Some((base, other))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, words::split_words, Program};
    use alloc::vec;
    use alloc::vec::Vec;

    fn program(argv: &[&str], expect: Option<Expect>) -> Program {
        Program {
            path: String::from(argv[0]),
            argv: argv.iter().map(|a| String::from(*a)).collect(),
            wait: true,
            expect,
        }
    }

    /// Parses `spec.to_text()` and returns the container of that name.
    fn round_trip(spec: &ContainerSpec) -> ContainerSpec {
        let text = spec.to_text();
        let manifest = parse(&text);
        assert!(manifest.errors.is_empty(), "{text}: {:?}", manifest.errors);
        let mut back = manifest
            .container(&spec.name)
            .expect("the container")
            .clone();
        back.line = spec.line;
        back
    }

    #[test]
    fn quoting_reads_back() {
        let words = [
            "plain",
            "two words",
            "",
            "#hash",
            "q\"uote",
            "back\\slash",
            "a#b",
        ];
        for word in words {
            let line = quote(word);
            assert_eq!(
                split_words(&line).unwrap(),
                vec![String::from(word)],
                "{line}"
            );
        }
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a#b"), "a#b");
        assert_eq!(quote("two words"), "\"two words\"");
    }

    #[test]
    fn every_field_survives() {
        let mut spec = ContainerSpec::new("alpha", 3);
        spec.mode = Mode::Sci;
        spec.memory_bytes = 6 << 20;
        spec.files = Some(String::from("alpha-files"));
        spec.threads = 7;
        spec.slots = 64;
        spec.env = vec![String::from("A=b c"), String::from("EMPTY=")];
        spec.programs = vec![
            program(&["/bin/hello"], Some(Expect::Exit(0))),
            program(&["/bin/args", "two words", "\"q\""], None),
            program(&["/bin/crash"], Some(Expect::Signal(11))),
            Program {
                wait: false,
                ..program(&["/bin/worker"], Some(Expect::Refused))
            },
        ];
        assert_eq!(round_trip(&spec), spec);
    }

    #[test]
    fn defaults_and_no_programs_survive() {
        let spec = ContainerSpec::new("c", 1);
        assert_eq!(round_trip(&spec), spec);
    }

    #[test]
    fn long_copy_names_come_back_as_copies() {
        let manifest = parse("container bench-long1\nmode ipc sci-sticky\nrun /bin/bench 2\n");
        let copy = manifest
            .container("bench-long1-sci-sticky")
            .unwrap()
            .clone();
        assert_eq!(copy.name.len(), 22);
        assert_eq!(round_trip(&copy), copy);
        let names: Vec<String> = parse(&copy.to_text())
            .containers
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["bench-long1", "bench-long1-sci-sticky"]);
    }

    #[test]
    fn an_ipc_copy_gets_another_base_mode() {
        let mut spec = ContainerSpec::new("long-name-12345-ipc", 1);
        spec.mode = Mode::Ipc;
        assert!(spec
            .to_text()
            .starts_with("container long-name-12345\nmode direct ipc\n"));
        assert_eq!(round_trip(&spec), spec);
    }
}
