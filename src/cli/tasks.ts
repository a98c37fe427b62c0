// `bellm-bench tasks`: the registry with subsets and scored-pair counts, checked against --data-dir.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadTask } from '../tasks/load.ts';
import { TASK_ORDER, getTask } from '../tasks/registry.ts';

/** The listing: loaded counts where the files are present, expected counts and what is missing otherwise. */
export function describeTasks(dataDir: string): string {
  const out: string[] = [];
  let missingTotal = 0;
  for (const name of TASK_ORDER) {
    const spec = getTask(name);
    const missing = spec.subsets.flatMap((s) => s.files).filter((f) => !existsSync(join(dataDir, f)));
    missingTotal += missing.length;
    const counts = missing.length ? spec.subsets.map((s) => s.pairs) : loadTask(spec, dataDir).subsets.map((s) => s.pairs.length);
    const main = spec.mainScore.subset === 'all' ? 'Spearman over all subsets pooled' : 'Spearman on test';
    const status = missing.length ? `MISSING ${missing.length} file(s), e.g. ${join(dataDir, missing[0])}; expected counts shown` : 'loaded';
    out.push(`${spec.name} (${spec.label}): ${spec.expectedPairs} scored pairs, reports ${main} [${status}]`);
    spec.subsets.forEach((s, i) => {
      const scored = spec.scored.includes(s.name) ? '' : '  (not scored)';
      out.push(`  ${s.name.padEnd(20)}${String(counts[i]).padStart(6)}${scored}`);
    });
  }
  out.push(missingTotal
    ? `${missingTotal} task file(s) missing under ${dataDir}: run \`bellm-bench data fetch\` or pass --data-dir <folder holding STS/ and SICK/>`
    : `all task files found under ${dataDir} (\`bellm-bench data verify\` checks their sha256)`);
  return out.join('\n');
}

export const tasksCommand: CommandModule<{ 'data-dir': string }, { 'data-dir': string }> = {
  command: 'tasks',
  describe: 'list the STS tasks, their subsets and scored-pair counts',
  handler: (argv) => {
    process.stdout.write(`${describeTasks(argv['data-dir'])}\n`);
  },
};
