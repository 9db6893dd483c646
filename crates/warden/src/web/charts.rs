//! Charts drawn on the server as SVG: no script, nothing fetched, every
//! label escaped. Each chart carries a `<title>` and `aria-label` so a
//! screen reader says what it shows; colours come from CSS classes.

use std::fmt::Write;

const W: f64 = 560.0;
const H: f64 = 300.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn open(title: &str, w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    )
}

fn plot_w() -> f64 {
    W - LEFT - RIGHT
}

fn plot_h() -> f64 {
    H - TOP - BOTTOM
}

/// y axis from 0 to 1 with gridlines every 0.25, labelled as percentages.
fn unit_axes(svg: &mut String, x_label: &str, y_label: &str) {
    for i in 0..=4 {
        let v = i as f64 / 4.0;
        let y = TOP + plot_h() * (1.0 - v);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>",
            LEFT + plot_w(),
            LEFT - 6.0,
            y + 4.0,
            v * 100.0
        );
    }
    let _ = write!(
        svg,
        "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"axis\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w() / 2.0,
        H - 6.0,
        esc(x_label),
        TOP + plot_h() / 2.0,
        esc(y_label)
    );
}

fn empty(svg: &mut String, what: &str) {
    let _ = write!(
        svg,
        "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w() / 2.0,
        TOP + plot_h() / 2.0,
        esc(what)
    );
}

/// One reliability bin: mean stated confidence, observed accuracy, size, trusted.
pub struct Bin {
    pub confidence: f64,
    pub accuracy: f64,
    pub n: usize,
    pub sufficient: bool,
}

/// Stated confidence against observed accuracy; the diagonal is perfect
/// calibration. Bins too thin to trust are drawn hollow.
pub fn reliability(bins: &[Bin]) -> String {
    let mut svg = open("Reliability diagram: stated confidence against observed accuracy", W, H);
    unit_axes(&mut svg, "stated confidence", "observed accuracy");
    for i in 0..=4 {
        let x = LEFT + plot_w() * i as f64 / 4.0;
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}%</text>",
            TOP + plot_h() + 16.0,
            i * 25
        );
    }
    let _ = write!(
        svg,
        "<line class=\"ideal\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{TOP}\"/>",
        TOP + plot_h(),
        LEFT + plot_w()
    );
    let shown: Vec<&Bin> = bins.iter().filter(|b| b.n > 0).collect();
    if shown.is_empty() {
        empty(&mut svg, "no decided alerts yet");
    }
    let pt =
        |b: &Bin| (LEFT + plot_w() * b.confidence.clamp(0.0, 1.0), TOP + plot_h() * (1.0 - b.accuracy.clamp(0.0, 1.0)));
    if shown.len() > 1 {
        let d: Vec<String> = shown.iter().map(|b| pt(b)).map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(svg, "<polyline class=\"series\" points=\"{}\"/>", d.join(" "));
    }
    for b in shown {
        let (x, y) = pt(b);
        let r = 3.0 + (b.n as f64).sqrt().min(6.0);
        let _ = write!(
            svg,
            "<circle class=\"{}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\"><title>confidence {:.0}%, accuracy {:.0}%, {} alert(s){}</title></circle>",
            if b.sufficient { "dot" } else { "dot thin" },
            b.confidence * 100.0,
            b.accuracy * 100.0,
            b.n,
            if b.sufficient { "" } else { " (too few to trust)" }
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars of shares (0–1), one per label, with the count beside.
pub fn bars(title: &str, rows: &[(String, f64, usize)]) -> String {
    let row_h = 22.0;
    let h = TOP + row_h * rows.len().max(1) as f64 + 24.0;
    let label_w = 170.0;
    let bar_w = W - label_w - 70.0;
    let mut svg = open(title, W, h);
    if rows.is_empty() {
        let _ = write!(
            svg,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data yet</text>",
            W / 2.0,
            TOP + 12.0
        );
    }
    for (i, (label, v, n)) in rows.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let w = bar_w * v.clamp(0.0, 1.0);
        let class = if *v >= 0.8 {
            "bar good"
        } else if *v >= 0.5 {
            "bar fair"
        } else {
            "bar poor"
        };
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"track\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\"/><rect class=\"{class}\" x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{}: {:.0}% of {}</title></rect><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{:.0}% · n={}</text>",
            label_w - 6.0,
            y + 14.0,
            esc(label),
            row_h - 6.0,
            row_h - 6.0,
            esc(label),
            v * 100.0,
            n,
            label_w + bar_w + 6.0,
            y + 14.0,
            v * 100.0,
            n
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Lines of shares (0–1) over labelled points (e.g. ISO weeks), one per series.
pub fn lines(title: &str, x: &[String], series: &[(&str, Vec<f64>)]) -> String {
    let mut svg = open(title, W, H);
    unit_axes(&mut svg, "week", "share of decided alerts");
    if x.is_empty() {
        empty(&mut svg, "no decisions yet");
    }
    let step = if x.len() > 1 { plot_w() / (x.len() - 1) as f64 } else { 0.0 };
    let px = |i: usize| if x.len() > 1 { LEFT + step * i as f64 } else { LEFT + plot_w() / 2.0 };
    let every = x.len().div_ceil(8).max(1);
    for (i, label) in x.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            px(i),
            TOP + plot_h() + 16.0,
            esc(label)
        );
    }
    for (k, (name, ys)) in series.iter().enumerate() {
        let pts: Vec<(f64, f64)> =
            ys.iter().enumerate().map(|(i, v)| (px(i), TOP + plot_h() * (1.0 - v.clamp(0.0, 1.0)))).collect();
        if pts.len() > 1 {
            let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(svg, "<polyline class=\"series s{k}\" points=\"{}\"/>", d.join(" "));
        }
        for (i, (cx, cy)) in pts.iter().enumerate() {
            let _ = write!(
                svg,
                "<circle class=\"dot s{k}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3.5\"><title>{} {}: {:.0}%</title></circle>",
                esc(name),
                esc(x.get(i).map(String::as_str).unwrap_or("")),
                ys[i] * 100.0
            );
        }
        let _ = write!(
            svg,
            "<rect class=\"key s{k}\" x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            LEFT + 8.0 + 150.0 * k as f64,
            TOP + 4.0,
            LEFT + 22.0 + 150.0 * k as f64,
            TOP + 13.0,
            esc(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Grouped vertical bars: per group (e.g. severity), p50 and p90 in minutes.
pub fn durations(title: &str, groups: &[(String, f64, f64)]) -> String {
    let mut svg = open(title, W, H);
    let max = groups.iter().map(|g| g.2.max(g.1)).fold(0.0, f64::max).max(1.0);
    let top = nice(max);
    for i in 0..=4 {
        let v = top * i as f64 / 4.0;
        let y = TOP + plot_h() * (1.0 - v / top);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w(),
            LEFT - 6.0,
            y + 4.0,
            minutes(v)
        );
    }
    if groups.is_empty() {
        empty(&mut svg, "no decisions yet");
    }
    let slot = plot_w() / groups.len().max(1) as f64;
    for (i, (label, p50, p90)) in groups.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.35;
        for (k, (v, which)) in [(p50, "p50"), (p90, "p90")].into_iter().enumerate() {
            let h = plot_h() * v / top;
            let _ = write!(
                svg,
                "<rect class=\"bar s{k}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\"><title>{} {which}: {}</title></rect>",
                x0 + bw * k as f64,
                TOP + plot_h() - h,
                esc(label),
                minutes(*v)
            );
        }
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0 + bw,
            TOP + plot_h() + 16.0,
            esc(label)
        );
    }
    for (k, name) in ["median (p50)", "p90"].iter().enumerate() {
        let _ = write!(
            svg,
            "<rect class=\"key s{k}\" x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{name}</text>",
            LEFT + 8.0 + 120.0 * k as f64,
            TOP + 4.0,
            LEFT + 22.0 + 120.0 * k as f64,
            TOP + 13.0
        );
    }
    let _ = write!(
        svg,
        "<text class=\"axis\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">time to triage</text>",
        TOP + plot_h() / 2.0
    );
    svg.push_str("</svg>");
    svg
}

/// A round number at or above `v` for an axis top.
fn nice(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|c| *c >= v).unwrap_or(v)
}

/// Seconds as a short duration.
pub fn minutes(secs: f64) -> String {
    if secs < 10.0 {
        format!("{secs:.1} s")
    } else if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} d", secs / 86400.0)
    }
}

/// One technique in the coverage heat map.
pub struct Cell<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub state: &'a str,
    pub attacks: usize,
    pub caught: usize,
}

/// ATT&CK coverage: one column per tactic, one square per technique,
/// coloured by what is known about it.
pub fn heat_map(columns: &[(&str, Vec<Cell>)]) -> String {
    let cell = 14.0;
    let gap = 2.0;
    let col_w = 40.0;
    let per_col = 3usize;
    let rows = columns.iter().map(|(_, c)| c.len().div_ceil(per_col)).max().unwrap_or(0);
    let w = 10.0 + columns.len() as f64 * (col_w + 8.0) + 10.0;
    let h = 140.0 + rows as f64 * (cell + gap);
    let mut svg = open("ATT&CK coverage heat map: techniques per tactic", w, h);
    for (i, (tactic, cells)) in columns.iter().enumerate() {
        let x0 = 10.0 + i as f64 * (col_w + 8.0);
        let _ = write!(
            svg,
            "<text class=\"tick\" transform=\"translate({:.1} 126) rotate(-60)\">{}</text>",
            x0 + 6.0,
            esc(tactic)
        );
        for (k, c) in cells.iter().enumerate() {
            let x = x0 + (k % per_col) as f64 * (cell + gap);
            let y = 134.0 + (k / per_col) as f64 * (cell + gap);
            let detail = match c.state {
                "detected" => "a detection reports it; no labelled attack yet".to_owned(),
                "none" => "no detection, no labelled attack".to_owned(),
                _ => format!("{} of {} labelled attack(s) flagged by the AI", c.caught, c.attacks),
            };
            let _ = write!(
                svg,
                "<rect class=\"cell {}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell}\" height=\"{cell}\"><title>{} {}: {}</title></rect>",
                esc(c.state),
                esc(c.id),
                esc(c.name),
                esc(&detail)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_charts_are_well_formed() {
        let svg = bars("t", &[("<script>alert(1)</script>".into(), 0.5, 2)]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        let svg = reliability(&[Bin { confidence: 0.9, accuracy: 0.5, n: 4, sufficient: false }]);
        assert!(svg.contains("dot thin") && svg.contains("accuracy 50%"));
        assert!(reliability(&[]).contains("no decided alerts yet"));
        let svg = lines("w", &["2026-W01".into(), "2026-W02".into()], &[("acceptance", vec![0.5, 1.0])]);
        assert_eq!(svg.matches("<circle").count(), 2);
        let svg = durations("d", &[("high".into(), 60.0, 600.0)]);
        assert!(svg.contains("high p90: 10 min"));
        let svg = heat_map(&[(
            "Execution",
            vec![Cell { id: "T1059", name: "A & B", state: "caught", attacks: 2, caught: 2 }],
        )]);
        assert!(svg.contains("cell caught") && svg.contains("A &amp; B"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(minutes(30.0), "30 s");
        assert_eq!(minutes(600.0), "10 min");
        assert_eq!(minutes(7200.0), "2.0 h");
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(180.0), 200.0);
    }
}
