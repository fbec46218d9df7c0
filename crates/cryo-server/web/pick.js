// Typeahead choice of rows by name: suggestions come from the API as the user types, so a choice
// works past what one page could list. One suggestion list can serve several inputs.
import { h, mount } from './dom.js';
import { get } from './api.js';

/**
 * `source(text)` resolves to [{label, aliases?, ...}] (an alias also resolves to the item). Returns {list, attach(input), resolve(text)}:
 * put `list` (a <datalist>) in the page, `attach` inputs to it, and `resolve` a typed label to
 * its item (asking the API when it was typed rather than picked), or null.
 */
export function suggestions(source) {
  const id = 'suggest-' + Math.random().toString(36).slice(2);
  const list = h('datalist', { id });
  const known = new Map();
  let timer = null;
  let latest = 0;
  async function refresh(text) {
    const mine = ++latest;
    const items = await source(text.trim());
    for (const item of items) {
      for (const name of [item.label, ...(item.aliases || [])]) known.set(name.toLowerCase(), item);
    }
    if (mine === latest) mount(list, items.map((item) => h('option', { value: item.label })));
  }
  return {
    list,
    attach(input) {
      input.setAttribute('list', id);
      input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => refresh(input.value).catch(() => {}), 150);
      });
      input.addEventListener('focus', () => refresh(input.value).catch(() => {}), { once: true });
      return input;
    },
    async resolve(text) {
      const key = text.trim().toLowerCase();
      if (!key) return null;
      if (!known.has(key)) await refresh(text);
      return known.get(key) || null;
    },
  };
}

const label = (m) => m.name || m.canonical_smiles;

/** Molecules the caller can see, by name. */
export const molecules = () => suggestions(async (q) =>
  (await get('/molecules?limit=20' + (q ? '&q=' + encodeURIComponent(q) : ''))).map((m) => ({ label: label(m), molecule_id: m.id })));

/** Molecules and mixtures, labelled "molecule: …" / "mixture: …". */
export function subjects() {
  let mixtures = null; // the caller's mixtures, listed once (the API has no name filter for them)
  return suggestions(async (typed) => {
    const q = typed.replace(/^(molecule|mixture):\s*/i, '').toLowerCase();
    mixtures ??= get('/mixtures?limit=500');
    const [mols, mixes] = await Promise.all([get('/molecules?limit=20' + (q ? '&q=' + encodeURIComponent(q) : '')), mixtures]);
    return [
      ...mixes.filter((x) => x.name.toLowerCase().includes(q)).slice(0, 20).map((x) => ({ label: `mixture: ${x.name}`, aliases: [x.name], mixture_id: x.id })),
      ...mols.map((m) => ({ label: `molecule: ${label(m)}`, aliases: [label(m)], molecule_id: m.id })),
    ];
  });
}
