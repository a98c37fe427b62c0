// The STS table as SimCSE's evaluation.py prints it: per task "%.2f" % (spearman * 100), then
// Avg = "%.2f" % (mean of the seven printed numbers parsed back). A missing task prints '-', and then
// Avg is '-' too (SimCSE would print 0.00 for it and average that in).
import { TASK_ORDER, TASK_SPECS } from '../tasks/registry.ts';

export const TABLE_COLUMNS: readonly string[] = TASK_ORDER.map((n) => TASK_SPECS.find((s) => s.name === n)!.label);
export const AVG_COLUMN = 'Avg';

/**
 * Python's '%.2f' % x: the exact binary value rounded half-to-even. JS toFixed rounds an exact tie
 * (e.g. 12.125) up instead, and prints -0 as '0.00'; both are corrected here.
 */
export function pyFixed2(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let s = a.toFixed(2);
  const exact = a.toFixed(100); // exact decimal expansion of a double of this size
  const frac = exact.slice(exact.indexOf('.') + 1);
  if (frac[2] === '5' && /^0*$/.test(frac.slice(3))) {
    // A tie: toFixed took the larger neighbour; Python takes the even one.
    const down = (Math.round(a * 100 - 0.5) / 100).toFixed(2);
    const lastDigit = Number(down[down.length - 1]);
    if (lastDigit % 2 === 0) s = down;
  }
  return neg ? `-${s}` : s;
}

/** One row: `scores` maps a task name or label to its main score (a correlation, not x100). */
export interface TableRow {
  label: string;
  scores: Readonly<Record<string, number | undefined>>;
}

/** The printed cells of one row: seven tasks then Avg ('-' where missing). */
export function tableCells(scores: Readonly<Record<string, number | undefined>>): string[] {
  const cells = TASK_ORDER.map((name, i) => {
    const v = scores[name] ?? scores[TABLE_COLUMNS[i]];
    return v === undefined ? '-' : pyFixed2(v * 100);
  });
  const avg = cells.includes('-') ? '-' : pyFixed2(cells.reduce((a, c) => a + Number(c === 'nan' ? NaN : c), 0) / cells.length);
  return [...cells, avg];
}

/** The table as aligned text or a markdown table; the first column holds the row labels. */
export function formatStsTable(rows: readonly TableRow[], format: 'text' | 'markdown' = 'text', labelHeader = ''): string {
  const header = [labelHeader, ...TABLE_COLUMNS, AVG_COLUMN];
  const body = rows.map((r) => [r.label, ...tableCells(r.scores)]);
  if (format === 'markdown') {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(header), `|${header.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`, ...body.map(line)].join('\n');
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const pad = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [pad(header), ...body.map(pad)].join('\n');
}

/** Round to 2 decimals exactly as Python's "%.2f" (pyFixed2, the one rounding rule). */
export function round2(v: number): number {
  const r = Number(pyFixed2(v));
  return r === 0 ? 0 : r; // no -0
}

/** A correlation (e.g. 0.78364) as the reported number (78.36): "%.2f" % (v * 100). */
export function x100(v: number): number {
  return round2(v * 100);
}

/** Mean of the printed numbers, summed left to right as Python's sum(), then rounded: the table's Avg. */
export function avgOfPrinted(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return round2(values.reduce((a, b) => a + b, 0) / values.length);
}

/**
 * The table row of one run: label -> Spearman x100 (2 decimals) for each task, plus 'Avg', the mean of
 * the printed TABLE_COLUMNS values present. `sts`/`degrade` use this to fill `table` in results files.
 */
export function stsTableRow(tasks: readonly { label: string; main: number }[]): Record<string, number> {
  const row: Record<string, number> = {};
  for (const t of tasks) row[t.label] = x100(t.main);
  const avg = avgOfPrinted(TABLE_COLUMNS.filter((c) => c in row).map((c) => row[c]));
  if (avg !== null) row[AVG_COLUMN] = avg;
  return row;
}
