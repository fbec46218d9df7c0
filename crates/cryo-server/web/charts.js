// SVG charts drawn in the browser from API data: no library, nothing fetched at run time.
// Every chart is a <figure class="chart" data-chart=KIND> with axes, units, a legend and a
// native tooltip (<title>) on each mark. Colours are the Okabe–Ito palette (colour-blind safe).
import { h, s, fmt } from './dom.js';

export const COLORS = {
  blue: '#0072B2', orange: '#E69F00', green: '#009E73', red: '#D55E00',
  purple: '#CC79A7', sky: '#56B4E9', grey: '#7f8c99',
};
const SERIES = [COLORS.blue, COLORS.orange, COLORS.green, COLORS.red, COLORS.purple, COLORS.sky];

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function extent(values, pad = 0.05) {
  const v = values.filter(Number.isFinite);
  if (!v.length) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (lo === hi) { lo -= 1; hi += 1; }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

const linear = (d0, d1, r0, r1) => (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);

function figure(kind, svg, caption, legend, attrs = {}) {
  return h('figure', { class: 'chart', dataset: { chart: kind, ...attrs } },
    svg,
    legend && legend.length ? h('div', { class: 'legend' }, legend.map(([color, label]) => h('span', {}, swatch(color), label))) : null,
    caption ? h('figcaption', {}, caption) : null);
}

// Set through the CSSOM: the page's CSP allows that, unlike style attributes.
function swatch(color) {
  const i = h('i', {});
  i.style.background = color;
  return i;
}

/** Axes, grid and labels for an x/y chart; returns the svg and the two scales. */
function frame({ title, x, y, width = 520, height = 360 }) {
  const m = { top: title ? 30 : 14, right: 16, bottom: 46, left: 62 };
  const X = linear(x.domain[0], x.domain[1], m.left, width - m.right);
  const Y = linear(y.domain[0], y.domain[1], height - m.bottom, m.top);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title || `${y.label} against ${x.label}` });
  if (title) svg.append(s('text', { class: 'title', x: m.left, y: 18 }, title));
  const xt = ticks(x.domain[0], x.domain[1], x.ticks || 6);
  const yt = ticks(y.domain[0], y.domain[1], y.ticks || 5);
  const grid = s('g', {});
  for (const t of xt) grid.append(s('line', { class: 'grid-line', x1: X(t), x2: X(t), y1: m.top, y2: height - m.bottom }));
  for (const t of yt) grid.append(s('line', { class: 'grid-line', x1: m.left, x2: width - m.right, y1: Y(t), y2: Y(t) }));
  const axes = s('g', { class: 'axis' },
    s('line', { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom }),
    s('line', { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom }),
    xt.map((t) => s('text', { x: X(t), y: height - m.bottom + 15, 'text-anchor': 'middle' }, (x.format || fmt)(t))),
    yt.map((t) => s('text', { x: m.left - 6, y: Y(t) + 4, 'text-anchor': 'end' }, (y.format || fmt)(t))),
    s('text', { class: 'axis-label', x: (m.left + width - m.right) / 2, y: height - 8, 'text-anchor': 'middle' }, x.label),
    s('text', { class: 'axis-label', transform: `translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)`, 'text-anchor': 'middle' }, y.label));
  svg.append(grid, axes);
  const plot = s('g', { class: 'plot' });
  svg.append(plot);
  return { svg, plot, X, Y, m, width, height };
}

const withUnit = (label, unit) => (unit ? `${label} (${unit})` : label);

/**
 * Predicted against measured, one point per held-out prediction, with its interval as an error
 * bar; points outside their interval in vermillion.
 */
export function parity(predictions, { unit, level } = {}) {
  const all = predictions.flatMap((p) => [p.observed, p.predicted, p.interval?.lower, p.interval?.upper]).filter(Number.isFinite);
  const domain = extent(all, 0.04);
  const f = frame({ x: { domain, label: withUnit('Measured', unit) }, y: { domain, label: withUnit('Predicted', unit) } });
  f.plot.append(s('line', { x1: f.X(domain[0]), y1: f.Y(domain[0]), x2: f.X(domain[1]), y2: f.Y(domain[1]), stroke: COLORS.grey, 'stroke-dasharray': '5 4' }));
  let outside = 0;
  for (const p of predictions) {
    const iv = p.interval;
    const covered = iv ? p.observed >= iv.lower && p.observed <= iv.upper : true;
    if (!covered) outside++;
    const color = covered ? COLORS.blue : COLORS.red;
    if (iv && Number.isFinite(iv.lower) && Number.isFinite(iv.upper)) {
      f.plot.append(s('line', { class: 'errorbar', x1: f.X(p.observed), x2: f.X(p.observed), y1: f.Y(iv.lower), y2: f.Y(iv.upper), stroke: color, 'stroke-opacity': 0.35 }));
    }
    f.plot.append(s('circle', { class: 'point', cx: f.X(p.observed), cy: f.Y(p.predicted), r: 3.4, fill: color, 'fill-opacity': 0.85, dataset: { covered } },
      s('title', {}, `row ${p.row}: measured ${fmt(p.observed)}, predicted ${fmt(p.predicted)}` + (iv ? ` [${fmt(iv.lower)}, ${fmt(iv.upper)}]` : ''))));
  }
  const pct = level ? `${Math.round(level * 100)} %` : '';
  return figure('parity', f.svg,
    `${predictions.length} held-out predictions; ${outside} outside their ${pct} interval.`,
    [[COLORS.blue, `inside ${pct} interval`], [COLORS.red, 'outside interval'], [COLORS.grey, 'ideal (predicted = measured)']],
    { points: predictions.length });
}

/** Residual (measured − predicted) against predicted. */
export function residuals(predictions, { unit } = {}) {
  const r = predictions.map((p) => p.observed - p.predicted);
  const bound = Math.max(...r.map(Math.abs).filter(Number.isFinite), 1e-9) * 1.08;
  const f = frame({ x: { domain: extent(predictions.map((p) => p.predicted)), label: withUnit('Predicted', unit) }, y: { domain: [-bound, bound], label: withUnit('Residual, measured − predicted', unit) } });
  f.plot.append(s('line', { x1: f.m.left, x2: f.width - f.m.right, y1: f.Y(0), y2: f.Y(0), stroke: COLORS.grey, 'stroke-dasharray': '5 4' }));
  predictions.forEach((p, i) => f.plot.append(s('circle', { class: 'point', cx: f.X(p.predicted), cy: f.Y(r[i]), r: 3.2, fill: COLORS.green, 'fill-opacity': 0.8 },
    s('title', {}, `row ${p.row}: predicted ${fmt(p.predicted)}, residual ${fmt(r[i])}`))));
  return figure('residuals', f.svg, 'A good model scatters evenly around zero at every predicted value.',
    [[COLORS.green, 'held-out prediction'], [COLORS.grey, 'zero residual']], { points: predictions.length });
}

/** A line chart of several series: [{name, color, points: [{x, y, note}]}]. */
export function lines(kind, series, { x, y, diagonal = false, caption, legend = [] }) {
  const f = frame({ x, y });
  if (diagonal) {
    const [a, b] = [Math.max(x.domain[0], y.domain[0]), Math.min(x.domain[1], y.domain[1])];
    f.plot.append(s('line', { x1: f.X(a), y1: f.Y(a), x2: f.X(b), y2: f.Y(b), stroke: COLORS.grey, 'stroke-dasharray': '5 4' }));
    legend = [...legend, [COLORS.grey, 'ideal']];
  }
  series.forEach((ser, i) => {
    const color = ser.color || SERIES[i % SERIES.length];
    const pts = ser.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    f.plot.append(s('polyline', { fill: 'none', stroke: color, 'stroke-width': 2, points: pts.map((p) => `${f.X(p.x)},${f.Y(p.y)}`).join(' ') }));
    for (const p of pts) {
      f.plot.append(s('circle', { class: 'point', cx: f.X(p.x), cy: f.Y(p.y), r: 4, fill: color },
        s('title', {}, `${ser.name}: ${fmt(p.y)} at ${fmt(p.x)}${p.note ? ' — ' + p.note : ''}`)));
    }
  });
  return figure(kind, f.svg, caption, [...series.map((ser, i) => [ser.color || SERIES[i % SERIES.length], ser.name]), ...legend]);
}

/** Observed coverage against nominal level. */
export function calibration(curve) {
  const pts = curve.map((c) => ({ x: c.nominal, y: c.observed, note: c.mean_width == null ? 'unbounded intervals' : `mean width ${fmt(c.mean_width)}` }));
  const lo = Math.min(0.4, ...pts.map((p) => p.y).filter(Number.isFinite)) - 0.02;
  const pct = (v) => `${Math.round(v * 100)}%`;
  return lines('calibration', [{ name: 'observed coverage', color: COLORS.blue, points: pts }], {
    x: { domain: [lo, 1], label: 'Nominal interval level', format: pct },
    y: { domain: [lo, 1], label: 'Observed coverage (held-out)', format: pct },
    diagonal: true,
    caption: 'Above the diagonal: intervals are conservative; below: too narrow.',
  });
}

/** Held-out and training R² as the training set grows. */
export function learningCurve(points) {
  const xs = points.map((p) => p.train_size);
  const ys = points.flatMap((p) => [p.fit_r2, p.validation_r2]);
  return lines('learning-curve', [
    { name: 'training R² (fit)', color: COLORS.orange, points: points.map((p) => ({ x: p.train_size, y: p.fit_r2 })) },
    { name: 'held-out R²', color: COLORS.blue, points: points.map((p) => ({ x: p.train_size, y: p.validation_r2, note: `RMSE ${fmt(p.validation_rmse)}` })) },
  ], {
    x: { domain: extent(xs), label: 'Training rows per fold' },
    y: { domain: extent([...ys, Math.min(1, Math.max(...ys.filter(Number.isFinite)))]), label: 'R² (coefficient of determination)' },
    caption: 'A gap that closes as rows grow: more data helps. A wide gap: overfitting.',
  });
}

/** Horizontal bars: [{label, value, note}]. */
export function hbars(kind, items, { label, max, color = COLORS.blue, caption, format = fmt } = {}) {
  const width = 520;
  const rowH = 22;
  const m = { top: 8, right: 56, bottom: 40, left: 170 };
  const height = m.top + m.bottom + rowH * items.length;
  const top = max ?? Math.max(...items.map((i) => i.value).filter(Number.isFinite), 1e-9);
  const X = linear(0, top, m.left, width - m.right);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  const axis = s('g', { class: 'axis' });
  for (const t of ticks(0, top, 5)) {
    svg.append(s('line', { class: 'grid-line', x1: X(t), x2: X(t), y1: m.top, y2: height - m.bottom }));
    axis.append(s('text', { x: X(t), y: height - m.bottom + 15, 'text-anchor': 'middle' }, format(t)));
  }
  axis.append(s('line', { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom }),
    s('text', { class: 'axis-label', x: (m.left + width - m.right) / 2, y: height - 6, 'text-anchor': 'middle' }, label));
  svg.append(axis);
  items.forEach((it, i) => {
    const y = m.top + i * rowH + 3;
    const w = Math.max(0, X(Math.max(0, it.value)) - m.left);
    svg.append(
      s('text', { x: m.left - 6, y: y + 12, 'text-anchor': 'end' }, it.label.length > 26 ? it.label.slice(0, 25) + '…' : it.label),
      s('rect', { class: 'bar', x: m.left, y, width: w, height: rowH - 6, fill: it.color || color, rx: 2 }, s('title', {}, `${it.label}: ${format(it.value)}${it.note ? ' — ' + it.note : ''}`)),
      s('text', { x: m.left + w + 4, y: y + 12 }, format(it.value)));
    if (Number.isFinite(it.lo) && Number.isFinite(it.hi)) {
      svg.append(s('line', { class: 'whisker', x1: X(it.lo), x2: X(it.hi), y1: y + (rowH - 6) / 2, y2: y + (rowH - 6) / 2, stroke: COLORS.grey, 'stroke-width': 2 }));
    }
  });
  return figure(kind, svg, caption, null, { points: items.length });
}

/** Feature importances of the final model (top `n`). */
export function importance(pairs, n = 15) {
  const items = pairs.slice(0, n).map(([label, value]) => ({ label, value }));
  return hbars('importance', items, { label: 'Importance (share of impurity decrease)', caption: `Top ${items.length} of ${pairs.length} features of the final model.` });
}

/** Vertical grouped bars: groups [{label, values: [..]}], series names. */
export function groupedBars(kind, groups, seriesNames, { y, caption, reference } = {}) {
  const all = groups.flatMap((g) => g.values).filter(Number.isFinite);
  const f = frame({ x: { domain: [0, groups.length], label: y.x || '', ticks: 1, format: () => '' }, y: { domain: [0, Math.max(...all, 1e-9) * 1.12], label: y.label } });
  const slot = (f.X(1) - f.X(0)) * 0.8;
  const bw = slot / seriesNames.length;
  groups.forEach((g, gi) => {
    const x0 = f.X(gi) + (f.X(1) - f.X(0)) * 0.1;
    f.svg.append(s('text', { x: x0 + slot / 2, y: f.height - f.m.bottom + 15, 'text-anchor': 'middle' }, g.label));
    g.values.forEach((v, si) => {
      if (!Number.isFinite(v)) return;
      f.plot.append(s('rect', { class: 'bar', x: x0 + si * bw, y: f.Y(v), width: bw - 2, height: f.Y(0) - f.Y(v), fill: SERIES[si % SERIES.length] },
        s('title', {}, `${g.label}, ${seriesNames[si]}: ${fmt(v)}`)));
    });
  });
  const legend = seriesNames.map((n, i) => [SERIES[i % SERIES.length], n]);
  if (reference) {
    f.plot.append(s('line', { x1: f.m.left, x2: f.width - f.m.right, y1: f.Y(reference.value), y2: f.Y(reference.value), stroke: COLORS.grey, 'stroke-dasharray': '5 4' }));
    legend.push([COLORS.grey, reference.label]);
  }
  return figure(kind, f.svg, caption, legend, { points: groups.length });
}

/** Per-fold held-out and training RMSE. */
export function folds(foldReports, { unit } = {}) {
  const groups = foldReports.map((f) => ({ label: `fold ${f.index + 1}${f.repeat ? '/' + (f.repeat + 1) : ''}`, values: [f.validation.rmse, f.fit.rmse] }));
  const mean = foldReports.reduce((a, f) => a + f.validation.rmse, 0) / Math.max(1, foldReports.length);
  return groupedBars('folds', groups, ['held-out RMSE', 'training RMSE'], {
    y: { label: withUnit('RMSE', unit), x: 'Fold' },
    reference: { value: mean, label: `mean held-out RMSE ${fmt(mean)}` },
    caption: 'Each fold is scored on rows its model never saw; training RMSE is shown only for contrast.',
  });
}

/** Radar of values in [0, max] on shared axes: series [{name, values}]. */
export function radar(axes, series, { max = 100, caption } = {}) {
  // Wider than tall: axis labels sit left and right of the circle.
  const width = 480;
  const height = 340;
  const c = height / 2;
  const cx = width / 2;
  const r = c - 40;
  const angle = (i) => -Math.PI / 2 + (2 * Math.PI * i) / axes.length;
  const at = (i, v) => [cx + Math.cos(angle(i)) * r * (v / max), c + Math.sin(angle(i)) * r * (v / max)];
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'radar chart' });
  for (const ring of [0.25, 0.5, 0.75, 1]) {
    svg.append(s('polygon', { class: 'grid-line', fill: 'none', stroke: '#dde5ec', points: axes.map((_, i) => at(i, ring * max).join(',')).join(' ') }));
    svg.append(s('text', { x: cx + 3, y: c - r * ring + 11, 'font-size': 9 }, fmt(ring * max)));
  }
  axes.forEach((name, i) => {
    const [x, y] = at(i, max);
    const [lx, ly] = at(i, max * 1.1);
    svg.append(s('line', { x1: cx, y1: c, x2: x, y2: y, stroke: '#c9d4de' }),
      s('text', { x: lx, y: ly + (ly < c - r * 0.9 ? -2 : ly > c + r * 0.9 ? 10 : 4), 'text-anchor': Math.abs(lx - cx) < 8 ? 'middle' : lx > cx ? 'start' : 'end' }, name));
  });
  series.forEach((ser, si) => {
    const color = SERIES[si % SERIES.length];
    svg.append(s('polygon', { class: 'series', fill: color, 'fill-opacity': 0.14, stroke: color, 'stroke-width': 2, points: ser.values.map((v, i) => at(i, Math.max(0, Math.min(max, v))).join(',')).join(' ') }));
    ser.values.forEach((v, i) => {
      const [x, y] = at(i, Math.max(0, Math.min(max, v)));
      svg.append(s('circle', { class: 'point', cx: x, cy: y, r: 3.2, fill: color }, s('title', {}, `${ser.name}, ${axes[i]}: ${fmt(v)}`)));
    });
  });
  return figure('radar', svg, caption, series.map((ser, i) => [SERIES[i % SERIES.length], ser.name]));
}

/**
 * Curves against time, no point markers (a trajectory has hundreds of points), with an optional
 * shaded band (a tolerance range) and dashed reference lines; each curve's tooltip gives its
 * extremes.
 */
export function curves(kind, series, { x, y, band, caption }) {
  const f = frame({ x, y });
  if (band) {
    const [lo, hi] = band.range;
    f.plot.append(s('rect', { class: 'band', x: f.X(x.domain[0]), width: f.X(x.domain[1]) - f.X(x.domain[0]), y: f.Y(hi), height: f.Y(lo) - f.Y(hi), fill: COLORS.grey, 'fill-opacity': 0.15 },
      s('title', {}, `${band.label}: ${fmt(lo)} – ${fmt(hi)}`)));
    for (const v of [lo, hi]) f.plot.append(s('line', { x1: f.X(x.domain[0]), x2: f.X(x.domain[1]), y1: f.Y(v), y2: f.Y(v), stroke: COLORS.grey, 'stroke-dasharray': '5 4' }));
  }
  series.forEach((ser, i) => {
    const color = ser.color || SERIES[i % SERIES.length];
    const pts = ser.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const ys = pts.map((p) => p.y);
    f.plot.append(s('polyline', { class: 'curve', fill: 'none', stroke: color, 'stroke-width': 2, points: pts.map((p) => `${f.X(p.x)},${f.Y(p.y)}`).join(' ') },
      s('title', {}, `${ser.name}: ${fmt(Math.min(...ys))} – ${fmt(Math.max(...ys))}`)));
  });
  const legend = series.map((ser, i) => [ser.color || SERIES[i % SERIES.length], ser.name]);
  if (band) legend.push([COLORS.grey, band.label]);
  return figure(kind, f.svg, caption, legend);
}

/** A histogram: bins [{lower, upper, count}] as adjoining bars. */
export function histogram(kind, bins, { label, caption } = {}) {
  const lo = bins[0]?.lower ?? 0;
  const hi = bins.length ? bins[bins.length - 1].upper : 1;
  // At least 4, so the count axis ticks at whole numbers.
  const top = Math.max(...bins.map((b) => b.count), 4);
  const f = frame({ x: { domain: hi > lo ? [lo, hi] : [lo - 1, hi + 1], label }, y: { domain: [0, top * 1.05], label: 'rows', format: (v) => String(Math.round(v)) } });
  for (const b of bins) {
    const [x0, x1] = hi > lo ? [f.X(b.lower), f.X(b.upper)] : [f.X(lo - 0.5), f.X(lo + 0.5)];
    f.plot.append(s('rect', { class: 'bar', x: x0 + 0.5, y: f.Y(b.count), width: Math.max(0, x1 - x0 - 1), height: f.Y(0) - f.Y(b.count), fill: COLORS.blue, dataset: { count: b.count } },
      s('title', {}, `${fmt(b.lower)} to ${fmt(b.upper)}: ${b.count} rows`)));
  }
  const total = bins.reduce((a, b) => a + b.count, 0);
  return figure(kind, f.svg, caption ?? `${total} rows in ${bins.length} bins.`, null, { points: total });
}

/** A scatter of points [{x, y, label}]. */
export function scatter(kind, points, { x, y, caption } = {}) {
  const f = frame({ x: { domain: extent(points.map((p) => p.x)), label: x }, y: { domain: extent(points.map((p) => p.y)), label: y } });
  for (const p of points) {
    f.plot.append(s('circle', { class: 'point', cx: f.X(p.x), cy: f.Y(p.y), r: 3, fill: COLORS.green, 'fill-opacity': 0.7 },
      s('title', {}, `${p.label}: ${fmt(p.x)}, ${fmt(p.y)}`)));
  }
  return figure(kind, f.svg, caption ?? `${points.length} rows.`, null, { points: points.length });
}
