// Normalized report tables built from results files. Numbers are stored already scaled (x100, rounded
// by format.ts); renderers (markdown.ts, csv.ts, html.ts) only print them.
import { createHash } from 'node:crypto';
import type { DegradeResults, RunSettings, StsResults, TaskResult } from '../experiments/results/results.ts';
import type { BootstrapComparison } from './bootstrap.ts';
import { chosenTurningPoint, DEFAULT_TURNING_POINT, type TurningPointMethod } from '../experiments/stats/turning-point.ts';
import type { Split } from '../tasks/split.ts';
import { AVG, STS_COLUMNS, avgOfPrinted, fixed, round2, signed, stsTableRow, x100 } from './format.ts';
import { PAPER_COLUMNS, paperDeltas, paperReference, paperSourceLine } from './paper.ts';

export type Cell = string | number | null;
export interface Column {
  key: string;
  title: string;
  /** Numbers print with this many decimals (default 2); `signed` adds a '+' to positive values. */
  decimals?: number;
  signed?: boolean;
}
export interface Table {
  id: string;               // file-safe, unique within a report
  title: string;
  columns: Column[];
  rows: Cell[][];
  notes: string[];          // printed under the table
  /** Indices of rows whose numbers print signed (delta rows). */
  signedRows?: number[];
  /** Indices of rows that begin a new group (a rule above them in LaTeX: \midrule). */
  rules?: number[];
  settings?: { label: string; settings: RunSettings }[];
  /** false: not written as LaTeX (provenance tables of paths and settings, not paper tables). */
  latex?: boolean;
}

export const SETTINGS_KEYS = ['preset', 'preprocess', 'prompt', 'pooling', 'maxLength', 'mask', 'billmStartIndex', 'nLayers', 'dtype'] as const;

export function cellText(col: Column, v: Cell, signedRow = false): string {
  if (v === null) return '—';
  if (typeof v === 'string') return v;
  return col.signed || signedRow ? signed(v, col.decimals ?? 2) : fixed(v, col.decimals ?? 2);
}

/** Every cell of a table as printed text, rows first. */
export function textRows(t: Table): string[][] {
  const signedRows = new Set(t.signedRows ?? []);
  return t.rows.map((row, i) => row.map((v, j) => cellText(t.columns[j], v, signedRows.has(i) && j > 0)));
}

export function slug(s: string): string {
  const full = s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
  if (full.length <= SLUG_MAX) return full;
  // a long label: its start and a hash of the whole label, so file names stay far below the 255-byte
  // limit (ENAMETOOLONG) and two long labels with one start still get two files
  return `${full.slice(0, SLUG_MAX - 9).replace(/-$/, '')}-${createHash('sha256').update(s).digest('hex').slice(0, 8)}`;
}

/** Longest slug kept whole; a file name holds at most two of them (bootstrap-A-vs-B) plus an extension. */
export const SLUG_MAX = 60;

/** Hash lengths (hex digits) tried in turn while names still clash; 0: the readable name alone. */
const HASH_DIGITS = [0, 8, 16, 32, 64] as const;

/**
 * A distinct file name for each distinct key: `readable(key)`, except where two keys of `keys` share one
 * (compared without case, for case-insensitive file systems) or it is longer than `max`; those keys get
 * the readable name's start, "--" and a hash of the exact key ("k 1" and "k_1": "k-1--ca786f1e" and
 * "k-1--1bdfdabf"), with longer hashes while any still clash. Depends only on the set of keys, not their
 * order, so a report's names are the same on every run.
 */
export function distinctNames(keys: readonly string[], readable: (key: string) => string, max = SLUG_MAX): Map<string, string> {
  const uniq = [...new Set(keys)];
  const base = new Map(uniq.map((k) => [k, readable(k)]));
  const level = new Map(uniq.map((k) => [k, base.get(k)!.length > max ? 1 : 0]));
  const nameOf = (k: string): string => {
    const digits = HASH_DIGITS[level.get(k)!];
    if (digits === 0) return base.get(k)!;
    const start = base.get(k)!.slice(0, Math.max(1, max - 2 - digits)).replace(/-+$/, '') || 'x';
    return `${start}--${createHash('sha256').update(k).digest('hex').slice(0, digits)}`;
  };
  for (;;) {
    const names = new Map(uniq.map((k) => [k, nameOf(k)]));
    const byName = new Map<string, string[]>();
    for (const k of uniq) {
      const folded = names.get(k)!.toLowerCase();
      byName.set(folded, [...(byName.get(folded) ?? []), k]);
    }
    const clashing = [...byName.values()].filter((g) => g.length > 1).flat();
    if (clashing.length === 0) return names;
    for (const k of clashing) {
      if (level.get(k)! + 1 >= HASH_DIGITS.length) throw new Error(`internal: no distinct file name for ${JSON.stringify(k)}`);
      level.set(k, level.get(k)! + 1);
    }
  }
}

/** A label's part of the report's file names (subsets-<part>, degrade-<part>, bootstrap-<part>-vs-<part>). */
export type FileParts = (label: string) => string;

/**
 * The file-name parts of a report's labels: each label's slug, unless two labels of the report share
 * one ("k 1" and "k_1" are both "k-1") or a slug would be cut; then distinctNames' "<start>--<hash>".
 * A plain slug never holds "--" (runs of other characters become one '-'), so a hashed part never
 * equals a plain one. A label not among `labels` gets its plain slug.
 */
export function fileParts(labels: readonly string[]): FileParts {
  const names = distinctNames(labels, slug);
  return (label) => names.get(label) ?? slug(label);
}

const count = (s: string, sub: string): number => {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) n++;
  return n;
};

/**
 * The bootstrap table's id: bootstrap-A-vs-B from two file-name parts, readable when "-vs-" occurs once
 * (so A and B can be read back); when a part holds "-vs-" itself ("a-vs-b" vs "c" and "a" vs "b-vs-c"),
 * bootstrap--A--vs--B, which no plain name starts with and whose "--vs--" can occur only once (parts
 * hold "--" only before their hex hash).
 */
export function bootstrapId(a: string, b: string): string {
  const joined = `${a}-vs-${b}`;
  return count(joined, '-vs-') === 1 ? `bootstrap-${joined}` : `bootstrap--${a}--vs--${b}`;
}

/** Task columns present in any of the task lists: the seven STS columns first, then any others. */
export function taskColumns(lists: readonly (readonly TaskResult[])[]): string[] {
  const seen = new Set(lists.flatMap((ts) => ts.map((t) => t.label)));
  return [...STS_COLUMNS.filter((c) => seen.has(c)), ...[...seen].filter((c) => !(STS_COLUMNS as readonly string[]).includes(c))];
}

const scoreCols = (labels: string[]): Column[] => [...labels, AVG].map((c) => ({ key: c, title: c }));

/** Notes when a row's Avg covers fewer than seven tasks or the file's stored `table` disagrees. */
function rowNotes(label: string, tasks: readonly TaskResult[], stored: Record<string, number> | undefined): string[] {
  const notes: string[] = [];
  const row = stsTableRow(tasks);
  const have = STS_COLUMNS.filter((c) => c in row).length;
  if (have < STS_COLUMNS.length) notes.push(`${label}: Avg is over ${have} of ${STS_COLUMNS.length} STS tasks.`);
  if (stored) {
    const diff = Object.keys(row).filter((k) => k in stored && Math.abs(stored[k] - row[k]) > 0.005);
    if (diff.length) notes.push(`Warning: ${label}: the file's stored table differs at ${diff.map((k) => `${k} (${fixed(stored[k])} vs ${fixed(row[k])})`).join(', ')}; printed values come from tasks[].main.`);
  }
  return notes;
}

export interface Named<T> { label: string; results: T }

/** The headline table: one row per configuration, Spearman x100, Avg of the printed numbers. */
export function stsTable(runs: readonly StsResults[], split: Split = 'test'): Table {
  const labels = taskColumns(runs.map((r) => r.tasks));
  return {
    id: split === 'dev' ? 'sts-dev' : 'sts',
    title: split === 'dev'
      ? 'STS dev split: Spearman correlation x100 (STS-B dev, SICK-R trial; not the reported test numbers)'
      : 'STS: Spearman correlation x100 (STS12-16: all; STS-B, SICK-R: test)',
    columns: [{ key: 'config', title: 'Configuration' }, ...scoreCols(labels)],
    rows: runs.map((r) => {
      const row = stsTableRow(r.tasks);
      return [r.label, ...[...labels, AVG].map((c) => row[c] ?? null)];
    }),
    notes: runs.flatMap((r) => rowNotes(r.label, r.tasks, r.table)),
    settings: runs.map((r) => ({ label: r.label, settings: r.settings })),
  };
}

/** Per-subset Pearson/Spearman of one run, with SentEval's all / mean / wmean after each task. */
export function subsetTable(r: StsResults, part: FileParts = slug): Table {
  const rows: Cell[][] = [];
  const rules: number[] = [];
  for (const t of r.tasks) {
    if (rows.length) rules.push(rows.length);
    for (const s of t.subsets) rows.push([t.label, s.name, s.n, x100(s.pearson), x100(s.spearman)]);
    const total = t.subsets.reduce((a, s) => a + s.n, 0);
    rows.push([t.label, 'all', total, x100(t.all.pearson), x100(t.all.spearman)]);
    rows.push([t.label, 'mean', null, x100(t.mean.pearson), x100(t.mean.spearman)]);
    rows.push([t.label, 'wmean', null, x100(t.wmean.pearson), x100(t.wmean.spearman)]);
  }
  return {
    id: `subsets-${part(r.label)}`,
    title: `Per-subset scores x100: ${r.label}`,
    columns: [
      { key: 'task', title: 'Task' }, { key: 'subset', title: 'Subset' }, { key: 'n', title: 'n', decimals: 0 },
      { key: 'pearson', title: 'Pearson' }, { key: 'spearman', title: 'Spearman' },
    ],
    rows,
    notes: ['all: correlation over the subsets pooled; mean: unweighted mean over subsets; wmean: mean weighted by subset size.'],
    settings: [{ label: r.label, settings: r.settings }],
    rules,
  };
}

/** Each run beside BeLLM's published numbers, with run − paper deltas. */
export function paperTable(runs: readonly StsResults[]): Table {
  const ref = paperReference;
  const rows: Cell[][] = [[ref.label, ...PAPER_COLUMNS.map((c) => ref.scores[c] ?? null)]];
  const signedRows: number[] = [];
  for (const r of runs) {
    const row = stsTableRow(r.tasks);
    const d = paperDeltas(row);
    rows.push([r.label, ...PAPER_COLUMNS.map((c) => row[c] ?? null)]);
    signedRows.push(rows.length);
    rows.push([`Δ ${r.label} − paper`, ...PAPER_COLUMNS.map((c) => d[c])]);
  }
  const notes = [paperSourceLine(ref), `Paper command: ${ref.command}`];
  for (const r of runs) {
    if (r.settings.billmStartIndex !== ref.billmStartIndex) notes.push(`${r.label}: billmStartIndex ${r.settings.billmStartIndex ?? 'none'}, the paper's is ${ref.billmStartIndex}.`);
  }
  return {
    id: 'paper',
    title: 'Compared with BeLLM\'s published numbers (Spearman x100)',
    columns: [{ key: 'config', title: 'Configuration' }, ...PAPER_COLUMNS.map((c) => ({ key: c, title: c }))],
    rows,
    notes,
    signedRows,
    rules: [1],
    settings: runs.map((r) => ({ label: r.label, settings: r.settings })),
  };
}

export const kTitle = (mode: DegradeResults['mode']): string =>
  mode === 'bidirectional' ? 'k (causal layers)' : 'layers kept';

/** Average (x100, printed) per finished k, from the rows' tasks via the one formatter. */
export function degradeCurve(d: DegradeResults): { k: number; row: Record<string, number> }[] {
  return d.rows.map((r) => ({ k: r.k, row: stsTableRow(r.tasks) }));
}

/** The turning point (by `method`, then the other method) and work done, stated in words. */
export function degradeNotes(d: DegradeResults, method: TurningPointMethod = DEFAULT_TURNING_POINT): string[] {
  const curve = degradeCurve(d);
  const notes: string[] = [];
  notes.push(d.mode === 'bidirectional'
    ? 'Mode bidirectional: layers with index < k stay causal (uni-directional), layers >= k attend both ways.'
    : 'Mode truncate: only the first k layers run (the rest are dropped); causal throughout.');
  const tp = d.turningPoint;
  const ld = tp.largestDrop;
  const chosen = chosenTurningPoint(tp, method);
  notes.push(`Turning point (--turning-point ${method}): ${chosen ? `k = ${chosen.k}` : 'none'}; both methods below.`);
  if (ld) {
    const i = curve.findIndex((c) => c.k === ld.k);
    const next = curve[i + 1];
    notes.push(i >= 0 && next
      ? `Largest one-step drop of Avg: after k = ${ld.k}, Avg ${fixed(curve[i].row[AVG])} → ${fixed(next.row[AVG])} at k = ${next.k} (${signed(round2((next.row[AVG] ?? NaN) - (curve[i].row[AVG] ?? NaN)))}).`
      : `Largest one-step drop of Avg: after k = ${ld.k}.`);
  } else notes.push('Largest one-step drop: none, Avg never falls.');
  notes.push(tp.changePoint
    ? `Two-segment change point: the second straight segment begins at k = ${tp.changePoint.k} (SSE ${tp.changePoint.sse.toPrecision(4)}).`
    : 'Two-segment change point: none (fewer than 4 points).');
  const w = d.work;
  const saved = w.naiveLayerPasses > 0 ? (1 - w.layerPasses / w.naiveLayerPasses) * 100 : 0;
  notes.push(`Layer passes: ${w.layerPasses.toLocaleString('en-US')} done vs ${w.naiveLayerPasses.toLocaleString('en-US')} for independent runs per k (${fixed(saved, 1)}% saved by sharing the causal prefix).`);
  const missing = d.layers.filter((k) => !d.rows.some((r) => r.k === k));
  if (missing.length) notes.push(`Not finished: k = ${missing.join(', ')}.`);
  if (d.shard) notes.push(`Shard ${d.shard.index + 1} of ${d.shard.count} (merge shards with \`bellm-bench merge\`).`);
  return notes;
}

/** Degradation: one row per finished k, the task columns and Avg. */
export function degradeTable(d: DegradeResults, method: TurningPointMethod = DEFAULT_TURNING_POINT, part: FileParts = slug): Table {
  const labels = taskColumns(d.rows.map((r) => r.tasks));
  const curve = degradeCurve(d);
  return {
    id: `degrade-${part(d.label)}`,
    title: `Degradation (${d.mode}): ${d.label}, Spearman x100 by ${kTitle(d.mode)}${d.split === 'dev' ? ' (dev split)' : ''}`,
    columns: [{ key: 'k', title: kTitle(d.mode), decimals: 0 }, ...scoreCols(labels)],
    rows: curve.map((c) => [c.k, ...[...labels, AVG].map((l) => c.row[l] ?? null)]),
    notes: [...degradeNotes(d, method), ...d.rows.flatMap((r) => rowNotes(`k = ${r.k}`, r.tasks, r.table))],
    settings: [{ label: d.label, settings: d.settings }],
  };
}

/** The paired bootstrap comparison: one row per task, then Avg. */
export function bootstrapTable(c: BootstrapComparison, part: FileParts = slug): Table {
  const pctLevel = Math.round(c.level * 100);
  const notes = [
    `Paired bootstrap over the task's scored pairs: ${c.resamples} resamples, seed ${c.seed}; statistic Spearman (STS12-16 over all subsets pooled, STS-B/SICK-R test).`,
    `Δ = ${c.labelB} − ${c.labelA} from unrounded values, x100; CI: ${pctLevel}% percentile interval; sign flips: share of resamples whose Δ is not on the point estimate's side (p-value-like; 1 when Δ = 0).`,
  ];
  if (c.rows.some((r) => r.task === AVG)) notes.push('Avg: per resample, the mean of the task Δs (tasks resampled independently).');
  const dropped = c.rows.filter((r) => r.dropped > 0);
  if (dropped.length) notes.push(`Degenerate resamples left out: ${dropped.map((r) => `${r.task} ${r.dropped}`).join(', ')}.`);
  notes.push(...c.warnings.map((w) => `Warning: ${w}.`));
  return {
    id: bootstrapId(part(c.labelA), part(c.labelB)),
    title: `Paired bootstrap: ${c.labelB} − ${c.labelA} (Spearman x100, ${pctLevel}% CI)`,
    columns: [
      { key: 'task', title: 'Task' }, { key: 'n', title: 'pairs', decimals: 0 },
      { key: 'a', title: c.labelA }, { key: 'b', title: c.labelB },
      { key: 'delta', title: 'Δ (B − A)', signed: true }, { key: 'ciLow', title: 'CI low', signed: true },
      { key: 'ciHigh', title: 'CI high', signed: true }, { key: 'signFlip', title: 'sign flips', decimals: 3 },
    ],
    rows: c.rows.map((r) => {
      // The Avg row's A and B are the mean of the printed task values, as in the STS table.
      const [a, b] = r.task !== AVG ? [x100(r.a), x100(r.b)]
        : (['a', 'b'] as const).map((k) => avgOfPrinted(c.rows.filter((t) => t.task !== AVG).map((t) => x100(t[k]))));
      return [r.task, r.n, a, b, x100(r.delta), x100(r.ciLow), x100(r.ciHigh), r.signFlip];
    }),
    notes,
    rules: c.rows.length > 1 && c.rows[c.rows.length - 1].task === AVG ? [c.rows.length - 1] : [],
  };
}

/** Every configuration's resolved settings, one row each (the CSV twin of the settings under tables). */
export function settingsTable(items: readonly { label: string; settings: RunSettings; file?: string }[]): Table {
  return {
    id: 'settings',
    title: 'Resolved settings',
    columns: [{ key: 'config', title: 'Configuration' }, ...SETTINGS_KEYS.map((k) => ({ key: k, title: k, decimals: 0 })), { key: 'file', title: 'file' }],
    rows: items.map((it) => [it.label, ...SETTINGS_KEYS.map((k) => it.settings[k] ?? null), it.file ?? null]),
    notes: [],
  };
}
