// Reading results files: one-line UserErrors naming the file for anything unreadable or foreign.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { DegradeResults, Results, RunSettings, StsResults } from '../experiments/results/results.ts';
import type { ScoreResults } from '../experiments/results/score-file.ts';

export interface LoadedResults { file: string; results: Results }

const FIX = 'pass a results file written by `bellm-bench sts`, `degrade` or `score --out`';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkTasks(tasks: unknown, where: string): string | null {
  if (!Array.isArray(tasks)) return `${where} is not an array`;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    if (!isObj(t)) return `${where}[${i}] is not an object`;
    if (typeof t.label !== 'string') return `${where}[${i}].label is not a string`;
    if (typeof t.main !== 'number') return `${where}[${i}].main is not a number`;
    // a correlation: NaN (constant predictions) or within [-1, 1]; 5 would print as 500.00
    if (!Number.isNaN(t.main) && !(t.main >= -1 && t.main <= 1)) return `${where}[${i}].main is ${t.main}, not a correlation in [-1, 1]`;
    if (!Array.isArray(t.subsets)) return `${where}[${i}].subsets is not an array`;
    if (t.pairs !== undefined && !Array.isArray(t.pairs)) return `${where}[${i}].pairs is not an array`;
  }
  return null;
}

/** The first structural problem of a parsed results object, or null. */
function problem(r: Record<string, unknown>): string | null {
  if (typeof r.label !== 'string') return '"label" is not a string';
  // an unknown split would drop the run from every table without a word
  if (r.split !== undefined && r.split !== 'test' && r.split !== 'dev') return `"split" is ${JSON.stringify(r.split)}, not "test" or "dev"`;
  if (!isObj(r.settings)) return '"settings" is missing';
  if (r.kind === 'score') return checkTasks(r.tasks, 'tasks');
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
  if (!isResultsKind(json)) {
    throw new UserError(`${file}: not a bellm-bench results file (no "kind": "sts", "degrade" or "score"); ${FIX}`);
  }
  if (json.kind === 'score' && !isObj(json.settings)) json = { ...json, settings: {} }; // checked below as a score file
  const p = problem(json as Record<string, unknown>);
  const kind = (json as { kind: string }).kind;
  if (p) throw new UserError(`${file}: malformed ${kind} results (${p}); regenerate it with \`bellm-bench ${kind}\``);
  return kind === 'score' ? fromScore(json as unknown as ScoreResults) : (json as unknown as Results);
}

const isResultsKind = (json: unknown): json is Record<string, unknown> & { kind: 'sts' | 'degrade' | 'score' } =>
  isObj(json) && (json.kind === 'sts' || json.kind === 'degrade' || json.kind === 'score');

/** What an outside tool's predictions stand for: nothing is known of its settings. */
export const EXTERNAL_SETTINGS = {
  preset: 'external (score)', preprocess: null, prompt: null, pooling: null, maxLength: null, mask: null, billmStartIndex: null, nLayers: null,
} as unknown as RunSettings;

/**
 * A `score` results file as a configuration: its tasks with per-pair predictions (so the paired
 * bootstrap works), no sentence statistics, no timings, settings unknown.
 */
function fromScore(r: ScoreResults): StsResults {
  return {
    kind: 'sts', label: r.label,
    provenance: r.provenance as unknown as StsResults['provenance'],
    settings: EXTERNAL_SETTINGS, tasks: r.tasks, table: r.table,
    timings: { loadSeconds: 0, embedSeconds: 0, sentences: 0, sentencesPerSecond: null },
    ...(r.split ? { split: r.split } : {}),
    external: { sources: r.sources },
  };
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

/**
 * Results files from the paths given: a file is read (any error names it); a folder contributes every
 * `*.json` directly inside it that is a results file, in the order they were made (provenance.createdAt,
 * then file name), so the first run is the baseline; other JSON (a report.json) is skipped and listed.
 */
export function collectResults(paths: readonly string[]): { loaded: LoadedResults[]; skipped: string[] } {
  const loaded: LoadedResults[] = [];
  const skipped: string[] = [];
  for (const p of paths) {
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch (e) {
      throw new UserError(`${p}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)}); ${FIX}, or a folder of them`);
    }
    if (!dir) { loaded.push(loadResults(p)); continue; }
    const files = readdirSync(p).filter((f) => f.toLowerCase().endsWith('.json')).sort();
    const here: LoadedResults[] = [];
    for (const f of files) {
      const file = join(p, f);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        skipped.push(file);
        continue;
      }
      if (!isResultsKind(json)) { skipped.push(file); continue; }
      here.push({ file, results: parseResults(json, file) });
    }
    const made = (l: LoadedResults) => String(l.results.provenance?.createdAt ?? '');
    loaded.push(...here.map((l, i) => ({ l, i })).sort((a, b) => made(a.l).localeCompare(made(b.l)) || a.i - b.i).map(({ l }) => l));
    if (here.length === 0) throw new UserError(`${p}: no results files in this folder (*.json written by \`bellm-bench sts\`, \`degrade\` or \`score --out\`)`);
  }
  return { loaded, skipped };
}
