#!/usr/bin/env node
// The bellm-bench command. Runs the compiled CLI in dist/ (built by `npm ci` and `npm test`, see
// scripts/build-dist.mjs) when no file under src/ is newer than that build; otherwise the TypeScript
// in src/ through tsx (slower to start, never stale).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Newest modification time of any file under dir (ms). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function distIsFresh() {
  try {
    const { started } = JSON.parse(readFileSync(join(root, 'dist', '.built'), 'utf8'));
    return typeof started === 'number' && newest(join(root, 'src')) < started;
  } catch {
    return false;
  }
}

if (process.env.BELLM_RUN_SOURCE !== '1' && distIsFresh()) {
  await import('../dist/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
