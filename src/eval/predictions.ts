// Reading a predictions file for `score`: one similarity per scored pair, in task order.
// JSONL: a number or {"score": x} per line. CSV: one column, an optional header line.
import { parse } from 'csv-parse/sync';
import { UserError } from '../errors.ts';

export type PredictionFormat = 'jsonl' | 'csv';

export const formatFromPath = (path: string): PredictionFormat => (/\.(csv|tsv|txt)$/i.test(path) ? 'csv' : 'jsonl');

/** Parse the file's text; every value must be a finite number (errors name file and line). */
export function parsePredictions(text: string, format: PredictionFormat, file: string): number[] {
  return format === 'csv' ? parseCsv(text, file) : parseJsonl(text, file);
}

function finite(v: unknown, file: string, line: number, raw: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${file}:${line}: not a finite number: ${raw.slice(0, 40)}`);
  return v;
}

function parseJsonl(text: string, file: string): number[] {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((raw, i) => {
    if (raw.trim() === '') throw new UserError(`${file}:${i + 1}: empty line (one score per scored pair, no gaps)`);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new UserError(`${file}:${i + 1}: not a finite number: ${raw.slice(0, 40)}`);
    }
    if (v !== null && typeof v === 'object' && 'score' in v) v = (v as { score: unknown }).score;
    return finite(v, file, i + 1, raw);
  });
}

function parseCsv(text: string, file: string): number[] {
  let rows: string[][];
  try {
    rows = parse(text, { relax_column_count: true, skip_empty_lines: false, trim: true }) as string[][];
  } catch (err) {
    throw new UserError(`${file}: not a CSV file (${(err as Error).message.split('\n')[0]})`);
  }
  if (rows.length && rows[rows.length - 1].length === 1 && rows[rows.length - 1][0] === '') rows.pop();
  const isNumber = (s: string) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s);
  // A header is a name like `score`; NaN or inf on line 1 is a bad value, not a header.
  const header = rows.length > 0 && rows[0].length === 1 && /^[A-Za-z_][\w ]*$/.test(rows[0][0]) && !/^[+-]?(nan|inf|infinity)$/i.test(rows[0][0]);
  return rows.flatMap((row, i) => {
    if (header && i === 0) return [];
    if (row.length !== 1) throw new UserError(`${file}:${i + 1}: expected one column, found ${row.length}`);
    if (row[0] === '') throw new UserError(`${file}:${i + 1}: empty line (one score per scored pair, no gaps)`);
    // 1e999 is a decimal number but not a finite one (Infinity), as JSONL already refuses
    if (!isNumber(row[0]) || !Number.isFinite(Number(row[0]))) throw new UserError(`${file}:${i + 1}: not a finite number: ${row[0].slice(0, 40)}`);
    return [Number(row[0])];
  });
}
