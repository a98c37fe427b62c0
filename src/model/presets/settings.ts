// The types of a run's embedding settings and of a named preset: what presets.ts and recipes.ts both
// build on (kept here so neither imports the other's module for them).
import type { Pooling } from '../../backend/ops.ts';
import type { Tokenization } from '../tokenize/template.ts';

export type PreprocessName = 'bellm-sts' | 'bellm-degrade' | 'none';

export type MaskCompat = 'correct' | 'billm';

export interface EmbedSettings {
  preprocess: PreprocessName;
  prompt: string;            // the resolved template (syntax: src/model/tokenize/template.ts)
  pooling: Pooling;          // over the template's marked span, or every token when it marks none
  maxLength: number;         // tokens, BOS included (per piece with tokenize 'pieces')
  mask: MaskCompat;
  /** 'pieces': each template piece tokenized on its own (echo-embeddings); absent: 'whole' (one string). */
  tokenize?: Tokenization;
  /** What {instruction} stands for; absent when the template has none. */
  instruction?: string;
}

/** Where a preset's settings come from: a repository (owner/name), files in it, the commit read. */
export interface PresetOrigin {
  repository: string;
  files: string[];
  commit: string | null;
}

export interface Preset extends EmbedSettings {
  name: string;
  source: string;
  origin?: PresetOrigin[];
  /** Where the official code and the issue that asked for the preset disagree (the code wins). */
  notes?: string[];
  /**
   * How a user's --instruction joins the text where the official code does more than substitute it:
   * 'llm2vec' (llm2vec.py _convert_to_str): the instruction is stripped, and an empty one gives the text
   * alone ("{text}", not " {text}").
   */
  instructionRule?: 'llm2vec';
  // Run settings beyond embedding that a recipe or a published run fixes; flags override each.
  /** --dtype (bellm-paper: fp16). */
  dtype?: 'fp32' | 'bf16' | 'fp16';
  /**
   * billmStartIndex when --billm-start-index is not given: `value` on any depth (llm2vec: 0, every layer
   * bidirectional), or only on a model of `forLayers` layers (bellm-paper: 31 of 32; another depth is refused).
   */
  billmStartIndex?: { value: number; forLayers?: number };
  /** Sentences per batch (matters with BiLLM mask compatibility, where padding changes numbers). */
  batchSize?: number;
  /** Where each setting comes from, printed by `bellm-bench presets`. */
  sources?: Partial<Record<'preprocess' | 'prompt' | 'pooling' | 'maxLength' | 'mask' | 'dtype' | 'billmStartIndex' | 'batchSize', string>>;
}
