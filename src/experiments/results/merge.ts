// Joining the shards of one degrade sweep.
import { readFileSync } from 'node:fs';
import { UserError } from '../../errors.ts';
import { finish } from '../run/degrade.ts';
import type { DegradeResults } from './results.ts';
import { identityDifference } from './run-identity.ts';

export function mergeDegrade(files: readonly string[]): DegradeResults {
  if (files.length === 0) throw new UserError('merge: name the shard results files to join');
  const parts = files.map((f) => {
    let r: DegradeResults;
    try {
      r = JSON.parse(readFileSync(f, 'utf8')) as DegradeResults;
    } catch (e) {
      throw new UserError(`${f}: not a readable results file (${(e as Error).message.split('\n')[0]})`);
    }
    if (r === null || typeof r !== 'object' || r.kind !== 'degrade' || !Array.isArray(r.rows)) throw new UserError(`${f}: not a degrade results file (kind ${String(r?.kind)})`);
    return { f, r };
  });
  const first = parts[0];
  const ctx = (r: DegradeResults) => ({ identity: r.identity, settings: r.settings && { ...r.settings, mode: r.mode }, tasks: r.rows[0]?.tasks?.map((t) => t.task) });
  const seen = new Map<number, string>();
  for (const { f, r } of parts) {
    // The full identity: weights, adapter and tokenizer bytes, backend, settings + mode, tasks, task data.
    const diff = identityDifference(ctx(r), ctx(first.r));
    if (diff) throw new UserError(`${f}: not a shard of the same sweep as ${first.f}: ${diff}`);
    if (JSON.stringify(r.layers) !== JSON.stringify(first.r.layers)) throw new UserError(`${f}: not a shard of the same sweep as ${first.f}: the requested layers differ`);
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
