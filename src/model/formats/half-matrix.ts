// Weights held as 16-bit values (CPU --dtype bf16|fp16): about half the memory of fp32, widened to
// fp32 when a matmul needs them, so compute stays fp32. A LoRA pair stays beside the 16-bit base
// weight in fp32 and is merged into the widened copy with the same merge the fp32 loader uses, so a
// bf16 checkpoint + adapter gives bit for bit the weights (and embeddings) of the fp32 path.
import { widenHalf, type HalfDtype } from './dtype.ts';
import type { HalfMatrix, Matrix } from '../arch/types.ts';

export interface LoraDelta {
  a: Float32Array;      // [r, in]
  b: Float32Array;      // [out, r]
  r: number;
  scale: number;
  /** W += scale * B @ A, in place on the fp32 matrix (the loader's merge: OpenBLAS or the JS reference). */
  merge: (w: Matrix, a: Float32Array, b: Float32Array, r: number, scale: number) => void;
}

export function halfMatrix(rows: number, cols: number, dtype: HalfDtype, bits: Uint16Array, lora: LoraDelta | null = null): HalfMatrix {
  if (bits.length !== rows * cols) throw new Error(`halfMatrix: ${bits.length} values for [${rows}, ${cols}]`);
  const widenInto = (out: Float32Array): void => {
    widenHalf(dtype, bits, out);
    if (lora) lora.merge({ rows, cols, data: out.length === bits.length ? out : out.subarray(0, bits.length) }, lora.a, lora.b, lora.r, lora.scale);
  };
  const widenRows = (first: number, count: number, out: Float32Array): void => {
    if (lora) throw new Error('widenRows: this weight carries a LoRA pair; use widenInto');
    widenHalf(dtype, bits.subarray(first * cols, (first + count) * cols), out);
  };
  return {
    rows, cols, dtype, bits, hasLora: lora !== null, widenInto, widenRows,
    get data(): Float32Array {
      const out = new Float32Array(rows * cols);
      widenInto(out);
      return out;
    },
  };
}

export function isHalfMatrix(m: Matrix): m is HalfMatrix {
  return (m as Partial<HalfMatrix>).bits instanceof Uint16Array;
}
