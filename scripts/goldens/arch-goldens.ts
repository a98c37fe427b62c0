// Regenerates test/goldens/arch/<arch>.json: writes each tiny checkpoint from its seed
// (test/helpers/tiny-arch.ts) into a temp folder and runs scripts/goldens/arch_goldens.py on them
// (transformers' own classes, float64).
//
//   node --import=tsx scripts/goldens/arch-goldens.ts [arch ...]      (default: every arch)
//   BELLM_GOLDENS_PYTHON=/path/to/python (default /tmp/tfenv/bin/python: transformers 5.18.0,
//   torch 2.13.0+cpu, tokenizers 0.23.2)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/shared.ts';
import { TINY_ARCHS, writeTinyArch, type TinyArch } from '../../test/helpers/tiny-arch.ts';

const python = process.env.BELLM_GOLDENS_PYTHON ?? '/tmp/tfenv/bin/python';
const asked = process.argv.slice(2);
for (const a of asked) if (!(TINY_ARCHS as readonly string[]).includes(a)) throw new Error(`unknown arch ${a} (known: ${TINY_ARCHS.join(', ')})`);
const archs = (asked.length ? asked : [...TINY_ARCHS]) as TinyArch[];

const root = mkdtempSync(join(tmpdir(), 'arch-goldens-'));
const t0 = Date.now();
try {
  const args: string[] = [];
  for (const arch of archs) {
    const dir = join(root, arch);
    mkdirSync(dir);
    const info = writeTinyArch(dir, arch);
    const infoFile = join(root, `${arch}.info.json`);
    writeFileSync(infoFile, JSON.stringify({ seed: info.seed, mirrors: info.mirrors, tokenizerSource: info.tokenizerSource, params: info.params }));
    args.push(`${arch}=${dir}=${infoFile}`);
  }
  console.log(`wrote ${archs.length} checkpoints in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const r = spawnSync(python, [join(repoRoot, 'scripts/goldens/arch_goldens.py'), '--out', join(repoRoot, 'test/goldens/arch'), ...args], { stdio: 'inherit' });
  if (r.error) throw r.error;
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
