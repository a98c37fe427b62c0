// 16-bit weight storage on the CPU (--dtype bf16|fp16): the rounding rules against an independent
// definition (the nearest representable value, ties to the even mantissa), and the decoder on 16-bit
// weights against the fp32 path: bit for bit where storage is lossless (a bf16 checkpoint held as
// bf16, with and without a LoRA adapter), and equal to the fp32 path on weights rounded the same way.
import test from 'ava';
import fc from 'fast-check';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { POOLINGS } from '../../../src/backend/ops.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { bf16Bits, f16Bits, firstNonFiniteHalf, halfToNumber, toHalfBits, widenHalf } from '../../../src/model/formats/dtype.ts';
import { isHalfMatrix } from '../../../src/model/formats/half-matrix.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import type { Matrix, ModelWeights } from '../../../src/model/arch/types.ts';
import { fixture, goldens } from '../../helpers/shared.ts';
import { firstFailure } from '../../helpers/tolerance.ts';

const f32 = (x: number): number => Math.fround(x);
const bf16Value = (bits: number): number => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];

/** The value a half-precision encoding must round x to: the nearest of two neighbours, ties to the even one. */
function nearestOk(x: number, bits: number, value: (b: number) => number, maxFinite: number, overflowAt: number): string | null {
  const v = value(bits);
  if (Number.isNaN(x)) return Number.isNaN(v) ? null : `NaN -> ${v}`;
  if (Math.abs(x) >= overflowAt) return v === Math.sign(x) * Infinity ? null : `${x} should overflow, got ${v}`;
  if (!Number.isFinite(v)) return `${x} -> ${v}`;
  if (Math.abs(v) > maxFinite) return `${x} -> ${v} beyond the largest finite value`;
  // neighbours of `bits` in the same sign: bits - 1 and bits + 1 (magnitude order = bit order)
  const err = Math.abs(v - x);
  for (const nb of [bits - 1, bits + 1]) {
    if ((nb & 0x7fff) === 0x7fff || nb < 0 || (nb & 0x8000) !== (bits & 0x8000)) continue;
    const w = value(nb);
    if (!Number.isFinite(w)) continue;
    const e = Math.abs(w - x);
    if (e < err) return `${x} -> ${v}, but ${w} is nearer`;
    if (e === err && (bits & 1) === 1) return `${x} is a tie between ${v} and ${w}: must round to the even mantissa`;
  }
  return null;
}

test('f16Bits: every half survives the round trip, and random floats round to the nearest half (ties to even)', (t) => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfToNumber(h);
    if (Number.isNaN(v)) continue;
    if (f16Bits(v) !== h) return t.fail(`half ${h.toString(16)} (${v}) -> ${f16Bits(v).toString(16)}`);
  }
  const special = [65504, 65519.99, 65520, 65536, -65520, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -14 - 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1e-8, -0, 0.1, 1 / 3];
  for (const x of special) t.is(nearestOk(f32(x), f16Bits(x), halfToNumber, 65504, 65520), null, `${x}`);
  fc.assert(fc.property(fc.float({ noNaN: false }), (x) => nearestOk(x, f16Bits(x), halfToNumber, 65504, 65520) === null), { numRuns: 20000 });
  t.is(f16Bits(1 + 2 ** -11), 0x3c00, '1 + 2^-11 is a tie: rounds to even (1.0)');
  t.is(f16Bits(65520), 0x7c00);
  t.true(Number.isNaN(halfToNumber(f16Bits(NaN))));
});

test('bf16Bits: nearest bf16, ties to even, FLT_MAX overflows to inf', (t) => {
  const maxBf16 = bf16Value(0x7f7f);
  const overflow = 3.4028234663852886e38; // FLT_MAX: above the halfway point to 2^128
  fc.assert(fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
    if (Math.abs(x) > maxBf16) return true; // the overflow band: FLT_MAX below
    return nearestOk(x, bf16Bits(x), bf16Value, maxBf16, Infinity) === null;
  }), { numRuns: 20000 });
  t.is(bf16Bits(1 + 2 ** -8), 0x3f80);
  t.is(bf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  t.is(bf16Bits(overflow), 0x7f80);
  t.is(toHalfBits('bf16', new Float32Array([1, -2.5]))[1], 0xc020);
});

test('widenHalf is exact and firstNonFiniteHalf finds inf/NaN', (t) => {
  const bits = new Uint16Array(0x10000).map((_, i) => i);
  const wide = new Float32Array(0x10000);
  widenHalf('fp16', bits, wide);
  t.true(wide.every((v, i) => Object.is(v, f32(halfToNumber(i))) || (Number.isNaN(v) && Number.isNaN(halfToNumber(i)))));
  widenHalf('bf16', bits, wide);
  t.true(wide.every((v, i) => Object.is(v, bf16Value(i)) || (Number.isNaN(v) && Number.isNaN(bf16Value(i)))));
  t.is(firstNonFiniteHalf('fp16', new Uint16Array([0x3c00, 0x7c00])), 1);
  t.is(firstNonFiniteHalf('bf16', new Uint16Array([0x3f80, 0x7fc1])), 1);
  t.is(firstNonFiniteHalf('bf16', new Uint16Array([0x3f80, 0x7f7f])), -1);
});

// ---------------------------------------------------------------------------------------------
// the decoder on 16-bit weights

const g = goldens();
const H = 64;

function allMatrices(w: ModelWeights): Matrix[] {
  return [w.embed_tokens, ...w.layers.flatMap((l) => [l.q_proj, l.k_proj, l.v_proj, l.o_proj, l.gate_proj, l.up_proj, l.down_proj])];
}

function forwardAll(w: ModelWeights, m: ReturnType<typeof loadModel>): Float32Array[] {
  const dec = new Decoder(new CpuBackend(), m.config, w);
  const batch = packBatch(g.inputIds);
  const out: Float32Array[] = [];
  for (const k of [null, 2, 0]) {
    const r = dec.forward(batch, { billmStartIndex: k, poolings: POOLINGS });
    for (const p of POOLINGS) out.push(r[p]!);
  }
  return out;
}

const same = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

for (const [base, lora] of [['tiny-llama', null], ['tiny-llama', 'tiny-lora'], ['tiny-llama-fp16', 'tiny-lora-bin']] as const) {
  test(`lossless 16-bit storage: ${base}${lora ? ` + ${lora}` : ''} held as ${base.endsWith('fp16') ? 'fp16' : 'bf16'} gives the fp32 path's embeddings bit for bit`, (t) => {
    const dt = base.endsWith('fp16') ? 'fp16' : 'bf16';
    const opts = lora ? { lora: fixture(lora) } : {};
    const full = loadModel(fixture(base), opts);
    const half = loadModel(fixture(base), { ...opts, weightDtype: dt });
    t.is(full.weightDtype, 'fp32');
    t.is(half.weightDtype, dt);
    const hm = allMatrices(half.weights);
    t.true(hm.every(isHalfMatrix), 'every matrix is held as 16-bit values');
    t.is(hm.filter((m) => isHalfMatrix(m) && m.hasLora).length, lora ? 28 : 0);
    // the fp32 view of each weight is the fp32 loader's weight (LoRA merged with the same merge)
    allMatrices(full.weights).forEach((m, i) => t.true(same(hm[i].data, m.data), `matrix ${i}`));
    const a = forwardAll(full.weights, full), b = forwardAll(half.weights, half);
    a.forEach((x, i) => t.true(same(x, b[i]), `output ${i}`));
    // and the goldens hold at the fp32 tolerance
    const c = g.cases.find((x) => x.lora === (lora ? 'tiny-lora' : 'none') && x.billmStartIndex === null && x.nLayers === null)!;
    const last = b[0];
    t.is(firstFailure('last', Array.from({ length: g.inputIds.length }, (_, s) => last.subarray(s * H, (s + 1) * H)), c.pooling.last), null);
  });
}

test('rounded 16-bit storage: fp16 weights from the bf16 checkpoint equal the fp32 path on weights rounded the same way', (t) => {
  const full = loadModel(fixture('tiny-llama'));
  const half = loadModel(fixture('tiny-llama'), { weightDtype: 'fp16' });
  // the reference: the fp32 weights, each rounded to fp16 by f16Bits and widened by halfToNumber
  const r16 = (a: Float32Array): Float32Array => a.map((v) => halfToNumber(f16Bits(v)));
  const round = (m: Matrix): Matrix => ({ rows: m.rows, cols: m.cols, data: r16(m.data) });
  const w = full.weights;
  const rounded: ModelWeights = {
    embed_tokens: round(w.embed_tokens), norm: r16(w.norm),
    layers: w.layers.map((l) => ({
      input_layernorm: r16(l.input_layernorm), post_attention_layernorm: r16(l.post_attention_layernorm), q_proj: round(l.q_proj), k_proj: round(l.k_proj), v_proj: round(l.v_proj), o_proj: round(l.o_proj),
      gate_proj: round(l.gate_proj), up_proj: round(l.up_proj), down_proj: round(l.down_proj),
    })),
  };
  const a = forwardAll(rounded, full), b = forwardAll(half.weights, half);
  a.forEach((x, i) => t.true(same(x, b[i]), `output ${i}`));
});
