// "Did you mean ...?": the closest valid name to a misspelt one, by edit distance (Damerau's
// optimal-string-alignment variant, so a swapped pair of letters counts as one edit). Written by hand:
// a dozen lines, and yargs keeps its own copy internal.

export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate nearest to `name` (case, '-' and '_' ignored; ties go to the earlier candidate), or
 * undefined when there are none.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const n = norm(name);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const cn = norm(c);
    // A name that is a prefix of a candidate (or the reverse) is closer than any typo of equal length.
    const d = editDistance(n, cn) - (cn.startsWith(n) || n.startsWith(cn) ? 0.5 : 0);
    if (d < bestD) { bestD = d; best = c; }
  }
  return best;
}
