import { h, append, field, fmt, table, select, mount, when } from '../dom.js';
import { get, post, put, api, events, ApiError } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import { hbars, groupedBars } from '../charts.js';
import * as pick from '../pick.js';
import { vocabulary, pairs } from '../vocabulary.js';
import { unifiedChooser } from './molecules.js';


export async function list(page) {
  const rows = await get('/mixtures?limit=200');
  const chosen = new Set();
  const compareButton = h('button', { type: 'button', class: 'secondary', id: 'compare-button', disabled: true,
    onclick: () => go(`mixtures/compare/${[...chosen].join(',')}`) }, 'Compare selected');
  const pickBox = (r) => h('input', { type: 'checkbox', name: 'compare', value: r.id, 'aria-label': `Compare ${r.name}`,
    onchange: (e) => {
      if (e.target.checked) chosen.add(r.id); else chosen.delete(r.id);
      if (chosen.size > 6) { e.target.checked = false; chosen.delete(r.id); showError(new Error('Compare at most 6 mixtures.')); }
      compareButton.disabled = chosen.size < 2;
    } });
  append(page,
    h('div', { class: 'spread' }, h('h1', {}, 'Mixtures'),
      h('div', { class: 'row' }, compareButton, h('a', { href: '#/mixtures/new' }, h('button', { type: 'button' }, 'New mixture')))),
    h('div', { class: 'card' }, table([
      { label: '', value: pickBox },
      { label: 'Name', value: (r) => h('a', { href: `#/mixtures/${r.id}` }, r.name) },
      { label: 'Version', cls: 'num', value: (r) => r.version },
      { label: 'Description', value: (r) => r.description || '' },
      { label: 'Created', value: (r) => when(r.created_at) },
    ], rows, { empty: 'No mixtures yet: create one with “New mixture”.' })),
    h('p', { class: 'muted' }, 'Tick two to six mixtures to compare them side by side.'));
}

let draft = null; // components carried from "copy to new"
let addition = null; // a recommended component carried into the editor of its mixture

/**
 * Composition editor: molecules by name, concentration and unit, validated here and by the API.
 * With `id`, edits that mixture: saving makes its next version (from the version loaded, so an
 * edit someone saved meanwhile is not overwritten).
 */
export async function editor(page, id) {
  const units = pairs((await vocabulary()).concentration_units);
  const existing = id ? await get(`/mixtures/${id}`) : null;
  const picker = pick.molecules();
  const name = h('input', { name: 'name', required: true, placeholder: 'e.g. VS55', size: 30, value: existing?.mixture.name });
  const description = h('input', { name: 'description', placeholder: 'optional', size: 40, value: existing?.mixture.description });
  const note = h('input', { name: 'note', placeholder: 'what changed and why (optional)', size: 50 });
  if (existing) { name.disabled = true; description.disabled = true; }
  const rowsEl = h('div', { id: 'components' });
  const formError = h('p', { class: 'error', id: 'mixture-error' });
  const rows = [];

  function addRow(init = {}) {
    const mol = picker.attach(h('input', { name: 'molecule', placeholder: 'molecule name', value: init.name || '', 'aria-label': 'Molecule', autocomplete: 'off' }));
    const conc = h('input', { name: 'concentration', type: 'number', step: 'any', min: 0, value: init.concentration ?? '', placeholder: 'amount', 'aria-label': 'Concentration' });
    const unit = select('unit', units, init.unit || 'percent_w_v');
    unit.setAttribute('aria-label', 'Unit');
    const error = h('p', { class: 'error' });
    const row = { mol, conc, unit, error };
    const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': 'Remove component', onclick: () => { rows.splice(rows.indexOf(row), 1); el.remove(); } }, '✕');
    const el = h('div', { class: 'component-row' }, mol, conc, unit, remove, error);
    rows.push(row);
    rowsEl.append(el);
  }

  /** Checks the form here first, naming the row and the field; returns the API body or null. */
  async function collect() {
    const chosen = await Promise.all(rows.map((r) => picker.resolve(r.mol.value).catch(() => null)));
    let ok = true;
    formError.textContent = '';
    name.removeAttribute('aria-invalid');
    if (!name.value.trim()) { name.setAttribute('aria-invalid', 'true'); formError.textContent = 'Give the mixture a name.'; ok = false; }
    if (!rows.length) { formError.textContent = 'Add at least one component.'; ok = false; }
    const components = rows.map((r, i) => {
      r.error.textContent = '';
      [r.mol, r.conc, r.unit].forEach((x) => x.removeAttribute('aria-invalid'));
      const m = chosen[i];
      const c = Number(r.conc.value);
      const problems = [];
      if (!m) { problems.push(`component ${i + 1}: unknown molecule “${r.mol.value}” (register it on the Molecules page)`); r.mol.setAttribute('aria-invalid', 'true'); }
      if (r.conc.value === '' || !Number.isFinite(c) || c <= 0) { problems.push(`component ${i + 1}: concentration must be a positive number`); r.conc.setAttribute('aria-invalid', 'true'); }
      else if (r.unit.value === 'mol_fraction' && c > 1) { problems.push(`component ${i + 1}: a mole fraction is at most 1`); r.conc.setAttribute('aria-invalid', 'true'); }
      else if (r.unit.value.startsWith('percent') && c > 100) { problems.push(`component ${i + 1}: a percentage is at most 100`); r.conc.setAttribute('aria-invalid', 'true'); }
      if (problems.length) { r.error.textContent = problems.join('; '); ok = false; }
      return { molecule_id: m?.molecule_id, concentration: c, unit: r.unit.value };
    });
    return ok ? { name: name.value.trim(), description: description.value || null, components } : null;
  }

  /** Marks the field the API named, e.g. components[1].unit. */
  function markApiError(err) {
    formError.textContent = err.message;
    const m = /^components\[(\d+)\]\.(\w+)$/.exec(err.field || '');
    if (m && rows[Number(m[1])]) {
      const r = rows[Number(m[1])];
      const input = { molecule_id: r.mol, concentration: r.conc, unit: r.unit, concentration_unit: r.unit }[m[2]];
      input?.setAttribute('aria-invalid', 'true');
      r.error.textContent = err.message;
    } else if (err.field === 'name') name.setAttribute('aria-invalid', 'true');
  }

  const save = h('button', { type: 'submit' }, existing ? 'Save new version' : 'Save mixture');
  const form = h('form', {
    class: 'card', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const body = await collect();
      if (!body) return;
      save.disabled = true;
      try {
        if (existing) {
          const saved = await put(`/mixtures/${id}/components`, { components: body.components, base_version: existing.mixture.version, note: note.value || null });
          showInfo(`Saved as version ${saved.mixture.version}.`);
          go(`mixtures/${id}`);
          return;
        }
        const created = await post('/mixtures', body);
        showInfo('Mixture saved.');
        go(`mixtures/${created.mixture.id}`);
      } catch (err) {
        if (err instanceof ApiError && err.status < 500) markApiError(err); else showError(err);
      } finally { save.disabled = false; }
    },
  },
  h('div', { class: 'row' }, field('Name', name), field('Description', description)),
  existing ? h('div', { class: 'row' }, field(`Note for version ${existing.mixture.version + 1}`, note)) : null,
  h('h3', {}, 'Components'),
  h('div', { class: 'component-row muted' }, h('small', {}, 'Molecule'), h('small', {}, 'Concentration'), h('small', {}, 'Unit'), h('span', {})),
  rowsEl, picker.list,
  h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add component'), save),
  formError,
  h('p', { class: 'muted' }, 'Units are put on a molar basis for the score: % w/v and mg/mL through the molar mass, % v/v through the density too, mole fractions only with other mole fractions.'));
  const initial = existing
    ? existing.components.map((c) => ({ name: c.molecule_name || c.canonical_smiles, concentration: c.concentration, unit: c.concentration_unit }))
    : draft || [{}, {}];
  if (existing && addition?.mixture === id) initial.push(addition.component);
  addition = null;
  initial.forEach(addRow);
  draft = null;
  append(page, h('h1', {}, existing ? `Edit ${existing.mixture.name} (version ${existing.mixture.version})` : 'New mixture'), form);
}

/** One mixture: composition, score, predictions with intervals, measured against predicted. */
export async function detail(page, id) {
  const [d, experiments, models, types, vocab, tox] = await Promise.all([
    get(`/mixtures/${id}`), get(`/experiments?mixture_id=${id}&limit=200`), get('/models?limit=200').catch(() => []), get('/property-types'), vocabulary(),
    get(`/mixtures/${id}/toxicity`),
  ]);
  const unitLabel = (name) => vocab.concentration_units.find((u) => u.name === name)?.label || name;
  const unitOf = (property) => types.find((t) => t.name === property)?.units || '';
  const shares = d.score?.molar_shares || [];
  const composition = table([
    { label: 'Molecule', value: (c) => h('a', { href: `#/molecules/${c.molecule_id}` }, c.molecule_name || c.canonical_smiles) },
    { label: 'Concentration', cls: 'num', value: (c) => fmt(c.concentration) },
    { label: 'Unit', value: (c) => unitLabel(c.concentration_unit) },
    { label: 'Molar share', cls: 'num', value: (c) => fmt(shares[d.components.indexOf(c)]) },
    { label: 'Molecule score', cls: 'num', value: (c) => fmt(c.score) },
  ], d.components);
  const score = d.score
    ? h('div', {}, h('p', {}, h('span', { class: 'badge' }, `${d.score.overall} / 100`), ` molar-share-weighted mean ${fmt(d.score.weighted_mean)} + synergy bonus ${fmt(d.score.synergy_bonus)}`),
      hbars('molar-shares', d.components.map((c, i) => ({ label: c.molecule_name || c.canonical_smiles, value: shares[i] * 100 })), { label: 'Share of the molar amount (%)', max: 100, format: (v) => fmt(v, 3) }))
    : h('p', { class: 'error' }, `No score: ${d.score_error}`);

  const predictions = h('div', { id: 'mixture-predictions' }, h('p', { class: 'muted' }, 'Asking the models…'));
  const properties = [...new Set([...models.filter((m) => m.production_version).map((m) => m.property), 'Glass Transition Temperature'])];
  Promise.all(properties.map((p) => post(`/models/by-property/${encodeURIComponent(p)}/predict`, { mixture_id: id })
    .then((r) => ({ p, r })).catch((err) => ({ p, err })))).then((answers) => {
    mount(predictions, table([
      { label: 'Property', value: (a) => a.p },
      { label: 'Predicted', cls: 'num', value: (a) => { if (a.err) return '—'; const q = a.r.prediction?.predictions[0]; return q?.label != null ? `${q.label} (p ${fmt(q.probabilities[q.label], 2)})` : fmt(q?.value ?? a.r.reference_estimate?.tg_celsius); } },
      { label: 'Interval', cls: 'num', value: (a) => { const iv = a.r?.prediction?.predictions[0]?.interval; return iv ? `${fmt(iv.lower)} – ${fmt(iv.upper)} (${Math.round(a.r.prediction.level * 100)} %)` : '—'; } },
      { label: 'Unit', value: (a) => unitOf(a.p) },
      { label: 'Source', value: (a) => a.err ? h('span', { class: 'error' }, a.err.message) : a.r.source === 'model' ? `model v${a.r.prediction.version} (${a.r.prediction.algorithm})` : h('span', { title: a.r.reference_estimate?.note }, 'reference table (rough, no interval)') },
    ], answers));
  });

  const measured = [...new Set(experiments.map((e) => e.property))];
  const comparisons = await Promise.all(measured.map((p) => get(`/compare?mixture_id=${id}&property=${encodeURIComponent(p)}`).then((c) => ({ p, c })).catch((err) => ({ p, err }))));
  const compare = table([
    { label: 'Property', value: (x) => x.p },
    { label: 'Measured', cls: 'num', value: (x) => `${fmt(x.c?.experiment?.numeric_value)} ${unitOf(x.p)}` },
    { label: 'Predicted (stored)', cls: 'num', value: (x) => fmt(x.c?.prediction?.numeric_value) },
    { label: 'Difference', cls: 'num', value: (x) => fmt(x.c?.difference) },
    { label: '% error', cls: 'num', value: (x) => fmt(x.c?.percent_error) },
    { label: '', value: (x) => x.err ? h('span', { class: 'error' }, x.err.message) : '' },
  ], comparisons, { empty: 'No measurements on this mixture yet (record them on the Experiments page).' });

  append(page, 
    h('div', { class: 'spread' }, h('h1', {}, d.mixture.name),
      h('div', { class: 'row' },
        h('button', { onclick: () => go(`mixtures/${id}/edit`) }, 'Edit composition'),
        h('button', { class: 'secondary', onclick: async () => { try { const c = await post(`/mixtures/${id}/copy`, {}); showInfo('Copied.'); go(`mixtures/${c.mixture.id}`); } catch (err) { showError(err); } } }, 'Copy'),
        h('button', { class: 'danger', onclick: async () => { if (!confirm('Delete this mixture?')) return; try { await api('DELETE', `/mixtures/${id}`); go('mixtures'); } catch (err) { showError(err); } } }, 'Delete'))),
    d.mixture.description ? h('p', { class: 'muted' }, d.mixture.description) : null,
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', {}, `Composition · version ${d.mixture.version}`), composition), h('div', { class: 'card' }, h('h2', {}, 'Score'), score)),
    physicsCard(id, unitLabel),
    optimiseCard(id, d, models, unitLabel),
    recommendCard(id, models, unitLabel),
    historyCard(id, d.mixture.version, unitLabel),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', {}, 'Predictions'), predictions), h('div', { class: 'card' }, h('h2', {}, 'Measured against predicted'), compare)),
    toxicityCard(tox, id));
}

/** The mixture's toxicity: each component's measured score and alerts, the score by molar share. */
function toxicityCard(tox, id) {
  const alertCount = (c) => Object.values(c.alert_counts).reduce((a, n) => a + n, 0);
  const components = table([
    { label: 'Component', value: (c) => h('a', { href: `#/molecules/${c.molecule_id}` }, c.molecule_name || 'molecule') },
    { label: 'Molar share', cls: 'num', value: (c) => fmt(c.molar_share) },
    { label: 'Toxicity', cls: 'num', value: (c) => c.score ? fmt(c.score.score * 100, 3) : '—' },
    { label: 'From', value: (c) => c.source || '—' },
    { label: 'Confidence', cls: 'num', value: (c) => c.score ? fmt(c.score.confidence, 2) : '—' },
    { label: 'Alerts', cls: 'num', value: alertCount },
  ], tox.components);
  const t = tox.toxicity;
  const overall = t
    ? h('p', {}, 'Toxicity by molar share ', h('span', { class: 'badge', 'data-testid': 'mixture-toxicity' }, `${fmt(t.score * 100, 3)} / 100`),
      ` · ${fmt(t.scored_share * 100, 3)} % of the solutes scored (${tox.source?.replaceAll('_', ' ')}) · confidence ${fmt(t.confidence, 2)}`)
    : h('p', { class: 'muted' }, 'No component has assay measurements or toxicity predictions visible to you.');
  const alerts = tox.alerts.length
    ? h('p', {}, 'Alerts in the mixture: ', tox.alerts.map((a) => `${a.name} (${a.family})`).join(', '))
    : h('p', { class: 'muted' }, 'No structural alert in any component.');
  return h('div', { class: 'card', 'data-testid': 'toxicity' }, h('h2', {}, 'Toxicity'), components, overall, alerts, unifiedChooser('mixture', id));
}

/** Saved compositions, newest first; each can be opened. */
function historyCard(id, current, unitLabel) {
  const body = h('div', { id: 'mixture-history' }, h('p', { class: 'muted' }, 'Loading…'));
  const shown = h('div', { id: 'version-components' });
  get(`/mixtures/${id}/versions`).then((versions) => mount(body, table([
    { label: 'Version', cls: 'num', value: (v) => v.version === current ? h('strong', {}, `${v.version} (current)`) : v.version },
    { label: 'Saved', value: (v) => when(v.created_at) },
    { label: 'Note', value: (v) => v.note || '' },
    { label: 'Experiments', cls: 'num', value: (v) => v.experiments },
    { label: '', value: (v) => h('button', { type: 'button', class: 'secondary', onclick: async () => {
      const old = await get(`/mixtures/${id}/versions/${v.version}`);
      mount(shown, h('h3', {}, `Version ${v.version}`), table([
        { label: 'Molecule', value: (c) => c.molecule_name || c.canonical_smiles },
        { label: 'Concentration', cls: 'num', value: (c) => fmt(c.concentration) },
        { label: 'Unit', value: (c) => unitLabel(c.concentration_unit) },
      ], old.components));
    } }, 'Show') },
  ], versions))).catch((err) => mount(body, h('p', { class: 'error' }, err.message)));
  return h('div', { class: 'card' }, h('h2', {}, 'History'), body, shown,
    h('p', { class: 'muted' }, 'Experiments record the version they were measured on.'));
}

/** Amounts on every basis, osmolality and Tg, each with its formula and the constants' sources. */
function physicsCard(id, unitLabel) {
  const body = h('div', { id: 'mixture-physics' }, h('p', { class: 'muted' }, 'Computing…'));
  const mine = {}; // molecule id → {field: value} the user typed
  const fields = [['density', 'density g/mL'], ['tg_celsius', 'Tg °C'], ['gordon_taylor_k', 'Gordon–Taylor k'], ['virial_b', 'virial B kg/mol']];
  const overrides = () => Object.entries(mine)
    .map(([molecule_id, v]) => ({ molecule_id, ...Object.fromEntries(Object.entries(v).filter(([, x]) => x !== '').map(([k, x]) => [k, Number(x)])) }))
    .filter((o) => Object.keys(o).length > 1);
  const load = () => {
    const given = overrides();
    (given.length ? post(`/mixtures/${id}/properties`, { overrides: given }) : get(`/mixtures/${id}/properties`))
      .then(render)
      .catch((err) => mount(body, h('p', { class: 'error', 'data-testid': 'physics-error' }, err.message,
        ' Give the molecule its density on its page, then come back.')));
  };
  function ownConstants(comps) {
    return h('details', { open: overrides().length > 0 || null }, h('summary', {}, 'Use your own constants'),
      h('form', { id: 'constants-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); load(); } },
        table([
          { label: 'Component', value: (c) => c.name || 'molecule' },
          ...fields.map(([key, label]) => ({ label, value: (c) => h('input', {
            name: key, type: 'number', step: 'any', size: 7, value: mine[c.molecule_id]?.[key] ?? '', 'aria-label': `${label} of ${c.name || 'molecule'}`,
            placeholder: key === 'tg_celsius' ? fmt(c.constants.tg_k != null ? c.constants.tg_k - 273.15 : null) : fmt(c.constants[key]),
            oninput: (e) => { (mine[c.molecule_id] ??= {})[key] = e.target.value; },
          }) })),
        ], comps),
        h('button', { type: 'submit', class: 'secondary', id: 'constants-button' }, 'Recompute')));
  }
  function render(p) {
    const comps = p.components;
    const tg = p.glass_transition;
    mount(body,
      h('p', {},
        'Osmolality ', h('strong', { 'data-testid': 'osmolality' }, `${fmt(p.osmolality.ideal)} osmol/kg`), ' ideal',
        p.osmolality.virial != null ? [', ', h('strong', {}, `${fmt(p.osmolality.virial)} osmol/kg`), ' with the osmotic virial equation'] : '',
        ' · Tg ', tg ? h('strong', { 'data-testid': 'tg' }, `${fmt(tg.tg_celsius)} °C`) : h('span', { class: 'error' }, p.glass_transition_error),
        tg ? ` (${tg.method.replace('_', '–')})` : '',
        ` · density ${fmt(p.density)} g/mL · ${fmt(p.total_molarity)} mol/L of solutes`),
      table([
        { label: 'Component', value: (c) => c.name || 'molecule' },
        { label: 'mol/L', cls: 'num', value: (c) => fmt(c.amounts.molarity) },
        { label: 'mol/kg', cls: 'num', value: (c) => fmt(c.amounts.molality) },
        { label: '% w/w', cls: 'num', value: (c) => fmt(c.amounts.mass_percent) },
        { label: '% v/v', cls: 'num', value: (c) => fmt(c.amounts.volume_percent) },
        { label: 'mole fraction', cls: 'num', value: (c) => fmt(c.amounts.mole_fraction) },
        { label: 'Tg (°C)', cls: 'num', value: (c) => c.constants.tg_k != null ? fmt(c.constants.tg_k - 273.15) : '—' },
        { label: 'Sources', value: (c) => h('small', {}, c.sources.join('; ')) },
      ], comps),
      h('p', { class: 'muted' }, `Water: ${fmt(p.water.mass_percent)} % w/w, mole fraction ${fmt(p.water.mole_fraction)}.`),
      hbars('mass-fractions', [...comps.map((c) => ({ label: c.name || 'molecule', value: c.amounts.mass_percent })), { label: 'water', value: p.water.mass_percent }],
        { label: 'Share of the solution’s mass (%)', max: 100, format: (v) => fmt(v, 3) }),
      h('details', {}, h('summary', {}, 'How these are computed'),
        h('ul', {}, p.methods.map((m) => h('li', {}, h('strong', {}, m.quantity), `: ${m.formula}. `, h('em', {}, m.assumptions), ` (${m.source})`)))),
      ownConstants(comps));
  }
  load();
  return h('div', { class: 'card' }, h('h2', {}, 'Physical properties'), body, propertyModels(id));
}

/** The original's property models: a stored molecular property, weighted by molar share. */
function propertyModels(id) {
  const property = h('input', { name: 'model_property', value: 'Molecular Weight', size: 24 });
  const model = select('property_model', [['weighted_average', 'weighted average'], ['quadratic', 'non-linear: quadratic'], ['exponential', 'non-linear: exponential'], ['logarithmic', 'non-linear: logarithmic']], 'weighted_average');
  const out = h('p', { id: 'property-model-result' });
  const form = h('form', { class: 'row', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await get(`/mixtures/${id}/property-model?property=${encodeURIComponent(property.value)}&model=${model.value}`);
      mount(out, h('strong', {}, `${fmt(r.value, 4)}${r.units ? ' ' + r.units : ''}`),
        ` from ${r.components.map((c) => `${c.name || 'molecule'} ${fmt(c.value)} × ${fmt(c.molar_share, 3)}`).join(', ')}`,
        r.model === 'weighted_average' ? '' : ` · pairs weighted by 1 − Tanimoto (${r.dissimilarity.flatMap((row, i) => row.slice(i + 1)).map((d) => fmt(d, 2)).join(', ')})`);
    } catch (err) { mount(out, h('span', { class: 'error' }, err.message)); }
  } }, field('Property', property), field('Model', model), h('button', { type: 'submit', class: 'secondary', id: 'property-model-button' }, 'Compute'));
  return h('details', {}, h('summary', {}, 'The original’s property models'), form, out,
    h('p', { class: 'muted' }, 'Weighted average of the components’ stored values by molar share; the non-linear variants multiply it by 1 + 0.2·Σ pairs (1 − Tanimoto)·f(shares).'));
}

/** What to improve: the Tg, the score, or a model in production (the optimiser's and the recommender's choice). */
function quantityChoice(models) {
  const production = models.filter((m) => m.production_version);
  return select('quantity', [['tg', 'Tg (Gordon–Taylor)'], ['score', 'Mixture score'], ...production.map((m) => [`model:${m.id}`, `Model: ${m.name}`])], 'tg');
}

/** The API's {quantity, model_id} for a `quantityChoice` select. */
function chosenQuantity(select) {
  const q = select.value;
  return q.startsWith('model:') ? { quantity: 'model', model_id: q.slice(6) } : { quantity: q, model_id: null };
}

/** The optimiser: objective, bounds and ceilings; proposals that can be saved as mixtures. */
function optimiseCard(id, d, models, unitLabel) {
  const quantity = quantityChoice(models);
  const goal = select('goal', [['maximise', 'maximise'], ['minimise', 'minimise'], ['target', 'reach a target']], 'maximise');
  const target = h('input', { name: 'target', type: 'number', step: 'any', size: 8 });
  const pessimistic = h('input', { name: 'pessimistic', type: 'checkbox' });
  const sameUnit = d.components.every((c) => c.concentration_unit === d.components[0].concentration_unit);
  const total = h('input', { name: 'total', type: 'number', step: 'any', size: 8, disabled: !sameUnit,
    value: sameUnit ? Number(d.components.reduce((a, c) => a + c.concentration, 0).toPrecision(6)) : '' });
  const maxOsm = h('input', { name: 'max_osmolality', type: 'number', step: 'any', size: 8 });
  const maxMolarity = h('input', { name: 'max_total_molarity', type: 'number', step: 'any', size: 8 });
  const maxComponents = h('input', { name: 'max_components', type: 'number', min: 1, max: d.components.length, size: 4 });
  const bounds = d.components.map((c) => ({
    c,
    min: h('input', { name: 'min', type: 'number', step: 'any', size: 6, value: 0, 'aria-label': `Minimum of ${c.molecule_name}` }),
    max: h('input', { name: 'max', type: 'number', step: 'any', size: 6, placeholder: 'max', 'aria-label': `Maximum of ${c.molecule_name}` }),
    fixed: h('input', { name: 'fixed', type: 'checkbox', 'aria-label': `Keep ${c.molecule_name} fixed` }),
  }));
  const error = h('p', { class: 'error', id: 'optimise-error' });
  const results = h('div', { id: 'optimise-results' });
  const num = (el) => (el.value === '' ? null : Number(el.value));
  const run = h('button', { type: 'submit', id: 'optimise-button' }, 'Optimise');
  const form = h('form', { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    const body = {
      ...chosenQuantity(quantity),
      goal: goal.value, target: num(target), pessimistic: pessimistic.checked,
      total: sameUnit ? num(total) : null, max_osmolality: num(maxOsm), max_total_molarity: num(maxMolarity), max_components: num(maxComponents),
      bounds: bounds.map((b) => ({ molecule_id: b.c.molecule_id, min: num(b.min), max: num(b.max), fixed: b.fixed.checked })),
      starts: 8, proposals: 5,
    };
    run.disabled = true;
    const bar = h('progress', { id: 'optimise-progress', max: body.starts, value: 0 });
    const said = h('span', {}, ` 0 of ${body.starts} starting points searched…`);
    mount(results, h('p', { class: 'muted', role: 'status' }, bar, said));
    const fail = (message, field) => {
      mount(results);
      error.textContent = message;
      if (field) form.querySelector(`[name="${field.split('[')[0]}"]`)?.setAttribute('aria-invalid', 'true');
    };
    try {
      await events(`/api/v1/mixtures/${id}/optimise/events`, (name, data) => {
        if (name === 'progress') { bar.value = data.done; said.textContent = ` ${data.done} of ${data.total} starting points searched…`; }
        else if (name === 'result') showResults(data);
        else if (name === 'error') fail(data.error?.message || 'the optimisation failed', data.error?.details?.field);
      }, undefined, body);
    } catch (err) {
      fail(err.message, err.field);
    } finally { run.disabled = false; }
  } },
  h('div', { class: 'row' }, field('Optimise', quantity), field('Goal', goal), field('Target', target), field('Pessimistic (interval end)', pessimistic)),
  h('div', { class: 'row' }, field(`Total (${unitLabel(d.components[0].concentration_unit)})`, total, sameUnit ? null : 'components in several units'),
    field('Max osmolality (osmol/kg)', maxOsm), field('Max mol/L', maxMolarity), field('Max components', maxComponents)),
  table([
    { label: 'Component', value: (b) => b.c.molecule_name || b.c.canonical_smiles },
    { label: 'Now', cls: 'num', value: (b) => `${fmt(b.c.concentration)} ${unitLabel(b.c.concentration_unit)}` },
    { label: 'Min', value: (b) => b.min }, { label: 'Max', value: (b) => b.max }, { label: 'Fixed', value: (b) => b.fixed },
  ], bounds),
  run, error);

  function showResults(out) {
    const cell = (p, c) => { const x = p.components.find((k) => k.molecule_id === c.molecule_id); return x ? fmt(x.concentration, 4) : '0'; };
    const rows = [{ label: 'current', p: out.current }, ...out.proposals.map((p, i) => ({ label: `#${i + 1}`, p }))];
    mount(results,
      h('p', {}, `${out.objective} · ${out.method} search, ${out.starts} starts, ${out.evaluations} evaluations${out.truncated ? ' (stopped at the deadline)' : ''}`),
      table([
        { label: '', value: (r) => r.label },
        ...d.components.map((c) => ({ label: c.molecule_name || 'molecule', cls: 'num', value: (r) => cell(r.p, c) })),
        { label: 'Value', cls: 'num', value: (r) => fmt(r.p.value) },
        { label: 'Interval', cls: 'num', value: (r) => r.p.interval ? `${fmt(r.p.interval[0])} – ${fmt(r.p.interval[1])}` : '—' },
        { label: 'Tg °C', cls: 'num', value: (r) => fmt(r.p.tg_celsius) },
        { label: 'osmol/kg', cls: 'num', value: (r) => fmt(r.p.osmolality) },
        { label: 'Binding', value: (r) => h('small', {}, r.p.constraints.filter((b) => b.active).map((b) => b.name).join('; ')) },
        { label: '', value: (r) => r.label === 'current' ? '' : h('button', { type: 'button', class: 'secondary', onclick: async () => {
          try {
            const made = await post('/mixtures', { name: `${d.mixture.name} (optimised ${r.label})`, description: out.objective,
              components: r.p.components.map((k) => ({ molecule_id: k.molecule_id, concentration: Number(k.concentration.toPrecision(6)), unit: k.unit })) });
            showInfo('Proposal saved as a new mixture.');
            go(`mixtures/${made.mixture.id}`);
          } catch (err) { showError(err); }
        } }, 'Save as mixture') },
      ], rows),
      groupedBars('proposals', d.components.map((c) => ({ label: (c.molecule_name || 'molecule').slice(0, 14), values: rows.map((r) => Number(cell(r.p, c)) || 0) })),
        rows.map((r) => r.label), { y: { label: `Amount (${unitLabel(d.components[0].concentration_unit)})`, x: 'Component' }, caption: 'The current composition beside each proposal.' }));
  }
  return h('div', { class: 'card', 'data-testid': 'optimise' }, h('h2', {}, 'Optimise'), form, results);
}

/** Two to six mixtures side by side. */
export async function compare(page, ids) {
  const [rows, vocab] = await Promise.all([get(`/mixtures/compare?ids=${ids.join(',')}`), vocabulary()]);
  const unitLabel = (name) => vocab.concentration_units.find((u) => u.name === name)?.label || name;
  const names = rows.map((r) => r.mixture.name);
  const molecules = [...new Map(rows.flatMap((r) => r.components.map((c) => [c.molecule_id, c.molecule_name || c.canonical_smiles]))).entries()];
  const massOf = (r, m) => r.physics?.components.find((c) => c.molecule_id === m)?.amounts.mass_percent ?? 0;
  const properties = [...new Set(rows.flatMap((r) => r.predictions.map((p) => p.property)))];
  const measured = [...new Set(rows.flatMap((r) => r.experiments.map((e) => e.property)))];
  const line = (label, f) => ({ label, cells: rows.map(f) });
  const summary = [
    line('Version', (r) => r.mixture.version),
    line('Score', (r) => r.score ? `${r.score.overall} / 100` : '—'),
    line('Osmolality (ideal), osmol/kg', (r) => fmt(r.physics?.osmolality.ideal)),
    line('Osmolality (virial), osmol/kg', (r) => fmt(r.physics?.osmolality.virial)),
    line('Tg (°C)', (r) => fmt(r.physics?.glass_transition?.tg_celsius)),
    line('Density (g/mL)', (r) => fmt(r.physics?.density)),
    line('Solutes (mol/L)', (r) => fmt(r.physics?.total_molarity)),
    ...molecules.map(([m, n]) => line(`${n}`, (r) => { const c = r.components.find((k) => k.molecule_id === m); return c ? `${fmt(c.concentration)} ${unitLabel(c.concentration_unit)}` : '—'; })),
    ...properties.map((p) => line(`${p} (predicted)`, (r) => { const q = r.predictions.find((x) => x.property === p); return q ? `${fmt(q.numeric_value)}${q.interval_lower != null ? ` [${fmt(q.interval_lower)}, ${fmt(q.interval_upper)}]` : ''}` : '—'; })),
    ...measured.map((p) => line(`${p} (measured)`, (r) => { const e = r.experiments.find((x) => x.property === p && x.numeric_value != null); return e ? `${fmt(e.numeric_value)} ${e.unit || ''}` : '—'; })),
  ];
  append(page,
    h('h1', {}, `Comparing ${rows.length} mixtures`),
    h('div', { class: 'card' }, groupedBars('composition', molecules.map(([m, n]) => ({ label: n.slice(0, 14), values: rows.map((r) => massOf(r, m)) })), names,
      { y: { label: 'Mass of the solution (%)', x: 'Component' }, caption: 'Each component’s share of the solution’s mass, per mixture.' })),
    h('div', { class: 'card', id: 'comparison' }, table([
      { label: '', value: (l) => l.label },
      ...rows.map((r, i) => ({ label: r.mixture.name, cls: 'num', value: (l) => l.cells[i] })),
    ], summary)),
    rows.some((r) => r.physics_error) ? h('p', { class: 'error' }, rows.filter((r) => r.physics_error).map((r) => `${r.mixture.name}: ${r.physics_error}`).join(' · ')) : null);
}

/** Components that would improve the mixture most, each one click from the editor. */
function recommendCard(id, models, unitLabel) {
  const quantity = quantityChoice(models);
  const goal = select('goal', [['maximise', 'maximise'], ['minimise', 'minimise']], 'maximise');
  const maxSimilarity = h('input', { name: 'max_similarity', type: 'number', step: '0.05', min: 0, max: 1, size: 5 });
  const alertFree = h('input', { name: 'alert_free', type: 'checkbox' });
  const results = h('div', { id: 'recommendations' });
  const error = h('p', { class: 'error' });
  const form = h('form', { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    mount(results, h('p', { class: 'muted', role: 'status' }, h('progress', {}), ' Trying each candidate at four amounts…'));
    try {
      const out = await post(`/mixtures/${id}/recommend`, {
        ...chosenQuantity(quantity), goal: goal.value,
        max_similarity: maxSimilarity.value === '' ? null : Number(maxSimilarity.value), alert_free: alertFree.checked, limit: 10,
      });
      mount(results,
        h('p', { class: 'muted' }, `Now ${fmt(out.current)} · ${out.evaluated} of ${out.considered} candidates evaluated${out.library_truncated ? ' (the library’s best-scored only)' : ''}.`),
        table([
          { label: 'Molecule', value: (r) => h('a', { href: `#/molecules/${r.molecule_id}` }, r.name || r.canonical_smiles) },
          { label: 'Amount', cls: 'num', value: (r) => `${fmt(r.amount)} ${unitLabel(r.unit)}` },
          { label: 'Value', cls: 'num', value: (r) => fmt(r.value) },
          { label: 'Gain', cls: 'num', value: (r) => fmt(r.improvement) },
          { label: 'Similarity', cls: 'num', value: (r) => fmt(r.similarity, 2) },
          { label: 'Alerts', cls: 'num', value: (r) => r.alerts },
          { label: '', value: (r) => h('button', { type: 'button', class: 'secondary', onclick: () => {
            addition = { mixture: id, component: { name: r.name || r.canonical_smiles, concentration: r.amount, unit: r.unit } };
            go(`mixtures/${id}/edit`);
          } }, 'Add…') },
        ], out.recommendations, { empty: 'No candidate improves it under these filters.' }));
    } catch (err) { mount(results); error.textContent = err.message; }
  } },
  h('div', { class: 'row' }, field('Improve', quantity), field('Goal', goal), field('Max similarity to a component', maxSimilarity), field('Alert-free only', alertFree)),
  h('button', { type: 'submit', id: 'recommend-button' }, 'Suggest components'), error);
  return h('div', { class: 'card', 'data-testid': 'recommend' }, h('h2', {}, 'Recommend a component'), form, results);
}
