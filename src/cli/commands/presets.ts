import type { CommandModule } from 'yargs';
import { PRESETS, type Preset } from '../../model/presets/presets.ts';
import { truncationRule } from '../../model/tokenize/template.ts';
import { COMMANDS } from '../command-list.ts';

/** A preset as text: settings (each with its source where the preset names one), origin and notes. */
export function presetText(p: Preset): string {
  const src = (k: keyof NonNullable<Preset['sources']>): string[] => (p.sources?.[k] ? [`${' '.repeat(19)}source: ${p.sources[k]}`] : []);
  const b = p.billmStartIndex;
  const lines = [
    p.name,
    `  source:     ${p.source}`,
    ...(p.origin ?? []).map((o) => `  origin:     ${o.repository}${o.commit ? ` @ ${o.commit}` : ' (commit not recorded)'}: ${o.files.join(', ')}`),
    `  preprocess: ${p.preprocess}`, ...src('preprocess'),
    `  prompt:     ${p.prompt.includes('\n') ? JSON.stringify(p.prompt) : p.prompt}`, ...src('prompt'),
    ...(p.instruction !== undefined ? [`  instruction: ${JSON.stringify(p.instruction)}`] : []),
    `  tokenize:   ${p.tokenize ?? 'whole'}`,
    `  pooling:    ${p.pooling}${/\{[^}]*\*\}/.test(p.prompt) ? ' (over the span marked *)' : ''}`, ...src('pooling'),
    `  maxLength:  ${p.maxLength} (${truncationRule(p.tokenize ?? 'whole', p.maxLength)})`, ...src('maxLength'),
    `  mask:       ${p.mask}`, ...src('mask'),
    ...(b ? [`  billmStartIndex: ${b.value} (${b.forLayers !== undefined ? `for ${b.forLayers} layers` : 'any depth'}): layers >= ${b.value} bidirectional unless --billm-start-index is given${b.forLayers !== undefined ? ', which another depth needs' : ''}`, ...src('billmStartIndex')] : []),
    ...(p.dtype ? [`  dtype:      ${p.dtype} unless --dtype is given`, ...src('dtype')] : []),
    ...(p.batchSize ? [`  batchSize:  ${p.batchSize} unless --batch-size is given`, ...src('batchSize')] : []),
    ...(p.notes ?? []).map((n) => `  note:       ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const presetsCommand: CommandModule = {
  ...COMMANDS.presets,
  handler: () => {
    process.stdout.write(Object.values(PRESETS).map(presetText).join('\n'));
  },
};
