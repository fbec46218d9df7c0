import { h, append, field, fmt, table, select, mount, when } from '../dom.js';
import { get, post, patch, session } from '../api.js';
import { go, showError, showInfo } from '../nav.js';
import * as pick from '../pick.js';
import { onSubmit, FormError } from '../forms.js';

/** Everyone who shares a team with the caller (possible verifiers), by user id. */
async function colleagues() {
  const me = session.user()?.id;
  const teams = await get('/teams?limit=100').catch(() => []);
  const members = (await Promise.all(teams.map((t) => get(`/teams/${t.id}/members`).catch(() => [])))).flat();
  const byId = new Map();
  for (const m of members) if (m.user_id !== me) byId.set(m.user_id, m.display_name || m.user_id);
  return byId;
}

export async function list(page) {
  const [experiments, types, molecules, mixtures, people] = await Promise.all([
    get('/experiments?limit=300'), get('/property-types'), get('/molecules?limit=500'), get('/mixtures?limit=500'), colleagues(),
  ]);
  // Labels for the molecules and mixtures the measurements are about (for the table).
  const nameOf = new Map([...mixtures.map((x) => [x.id, pick.mixtureLabel(x)]), ...molecules.map((m) => [m.id, pick.moleculeLabel(m)])]);
  const typeOf = new Map(types.map((t) => [t.name, t]));

  const picker = pick.subjects(mixtures);
  const subject = picker.attach(h('input', { name: 'subject', placeholder: 'molecule or mixture name', size: 34, autocomplete: 'off' }));
  const property = select('property', types.filter((t) => !t.name.startsWith('Cryoprotection')).map((t) => t.name), 'Glass Transition Temperature');
  const value = h('input', { name: 'value', placeholder: 'value', size: 10 });
  const unit = h('input', { name: 'unit', size: 8 });
  const temperature = h('input', { name: 'temperature_c', type: 'number', step: 'any', size: 7 });
  const date = h('input', { name: 'performed_on', type: 'date' });
  const notes = h('input', { name: 'notes', size: 30 });
  const error = h('p', { class: 'error' });
  const syncUnit = () => { unit.value = typeOf.get(property.value)?.units || ''; };
  property.addEventListener('change', syncUnit);
  syncUnit();
  const inputs = { subject, property, value, unit, temperature_c: temperature, performed_on: date, notes };
  const form = h('form', {
    class: 'card', onsubmit: onSubmit({ error, inputs, fieldOf: (f) => (f === 'molecule_id' || f === 'mixture_id' ? 'subject' : f) }, async () => {
      const target = await picker.resolve(subject.value);
      if (!target) throw new FormError('subject', `No molecule or mixture called “${subject.value}” that you can see.`);
      const type = typeOf.get(property.value);
      let v = value.value.trim();
      if (type?.data_type === 'numeric') {
        if (v === '' || !Number.isFinite(Number(v))) throw new FormError('value', `${property.value} needs a number.`);
        v = Number(v);
      } else if (type?.data_type === 'boolean') v = ['true', 'yes', '1'].includes(v.toLowerCase());
      await post('/experiments', {
        molecule_id: target.molecule_id, mixture_id: target.mixture_id, property: property.value, value: v,
        unit: unit.value || null, temperature_c: temperature.value === '' ? null : Number(temperature.value),
        performed_on: date.value || null, notes: notes.value || null,
      });
      showInfo('Measurement recorded.');
      go('experiments');
    }),
  },
  h('h2', {}, 'Record a measurement'),
  picker.list,
  h('div', { class: 'row' }, field('Molecule or mixture', subject), field('Property', property), field('Value', value), field('Unit', unit),
    field('Temperature (°C)', temperature), field('Date', date), field('Notes', notes), h('button', { type: 'submit' }, 'Record')),
  error);

  const verifier = select('verifier', [['', people.size ? 'choose a colleague' : 'no team-mates yet'], ...people.entries()]);
  append(page, 
    h('h1', {}, 'Experiments'), form,
    h('div', { class: 'card' }, h('div', { class: 'spread' }, h('h2', {}, `Measurements (${experiments.length})`), h('label', { class: 'row' }, 'Verifier for requests: ', verifier)),
      table([
        { label: 'Subject', value: (x) => { const id = x.mixture_id || x.molecule_id; return h('a', { href: `#/${x.mixture_id ? 'mixtures' : 'molecules'}/${id}` }, nameOf.get(id) || id); } },
        { label: 'Property', value: (x) => x.property },
        { label: 'Value', cls: 'num', value: (x) => fmt(x.numeric_value ?? x.text_value ?? x.boolean_value) },
        { label: 'Unit', value: (x) => x.unit || '' },
        { label: 'T (°C)', cls: 'num', value: (x) => fmt(x.temperature_c) },
        { label: 'Date', value: (x) => x.performed_on || when(x.created_at) },
        { label: '', value: (x) => h('button', {
          class: 'secondary', onclick: async (e) => {
            if (!verifier.value) { showError(new Error('Choose a verifier (a team-mate) first.')); return; }
            e.target.disabled = true;
            try { await post(`/experiments/${x.id}/verification`, { verifier_id: verifier.value }); showInfo('Verification requested.'); } catch (err) { showError(err); e.target.disabled = false; }
          },
        }, 'Request verification') },
      ], experiments, { empty: 'No measurements yet.' })));
}

/** Verification requests addressed to the caller (to decide) or made by them (to follow). */
export async function queue(page) {
  const me = session.user()?.id;
  const status = select('status', [['pending', 'pending'], ['verified', 'verified'], ['rejected', 'rejected'], ['', 'all']], 'pending');
  const body = h('div', {});
  async function load() {
    const rows = await get('/verifications?limit=300' + (status.value ? '&status=' + status.value : ''));
    const experiments = new Map((await Promise.all([...new Set(rows.map((r) => r.experiment_id))].map((id) => get(`/experiments/${id}`).catch(() => null)))).filter(Boolean).map((x) => [x.id, x]));
    mount(body, table([
      { label: 'Measurement', value: (r) => { const x = experiments.get(r.experiment_id); return x ? `${x.property}: ${fmt(x.numeric_value ?? x.text_value ?? x.boolean_value)} ${x.unit || ''}` : h('span', { class: 'muted', title: r.experiment_id }, 'not visible to you: you share no team with whoever asked'); } },
      { label: 'Status', value: (r) => h('span', { class: `badge ${r.status}` }, r.status) },
      { label: 'Role', value: (r) => (r.verifier_id === me ? 'you verify' : 'you asked') },
      { label: 'Requested', value: (r) => when(r.created_at) },
      { label: 'Comments', value: (r) => r.comments || '' },
      { label: '', value: (r) => (r.status === 'pending' && r.verifier_id === me ? decide(r) : '') },
    ], rows, { empty: 'Nothing in the queue.' }));
  }
  function decide(r) {
    const comments = h('input', { placeholder: 'comments', size: 16, 'aria-label': 'Comments' });
    const act = (decision) => async () => {
      try { await patch(`/verifications/${r.id}`, { status: decision, comments: comments.value || null }); showInfo(`Marked ${decision}.`); await load(); } catch (err) { showError(err); }
    };
    return h('div', { class: 'row' }, comments, h('button', { onclick: act('verified') }, 'Verify'), h('button', { class: 'danger', onclick: act('rejected') }, 'Reject'));
  }
  status.addEventListener('change', () => load().catch(showError));
  await load();
  append(page, h('h1', {}, 'Lab verification queue'), h('div', { class: 'card' }, h('label', { class: 'row' }, 'Show ', status), body));
}


