import type { CommandModule } from 'yargs';
import { PRESETS, type Preset } from '../model/presets.ts';
import { truncationRule } from '../model/template.ts';

/** A preset as text: settings, source, origin (repository, files, commit) and notes. */
export function presetText(p: Preset): string {
  const lines = [
    p.name,
    `  source:     ${p.source}`,
    ...(p.origin ?? []).map((o) => `  origin:     ${o.repository}${o.commit ? ` @ ${o.commit}` : ' (commit not recorded)'}: ${o.files.join(', ')}`),
    `  preprocess: ${p.preprocess}`,
    `  prompt:     ${p.prompt.includes('\n') ? JSON.stringify(p.prompt) : p.prompt}`,
    ...(p.instruction !== undefined ? [`  instruction: ${JSON.stringify(p.instruction)}`] : []),
    `  tokenize:   ${p.tokenize ?? 'whole'}`,
    `  pooling:    ${p.pooling}${/\{[^}]*\*\}/.test(p.prompt) ? ' (over the span marked *)' : ''}`,
    `  maxLength:  ${p.maxLength} (${truncationRule(p.tokenize ?? 'whole', p.maxLength)})`,
    `  mask:       ${p.mask}`,
    ...(p.billmStartIndex !== undefined && p.billmStartIndex !== null ? [`  attention:  billmStartIndex ${p.billmStartIndex} (layers >= ${p.billmStartIndex} bidirectional) unless --billm-start-index is given`] : []),
    ...(p.notes ?? []).map((n) => `  note:       ${n}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const presetsCommand: CommandModule = {
  command: 'presets',
  describe: 'list the settings presets, where each comes from, and where the official code disagreed with the issue that asked for it',
  handler: () => {
    process.stdout.write(Object.values(PRESETS).map(presetText).join('\n'));
  },
};
