// The two test tiers. Tier 1 (`npm test`, the README's test command) is everything but the long
// end-to-end files below, and finishes in about 5 minutes on a 2-core machine; tier 2
// (`npm run test:e2e`) is those files: multi-process grid runs and kills, concurrent caches, every
// output format through the CLI, a 390M-parameter model. CI (.ci/run) runs both.
export const E2E = [
  'test/cli/grid.test.ts',
  'test/cli/reliability.test.ts',
  'test/cli/outputs.test.ts',
  'test/backend/cpu-dtype-memory.test.ts',
  'test/cli/audit2b.test.ts',
  'test/cli/embed-long-line.test.ts',
];

export const base = {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  timeout: '10m',
};
