// Paired bootstrap of the difference between two configurations scored on the same STS pairs.
// A resample draws pair indices with replacement; both configurations are scored on that same
// resample with the task's main statistic (Spearman over all the task's pairs: SentEval's `all`
// for STS12-16, the test split for STS-B/SICK-R).
import { UserError } from '../errors.ts';
import type { StsResults, TaskResult } from '../experiments/results/results.ts';
import { mulberry32 } from '../eval/sentence-level.ts';
import { quantileSorted } from './stats.ts';

export interface Pair { gold: number; pred: number; subset?: string }

// The project's one seeded PRNG (mulberry32), re-exported for callers of the bootstrap.
export { mulberry32 };

/** FNV-1a, to give each task its own PRNG stream (a task's CI does not depend on the other tasks). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
export const taskSeed = (seed: number, task: string): number => (seed ^ fnv1a(task)) >>> 0;

/** Sorted order of the full sample and its tie groups, so a resample's ranks cost O(n), not a sort. */
interface Ranker { order: Int32Array; groupEnd: Int32Array }
function ranker(v: ArrayLike<number>): Ranker {
  const n = v.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const groupEnd = new Int32Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && v[order[j]] === v[order[i]]) j++;
    for (let t = i; t < j; t++) groupEnd[t] = j;
    i = j;
  }
  return { order, groupEnd };
}

/** Average ranks of each original index within the multiset given by counts (ties averaged). */
function ranksWithCounts(rk: Ranker, counts: Int32Array, out: Float64Array): void {
  const { order, groupEnd } = rk;
  let pos = 0;
  for (let i = 0; i < order.length; ) {
    const j = groupEnd[i];
    let g = 0;
    for (let t = i; t < j; t++) g += counts[order[t]];
    const avg = pos + (g + 1) / 2;
    for (let t = i; t < j; t++) out[order[t]] = avg;
    pos += g;
    i = j;
  }
}

/** Pearson over the multiset: element i counted counts[i] times. NaN when a side is constant. */
function weightedPearson(x: Float64Array, y: Float64Array, counts: Int32Array): number {
  let w = 0, mx = 0, my = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c) { w += c; mx += c * x[i]; my += c * y[i]; }
  }
  mx /= w; my /= w;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (!c) continue;
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += c * dx * dy; sxx += c * dx * dx; syy += c * dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export interface PairedBootstrap {
  n: number;
  a: number;                // statistic of A on all pairs
  b: number;
  delta: number;            // b - a on all pairs
  ciLow: number;            // percentile CI of the resampled deltas
  ciHigh: number;
  /** Share of resamples whose delta is not on the point estimate's side (1 when delta = 0). */
  signFlip: number;
  diffs: Float64Array;      // per resample b - a; NaN where a resample was degenerate
  dropped: number;          // degenerate resamples (a constant side), left out of the CI
}

export interface BootstrapOptions { resamples: number; seed: number; level?: number }

/** Summary of resampled deltas: percentile CI and sign-flip share, NaNs left out. */
export function summarizeDiffs(delta: number, diffs: Float64Array, level = 0.95): Pick<PairedBootstrap, 'ciLow' | 'ciHigh' | 'signFlip' | 'dropped'> {
  const ok = Float64Array.from(diffs.filter((d) => !Number.isNaN(d))).sort();
  const alpha = (1 - level) / 2;
  let flips = 0;
  for (const d of ok) if (delta > 0 ? d <= 0 : delta < 0 ? d >= 0 : true) flips++;
  return {
    ciLow: quantileSorted(ok, alpha),
    ciHigh: quantileSorted(ok, 1 - alpha),
    signFlip: ok.length ? flips / ok.length : NaN,
    dropped: diffs.length - ok.length,
  };
}

/**
 * Spearman(gold, predB) - Spearman(gold, predA), resampled `resamples` times with replacement from
 * `rng`. The pairs must be the same (same count, same gold in the same order): checked by the caller.
 */
export function pairedBootstrap(gold: ArrayLike<number>, predA: ArrayLike<number>, predB: ArrayLike<number>, resamples: number, rng: () => number, level = 0.95): PairedBootstrap {
  const n = gold.length;
  const rg = ranker(gold), ra = ranker(predA), rb = ranker(predB);
  const counts = new Int32Array(n);
  const g = new Float64Array(n), xa = new Float64Array(n), xb = new Float64Array(n);
  const score = (): [number, number] => {
    ranksWithCounts(rg, counts, g); ranksWithCounts(ra, counts, xa); ranksWithCounts(rb, counts, xb);
    return [weightedPearson(g, xa, counts), weightedPearson(g, xb, counts)];
  };
  counts.fill(1);
  const [a, b] = score();
  const delta = b - a;
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let j = 0; j < n; j++) counts[Math.floor(rng() * n)]++;
    const [sa, sb] = score();
    diffs[r] = sb - sa;
  }
  return { n, a, b, delta, diffs, ...summarizeDiffs(delta, diffs, level) };
}

export interface BootstrapRow {
  task: string;             // table label, or 'Avg'
  n: number;                // pairs (Avg: all tasks' pairs)
  a: number;                // A's statistic on all pairs (Avg: mean over tasks)
  b: number;
  delta: number;
  ciLow: number;
  ciHigh: number;
  signFlip: number;
  dropped: number;
}

export interface BootstrapComparison {
  labelA: string;
  labelB: string;
  resamples: number;
  seed: number;
  level: number;
  rows: BootstrapRow[];     // one per shared task in A's order, then 'Avg' (mean of the task deltas per resample)
  warnings: string[];
}

/** Pairs of one task, checked to be usable. */
function taskPairs(t: TaskResult, file: string): Pair[] {
  if (!t.pairs || t.pairs.length === 0) {
    throw new UserError(`${file}: task ${t.label} has no per-pair predictions ("pairs"); rerun \`bellm-bench sts\` saving pairs, or pass --bootstrap 0`);
  }
  const bad = t.pairs.findIndex((p) => !Number.isFinite(p.gold) || !Number.isFinite(p.pred));
  if (bad >= 0) throw new UserError(`${file}: task ${t.label} pair ${bad} has a non-finite gold or pred; regenerate the results file`);
  return t.pairs;
}

/** Paired bootstrap of B - A on every task both runs scored. */
export function bootstrapCompare(A: StsResults, B: StsResults, opts: BootstrapOptions & { fileA?: string; fileB?: string }): BootstrapComparison {
  const fileA = opts.fileA ?? A.label, fileB = opts.fileB ?? B.label;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(opts.resamples) || opts.resamples < 1) throw new UserError(`--bootstrap: ${opts.resamples} resamples; give a positive integer (or 0 to skip)`);
  const rows: BootstrapRow[] = [];
  const warnings: string[] = [];
  const perTask: Float64Array[] = [];
  for (const ta of A.tasks) {
    const tb = B.tasks.find((t) => t.label === ta.label);
    if (!tb) continue;
    const pa = taskPairs(ta, fileA), pb = taskPairs(tb, fileB);
    if (pa.length !== pb.length) {
      throw new UserError(`${fileB}: task ${ta.label} has ${pb.length} pairs but ${fileA} has ${pa.length}; bootstrap needs both runs on the same pairs (same data, same tasks)`);
    }
    const i = pa.findIndex((p, j) => Math.abs(p.gold - pb[j].gold) > 1e-9);
    if (i >= 0) {
      throw new UserError(`${fileB}: task ${ta.label} pair ${i} has gold ${pb[i].gold} but ${fileA} has ${pa[i].gold}; bootstrap needs both runs on the same pairs in the same order`);
    }
    const r = pairedBootstrap(pa.map((p) => p.gold), pa.map((p) => p.pred), pb.map((p) => p.pred), opts.resamples, mulberry32(taskSeed(opts.seed, ta.label)), level);
    for (const [lab, got, want] of [[A.label, r.a, ta.main], [B.label, r.b, tb.main]] as const) {
      if (!(Math.abs(got - want) <= 1e-6)) warnings.push(`${lab} ${ta.label}: Spearman of its pairs is ${got.toFixed(6)} but the file's main is ${want.toFixed(6)}`);
    }
    perTask.push(r.diffs);
    rows.push({ task: ta.label, n: r.n, a: r.a, b: r.b, delta: r.delta, ciLow: r.ciLow, ciHigh: r.ciHigh, signFlip: r.signFlip, dropped: r.dropped });
  }
  if (rows.length === 0) throw new UserError(`${fileB}: no task in common with ${fileA}; nothing to compare`);
  if (rows.length > 1) {
    const mean = (f: (r: BootstrapRow) => number) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
    const avgDiffs = new Float64Array(opts.resamples);
    for (let k = 0; k < opts.resamples; k++) avgDiffs[k] = perTask.reduce((s, d) => s + d[k], 0) / perTask.length;
    const delta = mean((r) => r.delta);
    rows.push({ task: 'Avg', n: rows.reduce((s, r) => s + r.n, 0), a: mean((r) => r.a), b: mean((r) => r.b), delta, ...summarizeDiffs(delta, avgDiffs, level) });
  }
  return { labelA: A.label, labelB: B.label, resamples: opts.resamples, seed: opts.seed, level, rows, warnings };
}
