// The decoder on every architecture of issue 25 against transformers' own classes in float64
// (test/goldens/arch/<arch>.json, made by scripts/goldens/arch-goldens.ts with transformers 5.18.0 /
// torch 2.13.0: AutoModel, eager attention, .double(), BiLLM masks per layer; see the script's header
// for the mask rules). Each checkpoint is regenerated from its seed (test/helpers/tiny-arch.ts) into a
// temp folder, must hash to what the goldens were made from, and is loaded the way users load a model
// (loadModel + loadTokenizer on the folder, Decoder on a CPU backend, one packed batch).
// Tolerances: the fixture README's float32 ones (every element within 1e-4 x the largest |value| of its
// reference vector, cosine >= 0.99999).
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { repoRoot } from '../../helpers/shared.ts';
import { TINY_ARCHS, writeTinyArch, type TinyArch } from '../../helpers/tiny-arch.ts';
import { firstFailure } from '../../helpers/tolerance.ts';

interface ArchGolden {
  arch: TinyArch;
  checkpoint: { seed: number; mirrors: string; sha256: Record<'config.json' | 'model.safetensors', string> };
  reference: { transformers: string; torch: string };
  sentences: string[];
  inputIds: number[][];
  numLayers: number;
  cases: { billmStartIndex: number | null; pooling: Record<'last' | 'avg', number[][]> }[];
  hiddenStates: { sentence: number; cases: { billmStartIndex: number | null; final: number[][] }[] };
  rope: Record<string, { invFreq: number[]; invFreqFloat64: number[]; attentionScaling: number }>;
  windowRules: null | { used: string; alternatives: Record<string, { billmStartIndex: number; pooling: Record<'last' | 'avg', number[][]> }[]> };
  bites: { feature: string; flip: string; bite: number; bites: boolean; notRequired?: string }[];
  biteThreshold: number;
}

const REGENERATE = 'node --import=tsx scripts/goldens/arch-goldens.ts';

function archGolden(arch: TinyArch): ArchGolden {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'goldens', 'arch', `${arch}.json`), 'utf8')) as ArchGolden;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const errText = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** The checkpoint of `arch` in a temp folder removed after the test; null (test failed) when its bytes are not the goldens'. */
function checkpoint(t: ExecutionContext, arch: TinyArch, g: ArchGolden): string | null {
  const dir = mkdtempSync(join(tmpdir(), `arch-${arch}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeTinyArch(dir, arch, g.checkpoint.seed);
  for (const f of ['config.json', 'model.safetensors'] as const) {
    const got = sha256(join(dir, f));
    if (got !== g.checkpoint.sha256[f]) {
      t.fail(`${arch}: the generated ${f} (sha256 ${got.slice(0, 12)}…) is not the one the goldens were made from (${g.checkpoint.sha256[f].slice(0, 12)}…): test/helpers/tiny-arch.ts changed; rerun ${REGENERATE} ${arch}`);
      return null;
    }
  }
  return dir;
}

const label = (k: number | null) => (k === null ? 'all causal' : `billmStartIndex=${k}`);

for (const arch of TINY_ARCHS) {
  test(`${arch}: token ids equal the reference tokenizer's (Rust tokenizers on the same files)`, (t) => {
    const g = archGolden(arch);
    const dir = checkpoint(t, arch, g);
    if (!dir) return;
    let encode: (s: string) => number[];
    try {
      const tok = loadTokenizer(dir);
      encode = (s) => tok.encode(s);
    } catch (e) {
      t.fail(`${arch}: loadTokenizer failed: ${errText(e)}`);
      return;
    }
    const bad: string[] = [];
    g.sentences.forEach((s, i) => {
      let got: number[] | string;
      try {
        got = encode(s);
      } catch (e) {
        got = `threw ${errText(e)}`;
      }
      if (JSON.stringify(got) !== JSON.stringify(g.inputIds[i])) bad.push(`${JSON.stringify(s)}: got ${JSON.stringify(got)}, expected ${JSON.stringify(g.inputIds[i])}`);
    });
    t.deepEqual(bad, [], `${arch}: ${bad.length} of ${g.sentences.length} sentences tokenized differently`);
  });

  test(`${arch}: pooled last/avg and final hidden states equal transformers' float64 goldens (CpuBackend fast and reference; all causal and k = 0, L/2, L-1)`, (t) => {
    const g = archGolden(arch);
    const dir = checkpoint(t, arch, g);
    if (!dir) return;
    let m: ReturnType<typeof loadModel>;
    try {
      m = loadModel(dir);
    } catch (e) {
      t.fail(`${arch}: loadModel failed: ${errText(e)}`);
      return;
    }
    const H = g.cases[0].pooling.last[0].length;
    const split = (flat: Float32Array): Float32Array[] => Array.from({ length: flat.length / H }, (_, i) => flat.subarray(i * H, (i + 1) * H));
    const failures: string[] = [];
    let checked = 0;
    for (const backend of [new CpuBackend(), new CpuBackend({ reference: true })]) {
      const kind = `CpuBackend(${backend.kind})`;
      let dec: Decoder;
      try {
        dec = new Decoder(backend, m.config, m.weights);
      } catch (e) {
        failures.push(`${kind}: new Decoder failed: ${errText(e)}`);
        continue;
      }
      const batch = packBatch(g.inputIds);
      for (const c of g.cases) {
        try {
          const out = dec.forward(batch, { billmStartIndex: c.billmStartIndex, poolings: ['last', 'avg'] });
          for (const p of ['last', 'avg'] as const) {
            const f = firstFailure(`${kind} ${label(c.billmStartIndex)} ${p}`, split(out[p]!), c.pooling[p]);
            if (f) failures.push(f);
            checked++;
          }
        } catch (e) {
          failures.push(`${kind} ${label(c.billmStartIndex)}: forward threw ${errText(e)}`);
        }
      }
      const hs = g.hiddenStates;
      const one = packBatch([g.inputIds[hs.sentence]]);
      for (const c of hs.cases) {
        try {
          const fin = split(dec.hiddenStates(one, { billmStartIndex: c.billmStartIndex, layer: 'final' }));
          const f = firstFailure(`${kind} ${label(c.billmStartIndex)} final hidden state, token`, fin, c.final);
          if (f) failures.push(f);
          checked++;
        } catch (e) {
          failures.push(`${kind} ${label(c.billmStartIndex)}: hiddenStates threw ${errText(e)}`);
        }
      }
      // The other rules for a sliding window in a bidirectional layer (transformers' generic is_causal=False
      // path, BiLLM's unwindowed mask) give other numbers, and the decoder must not land on them.
      for (const [rule, cases] of Object.entries(g.windowRules?.alternatives ?? {})) {
        for (const c of cases) {
          const out = dec.forward(batch, { billmStartIndex: c.billmStartIndex, poolings: ['last'] });
          if (firstFailure('', split(out.last!), c.pooling.last) === null)
            failures.push(`${kind} ${label(c.billmStartIndex)}: matches the '${rule}' window rule's goldens instead of only '${g.windowRules!.used}'`);
          checked++;
        }
      }
      dec.dispose();
    }
    t.log(`${arch}: ${checked} comparisons against transformers ${g.reference.transformers} (${g.checkpoint.mirrors})`);
    t.deepEqual(failures, [], `${arch}: ${failures.length} comparisons outside the fixture tolerances`);
  });
}

test('the goldens discriminate: flipping any architecture feature moved transformers\' output by more than the threshold', (t) => {
  const weak: string[] = [];
  for (const arch of TINY_ARCHS) {
    const g = archGolden(arch);
    for (const b of g.bites) if (!b.bites && !b.notRequired) weak.push(`${arch} ${b.feature} (${b.flip}): 1 - cos ${b.bite.toExponential(2)} <= ${g.biteThreshold}`);
  }
  t.deepEqual(weak, [], `features whose flip does not change the goldens: change the config in test/helpers/tiny-arch.ts and rerun ${REGENERATE}`);
});
