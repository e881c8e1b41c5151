//! The hand-written SVG chart of the scaling benchmark
//! ([`crate::scaling_report`]): for each number of idle containers alive a
//! group of two vertical bars, getpid in `ipc` mode and the cross-address-
//! space IPC round trip with four registers, each labelled with its value,
//! under a legend and a title naming the counter unit. The axis is linear
//! from zero (the point is whether the bars stay level). Drawn in the style
//! of [`crate::mode_chart`], whose escaping and round axis ceilings it uses.
//!
//! The file goes next to the Markdown report: for `results.md`
//! `scaling.svg`, for `results-bochs.md` `scaling-bochs.svg`, and for any
//! other stem `<stem>-scaling.svg` ([`file_name`]).

use crate::mode_chart::{counter_words, escape, nice_ceiling};
use crate::mode_report::number;
use crate::scaling_report::{Scaling, COLUMNS, GETPID, ROUND_TRIP};
use std::fmt::Write as _;

/// Chart geometry, in SVG user units.
const WIDTH: f64 = 720.0;
const PLOT_LEFT: f64 = 90.0;
const PLOT_WIDTH: f64 = 600.0;
const PLOT_TOP: f64 = 110.0;
const PLOT_HEIGHT: f64 = 240.0;
const AXIS_Y: f64 = PLOT_TOP + PLOT_HEIGHT;
const HEIGHT: f64 = AXIS_Y + 56.0;
/// The widest a bar gets, when there are few groups.
const MAX_BAR_WIDTH: f64 = 56.0;

/// The two bars of a group: the column drawn and its colour.
const BARS: [(usize, &str); 2] = [(GETPID, "#4e79a7"), (ROUND_TRIP, "#76b7b2")];

/// The chart file next to a report whose file stem is `stem`.
pub fn file_name(stem: &str) -> String {
    match stem.strip_prefix("results") {
        Some(rest) => format!("scaling{rest}.svg"),
        None => format!("{stem}-scaling.svg"),
    }
}

/// The chart (see the module docs).
pub fn svg(scaling: &Scaling) -> String {
    let values = scaling
        .rows
        .iter()
        .flat_map(|row| BARS.map(|(column, _)| row.number(column)))
        .flatten();
    let hi = nice_ceiling(values.fold(0.0, f64::max));
    let y_of = |value: f64| AXIS_Y - (value / hi).clamp(0.0, 1.0) * PLOT_HEIGHT;
    let title = "Scaling: getpid (ipc) and IPC round trip r4 by containers alive";
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>{title}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{title}</text>\n\
         <text x=\"16\" y=\"46\" fill=\"#555555\">{}</text>\n\
         <text x=\"16\" y=\"62\" fill=\"#555555\">Linear scale from 0. Labels: the value; \
         — where not measured.</text>\n",
        escape(counter_words(scaling.engine)),
    );
    let mut legend_x = 16.0;
    for (column, colour) in BARS {
        let heading = COLUMNS[column].heading;
        let _ = write!(
            out,
            "<rect x=\"{legend_x}\" y=\"74\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\n\
             <text x=\"{}\" y=\"84\">{}</text>\n",
            legend_x + 18.0,
            escape(heading)
        );
        legend_x += 160.0;
    }
    for i in 0..=4 {
        let value = hi * f64::from(i) / 4.0;
        let y = y_of(value);
        let _ = write!(
            out,
            "<line x1=\"{PLOT_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555555\">{}</text>\n",
            PLOT_LEFT + PLOT_WIDTH,
            if i == 0 { "#888888" } else { "#dddddd" },
            PLOT_LEFT - 8.0,
            y + 4.0,
            escape(&number(value))
        );
    }
    let middle = PLOT_TOP + PLOT_HEIGHT / 2.0;
    let _ = write!(
        out,
        "<text x=\"24\" y=\"{middle:.1}\" transform=\"rotate(-90 24 {middle:.1})\" \
         text-anchor=\"middle\" fill=\"#555555\">{} per operation (linear scale)</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555555\">containers \
         alive (idle, besides the measured one)</text>\n",
        escape(&scaling.unit),
        PLOT_LEFT + PLOT_WIDTH / 2.0,
        AXIS_Y + 42.0
    );
    let group_width = PLOT_WIDTH / scaling.rows.len().max(1) as f64;
    let bar_width = (group_width * 0.3).min(MAX_BAR_WIDTH);
    for (i, row) in scaling.rows.iter().enumerate() {
        let centre = PLOT_LEFT + group_width * (i as f64 + 0.5);
        let _ = writeln!(
            out,
            "<text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            AXIS_Y + 18.0,
            row.containers
        );
        for (j, (column, colour)) in BARS.into_iter().enumerate() {
            let x = centre - bar_width - 2.0 + j as f64 * (bar_width + 4.0);
            let label_x = x + bar_width / 2.0;
            let heading = COLUMNS[column].heading;
            let (Some(value), Some(text)) = (row.number(column), &row.values[column]) else {
                let _ = writeln!(
                    out,
                    "<text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                     fill=\"#555555\">—</text>",
                    AXIS_Y - 5.0
                );
                continue;
            };
            let top = y_of(value);
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{bar_width:.1}\" height=\"{:.1}\" \
                 fill=\"{colour}\"><title>{}</title></rect>\n\
                 <text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                 font-size=\"11\">{}</text>\n",
                AXIS_Y - top,
                escape(&format!(
                    "{heading}, {} containers alive: {text} {}",
                    row.containers, scaling.unit
                )),
                top - 5.0,
                escape(text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_report::Engine;
    use crate::mode_chart::tests::assert_well_formed;
    use crate::mode_report::tests::{record, report};
    use crate::scaling_report::collect;
    use crate::scaling_report::tests::scaling_records;

    #[test]
    fn file_names_follow_the_report() {
        assert_eq!(file_name("results"), "scaling.svg");
        assert_eq!(file_name("results-bochs"), "scaling-bochs.svg");
        assert_eq!(file_name("r"), "r-scaling.svg");
    }

    #[test]
    fn two_bars_per_n_on_a_linear_axis() {
        let scaling = collect(&report(Engine::Tcg, scaling_records("256")))
            .unwrap()
            .unwrap();
        let svg = svg(&scaling);
        assert_well_formed(&svg);
        assert!(svg.contains(">instructions per operation (linear scale)</text>"));
        assert!(svg.contains("RDTSC counts instructions"));
        assert!(svg.contains(">getpid (ipc)</text>") && svg.contains(">IPC round trip r4</text>"));
        assert_eq!(
            svg.matches("<rect x=").count(),
            1 + 2 + 8,
            "background, legend, bars"
        );
        for tick in [
            ">0</text>",
            ">200</text>",
            ">400</text>",
            ">600</text>",
            ">800</text>",
        ] {
            assert!(svg.contains(tick), "no tick {tick}");
        }
        for n in [">1</text>", ">10</text>", ">100</text>", ">1000</text>"] {
            assert!(svg.contains(n), "no group {n}");
        }
        assert!(svg.contains(">701</text>") && svg.contains(">533</text>"));
        assert!(
            svg.contains("<title>getpid (ipc), 1000 containers alive: 701 instructions</title>")
        );
        // 695 of 800 over 240 units: 208.5 high.
        assert!(svg.contains("height=\"208.5\" fill=\"#4e79a7\""));
    }

    #[test]
    fn gaps_and_odd_values_keep_it_valid() {
        let records = vec![
            record("scaling.n1.getpid.ipc", "0", "cycles"),
            record("scaling.n2.ipc.call_reply.cross_as.r4", "12.5", "cycles"),
            record("scaling.n3.address_spaces", "9", "spaces"),
        ];
        let scaling = collect(&report(Engine::Kvm, records)).unwrap().unwrap();
        let svg = svg(&scaling);
        assert_well_formed(&svg);
        assert!(svg.contains(">cycles per operation (linear scale)</text>"));
        assert_eq!(svg.matches(">—</text>").count(), 4);
        assert!(svg.contains(">12.5</text>") && svg.contains("height=\"0.0\""));
        let empty = collect(&report(
            Engine::Tcg,
            vec![record("scaling.pcids", "0", "p")],
        ))
        .unwrap()
        .unwrap();
        assert_well_formed(&super::svg(&empty));
    }
}
