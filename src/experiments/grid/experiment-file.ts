// Experiment files: a grid of `sts` / `degrade` runs in YAML (or JSON). Every key is one of the commands'
// own options in snake_case (`billm_start_index` is `--billm-start-index`); the option definitions come
// from the commands' yargs builders (src/cli/grid/experiment-options.ts turns them into OptionTables), so a
// new option is a valid key, with its type and choices checked, without a change here.
//
//   name: bellm-ablation              # required: names the experiment (its output folder refuses others)
//   data_dir: data                    # a top-level option key applies to every run that has that option
//   tasks: [STSBenchmark, SICKRelatedness]
//   runs:
//     - model: NousResearch/Llama-2-7b-hf
//       lora: [null, SeanLee97/bellm-llama-7b-nli]   # a list is an axis: cells are the Cartesian product
//       billm_start_index: [null, 31, 28]            # null = the option is not given
//     - degrade: {model: NousResearch/Llama-2-7b-hf, layers: 0..32}
//   baseline: {lora: null, billm_start_index: null}  # the sts cell the report compares every other with
//   report: {bootstrap: 1000, seed: 1}                # paired-bootstrap resamples and seed of the report
//
// Options that take a list (`tasks`) take a list as their value; a list of lists is their axis.
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml, parseDocument, YAMLParseError } from 'yaml';
import { UserError } from '../../errors.ts';
import { MAX_RESAMPLES, resamplesProblem } from '../../eval/resampling.ts';
import { closestName } from '../stats/closest.ts';

export type CommandName = 'sts' | 'degrade';
export const COMMANDS: readonly CommandName[] = ['sts', 'degrade'];

/** One command-line option, as its yargs definition gives it. */
export interface OptionSpec {
  name: string;                          // the CLI name, e.g. 'billm-start-index'
  type: 'string' | 'number' | 'boolean';
  array: boolean;
  choices?: readonly unknown[];
  required: boolean;
}
export type OptionTable = ReadonlyMap<string, OptionSpec>;
export type OptionTables = Record<CommandName, OptionTable>;

/** Options an experiment file may not set, and what to do instead. */
export const RESERVED_OPTIONS: Readonly<Record<string, string>> = {
  out: 'each cell writes DIR/cells/<key>/results.json; pass --out to `bellm-bench run`',
  shard: 'pass --shard to `bellm-bench run`, or use `bellm-bench slurm`',
  quiet: 'pass --quiet to `bellm-bench run`',
  'compare-paper': "it only prints; run `bellm-bench report --compare-paper` on the cells' results files",
  overwrite: 'a cell whose results are stale runs again by itself; delete DIR/cells/<id>/ to force one',
  bootstrap: 'set the grid report\'s paired bootstrap with report: {bootstrap: N, seed: S}',
  seed: 'set the grid report\'s paired bootstrap with report: {bootstrap: N, seed: S}',
};

const META_KEYS = ['name', 'runs', 'baseline', 'report'] as const;
const REPORT_KEYS = ['bootstrap', 'seed'] as const;
/** More cells than this is almost certainly a mistake (and would not fit a job array). */
export const MAX_CELLS = 10_000;
const MAX_FILE_BYTES = 1 << 20;

/** A cell before the commands' parsers see it: option name (CLI spelling) -> value as written. */
export interface RawCell {
  command: CommandName;
  values: Record<string, unknown>;
  /** Where in the file it comes from, e.g. 'runs[1].degrade'. */
  where: string;
  /** Every option the run names (null values included), in the file's order. */
  keys: string[];
}

export interface Experiment {
  file: string;
  name: string;
  cells: RawCell[];
  /** Option name -> value (null: the option is not given); null when the file names no baseline. */
  baseline: Record<string, unknown> | null;
  report: { bootstrap: number; seed: number };
}

const snake = (name: string) => name.replaceAll('-', '_');
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function show(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isMap(v)) return 'a mapping';
  const s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Reads and parses the file (YAML; JSON when it ends in .json), as one-line errors naming it. */
export function readExperimentFile(file: string): unknown {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UserError(`${file}: not a file; pass an experiment file (YAML or JSON)`);
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: cannot read the experiment file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (size > MAX_FILE_BYTES) throw new UserError(`${file}: ${(size / 2 ** 20).toFixed(1)} MiB is far too large for an experiment file (limit 1 MiB)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
  } catch {
    throw new UserError(`${file}: not UTF-8 text; save the experiment file as UTF-8`);
  }
  if (/\.json$/i.test(file)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
    // JSON.parse keeps the last of two equal keys without a word; the YAML reader (JSON is YAML's flow
    // syntax) finds them, as it does for .yaml files.
    const dup = parseDocument(text, { uniqueKeys: true, prettyErrors: true }).errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (dup) {
      const at = dup.linePos?.[0];
      throw new UserError(`${file}${at ? `:${at.line}:${at.col}` : ''}: a key is given twice in one object; keep one`);
    }
    return value;
  }
  try {
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const at = e.linePos?.[0];
      const msg = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new UserError(`${file}${at ? `:${at.line}:${at.col}` : ''}: not valid YAML (${msg})`);
    }
    throw new UserError(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
}

class Checker {
  constructor(readonly file: string, readonly tables: OptionTables) {}

  fail(where: string, msg: string): never {
    throw new UserError(`${this.file}: ${where ? `${where}: ` : ''}${msg}`);
  }

  /** The option a key names for `commands`, or a one-line error with the closest valid key. */
  option(key: string, where: string, commands: readonly CommandName[], extra: readonly string[] = []): OptionSpec {
    const name = key.replaceAll('_', '-');
    if (key.includes('-') || key !== key.toLowerCase()) this.unknown(key, where, commands, extra);
    if (Object.hasOwn(RESERVED_OPTIONS, name)) this.fail(where, `"${key}" cannot be set in an experiment file: ${RESERVED_OPTIONS[name]}`);
    for (const c of commands) {
      const spec = this.tables[c].get(name);
      if (spec) return spec;
    }
    return this.unknown(key, where, commands, extra);
  }

  unknown(key: string, where: string, commands: readonly CommandName[], extra: readonly string[]): never {
    const names = new Set<string>(extra);
    for (const c of commands) for (const n of this.tables[c].keys()) if (!Object.hasOwn(RESERVED_OPTIONS, n)) names.add(snake(n));
    const best = closestName(key, names);
    const of = commands.length === 1 ? ` (not an option of \`bellm-bench ${commands[0]}\`)` : '';
    this.fail(where, `unknown key "${key}"${of}${best ? `; did you mean "${best}"?` : ''}`);
  }

  /** One value of an option, checked against its type and choices; null = not given. */
  scalar(v: unknown, spec: OptionSpec, where: string): unknown {
    if (v === null) return null;
    const want = spec.type === 'boolean' ? 'true or false' : spec.type === 'number' ? 'a number' : 'a string';
    let out: unknown;
    if (spec.type === 'boolean' && typeof v === 'boolean') out = v;
    else if (spec.type === 'number' && typeof v === 'number' && Number.isFinite(v)) out = v;
    else if (spec.type === 'string' && typeof v === 'string') out = v;
    else if (spec.type === 'string' && typeof v === 'number' && Number.isFinite(v)) out = String(v);
    else this.fail(where, `expected ${want}, got ${show(v)}`);
    if (spec.choices && spec.choices.length && !spec.choices.includes(out)) {
      const best = typeof out === 'string' ? closestName(out, spec.choices.map(String)) : undefined;
      this.fail(where, `${show(out)} is not one of ${spec.choices.join(', ')}${best ? `; did you mean "${best}"?` : ''}`);
    }
    return out;
  }

  /** A value of an option that takes a list: a list of scalars, or one scalar (a list of one). */
  listValue(v: unknown, spec: OptionSpec, where: string): unknown {
    if (v === null) return null;
    const items = Array.isArray(v) ? v : [v];
    if (items.length === 0) this.fail(where, 'an empty list; remove the key to use the default');
    return items.map((x, i) => {
      if (x === null) this.fail(`${where}[${i}]`, `expected ${spec.type === 'number' ? 'a number' : 'a string'}, got null`);
      return this.scalar(x, spec, `${where}[${i}]`);
    });
  }

  /** The values a key takes across the grid: one, or several when the key is an axis (a list). */
  axis(v: unknown, spec: OptionSpec, where: string): unknown[] {
    const isAxis = spec.array ? Array.isArray(v) && v.some(Array.isArray) : Array.isArray(v);
    if (isMap(v)) this.fail(where, `expected ${spec.array ? 'a list' : spec.type === 'boolean' ? 'true or false' : `a ${spec.type}`} or a list of them, got a mapping`);
    if (!isAxis) return [spec.array ? this.listValue(v, spec, where) : this.scalar(v, spec, where)];
    const vs = v as unknown[];
    if (vs.length === 0) this.fail(where, 'an empty list gives no cells; give at least one value or remove the key');
    return vs.map((x, i) => {
      if (spec.array) {
        if (!Array.isArray(x) && x !== null) this.fail(`${where}[${i}]`, `expected a list (one value of "${snake(spec.name)}"), got ${show(x)}; a list of lists is an axis of lists`);
        return this.listValue(x, spec, `${where}[${i}]`);
      }
      if (Array.isArray(x) || isMap(x)) this.fail(`${where}[${i}]`, `expected ${spec.type === 'boolean' ? 'true or false' : `a ${spec.type}`}, got ${show(x)}`);
      return this.scalar(x, spec, `${where}[${i}]`);
    });
  }
}

const path = (base: string, key: string) => (base ? `${base}.${key}` : key);

/** Validates a parsed experiment file and expands its runs into cells (in file order, first key outermost). */
export function parseExperiment(file: string, doc: unknown, tables: OptionTables): Experiment {
  const ck: Checker = new Checker(file, tables);
  if (!isMap(doc)) ck.fail('', `expected a mapping with "name" and "runs" at the top, got ${doc === null || doc === undefined ? 'an empty file' : show(doc)}`);

  // Top level: meta keys, and option keys that apply to every run that has the option.
  const defaults: { key: string; spec: OptionSpec; values: unknown[] }[] = [];
  for (const [key, v] of Object.entries(doc)) {
    if ((META_KEYS as readonly string[]).includes(key)) continue;
    const spec = ck.option(key, '', COMMANDS, META_KEYS);
    defaults.push({ key, spec, values: ck.axis(v, spec, key) });
  }
  for (const k of ['name', 'runs'] as const) if (!Object.hasOwn(doc, k)) ck.fail('', `missing "${k}"${k === 'runs' ? ' (a list of runs; see the README, "Running on a cluster")' : ' (the experiment\'s name, e.g. name: bellm-ablation)'}`);
  const name = doc.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$/.test(name)) {
    ck.fail('name', `expected a name of letters, digits and _ . + - (at most 100, starting with a letter or digit), got ${show(name)}`);
  }
  const runs = doc.runs;
  if (!Array.isArray(runs)) ck.fail('runs', `expected a list of runs, got ${show(runs)}`);
  if (runs.length === 0) ck.fail('runs', 'the list is empty, so the grid has no cells; add at least one run');

  const cells: RawCell[] = [];
  runs.forEach((run, i) => {
    let where = `runs[${i}]`;
    if (!isMap(run)) ck.fail(where, `expected a mapping of options (or {degrade: {...}}), got ${show(run)}`);
    let command: CommandName = 'sts';
    let body = run;
    const keys = Object.keys(run);
    for (const c of COMMANDS) {
      if (!Object.hasOwn(run, c)) continue;
      if (keys.length !== 1) ck.fail(where, `"${c}" must be the only key of its run; put its options inside it ({${c}: {model: ..., ...}})`);
      if (!isMap(run[c])) ck.fail(`${where}.${c}`, `expected a mapping of ${c} options, got ${show(run[c])}`);
      command = c;
      body = run[c] as Record<string, unknown>;
      where = `${where}.${c}`;
    }
    const axes: { name: string; values: unknown[] }[] = [];
    const own = new Set<string>();
    for (const [key, v] of Object.entries(body)) {
      const spec = ck.option(key, where, [command]);
      own.add(spec.name);
      axes.push({ name: spec.name, values: ck.axis(v, spec, path(where, key)) });
    }
    // File-wide keys the run does not set itself; their axes vary slowest.
    axes.unshift(...defaults.filter((d) => !own.has(d.spec.name) && tables[command].has(d.spec.name)).map((d) => ({ name: d.spec.name, values: d.values })));
    for (const spec of tables[command].values()) {
      if (spec.required && !axes.some((a) => a.name === spec.name && a.values.some((x) => x !== null))) {
        ck.fail(where, `missing "${snake(spec.name)}" (required by \`bellm-bench ${command}\`)`);
      }
    }
    const count = axes.reduce((n, a) => n * a.values.length, 1);
    if (cells.length + count > MAX_CELLS) ck.fail(where, `the grid has more than ${MAX_CELLS} cells; split it into several experiments`);
    // Cartesian product, the first key outermost.
    const combos: Record<string, unknown>[] = [{}];
    for (const a of axes) {
      const next: Record<string, unknown>[] = [];
      for (const c of combos) for (const v of a.values) next.push(v === null ? { ...c } : { ...c, [a.name]: v });
      combos.splice(0, combos.length, ...next);
    }
    for (const values of combos) {
      const missing = [...tables[command].values()].find((s) => s.required && values[s.name] === undefined);
      if (missing) ck.fail(where, `a cell has "${snake(missing.name)}": null, but \`bellm-bench ${command}\` requires it`);
      cells.push({ command, values, where, keys: axes.map((a) => a.name) });
    }
  });

  let baseline: Record<string, unknown> | null = null;
  if (doc.baseline !== undefined && doc.baseline !== null) {
    if (!isMap(doc.baseline)) ck.fail('baseline', `expected a mapping of sts options naming one cell (e.g. {lora: null}), got ${show(doc.baseline)}`);
    baseline = {};
    for (const [key, v] of Object.entries(doc.baseline)) {
      const spec = ck.option(key, 'baseline', ['sts']);
      const where = `baseline.${key}`;
      if (!spec.array && Array.isArray(v)) ck.fail(where, 'expected one value: the baseline is one cell');
      baseline[spec.name] = spec.array ? ck.listValue(v, spec, where) : ck.scalar(v, spec, where);
    }
  }

  const report = { bootstrap: 1000, seed: 1 };
  if (doc.report !== undefined && doc.report !== null) {
    if (!isMap(doc.report)) ck.fail('report', `expected a mapping like {bootstrap: 1000, seed: 1}, got ${show(doc.report)}`);
    for (const [key, v] of Object.entries(doc.report)) {
      if (!(REPORT_KEYS as readonly string[]).includes(key)) ck.fail('report', `unknown key "${key}"; did you mean "${closestName(key, REPORT_KEYS)}"?`);
      const ok = typeof v === 'number' && Number.isInteger(v) && (key === 'seed' || v >= 0) && Math.abs(v) <= 2 ** 31;
      if (!ok) ck.fail(`report.${key}`, `expected ${key === 'seed' ? 'an integer' : 'a whole number of resamples (0 skips the bootstrap)'}, got ${show(v)}`);
      else if (key === 'bootstrap' && (v as number) > MAX_RESAMPLES) ck.fail('report.bootstrap', `${show(v)} is too many: ${resamplesProblem(v, true)}`);
      report[key as (typeof REPORT_KEYS)[number]] = v as number;
    }
  }
  return { file, name, cells, baseline, report };
}
