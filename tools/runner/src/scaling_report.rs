//! The scaling benchmark, all pure: how the fast paths and the kernel's
//! memory behave with N idle containers alive. The scaling ISO's root server
//! keeps N idle containers (each with its own syscall server in `ipc` mode)
//! besides the measured one, for each N the guest chooses, and prints
//! `bench: scaling.*` lines. [`merge`] takes them from that second boot into
//! the main report, [`collect`] reads them into one [`Row`] per N,
//! [`to_markdown`] writes the "Scaling" section and [`to_json`] the
//! `"scaling"` object of `results.json`; [`crate::scaling_chart`] draws the
//! chart.
//!
//! Names read (N a decimal count without leading zeros, `n0` allowed):
//!
//! ```text
//! scaling.pcids                               PCIDs the kernel hands out (0: none)
//! scaling.n{N}.getpid.ipc                     counter unit
//! scaling.n{N}.ipc.call_reply.cross_as.r4     counter unit
//! scaling.n{N}.ping_sweep.per_call            counter unit
//! scaling.n{N}.ping_sweep.cr3_writes_per_call
//! scaling.n{N}.ping_sweep.tlb_flushes_per_call
//! scaling.n{N}.server_memory_per_container    bytes
//! scaling.n{N}.kernel_memory_per_container    bytes
//! scaling.n{N}.kernel_heap_per_container      bytes
//! ```
//!
//! Other `scaling.n{N}.*` names (`getpid.ipc.cr3_writes`, ...) stay in the
//! raw table only; their N still gets a row. A second part starting with `n`
//! that is not such an N is an error, and so is a counter figure in another
//! unit than the run's counter. A metric missing for some N is `—` in the
//! Markdown and `null` in the JSON.
//!
//! JSON shape ([`to_json`], the value of the top-level `"scaling"` key):
//!
//! ```text
//! { "pcids": 256, "unit": "instructions",
//!   "rows": [ {"containers": 10, "getpid_ipc": 695, "ipc_round_trip_r4": 530,
//!              "ping_per_call": 812, "cr3_writes_per_call": 2.00,
//!              "tlb_flushes_per_call": 2.00,
//!              "server_memory_per_container_bytes": 729088,
//!              "kernel_memory_per_container_bytes": 40960,
//!              "kernel_heap_per_container_bytes": 5120}, ... ] }
//! ```

use crate::bench_report::{json_string, Engine, Report};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What every scaling result's name starts with.
pub const PREFIX: &str = "scaling.";
/// The name of the PCID count.
pub const PCIDS: &str = "scaling.pcids";

/// How a column shows its value in the Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// As the guest printed it.
    AsPrinted,
    /// Bytes printed, KiB shown with one decimal.
    KiB,
}

/// One column of the scaling table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The name after `scaling.n{N}.`.
    pub metric: &'static str,
    /// The key in the JSON rows.
    pub json: &'static str,
    /// The Markdown heading.
    pub heading: &'static str,
    /// Whether the value is in the run's counter unit (instructions or
    /// cycles).
    pub counter: bool,
    shown: Shown,
}

const fn column(metric: &'static str, json: &'static str, heading: &'static str) -> Column {
    Column {
        metric,
        json,
        heading,
        counter: false,
        shown: Shown::AsPrinted,
    }
}

const fn counter(metric: &'static str, json: &'static str, heading: &'static str) -> Column {
    Column {
        counter: true,
        ..column(metric, json, heading)
    }
}

/// The columns after `containers alive`, in table order.
pub const COLUMNS: [Column; 8] = [
    counter("getpid.ipc", "getpid_ipc", "getpid (ipc)"),
    counter(
        "ipc.call_reply.cross_as.r4",
        "ipc_round_trip_r4",
        "IPC round trip r4",
    ),
    counter("ping_sweep.per_call", "ping_per_call", "ping per call"),
    column(
        "ping_sweep.cr3_writes_per_call",
        "cr3_writes_per_call",
        "CR3 writes/call",
    ),
    column(
        "ping_sweep.tlb_flushes_per_call",
        "tlb_flushes_per_call",
        "TLB flushes/call",
    ),
    Column {
        shown: Shown::KiB,
        ..column(
            "server_memory_per_container",
            "server_memory_per_container_bytes",
            "server memory per container (KiB)",
        )
    },
    Column {
        shown: Shown::KiB,
        ..column(
            "kernel_memory_per_container",
            "kernel_memory_per_container_bytes",
            "kernel memory per container (KiB)",
        )
    },
    column(
        "kernel_heap_per_container",
        "kernel_heap_per_container_bytes",
        "kernel heap per container (bytes)",
    ),
];
/// The column of the getpid figure.
pub const GETPID: usize = 0;
/// The column of the IPC round trip figure.
pub const ROUND_TRIP: usize = 1;

/// The figures at one N.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// N: idle containers alive besides the measured one.
    pub containers: u64,
    /// One per [`COLUMNS`], as printed; `None` when not printed.
    pub values: [Option<String>; COLUMNS.len()],
}

impl Row {
    /// The value of column `index` as a number.
    pub fn number(&self, index: usize) -> Option<f64> {
        self.values[index].as_deref()?.parse().ok()
    }
}

/// Every scaling figure of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaling {
    pub engine: Engine,
    /// The run's counter unit: `instructions`, or `cycles` under KVM.
    pub unit: String,
    /// `scaling.pcids` as printed.
    pub pcids: Option<String>,
    /// By N, ascending.
    pub rows: Vec<Row>,
}

/// N of the `n{N}` part of a name: digits, no leading zero.
fn parse_count(part: &str) -> Option<u64> {
    let digits = part.strip_prefix('n')?;
    let canonical = digits == "0" || !digits.starts_with('0');
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (canonical && all_digits)
        .then(|| digits.parse().ok())
        .flatten()
}

/// Reads the scaling figures of a report (see the module docs); `None`
/// without any `scaling.` result.
pub fn collect(report: &Report) -> Result<Option<Scaling>, String> {
    let unit = report.host.counter_unit();
    let mut pcids = None;
    let mut rows: BTreeMap<u64, Row> = BTreeMap::new();
    let mut any = false;
    for r in &report.results {
        let Some(rest) = r.name.strip_prefix(PREFIX) else {
            continue;
        };
        any = true;
        if r.name == PCIDS {
            pcids = Some(r.value.clone());
            continue;
        }
        let (part, metric) = rest.split_once('.').unwrap_or((rest, ""));
        if !part.starts_with('n') {
            continue;
        }
        let containers = parse_count(part).ok_or_else(|| {
            format!(
                "'{}': '{part}' is not n followed by a number of containers",
                r.name
            )
        })?;
        let row = rows.entry(containers).or_insert_with(|| Row {
            containers,
            values: Default::default(),
        });
        let Some(index) = COLUMNS.iter().position(|c| c.metric == metric) else {
            continue;
        };
        if COLUMNS[index].counter && r.unit != unit {
            return Err(format!(
                "'{}' is in {}, not in {unit} as the run's other figures",
                r.name, r.unit
            ));
        }
        row.values[index] = Some(r.value.clone());
    }
    Ok(any.then(|| Scaling {
        engine: report.host.engine,
        unit: unit.to_string(),
        pcids,
        rows: rows.into_values().collect(),
    }))
}

/// Adds the `scaling.` results of the scaling boot to the main report: the
/// CPU features must agree, the boot must have printed some, and none may
/// repeat a name the main report has. Its other results (the kernel's own
/// lines, printed by both boots) are left out.
pub fn merge(main: &mut Report, scaling_boot: Report) -> Result<(), String> {
    for ((name, main_on), (_, scaling_on)) in
        main.features().into_iter().zip(scaling_boot.features())
    {
        if main_on != scaling_on {
            let yes_no = |on: bool| if on { "yes" } else { "no" };
            return Err(format!(
                "the CPU features differ: {name} {} in the scaling boot, {} in the main boot",
                yes_no(scaling_on),
                yes_no(main_on)
            ));
        }
    }
    let mut added = 0;
    for record in scaling_boot.results {
        if !record.name.starts_with(PREFIX) {
            continue;
        }
        if main.results.iter().any(|r| r.name == record.name) {
            return Err(format!("'{}' reported by both boots", record.name));
        }
        main.results.push(record);
        added += 1;
    }
    if added == 0 {
        return Err(format!("no 'bench: {PREFIX}...' result lines"));
    }
    Ok(())
}

fn shown(value: &Option<String>, how: Shown) -> String {
    match (value, how) {
        (None, _) => "—".to_string(),
        (Some(text), Shown::AsPrinted) => text.clone(),
        (Some(text), Shown::KiB) => match text.parse::<f64>() {
            Ok(bytes) => format!("{:.1}", bytes / 1024.0),
            Err(_) => text.clone(),
        },
    }
}

/// What the PCID count means, for the Markdown.
fn pcids_text(pcids: Option<&str>) -> String {
    match pcids {
        None => "not reported".to_string(),
        Some(count) if count.parse::<f64>() == Ok(0.0) => {
            "none: every CR3 write flushes the TLB".to_string()
        }
        Some(count) => count.to_string(),
    }
}

/// What the counter columns count, in a few words.
fn counter_words(engine: Engine) -> &'static str {
    match engine {
        Engine::Tcg => {
            "instructions (QEMU TCG with -icount: RDTSC counts instructions, not cycles)"
        }
        Engine::Kvm => "cycles (QEMU KVM: RDTSC counts real CPU cycles)",
        Engine::Bochs => "instructions (Bochs emulator figures, not hardware cycles)",
    }
}

/// The "Scaling" section. `chart` is the chart file written, if any.
pub fn to_markdown(scaling: &Scaling, chart: Option<&str>) -> String {
    let mut out = String::from("\n## Scaling\n\n");
    let _ = writeln!(
        out,
        "Measured at each N with N idle containers alive, each with its own syscall server \
         in `ipc` mode, besides the measured container; getpid, IPC and ping figures in {}; \
         PCIDs handed out: {}.",
        counter_words(scaling.engine),
        pcids_text(scaling.pcids.as_deref())
    );
    out.push_str("\n| containers alive |");
    for c in &COLUMNS {
        let _ = write!(out, " {} |", c.heading);
    }
    out.push_str("\n|---:|");
    out.push_str(&"---:|".repeat(COLUMNS.len()));
    for row in &scaling.rows {
        let _ = write!(out, "\n| {} |", row.containers);
        for (value, c) in row.values.iter().zip(&COLUMNS) {
            let _ = write!(out, " {} |", shown(value, c.shown));
        }
    }
    out.push_str(
        "\n\nHow to read it: flat getpid and IPC columns mean the fast paths do not depend on \
         how many containers exist. TLB flushes per call rise once address spaces outnumber \
         the PCIDs: the spaces then share PCIDs round-robin, so a switch to a space whose \
         PCID another space used since must flush. Kernel memory per container is what the \
         kernel holds for one idle container (page tables, kernel stack, object records, \
         heap); the heap column is its kernel-heap part. Server memory per container is what \
         an idle server's own quota pays for (image, stack, heap, page tables).\n",
    );
    if !scaling.rows.is_empty() {
        match chart {
            Some(file) => {
                let _ = writeln!(out, "\nChart: [{file}]({file})");
            }
            None => out
                .push_str("\nNo chart written (no --markdown or --json path to put it next to).\n"),
        }
    }
    out
}

/// The `"scaling"` object (shape in the module docs), indented to sit one
/// level down in `results.json`.
pub fn to_json(scaling: &Scaling) -> String {
    let number = |value: &Option<String>| value.clone().unwrap_or_else(|| "null".to_string());
    let mut out = format!(
        "{{\n    \"pcids\": {},\n    \"unit\": {},\n    \"rows\": [",
        number(&scaling.pcids),
        json_string(&scaling.unit)
    );
    for (i, row) in scaling.rows.iter().enumerate() {
        let _ = write!(
            out,
            "{}\n      {{\"containers\": {}",
            if i == 0 { "" } else { "," },
            row.containers
        );
        for (value, c) in row.values.iter().zip(&COLUMNS) {
            let _ = write!(out, ", {}: {}", json_string(c.json), number(value));
        }
        out.push('}');
    }
    if !scaling.rows.is_empty() {
        out.push_str("\n    ");
    }
    out.push_str("]\n  }");
    out
}

#[cfg(test)]
pub(crate) mod tests;
