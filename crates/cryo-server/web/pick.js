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

export const moleculeLabel = (m) => `molecule: ${label(m)}`;
export const mixtureLabel = (x) => `mixture: ${x.name}`;

/**
 * Molecules (searched by name) and `mixtures` (the caller's, already listed: the API has no name
 * filter for them), labelled "molecule: …" / "mixture: …"; the bare name resolves too.
 */
export function subjects(mixtures) {
  return suggestions(async (typed) => {
    const q = typed.replace(/^(molecule|mixture):\s*/i, '').toLowerCase();
    const mols = await get('/molecules?limit=20' + (q ? '&q=' + encodeURIComponent(q) : ''));
    return [
      ...mixtures.filter((x) => x.name.toLowerCase().includes(q)).slice(0, 20).map((x) => ({ label: mixtureLabel(x), aliases: [x.name], mixture_id: x.id })),
      ...mols.map((m) => ({ label: moleculeLabel(m), aliases: [label(m)], molecule_id: m.id })),
    ];
  });
}
