// STS-B and SICK: one tab-separated table per split read line by line (`for line in f`, universal
// newlines), each line stripped then split on tabs; sentences and gold taken by column.
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { SubsetSpec, TaskSpec } from './registry.ts';
import { fileLines, normalizeSentence, parseGold, pyStrip, readUtf8 } from './text.ts';
import type { LoadedSubset, StsPair } from './types.ts';

/**
 * `expectedColumns`: every SentEval file has exactly this many; a line with another count fails
 * (stricter than SentEval, which would take columns by position from a malformed line).
 */
export function loadTableFile(spec: TaskSpec, subset: SubsetSpec, dataDir: string, expectedColumns: number): LoadedSubset {
  const file = join(dataDir, subset.files[0]);
  const { s1, s2, gold } = spec.columns;
  if (gold === 'gs-file') throw new Error(`${spec.name}: a table file needs a gold column`);
  const pairs: StsPair[] = [];
  fileLines(readUtf8(file)).forEach((line, i) => {
    if (i < spec.headerLines) return;
    const cols = pyStrip(line).split('\t');
    if (cols.length !== expectedColumns) {
      throw new UserError(`${file}:${i + 1}: expected ${expectedColumns} tab-separated columns, found ${cols.length}; run \`bellm-bench data verify\``);
    }
    pairs.push({ s1: normalizeSentence(cols[s1]), s2: normalizeSentence(cols[s2]), gold: parseGold(cols[gold], `${file}:${i + 1}`), line: i + 1 });
  });
  return { name: subset.name, pairs };
}
