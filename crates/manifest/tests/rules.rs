//! Every rule of the manifest format, and every error.

use bulkhead_manifest::*;

/// Parses `text` and returns the error messages as displayed.
fn errors(text: &str) -> Vec<String> {
    parse(text).errors.iter().map(ToString::to_string).collect()
}

/// Parses a one-container manifest whose body is `body` and expects
/// exactly one error, on the body's last line, with a reason containing
/// `needle`.
fn body_error(body: &str, needle: &str) {
    let manifest = parse(&format!("container c\n{body}\n"));
    assert!(manifest.containers.is_empty(), "{body}: container skipped");
    assert_eq!(manifest.errors.len(), 1, "{body}: {:?}", manifest.errors);
    let error = &manifest.errors[0];
    assert_eq!(error.line, 1 + body.lines().count(), "{body}");
    assert_eq!(error.container.as_deref(), Some("c"));
    assert!(error.reason.contains(needle), "{body}: {}", error.reason);
}

const FULL: &str = r#"
# A full example.
container alpha            # the first container
    mode sci-sticky
memory 64M
files alpha-files
threads 16
env HOME=/
env GREETING="hello world"
run /bin/hello a "b c"
expect 0
spawn /bin/worker
expect signal 11

container beta
"#;

#[test]
fn a_full_manifest_parses() {
    let manifest = parse(FULL);
    assert!(manifest.errors.is_empty(), "{:?}", manifest.errors);
    let alpha = manifest.container("alpha").unwrap();
    assert_eq!(alpha.line, 3);
    assert_eq!(alpha.mode, Mode::SciSticky);
    assert_eq!(alpha.memory_bytes, 64 << 20);
    assert_eq!(alpha.files.as_deref(), Some("alpha-files"));
    assert_eq!(alpha.threads, 16);
    assert_eq!(alpha.env, ["HOME=/", "GREETING=hello world"]);
    let hello = &alpha.programs[0];
    assert_eq!(hello.path, "/bin/hello");
    assert_eq!(hello.argv, ["/bin/hello", "a", "b c"]);
    assert!(hello.wait);
    assert_eq!(hello.expect, Some(Expect::Exit(0)));
    let worker = &alpha.programs[1];
    assert!(!worker.wait);
    assert_eq!(worker.expect, Some(Expect::Signal(11)));
}

#[test]
fn defaults() {
    let manifest = parse("container beta");
    assert_eq!(manifest.containers, [ContainerSpec::new("beta", 1)]);
    let beta = &manifest.containers[0];
    assert_eq!(beta.mode, Mode::Ipc);
    assert_eq!(beta.memory_bytes, 16 << 20);
    assert_eq!(beta.files, None);
    assert_eq!(beta.threads, 32);
    assert!(beta.env.is_empty() && beta.programs.is_empty());
}

#[test]
fn empty_and_comment_only_texts() {
    assert_eq!(parse(""), Manifest::default());
    assert_eq!(parse("\n\n   \n# x\n\t# y\r\n"), Manifest::default());
}

#[test]
fn crlf_line_endings() {
    let manifest = parse("container a\r\nmode direct\r\nrun /bin/x y\r\n");
    assert!(manifest.errors.is_empty());
    assert_eq!(manifest.containers[0].mode, Mode::Direct);
    assert_eq!(manifest.containers[0].programs[0].argv, ["/bin/x", "y"]);
}

#[test]
fn modes() {
    for mode in Mode::ALL {
        let manifest = parse(&format!("container a\nmode {}", mode.name()));
        assert_eq!(manifest.containers[0].mode, mode);
        assert_eq!(mode.name().parse::<Mode>(), Ok(mode));
        assert_eq!(mode.to_string(), mode.name());
    }
    assert_eq!("fast".parse::<Mode>(), Err(UnknownMode));
    assert_eq!(
        errors("container a\n\n\n\n\n\nmode fast"),
        ["line 7: unknown mode 'fast' (expected ipc, direct, sci or sci-sticky)"]
    );
    body_error("mode IPC", "unknown mode");
    body_error("mode", "needs a value");
    body_error("mode ipc ipc", "listed twice");
    body_error("mode ipc sci fast", "unknown mode");
    body_error("mode ipc\nmode sci", "twice");
}

#[test]
fn several_modes_make_one_copy_per_mode() {
    let manifest = parse(
        "container a\nmode ipc direct sci sci-sticky\nfiles f\nrun /bin/x\nexpect 3\ncontainer b",
    );
    assert!(manifest.errors.is_empty(), "{:?}", manifest.errors);
    let names: Vec<(&str, Mode)> = manifest
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.mode))
        .collect();
    assert_eq!(
        names,
        [
            ("a", Mode::Ipc),
            ("a-direct", Mode::Direct),
            ("a-sci", Mode::Sci),
            ("a-sci-sticky", Mode::SciSticky),
            ("b", Mode::Ipc),
        ]
    );
    for c in &manifest.containers[..4] {
        assert_eq!(c.files.as_deref(), Some("f"));
        assert_eq!(c.programs.len(), 1);
        assert_eq!(c.programs[0].expect, Some(Expect::Exit(3)));
    }
    // A copy whose name is taken is an error; the others start.
    let manifest = parse("container a-sci\ncontainer a\nmode direct sci");
    assert_eq!(manifest.containers.len(), 2, "{:?}", manifest.containers);
    assert_eq!(manifest.errors.len(), 1);
    assert!(
        manifest.errors[0].reason.contains("'a-sci'"),
        "{}",
        manifest.errors[0]
    );
}

#[test]
fn memory_sizes() {
    let cases = [
        ("1M", 1 << 20),
        ("1m", 1 << 20),
        ("1024K", 1 << 20),
        ("4G", 4 << 30),
        ("1048576", 1 << 20),
        ("3000k", 3000 << 10),
    ];
    for (text, bytes) in cases {
        let manifest = parse(&format!("container a\nmemory {text}"));
        assert_eq!(manifest.containers[0].memory_bytes, bytes, "{text}");
    }
    for text in ["1023K", "0", "5G", "4097M", "1048575"] {
        body_error(&format!("memory {text}"), "out of range");
    }
    for text in [
        "",
        "M",
        "-1M",
        "1.5M",
        "1T",
        "16MB",
        "0x100000",
        "99999999999999999999G",
    ] {
        let line = format!("memory \"{text}\"");
        body_error(&line, "bad memory size");
    }
    body_error("memory 18446744073709551615G", "bad memory size");
    body_error("memory 1M\nmemory 2M", "twice");
}

#[test]
fn files_threads_env() {
    body_error("files", "needs a value");
    body_error("files \"a b\"", "invalid module name");
    body_error(&format!("files {}", "m".repeat(65)), "invalid module name");
    assert!(parse(&format!("container a\nfiles {}", "m".repeat(64)))
        .errors
        .is_empty());
    body_error("files a\nfiles b", "twice");
    for bad in ["0", "1025", "-1", "x", "4294967296"] {
        body_error(&format!("threads {bad}"), "bad thread limit");
    }
    assert_eq!(
        parse("container a\nthreads 1024").containers[0].threads,
        1024
    );
    body_error("threads 4\nthreads 5", "twice");
    for bad in ["HOME", "=value", "\"\""] {
        body_error(&format!("env {bad}"), "invalid environment entry");
    }
    body_error("env A=1 B=2", "exactly one value");
    assert_eq!(parse("container a\nenv A=").containers[0].env, ["A="]);
    assert_eq!(parse("container a\nenv A=b=c").containers[0].env, ["A=b=c"]);
}

#[test]
fn programs() {
    body_error("run", "needs a program path");
    body_error("spawn hello", "must be absolute");
    body_error("run \"\"", "must be absolute");
    let args32 = format!("run /bin/x{}", " a".repeat(31));
    let manifest = parse(&format!("container a\n{args32}"));
    assert_eq!(manifest.containers[0].programs[0].argv.len(), 32);
    body_error(&format!("{args32} b"), "too many arguments");
    body_error(
        &format!("run /bin/x{}", " a".repeat(100)),
        "too many arguments",
    );
    body_error("run /bin/x \"unterminated", "unterminated quote");
    let quoted = parse(
        r#"container a
run /bin/echo "say \"hi\"" "back\\slash" a#b # comment"#,
    );
    assert_eq!(
        quoted.containers[0].programs[0].argv,
        ["/bin/echo", "say \"hi\"", "back\\slash", "a#b"]
    );
}

#[test]
fn slots_set_the_server_table_size() {
    let m = bulkhead_manifest::parse("container a\nslots 24\n");
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    assert_eq!(m.containers[0].slots, 24);
    let d = bulkhead_manifest::parse("container a\n");
    assert_eq!(d.containers[0].slots, bulkhead_manifest::DEFAULT_SLOTS);
    for bad in ["15", "4097", "x"] {
        let m = bulkhead_manifest::parse(&format!("container a\nslots {bad}\n"));
        assert!(
            m.errors[0].reason.contains("bad slot count"),
            "{:?}",
            m.errors
        );
    }
    let twice = bulkhead_manifest::parse("container a\nslots 20\nslots 30\n");
    assert_eq!(twice.errors.len(), 1);
}

#[test]
fn refused_is_an_expectation() {
    let m = bulkhead_manifest::parse("container a\nrun /bin/x\nexpect refused\n");
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    assert_eq!(m.containers[0].programs[0].expect, Some(Expect::Refused));
}

#[test]
fn expectations() {
    body_error("expect 0", "without a preceding run or spawn");
    body_error("run /bin/x\nexpect 0\nexpect 1", "already has an 'expect'");
    for bad in ["256", "-1", "x", ""] {
        body_error(&format!("run /bin/x\nexpect \"{bad}\""), "bad exit status");
    }
    for bad in ["0", "65", "x"] {
        body_error(
            &format!("run /bin/x\nexpect signal {bad}"),
            "bad signal number",
        );
    }
    body_error("run /bin/x\nexpect", "takes a status");
    body_error("run /bin/x\nexpect 1 2", "takes a status");
    body_error("run /bin/x\nexpect kill 9", "takes a status");
    let manifest = parse("container a\nrun /bin/x\nexpect 255\nspawn /bin/y\nexpect signal 64");
    let programs = &manifest.containers[0].programs;
    assert_eq!(programs[0].expect, Some(Expect::Exit(255)));
    assert_eq!(programs[1].expect, Some(Expect::Signal(64)));
}

#[test]
fn container_names() {
    for good in ["a", "abc-123_x", "fifteen-chars-x", "0"] {
        assert_eq!(parse(&format!("container {good}")).containers[0].name, good);
    }
    for bad in ["Alpha", "sixteen-chars-xx", "a.b", "\"\"", "\"a b\"", "é"] {
        let manifest = parse(&format!("container {bad}\nrun /bin/x\ncontainer ok"));
        assert_eq!(manifest.containers.len(), 1, "{bad}");
        assert_eq!(manifest.containers[0].name, "ok");
        assert_eq!(manifest.errors.len(), 1, "{bad}");
        assert!(manifest.errors[0].reason.contains("invalid container name"));
        assert_eq!(manifest.errors[0].container, None);
    }
    assert!(errors("container")[0].contains("needs a value"));
    assert!(errors("container a b")[0].contains("exactly one value"));
}

#[test]
fn duplicate_container_is_skipped_and_first_kept() {
    let manifest = parse("container a\nrun /bin/one\ncontainer a\nrun /bin/two\n");
    assert_eq!(manifest.containers.len(), 1);
    assert_eq!(manifest.containers[0].programs[0].path, "/bin/one");
    assert_eq!(
        errors("container a\ncontainer a"),
        ["line 2: duplicate container name 'a'"]
    );
    assert_eq!(manifest.errors[0].container.as_deref(), Some("a"));
}

#[test]
fn directives_before_any_container() {
    let manifest = parse("mode ipc\nbogus 1\ncontainer a\n");
    assert_eq!(manifest.containers.len(), 1);
    assert_eq!(manifest.errors.len(), 2);
    assert_eq!(
        manifest.errors[0].to_string(),
        "line 1: 'mode' before any 'container' line (it belongs to no container)"
    );
    assert!(manifest.errors[1]
        .reason
        .starts_with("unknown directive 'bogus'"));
    assert!(manifest.errors.iter().all(|e| e.container.is_none()));
}

#[test]
fn unknown_directive_names_it() {
    body_error("memroy 16M", "unknown directive 'memroy'");
    let long = "x".repeat(1000);
    let manifest = parse(&format!("container a\n{long}"));
    assert!(manifest.errors[0].reason.len() < 200, "quoted text is cut");
}

#[test]
fn a_bad_line_skips_only_its_container() {
    let text = "container a\nrun /bin/a\ncontainer b\nmode fast\nrun /bin/b\ncontainer c\n";
    let manifest = parse(text);
    let names: Vec<_> = manifest
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(manifest.errors.len(), 1);
    assert_eq!(manifest.errors[0].line, 4);
    assert_eq!(manifest.errors[0].container.as_deref(), Some("b"));
}

#[test]
fn every_error_of_a_container_is_reported() {
    let manifest = parse("container a\nmode x\nmemory 0\nthreads 0\n");
    let lines: Vec<_> = manifest.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4]);
}

#[test]
fn long_lines_and_invalid_utf8() {
    let long = format!("container a\nrun /bin/x {}\ncontainer b", "y".repeat(5000));
    let manifest = parse(&long);
    assert_eq!(manifest.containers.len(), 1);
    assert_eq!(
        manifest.errors[0].to_string(),
        "line 2: line longer than 4096 bytes"
    );
    let bytes = b"container a\nrun /bin/\xff\ncontainer b\nrun /bin/ok\n";
    let manifest = parse_bytes(bytes);
    assert_eq!(manifest.containers.len(), 1);
    assert_eq!(manifest.containers[0].name, "b");
    assert_eq!(
        manifest.errors[0].to_string(),
        "line 2: line is not valid UTF-8"
    );
    assert_eq!(manifest.errors[0].container.as_deref(), Some("a"));
}

#[test]
fn nul_bytes_are_rejected_in_arguments_and_env() {
    body_error("run /bin/x a\0b", "NUL");
    body_error("env A=\0", "invalid environment entry");
}
