// Joining the shards of one degrade sweep.
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { finish } from './degrade.ts';
import type { DegradeResults } from './results.ts';

export function mergeDegrade(files: readonly string[]): DegradeResults {
  if (files.length === 0) throw new UserError('merge: name the shard results files to join');
  const parts = files.map((f) => {
    let r: DegradeResults;
    try {
      r = JSON.parse(readFileSync(f, 'utf8')) as DegradeResults;
    } catch (e) {
      throw new UserError(`${f}: not a readable results file (${(e as Error).message.split('\n')[0]})`);
    }
    if (r.kind !== 'degrade') throw new UserError(`${f}: not a degrade results file (kind ${String(r.kind)})`);
    return { f, r };
  });
  const first = parts[0];
  const same = (r: DegradeResults) => JSON.stringify([r.mode, r.settings, r.provenance.model.fingerprint, r.provenance.adapter?.sha256 ?? null, r.layers]);
  const seen = new Map<number, string>();
  for (const { f, r } of parts) {
    if (same(r) !== same(first.r)) throw new UserError(`${f}: a different sweep than ${first.f} (model, adapter, mode, settings or layers differ)`);
    for (const row of r.rows) {
      if (seen.has(row.k)) throw new UserError(`${f}: k=${row.k} is also in ${seen.get(row.k)}`);
      seen.set(row.k, f);
    }
  }
  const merged: DegradeResults = {
    ...first.r,
    rows: parts.flatMap((p) => p.r.rows),
    work: {
      layerPasses: parts.reduce((a, p) => a + p.r.work.layerPasses, 0),
      naiveLayerPasses: parts.reduce((a, p) => a + p.r.work.naiveLayerPasses, 0),
    },
  };
  delete merged.shard;
  return finish(merged);
}
