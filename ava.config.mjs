// Tier 1 (`npm test`): every test file but the end-to-end tier (test/tiers.mjs).
import { base, E2E } from './test/tiers.mjs';

export default { ...base, files: ['test/**/*.test.ts', ...E2E.map((f) => `!${f}`)] };
