// Library entry point.
export { UserError } from './errors.ts';
export { embed, type EmbedOptions } from './embed.ts';
export { Embedder } from './model/embed/embedder.ts';
export { Decoder } from './model/arch/decoder.ts';
export { CpuBackend } from './backend/cpu/backend.ts';
export type { Backend, Pooling, PackedBatch } from './backend/ops.ts';
export { PRESETS, PROMPTS, resolveSettings } from './model/presets/presets.ts';
export { encodeWithTemplate, parseTemplate, pooledPositions } from './model/tokenize/template.ts';
export { loadModel } from './model/formats/load.ts';
export { loadTokenizer } from './model/tokenize/tokenizer.ts';
export { openEmbedder } from './experiments/run/setup.ts';
export { resolveSource } from './model/hub/resolve.ts';
export { checkBidirectionality } from './model/arch/bidirectional-check.ts';
export { loadTasks, runSts } from './experiments/run/sts.ts';
export { runDegrade } from './experiments/run/degrade.ts';
export { runIdentity, identityDifference, embeddingKey, type RunIdentity, type RunIdentityInput } from './experiments/results/run-identity.ts';
export { hashModelFiles, type ModelFiles } from './model/formats/model-files.ts';
