// The bridge between experiment files and the commands: option tables read from the `sts` and `degrade`
// yargs builders (plus the global options), and each cell's values parsed by that same yargs parser, so
// a cell gets exactly the arguments (defaults, coercions, checks) the command line would give it.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { UserError } from '../../errors.ts';
import { cellKey, defaultLabels, expandLabel, findBaseline, groupKey, identityOptions, type Cell } from '../../experiments/grid/cells.ts';
import { parseExperiment, readExperimentFile, type CommandName, type Experiment, type OptionSpec, type OptionTable, type OptionTables } from '../../experiments/grid/experiment-file.ts';
import { info } from '../../experiments/run/progress.ts';
import { degradeCommand } from '../commands/degrade.ts';
import { dtypeOf } from '../options/open-model.ts';
import { withGlobalOptions } from '../options/global-options.ts';
import { stsCommand } from '../commands/sts.ts';

const COMMAND_MODULES = { sts: stsCommand, degrade: degradeCommand } as const;

/** yargs options that are not settings. */
const NOT_OPTIONS = new Set(['help', 'version']);
/** Options holding a local path: made absolute when the path exists (a Hub id stays as written). */
const PATH_OPTIONS = ['model', 'lora', 'data-dir', 'cache-dir'];

function parserFor(command: CommandName): Argv {
  const builder = COMMAND_MODULES[command].builder as (y: Argv) => Argv;
  return builder(withGlobalOptions(yargs([])) as unknown as Argv);
}

interface YargsOptions {
  key: Record<string, unknown>;
  boolean: string[];
  number: string[];
  string: string[];
  array: string[];
  count: string[];
  choices: Record<string, unknown[]>;
  demandedOptions: Record<string, unknown>;
}

/** Every option of a command, read from its yargs definition. */
export function optionTable(command: CommandName): OptionTable {
  const o = (parserFor(command) as unknown as { getOptions(): YargsOptions }).getOptions();
  const table = new Map<string, OptionSpec>();
  for (const name of Object.keys(o.key)) {
    if (NOT_OPTIONS.has(name)) continue;
    const type = o.boolean.includes(name) ? 'boolean' : o.number.includes(name) || o.count.includes(name) ? 'number' : 'string';
    const choices = o.choices[name];
    table.set(name, { name, type, array: o.array.includes(name), ...(choices?.length ? { choices } : {}), required: name in o.demandedOptions });
  }
  return table;
}

export function optionTables(): OptionTables {
  return { sts: optionTable('sts'), degrade: optionTable('degrade') };
}

/** A cell's values through the command's own parser: the arguments its handler would receive. */
export function parseCellArgs(command: CommandName, values: Record<string, unknown>, where: string): Record<string, unknown> {
  try {
    return parserFor(command).strict().exitProcess(false).help(false).version(false)
      .fail((msg, err) => { throw err ?? new UserError(msg); })
      .config(values).parseSync([]) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${where}: ${(e as Error).message.replace(/\s+/g, ' ').trim()}`);
  }
}

/** The --dtype a cell's model loads with (its own, else its preset's): cells that differ in it never share a model. */
function loadDtype(args: Record<string, unknown>, where: string): string {
  try {
    return dtypeOf(args as { dtype?: string; preset: string });
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${where}: ${e.message}`);
    throw e;
  }
}

function setArg(args: Record<string, unknown>, name: string, v: unknown): void {
  args[name] = v;
  const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  if (camel !== name) args[camel] = v;
}

export interface Grid {
  experiment: Experiment;
  cells: Cell[];
  baseline: Cell | null;
  tables: OptionTables;
}

export interface GridOptions {
  /** The experiment's output folder: cells write DIR/cells/<id>/. */
  out: string;
  quiet: boolean;
  /** Embedding cache of cells that do not set cache_dir. */
  cacheDir: string;
  /** Task data of cells that do not set data_dir (the command line's --data-dir). */
  dataDir?: string;
}

/** Reads, checks and expands an experiment file into cells with resolved arguments, keys and labels. */
export function loadGrid(file: string, o: GridOptions): Grid {
  const tables = optionTables();
  const experiment = parseExperiment(file, readExperimentFile(file), tables);
  const seen = new Map<string, Cell>();
  const cells: Cell[] = [];
  const explicit: (string | null)[] = [];
  const ownCache: boolean[] = [];
  for (const raw of experiment.cells) {
    const where = `${file}: ${raw.where}`;
    const values = o.dataDir !== undefined && raw.values['data-dir'] === undefined ? { ...raw.values, 'data-dir': o.dataDir } : raw.values;
    const args = parseCellArgs(raw.command, values, where);
    // One cell writes one results file: several presets are an axis of cells, not one `sts --preset a,b`.
    const presets = String(args.preset).split(',').map((x) => x.trim()).filter(Boolean);
    if (presets.length > 1) {
      throw new UserError(`${where}: preset "${String(args.preset)}" names ${presets.length} presets; a cell runs one: make it a list axis (preset: [${presets.join(', ')}])`);
    }
    for (const p of PATH_OPTIONS) {
      const v = args[p];
      if (typeof v === 'string' && v !== '' && existsSync(v)) setArg(args, p, resolve(v));
    }
    const table = tables[raw.command];
    const options = identityOptions(args, table);
    const key = cellKey(raw.command, options);
    const label = typeof raw.values.label === 'string' ? expandLabel(raw.values.label, args, table, where) : null;
    const prev = seen.get(key);
    if (prev) {
      info(o.quiet, `${where} repeats a cell of ${prev.where} (the same settings): it runs once`);
      continue;
    }
    const cell: Cell = {
      index: cells.length, command: raw.command, key, id: key.slice(0, 16), label: label ?? '',
      // the --dtype a preset fixes (bellm-paper: fp16) changes how the model loads: part of the group
      identity: { command: raw.command, options }, args, group: groupKey({ ...options, dtype: loadDtype(args, where) }), where: raw.where,
    };
    seen.set(key, cell);
    cells.push(cell);
    explicit.push(label);
    ownCache.push(raw.values['cache-dir'] !== undefined);
  }
  const defaults = defaultLabels(cells, [...new Set(experiment.cells.flatMap((r) => r.keys))]);
  const byLabel = new Map<string, Cell>();
  for (const c of cells) {
    c.label = explicit[c.index] ?? defaults[c.index];
    const other = byLabel.get(c.label);
    if (other) throw new UserError(`${file}: ${cellName(c, other)} and ${cellName(other, c)} both have the label "${c.label}"; give each cell its own label (a template like "k={billm_start_index}" fills in values)`);
    byLabel.set(c.label, c);
    const dir = join(o.out, 'cells', c.id);
    setArg(c.args, 'out', join(dir, 'results.json'));
    setArg(c.args, 'label', c.label);
    setArg(c.args, 'quiet', o.quiet);
    // sts: a stale results file is replaced; degrade: a partial sweep of the same identity is resumed
    setArg(c.args, 'overwrite', c.command === 'sts');
    if (!ownCache[c.index]) setArg(c.args, 'cache-dir', o.cacheDir);
  }
  const baseline = findBaseline(cells, resolveBaseline(experiment.baseline), file);
  return { experiment, cells, baseline, tables };
}

function resolveBaseline(spec: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!spec) return spec;
  const out = { ...spec };
  for (const p of PATH_OPTIONS) {
    const v = out[p];
    if (typeof v === 'string' && v !== '' && existsSync(v)) out[p] = resolve(v);
  }
  return out;
}

/** Where a cell comes from; two cells of one run are told apart by the options where they differ. */
function cellName(c: Cell, other: Cell): string {
  if (c.where !== other.where) return c.where;
  const a = c.identity.options, b = other.identity.options;
  const differ = Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return `${c.where} (${differ.map((k) => `${k.replace(/-/g, '_')}: ${JSON.stringify(a[k])}`).join(', ')})`;
}
