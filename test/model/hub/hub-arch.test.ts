// A Hub id of a newer architecture (issue 25): a Qwen-3 checkpoint with only tokenizer.json (no
// tokenizer.model), tied embeddings (no lm_head) and a decoy .bin, served by the Hub stand-in on
// 127.0.0.1, downloads only the files the run reads and embeds exactly as its directory does.
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { resolveSource } from '../../../src/model/hub/resolve.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { fakeCommit, filesOf, startFakeHub } from '../../helpers/hub.ts';
import { writeTinyArch } from '../../helpers/tiny-arch.ts';

test('qwen3 by Hub id: tokenizer.json only, tied embeddings; the snapshot embeds bit for bit as the directory', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bb-hub-arch-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'qwen3');
  mkdirSync(dir);
  writeTinyArch(dir, 'qwen3');
  const files = { ...filesOf(dir), 'pytorch_model.bin': Buffer.from('a decoy: never downloaded when safetensors exist') };
  const hub = await startFakeHub([{ id: 'tiny/qwen3', commit: fakeCommit('qwen3'), files }]);
  try {
    const env = { HF_HUB_CACHE: join(root, 'cache'), HF_HOME: join(root, 'home'), HF_ENDPOINT: hub.endpoint };
    const m = await resolveSource('tiny/qwen3', { kind: 'model', flag: '--model', env });
    t.deepEqual(readdirSync(m.dir).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const a = loadModel(m.dir), b = loadModel(dir);
    t.is(a.fingerprint, b.fingerprint);
    const tok = loadTokenizer(m.dir);
    t.is(tok.bosId, null);
    const batch = packBatch(['A man is playing a guitar.', 'café naïve 東京'].map((s) => tok.encode(s)));
    const x = new Decoder(new CpuBackend(), a.config, a.weights).forward(batch, { billmStartIndex: 1, poolings: ['last'] }).last!;
    const y = new Decoder(new CpuBackend(), b.config, b.weights).forward(batch, { billmStartIndex: 1, poolings: ['last'] }).last!;
    t.deepEqual(x, y);
  } finally {
    await hub.close();
  }
});
