// loadTask: the registry's spec, its family's loader, and the checks that make a wrong file fail loudly.
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { getTask, type SubsetSpec, type TaskFamily, type TaskSpec } from './registry.ts';
import { loadSickTxt } from './sick-txt.ts';
import { loadStsInputGs } from './sts-input-gs.ts';
import { loadStsbCsv } from './stsb-csv.ts';
import type { LoadedSubset, LoadedTask } from './types.ts';

export type { LoadedSubset, LoadedTask, StsPair } from './types.ts';

const LOADERS: Record<TaskFamily, (spec: TaskSpec, subset: SubsetSpec, dataDir: string) => LoadedSubset> = {
  'sts-input-gs': loadStsInputGs,
  'stsb-csv': loadStsbCsv,
  'sick-txt': loadSickTxt,
};

/** Load every subset (split) of a task from `dataDir` (SentEval's layout: <dataDir>/STS/..., <dataDir>/SICK/...). */
export function loadTask(name: string | TaskSpec, dataDir: string): LoadedTask {
  const spec = typeof name === 'string' ? getTask(name) : name;
  const subsets = spec.subsets.map((sub) => {
    const loaded = LOADERS[spec.family](spec, sub, dataDir);
    const where = join(dataDir, sub.files[0]);
    if (loaded.pairs.length !== sub.pairs) {
      throw new UserError(`${where}: loaded ${loaded.pairs.length} scored pairs, SentEval has ${sub.pairs} (${spec.name} ${sub.name}): the file differs from SentEval's; run \`bellm-bench data verify\``);
    }
    const [lo, hi] = spec.goldRange;
    const bad = loaded.pairs.find((p) => !(p.gold >= lo && p.gold <= hi));
    if (bad) throw new UserError(`${where}:${bad.line}: gold score ${bad.gold} is outside ${spec.name}'s range [${lo}, ${hi}]`);
    return loaded;
  });
  return { spec, subsets };
}

/** The subsets that count for the reported scores (STS12-16: all; STS-B, SICK-R: test), in registry order. */
export const scoredSubsets = (task: LoadedTask): LoadedSubset[] =>
  task.subsets.filter((s) => task.spec.scored.includes(s.name));

/** Unique sentences (s1 then s2, pair by pair, first occurrence kept) of the given subsets: what to embed. */
export function allSentences(task: LoadedTask, subsets: readonly LoadedSubset[] = scoredSubsets(task)): string[] {
  const seen = new Set<string>();
  for (const sub of subsets) for (const p of sub.pairs) seen.add(p.s1).add(p.s2);
  return [...seen];
}
