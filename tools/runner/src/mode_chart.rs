//! One hand-written SVG bar chart per container operation of the modes
//! comparison ([`crate::mode_report`]): a horizontal bar per mode, labelled
//! with the measured value and its ratio to `direct`, under a title naming
//! the operation and the unit. When the values span [`LOG_SCALE_SPAN`]× or
//! more (`sci` against `direct` can be ~20×) the axis is logarithmic, with a
//! grid line at every power of ten; otherwise it is linear from zero. The
//! chart says which. No dependencies: the text is built here and escaped
//! for XML.
//!
//! The files go next to the Markdown report: for `results.md`
//! `mode-<op>.svg`, for `results-bochs.md` `mode-<op>-bochs.svg`, and for
//! any other stem `<stem>-mode-<op>.svg` ([`file_name`]).

use crate::bench_report::Engine;
use crate::mode_report::{number, ratio_text, Comparison, Operation, BASELINE};
use std::fmt::Write as _;

/// From this max/min ratio of the values on, the axis is logarithmic.
pub const LOG_SCALE_SPAN: f64 = 20.0;

/// Chart geometry, in SVG user units.
const WIDTH: f64 = 720.0;
const BAR_LEFT: f64 = 120.0;
const BAR_SPAN: f64 = 400.0;
const BAR_TOP: f64 = 78.0;
const ROW: f64 = 36.0;
const BAR_HEIGHT: f64 = 24.0;

/// One chart and the file it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub op: String,
    /// A file name, to put in the report's directory.
    pub file: String,
    pub svg: String,
}

/// The chart file for `op` next to a report whose file stem is `stem`.
pub fn file_name(stem: &str, op: &str) -> String {
    match stem.strip_prefix("results") {
        Some(rest) => format!("mode-{op}{rest}.svg"),
        None => format!("{stem}-mode-{op}.svg"),
    }
}

/// Every operation's chart, named for a report with file stem `stem`.
pub fn charts(comparison: &Comparison, stem: &str) -> Vec<Chart> {
    comparison
        .operations
        .iter()
        .map(|op| Chart {
            op: op.name.clone(),
            file: file_name(stem, &op.name),
            svg: svg(op, comparison.engine),
        })
        .collect()
}

/// The axis: linear from zero to `hi`, or logarithmic over whole decades.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Linear { hi: f64 },
    Log { lo_exp: i32, hi_exp: i32 },
}

/// The smallest round number (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6 or 8 ×
/// 10^k, all with round quarters) at or above `x`.
pub(crate) fn nice_ceiling(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    let decade = 10f64.powf(x.log10().floor());
    [1.0, 1.2, 1.6, 2.0, 2.4, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|v| *v >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * decade)
}

/// The smallest positive value (infinity if none) and the largest.
fn positive_span(values: &[f64]) -> (f64, f64) {
    let max = values.iter().copied().fold(0.0, f64::max);
    let min = values
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    (min, max)
}

impl Scale {
    fn for_values(values: &[f64]) -> Scale {
        let (min, max) = positive_span(values);
        if min.is_finite() && max / min >= LOG_SCALE_SPAN {
            let lo_exp = min.log10().floor() as i32;
            let hi_exp = (max.log10().ceil() as i32).max(lo_exp + 1);
            Scale::Log { lo_exp, hi_exp }
        } else {
            Scale::Linear {
                hi: nice_ceiling(max),
            }
        }
    }

    /// Where `value` falls, 0 at the axis' start and 1 at its end.
    fn fraction(self, value: f64) -> f64 {
        let f = match self {
            Scale::Linear { hi } => value / hi,
            Scale::Log { .. } if value <= 0.0 => 0.0,
            Scale::Log { lo_exp, hi_exp } => {
                (value.log10() - f64::from(lo_exp)) / f64::from(hi_exp - lo_exp)
            }
        };
        f.clamp(0.0, 1.0)
    }

    /// The grid lines: values with their labels.
    fn ticks(self) -> Vec<(f64, String)> {
        match self {
            Scale::Linear { hi } => (0..=4)
                .map(|i| hi * f64::from(i) / 4.0)
                .map(|v| (v, number(v)))
                .collect(),
            Scale::Log { lo_exp, hi_exp } => (lo_exp..=hi_exp)
                .map(|e| 10f64.powi(e))
                .map(|v| (v, if v >= 1.0 { number(v) } else { format!("{v}") }))
                .collect(),
        }
    }

    /// What the chart says about its axis.
    fn describe(self, values: &[f64]) -> String {
        match self {
            Scale::Linear { .. } => "Linear scale from 0.".to_string(),
            Scale::Log { .. } => {
                let (min, max) = positive_span(values);
                format!(
                    "Log scale (values span {:.1}×): each grid line is 10× the one before.",
                    max / min
                )
            }
        }
    }
}

/// Text escaped for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The bar colour of a mode.
fn colour(mode: &str) -> &'static str {
    match mode {
        "ipc" => "#4e79a7",
        "direct" => "#59a14f",
        "sci" => "#e15759",
        "sci_sticky" => "#f28e2b",
        _ => "#9c755f",
    }
}

/// What the figures count, in a few words.
pub(crate) fn counter_words(engine: Engine) -> &'static str {
    match engine {
        Engine::Tcg => {
            "QEMU TCG with -icount: RDTSC counts instructions (a path length), not cycles"
        }
        Engine::Kvm => "QEMU KVM without icount: real CPU cycles, varying run to run",
        Engine::Bochs => "Bochs: emulator figures (instructions), not hardware cycles",
    }
}

/// The chart of one operation (see the module docs).
pub fn svg(op: &Operation, engine: Engine) -> String {
    let values: Vec<f64> = op.modes.iter().map(|m| m.value).collect();
    let scale = Scale::for_values(&values);
    let rows = op.modes.len().max(1) as f64;
    let axis_y = BAR_TOP + rows * ROW;
    let height = axis_y + 48.0;
    let title = format!("{}: {} per operation, by mode", op.name, op.unit);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>{}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>\n\
         <text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{}</text>\n\
         <text x=\"16\" y=\"46\" fill=\"#555555\">{}</text>\n\
         <text x=\"16\" y=\"62\" fill=\"#555555\">{} Labels: value (ratio to {BASELINE}).</text>\n",
        escape(&title),
        escape(&title),
        escape(counter_words(engine)),
        escape(&scale.describe(&values)),
    );
    for (value, label) in scale.ticks() {
        let x = BAR_LEFT + scale.fraction(value) * BAR_SPAN;
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{axis_y:.1}\" stroke=\"#dddddd\"/>\n\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555555\">{}</text>\n",
            BAR_TOP - 6.0,
            axis_y + 16.0,
            escape(&label)
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{BAR_LEFT}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\" stroke=\"#888888\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555555\">{}</text>\n",
        BAR_LEFT + BAR_SPAN,
        BAR_LEFT + BAR_SPAN / 2.0,
        axis_y + 36.0,
        escape(&format!(
            "{} per operation ({} scale)",
            op.unit,
            match scale {
                Scale::Linear { .. } => "linear",
                Scale::Log { .. } => "log",
            }
        ))
    );
    for (i, m) in op.modes.iter().enumerate() {
        let y = BAR_TOP + i as f64 * ROW + (ROW - BAR_HEIGHT) / 2.0;
        let width = scale.fraction(m.value) * BAR_SPAN;
        let text_y = y + BAR_HEIGHT / 2.0 + 4.0;
        let label = match op.ratio_to_direct(m) {
            Some(r) => format!("{} ({} {BASELINE})", m.value_text, ratio_text(Some(r))),
            None => m.value_text.clone(),
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{text_y:.1}\" text-anchor=\"end\">{}</text>\n\
             <rect x=\"{BAR_LEFT}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{BAR_HEIGHT}\" \
             fill=\"{}\"><title>{}</title></rect>\n\
             <text x=\"{:.1}\" y=\"{text_y:.1}\">{}</text>\n",
            BAR_LEFT - 10.0,
            escape(&m.mode),
            colour(&m.mode),
            escape(&match op.ratio_to_direct(m) {
                Some(r) => format!(
                    "{}: {} {} ({} {BASELINE})",
                    m.mode,
                    m.value_text,
                    op.unit,
                    ratio_text(Some(r))
                ),
                None => format!("{}: {} {}", m.mode, m.value_text, op.unit),
            }),
            BAR_LEFT + width + 6.0,
            escape(&label)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mode_report::compare;
    use crate::mode_report::tests::{getpid, mode, report};

    /// Checks that `svg` is well-formed XML as far as these charts go:
    /// every tag closed in order, quotes paired, only the five entities.
    pub(crate) fn assert_well_formed(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        let check_text = |text: &str| {
            assert!(!text.contains('>'), "stray '>' in {text:?}");
            for (i, _) in text.match_indices('&') {
                let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"];
                assert!(
                    entity.iter().any(|e| text[i..].starts_with(e)),
                    "bare '&' in {text:?}"
                );
            }
        };
        while let Some(start) = rest.find('<') {
            check_text(&rest[..start]);
            let end = start + rest[start..].find('>').expect("a tag is not closed");
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            assert_eq!(tag.matches('"').count() % 2, 0, "unpaired quote in <{tag}>");
            check_text(&tag.replace('"', ""));
            if tag.starts_with('?') {
                assert!(tag.ends_with('?'), "bad declaration <{tag}>");
            } else if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "</{name}> closes the wrong tag");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().expect("a tag without a name"));
            }
        }
        check_text(rest);
        assert!(open.is_empty(), "unclosed tags {open:?}");
        assert!(rest.trim().is_empty());
    }

    #[test]
    fn the_checker_catches_broken_xml() {
        assert_well_formed("<?xml?>\n<svg><g a=\"1\"><rect/></g>&amp;</svg>\n");
        for broken in [
            "<svg><g></svg>",
            "<svg>a & b</svg>",
            "<svg a=\"1></svg>",
            "<svg>",
        ] {
            let caught = std::panic::catch_unwind(|| assert_well_formed(broken));
            assert!(caught.is_err(), "{broken} passed");
        }
    }

    #[test]
    fn a_wide_span_is_drawn_on_a_log_scale() {
        let c = compare(&report(Engine::Tcg, getpid()));
        let svg = svg(&c.operations[0], Engine::Tcg);
        assert_well_formed(&svg);
        assert!(svg.contains("<title>getpid: instructions per operation, by mode</title>\n"));
        assert!(svg.contains(">getpid: instructions per operation, by mode</text>"));
        assert!(
            svg.contains("Log scale (values span 20.7×): each grid line is 10× the one before.")
        );
        assert!(svg.contains(">instructions per operation (log scale)</text>"));
        assert!(svg.contains(">8041 (20.67× direct)</text>"));
        assert!(svg.contains(">389 (1.00× direct)</text>"));
        assert!(svg.contains("<title>ipc: 695 instructions (1.79× direct)</title>"));
        for tick in [">100</text>", ">1000</text>", ">10000</text>"] {
            assert!(svg.contains(tick), "no tick {tick}");
        }
        assert_eq!(svg.matches("<rect x=\"120\"").count(), 4);
        // 8041 on 100..10000: 1.905 of the 2 decades of 400 units.
        assert!(svg.contains("width=\"381.1\" height=\"24\" fill=\"#e15759\""));
    }

    #[test]
    fn a_narrow_span_is_linear_from_zero() {
        let mut records = mode("read4k", "ipc", "7073", ["2", "2", "0"]);
        records.extend(mode("read4k", "direct", "4908", ["0", "0", "0"]));
        let c = compare(&report(Engine::Bochs, records));
        let svg = svg(&c.operations[0], Engine::Bochs);
        assert_well_formed(&svg);
        assert!(svg.contains("Linear scale from 0."));
        assert!(svg.contains("Bochs: emulator figures"));
        for tick in [
            ">0</text>",
            ">2000</text>",
            ">4000</text>",
            ">6000</text>",
            ">8000</text>",
        ] {
            assert!(svg.contains(tick), "no tick {tick}");
        }
        let width = format!("width=\"{:.1}\" height", 7073.0 / 8000.0 * BAR_SPAN);
        assert!(svg.contains(&width), "no {width}");
    }

    #[test]
    fn odd_values_do_not_break_the_chart() {
        let mut records = mode("odd", "sci", "0", ["0", "0", "0"]);
        records.extend(mode("odd", "x<&>", "0.5", ["0", "0", "0"]));
        records.extend(mode("odd", "ipc", "5000", ["2", "2", "0"]));
        let c = compare(&report(Engine::Kvm, records));
        let svg = svg(&c.operations[0], Engine::Kvm);
        assert_well_formed(&svg);
        assert!(svg.contains(">x&lt;&amp;&gt;</text>"));
        assert!(svg.contains("Log scale (values span 10000.0×)"));
        assert!(
            svg.contains(">0.1</text>"),
            "ticks below 1 keep their decimals"
        );
        assert!(svg.contains(">5000</text>"), "no ratio without direct");
        let zeros = compare(&report(
            Engine::Tcg,
            mode("z", "direct", "0", ["0", "0", "0"]),
        ));
        let svg = super::svg(&zeros.operations[0], Engine::Tcg);
        assert_well_formed(&svg);
        assert!(svg.contains("Linear scale from 0.") && svg.contains("width=\"0.0\""));
        assert_eq!(number(nice_ceiling(0.0)), "1");
        assert_eq!(number(nice_ceiling(7073.0)), "8000");
        assert_eq!(number(nice_ceiling(52258.0)), "60000");
        assert_eq!(number(nice_ceiling(389.0)), "400");
        assert_eq!(number(nice_ceiling(200.0)), "200");
        assert_eq!(number(nice_ceiling(97527.0)), "100000");
    }

    #[test]
    fn chart_files_sit_next_to_their_report() {
        assert_eq!(file_name("results", "getpid"), "mode-getpid.svg");
        assert_eq!(
            file_name("results-bochs", "getpid"),
            "mode-getpid-bochs.svg"
        );
        assert_eq!(file_name("r", "read4k"), "r-mode-read4k.svg");
        let mut records = getpid();
        records.extend(mode("write64", "direct", "654", ["0", "0", "0"]));
        let c = compare(&report(Engine::Tcg, records));
        let files: Vec<(String, String)> = charts(&c, "results")
            .into_iter()
            .map(|chart| (chart.op, chart.file))
            .collect();
        assert_eq!(
            files,
            [
                ("getpid".to_string(), "mode-getpid.svg".to_string()),
                ("write64".to_string(), "mode-write64.svg".to_string())
            ]
        );
    }
}
