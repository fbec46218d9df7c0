import { h, append, fmt, table, mount, when } from '../dom.js';
import { get, post, api } from '../api.js';
import { showError, showInfo } from '../nav.js';
import { hbars, COLORS } from '../charts.js';

const STATUS_COLOR = { ok: COLORS.green, warning: COLORS.orange, degraded: COLORS.orange, critical: COLORS.red, failing: COLORS.red, error: COLORS.red, skipped: COLORS.grey };
const badge = (status) => h('span', { class: `badge ${status}` }, status);
const bytes = (n) => (n == null ? '—' : n > 1e9 ? `${fmt(n / 1e9)} GB` : n > 1e6 ? `${fmt(n / 1e6)} MB` : `${fmt(n / 1e3)} kB`);

/** Renders `load()` into a card, or the API's refusal (403 for non-admins) visibly in its place. */
function panel(title, load) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const card = h('div', { class: 'card', dataset: { panel: title } }, h('h2', {}, title), body);
  const refresh = () => load().then((content) => mount(body, content)).catch((err) => mount(body,
    h('p', { class: 'error' }, err.status === 403 ? `Administrators only: ${err.message}` : err.message)));
  refresh();
  return { card, refresh };
}

/** Service health, database health checks, backups and alerts. */
export async function render(page) {
  const service = panel('Service health', async () => {
    const res = await api('GET', '/health', undefined, { raw: true });
    const hl = await res.json();
    return h('div', {}, h('p', {}, 'Overall ', badge(hl.status), ` · version ${hl.version} · up ${fmt(hl.uptime_seconds / 3600)} h`),
      table([{ label: 'Dependency', value: (d) => d.name }, { label: 'Status', value: (d) => badge(d.status) }, { label: 'Detail', value: (d) => d.detail ?? '' }], hl.dependencies));
  });

  const database = panel('Database health', async () => {
    const { report: r, cached } = await get('/system/database/health?format=json');
    const worst = { ok: 0, skipped: 0, warning: 1, error: 2, critical: 3 };
    const checks = [...r.checks].sort((a, b) => (worst[b.status] ?? 0) - (worst[a.status] ?? 0));
    return h('div', {},
      h('p', {}, 'Overall ', badge(r.status), ` · ${r.checks.length} checks in ${fmt(r.millis)} ms`, cached ? ' (cached result)' : ''),
      hbars('health-checks', r.checks.map((c) => ({ label: c.name, value: c.millis, color: STATUS_COLOR[c.status] || COLORS.grey, note: `${c.status}: ${c.message}` })),
        { label: 'Time per check (ms)', caption: 'Colour is the status: green ok, orange warning, red critical or error. Hover a bar for the finding.' }),
      table([
        { label: 'Check', value: (c) => c.name }, { label: 'Status', value: (c) => badge(c.status) },
        { label: 'Finding', value: (c) => c.message }, { label: 'Threshold', value: (c) => c.threshold },
        { label: 'Advice', value: (c) => c.recommendation || '' },
      ], checks));
  });

  const backups = panel('Backups', async () => {
    const [status, list] = await Promise.all([get('/system/backups/status'), get('/system/backups')]);
    const create = h('button', {
      onclick: async (e) => {
        e.target.disabled = true;
        try { await post('/system/backups', { label: 'ui' }); showInfo('Backup started; it appears below when done.'); setTimeout(backups.refresh, 2500); } catch (err) { showError(err); e.target.disabled = false; }
      },
    }, 'Back up now');
    return h('div', {},
      h('div', { class: 'spread' }, h('p', {}, badge(status.health), ` last good backup ${status.last_success_at ? when(status.last_success_at) + ` (${fmt(status.age_hours)} h ago, ${bytes(status.last_size_bytes)})` : 'never'}`,
        status.schedule ? ` · schedule ${status.schedule}` : ' · no schedule', status.running ? ' · running now' : ''), create),
      status.last_error ? h('p', { class: 'error' }, `Last failure: ${status.last_error}`) : null,
      list.length ? hbars('backup-sizes', list.slice(0, 12).map((b) => ({ label: when(b.finished_at), value: b.size_bytes / 1e6, note: b.id })), { label: 'Size (MB) of the latest backups', format: (v) => fmt(v) }) : null,
      table([
        { label: 'Backup', value: (b) => h('code', {}, b.id) }, { label: 'Label', value: (b) => b.label || '' },
        { label: 'Finished', value: (b) => when(b.finished_at) }, { label: 'Size', cls: 'num', value: (b) => bytes(b.size_bytes) },
        { label: 'Migration', cls: 'num', value: (b) => b.migration_version ?? '—' }, { label: 'Encrypted', value: (b) => (b.encryption ? 'yes' : 'no') },
      ], list, { empty: 'No backups yet.' }));
  });

  const alerts = panel('Alerts', async () => {
    const { alerts: list, deliveries } = await get('/system/alerts');
    const byState = {};
    for (const d of deliveries) byState[d.state] = (byState[d.state] || 0) + 1;
    const summary = Object.entries(byState).map(([state, n]) => `${n} ${state}`).join(', ');
    return h('div', {}, deliveries.length ? h('p', { class: 'muted' }, `Recent notifications: ${summary}.`) : null, table([
      { label: 'Alert', value: (a) => a.summary }, { label: 'Severity', value: (a) => badge(a.severity) },
      { label: 'State', value: (a) => badge(a.firing ? 'firing' : 'ok') }, { label: 'Since', value: (a) => when(a.since) },
      { label: 'Silenced', value: (a) => (a.silenced ? 'yes' : '') }, { label: 'Fingerprint', value: (a) => h('code', {}, a.fingerprint) },
    ], list, { empty: 'No alerts.', rowAttrs: (a) => ({ dataset: { fingerprint: a.fingerprint } }) }));
  });

  append(page, h('h1', {}, 'System'),
    h('div', { class: 'grid' }, service.card, alerts.card), database.card, backups.card);
}
