// loadModel's stream option (what the CUDA path uses): the same numbers as an eager load, read from
// the file only when a weight is uploaded, each tensor exactly once by the CUDA backend.
import { existsSync } from 'node:fs';
import test from 'ava';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { CudaBackend } from '../../../src/backend/cuda/backend.ts';
import { libraryPath } from '../../../src/backend/cuda/lib.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { neededTensors } from '../../../src/model/formats/checkpoint.ts';
import { Decoder, type ForwardOptions } from '../../../src/model/arch/decoder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import type { Matrix, ModelWeights } from '../../../src/model/arch/types.ts';
import { fixture, goldens } from '../../helpers/shared.ts';

const dir = fixture('tiny-llama');
const lora = fixture('tiny-lora');

function matrices(w: ModelWeights): [string, Matrix][] {
  const out: [string, Matrix][] = [['embed_tokens', w.embed_tokens]];
  w.layers.forEach((l, i) => {
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const) out.push([`${i}.${m}`, l[m]]);
  });
  return out;
}

test('stream: every weight equals the eager load bit for bit (LoRA merged), and nothing is read before it is asked for', (t) => {
  let reads = 0;
  const eager = loadModel(dir, { lora, loraMerge: 'js' });
  const lazy = loadModel(dir, { lora, loraMerge: 'js', stream: true, onProgress: () => reads++ });
  const vectors = 2 * lazy.config.num_hidden_layers + 1;   // norms are read at once (small)
  t.is(reads, vectors);
  t.deepEqual(lazy.lora, eager.lora);
  const want = matrices(eager.weights);
  const got = matrices(lazy.weights);
  t.is(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    const [name, m] = got[i];
    const a = m.data, b = want[i][1].data;
    t.is(a.length, m.rows * m.cols, name);
    t.true(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), `${name} differs`);
  }
  t.is(reads, vectors + got.length);
  t.is(reads, neededTensors(lazy.config).length);
  // Nothing is kept: a second access reads the file again and gives a new array.
  const first = lazy.weights.layers[0].q_proj;
  t.not(first.data, first.data);
  t.deepEqual(lazy.weights.norm, eager.weights.norm);
});

const emu = existsSync(libraryPath('emu'));
(emu ? test : test.skip)('stream on the CUDA backend (emulation build): each tensor read exactly once, same embeddings as an eager load', (t) => {
  let reads = 0;
  const lazy = loadModel(dir, { lora, stream: true, onProgress: () => reads++ });
  const eager = loadModel(dir, { lora });
  const b = new CudaBackend({ library: 'emu', precision: 'fp32' });
  const dl = new Decoder(b, lazy.config, lazy.weights);
  t.is(reads, neededTensors(lazy.config).length);
  const batch = packBatch(goldens().inputIds.slice(0, 6));
  const opts: ForwardOptions = { billmStartIndex: 2, poolings: ['last'] };
  const got = dl.forward(batch, opts).last!;
  const want = new Decoder(b, eager.config, eager.weights).forward(batch, opts).last!;
  t.deepEqual(got, want);
  t.is(reads, neededTensors(lazy.config).length, 'the forward pass reads nothing');
  // And the CPU reference agrees (the streamed weights are the real ones).
  const ref = new Decoder(new CpuBackend({ reference: true }), eager.config, eager.weights).forward(batch, opts).last!;
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < ref.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i])); maxRef = Math.max(maxRef, Math.abs(ref[i])); }
  t.true(maxDiff <= 1e-4 * maxRef, `max diff ${maxDiff} vs max ${maxRef}`);
});
