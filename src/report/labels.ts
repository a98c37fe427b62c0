// `--label RESULT=NAME`: rename a configuration in every table and figure of a report. RESULT names a
// results file (its path, its file name with or without .json) or its current label. Labels may hold
// '=' themselves ("k=2"), so the split point is the '=' whose left side names exactly one result.
import { basename, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import type { LoadedResults } from './load.ts';

function matches(item: LoadedResults, key: string): boolean {
  const base = basename(item.file);
  return item.file === key || resolve(item.file) === resolve(key) || base === key || base.replace(/\.json$/i, '') === key || item.results.label === key;
}

/** The items with their labels replaced as `specs` ask; every spec must name exactly one item, once. */
export function applyLabels(items: readonly LoadedResults[], specs: readonly string[]): LoadedResults[] {
  const names = new Map<LoadedResults, string>();
  for (const spec of specs) {
    const cuts = [...spec.matchAll(/=/g)].map((m) => m.index!);
    const hits = cuts.flatMap((at) => {
      const key = spec.slice(0, at);
      const found = items.filter((it) => matches(it, key));
      return found.length ? [{ key, name: spec.slice(at + 1), found }] : [];
    });
    if (cuts.length === 0) throw new UserError(`--label ${spec}: write RESULT=NAME (RESULT: a results file name or a configuration's label)`);
    if (hits.length === 0) {
      throw new UserError(`--label ${spec}: no results file or label '${spec.slice(0, cuts[0])}'; results: ${items.map((it) => `${basename(it.file)} ('${it.results.label}')`).join(', ')}`);
    }
    if (hits.length > 1 || hits[0].found.length > 1) {
      throw new UserError(`--label ${spec}: names more than one result (${[...new Set(hits.flatMap((h) => h.found.map((f) => basename(f.file))))].join(', ')}); name the results file instead`);
    }
    const { name, found: [item] } = hits[0];
    if (name.trim() === '') throw new UserError(`--label ${spec}: the new name is empty`);
    if (names.has(item)) throw new UserError(`--label ${spec}: ${basename(item.file)} is already renamed to '${names.get(item)}'`);
    names.set(item, name);
  }
  return items.map((it) => (names.has(it) ? { file: it.file, results: { ...it.results, label: names.get(it)! } } : it));
}
