// Checkpoint dtypes -> fp32. Inputs are little-endian raw bytes as stored in safetensors / torch storages.
import os from 'node:os';

/** Element types we can convert, with safetensors' spelling. */
export type WeightDtype = 'BF16' | 'F16' | 'F32';

export const DTYPE_BYTES: Record<WeightDtype, number> = { BF16: 2, F16: 2, F32: 4 };

export function isWeightDtype(s: string): s is WeightDtype {
  return s === 'BF16' || s === 'F16' || s === 'F32';
}

// Typed-array views below read the host's byte order; every x86/ARM Node build is little-endian.
if (os.endianness() !== 'LE') throw new Error('bellm-bench reads little-endian checkpoints and needs a little-endian host');

/** Aligned view: typed arrays need offset % elementSize === 0, so copy when the bytes are misaligned. */
function aligned(bytes: Uint8Array, elem: number): Uint8Array {
  return bytes.byteOffset % elem === 0 ? bytes : bytes.slice();
}

/** bf16 is the top half of an fp32: shift each 16-bit word left by 16. */
export function bf16ToF32(bytes: Uint8Array, out = new Float32Array(bytes.length >> 1)): Float32Array {
  const b = aligned(bytes, 2);
  const src = new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) dst[i] = src[i] << 16;
  return out;
}

/** One IEEE binary16 value -> number (exact: every f16 is representable in f32). */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;             // zero / subnormal: frac * 2^-14 * 2^-10
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);            // normal: (1 + frac/1024) * 2^(exp-15)
}

// 65536-entry lookup table (256 KiB), built on first use; NaN payloads collapse to one canonical NaN.
let f16Table: Float32Array | null = null;
function table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = halfToNumber(h);
  }
  return f16Table;
}

export function f16ToF32(bytes: Uint8Array, out = new Float32Array(bytes.length >> 1)): Float32Array {
  const b = aligned(bytes, 2);
  const src = new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
  const t = table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

export function f32ToF32(bytes: Uint8Array, out = new Float32Array(bytes.length >> 2)): Float32Array {
  const b = aligned(bytes, 4);
  out.set(new Float32Array(b.buffer, b.byteOffset, b.length >> 2));
  return out;
}

/** Convert `bytes` (length = n * DTYPE_BYTES[dtype]) to a new fp32 array of n elements. */
export function toFloat32(dtype: WeightDtype, bytes: Uint8Array): Float32Array {
  switch (dtype) {
    case 'BF16': return bf16ToF32(bytes);
    case 'F16': return f16ToF32(bytes);
    case 'F32': return f32ToF32(bytes);
  }
}

/** Index of the first NaN/±Inf, or -1. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) return i;                              // NaN - NaN and Inf - Inf are NaN
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// 16-bit weight storage (CPU --dtype bf16|fp16): fp32 -> 16-bit bits with round to nearest, ties to
// even (the rule of torch's .to(bfloat16/float16) and of CUDA's __float2bfloat16_rn / __float2half_rn),
// and 16-bit bits -> fp32 (exact).

export type HalfDtype = 'bf16' | 'fp16';

const cvtF32 = new Float32Array(1);
const cvtU32 = new Uint32Array(cvtF32.buffer);

/** bf16 bits of one float32 value: round to nearest even; NaN stays a quiet NaN; overflow gives ±inf. */
export function bf16Bits(x: number): number {
  cvtF32[0] = x;
  const u = cvtU32[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * IEEE binary16 bits of one float32 value: round to nearest even (of the float32 value, so no double
 * rounding); |x| >= 65520 gives ±inf (65504 is the largest half); below 2^-14 the result is subnormal.
 */
export function f16Bits(x: number): number {
  cvtF32[0] = x;
  const u = cvtU32[0];
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a >= 0x7f800000) return sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0); // inf, NaN (quiet)
  if (a >= 0x477ff000) return sign | 0x7c00;                                 // rounds past 65504
  if (a < 0x38800000) {                                                       // below 2^-14: subnormal
    const t = Math.abs(cvtF32[0]) * 2 ** 24;                                  // exact in float64
    let r = Math.floor(t);
    const d = t - r;
    if (d > 0.5 || (d === 0.5 && (r & 1) === 1)) r++;
    return sign | r;                                                          // r = 1024 is the smallest normal
  }
  let h = (a >>> 13) - ((127 - 15) << 10);
  const rem = a & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** 16-bit bits of every value of `src` (one of the rules above). */
export function toHalfBits(dtype: HalfDtype, src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const f = dtype === 'bf16' ? bf16Bits : f16Bits;
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return out;
}

/** Widen 16-bit values to fp32: out[i] = value of src[i] (exact), for i < src.length. */
export function widenHalf(dtype: HalfDtype, src: Uint16Array, out: Float32Array): void {
  if (out.length < src.length) throw new Error(`widenHalf: ${src.length} values into ${out.length}`);
  if (dtype === 'bf16') {
    const dst = new Uint32Array(out.buffer, out.byteOffset, src.length);
    for (let i = 0; i < src.length; i++) dst[i] = src[i] << 16;
    return;
  }
  const t = table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
}

/** Index of the first infinite or NaN 16-bit value (exponent bits all ones), or -1. */
export function firstNonFiniteHalf(dtype: HalfDtype, bits: Uint16Array): number {
  const mask = dtype === 'bf16' ? 0x7f80 : 0x7c00;
  for (let i = 0; i < bits.length; i++) if ((bits[i] & mask) === mask) return i;
  return -1;
}
