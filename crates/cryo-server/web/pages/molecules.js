import { h, append, field, fmt, table, select, mount } from '../dom.js';
import { get, post, api, download, ApiError } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import { onSubmit } from '../forms.js';
import { radar, hbars } from '../charts.js';

const SCORE_AXES = [
  ['hydrogen_bonding', 'H-bonding'], ['logp', 'logP'], ['size', 'size'],
  ['tpsa', 'TPSA'], ['functional_groups', 'functional groups'], ['permeability', 'permeability'],
];
const KEY_DESCRIPTORS = [
  ['molecular_weight', 'Molecular weight', 'g/mol'], ['logp', 'logP', ''], ['tpsa', 'TPSA', 'Å²'],
  ['h_bond_donors', 'H-bond donors', ''], ['h_bond_acceptors', 'H-bond acceptors', ''],
  ['rotatable_bond_count', 'Rotatable bonds', ''], ['heavy_atom_count', 'Heavy atoms', ''],
];

let lastSearch = { mode: 'name', query: '', threshold: '0.3', sort: 'name', order: 'asc', filters: {} };

// Range filters of the ranked list: [query parameter, label, step].
const RANGE_FILTERS = [
  ['molecular_weight', 'MW (g/mol)', 1], ['logp', 'logP', 0.1], ['tpsa', 'TPSA (Å²)', 1],
  ['score', 'Score', 1], ['qed', 'QED', 0.05],
];
// The direction a column ranks in on its first click: names A–Z, numbers highest first.
const firstOrder = (key) => (key === 'name' ? 'asc' : 'desc');

/** Search by name, similarity or substructure; rank and filter the library; register a molecule. */
export async function list(page) {
  const mode = select('mode', [['name', 'Name'], ['similarity', 'Similar to SMILES'], ['substructure', 'Substructure (SMARTS or SMILES)']], lastSearch.mode);
  const query = h('input', { name: 'q', type: 'search', value: lastSearch.query, placeholder: 'e.g. glycerol', size: 34, 'aria-label': 'Search' });
  const threshold = h('input', { name: 'threshold', type: 'number', min: 0, max: 1, step: 0.05, value: lastSearch.threshold, size: 5 });
  const thresholdField = field('Min. Tanimoto', threshold);
  const alertFree = h('input', { type: 'checkbox', name: 'alert_free', checked: !!lastSearch.alertFree });
  const alertFreeField = h('label', { class: 'row', title: 'No PAINS, Brenk, NIH or ZINC alert' }, alertFree, ' Alert-free only');
  const results = h('div', { id: 'molecule-results' });
  const error = h('p', { class: 'error' });

  // The ranked list's filters: ranges, mine only, and a predicted property to carry and filter by.
  const types = (await get('/property-types')).filter((t) => t.data_type === 'numeric');
  const inputs = {};
  const number = (name, step) => (inputs[name] = h('input', { name, type: 'number', step, size: 7, value: lastSearch.filters[name] ?? '' }));
  const mine = h('input', { type: 'checkbox', name: 'mine', checked: !!lastSearch.mine });
  const predicted = select('predicted', [['', '—'], ...types.map((t) => [t.name, t.name])], lastSearch.predicted || '');
  inputs.predicted = predicted;
  const domain = select('domain', [['', 'any'], ['in', 'in'], ['edge', 'edge'], ['out', 'out']], lastSearch.filters.domain || '');
  inputs.domain = domain;
  const predictedFields = h('div', { class: 'row' },
    field('Min. predicted', number('min_predicted', 'any')), field('Max. predicted', number('max_predicted', 'any')),
    field('Max. interval width', number('max_interval_width', 'any')), field('Domain', domain));
  const filters = h('details', { class: 'filters', open: Object.values(lastSearch.filters).some((v) => v !== '') || !!lastSearch.predicted },
    h('summary', {}, 'Filters and predictions'),
    h('div', { class: 'row' }, RANGE_FILTERS.map(([key, label, step]) =>
      h('fieldset', { class: 'range' }, h('legend', {}, label), number(`min_${key}`, step), ' – ', number(`max_${key}`, step)))),
    h('div', { class: 'row' }, h('label', { class: 'row' }, mine, ' Mine only'),
      field('Show predictions of', predicted, 'each row’s newest prediction; rank by it with its column')),
    predictedFields);
  const placeholder = () => {
    thresholdField.hidden = mode.value !== 'similarity';
    alertFreeField.hidden = mode.value !== 'name';
    filters.hidden = mode.value !== 'name';
    predictedFields.hidden = !predicted.value;
    query.placeholder = { name: 'e.g. glycerol', similarity: 'e.g. OCC(O)CO', substructure: 'e.g. [OX2H]' }[mode.value];
  };
  mode.addEventListener('change', placeholder);
  predicted.addEventListener('change', placeholder);
  placeholder();

  // Searches page by offset (one row more than shown tells whether there is a next page); the
  // ranked list pages by the server's cursors, remembering where each page started.
  const pageSize = select('page_size', ['25', '50', '100', '200'], String(lastSearch.pageSize || 100));
  pageSize.setAttribute('aria-label', 'Rows per page');
  let offset = 0;
  let rank = { sort: lastSearch.sort, order: lastSearch.order };
  let starts = [null];
  let at = 0;

  function rankedQuery(size, cursor) {
    const p = new URLSearchParams({ sort: rank.sort, order: rank.order, limit: String(size) });
    const q = query.value.trim();
    if (q) p.set('q', q);
    if (alertFree.checked) p.set('max_alerts', '0');
    if (mine.checked) p.set('owner', 'me');
    if (predicted.value) p.set('predicted', predicted.value);
    for (const [name, input] of Object.entries(inputs)) {
      if (name !== 'predicted' && input.value !== '' && (predicted.value || !['min_predicted', 'max_predicted', 'max_interval_width', 'domain'].includes(name))) p.set(name, input.value);
    }
    if (cursor) p.set('cursor', cursor);
    return '/molecules/ranked?' + p;
  }

  // Filters fire a search per change; only the latest search may draw (answers can overtake).
  let latest = 0;
  async function search(e, to = 0) {
    e?.preventDefault();
    const ticket = ++latest;
    error.textContent = '';
    for (const el of [query, ...Object.values(inputs)]) el.removeAttribute('aria-invalid');
    const size = Number(pageSize.value);
    lastSearch = {
      mode: mode.value, query: query.value, threshold: threshold.value, pageSize: size, alertFree: alertFree.checked,
      sort: rank.sort, order: rank.order, mine: mine.checked, predicted: predicted.value,
      filters: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value])),
    };
    const q = query.value.trim();
    try {
      if (mode.value === 'name') {
        // Where each page starts changes only when an answer is drawn.
        const ranked = await get(rankedQuery(size, to === 0 ? null : starts[to]));
        if (ticket !== latest) return;
        if (to === 0) starts = [null];
        at = to;
        starts[at + 1] = ranked.next_cursor ?? undefined;
        renderRanked(ranked, size);
        return;
      }
      const page = { limit: size + 1, offset: to };
      let rows;
      if (!q) throw new Error('Enter a structure to search for.');
      else if (mode.value === 'similarity') rows = (await post('/molecules/search/similarity', { smiles: q, threshold: Number(threshold.value), ...page })).map((hit) => ({ m: hit.molecule, similarity: hit.similarity }));
      else rows = (await post('/molecules/search/substructure', { [/[[\]:;&~]/.test(q) ? 'smarts' : 'smiles']: q, ...page })).map((m) => ({ m }));
      if (ticket !== latest) return;
      offset = to;
      renderResults(rows.slice(0, size), rows.length > size);
    } catch (err) {
      if (ticket !== latest) return;
      error.textContent = err.message;
      const fieldName = err instanceof ApiError && err.status === 422 ? err.field : null;
      if (fieldName && inputs[fieldName]) inputs[fieldName].setAttribute('aria-invalid', 'true');
      else if (err instanceof ApiError && err.status === 422) query.setAttribute('aria-invalid', 'true');
      else if (!(err instanceof ApiError) || err.status >= 500) showError(err);
      mount(results);
    }
  }
  pageSize.addEventListener('change', () => search(null, 0));
  alertFree.addEventListener('change', () => search(null, 0));
  mine.addEventListener('change', () => search(null, 0));
  predicted.addEventListener('change', () => {
    if (!predicted.value && ['predicted', 'interval_width'].includes(rank.sort)) rank = { sort: 'name', order: 'asc' };
    search(null, 0);
  });
  filters.addEventListener('change', (e) => { if (e.target.type === 'number' || e.target === domain) search(null, 0); });

  const columnsFor = (rows) => {
    const columns = [
      { label: 'Name', sortKey: 'name', value: (r) => h('a', { href: `#/molecules/${r.m.id}` }, r.m.name || '(unnamed)') },
      { label: 'SMILES', value: (r) => h('span', { class: 'smiles' }, r.m.canonical_smiles) },
      { label: 'Formula', value: (r) => r.m.formula || '—' },
      { label: 'MW (g/mol)', sortKey: 'molecular_weight', cls: 'num', value: (r) => fmt(r.m.molecular_weight, 5) },
      { label: 'logP', sortKey: 'logp', cls: 'num', value: (r) => fmt(r.m.logp) },
      { label: 'TPSA (Å²)', sortKey: 'tpsa', cls: 'num', value: (r) => fmt(r.m.tpsa) },
      { label: 'HBD / HBA', sortKey: 'h_bond_donors', cls: 'num', value: (r) => (r.m.h_bond_donors == null ? '—' : `${fmt(r.m.h_bond_donors)} / ${fmt(r.m.h_bond_acceptors)}`) },
      { label: 'Score', sortKey: 'score', cls: 'num', value: (r) => fmt(r.m.score) },
      { label: 'QED', sortKey: 'qed', cls: 'num', value: (r) => fmt(r.m.qed, 2) },
      { label: 'Alerts', cls: 'num', value: (r) => fmt(r.m.alerts) },
      { label: '', value: (r) => (r.m.is_reference ? h('span', { class: 'badge' }, 'reference') : '') },
    ];
    if (rows.some((r) => r.similarity !== undefined)) columns.splice(1, 0, { label: 'Tanimoto', cls: 'num', value: (r) => fmt(r.similarity) });
    if (rows.some((r) => r.m.prediction !== undefined) && predicted.value) {
      const p = (r) => r.m.prediction;
      columns.splice(4, 0,
        { label: `Predicted ${predicted.value}`, sortKey: 'predicted', cls: 'num', value: (r) => (p(r) ? fmt(p(r).value) : '—') },
        { label: 'Interval', sortKey: 'interval_width', cls: 'num', value: (r) => (p(r)?.interval_lower != null ? `${fmt(p(r).interval_lower)} – ${fmt(p(r).interval_upper)}` : '—') },
        { label: 'Domain', value: (r) => p(r)?.domain_flag ?? '—' });
    }
    return columns;
  };
  const rowAttrs = (r) => ({ class: 'clickable', onclick: (e) => { if (e.target.tagName !== 'A') go(`molecules/${r.m.id}`); } });

  // An export is the whole ranking as it stands (filters, order, predictions), as a file.
  const exportFormat = select('export_format', [['csv', 'CSV'], ['tsv', 'TSV'], ['json', 'JSON'], ['xlsx', 'Excel (XLSX)'], ['sdf', 'SDF']], 'csv');
  exportFormat.setAttribute('aria-label', 'Export format');
  async function exportAll() {
    const path = rankedQuery(Number(pageSize.value), null).replace('/molecules/ranked?', `/molecules/ranked/export?format=${exportFormat.value}&`);
    try {
      await download(path, `molecules.${exportFormat.value}`);
    } catch (err) {
      error.textContent = err.message;
    }
  }

  function renderRanked(ranked, size) {
    const rows = ranked.items.map((m) => ({ m }));
    const first = at * size + 1;
    const pager = h('div', { class: 'spread' },
      h('p', { class: 'muted', id: 'molecule-range' }, rows.length ? `Molecules ${first}–${first + rows.length - 1} of ${ranked.total}` : 'No molecules'),
      h('div', { class: 'row' }, exportFormat, h('button', { type: 'button', class: 'secondary', id: 'export-ranked', onclick: exportAll }, 'Export all'),
        h('label', { class: 'row' }, 'Rows per page ', pageSize),
        h('button', { type: 'button', class: 'secondary', disabled: at === 0, onclick: () => search(null, at - 1) }, '‹ Previous'),
        h('button', { type: 'button', class: 'secondary', disabled: !ranked.next_cursor, onclick: () => search(null, at + 1) }, 'Next ›')));
    const onSort = (key) => {
      rank = rank.sort === key ? { sort: key, order: rank.order === 'asc' ? 'desc' : 'asc' } : { sort: key, order: firstOrder(key) };
      search(null, 0);
    };
    mount(results, pager,
      table(columnsFor(rows), rows, { empty: 'No molecule matches.', rowAttrs, serverSort: { ...rank, onSort } }));
  }

  function renderResults(rows, more) {
    const size = Number(pageSize.value);
    const pager = h('div', { class: 'spread' },
      h('p', { class: 'muted', id: 'molecule-range' }, rows.length ? `Molecules ${offset + 1}–${offset + rows.length}${more ? '' : ` of ${offset + rows.length}`}` : 'No molecules'),
      h('div', { class: 'row' }, h('label', { class: 'row' }, 'Rows per page ', pageSize),
        h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => search(null, Math.max(0, offset - size)) }, '‹ Previous'),
        h('button', { type: 'button', class: 'secondary', disabled: !more, onclick: () => search(null, offset + size) }, 'Next ›')));
    mount(results, pager, table(columnsFor(rows), rows, { empty: 'No molecule matches.', rowAttrs }));
  }

  const smiles = h('input', { name: 'smiles', placeholder: 'SMILES, e.g. OCC(O)CO', size: 28 });
  const name = h('input', { name: 'name', placeholder: 'Name (optional)' });
  const addError = h('p', { class: 'error' });
  const add = h('form', {
    // Any refusal but the name's is about the structure (its field may be `structure`).
    class: 'row', onsubmit: onSubmit({ error: addError, inputs: { smiles, name }, fieldOf: (f) => (f === 'name' ? 'name' : 'smiles') }, async () => {
      const created = await post('/molecules', { smiles: smiles.value, name: name.value || null });
      showInfo(created.created ? 'Molecule registered.' : 'This structure was already registered; here it is.');
      go(`molecules/${created.molecule.id}`);
    }),
  }, field('SMILES', smiles), field('Name', name), h('button', { type: 'submit' }, 'Register'));

  append(page, 
    h('h1', {}, 'Molecules'),
    h('form', { class: 'card', role: 'search', onsubmit: search },
      h('div', { class: 'row' }, field('Search by', mode), field('Query', query), thresholdField, alertFreeField, h('button', { type: 'submit' }, 'Search')),
      filters, error),
    h('div', { class: 'card' }, results),
    h('details', { class: 'card' }, h('summary', {}, 'Register a molecule'), add, addError));
  await search(null, 0);
}

let referenceCache = null;
/** The reference cryoprotectants' details (for comparison charts), fetched once per page load. */
async function references() {
  referenceCache ??= get('/molecules?limit=100').then((all) =>
    Promise.all(all.filter((m) => m.is_reference).map((m) => get(`/molecules/${m.id}`))));
  return referenceCache;
}

async function depiction(id) {
  const svg = await get(`/molecules/${id}/svg?width=340&height=340`);
  return h('img', { class: 'depiction', alt: 'structure depiction', src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg) });
}

/** One molecule: depiction, identity, score, descriptors against the reference set, properties. */
export async function detail(page, id) {
  const [d, refs, img, tox] = await Promise.all([get(`/molecules/${id}`), references().catch(() => []), depiction(id),
    get(`/molecules/${id}/toxicity`)]);
  const m = d.molecule;
  const f = d.features || {};
  const identity = h('dl', { class: 'kv' },
    [['SMILES', h('span', { class: 'smiles' }, m.canonical_smiles)], ['Formula', m.formula], ['Molecular weight', `${fmt(m.molecular_weight, 5)} g/mol`],
      ['InChIKey', m.inchikey || '—'], ['InChI', m.inchi ? h('span', { class: 'smiles' }, m.inchi) : '—'],
      ['Scaffold', m.murcko_scaffold || '—'], ['Density', m.density_g_per_ml ? `${m.density_g_per_ml} g/mL` : '—'],
      ['PubChem CID', m.pubchem_cid || '—'], ['Source', m.data_source || (m.created_by ? 'registered by a user' : '—')]]
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));

  const others = refs.filter((r) => r.molecule.id !== id && r.score);
  const mean = (key) => others.reduce((a, r) => a + (r.score.components[key] ?? 0), 0) / Math.max(1, others.length);
  const series = [];
  if (d.score) series.push({ name: m.name || 'this molecule', values: SCORE_AXES.map(([k]) => d.score.components[k] ?? 0) });
  if (others.length) series.push({ name: `reference cryoprotectants (mean of ${others.length})`, values: SCORE_AXES.map(([k]) => mean(k)) });
  const scoreCard = h('div', { class: 'card' }, h('h2', {}, 'Cryoprotection score ', h('span', { class: 'badge' }, d.score ? `${d.score.overall} / 100` : 'not scored')),
    series.length ? radar(SCORE_AXES.map(([, l]) => l), series, { caption: 'Score components (0–100) against the reference set.' }) : h('p', { class: 'muted' }, 'No score.'));

  const descriptorRows = KEY_DESCRIPTORS.map(([key, label, unit]) => {
    const values = others.map((r) => r.features?.[key]).filter(Number.isFinite);
    return { key, label, unit, value: f[key], lo: Math.min(...values), hi: Math.max(...values), mean: values.reduce((a, v) => a + v, 0) / Math.max(1, values.length) };
  });
  const relative = descriptorRows.filter((r) => Number.isFinite(r.value) && r.hi > r.lo).map((r) => ({
    label: r.unit ? `${r.label} (${r.unit})` : r.label, value: (r.value - r.lo) / (r.hi - r.lo) * 100,
    note: `${fmt(r.value)} here; reference range ${fmt(r.lo)}–${fmt(r.hi)}, mean ${fmt(r.mean)}`,
  }));
  const descriptorChart = relative.length
    ? hbars('descriptors', relative.map((r) => ({ ...r, value: Math.max(0, r.value) })), {
      label: 'Position in the reference range (%)',
      max: Math.max(100, ...relative.map((r) => r.value)),
      caption: '0 = the lowest reference cryoprotectant, 100 = the highest. Hover a bar for the values.',
    })
    : h('p', { class: 'muted' }, 'No reference molecules to compare with.');
  const descriptorTable = table([
    { label: 'Descriptor', value: (r) => r.label }, { label: 'This molecule', cls: 'num', value: (r) => fmt(r.value) },
    { label: 'Reference mean', cls: 'num', value: (r) => fmt(r.mean) }, { label: 'Reference range', cls: 'num', value: (r) => `${fmt(r.lo)} – ${fmt(r.hi)}` },
    { label: 'Unit', value: (r) => r.unit || '' },
  ], descriptorRows);
  const descriptorCard = h('div', { class: 'card' }, h('h2', {}, 'Key descriptors against the reference set'),
    h('div', { class: 'grid' }, h('div', {}, descriptorChart), descriptorTable));

  const props = table([
    { label: 'Property', value: (p) => p.property }, { label: 'Value', cls: 'num', value: (p) => fmt(p.numeric_value ?? p.text_value ?? p.boolean_value) },
    { label: 'Unit', value: (p) => p.units || '' }, { label: 'Method', value: (p) => h('span', { title: p.method_version || '' }, p.method || '') },
  ], d.properties || [], { empty: 'No stored properties.' });
  const features = table([{ label: 'Feature', value: ([k]) => k }, { label: 'Value', cls: 'num', value: ([, v]) => fmt(v, 4) }], Object.entries(f));
  const descriptors = table([{ label: 'RDKit descriptor', value: ([k]) => k }, { label: 'Value', cls: 'num', value: ([, v]) => fmt(v, 4) }], Object.entries(d.descriptors || {}));

  const actions = m.created_by ? h('button', {
    class: 'danger', onclick: async () => {
      if (!confirm(`Delete ${m.name || 'this molecule'}?`)) return;
      try { await api('DELETE', `/molecules/${id}`); showInfo('Molecule deleted.'); go('molecules'); } catch (err) { showError(err); }
    },
  }, 'Delete') : null;
  append(page, 
    h('div', { class: 'spread' }, h('h1', {}, m.name || m.canonical_smiles, m.is_reference ? ' ' : '', m.is_reference ? h('span', { class: 'badge' }, 'reference') : ''), actions),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('div', { class: 'grid' }, img, h('div', {}, h('h3', {}, 'Identity'), identity))), scoreCard),
    descriptorCard,
    toxicityCard(tox, 'molecule', id),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', {}, 'Stored properties'), props),
      h('div', { class: 'card' }, h('h2', {}, 'The 20 scoring features'), features),
      h('details', { class: 'card' }, h('summary', {}, `All RDKit descriptors (${Object.keys(d.descriptors || {}).length})`), descriptors)));
}

const FAMILY_LABELS = { pains_a: 'PAINS A', pains_b: 'PAINS B', pains_c: 'PAINS C', brenk: 'Brenk', nih: 'NIH', zinc: 'ZINC' };

/** Alerts, QED, measured toxicity by endpoint and the unified score with its context chooser. */
export function toxicityCard(tox, kind, id) {
  const marked = h('div', { class: 'alert-depiction' });
  const show = async (a) => {
    try {
      const svg = await get(`/molecules/${id}/svg?width=300&height=240&highlight=${a.atoms.join(',')}`);
      mount(marked, h('figure', {}, h('img', { class: 'depiction', alt: `atoms of ${a.name}`, src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg) }),
        h('figcaption', {}, `${FAMILY_LABELS[a.family] || a.family}: ${a.name}`)));
    } catch (err) { showError(err); }
  };
  const alerts = table([
    { label: 'Family', value: (a) => FAMILY_LABELS[a.family] || a.family },
    { label: 'Alert', value: (a) => h('span', { title: a.scope }, a.name) },
    { label: 'Atoms', value: (a) => h('button', { class: 'link', title: 'Show the matched atoms on the structure', onclick: () => show(a) }, a.atoms.map((i) => i + 1).join(', ')) },
    { label: 'Source', value: (a) => h('span', { class: 'muted', title: a.reference }, a.reference.split('.')[0]) },
  ], tox.alerts, { empty: 'No structural alert in any family.' });
  const endpointBars = (score, chart) => hbars(chart, Object.entries(score.endpoints).map(([e, s]) => ({
    label: e.replaceAll('_', ' '), value: s.score * 100,
    note: `${s.n} value(s); confidence ${fmt(s.confidence, 2)}, completeness ${fmt(s.completeness, 2)}`,
  })), { label: 'Active share (%)', max: 100, caption: 'Per endpoint: the share of assays active (measured) or the mean probability of activity (predicted). Hover for confidence.' });
  const summary = (what, s, testid) => h('p', {}, `${what} toxicity `, h('span', { class: 'badge', 'data-testid': testid }, `${fmt(s.score * 100, 3)} / 100`),
    ` · confidence ${fmt(s.confidence, 2)} · ${Math.round(s.coverage * 12)} of 12 endpoints`);
  const measured = tox.measured
    ? h('div', {}, summary('Measured', tox.measured, 'toxicity-score'), endpointBars(tox.measured, 'endpoints'))
    : tox.predicted
      ? h('div', {}, summary('Predicted', tox.predicted, 'toxicity-predicted'),
        h('p', { class: 'muted' }, `From ${tox.predictions.length} stored classifier prediction(s); no measurement visible. `,
          `${tox.predictions.filter((p) => p.domain_flag && p.domain_flag !== 'in').length} outside the model's domain.`),
        endpointBars(tox.predicted, 'endpoints-predicted'))
      : h('p', { class: 'muted' }, 'No assay measurements or predictions visible to you. Import them with `cryoprotect toxicity import`, or train a classifier on a `Toxicity: <assay>` property.');
  const unified = unifiedChooser(kind, id);
  return h('div', { class: 'card', 'data-testid': 'toxicity' },
    h('h2', {}, 'Toxicity ', h('span', { class: 'badge', title: 'Quantitative estimate of drug-likeness (Bickerton et al. 2012)' }, `QED ${fmt(tox.qed, 3)}`)),
    h('div', { class: 'grid' }, h('div', {}, h('h3', {}, `Structural alerts (${tox.alerts.length})`), alerts, marked),
      h('div', {}, h('h3', {}, 'Measured'), measured, unified)));
}

/** The unified score of a molecule or mixture, with a chooser of its application context. */
export function unifiedChooser(kind, id) {
  const out = h('div', { 'data-testid': 'unified' });
  const context = select('context', ['general', 'cell_preservation', 'organ_preservation', 'long_term_storage', 'sensitive_tissues']);
  const load = async () => {
    try {
      const u = await get(`/unified/${kind}/${id}?context=${context.value}`);
      mount(out, h('p', {}, 'Unified score ', h('span', { class: 'badge' }, u.overall ?? '—'),
        u.missing.length ? h('span', { class: 'muted' }, ` (without ${u.missing.join(', ')})`) : ''));
    } catch (err) { showError(err); }
  };
  context.addEventListener('change', load);
  load();
  return h('div', {}, h('label', {}, 'Context ', context), out);
}
