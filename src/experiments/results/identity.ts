// Identity of a run: canonical JSON (object keys sorted, recursively) and short hashes of it.
// Everything that is reused (cache entries, resumed rows, merged shards, grid cells, default results
// names) is keyed through these, so two runs that differ in any recorded setting never share a key.
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level; `undefined` members are dropped, as JSON.stringify does. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, sortKeys(o[k])]));
  }
  return v;
}

/** sha256 (hex) of the canonical JSON of `v`. */
export function identityHash(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex');
}

/** The first `n` hex digits of identityHash: for file names a person reads. */
export function shortHash(v: unknown, n = 8): string {
  return identityHash(v).slice(0, n);
}
