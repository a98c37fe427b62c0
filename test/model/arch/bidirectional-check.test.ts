// The bidirectionality self-check: it passes on every real backend (CPU reference and fast builds
// on whatever BLAS kernel and thread count this machine runs, the CUDA kernels through the emulation
// build in fp32/bf16/fp16) and on correct backends with injected rounding noise (1e-5 relative in fp32,
// 1e-2 in 16-bit compute), and it catches deliberately broken backends: one that ignores the
// bidirectional mask (the silent failure it exists for), one that ignores the causal mask, and a
// decoder that makes the wrong layers bidirectional, with or without that noise. sts and degrade stop
// before embedding anything when it fails.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CpuBackend, type CpuTensor } from '../../../src/backend/cpu/backend.ts';
import { CudaBackend } from '../../../src/backend/cuda/backend.ts';
import { libraryPath } from '../../../src/backend/cuda/lib.ts';
import type { Act, AttentionShape, Backend, MaskMode, PackedBatch } from '../../../src/backend/ops.ts';
import { UserError } from '../../../src/errors.ts';
import { runDegrade } from '../../../src/experiments/run/degrade.ts';
import { loadTasks, runSts } from '../../../src/experiments/run/sts.ts';
import { checkBidirectionality, checkMargins, NOISE_FACTOR } from '../../../src/model/arch/bidirectional-check.ts';
import { Decoder, maskForLayer } from '../../../src/model/arch/decoder.ts';
import { Embedder } from '../../../src/model/embed/embedder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { resolveSettings } from '../../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { fixture, sentevalDir } from '../../helpers/shared.ts';
import { writeTinyArch } from '../../helpers/tiny-arch.ts';

const model = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') });
const base = loadModel(fixture('tiny-llama'));
const tok = loadTokenizer(fixture('tiny-llama'));
const L = model.config.num_hidden_layers;

/** Forwards every property of `inner` except those in `over` (methods bound to inner). */
function wrap(inner: Backend, over: Partial<Record<keyof Backend, unknown>>): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop in over) return over[prop as keyof Backend];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** A backend whose attention always uses `forced`, whatever the decoder asks for. */
function ignoringMask(forced: MaskMode, inner: Backend = new CpuBackend()): Backend {
  return wrap(inner, {
    attention: (q: Act, k: Act, v: Act, batch: PackedBatch, s: AttentionShape) => inner.attention(q, k, v, batch, { ...s, mask: forced }),
    name: `cpu (ignores the mask: always ${forced})`,
  });
}

/**
 * A correct CPU backend whose every matmul and attention output element is multiplied by
 * (1 + sigma * u), u uniform with unit variance, fresh on every call (so identical inputs at other rows
 * or in another batch round differently), claiming compute precision `epsilon`.
 */
function noisy(sigma: number, epsilon: number, seed: number, inner: Backend = new CpuBackend()): Backend {
  let s = seed >>> 0;
  const uniform = () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const jitter = (a: Act): Act => {
    const d = (a as CpuTensor).data;
    for (let i = 0; i < d.length; i++) d[i] *= 1 + sigma * Math.sqrt(3) * (2 * uniform() - 1);
    return a;
  };
  return wrap(inner, {
    epsilon, name: `cpu (noise ${sigma})`,
    matmul: (x: Act, w: never) => jitter(inner.matmul(x, w)),
    attention: (q: Act, k: Act, v: Act, batch: PackedBatch, sh: AttentionShape) => jitter(inner.attention(q, k, v, batch, sh)),
  });
}

/** A decoder that runs layers >= k - shift bidirectionally when asked to run with k (a wrong layer-to-mask mapping). */
class ShiftedDecoder extends Decoder {
  constructor(backend: Backend, private readonly shift: number, m = model) {
    super(backend, m.config, m.weights);
  }

  override runLayers(h: Act, batch: PackedBatch, from: number, to: number, k: number | null): void {
    for (let l = from; l < to; l++) this.layer(h, l, batch, maskForLayer(l, k === null ? null : k - this.shift));
  }
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
      t.is(c.bidirectionalLeak.filter((x) => x === null).length, from);
      // a deterministic backend: identical arithmetic for A and its twin, so causal layers leak exactly nothing
      t.deepEqual(c.causalLeak, c.causalLeak.map(() => 0));
      const m = checkMargins(c);
      t.true(m.bidirectionalOverLimit > 10, `margin: ${c.bidirectionalLeak.join(', ')} against limits ${c.limit.join(', ')}`);
      t.log(`k=${from}: floor ${c.floor.map((x) => x.toExponential(1)).join(' ')}; bidirectional ${c.bidirectionalLeak.map((x) => (x === null ? '-' : x.toExponential(1))).join(' ')}; limit ${c.limit.map((x) => x.toExponential(1)).join(' ')}`);
    }
  });
}

for (const [precision, sigma, epsilon] of [['fp32', 1e-5, 1.2e-7], ['bf16', 1e-2, 2 ** -7], ['fp16', 1e-2, 2 ** -10]] as const) {
  test(`a correct backend with ${sigma} relative rounding noise passes (${precision} precision), with and without the LoRA; its floor is measured, not assumed`, (t) => {
    for (const [label, m] of [['lora', model], ['base', base]] as const) {
      for (const seed of [1, 2, 3]) {
        const c = checkBidirectionality(new Decoder(noisy(sigma, epsilon, seed), m.config, m.weights), tok, { bidirectionalFrom: 0 });
        t.true(c.passed, `${label} seed ${seed}: ${c.failures.join('; ')}`);
        t.true(c.floor.every((f) => f > sigma), `${label}: the noise shows in the floor: ${c.floor.join(', ')}`);
        t.true(c.causalLeak.every((x) => x > 0), 'the noise shows in the causal leak too');
      }
    }
  });

  test(`under ${sigma} rounding noise (${precision}) a backend that ignores either mask, or a decoder with the wrong layers bidirectional, still fails`, (t) => {
    for (const seed of [1, 2]) {
      const causalOnly = checkBidirectionality(new Decoder(ignoringMask('causal', noisy(sigma, epsilon, seed)), model.config, model.weights), tok, { bidirectionalFrom: 1 });
      t.false(causalOnly.passed);
      t.is(causalOnly.failures.length, L - 1, causalOnly.failures.join('; '));
      t.true(causalOnly.failures.every((f) => /run bidirectionally does not let earlier tokens see the last one .*ignores the bidirectional mask/.test(f)), causalOnly.failures[0]);
      const biOnly = checkBidirectionality(new Decoder(ignoringMask('bidirectional', noisy(sigma, epsilon, seed)), model.config, model.weights), tok, { bidirectionalFrom: 2 });
      t.false(biOnly.passed);
      t.regex(biOnly.failures[0], /^layer 0 run causally lets earlier tokens see the last one/);
      const shifted = checkBidirectionality(new ShiftedDecoder(noisy(sigma, epsilon, seed), 1), tok, { bidirectionalFrom: L - 1 });
      t.deepEqual(shifted.failures.map((f) => f.split(" run ")[0]), [`layer ${L - 2}`]);
    }
  });
}

test('catches a backend that ignores the bidirectional mask (runs causal), naming the layer, the leak, the floor and the limit', (t) => {
  const c = checkBidirectionality(new Decoder(ignoringMask('causal'), model.config, model.weights), tok, { bidirectionalFrom: L - 1 });
  t.false(c.passed);
  t.deepEqual(c.bidirectionalLeak.slice(L - 1), [0]);
  t.is(c.failures.length, 1);
  t.regex(c.failures[0], new RegExp(`^layer ${L - 1} run bidirectionally does not let earlier tokens see the last one \\(relative change 0\\.00e\\+0 <= limit \\S+ = max\\(${NOISE_FACTOR} x noise floor \\S+, 1 x precision 1\\.20e-7\\)\\): the backend ignores the bidirectional mask`));
});

test('catches a backend that ignores the causal mask (always bidirectional)', (t) => {
  const c = checkBidirectionality(new Decoder(ignoringMask('bidirectional'), model.config, model.weights), tok, { bidirectionalFrom: 2 });
  t.false(c.passed);
  t.regex(c.failures[0], /^layer 0 run causally lets earlier tokens see the last one \(relative change \S+ > limit \S+ = max\(\d+ x noise floor \S+, 1 x precision \S+\)\): layer 0 runs bidirectionally although k = 2, or the backend ignores the causal mask$/);
  t.true(c.causalLeak.every((x, l) => x > 1000 * c.limit[l]), 'a missing causal mask is far above the limit');
});

test('catches a decoder that makes the wrong layers bidirectional (k - 1 .. and k + 1 ..), through the run\'s own layer-to-mask mapping', (t) => {
  const early = checkBidirectionality(new ShiftedDecoder(new CpuBackend(), 1), tok, { bidirectionalFrom: 2 });
  t.false(early.passed);
  t.is(early.failures.length, 1);
  t.regex(early.failures[0], /^layer 1 run causally lets earlier tokens see the last one .*layer 1 runs bidirectionally although k = 2/);
  const late = checkBidirectionality(new ShiftedDecoder(new CpuBackend(), -1), tok, { bidirectionalFrom: 2 });
  t.false(late.passed);
  t.is(late.failures.length, 1);
  t.regex(late.failures[0], /^layer 2 run bidirectionally does not let earlier tokens see the last one .*or layer 2 is run causally/);
});

test('a noise floor too high to tell is said as such, never blamed on the mask', (t) => {
  // 30% noise per op: the floor swamps the layers' true leaks
  const c = checkBidirectionality(new Decoder(noisy(0.3, 2 ** -7, 5), model.config, model.weights), tok, { bidirectionalFrom: 0 });
  t.false(c.passed);
  t.true(c.failures.every((f) => /too large to confirm|does not let/.test(f) && !/lets earlier tokens see/.test(f)), c.failures.join('; '));
  t.true(c.failures.some((f) => /rounding noise is too large to confirm that the layer sees later tokens$/.test(f)), c.failures.join('; '));
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

// Every architecture (issue 25): the self-check passes on the tiny random checkpoints of each (sliding
// windows, soft-capping, q/k norms, biases and all), and catches a backend that ignores the mask there too.
for (const arch of ['llama3', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'mistral-swa'] as const) {
  test(`${arch}: the self-check passes on the CPU backend and fails when the bidirectional mask is ignored`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), `bb-check-${arch}-`));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeTinyArch(dir, arch);
    const m = loadModel(dir);
    const tk = loadTokenizer(dir);
    const n = m.config.num_hidden_layers;
    for (const from of [0, Math.floor(n / 2)]) {
      const c = checkBidirectionality(new Decoder(new CpuBackend(), m.config, m.weights), tk, { bidirectionalFrom: from });
      t.true(c.passed, `${arch} k=${from}: ${c.failures.join('; ')}`);
      const broken = checkBidirectionality(new Decoder(ignoringMask('causal'), m.config, m.weights), tk, { bidirectionalFrom: from });
      t.false(broken.passed, `${arch} k=${from}: a backend that runs every layer causally must fail`);
    }
  });
}
