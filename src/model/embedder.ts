// Sentences -> embeddings: preprocessing, prompt, tokenization, length-sorted varlen batches,
// the decoder forward, pooling, and the on-disk cache.
import { createHash } from 'node:crypto';
import type { Backend, PackedBatch } from '../backend/ops.ts';
import { UserError } from '../errors.ts';
import { packBatch, packBatchBillmCompat } from './batch.ts';
import { Decoder } from './decoder.ts';
import { EmbeddingCache } from './embedding-cache.ts';
import { applyPrompt, preprocess, type EmbedSettings } from './presets.ts';
import type { LoadedModel, Tokenizer } from './types.ts';

export interface RunOptions extends EmbedSettings {
  billmStartIndex: number | null;
  nLayers?: number | null;
  /** Token budget per batch (sum of sequence lengths). */
  batchTokens?: number;
  /** Sequences per batch in BiLLM mask-compat mode, where the batch is taken as given. */
  batchSize?: number;
  cacheDir?: string | null;
  onProgress?: (done: number, total: number) => void;
}

/** The text a sentence becomes before tokenization. */
export function promptText(sentence: string, s: EmbedSettings): string {
  return applyPrompt(s.prompt, preprocess(sentence, s.preprocess));
}

export function tokenizeAll(tok: Tokenizer, sentences: readonly string[], s: EmbedSettings): number[][] {
  return sentences.map((x) => tok.encode(promptText(x, s)).slice(0, s.maxLength));
}

/**
 * Length-sorted batches under a token budget: indices into `lengths`. Sorting keeps sequences of a
 * batch alike in length, so no work is wasted; results do not depend on it (no padding).
 */
export function planBatches(lengths: readonly number[], batchTokens: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  let tokens = 0;
  for (const i of order) {
    if (cur.length > 0 && tokens + lengths[i] > batchTokens) {
      batches.push(cur);
      cur = [];
      tokens = 0;
    }
    cur.push(i);
    tokens += lengths[i];
  }
  if (cur.length) batches.push(cur);
  return batches;
}

/** Fixed-size batches in the given order (BiLLM compat: the batch composition changes results). */
export function planBatchesAsGiven(n: number, batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(Array.from({ length: Math.min(batchSize, n - i) }, (_, j) => i + j));
  return out;
}

export class Embedder {
  readonly decoder: Decoder;

  constructor(readonly model: LoadedModel, readonly tokenizer: Tokenizer, readonly backend: Backend) {
    this.decoder = new Decoder(backend, model.config, model.weights);
  }

  get dim(): number {
    return this.model.config.hidden_size;
  }

  pack(seqs: readonly (readonly number[])[], s: EmbedSettings): PackedBatch {
    return s.mask === 'billm' ? packBatchBillmCompat(seqs, this.model.config.pad_token_id ?? 0) : packBatch(seqs);
  }

  /** Everything that changes an embedding, as a stable cache key. */
  cacheKey(o: RunOptions): { key: string; meta: unknown } {
    const meta = {
      model: this.model.fingerprint, lora: this.model.lora?.sha256 ?? null, loraScale: this.model.lora?.scale ?? null,
      tokenizer: this.tokenizer.fingerprint, backend: this.backend.name, weightDtype: this.model.weightDtype ?? 'fp32',
      preprocess: o.preprocess, prompt: o.prompt, pooling: o.pooling, maxLength: o.maxLength, mask: o.mask,
      billmStartIndex: o.billmStartIndex, nLayers: o.nLayers ?? null,
    };
    return { key: createHash('sha256').update(JSON.stringify(meta)).digest('hex').slice(0, 24), meta };
  }

  /** One vector per sentence, in input order. Duplicates are embedded once. */
  embed(sentences: readonly string[], o: RunOptions): Float32Array[] {
    const unique = [...new Set(sentences)];
    // Mask-compat results depend on the batch, so they are never cached across runs.
    const useCache = o.cacheDir && o.mask !== 'billm';
    const { key, meta } = this.cacheKey(o);
    const cache = useCache ? new EmbeddingCache(o.cacheDir!, key, this.dim, meta) : null;
    const todo = o.mask === 'billm' ? [...sentences] : unique.filter((s) => !cache?.has(s));
    const fresh = new Map<string, Float32Array>();
    const ids = tokenizeAll(this.tokenizer, todo, o);
    const batches = o.mask === 'billm'
      ? planBatchesAsGiven(todo.length, o.batchSize ?? 16)
      : planBatches(ids.map((x) => x.length), o.batchTokens ?? 2048);
    const H = this.dim;
    let done = unique.length - todo.length;
    o.onProgress?.(done, unique.length);
    const compatOut: Float32Array[] = [];
    for (const b of batches) {
      const batch = this.pack(b.map((i) => ids[i]), o);
      const pooled = this.decoder.forward(batch, { billmStartIndex: o.billmStartIndex, nLayers: o.nLayers, poolings: [o.pooling] })[o.pooling]!;
      const vecs = b.map((_, j) => pooled.slice(j * H, (j + 1) * H));
      checkFinite(vecs, b.map((i) => todo[i]));
      if (o.mask === 'billm') compatOut.push(...vecs);
      else b.forEach((i, j) => fresh.set(todo[i], vecs[j]));
      cache?.putBatch(b.map((i) => todo[i]), vecs);
      done += b.length;
      o.onProgress?.(Math.min(done, unique.length), unique.length);
    }
    if (o.mask === 'billm') return compatOut;
    return sentences.map((s) => fresh.get(s) ?? cache!.get(s)!);
  }
}

function checkFinite(vecs: readonly Float32Array[], texts: readonly string[]): void {
  vecs.forEach((v, i) => {
    for (const x of v) {
      if (!Number.isFinite(x)) {
        throw new UserError(`the model produced a non-finite embedding (${x}) for sentence "${texts[i].slice(0, 60)}": check the checkpoint's weights and dtype`);
      }
    }
  });
}
