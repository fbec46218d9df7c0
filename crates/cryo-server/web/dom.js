// Element builders. Text always goes in as text nodes, never as HTML, so data from the API
// cannot inject markup.
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replace `el`'s content. */
export const mount = (el, ...children) => append(clear(el), children);

export function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * A table from rows and column definitions {label, value(row) -> node|text, cls}. Clicking a
 * header sorts by that column (numbers as numbers, "—" last); again reverses. With `serverSort`
 * ({sort, order, onSort(key)}), only columns with a `sortKey` sort, by asking the server.
 */
export function table(columns, rows, { empty = 'Nothing here yet.', rowAttrs, serverSort } = {}) {
  if (!rows.length) return h('p', { class: 'muted empty' }, empty);
  const cells = rows.map((r) => ({ r, values: columns.map((c) => c.value(r)) }));
  const tbody = h('tbody', {});
  // Cells are built once; sorting moves the same nodes (with their listeners) into new rows.
  const render = () => mount(tbody, cells.map(({ r, values }) => h('tr', rowAttrs ? rowAttrs(r) : {},
    values.map((v, i) => h('td', { class: columns[i].cls }, v)))));
  const key = (v) => {
    const text = (v instanceof Node ? v.textContent : String(v ?? '')).trim();
    const n = Number(text.replace(/[^0-9eE+.\-−]/g, '').replace('−', '-'));
    return text && text !== '—' && /^[-−]?[0-9.]/.test(text) && Number.isFinite(n) ? n : text.toLowerCase();
  };
  let sorted = -1;
  let direction = 1;
  const sortBy = (i, th) => {
    direction = sorted === i ? -direction : 1;
    sorted = i;
    cells.sort((a, b) => {
      const [x, y] = [key(a.values[i]), key(b.values[i])];
      const blank = (k) => k === '' || k === '—';
      if (blank(x) !== blank(y)) return blank(x) ? 1 : -1;
      if (typeof x === typeof y) return (x < y ? -1 : x > y ? 1 : 0) * direction;
      return (typeof x === 'number' ? -1 : 1) * direction;
    });
    for (const other of th.parentNode.children) other.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', direction > 0 ? 'ascending' : 'descending');
    render();
  };
  render();
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('thead', {}, h('tr', {}, columns.map((c, i) => {
        if (serverSort) {
          if (!c.sortKey) return h('th', { class: c.cls, scope: 'col' }, c.label);
          const current = serverSort.sort === c.sortKey;
          return h('th', {
            class: c.cls, scope: 'col', title: 'Rank the whole list by this column',
            'aria-sort': current ? (serverSort.order === 'asc' ? 'ascending' : 'descending') : null,
            onclick: () => serverSort.onSort(c.sortKey),
          }, c.label);
        }
        return c.label
          ? h('th', { class: c.cls, scope: 'col', title: 'Sort', onclick: (e) => sortBy(i, e.currentTarget) }, c.label)
          : h('th', { class: c.cls, scope: 'col' });
      }))),
      tbody));
}

export const field = (label, input, hint) =>
  h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);

export function select(name, options, value) {
  return h('select', { name },
    options.map((o) => {
      const [v, text] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, selected: v === value }, text);
    }));
}
