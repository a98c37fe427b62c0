// `--split dev|test`: which split of STS-B and SICK-R is scored. The test split is what papers report;
// the dev split (STS-B dev, 1,500 pairs; SICK-R trial, 500 pairs) is for choosing prompts, presets and k
// without looking at test. STS12-16 are test-only in SentEval, so they have no dev split.
import { UserError } from '../errors.ts';
import type { TaskSpec } from './registry.ts';

export type Split = 'test' | 'dev';
export const SPLITS: readonly Split[] = ['test', 'dev'];

export function parseSplit(s: string | undefined): Split {
  const v = (s ?? 'test').trim().toLowerCase();
  if (v === 'test' || v === 'dev') return v;
  throw new UserError(`--split ${s}: choose test (what papers report) or dev (STS-B dev, SICK-R trial)`);
}

export const hasSplit = (spec: TaskSpec, split: Split): boolean =>
  split === 'test' || spec.subsets.some((s) => s.name === split);

/** The one line that refuses a task without the split. */
export function noSplitMessage(spec: TaskSpec, split: Split): string {
  return `${spec.name} has no ${split} split: SentEval's STS12-16 are test sets only; --split ${split} works for STS-B (dev, 1,500 pairs) and SICK-R (trial, 500 pairs)`;
}

/**
 * The spec that scores `split` instead of the task's test split: STS-B/SICK-R score that split alone
 * and report its Spearman. `test` returns the spec unchanged; a task without the split is refused.
 */
export function splitSpec(spec: TaskSpec, split: Split): TaskSpec {
  if (split === 'test') return spec;
  const sub = spec.subsets.find((s) => s.name === split);
  if (!sub) throw new UserError(noSplitMessage(spec, split));
  return { ...spec, scored: [split], mainScore: { subset: split, metric: 'spearman' }, expectedPairs: sub.pairs };
}

/** The tasks a run scores when --tasks is not given: all seven for test, those with the split otherwise. */
export function defaultTaskNames(all: readonly TaskSpec[], split: Split): string[] {
  return all.filter((s) => hasSplit(s, split)).map((s) => s.name);
}
