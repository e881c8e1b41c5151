//! The modes compared side by side, all pure: for every container operation
//! the guest measured (`container.<op>.<mode>`, with its `.cr3_writes`,
//! `.tlb_flushes` and `.page_faults` lines), the value in each mode (`ipc`,
//! `direct`, `sci`, `sci_sticky`, then any other mode printed), its ratio to
//! `direct`, the events per operation and a modelled cycle estimate.
//! [`compare`] reads a [`Report`], [`to_markdown`] writes the "Modes
//! compared" section and [`to_json`] the `"modes"` object of `results.json`;
//! [`crate::mode_chart`] draws one chart per operation.
//!
//! **The cycle estimate is a model, not a measurement.** Under TCG with
//! icount, and under Bochs, RDTSC counts instructions and is blind to what a
//! CR3 write, the TLB refills after a flush and an exception entry and exit
//! cost on hardware. The model charges them at published figures
//! ([`CONSTANTS`], each with its source):
//!
//! ```text
//! cycles ≈ instructions × 1 + cr3_writes × COST_CR3
//!          + tlb_flushes × COST_TLB_REFILL + page_faults × COST_PAGE_FAULT
//! ```
//!
//! Under KVM the values are real cycles that already contain those costs:
//! the event cycles are then shown for comparison and no modelled total is
//! given. A mode whose unit differs from the operation's first one is left
//! out; a missing metric leaves its column and the model empty (`—`, JSON
//! `null`); so does a ratio without a `direct` figure above zero.
//!
//! JSON shape ([`to_json`], the value of the top-level `"modes"` key):
//!
//! ```text
//! { "baseline": "direct", "measured_cycles": false,
//!   "model": { "label": "a model, not a measurement", "formula": "...",
//!              "constants": [ {"name": "COST_CR3", "cycles": 100,
//!                              "per": "CR3 write", "source": "..."}, ... ] },
//!   "operations": { "getpid": { "unit": "instructions", "modes": {
//!       "ipc": {"value": 695, "ratio_to_direct": 1.7866, "cr3_writes": 2,
//!               "tlb_flushes": 2, "page_faults": 0, "event_cycles": 1640,
//!               "modelled_cycles": 2335, "modelled_ratio_to_direct": 6.0026},
//!       ... } }, ... } }
//! ```

use crate::bench_report::{json_string, Engine, Report, CYCLES};
use std::fmt::Write as _;

/// What every container operation's name starts with.
pub const OP_PREFIX: &str = "container.";
/// The modes in the order of the columns; others follow as printed.
pub const MODE_ORDER: [&str; 4] = ["ipc", "direct", "sci", "sci_sticky"];
/// The mode every ratio is taken to: the same syscall code on the full
/// kernel page table, no isolation.
pub const BASELINE: &str = "direct";

/// Cycles per instruction: an assumption of the model (one a cycle), not a
/// published figure.
pub const CYCLES_PER_INSTRUCTION: f64 = 1.0;
/// Cycles of one CR3 write. Source: the Linux kernel's "Page Table Isolation
/// (PTI)" documentation, Documentation/arch/x86/pti.rst, Overhead, Runtime
/// Cost: "Moves to CR3 are on the order of a hundred cycles"
/// (<https://www.kernel.org/doc/html/latest/arch/x86/pti.html>). Ingo
/// Molnar measured a CR3 reload (`__flush_tlb()`) at 96 cycles, cache hot
/// (linux-mm, "Re: [PATCH 0/3] TLB flush multiple pages per IPI v5",
/// 8 June 2015). Intel SDM Vol. 3A §4.10.4.1: without PCID, a MOV to CR3
/// also invalidates every non-global TLB entry, which [`COST_TLB_REFILL`]
/// charges separately.
pub const COST_CR3: f64 = 100.0;
/// Cycles of one data-TLB miss (a page walk). Source: Dave Hansen, "[PATCH
/// 7/7] x86: mm: set TLB flush tunable to sane value (33)", linux-kernel and
/// linux-mm, 1 July 2014 (merged as Linux commit a5102476a24b): "A dtlb miss
/// is 17.1ns (~45 cycles) and a itlb miss is 13.0ns (~34 cycles)", measured
/// with performance counters on an IvyBridge i5-3320M.
pub const TLB_MISS_CYCLES: f64 = 45.0;
/// TLB entries an operation walks again after each flush: an assumption of
/// the model. Bulkhead maps no kernel page global, so a flush drops kernel
/// entries too; `sci` getpid alone faults in 8 or 9 kernel text pages
/// (depending on the link), and stacks, data and the user's pages come on
/// top.
pub const TLB_ENTRIES_PER_FLUSH: f64 = 16.0;
/// Cycles of the TLB refills after one flush.
pub const COST_TLB_REFILL: f64 = TLB_MISS_CYCLES * TLB_ENTRIES_PER_FLUSH;
/// Cycles of one page fault's exception entry and exit (the handler's own
/// instructions are already counted). Source: Yizhou Shan, "x86 Ring Switch
/// Overhead (Page Fault version)" (<http://lastweek.io/notes/xperf/>):
/// about 440 cycles from user to kernel through a page fault and 270 back,
/// bare metal, Intel Xeon E5 v3 at 2.4 GHz. SCI's faults are taken in
/// ring 0, without a privilege change, so this is rather an upper bound.
pub const COST_PAGE_FAULT: f64 = 710.0;

/// One constant of the model, as the outputs state it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constant {
    pub name: &'static str,
    pub cycles: f64,
    /// What one unit of it is.
    pub per: &'static str,
    pub source: &'static str,
}

/// The model's constants with their sources (the consts above say more).
pub const CONSTANTS: [Constant; 4] = [
    Constant {
        name: "CYCLES_PER_INSTRUCTION",
        cycles: CYCLES_PER_INSTRUCTION,
        per: "instruction",
        source: "an assumption of this model (one instruction a cycle), not a published figure",
    },
    Constant {
        name: "COST_CR3",
        cycles: COST_CR3,
        per: "CR3 write",
        source: "Linux kernel documentation, \"Page Table Isolation (PTI)\", \
                 Documentation/arch/x86/pti.rst, Overhead: \"Moves to CR3 are on the order \
                 of a hundred cycles\" (https://www.kernel.org/doc/html/latest/arch/x86/pti.html); \
                 Ingo Molnar measured a CR3 reload at 96 cycles (linux-mm, \"Re: [PATCH 0/3] TLB \
                 flush multiple pages per IPI v5\", 8 June 2015)",
    },
    Constant {
        name: "COST_TLB_REFILL",
        cycles: COST_TLB_REFILL,
        per: "TLB flush",
        source: "16 entries walked again after each flush (an assumption of this model: no \
                 kernel page is global in Bulkhead, and sci getpid alone faults in 8 or 9 kernel \
                 text pages) × 45 cycles a dTLB miss, from Dave Hansen, \"[PATCH 7/7] x86: mm: \
                 set TLB flush tunable to sane value (33)\", linux-mm, 1 July 2014, Linux commit \
                 a5102476a24b (\"A dtlb miss is 17.1ns (~45 cycles)\", IvyBridge i5-3320M)",
    },
    Constant {
        name: "COST_PAGE_FAULT",
        cycles: COST_PAGE_FAULT,
        per: "page fault",
        source: "exception entry and exit, about 440 + 270 cycles: Yizhou Shan, \"x86 Ring \
                 Switch Overhead (Page Fault version)\", http://lastweek.io/notes/xperf/ \
                 (bare metal, Xeon E5 v3; measured from ring 3, so an upper bound for SCI's \
                 ring-0 faults)",
    },
];

/// The model in one line, as the outputs print it.
pub fn formula() -> String {
    format!(
        "modelled cycles = instructions × {} + CR3 writes × {} + TLB flushes × {} + page faults × {}",
        number(CYCLES_PER_INSTRUCTION),
        number(COST_CR3),
        number(COST_TLB_REFILL),
        number(COST_PAGE_FAULT)
    )
}

/// One mode's figures for one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeFigures {
    pub mode: String,
    pub value: f64,
    /// The value exactly as the guest printed it.
    pub value_text: String,
    /// Per operation; `None` when the guest printed no such line.
    pub cr3_writes: Option<f64>,
    pub tlb_flushes: Option<f64>,
    pub page_faults: Option<f64>,
}

impl ModeFigures {
    /// What the model charges for this mode's events, if all were printed.
    pub fn event_cycles(&self) -> Option<f64> {
        Some(
            self.cr3_writes? * COST_CR3
                + self.tlb_flushes? * COST_TLB_REFILL
                + self.page_faults? * COST_PAGE_FAULT,
        )
    }
}

/// One container operation in every mode measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub name: String,
    /// The unit of the values: `instructions`, or `cycles` under KVM.
    pub unit: String,
    /// In [`MODE_ORDER`], then the other modes as printed.
    pub modes: Vec<ModeFigures>,
}

impl Operation {
    /// The figures of `mode`, if measured.
    pub fn mode(&self, mode: &str) -> Option<&ModeFigures> {
        self.modes.iter().find(|m| m.mode == mode)
    }

    /// `figures`' value over the [`BASELINE`]'s.
    pub fn ratio_to_direct(&self, figures: &ModeFigures) -> Option<f64> {
        ratio(figures.value, self.mode(BASELINE)?.value)
    }

    /// Whether the values are real cycles (KVM), which leaves no model.
    pub fn measured_cycles(&self) -> bool {
        self.unit == CYCLES
    }

    /// The model's estimate for `figures` (see the module docs).
    pub fn modelled_cycles(&self, figures: &ModeFigures) -> Option<f64> {
        if self.measured_cycles() {
            return None;
        }
        Some(figures.value * CYCLES_PER_INSTRUCTION + figures.event_cycles()?)
    }

    /// The modelled cycles over the [`BASELINE`]'s.
    pub fn modelled_ratio_to_direct(&self, figures: &ModeFigures) -> Option<f64> {
        let base = self.modelled_cycles(self.mode(BASELINE)?)?;
        ratio(self.modelled_cycles(figures)?, base)
    }
}

/// Every container operation of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub engine: Engine,
    /// What the run's figures count (`Host::counter_note`).
    pub counter_note: String,
    pub operations: Vec<Operation>,
}

impl Comparison {
    /// Every mode measured in any operation, in column order.
    pub fn modes(&self) -> Vec<&str> {
        let mut modes: Vec<&str> = Vec::new();
        for figures in self.operations.iter().flat_map(|o| &o.modes) {
            if !modes.contains(&figures.mode.as_str()) {
                modes.push(&figures.mode);
            }
        }
        modes.sort_by_key(|m| mode_rank(m));
        modes
    }
}

fn ratio(value: f64, base: f64) -> Option<f64> {
    (base > 0.0 && value.is_finite()).then(|| value / base)
}

/// Where `mode` goes among the columns: [`MODE_ORDER`], then the rest.
fn mode_rank(mode: &str) -> usize {
    MODE_ORDER
        .iter()
        .position(|m| *m == mode)
        .unwrap_or(MODE_ORDER.len())
}

/// `(op, mode, metric)` of `container.<op>.<mode>[.<metric>]`.
fn split_name(name: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut parts = name.strip_prefix(OP_PREFIX)?.split('.');
    let op = parts.next().filter(|s| !s.is_empty())?;
    let mode = parts.next().filter(|s| !s.is_empty())?;
    let metric = parts.next();
    match parts.next() {
        Some(_) => None,
        None => Some((op, mode, metric)),
    }
}

/// Collects the container operations of a report (see the module docs).
pub fn compare(report: &Report) -> Comparison {
    let mut operations: Vec<Operation> = Vec::new();
    for r in &report.results {
        let (Some((op, mode, None)), Ok(value)) = (split_name(&r.name), r.value.parse::<f64>())
        else {
            continue;
        };
        let index = match operations.iter().position(|o| o.name == op) {
            Some(index) => index,
            None => {
                operations.push(Operation {
                    name: op.to_string(),
                    unit: r.unit.clone(),
                    modes: Vec::new(),
                });
                operations.len() - 1
            }
        };
        let operation = &mut operations[index];
        if operation.unit == r.unit && operation.mode(mode).is_none() {
            operation.modes.push(ModeFigures {
                mode: mode.to_string(),
                value,
                value_text: r.value.clone(),
                cr3_writes: None,
                tlb_flushes: None,
                page_faults: None,
            });
        }
    }
    for r in &report.results {
        let (Some((op, mode, Some(metric))), Ok(value)) =
            (split_name(&r.name), r.value.parse::<f64>())
        else {
            continue;
        };
        let figures = operations
            .iter_mut()
            .find(|o| o.name == op)
            .and_then(|o| o.modes.iter_mut().find(|m| m.mode == mode));
        let Some(figures) = figures else { continue };
        match metric {
            "cr3_writes" => figures.cr3_writes = Some(value),
            "tlb_flushes" => figures.tlb_flushes = Some(value),
            "page_faults" => figures.page_faults = Some(value),
            _ => {}
        }
    }
    for operation in &mut operations {
        operation.modes.sort_by_key(|m| mode_rank(&m.mode));
    }
    Comparison {
        engine: report.host.engine,
        counter_note: report.host.counter_note().to_string(),
        operations,
    }
}

/// A figure for the tables: whole numbers bare, others with two decimals.
pub fn number(x: f64) -> String {
    if (x - x.round()).abs() < 0.005 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// `1.79×`, or `—` without a ratio.
pub fn ratio_text(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_string(), |r| format!("{r:.2}×"))
}

fn optional(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), number)
}

/// The "Modes compared" section, empty without container operations.
/// `charts` pairs an operation with the chart file written for it.
pub fn to_markdown(comparison: &Comparison, charts: &[(String, String)]) -> String {
    if comparison.operations.is_empty() {
        return String::new();
    }
    let modes = comparison.modes();
    let unit = &comparison.operations[0].unit;
    let mut out = String::from("\n## Modes compared\n\n");
    let _ = writeln!(
        out,
        "- Measured: {unit} per operation (`container.<op>.<mode>`); {}.",
        comparison.counter_note
    );
    out.push_str(
        "- Each cell: the value, then its ratio to `direct` (the same syscall code on the \
         full kernel page table, no isolation); `—`: not measured.\n\n| operation |",
    );
    for mode in &modes {
        let _ = write!(out, " {mode} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(modes.len()));
    for op in &comparison.operations {
        let _ = write!(out, "\n| {} |", op.name);
        for mode in &modes {
            let cell = match op.mode(mode) {
                Some(f) => match op.ratio_to_direct(f) {
                    Some(r) => format!("{} ({})", f.value_text, ratio_text(Some(r))),
                    None => f.value_text.clone(),
                },
                None => "—".to_string(),
            };
            let _ = write!(out, " {cell} |");
        }
    }
    out.push_str("\n\n### Events per operation and a cycle model\n\n");
    let measured = comparison.engine == Engine::Kvm;
    if measured {
        out.push_str(
            "The values are real CPU cycles (KVM, no icount): what these events cost is \
             already inside them. The event cycles below are what the model would charge \
             for the events (a model, not a measurement), shown for comparison; there is \
             no modelled total.\n\n",
        );
    } else {
        out.push_str(
            "**A model, not a measurement.** RDTSC counted instructions, which are blind to \
             what a CR3 write, the TLB refills after a flush and an exception entry and exit \
             cost on hardware. The model charges them at published figures:\n\n",
        );
    }
    let _ = writeln!(out, "`{}`\n", formula());
    out.push_str("| constant | cycles | per | source |\n|---|---:|---|---|\n");
    for c in CONSTANTS {
        let source = c.source.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {source} |",
            c.name,
            number(c.cycles),
            c.per
        );
    }
    out.push_str(
        "\n| operation | mode | CR3 writes | TLB flushes | page faults | event cycles (model) |",
    );
    if measured {
        out.push_str(" measured cycles |\n|---|---|---:|---:|---:|---:|---:|");
    } else {
        out.push_str(
            " modelled cycles | ratio to direct (model) |\n|---|---|---:|---:|---:|---:|---:|---:|",
        );
    }
    for op in &comparison.operations {
        for f in &op.modes {
            let _ = write!(
                out,
                "\n| {} | {} | {} | {} | {} | {} |",
                op.name,
                f.mode,
                optional(f.cr3_writes),
                optional(f.tlb_flushes),
                optional(f.page_faults),
                optional(f.event_cycles()),
            );
            let _ = if measured {
                write!(out, " {} |", f.value_text)
            } else {
                write!(
                    out,
                    " {} | {} |",
                    optional(op.modelled_cycles(f)),
                    ratio_text(op.modelled_ratio_to_direct(f))
                )
            };
        }
    }
    out.push_str("\n\n### Charts\n\n");
    if charts.is_empty() {
        out.push_str("None written (no --markdown or --json path to put them next to).\n");
    }
    for (op, file) in charts {
        let _ = writeln!(out, "- {op}: [{file}]({file})");
    }
    out
}

/// A JSON number, `null` when there is none (or it is not finite).
fn json_number(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => "null".to_string(),
    }
}

/// Rounded to `places` decimals, for the JSON.
fn rounded(x: Option<f64>, places: i32) -> Option<f64> {
    let scale = 10f64.powi(places);
    x.map(|x| (x * scale).round() / scale)
}

/// The `"modes"` object (shape in the module docs), indented to sit one
/// level down in `results.json`.
pub fn to_json(comparison: &Comparison) -> String {
    let mut out = format!(
        "{{\n    \"baseline\": {},\n    \"measured_cycles\": {},\n    \"model\": {{\n      \
         \"label\": \"a model, not a measurement\",\n      \"formula\": {},\n      \
         \"constants\": [",
        json_string(BASELINE),
        comparison.engine == Engine::Kvm,
        json_string(&formula())
    );
    for (i, c) in CONSTANTS.iter().enumerate() {
        let comma = if i + 1 < CONSTANTS.len() { "," } else { "" };
        let _ = write!(
            out,
            "\n        {{\"name\": {}, \"cycles\": {}, \"per\": {}, \"source\": {}}}{comma}",
            json_string(c.name),
            json_number(Some(c.cycles)),
            json_string(c.per),
            json_string(c.source)
        );
    }
    out.push_str("\n      ]\n    },\n    \"operations\": {");
    for (i, op) in comparison.operations.iter().enumerate() {
        let _ = write!(
            out,
            "{}\n      {}: {{\"unit\": {}, \"modes\": {{",
            if i == 0 { "" } else { "," },
            json_string(&op.name),
            json_string(&op.unit)
        );
        for (j, f) in op.modes.iter().enumerate() {
            let _ = write!(
                out,
                "{}\n        {}: {{\"value\": {}, \"ratio_to_direct\": {}, \"cr3_writes\": {}, \
                 \"tlb_flushes\": {}, \"page_faults\": {}, \"event_cycles\": {}, \
                 \"modelled_cycles\": {}, \"modelled_ratio_to_direct\": {}}}",
                if j == 0 { "" } else { "," },
                json_string(&f.mode),
                json_number(Some(f.value)),
                json_number(rounded(op.ratio_to_direct(f), 4)),
                json_number(f.cr3_writes),
                json_number(f.tlb_flushes),
                json_number(f.page_faults),
                json_number(rounded(f.event_cycles(), 0)),
                json_number(rounded(op.modelled_cycles(f), 0)),
                json_number(rounded(op.modelled_ratio_to_direct(f), 4)),
            );
        }
        out.push_str("\n      }}");
    }
    out.push_str("\n    }\n  }");
    out
}

#[cfg(test)]
pub(crate) mod tests;
