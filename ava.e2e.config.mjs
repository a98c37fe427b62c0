// Tier 2 (`npm run test:e2e`): the long end-to-end files (test/tiers.mjs).
import { base, E2E } from './test/tiers.mjs';

export default { ...base, files: E2E };
