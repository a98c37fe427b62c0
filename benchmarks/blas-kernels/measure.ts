// One row of the kernel x threads table (benchmarks/blas-kernels/README.md): on the OpenBLAS kernel and
// thread count this process was started with (OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS), measures
//   - rowInvariant: whether sgemm rounds a row alike wherever it sits in the batch;
//   - the bidirectionality self-check's margins on the fixture model (with and without its LoRA,
//     k = 0 and k = L-1): largest causal leak and noise floor, largest causal leak / limit, smallest
//     bidirectional change / limit;
//   - batch variance of embeddings: every golden sentence embedded in one batch against one at a time
//     (tiny-llama + tiny-lora, k = null, 0, 2, last pooling): largest |diff| / largest |value| per vector;
//   - batch variance of scores: the 7 STS tasks (bellm-sts preset, k = 2) with the default token budget
//     (2048) against 333 tokens per batch: |delta| of Spearman x 100 per task.
// Prints one JSON line. Usage: node --import=tsx benchmarks/blas-kernels/measure.ts [--scores]
import { readFileSync } from 'node:fs';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { loadTasks, runSts } from '../../src/experiments/run/sts.ts';
import { checkBidirectionality, checkMargins } from '../../src/model/arch/bidirectional-check.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Decoder } from '../../src/model/arch/decoder.ts';
import { Embedder } from '../../src/model/embed/embedder.ts';
import { loadModel } from '../../src/model/formats/load.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';

const shared = new URL('../../../shared/', import.meta.url).pathname;
const fixtures = `${shared}fixtures/`;
const backend = new CpuBackend({ blas: 'openblas' });
const blas = backend.blas!;
const tok = loadTokenizer(`${fixtures}tiny-llama`);
const withLora = loadModel(`${fixtures}tiny-llama`, { lora: `${fixtures}tiny-lora` });
const plain = loadModel(`${fixtures}tiny-llama`);
const L = plain.config.num_hidden_layers;

const check = { largestCausalLeak: 0, largestFloor: 0, largestCausalOverLimit: 0, smallestBidirectionalOverLimit: Infinity, passed: true };
for (const m of [plain, withLora]) {
  const dec = new Decoder(backend, m.config, m.weights);
  for (const k of [0, L - 1]) {
    const c = checkBidirectionality(dec, tok, { bidirectionalFrom: k });
    const g = checkMargins(c);
    check.passed &&= c.passed;
    check.largestCausalLeak = Math.max(check.largestCausalLeak, g.largestCausal);
    check.largestFloor = Math.max(check.largestFloor, g.largestFloor);
    check.largestCausalOverLimit = Math.max(check.largestCausalOverLimit, g.causalOverLimit);
    check.smallestBidirectionalOverLimit = Math.min(check.smallestBidirectionalOverLimit, g.bidirectionalOverLimit);
  }
}

const goldens = JSON.parse(readFileSync(`${fixtures}goldens.json`, 'utf8')) as { inputIds: number[][] };
const dec = new Decoder(backend, withLora.config, withLora.weights);
const H = withLora.config.hidden_size;
let embedRel = 0, minCos = 1;
for (const k of [null, 0, 2]) {
  const batched = dec.forward(packBatch(goldens.inputIds), { billmStartIndex: k, poolings: ['last'] }).last!;
  goldens.inputIds.forEach((ids, i) => {
    const one = dec.forward(packBatch([ids]), { billmStartIndex: k, poolings: ['last'] }).last!;
    let maxAbs = 0, maxDiff = 0, dot = 0, na = 0, nb = 0;
    for (let j = 0; j < H; j++) {
      const a = batched[i * H + j], b = one[j];
      maxAbs = Math.max(maxAbs, Math.abs(a));
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
      dot += a * b; na += a * a; nb += b * b;
    }
    embedRel = Math.max(embedRel, maxDiff / maxAbs);
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
  });
}

let scores: Record<string, number> | null = null;
if (process.argv.includes('--scores')) {
  const names = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STSBenchmark', 'SICKRelatedness'];
  const tasks = loadTasks(names, `${shared}data/senteval`);
  const e = new Embedder(withLora, tok, backend);
  const settings = resolveSettings('bellm-sts', {});
  const run = (batchTokens: number) => runSts(e, { tasks, dataDir: `${shared}data/senteval`, settings, billmStartIndex: 2, nLayers: null, cacheDir: null, sentenceStats: false, quiet: true, batchTokens });
  const a = run(2048), b = run(333);
  scores = Object.fromEntries(a.tasks.map((t, i) => [t.label, Math.abs(100 * (t.main - b.tasks[i].main))]));
}

console.log(JSON.stringify({
  coretype: process.env.OPENBLAS_CORETYPE ?? '(unset)', threads: blas.threads(), config: blas.config.trim(),
  rowInvariant: backend.batchInvariant(), check, embeddings: { largestRelDiff: embedRel, smallestCosine: minCos }, scores,
}));
