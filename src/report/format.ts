// The one place report numbers are made. BeLLM's eval_sts.py prints "%.2f" % (spearman * 100) and
// Avg as "%.2f" % (sum(printed) / len(printed)); this module reproduces exactly that, rounding with
// src/eval/table.ts's pyFixed2 (the same rule the `sts` table and results files use).
import { pyFixed2 } from '../eval/table.ts';

/** The STS table's columns, in SentEval/SimCSE order (TaskResult.label values). */
export const STS_COLUMNS = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R'] as const;
export const AVG = 'Avg';

/** Round to 2 decimals exactly as Python's "%.2f" (src/eval/table.ts's pyFixed2, the one rounding rule). */
export function round2(v: number): number {
  const r = Number(pyFixed2(v));
  return r === 0 ? 0 : r; // no -0
}

/** A correlation (e.g. 0.78364) as the reported number (78.36): "%.2f" % (v * 100). */
export function x100(v: number): number {
  return round2(v * 100);
}

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

/** Mean of the printed numbers, summed left to right as Python's sum(), then rounded: the table's Avg. */
export function avgOfPrinted(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return round2(values.reduce((a, b) => a + b, 0) / values.length);
}

/**
 * The table row of one run: label -> Spearman x100 (2 decimals) for each task, plus 'Avg', the mean of
 * the printed STS_COLUMNS values present. `sts`/`degrade` can use this to fill `table` in results files.
 */
export function stsTableRow(tasks: readonly { label: string; main: number }[]): Record<string, number> {
  const row: Record<string, number> = {};
  for (const t of tasks) row[t.label] = x100(t.main);
  const avg = avgOfPrinted(STS_COLUMNS.filter((c) => c in row).map((c) => row[c]));
  if (avg !== null) row[AVG] = avg;
  return row;
}
