// Pearson and Spearman as scipy.stats computes them (pearsonr, spearmanr): ties get average ranks,
// constant input gives NaN. simple-statistics' sampleCorrelation (cov / sd / sd: 0/0 = NaN for constant
// input) matches scipy to ~1e-15. Its sampleRankCorrelation also averages ties (7.12), but sorts with
// a - b, which misorders +-Infinity, so the ranks are computed here.
import { sampleCorrelation } from 'simple-statistics';

function check(x: readonly number[], y: readonly number[]): boolean {
  if (x.length !== y.length) throw new Error(`correlation of arrays with different lengths (${x.length} vs ${y.length})`);
  // scipy returns NaN for n < 2 and propagates NaN inputs (its default nan_policy).
  return x.length >= 2 && !x.some(Number.isNaN) && !y.some(Number.isNaN);
}

/** Pearson's r; NaN when either input is constant, has fewer than 2 values, or holds NaN/Infinity. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  if (!check(x, y) || !x.every(Number.isFinite) || !y.every(Number.isFinite)) return NaN;
  return sampleCorrelation(x as number[], y as number[]);
}

/** Spearman's rho: Pearson of average ranks (ties share the mean of their ranks); NaN for constant input. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (!check(x, y)) return NaN;
  return sampleCorrelation(averageRanks(x), averageRanks(y));
}

/** 1-based ranks with ties averaged (scipy.stats.rankdata 'average'). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : 0));
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}
