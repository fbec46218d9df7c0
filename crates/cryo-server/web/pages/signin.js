import { h, append, field } from '../dom.js';
import { post, session, ApiError } from '../api.js';
import { go, showError, clearFlash } from '../app.js';

/** Sign in, or create an account. */
export async function render(page) {
  let mode = 'signin';
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const displayName = h('input', { name: 'display_name', autocomplete: 'name' });
  const nameField = field('Your name', displayName);
  const error = h('p', { class: 'error', id: 'signin-error' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const tabs = ['signin', 'register'].map((m) => h('button', {
    type: 'button', role: 'tab', 'aria-selected': String(m === mode),
    onclick: () => {
      mode = m;
      tabs.forEach((t, i) => t.setAttribute('aria-selected', String(['signin', 'register'][i] === mode)));
      nameField.hidden = mode !== 'register';
      password.autocomplete = mode === 'register' ? 'new-password' : 'current-password';
      submit.textContent = mode === 'register' ? 'Create account' : 'Sign in';
    },
  }, m === 'signin' ? 'Sign in' : 'Create account'));
  nameField.hidden = true;
  const form = h('form', {
    class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      [email, password, displayName].forEach((i) => i.removeAttribute('aria-invalid'));
      submit.disabled = true;
      try {
        const tokens = mode === 'register'
          ? await post('/auth/register', { email: email.value, password: password.value, display_name: displayName.value || email.value.split('@')[0] })
          : await post('/auth/login', { email: email.value, password: password.value });
        session.set(tokens);
        clearFlash();
        go('molecules');
      } catch (err) {
        if (!(err instanceof ApiError)) { showError(err); return; }
        error.textContent = err.status === 429 && err.retryAfter ? `${err.message} Try again in ${err.retryAfter} s.` : err.message;
        const bad = { email, password, display_name: displayName }[err.field];
        if (bad) bad.setAttribute('aria-invalid', 'true');
      } finally { submit.disabled = false; }
    },
  },
  h('div', { class: 'tabs', role: 'tablist' }, tabs),
  field('E-mail', email), field('Password', password), nameField, error, submit);
  append(page, h('div', { class: 'signin' }, h('h1', {}, 'CryoProtect'),
    h('p', { class: 'muted' }, 'Molecules, mixtures, experiments and predictive models for cryoprotectant research.'), form));
}
