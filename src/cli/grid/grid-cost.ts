// Estimated cost of each cell for shard balancing: tokens x layer passes. Tokens are estimated from the
// characters of the prompted sentences (about 4 per LLaMA token; only the ratios between cells matter),
// layers come from the model's config.json (32 when it cannot be read, e.g. a Hub id not yet cached).
// Reading the task files here also checks every cell's tasks and data before any work starts.
import { UserError } from '../../errors.ts';
import type { Cell } from '../../experiments/grid/cells.ts';
import { canonicalJson } from '../../experiments/results/identity.ts';
import { parseLayers, type SweepMode } from '../../experiments/run/layers.ts';
import type { CellCost } from '../../experiments/grid/shard.ts';
import { loadTasks } from '../../experiments/run/sts.ts';
import { readConfig } from '../../model/formats/config.ts';
import { promptText } from '../../model/embed/embedder.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import { allSentences, type LoadedTask } from '../../tasks/load.ts';
import { splitAndTasks } from '../options/guards.ts';
import { settingsFrom, type ModelArgs } from '../options/model-options.ts';

const UNKNOWN_DEPTH = 32;

export function estimateCosts(cells: readonly Cell[], file: string): CellCost[] {
  const tasksMemo = new Map<string, LoadedTask[]>();
  const tokensMemo = new Map<string, number>();
  const depthMemo = new Map<string, number>();
  const depth = (model: string) => {
    let L = depthMemo.get(model);
    if (L === undefined) {
      try {
        L = readConfig(model).num_hidden_layers;
      } catch {
        L = UNKNOWN_DEPTH;
      }
      depthMemo.set(model, L);
    }
    return L;
  };
  const tokens = (where: string, tasks: readonly LoadedTask[], s: EmbedSettings): number => {
    const k = canonicalJson({ where, p: s.prompt, pre: s.preprocess });
    let n = tokensMemo.get(k);
    if (n === undefined) {
      n = 0;
      for (const sentence of new Set(tasks.flatMap((t) => allSentences(t)))) n += Math.ceil(promptText(sentence, s).length / 4) + 1;
      tokensMemo.set(k, n);
    }
    return n;
  };
  return cells.map((cell): CellCost => {
    const a = cell.args as unknown as ModelArgs & { tasks?: string[]; split: string; layers?: string; mode?: SweepMode; 'n-layers'?: number; 'sentence-stats'?: boolean };
    try {
      const { split, tasks: names } = splitAndTasks(a);
      const tk = canonicalJson([a['data-dir'], names, split]);
      let tasks = tasksMemo.get(tk);
      if (!tasks) { tasks = loadTasks(names, a['data-dir'], split); tasksMemo.set(tk, tasks); }
      const settings = settingsFrom(a);
      const L = depth(a.model);
      const n = tokens(tk, tasks, settings);
      if (cell.command === 'degrade') {
        const mode = a.mode ?? 'bidirectional';
        let ks: number[];
        try {
          ks = parseLayers(a.layers ?? (mode === 'truncate' ? `1..${L}` : `0..${L}`), L, mode);
        } catch {
          ks = Array.from({ length: L + 1 }, (_, k) => k).slice(mode === 'truncate' ? 1 : 0); // checked when the cell runs
        }
        return { kind: 'sweep', tokens: n, ks, layers: L, mode };
      }
      const passes = a['n-layers'] ?? L;
      const stsb = tasks.find((t) => t.spec.name === 'STSBenchmark');
      const pivot = a['sentence-stats'] && stsb ? tokens(`${tk}:stsb`, [stsb], settings) * L : 0;
      return { kind: 'fixed', cost: n * passes + pivot };
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${file}: ${cell.where} ("${cell.label}"): ${e.message}`);
      throw e;
    }
  });
}
