// Cells of an experiment grid: their key (a hash of every resolved setting), label, model-loading
// group and the baseline cell. Works on the arguments exactly as the commands' parsers resolve them
// (option name in CLI spelling -> value, defaults filled in), so a new option is part of every key.
import { basename } from 'node:path';
import { UserError } from '../../errors.ts';
import { closestName } from '../stats/closest.ts';
import type { CommandName, OptionTable } from './experiment-file.ts';
import { canonicalJson, identityHash } from '../results/identity.ts';

/**
 * Options left out of a cell's key because they cannot change a number: where output and caches go,
 * how much is printed, names in tables, forcing weight hashes to be recomputed (--verify-weights), which
 * turning point a sweep names (both are in its results), and the multi-preset comparison of `sts`
 * (--bootstrap, --seed: a cell has one preset). Every other option, present or future, is part of the
 * key. What a key cannot see (the bytes of the weights and data) is checked by the run identity.
 */
export const NOT_IN_KEY: ReadonlySet<string> = new Set([
  'out', 'label', 'quiet', 'cache-dir', 'cache', 'compare-paper', 'overwrite', 'verify-weights', 'help', 'version',
  'turning-point', 'bootstrap', 'seed',
  'shard', // a degradation sweep's pieces are the grid's business, not the cell's identity
]);

/**
 * Options that act on one run of an already-open model. Cells that agree on every other option share
 * one loaded model; an option not listed here (a new one included) is taken to change how the model
 * is loaded, so cells that differ in it never share a model.
 */
export const PER_RUN: ReadonlySet<string> = new Set([
  'preset', 'prompt', 'preprocess', 'pooling', 'max-length', 'billm-mask-compat', 'batch-tokens', 'batch-size',
  'tasks', 'billm-start-index', 'n-layers', 'sentence-stats', 'pivot-layer', 'pivot-bos', 'pivot-prompt', 'group-size',
  'layers', 'mode', 'data-dir', 'split', 'instruction', 'tokenize',
]);

export interface Cell {
  /** Position in the file's order (after repeated cells are dropped). */
  index: number;
  command: CommandName;
  /** sha256 of the canonical JSON of `identity`. */
  key: string;
  /** The cell's folder name under DIR/cells: the key's first 16 hex digits. */
  id: string;
  label: string;
  /** { command, options }: every resolved option that can change a number. */
  identity: { command: CommandName; options: Record<string, unknown> };
  /** Resolved arguments, as the command's handler receives them (out, label, cache-dir set by the grid). */
  args: Record<string, unknown>;
  /** Cells with equal groups share one loaded model. */
  group: string;
  where: string;
}

/** The options of resolved arguments that make up a cell's identity (unset options as null). */
export function identityOptions(args: Record<string, unknown>, table: OptionTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...table.keys()].sort()) if (!NOT_IN_KEY.has(name)) out[name] = args[name] ?? null;
  return out;
}

export function cellKey(command: CommandName, options: Record<string, unknown>): string {
  return identityHash({ command, options });
}

/** What decides which loaded model a cell can use: every option not in PER_RUN that is given. */
export function groupKey(options: Record<string, unknown>): string {
  return canonicalJson(Object.fromEntries(Object.entries(options).filter(([k, v]) => !PER_RUN.has(k) && v !== null)));
}

const snake = (name: string) => name.replaceAll('-', '_');
const PATHS = new Set(['model', 'lora', 'data-dir', 'cache-dir']);

/** A value as a label shows it: paths by their last part, unset as 'none', lists joined with '+'. */
export function labelValue(name: string, v: unknown): string {
  if (v === null || v === undefined) return 'none';
  if (Array.isArray(v)) return v.map((x) => labelValue(name, x)).join('+');
  if (PATHS.has(name) && typeof v === 'string') return basename(v.replace(/[\\/]+$/, '')) || v;
  return String(v);
}

/** Fills `{snake_key}` placeholders of a label template from the cell's options. */
export function expandLabel(template: string, args: Record<string, unknown>, table: OptionTable, where: string): string {
  return template.replace(/\{([^{}]*)\}/g, (_, key: string) => {
    const name = key.replaceAll('_', '-');
    if (!table.has(name)) {
      throw new UserError(`${where}: label "${template}" names {${key}}, which is not an option; did you mean {${closestName(key, [...table.keys()].map(snake))}}?`);
    }
    return labelValue(name, args[name]);
  });
}

/**
 * Default labels: `key=value` for every option that varies among the cells of the same command, or
 * the model (+ adapter) when nothing varies. Degrade cells start with "degrade". `order`: option names
 * in the order the file first names them (labels list them in that order).
 */
export function defaultLabels(cells: readonly Pick<Cell, 'command' | 'identity'>[], order: readonly string[] = []): string[] {
  const varying = new Map<CommandName, string[]>();
  const rank = (n: string) => (order.includes(n) ? order.indexOf(n) : order.length);
  for (const command of ['sts', 'degrade'] as const) {
    const mine = cells.filter((c) => c.command === command);
    const names = [...new Set(mine.flatMap((c) => Object.keys(c.identity.options)))].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
    varying.set(command, names.filter((n) => new Set(mine.map((c) => canonicalJson(c.identity.options[n] ?? null))).size > 1));
  }
  return cells.map((c) => {
    const o = c.identity.options;
    const names = varying.get(c.command)!;
    const parts = names.length
      ? names.map((n) => `${snake(n)}=${labelValue(n, o[n])}`)
      : [[labelValue('model', o.model), ...(o.lora ? [labelValue('lora', o.lora)] : [])].join('+')];
    return `${c.command === 'degrade' ? 'degrade ' : ''}${parts.join(', ')}`;
  });
}

/**
 * The sts cell the baseline spec names: every key given must equal the cell's resolved value
 * (null matches an unset option). Exactly one cell must match.
 */
export function findBaseline(cells: readonly Cell[], spec: Record<string, unknown> | null, file: string): Cell | null {
  const sts = cells.filter((c) => c.command === 'sts');
  if (spec === null) return sts[0] ?? null;
  const matches = sts.filter((c) => Object.entries(spec).every(([k, v]) => canonicalJson(c.args[k] ?? null) === canonicalJson(v ?? null)));
  const shown = Object.entries(spec).map(([k, v]) => `${snake(k)}: ${JSON.stringify(v ?? null)}`).join(', ');
  if (matches.length === 0) {
    throw new UserError(`${file}: baseline {${shown}} matches none of the ${sts.length} sts cells; name values that one cell has${sts.length ? ` (e.g. the cell "${sts[0].label}")` : ''}`);
  }
  if (matches.length > 1) {
    throw new UserError(`${file}: baseline {${shown}} matches ${matches.length} sts cells ("${matches[0].label}", "${matches[1].label}"${matches.length > 2 ? ', ...' : ''}); add keys until it names one`);
  }
  return matches[0];
}
