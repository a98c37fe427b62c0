// `bellm-bench explain`: what a preset does to a sentence: the template's pieces, every token id with
// its vocabulary entry, and which positions are pooled. Loads only the tokenizer. Makes errors like a
// lost EOS (mteb PR 5237, e5-mistral after a transformers upgrade) visible before any run.
import type { CommandModule } from 'yargs';
import { POOLINGS } from '../../backend/ops.ts';
import { UserError } from '../../errors.ts';
import { encodeRule } from '../../model/embed/embedder.ts';
import { getPreset, preprocess, type EmbedSettings } from '../../model/presets/presets.ts';
import { encodeWithTemplate, pooledPositions, truncationRule } from '../../model/tokenize/template.ts';
import { loadTokenizer } from '../../model/tokenize/tokenizer.ts';
import type { Tokenizer } from '../../model/arch/types.ts';
import { settingsFrom, type ModelArgs } from '../options/model-options.ts';
import { COMMANDS } from '../command-list.ts';

interface ExplainArgs extends Pick<ModelArgs, 'model' | 'preset' | 'prompt' | 'instruction' | 'tokenize' | 'preprocess' | 'pooling' | 'max-length'> {
  sentences: string[];
}

const POOLING_WORDS: Record<string, string> = { last: 'the last token', first: 'the first token', avg: 'the mean', weighted: 'the position-weighted mean (weights 1..n)' };

/** The explanation of one sentence, as lines of text. */
export function explainLines(tok: Tokenizer, s: EmbedSettings & { preset: string }, sentence: string): string[] {
  const rule = encodeRule(s);
  const text = preprocess(sentence, s.preprocess);
  const e = encodeWithTemplate(tok, rule, text);
  const pooled = new Set(pooledPositions(e, s.pooling));
  const tokenize = s.tokenize ?? 'whole';
  const lines = [
    `sentence:    ${JSON.stringify(sentence)}${text !== sentence ? ` -> ${JSON.stringify(text)} (preprocess ${s.preprocess})` : ''}`,
    `template:    ${JSON.stringify(s.prompt)}`,
    ...(s.instruction !== undefined ? [`instruction: ${JSON.stringify(s.instruction)}`] : []),
    // a tokenizer without BOS (Qwen) starts with the text: say so rather than name a BOS that is not there
    `tokenize:    ${tokenize} (${truncationRule(tokenize, s.maxLength, tok.bosId !== null)}${tok.bosId === null ? '; this tokenizer adds no BOS' : ''})`,
    `pooling:     ${s.pooling}: ${POOLING_WORDS[s.pooling]} of ${e.span ? `the marked span (positions ${e.span.from}..${e.span.to - 1})` : `the whole sequence${tok.bosId === null ? '' : ' (BOS included)'}`}`,
    '',
    'piece                                              positions',
    ...e.pieces.map((p) => `${p.label.padEnd(50)} ${p.to > p.from ? (p.to - p.from === 1 ? `${p.from}` : `${p.from}..${p.to - 1}`) : '(no tokens)'}`),
    '',
    '  pos      id  token                 pooled',
    ...e.ids.map((id, i) => `${String(i).padStart(5)} ${String(id).padStart(7)}  ${JSON.stringify(tok.idToToken?.(id) ?? '?').padEnd(20)}  ${pooled.has(i) ? '*' : ''}`),
    '',
    `${e.ids.length} tokens; pooled positions: ${[...pooled].join(', ')}${e.truncated ? `; TRUNCATED at max length ${s.maxLength}` : ''}`,
  ];
  return lines;
}

export const explainCommand: CommandModule<object, ExplainArgs> = {
  ...COMMANDS.explain,
  builder: (y) => y
    .positional('sentences', { type: 'string', array: true, describe: 'one or more sentences (quote each)' })
    .option('model', { type: 'string', demandOption: true, describe: 'model directory (only its tokenizer is read)' })
    .option('preset', { type: 'string', default: 'bellm-sts', describe: 'settings preset (see `bellm-bench presets`)' })
    .option('prompt', { type: 'string', describe: 'a template instead of the preset\'s (README "Templates")' })
    .option('instruction', { type: 'string', describe: 'what {instruction} stands for' })
    .option('tokenize', { type: 'string', choices: ['whole', 'pieces'], describe: 'whole string or each piece on its own' })
    .option('preprocess', { type: 'string', choices: ['bellm-sts', 'bellm-degrade', 'none'], describe: 'sentence preprocessing' })
    .option('pooling', { type: 'string', choices: [...POOLINGS], describe: 'last | avg | first | weighted' })
    .option('max-length', { type: 'number', describe: 'truncation length' }) as never,
  handler: (a) => {
    if (!a.sentences?.length) throw new UserError('explain: give at least one sentence, e.g. bellm-bench explain --model DIR --preset e5 "A man is playing a flute."');
    getPreset(a.preset);
    const settings = settingsFrom(a as unknown as ModelArgs);
    const tok = loadTokenizer(a.model);
    process.stdout.write(`preset:      ${a.preset}\ntokenizer:   ${tok.description}\n\n`);
    a.sentences.forEach((s, i) => process.stdout.write(`${i ? '\n' : ''}${explainLines(tok, settings, String(s)).join('\n')}\n`));
  },
};
