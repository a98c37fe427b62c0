// SentEval's STSEval.run aggregation (SimCSE's fork): Pearson and Spearman per subset, then over the
// scored subsets: `all` (pairs of every scored subset pooled), `mean`, `wmean` (weighted by pair count).
// `main` is the reported number: all.spearman for STS12-16, the test (or, with --split dev, dev) split's
// Spearman for STS-B/SICK-R.
import { scoredSubsets } from '../tasks/load.ts';
import type { LoadedTask } from '../tasks/types.ts';
import { cosine } from './cosine.ts';
import { pearson, spearman } from './correlation.ts';

export interface CorrelationPair {
  pearson: number;
  spearman: number;
}
export interface SubsetScore extends CorrelationPair {
  name: string;
  n: number;
}
export interface StsEvaluation {
  task: string;                 // registry name
  label: string;                // table column
  main: number;                 // Spearman, not x100
  all: CorrelationPair & { n: number };
  mean: CorrelationPair;
  wmean: CorrelationPair;
  subsets: SubsetScore[];       // every subset given predictions, in task order
}

/**
 * `predictions[i]` holds one similarity per pair of `task.subsets[i]`. A subset that does not count
 * (STS-B/SICK-R train and dev) may be given `[]` and is then left out; a scored subset must be complete.
 */
export function evaluateTask(task: LoadedTask, predictions: readonly (readonly number[])[]): StsEvaluation {
  const { spec } = task;
  if (predictions.length !== task.subsets.length) {
    throw new Error(`${spec.name}: predictions for ${predictions.length} subsets, the task has ${task.subsets.length}`);
  }
  const subsets: SubsetScore[] = [];
  const pooled = { gold: [] as number[], pred: [] as number[] };
  const scored: SubsetScore[] = [];
  task.subsets.forEach((sub, i) => {
    const pred = predictions[i];
    const counts = spec.scored.includes(sub.name);
    if (pred.length === 0 && !counts) return;
    if (pred.length !== sub.pairs.length) throw new Error(`${spec.name} ${sub.name}: ${pred.length} predictions for ${sub.pairs.length} pairs`);
    const gold = sub.pairs.map((p) => p.gold);
    const score = { name: sub.name, n: gold.length, pearson: pearson(pred as number[], gold), spearman: spearman(pred as number[], gold) };
    subsets.push(score);
    if (!counts) return;
    scored.push(score);
    pooled.gold.push(...gold);
    pooled.pred.push(...pred);
  });
  const all = { n: pooled.gold.length, pearson: pearson(pooled.pred, pooled.gold), spearman: spearman(pooled.pred, pooled.gold) };
  const mean = { pearson: average(scored.map((s) => s.pearson)), spearman: average(scored.map((s) => s.spearman)) };
  const weights = scored.map((s) => s.n);
  const wmean = { pearson: average(scored.map((s) => s.pearson), weights), spearman: average(scored.map((s) => s.spearman), weights) };
  const main = spec.mainScore.subset === 'all' ? all.spearman : scored.find((s) => s.name === spec.mainScore.subset)!.spearman;
  return { task: spec.name, label: spec.label, main, all, mean, wmean, subsets };
}

/** numpy.average: the plain or weighted mean. */
function average(values: number[], weights: number[] = values.map(() => 1)): number {
  let num = 0;
  let den = 0;
  values.forEach((v, i) => {
    num += v * weights[i];
    den += weights[i];
  });
  return num / den;
}

/** Split one flat list (scored subsets concatenated in task order) into evaluateTask's per-subset shape. */
export function splitScored(task: LoadedTask, flat: readonly number[]): number[][] {
  const expected = scoredSubsets(task).reduce((a, s) => a + s.pairs.length, 0);
  if (flat.length !== expected) throw new Error(`${task.spec.name}: ${flat.length} predictions for ${expected} scored pairs`);
  let at = 0;
  return task.subsets.map((sub) => {
    if (!task.spec.scored.includes(sub.name)) return [];
    const part = flat.slice(at, at + sub.pairs.length);
    at += sub.pairs.length;
    return part;
  });
}

/** Cosine predictions for the scored subsets from an embedding lookup (what the model side provides). */
export function cosinePredictions(task: LoadedTask, embedding: (sentence: string) => ArrayLike<number>): number[][] {
  return task.subsets.map((sub) =>
    task.spec.scored.includes(sub.name) ? sub.pairs.map((p) => cosine(embedding(p.s1), embedding(p.s2))) : []);
}
