// SentEval's default similarity: nan_to_num(cosine(nan_to_num(u), nan_to_num(v))), cosine = u.v / (|u| |v|).
// nan_to_num maps NaN -> 0 and +-Infinity -> +-Number.MAX_VALUE, so a zero vector gives 0/0 = NaN -> 0,
// and an overflowing dot or norm (inf/inf, x/inf) ends as 0 too. Arithmetic is float64; numpy would use
// the array's dtype (float32 embeddings), which differs only by float32 rounding.

const nanToNum = (x: number): number => (Number.isNaN(x) ? 0 : x === Infinity ? Number.MAX_VALUE : x === -Infinity ? -Number.MAX_VALUE : x);

export function cosine(u: ArrayLike<number>, v: ArrayLike<number>): number {
  if (u.length !== v.length) throw new Error(`cosine of vectors with different lengths (${u.length} vs ${v.length})`);
  let dot = 0;
  let uu = 0;
  let vv = 0;
  for (let i = 0; i < u.length; i++) {
    const a = nanToNum(u[i]);
    const b = nanToNum(v[i]);
    dot += a * b;
    uu += a * a;
    vv += b * b;
  }
  return nanToNum(dot / (Math.sqrt(uu) * Math.sqrt(vv)));
}
