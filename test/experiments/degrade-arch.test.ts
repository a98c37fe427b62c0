// The degrade sweep on a Qwen-3-shaped model (q/k norms, head_dim != hidden / heads, no BOS, the real
// Qwen-3 tokenizer): every k of the shared-prefix sweep equals an independent run of that k, and the
// sweep's rows equal independent sts runs (issue 25). The LLaMA counterpart is degrade.test.ts.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { runDegrade, pointOptions } from '../../src/experiments/run/degrade.ts';
import { loadTasks, runSts } from '../../src/experiments/run/sts.ts';
import { sweepBatch } from '../../src/experiments/run/sweep.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Embedder } from '../../src/model/embed/embedder.ts';
import { loadModel } from '../../src/model/formats/load.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { sentevalDir } from '../helpers/shared.ts';
import { writeTinyArch } from '../helpers/tiny-arch.ts';

const dir = mkdtempSync(join(tmpdir(), 'bb-qwen3-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
writeTinyArch(dir, 'qwen3');
const model = loadModel(dir);
const e = new Embedder(model, loadTokenizer(dir), new CpuBackend());
const L = model.config.num_hidden_layers;
const ks = Array.from({ length: L + 1 }, (_, k) => k);

test('the tiny model is Qwen-3-shaped', (t) => {
  t.is(model.config.model_type, 'qwen3');
  t.true(model.config.arch.qk_norm);
  t.not(model.config.head_dim * model.config.num_attention_heads, model.config.hidden_size);
  t.is(e.tokenizer.bosId, null);
});

test('Qwen-3: sweepBatch gives every k exactly what an independent forward gives', (t) => {
  const ids = ['A man is playing a guitar.', 'café naïve 東京 "quoted" 12345?', 'short'].map((s) => e.tokenizer.encode(s));
  const batch = packBatch(ids);
  const swept = sweepBatch(e.decoder, batch, ks, 'bidirectional', 'last');
  for (const k of ks) {
    const ref = e.decoder.forward(batch, { billmStartIndex: k === L ? null : k, poolings: ['last'] }).last!;
    t.deepEqual(Array.from(swept.pooled.get(k)!), Array.from(ref), `k=${k}`);
  }
});

test('Qwen-3: degrade rows equal independent sts runs', (t) => {
  const settings = resolveSettings('bellm-degrade', {});
  const tasks = loadTasks(['STSBenchmark'], sentevalDir);
  const out = join(dir, 'sweep');
  const full = runDegrade(e, {
    tasks, dataDir: sentevalDir, settings, mode: 'bidirectional', layers: ks, allLayers: ks,
    shard: null, out: join(out, 'degrade.json'), cacheDir: join(out, 'cache'), quiet: true,
  });
  t.deepEqual(full.rows.map((r) => r.k), ks);
  for (const k of [0, Math.floor(L / 2), L]) {
    const po = pointOptions(k, L, 'bidirectional', settings);
    const sts = runSts(e, {
      tasks, dataDir: sentevalDir, settings, billmStartIndex: po.billmStartIndex, nLayers: null,
      cacheDir: null, sentenceStats: false, quiet: true,
    });
    t.deepEqual(full.rows.find((r) => r.k === k)!.table, sts.table, `k=${k}`);
  }
});
