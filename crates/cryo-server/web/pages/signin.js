import { h, append, field } from '../dom.js';
import { post, session } from '../api.js';
import { go, clearFlash } from '../nav.js';
import { onSubmit } from '../forms.js';

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
    class: 'card', onsubmit: onSubmit({ error, inputs: { email, password, display_name: displayName }, busy: submit }, async () => {
      const tokens = mode === 'register'
        ? await post('/auth/register', { email: email.value, password: password.value, display_name: displayName.value || email.value.split('@')[0] })
        : await post('/auth/login', { email: email.value, password: password.value });
      session.set(tokens);
      clearFlash();
      go('molecules');
    }),
  },
  h('div', { class: 'tabs', role: 'tablist' }, tabs),
  field('E-mail', email), field('Password', password), nameField, error, submit);
  append(page, h('div', { class: 'signin' }, h('h1', {}, 'CryoProtect'),
    h('p', { class: 'muted' }, 'Molecules, mixtures, experiments and predictive models for cryoprotectant research.'), form));
}
