#!/usr/bin/env node
// Compiles src/ to dist/ (tsc -p tsconfig.build.json: .ts imports rewritten to .js), so the CLI starts
// without transpiling TypeScript on every run. `npm ci` runs it (the prepare script), and so does
// `npm test` before the tests. dist/.built records when this build started: bin/bellm-bench.js uses
// dist/ only while no file under src/ is newer, and runs src/ through tsx otherwise, so an edit is never
// run stale.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write('build-dist: tsc failed; bin/bellm-bench.js will run src/ through tsx\n');
  process.exit(r.status ?? 1);
}
mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, '.built'), `${JSON.stringify({ started })}\n`);
