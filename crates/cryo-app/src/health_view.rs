//! Renderings of a database health report: a terminal table, Markdown (for tickets and chat), and
//! a self-contained HTML page with a chart (status colour and run time per check).

use cryo_db::health::{Report, Status};
use std::fmt::Write;

fn word(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Warning => "warning",
        Status::Critical => "critical",
        Status::Error => "error",
    }
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Ok => "#2e7d32",
        Status::Warning => "#f9a825",
        Status::Critical => "#c62828",
        Status::Error => "#6a1b9a",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn text(r: &Report) -> String {
    let mut out = String::new();
    for c in &r.checks {
        let _ = writeln!(out, "{:<9} {:<24} {}", word(c.status), c.name, c.message);
        if let Some(rec) = &c.recommendation {
            let _ = writeln!(out, "{:<9} {:<24} → {rec}", "", "");
        }
    }
    let _ = write!(
        out,
        "overall: {} ({} checks in {:.0} ms{})",
        word(r.status),
        r.checks.len(),
        r.millis,
        if r.monitor_role {
            ", as cryoprotect_monitor"
        } else {
            ", monitoring role missing: ran as the connecting role"
        }
    );
    out
}

pub fn markdown(r: &Report) -> String {
    let mut out = format!(
        "## Database health: **{}**\n\n| check | status | value | threshold | message | recommendation |\n|---|---|---|---|---|---|\n",
        word(r.status)
    );
    for c in &r.checks {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            c.name,
            word(c.status),
            cell(&c.value.to_string()),
            cell(&c.threshold),
            cell(&c.message),
            cell(c.recommendation.as_deref().unwrap_or(""))
        );
    }
    let _ = write!(out, "\n{} checks in {:.0} ms", r.checks.len(), r.millis);
    out
}

pub fn html(r: &Report) -> String {
    let longest = r.checks.iter().map(|c| c.millis).fold(1.0, f64::max);
    let row_h = 22.0;
    let mut bars = String::new();
    for (i, c) in r.checks.iter().enumerate() {
        let y = i as f64 * row_h;
        let w = (c.millis / longest * 360.0).max(2.0);
        let _ = write!(
            bars,
            r#"<text x="0" y="{ty}" font-size="12">{name}</text><rect x="190" y="{y}" width="{w:.1}" height="16" fill="{fill}"><title>{name}: {st}, {ms:.1} ms</title></rect><text x="{tx:.1}" y="{ty}" font-size="11">{ms:.1} ms</text>"#,
            ty = y + 12.0,
            name = c.name,
            y = y,
            fill = colour(c.status),
            st = word(c.status),
            ms = c.millis,
            tx = 196.0 + w
        );
    }
    let mut rows = String::new();
    for c in &r.checks {
        let _ = write!(
            rows,
            r#"<tr><td>{}</td><td><span class="badge" style="background:{}">{}</span></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            c.name,
            colour(c.status),
            word(c.status),
            escape(&c.value.to_string()),
            escape(&c.threshold),
            escape(&c.message),
            escape(c.recommendation.as_deref().unwrap_or(""))
        );
    }
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>CryoProtect database health</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:4px 8px;vertical-align:top}}.badge{{color:#fff;padding:2px 6px;border-radius:4px}}</style></head>
<body><h1>Database health: <span class="badge" style="background:{}">{}</span></h1>
<p>{} checks in {:.0} ms.</p>
<svg role="img" aria-label="status and run time per check" width="640" height="{}">{}</svg>
<table><tr><th>check</th><th>status</th><th>value</th><th>threshold</th><th>message</th><th>recommendation</th></tr>{}</table></body></html>"#,
        colour(r.status),
        word(r.status),
        r.checks.len(),
        r.millis,
        r.checks.len() as f64 * row_h + 4.0,
        bars,
        rows
    )
}
