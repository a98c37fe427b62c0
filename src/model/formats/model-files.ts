// Which files make up a model's identity, and their content hashes: config.json and every tensor file
// of the checkpoint (the safetensors file, or the index and every shard it lists), the adapter's config
// and weights, and every tokenizer file present. Two runs share cached embeddings or results only when
// all of these hashes match (see src/experiments/results/run-identity.ts).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { INDEX_FILE, SINGLE_FILE } from './checkpoint.ts';
import { digestOfHashes, hashFiles, type HashOptions } from './file-hash.ts';
import { ADAPTER_BIN, ADAPTER_CONFIG, ADAPTER_SAFETENSORS } from '../adapters/lora.ts';

export type FileHashes = Record<string, string>;

/** Content hashes of everything that determines a loaded model's numbers, file by file. */
export interface ModelFiles {
  weights: FileHashes;            // config.json, model.safetensors or the index + shards
  adapter: FileHashes | null;     // adapter_config.json + adapter_model.safetensors|bin
  tokenizer: FileHashes;          // the tokenizer files present
}

export const TOKENIZER_FILES = ['tokenizer.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'] as const;

const exists = (dir: string, f: string) => fs.existsSync(path.join(dir, f));

/** config.json and the tensor files of a checkpoint directory (shards as listed in the index). */
export function weightFileNames(dir: string): string[] {
  const names = ['config.json'];
  if (exists(dir, SINGLE_FILE)) return [...names, SINGLE_FILE];
  if (!exists(dir, INDEX_FILE)) throw new UserError(`${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}`);
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'));
  } catch (e) {
    throw new UserError(`${path.join(dir, INDEX_FILE)} is not valid JSON (${(e as Error).message}); re-download it`);
  }
  const shards = new Set<string>();
  for (const s of Object.values(index?.weight_map ?? {})) {
    if (typeof s !== 'string' || s.includes('/') || s.includes('\\')) throw new UserError(`${path.join(dir, INDEX_FILE)}: bad shard name ${JSON.stringify(s)}`);
    shards.add(s);
  }
  return [...names, INDEX_FILE, ...[...shards].sort()];
}

export function adapterFileNames(dir: string): string[] {
  const weights = exists(dir, ADAPTER_SAFETENSORS) ? ADAPTER_SAFETENSORS : ADAPTER_BIN;
  return [ADAPTER_CONFIG, weights];
}

export function tokenizerFileNames(dir: string): string[] {
  return TOKENIZER_FILES.filter((f) => exists(dir, f));
}

export function hashWeightFiles(dir: string, o: HashOptions = {}): FileHashes {
  return hashFiles(dir, weightFileNames(dir), o);
}

export function hashAdapterFiles(dir: string, o: HashOptions = {}): FileHashes {
  return hashFiles(dir, adapterFileNames(dir), o);
}

export function hashTokenizerFiles(dir: string, o: HashOptions = {}): FileHashes {
  return hashFiles(dir, tokenizerFileNames(dir), o);
}

/**
 * Every identity file of a model (+ adapter) directory, hashed without loading anything: what a grid
 * runner or a resume check needs before deciding to load a model. Memoized (see file-hash.ts).
 */
export function hashModelFiles(modelDir: string, loraDir: string | null | undefined, o: HashOptions = {}): ModelFiles {
  return {
    weights: hashWeightFiles(modelDir, o),
    adapter: loraDir ? hashAdapterFiles(loraDir, o) : null,
    tokenizer: hashTokenizerFiles(modelDir, o),
  };
}

export { digestOfHashes };
