// prototype
const uleb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
const sleb = (n: number): number[] => { const o: number[] = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { o.push(b); return o; } o.push(b | 0x80); } };
const str = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
const section = (id: number, b: number[]) => [id, ...uleb(b.length), ...b];
const f32x4 = (x: number) => { const b = new Uint8Array(new Float32Array([x, x, x, x]).buffer); return [0xfd, 0x0c, ...b]; };
const i32x4 = (x: number) => { const b = new Uint8Array(new Int32Array([x, x, x, x]).buffer); return [0xfd, 0x0c, ...b]; };
const simd = (op: number) => [0xfd, ...uleb(op)];
const OP = { load: 0x00, store: 0x0b, lt: 0x43, gt: 0x44, bitselect: 0x52, nearest: 0x6a, ishl: 0xab, iadd: 0xae, neg: 0xe1, add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9, truncSat: 0xf8 };
const lget = (i: number) => [0x20, ...uleb(i)], lset = (i: number) => [0x21, ...uleb(i)];
const i32c = (n: number) => [0x41, ...sleb(n)];
const load = [...simd(OP.load), 4, 0], store = [...simd(OP.store), 4, 0];
// params g=0 u=1 o=2 n=3 ; locals i=4 (i32), x=5 y=6 k=7 r=8 e=9 (v128)
const [G, U, O, N, I, X, Y, K, R, E] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const body = [
  ...lget(N), ...i32c(2), 0x74 /* i32.shl */, ...lset(N),
  0x02, 0x40, 0x03, 0x40, // block loop
  ...lget(I), ...lget(N), 0x4f /* i32.ge_u */, 0x0d, 1, // br_if 1
  ...lget(G), ...lget(I), 0x6a /* i32.add */, ...load, ...lset(X),
  ...lget(X), ...simd(OP.neg), ...f32x4(88), ...simd(OP.min), ...f32x4(-88), ...simd(OP.max), ...lset(Y),
  ...lget(Y), ...f32x4(Math.LOG2E), ...simd(OP.mul), ...simd(OP.nearest), ...lset(K),
  ...lget(Y), ...lget(K), ...f32x4(0.693359375), ...simd(OP.mul), ...simd(OP.sub), ...lget(K), ...f32x4(-2.12194440e-4), ...simd(OP.mul), ...simd(OP.sub), ...lset(R),
  ...f32x4(P[0]), ...lget(R), ...simd(OP.mul), ...f32x4(P[1]), ...simd(OP.add), ...lget(R), ...simd(OP.mul), ...f32x4(P[2]), ...simd(OP.add),
  ...lget(R), ...simd(OP.mul), ...f32x4(P[3]), ...simd(OP.add), ...lget(R), ...simd(OP.mul), ...f32x4(P[4]), ...simd(OP.add), ...lget(R), ...simd(OP.mul), ...f32x4(P[5]), ...simd(OP.add),
  ...lget(R), ...simd(OP.mul), ...lget(R), ...simd(OP.mul), ...lget(R), ...simd(OP.add), ...f32x4(1), ...simd(OP.add), // exp(r)
  ...lget(K), ...simd(OP.truncSat), ...i32x4(127), ...simd(OP.iadd), ...i32c(23), ...simd(OP.ishl), // 2^k
  ...simd(OP.mul), ...lset(E),
  ...lget(O), ...lget(I), 0x6a, // store address
  ...i32x4(0), // where x < -88: 0
  ...lget(X), ...lget(E), ...f32x4(1), ...simd(OP.add), ...simd(OP.div), ...lget(U), ...lget(I), 0x6a, ...load, ...simd(OP.mul), // x/(1+e)*u
  ...lget(X), ...f32x4(-88), ...simd(OP.lt), ...simd(OP.bitselect),
  ...store,
  ...lget(I), ...i32c(16), 0x6a, ...lset(I), 0x0c, 0, // br 0
  0x0b, 0x0b, 0x0b,
];

const code = [...uleb(2), 1, 0x7f, 5, 0x7b, ...body];
const mod = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  ...section(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
  ...section(3, [1, 0]),
  ...section(5, [1, 0x00, 8]),
  ...section(7, [2, ...str('silu_mul'), 0x00, 0, ...str('mem'), 0x02, 0]),
  ...section(10, [1, ...uleb(code.length), ...code]),
];
const inst = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(mod)));
const silu = inst.exports.silu_mul as (g: number, u: number, o: number, n: number) => void;
const mem = inst.exports.mem as WebAssembly.Memory;
const CH = 16384;
function siluWasm(gate: Float32Array, up: Float32Array, out: Float32Array) {
  const f = new Float32Array(mem.buffer);
  const n = gate.length;
  let i = 0;
  for (; i + 4 <= n; i += CH) {
    const m = Math.min(CH, n - i) & ~3;
    if (m === 0) break;
    f.set(gate.subarray(i, i + m), 0);
    f.set(up.subarray(i, i + m), CH);
    silu(0, CH * 4, 2 * CH * 4, m);
    out.set(f.subarray(2 * CH, 2 * CH + m), i);
    if (m < CH) { i += m; break; }
  }
  for (; i < n; i++) { const g = gate[i]; out[i] = (g / (1 + Math.exp(-g))) * up[i]; }
}
import { siluMulFast } from './src/backend/cpu/fast.ts';
import { siluMulRef } from './src/backend/cpu/kernels.ts';
const NN = 2_000_003;
const g = new Float32Array(NN).map(() => (Math.random() - 0.5) * 20), u = new Float32Array(NN).map(() => Math.random() * 2);
g.set([0, -0, 1e-30, -1e-30, 88, -88, 89, -89, 200, -200, 1e4, -1e4, 3.4e38, -3.4e38, NaN], 0);
const out0 = new Float32Array(CH);
const a = new Float32Array(NN), b = new Float32Array(NN), c = new Float32Array(NN);
siluMulRef(g, u, a); siluWasm(g, u, b);
let maxRel = 0, maxAbs = 0, worst = -1; for (let i = 0; i < NN; i++) { if (Object.is(a[i], b[i]) || a[i] === b[i]) continue; const d = Math.abs(a[i] - b[i]); maxAbs = Math.max(maxAbs, d); const r = d / Math.abs(a[i]); if (r > maxRel && Math.abs(a[i]) > 1e-30) { maxRel = r; worst = i; } }
console.log('maxRel', maxRel, 'at', worst, g[worst], a[worst], b[worst], 'maxAbs', maxAbs, b.slice(0, 15));
const tt = { fast: 0, wasm: 0 };
for (let r = 0; r < 12; r++) { let t0 = performance.now(); siluMulFast(g, u, c); if (r > 1) tt.fast += performance.now() - t0; t0 = performance.now(); siluWasm(g, u, b); if (r > 1) tt.wasm += performance.now() - t0; }
console.log('ns/elem fast', (tt.fast / 10 / NN * 1e6).toFixed(2), 'wasm', (tt.wasm / 10 / NN * 1e6).toFixed(2));
{
  const f = new Float32Array(mem.buffer);
  f.set(g.subarray(0, CH), 0); f.set(u.subarray(0, CH), CH);
  let t0 = performance.now();
  for (let r = 0; r < 2000; r++) silu(0, CH * 4, 2 * CH * 4, CH);
  console.log('kernel only ns/elem', ((performance.now() - t0) / 2000 / CH * 1e6).toFixed(2));
  t0 = performance.now();
  for (let r = 0; r < 2000; r++) { f.set(g.subarray(0, CH), 0); f.set(u.subarray(0, CH), CH); out0.set(f.subarray(2 * CH, 3 * CH), 0); }
  console.log('copies only ns/elem', ((performance.now() - t0) / 2000 / CH * 1e6).toFixed(2));
}
