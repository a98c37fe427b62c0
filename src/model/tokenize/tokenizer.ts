// Tokenizer for a model directory. Two implementations, both giving SentencePiece's ids on the goldens
// and on every STS/SICK prompt (67,476 checked):
//  - llama-tokenizer-js: the LLaMA-2 vocabulary and merges are built into the package, it reads no
//    file. Used only when the directory's tokenizer.model is byte-identical to LLaMA-2's (sha256
//    below). About 2x faster than the alternative on the STS workload; the default when allowed.
//  - @huggingface/tokenizers: reads the checkpoint's tokenizer.json (works for Mistral and other
//    LLaMA-family vocabularies).
// Ids are BOS + pieces, never EOS; truncation is the caller's job (see `truncate`).
// Special-token strings in the text (`<s>`, `</s>`, `<unk>`) become their ids in both, as in
// transformers' LlamaTokenizerFast, which BeLLM's evaluation loads (AutoTokenizer): the text is split at
// them and each piece is tokenized on its own (with its own SentencePiece prefix space).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { UserError } from '../../errors.ts';
import type { HashOptions } from '../formats/file-hash.ts';
import { hashTokenizerFiles } from '../formats/model-files.ts';
import type { Tokenizer } from '../arch/types.ts';

/** sha256 of LLaMA-2's tokenizer.model (../shared/models/llama2-tokenizer/tokenizer.model). */
export const LLAMA2_TOKENIZER_MODEL_SHA256 = '9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347';
const LLAMA2_VOCAB = 32000;

export type TokenizerImpl = 'llama-tokenizer-js' | 'tokenizer.json';

export interface TokenizerOptions {
  /** 'auto' (default): llama-tokenizer-js when tokenizer.model is LLaMA-2's, else tokenizer.json. */
  impl?: 'auto' | TokenizerImpl;
  /** How the tokenizer files are hashed for `Tokenizer.files` (memo, verify). */
  hash?: HashOptions;
}

/** Installed version of a package, for descriptions (its package.json sits above the resolved entry). */
function pkgVersion(name: string): string {
  try {
    let d = path.dirname(fileURLToPath(import.meta.resolve(name)));
    for (; d !== path.dirname(d); d = path.dirname(d)) {
      const f = path.join(d, 'package.json');
      if (fs.existsSync(f) && readJson(f).name === name) return String(readJson(f).version);
    }
  } catch {
    // fall through
  }
  return '?';
}

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); re-download it`);
  }
}

/** Tokens added on top of the SentencePiece vocabulary (ids >= 32000) make tokenizer.json authoritative. */
function hasAddedTokens(dir: string): boolean {
  const cfg = path.join(dir, 'tokenizer_config.json');
  if (fs.existsSync(path.join(dir, 'added_tokens.json'))) return true;
  if (!fs.existsSync(cfg)) return false;
  const dec = (readJson(cfg).added_tokens_decoder ?? {}) as Record<string, unknown>;
  return Object.keys(dec).some((id) => Number(id) >= LLAMA2_VOCAB);
}

/** LLaMA-2's special tokens, as transformers parses them out of the text. */
const LLAMA2_SPECIALS: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
const LLAMA2_SPECIAL_RE = /<unk>|<s>|<\/s>/g;

/**
 * llama-tokenizer-js, loaded on first use: it builds its vocabulary at import (0.2 s), which commands
 * that never tokenize (--help, report, tasks) should not pay. Node >= 20.19 requires ES modules synchronously.
 */
let llamaJs: { encode(text: string, addBos: boolean): number[] } | null = null;
function llamaTokenizerJs(): { encode(text: string, addBos: boolean): number[] } {
  llamaJs ??= (createRequire(import.meta.url)('llama-tokenizer-js') as { default: { encode(text: string, addBos: boolean): number[] } }).default;
  return llamaJs;
}

function fromLlamaJs(modelFile: string, hash: string): Omit<Tokenizer, 'files'> {
  const llamaTokenizer = llamaTokenizerJs();
  // encode(text, add_bos=false) adds SentencePiece's dummy-prefix space; '' gives [] so BOS is ours
  const pieces = (text: string) => (text === '' ? [] : llamaTokenizer.encode(text, false) as number[]);
  return {
    description: `llama-tokenizer-js ${pkgVersion('llama-tokenizer-js')} (built-in LLaMA-2 vocabulary; ${modelFile} sha256 ${hash.slice(0, 12)}… matches it)`,
    fingerprint: hash,
    bosId: 1,
    eosId: 2,
    idToToken: (id: number) => (llamaTokenizer as unknown as { vocabById: string[] }).vocabById[id],
    vocabSize: LLAMA2_VOCAB,
    encode: (text: string) => {
      const out = [1];
      let last = 0;
      for (const m of text.matchAll(LLAMA2_SPECIAL_RE)) {
        out.push(...pieces(text.slice(last, m.index)), LLAMA2_SPECIALS[m[0]]);
        last = m.index + m[0].length;
      }
      out.push(...pieces(text.slice(last)));
      return out;
    },
  };
}

function fromTokenizerJson(dir: string): Omit<Tokenizer, 'files'> {
  const file = path.join(dir, 'tokenizer.json');
  const bytes = fs.readFileSync(file);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); re-download it`);
  }
  const unusable = (why: string) => new UserError(`${file} is not a usable tokenizer (${why.split('\n')[0].slice(0, 160)}); re-download the model's tokenizer.json`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw unusable('not a JSON object');
  const model = json.model as Record<string, unknown> | undefined;
  if (model === null || typeof model !== 'object' || typeof model.type !== 'string') throw unusable('no "model" with a "type"');
  if (!Array.isArray(json.added_tokens ?? [])) throw unusable('"added_tokens" is not a list');
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgFile) ? readJson(cfgFile) : {};
  let tok: HfTokenizer;
  let vocabSize = 0;
  try {
    tok = new HfTokenizer({ added_tokens: [], ...json }, cfg);
    for (const id of tok.get_vocab(true).values()) if (Number.isSafeInteger(id) && id >= vocabSize) vocabSize = id + 1;
    tok.encode('probe <s> ü 1', { add_special_tokens: false });
  } catch (e) {
    throw unusable((e as Error).message ?? String(e));
  }
  if (vocabSize === 0) throw unusable('an empty vocabulary');
  const bosTok = cfg.bos_token ?? '<s>';
  const bosName = typeof bosTok === 'string' ? bosTok : String((bosTok as { content?: unknown }).content);
  const bosId = tok.token_to_id(bosName);
  if (bosId === undefined) throw new UserError(`${file} has no BOS token ${JSON.stringify(bosName)}; is it a LLaMA-family tokenizer?`);
  const eosTok = cfg.eos_token ?? '</s>';
  const eosId = tok.token_to_id(typeof eosTok === 'string' ? eosTok : String((eosTok as { content?: unknown }).content));
  return {
    description: `@huggingface/tokenizers ${pkgVersion('@huggingface/tokenizers')} (${file})`,
    fingerprint: sha256(bytes),
    bosId,
    eosId,
    idToToken: (id: number) => tok.id_to_token(id),
    vocabSize,
    // special tokens off, so BOS is added exactly once whatever the post-processor template says
    encode: (text: string) => {
      let ids: unknown[];
      try {
        ids = tok.encode(text, { add_special_tokens: false }).ids;
      } catch (e) {
        throw new UserError(`${file} failed on the text ${JSON.stringify(text.slice(0, 40))} (${String((e as Error).message ?? e).split('\n')[0].slice(0, 120)}); re-download the model's tokenizer.json`);
      }
      const bad = ids.find((id) => !Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= vocabSize);
      if (bad !== undefined) throw new UserError(`${file} gave the id ${String(bad)} for the text ${JSON.stringify(text.slice(0, 40))} (no unknown token or byte fallback?); re-download the model's tokenizer.json`);
      return [bosId, ...(ids as number[])];
    },
  };
}

/** The tokenizer for a model directory (tokenizer.model and/or tokenizer.json), with its files' hashes. */
export function loadTokenizer(modelDir: string, opts: TokenizerOptions = {}): Tokenizer {
  const tok = pickTokenizer(modelDir, opts);
  return { ...tok, files: hashTokenizerFiles(modelDir, opts.hash) };
}

function pickTokenizer(modelDir: string, opts: TokenizerOptions): Omit<Tokenizer, 'files'> {
  const impl = opts.impl ?? 'auto';
  const modelFile = path.join(modelDir, 'tokenizer.model');
  const jsonFile = path.join(modelDir, 'tokenizer.json');
  const hasJson = fs.existsSync(jsonFile);
  const modelHash = fs.existsSync(modelFile) ? sha256(fs.readFileSync(modelFile)) : null;
  const isLlama2 = modelHash === LLAMA2_TOKENIZER_MODEL_SHA256;

  if (impl === 'tokenizer.json' || (impl === 'auto' && hasJson && (!isLlama2 || hasAddedTokens(modelDir)))) {
    if (!hasJson) throw new UserError(`no tokenizer.json in ${modelDir}`);
    return fromTokenizerJson(modelDir);
  }
  if (isLlama2) return fromLlamaJs(modelFile, modelHash);
  const fix = hasJson ? 'use the tokenizer.json implementation' : "add the model's tokenizer.json";
  if (modelHash)
    throw new UserError(`${modelFile} is not LLaMA-2's SentencePiece model (sha256 ${modelHash.slice(0, 12)}…), so llama-tokenizer-js cannot stand in for it; ${fix}`);
  throw new UserError(impl === 'auto' ? `no tokenizer.json or tokenizer.model in ${modelDir}` : `no tokenizer.model in ${modelDir}`);
}

/** The first `maxLength` ids (BOS stays first), as the BeLLM evaluation truncates. */
export function truncate(ids: readonly number[], maxLength: number): number[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new UserError(`maxLength must be a positive integer, got ${maxLength}`);
  return ids.slice(0, maxLength);
}
