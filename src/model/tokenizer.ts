// Tokenizer for a model directory. Two implementations, both giving SentencePiece's ids on the goldens
// and on every STS/SICK prompt (67,476 checked):
//  - llama-tokenizer-js: the LLaMA-2 vocabulary and merges are built into the package, it reads no
//    file. Used only when the directory's tokenizer.model is byte-identical to LLaMA-2's (sha256
//    below). About 2x faster than the alternative on the STS workload; the default when allowed.
//  - @huggingface/tokenizers: reads the checkpoint's tokenizer.json (works for Mistral and other
//    LLaMA-family vocabularies).
// Ids are BOS + pieces, never EOS; truncation is the caller's job (see `truncate`).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import llamaTokenizer from 'llama-tokenizer-js';
import { UserError } from '../errors.ts';
import type { HashOptions } from './file-hash.ts';
import { hashTokenizerFiles } from './model-files.ts';
import type { Tokenizer } from './types.ts';

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

function fromLlamaJs(modelFile: string, hash: string): Omit<Tokenizer, 'files'> {
  return {
    description: `llama-tokenizer-js ${pkgVersion('llama-tokenizer-js')} (built-in LLaMA-2 vocabulary; ${modelFile} sha256 ${hash.slice(0, 12)}… matches it)`,
    fingerprint: hash,
    bosId: 1,
    // encode(text, add_bos=false) adds SentencePiece's dummy-prefix space; '' gives [] so BOS is ours
    encode: (text: string) => [1, ...llamaTokenizer.encode(text, false)],
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
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgFile) ? readJson(cfgFile) : {};
  const tok = new HfTokenizer(json, cfg);
  const bosTok = cfg.bos_token ?? '<s>';
  const bosName = typeof bosTok === 'string' ? bosTok : String((bosTok as { content?: unknown }).content);
  const bosId = tok.token_to_id(bosName);
  if (bosId === undefined) throw new UserError(`${file} has no BOS token ${JSON.stringify(bosName)}; is it a LLaMA-family tokenizer?`);
  return {
    description: `@huggingface/tokenizers ${pkgVersion('@huggingface/tokenizers')} (${file})`,
    fingerprint: sha256(bytes),
    bosId,
    // special tokens off, so BOS is added exactly once whatever the post-processor template says
    encode: (text: string) => [bosId, ...tok.encode(text, { add_special_tokens: false }).ids],
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
