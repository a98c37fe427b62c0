// The bidirectionality self-check: it passes on every real backend (CPU reference and fast builds,
// the CUDA kernels through the emulation build in fp32/bf16/fp16), and it catches deliberately broken
// backends: one that ignores the bidirectional mask (the silent failure it exists for) and one that
// ignores the causal mask. sts and degrade stop before embedding anything when it fails.
import { existsSync } from 'node:fs';
import test from 'ava';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { CudaBackend } from '../../src/backend/cuda/backend.ts';
import { libraryPath } from '../../src/backend/cuda/lib.ts';
import type { AttentionShape, Backend, MaskMode } from '../../src/backend/ops.ts';
import { UserError } from '../../src/errors.ts';
import { runDegrade } from '../../src/experiments/degrade.ts';
import { loadTasks, runSts } from '../../src/experiments/sts.ts';
import { BIDIRECTIONAL_MIN, CAUSAL_MAX, checkBidirectionality } from '../../src/model/bidirectional-check.ts';
import { Decoder } from '../../src/model/decoder.ts';
import { Embedder } from '../../src/model/embedder.ts';
import { loadModel } from '../../src/model/load.ts';
import { resolveSettings } from '../../src/model/presets.ts';
import { loadTokenizer } from '../../src/model/tokenizer.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';

const model = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') });
const tok = loadTokenizer(fixture('tiny-llama'));
const L = model.config.num_hidden_layers;

/** A backend whose attention always uses `forced`, whatever the decoder asks for. */
function ignoringMask(forced: MaskMode): Backend {
  const inner = new CpuBackend();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'attention') return (q: never, k: never, v: never, batch: never, s: AttentionShape) => target.attention(q, k, v, batch, { ...s, mask: forced });
      if (prop === 'name') return `cpu (ignores the mask: always ${forced})`;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const backends: [string, () => Backend][] = [['cpu fast', () => new CpuBackend()], ['cpu reference', () => new CpuBackend({ reference: true })]];
if (existsSync(libraryPath('emu'))) {
  for (const precision of ['fp32', 'bf16', 'fp16'] as const) backends.push([`cuda-emu ${precision}`, () => new CudaBackend({ library: 'emu', precision })]);
}

for (const [name, make] of backends) {
  test(`passes on ${name}: every layer causal when asked, layers >= k see later tokens (k = 0 and k = ${L - 1})`, (t) => {
    const dec = new Decoder(make(), model.config, model.weights);
    for (const from of [0, L - 1]) {
      const c = checkBidirectionality(dec, tok, { bidirectionalFrom: from });
      t.true(c.passed, c.failures.join('; '));
      t.is(c.layers, L);
      t.true(c.causalLeak.every((x) => x <= CAUSAL_MAX));
      t.is(c.bidirectionalLeak.filter((x) => x === null).length, from);
      t.true(c.bidirectionalLeak.every((x) => x === null || x >= 100 * BIDIRECTIONAL_MIN), `margin: ${c.bidirectionalLeak.join(', ')}`);
      t.log(`k=${from}: causal ${c.causalLeak.map((x) => x.toExponential(1)).join(' ')}; bidirectional ${c.bidirectionalLeak.map((x) => (x === null ? '-' : x.toExponential(1))).join(' ')}`);
    }
  });
}

test('catches a backend that ignores the bidirectional mask (runs causal), naming the layer', (t) => {
  const c = checkBidirectionality(new Decoder(ignoringMask('causal'), model.config, model.weights), tok, { bidirectionalFrom: L - 1 });
  t.false(c.passed);
  t.deepEqual(c.bidirectionalLeak.slice(L - 1), [0]);
  t.is(c.failures.length, 1);
  t.regex(c.failures[0], new RegExp(`^layer ${L - 1} run bidirectionally does not let earlier tokens see the last one .*ignores the bidirectional mask`));
});

test('catches a backend that ignores the causal mask (always bidirectional)', (t) => {
  const c = checkBidirectionality(new Decoder(ignoringMask('bidirectional'), model.config, model.weights), tok, { bidirectionalFrom: 2 });
  t.false(c.passed);
  t.regex(c.failures[0], /^layer 0 run causally lets earlier tokens see the last one .*ignores the causal mask/);
});

test('sts and degrade stop with one line before embedding on a broken backend, and record the check on a working one', (t) => {
  const tasks = loadTasks(['STSBenchmark'], sentevalDir);
  const settings = resolveSettings('bellm-sts', {});
  const broken = new Embedder(model, tok, ignoringMask('causal'));
  let embedded = 0;
  const opts = {
    tasks, dataDir: sentevalDir, settings, billmStartIndex: L - 1, nLayers: null, cacheDir: null, sentenceStats: false, quiet: true,
  };
  const err = t.throws(() => runSts(new Proxy(broken, { get: (o, p) => (p === 'embed' ? () => { embedded++; return []; } : Reflect.get(o, p)) }), opts), { instanceOf: UserError });
  t.regex(err!.message, /^bidirectionality self-check failed on cpu \(ignores the mask: always causal\): layer 3 run bidirectionally .*nothing was embedded$/);
  t.is(embedded, 0);
  t.throws(() => runDegrade(broken, { tasks, dataDir: sentevalDir, settings, mode: 'bidirectional', layers: [2, 4], allLayers: [2, 4], shard: null, out: '/nonexistent/never-written.json', cacheDir: '/nonexistent', quiet: true }),
    { instanceOf: UserError, message: /self-check failed.*layer 2 run bidirectionally/ });
  // all causal: nothing to check, nothing recorded
  const ok = new Embedder(model, tok, new CpuBackend());
  const causal = runSts(ok, { ...opts, billmStartIndex: null });
  t.is(causal.bidirectionalCheck, null);
  const r = runSts(ok, opts);
  t.is(r.bidirectionalCheck?.passed, true);
  t.is(r.bidirectionalCheck?.bidirectionalFrom, L - 1);
  t.is(r.settings.dtype, 'fp32');
});
