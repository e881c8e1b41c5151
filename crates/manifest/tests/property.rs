//! Property-style tests with a deterministic generator: random manifests
//! built from valid lines, some containers damaged, must parse without
//! panicking, and every undamaged container must come out exactly as
//! written, whatever happens around it.

use bulkhead_manifest::*;

/// xorshift64*: deterministic, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Body lines that are valid on their own (each single-valued directive
/// appears at most once per generated container, see `valid_body`).
const SINGLE: [&[&str]; 4] = [
    &["mode ipc", "mode direct", "mode sci", "mode sci-sticky"],
    &["memory 1M", "memory 16M", "memory 4G", "memory 2048K"],
    &["files alpha-files", "files m/x.cpio"],
    &["threads 1", "threads 32", "threads 1024"],
];
const REPEATABLE: &[&str] = &[
    "env HOME=/",
    "env X=\"a b\"",
    "run /bin/hello a \"b c\"",
    "spawn /bin/worker",
    "run /bin/t # comment",
    "   # indented comment",
    "",
];
const EXPECTS: &[&str] = &["expect 0", "expect 3", "expect signal 11"];

/// Lines that are always errors inside a container.
const BAD: &[&str] = &[
    "mode fast",
    "memory 0",
    "memory 5G",
    "memory lots",
    "threads 0",
    "env NOEQUALS",
    "run relative/path",
    "run /bin/x \"open",
    "expect 1000",
    "frobnicate",
    "files \"has space\"",
];

/// A valid container body.
fn valid_body(rng: &mut Rng) -> Vec<String> {
    let mut lines = Vec::new();
    for options in SINGLE {
        if rng.below(2) == 0 {
            lines.push(rng.pick(options).to_string());
        }
    }
    for _ in 0..rng.below(6) {
        let line = rng.pick(REPEATABLE);
        lines.push(line.to_string());
        let is_program = line.starts_with("run") || line.starts_with("spawn");
        if is_program && rng.below(2) == 0 {
            lines.push(rng.pick(EXPECTS).to_string());
        }
    }
    lines
}

/// Damages a body so that it is certainly invalid: sometimes garbles a
/// line, then inserts a known-bad line somewhere (after garbling, so the
/// bad line stays bad).
fn damage(rng: &mut Rng, body: &mut Vec<String>) {
    if !body.is_empty() && rng.below(2) == 0 {
        let index = rng.below(body.len());
        garble(rng, &mut body[index]);
    }
    let at = rng.below(body.len() + 1);
    body.insert(at, rng.pick(BAD).to_string());
}

/// Up to three random byte-level edits (never producing a newline).
fn garble(rng: &mut Rng, line: &mut String) {
    let mut bytes = line.clone().into_bytes();
    for _ in 0..1 + rng.below(3) {
        let byte = [b'"', b'#', b'\\', b'=', b' ', b'x', b'9', 0, 0xff][rng.below(9)];
        let at = rng.below(bytes.len() + 1);
        match rng.below(3) {
            0 => bytes.insert(at, byte),
            1 if at < bytes.len() => bytes[at] = byte,
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    *line = String::from_utf8_lossy(&bytes).into_owned();
}

/// One generated manifest: its text and the containers that must parse.
fn generate(rng: &mut Rng) -> (String, Vec<ContainerSpec>) {
    let mut text = String::new();
    let mut line = 0;
    let mut expected = Vec::new();
    let mut push = |text: &mut String, content: &str| {
        text.push_str(content);
        text.push('\n');
        line += 1;
        line
    };
    if rng.below(4) == 0 {
        push(&mut text, "mode ipc");
    }
    for index in 0..rng.below(8) {
        let name = format!("c{index}");
        let container_line = push(&mut text, &format!("container {name}"));
        let mut body = valid_body(rng);
        let damaged = rng.below(3) == 0;
        if damaged {
            damage(rng, &mut body);
        }
        for body_line in &body {
            push(&mut text, body_line);
        }
        if !damaged {
            let alone = parse(&format!("container {name}\n{}", body.join("\n")));
            let mut spec = alone.containers[0].clone();
            spec.line = container_line;
            expected.push(spec);
        }
    }
    (text, expected)
}

#[test]
fn undamaged_containers_always_survive() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..5000 {
        let (text, expected) = generate(&mut rng);
        let manifest = parse(&text);
        assert_eq!(manifest.containers, expected, "round {round}:\n{text}");
    }
}

#[test]
fn damaged_containers_are_reported() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut body = valid_body(&mut rng);
        damage(&mut rng, &mut body);
        let text = format!("container d\n{}\ncontainer ok\n", body.join("\n"));
        let manifest = parse(&text);
        assert!(!manifest.errors.is_empty(), "{text}");
        assert!(manifest.container("d").is_none(), "{text}");
        assert!(manifest.container("ok").is_some(), "{text}");
        for error in &manifest.errors {
            assert!(error.line >= 2 && error.line <= body.len() + 1, "{text}");
            assert_eq!(error.container.as_deref(), Some("d"));
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(7);
    let alphabet = b"container mode run spawn expect env memory files threads \"\\#=\n\r\t 0123456789KMG/-_abcxyz\xff\xc3\0";
    for _ in 0..5000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let manifest = parse_bytes(&bytes);
        for error in &manifest.errors {
            assert!(error.line >= 1 && !error.reason.is_empty());
        }
        let mut names: Vec<_> = manifest.containers.iter().map(|c| &c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), manifest.containers.len(), "names are unique");
    }
}

#[test]
fn garbled_valid_manifests_never_panic() {
    let mut rng = Rng(99);
    for _ in 0..3000 {
        let (text, _) = generate(&mut rng);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for _ in 0..rng.below(5) {
            if !lines.is_empty() {
                let index = rng.below(lines.len());
                garble(&mut rng, &mut lines[index]);
            }
        }
        let manifest = parse(&lines.join("\n"));
        assert!(manifest.containers.len() <= lines.len());
    }
}
