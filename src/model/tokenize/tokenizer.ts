// Tokenizer for a model directory. Two implementations:
//  - llama-tokenizer-js: the LLaMA-2 vocabulary and merges are built into the package, it reads no
//    file. Used only when the directory's tokenizer.model is byte-identical to LLaMA-2's (sha256
//    below). About 2x faster than the alternative on the STS workload; the default when allowed. Gives
//    SentencePiece's ids on the goldens and on every STS/SICK prompt (67,476 checked).
//  - @huggingface/tokenizers: reads the checkpoint's tokenizer.json: LLaMA-family SentencePiece BPE
//    (Mistral, Gemma), byte-level BPE with Split regexes (Llama-3, Qwen2/3), added and special tokens.
//    Checked against the Rust `tokenizers` and transformers on test/goldens/tokenizers/*.json
//    (scripts/goldens/tokenizer_goldens.py) and, for LLaMA-2, against SentencePiece's goldens.
// `pieces` are the text's ids alone (add_special_tokens=False); `encode` adds what the model's own
// post-processor template adds (add_special_tokens=True): BOS for LLaMA-2, Gemma and Llama-3 files whose
// template has it, nothing for Qwen. Never EOS unless the template says so; truncation is the caller's job
// (`truncate`, or src/model/tokenize/prefix.ts, which tokenizes only a prefix of a long text).
// Special-token strings in the text (`<s>`, `</s>`, `<unk>`, `<|endoftext|>`) become their ids in both,
// as in transformers' fast tokenizers, which BeLLM's evaluation loads (AutoTokenizer): the text is split
// at them and each piece is tokenized on its own (with its own SentencePiece prefix space).
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
export type { Tokenizer } from '../arch/types.ts';
import { AddedTokenGuard, sentencePieceCuts, spaceJoiners, tokenizerJsonCuts, type CutRule } from './cuts.ts';

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

/** Appends `src` to `dst` without spreading it into arguments (a long text has more ids than the stack holds). */
function append(dst: number[], src: readonly number[]): number[] {
  for (let i = 0; i < src.length; i++) dst.push(src[i]);
  return dst;
}

function fromLlamaJs(modelFile: string, hash: string): Omit<Tokenizer, 'files'> {
  const llamaTokenizer = llamaTokenizerJs();
  const vocabById = (llamaTokenizer as unknown as { vocabById: string[] }).vocabById;
  // encode(text, add_bos=false) adds SentencePiece's dummy-prefix space; '' gives []
  const sp = (text: string) => (text === '' ? [] : llamaTokenizer.encode(text, false) as number[]);
  const pieces = (text: string) => {
    const out: number[] = [];
    let last = 0;
    for (const m of text.matchAll(LLAMA2_SPECIAL_RE)) {
      append(out, sp(text.slice(last, m.index)));
      out.push(LLAMA2_SPECIALS[m[0]]);
      last = m.index + m[0].length;
    }
    return append(out, sp(text.slice(last)));
  };
  let cuts: CutRule | null = null;
  return {
    description: `llama-tokenizer-js ${pkgVersion('llama-tokenizer-js')} (built-in LLaMA-2 vocabulary; ${modelFile} sha256 ${hash.slice(0, 12)}… matches it)`,
    fingerprint: hash,
    bosId: 1,
    eosId: 2,
    idToToken: (id: number) => vocabById[id],
    vocabSize: LLAMA2_VOCAB,
    pieces,
    encode: (text: string) => append([1], pieces(text)),
    // one BPE word over the whole string, as SentencePiece (src/model/tokenize/cuts.ts)
    safeCut: (text, from, to) => (cuts ??= sentencePieceCuts(spaceJoiners(vocabById), new AddedTokenGuard(Object.keys(LLAMA2_SPECIALS))))(text, from, to),
  };
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The ids a post-processor puts before and after a single text (add_special_tokens=True):
 * TemplateProcessing's `single`, RobertaProcessing/BertProcessing's cls and sep, nothing for ByteLevel,
 * and a Sequence in order (each wraps what the ones before it gave). Null: no post-processor.
 */
export function postProcessorSpecials(pp: unknown, idOf: (token: string) => number | undefined): { lead: number[]; trail: number[] } | null {
  if (pp === null || pp === undefined) return null;
  if (!isObj(pp)) throw new Error('"post_processor" is not an object');
  const pair = (v: unknown, name: string): number => {
    if (!Array.isArray(v) || typeof v[1] !== 'number') throw new Error(`${String(pp.type)}.${name} is not [token, id]`);
    return v[1];
  };
  switch (pp.type) {
    case 'ByteLevel':
      return { lead: [], trail: [] };
    case 'RobertaProcessing':
    case 'BertProcessing':
      return { lead: [pair(pp.cls, 'cls')], trail: [pair(pp.sep, 'sep')] };
    case 'TemplateProcessing': {
      if (!Array.isArray(pp.single)) throw new Error('TemplateProcessing without a "single" template');
      const specials = isObj(pp.special_tokens) ? pp.special_tokens : {};
      const lead: number[] = [], trail: number[] = [];
      let seen = false;
      for (const item of pp.single) {
        if (isObj(item) && isObj(item.Sequence)) {
          if (seen || item.Sequence.id !== 'A') throw new Error('TemplateProcessing "single" must hold the sequence A once');
          seen = true;
        } else if (isObj(item) && isObj(item.SpecialToken) && typeof item.SpecialToken.id === 'string') {
          const name = item.SpecialToken.id;
          const sp = specials[name];
          const ids = isObj(sp) && Array.isArray(sp.ids) ? sp.ids : [idOf(name)];
          if (!ids.every((id) => Number.isSafeInteger(id))) throw new Error(`TemplateProcessing's special token ${JSON.stringify(name)} has no id`);
          (seen ? trail : lead).push(...(ids as number[]));
        } else throw new Error('TemplateProcessing "single" holds an item that is neither a SpecialToken nor a Sequence');
      }
      if (!seen) throw new Error('TemplateProcessing "single" lacks the sequence A');
      return { lead, trail };
    }
    case 'Sequence': {
      if (!Array.isArray(pp.processors)) throw new Error('Sequence post-processor without "processors"');
      const out = { lead: [] as number[], trail: [] as number[] };
      for (const p of pp.processors) {
        const s = postProcessorSpecials(p, idOf);
        if (s) {
          out.lead = [...s.lead, ...out.lead];
          out.trail = [...out.trail, ...s.trail];
        }
      }
      return out;
    }
    default:
      throw new Error(`the post-processor type ${JSON.stringify(pp.type)} is not supported`);
  }
}

/** Where texts may be cut (src/model/tokenize/cuts.ts); null: nowhere known to be safe. Outside the loader, so no closure keeps the parsed file. */
function cutRuleOf(json: Json, cfg: Json): CutRule | null {
  try {
    const vocab = (json.model as Json).vocab;
    return tokenizerJsonCuts(json, cfg, () => (isObj(vocab) ? Object.keys(vocab) : [])).rule;
  } catch {
    return null;
  }
}

const tokenName = (t: unknown): string | null =>
  typeof t === 'string' ? t : isObj(t) && typeof t.content === 'string' ? t.content : null;

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
  let baseVocabSize = 0;
  try {
    tok = new HfTokenizer({ added_tokens: [], ...json }, cfg);
    for (const id of tok.get_vocab(true).values()) if (Number.isSafeInteger(id) && id >= vocabSize) vocabSize = id + 1;
    for (const id of tok.get_vocab(false).values()) if (Number.isSafeInteger(id) && id >= baseVocabSize) baseVocabSize = id + 1;
    tok.encode('probe <s> ü 1', { add_special_tokens: false });
  } catch (e) {
    throw unusable((e as Error).message ?? String(e));
  }
  if (vocabSize === 0) throw unusable('an empty vocabulary');
  const idOf = (name: string | null) => (name === null ? undefined : tok.token_to_id(name));
  // BOS and what else add_special_tokens=True adds: the post-processor's template; without one, what
  // transformers' LLaMA/Mistral/Gemma tokenizers add (add_bos_token, default true; add_eos_token)
  let specials: { lead: number[]; trail: number[] } | null;
  try {
    specials = postProcessorSpecials(json.post_processor, (n) => idOf(n));
  } catch (e) {
    throw unusable((e as Error).message);
  }
  const bosName = tokenName(cfg.bos_token) ?? (json.post_processor ? null : '<s>');
  if (!specials) {
    const llamaLike = /llama|mistral|gemma/i.test(String(cfg.tokenizer_class ?? 'LlamaTokenizer'));
    const addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : llamaLike;
    const bos = addBos ? idOf(bosName) : null;
    if (bos === undefined) throw new UserError(`${file} has no BOS token ${JSON.stringify(bosName)}; is it a LLaMA-family tokenizer?`);
    const eos = cfg.add_eos_token === true ? idOf(tokenName(cfg.eos_token)) : null;
    if (eos === undefined) throw new UserError(`${file} has no EOS token ${JSON.stringify(tokenName(cfg.eos_token))}, which tokenizer_config.json's add_eos_token asks for`);
    specials = { lead: bos === null ? [] : [bos], trail: eos === null ? [] : [eos] };
  }
  const { lead, trail } = specials;
  if (lead.length > 1) throw unusable(`its post-processor puts ${lead.length} tokens before the text; only one (a BOS) is supported`);
  const bad = [...lead, ...trail].find((id) => !Number.isSafeInteger(id) || id < 0 || id >= vocabSize);
  if (bad !== undefined) throw unusable(`its post-processor adds the id ${bad}, outside the vocabulary`);
  const bosId = lead.length ? lead[0] : null;
  const eosId = idOf(tokenName(cfg.eos_token) ?? '</s>');
  const pieces = (text: string): number[] => {
    let ids: unknown[];
    try {
      ids = tok.encode(text, { add_special_tokens: false }).ids;
    } catch (e) {
      throw new UserError(`${file} failed on the text ${JSON.stringify(text.slice(0, 40))} (${String((e as Error).message ?? e).split('\n')[0].slice(0, 120)}); re-download the model's tokenizer.json`);
    }
    const bad = ids.find((id) => !Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= vocabSize);
    if (bad !== undefined) throw new UserError(`${file} gave the id ${String(bad)} for the text ${JSON.stringify(text.slice(0, 40))} (no unknown token or byte fallback?); re-download the model's tokenizer.json`);
    return ids as number[];
  };
  const encode = (text: string): number[] => append(append(lead.slice(), pieces(text)), trail);
  // the library applies the post-processor itself; its ids must be the ones derived above
  if (json.post_processor) {
    for (const probe of ['probe <s> ü 1', '']) {
      let lib: number[];
      try {
        lib = tok.encode(probe, { add_special_tokens: true }).ids as number[];
      } catch (e) {
        throw unusable((e as Error).message ?? String(e));
      }
      if (JSON.stringify(lib) !== JSON.stringify(encode(probe))) throw unusable(`its post-processor gives ${JSON.stringify(lib)} for ${JSON.stringify(probe)}, not the special tokens read from it`);
    }
  }
  const cuts = cutRuleOf(json, cfg);
  return {
    description: `@huggingface/tokenizers ${pkgVersion('@huggingface/tokenizers')} (${file})`,
    fingerprint: sha256(bytes),
    bosId,
    ...(eosId !== undefined ? { eosId } : {}),
    idToToken: (id: number) => tok.id_to_token(id),
    vocabSize,
    baseVocabSize: Math.min(baseVocabSize || vocabSize, vocabSize),
    pieces,
    encode,
    ...(cuts ? { safeCut: cuts } : {}),
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

/**
 * The first `maxLength` ids (BOS stays first), as the BeLLM evaluation truncates. For a text that may be
 * long, `encodeTruncated` (prefix.ts) gives the same ids without tokenizing all of it.
 */
export function truncate(ids: readonly number[], maxLength: number): number[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new UserError(`maxLength must be a positive integer, got ${maxLength}`);
  return ids.slice(0, maxLength);
}
