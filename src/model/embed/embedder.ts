// Sentences -> embeddings: preprocessing, prompt template, tokenization, length-sorted varlen batches,
// the decoder forward, pooling (over the template's span), and the on-disk cache.
import type { Backend, PackedBatch } from '../../backend/ops.ts';
import { UserError } from '../../errors.ts';
import { packBatch, packBatchBillmCompat } from '../arch/batch.ts';
import { Decoder } from '../arch/decoder.ts';
import type { EmbeddingStore } from './embedding-cache.ts';
import { applyPrompt, preprocess, type EmbedSettings } from '../presets/presets.ts';
import { encodeWithTemplate, parseTemplate, type Encoded, type EncodeRule, type Span } from '../tokenize/template.ts';
import type { LlamaConfig, LoadedModel, Tokenizer } from '../arch/types.ts';

export interface RunOptions extends EmbedSettings {
  billmStartIndex: number | null;
  nLayers?: number | null;
  /** Token budget per batch (sum of sequence lengths). */
  batchTokens?: number;
  /** Sequences per batch in BiLLM mask-compat mode, where the batch is taken as given. */
  batchSize?: number;
  /**
   * Where vectors are reused from and stored: open it with src/experiments/results/run-identity.ts
   * (`openEmbeddingCache`), whose key covers the model files, backend and these options. Ignored under
   * BiLLM mask-compat, whose vectors depend on the batch.
   */
  cache?: EmbeddingStore | null;
  onProgress?: (done: number, total: number) => void;
  /** Told once per call how many of the unique sentences came from the cache (not embedded). */
  onCached?: (cached: number, unique: number) => void;
}

/** The text a sentence becomes before tokenization (a template with only {text} placeholders). */
export function promptText(sentence: string, s: EmbedSettings): string {
  return applyPrompt(s.prompt, preprocess(sentence, s.preprocess));
}

/** How settings turn a sentence into ids (src/model/tokenize/template.ts). */
export function encodeRule(s: EmbedSettings): EncodeRule {
  return { template: parseTemplate(s.prompt), tokenize: s.tokenize ?? 'whole', maxLength: s.maxLength, instruction: s.instruction };
}

/** Ids, pooled span and truncation of each sentence. */
export function encodeAll(tok: Tokenizer, sentences: readonly string[], s: EmbedSettings, rule = encodeRule(s)): Encoded[] {
  return sentences.map((x, i) => encodeWithTemplate(tok, rule, preprocess(x, s.preprocess), `sentence ${i + 1} ("${x.slice(0, 40)}")`));
}

export function tokenizeAll(tok: Tokenizer, sentences: readonly string[], s: EmbedSettings): number[][] {
  return encodeAll(tok, sentences, s).map((e) => e.ids);
}

/** How many inputs lost tokens to maxLength. */
export function countTruncated(encoded: readonly Encoded[]): number {
  return encoded.reduce((n, e) => n + (e.truncated ? 1 : 0), 0);
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
  /** Encodings under the last settings used (tokenizing is a sizeable share of a tiny model's run). */
  private memo: { key: string; rule: EncodeRule; map: Map<string, Encoded> } | null = null;

  constructor(readonly model: LoadedModel, readonly tokenizer: Tokenizer, readonly backend: Backend) {
    // Ids the embedding table lacks would fail mid-forward: refuse them now.
    // Added special tokens past the table (Gemma-3-1B's <image_soft_token>) are refused only where a text uses them (encode).
    const V = model.config.vocab_size;
    const base = tokenizer.baseVocabSize ?? tokenizer.vocabSize;
    if (base > V)
      throw new UserError(`the tokenizer (${tokenizer.description}) gives ids up to ${base - 1} but the model's embedding table has ${V} rows (vocab_size in ${model.dir}/config.json); use the model's own tokenizer files`);
    this.decoder = new Decoder(backend, model.config, model.weights);
  }

  /** Refuses settings the model cannot run: BiLLM mask-compat pads with pad_token_id, which must be a row of the table. */
  checkSettings(s: EmbedSettings): void {
    checkPadToken(this.model.config, s, this.model.dir);
  }

  get dim(): number {
    return this.model.config.hidden_size;
  }

  /** Packs sequences; `spans` (one per sequence, null = every token) restrict pooling to them. */
  pack(seqs: readonly (readonly number[])[], s: EmbedSettings, spans?: readonly (Span | null)[]): PackedBatch {
    return s.mask === 'billm' ? packBatchBillmCompat(seqs, this.model.config.pad_token_id ?? 0, spans) : packBatch(seqs, spans);
  }

  /** Ids, pooled span and truncation of each sentence under settings `s` (memoized per settings). */
  encode(sentences: readonly string[], s: EmbedSettings): Encoded[] {
    const key = JSON.stringify([s.preprocess, s.prompt, s.tokenize ?? 'whole', s.instruction ?? null, s.maxLength]);
    if (this.memo?.key !== key) this.memo = { key, rule: encodeRule(s), map: new Map() };
    const { rule, map } = this.memo;
    return sentences.map((x, i) => {
      let e = map.get(x);
      if (!e) {
        const where = `sentence ${i + 1} ("${x.slice(0, 40)}")`;
        e = encodeWithTemplate(this.tokenizer, rule, preprocess(x, s.preprocess), where);
        const V = this.model.config.vocab_size;
        const past = e.ids.find((id) => id >= V);
        if (past !== undefined)
          throw new UserError(`${where}: token ${past} (${JSON.stringify(this.tokenizer.idToToken?.(past) ?? '?')}) is past the model's embedding table of ${V} rows (vocab_size in ${this.model.dir}/config.json); remove that special token from the text`);
        map.set(x, e);
      }
      return e;
    });
  }

  /** One vector per sentence, in input order. Duplicates are embedded once. */
  embed(sentences: readonly string[], o: RunOptions): Float32Array[] {
    this.checkSettings(o);
    const unique = [...new Set(sentences)];
    // Mask-compat results depend on the batch, so they are never cached across runs.
    const cache = o.mask === 'billm' ? null : o.cache ?? null;
    const todo = o.mask === 'billm' ? [...sentences] : unique.filter((s) => !cache?.has(s));
    const fresh = new Map<string, Float32Array>();
    const enc = this.encode(todo, o);
    const batches = o.mask === 'billm'
      ? planBatchesAsGiven(todo.length, o.batchSize ?? 16)
      : planBatches(enc.map((x) => x.ids.length), o.batchTokens ?? 2048);
    const H = this.dim;
    let done = unique.length - todo.length;
    o.onCached?.(o.mask === 'billm' ? 0 : done, unique.length);
    o.onProgress?.(done, unique.length);
    const compatOut: Float32Array[] = [];
    for (const b of batches) {
      const batch = this.pack(b.map((i) => enc[i].ids), o, b.map((i) => enc[i].span));
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

/** Under BiLLM mask-compat, pad_token_id (0 when unset) pads every batch: it must be below vocab_size. */
export function checkPadToken(c: LlamaConfig, s: EmbedSettings, dir = '.'): void {
  if (s.mask !== 'billm') return;
  const pad = c.pad_token_id ?? 0;
  if (pad >= c.vocab_size)
    throw new UserError(`pad_token_id ${pad} is outside the vocabulary (${c.vocab_size} ids) in ${dir}/config.json, and --billm-mask-compat pads with it: fix pad_token_id or drop --billm-mask-compat`);
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
