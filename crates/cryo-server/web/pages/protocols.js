// CPA loading and removal protocols: design with membrane-transport physics (every designer side
// by side, volume and concentration curves against the cell's tolerance band), edit the steps
// and simulate again, keep a protocol with its mixture, read and compare kept ones.
import { h, append, field, fmt, table, select, mount, when } from '../dom.js';
import { get, post, api, ApiError } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import { curves } from '../charts.js';

const K = 273.15;
const DESIGNERS = { stepwise: 'Stepwise (original)', fewest_steps: 'Fewest steps', toxicity_optimal: 'Toxicity-optimal', shortest_time: 'Shortest time', manual: 'Edited' };

/** Volume and intracellular-concentration charts of one or more simulated protocols. */
function charts(named, v0, limits) {
  const vol = named.map(([name, t]) => ({ name, points: t.t_min.map((x, i) => ({ x, y: t.volume_um3[i] / v0 })) }));
  const conc = named.map(([name, t]) => ({ name, points: t.t_min.map((x, i) => ({ x, y: t.intracellular[i].reduce((a, b) => a + b, 0) })) }));
  const tmax = Math.max(...named.map(([, t]) => t.t_min[t.t_min.length - 1]));
  const vs = vol.flatMap((c) => c.points.map((p) => p.y)).concat([limits.min_relative_volume, limits.max_relative_volume]);
  const cs = conc.flatMap((c) => c.points.map((p) => p.y));
  return h('div', { class: 'grid' },
    h('div', { class: 'card' }, curves('protocol-volume', vol, {
      x: { label: 'time (min)', domain: [0, tmax] },
      y: { label: 'cell volume / isotonic', domain: [Math.min(...vs) - 0.05, Math.max(...vs) + 0.05] },
      band: { range: [limits.min_relative_volume, limits.max_relative_volume], label: 'tolerated volume' },
      caption: 'Cell volume relative to isotonic; the band is what the cell tolerates.',
    })),
    h('div', { class: 'card' }, curves('protocol-concentration', conc, {
      x: { label: 'time (min)', domain: [0, tmax] },
      y: { label: 'intracellular CPA (osmol/L)', domain: [0, Math.max(...cs, 0.1) * 1.05] },
      caption: 'Total permeating CPA inside the cell.',
    })));
}

const status = (d) => d.reached_endpoint && !d.violations.length
  ? h('span', { class: 'badge production' }, 'within the limits')
  : h('span', { class: 'badge failed' }, d.reached_endpoint ? `breaks the limits in step ${d.violations.map((v) => v.step + 1).join(', ')}` : 'endpoint not reached');

/** The printable step table; with `edit`, concentrations and minutes are inputs. */
function stepTable(steps, names, edit) {
  const num = (value, name, i) => edit
    ? h('input', { type: 'number', step: 'any', min: 0, value: +value.toFixed(4), name, 'aria-label': `${name} of step ${i + 1}`, dataset: { step: i } })
    : fmt(value);
  return table([
    { label: 'Step', cls: 'num', value: (s) => String(steps.indexOf(s) + 1) },
    ...names.map((n, j) => ({ label: `${n} (osmol/L)`, cls: 'num', value: (s) => num(s.medium.permeating[j], `permeant-${j}`, steps.indexOf(s)) })),
    { label: 'Non-permeating (osmol/kg)', cls: 'num', value: (s) => num(s.medium.nonpermeating_osmolality, 'nonpermeating', steps.indexOf(s)) },
    { label: '°C', cls: 'num', value: (s) => fmt(s.start_temperature_k - K) },
    { label: 'Minutes', cls: 'num', value: (s) => {
      const i = steps.indexOf(s);
      // The endpoint was reached before the final medium: moving the cell into it is the step.
      if (!edit && i === steps.length - 1 && s.duration_min < 0.01) return h('span', { title: fmt(s.duration_min) + ' min' }, 'transfer');
      return num(s.duration_min, 'minutes', i);
    } },
  ], steps);
}

export async function list(page) {
  const [rows, mixtures] = await Promise.all([get('/protocols?limit=200'), get('/mixtures?limit=200')]);
  const mixtureName = (id) => mixtures.find((m) => m.id === id)?.name || id;
  const chosen = new Set();
  const compareButton = h('button', { type: 'button', disabled: true, onclick: () => go(`protocols/compare/${[...chosen].join(',')}`) }, 'Compare selected');
  append(page,
    h('div', { class: 'spread' }, h('h1', {}, 'Protocols'), h('div', { class: 'row' }, compareButton, h('a', { href: '#/protocols/new' }, h('button', { type: 'button' }, 'Design a protocol')))),
    h('div', { class: 'card', id: 'protocol-list' }, table([
      { label: '', value: (r) => h('input', { type: 'checkbox', 'aria-label': `Select ${r.name}`, onchange: (e) => { if (e.target.checked) chosen.add(r.id); else chosen.delete(r.id); compareButton.disabled = chosen.size < 2 || chosen.size > 6; } }) },
      { label: 'Name', value: (r) => h('a', { href: `#/protocols/${r.id}` }, r.name) },
      { label: 'Mixture', value: (r) => h('a', { href: `#/mixtures/${r.mixture_id}` }, mixtureName(r.mixture_id)) },
      { label: 'Designer', value: (r) => DESIGNERS[r.designer] || '—' },
      { label: 'Minutes', cls: 'num', value: (r) => fmt(r.total_time_min) },
      { label: 'Toxicity cost', cls: 'num', value: (r) => fmt(r.toxicity_cost) },
      { label: 'Volume', cls: 'num', value: (r) => r.min_relative_volume == null ? '—' : `${fmt(r.min_relative_volume)} – ${fmt(r.max_relative_volume)}` },
      { label: '', value: (r) => r.within_limits == null ? '' : r.within_limits ? h('span', { class: 'badge production' }, 'within the limits') : h('span', { class: 'badge failed' }, 'breaks the limits') },
      { label: 'Saved', value: (r) => when(r.created_at) },
    ], rows, { empty: 'No protocols yet: design one with “Design a protocol”.' })));
}

/** The design form: the cell, the target and the limits; every designer answers side by side. */
export async function designer(page) {
  const mixtures = await get('/mixtures?limit=200');
  const input = (name, value, label, hint) => field(label, h('input', { name, type: 'number', step: 'any', value, required: true }), hint);
  const form = h('form', { id: 'design-form' },
    h('h2', {}, 'Cell'),
    h('div', { class: 'row' },
      input('volume', 2000, 'Isotonic volume (µm³)'), input('area', 800, 'Membrane area (µm²)'), input('vb', 0.3, 'Inactive fraction Vb/V0'),
      input('lp', 0.2, 'Lp (µm·min⁻¹·atm⁻¹)'), input('osmolality', 0.3, 'Isotonic osmolality (osmol/kg)')),
    h('div', { class: 'row' },
      field('Permeating CPA', h('input', { name: 'cpa', value: 'DMSO', required: true })),
      input('ps', 0.5, 'Ps (µm/min)'), input('vbar', 0.071, 'Partial molar volume (L/mol)')),
    h('h2', {}, 'Protocol'),
    h('div', { class: 'row' },
      field('Direction', select('direction', [['loading', 'Loading'], ['removal', 'Removal']], 'loading')),
      input('target', 2.0, 'Target (osmol/L)'), input('temperature', 22, 'Temperature (°C)'),
      field('Sample type', select('sample_type', [['cell_line', 'Cell line'], ['primary_cells', 'Primary cells'], ['tissue', 'Tissue'], ['organoid', 'Organoid'], ['embryo', 'Embryo']], 'cell_line')),
      input('min_volume', 0.7, 'Lowest tolerated V/V0'), input('max_volume', 1.3, 'Highest tolerated V/V0'), input('max_time', 60, 'Longest time (min)')),
    h('div', { class: 'row' }, h('button', { type: 'submit', id: 'design-button' }, 'Design')),
    h('p', { class: 'error', id: 'design-error' }));
  const results = h('div', { id: 'design-results' });
  let request = null;

  const value = (n) => Number(form.elements[n].value);
  function collect() {
    const cell = {
      isotonic_volume_um3: value('volume'), area_um2: value('area'), inactive_fraction: value('vb'),
      lp_um_per_min_atm: value('lp'), lp_activation_j_per_mol: 0, reference_temperature_k: value('temperature') + K,
      isotonic_osmolality: value('osmolality'),
      permeants: [{ name: form.elements.cpa.value.trim() || 'CPA', ps_um_per_min: value('ps'), ps_activation_j_per_mol: 0, partial_molar_volume_l_per_mol: value('vbar') }],
    };
    return {
      cell, direction: form.elements.direction.value, target: [value('target')], temperature_k: value('temperature') + K,
      sample_type: form.elements.sample_type.value,
      limits: { min_relative_volume: value('min_volume'), max_relative_volume: value('max_volume') },
      max_time_min: value('max_time'), designer: 'all',
    };
  }

  function markError(err) {
    const el = document.getElementById('design-error');
    el.textContent = err.message;
    const f = err.details?.field || '';
    const map = { limits: ['min_volume', 'max_volume'], target: ['target'], temperature_k: ['temperature'], lp_um_per_min_atm: ['lp'], isotonic_volume_um3: ['volume'], area_um2: ['area'], inactive_fraction: ['vb'], max_time_min: ['max_time'] };
    for (const n of map[f] || (f.includes('ps_um_per_min') ? ['ps'] : [])) form.elements[n].setAttribute('aria-invalid', 'true');
  }

  function show(designs) {
    const v0 = request.cell.isotonic_volume_um3;
    const base = designs.find((d) => d.designer === 'stepwise')?.toxicity_cost;
    const names = request.cell.permeants.map((p) => p.name);
    const pick = select('chosen', designs.map((d) => [d.designer, DESIGNERS[d.designer]]), 'toxicity_optimal');
    pick.setAttribute('aria-label', 'Design to edit');
    const editor = h('div', { id: 'step-editor' });
    const curvesEl = h('div', { id: 'design-charts' }, charts(designs.map((d) => [DESIGNERS[d.designer], d.trajectory]), v0, request.limits));
    let steps = [];
    const verdict = h('p', { id: 'edited-verdict' });
    function edit() {
      steps = structuredClone(designs.find((d) => d.designer === pick.value).steps);
      mount(editor, stepTable(steps, names, true));
      verdict.textContent = '';
    }
    async function simulate() {
      for (const el of editor.querySelectorAll('input')) {
        const s = steps[Number(el.dataset.step)];
        const v = Number(el.value);
        if (el.name === 'minutes') s.duration_min = v; else if (el.name === 'nonpermeating') s.medium.nonpermeating_osmolality = v; else s.medium.permeating[Number(el.name.split('-')[1])] = v;
      }
      const start = request.direction === 'removal' ? { loaded: request.target } : 'isotonic';
      try {
        const t = await post('/protocols/simulate', { cell: request.cell, steps, start });
        const lo = Math.min(...t.volume_um3) / v0;
        const hi = Math.max(...t.volume_um3) / v0;
        const ok = lo >= request.limits.min_relative_volume - 1e-6 && hi <= request.limits.max_relative_volume + 1e-6;
        verdict.textContent = `Edited steps: volume ${fmt(lo)} – ${fmt(hi)} × isotonic, ${ok ? 'within the limits' : 'OUTSIDE the limits'}.`;
        verdict.className = ok ? '' : 'error';
        mount(curvesEl, charts([...designs.map((d) => [DESIGNERS[d.designer], d.trajectory]), ['Edited', t]], v0, request.limits));
      } catch (err) { showError(err); }
    }
    const mixture = select('mixture', mixtures.map((m) => [m.id, m.name]), mixtures[0]?.id);
    mixture.setAttribute('aria-label', 'Mixture');
    const name = h('input', { name: 'protocol_name', placeholder: 'protocol name', 'aria-label': 'Protocol name' });
    async function save() {
      if (!name.value.trim()) { name.setAttribute('aria-invalid', 'true'); return; }
      const designerName = pick.value;
      const original = designs.find((d) => d.designer === designerName).steps;
      const edited = JSON.stringify(original) !== JSON.stringify(steps);
      try {
        const saved = await post('/protocols', { mixture_id: mixture.value, name: name.value.trim(), design: { ...request, designer: 'toxicity_optimal' }, steps, designer: edited ? 'manual' : designerName });
        showInfo('Protocol saved.');
        go(`protocols/${saved.protocol.id}`);
      } catch (err) { showError(err); }
    }
    mount(results,
      h('div', { class: 'card' }, h('h2', {}, 'Designs'), table([
        { label: 'Designer', value: (d) => DESIGNERS[d.designer] },
        { label: 'Steps', cls: 'num', value: (d) => String(d.steps.length) },
        { label: 'Minutes', cls: 'num', value: (d) => fmt(d.total_time_min) },
        { label: 'Toxicity cost', cls: 'num', value: (d) => fmt(d.toxicity_cost) },
        { label: '× stepwise', cls: 'num', value: (d) => base ? fmt(d.toxicity_cost / base) : '—' },
        { label: 'Volume', cls: 'num', value: (d) => `${fmt(d.min_relative_volume)} – ${fmt(d.max_relative_volume)}` },
        { label: '', value: status },
      ], designs, { rowAttrs: (d) => ({ dataset: { designer: d.designer } }) })),
      curvesEl,
      h('div', { class: 'card' }, h('h2', {}, 'Steps'),
        h('div', { class: 'row' }, pick, h('button', { type: 'button', class: 'secondary', onclick: simulate }, 'Simulate edited steps')),
        editor, verdict,
        h('div', { class: 'row' }, mixture, name, h('button', { type: 'button', onclick: save, disabled: !mixtures.length }, 'Save protocol')),
        mixtures.length ? null : h('p', { class: 'muted' }, 'Create a mixture first to keep a protocol with it.')));
    pick.addEventListener('change', edit);
    edit();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    document.getElementById('design-error').textContent = '';
    form.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
    request = collect();
    const button = document.getElementById('design-button');
    button.disabled = true;
    mount(results, h('p', { class: 'muted' }, 'Designing…'));
    try { show(await post('/protocols/design', request)); } catch (err) {
      mount(results);
      if (err instanceof ApiError && err.status < 500) markError(err); else showError(err);
    } finally { button.disabled = false; }
  });
  append(page, h('h1', {}, 'Design a protocol'),
    h('p', { class: 'muted' }, 'Two-parameter membrane transport (Kleinhans 1998). Every design is simulated; the toxicity cost is ∫ C^1.6 dt of the intracellular CPA (Benson et al. 2012).'),
    h('div', { class: 'card' }, form), results);
}

function summary(detail) {
  const p = detail.protocol;
  const d = detail.simulation;
  return h('p', {}, `${DESIGNERS[p.designer] || 'Protocol'}: ${d ? d.steps.length : 0} steps, ${fmt(p.total_time_min)} min, toxicity cost ${fmt(p.toxicity_cost)}, volume ${fmt(p.min_relative_volume)} – ${fmt(p.max_relative_volume)} × isotonic `, d ? status(d) : '');
}

/** Measurements taken after this protocol, and a form to record one. */
async function followedBy(protocol) {
  const [rows, types] = await Promise.all([get(`/experiments?protocol_id=${protocol.id}&limit=200`), get('/property-types')]);
  const list = h('div', { id: 'protocol-experiments' });
  const render = (items) => mount(list, table([
    { label: 'Property', value: (e) => e.property },
    { label: 'Value', cls: 'num', value: (e) => e.numeric_value != null ? `${fmt(e.numeric_value)} ${e.unit || ''}` : String(e.text_value ?? e.boolean_value) },
    { label: 'Recorded', value: (e) => when(e.created_at) },
  ], items, { empty: 'No measurements have followed this protocol yet.' }));
  render(rows);
  const numeric = types.filter((t) => t.data_type === 'numeric');
  const property = select('followed_property', numeric.map((t) => [t.name, `${t.name}${t.units ? ` (${t.units})` : ''}`]), numeric[0]?.name);
  property.setAttribute('aria-label', 'Property');
  const value = h('input', { name: 'followed_value', type: 'number', step: 'any', 'aria-label': 'Value', placeholder: 'value' });
  const record = h('button', { type: 'button', onclick: async () => {
    if (value.value === '' || !Number.isFinite(Number(value.value))) { value.setAttribute('aria-invalid', 'true'); return; }
    value.removeAttribute('aria-invalid');
    try {
      await post('/experiments', { mixture_id: protocol.mixture_id, property: property.value, value: Number(value.value), protocol_id: protocol.id });
      showInfo('Measurement recorded with this protocol.');
      render(await get(`/experiments?protocol_id=${protocol.id}&limit=200`));
      value.value = '';
    } catch (err) { showError(err); }
  } }, 'Record');
  return h('div', { class: 'card' }, h('h2', {}, 'Measurements that followed it'), list,
    h('div', { class: 'row' }, property, value, record));
}

export async function detail(page, id) {
  const d = await get(`/protocols/${id}`);
  const p = d.protocol;
  const mixture = await get(`/mixtures/${p.mixture_id}`).then((m) => m.mixture.name).catch(() => 'its mixture');
  const names = p.problem?.cell.permeants.map((x) => x.name) || [];
  append(page,
    h('div', { class: 'spread' }, h('h1', {}, p.name),
      h('button', { class: 'danger', onclick: async () => { if (!confirm('Delete this protocol?')) return; try { await api('DELETE', `/protocols/${id}`); go('protocols'); } catch (err) { showError(err); } } }, 'Delete')),
    h('p', {}, 'For ', h('a', { href: `#/mixtures/${p.mixture_id}` }, mixture), p.description ? ` — ${p.description}` : ''),
    summary(d),
    d.simulation ? charts([[p.name, d.simulation.trajectory]], p.problem.cell.isotonic_volume_um3, p.problem.limits) : h('p', { class: 'muted' }, 'Saved before protocols carried their design problem: no simulation.'),
    h('div', { class: 'card', id: 'protocol-steps' }, h('h2', {}, 'Steps for the bench'), stepTable(p.steps, names, false)),
    await followedBy(p));
}

export async function compare(page, ids) {
  const all = await post('/protocols/compare', { ids });
  const first = all.find((d) => d.simulation);
  append(page, h('h1', {}, 'Protocols compared'),
    h('div', { class: 'card' }, table([
      { label: 'Protocol', value: (d) => h('a', { href: `#/protocols/${d.protocol.id}` }, d.protocol.name) },
      { label: 'Designer', value: (d) => DESIGNERS[d.protocol.designer] || '—' },
      { label: 'Steps', cls: 'num', value: (d) => String(d.protocol.steps.length) },
      { label: 'Minutes', cls: 'num', value: (d) => fmt(d.protocol.total_time_min) },
      { label: 'Toxicity cost', cls: 'num', value: (d) => fmt(d.protocol.toxicity_cost) },
      { label: 'Worst excursion', cls: 'num', value: (d) => `${fmt(d.protocol.min_relative_volume)} – ${fmt(d.protocol.max_relative_volume)}` },
      { label: '', value: (d) => d.simulation ? status(d.simulation) : '' },
    ], all)),
    first ? charts(all.filter((d) => d.simulation).map((d) => [d.protocol.name, d.simulation.trajectory]), first.protocol.problem.cell.isotonic_volume_um3, first.protocol.problem.limits) : null);
}
