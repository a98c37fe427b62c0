// STS-B: STS/STSBenchmark/sts-{train,dev,test}.csv, 7 tab-separated columns (genre, file, year, id,
// gold, sentence 1, sentence 2), no header; quotes are literal text (split on tabs only).
import type { SubsetSpec, TaskSpec } from './registry.ts';
import { loadTableFile } from './table-file.ts';
import type { LoadedSubset } from './types.ts';

export const loadStsbCsv = (spec: TaskSpec, subset: SubsetSpec, dataDir: string): LoadedSubset =>
  loadTableFile(spec, subset, dataDir, 7);
