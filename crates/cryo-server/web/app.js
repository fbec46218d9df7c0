// Shell of the single-page interface: hash routes, the navigation bar and the signed-in user.
// Pages import navigation and messages from nav.js, never this module.
import { h, mount } from './dom.js';
import { session, post } from './api.js';
import { go, pageChanged, showError } from './nav.js';
import * as signin from './pages/signin.js';
import * as molecules from './pages/molecules.js';
import * as mixtures from './pages/mixtures.js';
import * as experiments from './pages/experiments.js';
import * as models from './pages/models.js';
import * as system from './pages/system.js';
import * as protocols from './pages/protocols.js';
import * as screening from './pages/screening.js';

const NAV = [
  ['molecules', 'Molecules'], ['mixtures', 'Mixtures'], ['experiments', 'Experiments'],
  ['verifications', 'Verification queue'], ['models', 'Models'], ['screenings', 'Screening'], ['protocols', 'Protocols'], ['system', 'System'],
];

// route pattern → (params) => page renderer
const ROUTES = [
  [/^signin$/, () => signin.render],
  [/^molecules$/, () => molecules.list],
  [/^molecules\/([0-9a-f-]{36})$/, (m) => (el) => molecules.detail(el, m[1])],
  [/^mixtures$/, () => mixtures.list],
  [/^mixtures\/new$/, () => mixtures.editor],
  [/^mixtures\/compare\/((?:[0-9a-f-]{36},?){2,6})$/, (m) => (el) => mixtures.compare(el, m[1].split(',').filter(Boolean))],
  [/^mixtures\/([0-9a-f-]{36})\/edit$/, (m) => (el) => mixtures.editor(el, m[1])],
  [/^mixtures\/([0-9a-f-]{36})$/, (m) => (el) => mixtures.detail(el, m[1])],
  [/^experiments$/, () => experiments.list],
  [/^verifications$/, () => experiments.queue],
  [/^models$/, () => models.list],
  [/^models\/([0-9a-f-]{36})$/, (m) => (el) => models.detail(el, m[1])],
  [/^screenings$/, () => screening.list],
  [/^screenings\/([0-9a-f-]{36})$/, (m) => (el) => screening.detail(el, m[1])],
  [/^protocols$/, () => protocols.list],
  [/^protocols\/new$/, () => protocols.designer],
  [/^protocols\/compare\/((?:[0-9a-f-]{36},?){2,6})$/, (m) => (el) => protocols.compare(el, m[1].split(',').filter(Boolean))],
  [/^protocols\/([0-9a-f-]{36})$/, (m) => (el) => protocols.detail(el, m[1])],
  [/^system$/, () => system.render],
];

const main = () => document.getElementById('main');

function renderChrome(route) {
  const user = session.user();
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!user) { mount(nav); mount(who); return; }
  const section = route.split('/')[0];
  mount(nav, NAV.map(([r, label]) => h('a', { href: '#/' + r, 'aria-current': r === section ? 'page' : null }, label)));
  mount(who,
    h('span', { title: user.email }, user.display_name, user.global_role === 'admin' ? ' (admin)' : ''),
    h('button', { class: 'secondary', onclick: signOut }, 'Sign out'));
}

async function signOut() {
  const s = session.get();
  try { if (s) await post('/auth/logout', { refresh_token: s.refresh_token }); } catch { /* signed out anyway */ }
  session.clear();
  go('signin');
}

let generation = 0;
async function render() {
  const route = location.hash.replace(/^#\/?/, '') || 'molecules';
  if (!session.get() && route !== 'signin') { go('signin'); return; }
  renderChrome(route);
  pageChanged();
  const match = ROUTES.map(([re, make]) => [route.match(re), make]).find(([m]) => m);
  const el = main();
  const mine = ++generation;
  if (!match) { mount(el, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, route), '.')); return; }
  mount(el, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const page = h('div', { class: 'page', dataset: { route } });
    await match[1](match[0])(page);
    if (mine === generation) mount(el, page);
  } catch (err) {
    if (mine !== generation) return;
    showError(err);
    mount(el, h('h1', {}, 'Could not load this page'), h('p', { class: 'muted' }, err.message));
  }
}

window.addEventListener('hashchange', render);
window.addEventListener('cryoprotect:signed-out', () => go('signin'));
window.addEventListener('unhandledrejection', (e) => showError(e.reason));
render();
