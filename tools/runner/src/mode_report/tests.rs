//! Tests of the modes comparison: collecting the figures, ratios, the
//! model, gaps for missing modes and metrics, and both outputs. The
//! helpers also build reports for the chart and `bench` tests.

use super::*;
use crate::bench_report::{Host, Record};

pub(crate) fn record(name: &str, value: &str, unit: &str) -> Record {
    Record {
        name: name.to_string(),
        value: value.to_string(),
        unit: unit.to_string(),
        note: String::new(),
    }
}

pub(crate) fn report(engine: Engine, results: Vec<Record>) -> Report {
    Report {
        host: Host {
            engine,
            cpu: "max".to_string(),
        },
        results,
        env: Vec::new(),
    }
}

/// `container.<op>.<mode>` and its three event lines, as the guest
/// prints them.
pub(crate) fn mode(op: &str, mode: &str, value: &str, events: [&str; 3]) -> Vec<Record> {
    let base = format!("container.{op}.{mode}");
    vec![
        record(&base, value, "instructions"),
        record(&format!("{base}.cr3_writes"), events[0], "writes/op"),
        record(&format!("{base}.tlb_flushes"), events[1], "flushes/op"),
        record(&format!("{base}.page_faults"), events[2], "faults/op"),
        record(&format!("{base}.surface_pages"), "44.00", "pages"),
    ]
}

/// getpid from a real `make bench` run, the modes out of order.
pub(crate) fn getpid() -> Vec<Record> {
    let mut records = vec![record("cr3.load.flush", "1", "instructions")];
    records.extend(mode("getpid", "sci", "8041", ["2.00", "2.00", "8.00"]));
    records.extend(mode("getpid", "direct", "389", ["0.00", "0.00", "0.00"]));
    records.extend(mode("getpid", "ipc", "695", ["2.00", "2.00", "0.00"]));
    records.extend(mode(
        "getpid",
        "sci_sticky",
        "454",
        ["2.00", "2.00", "0.00"],
    ));
    records
}

fn figures<'a>(c: &'a Comparison, op: usize, mode: &str) -> (&'a Operation, &'a ModeFigures) {
    let op = &c.operations[op];
    (op, op.mode(mode).unwrap())
}

#[test]
fn operations_and_modes_are_collected_in_column_order() {
    let mut records = getpid();
    records.extend(mode("write64", "wasm", "700", ["1", "1", "0"]));
    records.extend(mode("write64", "direct", "654", ["0", "0", "0"]));
    records.push(record("container.broken", "1", "instructions"));
    records.push(record("container.a.b.c.d", "1", "instructions"));
    records.push(record("container..ipc", "1", "instructions"));
    records.push(record("container.getpid.vm.cr3_writes", "9", "writes/op"));
    let c = compare(&report(Engine::Tcg, records));
    let names: Vec<&str> = c.operations.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["getpid", "write64"]);
    let modes: Vec<&str> = c.operations[0]
        .modes
        .iter()
        .map(|m| m.mode.as_str())
        .collect();
    assert_eq!(modes, ["ipc", "direct", "sci", "sci_sticky"]);
    assert_eq!(c.modes(), ["ipc", "direct", "sci", "sci_sticky", "wasm"]);
    let (_, sci) = figures(&c, 0, "sci");
    assert_eq!(sci.value_text, "8041");
    assert_eq!(optional(sci.page_faults), "8");
    assert_eq!(c.operations[0].unit, "instructions");
}

#[test]
fn ratios_are_exact() {
    let c = compare(&report(Engine::Tcg, getpid()));
    let (op, ipc) = figures(&c, 0, "ipc");
    let ratio = op.ratio_to_direct(ipc).unwrap();
    assert!((ratio * 389.0 - 695.0).abs() < 1e-9);
    assert_eq!(ratio_text(Some(ratio)), "1.79×");
    let (_, direct) = figures(&c, 0, "direct");
    assert_eq!(ratio_text(op.ratio_to_direct(direct)), "1.00×");
    assert_eq!(json_number(op.ratio_to_direct(direct)), "1");
    let (_, sci) = figures(&c, 0, "sci");
    assert_eq!(ratio_text(op.ratio_to_direct(sci)), "20.67×");
    assert_eq!(json_number(rounded(op.ratio_to_direct(sci), 4)), "20.671");
    assert_eq!(json_number(rounded(op.ratio_to_direct(ipc), 4)), "1.7866");
}

#[test]
fn the_model_charges_each_event() {
    assert_eq!(number(COST_TLB_REFILL), "720");
    let c = compare(&report(Engine::Tcg, getpid()));
    let (op, ipc) = figures(&c, 0, "ipc");
    // 695 + 2 × 100 + 2 × 720
    assert_eq!(optional(ipc.event_cycles()), "1640");
    assert_eq!(optional(op.modelled_cycles(ipc)), "2335");
    let (_, sci) = figures(&c, 0, "sci");
    // 8041 + 2 × 100 + 2 × 720 + 8 × 710
    assert_eq!(optional(op.modelled_cycles(sci)), "15361");
    assert_eq!(ratio_text(op.modelled_ratio_to_direct(sci)), "39.49×");
    let (_, direct) = figures(&c, 0, "direct");
    assert_eq!(optional(op.modelled_cycles(direct)), "389");
    assert_eq!(
        formula(),
        "modelled cycles = instructions × 1 + CR3 writes × 100 + TLB flushes × 720 \
         + page faults × 710"
    );
}

#[test]
fn missing_modes_and_metrics_leave_gaps() {
    let mut records = mode("getpid", "ipc", "695", ["2", "2", "0"]);
    records.retain(|r| !r.name.ends_with("page_faults"));
    records.extend(mode("getpid", "sci", "8041", ["2", "2", "8"]));
    records.extend(mode("read4k", "direct", "0", ["0", "0", "0"]));
    records.extend(mode("read4k", "ipc", "7073", ["2", "2", "0"]));
    records.push(record("container.read4k.sci", "9", "cycles"));
    let c = compare(&report(Engine::Tcg, records));
    let (op, ipc) = figures(&c, 0, "ipc");
    assert_eq!(op.ratio_to_direct(ipc), None);
    assert_eq!((ipc.event_cycles(), op.modelled_cycles(ipc)), (None, None));
    let (op, ipc) = figures(&c, 1, "ipc");
    assert_eq!(op.ratio_to_direct(ipc), None, "direct is 0");
    assert!(op.mode("sci").is_none(), "another unit is left out");
    let markdown = to_markdown(&c, &[]);
    assert!(markdown.contains("| getpid | 695 | — | 8041 |\n"));
    assert!(markdown.contains("| read4k | 7073 | 0 | — |"));
    assert!(markdown.contains("| getpid | ipc | 2 | 2 | — | — | — | — |"));
    assert!(markdown.contains("None written"));
    let json = to_json(&c);
    assert!(json.contains(
        "\"ipc\": {\"value\": 695, \"ratio_to_direct\": null, \"cr3_writes\": 2, \
         \"tlb_flushes\": 2, \"page_faults\": null, \"event_cycles\": null, \
         \"modelled_cycles\": null, \"modelled_ratio_to_direct\": null}"
    ));
}

#[test]
fn markdown_section() {
    let c = compare(&report(Engine::Tcg, getpid()));
    let charts = [("getpid".to_string(), "mode-getpid.svg".to_string())];
    let markdown = to_markdown(&c, &charts);
    assert!(markdown.starts_with("\n## Modes compared\n\n- Measured: instructions per"));
    assert!(markdown.contains(
        "| operation | ipc | direct | sci | sci_sticky |\n|---|---:|---:|---:|---:|\n\
         | getpid | 695 (1.79×) | 389 (1.00×) | 8041 (20.67×) | 454 (1.17×) |\n"
    ));
    assert!(markdown.contains("**A model, not a measurement.**"));
    assert!(markdown.contains("| getpid | sci | 2 | 2 | 8 | 7320 | 15361 | 39.49× |"));
    for c in CONSTANTS {
        assert!(markdown.contains(&format!(
            "| {} | {} | {} |",
            c.name,
            number(c.cycles),
            c.per
        )));
    }
    for source in [
        "arch/x86/pti.html",
        "a5102476a24b",
        "lastweek.io/notes/xperf",
    ] {
        assert!(markdown.contains(source), "{source} not cited");
    }
    assert!(markdown.ends_with("- getpid: [mode-getpid.svg](mode-getpid.svg)\n"));
}

#[test]
fn kvm_values_are_real_cycles() {
    let records: Vec<Record> = getpid()
        .into_iter()
        .map(|mut r| {
            r.unit = r.unit.replace("instructions", "cycles");
            r
        })
        .collect();
    let c = compare(&report(Engine::Kvm, records));
    let (op, sci) = figures(&c, 0, "sci");
    assert!(op.measured_cycles());
    assert_eq!(op.modelled_cycles(sci), None);
    assert_eq!(optional(sci.event_cycles()), "7320");
    let markdown = to_markdown(&c, &[]);
    assert!(markdown.contains("The values are real CPU cycles (KVM, no icount)"));
    assert!(markdown.contains("| event cycles (model) | measured cycles |"));
    assert!(markdown.contains("| getpid | sci | 2 | 2 | 8 | 7320 | 8041 |"));
    assert!(!markdown.contains("modelled cycles |"));
    let json = to_json(&c);
    assert!(json.contains("\"measured_cycles\": true"));
    assert!(json.contains("\"event_cycles\": 7320, \"modelled_cycles\": null"));
}

#[test]
fn json_object() {
    let c = compare(&report(Engine::Tcg, getpid()));
    let json = to_json(&c);
    assert!(json.starts_with(
        "{\n    \"baseline\": \"direct\",\n    \"measured_cycles\": false,\n    \"model\": {\n      \
         \"label\": \"a model, not a measurement\",\n"
    ));
    assert!(json.contains(
        "\n        {\"name\": \"COST_CR3\", \"cycles\": 100, \"per\": \"CR3 write\", \"source\": "
    ));
    assert!(json.contains(
        "\n      \"getpid\": {\"unit\": \"instructions\", \"modes\": {\n        \
         \"ipc\": {\"value\": 695, \"ratio_to_direct\": 1.7866, \"cr3_writes\": 2, \
         \"tlb_flushes\": 2, \"page_faults\": 0, \"event_cycles\": 1640, \
         \"modelled_cycles\": 2335, \"modelled_ratio_to_direct\": 6.0026},\n"
    ));
    assert!(json.ends_with("}\n      }}\n    }\n  }"));
    let empty = compare(&report(Engine::Tcg, vec![record("x", "1", "instructions")]));
    assert!(to_json(&empty).ends_with("\"operations\": {\n    }\n  }"));
    assert_eq!(to_markdown(&empty, &[]), "");
}
