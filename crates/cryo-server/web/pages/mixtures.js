import { h, append, field, fmt, table, select, mount, when } from '../dom.js';
import { get, post, api, ApiError } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import { hbars } from '../charts.js';
import * as pick from '../pick.js';
import { vocabulary, pairs } from '../vocabulary.js';
import { unifiedChooser } from './molecules.js';


export async function list(page) {
  const rows = await get('/mixtures?limit=200');
  append(page, 
    h('div', { class: 'spread' }, h('h1', {}, 'Mixtures'), h('a', { href: '#/mixtures/new' }, h('button', { type: 'button' }, 'New mixture'))),
    h('div', { class: 'card' }, table([
      { label: 'Name', value: (r) => h('a', { href: `#/mixtures/${r.id}` }, r.name) },
      { label: 'Description', value: (r) => r.description || '' },
      { label: 'Created', value: (r) => when(r.created_at) },
    ], rows, { empty: 'No mixtures yet: create one with “New mixture”.' })));
}

let draft = null; // components carried from "copy to new"

/** Composition editor: molecules by name, concentration and unit, validated here and by the API. */
export async function editor(page) {
  const units = pairs((await vocabulary()).concentration_units);
  const picker = pick.molecules();
  const name = h('input', { name: 'name', required: true, placeholder: 'e.g. VS55', size: 30 });
  const description = h('input', { name: 'description', placeholder: 'optional', size: 40 });
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

  const save = h('button', { type: 'submit' }, 'Save mixture');
  const form = h('form', {
    class: 'card', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      const body = await collect();
      if (!body) return;
      save.disabled = true;
      try {
        const created = await post('/mixtures', body);
        showInfo('Mixture saved.');
        go(`mixtures/${created.mixture.id}`);
      } catch (err) {
        if (err instanceof ApiError && err.status < 500) markApiError(err); else showError(err);
      } finally { save.disabled = false; }
    },
  },
  h('div', { class: 'row' }, field('Name', name), field('Description', description)),
  h('h3', {}, 'Components'),
  h('div', { class: 'component-row muted' }, h('small', {}, 'Molecule'), h('small', {}, 'Concentration'), h('small', {}, 'Unit'), h('span', {})),
  rowsEl, picker.list,
  h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add component'), save),
  formError,
  h('p', { class: 'muted' }, 'Units are put on a molar basis for the score: % w/v and mg/mL through the molar mass, % v/v through the density too, mole fractions only with other mole fractions.'));
  (draft || [{}, {}]).forEach(addRow);
  draft = null;
  append(page, h('h1', {}, 'New mixture'), form);
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
        h('button', { class: 'secondary', onclick: () => { draft = d.components.map((c) => ({ name: c.molecule_name || c.canonical_smiles, concentration: c.concentration, unit: c.concentration_unit })); go('mixtures/new'); } }, 'Copy to a new mixture'),
        h('button', { class: 'danger', onclick: async () => { if (!confirm('Delete this mixture?')) return; try { await api('DELETE', `/mixtures/${id}`); go('mixtures'); } catch (err) { showError(err); } } }, 'Delete'))),
    d.mixture.description ? h('p', { class: 'muted' }, d.mixture.description) : null,
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', {}, 'Composition'), composition), h('div', { class: 'card' }, h('h2', {}, 'Score'), score)),
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
