// Fixture README tolerances: float32 compute, every element within 1e-4 x the largest absolute value
// of its reference vector, and cosine >= 0.99999 per embedding.
/**
 * How far the fixture model's embedding of a sentence may move with its batch on a backend that is not
 * batch-invariant (OpenBLAS's Haswell/Zen sgemm rounds a row by its position): every element within
 * this x the vector's largest |value|. Measured on every OpenBLAS kernel and 1 and 2 threads: at most
 * 1.9e-6 (benchmarks/results/blas-kernels-*.json, "embedding batch vs alone"); 1e-5 is 84 float32 ulps
 * of the vector's scale, 5x the largest seen, and 10x below the goldens' own float32 tolerance.
 */
export const BATCH_VARIANCE_REL = 1e-5;

export interface VecCheck { ok: boolean; maxErr: number; bound: number; cosine: number; index: number }

export function compareVec(got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-4, minCos = 0.99999): VecCheck {
  if (got.length !== want.length) return { ok: false, maxErr: Infinity, bound: 0, cosine: 0, index: -1 };
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  const bound = rel * maxAbs;
  let maxErr = 0, index = -1, dot = 0, ng = 0, nw = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= maxErr)) { maxErr = e; index = i; }
    dot += got[i] * want[i]; ng += got[i] * got[i]; nw += want[i] * want[i];
  }
  const cosine = dot / Math.sqrt(ng * nw);
  return { ok: maxErr <= bound && cosine >= minCos, maxErr, bound, cosine, index };
}

/** A one-line description of the first failing vector, or null when all pass. */
export function firstFailure(label: string, got: ArrayLike<number>[], want: ArrayLike<number>[], rel?: number, minCos?: number): string | null {
  if (got.length !== want.length) return `${label}: ${got.length} vectors, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const c = compareVec(got[i], want[i], rel, minCos);
    if (!c.ok) return `${label} #${i}: max |diff| ${c.maxErr.toExponential(3)} at [${c.index}] (bound ${c.bound.toExponential(3)}), cosine ${c.cosine.toFixed(7)}`;
  }
  return null;
}
