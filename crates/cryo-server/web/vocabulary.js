// The choices forms offer (units, algorithms, feature sets, splits, interval methods), as the
// API lists them: fetched once per page load, as [name, label] pairs for `select`.
import { get } from './api.js';

let cached;
export async function vocabulary() {
  cached ??= get('/vocabulary').catch((err) => { cached = undefined; throw err; });
  return cached;
}

export const pairs = (choices) => choices.map((c) => [c.name, c.label]);
