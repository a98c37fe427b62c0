// --dtype bf16 / fp16 on every architecture (issue 25): weights held as 16-bit values (biases, q/k norms
// and Gemma's (1 + w) norms included: w is rounded, then the 1 added in fp32, as a model cast to bf16
// computes it) land within the fixture README's bf16 tolerance (cosine >= 0.999 per embedding) of
// transformers' float64 goldens (test/goldens/arch), for every billmStartIndex case there.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { repoRoot } from '../../helpers/shared.ts';
import { writeTinyArch } from '../../helpers/tiny-arch.ts';

interface Golden { inputIds: number[][]; cases: { billmStartIndex: number | null; pooling: { last: number[][] } }[] }
const BF16_COSINE = 0.999;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

for (const arch of ['llama3', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'mistral-swa'] as const) {
  test(`${arch}: --dtype bf16 and fp16 weights stay within the bf16 tolerance of transformers' float64 goldens`, (t) => {
    const g = JSON.parse(readFileSync(join(repoRoot, 'test/goldens/arch', `${arch}.json`), 'utf8')) as Golden;
    const dir = mkdtempSync(join(tmpdir(), `bb-dtype-${arch}-`));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeTinyArch(dir, arch);
    const batch = packBatch(g.inputIds);
    for (const weightDtype of ['bf16', 'fp16'] as const) {
      const m = loadModel(dir, { weightDtype });
      t.is(m.weightDtype, weightDtype);
      const dec = new Decoder(new CpuBackend(), m.config, m.weights);
      let worst = 1;
      for (const c of g.cases) {
        const last = dec.forward(batch, { billmStartIndex: c.billmStartIndex, poolings: ['last'] }).last!;
        const H = last.length / g.inputIds.length;
        c.pooling.last.forEach((want, i) => { worst = Math.min(worst, cosine(last.subarray(i * H, (i + 1) * H), want)); });
      }
      t.true(worst >= BF16_COSINE, `${arch} ${weightDtype}: worst cosine ${worst}`);
      t.log(`${arch} ${weightDtype}: worst cosine ${worst.toFixed(6)}`);
    }
  });
}
