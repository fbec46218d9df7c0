// Screening: run production models (with the score and alerts) over the library, a project or
// an uploaded file; watch the chunks being done; rank the results by any model, chart them
// (histogram, scatter) and export them.
import { h, fmt, table, select, mount, when } from '../dom.js';
import { get, post, download } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import { histogram, scatter } from '../charts.js';

const DONE = ['succeeded', 'failed', 'cancelled'];
const progressOf = (j) => (j.chunks ? j.chunks_done / j.chunks : j.state === 'succeeded' ? 1 : 0);
const versionLabel = (m) => `${m.property} v${m.version}`;

function progressBar(j) {
  const pct = Math.round(progressOf(j) * 100);
  const bar = h('div', {});
  bar.style.width = pct + '%';
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct }, bar);
}

export async function list(page) {
  const [jobs, models, projects] = await Promise.all([get('/screenings?limit=100'), get('/models?limit=200'), get('/projects?limit=200')]);
  const usable = models.filter((m) => m.production_version);
  const name = h('input', { name: 'name', placeholder: 'e.g. Library vs Tg model', required: true, size: 30 });
  const modelBoxes = usable.map((m) => h('label', { class: 'row' }, h('input', { type: 'checkbox', name: 'model', value: m.id }), `${m.name} (${m.property}, v${m.production_version})`));
  const source = select('source', [['library', 'Everything I can read'], ['project', 'A project'], ['upload', 'An uploaded file']], 'library');
  const project = select('project_id', projects.map((p) => [p.id, p.name]), projects[0]?.id);
  const format = select('format', [['smiles', 'SMILES lines (SMILES name)'], ['csv', 'CSV with a smiles column'], ['sdf', 'SDF']], 'smiles');
  const file = h('input', { type: 'file', name: 'file', accept: '.smi,.txt,.csv,.sdf,.sd' });
  const content = h('textarea', { name: 'content', rows: 6, cols: 60, placeholder: 'OCC(O)CO glycerol\nCS(C)=O DMSO' });
  file.addEventListener('change', async () => { if (file.files[0]) content.value = await file.files[0].text(); });
  const projectRow = h('label', { class: 'row', hidden: true }, 'Project ', project);
  const uploadRows = h('div', { hidden: true }, h('label', { class: 'row' }, 'Format ', format, file), content);
  source.addEventListener('change', () => {
    projectRow.hidden = source.value !== 'project';
    uploadRows.hidden = source.value !== 'upload';
  });
  const error = h('p', { class: 'error', id: 'screening-error' });
  const form = h('form', {
    id: 'new-screening',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const chosen = modelBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => ({ model_id: i.value }));
      const body = { name: name.value, source: source.value, models: chosen };
      if (source.value === 'project') body.project_id = project.value;
      if (source.value === 'upload') Object.assign(body, { format: format.value, content: content.value });
      try {
        const created = await post('/screenings', body);
        if (created.rejected_count) showInfo(`${created.rejected_count} lines left out: ` + created.rejected.slice(0, 5).map((r) => `line ${r.line} (${r.reason})`).join('; '));
        go(`screenings/${created.job.id}`);
      } catch (err) {
        error.textContent = err.message;
      }
    },
  },
  h('label', { class: 'row' }, 'Name ', name),
  h('fieldset', {}, h('legend', {}, 'Models (production versions)'), usable.length ? modelBoxes : h('p', { class: 'muted' }, 'No model has a production version yet.')),
  h('label', { class: 'row' }, 'Screen ', source), projectRow, uploadRows,
  h('p', {}, h('button', { type: 'submit' }, 'Start screening')), error);

  mount(page,
    h('h1', {}, 'Screening'),
    h('div', { class: 'card' }, h('h2', {}, 'New screening'), form),
    h('h2', {}, 'Screenings'),
    table([
      { label: 'Name', value: (j) => h('a', { href: `#/screenings/${j.id}` }, j.name) },
      { label: 'Source', value: (j) => j.source },
      { label: 'Models', value: (j) => j.models.map(versionLabel).join(', ') },
      { label: 'Rows', cls: 'num', value: (j) => String(j.total_rows) },
      { label: 'State', value: (j) => h('span', { class: `badge ${j.state}` }, j.state) },
      { label: 'Progress', value: (j) => progressBar(j) },
      { label: 'Created', value: (j) => when(j.created_at) },
    ], jobs, { empty: 'No screening yet.' }));
}

export async function detail(page, id) {
  let job = await get(`/screenings/${id}`);
  const versions = job.models;
  const head = h('div', { class: 'job', id: 'screening-status' });
  const cancel = h('button', { type: 'button', class: 'danger', onclick: async () => { try { job = await post(`/screenings/${id}/cancel`, {}); showHead(); } catch (err) { showError(err); } } }, 'Cancel');
  function showHead() {
    head.dataset.state = job.state;
    mount(head,
      h('div', { class: 'spread' },
        h('span', { class: `badge ${job.state}`, id: 'screening-state' }, job.state),
        h('span', { class: 'muted', id: 'screening-progress' }, `${job.chunks_done} of ${job.chunks} chunks · ${job.chunks_running} running · ${job.total_rows} rows · ${job.rows_failed} rows failed`),
        DONE.includes(job.state) ? null : cancel),
      progressBar(job),
      job.error ? h('p', { class: 'error' }, job.error) : null);
  }
  showHead();

  const sort = select('sort', [...versions.map((m) => [m.version_id, `${versionLabel(m)} (${m.algorithm})`]), ['score', 'Cryoprotection score'], ['row', 'Input order']], versions[0].version_id);
  const order = select('order', [['desc', 'highest first'], ['asc', 'lowest first']], 'desc');
  const domain = select('domain', [['', 'any domain'], ['in', 'in domain'], ['edge', 'edge'], ['out', 'out of domain']], '');
  const min = h('input', { name: 'min', type: 'number', step: 'any', size: 8, placeholder: 'min' });
  const max = h('input', { name: 'max', type: 'number', step: 'any', size: 8, placeholder: 'max' });
  const exportFormat = select('export-format', [['csv', 'CSV'], ['tsv', 'TSV'], ['json', 'JSON'], ['xlsx', 'Excel (XLSX)'], ['sdf', 'SDF']], 'csv');
  const error = h('p', { class: 'error' });
  const results = h('div', { id: 'screening-results' });
  const charts = h('div', { class: 'grid', id: 'screening-charts' });
  const cursors = [null];
  let at = 0;

  function query(cursor) {
    const q = new URLSearchParams({ sort: sort.value, limit: '50' });
    if (sort.value !== 'row') q.set('order', order.value);
    if (sort.value !== 'row' && min.value !== '') q.set('min', min.value);
    if (sort.value !== 'row' && max.value !== '') q.set('max', max.value);
    if (domain.value && !['row', 'score'].includes(sort.value)) q.set('domain', domain.value);
    if (cursor) q.set('cursor', cursor);
    return q.toString();
  }

  async function showResults(page = 0) {
    error.textContent = '';
    try {
      const r = await get(`/screenings/${id}/results?${query(cursors[page])}`);
      at = page;
      cursors[page + 1] = r.next_cursor;
      const answer = (row, m) => row.results.find((a) => a.version_id === m.version_id) || {};
      const first = page * 50 + 1;
      mount(results,
        h('div', { class: 'spread' },
          h('p', { class: 'muted', id: 'screening-range' }, r.items.length ? `Rows ${first}–${first + r.items.length - 1} of ${r.total}` : 'No rows'),
          h('div', { class: 'row' },
            h('button', { type: 'button', class: 'secondary', disabled: at === 0, onclick: () => showResults(at - 1) }, '‹ Previous'),
            h('button', { type: 'button', class: 'secondary', disabled: !r.next_cursor, onclick: () => showResults(at + 1) }, 'Next ›'))),
        table([
          { label: '#', cls: 'num', value: (row) => String(row.row_no) },
          { label: 'Name', value: (row) => row.molecule_id ? h('a', { href: `#/molecules/${row.molecule_id}` }, row.name || row.smiles) : (row.name || '—') },
          { label: 'SMILES', value: (row) => h('code', {}, row.smiles) },
          { label: 'Score', cls: 'num', value: (row) => fmt(row.score) },
          { label: 'Alerts', cls: 'num', value: (row) => fmt(row.alerts) },
          ...versions.flatMap((m) => [
            { label: versionLabel(m), cls: 'num', value: (row) => { const a = answer(row, m); return a.error ? h('span', { class: 'error', title: a.error }, 'error') : (a.label ?? fmt(a.value)); } },
            { label: 'interval', cls: 'num', value: (row) => { const a = answer(row, m); return a.lower == null ? '—' : `${fmt(a.lower)} – ${fmt(a.upper)}`; } },
            { label: 'domain', value: (row) => { const a = answer(row, m); return a.domain ? h('span', { class: `badge domain-${a.domain}` }, a.domain) : '—'; } },
          ]),
          { label: 'Problem', value: (row) => row.error || '' },
        ], r.items, { empty: 'No row matches.' }));
    } catch (err) {
      error.textContent = err.message;
    }
  }

  async function showCharts() {
    const of = versions[0].version_id;
    const [bins, points] = await Promise.all([
      get(`/screenings/${id}/histogram?of=${of}&bins=20`),
      get(`/screenings/${id}/scatter?x=${of}&y=${versions[1]?.version_id || 'score'}&limit=2000`),
    ]);
    mount(charts,
      h('div', { class: 'card' }, histogram('screening-histogram', bins, { label: versionLabel(versions[0]) })),
      h('div', { class: 'card' }, scatter('screening-scatter', points.map((p) => ({ x: p.x, y: p.y, label: `row ${p.row_no}` })),
        { x: versionLabel(versions[0]), y: versions[1] ? versionLabel(versions[1]) : 'Cryoprotection score' })));
  }

  async function exportAll() {
    try {
      await download(`/screenings/${id}/results/export?format=${exportFormat.value}&${query(null)}`, `screening.${exportFormat.value}`);
    } catch (err) {
      error.textContent = err.message;
    }
  }

  const refresh = () => { cursors.length = 1; showResults(0); };
  for (const control of [sort, order, domain]) control.addEventListener('change', refresh);
  mount(page,
    h('p', {}, h('a', { href: '#/screenings' }, '‹ Screenings')),
    h('h1', {}, job.name),
    h('p', { class: 'muted' }, `${job.source} · ${versions.map(versionLabel).join(', ')} · created ${when(job.created_at)}`),
    head,
    charts,
    h('div', { class: 'card' },
      h('form', { class: 'row', id: 'screening-filters', onsubmit: (e) => { e.preventDefault(); refresh(); } },
        h('label', { class: 'row' }, 'Rank by ', sort), order, domain, min, max,
        h('button', { type: 'submit', class: 'secondary' }, 'Filter'),
        exportFormat, h('button', { type: 'button', class: 'secondary', id: 'export-screening', onclick: exportAll }, 'Export')),
      error, results));

  // Live progress: poll until the job ends, then draw the charts and the ranked rows.
  await showResults(0);
  (async () => {
    while (!DONE.includes(job.state)) {
      await new Promise((r) => setTimeout(r, 700));
      // Left for another page (the shell mounts this one only after this function returns).
      if (!page.isConnected) return;
      try { job = await get(`/screenings/${id}`); } catch { break; }
      showHead();
      if (DONE.includes(job.state)) refresh();
    }
    if (job.chunks_done > 0) showCharts().catch(showError);
  })();
}
