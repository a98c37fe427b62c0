// Every setting outside the model that moves the numbers, as named, recorded presets.
// Sources: BeLLM's released eval_sts.py and eval_degradation.py (facts in ../shared/fixtures/README.md);
// the recipes of other papers (echo, llm2vec, e5, repllama, sgpt, angle) are in recipes.ts.
import { UserError } from '../../errors.ts';
import { RECIPE_PRESETS } from './recipes.ts';
import { EMBEDDER_PRESETS } from './embedders.ts';
import { checkTokenization, parseTemplate, usesInstruction } from '../tokenize/template.ts';
import type { EmbedSettings, Preset, PreprocessName } from './settings.ts';
import { pyStrip } from '../../tasks/text.ts';

export type { EmbedSettings, MaskCompat, Preset, PresetOrigin, PreprocessName } from './settings.ts';


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

/** A prompt given by name (bellm, prompteol, summarize, none) or as a template (src/model/tokenize/template.ts). */
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
    name: 'prompteol', preprocess: 'bellm-degrade', prompt: PROMPTS.prompteol, pooling: 'last', maxLength: 512, mask: 'correct',
    source: 'PromptEOL (Jiang et al. 2023): evaluation.py batcher: "." appended unless the text ends in . ? " \', " turned into \' '
      + 'before a final ? becomes . (the bellm-degrade rule), then This sentence : "{text}" means in one word:", last token',
    origin: [{ repository: 'kongds/scaling_sentemb', files: ['evaluation.py'], commit: '656ddec6641b8ea279f760ccbf711da9155a35e3' }],
  },
  none: {
    name: 'none', preprocess: 'none', prompt: PROMPTS.none, pooling: 'avg', maxLength: 512, mask: 'correct',
    source: 'raw text, mean pooling over all tokens (BOS included)',
  },
  ...RECIPE_PRESETS,
  ...EMBEDDER_PRESETS,
  // BeLLM's published STS table (README section 4): BiLLM_START_INDEX=31 python eval_sts.py
  // --model_name_or_path NousResearch/Llama-2-7b-hf --lora_name_or_path SeanLee97/bellm-llama-7b-nli
  // --apply_bfloat16 0, with requirements.txt's billm==0.1.3. Facts: ../shared/fixtures/README.md and
  // the released code (eval_sts.py, model.py, angle_emb's Pooler, billm 0.1.3 modeling_llama.py).
  'bellm-paper': {
    name: 'bellm-paper', preprocess: 'bellm-sts', prompt: PROMPTS.bellm, pooling: 'last', maxLength: 512, mask: 'billm',
    dtype: 'fp16', billmStartIndex: { value: 31, forLayers: 32 }, batchSize: 16,
    source: "BeLLM's published STS run (README section 4: BiLLM_START_INDEX=31 python eval_sts.py ... --apply_bfloat16 0, billm==0.1.3); use with NousResearch/Llama-2-7b-hf + SeanLee97/bellm-llama-7b-nli",
    sources: {
      preprocess: "eval_sts.py batcher: ' '.join(tokens); '.' appended unless the text ends in . ? \" '; then a final ? becomes .",
      prompt: 'eval_sts.py --prompt default: The representative word for sentence {text} is:"',
      pooling: "model.py Pooler (angle_emb) for LLMs: the final hidden state of the last non-padding token (tokenizer padding_side right)",
      maxLength: 'eval_sts.py --max_length default 512 (no STS sentence is truncated)',
      mask: 'billm 0.1.3: bidirectional layers get zeros_like(causal_mask), so they also attend to the right padding (pad id 0 when the tokenizer has none); this changes the numbers',
      batchSize: "eval_sts.py test mode params batch_size 16, batches as SentEval forms them (each subset sorted by sentence length): with that padding, batch composition changes the numbers",
      dtype: "README --apply_bfloat16 0: model.py loads LLaMA with torch_dtype float16 and the LoRA through PEFT in float16 (here: merged in fp32, then stored fp16)",
      billmStartIndex: 'README: BiLLM_START_INDEX=31, "Since the LLaMA-7B has 32 layers ... will convert the final layer bidirectional"; other depths need --billm-start-index',
    },
  },
};

/**
 * billmStartIndex a preset fixes for a model of `numLayers` layers, or null when it fixes none. A
 * preset written for another depth is refused: BeLLM's index is absolute (BiLLM_START_INDEX=31 on a
 * 40-layer model makes 9 layers bidirectional), while its stated intent is the final layer only.
 */
export function presetStartIndex(p: Preset, numLayers: number): number | null {
  const b = p.billmStartIndex;
  if (!b) return null;
  if (b.forLayers === undefined) return Math.min(b.value, numLayers);
  if (numLayers !== b.forLayers) {
    throw new UserError(`preset ${p.name} fixes billmStartIndex ${b.value} for a ${b.forLayers}-layer model (only its final layer bidirectional) but this model has ${numLayers} layers: ` +
      `pass --billm-start-index ${numLayers - 1} for BeLLM's rule (final layer only), or ${b.value} for what BiLLM_START_INDEX=${b.value} does on it`);
  }
  return b.value;
}

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
  let finalPrompt = prompt;
  if (usesInstruction(template)) {
    instruction = overrides.instruction ?? p.instruction;
    if (instruction === undefined) throw new UserError(`the template ${JSON.stringify(prompt)} uses {instruction}: pass --instruction`);
    if (p.instructionRule === 'llm2vec' && overrides.prompt === undefined) {
      // llm2vec.py: f"{instruction.strip()} {text}" if instruction else f"{text}"
      if (instruction === '') {
        finalPrompt = prompt.replace('{instruction} ', '');
        instruction = undefined;
      } else {
        instruction = pyStrip(instruction);
      }
    }
  } else if (overrides.instruction !== undefined) {
    throw new UserError(`--instruction is set but the template ${JSON.stringify(prompt)} has no {instruction}`);
  }
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<EmbedSettings>;
  // Every field of the preset and of the overrides flows through (a setting added later included).
  const s: EmbedSettings & { preset: string } = {
    ...p,
    ...given,
    preset: p.name,
    prompt: finalPrompt,
    tokenize: tokenize === 'whole' ? undefined : tokenize,
    instruction,
  };
  // Preset metadata is not a setting; undefined members are dropped, as JSON does.
  // dtype, billmStartIndex and batchSize are run settings the commands resolve against their flags.
  for (const k of ['name', 'source', 'billmStartIndex', 'origin', 'notes', 'sources', 'dtype', 'batchSize', 'instructionRule'] as const) delete (s as Partial<Preset>)[k];
  for (const k of Object.keys(s) as (keyof typeof s)[]) if (s[k] === undefined) delete s[k];
  if (!Number.isInteger(s.maxLength) || s.maxLength < 2) throw new UserError(`--max-length must be an integer >= 2, got ${s.maxLength}`);
  if (!['bellm-sts', 'bellm-degrade', 'none'].includes(s.preprocess)) throw new UserError(`unknown --preprocess "${s.preprocess}": bellm-sts, bellm-degrade or none`);
  return s;
}

