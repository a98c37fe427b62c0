// Every setting outside the model that moves the numbers, as named, recorded presets.
// Sources: BeLLM's released eval_sts.py and eval_degradation.py (facts in ../shared/fixtures/README.md);
// the recipes of other papers (echo, llm2vec, e5, repllama, sgpt, angle) are in recipes.ts.
import type { Pooling } from '../backend/ops.ts';
import { UserError } from '../errors.ts';
import { RECIPE_PRESETS } from './recipes.ts';
import { checkTokenization, parseTemplate, usesInstruction, type Tokenization } from './template.ts';

export type PreprocessName = 'bellm-sts' | 'bellm-degrade' | 'none';

/**
 * bellm-sts (eval_sts.py): '.' appended unless the text ends in . ? " or ' ; then a final '?' becomes
 * '.'. Empty text is left as it is (the rule looks at the last character, so it is skipped).
 * bellm-degrade (eval_degradation.py): the same, with '"' turned into "'" before the '?' rule.
 * none: the text unchanged. SentEval has already re-joined tokens with single spaces.
 */
export function preprocess(text: string, name: PreprocessName): string {
  if (name === 'none') return text;
  let s = text;
  if (s.length > 0 && !'.?"\''.includes(s[s.length - 1])) s += '.';
  if (name === 'bellm-degrade') s = s.replaceAll('"', "'");
  if (s.length > 0 && s[s.length - 1] === '?') s = s.slice(0, -1) + '.';
  return s;
}

export const PROMPTS = {
  bellm: 'The representative word for sentence {text} is:"',
  prompteol: 'This sentence : "{text}" means in one word:"',
  summarize: 'Summarize sentence "{text}" in one word:"',
  none: '{text}',
} as const;
export type PromptName = keyof typeof PROMPTS;

/** A prompt given by name (bellm, prompteol, summarize, none) or as a template (src/model/template.ts). */
export function resolvePrompt(prompt: string): string {
  if (prompt in PROMPTS) return PROMPTS[prompt as PromptName];
  if (!/\{text\*?\}/.test(prompt)) {
    throw new UserError(`--prompt "${prompt}" is neither a known prompt (${Object.keys(PROMPTS).join(', ')}) nor a template containing {text}`);
  }
  parseTemplate(prompt); // the syntax check, with its one-line error
  return prompt;
}

export function applyPrompt(template: string, text: string): string {
  return template.split('{text}').join(text);
}

export type MaskCompat = 'correct' | 'billm';

export interface EmbedSettings {
  preprocess: PreprocessName;
  prompt: string;            // the resolved template (syntax: src/model/template.ts)
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
  /** Default billmStartIndex of sts/embed when --billm-start-index is not given (llm2vec: 0). */
  billmStartIndex?: number | null;
  origin?: PresetOrigin[];
  /** Where the official code and the issue that asked for the preset disagree (the code wins). */
  notes?: string[];
}

export const PRESETS: Record<string, Preset> = {
  'bellm-sts': {
    name: 'bellm-sts', preprocess: 'bellm-sts', prompt: PROMPTS.bellm, pooling: 'last', maxLength: 512, mask: 'correct',
    source: "BeLLM eval_sts.py: preprocessing, prompt, last token, max_length 512 (STS sentences are never truncated)",
  },
  'bellm-degrade': {
    name: 'bellm-degrade', preprocess: 'bellm-degrade', prompt: PROMPTS.summarize, pooling: 'last', maxLength: 64, mask: 'correct',
    source: 'BeLLM eval_degradation.py (Figure 4): quotes to apostrophes, Summarize prompt, last token, max_length 64',
  },
  prompteol: {
    name: 'prompteol', preprocess: 'bellm-sts', prompt: PROMPTS.prompteol, pooling: 'last', maxLength: 512, mask: 'correct',
    source: 'PromptEOL (Jiang et al. 2023): This sentence : "{text}" means in one word:", last token',
  },
  none: {
    name: 'none', preprocess: 'none', prompt: PROMPTS.none, pooling: 'avg', maxLength: 512, mask: 'correct',
    source: 'raw text, mean pooling over all tokens (BOS included)',
  },
  ...RECIPE_PRESETS,
};

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new UserError(`unknown preset "${name}": choose one of ${Object.keys(PRESETS).join(', ')}`);
  return p;
}

/**
 * A preset with explicit flags laid over it; what results files record and cache keys hash. Settings
 * at their default are left out (tokenize 'whole', no instruction), so older results read the same.
 */
export function resolveSettings(presetName: string, overrides: Partial<EmbedSettings>): EmbedSettings & { preset: string } {
  const p = getPreset(presetName);
  const prompt = overrides.prompt !== undefined ? resolvePrompt(overrides.prompt) : p.prompt;
  const tokenize = overrides.tokenize ?? p.tokenize ?? 'whole';
  const template = parseTemplate(prompt);
  checkTokenization(template, tokenize);
  let instruction: string | undefined;
  if (usesInstruction(template)) {
    instruction = overrides.instruction ?? p.instruction;
    if (instruction === undefined) throw new UserError(`the template ${JSON.stringify(prompt)} uses {instruction}: pass --instruction`);
  } else if (overrides.instruction !== undefined) {
    throw new UserError(`--instruction is set but the template ${JSON.stringify(prompt)} has no {instruction}`);
  }
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<EmbedSettings>;
  // Every field of the preset and of the overrides flows through (a setting added later included).
  const s: EmbedSettings & { preset: string } = {
    ...p,
    ...given,
    preset: p.name,
    prompt,
    tokenize: tokenize === 'whole' ? undefined : tokenize,
    instruction,
  };
  // Preset metadata is not a setting; undefined members are dropped, as JSON does.
  for (const k of ['name', 'source', 'billmStartIndex', 'origin', 'notes'] as const) delete (s as Partial<Preset>)[k];
  for (const k of Object.keys(s) as (keyof typeof s)[]) if (s[k] === undefined) delete s[k];
  if (!Number.isInteger(s.maxLength) || s.maxLength < 2) throw new UserError(`--max-length must be an integer >= 2, got ${s.maxLength}`);
  if (!['bellm-sts', 'bellm-degrade', 'none'].includes(s.preprocess)) throw new UserError(`unknown --preprocess "${s.preprocess}": bellm-sts, bellm-degrade or none`);
  return s;
}

/** The preset's default billmStartIndex (null = all causal), for runs without --billm-start-index. */
export function presetStartIndex(presetName: string): number | null {
  return getPreset(presetName).billmStartIndex ?? null;
}
