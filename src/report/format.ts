// The one place report numbers are made. BeLLM's eval_sts.py prints "%.2f" % (spearman * 100) and
// Avg as "%.2f" % (sum(printed) / len(printed)); this module reproduces exactly that, rounding with
// src/eval/table.ts's pyFixed2 (the same rule the `sts` table and results files use).
// The table's numbers themselves (round2, x100, avgOfPrinted, stsTableRow) are SentEval/SimCSE definitions
// and live in src/eval/table.ts; they are re-exported here for the report modules.
export { avgOfPrinted, round2, stsTableRow, x100 } from '../eval/table.ts';

/** The STS table's columns, in SentEval/SimCSE order (TaskResult.label values). */
export const STS_COLUMNS = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R'] as const;
export const AVG = 'Avg';

/** Print an already-scaled number with fixed decimals; null/NaN print as an em dash. */
export function fixed(v: number | null | undefined, decimals = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = v.toFixed(decimals); // values arrive already rounded by round2/x100 where it matters
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** Signed, already-scaled delta as printed: +1.23 / -0.40 / 0.00. */
export function signed(v: number | null | undefined, decimals = 2): string {
  const s = fixed(v, decimals);
  return s !== '—' && !s.startsWith('-') && Number(s) !== 0 ? `+${s}` : s;
}

