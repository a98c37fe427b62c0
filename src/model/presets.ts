// Every setting outside the model that moves the numbers, as named, recorded presets.
// Sources: BeLLM's released eval_sts.py and eval_degradation.py (facts in ../shared/fixtures/README.md).
import type { Pooling } from '../backend/ops.ts';
import { UserError } from '../errors.ts';

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

/** A prompt given by name (bellm, prompteol, summarize, none) or as a template containing {text}. */
export function resolvePrompt(prompt: string): string {
  if (prompt in PROMPTS) return PROMPTS[prompt as PromptName];
  if (!prompt.includes('{text}')) {
    throw new UserError(`--prompt "${prompt}" is neither a known prompt (${Object.keys(PROMPTS).join(', ')}) nor a template containing {text}`);
  }
  return prompt;
}

export function applyPrompt(template: string, text: string): string {
  return template.split('{text}').join(text);
}

export type MaskCompat = 'correct' | 'billm';

export interface EmbedSettings {
  preprocess: PreprocessName;
  prompt: string;            // the resolved template
  pooling: Pooling;
  maxLength: number;         // tokens, BOS included
  mask: MaskCompat;
}

export interface Preset extends EmbedSettings {
  name: string;
  source: string;
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
};

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new UserError(`unknown preset "${name}": choose one of ${Object.keys(PRESETS).join(', ')}`);
  return p;
}

/** A preset with explicit flags laid over it; what results files record. */
export function resolveSettings(presetName: string, overrides: Partial<EmbedSettings>): EmbedSettings & { preset: string } {
  const p = getPreset(presetName);
  const s: EmbedSettings & { preset: string } = {
    preset: p.name,
    preprocess: overrides.preprocess ?? p.preprocess,
    prompt: overrides.prompt !== undefined ? resolvePrompt(overrides.prompt) : p.prompt,
    pooling: overrides.pooling ?? p.pooling,
    maxLength: overrides.maxLength ?? p.maxLength,
    mask: overrides.mask ?? p.mask,
  };
  if (!Number.isInteger(s.maxLength) || s.maxLength < 2) throw new UserError(`--max-length must be an integer >= 2, got ${s.maxLength}`);
  if (!['bellm-sts', 'bellm-degrade', 'none'].includes(s.preprocess)) throw new UserError(`unknown --preprocess "${s.preprocess}": bellm-sts, bellm-degrade or none`);
  return s;
}
