// Sentence-level views of one task's scored pairs (pooled, in task order, as for `all`):
// - rank error: |rank(pred_i) - rank(gold_i)| / n, ranks 1..n with ties averaged (scipy rankdata
//   'average'), n = scored pairs. 0 = the pair sits where gold puts it; the maximum is (n - 1) / n.
// - group-spearman: shuffle the n pairs with a seeded PRNG (mulberry32 + Fisher-Yates), cut the order
//   into consecutive groups of `groupSize`, drop the last n mod groupSize pairs (a short group would
//   have a noisier Spearman), and take Spearman within each group: one value per group.
import type { LoadedTask } from '../tasks/types.ts';
import { averageRanks, spearman } from './correlation.ts';

export interface PairRow {
  subset: string;
  index: number;                // position among the subset's scored pairs
  line?: number;                // 1-based line in the input file
  gold: number;
  pred: number;
  goldRank: number;             // 1..n, ties averaged
  predRank: number;
  rankError: number;            // |predRank - goldRank| / n
}

type ScoredPair = Omit<PairRow, 'goldRank' | 'predRank' | 'rankError'>;

/** The scored pairs with their predictions, pooled in task order; `predictions` as for evaluateTask. */
function scoredPairs(task: LoadedTask, predictions: readonly (readonly number[])[]): ScoredPair[] {
  const rows: ScoredPair[] = [];
  task.subsets.forEach((sub, i) => {
    if (!task.spec.scored.includes(sub.name)) return;
    const pred = predictions[i] ?? [];
    if (pred.length !== sub.pairs.length) throw new Error(`${task.spec.name} ${sub.name}: ${pred.length} predictions for ${sub.pairs.length} pairs`);
    sub.pairs.forEach((p, index) => rows.push({ subset: sub.name, index, line: p.line, gold: p.gold, pred: pred[index] }));
  });
  return rows;
}

/** Per-pair rows with ranks and rank error over the task's scored pairs. */
export function pairRows(task: LoadedTask, predictions: readonly (readonly number[])[]): PairRow[] {
  const rows = scoredPairs(task, predictions);
  const gr = averageRanks(rows.map((r) => r.gold));
  const pr = averageRanks(rows.map((r) => r.pred));
  const n = rows.length;
  return rows.map((r, i) => ({ ...r, goldRank: gr[i], predRank: pr[i], rankError: Math.abs(pr[i] - gr[i]) / n }));
}

/** mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0..n-1 in Fisher-Yates order: for i = n-1 down to 1, swap i with floor(rand() * (i + 1)). */
export function seededPermutation(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export interface GroupSpearman {
  statistic: 'group-spearman';
  groupSize: number;
  seed: number;
  values: number[];             // Spearman per group (NaN if a group's gold or pred is constant)
  dropped: number;              // pairs left out: n mod groupSize
}

export const GROUP_SPEARMAN_DEFINITION =
  'group-spearman (our definition): Spearman between predicted cosine and gold within disjoint groups of pairs, ' +
  'drawn by a seeded shuffle of the test pairs (last incomplete group dropped); one value per group';

export const GROUP_SPEARMAN_DEFAULTS = { groupSize: 100, seed: 1111 } as const; // 1111: SentEval's seed

/** Spearman within disjoint random groups of pairs (see the header); gold and pred are parallel arrays. */
export function groupSpearman(gold: readonly number[], pred: readonly number[], options: Partial<{ groupSize: number; seed: number }> = {}): GroupSpearman {
  const { groupSize, seed } = { ...GROUP_SPEARMAN_DEFAULTS, ...options };
  if (gold.length !== pred.length) throw new Error(`group-spearman: ${gold.length} gold scores, ${pred.length} predictions`);
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new Error(`group-spearman: group size must be an integer >= 2, got ${groupSize}`);
  const order = seededPermutation(gold.length, seed);
  const values: number[] = [];
  for (let at = 0; at + groupSize <= order.length; at += groupSize) {
    const idx = order.slice(at, at + groupSize);
    values.push(spearman(idx.map((i) => pred[i]), idx.map((i) => gold[i])));
  }
  return { statistic: 'group-spearman', groupSize, seed, values, dropped: gold.length % groupSize };
}

/** group-spearman over a task's scored pairs (pooled, task order). */
export function taskGroupSpearman(task: LoadedTask, predictions: readonly (readonly number[])[], options?: Partial<{ groupSize: number; seed: number }>): GroupSpearman {
  const rows = scoredPairs(task, predictions);
  return groupSpearman(rows.map((r) => r.gold), rows.map((r) => r.pred), options);
}
