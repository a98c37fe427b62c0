// STS12-16: STS.input.<subset>.txt (two tab-separated sentences) beside STS.gs.<subset>.txt (one score a
// line), both read with str.splitlines(); a pair whose gold line is empty is dropped (SentEval's loadFile).
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { SubsetSpec, TaskSpec } from './registry.ts';
import { normalizeSentence, parseGold, readUtf8, splitLines } from './text.ts';
import type { LoadedSubset, StsPair } from './types.ts';

export function loadStsInputGs(spec: TaskSpec, subset: SubsetSpec, dataDir: string): LoadedSubset {
  const [inputFile, goldFile] = subset.files.map((f) => join(dataDir, f));
  const inputs = splitLines(readUtf8(inputFile));
  const golds = splitLines(readUtf8(goldFile));
  if (inputs.length !== golds.length) {
    throw new UserError(`${inputFile} has ${inputs.length} lines but ${goldFile} has ${golds.length}: the files differ from SentEval's; run \`bellm-bench data verify\``);
  }
  const pairs: StsPair[] = [];
  inputs.forEach((line, i) => {
    // Every line must split into two sentences, scored or not (SentEval splits all lines first).
    // Stricter than SentEval: a third column (a tab inside a sentence) fails instead of being dropped.
    const cols = line.split('\t');
    if (cols.length !== 2) throw new UserError(`${inputFile}:${i + 1}: expected 2 tab-separated sentences, found ${cols.length} columns`);
    if (golds[i] === '') return;
    const gold = parseGold(golds[i], `${goldFile}:${i + 1}`);
    pairs.push({ s1: normalizeSentence(cols[0]), s2: normalizeSentence(cols[1]), gold, line: i + 1 });
  });
  return { name: subset.name, pairs };
}
