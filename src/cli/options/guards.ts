// Checks every command shares: the command line itself (repeated options, empty values, bare options
// that need a value, numbers that are not numbers) and the paths it names (outputs, folders, inputs),
// all before any long work starts, each failing with one UserError line.
import fs from 'node:fs';
import path from 'node:path';
import type { Argv } from 'yargs';
import { UserError } from '../../errors.ts';
import { readConfig } from '../../model/formats/config.ts';
import { checkPadToken } from '../../model/embed/embedder.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import type { LlamaConfig } from '../../model/arch/types.ts';
import { TASK_SPECS } from '../../tasks/registry.ts';
import { defaultTaskNames, parseSplit, type Split } from '../../tasks/split.ts';
import { positiveInt } from './model-options.ts';
import { makeFolder } from '../../experiments/results/atomic-write.ts';

interface DeclaredOptions {
  array: string[];
  boolean: string[];
  number: string[];
  key: Record<string, unknown>;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value given right after `--name` (or as `--name=value`) for each occurrence, from the raw arguments. */
function rawValues(raw: readonly string[], name: string): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i];
    if (a === '--') break;
    if (a === `--${name}`) out.push(i + 1 < raw.length && !/^--?[A-Za-z]/.test(raw[i + 1]) ? raw[i + 1] : undefined);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

/**
 * A yargs middleware (it runs once the command's options are known, before its handler):
 * - an option given twice (`--model a --model b`) that is not a list is refused, for every command;
 * - an option given an empty value (`--billm-start-index ""`, an unset shell variable) or none at all
 *   (`--billm-start-index` at the end) is refused instead of becoming 0 or "unset";
 * - a number option whose value is not a plain decimal number is refused;
 * - a list option given with no value (`--tasks` alone) is refused.
 */
export function optionGuards(raw: readonly string[]) {
  // yargs passes its instance as the second argument (not in its type definitions)
  return (argv: Record<string, unknown>, y?: Argv): void => {
    if (!y) return;
    const o = (y as unknown as { getOptions(): DeclaredOptions }).getOptions();
    const isArray = new Set(o.array), isBool = new Set(o.boolean), isNumber = new Set(o.number);
    for (const name of Object.keys(o.key)) {
      if (name === 'help' || name === 'version') continue;
      const v = argv[name];
      const given = rawValues(raw, name);
      if (!isArray.has(name) && Array.isArray(v)) {
        throw new UserError(`--${name} was given ${v.length} times (${v.map((x) => JSON.stringify(x)).join(', ')}); give it once`);
      }
      if (isBool.has(name) || given.length === 0) continue;
      if (given.some((g) => g === '' || g === undefined)) {
        throw new UserError(`--${name} needs a value${given.includes('') ? ' (it was given an empty one: an unset shell variable?)' : ''}; give one or leave the option out`);
      }
      if (isArray.has(name) && Array.isArray(v) && v.length === 0) throw new UserError(`--${name} needs a value; give one or more, or leave the option out`);
      if (isNumber.has(name)) {
        const bad = given.find((g) => g !== undefined && !NUMBER.test(g.trim()));
        if (bad !== undefined) throw new UserError(`--${name} ${JSON.stringify(bad)} is not a number`);
      }
    }
  };
}

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** A folder the run writes into (`--cache-dir`): created if missing; a file there is refused. */
export function checkWritableFolder(dir: string, flag: string): void {
  makeFolder(dir, flag);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new UserError(`${flag} ${dir} cannot be created or written (${code(e)}); pass another folder`);
  }
}

/**
 * An output file (`--out`, `--output`): not a directory, its folder created if missing, and writable
 * (a probe file is created and removed), so a long run never fails at its last step.
 */
export function checkOutputFile(file: string, flag: string): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UserError(`${flag} ${file} is a directory; name a results file (e.g. ${path.join(file, 'results.json')})`);
  makeFolder(path.dirname(path.resolve(file)), flag, (why) => `${flag} ${file}: its folder cannot be created (${why}); pass another path`);
  const probe = `${file}.${process.pid}.probe`;
  try {
    fs.closeSync(fs.openSync(probe, 'w'));
    fs.rmSync(probe);
  } catch (e) {
    throw new UserError(`${flag} ${file} cannot be written (${code(e)}); pass another path`);
  }
}

/**
 * `--opt -` and `--opt -1/2` as `--opt=-` and `--opt=-1/2`: yargs would read a value that starts with a
 * dash as flags ("Unknown argument: 1"), so such a value after a long option is joined to it, and the
 * option's own check names what is wrong with it (or `-` means standard input).
 */
export function joinDashValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i], next = args[i + 1];
    if (/^--[a-z][\w-]*$/.test(a) && next !== undefined && (next === '-' || /^-\d[^\s]*\D/.test(next))) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** An input file: present, a regular file, readable (`-`: standard input). */
export function checkInputFile(file: string, flag: string): void {
  if (file === '-') return;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new UserError(`${flag} ${file} cannot be read (${code(e)})`);
  }
  if (st.isDirectory()) throw new UserError(`${flag} ${file} is a directory; name a file`);
}

/** `--data-dir`: when it exists it must be a folder (missing task files are reported by the loaders). */
export function checkDataDir(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new UserError(`--data-dir ${dir} is not a folder: pass the folder holding STS/ and SICK/`);
}

/**
 * `--split` and `--tasks`: the split and the task names a run scores. Without --tasks: all seven for
 * test, else the tasks that have the split (`say` is told which, since that is fewer than asked for).
 */
export function splitAndTasks(a: { split?: string; tasks?: readonly string[] }, say?: (line: string) => void): { split: Split; tasks: string[] } {
  const split = parseSplit(a.split);
  const tasks = a.tasks ? taskNames(a.tasks) : defaultTaskNames(TASK_SPECS, split);
  if (!a.tasks && split !== 'test') say?.(`--split ${split}: STS12-16 have no ${split} split; scoring ${tasks.join(', ')}`);
  return { split, tasks };
}

/** Task names from `--tasks` values (space or comma separated); none at all is refused. */
export function taskNames(values: readonly string[]): string[] {
  const names = values.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (!names.length) throw new UserError('--tasks names no task: give names like STS12 STS-B, or leave --tasks out for all seven (see `bellm-bench tasks`)');
  return names;
}

/**
 * What a model-running command checks before the weights load: config.json (its depth bounds the layer
 * options, its vocabulary the pad id), the cache folder and the batch options.
 */
export function preflightModel(modelDir: string, o: { cacheDir: string | null; batchTokens?: number; batchSize?: number }, settings: EmbedSettings): LlamaConfig {
  const config = readConfig(modelDir);
  checkPadToken(config, settings, modelDir);
  if (o.cacheDir !== null) checkWritableFolder(o.cacheDir, '--cache-dir');
  if (o.batchTokens !== undefined) positiveInt('batch-tokens', o.batchTokens);
  if (o.batchSize !== undefined) positiveInt('batch-size', o.batchSize);
  return config;
}

/** The embedding cache folder a run uses: --cache-dir, or null with --no-cache. */
export function cacheDirOf(a: { cache: boolean; 'cache-dir': string }): string | null {
  return a.cache ? a['cache-dir'] : null;
}
