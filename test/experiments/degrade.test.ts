// The shared-prefix sweep equals independent runs, and a sweep resumes from its results file.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { runDegrade, pointOptions, type DegradeOptions } from '../../src/experiments/run/degrade.ts';
import { mergeDegrade } from '../../src/experiments/results/merge.ts';
import { writeAtomic } from '../../src/experiments/results/atomic-write.ts';
import { loadTasks, runSts } from '../../src/experiments/run/sts.ts';
import { sweepBatch, sweepCost } from '../../src/experiments/run/sweep.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Embedder } from '../../src/model/embed/embedder.ts';
import { loadModel } from '../../src/model/formats/load.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { fixture, goldens, sentevalDir } from '../helpers/shared.ts';

const model = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') });
const e = new Embedder(model, loadTokenizer(fixture('tiny-llama')), new CpuBackend());
const g = goldens();
const L = 4;

test('sweepBatch: every k equals an independent forward, bit for bit (both modes)', (t) => {
  const batch = packBatch(g.inputIds);
  const bi = sweepBatch(e.decoder, batch, [0, 1, 2, 3, 4], 'bidirectional', 'last');
  for (const k of [0, 1, 2, 3, 4]) {
    const ref = e.decoder.forward(batch, { billmStartIndex: k === L ? null : k, poolings: ['last'] }).last!;
    t.deepEqual(Array.from(bi.pooled.get(k)!), Array.from(ref), `bidirectional k=${k}`);
  }
  t.is(bi.layerPasses, sweepCost([0, 1, 2, 3, 4], L, 'bidirectional').shared);
  const tr = sweepBatch(e.decoder, batch, [1, 3], 'truncate', 'avg');
  for (const k of [1, 3]) {
    const ref = e.decoder.forward(batch, { billmStartIndex: null, nLayers: k, poolings: ['avg'] }).avg!;
    t.deepEqual(Array.from(tr.pooled.get(k)!), Array.from(ref), `truncate k=${k}`);
  }
  t.is(tr.layerPasses, 3);
});

const settings = resolveSettings('bellm-degrade', {});
const stsb = loadTasks(['STSBenchmark'], sentevalDir);
function opts(out: string, cacheDir: string, layers: number[], extra: Partial<DegradeOptions> = {}): DegradeOptions {
  return {
    tasks: stsb, dataDir: sentevalDir, settings, mode: 'bidirectional', layers, allLayers: [0, 1, 2, 3, 4],
    shard: null, out, cacheDir, quiet: true, ...extra,
  };
}

test('degrade rows equal independent sts runs; a restart skips finished k; shards merge to the same rows', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-degrade-'));
  const full = runDegrade(e, opts(join(dir, 'full.json'), join(dir, 'c1'), [0, 1, 2, 3, 4]));
  t.deepEqual(full.rows.map((r) => r.k), [0, 1, 2, 3, 4]);
  t.true(full.work.layerPasses < full.work.naiveLayerPasses);
  for (const k of [0, 3, 4]) {
    const po = pointOptions(k, L, 'bidirectional', settings);
    const sts = runSts(e, {
      tasks: stsb, dataDir: sentevalDir, settings, billmStartIndex: po.billmStartIndex, nLayers: null,
      cacheDir: null, sentenceStats: false, quiet: true,
    });
    t.deepEqual(full.rows.find((r) => r.k === k)!.table, sts.table, `k=${k}`);
    t.is(full.rows.find((r) => r.k === k)!.tasks[0].main, sts.tasks[0].main);
  }

  // A sweep that stopped after k = 0, 1 (its results file holds those rows), resumed with a fresh cache.
  const partialPath = join(dir, 'resume.json');
  const partial = runDegrade(e, opts(partialPath, join(dir, 'c2'), [0, 1]));
  writeAtomic(partialPath, { ...partial, layers: [0, 1, 2, 3, 4] });
  const resumed = runDegrade(e, opts(partialPath, join(dir, 'c3'), [0, 1, 2, 3, 4]));
  t.deepEqual(resumed.rows.map((r) => r.table), full.rows.map((r) => r.table));
  // Only k = 2, 3, 4 were computed: causal prefix 4 + branches 2 + 1 + 0, per batch.
  const batches = full.work.naiveLayerPasses / (5 * L);
  t.is(resumed.work.layerPasses, batches * sweepCost([2, 3, 4], L, 'bidirectional').shared);
  t.deepEqual(JSON.parse(readFileSync(partialPath, 'utf8')).rows.map((r: { k: number }) => r.k), [0, 1, 2, 3, 4]);

  // Sharded: 1/2 takes k = 0, 2, 4 and 2/2 takes 1, 3; merged rows equal the full sweep.
  const s1 = runDegrade(e, opts(join(dir, 's1.json'), join(dir, 'c1'), [0, 2, 4], { shard: { index: 1, count: 2 } }));
  const s2 = runDegrade(e, opts(join(dir, 's2.json'), join(dir, 'c1'), [1, 3], { shard: { index: 2, count: 2 } }));
  t.truthy(s1.shard);
  const merged = mergeDegrade([join(dir, 's1.json'), join(dir, 's2.json')]);
  t.deepEqual(merged.rows.map((r) => r.table), full.rows.map((r) => r.table));
  t.deepEqual(merged.turningPoint, full.turningPoint);
  t.is(s2.rows.length, 2);
});
