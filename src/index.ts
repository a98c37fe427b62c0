// The library: what a script needs to embed sentences, score predictions and run the STS suite or the
// layer sweep without the CLI. It sits on top of the layers, as the CLI does (src/cli.ts); everything
// here is also what the CLI runs.
//
//   import { embed, score, loadTasks, runSts, openEmbedder } from 'bellm-bench';
//   const vecs = await embed(['A man plays a guitar.'], { model: 'path/or/org-name', preset: 'bellm-sts' });
//   const { evaluation } = score('STSBenchmark', myCosines, { dataDir: 'data' });       // SentEval's numbers
//   const { embedder } = openEmbedder({ model: 'path/to/model', lora: 'path/to/adapter' });
//   const results = runSts(embedder, { tasks: loadTasks(['STS12', 'STSBenchmark'], 'data'), ... });
export { UserError } from './errors.ts';

// Embedding: one call (opens the model, resolves a preset), or an opened model reused across calls.
export { embed, type EmbedOptions } from './embed.ts';
export { openEmbedder } from './experiments/run/setup.ts';
export { Embedder } from './model/embed/embedder.ts';

// Scoring similarities made anywhere, one per scored pair in `bellm-bench pairs` order: SentEval's
// Spearman/Pearson, all/mean/wmean and per subset.
export { scorePredictions as score } from './experiments/results/score-file.ts';

// Running the suite and the sweep on an opened model (what `sts` and `degrade` run).
export { loadTasks, runSts } from './experiments/run/sts.ts';
export { runDegrade } from './experiments/run/degrade.ts';

// Loading a model and its tokenizer (a directory, or a Hugging Face id through resolveSource).
export { loadModel } from './model/formats/load.ts';
export { loadTokenizer } from './model/tokenize/tokenizer.ts';
export { resolveSource } from './model/hub/resolve.ts';

// Settings: presets, prompts and templates.
export { PRESETS, PROMPTS, resolveSettings } from './model/presets/presets.ts';
export { encodeWithTemplate, parseTemplate, pooledPositions } from './model/tokenize/template.ts';

// Lower level: the decoder, a backend, the self-check, run identity.
export { Decoder } from './model/arch/decoder.ts';
export { CpuBackend } from './backend/cpu/backend.ts';
export type { Backend, Pooling, PackedBatch } from './backend/ops.ts';
export { checkBidirectionality } from './model/arch/bidirectional-check.ts';
export { runIdentity, identityDifference, embeddingKey, type RunIdentity, type RunIdentityInput } from './experiments/results/run-identity.ts';
export { hashModelFiles, type ModelFiles } from './model/formats/model-files.ts';
