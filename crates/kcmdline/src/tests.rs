//! Host tests for the command-line parser: every option, bad values, unknown
//! options, duplicates, whitespace, image paths and diagnostics overflow.

use super::*;

fn problems(line: &str) -> Vec<(String, Problem)> {
    let (_, diagnostics) = parse(line);
    diagnostics
        .iter()
        .map(|d| (d.word.to_string(), d.problem))
        .collect()
}

#[test]
fn empty_and_blank_lines_give_defaults() {
    for line in ["", "   ", "\t\n  \r"] {
        let (options, diagnostics) = parse(line);
        assert_eq!(options, Options::default());
        assert!(diagnostics.is_empty());
        assert_eq!(diagnostics.len(), 0);
    }
}

#[test]
fn defaults_match_table() {
    let options = Options::default();
    assert_eq!(options.loglevel, LogLevel::Info);
    assert_eq!(options.timer_hz, 100);
    assert_eq!(options.test_filter, None);
    assert_eq!(options.test_inject, Inject::None);
    assert_eq!(options.mem_punch, 0);
    assert_eq!(options.mem_limit, None);
    assert_eq!(options.image_path, None);
}

#[test]
fn loglevel_all_values() {
    let cases = [
        ("error", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("trace", LogLevel::Trace),
    ];
    for (text, level) in cases {
        let line = format!("loglevel={text}");
        let (options, diagnostics) = parse(&line);
        assert_eq!(options.loglevel, level);
        assert!(diagnostics.is_empty());
        assert_eq!(level.to_string(), text);
    }
    assert!(LogLevel::Error < LogLevel::Trace);
}

#[test]
fn loglevel_bad_value_keeps_default() {
    let (options, diagnostics) = parse("loglevel=loud");
    assert_eq!(options.loglevel, LogLevel::Info);
    assert_eq!(
        diagnostics.as_slice(),
        &[Diagnostic {
            word: "loglevel=loud",
            problem: Problem::BadValue {
                expected: LogLevel::EXPECTED
            }
        }]
    );
    assert_eq!(parse("loglevel=DEBUG").0.loglevel, LogLevel::Info);
}

#[test]
fn timer_hz_range() {
    assert_eq!(parse("timer_hz=1").0.timer_hz, 1);
    assert_eq!(parse("timer_hz=10000").0.timer_hz, 10000);
    assert_eq!(parse("timer_hz=250").0.timer_hz, 250);
    for bad in [
        "0",
        "10001",
        "-5",
        "+5",
        "1e3",
        "abc",
        "99999999999999999999999",
        "1_0",
    ] {
        let line = format!("timer_hz={bad}");
        let (options, diagnostics) = parse(&line);
        assert_eq!(options.timer_hz, 100, "{bad}");
        assert!(
            matches!(
                diagnostics.as_slice().first(),
                Some(Diagnostic {
                    problem: Problem::BadValue { .. },
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn test_filter_and_selection() {
    let (options, diagnostics) = parse("test=ipc::");
    assert!(diagnostics.is_empty());
    assert_eq!(options.test_filter, Some("ipc::"));
    assert!(options.test_selected("ipc::fast_path"));
    assert!(!options.test_selected("memory::frames"));
    assert!(Options::default().test_selected("anything"));
    // The value may itself contain '='.
    assert_eq!(parse("test=a=b").0.test_filter, Some("a=b"));
}

#[test]
fn test_inject_all_values() {
    let cases = [
        ("none", Inject::None),
        ("fail", Inject::Fail),
        ("panic", Inject::Panic),
        ("triple_fault", Inject::TripleFault),
        ("hang", Inject::Hang),
        ("exception", Inject::Exception),
    ];
    for (text, inject) in cases {
        let line = format!("test.inject={text}");
        let (options, diagnostics) = parse(&line);
        assert_eq!(options.test_inject, inject);
        assert!(diagnostics.is_empty());
        assert_eq!(inject.to_string(), text);
    }
    let (options, diagnostics) = parse("test.inject=explode");
    assert_eq!(options.test_inject, Inject::None);
    assert_eq!(diagnostics.len(), 1);
}

#[test]
fn mem_punch_range() {
    assert_eq!(parse("mem.punch=0").0.mem_punch, 0);
    assert_eq!(parse("mem.punch=4096").0.mem_punch, 4096);
    assert_eq!(parse("mem.punch=17").0.mem_punch, 17);
    let (options, diagnostics) = parse("mem.punch=4097");
    assert_eq!(options.mem_punch, 0);
    assert_eq!(diagnostics.len(), 1);
}

#[test]
fn mem_limit_sizes() {
    let cases = [
        ("64M", 64 << 20),
        ("64m", 64 << 20),
        ("1G", 1 << 30),
        ("4096K", 4096 << 10),
        ("2T", 2 << 40),
        ("123456", 123456),
    ];
    for (text, bytes) in cases {
        let line = format!("mem.limit={text}");
        let (options, diagnostics) = parse(&line);
        assert_eq!(options.mem_limit, Some(bytes), "{text}");
        assert!(diagnostics.is_empty());
    }
    for bad in ["0", "0M", "M", "12X", "1.5G", "99999999999T", "-1G", "1GB"] {
        let line = format!("mem.limit={bad}");
        let (options, diagnostics) = parse(&line);
        assert_eq!(options.mem_limit, None, "{bad}");
        assert_eq!(diagnostics.len(), 1, "{bad}");
    }
}

#[test]
fn parse_size_edges() {
    assert_eq!(parse_size(""), None);
    assert_eq!(parse_size("K"), None);
    assert_eq!(parse_size("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_size("18446744073709551616"), None);
    assert_eq!(parse_size("16777216T"), None);
    assert_eq!(parse_size("16777215T"), Some(16777215 << 40));
    assert_eq!(parse_size("1é"), None);
}

#[test]
fn unknown_options_and_flags() {
    assert_eq!(
        problems("foo=1 quiet /late/path"),
        vec![
            ("foo=1".to_string(), Problem::UnknownOption),
            ("quiet".to_string(), Problem::UnknownOption),
            ("/late/path".to_string(), Problem::UnknownOption),
        ]
    );
    // Option names are exact: no prefixes, no case folding.
    assert_eq!(problems("LOGLEVEL=info")[0].1, Problem::UnknownOption);
    assert_eq!(problems("log=info")[0].1, Problem::UnknownOption);
    assert_eq!(problems("=info")[0].1, Problem::UnknownOption);
}

#[test]
fn missing_values() {
    assert_eq!(
        problems("loglevel timer_hz= test mem.limit="),
        vec![
            ("loglevel".to_string(), Problem::MissingValue),
            ("timer_hz=".to_string(), Problem::MissingValue),
            ("test".to_string(), Problem::MissingValue),
            ("mem.limit=".to_string(), Problem::MissingValue),
        ]
    );
}

#[test]
fn duplicates_last_valid_wins() {
    let (options, diagnostics) = parse("loglevel=debug loglevel=trace");
    assert_eq!(options.loglevel, LogLevel::Trace);
    assert_eq!(
        diagnostics.as_slice(),
        &[Diagnostic {
            word: "loglevel=trace",
            problem: Problem::Duplicate
        }]
    );
    // A bad repeat is reported as bad and does not override.
    let (options, diagnostics) = parse("timer_hz=50 timer_hz=0");
    assert_eq!(options.timer_hz, 50);
    assert!(matches!(
        diagnostics.as_slice()[0].problem,
        Problem::BadValue { .. }
    ));
    // A bad first value does not count as "seen".
    let (options, diagnostics) = parse("timer_hz=0 timer_hz=50");
    assert_eq!(options.timer_hz, 50);
    assert_eq!(diagnostics.len(), 1);
}

#[test]
fn image_path_first_word_only() {
    let (options, diagnostics) = parse("  /boot/kernel.elf   loglevel=debug  ");
    assert_eq!(options.image_path, Some("/boot/kernel.elf"));
    assert_eq!(options.loglevel, LogLevel::Debug);
    assert!(diagnostics.is_empty());
    let (options, _) = parse("loglevel=debug /boot/kernel.elf");
    assert_eq!(options.image_path, None);
}

#[test]
fn whole_line_with_everything() {
    let line = "/boot/bulkhead\tloglevel=warn timer_hz=1000\n test=sched \
                test.inject=hang mem.punch=64 mem.limit=512M pcid.limit=8";
    let (options, diagnostics) = parse(line);
    assert!(diagnostics.is_empty(), "{diagnostics}");
    assert_eq!(
        options,
        Options {
            image_path: Some("/boot/bulkhead"),
            loglevel: LogLevel::Warn,
            timer_hz: 1000,
            test_filter: Some("sched"),
            test_inject: Inject::Hang,
            mem_punch: 64,
            mem_limit: Some(512 << 20),
            pcid_limit: 8,
        }
    );
}

#[test]
fn diagnostics_overflow_is_counted() {
    let words: Vec<String> = (0..40).map(|i| format!("bogus{i}")).collect();
    let line = words.join(" ");
    let (_, diagnostics) = parse(&line);
    assert_eq!(diagnostics.len(), MAX_DIAGNOSTICS);
    assert_eq!(diagnostics.dropped(), 40 - MAX_DIAGNOSTICS);
    assert!(!diagnostics.is_empty());
    assert_eq!(diagnostics.as_slice()[15].word, "bogus15");
    let text = diagnostics.to_string();
    assert_eq!(text.lines().count(), MAX_DIAGNOSTICS + 1);
    assert!(text.ends_with("... and 24 more kernel command-line problems not shown\n"));
}

#[test]
fn diagnostic_messages() {
    let (_, diagnostics) = parse("foo=1 loglevel=x timer_hz mem.punch=1 mem.punch=2");
    let messages: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        messages[0],
        "unknown kernel command-line option 'foo=1' (known: loglevel, timer_hz, \
         test, test.inject, mem.punch, mem.limit, pcid.limit)"
    );
    assert_eq!(
        messages[1],
        "bad value in kernel command-line option 'loglevel=x': expected one of \
         error, warn, info, debug, trace; option ignored"
    );
    assert_eq!(
        messages[2],
        "kernel command-line option 'timer_hz' needs a value: timer_hz=N"
    );
    assert_eq!(
        messages[3],
        "kernel command-line option 'mem.punch=2' repeats an earlier one; the last one wins"
    );
}

#[test]
fn table_is_consistent() {
    for (index, info) in OPTIONS.iter().enumerate() {
        assert_eq!(info.key as usize, index);
        assert_eq!(table::Key::from_name(info.name), Some(info.key));
        assert!(!info.help.is_empty());
        let line = info.to_string();
        assert!(line.starts_with(info.name));
        assert!(line.contains("default: "));
    }
    assert_eq!(OPTIONS.len(), 7);
}

#[test]
fn never_panics_on_odd_input() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let alphabet = b"=. /\tlogevtimr_hz0123456789KMGx\xff";
    for _ in 0..2000 {
        let mut bytes = Vec::new();
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let line = String::from_utf8_lossy(&bytes);
        let (_, diagnostics) = parse(&line);
        let _ = diagnostics.to_string();
    }
}

#[test]
fn user_space_options_pass_through() {
    let (_, diags) = parse("root.selftest=1 user.exit=1 root. rooted=1");
    let words: Vec<&str> = diags.iter().map(|d| d.word).collect();
    assert_eq!(words, ["root.", "rooted=1"]);
}
