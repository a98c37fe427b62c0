// Reading results files: one-line UserErrors naming the file for anything unreadable or foreign.
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';
import type { DegradeResults, Results, StsResults } from '../experiments/results.ts';

export interface LoadedResults { file: string; results: Results }

const FIX = 'pass a results file written by `bellm-bench sts` or `bellm-bench degrade`';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkTasks(tasks: unknown, where: string): string | null {
  if (!Array.isArray(tasks)) return `${where} is not an array`;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    if (!isObj(t)) return `${where}[${i}] is not an object`;
    if (typeof t.label !== 'string') return `${where}[${i}].label is not a string`;
    if (typeof t.main !== 'number') return `${where}[${i}].main is not a number`;
    if (!Array.isArray(t.subsets)) return `${where}[${i}].subsets is not an array`;
    if (t.pairs !== undefined && !Array.isArray(t.pairs)) return `${where}[${i}].pairs is not an array`;
  }
  return null;
}

/** The first structural problem of a parsed results object, or null. */
function problem(r: Record<string, unknown>): string | null {
  if (typeof r.label !== 'string') return '"label" is not a string';
  if (!isObj(r.settings)) return '"settings" is missing';
  if (r.kind === 'sts') {
    const p = checkTasks(r.tasks, 'tasks');
    if (p) return p;
    if (r.sentenceStats !== undefined && !Array.isArray(r.sentenceStats)) return '"sentenceStats" is not an array';
    return null;
  }
  if (r.mode !== 'bidirectional' && r.mode !== 'truncate') return '"mode" is not "bidirectional" or "truncate"';
  if (!Array.isArray(r.rows)) return '"rows" is not an array';
  for (let i = 0; i < r.rows.length; i++) {
    const row = r.rows[i];
    if (!isObj(row) || typeof row.k !== 'number') return `rows[${i}].k is not a number`;
    const p = checkTasks(row.tasks, `rows[${i}].tasks`);
    if (p) return p;
  }
  if (!isObj(r.turningPoint)) return '"turningPoint" is missing';
  if (!isObj(r.work) || typeof r.work.layerPasses !== 'number' || typeof r.work.naiveLayerPasses !== 'number') return '"work" is missing its layer-pass counts';
  return null;
}

/** Validate an already-parsed object as results; `file` names it in errors. */
export function parseResults(json: unknown, file: string): Results {
  if (!isObj(json) || (json.kind !== 'sts' && json.kind !== 'degrade')) {
    throw new UserError(`${file}: not a bellm-bench results file (no "kind": "sts" or "degrade"); ${FIX}`);
  }
  const p = problem(json);
  if (p) throw new UserError(`${file}: malformed ${json.kind} results (${p}); regenerate it with \`bellm-bench ${json.kind}\``);
  return json as unknown as Results;
}

export function loadResults(file: string): LoadedResults {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UserError(`${file}: cannot read it (${code}); ${FIX}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]}); ${FIX}`);
  }
  return { file, results: parseResults(json, file) };
}

export const isSts = (l: LoadedResults): l is LoadedResults & { results: StsResults } => l.results.kind === 'sts';
export const isDegrade = (l: LoadedResults): l is LoadedResults & { results: DegradeResults } => l.results.kind === 'degrade';

/** Make labels unique across files (a repeated label gets its file's base name appended). */
export function uniqueLabels(items: LoadedResults[]): LoadedResults[] {
  const seen = new Map<string, number>();
  return items.map((it) => {
    const n = (seen.get(it.results.label) ?? 0) + 1;
    seen.set(it.results.label, n);
    if (n === 1) return it;
    const base = it.file.split(/[\\/]/).pop()!.replace(/\.json$/i, '');
    return { file: it.file, results: { ...it.results, label: `${it.results.label} [${base}#${n}]` } };
  });
}
