// Navigation and the message banner, shared by the shell (app.js) and every page. Pages import
// this module, never app.js, so no module imports one that imports it back.
import { ApiError } from './api.js';

/** Shows an error (ApiError or any Error) in the banner; returns it for chaining. */
export function showError(err) {
  const flash = document.getElementById('flash');
  flash.className = '';
  let text = err && err.message ? err.message : String(err);
  if (err instanceof ApiError) {
    if (err.status === 403) text = `Not allowed: ${err.message}`;
    if (err.status === 429 && err.retryAfter) text += ` (try again in ${err.retryAfter} s)`;
    if (err.status >= 500) text = `The server could not do that (${err.code}): ${err.message}`;
  }
  flash.textContent = text;
  return err;
}

// An info message usually precedes a navigation (saved → go to the saved row); it survives one.
let keepFlash = false;
export function showInfo(text) {
  const flash = document.getElementById('flash');
  flash.className = 'info';
  flash.textContent = text;
  keepFlash = true;
}

export const clearFlash = () => { document.getElementById('flash').textContent = ''; };

/** Called by the shell on each page change: clears the banner unless a message is to survive it. */
export function pageChanged() {
  if (keepFlash) keepFlash = false;
  else clearFlash();
}

/** Shows `route`; the same route again is rendered again (the shell listens for hashchange). */
export function go(route) {
  if (location.hash === '#/' + route) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = '#/' + route;
}
