import { h, append, field, fmt, table, select, mount, when } from '../dom.js';
import { get, post, put, del, events } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import * as charts from '../charts.js';
import { onSubmit, FormError } from '../forms.js';
import { vocabulary, pairs } from '../vocabulary.js';

const STAGE_ORDER = ['production', 'staging', 'none', 'archived'];

export async function list(page) {
  const [models, types] = await Promise.all([get('/models?limit=200'), get('/property-types')]);
  const name = h('input', { name: 'name', placeholder: 'e.g. Tg of glycerol mixtures', size: 30 });
  // Numeric properties get regression models; yes/no and text ones, classifiers.
  const kindOf = { numeric: 'number', boolean: 'yes/no class', text: 'class' };
  const property = select('property', types.map((t) => [t.name, `${t.name} (${kindOf[t.data_type] || t.data_type})`]), 'Glass Transition Temperature');
  const error = h('p', { class: 'error' });
  const form = h('form', {
    class: 'row', onsubmit: onSubmit({ error, inputs: { name, property } }, async () => {
      const m = await post('/models', { name: name.value, property: property.value });
      go(`models/${m.id}`);
    }),
  }, field('Name', name), field('Predicts', property), h('button', { type: 'submit' }, 'Create model'));
  append(page, h('h1', {}, 'Models'),
    h('div', { class: 'card' }, table([
      { label: 'Model', value: (m) => h('a', { href: `#/models/${m.id}` }, m.name) },
      { label: 'Predicts', value: (m) => m.property + (m.kind === 'numeric' ? '' : ` (${m.kind} classes)`) },
      { label: 'Production', value: (m) => (m.production_version ? h('span', { class: 'badge production' }, `v${m.production_version}`) : h('span', { class: 'muted' }, 'none')) },
      { label: 'Latest', value: (m) => (m.latest_version ? `v${m.latest_version}` : '—') },
      { label: 'Created', value: (m) => when(m.created_at) },
    ], models, { empty: 'No models yet.', rowAttrs: (m) => ({ class: 'clickable', onclick: (e) => { if (e.target.tagName !== 'A') go(`models/${m.id}`); } }) })),
    h('div', { class: 'card' }, h('h2', {}, 'New model'), form, error));
}

const metric = (v, key) => v.envelope?.validation?.pooled?.[key];

/** A model: versions with stage and metrics, charts of a version, training with live progress. */
export async function detail(page, id) {
  const [model, types, vocab] = await Promise.all([get(`/models/${id}`), get('/property-types'), vocabulary()]);
  const unit = types.find((t) => t.name === model.property)?.units || '';
  const versions = model.versions;
  const chosen = versions.find((v) => v.stage === 'production') || versions[0];
  const chartsEl = h('section', { id: 'version-charts' });
  const jobsEl = h('div', {});
  const auditEl = h('div', {});

  const classifies = model.kind !== 'numeric';
  const pct = (c) => (c == null ? '—' : `${fmt(c * 100)} %`);
  const metricColumns = classifies ? [
    { label: 'ROC-AUC', cls: 'num', value: (v) => fmt(metric(v, 'roc_auc'), 3) },
    { label: 'Log loss', cls: 'num', value: (v) => fmt(metric(v, 'log_loss'), 4) },
    { label: 'Set coverage', cls: 'num', value: (v) => pct(v.envelope?.validation?.sets?.coverage) },
  ] : [
    { label: `CV RMSE${unit ? ' (' + unit + ')' : ''}`, cls: 'num', value: (v) => fmt(v.cv_rmse) },
    { label: 'R²', cls: 'num', value: (v) => fmt(metric(v, 'r2')) },
    { label: 'Coverage', cls: 'num', value: (v) => pct(metric(v, 'coverage')) },
  ];
  const versionTable = table([
    { label: 'Version', value: (v) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); showVersion(v); } }, `v${v.version}`) },
    { label: 'Stage', value: (v) => h('span', { class: `badge ${v.stage}` }, v.stage) },
    { label: 'Algorithm', value: (v) => v.algorithm },
    { label: 'Rows', cls: 'num', value: (v) => fmt(v.envelope?.dataset?.rows) },
    ...metricColumns,
    { label: 'Aliases', value: (v) => v.aliases.join(', ') },
    { label: 'Created', value: (v) => when(v.created_at) },
    { label: '', value: (v) => stageButtons(v) },
  ], [...versions].sort((a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage) || b.version - a.version), { empty: 'No versions yet: train one below.' });

  function stageButtons(v) {
    const promote = (stage) => async (e) => {
      e.target.disabled = true;
      try {
        await post(`/models/${id}/promote`, { version: v.version, stage });
        showInfo(`Version ${v.version} is now ${stage}.`);
        go(`models/${id}`);
      } catch (err) { showError(err); e.target.disabled = false; }
    };
    const out = [];
    if (v.stage !== 'production' && v.stage !== 'archived') out.push(h('button', { onclick: promote('production') }, 'Promote to production'));
    if (v.stage === 'none') out.push(h('button', { class: 'secondary', onclick: promote('staging') }, 'Stage'));
    if (v.stage === 'archived') {
      out.push(h('button', { class: 'secondary', onclick: promote('staging') }, 'Restore to staging'));
      out.push(h('button', {
        class: 'danger', onclick: async (e) => {
          if (!confirm(`Delete version ${v.version} for good?`)) return;
          e.target.disabled = true;
          try { await del(`/models/${id}/versions/${v.version}`); showInfo(`Version ${v.version} deleted.`); go(`models/${id}`); } catch (err) { showError(err); e.target.disabled = false; }
        },
      }, 'Delete'));
    }
    const alias = h('input', { name: 'alias', placeholder: 'alias', size: 9, 'aria-label': `Alias for version ${v.version}` });
    out.push(h('form', {
      class: 'row', onsubmit: async (e) => {
        e.preventDefault();
        alias.removeAttribute('aria-invalid');
        try { await put(`/models/${id}/aliases/${encodeURIComponent(alias.value.trim())}`, { version: v.version }); showInfo(`“${alias.value.trim()}” now names version ${v.version}.`); go(`models/${id}`); } catch (err) {
          alias.setAttribute('aria-invalid', 'true');
          showError(err);
        }
      },
    }, alias, h('button', { type: 'submit', class: 'secondary' }, 'Set alias')));
    return h('div', { class: 'row' }, out);
  }

  const rollback = h('button', {
    class: 'secondary', disabled: !versions.some((v) => v.stage === 'production'), onclick: async (e) => {
      if (!confirm('Return production to the previous production version?')) return;
      e.target.disabled = true;
      try { const r = await post(`/models/${id}/rollback`, {}); showInfo(`Rolled back to version ${r.version ?? ''}.`); go(`models/${id}`); } catch (err) { showError(err); e.target.disabled = false; }
    },
  }, 'Roll back production');

  async function showVersion(v) {
    if (!v) { mount(chartsEl, h('p', { class: 'muted' }, 'Charts appear here once a version is trained.')); return; }
    mount(chartsEl, h('p', { class: 'muted' }, `Loading version ${v.version}…`));
    try {
      const val = await get(`/models/${id}/versions/${v.version}/validation`);
      if (val.task === 'classification') { mount(chartsEl, classifierCharts(v, val)); return; }
      const cards = [
        ['Predicted against measured (held-out)', charts.parity(val.predictions, { unit, level: val.level })],
        ['Residuals', charts.residuals(val.predictions, { unit })],
        ['Interval calibration', val.calibration.length ? charts.calibration(val.calibration) : h('p', { class: 'muted' }, 'This version was trained before coverage was measured at several levels.')],
        ['Per-fold cross-validation', charts.folds(val.folds, { unit })],
        ['Learning curve', val.learning_curve ? charts.learningCurve(val.learning_curve) : h('p', { class: 'muted' }, 'Not measured for this version (train with the learning curve on).')],
        ['Feature importance', val.importance?.length ? charts.importance(val.importance) : h('p', { class: 'muted' }, `${val.algorithm} reports no importances.`)],
      ];
      const p = val.pooled;
      mount(chartsEl,
        h('div', { class: 'spread' }, h('h2', {}, `Version ${v.version} — ${val.algorithm}, ${val.splitter}`),
          h('span', { class: 'muted', id: 'version-metrics' }, `RMSE ${fmt(p.rmse)} · MAE ${fmt(p.mae)} · R² ${fmt(p.r2)} · Spearman ${fmt(p.spearman)}` + (p.coverage != null ? ` · ${fmt(p.coverage * 100)} % inside ${Math.round(val.level * 100)} % intervals` : '')
            + (val.scaffold && !/by group/.test(val.splitter) ? ` · on new scaffolds: RMSE ${fmt(val.scaffold.rmse)}` + (val.scaffold.coverage != null ? `, ${fmt(val.scaffold.coverage * 100)} % inside` : '') : '')
            + (val.replicate_spread ? ` · replicates of ${val.replicate_spread.structures} molecules differ by SD ${fmt(val.replicate_spread.pooled_sd)} (the noise floor)` : ''))),
        h('p', { class: `badge ${val.diagnosis.verdict === 'balanced' ? 'ok' : 'warning'}` }, val.diagnosis.message),
        uncertaintyLine(val),
        h('div', { class: 'grid' }, cards.map(([title, chart]) => h('div', { class: 'card' }, h('h3', {}, title), chart))));
    } catch (err) {
      mount(chartsEl, h('p', { class: 'error' }, `Version ${v.version}: ${err.message}`));
    }
  }

  async function loadJobs() {
    const jobs = await get(`/models/${id}/jobs?limit=10`);
    mount(jobsEl, table([
      { label: 'Started', value: (j) => when(j.created_at) },
      { label: 'Kind', value: (j) => `${j.kind} · ${j.request?.algorithm || ''}` },
      { label: 'State', value: (j) => h('span', { class: `badge ${j.state}` }, j.state) },
      { label: 'Progress', cls: 'num', value: (j) => `${Math.round(j.progress * 100)} %` },
      { label: 'Result', value: (j) => (j.result_version ? `v${j.result_version}` : j.error ? h('span', { class: 'error' }, j.error) : '—') },
    ], jobs, { empty: 'No training jobs yet.' }));
  }

  async function loadAudit() {
    const entries = await get(`/models/${id}/audit`);
    mount(auditEl, table([
      { label: 'When', value: (a) => when(a.created_at) },
      { label: 'Action', value: (a) => a.action },
      { label: 'By', value: (a) => a.actor_name || a.actor_id || 'system' },
      { label: 'Details', value: (a) => h('small', {}, Object.entries(a.details || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'number' ? fmt(v, 4) : typeof v === 'object' ? auditObject(v) : String(v).slice(0, 40)}`).join(' · ')) },
    ], entries, { empty: 'No promotions or rollbacks yet.' }));
  }

  append(page, 
    h('div', { class: 'spread' }, h('h1', {}, model.name, ' ', h('span', { class: 'muted' }, `predicts ${model.property}${unit ? ' (' + unit + ')' : ''}`)), rollback),
    h('div', { class: 'card' }, h('h2', {}, 'Versions'), versionTable),
    h('div', { class: 'grid' }, trainCard(id, vocab, classifies, () => go(`models/${id}`)), predictCard(id, unit, versions.some((v) => v.stage === 'production'), classifies)),
    chartsEl,
    h('div', { class: 'grid' }, h('div', { class: 'card' }, h('h2', {}, 'Training jobs'), jobsEl), h('div', { class: 'card' }, h('h2', {}, 'Audit trail'), auditEl)));
  await Promise.all([showVersion(chosen), loadJobs().catch(showError), loadAudit().catch(showError)]);
}

/** An audit detail that is an object (thresholds, the gate's numbers, what was left out), short. */
function auditObject(v) {
  const parts = Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => `${k.replace(/_/g, ' ')} ${typeof x === 'number' ? fmt(x, 4) : typeof x === 'object' ? '…' : x}`);
  return parts.length ? `{${parts.join(', ')}}`.slice(0, 80) : '—';
}

/** A classifier version's held-out charts: reliability diagram, ROC and precision–recall. */
function classifierCharts(v, val) {
  const p = val.pooled;
  const named = (i) => val.classes[val.classes.length === 2 ? 1 : i];
  const total = val.class_counts.reduce((a, b) => a + b, 0) || 1;
  const unit = { domain: [0, 1], format: (x) => fmt(x, 2) };
  const cards = [
    ['Reliability (held-out)', charts.lines('reliability', [{ name: 'top class', points: val.reliability.map((b) => ({ x: b.confidence, y: b.accuracy, note: `${b.count} rows` })) }], {
      x: { ...unit, label: 'Predicted probability of the top class' }, y: { ...unit, label: 'Share correct' }, diagonal: true,
      caption: `Below the diagonal: overconfident. Expected calibration error ${fmt(p.ece, 3)}.`,
    })],
    ['ROC (held-out)', charts.lines('roc', val.roc.map((c, i) => ({ name: named(i), points: c })), {
      x: { ...unit, label: 'False-positive rate' }, y: { ...unit, label: 'True-positive rate' }, diagonal: true,
      caption: `Area ${fmt(p.roc_auc, 3)}; the diagonal is chance.`,
    })],
    ['Precision–recall (held-out)', charts.lines('precision-recall', val.pr.map((c, i) => ({ name: named(i), points: c })), {
      x: { ...unit, label: 'Recall' }, y: { ...unit, label: 'Precision' },
      caption: `Average precision ${fmt(p.pr_auc, 3)}; chance is the class's share (${val.classes.length === 2 ? fmt(val.class_counts[1] / total, 2) : 'per class'}).`,
    })],
  ];
  const counts = val.classes.map((c, i) => `${c} ${val.class_counts[i]}`).join(', ');
  return h('div', {},
    h('div', { class: 'spread' }, h('h2', {}, `Version ${v.version} — ${val.algorithm}, ${val.splitter}`),
      h('span', { class: 'muted', id: 'version-metrics' }, `ROC-AUC ${fmt(p.roc_auc, 3)} · balanced accuracy ${fmt(p.balanced_accuracy, 3)} · Brier ${fmt(p.brier, 4)} · log loss ${fmt(p.log_loss, 4)} · ECE ${fmt(p.ece, 3)}`)),
    h('p', { class: 'muted', id: 'class-sets' }, `Classes: ${counts}. ${Math.round(val.level * 100)} % prediction sets (${val.set_method.replace('_', ' ')}): held-out coverage ${fmt(val.sets.coverage * 100)} %, mean size ${fmt(val.sets.mean_size, 2)}; probabilities recalibrated by ${val.recalibration}.`),
    h('div', { class: 'grid' }, cards.map(([title, chart]) => h('div', { class: 'card' }, h('h3', {}, title), chart))));
}

/** Where the input stands in the version's training domain, and whether the value extrapolates. */
function domainNote(p) {
  if (!p.domain && !p.beyond_training_range) return null;
  const d = p.domain;
  const words = { in: 'in domain', edge: 'edge of the domain: held-out intervals covered less often here', out: 'out of domain: the model was not validated on anything this different' };
  return h('p', { class: 'domain', id: 'prediction-domain' },
    d ? h('span', { class: `badge ${d.flag === 'in' ? 'production' : 'warning'}`, dataset: { flag: d.flag } }, words[d.flag]) : null,
    d ? ` · nearest training molecule ${d.nearest} (Tanimoto ${fmt(d.nearest_similarity, 2)})` : null,
    d?.leverage != null ? h('span', { id: 'prediction-leverage' }, ` · descriptor leverage ${fmt(d.leverage, 3)}`) : null,
    p.interval_factor != null ? h('span', { id: 'interval-factor' }, ` · interval ×${fmt(p.interval_factor, 2)} for this domain bin`) : null,
    p.beyond_training_range ? h('span', { class: 'badge warning' }, ' beyond the training values') : null);
}

/** Held-out interval coverage per domain bin, as validated and after the per-bin factors. */
function binsNote(calibration) {
  const bins = (calibration?.bins ?? []).filter((b) => b.rows > 0);
  if (!bins.length) return null;
  const pct = (v) => v == null ? '—' : `${Math.round(v * 100)} %`;
  return h('p', { class: 'muted', id: 'domain-bins' }, 'Held-out coverage by domain bin, as validated → recalibrated: ',
    bins.map((b) => `${b.flag} ${pct(b.coverage_before)} → ${pct(b.coverage_after)} (×${fmt(b.factor, 2)}, ${b.rows} rows)`).join('; '));
}

/** Ask the production version about one structure. */
function predictCard(modelId, unit, hasProduction, classifies) {
  const smiles = h('input', { name: 'predict_smiles', placeholder: 'SMILES, e.g. OCC(O)CO', size: 24 });
  const level = h('input', { name: 'level', type: 'number', min: 0.5, max: 0.99, step: 0.05, value: 0.9, size: 4 });
  const out = h('div', { id: 'prediction' });
  const form = h('form', {
    class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      mount(out);
      smiles.removeAttribute('aria-invalid');
      try {
        // A classifier's sets hold at the level they were calibrated at.
        const r = await post(`/models/${modelId}/predict`, classifies ? { smiles: smiles.value } : { smiles: smiles.value, level: Number(level.value) });
        const p = r.predictions[0];
        if (p.error) { smiles.setAttribute('aria-invalid', 'true'); mount(out, h('p', { class: 'error' }, p.error)); return; }
        if (r.task === 'classification') {
          const probs = Object.entries(p.probabilities).sort((a, b) => b[1] - a[1]);
          mount(out, h('p', {}, h('strong', { id: 'predicted-class' }, p.label),
            ` · ${probs.map(([c, v]) => `${c} ${fmt(v * 100)} %`).join(', ')}`,
            h('span', { id: 'prediction-set' }, ` · ${Math.round(r.level * 100)} % prediction set {${p.set.join(', ')}}`),
            ` · version ${r.version} (${r.algorithm})`),
          domainNote(p));
          return;
        }
        mount(out, h('p', {}, h('strong', {}, `${fmt(p.value)} ${unit}`),
          p.interval ? ` (${Math.round(r.level * 100)} % interval ${fmt(p.interval.lower)} – ${fmt(p.interval.upper)})` : '',
          p.spread != null ? ` · ensemble spread ${fmt(p.spread)}` : '',
          ` · version ${r.version} (${r.algorithm})`, r.fallback ? h('span', { class: 'badge warning' }, ` fallback from v${r.fallback.from_version}`) : ''),
        domainNote(p),
        binsNote(r.domain),
        r.feature_importance.length ? h('p', { class: 'muted' }, 'Most important features: ', r.feature_importance.slice(0, 5).map(([n]) => n).join(', ')) : null);
      } catch (err) {
        mount(out, h('p', { class: 'error' }, err.message));
        if (err.field === 'smiles') smiles.setAttribute('aria-invalid', 'true');
      }
    },
  }, h('h2', {}, 'Predict'),
  hasProduction ? null : h('p', { class: 'muted' }, 'No version is in production yet: promote one first.'),
  h('div', { class: 'row' }, field('Structure', smiles), classifies ? null : field('Interval level', level), h('button', { type: 'submit', disabled: !hasProduction }, 'Predict')), out);
  return form;
}

const SCALE_WORDS = { none: 'the same width everywhere', spread: 'widened by the ensemble spread', residual: 'widened where a residual model expects larger errors' };

/** How good the held-out intervals are beyond coverage (Uncertainty Toolbox scores, ENCE). */
function uncertaintyLine(val) {
  const u = val.uncertainty;
  const scale = `Intervals ${SCALE_WORDS[val.interval_scale] || val.interval_scale}`;
  if (!u) return h('p', { class: 'muted', id: 'uncertainty' }, `${scale}.`);
  return h('p', { class: 'muted', id: 'uncertainty', title: 'Each interval read as a Gaussian: negative log-likelihood and miscalibration area (lower is better), ENCE (0 = errors as large as promised in every width bin), and the rank correlation between interval width and error (higher: wider intervals really mark larger errors).' },
    `${scale} · NLL ${fmt(u.nll)} · miscalibration area ${fmt(u.miscalibration_area, 3)} · ENCE ${fmt(u.ence, 3)} · width–error Spearman ${fmt(u.spearman, 2)} (${u.n} held-out rows)`);
}

/** The train form and the live progress of the job it starts. */
function trainCard(modelId, vocab, classifies, onDone) {
  // The first choice of each list is the API's default.
  const algorithms = classifies ? vocab.classifiers : vocab.algorithms;
  const algorithm = select('algorithm', pairs(algorithms), algorithms[0].name);
  const calibration = select('calibration', pairs(vocab.calibrations), vocab.calibrations[0].name);
  const sets = select('sets', pairs(vocab.set_methods), vocab.set_methods[0].name);
  const features = select('features', pairs(vocab.feature_sets), vocab.feature_sets[0].name);
  const folds = h('input', { name: 'folds', type: 'number', min: 2, max: 20, value: 5, size: 4 });
  // Classifiers are validated on random or scaffold folds.
  const split = select('split', pairs(vocab.splits.filter((x) => !classifies || x.name !== 'time')), vocab.splits[0].name);
  const search = select('search', [['', 'none (defaults)'], ...pairs(vocab.searches)], '');
  const conformal = select('conformal', pairs(vocab.interval_methods), vocab.interval_methods[0].name);
  const scale = select('interval_scale', pairs(vocab.interval_scales), vocab.interval_scales[0].name);
  const learning = h('input', { name: 'learning_curve', type: 'checkbox', checked: true });
  const verifiedOnly = h('input', { name: 'verified_only', type: 'checkbox' });
  const error = h('p', { class: 'error' });
  const status = h('div', { class: 'job', id: 'job-status', hidden: true });
  const start = h('button', { type: 'submit' }, 'Train');
  const inputs = { algorithm, features, folds, split, search, conformal, interval_scale: scale, calibration, sets };

  async function follow(job) {
    const bar = h('div', {});
    const label = h('span', { id: 'job-state' });
    const cancel = h('button', { type: 'button', class: 'danger', onclick: () => post(`/models/jobs/${job.id}/cancel`, {}).catch(showError) }, 'Cancel');
    mount(status, h('div', { class: 'spread' }, label, cancel),
      h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, id: 'job-progress' }, bar));
    status.hidden = false;
    const show = (j) => {
      const pct = Math.round(j.progress * 100);
      bar.style.width = pct + '%';
      status.querySelector('[role=progressbar]').setAttribute('aria-valuenow', pct);
      label.textContent = `${j.state}${j.stage ? ' · ' + j.stage.replace('_', ' ') : ''} · ${pct} %` + (j.error ? ` — ${j.error}` : '');
      label.className = `badge ${j.state}`;
      status.dataset.state = j.state;
      return j;
    };
    let last = show(job);
    const finished = (j) => ['succeeded', 'failed', 'cancelled'].includes(j.state);
    try {
      await events(`/api/v1/models/jobs/${job.id}/events`, (name, data) => { if (name === 'job') last = show(data); });
    } catch { /* fall back to polling below */ }
    while (!finished(last)) {
      await new Promise((r) => setTimeout(r, 700));
      last = show(await get(`/models/jobs/${job.id}`));
    }
    cancel.remove();
    if (last.state === 'succeeded') {
      showInfo(`Training finished: version ${last.result_version}.`);
      const again = h('button', { type: 'button', onclick: onDone }, `Show version ${last.result_version}`);
      status.append(h('p', {}, again));
    }
    start.disabled = false;
  }

  const form = h('form', {
    class: 'card', onsubmit: onSubmit({ error, inputs, busy: start }, async () => {
      const k = Number(folds.value);
      if (!Number.isInteger(k) || k < 2) throw new FormError('folds', 'Folds must be a whole number of at least 2.');
      const common = { algorithm: algorithm.value, features: features.value, folds: k, split: split.value, verified_only: verifiedOnly.checked };
      const job = await post(`/models/${modelId}/train`, classifies
        ? { ...common, calibration: calibration.value, sets: sets.value }
        : { ...common, search: search.value || null, conformal: conformal.value, interval_scale: scale.value, learning_curve: learning.checked });
      await follow(job);
    }),
  },
  h('h2', {}, 'Train a new version'),
  h('div', { class: 'row' }, field('Algorithm', algorithm), field('Features', features), field('Folds', folds), field('Split', split),
    ...(classifies
      ? [field('Probabilities', calibration), field('Prediction sets', sets)]
      : [field('Hyperparameter search', search), field('Intervals', conformal), field('Interval width', scale), h('label', { class: 'field' }, h('span', {}, 'Learning curve'), learning)]),
    h('label', { class: 'field' }, h('span', {}, 'Verified only'), verifiedOnly), start),
  error, status,
  h('p', { class: 'muted' }, 'Trains on every measurement of this property you can read (never a rejected one; with “verified only”, only verified ones), cross-validates, calibrates intervals and stores the result as the next version (stage “none”).'));
  return form;
}
