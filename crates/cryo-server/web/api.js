// The public API, as any client would call it: bearer tokens, JSON, errors of the shape
// {"error": {"code", "message", "details"}} turned into ApiError.
const KEY = 'cryoprotect.session';

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const e = body && body.error;
    super(e ? e.message : `request failed (HTTP ${status})`);
    this.status = status;
    this.code = e ? e.code : 'http_' + status;
    this.details = (e && e.details) || {};
    this.field = this.details.field || null;
    this.retryAfter = retryAfter;
  }
}

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
  },
  set(tokens) { sessionStorage.setItem(KEY, JSON.stringify(tokens)); },
  clear() { sessionStorage.removeItem(KEY); },
  user() { const s = this.get(); return s ? s.user : null; },
};

let refreshing = null;
async function refresh() {
  const s = session.get();
  if (!s || !s.refresh_token) return false;
  refreshing ??= fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: s.refresh_token }),
  }).then(async (r) => {
    if (!r.ok) { session.clear(); return false; }
    session.set(await r.json());
    return true;
  }).finally(() => { refreshing = null; });
  return refreshing;
}

function headers(body) {
  const h = {};
  const s = session.get();
  if (s) h.authorization = 'Bearer ' + s.access_token;
  if (body !== undefined) h['content-type'] = 'application/json';
  return h;
}

/** Calls `/api/v1{path}`; resolves to parsed JSON (or text), rejects with ApiError. */
export async function api(method, path, body, { raw = false, signal } = {}) {
  const url = path.startsWith('/') && !path.startsWith('/api') && !path.startsWith('/health') ? '/api/v1' + path : path;
  const init = { method, headers: headers(body), body: body === undefined ? undefined : JSON.stringify(body), signal };
  let res = await fetch(url, init);
  if (res.status === 401 && !url.includes('/auth/') && await refresh()) {
    res = await fetch(url, { ...init, headers: headers(body) });
  }
  if (res.status === 401 && !url.includes('/auth/')) {
    session.clear();
    window.dispatchEvent(new Event('cryoprotect:signed-out'));
  }
  if (!res.ok && !(raw && res.status === 503)) {
    let parsed = null;
    try { parsed = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, parsed, res.headers.get('retry-after'));
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

/** Fetches `path` and hands it to the browser as the file `filename`; rejects with ApiError. */
export async function download(path, filename) {
  const res = await api('GET', path, undefined, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body = {}) => api('PATCH', path, body);
export const put = (path, body = {}) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/**
 * Follows a server-sent event stream (EventSource cannot send a bearer token, so this reads
 * the stream with fetch). Calls onEvent(name, data) until the stream ends or `signal` aborts.
 * With `body`, the stream is the answer to a POST of it.
 */
export async function events(path, onEvent, signal, body) {
  const res = await api(body === undefined ? 'GET' : 'POST', path, body, { raw: true, signal });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length) {
        let parsed = data.join('\n');
        try { parsed = JSON.parse(parsed); } catch { /* plain text */ }
        onEvent(name, parsed);
      }
    }
  }
}
