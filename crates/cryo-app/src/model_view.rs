//! A cross-validation report as one self-contained HTML page: held-out predictions against
//! observations (with their intervals, covered ones in green), the learning curve, and the fold
//! table. No scripts, no external assets.

use cryo_ml::{CvReport, LearningPoint};
use std::fmt::Write;

/// A metrics row's coverage and mean interval width as table cells (empty without intervals).
pub fn interval_cells(m: &cryo_ml::Metrics) -> (String, String) {
    (
        m.coverage
            .map(|c| format!("{:.1}%", c * 100.0))
            .unwrap_or_default(),
        m.mean_width.map(|w| format!("{w:.3}")).unwrap_or_default(),
    )
}

const W: f64 = 460.0;
const H: f64 = 360.0;
const PAD: f64 = 48.0;

fn scale(v: f64, lo: f64, hi: f64, out_lo: f64, out_hi: f64) -> f64 {
    if hi > lo {
        out_lo + (v - lo) / (hi - lo) * (out_hi - out_lo)
    } else {
        (out_lo + out_hi) / 2.0
    }
}

fn axes(svg: &mut String, x_label: &str, y_label: &str, lo: (f64, f64), hi: (f64, f64)) {
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#444"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="#444"/>
<text x="{cx}" y="{ly}" font-size="12" text-anchor="middle">{x_label}</text>
<text x="14" y="{cy}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {cy})">{y_label}</text>
<text x="{PAD}" y="{ty}" font-size="10">{x0:.2}</text><text x="{r}" y="{ty}" font-size="10" text-anchor="end">{x1:.2}</text>
<text x="{lx}" y="{b}" font-size="10" text-anchor="end">{y0:.2}</text><text x="{lx}" y="{t}" font-size="10" text-anchor="end">{y1:.2}</text>"##,
        b = H - PAD,
        r = W - 10.0,
        cx = (PAD + W - 10.0) / 2.0,
        ly = H - 8.0,
        cy = H / 2.0,
        ty = H - PAD + 14.0,
        lx = PAD - 4.0,
        t = PAD + 4.0,
        x0 = lo.0,
        x1 = hi.0,
        y0 = lo.1,
        y1 = hi.1,
    );
}

/// Observed (x) against held-out predicted (y), the diagonal, and each point's interval.
pub fn scatter(report: &CvReport) -> String {
    let p = &report.predictions;
    let values = p.iter().flat_map(|o| {
        let iv = o
            .interval
            .map(|i| [i.lower, i.upper])
            .unwrap_or([o.predicted, o.predicted]);
        [o.observed, o.predicted, iv[0], iv[1]]
    });
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let sx = |v: f64| scale(v, lo, hi, PAD, W - 10.0);
    let sy = |v: f64| scale(v, lo, hi, H - PAD, PAD);
    let mut svg = format!(
        r#"<svg role="img" aria-label="held-out predictions against observations" width="{W}" height="{H}">"#
    );
    axes(
        &mut svg,
        "observed",
        "predicted (held out)",
        (lo, lo),
        (hi, hi),
    );
    let _ = write!(
        svg,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4"/>"##,
        sx(lo),
        sy(lo),
        sx(hi),
        sy(hi)
    );
    for o in p {
        let covered = o
            .interval
            .is_none_or(|i| i.lower <= o.observed && o.observed <= i.upper);
        let colour = if covered { "#2e7d32" } else { "#c62828" };
        if let Some(i) = o
            .interval
            .filter(|i| i.lower.is_finite() && i.upper.is_finite())
        {
            let _ = write!(
                svg,
                r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{colour}" stroke-opacity="0.25"/>"#,
                sy(i.lower),
                sy(i.upper),
                x = sx(o.observed)
            );
        }
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}" fill-opacity="0.7"/>"#,
            sx(o.observed),
            sy(o.predicted)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Fit and held-out R² against training rows.
pub fn learning_curve(points: &[LearningPoint]) -> String {
    let xs: Vec<f64> = points.iter().map(|p| p.train_size).collect();
    let (x0, x1) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let ys = points.iter().flat_map(|p| [p.fit_r2, p.validation_r2]);
    let y0 = ys.clone().fold(0.0_f64, f64::min);
    let y1 = ys.fold(1.0_f64, f64::max);
    let sx = |v: f64| scale(v, x0, x1, PAD, W - 10.0);
    let sy = |v: f64| scale(v, y0, y1, H - PAD, PAD);
    let mut svg =
        format!(r#"<svg role="img" aria-label="learning curve" width="{W}" height="{H}">"#);
    axes(&mut svg, "training rows", "R²", (x0, y0), (x1, y1));
    for (name, colour, get) in [
        (
            "fit",
            "#1565c0",
            (|p: &LearningPoint| p.fit_r2) as fn(&LearningPoint) -> f64,
        ),
        ("held out", "#ef6c00", |p: &LearningPoint| p.validation_r2),
    ] {
        let path: Vec<String> = points
            .iter()
            .map(|p| format!("{:.1},{:.1}", sx(p.train_size), sy(get(p))))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        if let Some(last) = points.last() {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{colour}" text-anchor="end">{name}</text>"#,
                sx(last.train_size) - 4.0,
                sy(get(last)) - 6.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Held-out residual (observed − predicted, y) against the prediction (x), with the zero line:
/// a trend or a funnel shows bias or error growing with the value.
pub fn residuals(report: &CvReport) -> String {
    let p: Vec<(f64, f64)> = report
        .predictions
        .iter()
        .map(|o| (o.predicted, o.observed - o.predicted))
        .filter(|(x, r)| x.is_finite() && r.is_finite())
        .collect();
    let (x0, x1) = p
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| {
            (a.min(*x), b.max(*x))
        });
    let bound = p.iter().fold(0.0_f64, |m, (_, r)| m.max(r.abs())).max(1e-9);
    let sx = |v: f64| scale(v, x0, x1, PAD, W - 10.0);
    let sy = |v: f64| scale(v, -bound, bound, H - PAD, PAD);
    let mut svg = format!(r#"<svg role="img" aria-label="residuals" width="{W}" height="{H}">"#);
    axes(
        &mut svg,
        "predicted (held out)",
        "observed − predicted",
        (x0, -bound),
        (x1, bound),
    );
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{y}" x2="{r}" y2="{y}" stroke="#999" stroke-dasharray="4"/>"##,
        y = sy(0.0),
        r = W - 10.0
    );
    for (x, r) in &p {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#1565c0" fill-opacity="0.6"/>"##,
            sx(*x),
            sy(*r)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The `top` most important features as horizontal bars (share of the total importance).
pub fn importance_bars(importance: &[(String, f64)], top: usize) -> String {
    let rows: Vec<&(String, f64)> = importance.iter().take(top).collect();
    let max = rows.iter().fold(0.0_f64, |m, (_, v)| m.max(*v)).max(1e-12);
    let (label_w, row_h) = (170.0, 22.0);
    let height = PAD / 2.0 + row_h * rows.len() as f64 + 24.0;
    let mut svg = format!(
        r#"<svg role="img" aria-label="feature importance" width="{W}" height="{height}">"#
    );
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;");
    for (i, (name, value)) in rows.iter().enumerate() {
        let y = PAD / 2.0 + i as f64 * row_h;
        let w = (W - label_w - 60.0) * value / max;
        let _ = write!(
            svg,
            r##"<text x="{lx}" y="{ty:.1}" font-size="11" text-anchor="end">{name}</text><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="{h}" fill="#6a1b9a"/><text x="{vx:.1}" y="{ty:.1}" font-size="10">{pct:.1}%</text>"##,
            lx = label_w - 6.0,
            ty = y + row_h * 0.65,
            name = esc(name),
            h = row_h - 6.0,
            vx = label_w + w + 4.0,
            pct = value * 100.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{label_w}" y="{:.1}" font-size="11">share of the model's total importance</text></svg>"#,
        height - 6.0
    );
    svg
}

/// A registry version's report: the cross-validation page plus residuals and importances.
pub fn version_html(
    title: &str,
    report: &CvReport,
    importance: Option<&[(String, f64)]>,
) -> String {
    let mut extra = format!(
        "<figure>{}<figcaption>Held-out residuals against the prediction.</figcaption></figure>",
        residuals(report)
    );
    if let Some(imp) = importance.filter(|i| !i.is_empty()) {
        let _ = write!(
            extra,
            "<figure>{}<figcaption>The ten most important features of the final model.</figcaption></figure>",
            importance_bars(imp, 10)
        );
    }
    html(title, report, None).replacen("<table>", &format!("{extra}\n<table>"), 1)
}

/// The reports' one stylesheet.
const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}figure{display:inline-block;margin:0 2em 1em 0}";

/// Text made safe inside HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The whole page: summary, diagnosis, held-out predictions, the learning curve if given, and
/// the fold table.
pub fn html(title: &str, report: &CvReport, curve: Option<&[LearningPoint]>) -> String {
    let mut rows = String::new();
    for f in &report.folds {
        let v = &f.validation;
        let (coverage, width) = interval_cells(v);
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
            f.index + 1,
            f.train_size,
            f.test_size,
            v.rmse,
            v.mae,
            v.r2,
            v.spearman,
            coverage,
            width
        );
    }
    let p = &report.pooled;
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{t}</title>
<style>{style}</style></head>
<body><h1>{t}</h1><p>{alg} {params} — {split}, seed {seed}. Pooled over {n} held-out predictions: RMSE {rmse:.4}, MAE {mae:.4}, R² {r2:.3}, Spearman {sp:.3}{cov}.</p>
<p>Diagnosis: {diag}</p>
<figure>{scatter}<figcaption>Held-out predictions; bars are the {level} intervals, red points fall outside theirs.</figcaption></figure>
{curve}
<table><tr><th>fold</th><th>train</th><th>test</th><th>RMSE</th><th>MAE</th><th>R²</th><th>Spearman</th><th>coverage</th><th>width</th></tr>{rows}</table></body></html>"#,
        t = esc(title),
        style = PAGE_STYLE,
        alg = report.spec.algorithm(),
        params = esc(&serde_json::Value::Object(report.spec.params()).to_string()),
        split = esc(&report.splitter),
        seed = report.seed,
        n = p.n,
        rmse = p.rmse,
        mae = p.mae,
        r2 = p.r2,
        sp = p.spearman,
        cov = match (p.coverage, p.mean_width) {
            (Some(c), Some(w)) =>
                format!(", interval coverage {:.1}% (mean width {w:.3})", c * 100.0),
            _ => String::new(),
        },
        diag = esc(&report.diagnosis.message),
        scatter = scatter(report),
        level = report
            .level
            .map(|l| format!("{:.0}%", l * 100.0))
            .unwrap_or_else(|| "prediction".into()),
        curve = curve
            .map(|c| format!(
                "<figure>{}<figcaption>Learning curve (mean over folds).</figcaption></figure>",
                learning_curve(c)
            ))
            .unwrap_or_default(),
    )
}

/// An SVG on the unit square with its axes and a dashed reference line from `from` to `to`,
/// with the maps from data to pixels; the caller draws, then closes with `</svg>`.
fn unit_square(
    labels: (&str, &str),
    (from, to): ((f64, f64), (f64, f64)),
) -> (String, impl Fn(f64) -> f64, impl Fn(f64) -> f64) {
    let mut svg = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}">"#);
    axes(&mut svg, labels.0, labels.1, (0.0, 0.0), (1.0, 1.0));
    let x = |v: f64| scale(v, 0.0, 1.0, PAD, W - 10.0);
    let y = |v: f64| scale(v, 0.0, 1.0, H - PAD, PAD);
    let _ = write!(
        svg,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 3"/>"##,
        x(from.0),
        y(from.1),
        x(to.0),
        y(to.1)
    );
    (svg, x, y)
}

/// A curve (ROC, precision–recall) on the unit square, with a dashed reference line from
/// `reference.0` to `reference.1` (the chance diagonal, or the positive rate).
pub fn unit_curve(
    points: &[cryo_ml::classify::CurvePoint],
    labels: (&str, &str),
    reference: ((f64, f64), (f64, f64)),
) -> String {
    let (mut svg, x, y) = unit_square(labels, reference);
    let path: Vec<String> = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.x), y(p.y)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/></svg>"##,
        path.join(" ")
    );
    svg
}

/// The reliability diagram: per confidence bin, the share correct against the mean
/// confidence (the diagonal is perfect calibration), each point sized by its rows.
pub fn reliability_chart(bins: &[cryo_ml::classify::ReliabilityBin]) -> String {
    let (mut svg, x, y) = unit_square(("confidence", "accuracy"), ((0.0, 0.0), (1.0, 1.0)));
    let most = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    for b in bins {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="#d62728" fill-opacity="0.7"><title>{} rows: confidence {:.3}, accuracy {:.3}</title></circle>"##,
            x(b.confidence),
            y(b.accuracy),
            3.0 + 7.0 * (b.count as f64 / most).sqrt(),
            b.count,
            b.confidence,
            b.accuracy
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A classifier's validation as one self-contained page: metrics, prediction sets, the
/// reliability diagram, ROC and precision–recall curves, and the fold table.
pub fn classifier_html(
    title: &str,
    envelope: &cryo_ml::classify::ClassEnvelope,
    v: &cryo_ml::classify::ClassValidation,
) -> String {
    let classes = &envelope.classes;
    let positive = if classes.len() == 2 {
        format!(" (positive class: {})", esc(&classes[1]))
    } else {
        " (each class against the rest)".to_string()
    };
    let mut figures = format!(
        "<figure>{}<figcaption>Reliability: held-out share correct against confidence.</figcaption></figure>",
        reliability_chart(&v.reliability)
    );
    for (i, curve) in v.roc.iter().enumerate() {
        let class = if classes.len() == 2 { 1 } else { i };
        let _ = write!(
            figures,
            "<figure>{}<figcaption>ROC, {}.</figcaption></figure>",
            unit_curve(
                curve,
                ("false-positive rate", "true-positive rate"),
                ((0.0, 0.0), (1.0, 1.0))
            ),
            esc(&classes[class])
        );
    }
    for (i, curve) in v.pr.iter().enumerate() {
        let class = if classes.len() == 2 { 1 } else { i };
        let rate =
            v.class_counts[class] as f64 / v.class_counts.iter().sum::<usize>().max(1) as f64;
        let _ = write!(
            figures,
            "<figure>{}<figcaption>Precision–recall, {}.</figcaption></figure>",
            unit_curve(curve, ("recall", "precision"), ((0.0, rate), (1.0, rate))),
            esc(&classes[class])
        );
    }
    let mut rows = String::new();
    for f in &v.folds {
        let m = &f.metrics;
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.4}</td><td>{:.4}</td><td>{:.1}%</td><td>{:.2}</td></tr>",
            f.index + 1,
            m.n,
            m.roc_auc,
            m.balanced_accuracy,
            m.accuracy,
            m.brier,
            m.log_loss,
            f.sets.coverage * 100.0,
            f.sets.mean_size
        );
    }
    let counts: Vec<String> = classes
        .iter()
        .zip(&v.class_counts)
        .map(|(c, n)| format!("{} ({n})", esc(c)))
        .collect();
    let p = &v.pooled;
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{t}</title>
<style>{style}</style></head>
<body><h1>{t}</h1><p>{alg} classifier — {split}, seed {seed}; classes {counts}{positive}. Probabilities recalibrated by {recal}.</p>
<p>Pooled over {n} held-out predictions: ROC-AUC {auc:.3}, PR-AUC {ap:.3}, accuracy {acc:.3}, balanced accuracy {bacc:.3}, Brier {brier:.4}, log loss {ll:.4}, ECE {ece:.4}.</p>
<p>{level:.0} % prediction sets ({sets}): held-out coverage {cov:.1} %, mean size {size:.2}.</p>
{figures}
<table><tr><th>fold</th><th>test</th><th>ROC-AUC</th><th>balanced acc.</th><th>accuracy</th><th>Brier</th><th>log loss</th><th>set coverage</th><th>set size</th></tr>{rows}</table></body></html>"#,
        t = esc(title),
        style = PAGE_STYLE,
        alg = envelope.kind,
        split = esc(&v.splitter),
        seed = envelope.seed,
        counts = counts.join(", "),
        recal = envelope.options.recalibration.name(),
        n = p.n,
        auc = p.roc_auc,
        ap = p.pr_auc,
        acc = p.accuracy,
        bacc = p.balanced_accuracy,
        brier = p.brier,
        ll = p.log_loss,
        ece = p.ece,
        level = v.sets.level * 100.0,
        sets = envelope.options.sets.name().replace('_', "-"),
        cov = v.sets.coverage * 100.0,
        size = v.sets.mean_size,
    )
}
