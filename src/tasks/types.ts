// What a loaded task is: pairs with their gold score, per subset (or split), in file order.
import type { TaskSpec } from './registry.ts';

export interface StsPair {
  s1: string;                   // whitespace-normalized: ' '.join(s.split())
  s2: string;
  gold: number;
  line?: number;                // 1-based line in the input file
}

export interface LoadedSubset {
  name: string;
  pairs: StsPair[];
}

export interface LoadedTask {
  spec: TaskSpec;
  subsets: LoadedSubset[];      // in spec.subsets order
}
