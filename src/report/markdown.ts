// Markdown (GitHub tables) rendering of report tables.
import type { RunSettings } from '../experiments/results/results.ts';
import { SETTINGS_KEYS, textRows, type Table } from './tables.ts';

const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function mdTable(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const line = (cells: string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [line(header), `| ${align.map((a) => (a === 'r' ? '---:' : '---')).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function settingsText(v: RunSettings[keyof RunSettings]): string {
  return v === null || v === undefined ? '—' : String(v);
}

/** The resolved settings of the configurations in a table, as a small table. */
export function mdSettings(items: { label: string; settings: RunSettings }[]): string {
  const rows = items.map((it) => [it.label, ...SETTINGS_KEYS.map((k) => (k === 'prompt' ? `\`${settingsText(it.settings[k])}\`` : settingsText(it.settings[k])))]);
  return mdTable(['Settings', ...SETTINGS_KEYS], rows, ['l', ...SETTINGS_KEYS.map(() => 'l' as const)]);
}

export function tableToMarkdown(t: Table, level = 2): string {
  const numeric = t.columns.map((_, j) => t.rows.some((r) => typeof r[j] === 'number'));
  const parts = [`${'#'.repeat(level)} ${t.title}`, '', mdTable(t.columns.map((c) => c.title), textRows(t), numeric.map((n) => (n ? 'r' : 'l')))];
  if (t.settings?.length) parts.push('', mdSettings(t.settings));
  if (t.notes.length) parts.push('', ...t.notes.map((n) => `- ${n}`));
  return parts.join('\n');
}
