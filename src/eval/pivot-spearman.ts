// pivot-spearman: the sentence-level statistic we use for the paper's Figures 2 and 5 (a reading of
// the paper, following Ethayarajh 2019; the paper's own defining text is not available).
// For one sentence and one layer: Spearman's correlation across hidden dimensions between the pivot
// token's vector and each other token's vector, averaged over the other tokens.
import { spearman } from './correlation.ts';

export const PIVOT_SPEARMAN_DEFINITION =
  "pivot-spearman (a reading, not confirmed): per sentence, the mean over the other tokens of Spearman's " +
  "correlation across hidden dimensions between the pivot (last) token's hidden state and that token's";

export interface PivotOptions {
  /** Position of the pivot within the sequence; default the last token (the pooled one). */
  pivot?: number;
  /** Whether BOS (position 0) takes part among the other tokens. */
  includeBos: boolean;
  /** Only positions in [from, to) take part (e.g. the sentence's own tokens, without the prompt). */
  span?: { from: number; to: number };
}

/** `states`: [T * H] hidden states of one sequence. */
export function pivotSpearman(states: Float32Array, T: number, H: number, o: PivotOptions): number {
  const pivot = o.pivot ?? T - 1;
  const pv = Array.from(states.subarray(pivot * H, (pivot + 1) * H));
  let sum = 0;
  let n = 0;
  const from = Math.max(o.includeBos ? 0 : 1, o.span?.from ?? 0);
  const to = Math.min(T, o.span?.to ?? T);
  for (let t = from; t < to; t++) {
    if (t === pivot) continue;
    sum += spearman(pv, Array.from(states.subarray(t * H, (t + 1) * H)));
    n++;
  }
  return n === 0 ? NaN : sum / n;
}
