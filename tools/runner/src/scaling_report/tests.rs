//! Tests of the scaling figures: names into rows, gaps, bad names, the merge
//! of the scaling boot, and both outputs. The helpers also build reports for
//! the chart and `bench` tests.

use super::*;
use crate::bench_report::Record;
use crate::mode_report::tests::{record, report};

/// The lines of one N as the guest prints them, under TCG.
pub(crate) fn at(n: u64, getpid: &str, round_trip: &str, flushes: &str) -> Vec<Record> {
    let name = |metric: &str| format!("scaling.n{n}.{metric}");
    vec![
        record(&name("kernel_memory_per_container"), "40960", "bytes"),
        record(&name("kernel_heap_per_container"), "5120", "bytes"),
        record(&name("server_memory_per_container"), "729088", "bytes"),
        record(&name("ping_sweep.per_call"), "812", "instructions"),
        record(
            &name("ping_sweep.cr3_writes_per_call"),
            "2.00",
            "writes/call",
        ),
        record(
            &name("ping_sweep.tlb_flushes_per_call"),
            flushes,
            "flushes/call",
        ),
        record(
            &name("ipc.call_reply.cross_as.r4"),
            round_trip,
            "instructions",
        ),
        record(&name("getpid.ipc"), getpid, "instructions"),
        record(&name("getpid.ipc.cr3_writes"), "2.00", "writes/op"),
        record(&name("getpid.ipc.surface_pages"), "44.00", "pages"),
    ]
}

/// A scaling run at N = 1, 10, 100, 1000 (printed out of order), PCIDs
/// `pcids`, the kernel's own lines mixed in.
pub(crate) fn scaling_records(pcids: &str) -> Vec<Record> {
    let mut records = vec![
        record("cr3.load.flush", "1", "instructions"),
        record(PCIDS, pcids, "pcids"),
    ];
    records.extend(at(10, "695", "530", "2.00"));
    records.extend(at(1, "695", "530", "2.00"));
    records.extend(at(100, "697", "531", "2.00"));
    records.extend(at(1000, "701", "533", "1.50"));
    records
}

fn scaling(records: Vec<Record>) -> Scaling {
    collect(&report(Engine::Tcg, records)).unwrap().unwrap()
}

#[test]
fn names_become_one_row_per_n_ascending() {
    let s = scaling(scaling_records("256"));
    assert_eq!(s.pcids.as_deref(), Some("256"));
    assert_eq!(s.unit, "instructions");
    let ns: Vec<u64> = s.rows.iter().map(|r| r.containers).collect();
    assert_eq!(ns, [1, 10, 100, 1000]);
    let last = &s.rows[3];
    let values: Vec<&str> = last.values.iter().map(|v| v.as_deref().unwrap()).collect();
    assert_eq!(
        values,
        ["701", "533", "812", "2.00", "1.50", "729088", "40960", "5120"]
    );
    assert_eq!(last.number(GETPID), Some(701.0));
    assert_eq!(last.number(ROUND_TRIP), Some(533.0));
}

#[test]
fn missing_values_and_other_names() {
    assert_eq!(
        collect(&report(
            Engine::Tcg,
            vec![record("cr3.load.flush", "1", "instructions")]
        )),
        Ok(None)
    );
    let only_pcids = scaling(vec![record(PCIDS, "0", "pcids")]);
    assert!(only_pcids.rows.is_empty());
    let s = scaling(vec![
        record("scaling.n5.getpid.ipc", "700", "instructions"),
        record("scaling.n7.getpid.ipc.page_faults", "0.00", "faults/op"),
        record("scaling.summary", "1", "runs"),
        record("scaling.n7", "1", "x"),
    ]);
    assert_eq!(s.pcids, None);
    let ns: Vec<u64> = s.rows.iter().map(|r| r.containers).collect();
    assert_eq!(ns, [5, 7]);
    assert_eq!(s.rows[0].values[GETPID].as_deref(), Some("700"));
    assert!(s.rows[0].values[1..].iter().all(Option::is_none));
    assert!(s.rows[1].values.iter().all(Option::is_none));
    assert_eq!(s.rows[1].number(GETPID), None);
}

#[test]
fn a_bad_n_or_unit_is_an_error() {
    let err = |name: &str, unit: &str| {
        collect(&report(Engine::Tcg, vec![record(name, "1", unit)])).unwrap_err()
    };
    for bad in ["nten", "n", "n01", "n-1", "n1e3", "n99999999999999999999"] {
        let name = format!("scaling.{bad}.getpid.ipc");
        assert!(
            err(&name, "instructions").contains(&format!("'{bad}' is not n followed by")),
            "{bad} accepted"
        );
    }
    let n0 = scaling(vec![record("scaling.n0.getpid.ipc", "9", "instructions")]);
    assert_eq!(n0.rows[0].containers, 0);
    assert!(err("scaling.n1.getpid.ipc", "ns")
        .contains("'scaling.n1.getpid.ipc' is in ns, not in instructions"));
    let kvm = report(
        Engine::Kvm,
        vec![record("scaling.n1.ping_sweep.per_call", "90", "cycles")],
    );
    assert_eq!(collect(&kvm).unwrap().unwrap().unit, "cycles");
}

fn with_features(records: Vec<Record>, pcid: &str) -> Report {
    let mut r = report(Engine::Tcg, records);
    r.env = [("pcid", pcid), ("invpcid", "no"), ("smep", "yes")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r
}

#[test]
fn merge_takes_only_scaling_results() {
    let mut main = with_features(vec![record("cr3.load.flush", "1", "instructions")], "yes");
    merge(&mut main, with_features(scaling_records("256"), "yes")).unwrap();
    let names: Vec<&str> = main.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "cr3.load.flush",
            PCIDS,
            "scaling.n10.kernel_memory_per_container"
        ]
    );
    assert_eq!(names.len(), 2 + 4 * 10);
    assert!(names[1..].iter().all(|n| n.starts_with(PREFIX)));
}

#[test]
fn merge_rules() {
    let main = || {
        with_features(
            vec![record("scaling.n10.getpid.ipc", "1", "instructions")],
            "yes",
        )
    };
    let mut twice = main();
    assert_eq!(
        merge(&mut twice, with_features(scaling_records("256"), "yes")),
        Err("'scaling.n10.getpid.ipc' reported by both boots".to_string())
    );
    let mut differ = main();
    assert_eq!(
        merge(&mut differ, with_features(scaling_records("256"), "no")),
        Err(
            "the CPU features differ: PCID no in the scaling boot, yes in the main boot"
                .to_string()
        )
    );
    assert_eq!(differ, main(), "a failed merge adds nothing");
    let mut none = main();
    let kernel_only = vec![record("cr3.load.flush", "1", "instructions")];
    assert!(merge(&mut none, with_features(kernel_only, "yes"))
        .unwrap_err()
        .contains("no 'bench: scaling....' result lines"));
}

#[test]
fn markdown_section() {
    let markdown = to_markdown(&scaling(scaling_records("256")), Some("scaling.svg"));
    let expected = "
## Scaling

Measured at each N with N idle containers alive, each with its own syscall server in `ipc` mode, \
besides the measured container; getpid, IPC and ping figures in instructions (QEMU TCG with \
-icount: RDTSC counts instructions, not cycles); PCIDs handed out: 256.

| containers alive | getpid (ipc) | IPC round trip r4 | ping per call | CR3 writes/call | \
TLB flushes/call | server memory per container (KiB) | kernel memory per container (KiB) | kernel heap per container (bytes) |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| 1 | 695 | 530 | 812 | 2.00 | 2.00 | 712.0 | 40.0 | 5120 |
| 10 | 695 | 530 | 812 | 2.00 | 2.00 | 712.0 | 40.0 | 5120 |
| 100 | 697 | 531 | 812 | 2.00 | 2.00 | 712.0 | 40.0 | 5120 |
| 1000 | 701 | 533 | 812 | 2.00 | 1.50 | 712.0 | 40.0 | 5120 |

How to read it: flat getpid and IPC columns mean the fast paths do not depend on how many \
containers exist. TLB flushes per call rise once address spaces outnumber the PCIDs: the spaces \
then share PCIDs round-robin, so a switch to a space whose PCID another space used since must \
flush. Kernel memory per container is what the kernel holds for one idle container (page \
tables, kernel stack, object records, heap); the heap column is its kernel-heap part. Server memory per container is what an idle server's own quota pays for (image, stack, heap, page tables).

Chart: [scaling.svg](scaling.svg)
";
    assert_eq!(markdown, expected);
}

#[test]
fn markdown_gaps_pcids_and_kvm() {
    let mut records = vec![
        record(PCIDS, "0", "pcids"),
        record("scaling.n3.kernel_memory_per_container", "1000", "bytes"),
    ];
    records.push(record("scaling.n3.getpid.ipc", "5000", "cycles"));
    let s = collect(&report(Engine::Kvm, records)).unwrap().unwrap();
    let markdown = to_markdown(&s, None);
    assert!(markdown.contains("figures in cycles (QEMU KVM: RDTSC counts real CPU cycles)"));
    assert!(markdown.contains("PCIDs handed out: none: every CR3 write flushes the TLB."));
    assert!(markdown.contains("\n| 3 | 5000 | — | — | — | — | — | 1.0 | — |\n"));
    assert!(markdown
        .ends_with("\nNo chart written (no --markdown or --json path to put it next to).\n"));
    let bare = to_markdown(&scaling(vec![record("scaling.n1.x", "1", "x")]), None);
    assert!(bare.contains("PCIDs handed out: not reported."));
    let no_rows = to_markdown(&scaling(vec![record(PCIDS, "4", "pcids")]), None);
    assert!(no_rows.contains("PCIDs handed out: 4.") && !no_rows.contains("chart"));
}

#[test]
fn json_object() {
    let mut records = scaling_records("256");
    records.retain(|r| !r.name.starts_with("scaling.n10.") && !r.name.starts_with("scaling.n100."));
    records.retain(|r| r.name != "scaling.n1000.getpid.ipc");
    let json = to_json(&scaling(records));
    let expected = r#"{
    "pcids": 256,
    "unit": "instructions",
    "rows": [
      {"containers": 1, "getpid_ipc": 695, "ipc_round_trip_r4": 530, "ping_per_call": 812, "cr3_writes_per_call": 2.00, "tlb_flushes_per_call": 2.00, "server_memory_per_container_bytes": 729088, "kernel_memory_per_container_bytes": 40960, "kernel_heap_per_container_bytes": 5120},
      {"containers": 1000, "getpid_ipc": null, "ipc_round_trip_r4": 533, "ping_per_call": 812, "cr3_writes_per_call": 2.00, "tlb_flushes_per_call": 1.50, "server_memory_per_container_bytes": 729088, "kernel_memory_per_container_bytes": 40960, "kernel_heap_per_container_bytes": 5120}
    ]
  }"#;
    assert_eq!(json, expected);
    let empty = to_json(&scaling(vec![record("scaling.other", "1", "x")]));
    assert_eq!(
        empty,
        "{\n    \"pcids\": null,\n    \"unit\": \"instructions\",\n    \"rows\": []\n  }"
    );
}
