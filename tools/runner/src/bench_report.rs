//! The benchmark protocol and its outputs, all pure: parsing the guest's
//! `bench:` and `bench-env:` lines, checking them, and writing the
//! Markdown table and the JSON file.
//!
//! Guest lines (format of `crates/measure`):
//!
//! ```text
//! bench: NAME VALUE UNIT [NOTE ...]   NAME of [A-Za-z0-9._-], VALUE a decimal
//!                                     number, UNIT a word, NOTE free text
//! bench-env: KEY VALUE ...            KEY of [a-z0-9._-], VALUE free text
//! ```
//!
//! [`collect`] rejects a garbled line, a repeated name or key, a missing
//! feature line (PCID, INVPCID, SMEP, SMAP, XSAVE: `yes` or `no`), a missing
//! CPU model or accelerator, a guest that names another accelerator than
//! the runner started, a unit that contradicts the counter (`cycles` under
//! icount, `instructions` under KVM), and a run without results.
//!
//! **Bochs.** Under Bochs ([`Engine::Bochs`]) the guest sees no hypervisor
//! (it reports accelerator `none`) and so labels its counter figures
//! `cycles`; only the runner knows better. With `clock: sync=none` Bochs'
//! RDTSC returns its virtual tick count, which advances by one per emulated
//! instruction, so [`collect`] relabels those figures `instructions` and
//! prefixes every note with [`BOCHS_LABEL`]: they are emulator figures, not
//! hardware cycles, and blind to TLB and cache costs (a CR3 load with the
//! no-flush bit costs what one without it costs). The guest's own guesses
//! stay in the JSON as `guest_accelerator` and `guest_unit`.
//!
//! JSON shape ([`to_json`]):
//!
//! ```text
//! { "results": [ {"name": "syscall.null.native", "value": 123,
//!                 "unit": "instructions", "note": "(...)"}, ... ],
//!   "env": { "accelerator": "tcg", "icount": "shift=0,sleep=off",
//!            "counter": "instructions", "counter_note": "...",
//!            "qemu_cpu": "max", "guest_accelerator": "tcg",
//!            "cpu_vendor": "...", "cpu_model": "...", "unit": "instructions",
//!            "features": {"PCID": false, "INVPCID": false, "SMEP": true,
//!                         "SMAP": true, "XSAVE": true} } }
//! ```
//!
//! `bulkhead-runner bench` adds a `"modes"` object after `"env"`
//! ([`to_json_with`], shape in `crate::mode_report`), then a `"scaling"`
//! object when there are `scaling.` results (`crate::scaling_report`).
//!
//! Under Bochs `accelerator` is `"bochs"`, `icount` is `false`, `qemu_cpu`
//! gives way to `bochs_cpu`, `bochs_ips` and `bochs_clock`, a `figures` key
//! says they are emulator figures, and the guest's `unit` is `guest_unit`.

use crate::bochs;
use crate::cli::Accel;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Prefix of a result line.
pub const BENCH_PREFIX: &str = "bench:";
/// Prefix of an environment line.
pub const ENV_PREFIX: &str = "bench-env:";
/// The icount setting `make bench` uses for TCG: one RDTSC tick per
/// executed instruction, no sleeping when idle.
pub const ICOUNT: &str = "shift=0,sleep=off";
/// The unit of RDTSC under icount.
pub const INSTRUCTIONS: &str = "instructions";
/// The unit of RDTSC on KVM (and hardware).
pub const CYCLES: &str = "cycles";
/// What every Bochs note starts with.
pub const BOCHS_LABEL: &str = "[Bochs emulator figure, not hardware]";
/// What the Bochs figures are: the JSON's `figures` key.
pub const BOCHS_FIGURES: &str =
    "Bochs emulator figures: emulated instructions, not hardware cycles";
/// The Markdown heading of a Bochs run.
pub const BOCHS_HEADING: &str =
    "## Bulkhead benchmarks under Bochs: emulator figures, not hardware cycles";

/// Feature keys the guest must report, with the spelling used in the
/// outputs.
pub const FEATURES: [(&str, &str); 5] = [
    ("pcid", "PCID"),
    ("invpcid", "INVPCID"),
    ("smep", "SMEP"),
    ("smap", "SMAP"),
    ("xsave", "XSAVE"),
];
/// Other keys the guest must report.
const REQUIRED_KEYS: [&str; 2] = ["cpu.model", "accelerator"];
/// The guest key naming the accelerator CPUID reports.
const GUEST_ACCELERATOR_KEY: &str = "accelerator";

/// One benchmark result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    /// The number exactly as printed (decimal digits, maybe a fraction).
    pub value: String,
    pub unit: String,
    pub note: String,
}

/// What ran the guest: QEMU with an accelerator, or Bochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// QEMU's TCG, always with `-icount` ([`ICOUNT`]).
    Tcg,
    /// QEMU with KVM, no icount.
    Kvm,
    /// Bochs with the runner's bochsrc (`crate::bochs`).
    Bochs,
}

impl Engine {
    /// `tcg`, `kvm` or `bochs`: the JSON's `accelerator`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Tcg => Accel::Tcg.name(),
            Engine::Kvm => Accel::Kvm.name(),
            Engine::Bochs => "bochs",
        }
    }
}

impl From<Accel> for Engine {
    fn from(accel: Accel) -> Self {
        match accel {
            Accel::Tcg => Engine::Tcg,
            Accel::Kvm => Engine::Kvm,
        }
    }
}

/// How the runner started the emulator (it knows this; the guest only
/// guesses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub engine: Engine,
    /// QEMU's `-cpu` model, or Bochs' `cpu: model=`.
    pub cpu: String,
}

impl Host {
    /// QEMU with `accel` and `-cpu qemu_cpu`.
    pub fn qemu(accel: Accel, qemu_cpu: &str) -> Self {
        Host {
            engine: accel.into(),
            cpu: qemu_cpu.to_string(),
        }
    }

    /// Bochs with the runner's bochsrc.
    pub fn bochs() -> Self {
        Host {
            engine: Engine::Bochs,
            cpu: bochs::CPU_MODEL.to_string(),
        }
    }

    /// Whether `-icount` was on: always for TCG, never for KVM or Bochs.
    pub fn icount(&self) -> bool {
        self.engine == Engine::Tcg
    }

    /// The unit RDTSC counts in this run.
    pub fn counter_unit(&self) -> &'static str {
        match self.engine {
            Engine::Tcg | Engine::Bochs => INSTRUCTIONS,
            Engine::Kvm => CYCLES,
        }
    }

    /// The counter unit the guest prints, when the runner must relabel it:
    /// under Bochs the guest sees no hypervisor and says `cycles`.
    fn guest_counter_unit(&self) -> Option<&'static str> {
        (self.engine == Engine::Bochs).then_some(CYCLES)
    }

    /// A counter unit the guest must not print in this run.
    fn wrong_unit(&self) -> Option<&'static str> {
        match self.engine {
            Engine::Tcg => Some(CYCLES),
            Engine::Kvm => Some(INSTRUCTIONS),
            // The guest cannot tell Bochs from hardware, and
            // `instructions` would be a TCG guest, which the accelerator
            // check catches.
            Engine::Bochs => None,
        }
    }

    /// One sentence on what the figures are.
    pub fn counter_note(&self) -> &'static str {
        match self.engine {
            Engine::Tcg => {
                "RDTSC under QEMU TCG with -icount shift=0,sleep=off counts executed guest \
                 instructions (a path length), not cycles; the figures repeat exactly run to run"
            }
            Engine::Kvm => {
                "RDTSC under QEMU KVM without icount counts real CPU cycles (TSC ticks), \
                 not instructions; the figures vary run to run"
            }
            Engine::Bochs => {
                "emulator figures, not hardware cycles: RDTSC under Bochs with clock: sync=none \
                 returns Bochs' virtual tick count, which advances by one per emulated \
                 instruction (ips=200000000 of them make an emulated second), so every figure \
                 is a path length in emulated instructions; TLB and cache costs do not show, \
                 and the figures repeat exactly run to run"
            }
        }
    }

    /// The note of a result as reported: under Bochs, [`BOCHS_LABEL`] first.
    fn label_note(&self, note: &str) -> String {
        match (self.engine, note.is_empty()) {
            (Engine::Bochs, true) => BOCHS_LABEL.to_string(),
            (Engine::Bochs, false) => format!("{BOCHS_LABEL} {note}"),
            _ => note.to_string(),
        }
    }
}

/// Everything a benchmark run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub host: Host,
    pub results: Vec<Record>,
    /// `bench-env:` pairs in the order printed.
    pub env: Vec<(String, String)>,
}

impl Report {
    /// The guest's value for `key`.
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `(name, on)` for each of [`FEATURES`] (validated by [`collect`]).
    pub fn features(&self) -> Vec<(&'static str, bool)> {
        FEATURES
            .iter()
            .map(|(key, name)| (*name, self.env_value(key) == Some("yes")))
            .collect()
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

fn is_decimal(value: &str) -> bool {
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Splits off the first whitespace-separated word.
fn next_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    Some(match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    })
}

/// Parses the text after `bench:`.
pub fn parse_result(rest: &str) -> Result<Record, String> {
    let (name, rest) = next_word(rest).ok_or("no name")?;
    let (value, rest) = next_word(rest).ok_or_else(|| format!("'{name}' has no value"))?;
    let (unit, note) = next_word(rest).ok_or_else(|| format!("'{name}' has no unit"))?;
    if !name.chars().all(is_name_char) {
        return Err(format!("bad name '{name}'"));
    }
    if !is_decimal(value) {
        return Err(format!(
            "'{name}' has a value that is not a number: '{value}'"
        ));
    }
    if !unit.chars().all(|c| c.is_ascii_alphabetic() || c == '/') {
        return Err(format!("'{name}' has a bad unit '{unit}'"));
    }
    Ok(Record {
        name: name.to_string(),
        value: value.to_string(),
        unit: unit.to_string(),
        note: note.trim_end().to_string(),
    })
}

/// Parses the text after `bench-env:`.
pub fn parse_env(rest: &str) -> Result<(String, String), String> {
    let (key, value) = next_word(rest).ok_or("no key")?;
    if !key.chars().all(is_key_char) {
        return Err(format!("bad key '{key}'"));
    }
    let value = value.trim_end();
    if value.is_empty() {
        return Err(format!("'{key}' has no value"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Checks one result against the run (names unique, unit matching the
/// counter) and labels it for the run: under Bochs the guest's `cycles`
/// become `instructions` and the note gets [`BOCHS_LABEL`].
fn check_result(
    mut record: Record,
    names: &mut BTreeSet<String>,
    host: &Host,
) -> Result<Record, String> {
    if !names.insert(record.name.clone()) {
        return Err(format!("'{}' reported twice", record.name));
    }
    if let Some(wrong) = host.wrong_unit().filter(|w| record.unit == *w) {
        return Err(format!(
            "'{}' is in {wrong}, but RDTSC counts {} in this run",
            record.name,
            host.counter_unit()
        ));
    }
    if host.guest_counter_unit() == Some(record.unit.as_str()) {
        record.unit = host.counter_unit().to_string();
    }
    record.note = host.label_note(&record.note);
    Ok(record)
}

/// Checks the environment once all lines are in.
fn check_env(env: &[(String, String)], host: &Host) -> Result<(), String> {
    let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    for (key, name) in FEATURES {
        match value(key) {
            Some("yes" | "no") => {}
            Some(other) => return Err(format!("{name} is '{other}', not yes or no")),
            None => return Err(format!("no 'bench-env: {key}' line: {name} use unknown")),
        }
    }
    for key in REQUIRED_KEYS {
        if value(key).is_none() {
            return Err(format!("no 'bench-env: {key}' line"));
        }
    }
    let guest = value(GUEST_ACCELERATOR_KEY).unwrap_or_default();
    let known = [Accel::Tcg.name(), Accel::Kvm.name()];
    if known.contains(&guest) && guest != host.engine.name() {
        return Err(format!(
            "the guest runs on {guest} but the runner started {}",
            host.engine.name()
        ));
    }
    Ok(())
}

/// A container's output line without the `[name] ` its syscall server
/// puts in front (the container benchmarks print from inside containers).
fn without_container_prefix(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('[') else {
        return line;
    };
    match rest.split_once("] ") {
        Some((name, text)) if !name.is_empty() && !name.contains(char::is_whitespace) => text,
        _ => line,
    }
}

/// Collects and checks the benchmark lines of a transcript (see the module
/// docs), also from inside containers (`[name] bench: ...`). Other lines
/// are ignored.
pub fn collect<S: AsRef<str>>(lines: &[S], host: &Host) -> Result<Report, String> {
    let mut report = Report {
        host: host.clone(),
        results: Vec::new(),
        env: Vec::new(),
    };
    let mut names = BTreeSet::new();
    for line in lines
        .iter()
        .map(|l| without_container_prefix(l.as_ref().trim()))
    {
        if let Some(rest) = line.strip_prefix(BENCH_PREFIX) {
            let record = parse_result(rest).map_err(|e| format!("garbled line '{line}': {e}"))?;
            report.results.push(check_result(record, &mut names, host)?);
        } else if let Some(rest) = line.strip_prefix(ENV_PREFIX) {
            let (key, value) =
                parse_env(rest).map_err(|e| format!("garbled line '{line}': {e}"))?;
            if report.env_value(&key).is_some() {
                return Err(format!("'bench-env: {key}' printed twice"));
            }
            report.env.push((key, value));
        }
    }
    if report.results.is_empty() {
        return Err("no 'bench:' result lines".to_string());
    }
    check_env(&report.env, host)?;
    Ok(report)
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The guest key naming the unit it believes RDTSC counts in.
const GUEST_UNIT_KEY: &str = "unit";

/// The JSON key for a guest `bench-env:` key. Under Bochs the guest's unit
/// is only its guess (`cycles`), so it is `guest_unit` there.
fn env_json_key(key: &str, host: &Host) -> String {
    if key == GUEST_ACCELERATOR_KEY {
        "guest_accelerator".to_string()
    } else if key == GUEST_UNIT_KEY && host.guest_counter_unit().is_some() {
        "guest_unit".to_string()
    } else {
        key.replace(['.', '-'], "_")
    }
}

/// The whole report as JSON (shape in the module docs), with a final
/// newline: [`to_json_with`] without more members (the runner always adds
/// `"modes"`, so only the tests use it).
#[cfg(test)]
pub fn to_json(report: &Report) -> String {
    to_json_with(report, &[])
}

/// [`to_json`] with more top-level members after `"env"`: each a key and
/// its JSON value (written to sit one level down, as
/// `crate::mode_report::to_json` does). `"results"` and `"env"` stay as
/// [`to_json`] writes them.
pub fn to_json_with(report: &Report, extra: &[(&str, String)]) -> String {
    let host = &report.host;
    let mut out = String::from("{\n  \"results\": [");
    for (i, r) in report.results.iter().enumerate() {
        let comma = if i + 1 < report.results.len() {
            ","
        } else {
            ""
        };
        let _ = write!(
            out,
            "\n    {{\"name\": {}, \"value\": {}, \"unit\": {}, \"note\": {}}}{comma}",
            json_string(&r.name),
            r.value,
            json_string(&r.unit),
            json_string(&r.note)
        );
    }
    out.push_str("\n  ],\n  \"env\": {");
    let icount = if host.icount() {
        json_string(ICOUNT)
    } else {
        "false".to_string()
    };
    let mut fields = vec![
        ("accelerator".to_string(), json_string(host.engine.name())),
        ("icount".to_string(), icount),
        ("counter".to_string(), json_string(host.counter_unit())),
        ("counter_note".to_string(), json_string(host.counter_note())),
    ];
    if host.engine == Engine::Bochs {
        fields.extend([
            ("figures".to_string(), json_string(BOCHS_FIGURES)),
            ("bochs_cpu".to_string(), json_string(&host.cpu)),
            ("bochs_ips".to_string(), bochs::IPS.to_string()),
            (
                "bochs_clock".to_string(),
                json_string(&format!("sync={}", bochs::CLOCK_SYNC)),
            ),
        ]);
    } else {
        fields.push(("qemu_cpu".to_string(), json_string(&host.cpu)));
    }
    let is_feature = |key: &str| FEATURES.iter().any(|(k, _)| *k == key);
    for (key, value) in report.env.iter().filter(|(k, _)| !is_feature(k)) {
        fields.push((env_json_key(key, host), json_string(value)));
    }
    let features: Vec<String> = report
        .features()
        .iter()
        .map(|(name, on)| format!("{}: {on}", json_string(name)))
        .collect();
    fields.push((
        "features".to_string(),
        format!("{{{}}}", features.join(", ")),
    ));
    for (i, (key, value)) in fields.iter().enumerate() {
        let comma = if i + 1 < fields.len() { "," } else { "" };
        let _ = write!(out, "\n    {}: {value}{comma}", json_string(key));
    }
    out.push_str("\n  }");
    for (key, value) in extra {
        let _ = write!(out, ",\n  {}: {value}", json_string(key));
    }
    out.push_str("\n}\n");
    out
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The report as Markdown: what the figures count, the CPU and its
/// features, then the table.
pub fn to_markdown(report: &Report) -> String {
    let host = &report.host;
    let mut out = match host.engine {
        Engine::Bochs => format!("{BOCHS_HEADING}\n\n"),
        Engine::Tcg | Engine::Kvm => String::from("## Bulkhead benchmarks\n\n"),
    };
    let _ = writeln!(out, "- Counter: {}.", host.counter_note());
    let machine = match host.engine {
        Engine::Tcg => format!("QEMU TCG, -icount {ICOUNT}, -cpu {}", host.cpu),
        Engine::Kvm => format!("QEMU KVM, no icount, -cpu {}", host.cpu),
        Engine::Bochs => format!(
            "Bochs, cpu: model={}, ips={}, clock: sync={}",
            host.cpu,
            bochs::IPS,
            bochs::CLOCK_SYNC
        ),
    };
    let _ = writeln!(
        out,
        "- Machine: {machine}; CPU {} ({}), guest sees accelerator {}.",
        report.env_value("cpu.model").unwrap_or("unknown"),
        report.env_value("cpu.vendor").unwrap_or("unknown vendor"),
        report.env_value(GUEST_ACCELERATOR_KEY).unwrap_or("unknown"),
    );
    let features: Vec<String> = report
        .features()
        .iter()
        .map(|(name, on)| format!("{name} {}", if *on { "yes" } else { "no" }))
        .collect();
    let _ = writeln!(out, "- CPU features in use: {}.", features.join(", "));
    out.push_str("\n| name | value | unit | note |\n|---|---:|---|---|\n");
    for r in &report.results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&r.name),
            r.value,
            cell(&r.unit),
            cell(&r.note)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcg() -> Host {
        Host::qemu(Accel::Tcg, "max")
    }

    const ENV: [&str; 8] = [
        "bench-env: accelerator tcg",
        "bench-env: unit instructions",
        "bench-env: cpu.model QEMU TCG CPU version 2.5+",
        "bench-env: pcid no",
        "bench-env: invpcid no",
        "bench-env: smep yes",
        "bench-env: smap yes",
        "bench-env: xsave yes",
    ];

    fn transcript(extra: &[&str]) -> Vec<String> {
        let mut lines = vec!["Bulkhead research microkernel".to_string()];
        lines.extend(ENV.iter().map(|s| s.to_string()));
        lines.push("bench: cr3.load.flush 1 instructions (mov cr3; no PCID)".to_string());
        lines.push("root: started bench (entry 0x401000)".to_string());
        lines.extend(extra.iter().map(|s| s.to_string()));
        lines
    }

    #[test]
    fn result_lines() {
        let r = parse_result(" syscall.null.native 213 instructions (a | b)  ").unwrap();
        assert_eq!(
            (
                r.name.as_str(),
                r.value.as_str(),
                r.unit.as_str(),
                r.note.as_str()
            ),
            ("syscall.null.native", "213", "instructions", "(a | b)")
        );
        let r = parse_result(" ipc.call 12.5 cycles").unwrap();
        assert_eq!((r.value.as_str(), r.note.as_str()), ("12.5", ""));
        assert!(parse_result("").unwrap_err().contains("no name"));
        assert!(parse_result(" x").unwrap_err().contains("no value"));
        assert!(parse_result(" x 3").unwrap_err().contains("no unit"));
        assert!(parse_result(" x -3 cycles")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_result(" x 3. cycles").is_err());
        assert!(parse_result(" x 0x10 cycles").is_err());
        assert!(parse_result(" a/b 3 cycles")
            .unwrap_err()
            .contains("bad name"));
        assert!(parse_result(" x 3 cyc1es")
            .unwrap_err()
            .contains("bad unit"));
    }

    #[test]
    fn env_lines() {
        assert_eq!(
            parse_env(" cpu.model QEMU TCG CPU  ").unwrap(),
            ("cpu.model".to_string(), "QEMU TCG CPU".to_string())
        );
        assert!(parse_env(" pcid").unwrap_err().contains("no value"));
        assert!(parse_env(" PCID yes").unwrap_err().contains("bad key"));
        assert!(parse_env("").is_err());
    }

    #[test]
    fn a_good_transcript() {
        let lines = transcript(&["bench: syscall.null.native 213 instructions (user)"]);
        let report = collect(&lines, &tcg()).unwrap();
        assert_eq!(report.results.len(), 2);
        assert_eq!(report.results[1].name, "syscall.null.native");
        assert_eq!(report.env_value("smep"), Some("yes"));
        assert_eq!(
            report.features(),
            vec![
                ("PCID", false),
                ("INVPCID", false),
                ("SMEP", true),
                ("SMAP", true),
                ("XSAVE", true)
            ]
        );
    }

    #[test]
    fn bad_transcripts() {
        let host = tcg();
        let err = |extra: &[&str]| collect(&transcript(extra), &host).unwrap_err();
        assert!(err(&["bench: broken"]).contains("garbled line 'bench: broken'"));
        assert!(err(&["bench-env: smep"]).contains("garbled"));
        assert!(err(&["bench: cr3.load.flush 2 instructions"]).contains("twice"));
        assert!(err(&["bench-env: pcid yes"]).contains("twice"));
        assert!(err(&["bench: x 5 cycles"]).contains("RDTSC counts instructions"));
        let no_results: Vec<&str> = ENV.to_vec();
        assert!(collect(&no_results, &host)
            .unwrap_err()
            .contains("no 'bench:'"));
        let without_xsave: Vec<String> = transcript(&[])
            .into_iter()
            .filter(|l| !l.contains("xsave"))
            .collect();
        assert!(collect(&without_xsave, &host)
            .unwrap_err()
            .contains("XSAVE use unknown"));
        let maybe: Vec<String> = transcript(&[])
            .into_iter()
            .map(|l| l.replace("smap yes", "smap maybe"))
            .collect();
        assert!(collect(&maybe, &host)
            .unwrap_err()
            .contains("not yes or no"));
        let kvm = Host::qemu(Accel::Kvm, "max");
        assert!(collect(&transcript(&[]), &kvm)
            .unwrap_err()
            .contains("in instructions"));
        let kvm_lines: Vec<String> = transcript(&[])
            .into_iter()
            .map(|l| l.replace("1 instructions", "300 cycles"))
            .collect();
        assert!(collect(&kvm_lines, &kvm)
            .unwrap_err()
            .contains("guest runs on tcg but the runner started kvm"));
    }

    /// The environment a Bochs `corei7_haswell_4770` guest prints: no
    /// hypervisor, so accelerator `none` and unit `cycles`.
    const BOCHS_ENV: [&str; 10] = [
        "bench-env: accelerator none",
        "bench-env: unit cycles",
        "bench-env: cpu.vendor GenuineIntel",
        "bench-env: cpu.model Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz",
        "bench-env: pcid yes",
        "bench-env: invpcid yes",
        "bench-env: smep yes",
        "bench-env: smap no",
        "bench-env: xsave yes",
        "bench: cr3.load.flush 1 cycles (mov cr3, bit 63 clear)",
    ];

    fn bochs_transcript(extra: &[&str]) -> Vec<String> {
        let mut lines: Vec<String> = BOCHS_ENV.iter().map(|s| s.to_string()).collect();
        lines.push("bench: cr3.load.noflush 1 cycles (mov cr3, bit 63 set)".to_string());
        lines.push("bench: ipc.cross_as.cr3_writes_per_round_trip 2 writes (counted)".to_string());
        lines.extend(extra.iter().map(|s| s.to_string()));
        lines
    }

    #[test]
    fn bochs_figures_are_relabelled_instructions() {
        let host = Host::bochs();
        assert_eq!(host.engine.name(), "bochs");
        assert_eq!(host.cpu, "corei7_haswell_4770");
        assert!(!host.icount());
        assert_eq!(host.counter_unit(), INSTRUCTIONS);
        let note = host.counter_note();
        assert!(note.starts_with("emulator figures, not hardware cycles"));
        assert!(note.contains(&format!("ips={}", crate::bochs::IPS)));
        assert!(note.contains(&format!("sync={}", crate::bochs::CLOCK_SYNC)));
        let report = collect(&bochs_transcript(&[]), &host).unwrap();
        let rows: Vec<(&str, &str, &str, &str)> = report
            .results
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.value.as_str(),
                    r.unit.as_str(),
                    r.note.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "cr3.load.flush",
                    "1",
                    "instructions",
                    "[Bochs emulator figure, not hardware] (mov cr3, bit 63 clear)"
                ),
                (
                    "cr3.load.noflush",
                    "1",
                    "instructions",
                    "[Bochs emulator figure, not hardware] (mov cr3, bit 63 set)"
                ),
                (
                    "ipc.cross_as.cr3_writes_per_round_trip",
                    "2",
                    "writes",
                    "[Bochs emulator figure, not hardware] (counted)"
                ),
            ]
        );
        assert_eq!(
            report.features(),
            vec![
                ("PCID", true),
                ("INVPCID", true),
                ("SMEP", true),
                ("SMAP", false),
                ("XSAVE", true)
            ]
        );
        let bare = collect(&bochs_transcript(&["bench: x 3 cycles"]), &host).unwrap();
        assert_eq!(
            bare.results
                .last()
                .map(|r| (r.unit.as_str(), r.note.as_str())),
            Some(("instructions", BOCHS_LABEL))
        );
    }

    #[test]
    fn bochs_checks() {
        let host = Host::bochs();
        let err = |lines: Vec<String>| collect(&lines, &host).unwrap_err();
        let tcg_guest: Vec<String> = bochs_transcript(&[])
            .into_iter()
            .map(|l| l.replace("accelerator none", "accelerator tcg"))
            .collect();
        assert!(err(tcg_guest).contains("guest runs on tcg but the runner started bochs"));
        assert!(err(bochs_transcript(&["bench: cr3.load.flush 1 cycles"])).contains("twice"));
        // A QEMU run must not take the guest's `cycles` for instructions.
        assert!(collect(&bochs_transcript(&[]), &tcg())
            .unwrap_err()
            .contains("'cr3.load.flush' is in cycles, but RDTSC counts instructions"));
    }

    #[test]
    fn bochs_json() {
        let json = to_json(&collect(&bochs_transcript(&[]), &Host::bochs()).unwrap());
        let expected = format!(
            r#"{{
  "results": [
    {{"name": "cr3.load.flush", "value": 1, "unit": "instructions", "note": "[Bochs emulator figure, not hardware] (mov cr3, bit 63 clear)"}},
    {{"name": "cr3.load.noflush", "value": 1, "unit": "instructions", "note": "[Bochs emulator figure, not hardware] (mov cr3, bit 63 set)"}},
    {{"name": "ipc.cross_as.cr3_writes_per_round_trip", "value": 2, "unit": "writes", "note": "[Bochs emulator figure, not hardware] (counted)"}}
  ],
  "env": {{
    "accelerator": "bochs",
    "icount": false,
    "counter": "instructions",
    "counter_note": {},
    "figures": "Bochs emulator figures: emulated instructions, not hardware cycles",
    "bochs_cpu": "corei7_haswell_4770",
    "bochs_ips": 200000000,
    "bochs_clock": "sync=none",
    "guest_accelerator": "none",
    "guest_unit": "cycles",
    "cpu_vendor": "GenuineIntel",
    "cpu_model": "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz",
    "features": {{"PCID": true, "INVPCID": true, "SMEP": true, "SMAP": false, "XSAVE": true}}
  }}
}}
"#,
            json_string(Host::bochs().counter_note())
        );
        assert_eq!(json, expected);
    }

    #[test]
    fn bochs_markdown() {
        let markdown = to_markdown(&collect(&bochs_transcript(&[]), &Host::bochs()).unwrap());
        assert!(markdown.starts_with(
            "## Bulkhead benchmarks under Bochs: emulator figures, not hardware cycles\n\n"
        ));
        assert!(markdown.contains("- Counter: emulator figures, not hardware cycles: "));
        assert!(markdown.contains(
            "- Machine: Bochs, cpu: model=corei7_haswell_4770, ips=200000000, clock: sync=none; \
             CPU Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz (GenuineIntel), guest sees accelerator none."
        ));
        assert!(markdown.contains(
            "- CPU features in use: PCID yes, INVPCID yes, SMEP yes, SMAP no, XSAVE yes."
        ));
        assert!(markdown.contains("| cr3.load.flush | 1 | instructions | [Bochs emulator"));
        assert!(markdown.contains("| cr3.load.noflush | 1 | instructions | [Bochs emulator"));
        assert!(markdown
            .contains("| ipc.cross_as.cr3_writes_per_round_trip | 2 | writes | [Bochs emulator"));
        let rows = markdown
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| name"));
        for row in rows {
            assert!(row.contains(BOCHS_LABEL), "unlabelled row {row}");
        }
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("plain"), "\"plain\"");
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn json_output() {
        let lines = transcript(&["bench-env: cpu.vendor Authentic\"AMD\""]);
        let json = to_json(&collect(&lines, &tcg()).unwrap());
        let expected = r#"{
  "results": [
    {"name": "cr3.load.flush", "value": 1, "unit": "instructions", "note": "(mov cr3; no PCID)"}
  ],
  "env": {
    "accelerator": "tcg",
    "icount": "shift=0,sleep=off",
    "counter": "instructions",
    "counter_note": "RDTSC under QEMU TCG with -icount shift=0,sleep=off counts executed guest instructions (a path length), not cycles; the figures repeat exactly run to run",
    "qemu_cpu": "max",
    "guest_accelerator": "tcg",
    "unit": "instructions",
    "cpu_model": "QEMU TCG CPU version 2.5+",
    "cpu_vendor": "Authentic\"AMD\"",
    "features": {"PCID": false, "INVPCID": false, "SMEP": true, "SMAP": true, "XSAVE": true}
  }
}
"#;
        assert_eq!(json, expected);
    }

    #[test]
    fn markdown_output() {
        let lines = transcript(&["bench: x.y 7 instructions (a|b)"]);
        let markdown = to_markdown(&collect(&lines, &tcg()).unwrap());
        assert!(markdown.contains("counts executed guest instructions"));
        assert!(markdown.contains("QEMU TCG, -icount shift=0,sleep=off, -cpu max"));
        assert!(markdown.contains("CPU QEMU TCG CPU version 2.5+ (unknown vendor)"));
        assert!(markdown.contains(
            "- CPU features in use: PCID no, INVPCID no, SMEP yes, SMAP yes, XSAVE yes."
        ));
        assert!(markdown.contains("| cr3.load.flush | 1 | instructions | (mov cr3; no PCID) |\n"));
        assert!(markdown.ends_with("| x.y | 7 | instructions | (a\\|b) |\n"));
    }

    #[test]
    fn container_prefixes_are_taken_off() {
        assert_eq!(
            without_container_prefix("[alpha] bench: x 1 cycles"),
            "bench: x 1 cycles"
        );
        assert_eq!(
            without_container_prefix("bench: x 1 cycles"),
            "bench: x 1 cycles"
        );
        assert_eq!(
            without_container_prefix("[not a name] bench:"),
            "[not a name] bench:"
        );
        assert_eq!(without_container_prefix("[] bench:"), "[] bench:");
    }
}
