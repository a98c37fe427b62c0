// Is a finished grid cell's results file still what the cell would compute now? The cell's key covers
// every option; this covers what a key cannot see, with issue 13's run identity (src/experiments/
// run-identity.ts): the content hashes of the weights, adapter and tokenizer files as they are on disk
// now (through the hash memo, so an unchanged 13 GB checkpoint costs a stat, not a read), the task files'
// checksums, and the settings the cell's options resolve to today (a preset whose definition changed
// counts). The expected identity is built by the commands' own preparation (stsSpec / degradeSpec,
// nothing loaded) and compared with the recorded one by identityDifference.
//
// The backend is the one part taken from the results: with `device: auto` the machine decides, and the
// merge job of a Slurm grid usually runs where no GPU is. The weight and compute types are recomputed
// for that backend's kind (CPU or CUDA) from --dtype and the checkpoint. Set `device` in the experiment
// file to make the device part of the cell's key.
//
// A Hub id is resolved from the hub cache only here (never downloaded): a checkpoint that is not there
// any more cannot be checked, so the cell counts as not done.
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Cell } from '../../experiments/grid/cells.ts';
import { degradeRunSettings } from '../../experiments/run/degrade.ts';
import type { IdentityCheck } from '../../experiments/grid/grid-store.ts';
import { errorLine } from '../../experiments/grid/grid-run.ts';
import { notice } from '../../experiments/run/progress.ts';
import type { Results, RunSettings } from '../../experiments/results/results.ts';
import { identityDifference, runIdentity, type IdentityContext } from '../../experiments/results/run-identity.ts';
import { dataChecksums } from '../../experiments/run/setup.ts';
import { identityTasks, stsSettings, taskSpecs } from '../../experiments/run/sts.ts';
import { readConfig } from '../../model/formats/config.ts';
import { hashModelFiles } from '../../model/formats/model-files.ts';
import { cpuWeightDtype, cudaDtype, runPrecision, type Dtype } from '../../model/formats/precision.ts';
import { taskFiles, type TaskSpec } from '../../tasks/registry.ts';
import { degradeSpec, type DegradeArgs, type DegradeSpec } from '../commands/degrade.ts';
import type { ResolvedModel } from '../options/open-model.ts';
import { stsSpec, type StsArgs, type StsSpec } from '../commands/sts.ts';

/** The weight and compute types a run on `backend` records (precisionOf), computed without opening anything. */
export function expectedPrecision(backend: string, model: ResolvedModel): { dtype: Dtype; computeDtype: Dtype } {
  const config = readConfig(model.modelDir);
  const gpu = backend.startsWith('cuda');
  return runPrecision(gpu, (gpu ? cudaDtype : cpuWeightDtype)(model.dtype, model.modelDir, config));
}

// Task files are small but a grid checks many cells: their checksums are remembered per process while
// the files' size, inode and times stay the same.
const dataMemo = new Map<string, Record<string, string>>();

function statKey(dataDir: string, specs: readonly TaskSpec[]): string {
  return JSON.stringify([resolve(dataDir), taskFiles(specs).map((f) => {
    try {
      const st = statSync(join(dataDir, f), { bigint: true });
      return [f, String(st.size), String(st.ino), String(st.mtimeNs), String(st.ctimeNs)];
    } catch {
      return [f, 'missing'];
    }
  })]);
}

function checksums(dataDir: string, specs: readonly TaskSpec[]): Record<string, string> {
  const key = statKey(dataDir, specs);
  let v = dataMemo.get(key);
  if (!v) {
    v = dataChecksums(dataDir, specs);
    dataMemo.set(key, v);
  }
  return v;
}

/** A cell's spec, built by its command's own door (stsSpec / degradeSpec) from its arguments and `extra`. */
export type CellSpec = { command: 'sts'; spec: StsSpec } | { command: 'degrade'; spec: DegradeSpec };

export async function cellSpec(cell: Cell, extra: Record<string, unknown> = {}, o: { offline?: boolean } = {}): Promise<CellSpec> {
  const args = { ...cell.args, ...extra };
  return cell.command === 'sts'
    ? { command: 'sts', spec: await stsSpec(args as unknown as StsArgs, o) }
    : { command: 'degrade', spec: await degradeSpec(args as unknown as DegradeArgs, o) };
}

/** What the cell would record now, as identityDifference compares it. */
export async function expectedIdentity(cell: Cell, recorded: Results): Promise<IdentityContext> {
  const backend = recorded.provenance?.backend;
  if (typeof backend !== 'string') throw new Error('the results record no backend');
  let model: ResolvedModel;
  let settings: RunSettings & { mode?: string };
  let specs: TaskSpec[];
  const c = await cellSpec(cell, { quiet: true }, { offline: true });
  if (c.command === 'sts') {
    const p = c.spec;
    model = p.model;
    specs = taskSpecs(p.tasks, p.split);
    settings = { ...stsSettings({ settings: p.allSettings[0], billmStartIndex: p.ks[0], nLayers: p.nLayers, batchSize: p.batchSizes[0] }), ...expectedPrecision(backend, model) };
  } else {
    const p = c.spec;
    model = p.model;
    specs = taskSpecs(p.tasks, p.split);
    settings = { ...degradeRunSettings(p.settings), ...expectedPrecision(backend, model), mode: p.mode };
  }
  const tasks = identityTasks(specs.map((spec) => ({ spec })));
  const identity = runIdentity({
    files: hashModelFiles(model.modelDir, model.loraDir, { log: notice }),
    backend, settings, tasks, data: checksums(String(cell.args['data-dir']), specs),
  });
  return { identity, settings, tasks };
}

/** What the results file recorded, in the same form. */
function recordedContext(r: Results): IdentityContext {
  const named = (tasks: readonly { task: string }[] | undefined) => tasks?.map((t) => (r.split && r.split !== 'test' ? `${t.task}:${r.split}` : t.task));
  if (r.kind === 'degrade') return { identity: r.identity, settings: r.settings && { ...r.settings, mode: r.mode }, tasks: named(r.rows[0]?.tasks) };
  return { identity: r.identity, settings: r.settings, tasks: named(r.tasks) };
}

/**
 * The grid's reuse check (a GridStore IdentityCheck): null when the results are what the cell would
 * compute now; else why not, e.g. "the model weights or config.json differ from its results'".
 */
export const cellIdentityProblem: IdentityCheck = async (cell, results) => {
  let expected: IdentityContext;
  try {
    expected = await expectedIdentity(cell, results);
  } catch (e) {
    return `its run identity cannot be checked now (${errorLine(e)})`;
  }
  const diff = identityDifference(recordedContext(results), expected);
  return diff ? `its results are stale: ${diff}` : null;
};
