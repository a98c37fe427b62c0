// Embeddings -> SentEval scores for one task (cosine per pair, then src/eval's aggregation).
import { cosine } from '../../eval/cosine.ts';
import { evaluateTask } from '../../eval/sts.ts';
import { scoredSubsets, type LoadedTask } from '../../tasks/load.ts';
import type { TaskResult } from '../results/results.ts';

export function scoreTask(task: LoadedTask, vec: (sentence: string) => Float32Array, keepPairs = true): TaskResult {
  const subsets = scoredSubsets(task);
  const preds = subsets.map((s) => s.pairs.map((p) => cosine(vec(p.s1), vec(p.s2))));
  const ev = evaluateTask(task, task.subsets.map((s) => (subsets.includes(s) ? preds[subsets.indexOf(s)] : [])));
  return {
    task: task.spec.name,
    label: task.spec.label,
    main: ev.main,
    all: { pearson: ev.all.pearson, spearman: ev.all.spearman },
    mean: ev.mean,
    wmean: ev.wmean,
    subsets: ev.subsets,
    ...(keepPairs ? { pairs: subsets.flatMap((s, i) => s.pairs.map((p, j) => ({ subset: s.name, gold: p.gold, pred: preds[i][j] }))) } : {}),
  };
}

