// When a backend op throws mid-forward (a CUDA error, out of memory), the decoder and the sweep free
// every intermediate they hold before the error leaves them: no device memory leaks into the next batch.
// A wrapper around the CPU backend counts live activations and fails the n-th call of one op.
import test from 'ava';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import type { Act, AttentionShape, Backend, PackedBatch, Pooling, RopeFreqs, WeightHandle } from '../../../src/backend/ops.ts';
import { withScope } from '../../../src/backend/scope.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import type { Matrix } from '../../../src/model/arch/types.ts';
import { sweepBatch } from '../../../src/experiments/run/sweep.ts';
import { mulberry32 as rng } from '../../../src/eval/sentence-level.ts';
import { CONFIGS, randomWeights } from '../../../benchmarks/cpu-throughput/workload.ts';

class Injected extends Error {}

class LeakCheckingBackend implements Backend {
  readonly name = 'leak-check';
  readonly epsilon: number;
  readonly live = new Set<Act>();
  calls = new Map<string, number>();
  failAt: { op: string; n: number } | null = null;

  constructor(private readonly inner: Backend) {
    this.epsilon = inner.epsilon;
  }

  private tick(op: string): void {
    const n = (this.calls.get(op) ?? 0) + 1;
    this.calls.set(op, n);
    if (this.failAt && this.failAt.op === op && this.failAt.n === n) throw new Injected(`injected failure of ${op} #${n}`);
  }
  private made<T extends Act>(x: T): T {
    this.live.add(x);
    return x;
  }

  batchInvariant(): boolean { return this.inner.batchInvariant(); }
  uploadMatrix(m: Matrix): WeightHandle { return this.inner.uploadMatrix(m); }
  uploadVector(v: Float32Array): WeightHandle { return this.inner.uploadVector(v); }
  embedding(t: WeightHandle, ids: Int32Array): Act { this.tick('embedding'); return this.made(this.inner.embedding(t, ids)); }
  rmsnorm(x: Act, w: WeightHandle, eps: number): Act { this.tick('rmsnorm'); return this.made(this.inner.rmsnorm(x, w, eps)); }
  matmul(x: Act, w: WeightHandle): Act { this.tick('matmul'); return this.made(this.inner.matmul(x, w)); }
  rope(x: Act, p: Int32Array, h: number, d: number, f: RopeFreqs): void { this.tick('rope'); this.inner.rope(x, p, h, d, f); }
  attention(q: Act, k: Act, v: Act, b: PackedBatch, s: AttentionShape): Act { this.tick('attention'); return this.made(this.inner.attention(q, k, v, b, s)); }
  siluMul(g: Act, u: Act): Act { this.tick('siluMul'); return this.made(this.inner.siluMul(g, u)); }
  geluTanhMul(g: Act, u: Act): Act { this.tick('geluTanhMul'); return this.made(this.inner.geluTanhMul(g, u)); }
  addBias(x: Act, b: WeightHandle): void { this.tick('addBias'); this.inner.addBias(x, b); }
  scaleInPlace(x: Act, s: number): void { this.tick('scaleInPlace'); this.inner.scaleInPlace(x, s); }
  addInPlace(x: Act, y: Act): void { this.tick('addInPlace'); this.inner.addInPlace(x, y); }
  copy(x: Act): Act { this.tick('copy'); return this.made(this.inner.copy(x)); }
  pool(x: Act, b: PackedBatch, m: Pooling): Act { this.tick('pool'); return this.made(this.inner.pool(x, b, m)); }
  download(x: Act): Float32Array { this.tick('download'); return this.inner.download(x); }
  free(x: Act): void {
    if (!this.live.delete(x)) throw new Error('free of a tensor that is not live (double free)');
    this.inner.free(x);
  }
  freeWeight(w: WeightHandle): void { this.inner.freeWeight(w); }
}

const config = CONFIGS.tiny;
const L = config.num_hidden_layers;
const weights = randomWeights(config, 3);
const r = rng(5);
const batch = packBatch([7, 3, 12].map((n) => Array.from({ length: n }, () => Math.floor(r() * config.vocab_size))));
const OPS = ['embedding', 'rmsnorm', 'matmul', 'rope', 'attention', 'siluMul', 'addInPlace', 'copy', 'pool', 'download'];

/** Every op, failing at its first, a middle and its last call of `run`: the error propagates and nothing stays live. */
function everyFailure(t: import('ava').ExecutionContext, label: string, run: (d: Decoder) => unknown): void {
  const b = new LeakCheckingBackend(new CpuBackend());
  const d = new Decoder(b, config, weights);
  run(d);
  t.is(b.live.size, 0, `${label}: a clean run leaves nothing live`);
  const counts = new Map(b.calls);
  let cases = 0;
  for (const op of OPS) {
    const total = counts.get(op) ?? 0;
    if (total === 0) continue;
    for (const n of new Set([1, Math.ceil(total / 2), total].filter((x) => x >= 1))) {
      b.calls = new Map();
      b.failAt = { op, n };
      t.throws(() => run(d), { instanceOf: Injected }, `${label}: ${op} #${n}`);
      t.is(b.live.size, 0, `${label}: ${b.live.size} tensors leaked after ${op} #${n} threw`);
      b.live.clear();
      cases++;
    }
  }
  t.true(cases >= 15, `${label}: ${cases} failure points`);
}

test('forward frees every intermediate when any op throws', (t) => {
  everyFailure(t, 'forward', (d) => d.forward(batch, { billmStartIndex: 2, poolings: ['last', 'avg'] }));
});

test('hiddenStates frees every intermediate when any op throws', (t) => {
  everyFailure(t, 'hiddenStates final', (d) => d.hiddenStates(batch, { billmStartIndex: 1, layer: 'final' }));
  everyFailure(t, 'hiddenStates layer 2', (d) => d.hiddenStates(batch, { billmStartIndex: null, layer: 2 }));
});

test('the shared-prefix sweep frees the prefix and its branches when any op throws', (t) => {
  everyFailure(t, 'sweep bidirectional', (d) => sweepBatch(d, batch, [0, 1, L - 1, L], 'bidirectional', 'last'));
  everyFailure(t, 'sweep truncate', (d) => sweepBatch(d, batch, [1, 2, L], 'truncate', 'avg'));
});

test('withScope: frees what is still tracked on return and on throw, keeps what is kept, reports the first error', (t) => {
  const b = new LeakCheckingBackend(new CpuBackend());
  const table = b.uploadMatrix({ rows: 3, cols: 2, data: new Float32Array(6) });
  const kept = withScope(b, (s) => {
    s.add(b.embedding(table, new Int32Array([0, 1])));
    return s.keep(s.add(b.embedding(table, new Int32Array([2]))));
  });
  t.is(b.live.size, 1);
  t.true(b.live.has(kept));
  b.free(kept);
  // A free that fails after the first error does not hide it.
  const err = t.throws(() => withScope(b, (s) => {
    const x = s.add(b.embedding(table, new Int32Array([0])));
    b.free(x);   // freed behind the scope's back: its own free of x will fail
    throw new Injected('first');
  }));
  t.is(err?.message, 'first');
});
