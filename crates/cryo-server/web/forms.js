// The prologue and epilogue every form shares: no page reload, the last error cleared and no
// field marked before; afterwards a refusal the user can fix (a 4xx, or a check made here) is
// shown under the form with its field marked, anything else in the banner.
import { ApiError } from './api.js';
import { showError } from './nav.js';

/** A problem found before asking the server, naming the input at fault. */
export class FormError extends Error {
  constructor(field, message) { super(message); this.field = field; }
}

/**
 * An onsubmit handler running `action`. `inputs` maps field names to their inputs; `fieldOf`
 * maps the API's field name to one of them (default: the same name); `busy` is disabled while
 * the action runs.
 */
export function onSubmit({ error, inputs = {}, fieldOf = (f) => f, busy } = {}, action) {
  return async (e) => {
    e?.preventDefault();
    if (error) error.textContent = '';
    Object.values(inputs).forEach((i) => i.removeAttribute('aria-invalid'));
    if (busy) busy.disabled = true;
    try {
      await action(e);
    } catch (err) {
      const fixable = err instanceof FormError || (err instanceof ApiError && err.status < 500);
      if (!fixable || !error) { showError(err); return; }
      error.textContent = err.status === 429 && err.retryAfter ? `${err.message} Try again in ${err.retryAfter} s.` : err.message;
      inputs[fieldOf(err.field)]?.setAttribute('aria-invalid', 'true');
    } finally {
      if (busy) busy.disabled = false;
    }
  };
}
