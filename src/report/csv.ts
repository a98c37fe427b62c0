// CSV (RFC 4180) rendering: one file per table, header = column titles, numbers unsigned, empty = none.
import { fixed } from './format.ts';
import type { Cell, Column, Table } from './tables.ts';

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvCell(col: Column, v: Cell): string {
  if (v === null) return '';
  return typeof v === 'number' ? fixed(v, col.decimals ?? 2) : v;
}

export function tableToCsv(t: Table): string {
  const lines = [t.columns.map((c) => csvField(c.title)), ...t.rows.map((r) => r.map((v, j) => csvField(csvCell(t.columns[j], v))))];
  return lines.map((l) => l.join(',')).join('\r\n') + '\r\n';
}
