// How many paired-bootstrap resamples a run may ask for. Each resample re-ranks every scored pair of
// every task for both configurations (about 70 ms for the 7 tasks here), so 100,000 is about two hours
// on one core and the largest the reports accept; 1,000 (the default) gives stable 95% intervals.
export const MAX_RESAMPLES = 100_000;

/** Why `v` is not a usable number of resamples (0 allowed where `zeroSkips`), or null. */
export function resamplesProblem(v: unknown, zeroSkips: boolean): string | null {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (zeroSkips ? 0 : 1)) {
    return zeroSkips ? 'not a whole number of resamples; give e.g. 1000, or 0 to skip' : 'give a positive number of resamples';
  }
  if (v > MAX_RESAMPLES) return `at most ${MAX_RESAMPLES.toLocaleString('en')} resamples (1000 gives stable 95% intervals)`;
  return null;
}
