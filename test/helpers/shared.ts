// Paths to the read-only material beside the repository (../shared), and the goldens.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = process.env.BELLM_SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const fixturesDir = join(sharedDir, 'fixtures');
export const sentevalDir = join(sharedDir, 'data', 'senteval');
export const fixture = (name: string): string => join(fixturesDir, name);

export interface GoldenCase {
  lora: 'none' | 'tiny-lora';
  billmStartIndex: number | null;
  nLayers: number | null;
  pooling: Record<'last' | 'avg' | 'first' | 'weighted', number[][]>;
}
export interface Goldens {
  prompt: string;
  maxLength: number;
  preprocessing: string;
  sentences: string[];
  prompts: string[];
  inputIds: number[][];
  sentencepieceIds: number[][];
  loraScale: number;
  cases: GoldenCase[];
  billmMaskCompat: { billmStartIndex: number; sentences: number[]; padding: string; padId: number; pooling: Record<'last' | 'avg', number[][]> }[];
  layerTrace: { billmStartIndex: number; sentence: number; hiddenStates: number[][][]; final: number[][] };
  stsbSample: { pairs: [string, string][]; gold: number[]; cosine: number[]; spearman: number; pearson: number };
  sentenceStats: { cases: { billmStartIndex: number | null; pivotSpearman: number[]; pivotSpearmanWithoutBos: number[] }[] };
}

let cached: Goldens | null = null;
export function goldens(): Goldens {
  cached ??= JSON.parse(readFileSync(join(fixturesDir, 'goldens.json'), 'utf8')) as Goldens;
  return cached;
}
