// Turning point of a degradation curve (k ascending, y = average Spearman).
import type { TurningPoint } from '../results/results.ts';

/**
 * largestDrop: the k after which y falls most in one step, max over i of y[i] - y[i+1] (null when y
 * never falls). changePoint: the split of the curve into two straight-line least-squares fits (each
 * with >= 2 points) with the smallest total squared error; reported as the first k of the second
 * segment (null with fewer than 4 points).
 */
export function turningPoint(ks: readonly number[], y: readonly number[]): TurningPoint {
  let largestDrop: TurningPoint['largestDrop'] = null;
  for (let i = 0; i + 1 < ks.length; i++) {
    const drop = y[i] - y[i + 1];
    if (drop > 0 && (!largestDrop || drop > largestDrop.drop)) largestDrop = { k: ks[i], drop };
  }
  let changePoint: TurningPoint['changePoint'] = null;
  for (let s = 2; s + 2 <= ks.length; s++) {
    const sse = lineSse(ks.slice(0, s), y.slice(0, s)) + lineSse(ks.slice(s), y.slice(s));
    if (!changePoint || sse < changePoint.sse - 1e-15) changePoint = { k: ks[s], sse };
  }
  return { largestDrop, changePoint };
}

/** Residual sum of squares of the least-squares line through (x, y). */
export function lineSse(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) { sxx += (x[i] - mx) ** 2; sxy += (x[i] - mx) * (y[i] - my); }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i] - my - slope * (x[i] - mx)) ** 2;
  return sse;
}

/**
 * Which turning point a figure marks and a table names. `largest-drop` is the default: the paper's
 * Figure 4 points at the layer after which the curve falls steeply, which is what this method finds by
 * construction, from the printed Avg numbers alone (no fit, checkable by hand against the degradation
 * table). `change-point` suits smooth curves where no single step dominates.
 */
export const TURNING_POINT_METHODS = ['largest-drop', 'change-point'] as const;
export type TurningPointMethod = (typeof TURNING_POINT_METHODS)[number];
export const DEFAULT_TURNING_POINT: TurningPointMethod = 'largest-drop';

/** The chosen turning point: k to mark, and how it was found (null when the method finds none). */
export function chosenTurningPoint(tp: TurningPoint, method: TurningPointMethod): { k: number; method: TurningPointMethod; text: string } | null {
  if (method === 'largest-drop') {
    return tp.largestDrop ? { k: tp.largestDrop.k, method, text: `largest one-step drop of Avg after k = ${tp.largestDrop.k}` } : null;
  }
  return tp.changePoint ? { k: tp.changePoint.k, method, text: `two-line change point at k = ${tp.changePoint.k}` } : null;
}
