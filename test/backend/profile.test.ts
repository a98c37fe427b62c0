// ProfiledBackend (src/backend/profile.ts) around the CPU backend, on a small random LLaMA (the CPU
// benchmark's tiny config): the wrapper changes no result, counts exactly the ops the decoder issues,
// counts matmul FLOPs analytically, syncs around every timed op, and prints every row. No timings
// are asserted, only their bookkeeping.
import test from 'ava';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { POOLINGS, type Backend } from '../../src/backend/ops.ts';
import { ProfiledBackend } from '../../src/backend/profile.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Decoder, type ForwardOptions } from '../../src/model/arch/decoder.ts';
import { mulberry32 as rng } from '../../src/eval/sentence-level.ts';
import { CONFIGS, randomWeights } from '../../benchmarks/cpu-throughput/workload.ts';

const config = CONFIGS.tiny;
const L = config.num_hidden_layers;
const weights = randomWeights(config, 7);
const r = rng(11);
const seqs = [9, 1, 17, 4].map((n) => Array.from({ length: n }, () => Math.floor(r() * config.vocab_size)));
const batch = packBatch(seqs);
const N = batch.starts[batch.count];
const opts: ForwardOptions = { billmStartIndex: L - 1, poolings: POOLINGS };

const TIMED = ['embedding', 'rmsnorm', 'matmul', 'rope', 'attention', 'siluMul', 'addInPlace', 'copy', 'pool', 'download'];

/** Calls, ms and FLOPs summed over the rows of one contract op (matmul rows are per weight shape). */
function byKind(p: ProfiledBackend): Map<string, { calls: number; ms: number; flops: number }> {
  const out = new Map<string, { calls: number; ms: number; flops: number }>();
  for (const e of p.entries()) {
    const a = out.get(e.kind) ?? { calls: 0, ms: 0, flops: 0 };
    a.calls += e.calls;
    a.ms += e.ms;
    a.flops += e.flops ?? 0;
    out.set(e.kind, a);
  }
  return out;
}

function profiledForward(sync?: () => void, inner: Backend = new CpuBackend()): { p: ProfiledBackend; out: ReturnType<Decoder['forward']> } {
  const p = new ProfiledBackend(inner, sync);
  const out = new Decoder(p, config, weights).forward(batch, opts);
  return { p, out };
}

test('pooled outputs are bit-identical to the unwrapped CPU backend', (t) => {
  const want = new Decoder(new CpuBackend(), config, weights).forward(batch, opts);
  const { p, out } = profiledForward();
  t.is(p.name, `${new CpuBackend().name}+profile`);
  t.is(p.epsilon, new CpuBackend().epsilon);
  for (const mode of POOLINGS) {
    const a = out[mode]!, b = want[mode]!;
    t.is(a.length, batch.count * config.hidden_size, mode);
    t.deepEqual(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length), mode);
  }
});

test('call counts are exactly the ops the decoder issues', (t) => {
  const { p } = profiledForward();
  const calls = Object.fromEntries(p.entries().map((e) => [e.op, e.calls]));
  const kinds = byKind(p);
  t.is(kinds.get('matmul')!.calls, 7 * L);
  t.is(calls.rmsnorm, 2 * L + 1);
  t.is(calls.rope, 2 * L);
  t.is(calls['attention:causal'], L - 1);
  t.is(calls['attention:bidirectional'], 1);
  t.is(calls.siluMul, L);
  t.is(calls.addInPlace, 2 * L);
  t.is(calls.embedding, 1);
  t.is(calls.pool, POOLINGS.length);
  t.is(calls.download, POOLINGS.length);
  t.false('copy' in calls, 'the decoder copies nothing');
  // matmul rows by weight shape out x in: q and o, k and v share shapes, gate and up too, down
  const H = config.hidden_size, F = config.intermediate_size, D = config.head_dim;
  const qo = config.num_attention_heads * D, kv = config.num_key_value_heads * D;
  const want: Record<string, number> = {};
  for (const [o, i] of [[qo, H], [kv, H], [kv, H], [H, qo], [F, H], [F, H], [H, F]]) want[`matmul ${o}x${i}`] = (want[`matmul ${o}x${i}`] ?? 0) + L;
  t.deepEqual(Object.fromEntries(Object.entries(calls).filter(([k]) => k.startsWith('matmul'))), want);
  for (const e of p.entries()) t.true(TIMED.includes(e.kind), e.op);

  p.reset();
  t.deepEqual(p.entries(), []);
  t.is(p.totalMs(), 0);
});

test('matmul FLOPs equal 2 x tokens x layer weight parameters', (t) => {
  const { p } = profiledForward();
  let params = 0;
  for (const l of weights.layers) {
    for (const m of [l.q_proj, l.k_proj, l.v_proj, l.o_proj, l.gate_proj, l.up_proj, l.down_proj]) params += m.rows * m.cols;
  }
  t.is(byKind(p).get('matmul')!.flops, 2 * N * params);
  for (const e of p.entries()) {
    if (e.kind !== 'matmul') {
      t.is(e.flops, undefined, e.op);
      continue;
    }
    const [o, i] = e.op.slice('matmul '.length).split('x').map(Number);
    t.is(e.flops, 2 * N * o * i * e.calls, e.op);
    if (e.ms > 0) t.is(e.tflops, e.flops! / (e.ms * 1e9), e.op);
  }
});

test('sync runs right before and right after every timed op, never around uploads or frees', (t) => {
  // an inner backend that logs each call, and a sync stub that logs into the same list
  const log: string[] = [];
  const cpu = new CpuBackend();
  const inner = new Proxy(cpu, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        log.push(prop);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Backend;
  let syncs = 0;
  const { p } = profiledForward(() => { syncs++; log.push('sync'); }, inner);

  const timed = log.filter((op) => TIMED.includes(op));
  t.is(timed.length, p.entries().reduce((s, e) => s + e.calls, 0));
  t.is(syncs, 2 * timed.length);
  // without the untimed calls the log is exactly sync, op, sync for every timed op ...
  t.deepEqual(log.filter((op) => op === 'sync' || TIMED.includes(op)), timed.flatMap((op) => ['sync', op, 'sync']));
  // ... and in the full log nothing untimed sits between an op and its syncs
  for (let i = 0; i < log.length; i++) {
    if (TIMED.includes(log[i])) t.true(log[i - 1] === 'sync' && log[i + 1] === 'sync', `${log[i]} at ${i}: ${log.slice(i - 1, i + 2).join(', ')}`);
  }
  t.true(log.includes('uploadMatrix') && log.includes('free'));
});

test('table() has every row, and the shares sum to 1', (t) => {
  const { p } = profiledForward();
  const rows = p.entries();
  t.true(p.totalMs() > 0);
  t.true(Math.abs(rows.reduce((s, e) => s + e.share, 0) - 1) < 1e-9);
  for (let i = 1; i < rows.length; i++) t.true(rows[i - 1].ms >= rows[i].ms, 'heaviest first');

  const table = p.table();
  const lines = table.split('\n');
  t.regex(lines[0], /^\| op \(cpu .*\+profile\) \| calls \| ms \| share \| TFLOP\/s \|$/);
  t.is(lines.length, 2 + rows.length + 1);
  for (const e of rows) t.true(lines.some((l) => l.startsWith(`| ${e.op} | ${e.calls} |`)), e.op);
  for (const op of ['embedding', 'rmsnorm', 'rope', 'attention:causal', 'attention:bidirectional', 'siluMul', 'addInPlace', 'pool', 'download']) {
    t.true(table.includes(`| ${op} |`), op);
  }
  t.true(rows.filter((e) => e.kind === 'matmul').every((e) => table.includes(`| ${e.op} |`)));
  // the printed percentages (one decimal each) also add up to ~100
  const pct = lines.slice(2, -1).reduce((s, l) => s + Number(l.split('|')[4].trim().replace('%', '')), 0);
  t.true(Math.abs(pct - 100) <= 0.05 * rows.length + 1e-9, `printed shares sum to ${pct}`);
  t.regex(lines.at(-1)!, /^\| total \| \d+ \| [\d.]+ \| 100\.0% \| \|$/);
});
