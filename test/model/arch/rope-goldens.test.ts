// RoPE inverse frequencies per layer type against transformers' rotary embedding modules
// (test/goldens/arch/<arch>.json `rope`, made by scripts/goldens/arch-goldens.ts with transformers
// 5.18.0): plain RoPE, Llama-3's rope_scaling (kept / smoothed / divided frequencies), Gemma-3's local
// base (rope_local_base_freq) and linearly scaled global layers. transformers computes them in float32,
// so the bound is 1e-6 relative; `invFreqFloat64` holds the same formulas in float64 (numpy).
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ropeInvFreq } from '../../../src/model/arch/rope.ts';
import { readConfig } from '../../../src/model/formats/config.ts';
import { repoRoot } from '../../helpers/shared.ts';
import { TINY_ARCHS, writeTinyArchConfig, type TinyArch } from '../../helpers/tiny-arch.ts';

interface RopeGolden { rope: Record<string, { invFreq: number[]; invFreqFloat64: number[]; llama3Regions?: string[] }> }
const golden = (arch: TinyArch) => JSON.parse(readFileSync(join(repoRoot, 'test', 'goldens', 'arch', `${arch}.json`), 'utf8')) as RopeGolden;

for (const arch of TINY_ARCHS) {
  test(`${arch}: ropeInvFreq(config, layerType) equals transformers' inv_freq for every layer type`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), `rope-${arch}-`));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeTinyArchConfig(dir, arch);
    const config = readConfig(dir);
    const g = golden(arch);
    for (const [layerType, want] of Object.entries(g.rope)) {
      const got = Array.from(ropeInvFreq(config, layerType as 'full_attention' | 'sliding_attention'));
      t.is(got.length, want.invFreq.length, `${arch} ${layerType}: ${got.length} frequencies, expected ${want.invFreq.length}`);
      const worst = want.invFreq.reduce((w, x, i) => Math.max(w, Math.abs(got[i] - x) / x), 0);
      t.true(worst <= 1e-6, `${arch} ${layerType}: largest relative error ${worst.toExponential(2)} (bound 1e-6)${want.llama3Regions ? `; regions ${want.llama3Regions.join(' ')}` : ''}\n  got      ${got.join(' ')}\n  expected ${want.invFreq.join(' ')}`);
    }
  });
}
