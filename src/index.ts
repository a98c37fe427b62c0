// Library entry point.
export { UserError } from './errors.ts';
export { embed, type EmbedOptions } from './embed.ts';
export { Embedder } from './model/embedder.ts';
export { Decoder } from './model/decoder.ts';
export { CpuBackend } from './backend/cpu/backend.ts';
export type { Backend, Pooling, PackedBatch } from './backend/ops.ts';
export { PRESETS, PROMPTS, resolveSettings } from './model/presets.ts';
export { encodeWithTemplate, parseTemplate, pooledPositions } from './model/template.ts';
export { loadModel } from './model/load.ts';
export { loadTokenizer } from './model/tokenizer.ts';
export { openEmbedder } from './experiments/setup.ts';
export { resolveSource } from './model/hub/resolve.ts';
export { checkBidirectionality } from './model/bidirectional-check.ts';
export { loadTasks, runSts } from './experiments/sts.ts';
export { runDegrade } from './experiments/degrade.ts';
export { runIdentity, identityDifference, embeddingKey, type RunIdentity, type RunIdentityInput } from './experiments/run-identity.ts';
export { hashModelFiles, type ModelFiles } from './model/model-files.ts';
