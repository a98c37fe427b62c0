// sbatch scripts for an experiment grid: a job array with one task per shard (each runs
// `bellm-bench run EXP --out DIR --shard auto`) and a merge job that writes the report once the whole
// array has succeeded (--dependency=afterok:<array job id>). Slurm does the scheduling; nothing here
// polls or retries. A resubmitted array skips the cells that are done.
import { UserError } from '../../errors.ts';

export interface SlurmOptions {
  name: string;                 // experiment name (job names bb-<name>, bb-<name>-merge)
  experiment: string;           // absolute path of the experiment file
  out: string;                  // absolute output folder
  workdir: string;              // the jobs' working directory (relative paths in the file resolve here)
  node: string;                 // absolute path of the node binary
  bin: string;                  // absolute path of bin/bellm-bench.js
  shards: number;
  parallelism?: number;         // at most this many array tasks at once (%P)
  gpusPerTask: number;          // 0: no GPU line
  cpusPerTask?: number;
  mem?: string;
  partition?: string;
  time?: string;
  account?: string;
  /** --data-dir for cells whose experiment file sets no data_dir. */
  dataDir?: string;
}

/** Quotes a word for bash: single quotes, with embedded single quotes closed and escaped. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Slurm's limit on array indices by default (MaxArraySize 1001: indices 0..1000). */
export const MAX_ARRAY_TASKS = 1000;

/** Checks the options as sbatch would see them; a one-line error for anything it would reject or misread. */
export function checkSlurmOptions(o: SlurmOptions): void {
  const int = (name: string, v: number | undefined, min: number, max = Infinity) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw new UserError(`--${name} ${v}: give an integer from ${min}${max < Infinity ? ` to ${max}` : ''}`);
  };
  int('shards', o.shards, 1, MAX_ARRAY_TASKS);
  int('array-parallelism', o.parallelism, 1);
  int('gpus-per-task', o.gpusPerTask, 0);
  int('cpus-per-task', o.cpusPerTask, 1);
  if (o.time !== undefined && !/^(\d+-)?\d+(:\d{1,2}){0,2}$/.test(o.time)) throw new UserError(`--time ${o.time}: use Slurm's forms, e.g. 04:00:00, 90 (minutes) or 2-00:00:00`);
  if (o.mem !== undefined && !/^\d+[KMGT]?$/i.test(o.mem)) throw new UserError(`--mem ${o.mem}: use Slurm's form, e.g. 64G or 16000 (megabytes)`);
  for (const [what, p] of [['output folder', o.out], ['working directory', o.workdir]] as const) {
    if (!/^[^\s'"\\$`%]+$/.test(p)) throw new UserError(`the ${what} ${p} holds spaces, quotes or one of \\ $ \` %, which #SBATCH lines cannot carry; use a plain path`);
  }
  for (const [flag, v] of [['partition', o.partition], ['account', o.account]] as const) {
    if (v !== undefined && !/^[\w.,-]+$/.test(v)) throw new UserError(`--${flag} ${v}: letters, digits and _ . , - only`);
  }
}

function header(o: SlurmOptions, lines: string[]): string[] {
  return [
    ...lines,
    `#SBATCH --chdir=${o.workdir}`,
    '#SBATCH --ntasks=1',
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.account ? [`#SBATCH --account=${o.account}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
  ];
}

const logDir = (o: SlurmOptions) => `${o.out}/slurm/logs`;
const bellm = (o: SlurmOptions) =>
  `${shellQuote(o.node)} ${shellQuote(o.bin)} run ${shellQuote(o.experiment)} --out ${shellQuote(o.out)}${o.dataDir ? ` --data-dir ${shellQuote(o.dataDir)}` : ''}`;

/** The array job: task t (0-based) is shard t+1 of `shards`, found by `--shard auto` from SLURM_ARRAY_*. */
export function arrayScript(o: SlurmOptions): string {
  checkSlurmOptions(o);
  return [
    '#!/bin/bash',
    `# bellm-bench grid "${o.name}": one array task per shard. Written by \`bellm-bench slurm\`; submit with`,
    `# submit.sh beside it (it submits the merge job too). Resubmitting redoes only unfinished cells.`,
    ...header(o, [
      `#SBATCH --job-name=bb-${o.name}`,
      `#SBATCH --array=0-${o.shards - 1}${o.parallelism ? `%${o.parallelism}` : ''}`,
      `#SBATCH --output=${logDir(o)}/%x-%A_%a.out`,
      ...(o.gpusPerTask > 0 ? [`#SBATCH --gpus-per-task=${o.gpusPerTask}`] : []),
      ...(o.cpusPerTask ? [`#SBATCH --cpus-per-task=${o.cpusPerTask}`] : []),
      ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ]),
    'set -euo pipefail',
    `exec ${bellm(o)} --shard auto`,
    '',
  ].join('\n');
}

/** The merge job: joins the shards' outputs and writes the report (no GPU). */
export function mergeScript(o: SlurmOptions): string {
  checkSlurmOptions(o);
  return [
    '#!/bin/bash',
    `# bellm-bench grid "${o.name}": joins the array's outputs into the report once every array task`,
    '# succeeded (submit.sh passes --dependency=afterok:<array job id>).',
    ...header(o, [
      `#SBATCH --job-name=bb-${o.name}-merge`,
      `#SBATCH --output=${logDir(o)}/%x-%j.out`,
      ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ]),
    'set -euo pipefail',
    `exec ${bellm(o)} --merge`,
    '',
  ].join('\n');
}

/** Submits the array, then the merge job depending on it; prints both job ids. */
export function submitScript(o: SlurmOptions, arrayFile: string, mergeFile: string): string {
  return [
    '#!/bin/bash',
    `# Submits the bellm-bench grid "${o.name}": the array, then the merge job after it (afterok).`,
    'set -euo pipefail',
    `mkdir -p ${shellQuote(logDir(o))}`,
    `array=$(sbatch --parsable ${shellQuote(arrayFile)})`,
    'array=${array%%;*}',
    `merge=$(sbatch --parsable --dependency=afterok:$array --kill-on-invalid-dep=yes ${shellQuote(mergeFile)})`,
    'merge=${merge%%;*}',
    `echo "array job $array (${o.shards} task${o.shards > 1 ? 's' : ''}); merge job $merge (after the array succeeds)"`,
    '',
  ].join('\n');
}

/** The job id in `sbatch --parsable` output ("123" or "123;cluster"). */
export function parseJobId(stdout: string): string {
  const id = stdout.trim().split('\n').pop()?.split(';')[0].trim() ?? '';
  if (!/^\d+$/.test(id)) throw new UserError(`sbatch printed "${stdout.trim().slice(0, 80)}", not a job id`);
  return id;
}
