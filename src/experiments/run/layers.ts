// `--layers` syntax: a range `a..b` (inclusive), a list `0,8,16`, or both mixed (`0..4,8,16`).
import { UserError } from '../../errors.ts';

export type SweepMode = 'bidirectional' | 'truncate';

/** Parses and validates k values against the model depth L: 0..L in bidirectional mode, 1..L when truncating. */
export function parseLayers(spec: string, numLayers: number, mode: SweepMode): number[] {
  const min = mode === 'truncate' ? 1 : 0;
  const where = `--layers "${spec}"`;
  const out = new Set<number>();
  const parts = spec.split(',').map((p) => p.trim());
  if (spec.trim() === '' || parts.some((p) => p === '')) throw new UserError(`${where} is empty: give a range like 0..${numLayers} or a list like 0,8,16`);
  const meaning = mode === 'truncate' ? 'layers kept' : 'leading causal layers';
  // Each end is checked against the model depth before a range is expanded (no huge loops).
  const int = (s: string): number => {
    if (!/^\d+$/.test(s)) throw new UserError(`${where}: "${s}" is not a non-negative integer`);
    const n = Number(s);
    if (n < min || n > numLayers) throw new UserError(`${where}: ${s.replace(/^0+(?=\d)/, '')} is outside ${min}..${numLayers} (${meaning}; the model has ${numLayers} layers)`);
    return n;
  };
  for (const p of parts) {
    const m = p.split('..');
    if (m.length > 2) throw new UserError(`${where}: "${p}" is not a range like a..b`);
    const a = int(m[0].trim());
    const b = m.length === 2 ? int(m[1].trim()) : a;
    if (b < a) throw new UserError(`${where}: range ${p} is reversed; write ${b}..${a}`);
    for (let k = a; k <= b; k++) out.add(k);
  }
  return [...out].sort((x, y) => x - y);
}

/** `--shard i/n` (1-based i): every n-th k starting at the i-th, so shards get a similar mix. */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new UserError(`--shard "${spec}" must look like i/n, e.g. 1/4`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UserError(`--shard ${spec}: need 1 <= i <= n`);
  return { index, count };
}

export function shardLayers(ks: readonly number[], shard: { index: number; count: number } | null): number[] {
  return shard ? ks.filter((_, i) => i % shard.count === shard.index - 1) : [...ks];
}
