//! One self-contained HTML page: styles, charts (inline SVG) and the little script that
//! filters findings are all in the file, so it opens anywhere without a network.
//!
//! Sections: a summary with a severity chart; framework scores; the trend from history;
//! findings grouped by namespace, then check, each with its offending line and fix;
//! RBAC escalation paths and network reachability drawn as graphs; then errors and
//! what was not evaluated.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use palisade_compliance::{FrameworkReport, Status};
use palisade_model::{CheckMeta, Finding, ScanResult, Severity};
use quick_xml::escape::escape;

use crate::{Graph, ReportContext};

const STYLE: &str = r#"
:root{--crit:#7b1fa2;--high:#c62828;--med:#ef6c00;--low:#f9a825;--info:#546e7a;--ok:#2e7d32;--na:#90a4ae;--ne:#cfd8dc;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0 auto;max-width:1200px;padding:1rem 2rem;color:#212121;background:#fafafa}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #e0e0e0;padding-bottom:.3rem;margin-top:2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:.8rem 1.2rem;min-width:8rem}
.card b{display:block;font-size:1.8rem}
.sev{display:inline-block;padding:0 .5rem;border-radius:3px;color:#fff;font-size:.8rem;font-weight:600;text-transform:uppercase}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}.sev-low{background:var(--low);color:#212121}.sev-info{background:var(--info)}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #e0e0e0;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f5}
details{background:#fff;border:1px solid #e0e0e0;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}summary{cursor:pointer}
pre{background:#263238;color:#eceff1;padding:.4rem .6rem;border-radius:3px;overflow-x:auto;margin:.2rem 0}
.fix{background:#e8f5e9;border-left:4px solid var(--ok);padding:.3rem .6rem;margin:.4rem 0}
.muted{color:#757575}.filters label{margin-right:1rem}
.status-failed{color:var(--high);font-weight:600}.status-passed{color:var(--ok)}.status-not-applicable,.status-not-evaluated{color:#607d8b}
svg text{font-size:12px;font-family:inherit}
"#;

/// Hides the findings of unticked severities and keeps the visible counts right. A
/// link can untick some: `report.html#hide=low,info`.
const SCRIPT: &str = r#"
(function(){
  var m=/hide=([a-z,]+)/.exec(location.hash);
  if(m){var hide=m[1].split(',');
    document.querySelectorAll('.filters input').forEach(function(i){
      if(hide.indexOf(i.value)>=0)i.checked=false;});}
  function apply(){
    var shown={};
    document.querySelectorAll('.filters input').forEach(function(i){shown[i.value]=i.checked;});
    var visible=0;
    document.querySelectorAll('li.finding').forEach(function(li){
      var on=shown[li.dataset.severity]!==false;li.hidden=!on;if(on)visible++;});
    document.querySelectorAll('details.check').forEach(function(d){
      d.hidden=d.querySelectorAll('li.finding:not([hidden])').length===0;});
    document.querySelectorAll('section.namespace').forEach(function(s){
      s.hidden=s.querySelectorAll('details.check:not([hidden])').length===0;});
    document.getElementById('visible-count').textContent=visible;
  }
  document.querySelectorAll('.filters input').forEach(function(i){i.addEventListener('change',apply);});
  apply();
  document.body.dataset.ready='true';
})();
"#;

fn e(text: &str) -> std::borrow::Cow<'_, str> {
    escape(text)
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7b1fa2",
        Severity::High => "#c62828",
        Severity::Medium => "#ef6c00",
        Severity::Low => "#f9a825",
        Severity::Info => "#546e7a",
    }
}

pub fn write(result: &ScanResult, ctx: &ReportContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::with_capacity(64 * 1024);
    let s = result.summary();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    // Nothing may be fetched: the page is whole by itself.
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
    );
    let _ = write!(
        h,
        "<title>Palisade report</title><style>{STYLE}</style></head><body>\
         <h1>Palisade report</h1><p class=\"muted\">palisade {}</p>",
        e(ctx.version)
    );

    // Summary.
    h.push_str("<h2 id=\"summary\">Summary</h2><div class=\"cards\">");
    let card = |h: &mut String, id: &str, n: usize, label: &str| {
        let _ = write!(h, "<div class=\"card\" id=\"{id}\"><b>{n}</b>{label}</div>");
    };
    card(&mut h, "card-objects", s.objects, "objects");
    card(&mut h, "card-findings", s.findings, "findings");
    card(&mut h, "card-suppressed", s.suppressed, "suppressed");
    card(&mut h, "card-errors", s.errors, "errors");
    h.push_str("</div>");
    let bars: Vec<(String, f64, &str)> = Severity::ALL
        .iter()
        .zip(s.by_severity)
        .map(|(sev, n)| (sev.as_str().to_owned(), n as f64, severity_color(*sev)))
        .collect();
    h.push_str("<h3>Findings by severity</h3>");
    bar_chart(&mut h, "chart-severity", &bars, "");

    if !ctx.compliance.is_empty() {
        compliance(&mut h, &ctx.compliance);
    }
    if ctx.extras.trend.len() > 1 {
        trend(&mut h, &ctx.extras.trend);
    }
    findings(&mut h, result, ctx);
    for (i, g) in ctx.extras.graphs.iter().enumerate() {
        graph(&mut h, i, g);
    }
    problems(&mut h, result);
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    out.write_all(h.as_bytes())
}

/// Horizontal bars, one per `(label, value, colour)`; `unit` follows each value.
fn bar_chart(h: &mut String, id: &str, bars: &[(String, f64, &str)], unit: &str) {
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1.0);
    let row = 24;
    let height = bars.len() * row + 8;
    let _ = write!(
        h,
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" width=\"640\" height=\"{height}\" \
         viewBox=\"0 0 640 {height}\">"
    );
    for (i, (label, value, color)) in bars.iter().enumerate() {
        let y = i * row + 4;
        let width = (value / max * 420.0).round();
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"bar\" x=\"140\" y=\"{y}\" \
             width=\"{width}\" height=\"18\" fill=\"{color}\"><title>{}: {value}{unit}</title>\
             </rect><text x=\"{}\" y=\"{}\">{value}{unit}</text>",
            y + 14,
            e(label),
            e(label),
            145.0 + width,
            y + 14
        );
    }
    h.push_str("</svg>");
}

fn compliance(h: &mut String, reports: &[FrameworkReport]) {
    h.push_str("<h2 id=\"compliance\">Compliance</h2>");
    let bars: Vec<(String, f64, &str)> = reports
        .iter()
        .map(|r| {
            (
                r.framework.key().to_uppercase(),
                r.score.map_or(0.0, |s| s.round()),
                "#2e7d32",
            )
        })
        .collect();
    h.push_str("<p>Score: passed controls among those decided (passed or failed).</p>");
    bar_chart(h, "chart-frameworks", &bars, "%");
    for r in reports {
        let n = r.counts;
        let _ = write!(
            h,
            "<h3 class=\"framework\" id=\"framework-{}\">{} {}</h3><p>{}: {} passed, {} failed, \
             {} not applicable, {} not evaluated (not counted in the score).</p>",
            r.framework.key(),
            e(r.name),
            e(r.version),
            r.score
                .map_or_else(|| "no control decided".to_owned(), |s| format!("{s:.0}%")),
            n.passed,
            n.failed,
            n.not_applicable,
            n.not_evaluated
        );
        h.push_str(
            "<table class=\"sections\"><tr><th>Section</th><th>Score</th><th>Passed</th>\
             <th>Failed</th><th>Not applicable</th><th>Not evaluated</th></tr>",
        );
        for s in &r.sections {
            let c = s.counts;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&section_name(s.id, s.title)),
                s.score
                    .map_or_else(|| "–".to_owned(), |v| format!("{v:.0}%")),
                c.passed,
                c.failed,
                c.not_applicable,
                c.not_evaluated
            );
        }
        h.push_str("</table><details><summary>Every control</summary><table class=\"controls\">");
        h.push_str("<tr><th>Control</th><th>Status</th><th>Checks</th><th>Why</th></tr>");
        for c in &r.controls {
            let why = match (c.status, &c.reason) {
                (Status::Failed, _) => format!(
                    "{} finding(s) on {} object(s): {}",
                    c.findings,
                    c.failing_objects,
                    c.failing_checks.join(", ")
                ),
                (_, Some(reason)) => reason.clone(),
                (_, None) => String::new(),
            };
            let _ = write!(
                h,
                "<tr class=\"control\" data-status=\"{}\"><td>{} {}</td>\
                 <td class=\"status-{}\">{}</td><td>{}</td><td>{}</td></tr>",
                c.status.as_str(),
                e(c.id),
                e(c.title),
                c.status.as_str(),
                c.status.as_str(),
                e(&c.checks.join(", ")),
                e(&why)
            );
        }
        h.push_str("</table></details>");
    }
}

/// `5.2 Pod Security Standards`; a section whose id is its title once.
pub(crate) fn section_name(id: &str, title: &str) -> String {
    if id.eq_ignore_ascii_case(title) {
        title.to_owned()
    } else {
        format!("{id} {title}")
    }
}

/// Open findings per evaluation, one line per severity.
fn trend(h: &mut String, points: &[(String, [i64; 5])]) {
    h.push_str("<h2 id=\"trend\">Trend</h2><p>Open findings at each recorded evaluation.</p>");
    let (w, ht, left, bottom) = (640.0, 220.0, 50.0, 30.0);
    let max = points
        .iter()
        .map(|(_, c)| c.iter().sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step = (w - left - 10.0) / (points.len() - 1) as f64;
    let _ = write!(
        h,
        "<svg id=\"chart-trend\" class=\"chart\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\">\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{w}\" y2=\"{}\" stroke=\"#9e9e9e\"/>\
         <text x=\"0\" y=\"14\">{max}</text><text x=\"0\" y=\"{}\">0</text>",
        ht - bottom,
        ht - bottom,
        ht - bottom
    );
    let y = |v: f64| (ht - bottom) - v / max * (ht - bottom - 10.0);
    // Total, then each severity.
    let mut series: Vec<(String, &str, Vec<f64>)> = vec![(
        "total".into(),
        "#212121",
        points
            .iter()
            .map(|(_, c)| c.iter().sum::<i64>() as f64)
            .collect(),
    )];
    for (i, sev) in Severity::ALL.iter().enumerate() {
        series.push((
            sev.as_str().into(),
            severity_color(*sev),
            points.iter().map(|(_, c)| c[i] as f64).collect(),
        ));
    }
    for (name, color, values) in &series {
        let path: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", left + i as f64 * step, y(*v)))
            .collect();
        let _ = write!(
            h,
            "<polyline class=\"series\" data-series=\"{name}\" fill=\"none\" stroke=\"{color}\" \
             stroke-width=\"2\" points=\"{}\"><title>{name}</title></polyline>",
            path.join(" ")
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            h,
            "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            ht - 8.0,
            e(&first.0),
            w - 5.0,
            ht - 8.0,
            e(&last.0)
        );
    }
    h.push_str("</svg>");
}

fn findings(h: &mut String, result: &ScanResult, ctx: &ReportContext<'_>) {
    let _ = write!(
        h,
        "<h2 id=\"findings\">Findings</h2><div class=\"filters\">Show: {}\
         <span class=\"muted\"> (<span id=\"visible-count\">{}</span> shown)</span></div>",
        Severity::ALL
            .iter()
            .map(|s| format!(
                "<label><input type=\"checkbox\" value=\"{0}\" checked> <span class=\"sev sev-{0}\">{0}</span></label>",
                s.as_str()
            ))
            .collect::<String>(),
        result.findings.len()
    );
    if result.findings.is_empty() {
        h.push_str("<p>No findings.</p>");
        return;
    }
    // Namespace, then check (most severe first), then the findings in report order.
    let mut by_ns: BTreeMap<&str, BTreeMap<(Severity, &str), Vec<&Finding>>> = BTreeMap::new();
    for f in &result.findings {
        let ns = f.object.namespace.as_deref().unwrap_or("");
        by_ns
            .entry(ns)
            .or_default()
            .entry((f.check.severity, f.check.id))
            .or_default()
            .push(f);
    }
    for (ns, checks) in &by_ns {
        let title = if ns.is_empty() {
            "Cluster-scoped objects".to_owned()
        } else {
            format!("Namespace {ns}")
        };
        let count: usize = checks.values().map(Vec::len).sum();
        let _ = write!(
            h,
            "<section class=\"namespace\" data-namespace=\"{}\"><h3>{} <span class=\"muted\">({count})</span></h3>",
            e(ns),
            e(&title)
        );
        // Most severe check first.
        let mut ordered: Vec<_> = checks.iter().collect();
        ordered.sort_by(|a, b| b.0 .0.cmp(&a.0 .0).then(a.0 .1.cmp(b.0 .1)));
        for (_, list) in ordered {
            let meta: &CheckMeta = list[0].check;
            let _ = write!(
                h,
                "<details class=\"check\" data-check=\"{}\" open><summary><span class=\"sev sev-{}\">{}</span> \
                 <b>{}</b> {} <span class=\"muted\">({})</span></summary><p>{}</p><ul>",
                e(meta.id),
                meta.severity.as_str(),
                meta.severity.as_str(),
                e(meta.id),
                e(meta.title),
                list.len(),
                e(meta.rationale)
            );
            for f in list {
                let place = if f.location.line == 0 {
                    format!("{} at {}", f.location.file, f.path)
                } else {
                    format!(
                        "{}:{}:{}",
                        f.location.file, f.location.line, f.location.column
                    )
                };
                let _ = write!(
                    h,
                    "<li class=\"finding\" data-severity=\"{}\"><b>{}</b> <code>{}</code><br>{}",
                    f.severity.as_str(),
                    e(&f.object.to_string()),
                    e(&place),
                    e(&f.message.text())
                );
                if let Some(line) = ctx
                    .extras
                    .lines
                    .get(&(f.location.file.to_string(), f.location.line))
                {
                    let _ = write!(
                        h,
                        "<pre class=\"line\"><span class=\"muted\">{:>5} | </span>{}</pre>",
                        f.location.line,
                        e(line)
                    );
                }
                h.push_str("</li>");
            }
            let _ = write!(
                h,
                "</ul><div class=\"fix\"><b>How to fix:</b> {}</div></details>",
                e(meta.remediation)
            );
        }
        h.push_str("</section>");
    }
}

/// Each node's column: its longest distance from a node nothing points to when the
/// graph has no cycle (escalation chains read left to right), else its shortest
/// distance from one (reachability, where workloads reach each other both ways).
fn layers(g: &Graph) -> Vec<usize> {
    let n = g.nodes.len();
    let mut incoming = vec![0usize; n];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in g.edges.iter().filter(|e| e.from != e.to) {
        incoming[edge.to] += 1;
        outgoing[edge.from].push(edge.to);
    }
    // Kahn's order; complete only without cycles.
    let mut order: Vec<usize> = (0..n).filter(|&i| incoming[i] == 0).collect();
    let mut remaining = incoming.clone();
    let mut next = 0;
    while next < order.len() {
        let node = order[next];
        next += 1;
        for &to in &outgoing[node] {
            remaining[to] -= 1;
            if remaining[to] == 0 {
                order.push(to);
            }
        }
    }
    let mut layer = vec![0usize; n];
    if order.len() == n {
        for &node in &order {
            for &to in &outgoing[node] {
                layer[to] = layer[to].max(layer[node] + 1);
            }
        }
        return layer;
    }
    // Breadth first from the sources, then from any node still unreached.
    let mut seen = vec![false; n];
    let mut queue = std::collections::VecDeque::new();
    let starts: Vec<usize> = (0..n).filter(|&i| incoming[i] == 0).chain(0..n).collect();
    for start in starts {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        queue.push_back(start);
        while let Some(node) = queue.pop_front() {
            for &to in &outgoing[node] {
                if !seen[to] {
                    seen[to] = true;
                    layer[to] = layer[node] + 1;
                    queue.push_back(to);
                }
            }
        }
    }
    layer
}

/// A graph in columns ([`layers`]), edges as arrows, each edge also listed as text.
fn graph(h: &mut String, index: usize, g: &Graph) {
    let _ = write!(
        h,
        "<h2 class=\"graph-title\" id=\"graph-{index}\">{}</h2><p>{}</p>",
        e(&g.title),
        e(&g.description)
    );
    if g.nodes.is_empty() {
        h.push_str("<p>Nothing to draw.</p>");
        return;
    }
    let n = g.nodes.len();
    let layer = layers(g);
    let columns = layer.iter().max().copied().unwrap_or(0) + 1;
    let mut rows = vec![0usize; columns];
    let mut position = vec![(0usize, 0usize); n];
    for i in 0..n {
        position[i] = (layer[i], rows[layer[i]]);
        rows[layer[i]] += 1;
    }
    let (col_w, row_h, node_w, node_h) = (340.0, 46.0, 220.0, 28.0);
    let width = columns as f64 * col_w + 20.0;
    let height = rows.iter().max().copied().unwrap_or(1) as f64 * row_h + 20.0;
    let center = |i: usize| {
        let (c, r) = position[i];
        (
            10.0 + c as f64 * col_w + node_w / 2.0,
            10.0 + r as f64 * row_h + node_h / 2.0,
        )
    };
    let _ = write!(
        h,
        "<div style=\"overflow-x:auto\"><svg class=\"graph\" id=\"graph-svg-{index}\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\"><defs><marker id=\"arrow-{index}\" \
         viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" \
         orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#616161\"/></marker></defs>"
    );
    for edge in &g.edges {
        let (x1, y1) = center(edge.from);
        let (x2, y2) = center(edge.to);
        let d = if (x2 - x1).abs() < 1.0 {
            // Same column: an arc out to the right, wider the further apart.
            let x = x1 + node_w / 2.0;
            let bulge = 20.0 + (y2 - y1).abs() * 0.25;
            format!(
                "M {x:.1} {y1:.1} C {:.1} {y1:.1}, {:.1} {y2:.1}, {x:.1} {y2:.1}",
                x + bulge,
                x + bulge
            )
        } else {
            // From the side of one box to the facing side of the other.
            let (sx, ex) = if x2 > x1 {
                (x1 + node_w / 2.0, x2 - node_w / 2.0)
            } else {
                (x1 - node_w / 2.0, x2 + node_w / 2.0)
            };
            format!("M {sx:.1} {y1:.1} L {ex:.1} {y2:.1}")
        };
        let _ = write!(
            h,
            "<path class=\"edge\" d=\"{d}\" fill=\"none\" stroke=\"#616161\" \
             marker-end=\"url(#arrow-{index})\"><title>{}</title></path>",
            e(&edge.label)
        );
    }
    for (i, node) in g.nodes.iter().enumerate() {
        let (cx, cy) = center(i);
        let fill = if node.danger { "#ffcdd2" } else { "#e3f2fd" };
        let mut label = node.label.clone();
        if label.chars().count() > 32 {
            label = label.chars().take(31).collect::<String>() + "…";
        }
        let _ = write!(
            h,
            "<g class=\"node\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{node_w}\" height=\"{node_h}\" \
             rx=\"4\" fill=\"{fill}\" stroke=\"#90a4ae\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            cx - node_w / 2.0,
            cy - node_h / 2.0,
            e(&node.label),
            cx - node_w / 2.0 + 6.0,
            cy + 4.0,
            e(&label)
        );
    }
    h.push_str("</svg></div>");
    if g.truncated > 0 {
        let _ = write!(
            h,
            "<p class=\"muted\">{} more edge(s) not drawn; the text and JSON reports list them all.</p>",
            g.truncated
        );
    }
    // The same edges as text, for reading and searching.
    h.push_str("<details><summary>Edges as text</summary><ul>");
    for edge in &g.edges {
        let _ = write!(
            h,
            "<li>{} → {}: {}</li>",
            e(&g.nodes[edge.from].label),
            e(&g.nodes[edge.to].label),
            e(&edge.label)
        );
    }
    h.push_str("</ul></details>");
}

fn problems(h: &mut String, result: &ScanResult) {
    if !result.errors.is_empty() {
        h.push_str("<h2 id=\"errors\">Errors</h2><ul>");
        for err in &result.errors {
            let _ = write!(h, "<li>{}</li>", e(&err.to_string()));
        }
        h.push_str("</ul>");
    }
    if !result.not_evaluated.is_empty() || !result.not_applicable.is_empty() {
        h.push_str("<h2 id=\"not-evaluated\">Not evaluated or not applicable</h2><ul>");
        for n in &result.not_evaluated {
            let _ = write!(
                h,
                "<li>not evaluated: {}: {}</li>",
                e(&n.resource),
                e(&n.reason)
            );
        }
        for n in &result.not_applicable {
            let _ = write!(
                h,
                "<li>not applicable: {}: {}</li>",
                e(n.check.id),
                e(&n.reason)
            );
        }
        h.push_str("</ul>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new("t", "d");
        for (a, b) in edges {
            let (a, b) = (g.node(a, false), g.node(b, false));
            g.edge(a, b, "x");
        }
        g
    }

    #[test]
    fn chains_read_left_to_right_by_their_longest_path() {
        // a -> b -> admin, c -> admin: admin sits after b, not beside it.
        let g = graph(&[("a", "b"), ("b", "admin"), ("c", "admin")]);
        assert_eq!(layers(&g), [0, 1, 2, 0]);
    }

    #[test]
    fn cycles_are_laid_out_by_distance_and_end() {
        // internet -> w1 <-> w2 <-> w3, and an island cycle x <-> y.
        let g = graph(&[
            ("internet", "w1"),
            ("w1", "w2"),
            ("w2", "w1"),
            ("w2", "w3"),
            ("w3", "w2"),
            ("x", "y"),
            ("y", "x"),
        ]);
        assert_eq!(layers(&g), [0, 1, 2, 3, 0, 1]);
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let mut g = graph(&[("<script>alert(1)</script>", "b")]);
        g.title = "<b>t</b>".into();
        let mut h = String::new();
        super::graph(&mut h, 0, &g);
        assert!(!h.contains("<script>"), "{h}");
        assert!(!h.contains("<b>t</b>"), "{h}");
        assert!(h.contains("&lt;script&gt;"));
    }
}
